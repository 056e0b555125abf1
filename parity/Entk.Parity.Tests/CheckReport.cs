using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using NUnit.Framework;

namespace Entk.Parity.Tests
{
    /// <summary>
    /// Collects measured errors against their tolerances. Every check is recorded (so the log shows the measured
    /// maxima even when everything passes) and the violations are reported together, so a perturbation test can
    /// assert exactly which checks a perturbation trips.
    /// </summary>
    public sealed class CheckReport
    {
        private readonly List<Row> rows = new();

        public CheckReport(string title)
        {
            Title = title;
        }

        public string Title { get; }

        /// <summary>Names of the failed checks.</summary>
        public IReadOnlyList<string> Violations => rows.Where(r => !r.Passed).Select(r => r.Name).ToArray();

        /// <summary>The largest measured value of the checks whose name contains <paramref name="fragment"/>.</summary>
        public double MaxMeasured(string fragment) =>
            rows.Where(r => r.Name.Contains(fragment, StringComparison.Ordinal) && r.Value.HasValue)
                .Select(r => r.Value!.Value).DefaultIfEmpty(double.NaN).Max();

        /// <summary>value ≤ tolerance; a missing value (null) is a violation when <paramref name="required"/>.</summary>
        public void AtMost(string name, double? value, double tolerance, bool required = true)
        {
            bool ok = value.HasValue ? !double.IsNaN(value.Value) && value.Value <= tolerance : !required;
            rows.Add(new Row(name, value, "≤ " + Fmt(tolerance), ok, value.HasValue ? "" : "(absent)"));
        }

        /// <summary>Exact equality of integers.</summary>
        public void Equal(string name, long actual, long expected)
        {
            rows.Add(new Row(name, Math.Abs(actual - expected), "= " + expected.ToString(CultureInfo.InvariantCulture),
                actual == expected, "got " + actual.ToString(CultureInfo.InvariantCulture)));
        }

        /// <summary>A condition with a description.</summary>
        public void True(string name, bool condition, string detail)
        {
            rows.Add(new Row(name, null, "true", condition, detail));
        }

        /// <summary>A measured value recorded for the log only.</summary>
        public void Info(string name, double? value, string detail = "")
        {
            rows.Add(new Row(name, value, "(info)", true, detail));
        }

        /// <summary>The table of all checks.</summary>
        public string Table()
        {
            var sb = new StringBuilder();
            sb.Append(Title).Append(": ").Append(rows.Count(r => r.Passed)).Append('/').Append(rows.Count).AppendLine(" checks pass");
            int w = rows.Count == 0 ? 10 : rows.Max(r => r.Name.Length);
            foreach (var r in rows)
            {
                sb.Append(r.Passed ? "  ok   " : "  FAIL ").Append(r.Name.PadRight(w)).Append("  ")
                  .Append((r.Value.HasValue ? Fmt(r.Value.Value) : "-").PadLeft(10)).Append("  ").Append(r.Tolerance);
                if (r.Detail.Length > 0) sb.Append("  ").Append(r.Detail);
                sb.AppendLine();
            }
            return sb.ToString();
        }

        /// <summary>Writes the table to the test output and fails with the violations, if any.</summary>
        public void AssertAllPass()
        {
            string table = Table();
            TestContext.Out.WriteLine(table);
            if (Violations.Count > 0)
                Assert.Fail(Title + ": " + Violations.Count + " check(s) beyond tolerance: " + string.Join(", ", Violations)
                    + Environment.NewLine + string.Join(Environment.NewLine, table.Split('\n').Where(l => l.StartsWith("  FAIL", StringComparison.Ordinal))));
        }

        internal static string Fmt(double v) =>
            v == 0 ? "0" : Math.Abs(v) >= 1e-3 && Math.Abs(v) < 1e5 ? v.ToString("G6", CultureInfo.InvariantCulture) : v.ToString("0.00E+00", CultureInfo.InvariantCulture);

        private sealed record Row(string Name, double? Value, string Tolerance, bool Passed, string Detail);
    }
}

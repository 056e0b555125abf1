using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using NUnit.Framework;

namespace Entk.Parity.Tests
{
    /// <summary>Tolerance of one snapshot value: |actual − expected| ≤ max(Absolute, ArrayScale·max|expected array|, Relative·|expected|).
    /// Integers are always compared exactly.</summary>
    public sealed record SnapshotTolerance(double Relative, double Absolute, double ArrayScale)
    {
        /// <summary>Eigenvalues: 1e-8 relative, or 1e-10·λ_0 for ridge-level eigenvalues.</summary>
        public static readonly SnapshotTolerance Eigenvalues = new(1e-8, 0, 1e-10);

        /// <summary>Other floats (metrics, losses): 1e-8 relative, 1e-12 absolute.</summary>
        public static readonly SnapshotTolerance Default = new(1e-8, 1e-12, 0);

        /// <summary>The tolerance the parity snapshots use for a key.</summary>
        public static SnapshotTolerance For(string key) =>
            key.EndsWith("eigenvalues", StringComparison.Ordinal) ? Eigenvalues : Default;

        public double Allowed(double expected, double arrayMax) =>
            Math.Max(Math.Max(Absolute, ArrayScale * arrayMax), Relative * Math.Abs(expected));
    }

    /// <summary>
    /// A reviewed numeric snapshot: case name, settings (compared exactly), provenance (informational, not compared)
    /// and flat values (floats at 10 significant digits, integers, float arrays), written as stable, diff-friendly JSON
    /// to <c>parity/Entk.Parity.Tests/Snapshots/&lt;Case&gt;.json</c>.
    /// </summary>
    public sealed class JsonSnapshot
    {
        /// <summary>Significant digits written for floats.</summary>
        public const int Digits = 10;

        private readonly List<KeyValuePair<string, object>> values = new();
        private readonly List<KeyValuePair<string, string>> provenance = new();

        public JsonSnapshot(string name, string settings)
        {
            Name = name;
            Settings = settings;
        }

        public string Name { get; }

        public string Settings { get; }

        public JsonSnapshot Provenance(string key, string? value)
        {
            provenance.Add(new(key, value ?? ""));
            return this;
        }

        public JsonSnapshot Add(string key, double value) => AddValue(key, value);

        public JsonSnapshot Add(string key, long value) => AddValue(key, value);

        public JsonSnapshot Add(string key, IEnumerable<double> value) => AddValue(key, value.ToArray());

        private JsonSnapshot AddValue(string key, object value)
        {
            if (values.Any(kv => kv.Key == key)) throw new ArgumentException("duplicate snapshot key " + key);
            values.Add(new(key, value));
            return this;
        }

        /// <summary>Float text at <see cref="Digits"/> significant digits, always with '.' or an exponent (so it never reads back as an integer).</summary>
        public static string FormatDouble(double v)
        {
            if (!double.IsFinite(v)) return "null";
            string s = v.ToString("G" + Digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
            return s.Contains('.', StringComparison.Ordinal) || s.Contains('E', StringComparison.Ordinal) ? s : s + ".0";
        }

        /// <summary>The snapshot file text.</summary>
        public string Render()
        {
            var sb = new StringBuilder();
            sb.Append("{\n");
            sb.Append("  \"case\": ").Append(Quote(Name)).Append(",\n");
            sb.Append("  \"settings\": ").Append(Quote(Settings)).Append(",\n");
            sb.Append("  \"provenance\": {");
            for (int i = 0; i < provenance.Count; i++)
                sb.Append(i == 0 ? "\n" : ",\n").Append("    ").Append(Quote(provenance[i].Key)).Append(": ").Append(Quote(provenance[i].Value));
            sb.Append(provenance.Count > 0 ? "\n  },\n" : "},\n");
            sb.Append("  \"values\": {");
            for (int i = 0; i < values.Count; i++)
            {
                sb.Append(i == 0 ? "\n" : ",\n").Append("    ").Append(Quote(values[i].Key)).Append(": ");
                switch (values[i].Value)
                {
                    case double d: sb.Append(FormatDouble(d)); break;
                    case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); break;
                    case double[] a:
                        sb.Append('[');
                        for (int j = 0; j < a.Length; j++)
                        {
                            if (j > 0) sb.Append(',');
                            sb.Append(j % 6 == 0 ? "\n      " : " ").Append(FormatDouble(a[j]));
                        }
                        sb.Append(a.Length > 0 ? "\n    ]" : "]");
                        break;
                }
            }
            sb.Append(values.Count > 0 ? "\n  }\n" : "}\n");
            sb.Append("}\n");
            return sb.ToString();
        }

        /// <summary>Differences between a snapshot file's text and this snapshot (empty = match).</summary>
        public IReadOnlyList<string> Compare(string expectedText, Func<string, SnapshotTolerance> tolerance)
        {
            var diffs = new List<string>();
            JsonObject e;
            try
            {
                e = JsonNode.Parse(expectedText)?.AsObject() ?? throw new FormatException("empty");
            }
            catch (Exception ex) when (ex is FormatException or System.Text.Json.JsonException or InvalidOperationException)
            {
                return new[] { "snapshot file is not valid JSON: " + ex.Message };
            }
            if ((string?)e["case"] != Name) diffs.Add("case: expected " + Quote((string?)e["case"] ?? "") + ", got " + Quote(Name));
            if ((string?)e["settings"] != Settings) diffs.Add("settings: snapshot has " + Quote((string?)e["settings"] ?? "") + ", test runs " + Quote(Settings));
            var ev = e["values"] as JsonObject ?? new JsonObject();
            var actual = values.ToDictionary(kv => kv.Key, kv => kv.Value);
            foreach (var kv in ev)
            {
                if (!actual.TryGetValue(kv.Key, out object? a))
                {
                    diffs.Add(kv.Key + ": in the snapshot but no longer produced");
                    continue;
                }
                CompareValue(kv.Key, kv.Value, a, tolerance(kv.Key), diffs);
            }
            foreach (var key in actual.Keys.Where(k => !ev.ContainsKey(k)))
                diffs.Add(key + ": new value not in the snapshot (" + Describe(actual[key]) + ")");
            return diffs;
        }

        private static void CompareValue(string key, JsonNode? expected, object actual, SnapshotTolerance tol, List<string> diffs)
        {
            switch (actual)
            {
                case long l:
                    if (!IsInteger(expected, out long el)) diffs.Add(key + ": expected " + Text(expected) + ", got integer " + l.ToString(CultureInfo.InvariantCulture));
                    else if (el != l) diffs.Add(key + ": expected " + el.ToString(CultureInfo.InvariantCulture) + ", got " + l.ToString(CultureInfo.InvariantCulture) + " (integers compare exactly)");
                    break;
                case double d:
                    if (expected is not JsonValue || IsInteger(expected, out _)) { diffs.Add(key + ": expected " + Text(expected) + ", got float " + FormatDouble(d)); break; }
                    double ed = (double)expected;
                    double allowed = tol.Allowed(ed, 0);
                    if (!(Math.Abs(d - ed) <= allowed))
                        diffs.Add(key + ": expected " + FormatDouble(ed) + ", got " + d.ToString("R", CultureInfo.InvariantCulture) + " (|Δ| = "
                            + CheckReport.Fmt(Math.Abs(d - ed)) + " > " + CheckReport.Fmt(allowed) + ")");
                    break;
                case double[] arr:
                    if (expected is not JsonArray ea) { diffs.Add(key + ": expected " + Text(expected) + ", got an array of " + arr.Length); break; }
                    if (ea.Count != arr.Length) { diffs.Add(key + ": expected " + ea.Count + " values, got " + arr.Length); break; }
                    double[] ex = ea.Select(x => (double)x!).ToArray();
                    double max = ex.Length == 0 ? 0 : ex.Max(Math.Abs);
                    var bad = new List<string>();
                    for (int i = 0; i < ex.Length; i++)
                    {
                        double al = tol.Allowed(ex[i], max);
                        if (!(Math.Abs(arr[i] - ex[i]) <= al))
                            bad.Add("[" + i + "] expected " + FormatDouble(ex[i]) + ", got " + arr[i].ToString("R", CultureInfo.InvariantCulture)
                                + " (|Δ| = " + CheckReport.Fmt(Math.Abs(arr[i] - ex[i])) + " > " + CheckReport.Fmt(al) + ")");
                    }
                    if (bad.Count > 0)
                        diffs.Add(key + ": " + bad.Count + " of " + ex.Length + " values moved: " + string.Join("; ", bad.Take(6)) + (bad.Count > 6 ? "; ..." : ""));
                    break;
            }
        }

        private static bool IsInteger(JsonNode? n, out long value)
        {
            value = 0;
            if (n is not JsonValue v) return false;
            string t = v.ToJsonString();
            return t.IndexOfAny(new[] { '.', 'e', 'E' }) < 0 && long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
        }

        private static string Text(JsonNode? n) => n?.ToJsonString() ?? "null";

        private static string Describe(object v) => v switch
        {
            double d => FormatDouble(d),
            long l => l.ToString(CultureInfo.InvariantCulture),
            double[] a => "array of " + a.Length,
            _ => v.ToString() ?? "",
        };

        private static string Quote(string s) => System.Text.Json.JsonSerializer.Serialize(s);
    }

    /// <summary>Outcome of <see cref="SnapshotStore.Check"/>.</summary>
    public enum SnapshotOutcome
    {
        Matched,
        Mismatch,
        Missing,
        Created,
        Updated,
        UpdateRefusedInCi,
    }

    /// <summary>
    /// Snapshot policy. A missing snapshot fails (locally and in CI) and is never created silently; a value beyond
    /// tolerance fails and the message lists every difference. ENTK_UPDATE_SNAPSHOTS=1 (re)writes snapshot files from
    /// the current values — refused in CI (ENTK_REQUIRE_PYTHON=1 or CI=true). A matching snapshot is never rewritten.
    /// </summary>
    public static class SnapshotStore
    {
        /// <summary>Applies the policy; returns the outcome and a message (does not assert).</summary>
        public static (SnapshotOutcome Outcome, string Message) Check(JsonSnapshot actual, string directory, bool update, bool ci,
            Func<string, SnapshotTolerance> tolerance)
        {
            string path = Path.Combine(directory, actual.Name + ".json");
            if (update && ci)
                return (SnapshotOutcome.UpdateRefusedInCi, "ENTK_UPDATE_SNAPSHOTS=1 is refused in CI (ENTK_REQUIRE_PYTHON=1 or CI=true): snapshots are "
                    + "updated locally, reviewed and committed.");
            if (!File.Exists(path))
            {
                if (!update)
                    return (SnapshotOutcome.Missing, "missing snapshot " + path + ". Snapshots are never created silently: run "
                        + "`ENTK_UPDATE_SNAPSHOTS=1 dotnet test parity/Entk.Parity.Tests -c Release` locally, review the new file and commit it.");
                Write(path, actual.Render());
                return (SnapshotOutcome.Created, "created snapshot " + path + " (review it and commit it)");
            }
            var diffs = actual.Compare(File.ReadAllText(path), tolerance);
            if (diffs.Count == 0) return (SnapshotOutcome.Matched, "snapshot " + path + " matches");
            string list = string.Join(Environment.NewLine, diffs.Select(d => "  " + d));
            if (update)
            {
                Write(path, actual.Render());
                return (SnapshotOutcome.Updated, "updated snapshot " + path + " (review the diff and commit it):" + Environment.NewLine + list);
            }
            return (SnapshotOutcome.Mismatch, "snapshot " + path + " differs beyond tolerance in " + diffs.Count + " place(s):" + Environment.NewLine + list);
        }

        /// <summary>Checks against the committed snapshot and asserts (the parity tests' entry point).</summary>
        public static void Match(JsonSnapshot actual)
        {
            var (outcome, message) = Check(actual, ParityEnvironment.SnapshotDirectory, ParityEnvironment.UpdateSnapshots, ParityEnvironment.IsCi,
                SnapshotTolerance.For);
            switch (outcome)
            {
                case SnapshotOutcome.Matched:
                    TestContext.Out.WriteLine(message);
                    return;
                case SnapshotOutcome.Created:
                case SnapshotOutcome.Updated:
                    TestContext.Progress.WriteLine("parity: " + message);
                    Assert.Pass(message);
                    return;
                case SnapshotOutcome.Mismatch:
                    // Outside the run's temp root (which is removed at the end), so the file is still there to diff against.
                    string actualPath = Path.Combine(Path.GetTempPath(), "entk-parity-snapshots-actual", actual.Name + ".json");
                    Write(actualPath, actual.Render());
                    Assert.Fail(message + Environment.NewLine + "Current values: " + actualPath
                        + Environment.NewLine + "If the change is intended: ENTK_UPDATE_SNAPSHOTS=1 dotnet test parity/Entk.Parity.Tests -c Release, review, commit.");
                    return;
                default:
                    Assert.Fail(message);
                    return;
            }
        }

        private static void Write(string path, string text)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            string tmp = path + ".tmp";
            File.WriteAllText(tmp, text, new UTF8Encoding(false));
            File.Move(tmp, path, overwrite: true);
        }
    }
}

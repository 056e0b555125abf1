using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Entk.Internal;

namespace Entk.Experiments
{
    /// <summary>The verdict on one claim of the paper.</summary>
    public enum Verdict
    {
        /// <summary>The measured value satisfies the stated rule.</summary>
        Pass,
        /// <summary>The measured value does not satisfy the stated rule.</summary>
        Fail,
        /// <summary>Reported for comparison only; no pass/fail rule.</summary>
        Info,
        /// <summary>
        /// Not judged: the run that should support it failed (e.g. training diverged), so neither pass nor fail would be
        /// meaningful. The rule says why.
        /// </summary>
        NotEvaluated,
    }

    /// <summary>A claim of the paper beside the measured value, with the rule used to judge it.</summary>
    public sealed class ClaimResult
    {
        /// <summary>Creates a claim result.</summary>
        /// <param name="id">Stable identifier, e.g. "tms.n-cliff".</param>
        /// <param name="claim">The paper's claim, in words.</param>
        /// <param name="paperValue">What the paper reports.</param>
        /// <param name="measured">What Entk measured.</param>
        /// <param name="rule">The rule that decides the verdict.</param>
        /// <param name="verdict">The verdict.</param>
        public ClaimResult(string id, string claim, string paperValue, string measured, string rule, Verdict verdict)
        {
            Id = Check.NotNull(id, nameof(id));
            Claim = Check.NotNull(claim, nameof(claim));
            PaperValue = Check.NotNull(paperValue, nameof(paperValue));
            Measured = Check.NotNull(measured, nameof(measured));
            Rule = Check.NotNull(rule, nameof(rule));
            Verdict = verdict;
        }

        /// <summary>Stable identifier.</summary>
        public string Id { get; }

        /// <summary>The claim.</summary>
        public string Claim { get; }

        /// <summary>The paper's value.</summary>
        public string PaperValue { get; }

        /// <summary>The measured value.</summary>
        public string Measured { get; }

        /// <summary>The rule.</summary>
        public string Rule { get; }

        /// <summary>The verdict.</summary>
        public Verdict Verdict { get; }

        /// <summary>Creates a pass/fail claim.</summary>
        /// <param name="id">Identifier.</param>
        /// <param name="claim">Claim.</param>
        /// <param name="paperValue">Paper value.</param>
        /// <param name="measured">Measured value.</param>
        /// <param name="rule">Rule.</param>
        /// <param name="pass">Whether the rule holds.</param>
        /// <returns>The result.</returns>
        public static ClaimResult Judge(string id, string claim, string paperValue, string measured, string rule, bool pass) =>
            new(id, claim, paperValue, measured, rule, pass ? Verdict.Pass : Verdict.Fail);

        /// <summary>Creates an informational entry.</summary>
        /// <param name="id">Identifier.</param>
        /// <param name="claim">Claim.</param>
        /// <param name="paperValue">Paper value.</param>
        /// <param name="measured">Measured value.</param>
        /// <returns>The result.</returns>
        public static ClaimResult Info(string id, string claim, string paperValue, string measured) =>
            new(id, claim, paperValue, measured, "reported for comparison", Verdict.Info);

        /// <summary>
        /// This claim marked <see cref="Verdict.NotEvaluated"/> (info rows stay info): the rule is kept and the reason appended.
        /// </summary>
        /// <param name="reason">Why it is not judged, e.g. "training diverged at step 3 (loss is NaN)".</param>
        /// <returns>The result (this one for info rows).</returns>
        public ClaimResult NotEvaluated(string reason)
        {
            Check.NotNull(reason, nameof(reason));
            return Verdict == Verdict.Info ? this : new ClaimResult(Id, Claim, PaperValue, Measured, Rule + "; not evaluated: " + reason, Verdict.NotEvaluated);
        }

        /// <summary>The text of a paper value for a configuration that is not the paper's: the paper's numbers do not apply.</summary>
        public const string CustomConfiguration = "— (custom configuration)";
    }

    /// <summary>Markdown rendering of claims and tables.</summary>
    public static class ReportWriter
    {
        /// <summary>Formats a number with 4 significant digits, invariant culture.</summary>
        /// <param name="v">Value.</param>
        /// <returns>Text.</returns>
        public static string G4(double v) => v.ToString("G4", CultureInfo.InvariantCulture);

        /// <summary>The verdict as shown in reports: PASS, FAIL or info.</summary>
        /// <param name="v">Verdict.</param>
        /// <returns>Text.</returns>
        public static string Text(Verdict v) => v switch { Verdict.Pass => "**PASS**", Verdict.Fail => "**FAIL**", Verdict.NotEvaluated => "not evaluated", _ => "info" };

        /// <summary>The verdict as written in JSON files: "pass", "fail", "info" or "not-evaluated".</summary>
        /// <param name="v">Verdict.</param>
        /// <returns>Text.</returns>
        public static string Key(Verdict v) => v switch { Verdict.Pass => "pass", Verdict.Fail => "fail", Verdict.NotEvaluated => "not-evaluated", _ => "info" };

        /// <summary>The verdict of a JSON key written by <see cref="Key"/> (anything else reads as info).</summary>
        /// <param name="key">Text.</param>
        /// <returns>The verdict.</returns>
        public static Verdict ParseKey(string? key) => key switch { "pass" => Verdict.Pass, "fail" => Verdict.Fail, "not-evaluated" => Verdict.NotEvaluated, _ => Verdict.Info };

        /// <summary>"N pass, N fail" plus ", N not evaluated" when there are such claims.</summary>
        /// <param name="claims">Claims.</param>
        /// <returns>Text.</returns>
        public static string Summary(IEnumerable<ClaimResult> claims)
        {
            var list = claims.ToList();
            int ne = list.Count(c => c.Verdict == Verdict.NotEvaluated);
            return FormattableString.Invariant($"{list.Count(c => c.Verdict == Verdict.Pass)} pass, {list.Count(c => c.Verdict == Verdict.Fail)} fail") +
                (ne > 0 ? FormattableString.Invariant($", {ne} not evaluated") : "");
        }

        /// <summary>
        /// A markdown table of claims. The "paper" column holds the paper's own number only where the run's configuration is
        /// the paper's; the claim and the rule state what is expected for the run's own configuration.
        /// </summary>
        /// <param name="claims">Claims.</param>
        /// <returns>Markdown.</returns>
        public static string ClaimsTable(IEnumerable<ClaimResult> claims)
        {
            var sb = new StringBuilder();
            sb.Append("| claim | paper (same configuration) | measured | rule | verdict |\n|---|---|---|---|---|\n");
            foreach (var c in claims)
                sb.Append("| ").Append(Esc(c.Claim)).Append(" | ").Append(Esc(c.PaperValue)).Append(" | ").Append(Esc(c.Measured))
                  .Append(" | ").Append(Esc(c.Rule)).Append(" | ").Append(Text(c.Verdict)).Append(" |\n");
            return sb.ToString();
        }

        /// <summary>A markdown table.</summary>
        /// <param name="header">Column headers.</param>
        /// <param name="rows">Rows.</param>
        /// <returns>Markdown.</returns>
        public static string Table(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows)
        {
            var sb = new StringBuilder();
            sb.Append("| ").Append(string.Join(" | ", header.Select(Esc))).Append(" |\n|").Append(string.Concat(header.Select(_ => "---|"))).Append('\n');
            foreach (var r in rows) sb.Append("| ").Append(string.Join(" | ", r.Select(Esc))).Append(" |\n");
            return sb.ToString();
        }

        /// <summary>
        /// The report's warnings, as markdown paragraphs: one per diverged run (its claims are not evaluated) and, for a
        /// configuration that is not the paper's, a note that the paper's numbers are not shown.
        /// </summary>
        internal static string Warnings(IEnumerable<(string Name, Training.TrainingDivergence? Divergence)> runs, bool paperConfiguration)
        {
            var sb = new StringBuilder();
            foreach (var (name, d) in runs)
                if (d is not null)
                    sb.Append("> **Warning: training diverged** (").Append(name).Append("): ").Append(d).Append(". The analysis below describes a model that failed to train, so its claims are **not evaluated**; lower the learning rate.\n\n");
            if (!paperConfiguration)
                sb.Append("This is a custom configuration, not the paper's: each claim and rule is stated for this configuration, and the paper's own numbers are not shown (they hold for the paper's settings only).\n\n");
            return sb.ToString();
        }

        private static string Esc(string s) => s.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);
    }
}

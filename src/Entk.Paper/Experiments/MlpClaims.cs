using System;
using System.Collections.Generic;
using System.Linq;
using Entk.Internal;
using Entk.Training;

namespace Entk.Experiments
{
    /// <summary>
    /// The modular-addition claims (docs/paper-notes.md §2.2.4 and §1.8) judged on measured analyses, stated for the
    /// run's own configuration (p, K = ⌊p/2⌋, cliffs of 4K). Rules:
    /// cliff positions are detected drops within ±2 of the theoretical ends 0, 4K, 8K (0, 56, 112 for p = 29);
    /// "aligned" means every rotated atom has phase-insensitive correlation ≥ 0.9 with one (family, frequency)
    /// and every one of the 2K (family, frequency) rows is some atom's best row;
    /// "comparable" overlaps are fractions Σs²/2K within ±10 % of the published fractions (26.47/28 = 94.5 % with sum,
    /// 25.21/28 = 90.0 % with diff; for p = 29 this is ±10 % of the published values);
    /// the second cliff "emerges with the test-accuracy jump" when its first epoch lies in
    /// [first epoch with test accuracy ≥ 10 % − Δ, first epoch ≥ 90 % + Δ], Δ = the logging interval.
    /// The paper's own numbers are shown only for the paper's configuration (<see cref="MlpConfig.IsPaperConfiguration"/>);
    /// when training diverged, every judged claim is <see cref="Verdict.NotEvaluated"/>.
    /// </summary>
    public static class MlpClaims
    {
        private static bool DropNear(IReadOnlyList<int> drops, int index) => drops.Any(d => Math.Abs(d - index) <= 2);

        private static string Drops(IReadOnlyList<int> drops) => drops.Count == 0 ? "no drops" : "drops after " + string.Join(", ", drops);

        private static IReadOnlyList<ClaimResult> Finish(List<ClaimResult> claims, MlpTrainingResult t) =>
            t.Divergence is TrainingDivergence d ? claims.Select(c => c.NotEvaluated(d.Short + " (see the warning above)")).ToArray() : claims;

        /// <summary>Claims about the final model.</summary>
        /// <param name="a">Analysis.</param>
        /// <returns>Claims.</returns>
        public static IReadOnlyList<ClaimResult> Evaluate(MlpAnalysis a)
        {
            Check.NotNull(a, nameof(a));
            var claims = new List<ClaimResult>();
            bool isPaper = a.Training.Setup.Config.IsPaperConfiguration;
            string Paper(string v) => isPaper ? v : ClaimResult.CustomConfiguration;
            var l = a.Layout;
            int k = l.Size / 4;
            int e1 = l.SecondStart - 1, e2 = l.SecondStart + l.Size - 1;
            var full = a.Spectrum("full").Cliffs.DropIndices;
            var l1 = a.Spectrum("layer1").Cliffs.DropIndices;
            var l2 = a.Spectrum("layer2").Cliffs.DropIndices;
            claims.Add(ClaimResult.Judge("mlp.full-two-cliffs", Check.Inv($"Full traced eNTK (p = {l.Modulus}): λ0 isolated, then two cliffs of 4K = {l.Size} (1..{e1}, {l.SecondStart}..{e2})"),
                Paper("cliffs 1–56 and 57–112"), Drops(full), Check.Inv($"detected drops after 0, {e1} and {e2} (±2)"), DropNear(full, 0) && DropNear(full, e1) && DropNear(full, e2)));
            claims.Add(ClaimResult.Judge("mlp.layer1-carries-first", Check.Inv($"Layerwise: the {l.Size}-mode cliff lives in layer 1; layer 2 has no sharp cliff"),
                Paper("layer 1: one cliff 1–56 (×~10 drop); layer 2: smooth decay"), "layer 1: " + Drops(l1) + "; layer 2: " + Drops(l2),
                Check.Inv($"layer 1 has a drop after {e1} (±2); layer 2 has none after {e1} or {e2} (±2)"), DropNear(l1, e1) && !DropNear(l2, e1) && !DropNear(l2, e2)));
            claims.Add(Aligned("mlp.rot1.layer1", Check.Inv($"First cliff of the layer-1 kernel after the (L_n, L_m) rotation: every atom aligns with one (operand, frequency), all 2×{k} covered"), a.FirstCliffLayer1, Paper("≈1 for every atom, all 2×14 covered")));
            claims.Add(Aligned("mlp.rot1.full", Check.Inv($"First cliff of the full kernel after the (L_n, L_m) rotation (v3-era analysis), all 2×{k} covered"), a.FirstCliffFull, Paper("≈1 for every atom, all 2×14 covered")));
            claims.Add(ClaimResult.Info("mlp.rot1.before", "Before rotation the first cliff's heatmap is unstructured",
                Paper("values ≲ 0.5, noisy"), Check.Inv($"layer 1, raw eigenvectors: largest correlation {ReportWriter.G4(a.FirstCliffLayer1.Before.Values.MaxAbs())}; {AlignedBefore(a.FirstCliffLayer1)}/{a.FirstCliffLayer1.Size} atoms ≥ 0.9")));
            int twoK = a.SecondCliffFull.OverlapFirst.FamilyDimension;
            claims.Add(Overlap("mlp.overlap.sum", "Second cliff (full kernel) overlap Σs² with the sum family", a.SecondCliffFull.OverlapFirst.Overlap, 26.47, twoK, isPaper));
            claims.Add(Overlap("mlp.overlap.diff", "Second cliff (full kernel) overlap Σs² with the diff family", a.SecondCliffFull.OverlapSecond.Overlap, 25.21, twoK, isPaper));
            var s = a.SecondCliffFull.Summary;
            claims.Add(ClaimResult.Info("mlp.rot2", "Second cliff after the (L_sum, L_diff) rotation: clean sum staircase, mostly clean diff staircase",
                Paper("sum ≈ 1 one-to-one; diff 0.6–0.95"), Check.Inv($"{s.AlignedCount}/{s.ColumnCount} atoms ≥ {s.Threshold}; {s.Coverage}/{s.RowCount} rows covered (sum rows {CoveredRows(s, "sum")}/{s.RowCount / 2}, diff rows {CoveredRows(s, "diff")}/{s.RowCount / 2})")));
            return Finish(claims, a.Training);
        }

        private static int AlignedBefore(CliffAlignment c) => Metrics.AtomAssignment.Summarize(c.Before, c.Summary.Threshold).AlignedCount;

        private static int CoveredRows(Metrics.AtomAssignmentSummary s, string family) => s.CoveredRows.Count(r => s.RowLabels[r].StartsWith(family + " ", StringComparison.Ordinal));

        private static ClaimResult Aligned(string id, string claim, CliffAlignment c, string paper)
        {
            var s = c.Summary;
            return ClaimResult.Judge(id, claim, paper,
                Check.Inv($"{s.AlignedCount}/{s.ColumnCount} atoms ≥ {s.Threshold}; {s.Coverage}/{s.RowCount} (family, k) covered; min best value {ReportWriter.G4(s.BestValue.Min())}"),
                Check.Inv($"all atoms ≥ {s.Threshold} and all {s.RowCount} rows covered"), s.AllColumnsAligned && s.AllRowsCovered);
        }

        /// <summary>The published overlap (out of 2K = 28 at p = 29) judged as a fraction of 2K, so that it applies to any p.</summary>
        private static ClaimResult Overlap(string id, string claim, double measured, double paper, int max, bool isPaper)
        {
            const int PaperMax = 28;
            double fraction = measured / max, paperFraction = paper / PaperMax;
            return ClaimResult.Judge(id, claim + Check.Inv($" (max 2K = {max})"), isPaper ? Check.Inv($"{paper}/{PaperMax} (v4 table)") : ClaimResult.CustomConfiguration,
                Check.Inv($"{measured:0.00}/{max} = {fraction:P1}"),
                Check.Inv($"fraction Σs²/2K within ±10 % of the published {paperFraction:P1} ({paper}/{PaperMax} at p = 29): {0.9 * paperFraction:P1}–{Math.Min(1.1 * paperFraction, 1):P1}"),
                Math.Abs(fraction - paperFraction) <= 0.1 * paperFraction);
        }

        /// <summary>Claims about the training dynamics and the spectrum over training.</summary>
        /// <param name="g">Grokking analysis.</param>
        /// <returns>Claims.</returns>
        public static IReadOnlyList<ClaimResult> Evaluate(GrokkingAnalysis g)
        {
            Check.NotNull(g, nameof(g));
            var claims = new List<ClaimResult>();
            bool isPaper = g.Training.Setup.Config.IsPaperConfiguration;
            string Paper(string v) => isPaper ? v : ClaimResult.CustomConfiguration;
            var pts = g.Points;
            var r = g.Reading;
            int? trainSat = pts.FirstOrDefault(p => p.Checkpoint.Metrics.TrainAccuracy >= 0.99)?.Epoch;
            claims.Add(ClaimResult.Info("grok.train", "Train accuracy saturates early", Paper("≈ 100 % by epoch ~40"), trainSat is int t ? Check.Inv($"≥ 99 % from epoch {t}") : "never ≥ 99 %"));
            claims.Add(ClaimResult.Info("grok.test", "Test accuracy jumps later (grokking)", Paper("0–2 % until ~60; 47 % at 80; 93 % at 100; 100 % by ~130"),
                Check.Inv($"≥ 10 % at epoch {Opt(r.TestAccuracy10Epoch)}, ≥ 50 % at {Opt(r.TestAccuracy50Epoch)}, ≥ 90 % at {Opt(r.TestAccuracy90Epoch)}; largest rise ending at {Opt(r.JumpEpoch)}")));
            var first = pts[0].Spectrum.Values;
            var last = pts[^1].Spectrum.Values;
            int i1 = g.Layout.FirstStart;
            claims.Add(ClaimResult.Info("grok.growth", "Eigenvalues grow by about two orders of magnitude during training", Paper("λ0 2e-3 → 0.5–0.6; plateau 1.5e-4 → 2e-2"),
                Check.Inv($"λ0 {ReportWriter.G4(first[0])} → {ReportWriter.G4(last[0])} (×{ReportWriter.G4(last[0] / first[0])}); λ{i1} {ReportWriter.G4(first[i1])} → {ReportWriter.G4(last[i1])} (×{ReportWriter.G4(last[i1] / first[i1])})")));
            int e1 = g.Layout.SecondStart - 1;
            int withFirst = pts.Count(p => DropNear(p.Cliffs.DropIndices, e1));
            claims.Add(ClaimResult.Judge("grok.first-cliff-throughout", Check.Inv($"The first cliff (1..{e1}) exists from initialisation on"), Paper("present at every epoch shown"),
                Check.Inv($"drop after {e1} (±2) at {withFirst}/{pts.Count} checkpoints"), "a drop after the first cliff at every checkpoint", withFirst == pts.Count));
            claims.Add(ClaimResult.Judge("grok.second-cliff-emerges", "The second cliff emerges with the test-accuracy jump", Paper("emerges at epochs 80–100 while test accuracy jumps (~70–130)"),
                Check.Inv($"second cliff from epoch {Opt(r.SecondCliffEpoch)}; test accuracy ≥ 10 % at {Opt(r.TestAccuracy10Epoch)}, ≥ 90 % at {Opt(r.TestAccuracy90Epoch)}"),
                "first epoch of the second cliff within [10 % epoch − Δ, 90 % epoch + Δ], Δ = logging interval", r.CliffEmergesWithJump));
            claims.Add(ClaimResult.Info("grok.overlap-derivative", "The derivative of the second cliff's sum overlap peaks near the onset of grokking (v4)", Paper("peak near epochs 75–100"),
                Check.Inv($"peak at epoch {Opt(r.OverlapDerivativePeakEpoch)}; final overlap {g.SumOverlapPercent[^1]:0.0} %")));
            return Finish(claims, g.Training);
        }

        private static string Opt(int? v) => v is int x ? x.ToString(System.Globalization.CultureInfo.InvariantCulture) : "never";
    }
}

using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using Entk.Internal;
using Entk.IO;
using Entk.Metrics;
using Entk.Plotting;
using Entk.Training;

namespace Entk.Experiments
{
    /// <summary>Which of the two modular-addition analyses an output folder holds.</summary>
    public enum MlpAnalysisKind
    {
        /// <summary>The final-model analysis (<see cref="MlpExperiment.Analyze"/>, folder <c>mlp/</c>).</summary>
        FinalModel,
        /// <summary>The grokking diagnosis over every checkpoint (<see cref="MlpExperiment.AnalyzeGrokking"/>, folder <c>grokking/</c>).</summary>
        Grokking,
    }

    /// <summary>
    /// Writes the modular-addition outputs. <c>mlp/</c>: <c>weights.npz</c> (W1 [H, 2p], W2 [p, H]), <c>split.npz</c>
    /// (train_idx, test_idx), <c>history.npy</c> [L, 5] (epoch, train loss, test loss, train acc, test acc),
    /// <c>eigenvalues_&lt;kernel&gt;.npy</c> [k] and <c>eigenvectors_&lt;kernel&gt;.npy</c> [p², k] for kernel ∈ {full, layer1, layer2},
    /// heatmaps <c>heatmap_&lt;cliff&gt;_&lt;before|after&gt;.npy</c> [2K, 4K], <c>metrics.json</c>, PNG figures (+ .csv), <c>report.md</c>.
    /// <c>grokking/</c>: <c>weights_epoch&lt;E&gt;.npz</c> and <c>eigenvalues_epoch&lt;E&gt;.npy</c> for every checkpoint,
    /// <c>history.npy</c>, <c>overlap.npy</c> [L, 5] (epoch, overlap sum, overlap diff, sum %, d(sum %)/d epoch),
    /// <c>heatmap_epoch&lt;E&gt;.npy</c>, <c>metrics.json</c>, figures, <c>report.md</c>.
    /// </summary>
    public static class MlpOutputs
    {
        /// <summary>Settings string of an MLP run ("mlp seed=… k=… config" or "grokking seed=…").</summary>
        /// <param name="kind">Which analysis.</param>
        /// <param name="config">Settings.</param>
        /// <param name="seed">Seed.</param>
        /// <param name="options">Analysis options.</param>
        /// <returns>The string.</returns>
        /// <exception cref="EntkArgumentException">An undefined kind.</exception>
        public static string Settings(MlpAnalysisKind kind, MlpConfig config, long seed, MlpAnalysisOptions options) =>
            kind switch
            {
                MlpAnalysisKind.FinalModel => "mlp",
                MlpAnalysisKind.Grokking => "grokking",
                _ => throw new EntkArgumentException(nameof(kind), "a defined MlpAnalysisKind", kind.ToString()),
            } + " seed=" + seed.ToString(CultureInfo.InvariantCulture) + " k=" + options.TopK.ToString(CultureInfo.InvariantCulture) + " " + config;

        private static NdArray History(MlpTrainingResult t) =>
            NdArray.FromDoubles(t.History.SelectMany(h => new[] { h.Epoch, h.TrainLoss, h.TestLoss, h.TrainAccuracy, h.TestAccuracy }).ToArray(), t.History.Count, 5);

        private static NdArray Indices(IReadOnlyList<int> v) => NdArray.FromInt64s(v.Select(x => (long)x).ToArray(), v.Count);

        private static JsonObject ConfigJson(MlpConfig c) => new()
        {
            ["modulus"] = c.Modulus, ["width"] = c.Width, ["train_fraction"] = c.TrainFraction, ["learning_rate"] = c.LearningRate,
            ["weight_decay"] = c.WeightDecay, ["epochs"] = c.Epochs, ["log_every"] = c.LogEvery,
        };

        private static JsonObject HistoryJson(MlpLogEntry h) => new()
        {
            ["epoch"] = h.Epoch, ["train_loss"] = h.TrainLoss, ["test_loss"] = h.TestLoss, ["train_accuracy"] = h.TrainAccuracy, ["test_accuracy"] = h.TestAccuracy,
        };

        private static JsonObject AlignmentJson(CliffAlignment c) => new()
        {
            ["kernel"] = c.Kernel,
            ["start"] = c.Start,
            ["size"] = c.Size,
            ["overlap_first_family"] = c.OverlapFirst.Overlap,
            ["overlap_second_family"] = c.OverlapSecond.Overlap,
            ["singular_values_first_family"] = Json.Array(c.OverlapFirst.SingularValues),
            ["singular_values_second_family"] = Json.Array(c.OverlapSecond.SingularValues),
            ["aligned_atoms"] = c.Summary.AlignedCount,
            ["covered_rows"] = c.Summary.Coverage,
            ["rows"] = c.Summary.RowCount,
            ["threshold"] = c.Summary.Threshold,
            ["best_row_per_atom"] = Json.Array(c.Summary.BestRow),
            ["best_value_per_atom"] = Json.Array(c.Summary.BestValue),
            ["row_labels"] = new JsonArray(c.After.RowLabels.Select(l => (JsonNode?)JsonValue.Create(l)).ToArray()),
        };

        private static IReadOnlyDictionary<string, MetadataValue> Info(long seed, int epoch, MlpLogEntry h) => new Dictionary<string, MetadataValue>
        {
            ["seed"] = MetadataValue.FromInt64(seed),
            ["epoch"] = MetadataValue.FromInt64(epoch),
            ["train_accuracy"] = MetadataValue.FromDouble(h.TrainAccuracy),
            ["test_accuracy"] = MetadataValue.FromDouble(h.TestAccuracy),
            ["train_loss"] = MetadataValue.FromDouble(h.TrainLoss),
        };

        /// <summary>Writes the final-model analysis and completes the folder.</summary>
        /// <param name="output">Output folder.</param>
        /// <param name="a">Analysis.</param>
        /// <param name="seed">Seed.</param>
        /// <param name="totalSeconds">Wall time.</param>
        /// <returns>Claims.</returns>
        /// <param name="options">The analysis options (for <see cref="MlpAnalysisOptions.WriteKernels"/>).</param>
        public static IReadOnlyList<ClaimResult> WriteMlp(ExperimentOutput output, MlpAnalysis a, long seed, double totalSeconds, MlpAnalysisOptions? options = null)
        {
            Check.NotNull(output, nameof(output));
            Check.NotNull(a, nameof(a));
            var claims = MlpClaims.Evaluate(a);
            var t = a.Training;
            var last = t.Checkpoints[^1];
            output.Checkpoint("weights.npz", ModelFiles.ToCheckpoint(t.Model, ModelFiles.MlpKind, Info(seed, last.Epoch, last.Metrics)));
            output.Checkpoint("initial_weights.npz", ModelFiles.ToCheckpoint(t.Setup.InitialModel, ModelFiles.MlpKind, Info(seed, 0, t.Checkpoints[0].Metrics)));
            if (options?.WriteKernels == true)
            {
                var lw = MlpExperiment.TracedKernels(t.Model);
                output.Npy("kernel_traced_full.npy", lw.Total.Matrix);
                output.Npy("kernel_traced_layer1.npy", lw["layer1"].Matrix);
                output.Npy("kernel_traced_layer2.npy", lw["layer2"].Matrix);
            }
            output.Npz("split.npz", new[] { new NamedArray("train_idx", Indices(t.Setup.TrainIndices)), new NamedArray("test_idx", Indices(t.Setup.TestIndices)) });
            output.Npy("history.npy", History(t));
            var kernels = new JsonObject();
            foreach (var s in a.Spectra)
            {
                output.Npy("eigenvalues_" + s.Name + ".npy", s.Spectrum.Values);
                output.Npy("eigenvectors_" + s.Name + ".npy", s.Spectrum.Vectors);
                kernels[s.Name] = new JsonObject
                {
                    ["eigenvalues"] = Json.Array(s.Spectrum.Values),
                    ["ridge_shift"] = s.Spectrum.Shift,
                    ["drops_after"] = Json.Array(s.Cliffs.DropIndices),
                    ["cliffs"] = Json.Cliffs(s.Cliffs),
                };
            }
            var cliffs = new (string name, CliffAlignment c)[] { ("first_layer1", a.FirstCliffLayer1), ("first_full", a.FirstCliffFull), ("second_full", a.SecondCliffFull) };
            var align = new JsonObject();
            foreach (var (name, c) in cliffs)
            {
                output.Npy("heatmap_" + name + "_before.npy", c.Before.Values);
                output.Npy("heatmap_" + name + "_after.npy", c.After.Values);
                align[name] = AlignmentJson(c);
            }
            var l = a.Layout;
            output.Figure("spectra.png", Figures.Grid(1, 3, a.Spectra.Select(s => (Panel?)Figures.Spectrum(
                Check.Inv($"{s.Name} traced eNTK (top {s.Spectrum.Count})"), new[] { s.Spectrum.Values.ToArray() }, logY: true,
                cliffsAfter: s.Cliffs.DropIndices.ToArray(), xLabel: "index", yLabel: "eigenvalue")).ToArray(), "Modular addition MLP: traced eNTK spectra (full, layer 1 = W1, layer 2 = W2)"));
            output.Figure("first_cliff.png", Figures.Grid(2, 2, new Panel?[]
            {
                Heat("layer-1 kernel, first cliff, raw", a.FirstCliffLayer1.Before), Heat("layer-1 kernel, first cliff, after (L_n, L_m) rotation", a.FirstCliffLayer1.After),
                Heat("full kernel, first cliff, raw", a.FirstCliffFull.Before), Heat("full kernel, first cliff, after (L_n, L_m) rotation", a.FirstCliffFull.After),
            }, Check.Inv($"First cliff (eigenvectors {l.FirstStart}–{l.SecondStart - 1}) vs Fourier families n (a) and m (b)"), sharedColorScale: true));
            output.Figure("second_cliff.png", Figures.Grid(1, 2, new Panel?[]
            {
                Heat("full kernel, second cliff, raw", a.SecondCliffFull.Before), Heat("full kernel, second cliff, after (L_sum, L_diff) rotation", a.SecondCliffFull.After),
            }, Check.Inv($"Second cliff (eigenvectors {l.SecondStart}–{l.SecondStart + l.Size - 1}) vs Fourier families sum and diff"), sharedColorScale: true));
            var top = new JsonObject
            {
                ["experiment"] = "mlp",
                ["seed"] = seed,
                ["config"] = ConfigJson(t.Setup.Config),
                ["final"] = HistoryJson(last.Metrics),
                ["divergence"] = Json.DivergenceJson(t.Divergence),
                ["history"] = new JsonArray(t.History.Select(h => (JsonNode?)HistoryJson(h)).ToArray()),
                ["cliff_layout"] = new JsonObject { ["first"] = new JsonArray(l.FirstStart, l.SecondStart - 1), ["second"] = new JsonArray(l.SecondStart, l.SecondStart + l.Size - 1) },
                ["kernels"] = kernels,
                ["alignment"] = align,
                ["train_seconds"] = a.TrainSeconds,
                ["analysis_seconds"] = a.AnalysisSeconds,
                ["total_seconds"] = totalSeconds,
                ["claims"] = Json.Claims(claims),
                ["environment"] = Json.Describe(),
            };
            output.Json("metrics.json", top);
            var sb = new StringBuilder();
            sb.Append("# Modular addition MLP — eNTK reproduction\n\n");
            var c0 = t.Setup.Config;
            sb.Append(Check.Inv($"Seed {seed}; p = {c0.Modulus}, H = {c0.Width}, train fraction {c0.TrainFraction}, AdamW lr {c0.LearningRate}, weight decay {c0.WeightDecay}, {c0.Epochs} epochs. Final train/test accuracy {last.Metrics.TrainAccuracy:P1} / {last.Metrics.TestAccuracy:P1}. Traced eNTK = mean over outputs, on all p² = {c0.Modulus * c0.Modulus} inputs, by structured derivatives; top {a.Spectra[0].Spectrum.Count} eigenpairs; ridge 1e-8·mean(diag). Training {a.TrainSeconds:0.0} s, kernels + spectra + rotations {a.AnalysisSeconds:0.00} s.\n\n"));
            sb.Append(ReportWriter.Warnings(new[] { ("mlp", t.Divergence) }, c0.IsPaperConfiguration));
            sb.Append("![spectra](spectra.png)\n\n![first cliff](first_cliff.png)\n\n![second cliff](second_cliff.png)\n\n## Claims\n\n");
            sb.Append(ReportWriter.ClaimsTable(claims));
            sb.Append("\n## Spectra\n\n");
            sb.Append(ReportWriter.Table(new[] { "kernel", "λ0", Check.Inv($"λ{l.FirstStart}"), Check.Inv($"λ{l.SecondStart - 1}"), Check.Inv($"λ{l.SecondStart}"), Check.Inv($"λ{l.SecondStart + l.Size - 1}"), Check.Inv($"λ{l.SecondStart + l.Size}"), "detected cliffs" },
                a.Spectra.Select(s => (IReadOnlyList<string>)new[]
                {
                    s.Name, ReportWriter.G4(s.Spectrum.Values[0]), ReportWriter.G4(s.Spectrum.Values[l.FirstStart]), ReportWriter.G4(s.Spectrum.Values[l.SecondStart - 1]),
                    ReportWriter.G4(s.Spectrum.Values[l.SecondStart]), ReportWriter.G4(s.Spectrum.Values[l.SecondStart + l.Size - 1]), ReportWriter.G4(s.Spectrum.Values[Math.Min(l.SecondStart + l.Size, s.Spectrum.Count - 1)]), s.Cliffs.ToString(),
                })));
            sb.Append("\nHeatmaps are phase-insensitive correlations sqrt((ĉ_k·û)² + (ŝ_k·û)²) of each (rotated) eigenvector with the Fourier modes of two families; every number is in the heatmap_*.npy files and the figures' .csv files.\n");
            output.Text("report.md", sb.ToString());
            output.Complete();
            return claims;
        }

        private static HeatmapPanel Heat(string title, FourierHeatmap h) =>
            Figures.Heatmap(title, h.Values, 0, 1, xLabel: "atom (eigenvector)", yLabel: "family, frequency", yTickLabels: h.RowLabels, colorbarLabel: "phase-insensitive corr.");

        /// <summary>Writes the grokking diagnosis and completes the folder.</summary>
        /// <param name="output">Output folder.</param>
        /// <param name="g">Analysis.</param>
        /// <param name="seed">Seed.</param>
        /// <param name="options">The options used (spectrum epochs).</param>
        /// <param name="totalSeconds">Wall time.</param>
        /// <returns>Claims.</returns>
        public static IReadOnlyList<ClaimResult> WriteGrokking(ExperimentOutput output, GrokkingAnalysis g, long seed, MlpAnalysisOptions options, double totalSeconds)
        {
            Check.NotNull(output, nameof(output));
            Check.NotNull(g, nameof(g));
            var claims = MlpClaims.Evaluate(g);
            var t = g.Training;
            var points = new JsonArray();
            for (int i = 0; i < g.Points.Count; i++)
            {
                var pt = g.Points[i];
                output.Checkpoint(Check.Inv($"weights_epoch{pt.Epoch}.npz"), ModelFiles.ToCheckpoint(pt.Checkpoint.Model, ModelFiles.MlpKind, Info(seed, pt.Epoch, pt.Checkpoint.Metrics)));
                output.Npy(Check.Inv($"eigenvalues_epoch{pt.Epoch}.npy"), pt.Spectrum.Values);
                var o = HistoryJson(pt.Checkpoint.Metrics);
                o["top_eigenvalues"] = Json.Array(pt.Spectrum.Values);
                o["drops_after"] = Json.Array(pt.Cliffs.DropIndices);
                o["cliffs"] = Json.Cliffs(pt.Cliffs);
                o["overlap_sum"] = pt.OverlapSum.Overlap;
                o["overlap_diff"] = pt.OverlapDiff.Overlap;
                o["overlap_sum_percent"] = g.SumOverlapPercent[i];
                o["overlap_sum_percent_derivative"] = g.SumOverlapDerivative[i];
                points.Add(o);
            }
            output.Npy("history.npy", History(t));
            output.Npy("overlap.npy", NdArray.FromDoubles(g.Points.SelectMany((pt, i) => new[] { pt.Epoch, pt.OverlapSum.Overlap, pt.OverlapDiff.Overlap, g.SumOverlapPercent[i], g.SumOverlapDerivative[i] }).ToArray(), g.Points.Count, 5));
            foreach (var h in g.Heatmaps.Select((h, i) => (h, epoch: HeatmapEpoch(g, i))))
                output.Npy(Check.Inv($"heatmap_epoch{h.epoch}.npy"), h.h.After.Values);
            var epochs = g.Points.Select(p => (double)p.Epoch).ToArray();
            var acc = Figures.Lines("Train and test accuracy", epochs, new[] { g.Points.Select(p => p.Checkpoint.Metrics.TrainAccuracy).ToArray(), g.Points.Select(p => p.Checkpoint.Metrics.TestAccuracy).ToArray() },
                new[] { "train", "test" }, "epoch", "accuracy");
            var shown = options.SpectrumEpochs.Where(e => g.Points.Any(p => p.Epoch == e)).ToArray();
            var spectra = Figures.Spectrum("Full traced eNTK spectra", shown.Select(e => g.At(e).Spectrum.Values.ToArray()).ToArray(), logY: true,
                names: shown.Select(e => Check.Inv($"epoch {e}")).ToArray(), cliffsAfter: new[] { g.Layout.SecondStart - 1, g.Layout.SecondStart + g.Layout.Size - 1 }, xLabel: "index", yLabel: "eigenvalue");
            output.Figure("grokking.png", Figures.Grid(1, 2, new Panel?[] { acc, spectra }, "Grokking: accuracy and the eNTK spectrum over training"));
            var guides = new List<GuideLine>();
            if (g.Reading.SecondCliffEpoch is int ce) guides.Add(new GuideLine(ce, "second cliff"));
            if (g.Reading.TestAccuracy50Epoch is int ae) guides.Add(new GuideLine(ae, "test acc 50%"));
            output.Figure("overlap.png", Figures.Lines("Second cliff overlap with the sum family", new[] { Series.Of("overlap (% of 2K)", epochs, g.SumOverlapPercent.ToArray()) },
                "epoch", "overlap %", guides, rightSeries: new[] { Series.Of("d/d epoch", epochs, g.SumOverlapDerivative.ToArray()) }, rightYLabel: "derivative (% per epoch)"));
            if (g.Heatmaps.Count > 0)
            {
                // two rows when there are two heatmaps or more; an odd count leaves the last cell empty
                int rows = g.Heatmaps.Count >= 2 ? 2 : 1, columns = (g.Heatmaps.Count + rows - 1) / rows;
                var cells = new Panel?[rows * columns];
                for (int i = 0; i < g.Heatmaps.Count; i++) cells[i] = Heat(Check.Inv($"epoch {HeatmapEpoch(g, i)}"), g.Heatmaps[i].After);
                output.Figure("heatmaps.png", Figures.Grid(rows, columns, cells, "Second cliff after the (L_sum, L_diff) rotation vs sum and diff modes", sharedColorScale: true));
            }
            var r = g.Reading;
            var top = new JsonObject
            {
                ["experiment"] = "grokking",
                ["seed"] = seed,
                ["config"] = ConfigJson(t.Setup.Config),
                ["checkpoints"] = points,
                ["divergence"] = Json.DivergenceJson(t.Divergence),
                ["reading"] = new JsonObject
                {
                    ["second_cliff_epoch"] = r.SecondCliffEpoch, ["test_accuracy_10_epoch"] = r.TestAccuracy10Epoch, ["test_accuracy_50_epoch"] = r.TestAccuracy50Epoch,
                    ["test_accuracy_90_epoch"] = r.TestAccuracy90Epoch, ["largest_test_accuracy_rise_epoch"] = r.JumpEpoch,
                    ["overlap_derivative_peak_epoch"] = r.OverlapDerivativePeakEpoch, ["second_cliff_emerges_with_jump"] = r.CliffEmergesWithJump,
                },
                ["heatmap_alignment"] = new JsonArray(g.Heatmaps.Select((h, i) => { var o = AlignmentJson(h); o["epoch"] = HeatmapEpoch(g, i); return (JsonNode?)o; }).ToArray()),
                ["train_seconds"] = g.TrainSeconds,
                ["analysis_seconds"] = g.AnalysisSeconds,
                ["total_seconds"] = totalSeconds,
                ["claims"] = Json.Claims(claims),
                ["environment"] = Json.Describe(),
            };
            output.Json("metrics.json", top);
            var sb = new StringBuilder();
            var c0 = t.Setup.Config;
            sb.Append("# Grokking diagnosed from the eNTK spectrum\n\n");
            sb.Append(Check.Inv($"Seed {seed}; p = {c0.Modulus}, H = {c0.Width}; {g.Points.Count} checkpoints (every {c0.LogEvery} epochs); at each, the full traced eNTK on all inputs, its top {g.Points[0].Spectrum.Count} eigenpairs, and the overlap of eigenvectors {g.Layout.SecondStart}–{g.Layout.SecondStart + g.Layout.Size - 1} with the sum and diff families. Training {g.TrainSeconds:0.0} s; all checkpoint kernels, spectra, overlaps and rotations {g.AnalysisSeconds:0.0} s.\n\n"));
            sb.Append(ReportWriter.Warnings(new[] { ("mlp", t.Divergence) }, c0.IsPaperConfiguration));
            sb.Append("![grokking](grokking.png)\n\n![overlap](overlap.png)\n\n").Append(g.Heatmaps.Count > 0 ? "![heatmaps](heatmaps.png)\n\n" : "No checkpoint falls on a heatmap epoch (" + string.Join(", ", options.HeatmapEpochs) + "), so there is no heatmap figure.\n\n").Append("## Claims\n\n");
            sb.Append(ReportWriter.ClaimsTable(claims));
            sb.Append("\n## Checkpoints\n\n");
            sb.Append(ReportWriter.Table(new[] { "epoch", "train acc", "test acc", "λ0", "λ1", Check.Inv($"λ{g.Layout.SecondStart}"), "drops after", "overlap sum", "overlap diff" },
                g.Points.Select(p => (IReadOnlyList<string>)new[]
                {
                    p.Epoch.ToString(CultureInfo.InvariantCulture), p.Checkpoint.Metrics.TrainAccuracy.ToString("0.000", CultureInfo.InvariantCulture), p.Checkpoint.Metrics.TestAccuracy.ToString("0.000", CultureInfo.InvariantCulture),
                    ReportWriter.G4(p.Spectrum.Values[0]), ReportWriter.G4(p.Spectrum.Values[1]), ReportWriter.G4(p.Spectrum.Values[g.Layout.SecondStart]),
                    string.Join(" ", p.Cliffs.DropIndices), p.OverlapSum.Overlap.ToString("0.00", CultureInfo.InvariantCulture), p.OverlapDiff.Overlap.ToString("0.00", CultureInfo.InvariantCulture),
                })));
            output.Text("report.md", sb.ToString());
            output.Complete();
            return claims;
        }

        private static int HeatmapEpoch(GrokkingAnalysis g, int i) => g.HeatmapEpochs[i];

        /// <summary>Reads the claims of a completed mlp or grokking folder.</summary>
        /// <param name="folder">Folder.</param>
        /// <returns>Claims.</returns>
        public static IReadOnlyList<ClaimResult> ReadClaims(string folder) =>
            Json.ReadClaims(JsonNode.Parse(System.IO.File.ReadAllText(System.IO.Path.Combine(folder, "metrics.json")))?["claims"]);
    }
}

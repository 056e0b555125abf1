using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using Entk.Internal;
using Entk.IO;
using Entk.Metrics;
using Entk.Models;
using Entk.Plotting;
using Entk.Training;

namespace Entk.Experiments
{
    /// <summary>
    /// Writes the Transformer outputs into one folder: <c>weights.npz</c> (W_E [p+1, d], W_pos [3, d], W_Q, W_K, W_V
    /// [heads, d_head, d], W_O [d, d], W_in [d, d_mlp], W_out [d_mlp, d], W_U [d, p+1]; see <see cref="TransformerWeights"/>),
    /// <c>initial_weights.npz</c>, <c>split.npz</c> (train_idx, test_idx: rows a·p + b in the shuffled order),
    /// <c>history.npy</c> [L, 5] (epoch, train loss, test loss, train acc, test acc), <c>logits.npy</c> [p², p+1] (final model,
    /// rows a·p + b), <c>fourier_power.npy</c> [p] (W_E[:p]
    /// power at k = 0..p−1), per kernel name n (the nine tensors, full, W_out+W_U, W_O+W_V) <c>eigenvalues_n.npy</c> [k] and
    /// <c>eigenvectors_n.npy</c> [p², k] (rows a·p + b; ridge 1e-8·mean(diag) included in the eigenvalues), for W_out, W_U
    /// and full <c>heatmap_n_before.npy</c> / <c>heatmap_n_after.npy</c> [⌊p/2⌋, 2F] (sum modes × cliff directions),
    /// <c>spectra_over_training.npz</c> (epochs [E], full, W_out, W_U [E, k], overlap_sum, overlap_axis_sum [E]),
    /// <c>metrics.json</c>, PNG figures with a CSV of what each shows, <c>report.md</c> and the manifest.
    /// </summary>
    public static class TransformerOutputs
    {
        /// <summary>The canonical settings string of a run (for resume checks).</summary>
        /// <param name="config">Settings.</param>
        /// <param name="seed">Seed.</param>
        /// <param name="options">Analysis options.</param>
        /// <returns>The string.</returns>
        public static string Settings(TransformerConfig config, long seed, TransformerAnalysisOptions options)
        {
            Check.NotNull(config, nameof(config));
            Check.NotNull(options, nameof(options));
            string epochs = options.SpectrumEpochs is null ? "auto" : string.Join(",", options.SpectrumEpochs);
            string keys = options.KeyFrequencies is null ? "auto" : string.Join(",", options.KeyFrequencies);
            return Check.Inv($"transformer seed={seed} k={options.TopK} spectrum_epochs={epochs} key_frequencies={keys} max_key={options.MaxKeyFrequencies?.ToString(CultureInfo.InvariantCulture) ?? "auto"} threshold={options.AlignmentThreshold:R} {config.Describe()}");
        }

        private static NdArray History(TransformerTrainingResult t) =>
            NdArray.FromDoubles(t.History.SelectMany(h => new[] { h.Epoch, h.TrainLoss, h.TestLoss, h.TrainAccuracy, h.TestAccuracy }).ToArray(), t.History.Count, 5);

        private static NdArray Indices(IReadOnlyList<int> v) => NdArray.FromInt64s(v.Select(x => (long)x).ToArray(), v.Count);

        private static JsonObject ConfigJson(TransformerConfig c) => new()
        {
            ["modulus"] = c.Modulus, ["d_model"] = c.Architecture.ModelWidth, ["heads"] = c.Architecture.Heads, ["d_head"] = c.Architecture.HeadWidth,
            ["d_mlp"] = c.Architecture.MlpWidth, ["train_fraction"] = c.TrainFraction, ["split_seed"] = c.SplitSeed, ["learning_rate"] = c.LearningRate,
            ["weight_decay"] = c.WeightDecay, ["beta1"] = c.Beta1, ["beta2"] = c.Beta2, ["epsilon"] = c.Epsilon, ["batch_size"] = c.BatchSize,
            ["epochs"] = c.Epochs, ["log_every"] = c.LogEvery, ["parameters"] = c.Architecture.ParameterCount,
        };

        private static JsonObject HistoryJson(TransformerLogEntry h) => new()
        {
            ["epoch"] = h.Epoch, ["train_loss"] = h.TrainLoss, ["test_loss"] = h.TestLoss, ["train_accuracy"] = h.TrainAccuracy, ["test_accuracy"] = h.TestAccuracy,
        };

        private static JsonObject OverlapJson(TransformerBlockOverlaps o)
        {
            JsonObject One(Metrics.SubspaceOverlapResult r, FrequencyOverlapRanking per) => new()
            {
                ["overlap"] = r.Overlap, ["singular_values"] = Json.Array(r.SingularValues), ["per_frequency"] = Json.Array(per.ByFrequency.Select(x => x.Score)),
            };
            return new JsonObject
            {
                ["offset"] = o.Offset,
                ["block1"] = new JsonArray(0, o.FirstEnd - 1),
                ["block2"] = new JsonArray(o.FirstEnd, o.SecondEnd - 1),
                ["max_overlap"] = o.MaxOverlap,
                ["block1_sum"] = One(o.FirstSum, o.FirstSumPerFrequency),
                ["block1_axis_sum"] = One(o.FirstAxisSum, o.FirstAxisSumPerFrequency),
                ["block2_sum"] = One(o.SecondSum, o.SecondSumPerFrequency),
                ["block2_axis_sum"] = One(o.SecondAxisSum, o.SecondAxisSumPerFrequency),
                ["drop_after_block1"] = o.DropAfterFirst,
                ["drop_after_block2"] = o.DropAfterSecond,
                ["sum_block"] = o.SumBlock,
            };
        }

        private static IReadOnlyDictionary<string, MetadataValue> Info(long seed, TransformerCheckpoint c) => new Dictionary<string, MetadataValue>
        {
            ["seed"] = MetadataValue.FromInt64(seed),
            ["epoch"] = MetadataValue.FromInt64(c.Epoch),
            ["train_accuracy"] = MetadataValue.FromDouble(c.Metrics.TrainAccuracy),
            ["test_accuracy"] = MetadataValue.FromDouble(c.Metrics.TestAccuracy),
            ["train_loss"] = MetadataValue.FromDouble(c.Metrics.TrainLoss),
        };

        /// <summary>Writes every output of an analysis and completes the folder.</summary>
        /// <param name="output">The opened output folder.</param>
        /// <param name="a">The analysis.</param>
        /// <param name="options">The analysis options (WriteKernels).</param>
        /// <param name="totalSeconds">Wall time of the run.</param>
        /// <returns>The claims.</returns>
        public static IReadOnlyList<ClaimResult> Write(ExperimentOutput output, TransformerAnalysis a, TransformerAnalysisOptions options, double totalSeconds)
        {
            Check.NotNull(output, nameof(output));
            Check.NotNull(a, nameof(a));
            Check.NotNull(options, nameof(options));
            var claims = TransformerClaims.Evaluate(a, options.AlignmentThreshold);
            var t = a.Training;
            long seed = t.Setup.Seed;
            var cfg = t.Setup.Config;
            int p = cfg.Modulus, half = p / 2;
            var last = t.Checkpoints[^1];
            output.Checkpoint("weights.npz", t.Weights.ToCheckpoint(Info(seed, last)));
            output.Checkpoint("initial_weights.npz", t.Setup.InitialWeights.ToCheckpoint(Info(seed, t.Checkpoints[0])));
            output.Npz("split.npz", new[] { new NamedArray("train_idx", Indices(t.Setup.TrainIndices)), new NamedArray("test_idx", Indices(t.Setup.TestIndices)) });
            output.Npy("history.npy", History(t));
            output.Npy("fourier_power.npy", a.DetectedKeyFrequencies.Power);
            using (var module = t.Weights.CreateModule())
            using (var scope = TorchSharp.torch.NewDisposeScope())
            using (TorchSharp.torch.no_grad())
                output.Npy("logits.npy", Torch.TorchOps.ToMatrix(module.forward(Torch.TorchOps.ToTensor(ModularTransformer.AllInputs(p)))));
            if (options.WriteKernels)
            {
                var kernels = TransformerExperiment.Kernels(t.Weights);
                foreach (var n in TransformerKernels.Names) output.Npy("kernel_" + n + ".npy", kernels[n]);
            }
            var kernelJson = new JsonObject();
            foreach (var s in a.Spectra)
            {
                output.Npy("eigenvalues_" + s.Name + ".npy", s.Spectrum.Values);
                output.Npy("eigenvectors_" + s.Name + ".npy", s.Spectrum.Vectors);
                var o = OverlapJson(a.Overlap(s.Name));
                o["eigenvalues"] = Json.Array(s.Spectrum.Values);
                o["ridge_shift"] = s.Spectrum.Shift;
                o["drops_after"] = Json.Array(s.Cliffs.DropIndices);
                o["cliffs"] = Json.Cliffs(s.Cliffs);
                kernelJson[s.Name] = o;
            }
            var rotJson = new JsonObject();
            foreach (var r in a.Rotations)
            {
                output.Npy("heatmap_" + r.Kernel + "_before.npy", r.Before.Values);
                output.Npy("heatmap_" + r.Kernel + "_after.npy", r.After.Values);
                rotJson[r.Kernel] = new JsonObject
                {
                    ["block"] = r.Block, ["start"] = r.Start, ["size"] = r.Size, ["aligned_at_key_frequencies"] = r.AlignedAtKeyFrequencies,
                    ["l_sum_energies"] = Json.Array(r.Energies),
                    ["best_value_per_direction"] = Json.Array(Enumerable.Range(0, r.After.ColumnCount).Select(j => Enumerable.Range(0, r.After.RowCount).Max(i => r.After.Values[i, j]))),
                    ["best_frequency_per_direction"] = Json.Array(Enumerable.Range(0, r.After.ColumnCount).Select(j => r.After.RowFrequencies[Enumerable.Range(0, r.After.RowCount).OrderByDescending(i => r.After.Values[i, j]).First()])),
                };
            }
            var ot = a.OverTraining;
            if (ot.Count > 0)
            {
                int kk = ot[0].Spectra[0].Spectrum.Count;
                NdArray Stack(int i) => NdArray.FromDoubles(ot.SelectMany(pt => pt.Spectra[i].Spectrum.Values).ToArray(), ot.Count, kk);
                output.Npz("spectra_over_training.npz", new[]
                {
                    new NamedArray("epochs", NdArray.FromInt64s(ot.Select(pt => (long)pt.Epoch).ToArray(), ot.Count)),
                    new NamedArray("full", Stack(0)), new NamedArray("W_out", Stack(1)), new NamedArray("W_U", Stack(2)),
                    new NamedArray("W_U_block1_sum", NdArray.FromDoubles(ot.Select(pt => pt.UnembedOverlaps.FirstSum.Overlap).ToArray(), ot.Count)),
                    new NamedArray("W_U_block2_axis_sum", NdArray.FromDoubles(ot.Select(pt => pt.UnembedOverlaps.SecondAxisSum.Overlap).ToArray(), ot.Count)),
                });
            }
            WriteFigures(output, a);
            var kf = a.DetectedKeyFrequencies;
            var top = new JsonObject
            {
                ["experiment"] = "transformer",
                ["seed"] = seed,
                ["config"] = ConfigJson(cfg),
                ["final"] = HistoryJson(last.Metrics),
                ["divergence"] = Json.DivergenceJson(t.Divergence),
                ["history"] = new JsonArray(t.History.Select(h => (JsonNode?)HistoryJson(h)).ToArray()),
                ["key_frequencies"] = Json.Array(a.KeyFrequencies),
                ["key_frequencies_given"] = a.KeyFrequenciesGiven,
                ["key_frequency_detection"] = new JsonObject
                {
                    ["detected"] = Json.Array(kf.Frequencies), ["power_fraction"] = kf.PowerFraction, ["gap_ratio"] = double.IsFinite(kf.GapRatio) ? kf.GapRatio : null,
                    ["ranked"] = Json.Array(kf.Ranked), ["power"] = Json.Array(kf.Power),
                    ["rule"] = "P_k = mean_d |DFT_t W_E[t, d]|² over tokens t = 0..p−1; sort P_1..P_⌊p/2⌋ descending; keep the m strongest, m maximising P_(m)/P_(m+1) for m ≤ ⌊⌊p/2⌋/2⌋ (ties: smaller m)",
                },
                ["kernels"] = kernelJson,
                ["rotations"] = rotJson,
                ["cliff_tensors"] = new JsonArray(TransformerClaims.CliffTensors(a, options.AlignmentThreshold).Select(n => (JsonNode?)JsonValue.Create(n)).ToArray()),
                ["spectra_over_training"] = new JsonArray(ot.Select(pt => (JsonNode?)new JsonObject
                {
                    ["epoch"] = pt.Epoch, ["train_accuracy"] = pt.Checkpoint.Metrics.TrainAccuracy, ["test_accuracy"] = pt.Checkpoint.Metrics.TestAccuracy,
                    ["W_U_block1_sum"] = pt.UnembedOverlaps.FirstSum.Overlap, ["W_U_block2_axis_sum"] = pt.UnembedOverlaps.SecondAxisSum.Overlap,
                    ["key_frequencies_at_epoch"] = Json.Array(pt.KeyFrequencies.Frequencies),
                    ["drops_after"] = new JsonObject { ["full"] = Json.Array(pt.Spectra[0].Cliffs.DropIndices), ["W_out"] = Json.Array(pt.Spectra[1].Cliffs.DropIndices), ["W_U"] = Json.Array(pt.Spectra[2].Cliffs.DropIndices) },
                }).ToArray()),
                ["train_seconds"] = t.Seconds,
                ["train_steps"] = t.Steps,
                ["analysis_seconds"] = a.AnalysisSeconds,
                ["kernel_seconds"] = a.KernelSeconds,
                ["total_seconds"] = totalSeconds,
                ["claims"] = Json.Claims(claims),
                ["environment"] = Json.Describe(),
            };
            output.Json("metrics.json", top);
            output.Text("report.md", Report(a, claims, options));
            output.Complete();
            return claims;
        }

        private static string Best(double sum, double axis) => sum >= axis ? Check.Inv($"sum {sum:0.0}") : Check.Inv($"axis {axis:0.0}");

        private static void WriteFigures(ExperimentOutput output, TransformerAnalysis a)
        {
            var t = a.Training;
            int p = t.Setup.Config.Modulus;
            var epochs = t.History.Select(h => (double)h.Epoch).ToArray();
            var guides = a.OverTraining.Select(pt => new GuideLine(pt.Epoch, Check.Inv($"{pt.Epoch}"))).ToArray();
            var acc = Figures.Lines("Train and test accuracy", epochs, new[] { t.History.Select(h => h.TrainAccuracy).ToArray(), t.History.Select(h => h.TestAccuracy).ToArray() },
                new[] { "train", "test" }, "epoch", "accuracy", guides);
            var loss = Figures.Lines("Cross-entropy (first p logits)", epochs, new[] { t.History.Select(h => Math.Log10(Math.Max(h.TrainLoss, 1e-300))).ToArray(), t.History.Select(h => Math.Log10(Math.Max(h.TestLoss, 1e-300))).ToArray() },
                new[] { "train", "test" }, "epoch", "log10 loss", legend: LegendLocation.UpperRight);
            output.Figure("accuracy.png", Figures.Grid(1, 2, new Panel?[] { acc, loss }, Check.Inv($"Modular-addition Transformer (p = {p}), seed {t.Setup.Seed}")));

            var kf = a.DetectedKeyFrequencies;
            var ks = Enumerable.Range(0, p).Select(k => (double)k).ToArray();
            output.Figure("fourier.png", Figures.Lines(Check.Inv($"Fourier power of W_E[:p] (key frequencies {{{string.Join(", ", kf.Frequencies)}}}, {kf.PowerFraction:P0} of the power)"), ks,
                new[] { kf.Power.ToArray() }, new[] { "power" }, "frequency k", "mean |DFT|² over d_model",
                kf.Frequencies.SelectMany(k => new[] { new GuideLine(k, Check.Inv($"k={k}")), new GuideLine(p - k) }).ToArray(), LegendLocation.UpperRight));

            var names = TransformerKernels.Names;
            var panels = names.Select(n =>
            {
                var s = a.Spectrum(n);
                var o = a.Overlap(n);
                return (Panel?)Figures.Spectrum(Check.Inv($"{n}: [0–{o.FirstEnd - 1}] {Best(o.FirstSum.Overlap, o.FirstAxisSum.Overlap)}, [{o.FirstEnd}–{o.SecondEnd - 1}] {Best(o.SecondSum.Overlap, o.SecondAxisSum.Overlap)} /{o.MaxOverlap}"),
                    new[] { s.Spectrum.Values.ToArray() }, logY: true, cliffsAfter: s.Cliffs.DropIndices.ToArray());
            }).ToArray();
            output.Figure("spectra.png", Figures.Grid(3, 4, panels, Check.Inv($"All-pairs-mean eNTK spectra (top {a.Spectra[0].Spectrum.Count}; dashed: detected drops; titles: best sum/axis_sum overlap of blocks 1 and 2, F = {a.KeyFrequencies.Count})")));

            // Per-frequency scores: rows = (kernel, block, family), columns = k.
            var rows = new List<double[]>();
            var labels = new List<string>();
            foreach (var n in TransformerExperiment.CliffKernels)
            {
                var o = a.Overlap(n);
                foreach (var (label, per) in new[] { ("block 1 vs sum", o.FirstSumPerFrequency), ("block 1 vs axis_sum", o.FirstAxisSumPerFrequency), ("block 2 vs sum", o.SecondSumPerFrequency), ("block 2 vs axis_sum", o.SecondAxisSumPerFrequency) })
                {
                    rows.Add(per.ByFrequency.Select(x => x.Score).ToArray());
                    labels.Add(n + " " + label);
                }
            }
            var score = Matrix.FromRows(rows);
            output.Figure("overlaps.png", Figures.Heatmap(Check.Inv($"Per-frequency overlap (0–2) of the eigenvector blocks; key frequencies {{{string.Join(", ", a.KeyFrequencies)}}}"), score, 0, 2,
                "frequency k", "kernel, block, family", labels, Enumerable.Range(1, p / 2).Select(k => k.ToString(CultureInfo.InvariantCulture)).ToArray(), "overlap", HeatmapOrigin.Upper, width: 900, height: 600));

            var heat = new List<Panel?>();
            foreach (var r in a.Rotations)
                heat.Add(Figures.Heatmap(Check.Inv($"{r.Kernel}: block {r.Block} (eigenvectors {r.Start}–{r.Start + r.Size - 1}), raw"), r.Before.Values, 0, 1, "eigenvector", "sum mode", r.Before.RowLabels, colorbarLabel: "phase-insensitive corr."));
            foreach (var r in a.Rotations)
                heat.Add(Figures.Heatmap(Check.Inv($"{r.Kernel}: after the L_sum rotation ({r.AlignedAtKeyFrequencies}/{r.Size} aligned)"), r.After.Values, 0, 1, "rotated direction", "sum mode", r.After.RowLabels, colorbarLabel: "phase-insensitive corr."));
            output.Figure("rotation.png", Figures.Grid(2, a.Rotations.Count, heat, "Sum cliff vs sum modes, before and after the single-stage L_sum rotation", sharedColorScale: true));

            if (a.OverTraining.Count > 0)
            {
                var ot = a.OverTraining;
                var names3 = ot.Select(pt => Check.Inv($"epoch {pt.Epoch} (test {pt.Checkpoint.Metrics.TestAccuracy:P0})")).ToArray();
                var over = new Panel?[]
                {
                    acc,
                    Figures.Spectrum("W_U kernel over training", ot.Select(pt => pt.Spectra[2].Spectrum.Values.ToArray()).ToArray(), logY: true, names: names3),
                    Figures.Spectrum("W_out kernel over training", ot.Select(pt => pt.Spectra[1].Spectrum.Values.ToArray()).ToArray(), logY: true, names: names3),
                    Figures.Spectrum("Full kernel over training", ot.Select(pt => pt.Spectra[0].Spectrum.Values.ToArray()).ToArray(), logY: true, names: names3),
                };
                output.Figure("over_training.png", Figures.Grid(2, 2, over, "eNTK spectra across the test-accuracy rise (guides: the epochs shown)"));
            }
        }

        private static string Report(TransformerAnalysis a, IReadOnlyList<ClaimResult> claims, TransformerAnalysisOptions options)
        {
            var t = a.Training;
            var c = t.Setup.Config;
            var last = t.Checkpoints[^1].Metrics;
            var sb = new StringBuilder();
            sb.Append("# Modular-addition Transformer — eNTK reproduction\n\n");
            sb.Append(Check.Inv($"Seed {t.Setup.Seed}; {c.Describe()}. Initial weights drawn in float32 in the paper notebook's order (equal to its weights for the same seed), trained in float64 with its mini-batch order. Final train/test accuracy {last.TrainAccuracy:P1} / {last.TestAccuracy:P1}. "));
            sb.Append(Check.Inv($"Kernels: all-pairs mean (1/C²)·Σ_cd K_cd, C = {c.Architecture.Vocabulary} logits, on all p² = {c.Modulus * c.Modulus} inputs (rows a·p + b), one per weight tensor through the generic module route; top {a.Spectra[0].Spectrum.Count} eigenpairs with ridge 1e-8·mean(diag). "));
            sb.Append(Check.Inv($"Key frequencies {{{string.Join(", ", a.KeyFrequencies)}}}{(a.KeyFrequenciesGiven ? " (given)" : " (detected from W_E)")}, F = {a.KeyFrequencies.Count}. Training {t.Seconds:0.0} s ({t.Steps} steps); kernels, spectra and overlaps {a.AnalysisSeconds:0.0} s.\n\n"));
            sb.Append("![accuracy](accuracy.png)\n\n![fourier](fourier.png)\n\n![spectra](spectra.png)\n\n![overlaps](overlaps.png)\n\n![rotation](rotation.png)\n\n");
            if (a.OverTraining.Count > 0) sb.Append("![over training](over_training.png)\n\n");
            // The divergence warning only (the custom-configuration note of TMS and the MLP does not apply: the Transformer's claims state their own rules).
            sb.Append(ReportWriter.Warnings(new[] { ("transformer", t.Divergence) }, paperConfiguration: true));
            sb.Append("## Claims\n\n");
            sb.Append(ReportWriter.ClaimsTable(claims));
            sb.Append(Check.Inv($"\n## Kernels\n\nBlock 1 = eigenvectors 0 .. s + 2F − 1 and block 2 = the next 2F (s ∈ {{0, 1}} admits one extra leading direction: 1 when a drop follows λ0 or λ2F, 0 when one follows λ(2F−1) instead), each compared with the centred sum and axis_sum modes at the key frequencies (maximum overlap 2F = {2 * a.KeyFrequencies.Count}).\n\n"));
            sb.Append(ReportWriter.Table(new[] { "kernel", "λ0", "λ1", "λ(s+2F)", "λ(s+4F)", "detected drops after", "block 1 sum / axis_sum", "block 2 sum / axis_sum", "drop at block ends" },
                a.Spectra.Select(s =>
                {
                    var o = a.Overlap(s.Name);
                    var v = s.Spectrum.Values;
                    return (IReadOnlyList<string>)new[]
                    {
                        s.Name, ReportWriter.G4(v[0]), ReportWriter.G4(v[1]), ReportWriter.G4(v[Math.Min(o.FirstEnd, v.Count - 1)]), ReportWriter.G4(v[Math.Min(o.SecondEnd, v.Count - 1)]),
                        string.Join(" ", s.Cliffs.DropIndices), Check.Inv($"{o.FirstSum.Overlap:0.000} / {o.FirstAxisSum.Overlap:0.000}"), Check.Inv($"{o.SecondSum.Overlap:0.000} / {o.SecondAxisSum.Overlap:0.000}"),
                        (o.DropAfterFirst ? "first" : "—") + " / " + (o.DropAfterSecond ? "second" : "—"),
                    };
                })));
            if (a.OverTraining.Count > 0)
            {
                sb.Append("\n## Over training\n\n");
                sb.Append(ReportWriter.Table(new[] { "epoch", "train acc", "test acc", "W_E key frequencies", "W_U λ0", "W_U drops after", "W_U block 1 vs sum", "W_U block 2 vs axis_sum" },
                    a.OverTraining.Select(pt => (IReadOnlyList<string>)new[]
                    {
                        pt.Epoch.ToString(CultureInfo.InvariantCulture), pt.Checkpoint.Metrics.TrainAccuracy.ToString("0.000", CultureInfo.InvariantCulture),
                        pt.Checkpoint.Metrics.TestAccuracy.ToString("0.000", CultureInfo.InvariantCulture), "{" + string.Join(", ", pt.KeyFrequencies.Frequencies) + "}",
                        ReportWriter.G4(pt.Spectra[2].Spectrum.Values[0]), string.Join(" ", pt.Spectra[2].Cliffs.DropIndices),
                        pt.UnembedOverlaps.FirstSum.Overlap.ToString("0.00", CultureInfo.InvariantCulture), pt.UnembedOverlaps.SecondAxisSum.Overlap.ToString("0.00", CultureInfo.InvariantCulture),
                    })));
            }
            sb.Append("\nEvery number of the figures is in the .csv beside each PNG and in the .npy/.npz files; verdict rules are stated beside each claim (alignment threshold ")
              .Append(options.AlignmentThreshold.ToString("R", CultureInfo.InvariantCulture)).Append(").\n");
            return sb.ToString();
        }

        /// <summary>Reads the claims of a completed transformer folder.</summary>
        /// <param name="folder">Folder.</param>
        /// <returns>Claims.</returns>
        public static IReadOnlyList<ClaimResult> ReadClaims(string folder) =>
            Json.ReadClaims(JsonNode.Parse(System.IO.File.ReadAllText(System.IO.Path.Combine(folder, "metrics.json")))?["claims"]);
    }
}

using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using Entk.Internal;
using Entk.IO;
using Entk.Linalg;
using Entk.Plotting;

namespace Entk.Experiments
{
    /// <summary>JSON helpers for experiment outputs.</summary>
    internal static class Json
    {
        public static JsonArray Array(IEnumerable<double> v) => new(v.Select(x => (JsonNode?)JsonValue.Create(double.IsFinite(x) ? x : (double?)null)).ToArray());

        public static JsonArray Array(IEnumerable<int> v) => new(v.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray());

        public static JsonArray Cliffs(CliffReport r) => new(r.Cliffs.Select(c => (JsonNode?)new JsonObject
        {
            ["start"] = c.Start,
            ["end"] = c.End,
            ["size"] = c.Size,
            ["drop_ratio"] = double.IsFinite(c.DropRatio) ? c.DropRatio : null,
        }).ToArray());

        public static JsonArray Claims(IEnumerable<ClaimResult> claims) => new(claims.Select(c => (JsonNode?)new JsonObject
        {
            ["id"] = c.Id,
            ["claim"] = c.Claim,
            ["paper"] = c.PaperValue,
            ["measured"] = c.Measured,
            ["rule"] = c.Rule,
            ["verdict"] = ReportWriter.Key(c.Verdict),
        }).ToArray());

        public static IReadOnlyList<ClaimResult> ReadClaims(JsonNode? node)
        {
            var list = new List<ClaimResult>();
            if (node is not JsonArray a) return list;
            foreach (var c in a)
            {
                if (c is null) continue;
                var v = ReportWriter.ParseKey(c["verdict"]!.GetValue<string>());
                list.Add(new ClaimResult(c["id"]!.GetValue<string>(), c["claim"]!.GetValue<string>(), c["paper"]!.GetValue<string>(),
                    c["measured"]!.GetValue<string>(), c["rule"]!.GetValue<string>(), v));
            }
            return list;
        }

        public static JsonObject? DivergenceJson(Training.TrainingDivergence? d) => d is null ? null : new JsonObject
        {
            ["unit"] = d.Unit,
            ["step"] = d.Step,
            ["loss"] = double.IsFinite(d.Loss) ? d.Loss : null,
            ["loss_text"] = d.Loss.ToString("R", CultureInfo.InvariantCulture),
            ["initial_loss"] = double.IsFinite(d.InitialLoss) ? d.InitialLoss : null,
            ["kept_step"] = d.KeptStep,
            ["reason"] = d.ToString(),
        };

        public static JsonObject Describe()
        {
            var o = new JsonObject();
            foreach (var kv in EntkInfo.Collect().Entries) o[kv.Key] = kv.Value;
            return o;
        }
    }

    /// <summary>
    /// Writes a TMS run: per model folder <c>weights.npz</c> (W [m, n], b [n]), <c>inputs.npy</c> [D, n],
    /// <c>importance.npy</c> [n], <c>loss.npy</c> [L, 2] (step, loss), and per β <c>eigenvalues_beta&lt;β&gt;.npy</c> [k],
    /// <c>eigenvectors_beta&lt;β&gt;.npy</c> [n·D, k] (class-major rows c·D + sample), <c>heatmap_beta&lt;β&gt;.npy</c> [n, k]
    /// (column-normalised) and <c>metrics.json</c>; at the top <c>metrics.json</c>, <c>figure.png</c> (+ .csv),
    /// <c>report.md</c> and the manifest.
    /// </summary>
    public static class TmsOutputs
    {
        /// <summary>The canonical settings string of a run (for resume checks).</summary>
        /// <param name="configs">Configurations.</param>
        /// <param name="seed">Seed.</param>
        /// <param name="options">Analysis options.</param>
        /// <returns>The string.</returns>
        public static string Settings(IReadOnlyList<Training.TmsConfig> configs, long seed, TmsAnalysisOptions options) =>
            "tms seed=" + seed.ToString(CultureInfo.InvariantCulture) + " betas=" + string.Join(",", options.Betas.Select(TmsBetaAnalysis.FormatBeta)) +
            " k=" + options.TopK.ToString(CultureInfo.InvariantCulture) + " " + string.Join(" ", configs.Select(c => c.ToString())) +
            (options.Linearize ? " linearize=" + string.Join(",", options.LinearizationRidges.Select(Check.R)) + (options.LinearizationMethod == Linearization.LinearSolveMethod.Auto ? "" : ":" + options.LinearizationMethod) : "");

        /// <summary>Writes all outputs and completes the folder.</summary>
        /// <param name="output">The opened output folder.</param>
        /// <param name="models">Analyses.</param>
        /// <param name="seed">Seed.</param>
        /// <param name="totalSeconds">Wall time of the run.</param>
        /// <returns>The claims.</returns>
        /// <param name="options">The analysis options (for <see cref="TmsAnalysisOptions.WriteKernels"/>).</param>
        public static IReadOnlyList<ClaimResult> Write(ExperimentOutput output, IReadOnlyList<TmsModelAnalysis> models, long seed, double totalSeconds, TmsAnalysisOptions? options = null)
        {
            Check.NotNull(output, nameof(output));
            Check.NotNull(models, nameof(models));
            var claims = TmsClaims.Evaluate(models);
            var modelsJson = new JsonObject();
            foreach (var a in models)
            {
                string d = a.Name + "/";
                var setup = a.Training.Setup;
                var info = new Dictionary<string, MetadataValue>
                {
                    ["seed"] = MetadataValue.FromInt64(seed),
                    ["steps"] = MetadataValue.FromInt64(a.Training.Divergence?.KeptStep ?? a.Config.Steps),
                };
                if (double.IsFinite(a.Training.FinalLoss)) info["final_loss"] = MetadataValue.FromDouble(a.Training.FinalLoss);
                info["config"] = MetadataValue.FromString(a.Config.ToString());
                if (a.Training.Divergence is not null) info["divergence"] = MetadataValue.FromString(a.Training.Divergence.ToString());
                output.Checkpoint(d + "weights.npz", ModelFiles.ToCheckpoint(a.Training.Model, ModelFiles.TmsKind, info));
                output.Checkpoint(d + "initial_weights.npz", ModelFiles.ToCheckpoint(setup.InitialModel, ModelFiles.TmsKind, new Dictionary<string, MetadataValue> { ["seed"] = MetadataValue.FromInt64(seed), ["steps"] = MetadataValue.FromInt64(0) }));
                output.Npy(d + "inputs.npy", setup.Inputs);
                if (options?.WriteKernels == true)
                {
                    var jac = Kernels.EmpiricalNtk.ComputeJacobian(a.Training.Model, setup.Inputs, new Kernels.NtkOptions { Method = Kernels.NtkMethod.JacobianContraction });
                    output.Npy(d + "jacobian.npy", NdArray.FromDoubles(jac.ToArray(), jac.Samples, jac.Outputs, jac.Parameters));
                    foreach (var b in a.PerBeta)
                    {
                        var k = Kernels.EmpiricalNtk.Compute(a.Training.Model, Kernels.KernelReduction.FlattenClassMajor, setup.Inputs,
                            options: new Kernels.NtkOptions { Importance = setup.Importance, Beta = b.Beta, Method = Kernels.NtkMethod.JacobianContraction });
                        output.Npy(d + "kernel_flat_beta" + b.Tag + ".npy", k.Matrix);
                    }
                }
                output.Npy(d + "importance.npy", setup.Importance);
                var loss = a.Training.Losses;
                output.Npy(d + "loss.npy", NdArray.FromDoubles(loss.SelectMany(l => new[] { (double)l.Step, l.Loss }).ToArray(), loss.Count, 2));
                var betas = new JsonObject();
                foreach (var b in a.PerBeta)
                {
                    output.Npy(d + "eigenvalues_beta" + b.Tag + ".npy", b.Spectrum.Values);
                    output.Npy(d + "eigenvectors_beta" + b.Tag + ".npy", b.Spectrum.Vectors);
                    output.Npy(d + "heatmap_beta" + b.Tag + ".npy", b.Heatmap.Normalized);
                    betas["beta" + b.Tag] = new JsonObject
                    {
                        ["beta"] = b.Beta,
                        ["eigenvalues"] = Json.Array(b.Spectrum.Values),
                        ["ridge_shift"] = b.Spectrum.Shift,
                        ["route"] = b.Spectrum.Route.ToString(),
                        ["drops_after"] = Json.Array(b.Cliffs.DropIndices),
                        ["cliffs"] = Json.Cliffs(b.Cliffs),
                        ["mmcs"] = b.Heatmap.Mmcs,
                        ["matched_score"] = b.Heatmap.MatchedScore,
                        ["diagonal_count"] = b.Heatmap.DiagonalCount,
                        ["diagonal_features"] = Json.Array(b.Heatmap.DiagonalFeatures),
                    };
                }
                var m = new JsonObject
                {
                    ["name"] = a.Name,
                    ["seed"] = seed,
                    ["config"] = new JsonObject
                    {
                        ["features"] = a.Config.Features, ["hidden"] = a.Config.Hidden, ["sparsity"] = a.Config.Sparsity, ["samples"] = a.Config.Samples,
                        ["importance_decay"] = a.Config.ImportanceDecay, ["learning_rate"] = a.Config.LearningRate, ["steps"] = a.Config.Steps,
                    },
                    ["reconstructed_count"] = a.ReconstructedFeatures,
                    ["initial_loss"] = a.Training.InitialLoss,
                    ["final_loss"] = a.Training.FinalLoss,
                    ["divergence"] = Json.DivergenceJson(a.Training.Divergence),
                    ["train_seconds"] = a.TrainSeconds,
                    ["kernel_seconds"] = a.KernelSeconds,
                };
                foreach (var kv in betas.ToList()) { betas.Remove(kv.Key); m[kv.Key] = kv.Value; }
                if (a.Linearization is not null)
                {
                    TmsLinearizationOutputs.Write(output, d, a);
                    m["linearization"] = TmsLinearizationOutputs.Details(a.Linearization);
                }
                output.Json(d + "metrics.json", m.DeepClone());
                modelsJson[a.Name] = m;
            }
            output.Figure("figure.png", BuildFigure(models));
            var top = new JsonObject
            {
                ["experiment"] = "tms",
                ["seed"] = seed,
                ["total_seconds"] = totalSeconds,
                ["models"] = modelsJson,
                ["claims"] = Json.Claims(claims),
                ["cliff_rule"] = "CliffDetector defaults: ratio ≥ 1.1 and log-gap ≥ 4× the median log-gap of the ±10 neighbours",
                ["environment"] = Json.Describe(),
            };
            output.Json("metrics.json", top);
            output.Text("report.md", Report(models, claims, seed, totalSeconds));
            output.Complete();
            return claims;
        }

        /// <summary>The paper's figure: row 1 spectra (β = 0, linear), rows 2–3 heatmaps for β = 1 and β = 0.3 (features × eigenvectors, colour range [0, 1]).</summary>
        /// <param name="models">Analyses.</param>
        /// <returns>The grid.</returns>
        public static GridFigure BuildFigure(IReadOnlyList<TmsModelAnalysis> models)
        {
            Check.NotNull(models, nameof(models));
            var rows = new List<Panel?>();
            foreach (var a in models)
            {
                var b0 = a.PerBeta.FirstOrDefault(b => b.Beta == 0) ?? a.PerBeta[0];
                rows.Add(Figures.Spectrum($"{a.Name}: spectrum (β = {b0.Tag})", new[] { b0.Spectrum.Values.ToArray() }, logY: false,
                    cliffsAfter: b0.Cliffs.DropIndices.ToArray(), xLabel: "eigenvalue index", yLabel: "eigenvalue"));
            }
            foreach (double beta in new[] { 1.0, 0.3 })
                foreach (var a in models)
                {
                    var b = a.PerBeta.FirstOrDefault(x => x.Beta == beta);
                    rows.Add(b is null ? null : Figures.Heatmap($"{a.Name}: heatmap (β = {b.Tag})", b.Heatmap.Normalized, 0, 1,
                        xLabel: "eigenvector", yLabel: "feature", colorbarLabel: "|cos| (column-normalised)"));
                }
            return Figures.Grid(3, models.Count, rows, "Toy models of superposition: flattened eNTK spectra and eigenvector–feature heatmaps");
        }

        private static string Report(IReadOnlyList<TmsModelAnalysis> models, IReadOnlyList<ClaimResult> claims, long seed, double seconds)
        {
            var sb = new StringBuilder();
            sb.Append("# Toy models of superposition — eNTK reproduction\n\n");
            sb.Append(Check.Inv($"Seed {seed}; n = {models[0].Config.Features} features, D = {models[0].Config.Samples} samples, I_i = {models[0].Config.ImportanceDecay}^i; flattened class-major eNTK (row = c·D + sample), top {models[0].PerBeta[0].Spectrum.Count} eigenpairs by the parameter-side Gram matrix; ridge 1e-8·mean(diag). Run time {seconds:0.0} s.\n\n"));
            sb.Append(ReportWriter.Warnings(models.Select(a => (a.Name, a.Training.Divergence)), models.All(a => a.Config.IsPaperModel)));
            sb.Append("![figure](figure.png)\n\n## Claims\n\n");
            sb.Append(ReportWriter.ClaimsTable(claims));
            sb.Append("\n## Per model\n\n");
            sb.Append(ReportWriter.Table(new[] { "model", "reconstructed", "final loss", "β", "top eigenvalues", "cliffs", "diagonal", "MMCS", "matched |cos|" },
                models.SelectMany(a => a.PerBeta.Select(b => (IReadOnlyList<string>)new[]
                {
                    a.Name, a.ReconstructedFeatures.ToString(CultureInfo.InvariantCulture), ReportWriter.G4(a.Training.FinalLoss), b.Tag,
                    string.Join(", ", b.Spectrum.Values.Take(3).Select(ReportWriter.G4)) + ", …",
                    b.Cliffs.ToString(), b.Heatmap.DiagonalCount.ToString(CultureInfo.InvariantCulture), ReportWriter.G4(b.Heatmap.Mmcs), ReportWriter.G4(b.Heatmap.MatchedScore),
                }))));
            sb.Append(TmsLinearizationOutputs.ReportSection(models));
            sb.Append("\n## Timing\n\n");
            sb.Append(ReportWriter.Table(new[] { "model", "train (s)", "eNTK spectra + heatmaps, all β (s)" },
                models.Select(a => (IReadOnlyList<string>)new[] { a.Name, a.TrainSeconds.ToString("0.00", CultureInfo.InvariantCulture), a.KernelSeconds.ToString("0.00", CultureInfo.InvariantCulture) })));
            sb.Append("\nCliff rule: a drop between λ_i and λ_{i+1} when λ_i/λ_{i+1} ≥ 1.1 and its log-gap is at least 4× the median log-gap of its ±10 neighbours (Entk.Linalg.CliffDetector). Every number in the figure is in figure.csv and the .npy files.\n");
            return sb.ToString();
        }

        /// <summary>Reads the claims of a completed TMS folder (for resumed runs).</summary>
        /// <param name="folder">The tms folder.</param>
        /// <returns>Claims.</returns>
        public static IReadOnlyList<ClaimResult> ReadClaims(string folder) =>
            Json.ReadClaims(JsonNode.Parse(System.IO.File.ReadAllText(System.IO.Path.Combine(folder, "metrics.json")))?["claims"]);
    }
}

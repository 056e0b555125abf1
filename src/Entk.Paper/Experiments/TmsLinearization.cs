using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using Entk.Internal;
using Entk.IO;
using Entk.Kernels;
using Entk.Linearization;
using Entk.Plotting;
using Entk.Training;

namespace Entk.Experiments
{
    /// <summary>Options of <see cref="TmsLinearization.Run"/>. Every member has a documented default.</summary>
    public sealed record TmsLinearizationOptions
    {
        private readonly IReadOnlyList<double> _ridges = Array.AsReadOnly(new[] { 1e-4, 5e-4, 1.0 });

        /// <summary>Absolute ridges λ &gt; 0 (default 1e-4, 5e-4, 1: the values in the author's notebook; copied).</summary>
        public IReadOnlyList<double> Ridges
        {
            get => _ridges;
            init => _ridges = value is null ? null! : Array.AsReadOnly(value.ToArray());
        }

        /// <summary>The linear-solve method (default Auto: the parameter side for TMS, P ≪ N·C).</summary>
        public LinearSolveMethod Method { get; init; } = LinearSolveMethod.Auto;

        /// <summary>Optional progress sink (default none).</summary>
        public IProgress<EntkProgress>? Progress { get; init; }
    }

    /// <summary>
    /// The eNTK linearisation check of one trained TMS model (docs/paper-notes.md §1.9): kernel regression with the
    /// flattened eNTK (sample-major, β = 0: no importance rescaling) fitted on the D training inputs with targets =
    /// inputs (the model is an autoencoder), evaluated on a fresh test set of D inputs from the same distribution
    /// (<see cref="TmsTestSet.Create"/>, fixed by the run's seed), for each absolute ridge and both variants.
    /// </summary>
    public sealed class TmsLinearization
    {
        internal TmsLinearization(Matrix testInputs, LinearizationReport report)
        {
            TestInputs = testInputs;
            Report = report;
        }

        /// <summary>The test inputs (D × n); their targets are themselves.</summary>
        public Matrix TestInputs { get; }

        /// <summary>The metrics per ridge and variant on the test set (<see cref="LinearizationResult.Score"/>) and on the training set (<see cref="LinearizationResult.TrainScore"/>, the author's protocol).</summary>
        public LinearizationReport Report { get; }

        /// <summary>Runs the check on a trained model.</summary>
        /// <param name="trained">The trained model and its setup.</param>
        /// <param name="options">Options (ridges, solve method, progress).</param>
        /// <returns>The check.</returns>
        public static TmsLinearization Run(TmsTrainingResult trained, TmsLinearizationOptions? options = null)
        {
            Check.NotNull(trained, nameof(trained));
            var o = options ?? new TmsLinearizationOptions();
            var ridges = o.Ridges;
            var method = o.Method;
            var progress = o.Progress;
            var setup = trained.Setup;
            var test = TmsTestSet.Create(setup.Config, setup.Seed, setup.Config.Samples);
            var report = LinearizationCheck.Run(trained.Model, setup.Inputs, setup.Inputs, test, test, ridges,
                new KernelRegressionOptions { Method = method, Ntk = new NtkOptions { Progress = progress } });
            return new TmsLinearization(test, report);
        }
    }

    /// <summary>Files and report lines of the TMS linearisation check.</summary>
    internal static class TmsLinearizationOutputs
    {
        /// <summary>Most points drawn per scatter panel (a fixed stride over the sample-major entries; all values are in the .npy files).</summary>
        internal const int MaxPointsPerPanel = 5000;

        /// <summary>The linearization.json object in the layout.</summary>
        public static JsonObject Json(TmsLinearization l) => new()
        {
            ["train_samples"] = l.Report.TrainSamples,
            ["test_samples"] = l.Report.EvaluationSamples,
            ["seconds"] = l.Report.Seconds,
            ["results"] = new JsonArray(l.Report.Results.Select(r => (JsonNode?)new JsonObject
            {
                ["ridge"] = r.Ridge,
                ["variant"] = r.VariantName,
                ["loss_ratio"] = Finite(r.Score.LossRatio),
                ["accuracy_gap_pp"] = Finite(r.Score.AccuracyGapPercentagePoints),
                ["r2"] = Finite(r.Score.R2),
            }).ToArray()),
        };

        /// <summary>Solver facts and the training-set (author's protocol) metrics, for the model's metrics.json.</summary>
        public static JsonObject Details(TmsLinearization l) => new()
        {
            ["kernel"] = "flattened eNTK, sample-major rows n·C + c, β = 0, absolute ridge",
            ["test_set"] = "fresh D inputs from the training distribution (TmsTestSet: same seeded generator, after the training draws); targets = inputs",
            ["model_test_mse"] = l.Report.Results.Count > 0 ? l.Report.Results[0].Score.ModelMse : null,
            ["results"] = new JsonArray(l.Report.Results.Select(r => (JsonNode?)new JsonObject
            {
                ["ridge"] = r.Ridge,
                ["variant"] = r.VariantName,
                ["route"] = r.Fit.Route.ToString(),
                ["iterations"] = r.Fit.Iterations,
                ["relative_residual"] = r.Fit.RelativeResidual,
                ["test"] = Score(r.Score),
                ["train_set"] = Score(r.TrainScore),
            }).ToArray()),
        };

        private static JsonObject Score(LinearizationScore s) => new()
        {
            ["loss_ratio"] = Finite(s.LossRatio),
            ["accuracy_gap_pp"] = Finite(s.AccuracyGapPercentagePoints),
            ["r2"] = Finite(s.R2),
            ["mse_linearized"] = s.LinearizedMse,
            ["mse_model"] = s.ModelMse,
            ["accuracy_linearized"] = s.LinearizedAccuracy,
            ["accuracy_model"] = s.ModelAccuracy,
        };

        private static double? Finite(double v) => double.IsFinite(v) ? v : null;

        /// <summary>
        /// Writes test_inputs.npy [D, n], test_outputs.npy [D, n] (f on the test set), linearization_predictions.npy
        /// [R, 2, D, n] (f_lin per ridge, variant expand/pure), linearization.json and linearization.png (+ .csv).
        /// </summary>
        public static void Write(ExperimentOutput output, string dir, TmsModelAnalysis a)
        {
            var l = a.Linearization!;
            output.Npy(dir + "test_inputs.npy", l.TestInputs);
            output.Npy(dir + "test_outputs.npy", l.Report.ModelOutputs);
            var ridges = l.Report.Results.Select(r => r.Ridge).Distinct().ToArray();
            int d = l.TestInputs.Rows, n = l.TestInputs.Columns;
            var all = new double[(long)ridges.Length * 2 * d * n];
            long k = 0;
            foreach (var ridge in ridges)
                foreach (var v in new[] { LinearizationVariant.ExpandAroundModel, LinearizationVariant.PureNtk })
                    foreach (var x in l.Report.Result(ridge, v).Predictions.Span) all[k++] = x;
            output.Npy(dir + "linearization_predictions.npy", NdArray.FromDoubles(all, ridges.Length, 2, d, n));
            output.Json(dir + "linearization.json", Json(l));
            output.Figure(dir + "linearization.png", Figure(a.Name, l));
        }

        /// <summary>Rows expand / pure, one column per ridge: f_lin against f on the test set, with y = x.</summary>
        public static GridFigure Figure(string name, TmsLinearization l)
        {
            var ridges = l.Report.Results.Select(r => r.Ridge).Distinct().ToArray();
            var f = l.Report.ModelOutputs.ToArray();
            int total = f.Length, stride = Math.Max(1, (total + MaxPointsPerPanel - 1) / MaxPointsPerPanel);
            var idx = Enumerable.Range(0, total).Where(i => i % stride == 0).ToArray();
            var xs = idx.Select(i => f[i]).ToArray();
            var panels = new List<Panel?>();
            foreach (var v in new[] { LinearizationVariant.ExpandAroundModel, LinearizationVariant.PureNtk })
                foreach (var ridge in ridges)
                {
                    var r = l.Report.Result(ridge, v);
                    var p = r.Predictions.ToArray();
                    var ys = idx.Select(i => p[i]).ToArray();
                    string title = Check.Inv($"{name} {r.VariantName}, λ = {Check.R(ridge)}: R² {r.Score.R2:0.000}, loss ratio {r.Score.LossRatio:0.000}");
                    panels.Add(ScatterPanel.Create(title, new[] { Series.Of(r.VariantName, xs, ys) }, diagonal: true, xLabel: "f (network)", yLabel: "f_lin (eNTK)", legend: LegendLocation.None));
                }
            string sub = stride == 1 ? "" : Check.Inv($" (every {stride}th of {total} entries)");
            return Figures.Grid(2, ridges.Length, panels, Check.Inv($"{name}: eNTK kernel regression f_lin against the network f on {l.Report.EvaluationSamples} test inputs{sub}"));
        }

        /// <summary>One console line: the test-set metrics per ridge and variant, and the time.</summary>
        public static string Summary(TmsModelAnalysis a)
        {
            var rep = a.Linearization!.Report;
            return Check.Inv($"tms {a.Name}: eNTK linearisation on {rep.EvaluationSamples} test inputs ({rep.Seconds:0.00}s, {rep.Results[0].Fit.Route}): ") +
                string.Join("; ", rep.Results.Select(r => Check.Inv($"λ={Check.R(r.Ridge)} {r.VariantName}: ratio {r.Score.LossRatio:0.000}, gap {r.Score.AccuracyGapPercentagePoints:0.0} pp, R² {r.Score.R2:0.000}")));
        }

        /// <summary>The report section: one table row per model, ridge and variant, test set and training set.</summary>
        public static string ReportSection(IReadOnlyList<TmsModelAnalysis> models)
        {
            var withLin = models.Where(a => a.Linearization is not null).ToArray();
            if (withLin.Length == 0) return "";
            var sb = new StringBuilder();
            sb.Append("\n## eNTK linearisation check (docs/paper-notes.md §1.9)\n\n");
            sb.Append("Kernel regression with the flattened eNTK (sample-major, β = 0, absolute ridge λ) fitted on the D training inputs with targets = inputs; ");
            sb.Append("\"test\" = a fresh seeded test set of D inputs from the same distribution (linearization.json), \"train set\" = the training inputs themselves (the author's notebook protocol). ");
            sb.Append("Loss ratio = MSE(f_lin, Y)/MSE(f, Y); accuracy gap = 100·(acc(f) − acc(f_lin)) with accuracy = argmax over outputs vs argmax of Y; R² = 1 − Σ(f_lin − f)²/Σ(f − mean f)². ");
            sb.Append("Author (n = 50, m = 10, S = 0.9, λ = 1e-4, train set): 0.988 / 1.2 pp / 0.959 (expand), 0.988 / 1.4 pp / 0.959 (pure).\n\n");
            sb.Append(ReportWriter.Table(new[] { "model", "λ", "variant", "test: loss ratio", "test: acc. gap (pp)", "test: R²", "train set: loss ratio", "train set: acc. gap (pp)", "train set: R²", "route" },
                withLin.SelectMany(a => a.Linearization!.Report.Results.Select(r => (IReadOnlyList<string>)new[]
                {
                    a.Name, Check.R(r.Ridge), r.VariantName,
                    ReportWriter.G4(r.Score.LossRatio), r.Score.AccuracyGapPercentagePoints.ToString("0.0", CultureInfo.InvariantCulture), ReportWriter.G4(r.Score.R2),
                    ReportWriter.G4(r.TrainScore.LossRatio), r.TrainScore.AccuracyGapPercentagePoints.ToString("0.0", CultureInfo.InvariantCulture), ReportWriter.G4(r.TrainScore.R2),
                    r.Fit.Route.ToString(),
                }))));
            sb.Append('\n');
            foreach (var a in withLin)
                sb.Append(Check.Inv($"![{a.Name} linearisation]({a.Name}/linearization.png) "));
            sb.Append('\n');
            return sb.ToString();
        }
    }
}

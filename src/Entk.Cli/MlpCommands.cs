using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Entk.Experiments;
using Entk.Training;

namespace Entk.Cli
{
    internal static partial class Commands
    {
        private sealed class MlpOptions
        {
            private readonly MlpConfig _d = new();

            public MlpOptions()
            {
                Modulus = new Option<int>("--modulus", "-p") { Description = "Modulus p: 3 or 5–4096 (inputs are all p² pairs; the traced kernels are p² × p², so a p whose run exceeds the memory budget is refused before any work).", DefaultValueFactory = _ => _d.Modulus };
                Width = new Option<int>("--width", "-H") { Description = "Hidden width H (≥ 1).", DefaultValueFactory = _ => _d.Width };
                TrainFraction = new Option<double>("--train-fraction") { Description = "Fraction of pairs used for training (0–1, leaving at least one training and one test pair).", DefaultValueFactory = _ => _d.TrainFraction };
                Lr = new Option<double>("--lr") { Description = "AdamW learning rate (> 0). A run whose loss diverges is stopped there and its claims are marked not evaluated.", DefaultValueFactory = _ => _d.LearningRate };
                WeightDecay = new Option<double>("--weight-decay") { Description = "AdamW decoupled weight decay (0–10⁶).", DefaultValueFactory = _ => _d.WeightDecay };
                Epochs = new Option<int>("--epochs") { Description = "Full-batch epochs (one AdamW step each; ≥ 0).", DefaultValueFactory = _ => _d.Epochs };
                LogEvery = new Option<int>("--log-every") { Description = "Metrics and checkpoints every this many epochs (≥ 1).", DefaultValueFactory = _ => _d.LogEvery };
                TopK = new Option<int>("--top-k", "-k") { Description = "Number of eigenpairs (clipped to p²; at least 8⌊p/2⌋ + 1, so that λ0 and both cliffs fit).", DefaultValueFactory = _ => 200 };
                WriteKernels = new Option<bool>("--write-kernels") { Description = "Also write the traced kernels of the final model (full, layer1, layer2)." };
            }

            public Option<bool> WriteKernels { get; }

            public Option<int> Modulus { get; }
            public Option<int> Width { get; }
            public Option<double> TrainFraction { get; }
            public Option<double> Lr { get; }
            public Option<double> WeightDecay { get; }
            public Option<int> Epochs { get; }
            public Option<int> LogEvery { get; }
            public Option<int> TopK { get; }

            public void AddTo(Command c)
            {
                foreach (var o in new Option[] { Modulus, Width, TrainFraction, Lr, WeightDecay, Epochs, LogEvery, TopK, WriteKernels }) c.Options.Add(o);
            }

            public MlpConfig Config(ParseResult p) => new()
            {
                Modulus = p.GetValue(Modulus), Width = p.GetValue(Width), TrainFraction = p.GetValue(TrainFraction), LearningRate = p.GetValue(Lr),
                WeightDecay = p.GetValue(WeightDecay), Epochs = p.GetValue(Epochs), LogEvery = p.GetValue(LogEvery),
            };

            public MlpAnalysisOptions Analysis(ParseResult p) => new() { TopK = p.GetValue(TopK), WriteKernels = p.GetValue(WriteKernels) };
        }

        private static Command ReproduceMlp()
        {
            var c = new Command("mlp", "Modular addition MLP (p = 29, H = 512): train, traced eNTK (full, layer 1, layer 2), top-200 spectra, cliffs, Laplacian rotations, Fourier alignment and overlaps. Writes OUT/mlp/.");
            var common = new CommonOptions();
            common.AddTo(c);
            c.SetAction(p => Guard(() =>
            {
                RunMlp(Path.Combine(Preflight.Out(p.GetValue(common.Out)), "mlp"), null, new MlpConfig(), p.GetValue(common.Seed), new MlpAnalysisOptions(), common.Policy(p), new ConsoleProgress());
                return 0;
            }));
            return c;
        }

        private static Command ReproduceGrokking()
        {
            var c = new Command("grokking", "Grokking diagnosis: checkpoints every 10 epochs, traced spectra, second-cliff overlaps with sum/diff, automatic reading. Writes OUT/grokking/.");
            var common = new CommonOptions();
            common.AddTo(c);
            c.SetAction(p => Guard(() =>
            {
                RunMlp(null, Path.Combine(Preflight.Out(p.GetValue(common.Out)), "grokking"), new MlpConfig(), p.GetValue(common.Seed), new MlpAnalysisOptions(), common.Policy(p), new ConsoleProgress());
                return 0;
            }));
            return c;
        }

        private static Command CustomMlp()
        {
            var c = new Command("mlp", "Run one custom modular-addition configuration (every option); writes OUT/mlp/ and, with --grokking, OUT/grokking/. Sizes whose arrays exceed the memory budget (40 % of the memory available) are refused before any work.");
            var common = new CommonOptions();
            common.AddTo(c);
            var mo = new MlpOptions();
            mo.AddTo(c);
            var grok = new Option<bool>("--grokking") { Description = "Also run the grokking diagnosis over every checkpoint." };
            c.Options.Add(grok);
            c.SetAction(p => Guard(() =>
            {
                string o = Preflight.Out(p.GetValue(common.Out));
                RunMlp(Path.Combine(o, "mlp"), p.GetValue(grok) ? Path.Combine(o, "grokking") : null, mo.Config(p), p.GetValue(common.Seed), mo.Analysis(p), common.Policy(p), new ConsoleProgress());
                return 0;
            }));
            return c;
        }

        /// <summary>Trains once and writes the final-model analysis (mlpFolder) and/or the grokking diagnosis (grokFolder).</summary>
        internal static (IReadOnlyList<ClaimResult> mlp, IReadOnlyList<ClaimResult> grokking) RunMlp(string? mlpFolder, string? grokFolder, MlpConfig config, long seed,
            MlpAnalysisOptions options, OutputPolicy policy, ConsoleProgress progress)
        {
            Preflight.Mlp(mlpFolder, grokFolder, config, seed, options, policy);
            ErrorBoundary.BeginWork();
            var sw = Stopwatch.StartNew();
            ExperimentOutput? mo = mlpFolder is null ? null : ExperimentOutput.Open(mlpFolder, "mlp", MlpOutputs.Settings(MlpAnalysisKind.FinalModel, config, seed, options), policy);
            ExperimentOutput? go = grokFolder is null ? null : ExperimentOutput.Open(grokFolder, "grokking", MlpOutputs.Settings(MlpAnalysisKind.Grokking, config, seed, options), policy);
            IReadOnlyList<ClaimResult> mc = Array.Empty<ClaimResult>(), gc = Array.Empty<ClaimResult>();
            if (mo is { IsComplete: true })
            {
                progress.Log("mlp: complete outputs found in " + mlpFolder + " (manifest verified); skipped");
                mc = MlpOutputs.ReadClaims(mlpFolder!);
            }
            if (go is { IsComplete: true })
            {
                progress.Log("grokking: complete outputs found in " + grokFolder + " (manifest verified); skipped");
                gc = MlpOutputs.ReadClaims(grokFolder!);
            }
            bool needMlp = mo is { IsComplete: false }, needGrok = go is { IsComplete: false };
            if (!needMlp && !needGrok) return (mc, gc);
            var trained = MlpTraining.Train(MlpSetup.Create(config, seed), new MlpTrainingOptions { Progress = progress });
            double trainSeconds = sw.Elapsed.TotalSeconds;
            var last = trained.History[^1];
            progress.Log(FormattableString.Invariant($"mlp: trained p = {config.Modulus}, H = {config.Width} for {last.Epoch} epochs in {trainSeconds:0.0}s; train/test accuracy {last.TrainAccuracy:P1} / {last.TestAccuracy:P1}"));
            if (trained.Divergence is { } d) progress.Log("mlp: WARNING: " + d + ". The claims are not evaluated; lower --lr (or --weight-decay).");
            if (needMlp)
            {
                var t0 = sw.Elapsed.TotalSeconds;
                var a = MlpExperiment.Analyze(trained, options with { Progress = progress }, trainSeconds);
                mc = MlpOutputs.WriteMlp(mo!, a, seed, sw.Elapsed.TotalSeconds - t0 + trainSeconds, options);
                progress.Log(FormattableString.Invariant($"mlp: analysis {a.AnalysisSeconds:0.00}s; wrote {mlpFolder}; claims: {ReportWriter.Summary(mc)}"));
            }
            if (needGrok)
            {
                var t0 = sw.Elapsed.TotalSeconds;
                var g = MlpExperiment.AnalyzeGrokking(trained, options with { Progress = progress }, trainSeconds);
                gc = MlpOutputs.WriteGrokking(go!, g, seed, options, sw.Elapsed.TotalSeconds - t0 + trainSeconds);
                progress.Log(FormattableString.Invariant($"grokking: {g.Points.Count} checkpoints analysed in {g.AnalysisSeconds:0.0}s; second cliff from epoch {g.Reading.SecondCliffEpoch?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "never"}; wrote {grokFolder}; claims: {ReportWriter.Summary(gc)}"));
            }
            return (mc, gc);
        }
    }
}

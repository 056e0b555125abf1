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
        private static Command ReproduceTms()
        {
            var c = new Command("tms", "Toy models of superposition: train the paper's three models (m, S) ∈ {(10, 0.3), (10, 0.9), (40, 0.9)}, flattened eNTK spectra for β ∈ {0, 1, 0.3}, heatmaps, scores, and the eNTK linearisation check (ridges 1e-4, 5e-4, 1). Writes OUT/tms/.");
            var common = new CommonOptions();
            common.AddTo(c);
            c.SetAction(p => Guard(() =>
            {
                RunTms(Path.Combine(Preflight.Out(p.GetValue(common.Out)), "tms"), TmsConfig.PaperModels, p.GetValue(common.Seed), new TmsAnalysisOptions { Linearize = true }, common.Policy(p), new ConsoleProgress());
                return 0;
            }));
            return c;
        }

        private static Command CustomTms()
        {
            var c = new Command("tms", "Run one custom TMS configuration (every option) and write the same files as `reproduce tms` into OUT/. Sizes whose arrays exceed the memory budget (40 % of the memory available) are refused before any work.");
            var common = new CommonOptions();
            common.AddTo(c);
            var d = new TmsConfig();
            var n = new Option<int>("--features", "-n") { Description = "Number of features n (= inputs = outputs; ≥ 1).", DefaultValueFactory = _ => d.Features };
            var m = new Option<int>("--hidden", "-m") { Description = "Hidden dimension m (≥ 1).", DefaultValueFactory = _ => d.Hidden };
            var s = new Option<double>("--sparsity", "-S") { Description = "Probability that a feature is 0 (in [0, 1]).", DefaultValueFactory = _ => d.Sparsity };
            var samples = new Option<int>("--samples", "-D") { Description = "Dataset size D (samples; ≥ 1).", DefaultValueFactory = _ => d.Samples };
            var r = new Option<double>("--importance-decay", "-r") { Description = "Importance decay r: I_i = r^i (0 < r ≤ 10⁶, with every r^i a positive finite float64 when a β ≠ 0).", DefaultValueFactory = _ => d.ImportanceDecay };
            var lr = new Option<double>("--lr") { Description = "Adam learning rate (> 0). A run whose loss diverges is stopped there and its claims are marked not evaluated.", DefaultValueFactory = _ => d.LearningRate };
            var steps = new Option<int>("--steps") { Description = "Full-batch Adam steps (≥ 0).", DefaultValueFactory = _ => d.Steps };
            var betas = new Option<string>("--betas") { Description = "Importance exponents β, comma-separated, distinct (every I_i^β must be a positive finite float64).", DefaultValueFactory = _ => "0,1,0.3" };
            var k = new Option<int>("--top-k", "-k") { Description = "Number of eigenpairs (1 to n·D).", DefaultValueFactory = _ => 80 };
            var kernels = new Option<bool>("--write-kernels") { Description = "Also write the explicit flattened kernels and the Jacobian (small cases, n·D ≤ 4000)." };
            var lin = LinearizeOptions.Create();
            foreach (var o in new Option[] { n, m, s, samples, r, lr, steps, betas, k, kernels }) c.Options.Add(o);
            lin.AddTo(c);
            c.SetAction(p => Guard(() =>
            {
                string outDir = Preflight.Out(p.GetValue(common.Out));
                var cfg = new TmsConfig
                {
                    Features = p.GetValue(n), Hidden = p.GetValue(m), Sparsity = p.GetValue(s), Samples = p.GetValue(samples),
                    ImportanceDecay = p.GetValue(r), LearningRate = p.GetValue(lr), Steps = p.GetValue(steps),
                };
                var opts = lin.Apply(p, new TmsAnalysisOptions { Betas = ParseDoubles(p.GetValue(betas)!, "--betas"), TopK = p.GetValue(k), WriteKernels = p.GetValue(kernels) });
                RunTms(outDir, new[] { cfg }, p.GetValue(common.Seed), opts, common.Policy(p), new ConsoleProgress());
                return 0;
            }));
            return c;
        }

        internal static IReadOnlyList<ClaimResult> RunTms(string folder, IReadOnlyList<TmsConfig> configs, long seed, TmsAnalysisOptions options, OutputPolicy policy, ConsoleProgress progress)
        {
            Preflight.Tms(folder, configs, seed, options, policy);
            ErrorBoundary.BeginWork();
            var output = ExperimentOutput.Open(folder, "tms", TmsOutputs.Settings(configs, seed, options), policy);
            if (output.IsComplete)
            {
                progress.Log("tms: complete outputs found in " + folder + " (manifest verified); skipped");
                return TmsOutputs.ReadClaims(folder);
            }
            var sw = Stopwatch.StartNew();
            var analyses = new List<TmsModelAnalysis>();
            foreach (var cfg in configs)
            {
                var a = TmsExperiment.Run(cfg, seed, options with { Progress = progress });
                progress.Log(FormattableString.Invariant($"tms {a.Name}: reconstructed {a.ReconstructedFeatures}, final loss {a.Training.FinalLoss:G3}, train {a.TrainSeconds:0.0}s, eNTK spectra {a.KernelSeconds:0.00}s"));
                if (a.Training.Divergence is { } d)
                    progress.Log("tms " + a.Name + ": WARNING: " + d + ". Its claims are not evaluated; lower --lr.");
                if (a.Linearization is not null) progress.Log(TmsLinearizationOutputs.Summary(a));
                analyses.Add(a);
            }
            var claims = TmsOutputs.Write(output, analyses, seed, sw.Elapsed.TotalSeconds, options);
            progress.Log(FormattableString.Invariant($"tms: wrote {folder} in {sw.Elapsed.TotalSeconds:0.0}s; claims: {ReportWriter.Summary(claims)}"));
            return claims;
        }
    }
}

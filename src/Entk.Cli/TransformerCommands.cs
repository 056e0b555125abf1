using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Entk.Experiments;
using Entk.Internal;
using Entk.Models;
using Entk.Training;

namespace Entk.Cli
{
    internal static partial class Commands
    {
        /// <summary>The paper's model seed of the Transformer experiment (v3-era and v4 notebooks).</summary>
        internal const long TransformerPaperSeed = 2;

        private sealed class TransformerOptions
        {
            private readonly TransformerConfig _d = new();
            private readonly TransformerAnalysisOptions _a = new();

            public TransformerOptions()
            {
                Modulus = new Option<int>("--modulus", "-p") { Description = "Modulus p (tokens 0..p−1 and \"=\" = p; inputs are all p² pairs).", DefaultValueFactory = _ => _d.Architecture.Modulus };
                ModelWidth = new Option<int>("--d-model") { Description = "Width of the residual stream d_model.", DefaultValueFactory = _ => _d.Architecture.ModelWidth };
                Heads = new Option<int>("--heads") { Description = "Number of attention heads (must divide d_model).", DefaultValueFactory = _ => _d.Architecture.Heads };
                MlpWidth = new Option<int>("--d-mlp") { Description = "Hidden width of the MLP d_mlp.", DefaultValueFactory = _ => _d.Architecture.MlpWidth };
                TrainFraction = new Option<double>("--train-fraction") { Description = "Fraction of pairs used for training (0–1).", DefaultValueFactory = _ => _d.TrainFraction };
                SplitSeed = new Option<long>("--split-seed") { Description = "Seed of Python's random.seed before random.shuffle(pairs).", DefaultValueFactory = _ => _d.SplitSeed };
                Lr = new Option<double>("--lr") { Description = "AdamW learning rate.", DefaultValueFactory = _ => _d.LearningRate };
                WeightDecay = new Option<double>("--weight-decay") { Description = "AdamW decoupled weight decay.", DefaultValueFactory = _ => _d.WeightDecay };
                Beta1 = new Option<double>("--beta1") { Description = "AdamW β1.", DefaultValueFactory = _ => _d.Beta1 };
                Beta2 = new Option<double>("--beta2") { Description = "AdamW β2.", DefaultValueFactory = _ => _d.Beta2 };
                Eps = new Option<double>("--eps") { Description = "AdamW ε.", DefaultValueFactory = _ => _d.Epsilon };
                BatchSize = new Option<int>("--batch-size") { Description = "Mini-batch size (reshuffled every epoch).", DefaultValueFactory = _ => _d.BatchSize };
                Epochs = new Option<int>("--epochs") { Description = "Epochs (passes over the training pairs).", DefaultValueFactory = _ => _d.Epochs };
                LogEvery = new Option<int>("--log-every") { Description = "Metrics and checkpoints every this many epochs.", DefaultValueFactory = _ => _d.LogEvery };
                TopK = new Option<int>("--top-k", "-k") { Description = "Eigenpairs per kernel.", DefaultValueFactory = _ => _a.TopK };
                SpectrumEpochs = new Option<string>("--spectrum-epochs") { Description = "Checkpoint epochs for the spectra over training, comma-separated, or 'auto' (0, train = 100 %, test ≥ 50 % and ≥ 95 %, last) or 'none'.", DefaultValueFactory = _ => "auto" };
                KeyFrequencies = new Option<string>("--key-frequencies") { Description = "Key frequencies, comma-separated, or 'auto' (detected from the Fourier power of W_E).", DefaultValueFactory = _ => "auto" };
                MaxKey = new Option<int?>("--max-key-frequencies") { Description = "Largest number of key frequencies the detection may return (default ⌊⌊p/2⌋/2⌋)." };
                Threshold = new Option<double>("--threshold") { Description = "Alignment/overlap threshold of the claims (0–1).", DefaultValueFactory = _ => _a.AlignmentThreshold };
                WriteKernels = new Option<bool>("--write-kernels") { Description = "Also write the 12 all-pairs-mean kernels kernel_<name>.npy [p², p²] of the final model." };
            }

            public Option<int> Modulus { get; }
            public Option<int> ModelWidth { get; }
            public Option<int> Heads { get; }
            public Option<int> MlpWidth { get; }
            public Option<double> TrainFraction { get; }
            public Option<long> SplitSeed { get; }
            public Option<double> Lr { get; }
            public Option<double> WeightDecay { get; }
            public Option<double> Beta1 { get; }
            public Option<double> Beta2 { get; }
            public Option<double> Eps { get; }
            public Option<int> BatchSize { get; }
            public Option<int> Epochs { get; }
            public Option<int> LogEvery { get; }
            public Option<int> TopK { get; }
            public Option<string> SpectrumEpochs { get; }
            public Option<string> KeyFrequencies { get; }
            public Option<int?> MaxKey { get; }
            public Option<double> Threshold { get; }
            public Option<bool> WriteKernels { get; }

            public void AddTo(Command c)
            {
                foreach (var o in new Option[] { Modulus, ModelWidth, Heads, MlpWidth, TrainFraction, SplitSeed, Lr, WeightDecay, Beta1, Beta2, Eps, BatchSize, Epochs, LogEvery, TopK, SpectrumEpochs, KeyFrequencies, MaxKey, Threshold, WriteKernels })
                    c.Options.Add(o);
            }

            public TransformerConfig Config(ParseResult p) => new()
            {
                Architecture = new TransformerArchitecture { Modulus = p.GetValue(Modulus), ModelWidth = p.GetValue(ModelWidth), Heads = p.GetValue(Heads), MlpWidth = p.GetValue(MlpWidth) },
                TrainFraction = p.GetValue(TrainFraction), SplitSeed = p.GetValue(SplitSeed), LearningRate = p.GetValue(Lr), WeightDecay = p.GetValue(WeightDecay),
                Beta1 = p.GetValue(Beta1), Beta2 = p.GetValue(Beta2), Epsilon = p.GetValue(Eps), BatchSize = p.GetValue(BatchSize), Epochs = p.GetValue(Epochs), LogEvery = p.GetValue(LogEvery),
            };

            public TransformerAnalysisOptions Analysis(ParseResult p)
            {
                string se = p.GetValue(SpectrumEpochs)!.Trim(), kf = p.GetValue(KeyFrequencies)!.Trim();
                IReadOnlyList<int>? epochs = se switch
                {
                    "auto" => null,
                    "none" => Array.Empty<int>(),
                    _ => ParseInts(se, "--spectrum-epochs"),
                };
                return new TransformerAnalysisOptions
                {
                    TopK = p.GetValue(TopK), SpectrumEpochs = epochs, KeyFrequencies = kf == "auto" ? null : ParseInts(kf, "--key-frequencies"),
                    MaxKeyFrequencies = p.GetValue(MaxKey), AlignmentThreshold = p.GetValue(Threshold), WriteKernels = p.GetValue(WriteKernels),
                };
            }
        }

        internal static IReadOnlyList<int> ParseInts(string text, string option)
        {
            var list = new List<int>();
            foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v))
                    throw new EntkArgumentException(option, "a comma-separated list of integers (e.g. 0,200,1000)", "'" + text + "'");
                list.Add(v);
            }
            if (list.Count == 0 || list.Distinct().Count() != list.Count) throw new EntkArgumentException(option, "at least one integer, no repeats", "'" + text + "'");
            return list;
        }

        private static Command ReproduceTransformer()
        {
            var c = new Command("transformer", "One-layer Transformer on modular addition (p = 29, seed 2 by default): train 4,000 epochs, per-tensor all-pairs-mean eNTKs, top-40 spectra, cliffs, key frequencies, sum/axis_sum overlaps, L_sum rotation, spectra over training. Writes OUT/transformer/.");
            var common = new CommonOptions(TransformerPaperSeed);
            common.AddTo(c);
            c.SetAction(p => Guard(() =>
            {
                RunTransformer(Path.Combine(Preflight.Out(p.GetValue(common.Out)), "transformer"), new TransformerConfig(), p.GetValue(common.Seed), new TransformerAnalysisOptions(), common.Policy(p), new ConsoleProgress());
                return 0;
            }));
            return c;
        }

        private static Command CustomTransformer()
        {
            var c = new Command("transformer", "Run one custom modular-addition Transformer configuration (every option); writes OUT/transformer/.");
            var common = new CommonOptions(TransformerPaperSeed);
            common.AddTo(c);
            var to = new TransformerOptions();
            to.AddTo(c);
            c.SetAction(p => Guard(() =>
            {
                RunTransformer(Path.Combine(Preflight.Out(p.GetValue(common.Out)), "transformer"), to.Config(p), p.GetValue(common.Seed), to.Analysis(p), common.Policy(p), new ConsoleProgress());
                return 0;
            }));
            return c;
        }

        /// <summary>Trains, analyses and writes one Transformer run into <paramref name="folder"/>.</summary>
        internal static IReadOnlyList<ClaimResult> RunTransformer(string folder, TransformerConfig config, long seed, TransformerAnalysisOptions options, OutputPolicy policy, ConsoleProgress progress)
        {
            Preflight.Transformer(folder, config, seed, options, policy);
            ErrorBoundary.BeginWork();
            var output = ExperimentOutput.Open(folder, "transformer", TransformerOutputs.Settings(config, seed, options), policy);
            if (output.IsComplete)
            {
                progress.Log("transformer: complete outputs found in " + folder + " (manifest verified); skipped");
                return TransformerOutputs.ReadClaims(folder);
            }
            var sw = Stopwatch.StartNew();
            var trained = TransformerTraining.Train(TransformerSetup.Create(config, seed), new TransformerTrainingOptions { Progress = progress });
            var last = trained.History[^1];
            if (trained.Divergence is { } d) progress.Log("transformer: WARNING: " + d + ". The claims are not evaluated; lower --lr (or --weight-decay).");
            progress.Log(FormattableString.Invariant($"transformer: seed {seed}, trained p = {config.Modulus} for {config.Epochs} epochs ({trained.Steps} steps) in {trained.Seconds:0.0}s; train/test accuracy {last.TrainAccuracy:P1} / {last.TestAccuracy:P1}"));
            var a = TransformerExperiment.Analyze(trained, options with { Progress = progress });
            progress.Log(FormattableString.Invariant($"transformer: key frequencies {{{string.Join(", ", a.KeyFrequencies)}}}; kernels + spectra + overlaps {a.AnalysisSeconds:0.0}s (final kernels {a.KernelSeconds:0.0}s, {a.OverTraining.Count} epochs over training)"));
            var claims = TransformerOutputs.Write(output, a, options, sw.Elapsed.TotalSeconds);
            progress.Log(FormattableString.Invariant($"transformer: wrote {folder} in {sw.Elapsed.TotalSeconds:0.0}s; claims: {claims.Count(x => x.Verdict == Verdict.Pass)} pass, {claims.Count(x => x.Verdict == Verdict.Fail)} fail"));
            return claims;
        }
    }
}

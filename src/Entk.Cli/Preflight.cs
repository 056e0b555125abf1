using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using Entk.Experiments;
using Entk.Internal;
using Entk.Training;

namespace Entk.Cli
{
    /// <summary>
    /// Everything the commands check before any work starts: the output path, every option (reworded with the CLI's
    /// flags), the memory plan of the whole run, and what each output folder already holds. A failure is a user error
    /// (exit code 2) and nothing is written.
    /// </summary>
    internal static class Preflight
    {
        /// <summary>Library setting names → the flags that set them (custom `entk tms`).</summary>
        public static readonly IReadOnlyDictionary<string, string> TmsFlags = new Dictionary<string, string>
        {
            ["Features"] = "--features (-n)", ["Hidden"] = "--hidden (-m)", ["Sparsity"] = "--sparsity (-S)", ["Samples"] = "--samples (-D)",
            ["ImportanceDecay"] = "--importance-decay (-r)", ["LearningRate"] = "--lr", ["Steps"] = "--steps", ["Betas"] = "--betas",
            ["TopK"] = "--top-k (-k)", ["options.TopK"] = "--top-k (-k)", ["WriteKernels"] = "--write-kernels", ["folder"] = "--out",
        };

        /// <summary>Library setting names → the flags that set them (custom `entk mlp`).</summary>
        public static readonly IReadOnlyDictionary<string, string> MlpFlags = new Dictionary<string, string>
        {
            ["Modulus"] = "--modulus (-p)", ["p"] = "--modulus (-p)", ["Width"] = "--width (-H)", ["TrainFraction"] = "--train-fraction", ["LearningRate"] = "--lr",
            ["WeightDecay"] = "--weight-decay", ["Epochs"] = "--epochs", ["LogEvery"] = "--log-every", ["TopK"] = "--top-k (-k)",
            ["options.TopK"] = "--top-k (-k)", ["folder"] = "--out",
        };

        public const string TmsSizeHint = "Reduce --features (-n), --samples (-D), --hidden (-m), --top-k (-k) or the number of --betas.";

        public static readonly IReadOnlyDictionary<string, string> TransformerFlags = new Dictionary<string, string>
        {
            ["Modulus"] = "--modulus (-p)", ["ModelWidth"] = "--d-model", ["Heads"] = "--heads", ["MlpWidth"] = "--d-mlp", ["Epochs"] = "--epochs",
            ["LogEvery"] = "--log-every", ["TopK"] = "--top-k (-k)", ["options.TopK"] = "--top-k (-k)", ["folder"] = "--out",
            ["TrainFraction"] = "--train-fraction", ["LearningRate"] = "--lr", ["WeightDecay"] = "--weight-decay", ["Beta1"] = "--beta1",
            ["Beta2"] = "--beta2", ["Epsilon"] = "--eps", ["BatchSize"] = "--batch-size", ["AlignmentThreshold"] = "--threshold",
            ["KeyFrequencies"] = "--key-frequencies", ["MaxKeyFrequencies"] = "--max-key-frequencies", ["SpectrumEpochs"] = "--spectrum-epochs",
        };

        public const string TransformerSizeHint = "Reduce --modulus (-p; the kernels are p² × p²), --d-model, --d-mlp, --top-k (-k), or the number of checkpoints (--epochs / --log-every).";

        public const string MlpSizeHint = "Reduce --modulus (-p; the traced kernels are p² × p²), --width (-H), --top-k (-k), or the number of checkpoints (--epochs / --log-every).";

        /// <summary>Runs a library validation and rewords its rejection with the flags.</summary>
        public static T Check<T>(Func<T> validate, IReadOnlyDictionary<string, string> flags)
        {
            try
            {
                return validate();
            }
            catch (EntkArgumentException e)
            {
                throw UsageException.From(e, flags);
            }
        }

        /// <summary>The --out folder as a full path: refused when empty, white space, or an existing file.</summary>
        public static string Out(string? value, string flag = "--out")
        {
            if (value is null || string.IsNullOrWhiteSpace(value))
                throw new UsageException("invalid " + flag + ": expected a folder path, got " + (value is null || value.Length == 0 ? "an empty string" : "'" + value + "' (white space only)") + ".");
            string full;
            try
            {
                full = Path.GetFullPath(value);
            }
            catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
            {
                throw new UsageException("invalid " + flag + ": '" + value + "' is not a usable path (" + e.Message + ").", e);
            }
            if (System.IO.File.Exists(full)) throw new UsageException("invalid " + flag + ": expected a folder, got '" + full + "', which is a file.");
            for (var d = Path.GetDirectoryName(full); d is not null; d = Path.GetDirectoryName(d))
                if (System.IO.File.Exists(d)) throw new UsageException("invalid " + flag + ": '" + full + "' cannot be created because '" + d + "' is a file.");
            return full;
        }

        /// <summary>An output file path (e.g. --json): refused when empty or a folder.</summary>
        public static string File(string? value, string flag)
        {
            if (value is null || string.IsNullOrWhiteSpace(value))
                throw new UsageException("invalid " + flag + ": expected a file path, got an empty string.");
            string full = Path.GetFullPath(value);
            if (Directory.Exists(full)) throw new UsageException("invalid " + flag + ": expected a file, got '" + full + "', which is a folder.");
            return full;
        }

        /// <summary>Refuses to touch an experiment folder whose contents the policy does not allow writing (CLI wording).</summary>
        public static void Folder(string folder, string settings, OutputPolicy policy)
        {
            var state = ExperimentOutput.Inspect(folder, settings);
            string? refusal = ExperimentOutput.Refusal(state, policy, cli: true);
            if (refusal is not null) throw new OutputExistsException(Path.GetFullPath(folder), refusal);
        }

        /// <summary>Validates a TMS run (every configuration and the options) and its memory plan, and the folder.</summary>
        public static void Tms(string folder, IReadOnlyList<TmsConfig> configs, long seed, TmsAnalysisOptions options, OutputPolicy policy)
        {
            ErrorBoundary.SetSizeHint(TmsSizeHint);
            var plan = MemoryPlan.Empty;
            foreach (var cfg in configs) plan = plan.Concat(Check(() => TmsExperiment.Plan(cfg, options), TmsFlags));
            Check(() => { plan.Require("the TMS run", alternatives: TmsSizeHint); return 0; }, TmsFlags);
            foreach (var cfg in configs) Check(() => { TmsExperiment.Validate(cfg, options); return 0; }, TmsFlags);
            Folder(folder, TmsOutputs.Settings(configs, seed, options), policy);
        }

        /// <summary>Validates an MLP run (settings, options, the analyses asked for) and its memory plan, and the folders.</summary>
        public static void Mlp(string? mlpFolder, string? grokFolder, MlpConfig config, long seed, MlpAnalysisOptions options, OutputPolicy policy)
        {
            ErrorBoundary.SetSizeHint(MlpSizeHint);
            var plan = Check(() => MlpExperiment.Plan(config, options, finalAnalysis: mlpFolder is not null, grokking: grokFolder is not null), MlpFlags);
            Check(() => { plan.Require(FormattableString.Invariant($"the MLP run (p = {config.Modulus}, H = {config.Width})"), alternatives: MlpSizeHint); return 0; }, MlpFlags);
            if (mlpFolder is not null || grokFolder is not null) Check(() => { MlpExperiment.Validate(config, options); return 0; }, MlpFlags);
            if (mlpFolder is not null) Folder(mlpFolder, MlpOutputs.Settings(MlpAnalysisKind.FinalModel, config, seed, options), policy);
            if (grokFolder is not null) Folder(grokFolder, MlpOutputs.Settings(MlpAnalysisKind.Grokking, config, seed, options), policy);
        }

        /// <summary>Validates a Transformer run (settings, options, the checkpoint epochs asked for) and the folder.</summary>
        public static void Transformer(string folder, TransformerConfig config, long seed, TransformerAnalysisOptions options, OutputPolicy policy)
        {
            ErrorBoundary.SetSizeHint(TransformerSizeHint);
            Check(() => { config.Validate(); return 0; }, TransformerFlags);
            Check(() => { options.Validate(config.Modulus); return 0; }, TransformerFlags);
            if (seed < 0) throw new EntkArgumentException("--seed", "a non-negative seed", seed.ToString(CultureInfo.InvariantCulture));
            if (options.SpectrumEpochs is { } se)
                foreach (var e in se)
                    if (e < 0 || e > config.Epochs || (e % config.LogEvery != 0 && e != config.Epochs))
                        throw new EntkArgumentException("--spectrum-epochs", Entk.Internal.Check.Inv($"checkpoint epochs (multiples of --log-every {config.LogEvery} up to --epochs {config.Epochs}, or the last)"), e.ToString(CultureInfo.InvariantCulture));
            var plan = Check(() => TransformerExperiment.Plan(config, options), TransformerFlags);
            Check(() => { plan.Require(FormattableString.Invariant($"the Transformer run (p = {config.Modulus})"), alternatives: TransformerSizeHint); return 0; }, TransformerFlags);
            Folder(folder, TransformerOutputs.Settings(config, seed, options), policy);
        }
    }
}

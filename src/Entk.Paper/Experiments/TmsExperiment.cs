using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using Entk.Internal;
using Entk.Kernels;
using Entk.Linalg;
using Entk.Metrics;
using Entk.Models;
using Entk.Training;

namespace Entk.Experiments
{
    /// <summary>Options of a TMS analysis (defaults: the paper's β list {0, 1, 0.3} and top 80 eigenpairs).</summary>
    public sealed record TmsAnalysisOptions
    {
        private readonly IReadOnlyList<double> _betas = Array.AsReadOnly(new[] { 0.0, 1.0, 0.3 });

        /// <summary>The β values of the importance rescaling (default 0, 1, 0.3; the list given is copied).</summary>
        public IReadOnlyList<double> Betas
        {
            get => _betas;
            init => _betas = value is null ? null! : Array.AsReadOnly(value.ToArray());
        }

        /// <summary>Number of eigenpairs (default 80).</summary>
        public int TopK { get; init; } = 80;

        /// <summary>The cliff rule (default <see cref="CliffOptions"/>).</summary>
        public CliffOptions Cliffs { get; init; } = new();

        /// <summary>
        /// Also write the explicit flattened kernels (<c>kernel_flat_beta&lt;β&gt;.npy</c>, class-major, rescaled, no ridge) and the
        /// Jacobian (<c>jacobian.npy</c> [D, n, P]) for regression and parity tests (default false; refused when n·D &gt; 4000).
        /// </summary>
        public bool WriteKernels { get; init; }

        /// <summary>Optional progress sink for training (when <see cref="TmsExperiment.Run"/> trains) and the spectra (default none).</summary>
        public IProgress<EntkProgress>? Progress { get; init; }

        /// <summary>
        /// Also run the eNTK linearisation check (<see cref="TmsLinearization"/>, docs/paper-notes.md §1.9) on a fresh
        /// seeded test set of D inputs (default false; <c>entk reproduce tms</c> and <c>entk tms --linearize</c> set
        /// it).
        /// </summary>
        public bool Linearize { get; init; }

        /// <summary>The absolute ridges λ of the linearisation check (default 1e-4, 5e-4, 1: the values in the author's notebook).</summary>
        public IReadOnlyList<double> LinearizationRidges
        {
            get => _ridges;
            init => _ridges = value is null ? null! : Array.AsReadOnly(value.ToArray());
        }

        private readonly IReadOnlyList<double> _ridges = Array.AsReadOnly(new[] { 1e-4, 5e-4, 1.0 });

        /// <summary>The linear-solve method of the linearisation check (default Auto: the parameter side, P ≪ N·C).</summary>
        public Linearization.LinearSolveMethod LinearizationMethod { get; init; } = Linearization.LinearSolveMethod.Auto;

        /// <summary>Validates the options against n features, D samples and P parameters.</summary>
        internal void Validate(int features, int samples)
        {
            if (Linearize)
            {
                Check.NotNull(LinearizationRidges, nameof(LinearizationRidges));
                if (LinearizationRidges.Count == 0) throw new EntkArgumentException(nameof(LinearizationRidges), "at least one ridge", "an empty list");
                foreach (var r in LinearizationRidges) Check.PositiveFinite(r, nameof(LinearizationRidges));
                if (LinearizationRidges.Distinct().Count() != LinearizationRidges.Count) throw new EntkArgumentException(nameof(LinearizationRidges), "distinct ridges", string.Join(", ", LinearizationRidges.Select(Check.R)));
                if (!Enum.IsDefined(LinearizationMethod)) throw new EntkArgumentException(nameof(LinearizationMethod), "a defined LinearSolveMethod", LinearizationMethod.ToString());
            }
            Check.NotNull(Betas, nameof(Betas));
            if (Betas.Count == 0) throw new EntkArgumentException(nameof(Betas), "at least one β", "an empty list");
            foreach (var b in Betas) Check.Finite(b, nameof(Betas));
            if (Betas.Distinct().Count() != Betas.Count) throw new EntkArgumentException(nameof(Betas), "distinct β values", string.Join(", ", Betas.Select(Check.R)));
            Check.NotNull(Cliffs, nameof(Cliffs));
            Check.InRange(TopK, 1, (int)Math.Min(int.MaxValue, (long)features * samples), nameof(TopK));
            if (WriteKernels && (long)features * samples > 4000)
                throw new EntkArgumentException(nameof(WriteKernels), "n·D ≤ 4000 when writing explicit kernels", Check.Inv($"n·D = {(long)features * samples}"));
        }
    }

    /// <summary>The analysis of one β: spectrum, cliffs, heatmap and recovery scores.</summary>
    public sealed class TmsBetaAnalysis
    {
        internal TmsBetaAnalysis(double beta, EigenDecomposition spectrum, CliffReport cliffs, TmsHeatmap heatmap)
        {
            Beta = beta;
            Spectrum = spectrum;
            Cliffs = cliffs;
            Heatmap = heatmap;
        }

        /// <summary>β.</summary>
        public double Beta { get; }

        /// <summary>Top-k eigenpairs of the flattened class-major kernel K^(β) (+ the paper's ridge 1e-8·mean(diag)); eigenvectors (n·D) × k, row = c·D + sample.</summary>
        public EigenDecomposition Spectrum { get; }

        /// <summary>Detected cliffs of the spectrum.</summary>
        public CliffReport Cliffs { get; }

        /// <summary>The eigenvector–feature-indicator heatmap (docs/paper-notes.md §1.6a) and scores.</summary>
        public TmsHeatmap Heatmap { get; }

        /// <summary>β formatted for file names: 0, 1, 0.3 (shortest round-trip, invariant culture).</summary>
        public string Tag => FormatBeta(Beta);

        /// <summary>Formats β like the file names do ("0", "1", "0.3").</summary>
        /// <param name="beta">β.</param>
        /// <returns>The tag.</returns>
        public static string FormatBeta(double beta) => beta.ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>One trained TMS model and its eNTK analysis.</summary>
    public sealed class TmsModelAnalysis
    {
        internal TmsModelAnalysis(TmsTrainingResult training, IReadOnlyList<TmsBetaAnalysis> perBeta, double trainSeconds, double kernelSeconds, TmsLinearization? linearization = null)
        {
            Linearization = linearization;
            Training = training;
            PerBeta = perBeta;
            TrainSeconds = trainSeconds;
            KernelSeconds = kernelSeconds;
        }

        /// <summary>Training result (setup, model, losses).</summary>
        public TmsTrainingResult Training { get; }

        /// <summary>Settings.</summary>
        public TmsConfig Config => Training.Setup.Config;

        /// <summary>Folder-friendly name, e.g. "m10_S0.3".</summary>
        public string Name => Config.Name;

        /// <summary>#{i : (WᵀW)_ii ≥ 0.75}.</summary>
        public int ReconstructedFeatures => Training.ReconstructedFeatures();

        /// <summary>Per-β results in the order of the options.</summary>
        public IReadOnlyList<TmsBetaAnalysis> PerBeta { get; }

        /// <summary>The result for one β.</summary>
        /// <param name="beta">β (exact match).</param>
        /// <returns>The analysis.</returns>
        public TmsBetaAnalysis ForBeta(double beta) => PerBeta.FirstOrDefault(b => b.Beta == beta)
            ?? throw new EntkArgumentException(nameof(beta), "one of {" + string.Join(", ", PerBeta.Select(b => b.Tag)) + "}", Check.R(beta));

        /// <summary>Seconds spent training.</summary>
        public double TrainSeconds { get; }

        /// <summary>The eNTK linearisation check, when requested (<see cref="TmsAnalysisOptions.Linearize"/>); otherwise null.</summary>
        public TmsLinearization? Linearization { get; }

        /// <summary>Seconds spent on eNTK spectra (all β) and heatmaps.</summary>
        public double KernelSeconds { get; }
    }

    /// <summary>The TMS experiment of the paper (docs/paper-notes.md §2.1): train, flattened eNTK spectra per β, heatmaps, scores.</summary>
    public static class TmsExperiment
    {
        /// <summary>What to change when a TMS run's plan does not fit (library wording).</summary>
        internal const string Alternatives = "Use fewer features (Features) or samples (Samples), fewer eigenpairs (options.TopK) or fewer β values (options.Betas).";

        /// <summary>
        /// Validates the settings and lists every array a run of them allocates (the options are checked by
        /// <see cref="Validate"/>; both run before any work): training
        /// (<see cref="TmsTraining.Plan"/>) and the kept spectra (an (n·D) × k eigenvector matrix per β, with the copies made
        /// while one is computed) and the dataset copies handed to the engine. The eNTK engine checks its own working memory against the budget when it runs.
        /// </summary>
        /// <param name="config">Settings.</param>
        /// <param name="options">Analysis options (default: the paper's).</param>
        /// <returns>The plan.</returns>
        /// <exception cref="EntkArgumentException">A setting is invalid.</exception>
        public static Training.MemoryPlan Plan(TmsConfig config, TmsAnalysisOptions? options = null)
        {
            Check.NotNull(config, nameof(config));
            var o = options ?? new TmsAnalysisOptions();
            var plan = TmsTraining.Plan(config);
            long rows = (long)config.Features * config.Samples;
            long k = Math.Clamp(o.TopK, 1, rows);
            int betas = o.Betas?.Count ?? 0;
            return plan.Add(Check.Inv($"eigenvectors (n·D) × k = {rows} × {k} per β"), "Features, Samples, TopK", betas + 2, rows, k)
                .Add(Check.Inv($"dataset copies for the eNTK D × n = {config.Samples} × {config.Features}"), "Samples, Features", 2, config.Samples, config.Features);
        }

        /// <summary>Validates the settings and the analysis options together, before any work (e.g. TopK ≤ n·D; β ≠ 0 needs positive importances).</summary>
        /// <param name="config">Settings.</param>
        /// <param name="options">Analysis options (default: the paper's).</param>
        /// <exception cref="EntkArgumentException">A setting or option is invalid.</exception>
        public static void Validate(TmsConfig config, TmsAnalysisOptions? options = null)
        {
            Check.NotNull(config, nameof(config));
            config.Validate();
            var o = options ?? new TmsAnalysisOptions();
            o.Validate(config.Features, config.Samples);
            if (o.Betas.Any(b => b != 0) && !(Math.Pow(config.ImportanceDecay, config.Features - 1) > 0))
                throw new EntkArgumentException(nameof(TmsConfig.ImportanceDecay), Check.Inv($"a decay r whose smallest importance r^(n−1) is positive in float64 (n = {config.Features}), as β ≠ 0 rescales by the importances"),
                    Check.Inv($"r = {Check.R(config.ImportanceDecay)}, r^(n−1) = 0 (underflow)"), "Use β = 0 only (--betas 0) or a decay closer to 1.");
            var importance = config.Importance();
            foreach (var b in o.Betas)
                for (int c = 0; c < importance.Length; c++)
                {
                    double f = Math.Pow(importance[c], b);
                    if (!double.IsFinite(f) || f <= 0)
                        throw new EntkArgumentException(nameof(TmsAnalysisOptions.Betas), "exponents β for which every rescaling factor I_c^β of the kernel is a positive finite float64",
                            Check.Inv($"β = {Check.R(b)}: I_{c}^β = {Check.R(importance[c])}^{Check.R(b)} = {Check.R(f)}"));
                }
        }

        /// <summary>Trains one configuration and analyses it.</summary>
        /// <param name="config">Model/data/training settings.</param>
        /// <param name="seed">Seed of the setup (weights and data).</param>
        /// <param name="options">Analysis options (default: β ∈ {0, 1, 0.3}, top 80); their Progress also receives the training's progress.</param>
        /// <returns>The analysis.</returns>
        public static TmsModelAnalysis Run(TmsConfig config, long seed, TmsAnalysisOptions? options = null)
        {
            Check.NotNull(config, nameof(config));
            Plan(config, options).Require("the TMS run " + config.Name, alternatives: Alternatives);
            Validate(config, options);
            var setup = TmsSetup.Create(config, seed);
            var sw = Stopwatch.StartNew();
            var trained = TmsTraining.Train(setup, new TmsTrainingOptions { Progress = options?.Progress });
            double trainSeconds = sw.Elapsed.TotalSeconds;
            return Analyze(trained, options, trainSeconds);
        }

        /// <summary>Analyses a trained model (spectra for every β, cliffs, heatmaps).</summary>
        /// <param name="trained">Training result.</param>
        /// <param name="options">Analysis options (including the progress sink).</param>
        /// <param name="trainSeconds">Training time to record (default 0).</param>
        /// <returns>The analysis.</returns>
        public static TmsModelAnalysis Analyze(TmsTrainingResult trained, TmsAnalysisOptions? options = null, double trainSeconds = 0)
        {
            Check.NotNull(trained, nameof(trained));
            var o = options ?? new TmsAnalysisOptions();
            var progress = o.Progress;
            var setup = trained.Setup;
            o.Validate(setup.Config.Features, setup.Config.Samples);
            var sw = Stopwatch.StartNew();
            var results = new List<TmsBetaAnalysis>();
            int done = 0;
            foreach (var beta in o.Betas)
            {
                progress?.Report(new EntkProgress("entk spectra " + setup.Config.Name, done, o.Betas.Count));
                var spectrum = EmpiricalNtk.Spectrum(trained.Model, KernelReduction.FlattenClassMajor, setup.Inputs, o.TopK,
                    new NtkOptions { Importance = setup.Importance, Beta = beta }, RidgePolicy.Paper);
                var cliffs = CliffDetector.Detect(spectrum.Values, o.Cliffs);
                var heatmap = TmsFeatures.Heatmap(setup.Inputs, spectrum.Vectors);
                results.Add(new TmsBetaAnalysis(beta, spectrum, cliffs, heatmap));
                progress?.Report(new EntkProgress("entk spectra " + setup.Config.Name, ++done, o.Betas.Count));
            }
            double kernelSeconds = sw.Elapsed.TotalSeconds;
            var linearization = o.Linearize ? TmsLinearization.Run(trained, new TmsLinearizationOptions { Ridges = o.LinearizationRidges, Method = o.LinearizationMethod, Progress = progress }) : null;
            return new TmsModelAnalysis(trained, results.AsReadOnly(), trainSeconds, kernelSeconds, linearization);
        }
    }
}

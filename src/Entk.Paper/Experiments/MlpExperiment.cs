using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Entk.Internal;
using Entk.Kernels;
using Entk.Linalg;
using Entk.Metrics;
using Entk.Models;
using Entk.Training;

namespace Entk.Experiments
{
    /// <summary>Options of the modular-addition analyses (defaults: top 200 eigenpairs, alignment threshold 0.9).</summary>
    public sealed record MlpAnalysisOptions
    {
        /// <summary>Number of eigenpairs (default 200; clipped to p²).</summary>
        public int TopK { get; init; } = 200;

        /// <summary>Threshold for "an atom aligns with one (family, frequency)" (default 0.9, the paper's claim).</summary>
        public double AlignmentThreshold { get; init; } = 0.9;

        /// <summary>The cliff rule.</summary>
        public CliffOptions Cliffs { get; init; } = new();

        /// <summary>Also write the traced kernels <c>kernel_traced_&lt;full|layer1|layer2&gt;.npy</c> [p², p²] of the final model (default false).</summary>
        public bool WriteKernels { get; init; }

        private readonly IReadOnlyList<int> _heatmapEpochs = Array.AsReadOnly(new[] { 40, 60, 80, 100, 150, 500 });
        private readonly IReadOnlyList<int> _spectrumEpochs = Array.AsReadOnly(new[] { 0, 60, 80, 100, 500 });

        /// <summary>Epochs whose second cliff is rotated and plotted in the grokking figure (default 40, 60, 80, 100, 150, 500; the list given is copied).</summary>
        public IReadOnlyList<int> HeatmapEpochs
        {
            get => _heatmapEpochs;
            init => _heatmapEpochs = value is null ? null! : Array.AsReadOnly(value.ToArray());
        }

        /// <summary>Epochs whose spectra are overlaid in the grokking figure (default 0, 60, 80, 100, 500; the list given is copied).</summary>
        public IReadOnlyList<int> SpectrumEpochs
        {
            get => _spectrumEpochs;
            init => _spectrumEpochs = value is null ? null! : Array.AsReadOnly(value.ToArray());
        }

        /// <summary>Optional progress sink for training (when Run/RunGrokking train) and the analysis (default none).</summary>
        public IProgress<EntkProgress>? Progress { get; init; }
    }

    /// <summary>
    /// The theoretical cliff layout of the modular MLP's traced kernel: λ₀ isolated, then a first cliff of
    /// 4K modes (2 operands × K frequencies × cos/sin, K = ⌊p/2⌋) at indices 1..4K, then a second cliff of
    /// 4K modes at 4K+1..8K (for p = 29: 1..56 and 57..112).
    /// </summary>
    public sealed class CliffLayout
    {
        internal CliffLayout(int p)
        {
            Modulus = p;
            int k = p / 2;
            FirstStart = 1;
            Size = 4 * k;
            SecondStart = 1 + Size;
        }

        /// <summary>p.</summary>
        public int Modulus { get; }

        /// <summary>Size of each cliff (4K).</summary>
        public int Size { get; }

        /// <summary>First index of the first cliff (1).</summary>
        public int FirstStart { get; }

        /// <summary>First index of the second cliff (4K + 1).</summary>
        public int SecondStart { get; }

        /// <summary>The layout for a modulus.</summary>
        /// <param name="p">p (≥ 3).</param>
        /// <returns>The layout.</returns>
        public static CliffLayout For(int p) => new(Check.InRange(p, 3, 4096, nameof(p)));
    }

    /// <summary>A rotated cliff with its heatmaps and alignment summary.</summary>
    public sealed class CliffAlignment
    {
        internal CliffAlignment(string kernel, int start, int size, FourierHeatmap before, FourierHeatmap after, AtomAssignmentSummary summary,
            SubspaceOverlapResult overlapFirst, SubspaceOverlapResult overlapSecond)
        {
            Kernel = kernel;
            Start = start;
            Size = size;
            Before = before;
            After = after;
            Summary = summary;
            OverlapFirst = overlapFirst;
            OverlapSecond = overlapSecond;
        }

        /// <summary>The kernel ("full", "layer1" or "layer2").</summary>
        public string Kernel { get; }

        /// <summary>First eigenvector index of the cliff.</summary>
        public int Start { get; }

        /// <summary>Number of eigenvectors.</summary>
        public int Size { get; }

        /// <summary>Phase-insensitive correlations of the raw eigenvectors with the two families (2K × size).</summary>
        public FourierHeatmap Before { get; }

        /// <summary>The same after the two-stage Laplacian rotation.</summary>
        public FourierHeatmap After { get; }

        /// <summary>Per-atom best (family, frequency) after rotation, coverage and aligned count.</summary>
        public AtomAssignmentSummary Summary { get; }

        /// <summary>Subspace overlap Σs² of the cliff with the first family (rotation-free).</summary>
        public SubspaceOverlapResult OverlapFirst { get; }

        /// <summary>Subspace overlap Σs² of the cliff with the second family.</summary>
        public SubspaceOverlapResult OverlapSecond { get; }
    }

    /// <summary>One traced kernel's spectrum and cliffs.</summary>
    public sealed class KernelSpectrum
    {
        internal KernelSpectrum(string name, EigenDecomposition spectrum, CliffReport cliffs)
        {
            Name = name;
            Spectrum = spectrum;
            Cliffs = cliffs;
        }

        /// <summary>"full", "layer1" (W1) or "layer2" (W2).</summary>
        public string Name { get; }

        /// <summary>Top-k eigenpairs (ridge 1e-8·mean(diag) included).</summary>
        public EigenDecomposition Spectrum { get; }

        /// <summary>Detected cliffs.</summary>
        public CliffReport Cliffs { get; }
    }

    /// <summary>The analysis of the final MLP (docs/paper-notes.md §2.2.3–2.2.4).</summary>
    public sealed class MlpAnalysis
    {
        internal MlpAnalysis(MlpTrainingResult training, IReadOnlyList<KernelSpectrum> spectra, CliffLayout layout,
            CliffAlignment firstLayer1, CliffAlignment firstFull, CliffAlignment secondFull, double trainSeconds, double analysisSeconds)
        {
            Training = training;
            Spectra = ReadOnly.Copy(spectra);
            Layout = layout;
            FirstCliffLayer1 = firstLayer1;
            FirstCliffFull = firstFull;
            SecondCliffFull = secondFull;
            TrainSeconds = trainSeconds;
            AnalysisSeconds = analysisSeconds;
        }

        /// <summary>Training result with checkpoints.</summary>
        public MlpTrainingResult Training { get; }

        /// <summary>Spectra of the traced kernels "full", "layer1", "layer2".</summary>
        public IReadOnlyList<KernelSpectrum> Spectra { get; }

        /// <summary>The spectrum of one kernel.</summary>
        /// <param name="name">"full", "layer1" or "layer2".</param>
        /// <returns>The spectrum.</returns>
        public KernelSpectrum Spectrum(string name) => Spectra.FirstOrDefault(s => s.Name == name)
            ?? throw new EntkArgumentException(nameof(name), "full, layer1 or layer2", "'" + name + "'");

        /// <summary>The theoretical cliff layout.</summary>
        public CliffLayout Layout { get; }

        /// <summary>First cliff of the layer-1 kernel, rotated with (L_n, L_m), against families (n, m) — the paper's v1 analysis.</summary>
        public CliffAlignment FirstCliffLayer1 { get; }

        /// <summary>First cliff of the full kernel, rotated with (L_n, L_m), against (n, m) — the v3-era analysis.</summary>
        public CliffAlignment FirstCliffFull { get; }

        /// <summary>Second cliff of the full kernel, rotated with (L_sum, L_diff), against (sum, diff).</summary>
        public CliffAlignment SecondCliffFull { get; }

        /// <summary>Seconds spent training.</summary>
        public double TrainSeconds { get; }

        /// <summary>Seconds spent on kernels, spectra and alignment.</summary>
        public double AnalysisSeconds { get; }
    }

    /// <summary>One checkpoint of the grokking diagnosis.</summary>
    public sealed class GrokkingPoint
    {
        internal GrokkingPoint(MlpCheckpoint checkpoint, EigenDecomposition spectrum, CliffReport cliffs, SubspaceOverlapResult sum, SubspaceOverlapResult diff)
        {
            Checkpoint = checkpoint;
            Spectrum = spectrum;
            Cliffs = cliffs;
            OverlapSum = sum;
            OverlapDiff = diff;
        }

        /// <summary>The checkpoint (epoch, model, metrics).</summary>
        public MlpCheckpoint Checkpoint { get; }

        /// <summary>Epoch.</summary>
        public int Epoch => Checkpoint.Epoch;

        /// <summary>Top-k spectrum of the full traced kernel.</summary>
        public EigenDecomposition Spectrum { get; }

        /// <summary>Detected cliffs.</summary>
        public CliffReport Cliffs { get; }

        /// <summary>Overlap Σs² of eigenvectors 4K+1..8K with the sum family (max 2K).</summary>
        public SubspaceOverlapResult OverlapSum { get; }

        /// <summary>Overlap with the diff family.</summary>
        public SubspaceOverlapResult OverlapDiff { get; }
    }

    /// <summary>The automatic reading of the grokking curves.</summary>
    public sealed class GrokkingReading
    {
        internal GrokkingReading(int? secondCliffEpoch, int? testAccuracy10, int? testAccuracy50, int? testAccuracy90, int? jumpEpoch, int? derivativePeakEpoch, bool consistent)
        {
            SecondCliffEpoch = secondCliffEpoch;
            TestAccuracy10Epoch = testAccuracy10;
            TestAccuracy50Epoch = testAccuracy50;
            TestAccuracy90Epoch = testAccuracy90;
            JumpEpoch = jumpEpoch;
            OverlapDerivativePeakEpoch = derivativePeakEpoch;
            CliffEmergesWithJump = consistent;
        }

        /// <summary>
        /// First checkpoint epoch from which on every checkpoint shows a detected drop within ±2 of the second
        /// cliff's end (index 8K) — the epoch the second cliff appears; null if it never does.
        /// </summary>
        public int? SecondCliffEpoch { get; }

        /// <summary>First epoch with test accuracy ≥ 10 %.</summary>
        public int? TestAccuracy10Epoch { get; }

        /// <summary>First epoch with test accuracy ≥ 50 %.</summary>
        public int? TestAccuracy50Epoch { get; }

        /// <summary>First epoch with test accuracy ≥ 90 %.</summary>
        public int? TestAccuracy90Epoch { get; }

        /// <summary>The checkpoint epoch ending the largest rise of test accuracy between consecutive checkpoints.</summary>
        public int? JumpEpoch { get; }

        /// <summary>Epoch where the derivative of the sum-overlap curve peaks.</summary>
        public int? OverlapDerivativePeakEpoch { get; }

        /// <summary>
        /// True when the second cliff appears inside the test-accuracy jump window [first ≥ 10 % − Δ, first ≥ 90 % + Δ],
        /// Δ = one logging interval.
        /// </summary>
        public bool CliffEmergesWithJump { get; }
    }

    /// <summary>The grokking diagnosis over all checkpoints (docs/paper-notes.md §1.8).</summary>
    public sealed class GrokkingAnalysis
    {
        internal GrokkingAnalysis(MlpTrainingResult training, IReadOnlyList<GrokkingPoint> points, IReadOnlyList<double> sumPercent, IReadOnlyList<double> derivative,
            IReadOnlyList<CliffAlignment> heatmaps, IReadOnlyList<int> heatmapEpochs, GrokkingReading reading, CliffLayout layout, double trainSeconds, double analysisSeconds)
        {
            HeatmapEpochs = ReadOnly.Copy(heatmapEpochs);
            Training = training;
            Points = ReadOnly.Copy(points);
            SumOverlapPercent = ReadOnly.Copy(sumPercent);
            SumOverlapDerivative = ReadOnly.Copy(derivative);
            Heatmaps = ReadOnly.Copy(heatmaps);
            Reading = reading;
            Layout = layout;
            TrainSeconds = trainSeconds;
            AnalysisSeconds = analysisSeconds;
        }

        /// <summary>Training result.</summary>
        public MlpTrainingResult Training { get; }

        /// <summary>One point per checkpoint.</summary>
        public IReadOnlyList<GrokkingPoint> Points { get; }

        /// <summary>100 · overlap(second cliff, sum)/2K per checkpoint.</summary>
        public IReadOnlyList<double> SumOverlapPercent { get; }

        /// <summary>Finite-difference derivative of <see cref="SumOverlapPercent"/> (per epoch).</summary>
        public IReadOnlyList<double> SumOverlapDerivative { get; }

        /// <summary>Rotated second-cliff heatmaps at the heatmap epochs.</summary>
        public IReadOnlyList<CliffAlignment> Heatmaps { get; }

        /// <summary>The epoch of each entry of <see cref="Heatmaps"/>.</summary>
        public IReadOnlyList<int> HeatmapEpochs { get; }

        /// <summary>The automatic reading.</summary>
        public GrokkingReading Reading { get; }

        /// <summary>Cliff layout.</summary>
        public CliffLayout Layout { get; }

        /// <summary>Seconds training.</summary>
        public double TrainSeconds { get; }

        /// <summary>Seconds for all checkpoint kernels, spectra, overlaps and heatmaps.</summary>
        public double AnalysisSeconds { get; }

        /// <summary>The point at an epoch.</summary>
        /// <param name="epoch">Epoch.</param>
        /// <returns>The point.</returns>
        public GrokkingPoint At(int epoch) => Points.FirstOrDefault(p => p.Epoch == epoch)
            ?? throw new EntkArgumentException(nameof(epoch), "a checkpoint epoch", epoch.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>The modular-addition MLP experiments (docs/paper-notes.md §2.2): final-model analysis and grokking diagnosis.</summary>
    public static class MlpExperiment
    {
        /// <summary>Traced (mean over outputs) kernels full, layer1 (W1), layer2 (W2) on all p² inputs, by structured derivatives.</summary>
        /// <param name="model">Model.</param>
        /// <returns>Layerwise kernels (groups "layer1" = W1, "layer2" = W2).</returns>
        public static LayerwiseKernels TracedKernels(ModularMlp model)
        {
            Check.NotNull(model, nameof(model));
            return EmpiricalNtk.ComputeLayerwise(model, KernelReduction.TraceMean, ModularMlp.AllInputs(model.Modulus),
                groups: new[] { ParameterGroup.Of("layer1", "W1"), ParameterGroup.Of("layer2", "W2") },
                options: new NtkOptions { Method = NtkMethod.Structured });
        }

        /// <summary>Rotates a cliff with two Laplacians and evaluates it against two families.</summary>
        /// <param name="kernel">Kernel name (for labels).</param>
        /// <param name="eigenvectors">Eigenvectors (p² × k).</param>
        /// <param name="start">First index of the cliff.</param>
        /// <param name="size">Size (even).</param>
        /// <param name="p">Modulus.</param>
        /// <param name="stage1">First Laplacian kind.</param>
        /// <param name="stage2">Second Laplacian kind.</param>
        /// <param name="first">First family.</param>
        /// <param name="second">Second family.</param>
        /// <param name="threshold">Alignment threshold.</param>
        /// <returns>The alignment.</returns>
        public static CliffAlignment AlignCliff(string kernel, Matrix eigenvectors, int start, int size, int p,
            TorusLaplacianKind stage1, TorusLaplacianKind stage2, FourierFamilyKind first, FourierFamilyKind second, double threshold = 0.9)
        {
            Check.NotNull(eigenvectors, nameof(eigenvectors));
            Check.InRange(start, 0, eigenvectors.Columns - 1, nameof(start));
            Check.InRange(size, 2, eigenvectors.Columns - start, nameof(size));
            var cliff = eigenvectors.SliceColumns(start, size);
            var f1 = FourierFamilies.Create(first, p);
            var f2 = FourierFamilies.Create(second, p);
            var before = PhaseInsensitiveCorrelation.Stacked(cliff, f1, f2);
            var rot = CliffRotation.TwoStage(cliff, TorusLaplacian.Create(stage1, p), TorusLaplacian.Create(stage2, p));
            var after = PhaseInsensitiveCorrelation.Stacked(rot.Rotated, f1, f2);
            var summary = AtomAssignment.Summarize(after, threshold);
            return new CliffAlignment(kernel, start, size, before, after, summary, SubspaceOverlap.Compute(cliff, f1), SubspaceOverlap.Compute(cliff, f2));
        }

        /// <summary>min(TopK, p²), checked before any work: both cliffs after λ0 must lie inside the top k.</summary>
        private static int CheckedTopK(MlpAnalysisOptions o, int p, CliffLayout layout)
        {
            Check.NotNull(o.Cliffs, "options.Cliffs");
            Check.NotNull(o.HeatmapEpochs, "options.HeatmapEpochs");
            Check.NotNull(o.SpectrumEpochs, "options.SpectrumEpochs");
            if (!(o.AlignmentThreshold > 0 && o.AlignmentThreshold <= 1))
                throw new EntkArgumentException("options.AlignmentThreshold", "a number in (0, 1]", Check.R(o.AlignmentThreshold));
            int need = layout.SecondStart + layout.Size;
            if ((long)p * p < need)
                throw new EntkArgumentException("Modulus", Check.Inv($"a modulus whose p² eigenpairs hold λ0 and both cliffs of 4⌊p/2⌋ (p = 3 or p ≥ 5)"),
                    Check.Inv($"p = {p}: p² = {p * p} < {need}"));
            Check.Positive(o.TopK, "options.TopK");
            int k = Math.Min(o.TopK, p * p);
            if (k < need)
                throw new EntkArgumentException("options.TopK", Check.Inv($"at least {need} eigenpairs (two cliffs of {layout.Size} after λ0)"), k.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return k;
        }

        /// <summary>
        /// Validates the settings and the analysis options together, before any work: among others, the top k must hold λ0 and
        /// both cliffs of 4K (k ≥ 8K + 1, which also rules out p = 4).
        /// </summary>
        /// <param name="config">Settings.</param>
        /// <param name="options">Analysis options (default: the paper's).</param>
        /// <exception cref="EntkArgumentException">A setting or option is invalid (e.g. options.TopK too small for the two cliffs).</exception>
        public static void Validate(MlpConfig config, MlpAnalysisOptions? options = null)
        {
            Check.NotNull(config, nameof(config));
            config.Validate();
            CheckedTopK(options ?? new MlpAnalysisOptions(), config.Modulus, CliffLayout.For(config.Modulus));
        }

        /// <summary>What to change when an MLP run's plan does not fit (library wording).</summary>
        internal const string Alternatives = "Use a smaller modulus (Modulus; the traced kernels are p² × p²) or width (Width), fewer eigenpairs (options.TopK), or fewer checkpoints (Epochs, LogEvery).";

        /// <summary>
        /// Validates the settings and lists every array a run of them allocates: training (<see cref="MlpTraining.Plan"/>), the
        /// traced kernels p² × p² with the eigensolver's copies (the kernel phase is sequential, so its peak counts once), the
        /// kept spectra (p² × k per kernel or checkpoint) and the inputs of the kernel computation. With <see cref="Validate"/>
        /// it is checked before any work, so a run is refused before it trains, not after.
        /// </summary>
        /// <param name="config">Settings.</param>
        /// <param name="options">Analysis options (default: the paper's).</param>
        /// <param name="finalAnalysis">Whether the final model is analysed (<see cref="Analyze"/>).</param>
        /// <param name="grokking">Whether every checkpoint is analysed (<see cref="AnalyzeGrokking"/>).</param>
        /// <returns>The plan.</returns>
        /// <exception cref="EntkArgumentException">A setting is invalid.</exception>
        public static MemoryPlan Plan(MlpConfig config, MlpAnalysisOptions? options = null, bool finalAnalysis = true, bool grokking = false)
        {
            Check.NotNull(config, nameof(config));
            var o = options ?? new MlpAnalysisOptions();
            var plan = MlpTraining.Plan(config);
            int p = config.Modulus;
            if (!finalAnalysis && !grokking) return plan;
            long n = (long)p * p;
            long k = Math.Clamp(o.TopK, 1, n);
            plan = plan
                .Add(Check.Inv($"traced kernels p² × p² = {n} × {n}"), "Modulus", finalAnalysis ? 8 : 5, n, n)
                .Add(Check.Inv($"kernel inputs p² × 2p = {n} × {2L * p}"), "Modulus", 2, n, 2L * p);
            if (finalAnalysis) plan = plan.Add(Check.Inv($"3 spectra p² × k = {n} × {k}"), "Modulus, TopK", 3, n, k);
            if (grokking) plan = plan.Add(Check.Inv($"{config.CheckpointCount} checkpoint spectra p² × k = {n} × {k}"), "Epochs, LogEvery, Modulus, TopK", config.CheckpointCount, n, k);
            return plan;
        }

        /// <summary>Trains the MLP and analyses the final model.</summary>
        /// <param name="config">Settings.</param>
        /// <param name="seed">Seed.</param>
        /// <param name="options">Options (their Progress also receives the training's progress).</param>
        /// <returns>The analysis.</returns>
        public static MlpAnalysis Run(MlpConfig config, long seed, MlpAnalysisOptions? options = null)
        {
            Plan(config, options).Require(Check.Inv($"the MLP run (p = {config.Modulus}, H = {config.Width})"), alternatives: Alternatives);
            Validate(config, options);
            var sw = Stopwatch.StartNew();
            var trained = MlpTraining.Train(MlpSetup.Create(config, seed), new MlpTrainingOptions { Progress = options?.Progress });
            return Analyze(trained, options, sw.Elapsed.TotalSeconds);
        }

        /// <summary>Analyses the final model of a training run.</summary>
        /// <param name="trained">Training result.</param>
        /// <param name="options">Options (including the progress sink).</param>
        /// <param name="trainSeconds">Training time to record.</param>
        /// <returns>The analysis.</returns>
        public static MlpAnalysis Analyze(MlpTrainingResult trained, MlpAnalysisOptions? options = null, double trainSeconds = 0)
        {
            Check.NotNull(trained, nameof(trained));
            var o = options ?? new MlpAnalysisOptions();
            var progress = o.Progress;
            var sw = Stopwatch.StartNew();
            var model = trained.Model;
            int p = model.Modulus;
            var layout = CliffLayout.For(p);
            int k = CheckedTopK(o, p, layout);
            progress?.Report(new EntkProgress("mlp kernels", 0, 4));
            var kernels = TracedKernels(model);
            var spectra = new List<KernelSpectrum>();
            foreach (var (name, kern) in new[] { ("full", kernels.Total), ("layer1", kernels["layer1"]), ("layer2", kernels["layer2"]) })
            {
                var e = SymmetricEigen.Decompose(kern.Matrix, k, RidgePolicy.Paper);
                spectra.Add(new KernelSpectrum(name, e, CliffDetector.Detect(e.Values, o.Cliffs)));
                progress?.Report(new EntkProgress("mlp kernels", spectra.Count, 4));
            }
            var l1 = AlignCliff("layer1", spectra[1].Spectrum.Vectors, layout.FirstStart, layout.Size, p, TorusLaplacianKind.N, TorusLaplacianKind.M, FourierFamilyKind.N, FourierFamilyKind.M, o.AlignmentThreshold);
            var full1 = AlignCliff("full", spectra[0].Spectrum.Vectors, layout.FirstStart, layout.Size, p, TorusLaplacianKind.N, TorusLaplacianKind.M, FourierFamilyKind.N, FourierFamilyKind.M, o.AlignmentThreshold);
            var full2 = AlignCliff("full", spectra[0].Spectrum.Vectors, layout.SecondStart, layout.Size, p, TorusLaplacianKind.Sum, TorusLaplacianKind.Diff, FourierFamilyKind.Sum, FourierFamilyKind.Diff, o.AlignmentThreshold);
            progress?.Report(new EntkProgress("mlp kernels", 4, 4));
            return new MlpAnalysis(trained, spectra, layout, l1, full1, full2, trainSeconds, sw.Elapsed.TotalSeconds);
        }

        /// <summary>Trains and runs the grokking diagnosis over every checkpoint.</summary>
        /// <param name="config">Settings.</param>
        /// <param name="seed">Seed.</param>
        /// <param name="options">Options (their Progress also receives the training's progress).</param>
        /// <returns>The analysis.</returns>
        public static GrokkingAnalysis RunGrokking(MlpConfig config, long seed, MlpAnalysisOptions? options = null)
        {
            Plan(config, options, finalAnalysis: false, grokking: true).Require(Check.Inv($"the grokking run (p = {config.Modulus}, H = {config.Width})"), alternatives: Alternatives);
            Validate(config, options);
            var sw = Stopwatch.StartNew();
            var trained = MlpTraining.Train(MlpSetup.Create(config, seed), new MlpTrainingOptions { Progress = options?.Progress });
            return AnalyzeGrokking(trained, options, sw.Elapsed.TotalSeconds);
        }

        /// <summary>The grokking diagnosis of a training run (every checkpoint).</summary>
        /// <param name="trained">Training result with checkpoints.</param>
        /// <param name="options">Options (including the progress sink).</param>
        /// <param name="trainSeconds">Training time to record.</param>
        /// <returns>The analysis.</returns>
        public static GrokkingAnalysis AnalyzeGrokking(MlpTrainingResult trained, MlpAnalysisOptions? options = null, double trainSeconds = 0)
        {
            Check.NotNull(trained, nameof(trained));
            var o = options ?? new MlpAnalysisOptions();
            var progress = o.Progress;
            var sw = Stopwatch.StartNew();
            int p = trained.Setup.Config.Modulus;
            var layout = CliffLayout.For(p);
            int k = CheckedTopK(o, p, layout);
            var sum = FourierFamilies.Create(FourierFamilyKind.Sum, p);
            var diff = FourierFamilies.Create(FourierFamilyKind.Diff, p);
            var points = new List<GrokkingPoint>();
            var heatmaps = new List<CliffAlignment>();
            var heatmapEpochs = new List<int>();
            int total = trained.Checkpoints.Count;
            foreach (var cp in trained.Checkpoints)
            {
                progress?.Report(new EntkProgress("grokking checkpoints", points.Count, total));
                var kern = EmpiricalNtk.Compute(cp.Model, KernelReduction.TraceMean, trained.Setup.Inputs, options: new NtkOptions { Method = NtkMethod.Structured });
                var e = SymmetricEigen.Decompose(kern.Matrix, k, RidgePolicy.Paper);
                var second = e.Vectors.SliceColumns(layout.SecondStart, layout.Size);
                points.Add(new GrokkingPoint(cp, e, CliffDetector.Detect(e.Values, o.Cliffs), SubspaceOverlap.Compute(second, sum), SubspaceOverlap.Compute(second, diff)));
                if (o.HeatmapEpochs.Contains(cp.Epoch))
                {
                    heatmapEpochs.Add(cp.Epoch);
                    heatmaps.Add(AlignCliff("full", e.Vectors, layout.SecondStart, layout.Size, p, TorusLaplacianKind.Sum, TorusLaplacianKind.Diff, FourierFamilyKind.Sum, FourierFamilyKind.Diff, o.AlignmentThreshold));
                }
            }
            progress?.Report(new EntkProgress("grokking checkpoints", total, total));
            var epochs = points.Select(pt => (double)pt.Epoch).ToArray();
            var percent = points.Select(pt => 100.0 * pt.OverlapSum.Overlap / (2.0 * (p / 2))).ToArray();
            var deriv = points.Count >= 2 ? GrokkingCurves.Derivative(epochs, percent) : new double[points.Count];
            var reading = Read(points, deriv, layout, trained.Setup.Config.LogEvery);
            return new GrokkingAnalysis(trained, points, percent, deriv, heatmaps, heatmapEpochs, reading, layout, trainSeconds, sw.Elapsed.TotalSeconds);
        }

        private static GrokkingReading Read(IReadOnlyList<GrokkingPoint> points, double[] deriv, CliffLayout layout, int logEvery)
        {
            int end = layout.SecondStart + layout.Size - 1;
            bool HasSecond(GrokkingPoint pt) => pt.Cliffs.Drops.Any(d => Math.Abs(d.Index - end) <= 2);
            int? cliffEpoch = null;
            for (int i = 0; i < points.Count; i++)
            {
                if (points.Skip(i).All(HasSecond)) { cliffEpoch = points[i].Epoch; break; }
            }
            int? FirstAcc(double level) => points.FirstOrDefault(pt => pt.Checkpoint.Metrics.TestAccuracy >= level)?.Epoch;
            int? jump = null;
            double best = double.NegativeInfinity;
            for (int i = 1; i < points.Count; i++)
            {
                double rise = points[i].Checkpoint.Metrics.TestAccuracy - points[i - 1].Checkpoint.Metrics.TestAccuracy;
                if (rise > best) { best = rise; jump = points[i].Epoch; }
            }
            int? peak = null;
            if (deriv.Length > 0)
            {
                int arg = 0;
                for (int i = 1; i < deriv.Length; i++) if (deriv[i] > deriv[arg]) arg = i;
                peak = points[arg].Epoch;
            }
            var a10 = FirstAcc(0.1);
            var a50 = FirstAcc(0.5);
            var a90 = FirstAcc(0.9);
            bool consistent = cliffEpoch is int ce && a10 is int lo && a90 is int hi && ce >= lo - logEvery && ce <= hi + logEvery;
            return new GrokkingReading(cliffEpoch, a10, a50, a90, jump, peak, consistent);
        }
    }
}

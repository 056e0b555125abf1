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
    /// <summary>Options of the Transformer analysis (defaults: the paper's top 40 eigenpairs, automatic key frequencies and epochs).</summary>
    public sealed record TransformerAnalysisOptions
    {
        /// <summary>Number of eigenpairs per kernel (default 40, the paper's; clipped to p²).</summary>
        public int TopK { get; init; } = 40;

        /// <summary>The cliff rule.</summary>
        public CliffOptions Cliffs { get; init; } = new();

        /// <summary>
        /// Epochs whose spectra are computed over training (default null: the automatic rule of
        /// <see cref="TransformerExperiment.SpectrumEpochs"/>); each must be a checkpoint epoch.
        /// </summary>
        public IReadOnlyList<int>? SpectrumEpochs
        {
            get => _spectrumEpochs;
            init => _spectrumEpochs = value is null ? null : Array.AsReadOnly(value.ToArray());
        }

        private readonly IReadOnlyList<int>? _spectrumEpochs, _keyFrequencies;

        /// <summary>The largest number of key frequencies the detection may return (default null: ⌊⌊p/2⌋/2⌋, see <see cref="Metrics.KeyFrequencies"/>).</summary>
        public int? MaxKeyFrequencies { get; init; }

        /// <summary>Use these key frequencies instead of detecting them (default null: detect from W_E; the list given is copied). Reported as user-given.</summary>
        public IReadOnlyList<int>? KeyFrequencies
        {
            get => _keyFrequencies;
            init => _keyFrequencies = value is null ? null : Array.AsReadOnly(value.ToArray());
        }

        /// <summary>Optional progress sink for training (when <see cref="TransformerExperiment.Run"/> trains) and the analysis (default none).</summary>
        public IProgress<EntkProgress>? Progress { get; init; }

        /// <summary>Threshold for "a rotated cliff direction aligns with one sum frequency" and for the overlap fractions of the claims (default 0.9).</summary>
        public double AlignmentThreshold { get; init; } = 0.9;

        /// <summary>Also write the all-pairs-mean kernels <c>kernel_&lt;name&gt;.npy</c> [p², p²] of the final model (default false).</summary>
        public bool WriteKernels { get; init; }

        /// <summary>The largest number of key frequencies the analysis can use for modulus p.</summary>
        /// <param name="p">Modulus.</param>
        /// <returns>|KeyFrequencies| when given, else MaxKeyFrequencies or its default max(1, ⌊⌊p/2⌋/2⌋).</returns>
        public int KeyFrequencyLimit(int p) => KeyFrequencies?.Count ?? MaxKeyFrequencies ?? Math.Max(1, p / 2 / 2);

        /// <summary>Validates the options for modulus p before any work: the top k must hold both blocks (1 + 4F eigenpairs for the largest possible F).</summary>
        /// <param name="p">Modulus.</param>
        /// <exception cref="EntkArgumentException">A setting out of range.</exception>
        public void Validate(int p)
        {
            Check.Positive(TopK, nameof(TopK));
            int need = 1 + 4 * KeyFrequencyLimit(p);
            if (Math.Min(TopK, p * p) < need)
                throw new EntkArgumentException(nameof(TopK), Check.Inv($"at least 1 + 4F = {need} eigenpairs (two blocks of 2F after the top, F ≤ {KeyFrequencyLimit(p)} key frequencies)"), TopK.ToString(CultureInfo.InvariantCulture));
            Check.NotNull(Cliffs, nameof(Cliffs));
            Check.InRange(AlignmentThreshold, 0, 1, nameof(AlignmentThreshold));
            if (KeyFrequencies is not null) FourierFamily.ValidateFrequencies(KeyFrequencies, Math.Max(3, p), nameof(KeyFrequencies));
            if (MaxKeyFrequencies is int m) Check.InRange(m, 1, Math.Max(1, p / 2 - 1), nameof(MaxKeyFrequencies));
            if (SpectrumEpochs is not null)
                foreach (var e in SpectrumEpochs) Check.NonNegative(e, nameof(SpectrumEpochs));
        }
    }

    /// <summary>
    /// The all-pairs-averaged eNTKs K = (1/C²)·Σ_cd K_cd (C = p + 1 logits) of the Transformer on all p² inputs (rows
    /// a·p + b): one per weight tensor (<see cref="TransformerWeights.Names"/>), the full kernel ("full") and the sums
    /// "W_out+W_U" and "W_O+W_V".
    /// </summary>
    public sealed class TransformerKernels
    {
        private readonly Dictionary<string, Matrix> _kernels;

        internal TransformerKernels(Dictionary<string, Matrix> kernels, double seconds)
        {
            _kernels = kernels;
            Seconds = seconds;
        }

        /// <summary>The kernel names in report order: the nine tensors, then "full", "W_out+W_U", "W_O+W_V".</summary>
        public static IReadOnlyList<string> Names { get; } = Array.AsReadOnly(TransformerWeights.Names.Concat(new[] { "full", "W_out+W_U", "W_O+W_V" }).ToArray());

        /// <summary>One kernel (p² × p²).</summary>
        /// <param name="name">One of <see cref="Names"/>.</param>
        /// <exception cref="EntkArgumentException">Unknown name.</exception>
        public Matrix this[string name] => _kernels.TryGetValue(Check.NotNull(name, nameof(name)), out var k) ? k
            : throw new EntkArgumentException(nameof(name), "one of " + string.Join(", ", Names), "'" + name + "'");

        /// <summary>Seconds spent computing the kernels.</summary>
        public double Seconds { get; }
    }

    /// <summary>
    /// The overlaps of the two leading eigenvector blocks of one kernel with the sum and axis_sum families at the F key
    /// frequencies. Block 1 = eigenvectors [0, s + 2F), block 2 = [s + 2F, s + 4F), where s ∈ {0, 1} allows one extra
    /// leading direction (v4's Table 2 uses 0–4 and 5–8 for F = 2): s = 1 when the cliff rule finds a drop after eigenvalue
    /// 0 or after eigenvalue 2F (a first cliff of 2F + 1), else s = 0 when it finds one after 2F − 1, else s = 1.
    /// Overlaps are Σs² of the block with the centred family columns at the key frequencies (at most 2F).
    /// </summary>
    public sealed class TransformerBlockOverlaps
    {
        internal TransformerBlockOverlaps(string kernel, int offset, int keyCount, SubspaceOverlapResult[] overlaps, FrequencyOverlapRanking[] perFrequency,
            bool dropAfterFirst, bool dropAfterSecond)
        {
            Kernel = kernel;
            Offset = offset;
            KeyCount = keyCount;
            FirstSum = overlaps[0];
            FirstAxisSum = overlaps[1];
            SecondSum = overlaps[2];
            SecondAxisSum = overlaps[3];
            FirstSumPerFrequency = perFrequency[0];
            FirstAxisSumPerFrequency = perFrequency[1];
            SecondSumPerFrequency = perFrequency[2];
            SecondAxisSumPerFrequency = perFrequency[3];
            DropAfterFirst = dropAfterFirst;
            DropAfterSecond = dropAfterSecond;
        }

        /// <summary>The kernel name.</summary>
        public string Kernel { get; }

        /// <summary>s ∈ {0, 1}: the number of extra leading directions in block 1 (see the class remarks).</summary>
        public int Offset { get; }

        /// <summary>F, the number of key frequencies.</summary>
        public int KeyCount { get; }

        /// <summary>End (exclusive) of block 1, s + 2F (block 1 starts at 0).</summary>
        public int FirstEnd => Offset + 2 * KeyCount;

        /// <summary>End (exclusive) of block 2, s + 4F.</summary>
        public int SecondEnd => FirstEnd + 2 * KeyCount;

        /// <summary>The largest possible overlap, 2F.</summary>
        public int MaxOverlap => 2 * KeyCount;

        /// <summary>Block 1 against the sum modes.</summary>
        public SubspaceOverlapResult FirstSum { get; }

        /// <summary>Block 1 against the axis_sum modes.</summary>
        public SubspaceOverlapResult FirstAxisSum { get; }

        /// <summary>Block 2 against the sum modes.</summary>
        public SubspaceOverlapResult SecondSum { get; }

        /// <summary>Block 2 against the axis_sum modes.</summary>
        public SubspaceOverlapResult SecondAxisSum { get; }

        /// <summary>Per-frequency scores (∈ [0, 2]) of block 1 with sum, every frequency 1..⌊p/2⌋.</summary>
        public FrequencyOverlapRanking FirstSumPerFrequency { get; }

        /// <summary>Per-frequency scores of block 1 with axis_sum.</summary>
        public FrequencyOverlapRanking FirstAxisSumPerFrequency { get; }

        /// <summary>Per-frequency scores of block 2 with sum.</summary>
        public FrequencyOverlapRanking SecondSumPerFrequency { get; }

        /// <summary>Per-frequency scores of block 2 with axis_sum.</summary>
        public FrequencyOverlapRanking SecondAxisSumPerFrequency { get; }

        /// <summary>Whether a detected drop lies within ±1 of the end of block 1 (index s + 2F − 1).</summary>
        public bool DropAfterFirst { get; }

        /// <summary>Whether a detected drop lies within ±1 of the end of block 2 (index s + 4F − 1).</summary>
        public bool DropAfterSecond { get; }

        /// <summary>An overlap as a fraction of 2F.</summary>
        /// <param name="overlap">One of this object's overlaps.</param>
        /// <returns>Overlap / 2F.</returns>
        public double Fraction(SubspaceOverlapResult overlap) => Check.NotNull(overlap, nameof(overlap)).Overlap / MaxOverlap;

        /// <summary>The block (1 or 2) whose overlap with the sum modes is larger: the "sum cliff".</summary>
        public int SumBlock => SecondSum.Overlap > FirstSum.Overlap ? 2 : 1;

        /// <summary>
        /// Whether this kernel carries a key-frequency cliff: some block overlaps sum or axis_sum by at least
        /// <paramref name="threshold"/>·2F and a detected drop lies within ±1 of that block's end.
        /// </summary>
        /// <param name="threshold">Fraction of 2F.</param>
        /// <returns>True when it does.</returns>
        public bool CarriesCliff(double threshold) =>
            (DropAfterFirst && Math.Max(FirstSum.Overlap, FirstAxisSum.Overlap) >= threshold * MaxOverlap) ||
            (DropAfterSecond && Math.Max(SecondSum.Overlap, SecondAxisSum.Overlap) >= threshold * MaxOverlap);

        /// <summary>A short description such as "1: sum 3.94, axis_sum 0.00; 2: sum 0.02, axis_sum 3.90".</summary>
        /// <returns>The text.</returns>
        public string Describe() => Check.Inv($"[0–{FirstEnd - 1}] sum {FirstSum.Overlap:0.00} axis_sum {FirstAxisSum.Overlap:0.00}; [{FirstEnd}–{SecondEnd - 1}] sum {SecondSum.Overlap:0.00} axis_sum {SecondAxisSum.Overlap:0.00} (of {MaxOverlap})");
    }

    /// <summary>The single-stage L_sum rotation of a kernel's sum cliff (the block with the larger sum overlap) and its heatmaps.</summary>
    public sealed class TransformerRotation
    {
        internal TransformerRotation(string kernel, int block, int start, int size, FourierHeatmap before, FourierHeatmap after, IReadOnlyList<double> energies, int aligned)
        {
            Kernel = kernel;
            Block = block;
            Start = start;
            Size = size;
            Before = before;
            After = after;
            Energies = energies;
            AlignedAtKeyFrequencies = aligned;
        }

        /// <summary>The kernel name.</summary>
        public string Kernel { get; }

        /// <summary>The rotated block (1 or 2, see <see cref="TransformerBlockOverlaps"/>).</summary>
        public int Block { get; }

        /// <summary>First eigenvector index of the rotated block.</summary>
        public int Start { get; }

        /// <summary>Number of directions (s + 2F for block 1, 2F for block 2).</summary>
        public int Size { get; }

        /// <summary>Phase-insensitive correlation of the raw eigenvectors with the sum modes, frequencies 1..⌊p/2⌋ (⌊p/2⌋ × size).</summary>
        public FourierHeatmap Before { get; }

        /// <summary>The same after the single-stage L_sum rotation (columns in ascending L_sum energy).</summary>
        public FourierHeatmap After { get; }

        /// <summary>The L_sum energies of the rotated columns (ascending).</summary>
        public IReadOnlyList<double> Energies { get; }

        /// <summary>Rotated directions whose largest correlation (≥ threshold) is at a key frequency.</summary>
        public int AlignedAtKeyFrequencies { get; }
    }

    /// <summary>The spectra and block overlaps at one checkpoint of training.</summary>
    public sealed class TransformerTrainingPoint
    {
        internal TransformerTrainingPoint(TransformerCheckpoint checkpoint, IReadOnlyList<KernelSpectrum> spectra, TransformerBlockOverlaps wu, KeyFrequencyResult keys)
        {
            Checkpoint = checkpoint;
            Spectra = ReadOnly.Copy(spectra);
            UnembedOverlaps = wu;
            KeyFrequencies = keys;
        }

        /// <summary>The checkpoint.</summary>
        public TransformerCheckpoint Checkpoint { get; }

        /// <summary>Epoch.</summary>
        public int Epoch => Checkpoint.Epoch;

        /// <summary>Spectra of "full", "W_out" and "W_U" at this epoch.</summary>
        public IReadOnlyList<KernelSpectrum> Spectra { get; }

        /// <summary>The W_U kernel's block overlaps at the final model's key frequencies.</summary>
        public TransformerBlockOverlaps UnembedOverlaps { get; }

        /// <summary>The key frequencies W_E shows at this epoch (for reference).</summary>
        public KeyFrequencyResult KeyFrequencies { get; }
    }

    /// <summary>The analysis of a trained Transformer (docs/paper-notes.md §2.3.3–2.3.5).</summary>
    public sealed class TransformerAnalysis
    {
        internal TransformerAnalysis(TransformerTrainingResult training, KeyFrequencyResult detected, IReadOnlyList<int> keys, bool userKeys,
            IReadOnlyList<KernelSpectrum> spectra, IReadOnlyList<TransformerBlockOverlaps> overlaps, IReadOnlyList<TransformerRotation> rotations,
            IReadOnlyList<TransformerTrainingPoint> overTraining, double analysisSeconds, double kernelSeconds)
        {
            Training = training;
            DetectedKeyFrequencies = detected;
            KeyFrequencies = ReadOnly.Copy(keys);
            KeyFrequenciesGiven = userKeys;
            Spectra = ReadOnly.Copy(spectra);
            Overlaps = ReadOnly.Copy(overlaps);
            Rotations = ReadOnly.Copy(rotations);
            OverTraining = ReadOnly.Copy(overTraining);
            AnalysisSeconds = analysisSeconds;
            KernelSeconds = kernelSeconds;
        }

        /// <summary>The training run.</summary>
        public TransformerTrainingResult Training { get; }

        /// <summary>The Fourier power of the final W_E[:p] and the frequencies the rule detects.</summary>
        public KeyFrequencyResult DetectedKeyFrequencies { get; }

        /// <summary>The key frequencies used by the analysis (detected, unless the user gave them).</summary>
        public IReadOnlyList<int> KeyFrequencies { get; }

        /// <summary>Whether <see cref="KeyFrequencies"/> were given by the user instead of detected.</summary>
        public bool KeyFrequenciesGiven { get; }

        /// <summary>Top-k spectra and cliffs of every kernel, in the order of <see cref="TransformerKernels.Names"/>.</summary>
        public IReadOnlyList<KernelSpectrum> Spectra { get; }

        /// <summary>Block overlaps of every kernel, same order.</summary>
        public IReadOnlyList<TransformerBlockOverlaps> Overlaps { get; }

        /// <summary>L_sum rotations of the first cliff of "W_out", "W_U" and "full".</summary>
        public IReadOnlyList<TransformerRotation> Rotations { get; }

        /// <summary>Spectra at the chosen epochs over training.</summary>
        public IReadOnlyList<TransformerTrainingPoint> OverTraining { get; }

        /// <summary>Seconds for kernels, spectra and metrics (final model and over training).</summary>
        public double AnalysisSeconds { get; }

        /// <summary>Seconds for the final model's kernels alone.</summary>
        public double KernelSeconds { get; }

        /// <summary>The spectrum of one kernel.</summary>
        /// <param name="name">One of <see cref="TransformerKernels.Names"/>.</param>
        /// <returns>The spectrum.</returns>
        public KernelSpectrum Spectrum(string name) => Spectra.FirstOrDefault(s => s.Name == name)
            ?? throw new EntkArgumentException(nameof(name), "one of " + string.Join(", ", TransformerKernels.Names), "'" + name + "'");

        /// <summary>The block overlaps of one kernel.</summary>
        /// <param name="name">One of <see cref="TransformerKernels.Names"/>.</param>
        /// <returns>The overlaps.</returns>
        public TransformerBlockOverlaps Overlap(string name) => Overlaps.FirstOrDefault(s => s.Kernel == name)
            ?? throw new EntkArgumentException(nameof(name), "one of " + string.Join(", ", TransformerKernels.Names), "'" + name + "'");
    }

    /// <summary>The modular-addition Transformer experiment (docs/paper-notes.md §2.3).</summary>
    public static class TransformerExperiment
    {
        /// <summary>The kernels whose first cliff is rotated and whose overlaps the report details.</summary>
        public static IReadOnlyList<string> CliffKernels { get; } = Array.AsReadOnly(new[] { "W_out", "W_U", "full" });

        /// <summary>
        /// The all-pairs-averaged kernels of a model on all p² inputs, through the generic route for TorchSharp modules:
        /// <c>EmpiricalNtk.ComputeLayerwise(TorchModuleModel.Wrap(module, 3, p + 1), KernelReduction.AllPairsMean, inputs,
        /// groups)</c> with one group per weight tensor; "full" is the library's total; the two sums are sums of group kernels.
        /// </summary>
        /// <param name="weights">The weights.</param>
        /// <param name="options">eNTK options (method, memory budget, progress); default: automatic.</param>
        /// <returns>The kernels.</returns>
        public static TransformerKernels Kernels(TransformerWeights weights, NtkOptions? options = null)
        {
            Check.NotNull(weights, nameof(weights));
            var sw = Stopwatch.StartNew();
            int p = weights.Architecture.Modulus;
            using var module = weights.CreateModule();
            var model = TorchModuleModel.Wrap(module, 3, weights.Architecture.Vocabulary, name: "modular-transformer");
            var groups = TransformerWeights.Names.Select(n => ParameterGroup.Of(n, ModularTransformer.ParameterName(n))).ToArray();
            LayerwiseKernels lw;
            // The generic module route runs one forward/backward per input: many tiny operations, which run far faster
            // on one libtorch thread (two OpenMP threads on a busy two-core machine were measured 5× slower here).
            using (Torch.TorchThreads.ForSmallOperations())
                lw = EmpiricalNtk.ComputeLayerwise(model, KernelReduction.AllPairsMean, ModularTransformer.AllInputs(p), groups: groups, options: options);
            var d = new Dictionary<string, Matrix>(StringComparer.Ordinal);
            foreach (var n in TransformerWeights.Names) d[n] = lw[n].Matrix;
            d["full"] = lw.Total.Matrix;
            d["W_out+W_U"] = d["W_out"] + d["W_U"];
            d["W_O+W_V"] = d["W_O"] + d["W_V"];
            return new TransformerKernels(d, sw.Elapsed.TotalSeconds);
        }

        /// <summary>Top-k eigenpairs (ridge 1e-8·mean(diag), the paper's) and detected cliffs of the named kernels.</summary>
        /// <param name="kernels">Kernels.</param>
        /// <param name="names">Which kernels (default all, in report order).</param>
        /// <param name="topK">k.</param>
        /// <param name="cliffs">Cliff rule.</param>
        /// <returns>The spectra.</returns>
        public static IReadOnlyList<KernelSpectrum> Spectra(TransformerKernels kernels, IReadOnlyList<string>? names, int topK, CliffOptions? cliffs = null)
        {
            Check.NotNull(kernels, nameof(kernels));
            // 841² dense eigendecompositions: one libtorch thread was measured several times faster than two on a busy
            // two-core machine and is not noticeably slower on an idle one.
            using var threads = Torch.TorchThreads.ForSmallOperations();
            var list = new List<KernelSpectrum>();
            foreach (var n in names ?? TransformerKernels.Names)
            {
                var k = kernels[n];
                var e = SymmetricEigen.Decompose(k, Math.Min(topK, k.Rows), RidgePolicy.Paper);
                list.Add(new KernelSpectrum(n, e, CliffDetector.Detect(e.Values, cliffs)));
            }
            return list;
        }

        /// <summary>
        /// The block overlaps of one spectrum at the F key frequencies (see <see cref="TransformerBlockOverlaps"/> for the
        /// blocks and the choice of s): both blocks against the centred sum and axis_sum modes at the key frequencies, and
        /// per-frequency scores over all frequencies 1..⌊p/2⌋.
        /// </summary>
        /// <param name="spectrum">The spectrum (eigenvectors p² × k, k ≥ 1 + 4F).</param>
        /// <param name="p">Modulus.</param>
        /// <param name="keys">Key frequencies.</param>
        /// <returns>The overlaps.</returns>
        /// <exception cref="EntkArgumentException">Fewer than s + 4F eigenpairs, or bad frequencies.</exception>
        public static TransformerBlockOverlaps BlockOverlaps(KernelSpectrum spectrum, int p, IReadOnlyList<int> keys)
        {
            Check.NotNull(spectrum, nameof(spectrum));
            Check.NotNull(keys, nameof(keys));
            var sum = FourierFamilies.Create("sum", p);
            var axis = FourierFamilies.Create("axis_sum", p);
            int f = keys.Count, k = spectrum.Spectrum.Count;
            var drops = spectrum.Cliffs.DropIndices;
            int s = drops.Contains(0) || drops.Contains(2 * f) ? 1 : drops.Contains(2 * f - 1) ? 0 : 1;
            if (k < s + 4 * f)
                throw new EntkArgumentException(nameof(spectrum), Check.Inv($"at least s + 4F = {s + 4 * f} eigenpairs (F = {f} key frequencies)"), Check.Inv($"{k}"));
            var v = spectrum.Spectrum.Vectors;
            var first = v.SliceColumns(0, s + 2 * f);
            var second = v.SliceColumns(s + 2 * f, 2 * f);
            var overlaps = new[]
            {
                SubspaceOverlap.Compute(first, sum, keys), SubspaceOverlap.Compute(first, axis, keys),
                SubspaceOverlap.Compute(second, sum, keys), SubspaceOverlap.Compute(second, axis, keys),
            };
            var per = new[]
            {
                SubspaceOverlap.PerFrequency(first, sum), SubspaceOverlap.PerFrequency(first, axis),
                SubspaceOverlap.PerFrequency(second, sum), SubspaceOverlap.PerFrequency(second, axis),
            };
            return new TransformerBlockOverlaps(spectrum.Name, s, f, overlaps, per,
                drops.Any(d => Math.Abs(d - (s + 2 * f - 1)) <= 1),
                drops.Any(d => Math.Abs(d - (s + 4 * f - 1)) <= 1));
        }

        /// <summary>
        /// The single-stage L_sum rotation (docs/paper-notes.md §1.7) of the kernel's sum cliff — block 1 or 2,
        /// whichever overlaps the sum modes more (<see cref="TransformerBlockOverlaps.SumBlock"/>) — and the
        /// phase-insensitive correlations with the sum modes, frequencies 1..⌊p/2⌋, before and after; a rotated
        /// direction counts as aligned when its largest correlation is ≥ threshold and lies at a key frequency.
        /// </summary>
        /// <param name="spectrum">The spectrum.</param>
        /// <param name="overlaps">Its block overlaps.</param>
        /// <param name="p">Modulus.</param>
        /// <param name="keys">Key frequencies.</param>
        /// <param name="threshold">Alignment threshold.</param>
        /// <returns>The rotation.</returns>
        public static TransformerRotation Rotate(KernelSpectrum spectrum, TransformerBlockOverlaps overlaps, int p, IReadOnlyList<int> keys, double threshold)
        {
            Check.NotNull(spectrum, nameof(spectrum));
            Check.NotNull(overlaps, nameof(overlaps));
            Check.NotNull(keys, nameof(keys));
            int block = overlaps.SumBlock;
            int start = block == 1 ? 0 : overlaps.FirstEnd;
            int size = block == 1 ? overlaps.FirstEnd : overlaps.SecondEnd - overlaps.FirstEnd;
            var cliff = spectrum.Spectrum.Vectors.SliceColumns(start, size);
            var sum = FourierFamilies.Create("sum", p);
            var before = PhaseInsensitiveCorrelation.Heatmap(cliff, new[] { sum });
            var rot = CliffRotation.SingleStage(cliff, TorusLaplacian.Create(TorusLaplacianKind.Sum, p));
            var after = PhaseInsensitiveCorrelation.Heatmap(rot.Rotated, new[] { sum });
            int aligned = 0;
            for (int j = 0; j < after.ColumnCount; j++)
            {
                int best = 0;
                for (int r = 1; r < after.RowCount; r++) if (after.Values[r, j] > after.Values[best, j]) best = r;
                if (after.Values[best, j] >= threshold && keys.Contains(after.RowFrequencies[best])) aligned++;
            }
            return new TransformerRotation(spectrum.Name, block, start, size, before, after, rot.Stage1Energies, aligned);
        }

        /// <summary>
        /// The automatic epochs of the spectra over training: epoch 0; the first checkpoint with train accuracy 1; the first
        /// checkpoints with test accuracy ≥ 0.5 and ≥ 0.95 (those reached); and the last checkpoint.
        /// </summary>
        /// <param name="training">Training result.</param>
        /// <returns>Distinct checkpoint epochs, ascending.</returns>
        public static IReadOnlyList<int> SpectrumEpochs(TransformerTrainingResult training)
        {
            Check.NotNull(training, nameof(training));
            var cps = training.Checkpoints;
            var set = new SortedSet<int> { cps[0].Epoch, cps[^1].Epoch };
            var t = cps.FirstOrDefault(c => c.Metrics.TrainAccuracy >= 1.0);
            if (t is not null) set.Add(t.Epoch);
            foreach (double level in new[] { 0.5, 0.95 })
            {
                var c = cps.FirstOrDefault(x => x.Metrics.TestAccuracy >= level);
                if (c is not null) set.Add(c.Epoch);
            }
            return set.ToArray();
        }

        /// <summary>
        /// The arrays a run holds at its peak, for a check before any work (<see cref="MemoryPlan.Require"/>): the parameters
        /// with their gradients, AdamW state and a copy (5·P), the checkpoints ((Epochs/LogEvery + 2)·P), the full-batch
        /// forward pass on the p² inputs (about 4 copies of p² × (12·d_model + d_mlp + p + 1)), the kernels (p² × p² each: the
        /// library's 9 per-tensor kernels and total plus working copy, and this experiment's 12 named kernels, 23 in all) and
        /// the spectra (p² × k for the 12 kernels and 3 per epoch over training). Saturating arithmetic.
        /// </summary>
        /// <param name="config">Settings.</param>
        /// <param name="options">Analysis options (TopK, SpectrumEpochs).</param>
        /// <returns>The plan.</returns>
        public static MemoryPlan Plan(TransformerConfig config, TransformerAnalysisOptions? options = null)
        {
            Check.NotNull(config, nameof(config));
            var o = options ?? new TransformerAnalysisOptions();
            var a = config.Architecture;
            long p = a.Modulus, n = MemoryBudget.Product(p, p);
            long parameters = TransformerWeights.Names.Aggregate(0L, (sum, name) => MemoryBudget.Sum(sum, a.ShapeOf(name).Aggregate(1L, (x, y) => MemoryBudget.Product(x, y))));
            long checkpoints = (long)Math.Max(0, config.Epochs) / Math.Max(1, config.LogEvery) + 2;
            long k = Math.Clamp(o.TopK, 1, n);
            long overTraining = o.SpectrumEpochs?.Count ?? 5;
            long width = MemoryBudget.Sum(MemoryBudget.Product(12, a.ModelWidth), a.MlpWidth, a.Vocabulary);
            return MemoryPlan.Empty
                .Add(Check.Inv($"parameters, gradients, AdamW state and a copy (P = {parameters})"), "ModelWidth, Heads, MlpWidth, Modulus", 5, parameters)
                .Add(Check.Inv($"{checkpoints} checkpoints of P weights"), "Epochs, LogEvery, ModelWidth, MlpWidth, Modulus", checkpoints, parameters)
                .Add(Check.Inv($"full-batch forward p² × (12·d_model + d_mlp + p + 1) = {n} × {width}"), "Modulus, ModelWidth, MlpWidth", 4, n, width)
                .Add(Check.Inv($"kernels p² × p² = {n} × {n}"), "Modulus", 23, n, n)
                .Add(Check.Inv($"spectra p² × k = {n} × {k}"), "Modulus, TopK", MemoryBudget.Sum(12, MemoryBudget.Product(3, overTraining)), n, k);
        }

        /// <summary>Trains and analyses.</summary>
        /// <param name="config">Settings.</param>
        /// <param name="seed">Model seed.</param>
        /// <param name="options">Analysis options (their Progress also receives the training's progress).</param>
        /// <returns>The analysis.</returns>
        public static TransformerAnalysis Run(TransformerConfig config, long seed, TransformerAnalysisOptions? options = null)
        {
            var o = options ?? new TransformerAnalysisOptions();
            Check.NotNull(config, nameof(config));
            config.Validate();
            o.Validate(config.Modulus);
            Plan(config, o).Require(Check.Inv($"the Transformer run (p = {config.Modulus})"));
            var trained = TransformerTraining.Train(TransformerSetup.Create(config, seed), new TransformerTrainingOptions { Progress = o.Progress });
            return Analyze(trained, o);
        }

        /// <summary>Analyses a training run: key frequencies, kernels, spectra, cliffs, overlaps, rotations and the spectra over training.</summary>
        /// <param name="trained">Training result.</param>
        /// <param name="options">Options (progress through their Progress).</param>
        /// <returns>The analysis.</returns>
        public static TransformerAnalysis Analyze(TransformerTrainingResult trained, TransformerAnalysisOptions? options = null)
        {
            Check.NotNull(trained, nameof(trained));
            var o = options ?? new TransformerAnalysisOptions();
            var progress = o.Progress;
            int p = trained.Setup.Config.Modulus;
            o.Validate(p);
            int k = Math.Min(o.TopK, p * p);
            var epochs = o.SpectrumEpochs ?? SpectrumEpochs(trained);
            foreach (var e in epochs) trained.At(e);   // every requested epoch must be a checkpoint (typed error otherwise)
            var sw = Stopwatch.StartNew();
            // Per-input autograd passes and 841² eigendecompositions: on this workload one libtorch thread was never slower
            // and was 5× faster on a busy two-core machine (two OpenMP threads oversubscribe it).
            using var threads = Torch.TorchThreads.ForSmallOperations();
            var detected = Detect(trained.Weights, o);
            var keys = o.KeyFrequencies?.ToArray() ?? detected.Frequencies.ToArray();
            var ntk = new NtkOptions { Progress = progress };
            var kernels = Kernels(trained.Weights, ntk);
            var spectra = Spectra(kernels, null, k, o.Cliffs);
            var overlaps = spectra.Select(sp => BlockOverlaps(sp, p, keys)).ToArray();
            var rotations = CliffKernels.Select(n => Rotate(spectra.First(sp => sp.Name == n), overlaps.First(x => x.Kernel == n), p, keys, o.AlignmentThreshold)).ToArray();
            var points = new List<TransformerTrainingPoint>();
            int done = 0;
            foreach (var e in epochs)
            {
                progress?.Report(new EntkProgress("transformer spectra over training", done++, epochs.Count));
                var cp = trained.At(e);
                var sp = e == trained.Checkpoints[^1].Epoch
                    ? new[] { "full", "W_out", "W_U" }.Select(n => spectra.First(x => x.Name == n)).ToArray()     // the final model: reuse
                    : Spectra(Kernels(cp.Weights, ntk), new[] { "full", "W_out", "W_U" }, k, o.Cliffs);
                points.Add(new TransformerTrainingPoint(cp, sp, BlockOverlaps(sp[2], p, keys), Detect(cp.Weights, o)));
            }
            progress?.Report(new EntkProgress("transformer spectra over training", epochs.Count, epochs.Count));
            return new TransformerAnalysis(trained, detected, keys, o.KeyFrequencies is not null, spectra, overlaps, rotations, points, sw.Elapsed.TotalSeconds, kernels.Seconds);
        }

        /// <summary>Key frequencies of W_E[:p] by the documented rule (<see cref="Metrics.KeyFrequencies.FromEmbedding"/>).</summary>
        /// <param name="weights">Weights.</param>
        /// <param name="options">Options (MaxKeyFrequencies).</param>
        /// <returns>The result.</returns>
        public static KeyFrequencyResult Detect(TransformerWeights weights, TransformerAnalysisOptions? options = null)
        {
            Check.NotNull(weights, nameof(weights));
            var we = weights["W_E"].ToMatrix();
            return Metrics.KeyFrequencies.FromEmbedding(we, weights.Architecture.Modulus, options?.MaxKeyFrequencies);
        }
    }
}

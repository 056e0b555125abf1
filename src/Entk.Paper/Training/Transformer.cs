using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Entk.Internal;
using Entk.Kernels;
using Entk.Models;
using Entk.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Training
{
    /// <summary>
    /// Settings of the modular-addition Transformer run (docs/paper-notes.md §2.3.2). Defaults are the paper's: p = 29,
    /// d_model 64, 4 heads, d_mlp 256; train fraction 0.5 of the p² pairs after Python's <c>random.seed(0);
    /// random.shuffle(pairs)</c>; cross-entropy on the first p logits; AdamW lr 3e-4, weight decay 1.0, betas
    /// (0.9, 0.999), eps 1e-8; mini-batches of 64 reshuffled every epoch; 4,000 epochs; metrics and checkpoints every 20
    /// epochs.
    /// </summary>
    public sealed record TransformerConfig
    {
        /// <summary>The sizes (default: the paper's).</summary>
        public TransformerArchitecture Architecture { get; init; } = new();

        /// <summary>Fraction of the p² pairs used for training (default 0.5; n_train = ⌊fraction·p²⌋).</summary>
        public double TrainFraction { get; init; } = 0.5;

        /// <summary>Seed of Python's <c>random.seed</c> before <c>random.shuffle(pairs)</c> (default 0, as the paper).</summary>
        public long SplitSeed { get; init; }

        /// <summary>AdamW learning rate (default 3e-4).</summary>
        public double LearningRate { get; init; } = 3e-4;

        /// <summary>AdamW decoupled weight decay, applied to every parameter (default 1.0).</summary>
        public double WeightDecay { get; init; } = 1.0;

        /// <summary>AdamW β₁ (default 0.9).</summary>
        public double Beta1 { get; init; } = 0.9;

        /// <summary>AdamW β₂ (default 0.999).</summary>
        public double Beta2 { get; init; } = 0.999;

        /// <summary>AdamW ε (default 1e-8).</summary>
        public double Epsilon { get; init; } = 1e-8;

        /// <summary>Mini-batch size (default 64; the last batch of an epoch holds the remainder).</summary>
        public int BatchSize { get; init; } = 64;

        /// <summary>Number of epochs (passes over the training pairs; default 4,000).</summary>
        public int Epochs { get; init; } = 4000;

        /// <summary>Log metrics and keep a checkpoint every this many epochs (default 20; epoch 0 and the last epoch are always included).</summary>
        public int LogEvery { get; init; } = 20;

        /// <summary>The modulus p.</summary>
        public int Modulus => Architecture.Modulus;

        /// <summary>Number of training pairs ⌊fraction·p²⌋.</summary>
        public int TrainCount => (int)(TrainFraction * Modulus * Modulus);

        /// <summary>Validates every setting (typed errors naming the setting).</summary>
        public void Validate()
        {
            Check.NotNull(Architecture, nameof(Architecture));
            Architecture.Validate();
            Check.InRange(TrainFraction, 0, 1, nameof(TrainFraction));
            int n = Modulus * Modulus;
            if (TrainCount < 1 || TrainCount >= n)
                throw new EntkArgumentException(nameof(TrainFraction), "a fraction leaving at least one training and one test pair", Check.R(TrainFraction));
            Check.PositiveFinite(LearningRate, nameof(LearningRate));
            Check.InRange(WeightDecay, 0, 1e6, nameof(WeightDecay));
            Check.InRange(Beta1, 0, 1 - 1e-12, nameof(Beta1));
            Check.InRange(Beta2, 0, 1 - 1e-12, nameof(Beta2));
            Check.PositiveFinite(Epsilon, nameof(Epsilon));
            Check.Positive(BatchSize, nameof(BatchSize));
            Check.NonNegative(Epochs, nameof(Epochs));
            Check.Positive(LogEvery, nameof(LogEvery));
        }

        /// <summary>A canonical one-line description of every setting (for manifests).</summary>
        /// <returns>The description.</returns>
        public string Describe() => Check.Inv(
            $"p={Modulus} d_model={Architecture.ModelWidth} heads={Architecture.Heads} d_mlp={Architecture.MlpWidth} train_fraction={TrainFraction:R} split_seed={SplitSeed} lr={LearningRate:R} wd={WeightDecay:R} betas=({Beta1:R},{Beta2:R}) eps={Epsilon:R} batch={BatchSize} epochs={Epochs} log_every={LogEvery}");
    }

    /// <summary>The initial state of a Transformer run: weights at initialisation and the train/test split.</summary>
    public sealed class TransformerSetup
    {
        private readonly int[] _train;
        private readonly int[] _test;
        private readonly byte[] _generatorState;

        private TransformerSetup(TransformerConfig config, long seed, TransformerWeights weights, int[] train, int[] test, byte[] generatorState)
        {
            Config = config;
            Seed = seed;
            InitialWeights = weights;
            _train = train;
            _test = test;
            TrainIndices = ReadOnly.View(train);
            TestIndices = ReadOnly.View(test);
            _generatorState = generatorState;
        }

        /// <summary>Settings.</summary>
        public TransformerConfig Config { get; }

        /// <summary>The model seed.</summary>
        public long Seed { get; }

        /// <summary>The weights at initialisation.</summary>
        public TransformerWeights InitialWeights { get; }

        /// <summary>
        /// The training pairs as rows a·p + b, in the order of the shuffled list (the mini-batch permutations index
        /// this order, as the paper's DataLoader does).
        /// </summary>
        public IReadOnlyList<int> TrainIndices { get; }

        /// <summary>The test pairs (the rest of the shuffled list), rows a·p + b, in shuffled order.</summary>
        public IReadOnlyList<int> TestIndices { get; }

        /// <summary>
        /// The split of the paper: the lexicographic list of pairs (a, b) (row a·p + b), shuffled by Python's
        /// <c>random.seed(splitSeed); random.shuffle(list)</c> (reproduced bit for bit by <see cref="PythonRandom"/>); the
        /// first ⌊fraction·p²⌋ pairs train, the rest test.
        /// </summary>
        /// <param name="p">Modulus.</param>
        /// <param name="fraction">Train fraction.</param>
        /// <param name="splitSeed">Python seed.</param>
        /// <returns>Two arrays (train, test) of row indices in shuffled order.</returns>
        public static IReadOnlyList<IReadOnlyList<int>> Split(int p, double fraction, long splitSeed)
        {
            var pairs = Enumerable.Range(0, p * p).ToArray();
            new PythonRandom(splitSeed).Shuffle(pairs);
            int ntrain = (int)(fraction * pairs.Length);
            return new IReadOnlyList<int>[] { pairs.Take(ntrain).ToArray(), pairs.Skip(ntrain).ToArray() };
        }

        /// <summary>
        /// Draws the initial weights exactly as the paper's notebook does after <c>torch.manual_seed(seed)</c>, from one
        /// private generator (the global RNG is not touched): in float32 and in this order, W_E = randn(p+1, d)/√d,
        /// W_pos = randn(3, d)/√d, W_Q, W_K, W_V = randn(heads, d_head, d)/√d, W_O = randn(d, d)/√d,
        /// W_in = randn(d, d_mlp)/√d_mlp, W_out = randn(d_mlp, d)/√d, W_U = randn(d, p+1)/√(p+1); each promoted exactly to
        /// float64 (training runs in float64). The generator's state after these draws continues the mini-batch order
        /// (see <see cref="TransformerTraining"/>). The split comes from <see cref="Split"/>.
        /// </summary>
        /// <param name="config">Settings.</param>
        /// <param name="seed">Model seed (≥ 0).</param>
        /// <returns>The setup.</returns>
        public static TransformerSetup Create(TransformerConfig config, long seed)
        {
            Check.NotNull(config, nameof(config));
            config.Validate();
            if (seed < 0) throw new EntkArgumentException(nameof(seed), "a non-negative seed", seed.ToString(CultureInfo.InvariantCulture));
            var a = config.Architecture;
            using var scope = torch.NewDisposeScope();
            using var g = new torch.Generator((ulong)seed, torch.CPU);
            var arrays = new Dictionary<string, IO.NdArray>(StringComparer.Ordinal);
            foreach (var name in TransformerWeights.Names)
            {
                var shape = a.ShapeOf(name);
                int fanScale = name switch { "W_in" => a.MlpWidth, "W_U" => a.Vocabulary, _ => a.ModelWidth };
                using Scalar scale = Math.Sqrt(fanScale);
                var t = torch.randn(shape.Select(d => (long)d).ToArray(), ScalarType.Float32, generator: g).div_(scale);
                arrays[name] = IO.NdArray.FromDoubles(TorchOps.ToArray(t), shape.ToArray());
            }
            var weights = TransformerWeights.FromArrays(a, arrays);
            var state = TorchGeneratorStream.StateOf(g);
            var split = Split(config.Modulus, config.TrainFraction, config.SplitSeed);
            return new TransformerSetup(config, seed, weights, split[0].ToArray(), split[1].ToArray(), state);
        }

        /// <summary>A setup from explicit data (the mini-batch order then comes from <paramref name="seed"/> alone, by
        /// a fresh generator advanced past the initialisation draws).</summary>
        /// <param name="config">Settings (sizes must match the weights).</param>
        /// <param name="seed">Seed of the mini-batch order.</param>
        /// <param name="weights">Initial weights.</param>
        /// <param name="trainIndices">Training rows in batch order; the others (ascending) are the test set.</param>
        /// <returns>The setup.</returns>
        public static TransformerSetup FromData(TransformerConfig config, long seed, TransformerWeights weights, IReadOnlyList<int> trainIndices)
        {
            Check.NotNull(config, nameof(config));
            Check.NotNull(weights, nameof(weights));
            Check.NotNull(trainIndices, nameof(trainIndices));
            config.Validate();
            if (weights.Architecture != config.Architecture)
                throw new EntkArgumentException(nameof(weights), "weights of the configured sizes " + config.Architecture, weights.Architecture.ToString());
            int n = config.Modulus * config.Modulus;
            var set = new HashSet<int>();
            foreach (var i in trainIndices)
                if (i < 0 || i >= n || !set.Add(i)) throw new EntkArgumentException(nameof(trainIndices), Check.Inv($"distinct indices in [0, {n})"), i.ToString(CultureInfo.InvariantCulture));
            if (set.Count == 0 || set.Count == n) throw new EntkArgumentException(nameof(trainIndices), "at least one training and one test pair", set.Count.ToString(CultureInfo.InvariantCulture));
            var test = Enumerable.Range(0, n).Where(i => !set.Contains(i)).ToArray();
            if (seed < 0) throw new EntkArgumentException(nameof(seed), "a non-negative seed", seed.ToString(CultureInfo.InvariantCulture));
            var fresh = Create(config, seed);
            return new TransformerSetup(config, seed, weights, trainIndices.ToArray(), test, fresh._generatorState);
        }

        /// <summary>A fresh mini-batch order (each training run starts the stream anew).</summary>
        internal AuthorBatchOrder BatchOrder() => new(TorchGeneratorStream.FromState(_generatorState));
    }

    /// <summary>Metrics logged during Transformer training (after <see cref="Epoch"/> epochs).</summary>
    public sealed class TransformerLogEntry
    {
        internal TransformerLogEntry(int epoch, double trainLoss, double testLoss, double trainAccuracy, double testAccuracy)
        {
            Epoch = epoch;
            TrainLoss = trainLoss;
            TestLoss = testLoss;
            TrainAccuracy = trainAccuracy;
            TestAccuracy = testAccuracy;
        }

        /// <summary>Epochs completed.</summary>
        public int Epoch { get; }

        /// <summary>Cross-entropy on the first p logits over all training pairs (full batch, at these parameters).</summary>
        public double TrainLoss { get; }

        /// <summary>Cross-entropy over the test pairs.</summary>
        public double TestLoss { get; }

        /// <summary>Fraction of training pairs whose argmax over the first p logits is (a + b) mod p.</summary>
        public double TrainAccuracy { get; }

        /// <summary>The same on the test pairs.</summary>
        public double TestAccuracy { get; }
    }

    /// <summary>A snapshot of the weights at an epoch.</summary>
    public sealed class TransformerCheckpoint
    {
        internal TransformerCheckpoint(int epoch, TransformerWeights weights, TransformerLogEntry metrics)
        {
            Epoch = epoch;
            Weights = weights;
            Metrics = metrics;
        }

        /// <summary>Epoch.</summary>
        public int Epoch { get; }

        /// <summary>The weights after that many epochs.</summary>
        public TransformerWeights Weights { get; }

        /// <summary>The metrics at that epoch.</summary>
        public TransformerLogEntry Metrics { get; }
    }

    /// <summary>The outcome of Transformer training.</summary>
    public sealed class TransformerTrainingResult
    {
        private readonly TransformerCheckpoint[] _checkpoints;

        internal TransformerTrainingResult(TransformerSetup setup, IReadOnlyList<TransformerCheckpoint> checkpoints, double seconds, long steps, TrainingDivergence? divergence = null)
        {
            Divergence = divergence;
            Setup = setup;
            _checkpoints = checkpoints.ToArray();
            Checkpoints = ReadOnly.View(_checkpoints);
            Seconds = seconds;
            Steps = steps;
        }

        /// <summary>The setup.</summary>
        public TransformerSetup Setup { get; }

        /// <summary>
        /// Where training diverged (null when it did not): the full-batch training loss at a checkpoint was non-finite or
        /// more than 10⁴ × the initial loss. Training stopped there; the checkpoints end at the last one that passed, and
        /// the experiment marks its claims not evaluated.
        /// </summary>
        public TrainingDivergence? Divergence { get; }

        /// <summary>Checkpoints at epoch 0, every LogEvery epochs, and the last epoch (up to the last that passed the divergence check when <see cref="Divergence"/> is set).</summary>
        public IReadOnlyList<TransformerCheckpoint> Checkpoints { get; }

        /// <summary>The logged metrics, one per checkpoint.</summary>
        public IReadOnlyList<TransformerLogEntry> History => _checkpoints.Select(c => c.Metrics).ToArray();

        /// <summary>The final weights.</summary>
        public TransformerWeights Weights => _checkpoints[^1].Weights;

        /// <summary>Wall time of the training loop in seconds.</summary>
        public double Seconds { get; }

        /// <summary>Number of optimiser steps taken.</summary>
        public long Steps { get; }

        /// <summary>The checkpoint at an epoch.</summary>
        /// <param name="epoch">Epoch.</param>
        /// <returns>The checkpoint.</returns>
        /// <exception cref="EntkArgumentException">No checkpoint at that epoch.</exception>
        public TransformerCheckpoint At(int epoch) => _checkpoints.FirstOrDefault(c => c.Epoch == epoch)
            ?? throw new EntkArgumentException(nameof(epoch), "a checkpoint epoch (0, every LogEvery epochs, the last)", epoch.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Options of <see cref="TransformerTraining.Train"/> (immutable).</summary>
    public sealed record TransformerTrainingOptions
    {
        /// <summary>Optional progress sink (stage "train transformer", units = epochs; default none).</summary>
        public IProgress<EntkProgress>? Progress { get; init; }
    }

    /// <summary>Mini-batch AdamW training of the modular-addition Transformer with cross-entropy on the first p logits, float64.</summary>
    public static class TransformerTraining
    {
        /// <summary>
        /// Trains for config.Epochs epochs. Each epoch visits the training pairs in a fresh permutation, in mini-batches
        /// of BatchSize (the last one smaller), with one AdamW step per batch (decoupled weight decay on every parameter,
        /// PyTorch's operation order). The permutations reproduce the paper notebook's DataLoader stream continuing the
        /// model seed's generator after initialisation (see the remarks of <see cref="TransformerSetup.Create"/>), so
        /// they depend on the seed only. Metrics (full-batch losses and accuracies at the current parameters) and a
        /// checkpoint are kept at epoch 0, every LogEvery epochs and at the end. Deterministic for a given setup. Runs on
        /// one libtorch thread (restored afterwards): the tensors are small and the step is dominated by per-operation
        /// overhead.
        /// </summary>
        /// <param name="setup">Setup.</param>
        /// <param name="options">Options (default: no progress reporting).</param>
        /// <returns>Checkpoints and history.</returns>
        /// <exception cref="NonFiniteValueException">The loss before training is not finite.</exception>
        public static TransformerTrainingResult Train(TransformerSetup setup, TransformerTrainingOptions? options = null)
        {
            Check.NotNull(setup, nameof(setup));
            var progress = options?.Progress;
            var cfg = setup.Config;
            int p = cfg.Modulus, n = p * p;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var order = setup.BatchOrder();
            using var threads = TorchThreads.ForSmallOperations();
            using var scope = torch.NewDisposeScope();
            using var module = setup.InitialWeights.CreateModule();
            using var opt = new FlatAdamW(module.ParameterList(), cfg.LearningRate, cfg.WeightDecay, cfg.Beta1, cfg.Beta2, cfg.Epsilon);
            var tokens = TorchOps.ToTensor(ModularTransformer.AllInputs(p)).to(ScalarType.Int64);
            var labels = torch.tensor(ModularTransformer.AllLabels(p).Select(v => (long)v).ToArray(), ScalarType.Int64);
            var trainIdx = torch.tensor(setup.TrainIndices.Select(v => (long)v).ToArray(), ScalarType.Int64);
            var testIdx = torch.tensor(setup.TestIndices.Select(v => (long)v).ToArray(), ScalarType.Int64);
            var trainTokens = tokens.index_select(0, trainIdx);
            var trainLabels = labels.index_select(0, trainIdx);
            int ntrain = setup.TrainIndices.Count;
            var checkpoints = new List<TransformerCheckpoint>();
            TrainingDivergence? divergence = null;
            long steps = 0;
            progress?.Report(new EntkProgress("train transformer", 0, cfg.Epochs));
            for (int epoch = 0; epoch <= cfg.Epochs; epoch++)
            {
                if (epoch % cfg.LogEvery == 0 || epoch == cfg.Epochs)
                {
                    using var inner = torch.NewDisposeScope();
                    using var ng = torch.no_grad();
                    var logits = module.Logits(tokens).narrow(1, 0, p);
                    var entry = Metrics(epoch, logits, labels, trainIdx, testIdx);
                    if (checkpoints.Count > 0)
                        divergence = DivergenceCheck.Test(epoch, entry.TrainLoss, checkpoints[0].Metrics.TrainLoss, "epoch", checkpoints[^1].Epoch);
                    if (divergence is not null) break;      // keep the checkpoints so far; the last one passed the check
                    checkpoints.Add(new TransformerCheckpoint(epoch, module.GetWeights(), entry));
                }
                if (epoch == cfg.Epochs) break;
                var perm = order.NextEpoch(ntrain);
                for (int start = 0; start < ntrain; start += cfg.BatchSize)
                {
                    using var inner = torch.NewDisposeScope();
                    int nb = Math.Min(cfg.BatchSize, ntrain - start);
                    var idx = torch.tensor(perm.AsSpan(start, nb).ToArray(), ScalarType.Int64);
                    var x = trainTokens.index_select(0, idx);
                    var y = trainLabels.index_select(0, idx);
                    using (torch.enable_grad())
                    {
                        var loss = torch.nn.functional.cross_entropy(module.Logits(x).narrow(1, 0, p), y);
                        opt.ZeroGrad();
                        loss.backward();
                    }
                    opt.Step(checkLayout: steps == 0);
                    steps++;
                }
                order.AfterEpoch(epoch);
                if (progress is not null && ((epoch + 1) % 20 == 0 || epoch + 1 == cfg.Epochs)) progress.Report(new EntkProgress("train transformer", epoch + 1, cfg.Epochs));
            }
            if (checkpoints.Count == 0 || !double.IsFinite(checkpoints[0].Metrics.TrainLoss))
                throw new NonFiniteValueException("setup.InitialWeights", "a finite loss before training (the initial forward pass overflows or gives NaN)", checkpoints.Count == 0 ? double.NaN : checkpoints[0].Metrics.TrainLoss);
            return new TransformerTrainingResult(setup, checkpoints, clock.Elapsed.TotalSeconds, steps, divergence);
        }

        private static TransformerLogEntry Metrics(int epoch, Tensor logits, Tensor labels, Tensor trainIdx, Tensor testIdx)
        {
            double Loss(Tensor idx) => torch.nn.functional.cross_entropy(logits.index_select(0, idx), labels.index_select(0, idx)).item<double>();
            double Acc(Tensor idx) => logits.index_select(0, idx).argmax(1).eq(labels.index_select(0, idx)).to(ScalarType.Float64).mean().item<double>();
            return new TransformerLogEntry(epoch, Loss(trainIdx), Loss(testIdx), Acc(trainIdx), Acc(testIdx));
        }
    }

    /// <summary>
    /// AdamW over parameters rebound to views of one flat buffer (and their gradients to views of one flat gradient
    /// buffer), so that a step is eight element-wise operations on P values instead of eight per tensor. The update is
    /// the same element by element as PyTorch's single-tensor AdamW (torch 1.13 <c>_single_tensor_adamw</c>):
    /// θ ← θ·(1 − lr·λ); m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; θ ← θ − (lr/(1−β₁ᵗ))·m / (√v/√(1−β₂ᵗ) + ε).
    /// Autograd accumulates into an existing gradient in place, so the gradient views stay bound to the flat buffer
    /// (checked on the first step).
    /// </summary>
    internal sealed class FlatAdamW : IDisposable
    {
        private readonly TorchSharp.Modules.Parameter[] _params;
        private readonly long[] _offsets;
        private readonly Tensor _theta, _grad, _m, _v;
        private readonly double _lr, _wd, _beta1, _beta2, _eps;
        private long _step;

        public FlatAdamW(TorchSharp.Modules.Parameter[] parameters, double lr, double weightDecay, double beta1, double beta2, double eps)
        {
            _params = parameters;
            _offsets = new long[parameters.Length + 1];
            for (int i = 0; i < parameters.Length; i++) _offsets[i + 1] = _offsets[i] + parameters[i].numel();
            long total = _offsets[^1];
            var type = parameters[0].dtype;
            _theta = torch.empty(total, type).DetachFromDisposeScope();
            _grad = torch.zeros(total, type).DetachFromDisposeScope();
            _m = torch.zeros(total, type).DetachFromDisposeScope();
            _v = torch.zeros(total, type).DetachFromDisposeScope();
            using (torch.no_grad())
            {
                for (int i = 0; i < parameters.Length; i++)
                {
                    var p = parameters[i];
                    var view = _theta.narrow(0, _offsets[i], p.numel()).view(p.shape);
                    view.copy_(p);
                    p.set_(view);
                    p.grad = _grad.narrow(0, _offsets[i], p.numel()).view(p.shape);
                }
            }
            _lr = lr;
            _wd = weightDecay;
            _beta1 = beta1;
            _beta2 = beta2;
            _eps = eps;
        }

        public void ZeroGrad() => _grad.zero_();

        public void Dispose()
        {
            _theta.Dispose();
            _grad.Dispose();
            _m.Dispose();
            _v.Dispose();
        }

        public void Step(bool checkLayout = false)
        {
            if (checkLayout)
            {
                using var scope = torch.NewDisposeScope();
                for (int i = 0; i < _params.Length; i++)
                {
                    var g = _params[i].grad;
                    if (g is null || !g.flatten().eq(_grad.narrow(0, _offsets[i], _params[i].numel())).all().item<bool>())
                        throw new InvalidOperationException("internal: parameter gradients are not bound to the flat gradient buffer");
                }
            }
            _step++;
            using var noGrad = torch.no_grad();
            using var s = torch.NewDisposeScope();
            double bc1 = 1 - Math.Pow(_beta1, _step);
            double bc2Sqrt = Math.Sqrt(1 - Math.Pow(_beta2, _step));
            // Explicit Scalars held until the end of the step: a temporary from an implicit double → Scalar conversion can
            // be finalised while the native call still reads it (seen once as "Scalar::toDouble: Expected false to be
            // true" in an AdamW step).
            using Scalar decay = 1 - _lr * _wd, b1 = _beta1, b1c = 1 - _beta1, b2 = _beta2, b2c = 1 - _beta2, eps = _eps, bc2 = bc2Sqrt, step = -_lr / bc1;
            if (_wd != 0) _theta.mul_(decay);
            _m.mul_(b1).add_(_grad, alpha: b1c);
            _v.mul_(b2).addcmul_(_grad, _grad, value: b2c);
            var denom = _v.sqrt().div_(bc2).add_(eps);
            _theta.addcdiv_(_m, denom, value: step);
        }
    }
}

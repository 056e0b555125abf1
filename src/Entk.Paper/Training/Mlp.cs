using System;
using System.Collections.Generic;
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
    /// Settings of the modular-addition MLP run (docs/paper-notes.md §2.2). Defaults are the paper's: p = 29,
    /// H = 512, train fraction 0.7, AdamW lr 0.05, weight decay 0.01, 500 full-batch epochs, metrics and
    /// checkpoints every 10 epochs.
    /// </summary>
    public sealed record MlpConfig
    {
        /// <summary>Modulus p (default 29).</summary>
        public int Modulus { get; init; } = 29;

        /// <summary>Hidden width H (default 512).</summary>
        public int Width { get; init; } = 512;

        /// <summary>Fraction of the p² pairs used for training (default 0.7; n_train = ⌊fraction·p²⌋).</summary>
        public double TrainFraction { get; init; } = 0.7;

        /// <summary>AdamW learning rate (default 0.05).</summary>
        public double LearningRate { get; init; } = 0.05;

        /// <summary>AdamW decoupled weight decay (default 0.01, PyTorch's default).</summary>
        public double WeightDecay { get; init; } = 0.01;

        /// <summary>Number of full-batch epochs (one AdamW step each; default 500).</summary>
        public int Epochs { get; init; } = 500;

        /// <summary>Log metrics and keep a checkpoint every this many epochs (default 10; epoch 0 and the last epoch are always included).</summary>
        public int LogEvery { get; init; } = 10;

        /// <summary>Validates every setting.</summary>
        public void Validate()
        {
            Check.InRange(Modulus, 3, 4096, nameof(Modulus));
            Check.Positive(Width, nameof(Width));
            Check.InRange(TrainFraction, 0, 1, nameof(TrainFraction));
            int ntrain = (int)Math.Floor(TrainFraction * Modulus * Modulus);
            if (ntrain < 1 || ntrain >= Modulus * Modulus)
                throw new EntkArgumentException(nameof(TrainFraction), "a fraction leaving at least one training and one test pair", Check.R(TrainFraction));
            Check.PositiveFinite(LearningRate, nameof(LearningRate));
            Check.InRange(WeightDecay, 0, 1e6, nameof(WeightDecay));
            Check.NonNegative(Epochs, nameof(Epochs));
            Check.Positive(LogEvery, nameof(LogEvery));
        }

        /// <summary>Number of checkpoints training keeps: epoch 0, every <see cref="LogEvery"/> epochs, and the last epoch.</summary>
        public long CheckpointCount => (long)Epochs / LogEvery + (Epochs % LogEvery == 0 ? 1 : 2);

        /// <summary>Whether these are the paper's settings (the defaults): only then are the paper's own numbers shown beside the measured ones.</summary>
        public bool IsPaperConfiguration => this == new MlpConfig();
    }

    /// <summary>The initial state of an MLP run: model at initialisation and the train/test split.</summary>
    public sealed class MlpSetup
    {
        private readonly int[] _train;
        private readonly int[] _test;

        private MlpSetup(MlpConfig config, long seed, ModularMlp model, int[] train, int[] test)
        {
            Config = config;
            Seed = seed;
            InitialModel = model;
            _train = train;
            _test = test;
            TrainIndices = ReadOnly.View(train);
            TestIndices = ReadOnly.View(test);
            Inputs = ModularMlp.AllInputs(config.Modulus);
            Labels = ReadOnly.View(ModularMlp.AllLabels(config.Modulus));
        }

        /// <summary>Settings.</summary>
        public MlpConfig Config { get; }

        /// <summary>Seed.</summary>
        public long Seed { get; }

        /// <summary>The model at initialisation (every weight N(0, 1)).</summary>
        public ModularMlp InitialModel { get; }

        /// <summary>Indices (rows n·p + m) of the training pairs, ascending.</summary>
        public IReadOnlyList<int> TrainIndices { get; }

        /// <summary>Indices of the test pairs, ascending.</summary>
        public IReadOnlyList<int> TestIndices { get; }

        /// <summary>All p² inputs (p² × 2p).</summary>
        public Matrix Inputs { get; }

        /// <summary>All labels (n + m) mod p.</summary>
        public IReadOnlyList<int> Labels { get; }

        /// <summary>
        /// Draws from one private generator seeded with <paramref name="seed"/>, in this order (the same
        /// as the Python reference): W1 = randn(H, 2p); W2 = randn(p, H); perm = randperm(p²); train =
        /// sorted(perm[:⌊fraction·p²⌋]), test = the rest, sorted. The global RNG is not touched.
        /// </summary>
        /// <param name="config">Settings.</param>
        /// <param name="seed">Seed.</param>
        /// <returns>The setup.</returns>
        public static MlpSetup Create(MlpConfig config, long seed)
        {
            Check.NotNull(config, nameof(config));
            config.Validate();
            MlpTraining.Plan(config).Require(Check.Inv($"the MLP set-up and training (p = {config.Modulus}, H = {config.Width})"), alternatives: MlpTraining.Alternatives);
            int p = config.Modulus, h = config.Width, n = p * p;
            using var scope = torch.NewDisposeScope();
            var g = new torch.Generator((ulong)seed, torch.CPU);
            var w1 = torch.randn(new long[] { h, 2 * p }, ScalarType.Float64, generator: g);
            var w2 = torch.randn(new long[] { p, h }, ScalarType.Float64, generator: g);
            var perm = torch.randperm(n, ScalarType.Int64, generator: g).data<long>().ToArray();
            int ntrain = (int)Math.Floor(config.TrainFraction * n);
            var train = perm.Take(ntrain).Select(v => (int)v).OrderBy(v => v).ToArray();
            var test = perm.Skip(ntrain).Select(v => (int)v).OrderBy(v => v).ToArray();
            return new MlpSetup(config, seed, ModularMlp.FromWeights(TorchOps.ToMatrix(w1), TorchOps.ToMatrix(w2)), train, test);
        }

        /// <summary>A setup from explicit data.</summary>
        /// <param name="config">Settings (Modulus and Width must match the model).</param>
        /// <param name="seed">Seed recorded with the run.</param>
        /// <param name="model">Initial model.</param>
        /// <param name="trainIndices">Training rows; the others are the test set.</param>
        /// <returns>The setup.</returns>
        public static MlpSetup FromData(MlpConfig config, long seed, ModularMlp model, IReadOnlyList<int> trainIndices)
        {
            Check.NotNull(config, nameof(config));
            Check.NotNull(model, nameof(model));
            Check.NotNull(trainIndices, nameof(trainIndices));
            config.Validate();
            if (model.Modulus != config.Modulus || model.Width != config.Width)
                throw new EntkArgumentException(nameof(model), Check.Inv($"a model with p = {config.Modulus}, H = {config.Width}"), Check.Inv($"p = {model.Modulus}, H = {model.Width}"));
            int n = config.Modulus * config.Modulus;
            var set = new HashSet<int>();
            foreach (var i in trainIndices)
                if (i < 0 || i >= n || !set.Add(i)) throw new EntkArgumentException(nameof(trainIndices), Check.Inv($"distinct indices in [0, {n})"), i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var train = set.OrderBy(v => v).ToArray();
            var test = Enumerable.Range(0, n).Where(i => !set.Contains(i)).ToArray();
            return new MlpSetup(config, seed, model, train, test);
        }
    }

    /// <summary>Metrics logged during MLP training.</summary>
    public sealed class MlpLogEntry
    {
        internal MlpLogEntry(int epoch, double trainLoss, double testLoss, double trainAccuracy, double testAccuracy)
        {
            Epoch = epoch;
            TrainLoss = trainLoss;
            TestLoss = testLoss;
            TrainAccuracy = trainAccuracy;
            TestAccuracy = testAccuracy;
        }

        /// <summary>Epochs (= AdamW steps) completed.</summary>
        public int Epoch { get; }

        /// <summary>MSE on the training pairs (mean over pairs × outputs).</summary>
        public double TrainLoss { get; }

        /// <summary>MSE on the test pairs.</summary>
        public double TestLoss { get; }

        /// <summary>Fraction of training pairs with argmax output = label.</summary>
        public double TrainAccuracy { get; }

        /// <summary>Fraction of test pairs with argmax output = label.</summary>
        public double TestAccuracy { get; }
    }

    /// <summary>A model snapshot at an epoch.</summary>
    public sealed class MlpCheckpoint
    {
        internal MlpCheckpoint(int epoch, ModularMlp model, MlpLogEntry metrics)
        {
            Epoch = epoch;
            Model = model;
            Metrics = metrics;
        }

        /// <summary>Epoch.</summary>
        public int Epoch { get; }

        /// <summary>The model after that many epochs.</summary>
        public ModularMlp Model { get; }

        /// <summary>The metrics at that epoch.</summary>
        public MlpLogEntry Metrics { get; }
    }

    /// <summary>The outcome of MLP training.</summary>
    public sealed class MlpTrainingResult
    {
        internal MlpTrainingResult(MlpSetup setup, IReadOnlyList<MlpCheckpoint> checkpoints, TrainingDivergence? divergence)
        {
            Setup = setup;
            Checkpoints = ReadOnly.Copy(checkpoints);
            Divergence = divergence;
        }

        /// <summary>Null when training ran every epoch; otherwise where it diverged (training stopped there; the last checkpoint is the epoch before).</summary>
        public TrainingDivergence? Divergence { get; }

        /// <summary>The setup.</summary>
        public MlpSetup Setup { get; }

        /// <summary>Checkpoints at epoch 0, every LogEvery epochs, and the last epoch (after a divergence: the epoch whose model was kept).</summary>
        public IReadOnlyList<MlpCheckpoint> Checkpoints { get; }

        /// <summary>The logged metrics, one per checkpoint.</summary>
        public IReadOnlyList<MlpLogEntry> History => ReadOnly.Copy(Checkpoints.Select(c => c.Metrics));

        /// <summary>The final model.</summary>
        public ModularMlp Model => Checkpoints[^1].Model;

        /// <summary>The checkpoint at an epoch.</summary>
        /// <param name="epoch">Epoch.</param>
        /// <returns>The checkpoint.</returns>
        /// <exception cref="EntkArgumentException">No checkpoint at that epoch.</exception>
        public MlpCheckpoint At(int epoch) => Checkpoints.FirstOrDefault(c => c.Epoch == epoch)
            ?? throw new EntkArgumentException(nameof(epoch), "one of the checkpoint epochs {" + string.Join(", ", Checkpoints.Select(c => c.Epoch)) + "}", epoch.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Options of <see cref="MlpTraining.Train"/> (the schedule itself is part of <see cref="MlpConfig"/>).</summary>
    public sealed record MlpTrainingOptions
    {
        /// <summary>Optional progress sink (stage "train mlp", units = epochs; default none).</summary>
        public IProgress<EntkProgress>? Progress { get; init; }
    }

    /// <summary>Full-batch AdamW training of the modular-addition MLP with MSE on one-hot targets, float64.</summary>
    public static class MlpTraining
    {
        /// <summary>What to change when the plan of an MLP set-up or training does not fit (library wording).</summary>
        internal const string Alternatives = "Use a smaller modulus (Modulus) or width (Width), or fewer checkpoints (fewer Epochs or a larger LogEvery).";

        /// <summary>
        /// The arrays an MLP set-up and its training allocate (sizes from the settings): all p² inputs (p² × 2p) and one-hot
        /// targets (p² × p) with their tensors, the hidden activations p² × H and outputs p² × p with their forward/backward
        /// temporaries, the weights (3·p·H) with gradients, Adam moments and a snapshot, and the kept checkpoints
        /// (<see cref="MlpConfig.CheckpointCount"/> models). <see cref="MlpSetup.Create"/> and <see cref="Train"/> check it
        /// against <see cref="MemoryBudget.DefaultBytes"/> before allocating.
        /// </summary>
        /// <param name="config">Settings (validated).</param>
        /// <returns>The plan.</returns>
        public static MemoryPlan Plan(MlpConfig config)
        {
            Check.NotNull(config, nameof(config));
            config.Validate();
            long p = config.Modulus, h = config.Width, n = p * p;
            return MemoryPlan.Empty
                .Add(Check.Inv($"inputs p² × 2p = {n} × {2 * p}"), "Modulus", 4, n, 2 * p)
                .Add(Check.Inv($"targets and outputs p² × p = {n} × {p}"), "Modulus", 10, n, p)
                .Add(Check.Inv($"hidden activations p² × H = {n} × {h}"), "Modulus, Width", 6, n, h)
                .Add(Check.Inv($"weights 3·p·H = 3·{p}·{h}"), "Modulus, Width", 10, 3, p, h)
                .Add(Check.Inv($"{config.CheckpointCount} checkpoints of 3·p·H weights"), "Epochs, LogEvery, Modulus, Width", 2, config.CheckpointCount, 3, p, h);
        }

        /// <summary>
        /// Trains for config.Epochs AdamW steps (betas (0.9, 0.999), eps 1e-8, decoupled weight decay),
        /// logging metrics and keeping a checkpoint at epoch 0, every LogEvery epochs and at the end.
        /// Deterministic for a given setup.
        /// Every epoch's training loss passes <see cref="DivergenceCheck"/>; at the first that fails, training stops and keeps
        /// the model of the epoch before as its last checkpoint (<see cref="MlpTrainingResult.Divergence"/> says where and why).
        /// Runs on one libtorch thread (the caller's thread count is restored afterwards): the tensors are tiny, and
        /// two OpenMP threads on a busy machine were 10–30× slower.
        /// </summary>
        /// <param name="setup">Setup.</param>
        /// <param name="options">Options (default: no progress reporting).</param>
        /// <returns>Checkpoints and history.</returns>
        /// <exception cref="MemoryBudgetExceededException">The training buffers and checkpoints would exceed the memory budget (checked before allocating).</exception>
        public static MlpTrainingResult Train(MlpSetup setup, MlpTrainingOptions? options = null)
        {
            Check.NotNull(setup, nameof(setup));
            var progress = options?.Progress;
            var cfg = setup.Config;
            int p = cfg.Modulus;
            Plan(cfg).Require(Check.Inv($"the MLP training (p = {cfg.Modulus}, H = {cfg.Width})"), alternatives: Alternatives);
            using var scope = torch.NewDisposeScope();
            using var threads = TorchThreads.ForSmallOperations();   // tiny tensors: one thread is faster and never oversubscribes
            var w1 = TorchOps.ToTensor(setup.InitialModel.W1).clone().requires_grad_(true);
            var w2 = TorchOps.ToTensor(setup.InitialModel.W2).clone().requires_grad_(true);
            var good1 = w1.detach().clone();
            var good2 = w2.detach().clone();
            var x = TorchOps.ToTensor(setup.Inputs);
            var y = torch.nn.functional.one_hot(torch.tensor(setup.Labels.Select(v => (long)v).ToArray(), ScalarType.Int64), p).to(ScalarType.Float64);
            var trainIdx = torch.tensor(setup.TrainIndices.Select(v => (long)v).ToArray(), ScalarType.Int64);
            var testIdx = torch.tensor(setup.TestIndices.Select(v => (long)v).ToArray(), ScalarType.Int64);
            var xtr = x.index_select(0, trainIdx);
            var ytr = y.index_select(0, trainIdx);
            var opt = new AdamOptimizer(new[] { w1, w2 }, cfg.LearningRate, cfg.WeightDecay, decoupled: true);
            var checkpoints = new List<MlpCheckpoint>();
            TrainingDivergence? divergence = null;
            double initial = double.NaN;
            double scale = 1.0 / Math.Sqrt(2.0 * p);
            // Explicit Scalars held for the whole loop (an implicit double → Scalar temporary can be finalised mid-call).
            using Scalar sScale = scale, two = 2, width = cfg.Width, minusOne = -1;
            Tensor Forward(Tensor inp) => inp.mm(w1.t()).mul(sScale).pow(two).mm(w2.t()).div(width);
            void Log(int epoch)
            {
                using var ng = torch.no_grad();
                var entry = Metrics(epoch, Forward(x), y, trainIdx, testIdx);
                var model = ModularMlp.FromWeights(TorchOps.ToMatrix(w1.detach()), TorchOps.ToMatrix(w2.detach()));
                checkpoints.Add(new MlpCheckpoint(epoch, model, entry));
            }
            progress?.Report(new EntkProgress("train mlp", 0, cfg.Epochs));
            for (int epoch = 0; epoch <= cfg.Epochs; epoch++)
            {
                using var inner = torch.NewDisposeScope();
                using (torch.enable_grad())
                {
                    // the training loss at this epoch's weights: checked, then (unless this is the last epoch) minimised by one step
                    var diff = Forward(xtr).add(ytr, minusOne);        // f + (−1)·y = f − y exactly
                    var loss = diff.mul(diff).mean();
                    double l = loss.item<double>();
                    if (epoch == 0) initial = l;
                    divergence = DivergenceCheck.Test(epoch, l, initial, "epoch");
                    if (divergence is not null)
                    {
                        using (torch.no_grad())
                        {
                            w1.copy_(good1);
                            w2.copy_(good2);
                        }
                        if (checkpoints.Count == 0 || checkpoints[^1].Epoch != divergence.KeptStep) Log(divergence.KeptStep);
                        break;
                    }
                    if (epoch % cfg.LogEvery == 0 || epoch == cfg.Epochs) Log(epoch);
                    if (epoch == cfg.Epochs) break;
                    using (torch.no_grad())
                    {
                        good1.copy_(w1);
                        good2.copy_(w2);
                    }
                    opt.ZeroGrad();
                    loss.backward();
                }
                opt.Step();
                if (progress is not null && ((epoch + 1) % 10 == 0 || epoch + 1 == cfg.Epochs)) progress.Report(new EntkProgress("train mlp", epoch + 1, cfg.Epochs));
            }
            if (divergence is not null) progress?.Report(new EntkProgress("train mlp", cfg.Epochs, cfg.Epochs));
            return new MlpTrainingResult(setup, checkpoints, divergence);
        }

        private static MlpLogEntry Metrics(int epoch, Tensor output, Tensor target, Tensor trainIdx, Tensor testIdx)
        {
            double Mse(Tensor idx)
            {
                var d = output.index_select(0, idx) - target.index_select(0, idx);
                return (d * d).mean().item<double>();
            }

            double Acc(Tensor idx)
            {
                var pred = output.index_select(0, idx).argmax(1);
                var lab = target.index_select(0, idx).argmax(1);
                return pred.eq(lab).to(ScalarType.Float64).mean().item<double>();
            }

            return new MlpLogEntry(epoch, Mse(trainIdx), Mse(testIdx), Acc(trainIdx), Acc(testIdx));
        }

        /// <summary>Accuracy of a model on a subset of the p² pairs (argmax output = label).</summary>
        /// <param name="model">Model.</param>
        /// <param name="indices">Rows n·p + m.</param>
        /// <returns>Fraction correct.</returns>
        public static double Accuracy(ModularMlp model, IReadOnlyList<int> indices)
        {
            Check.NotNull(model, nameof(model));
            Check.NotNull(indices, nameof(indices));
            var outp = model.Evaluate(ModularMlp.AllInputs(model.Modulus));
            var labels = ModularMlp.AllLabels(model.Modulus);
            if (indices.Count == 0) throw new EntkArgumentException(nameof(indices), "at least one index", "an empty list");
            int correct = 0;
            foreach (var i in indices)
            {
                int best = 0;
                for (int c = 1; c < model.Modulus; c++) if (outp[i, c] > outp[i, best]) best = c;
                if (best == labels[i]) correct++;
            }
            return (double)correct / indices.Count;
        }
    }
}

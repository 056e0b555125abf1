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
    /// Settings of a Toy-Models-of-Superposition run (docs/paper-notes.md §2.1). Defaults are the paper's:
    /// n = 50 features, D = 500 samples, importance decay r = 0.8 (I_i = r^i), Adam lr 1e-3, 5000
    /// full-batch steps; the hidden size m and sparsity S default to the first main-figure model (10, 0.3).
    /// </summary>
    public sealed record TmsConfig
    {
        /// <summary>Number of features n (default 50).</summary>
        public int Features { get; init; } = 50;

        /// <summary>Hidden dimension m (default 10).</summary>
        public int Hidden { get; init; } = 10;

        /// <summary>Probability S that a feature is zero (default 0.3).</summary>
        public double Sparsity { get; init; } = 0.3;

        /// <summary>Dataset size D (default 500).</summary>
        public int Samples { get; init; } = 500;

        /// <summary>Importance decay r, I_i = r^i (default 0.8).</summary>
        public double ImportanceDecay { get; init; } = 0.8;

        /// <summary>Adam learning rate (default 1e-3).</summary>
        public double LearningRate { get; init; } = 1e-3;

        /// <summary>Number of full-batch Adam steps (default 5000).</summary>
        public int Steps { get; init; } = 5000;

        /// <summary>A short name like "m10_S0.3".</summary>
        public string Name => Check.Inv($"m{Hidden}_S{Sparsity:0.###}");

        /// <summary>Validates every setting (typed errors naming the setting).</summary>
        public void Validate()
        {
            Check.Positive(Features, nameof(Features));
            Check.Positive(Hidden, nameof(Hidden));
            Check.InRange(Sparsity, 0, 1, nameof(Sparsity));
            Check.Positive(Samples, nameof(Samples));
            Check.InRange(ImportanceDecay, double.Epsilon, 1e6, nameof(ImportanceDecay));
            double last = Math.Pow(ImportanceDecay, Features - 1);
            if (!double.IsFinite(last))
                throw new EntkArgumentException(nameof(ImportanceDecay), Check.Inv($"a decay r whose largest importance r^(n−1) is finite in float64 (n = {Features})"),
                    Check.Inv($"r = {Check.R(ImportanceDecay)}, r^(n−1) = {Check.R(last)}"));
            Check.PositiveFinite(LearningRate, nameof(LearningRate));
            Check.NonNegative(Steps, nameof(Steps));
        }

        /// <summary>
        /// Whether these are the settings of one of the paper's three main-figure models (<see cref="PaperModels"/>): only then
        /// are the paper's own numbers shown beside the measured ones.
        /// </summary>
        public bool IsPaperModel => PaperModels.Contains(this);

        /// <summary>The importances I_i = r^i, i = 0..n−1.</summary>
        /// <returns>New array of length n.</returns>
        public double[] Importance() => Enumerable.Range(0, Features).Select(i => Math.Pow(ImportanceDecay, i)).ToArray();

        /// <summary>The paper's three main-figure models: (m, S) ∈ {(10, 0.3), (10, 0.9), (40, 0.9)}.</summary>
        public static IReadOnlyList<TmsConfig> PaperModels { get; } = ReadOnly.View(new[]
        {
            new TmsConfig { Hidden = 10, Sparsity = 0.3 },
            new TmsConfig { Hidden = 10, Sparsity = 0.9 },
            new TmsConfig { Hidden = 40, Sparsity = 0.9 },
        });
    }

    /// <summary>The initial state of a TMS run: model at initialisation, the fixed dataset and the importances.</summary>
    public sealed class TmsSetup
    {
        private readonly double[] _importance;

        private TmsSetup(TmsConfig config, long seed, TmsModel model, Matrix inputs, double[] importance)
        {
            Config = config;
            Seed = seed;
            InitialModel = model;
            Inputs = inputs;
            _importance = importance;
            Importance = ReadOnly.View(importance);
        }

        /// <summary>The settings.</summary>
        public TmsConfig Config { get; }

        /// <summary>The seed.</summary>
        public long Seed { get; }

        /// <summary>The model at initialisation: W ~ N(0, 2/(m+n)) (Xavier normal), b = 0.</summary>
        public TmsModel InitialModel { get; }

        /// <summary>The dataset, D × n, each row L2-normalised (x/(‖x‖ + 1e-8)).</summary>
        public Matrix Inputs { get; }

        /// <summary>Importances I_i = r^i (length n).</summary>
        public IReadOnlyList<double> Importance { get; }

        /// <summary>
        /// Draws the initial weights and the dataset from one private generator seeded with
        /// <paramref name="seed"/>, in this order (the same as the Python reference):
        /// W = randn(m, n)·√(2/(m+n)); u = rand(D, n); v = rand(D, n); x = (u &lt; S ? 0 : v); x ← x/(‖x‖ + 1e-8).
        /// The global RNG is not touched.
        /// </summary>
        /// <param name="config">Settings.</param>
        /// <param name="seed">Seed.</param>
        /// <returns>The setup.</returns>
        public static TmsSetup Create(TmsConfig config, long seed)
        {
            Check.NotNull(config, nameof(config));
            config.Validate();
            TmsTraining.Plan(config).Require("the TMS set-up and training of " + config.Name, alternatives: TmsTraining.Alternatives);
            int n = config.Features, m = config.Hidden, d = config.Samples;
            using var scope = torch.NewDisposeScope();
            var g = new torch.Generator((ulong)seed, torch.CPU);
            var w = torch.randn(new long[] { m, n }, ScalarType.Float64, generator: g) * Math.Sqrt(2.0 / (m + n));
            var u = torch.rand(new long[] { d, n }, ScalarType.Float64, generator: g);
            var v = torch.rand(new long[] { d, n }, ScalarType.Float64, generator: g);
            var x = torch.where(u < config.Sparsity, torch.zeros_like(v), v);
            x = x / (x.norm(1, true) + 1e-8);
            var model = TmsModel.FromWeights(TorchOps.ToMatrix(w), new double[n]);
            return new TmsSetup(config, seed, model, TorchOps.ToMatrix(x), config.Importance());
        }

        /// <summary>A setup from explicit data (e.g. loaded from files).</summary>
        /// <param name="config">Settings (Features must match).</param>
        /// <param name="seed">Seed recorded with the run.</param>
        /// <param name="model">Initial model.</param>
        /// <param name="inputs">Dataset D × n.</param>
        /// <returns>The setup.</returns>
        public static TmsSetup FromData(TmsConfig config, long seed, TmsModel model, Matrix inputs)
        {
            Check.NotNull(config, nameof(config));
            Check.NotNull(model, nameof(model));
            config.Validate();
            model.ValidateInputs(inputs, nameof(inputs));
            if (model.Features != config.Features || model.Hidden != config.Hidden)
                throw new EntkArgumentException(nameof(model), Check.Inv($"a model with n = {config.Features}, m = {config.Hidden}"), Check.Inv($"n = {model.Features}, m = {model.Hidden}"));
            return new TmsSetup(config, seed, model, inputs, config.Importance());
        }
    }

    /// <summary>A (step, loss) pair.</summary>
    public sealed class LossPoint
    {
        internal LossPoint(int step, double loss)
        {
            Step = step;
            Loss = loss;
        }

        /// <summary>Optimiser steps taken.</summary>
        public int Step { get; }

        /// <summary>Loss at that point.</summary>
        public double Loss { get; }
    }

    /// <summary>A loss value and its gradient with respect to θ.</summary>
    public sealed class LossGradient
    {
        internal LossGradient(double loss, double[] gradient)
        {
            Loss = loss;
            _gradient = gradient;
            Gradient = ReadOnly.View(gradient);
        }

        private readonly double[] _gradient;

        /// <summary>The loss.</summary>
        public double Loss { get; }

        /// <summary>∂loss/∂θ (length P, layout order).</summary>
        public IReadOnlyList<double> Gradient { get; }
    }

    /// <summary>The outcome of TMS training.</summary>
    public sealed class TmsTrainingResult
    {
        internal TmsTrainingResult(TmsSetup setup, TmsModel model, IReadOnlyList<LossPoint> losses, TrainingDivergence? divergence)
        {
            Setup = setup;
            Model = model;
            Losses = ReadOnly.Copy(losses);
            Divergence = divergence;
        }

        /// <summary>Null when training ran every step; otherwise where it diverged (training stopped there and kept the model of the step before).</summary>
        public TrainingDivergence? Divergence { get; }

        /// <summary>The setup that was trained.</summary>
        public TmsSetup Setup { get; }

        /// <summary>The trained model.</summary>
        public TmsModel Model { get; }

        /// <summary>The loss at step 0, every logged step and the last step (after a divergence: the step whose model was kept).</summary>
        public IReadOnlyList<LossPoint> Losses { get; }

        /// <summary>Loss before training.</summary>
        public double InitialLoss => Losses[0].Loss;

        /// <summary>Loss after training (of the model kept).</summary>
        public double FinalLoss => Losses[^1].Loss;

        /// <summary>#{i : (WᵀW)_ii ≥ threshold}: the features the model reconstructs (paper: threshold 0.75).</summary>
        /// <param name="threshold">Threshold (default 0.75).</param>
        /// <returns>The count.</returns>
        public int ReconstructedFeatures(double threshold = 0.75) => Metrics.TmsFeatures.ReconstructedCount(Model.W, threshold);
    }

    /// <summary>Options of <see cref="TmsTraining.Train"/>. Every member has a documented default.</summary>
    public sealed record TmsTrainingOptions
    {
        /// <summary>Record the loss every this many steps (default 100; step 0 and the last step are always recorded).</summary>
        public int LogEvery { get; init; } = 100;

        /// <summary>Number of Adam steps, overriding <see cref="TmsConfig.Steps"/> (default null: the config's).</summary>
        public int? Steps { get; init; }

        /// <summary>Optional progress sink (stage "train tms …", units = steps; default none).</summary>
        public IProgress<EntkProgress>? Progress { get; init; }
    }

    /// <summary>Training of the TMS model: importance-weighted MSE, full-batch Adam, float64.</summary>
    public static class TmsTraining
    {
        /// <summary>Loss = mean over the D × n entries of I_i (f_i(x) − x_i)².</summary>
        /// <param name="model">Model.</param>
        /// <param name="inputs">Dataset D × n.</param>
        /// <param name="importance">I_i, length n.</param>
        /// <returns>The loss.</returns>
        public static double Loss(TmsModel model, Matrix inputs, IReadOnlyList<double> importance) => LossAndGradient(model, inputs, importance).Loss;

        /// <summary>The loss and its gradient by autograd.</summary>
        /// <param name="model">Model.</param>
        /// <param name="inputs">Dataset D × n.</param>
        /// <param name="importance">I_i, length n.</param>
        /// <returns>Loss and ∂loss/∂θ.</returns>
        public static LossGradient LossAndGradient(TmsModel model, Matrix inputs, IReadOnlyList<double> importance)
        {
            Check.NotNull(model, nameof(model));
            model.ValidateInputs(inputs, nameof(inputs));
            var imp = ValidateImportance(importance, model.Features);
            using var scope = torch.NewDisposeScope();
            using var grad = torch.enable_grad();
            var w = TorchOps.ToTensor(model.W).clone().requires_grad_(true);
            var b = TorchOps.ToTensor(model.B.ToArray(), model.Features).clone().requires_grad_(true);
            var x = TorchOps.ToTensor(inputs);
            var loss = LossTensor(w, b, x, TorchOps.ToTensor(imp, imp.Length));
            loss.backward();
            var g = TorchOps.ToArray(w.grad!).Concat(TorchOps.ToArray(b.grad!)).ToArray();
            return new LossGradient(loss.item<double>(), g);
        }

        private static double[] ValidateImportance(IReadOnlyList<double> importance, int n)
        {
            Check.NotNull(importance, nameof(importance));
            if (importance.Count != n) throw new ShapeMismatchException(nameof(importance), Check.Inv($"[{n}]"), Check.Inv($"[{importance.Count}]"));
            var a = importance.ToArray();
            Check.AllFinite(a, nameof(importance));
            return a;
        }

        private static Tensor LossTensor(Tensor w, Tensor b, Tensor x, Tensor imp)
        {
            using Scalar one = 1, minusOne = -1;
            return LossTensor(w, b, x, imp, one, minusOne);
        }

        private static Tensor LossTensor(Tensor w, Tensor b, Tensor x, Tensor imp, Scalar one, Scalar minusOne)
        {
            // Explicit alpha (held by the caller for the whole loop): `a + b` and `a - b` pass a temporary alpha Scalar that
            // the garbage collector can finalise while the native call reads it.
            var h = x.mm(w.t());
            var y = torch.nn.functional.relu(h.mm(w).add(b, one));
            var diff = y.add(x, minusOne);      // y + (−1)·x = y − x exactly
            return imp.mul(diff).mul(diff).mean();
        }

        /// <summary>What to change when the plan of a TMS set-up or training does not fit (library wording).</summary>
        internal const string Alternatives = "Use fewer features (Features), samples (Samples) or a smaller hidden dimension (Hidden).";

        /// <summary>
        /// The arrays a TMS set-up and its training allocate (sizes from the settings): the dataset D × n (set-up temporaries,
        /// the managed copy, the tensor and the forward/backward temporaries of the same size), the hidden activations D × m, and
        /// the weights with their gradients and Adam moments. <see cref="TmsSetup.Create"/> and <see cref="Train"/> check it
        /// against <see cref="MemoryBudget.DefaultBytes"/> before allocating.
        /// </summary>
        /// <param name="config">Settings (validated).</param>
        /// <returns>The plan.</returns>
        public static MemoryPlan Plan(TmsConfig config)
        {
            Check.NotNull(config, nameof(config));
            config.Validate();
            long n = config.Features, m = config.Hidden, d = config.Samples;
            return MemoryPlan.Empty
                .Add(Check.Inv($"dataset D × n = {d} × {n}"), "Samples, Features", 12, d, n)
                .Add(Check.Inv($"hidden activations D × m = {d} × {m}"), "Samples, Hidden", 4, d, m)
                .Add(Check.Inv($"weights m × n = {m} × {n}"), "Hidden, Features", 10, m, n)
                .Add(Check.Inv($"bias and importances n = {n}"), "Features", 12, n);
        }

        /// <summary>
        /// Trains the setup's model with full-batch Adam (lr from the config, betas (0.9, 0.999), eps 1e-8,
        /// no weight decay) for config.Steps steps, in float64. Deterministic: the same setup gives
        /// bit-identical weights on the same machine.
        /// Every step's loss passes <see cref="DivergenceCheck"/>; at the first that fails, training stops and keeps the model
        /// of the step before (<see cref="TmsTrainingResult.Divergence"/> says where and why).
        /// Runs on one libtorch thread (the caller's thread count is restored afterwards): the tensors are tiny, and
        /// two OpenMP threads on a busy machine were 10–30× slower.
        /// </summary>
        /// <param name="setup">Setup.</param>
        /// <param name="options">Options (default: loss every 100 steps, the config's step count, no progress reporting).</param>
        /// <returns>The trained model and loss history.</returns>
        /// <exception cref="EntkArgumentException">LogEvery ≤ 0 or Steps &lt; 0.</exception>
        /// <exception cref="MemoryBudgetExceededException">The training buffers would exceed the memory budget (checked before allocating).</exception>
        public static TmsTrainingResult Train(TmsSetup setup, TmsTrainingOptions? options = null)
        {
            Check.NotNull(setup, nameof(setup));
            var o = options ?? new TmsTrainingOptions();
            int logEvery = Check.Positive(o.LogEvery, "options.LogEvery");
            int total = o.Steps ?? setup.Config.Steps;
            Check.NonNegative(total, "options.Steps");
            var progress = o.Progress;
            Plan(setup.Config).Require("the TMS training of " + setup.Config.Name, alternatives: Alternatives);
            var model = setup.InitialModel;
            using var scope = torch.NewDisposeScope();
            using var threads = TorchThreads.ForSmallOperations();   // tiny tensors: one thread is faster and never oversubscribes
            var w = TorchOps.ToTensor(model.W).clone().requires_grad_(true);
            var b = TorchOps.ToTensor(model.B.ToArray(), model.Features).clone().requires_grad_(true);
            var goodW = w.detach().clone();
            var goodB = b.detach().clone();
            var x = TorchOps.ToTensor(setup.Inputs);
            var imp = TorchOps.ToTensor(setup.Importance.ToArray(), model.Features);
            var opt = new AdamOptimizer(new[] { w, b }, setup.Config.LearningRate);
            var losses = new List<LossPoint>();
            TrainingDivergence? divergence = null;
            double initial = double.NaN, previous = double.NaN;
            string stage = "train tms " + setup.Config.Name;
            progress?.Report(new EntkProgress(stage, 0, total));
            using Scalar one = 1, minusOne = -1;
            using (torch.enable_grad())
            {
                for (int step = 0; step <= total; step++)
                {
                    using var inner = torch.NewDisposeScope();
                    var loss = LossTensor(w, b, x, imp, one, minusOne);
                    double l = loss.item<double>();
                    if (step == 0) initial = l;
                    divergence = DivergenceCheck.Test(step, l, initial, "step");
                    if (divergence is not null)
                    {
                        // keep the model of the step before (its loss passed); record that step's loss last
                        using (torch.no_grad())
                        {
                            w.copy_(goodW);
                            b.copy_(goodB);
                        }
                        int kept = divergence.KeptStep;
                        double keptLoss = step == 0 ? l : previous;
                        if (losses.Count == 0 || losses[^1].Step != kept) losses.Add(new LossPoint(kept, keptLoss));
                        break;
                    }
                    if (step % logEvery == 0 || step == total) losses.Add(new LossPoint(step, l));
                    if (step == total) break;
                    previous = l;
                    using (torch.no_grad())
                    {
                        goodW.copy_(w);
                        goodB.copy_(b);
                    }
                    opt.ZeroGrad();
                    loss.backward();
                    opt.Step();
                    if (progress is not null && ((step + 1) % 50 == 0 || step + 1 == total)) progress.Report(new EntkProgress(stage, step + 1, total));
                }
            }
            if (divergence is not null) progress?.Report(new EntkProgress(stage, total, total));
            var trained = TmsModel.FromWeights(TorchOps.ToMatrix(w.detach()), TorchOps.ToArray(b.detach()));
            return new TmsTrainingResult(setup, trained, losses, divergence);
        }
    }
}

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
    /// <summary>The outcome of <see cref="MseGradientDescent.Train"/>.</summary>
    public sealed class MseGradientDescentResult
    {
        internal MseGradientDescentResult(FunctionalModel model, int[] steps, double[] losses, Matrix[] predictions)
        {
            Model = model;
            RecordedSteps = Array.AsReadOnly(steps);
            Losses = Array.AsReadOnly(losses);
            Predictions = Array.AsReadOnly(predictions);
        }

        /// <summary>The model after the last step.</summary>
        public FunctionalModel Model { get; }

        /// <summary>The steps at which losses and predictions were recorded (ascending).</summary>
        public IReadOnlyList<int> RecordedSteps { get; }

        /// <summary>L(θ) = (1/(2·N·C))·Σ(f − Y)² at each recorded step.</summary>
        public IReadOnlyList<double> Losses { get; }

        /// <summary>f on the evaluation inputs at each recorded step (empty when none were given).</summary>
        public IReadOnlyList<Matrix> Predictions { get; }
    }

    /// <summary>Options of <see cref="MseGradientDescent.Train"/>. Every member has a documented default.</summary>
    public sealed record MseGradientDescentOptions
    {
        /// <summary>Optional inputs (M × D) on which f is recorded at every recorded step (default none).</summary>
        public Matrix? EvaluationInputs { get; init; }

        /// <summary>Optional progress sink (stage "gradient descent"; default none).</summary>
        public IProgress<EntkProgress>? Progress { get; init; }
    }

    /// <summary>
    /// Plain full-batch gradient descent θ ← θ − η·∇L on L(θ) = (1/(2·N·C))·Σ_{n,c}(f_c(x_n; θ) − Y_nc)² for any
    /// <see cref="FunctionalModel"/> (the neural-tangents normalisation that <see cref="Linearization.GradientDescentMse"/>
    /// predicts in closed form), in float64, deterministic. For checking linearised dynamics against real training.
    /// </summary>
    public static class MseGradientDescent
    {
        /// <summary>Trains and records the loss (and optionally predictions) at the given steps.</summary>
        /// <param name="model">The model at θ₀ (not changed).</param>
        /// <param name="x">Training inputs, N × D.</param>
        /// <param name="y">Targets, N × C.</param>
        /// <param name="learningRate">η &gt; 0.</param>
        /// <param name="recordSteps">Steps (≥ 0) at which to record; the run lasts max(recordSteps) steps.</param>
        /// <param name="options">Options (evaluation inputs, progress).</param>
        /// <returns>The trained model and the records.</returns>
        /// <exception cref="ShapeMismatchException">Inputs or targets of the wrong shape.</exception>
        /// <exception cref="EntkArgumentException">η not positive, no record steps or a negative one.</exception>
        /// <exception cref="InvalidOperationException">The loss became non-finite (diverged).</exception>
        public static MseGradientDescentResult Train(FunctionalModel model, Matrix x, Matrix y, double learningRate, IReadOnlyList<int> recordSteps,
            MseGradientDescentOptions? options = null)
        {
            var evaluationInputs = options?.EvaluationInputs;
            var progress = options?.Progress;
            Check.NotNull(model, nameof(model));
            model.ValidateInputs(x, nameof(x));
            Check.NotNull(y, nameof(y));
            if (y.Rows != x.Rows || y.Columns != model.OutputDimension)
                throw new ShapeMismatchException(nameof(y), Check.Inv($"[{x.Rows}, {model.OutputDimension}]"), Check.Shape(y.Rows, y.Columns));
            Check.AllFinite(y.Span, nameof(y), y.Columns);
            Check.PositiveFinite(learningRate, nameof(learningRate));
            Check.NotNull(recordSteps, nameof(recordSteps));
            if (recordSteps.Count == 0) throw new EntkArgumentException(nameof(recordSteps), "at least one step", "none");
            foreach (var st in recordSteps) Check.NonNegative(st, nameof(recordSteps));
            if (evaluationInputs is not null) model.ValidateInputs(evaluationInputs, nameof(evaluationInputs));
            var steps = recordSteps.Distinct().OrderBy(s => s).ToArray();
            int total = steps[^1];
            double norm = 2.0 * x.Rows * model.OutputDimension;
            var losses = new List<double>();
            var preds = new List<Matrix>();
            using var scope = torch.NewDisposeScope();
            using var threads = TorchThreads.ForSmallOperations();   // many small steps: one thread never oversubscribes
            var xt = TorchOps.ToTensor(x);
            var yt = TorchOps.ToTensor(y);
            var xe = evaluationInputs is null ? null : TorchOps.ToTensor(evaluationInputs);
            double[] theta;
            using (var session = model.OpenSession())
            {
                var leaves = session.Leaves;
                int next = 0;
                for (int step = 0; step <= total; step++)
                {
                    using var inner = torch.NewDisposeScope();
                    Tensor loss;
                    using (torch.enable_grad())
                    {
                        var diff = session.Forward(xt) - yt;
                        loss = (diff * diff).sum() / norm;
                    }
                    if (step == steps[next])
                    {
                        double l = loss.item<double>();
                        if (!double.IsFinite(l)) throw new InvalidOperationException(Check.Inv($"Gradient descent diverged at step {step} (loss {Check.R(l)}); lower the learning rate."));
                        losses.Add(l);
                        if (xe is not null)
                            using (torch.no_grad()) preds.Add(TorchOps.ToMatrix(session.Forward(xe).to(ScalarType.Float64)));
                        next++;
                    }
                    if (step == total) break;
                    var grads = torch.autograd.grad(new[] { loss }, leaves, allow_unused: true);
                    using (torch.no_grad())
                        for (int t = 0; t < leaves.Length; t++)
                            if (grads[t] is Tensor g && !g.IsInvalid) leaves[t].sub_(g * learningRate);
                    if (progress is not null && ((step + 1) % 50 == 0 || step + 1 == total)) progress.Report(new EntkProgress("gradient descent", step + 1, total));
                }
                theta = leaves.SelectMany(l => TorchOps.ToArray(l.detach().reshape(-1))).ToArray();
            }
            return new MseGradientDescentResult(model.WithParameters(theta), steps, losses.ToArray(), preds.ToArray());
        }
    }
}

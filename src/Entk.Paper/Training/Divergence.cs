using System;
using Entk.Internal;

namespace Entk.Training
{
    /// <summary>
    /// How a training run diverged: the first step whose loss was non-finite or more than
    /// <see cref="DivergenceCheck.ExplosionFactor"/> times the initial loss. Training stops there and keeps the model of
    /// the step before (<see cref="KeptStep"/>), whose loss passed the check; results computed from it describe a model that
    /// failed to train, so the experiments mark their claims "not evaluated".
    /// </summary>
    public sealed class TrainingDivergence
    {
        internal TrainingDivergence(int step, double loss, double initialLoss, string unit, int? keptStep = null)
        {
            _kept = keptStep;
            Step = step;
            Loss = loss;
            InitialLoss = initialLoss;
            Unit = unit;
        }

        private readonly int? _kept;

        /// <summary>The step (TMS) or epoch (MLP, Transformer) whose loss failed the check.</summary>
        public int Step { get; }

        /// <summary>That loss (NaN, ±∞ or a finite value above the limit).</summary>
        public double Loss { get; }

        /// <summary>The loss before training.</summary>
        public double InitialLoss { get; }

        /// <summary>"step" or "epoch".</summary>
        public string Unit { get; }

        /// <summary>
        /// The step whose model training kept: <see cref="Step"/> − 1 (or 0) for TMS and the MLP, which check every step; the
        /// last checkpoint before <see cref="Step"/> for the Transformer, which checks the full-batch loss at its checkpoints.
        /// </summary>
        public int KeptStep => _kept ?? Math.Max(0, Step - 1);

        /// <summary>Why the loss failed the check, in words.</summary>
        public string Reason => double.IsFinite(Loss)
            ? Check.Inv($"loss {Loss:G3} is more than 10⁴ × the initial loss {InitialLoss:G3}")
            : Check.Inv($"loss is {Check.R(Loss)}");

        /// <summary>Where training diverged, in a few words (e.g. "training diverged at step 3").</summary>
        public string Short => Check.Inv($"training diverged at {Unit} {Step}");

        /// <summary>One sentence: where and why training stopped, and which model it kept.</summary>
        /// <returns>Text.</returns>
        public override string ToString() => Check.Inv($"training diverged at {Unit} {Step} ({Reason}); stopped there and kept the model of {Unit} {KeptStep}");
    }

    /// <summary>
    /// The divergence check the training loops share (<see cref="TmsTraining.Train"/>, <see cref="MlpTraining.Train"/>, and
    /// <see cref="TransformerTraining.Train"/> at its checkpoints): at every step the loss must be finite and at most <see cref="ExplosionFactor"/> times the loss before training (when that
    /// is positive).
    /// </summary>
    public static class DivergenceCheck
    {
        /// <summary>The largest allowed ratio of a step's loss to the initial loss (10⁴).</summary>
        public const double ExplosionFactor = 1e4;

        /// <summary>Checks one step's loss.</summary>
        /// <param name="step">The step (or epoch).</param>
        /// <param name="loss">Its loss.</param>
        /// <param name="initialLoss">The loss before training (step 0).</param>
        /// <param name="unit">"step" or "epoch" (for messages).</param>
        /// <returns>Null when the loss passes; otherwise the divergence.</returns>
        public static TrainingDivergence? Test(int step, double loss, double initialLoss, string unit = "step") => Test(step, loss, initialLoss, unit, null);

        internal static TrainingDivergence? Test(int step, double loss, double initialLoss, string unit, int? keptStep)
        {
            Check.NotNull(unit, nameof(unit));
            if (!double.IsFinite(loss)) return new TrainingDivergence(step, loss, initialLoss, unit, keptStep);
            if (initialLoss > 0 && double.IsFinite(initialLoss) && loss > ExplosionFactor * initialLoss) return new TrainingDivergence(step, loss, initialLoss, unit, keptStep);
            return null;
        }
    }
}

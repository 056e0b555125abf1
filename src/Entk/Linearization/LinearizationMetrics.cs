using System;
using Entk.Internal;

namespace Entk.Linearization
{
    /// <summary>
    /// How well a linearised predictor f_lin matches the network f and the targets Y on a set of M samples
    /// (docs/paper-notes.md §1.9, the author's <c>metrics.loss_acc_gap</c> and <c>metrics.r2_score</c>). All three
    /// matrices are M × C.
    /// </summary>
    public sealed class LinearizationScore
    {
        internal LinearizationScore(double linearizedMse, double modelMse, int linearizedHits, int modelHits, int samples, double r2)
        {
            _gap = 100.0 * (modelHits - linearizedHits) / samples;
            double linearizedAccuracy = (double)linearizedHits / samples, modelAccuracy = (double)modelHits / samples;
            LinearizedMse = linearizedMse;
            ModelMse = modelMse;
            LinearizedAccuracy = linearizedAccuracy;
            ModelAccuracy = modelAccuracy;
            R2 = r2;
        }

        /// <summary>MSE(f_lin, Y) = (1/(M·C)) Σ_{n,c} (f_lin − Y)², unweighted (PyTorch <c>mse_loss</c>).</summary>
        public double LinearizedMse { get; }

        /// <summary>MSE(f, Y), same definition.</summary>
        public double ModelMse { get; }

        /// <summary>Loss ratio = MSE(f_lin, Y) / MSE(f, Y) (below 1: the linearisation fits Y better than the network). +∞ when MSE(f, Y) = 0 &lt; MSE(f_lin, Y), NaN when both are 0.</summary>
        public double LossRatio => LinearizedMse / ModelMse;

        /// <summary>Accuracy of f_lin: the fraction of samples n with argmax_c f_lin[n, c] = argmax_c Y[n, c] (ties: the first maximal index, as <c>torch.argmax</c>).</summary>
        public double LinearizedAccuracy { get; }

        /// <summary>Accuracy of f, same definition.</summary>
        public double ModelAccuracy { get; }

        /// <summary>Accuracy gap in percentage points = 100·(accuracy(f) − accuracy(f_lin)) (the author's sign: positive when the linearisation is less accurate).</summary>
        public double AccuracyGapPercentagePoints => _gap;

        private readonly double _gap;

        /// <summary>
        /// R² = 1 − Σ_{n,c}(f_lin − f)² / Σ_{n,c}(f − mean(f))², the mean taken over all M·C entries of f (a global mean).
        /// 1 = f_lin reproduces f exactly; 0 = no better than the constant mean(f). −∞/NaN when f is constant.
        /// </summary>
        public double R2 { get; }

        /// <inheritdoc />
        public override string ToString() => Check.Inv($"loss ratio {LossRatio:G4}, accuracy gap {AccuracyGapPercentagePoints:G3} pp, R² {R2:G4}");
    }

    /// <summary>The metrics of docs/paper-notes.md §1.9 (see <see cref="LinearizationScore"/> for the exact definitions).</summary>
    public static class LinearizationMetrics
    {
        /// <summary>Scores a linearised predictor against the network and the targets.</summary>
        /// <param name="linearized">f_lin on the evaluation samples, M × C.</param>
        /// <param name="model">f on the same samples, M × C.</param>
        /// <param name="targets">Y on the same samples, M × C.</param>
        /// <returns>The score.</returns>
        /// <exception cref="ShapeMismatchException">The matrices differ in shape.</exception>
        /// <exception cref="EntkArgumentException">An empty matrix.</exception>
        /// <exception cref="NonFiniteValueException">A value is NaN or ±∞.</exception>
        public static LinearizationScore Score(Matrix linearized, Matrix model, Matrix targets)
        {
            Check.NotNull(linearized, nameof(linearized));
            Check.NotNull(model, nameof(model));
            Check.NotNull(targets, nameof(targets));
            if (targets.Rows == 0 || targets.Columns == 0) throw new EntkArgumentException(nameof(targets), "a non-empty matrix", Check.Shape(targets.Rows, targets.Columns));
            foreach (var (m, name) in new[] { (linearized, nameof(linearized)), (model, nameof(model)) })
                if (m.Rows != targets.Rows || m.Columns != targets.Columns)
                    throw new ShapeMismatchException(name, Check.Shape(targets.Rows, targets.Columns) + " (the shape of targets)", Check.Shape(m.Rows, m.Columns));
            Check.AllFinite(linearized.Span, nameof(linearized), linearized.Columns);
            Check.AllFinite(model.Span, nameof(model), model.Columns);
            Check.AllFinite(targets.Span, nameof(targets), targets.Columns);
            var fl = linearized.Span;
            var f = model.Span;
            var y = targets.Span;
            int rows = targets.Rows, cols = targets.Columns;
            double sLin = 0, sModel = 0, sDiff = 0, mean = 0;
            for (int i = 0; i < f.Length; i++)
            {
                sLin += (fl[i] - y[i]) * (fl[i] - y[i]);
                sModel += (f[i] - y[i]) * (f[i] - y[i]);
                sDiff += (fl[i] - f[i]) * (fl[i] - f[i]);
                mean += f[i];
            }
            mean /= f.Length;
            double sTot = 0;
            for (int i = 0; i < f.Length; i++) sTot += (f[i] - mean) * (f[i] - mean);
            int hitLin = 0, hitModel = 0;
            for (int r = 0; r < rows; r++)
            {
                int label = ArgMax(y.Slice(r * cols, cols));
                if (ArgMax(fl.Slice(r * cols, cols)) == label) hitLin++;
                if (ArgMax(f.Slice(r * cols, cols)) == label) hitModel++;
            }
            return new LinearizationScore(sLin / f.Length, sModel / f.Length, hitLin, hitModel, rows, 1 - sDiff / sTot);
        }

        /// <summary>The first index of the maximum (torch.argmax convention).</summary>
        internal static int ArgMax(ReadOnlySpan<double> v)
        {
            int best = 0;
            for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
            return best;
        }
    }
}

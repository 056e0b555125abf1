using System;
using System.Collections.Generic;
using System.Linq;
using Entk.Internal;

namespace Entk.Metrics
{
    /// <summary>
    /// The TMS eigenvector–feature-indicator heatmap (docs/paper-notes.md §1.6 a) and its scores. Rows are features
    /// a = 0..C−1, columns eigenvectors i = 0..k−1. Immutable.
    /// </summary>
    public sealed class TmsHeatmap
    {
        internal TmsHeatmap(Matrix cosines, Matrix normalized)
        {
            Cosines = cosines;
            Normalized = normalized;
            int c = cosines.Rows, k = cosines.Columns;
            var s = cosines.Span;

            double sumMax = 0;
            for (int a = 0; a < c; a++)
            {
                double mx = 0;
                for (int i = 0; i < k; i++) mx = Math.Max(mx, s[a * k + i]);
                sumMax += mx;
            }
            Mmcs = sumMax / c;

            var best = new int[k];
            for (int i = 0; i < k; i++)
            {
                int bi = -1;
                double bv = 0;
                for (int a = 0; a < c; a++)
                    if (s[a * k + i] > bv) { bv = s[a * k + i]; bi = a; }
                best[i] = bi;
            }
            BestFeature = Array.AsReadOnly(best);
            DiagonalFeatures = Array.AsReadOnly(Enumerable.Range(0, Math.Min(c, k)).Where(i => best[i] == i).ToArray());

            Assignment = LinearAssignment.Maximize(cosines);
        }

        /// <summary>H[a, i] = |cos(indicator of feature a, eigenvector i)| (steps 1–4), C × k, before column normalisation.</summary>
        public Matrix Cosines { get; }

        /// <summary>H with every column divided by (its L2 norm + 1e-10) (step 5), C × k: the plotted heatmap.</summary>
        public Matrix Normalized { get; }

        /// <summary>Number of features C.</summary>
        public int FeatureCount => Cosines.Rows;

        /// <summary>Number of eigenvectors k.</summary>
        public int VectorCount => Cosines.Columns;

        /// <summary>Mean max cosine similarity: mean over features a of max_i Cosines[a, i].</summary>
        public double Mmcs { get; }

        /// <summary>
        /// The optimal one-to-one matching features (rows) ↔ eigenvectors (columns) maximising the total
        /// |cos| (Hungarian algorithm); min(C, k) pairs.
        /// </summary>
        public AssignmentResult Assignment { get; }

        /// <summary>Mean |cos| (Cosines) over the min(C, k) matched pairs of <see cref="Assignment"/>.</summary>
        public double MatchedScore => Assignment.Mean;

        /// <summary>
        /// For each eigenvector i, the feature with the largest value in column i (first on ties; equal for
        /// Cosines and Normalized), or −1 when the column is all zeros.
        /// </summary>
        public IReadOnlyList<int> BestFeature { get; }

        /// <summary>The indices i &lt; min(C, k) whose column's argmax is feature i, ascending.</summary>
        public IReadOnlyList<int> DiagonalFeatures { get; }

        /// <summary>Number of <see cref="DiagonalFeatures"/>.</summary>
        public int DiagonalCount => DiagonalFeatures.Count;
    }

    /// <summary>
    /// Ground-truth features of Toy Models of Superposition for the flattened, channel-major eNTK
    /// (docs/paper-notes.md §1.5, §1.6 a, §2.1.4).
    /// </summary>
    /// <remarks>
    /// Inputs are D samples × C features (one sample per row). The flattened kernel has N·C rows,
    /// N = D, in channel-major ("class-major") order: row r = c·N + sample.
    /// </remarks>
    public static class TmsFeatures
    {
        /// <summary>
        /// The feature-indicator matrix Z (N·C × C): column a is zero except in block a (rows a·N ..
        /// a·N + N − 1), which holds the data column x[:, a].
        /// </summary>
        /// <param name="inputs">D × C data matrix (rows = samples), non-empty, finite.</param>
        /// <returns>New (D·C) × C matrix (not normalised).</returns>
        /// <exception cref="ArgumentNullException">inputs is null.</exception>
        /// <exception cref="ShapeMismatchException">Empty inputs.</exception>
        /// <exception cref="NonFiniteValueException">NaN or ±Infinity.</exception>
        public static Matrix Indicators(Matrix inputs)
        {
            MetricsUtil.NonEmptyFinite(inputs, nameof(inputs));
            int n = inputs.Rows, c = inputs.Columns;
            var x = inputs.Span;
            var z = new double[(long)n * c * c];
            for (int a = 0; a < c; a++)
                for (int s = 0; s < n; s++)
                    z[((long)a * n + s) * c + a] = x[s * c + a];
            return Matrix.Wrap(n * c, c, z);
        }

        /// <summary>
        /// The eigenvector–feature-indicator heatmap exactly per docs/paper-notes.md §1.6 (a): Z columns and
        /// eigenvector columns normalised to unit L2 norm (norm + 1e-10), H = |ZᵀE| (C × k), then every
        /// column of H divided by (its L2 norm + 1e-10).
        /// </summary>
        /// <param name="inputs">D × C data matrix (rows = samples), finite.</param>
        /// <param name="eigenvectors">(D·C) × k eigenvectors of the flattened eNTK, channel-major rows (r = c·D + sample), finite, k ≥ 1.</param>
        /// <returns>The heatmap with <see cref="TmsHeatmap.Cosines"/>, <see cref="TmsHeatmap.Normalized"/> and the scores.</returns>
        /// <exception cref="ArgumentNullException">A null argument.</exception>
        /// <exception cref="ShapeMismatchException">Empty matrices, or eigenvectors.Rows ≠ D·C.</exception>
        /// <exception cref="NonFiniteValueException">NaN or ±Infinity.</exception>
        /// <example>
        /// C#: <c>var h = TmsFeatures.Heatmap(x, spectrum.Vectors); Console.WriteLine(h.DiagonalCount);</c>
        /// F#: <c>let h = TmsFeatures.Heatmap(x, spectrum.Vectors) in h.MatchedScore</c>
        /// </example>
        public static TmsHeatmap Heatmap(Matrix inputs, Matrix eigenvectors)
        {
            MetricsUtil.NonEmptyFinite(inputs, nameof(inputs));
            MetricsUtil.NonEmptyFinite(eigenvectors, nameof(eigenvectors));
            int n = inputs.Rows, c = inputs.Columns, k = eigenvectors.Columns;
            MetricsUtil.Rows(eigenvectors, n * c, nameof(eigenvectors),
                Check.Inv($"Rows must be D·C = {n}·{c} = {n * c} (channel-major flattening of {n} samples × {c} features)."));
            var x = inputs.Span;
            var e = MetricsUtil.NormalizeColumns(eigenvectors, 1e-10).Span;
            var h = new double[(long)c * k];
            for (int a = 0; a < c; a++)
            {
                double norm = 0;
                for (int s = 0; s < n; s++) norm += x[s * c + a] * x[s * c + a];
                norm = Math.Sqrt(norm) + 1e-10;
                for (int s = 0; s < n; s++)
                {
                    double xa = x[s * c + a] / norm;
                    if (xa == 0) continue;
                    int row = (a * n + s) * k;
                    for (int i = 0; i < k; i++) h[a * k + i] += xa * e[row + i];
                }
                for (int i = 0; i < k; i++) h[a * k + i] = Math.Abs(h[a * k + i]);
            }
            var cosines = Matrix.Wrap(c, k, h);
            return new TmsHeatmap(cosines, MetricsUtil.NormalizeColumns(cosines, 1e-10));
        }

        /// <summary>The diagonal of WᵀW: (WᵀW)_ii = ‖W[:, i]‖² for each feature i.</summary>
        /// <param name="w">m × n TMS weight matrix (hidden × features), non-empty, finite.</param>
        /// <returns>New array of length n.</returns>
        /// <exception cref="ArgumentNullException">w is null.</exception>
        /// <exception cref="ShapeMismatchException">Empty matrix.</exception>
        /// <exception cref="NonFiniteValueException">NaN or ±Infinity.</exception>
        public static double[] GramDiagonal(Matrix w)
        {
            MetricsUtil.NonEmptyFinite(w, nameof(w));
            int m = w.Rows, n = w.Columns;
            var s = w.Span;
            var d = new double[n];
            for (int j = 0; j < m; j++)
                for (int i = 0; i < n; i++)
                    d[i] += s[j * n + i] * s[j * n + i];
            return d;
        }

        /// <summary>
        /// The number of features the model reconstructs: #{i : (WᵀW)_ii ≥ threshold} (docs/paper-notes.md §2.1.4;
        /// the author's runs: 21, 10, 42 for (m, S) = (10, 0.9), (10, 0.3), (40, 0.9)).
        /// </summary>
        /// <param name="w">m × n TMS weight matrix, non-empty, finite.</param>
        /// <param name="threshold">The threshold, finite (default 0.75).</param>
        /// <returns>The count, in [0, n].</returns>
        /// <exception cref="ArgumentNullException">w is null.</exception>
        /// <exception cref="ShapeMismatchException">Empty matrix.</exception>
        /// <exception cref="NonFiniteValueException">NaN or ±Infinity in w or threshold.</exception>
        public static int ReconstructedCount(Matrix w, double threshold = 0.75)
        {
            Check.Finite(threshold, nameof(threshold));
            return GramDiagonal(w).Count(v => v >= threshold);
        }
    }
}

using System;
using System.Collections.Generic;
using Entk.Internal;
using Entk.Linalg;

namespace Entk.Metrics
{
    /// <summary>The result of a Laplacian rotation of a cliff. Immutable.</summary>
    public sealed class RotationResult
    {
        internal RotationResult(Matrix rotated, double[] stage1, double[] stage2, TorusLaplacianKind kind1, TorusLaplacianKind? kind2)
        {
            Rotated = rotated;
            Stage1Energies = Array.AsReadOnly(stage1);
            Stage2Energies = Array.AsReadOnly(stage2);
            Stage1Kind = kind1;
            Stage2Kind = kind2;
        }

        /// <summary>
        /// The rotated basis U, N × k, orthonormal columns spanning the same space as the cliff.
        /// Two-stage: columns 0..k/2−1 = Q2 (the k/2 smallest-L1-energy directions re-diagonalised by L2,
        /// ascending L2 energy), columns k/2..k−1 = Q1[:, k/2:] (ascending L1 energy).
        /// Single-stage: Q1, ascending L1 energy. Column signs are arbitrary.
        /// </summary>
        public Matrix Rotated { get; }

        /// <summary>Eigenvalues of A = QᵀL1Q, ascending (length k): the L1 energies of the columns of Q1.</summary>
        public IReadOnlyList<double> Stage1Energies { get; }

        /// <summary>Eigenvalues of B = Q1aᵀL2Q1a, ascending (length k/2; empty for a single-stage rotation): the L2 energies of columns 0..k/2−1 of <see cref="Rotated"/>.</summary>
        public IReadOnlyList<double> Stage2Energies { get; }

        /// <summary>The first-stage Laplacian.</summary>
        public TorusLaplacianKind Stage1Kind { get; }

        /// <summary>The second-stage Laplacian, or null for a single-stage rotation.</summary>
        public TorusLaplacianKind? Stage2Kind { get; }

        /// <summary>Number of columns k.</summary>
        public int Count => Rotated.Columns;
    }

    /// <summary>
    /// Graph-smoothness rotation of a (near-)degenerate cliff on the p × p torus (docs/paper-notes.md §1.7), which
    /// separates the Fourier modes mixed arbitrarily by the eigensolver.
    /// </summary>
    /// <remarks>
    /// Two-stage (input cliff C ∈ R^{N×k}, k even; Laplacians L1, L2):
    /// 1. Q = reduced-QR orthonormal basis of span(C) (N × k);
    /// 2. A = QᵀL1Q, eigh (ascending) → V1; Q1 = Q V1;
    /// 3. Q1a = Q1[:, :k/2] (smallest L1 energy); B = Q1aᵀL2Q1a, eigh (ascending) → V2; Q2 = Q1a V2;
    /// 4. U = [Q2 | Q1[:, k/2:]].
    /// A and B are symmetrised as (M + Mᵀ)/2 before eigh (they are symmetric in exact arithmetic, so this
    /// only removes rounding). The Laplacians are applied matrix-free. Float64 throughout.
    /// Uses: MLP first cliff with (L_n, L_m) → columns 0..k/2−1 are m-modes, the rest n-modes; second
    /// cliff with (L_sum, L_diff) → diff-modes then sum-modes.
    /// </remarks>
    /// <example>
    /// C#: <c>var r = CliffRotation.TwoStage(cliff, TorusLaplacian.Create(TorusLaplacianKind.N, 29), TorusLaplacian.Create(TorusLaplacianKind.M, 29));</c>
    /// F#: <c>let r = CliffRotation.SingleStage(cliff, TorusLaplacian.Create(TorusLaplacianKind.Sum, 29))</c>
    /// </example>
    public static class CliffRotation
    {
        /// <summary>The two-stage rotation.</summary>
        /// <param name="cliff">N × k cliff (N = p², k even, 2 ≤ k ≤ N), finite, linearly independent columns.</param>
        /// <param name="l1">First-stage Laplacian (modulus p).</param>
        /// <param name="l2">Second-stage Laplacian (same modulus).</param>
        /// <returns>The rotated basis and the stage energies.</returns>
        /// <exception cref="ArgumentNullException">A null argument.</exception>
        /// <exception cref="ShapeMismatchException">cliff is empty, has Rows ≠ p², or more columns than rows.</exception>
        /// <exception cref="NonFiniteValueException">cliff contains NaN or ±Infinity.</exception>
        /// <exception cref="EntkArgumentException">Odd k, linearly dependent columns, or Laplacians of different moduli.</exception>
        public static RotationResult TwoStage(Matrix cliff, TorusLaplacian l1, TorusLaplacian l2)
        {
            Check.NotNull(l1, nameof(l1));
            Check.NotNull(l2, nameof(l2));
            if (l2.Modulus != l1.Modulus)
                throw new EntkArgumentException(nameof(l2), Check.Inv($"a Laplacian with modulus p = {l1.Modulus} (as l1)"), Check.Inv($"p = {l2.Modulus}"));
            Validate(cliff, l1);
            if (cliff.Columns % 2 != 0)
                throw new EntkArgumentException(nameof(cliff), "an even number of columns k (the two-stage rotation splits the cliff in halves)", Check.Inv($"k = {cliff.Columns} (shape {Check.Shape(cliff.Rows, cliff.Columns)})"));
            int k = cliff.Columns, half = k / 2;
            var q = DenseLinalg.OrthonormalColumns(cliff, nameof(cliff));
            var e1 = DenseLinalg.EighAscending(MetricsUtil.TransposeTimes(q, l1.Apply(q)));
            var q1 = q.Multiply(e1.Vectors);
            var q1a = q1.SliceColumns(0, half);
            var e2 = DenseLinalg.EighAscending(MetricsUtil.TransposeTimes(q1a, l2.Apply(q1a)));
            var q2 = q1a.Multiply(e2.Vectors);
            var u = MetricsUtil.ConcatColumns(q2, q1.SliceColumns(half, k - half));
            return new RotationResult(u, e1.Values, e2.Values, l1.Kind, l2.Kind);
        }

        /// <summary>The single-stage rotation (steps 1–2 only): U = Q1, columns in ascending L energy.</summary>
        /// <param name="cliff">N × k cliff (N = p², 1 ≤ k ≤ N), finite, linearly independent columns.</param>
        /// <param name="l">The Laplacian (modulus p).</param>
        /// <returns>The rotated basis; <see cref="RotationResult.Stage2Energies"/> is empty.</returns>
        /// <exception cref="ArgumentNullException">A null argument.</exception>
        /// <exception cref="ShapeMismatchException">cliff is empty, has Rows ≠ p², or more columns than rows.</exception>
        /// <exception cref="NonFiniteValueException">cliff contains NaN or ±Infinity.</exception>
        /// <exception cref="EntkArgumentException">Linearly dependent columns.</exception>
        public static RotationResult SingleStage(Matrix cliff, TorusLaplacian l)
        {
            Check.NotNull(l, nameof(l));
            Validate(cliff, l);
            var q = DenseLinalg.OrthonormalColumns(cliff, nameof(cliff));
            var e1 = DenseLinalg.EighAscending(MetricsUtil.TransposeTimes(q, l.Apply(q)));
            return new RotationResult(q.Multiply(e1.Vectors), e1.Values, Array.Empty<double>(), l.Kind, null);
        }

        private static void Validate(Matrix cliff, TorusLaplacian l)
        {
            MetricsUtil.NonEmptyFinite(cliff, nameof(cliff));
            MetricsUtil.Rows(cliff, l.Dimension, nameof(cliff), Check.Inv($"Rows must be p² = {l.Dimension} (Laplacian p = {l.Modulus})."));
            MetricsUtil.Tall(cliff, nameof(cliff));
        }
    }
}

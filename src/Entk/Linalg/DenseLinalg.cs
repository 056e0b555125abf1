using System;
using Entk.Internal;
using Entk.Linalg.Providers;

namespace Entk.Linalg
{
    /// <summary>Eigenpairs of a small symmetric matrix, eigenvalues ascending (internal helper result).</summary>
    internal sealed class AscendingEigen
    {
        public AscendingEigen(double[] values, Matrix vectors)
        {
            Values = values;
            Vectors = vectors;
        }

        public double[] Values { get; }

        public Matrix Vectors { get; }
    }

    /// <summary>
    /// Float64 QR / SVD / symmetric eigen helpers for the metrics, run by the backend <see cref="LinearAlgebraControl"/>
    /// chooses. Callers validate shapes and finiteness in managed code before calling (some native entry points abort the
    /// process on bad shapes); the rank decisions are made here, identically for every backend.
    /// </summary>
    internal static class DenseLinalg
    {
        /// <summary>Relative tolerance on |R_ii| (QR) or σ_i (SVD) below which a direction counts as numerically absent.</summary>
        public const double RankTolerance = 1e-10;

        /// <summary>
        /// Reduced-QR orthonormal basis Q (Rows × Columns) of the column space of <paramref name="a"/>.
        /// Requires Rows ≥ Columns ≥ 1 (checked by the caller). Throws when the columns are linearly
        /// dependent (min |R_ii| ≤ 1e-10 · max |R_ii|), because the reduced Q would then contain
        /// directions that are not in the span.
        /// </summary>
        public static Matrix OrthonormalColumns(Matrix a, string name)
        {
            if (a.Rows < a.Columns || a.Columns < 1) throw new InvalidOperationException("internal: OrthonormalColumns needs Rows ≥ Columns ≥ 1");
            var qr = LinearAlgebraControl.ForFactor(a.Rows, a.Columns, "qr").Qr(a);
            var diag = qr.AbsDiagonalR;
            double max = 0, min = double.PositiveInfinity;
            int worst = 0;
            for (int i = 0; i < diag.Length; i++)
            {
                max = Math.Max(max, diag[i]);
                if (diag[i] < min) { min = diag[i]; worst = i; }
            }
            if (!(max > 0) || min <= RankTolerance * max)
                throw new EntkArgumentException(name, "linearly independent columns (full column rank)",
                    worst == 0 || !(max > 0)
                        ? Check.Inv($"column {worst} numerically zero (|R[{worst},{worst}]| = {Check.R(min)}, max |R_ii| = {Check.R(max)}, shape {Check.Shape(a.Rows, a.Columns)})")
                        : Check.Inv($"column {worst} (numerically) in the span of columns 0..{worst - 1} (|R[{worst},{worst}]| = {Check.R(min)}, max |R_ii| = {Check.R(max)}, shape {Check.Shape(a.Rows, a.Columns)})"));
            return qr.Q;
        }

        /// <summary>
        /// Orthonormal basis of the column space of <paramref name="a"/> from a thin SVD: the left singular
        /// vectors whose singular value exceeds 1e-10 · σ_max (N × r, r = numerical rank, possibly 0).
        /// For a full-rank matrix this spans the same space as the reduced-QR factor.
        /// </summary>
        public static Matrix RangeBasis(Matrix a)
        {
            if (a.Rows == 0 || a.Columns == 0) return Matrix.Zeros(a.Rows, 0);
            var svd = LinearAlgebraControl.ForFactor(a.Rows, a.Columns, "svd").Svd(a);
            var sv = svd.S;
            double smax = sv.Length == 0 ? 0 : sv[0];
            int rank = 0;
            while (rank < sv.Length && smax > 0 && sv[rank] > RankTolerance * smax) rank++;
            if (rank == 0) return Matrix.Zeros(a.Rows, 0);
            return rank == svd.U.Columns ? svd.U : svd.U.SliceColumns(0, rank);
        }

        /// <summary>Singular values, descending (min(Rows, Columns) of them; empty for an empty matrix).</summary>
        public static double[] SingularValues(Matrix a)
        {
            if (a.Rows == 0 || a.Columns == 0) return Array.Empty<double>();
            return LinearAlgebraControl.ForFactor(a.Rows, a.Columns, "singular values").SingularValues(a);
        }

        /// <summary>Eigendecomposition of a (numerically) symmetric k × k matrix, symmetrised as (A + Aᵀ)/2; eigenvalues ascending.</summary>
        public static AscendingEigen EighAscending(Matrix a)
        {
            if (a.Rows != a.Columns || a.Rows == 0) throw new InvalidOperationException("internal: EighAscending needs a non-empty square matrix");
            int n = a.Rows;
            var e = LinearAlgebraControl.ForEigen(n, "symmetric eigen").SymmetricEigen(SymmetrizedShifted(a, 0), n, vectors: true);
            var values = (double[])e.Values.Clone();
            Array.Reverse(values);
            var v = e.Vectors!.Span;
            var d = new double[(long)n * n];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    d[(long)i * n + j] = v[i * n + (n - 1 - j)];
            return new AscendingEigen(values, Matrix.Wrap(n, n, d));
        }

        /// <summary>(A + Aᵀ)/2 + shift·I as a new matrix (A square).</summary>
        public static Matrix SymmetrizedShifted(Matrix a, double shift)
        {
            int n = a.Rows;
            var s = a.Span;
            var d = new double[(long)n * n];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    d[(long)i * n + j] = (s[i * n + j] + s[j * n + i]) * 0.5;
            if (shift != 0)
                for (int i = 0; i < n; i++) d[(long)i * n + i] += shift;
            return Matrix.Wrap(n, n, d);
        }

        /// <summary>mean(diag A).</summary>
        public static double MeanDiagonal(Matrix a)
        {
            int n = a.Rows;
            var s = a.Span;
            double sum = 0;
            for (int i = 0; i < n; i++) sum += s[i * n + i];
            return sum / n;
        }
    }
}

using System;
using Entk.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Torch
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
    /// Float64 QR / SVD / eigh helpers for the metrics. Callers validate shapes and finiteness in
    /// managed code before calling (some native entry points abort the process on bad shapes).
    /// </summary>
    internal static class TorchLinalg
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
            using var scope = torch.NewDisposeScope();
            var (q, r) = TorchOps.Native("reduced QR", () => torch.linalg.qr(TorchOps.ToTensor(a), torch.linalg.QRMode.Reduced));
            var diag = TorchOps.ToArray(r.diagonal().abs());
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
            return TorchOps.ToMatrix(q);
        }

        /// <summary>
        /// Orthonormal basis of the column space of <paramref name="a"/> from a thin SVD: the left singular
        /// vectors whose singular value exceeds 1e-10 · σ_max (N × r, r = numerical rank, possibly 0).
        /// For a full-rank matrix this spans the same space as the reduced-QR factor.
        /// </summary>
        public static Matrix RangeBasis(Matrix a)
        {
            if (a.Rows == 0 || a.Columns == 0) return Matrix.Zeros(a.Rows, 0);
            using var scope = torch.NewDisposeScope();
            var (u, s, _) = TorchOps.Native("thin SVD", () => torch.linalg.svd(TorchOps.ToTensor(a), fullMatrices: false));
            var sv = TorchOps.ToArray(s);
            double smax = sv.Length == 0 ? 0 : sv[0];
            int rank = 0;
            while (rank < sv.Length && smax > 0 && sv[rank] > RankTolerance * smax) rank++;
            if (rank == 0) return Matrix.Zeros(a.Rows, 0);
            return TorchOps.ToMatrix(u.narrow(1, 0, rank));
        }

        /// <summary>Singular values, descending (min(Rows, Columns) of them; empty for an empty matrix).</summary>
        public static double[] SingularValues(Matrix a)
        {
            if (a.Rows == 0 || a.Columns == 0) return Array.Empty<double>();
            using var scope = torch.NewDisposeScope();
            var s = TorchOps.Native("singular values (svdvals)", () => torch.linalg.svdvals(TorchOps.ToTensor(a)));
            return TorchOps.ToArray(s);
        }

        /// <summary>Eigendecomposition of a (numerically) symmetric k × k matrix, symmetrised as (A + Aᵀ)/2; eigenvalues ascending.</summary>
        public static AscendingEigen EighAscending(Matrix a)
        {
            if (a.Rows != a.Columns || a.Rows == 0) throw new InvalidOperationException("internal: EighAscending needs a non-empty square matrix");
            using var scope = torch.NewDisposeScope();
            var t = TorchOps.ToTensor(a);
            t = (t + t.t()) * 0.5;
            var (vals, vecs) = TorchOps.Native("symmetric eigendecomposition (eigh)", () => torch.linalg.eigh(t));
            return new AscendingEigen(TorchOps.ToArray(vals), TorchOps.ToMatrix(vecs));
        }
    }
}

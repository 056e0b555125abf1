namespace Entk.Linalg.Providers
{
    /// <summary>
    /// The dense float64 routines a linear-algebra backend supplies (internal seam; chosen by <see cref="LinearAlgebraControl"/>).
    /// Callers (<see cref="DenseLinalg"/>, <see cref="SymmetricEigen"/>) validate shapes and finiteness, symmetrise and shift in
    /// managed code first, so a provider may assume well-formed input.
    /// </summary>
    internal interface ILinearAlgebraProvider
    {
        /// <summary>Which backend this is.</summary>
        LinearAlgebraBackend Backend { get; }

        /// <summary>
        /// The k largest eigenpairs of a symmetric n × n matrix (exactly symmetric, as passed), eigenvalues descending,
        /// eigenvectors as the unit columns of an n × k matrix (null when <paramref name="vectors"/> is false). 1 ≤ k ≤ n.
        /// </summary>
        EigenPairs SymmetricEigen(Matrix a, int topK, bool vectors);

        /// <summary>Thin QR of an r × c matrix with r ≥ c ≥ 1: Q (r × c, orthonormal columns) and |R_ii| (length c).</summary>
        ThinQr Qr(Matrix a);

        /// <summary>Thin SVD of a non-empty r × c matrix: U (r × min(r, c), orthonormal columns) and σ (descending).</summary>
        ThinSvd Svd(Matrix a);

        /// <summary>Singular values of a non-empty matrix, descending (min(r, c) of them).</summary>
        double[] SingularValues(Matrix a);
    }

    /// <summary>Eigenvalues (descending) and optional eigenvectors (n × k).</summary>
    internal sealed class EigenPairs
    {
        public EigenPairs(double[] values, Matrix? vectors)
        {
            Values = values;
            Vectors = vectors;
        }

        public double[] Values { get; }

        public Matrix? Vectors { get; }
    }

    /// <summary>Q of a thin QR and the absolute diagonal of R.</summary>
    internal sealed class ThinQr
    {
        public ThinQr(Matrix q, double[] absDiagonalR)
        {
            Q = q;
            AbsDiagonalR = absDiagonalR;
        }

        public Matrix Q { get; }

        public double[] AbsDiagonalR { get; }
    }

    /// <summary>Left singular vectors and singular values of a thin SVD.</summary>
    internal sealed class ThinSvd
    {
        public ThinSvd(Matrix u, double[] s)
        {
            U = u;
            S = s;
        }

        public Matrix U { get; }

        public double[] S { get; }
    }
}

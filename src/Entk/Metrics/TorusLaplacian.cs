using System;
using System.Globalization;
using Entk.Internal;
using Entk.Kernels;

namespace Entk.Metrics
{
    /// <summary>Which graph Laplacian on the p × p torus of inputs (docs/paper-notes.md §1.7).</summary>
    public enum TorusLaplacianKind
    {
        /// <summary>L_n = L1d ⊗ I_p: penalises variation along n (the left operand); pure m-modes have zero energy.</summary>
        N,

        /// <summary>L_m = I_p ⊗ L1d: penalises variation along m (the right operand); pure n-modes have zero energy.</summary>
        M,

        /// <summary>L_sum = 2I − P(+1,+1) − P(−1,−1): penalises variation along the diagonal; functions of n − m have zero energy.</summary>
        Sum,

        /// <summary>L_diff = 2I − P(+1,−1) − P(−1,+1): penalises variation along the anti-diagonal; functions of n + m have zero energy.</summary>
        Diff,
    }

    /// <summary>
    /// A graph Laplacian on the flattened p × p torus of modular-addition inputs (N = p², index
    /// i = n·p + m), applied matrix-free. Immutable.
    /// </summary>
    /// <remarks>
    /// With the 1-D cycle Laplacian L1d = 2I_p − S − Sᵀ (S the cyclic shift) and P(dn, dm) the
    /// permutation matrix of (n, m) → (n + dn, m + dm) mod p, every kind is L = 2I − P(d) − P(−d) with
    /// d = (1, 0) for <see cref="TorusLaplacianKind.N"/> (= L1d ⊗ I_p), (0, 1) for
    /// <see cref="TorusLaplacianKind.M"/> (= I_p ⊗ L1d), (1, 1) for <see cref="TorusLaplacianKind.Sum"/>
    /// and (1, −1) for <see cref="TorusLaplacianKind.Diff"/>; so (L x)(n, m) = 2x(n, m) − x(n + dn, m + dm)
    /// − x(n − dn, m − dm). Symmetric positive semi-definite. Rayleigh quotients on Fourier modes:
    /// L_n on cos/sin(2πkn/p) = 2 − 2cos(2πk/p), on m-modes 0; L_sum on sum-mode k = 2 − 2cos(4πk/p),
    /// on diff-modes 0; L_diff on diff-mode k = 2 − 2cos(4πk/p), on sum-modes 0.
    /// </remarks>
    public sealed class TorusLaplacian
    {
        private readonly int _dn;
        private readonly int _dm;

        private TorusLaplacian(TorusLaplacianKind kind, int modulus)
        {
            Kind = kind;
            Modulus = modulus;
            (_dn, _dm) = kind switch
            {
                TorusLaplacianKind.N => (1, 0),
                TorusLaplacianKind.M => (0, 1),
                TorusLaplacianKind.Sum => (1, 1),
                _ => (1, -1),
            };
        }

        /// <summary>Which Laplacian.</summary>
        public TorusLaplacianKind Kind { get; }

        /// <summary>The modulus p.</summary>
        public int Modulus { get; }

        /// <summary>The dimension N = p².</summary>
        public int Dimension => Modulus * Modulus;

        /// <summary>Creates a Laplacian.</summary>
        /// <param name="kind">Which Laplacian.</param>
        /// <param name="p">The modulus, 3 ≤ p ≤ 46340.</param>
        /// <returns>The Laplacian (N = p²).</returns>
        /// <exception cref="EntkArgumentException">p out of range or an undefined kind.</exception>
        public static TorusLaplacian Create(TorusLaplacianKind kind, int p)
        {
            if (!Enum.IsDefined(kind)) throw new EntkArgumentException(nameof(kind), "one of N, M, Sum, Diff", ((int)kind).ToString(CultureInfo.InvariantCulture));
            Check.InRange(p, 3, 46340, nameof(p));
            return new TorusLaplacian(kind, p);
        }

        /// <summary>L·x, matrix-free in O(N·k).</summary>
        /// <param name="x">N × k matrix (N = p²), finite.</param>
        /// <returns>New N × k matrix L·x.</returns>
        /// <exception cref="ArgumentNullException">x is null.</exception>
        /// <exception cref="ShapeMismatchException">x.Rows ≠ p².</exception>
        /// <exception cref="NonFiniteValueException">x contains NaN or ±Infinity.</exception>
        public Matrix Apply(Matrix x)
        {
            Check.NotNull(x, nameof(x));
            MetricsUtil.Rows(x, Dimension, nameof(x), Check.Inv($"Rows must be p² = {Dimension} (Laplacian {Kind}, p = {Modulus})."));
            Check.AllFinite(x.Span, nameof(x), x.Columns);
            return Matrix.Wrap(x.Rows, x.Columns, ApplyRaw(x.Span, x.Columns));
        }

        /// <summary>The dense N × N matrix (for small p and tests).</summary>
        /// <returns>New N × N matrix.</returns>
        /// <exception cref="MemoryBudgetExceededException">8·N² bytes exceed <see cref="MemoryBudget.DefaultBytes"/>.</exception>
        public Matrix ToDense()
        {
            int n = Dimension;
            MemoryBudget.Require(Check.Inv($"the dense {n} × {n} torus Laplacian"), 8L * n * n, MemoryBudget.DefaultBytes, "Use Apply (matrix-free) instead.");
            var d = new double[(long)n * n];
            int p = Modulus;
            for (int a = 0; a < p; a++)
                for (int b = 0; b < p; b++)
                {
                    long i = a * p + b;
                    d[i * n + i] += 2;
                    d[i * n + Index(a + _dn, b + _dm)] -= 1;
                    d[i * n + Index(a - _dn, b - _dm)] -= 1;
                }
            return Matrix.Wrap(n, n, d);
        }

        /// <summary>The Rayleigh quotient vᵀLv / vᵀv.</summary>
        /// <param name="v">Non-zero vector of length N = p², finite.</param>
        /// <returns>The quotient, in [0, 4].</returns>
        /// <exception cref="ArgumentNullException">v is null.</exception>
        /// <exception cref="ShapeMismatchException">Length ≠ p².</exception>
        /// <exception cref="NonFiniteValueException">NaN or ±Infinity.</exception>
        /// <exception cref="EntkArgumentException">v is the zero vector.</exception>
        public double RayleighQuotient(double[] v)
        {
            Check.NotNull(v, nameof(v));
            if (v.Length != Dimension) throw new ShapeMismatchException(nameof(v), Check.Inv($"[{Dimension}] (p² for p = {Modulus})"), Check.Inv($"[{v.Length}]"));
            Check.AllFinite(v, nameof(v));
            double vv = 0;
            foreach (var t in v) vv += t * t;
            if (vv == 0) throw new EntkArgumentException(nameof(v), "a non-zero vector", "the zero vector");
            var lv = ApplyRaw(v, 1);
            double num = 0;
            for (int i = 0; i < v.Length; i++) num += v[i] * lv[i];
            return num / vv;
        }

        /// <inheritdoc />
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "TorusLaplacian {0} (p = {1}, N = {2})", Kind, Modulus, Dimension);

        private int Index(int a, int b)
        {
            int p = Modulus;
            a = ((a % p) + p) % p;
            b = ((b % p) + p) % p;
            return a * p + b;
        }

        private double[] ApplyRaw(ReadOnlySpan<double> x, int k)
        {
            int p = Modulus;
            var y = new double[(long)Dimension * k];
            for (int a = 0; a < p; a++)
                for (int b = 0; b < p; b++)
                {
                    int i = a * p + b;
                    int plus = Index(a + _dn, b + _dm) * k, minus = Index(a - _dn, b - _dm) * k;
                    int row = i * k;
                    for (int c = 0; c < k; c++)
                        y[row + c] = 2 * x[row + c] - x[plus + c] - x[minus + c];
                }
            return y;
        }
    }
}

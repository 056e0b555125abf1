using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Entk.Internal;
using Entk.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Linalg
{
    /// <summary>How a <see cref="RidgePolicy"/> computes its shift.</summary>
    public enum RidgeKind
    {
        /// <summary>No ridge: shift = 0.</summary>
        None,
        /// <summary>shift = <see cref="RidgePolicy.Value"/> · mean(diag K).</summary>
        Relative,
        /// <summary>shift = <see cref="RidgePolicy.Value"/>.</summary>
        Absolute,
    }

    /// <summary>
    /// The ridge added before a symmetric eigendecomposition. Entk never mutates the caller's matrix:
    /// the ridge is added to a private copy, and the reported eigenvalues are those of K + shift·I
    /// (every eigenvalue moves up by <see cref="EigenDecomposition.Shift"/>; eigenvectors are unchanged).
    /// Subtract <see cref="EigenDecomposition.Shift"/> to recover the eigenvalues of K itself.
    /// </summary>
    public sealed class RidgePolicy
    {
        private RidgePolicy(RidgeKind kind, double value)
        {
            Kind = kind;
            Value = value;
        }

        /// <summary>How the shift is computed: <see cref="RidgeKind.None"/>, <see cref="RidgeKind.Relative"/> (shift = Value · mean(diag K)) or <see cref="RidgeKind.Absolute"/> (shift = Value).</summary>
        public RidgeKind Kind { get; }

        /// <summary>The relative factor or absolute shift (0 for <see cref="RidgeKind.None"/>).</summary>
        public double Value { get; }

        /// <summary>No ridge (the library default).</summary>
        public static RidgePolicy None { get; } = new(RidgeKind.None, 0);

        /// <summary>The paper's ridge: shift = 1e-8 · mean(diag K).</summary>
        public static RidgePolicy Paper { get; } = new(RidgeKind.Relative, 1e-8);

        /// <summary>shift = epsilon · mean(diag K).</summary>
        /// <param name="epsilon">Non-negative factor.</param>
        /// <returns>The policy.</returns>
        public static RidgePolicy RelativeToMeanDiagonal(double epsilon) => new(RidgeKind.Relative, Check.InRange(epsilon, 0, double.MaxValue, nameof(epsilon)));

        /// <summary>shift = value.</summary>
        /// <param name="value">Non-negative shift.</param>
        /// <returns>The policy.</returns>
        public static RidgePolicy Absolute(double value) => new(RidgeKind.Absolute, Check.InRange(value, 0, double.MaxValue, nameof(value)));

        /// <summary>The shift for a matrix with the given mean diagonal.</summary>
        /// <param name="meanDiagonal">mean(diag K) = trace(K)/n.</param>
        /// <returns>The shift.</returns>
        public double ShiftFor(double meanDiagonal) => Kind switch
        {
            RidgeKind.Relative => Value * meanDiagonal,
            RidgeKind.Absolute => Value,
            _ => 0,
        };

        /// <summary>"none", "relative(ε)" or "absolute(shift)" (shortest round-trip digits), as written in reports.</summary>
        /// <returns>The text.</returns>
        public override string ToString() => Kind == RidgeKind.None ? "none" : (Kind == RidgeKind.Relative ? "relative" : "absolute") + "(" + Value.ToString("R", CultureInfo.InvariantCulture) + ")";
    }

    /// <summary>How an eigendecomposition was computed.</summary>
    public enum SpectrumRoute
    {
        /// <summary>Dense symmetric eigendecomposition of the n × n matrix (oneMKL's DSYEVD through libtorch, or MathNet.Numerics' managed solver; see <see cref="EigenDecomposition.Backend"/>).</summary>
        Dense,
        /// <summary>Eigendecomposition of the P × P Gram matrix JᵀJ, eigenvectors mapped back as J v / σ.</summary>
        ParameterSideGram,
        /// <summary>Matrix-free Lanczos with full reorthogonalisation.</summary>
        Lanczos,
    }

    /// <summary>
    /// Top-k eigenpairs of a symmetric matrix: eigenvalues in descending order, eigenvectors as the
    /// unit-norm columns of an n × k matrix (signs arbitrary; inside a degenerate block any rotation).
    /// </summary>
    public sealed class EigenDecomposition
    {
        private readonly double[] _values;

        internal EigenDecomposition(double[] values, Matrix vectors, double shift, SpectrumRoute route, IReadOnlyList<double>? residuals = null,
            LinearAlgebraBackend backend = LinearAlgebraBackend.Torch, IReadOnlyList<Kernels.TensorRoute>? tensorRoutes = null, long applications = 0)
        {
            TensorRoutes = Array.AsReadOnly((tensorRoutes ?? Array.Empty<Kernels.TensorRoute>()).ToArray());
            Applications = applications;
            _values = values;
            Values = Array.AsReadOnly(values);
            Vectors = vectors;
            Shift = shift;
            Route = route;
            Residuals = residuals is null ? null : Array.AsReadOnly(residuals.ToArray());
            Backend = backend;
        }

        /// <summary>The k eigenvalues of K + Shift·I, descending (read-only; <see cref="ValuesArray"/> gives a copy as an array).</summary>
        public IReadOnlyList<double> Values { get; }

        /// <summary>Eigenvectors, n × k, column i belongs to Values[i].</summary>
        public Matrix Vectors { get; }

        /// <summary>The ridge added before decomposing (see <see cref="RidgePolicy"/>).</summary>
        public double Shift { get; }

        /// <summary>How it was computed.</summary>
        public SpectrumRoute Route { get; }

        /// <summary>Dimension n of the matrix.</summary>
        public int Dimension => Vectors.Rows;

        /// <summary>Number of eigenpairs k.</summary>
        public int Count => _values.Length;

        /// <summary>Residual norms ‖K·v − λ·v‖ per pair when the route computes them (Lanczos); otherwise null.</summary>
        public IReadOnlyList<double>? Residuals { get; }

        /// <summary>For eNTK spectra: how each parameter tensor's contribution was computed (empty for plain matrices).</summary>
        public IReadOnlyList<Kernels.TensorRoute> TensorRoutes { get; }

        /// <summary>Operator applications (vectors) the route used: the Lanczos products (true residuals come from stored products, at no extra cost); 0 for dense routes.</summary>
        public long Applications { get; }

        internal EigenDecomposition WithTensorRoutes(IReadOnlyList<Kernels.TensorRoute> routes) =>
            new(_values, Vectors, Shift, Route, Residuals, Backend, routes, Applications);

        /// <summary>The same pairs with residual norms ‖K·v_i − (λ_i − Shift)·v_i‖ measured against the matrix K they came from.</summary>
        internal EigenDecomposition WithResiduals(Matrix kernel)
        {
            using var scope = torch.NewDisposeScope();
            var v = TorchOps.ToTensor(Vectors);
            var lam = TorchOps.ToTensor(_values.Select(x => x - Shift).ToArray(), _values.Length);
            var r = (TorchOps.ToTensor(kernel).mm(v) - v * lam.unsqueeze(0)).norm(0, false);
            return new EigenDecomposition(_values, Vectors, Shift, Route, TorchOps.ToArray(r), Backend, TensorRoutes, Applications);
        }

        /// <summary>
        /// The backend that ran the decomposition: <see cref="LinearAlgebraBackend.Torch"/> or <see cref="LinearAlgebraBackend.Managed"/>
        /// for the dense route (chosen by <see cref="LinearAlgebraControl"/>), always Torch for the Gram and Lanczos routes.
        /// </summary>
        public LinearAlgebraBackend Backend { get; }

        /// <summary>A copy of the eigenvalues.</summary>
        /// <returns>New array (descending).</returns>
        public double[] ValuesArray() => (double[])_values.Clone();

        /// <summary>Eigenvector i as a new array (length n).</summary>
        /// <param name="i">Index, 0-based in descending order.</param>
        /// <returns>The eigenvector.</returns>
        public double[] Vector(int i) => Vectors.Column(i);
    }

    /// <summary>
    /// Symmetric eigendecomposition in float64. Dense problems run on the backend <see cref="LinearAlgebraControl"/> chooses
    /// (oneMKL's DSYEVD through libtorch, or MathNet.Numerics' managed solver for small matrices); the parameter-side Gram
    /// route works on libtorch tensors.
    /// </summary>
    public static class SymmetricEigen
    {
        /// <summary>
        /// Top-k eigenpairs of a symmetric matrix. The matrix is checked for symmetry (relative
        /// asymmetry at most 1e-8 of max |a_ij|), symmetrised as (A + Aᵀ)/2 in a private copy, shifted
        /// by the ridge, and decomposed.
        /// </summary>
        /// <param name="matrix">Symmetric n × n matrix, finite.</param>
        /// <param name="topK">Number of eigenpairs, 1 ≤ k ≤ n (default n).</param>
        /// <param name="ridge">Ridge policy (default <see cref="RidgePolicy.None"/>).</param>
        /// <returns>The eigenpairs, eigenvalues descending.</returns>
        /// <exception cref="ShapeMismatchException">Not square.</exception>
        /// <exception cref="EntkArgumentException">Not symmetric, empty, k out of range.</exception>
        /// <exception cref="NonFiniteValueException">NaN or ±Infinity entries.</exception>
        public static EigenDecomposition Decompose(Matrix matrix, int? topK = null, RidgePolicy? ridge = null)
        {
            Check.NotNull(matrix, nameof(matrix));
            int n = ValidateSymmetric(matrix, nameof(matrix));
            int k = topK ?? n;
            Check.InRange(k, 1, n, nameof(topK));
            var policy = ridge ?? RidgePolicy.None;
            double shift = policy.ShiftFor(DenseLinalg.MeanDiagonal(matrix));
            var provider = LinearAlgebraControl.ForEigen(n, "symmetric eigen");
            var e = provider.SymmetricEigen(DenseLinalg.SymmetrizedShifted(matrix, shift), k, vectors: true);
            return new EigenDecomposition(e.Values, e.Vectors!, shift, SpectrumRoute.Dense, backend: provider.Backend);
        }

        /// <summary>Top-k eigenpairs of a symmetric float64 tensor (n × n), densely (internal: no copy to a Matrix first).</summary>
        internal static EigenDecomposition FromTensor(Tensor a, int k, RidgePolicy policy)
        {
            long n = a.shape[0];
            using var scope = torch.NewDisposeScope();
            var sym = (a + a.t()) * 0.5;
            double shift = policy.ShiftFor(sym.diagonal().mean().item<double>());
            if (shift != 0) sym.diagonal().add_(shift);
            var (vals, vecs) = TorchOps.Native("symmetric eigendecomposition (eigh)", () => torch.linalg.eigh(sym));
            var top = vals.narrow(0, n - k, k).flip(0);
            var topVecs = vecs.narrow(1, n - k, k).flip(1);
            return new EigenDecomposition(TorchOps.ToArray(top), TorchOps.ToMatrix(topVecs), shift, SpectrumRoute.Dense);
        }

        /// <summary>All eigenvalues of a symmetric matrix, descending (no eigenvectors; cheaper).</summary>
        /// <param name="matrix">Symmetric n × n matrix.</param>
        /// <param name="ridge">Ridge policy (default none).</param>
        /// <returns>n eigenvalues, descending.</returns>
        /// <exception cref="ShapeMismatchException">Not square.</exception>
        /// <exception cref="EntkArgumentException">Not symmetric or empty.</exception>
        /// <exception cref="NonFiniteValueException">NaN or ±Infinity entries.</exception>
        public static double[] Eigenvalues(Matrix matrix, RidgePolicy? ridge = null)
        {
            Check.NotNull(matrix, nameof(matrix));
            int n = ValidateSymmetric(matrix, nameof(matrix));
            var policy = ridge ?? RidgePolicy.None;
            double shift = policy.ShiftFor(DenseLinalg.MeanDiagonal(matrix));
            return LinearAlgebraControl.ForEigen(n, "symmetric eigenvalues").SymmetricEigen(DenseLinalg.SymmetrizedShifted(matrix, shift), n, vectors: false).Values;
        }

        internal static int ValidateSymmetric(Matrix m, string name)
        {
            if (m.Rows != m.Columns) throw new ShapeMismatchException(name, "[n, n] (square)", Check.Shape(m.Rows, m.Columns));
            if (m.Rows == 0) throw new EntkArgumentException(name, "a non-empty matrix", "[0, 0]");
            Check.AllFinite(m.Span, name, m.Columns);
            double maxAbs = m.MaxAbs(), maxAsym = 0;
            int n = m.Rows;
            var d = m.RawData;
            int wi = 0, wj = 0;
            for (int i = 0; i < n; i++)
                for (int j = i + 1; j < n; j++)
                {
                    double diff = Math.Abs(d[(long)i * n + j] - d[(long)j * n + i]);
                    if (diff > maxAsym) { maxAsym = diff; wi = i; wj = j; }
                }
            if (maxAsym > 1e-8 * maxAbs)
                throw new EntkArgumentException(name, "a symmetric matrix (|a_ij − a_ji| ≤ 1e-8·max|a|)", Check.Inv($"|a[{wi},{wj}] − a[{wj},{wi}]| = {Check.R(maxAsym)} with max|a| = {Check.R(maxAbs)}"));
            return n;
        }

        /// <summary>
        /// Top-k eigenpairs of K = J·Jᵀ from the smaller side. When P &lt; R (J is R × P) the P × P Gram
        /// matrix G = JᵀJ is decomposed, G = V Σ² Vᵀ, and the eigenvectors of K are u_i = J v_i / σ_i;
        /// otherwise K is formed and decomposed densely. Eigenvalues of K are σ_i². Columns whose σ_i² is
        /// below 1e-12·σ_max² (numerically null) are completed to an orthonormal set deterministically.
        /// The ridge (mean(diag K) = ‖J‖²_F / R) shifts every eigenvalue and is reported as Shift.
        /// </summary>
        /// <param name="jacobian">J, R × P, finite.</param>
        /// <param name="topK">Number of eigenpairs, 1 ≤ k ≤ R.</param>
        /// <param name="ridge">Ridge policy (default none).</param>
        /// <returns>The top-k eigenpairs of J·Jᵀ (+ shift), eigenvectors R × k.</returns>
        public static EigenDecomposition OfGram(Matrix jacobian, int topK, RidgePolicy? ridge = null)
        {
            Check.NotNull(jacobian, nameof(jacobian));
            int r = jacobian.Rows, p = jacobian.Columns;
            if (r == 0 || p == 0) throw new EntkArgumentException(nameof(jacobian), "a non-empty matrix", Check.Shape(r, p));
            Check.InRange(topK, 1, r, nameof(topK));
            Check.AllFinite(jacobian.Span, nameof(jacobian), p);
            using var scope = torch.NewDisposeScope();
            return FromJacobianTensor(TorchOps.ToTensor(jacobian), topK, ridge ?? RidgePolicy.None);
        }

        /// <summary>
        /// Top-k eigenpairs of K = J̃J̃ᵀ (R × R) from its P × P Gram matrix G = J̃ᵀJ̃ and a product
        /// V ↦ J̃V (P × k → R × k), without J̃ itself. k ≤ P.
        /// </summary>
        internal static EigenDecomposition FromGramMatrix(Tensor g, long rows, int k, RidgePolicy ridge, Func<Tensor, Tensor> applyJ)
        {
            long p = g.shape[0];
            double shift = ridge.ShiftFor(g.diagonal().sum().item<double>() / rows);
            var (vals, vecs) = TorchOps.Native("eigh of the parameter-side Gram matrix", () => torch.linalg.eigh((g + g.t()) * 0.5));
            var lam = vals.narrow(0, p - k, k).flip(0).clamp_min(0);
            var v = vecs.narrow(1, p - k, k).flip(1);
            var lamArr = TorchOps.ToArray(lam);
            double lmax = Math.Max(lamArr[0], double.Epsilon);
            int good = lamArr.TakeWhile(l => l > 1e-12 * lmax).Count();
            var u = applyJ(v.narrow(1, 0, good).contiguous()) / lam.narrow(0, 0, good).sqrt().unsqueeze(0);
            if (good < k) u = Complete(u, rows, k, good);
            for (int i = 0; i < lamArr.Length; i++) lamArr[i] += shift;
            return new EigenDecomposition(lamArr, TorchOps.ToMatrix(u), shift, SpectrumRoute.ParameterSideGram);
        }

        private static Tensor Complete(Tensor u, long r, int k, int good)
        {
            // Deterministic orthonormal completion of the numerically-null directions.
            var gen = new torch.Generator(0, torch.CPU);
            var extra = torch.randn(new long[] { r, k - good }, ScalarType.Float64, generator: gen);
            var (q, _) = torch.linalg.qr(torch.cat(new[] { u, extra }, 1));
            var signs = torch.sign(torch.diagonal(q.narrow(1, 0, good).t().mm(u)));
            return torch.cat(new[] { q.narrow(1, 0, good) * signs.unsqueeze(0), q.narrow(1, good, k - good) }, 1);
        }

        /// <summary>Core of <see cref="OfGram"/> on a tensor J (R × P).</summary>
        internal static EigenDecomposition FromJacobianTensor(Tensor j, int k, RidgePolicy ridge)
        {
            long r = j.shape[0], p = j.shape[1];
            if (p >= r || k > p)
            {
                double shift = ridge.ShiftFor(j.pow(2).sum().item<double>() / r);
                var kk = j.mm(j.t());
                var (vals0, vecs0) = TorchOps.Native("eigh", () => torch.linalg.eigh((kk + kk.t()) * 0.5));
                var top0 = vals0.narrow(0, r - k, k).flip(0) + shift;
                return new EigenDecomposition(TorchOps.ToArray(top0), TorchOps.ToMatrix(vecs0.narrow(1, r - k, k).flip(1)), shift, SpectrumRoute.Dense);
            }
            return FromGramMatrix(j.t().mm(j), r, k, ridge, v => j.mm(v));
        }
    }
}

using System;
using System.Globalization;
using System.Text;
using System.Threading;
using Entk.Internal;
using Entk.Linalg.Providers;

namespace Entk.Linalg
{
    /// <summary>Which implementation runs Entk's dense linear algebra (see <see cref="LinearAlgebraControl"/>).</summary>
    public enum LinearAlgebraBackend
    {
        /// <summary>
        /// Entk chooses per problem: MathNet.Numerics' managed code for small problems (symmetric eigenproblems of order
        /// n ≤ <see cref="LinearAlgebraControl.ManagedMaxEigenOrder"/>, QR and SVD of matrices with
        /// max(r, c)·min(r, c)² ≤ <see cref="LinearAlgebraControl.ManagedMaxFactorWork"/>), libtorch/oneMKL LAPACK for the rest.
        /// </summary>
        Auto,
        /// <summary>libtorch's float64 LAPACK (oneMKL: DSYEVD, DGEQRF/DORGQR, DGESDD) at every size.</summary>
        Torch,
        /// <summary>MathNet.Numerics' managed float64 algorithms at every size (no native code; slow for large problems).</summary>
        Managed,
    }

    /// <summary>
    /// Chooses the backend of Entk's dense float64 linear algebra, in the manner of MathNet.Numerics' <c>LinearAlgebraControl</c>:
    /// <see cref="SymmetricEigen.Decompose"/> and <see cref="SymmetricEigen.Eigenvalues"/>, and the QR, SVD and small
    /// eigenproblems inside the metrics (<c>Entk.Metrics</c>: cliff bases, Fourier-family bases, principal angles, Laplacian
    /// rotations). The choice is scoped: <see cref="Use"/> sets it for the current asynchronous flow (the calling thread and
    /// the tasks it starts) until the returned handle is disposed, so code running in parallel is not affected. Without a
    /// scope the backend is <see cref="LinearAlgebraBackend.Auto"/>.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Results agree between the backends to rounding (eigenvalues and singular values to ~1e-13 relative; eigenvectors,
    /// QR factors and bases up to the signs of columns and rotations inside degenerate eigenspaces, which Entk's results
    /// never depend on). The routes inside the kernel engine that work on libtorch tensors (the parameter-side Gram route of
    /// <c>EmpiricalNtk.Spectrum</c>, <see cref="Lanczos"/>) always use libtorch.
    /// </para>
    /// <para>
    /// The size rule of <see cref="LinearAlgebraBackend.Auto"/> comes from timing both backends on a 2-vCPU machine (one
    /// libtorch thread): MathNet's managed symmetric eigensolver took 0.4–0.9× libtorch's time for n ≤ 32, 1.3–2.4× for
    /// n = 40–64 and 3.4–7× for n = 128–512; its QR and SVD took 1.5–4× libtorch's time already at 16 × 8 and 3–7× at
    /// 841 × 14 … 841 × 112. With libtorch's default two OpenMP threads on a busy machine, libtorch's time for problems of
    /// this size varied by up to 30× between runs while the managed code's did not. Small problems therefore run managed
    /// (fast enough, no native call, no OpenMP threads), everything else on oneMKL.
    /// </para>
    /// </remarks>
    /// <example>
    /// C#: <c>using (LinearAlgebraControl.Use(LinearAlgebraBackend.Managed)) { var e = SymmetricEigen.Decompose(k); }</c>
    /// F#: <c>use _ = LinearAlgebraControl.Use LinearAlgebraBackend.Managed</c>
    /// </example>
    public static class LinearAlgebraControl
    {
        /// <summary>Largest order n of a symmetric eigenproblem that <see cref="LinearAlgebraBackend.Auto"/> solves with the managed backend (64).</summary>
        public const int ManagedMaxEigenOrder = 64;

        /// <summary>
        /// Largest max(r, c)·min(r, c)² (the leading term of the flop count of a QR or SVD of an r × c matrix) that
        /// <see cref="LinearAlgebraBackend.Auto"/> factors with the managed backend (65 536, e.g. 256 × 16 or 841 × 8).
        /// </summary>
        public const long ManagedMaxFactorWork = 65536;

        private static readonly AsyncLocal<LinearAlgebraBackend> Scoped = new();
        private static readonly AsyncLocal<Action<LinearAlgebraBackend, string>?> Observer = new();

        /// <summary>The backend in effect for the current asynchronous flow (<see cref="LinearAlgebraBackend.Auto"/> outside any <see cref="Use"/> scope).</summary>
        public static LinearAlgebraBackend Backend => Scoped.Value;

        /// <summary>
        /// Sets the backend for the current asynchronous flow until the returned handle is disposed (then the previous
        /// choice is back). Scopes nest; dispose them in reverse order (a <c>using</c> statement does).
        /// </summary>
        /// <param name="backend">The backend.</param>
        /// <returns>The handle that ends the scope.</returns>
        /// <exception cref="EntkArgumentException">Not a defined <see cref="LinearAlgebraBackend"/>.</exception>
        public static IDisposable Use(LinearAlgebraBackend backend)
        {
            if (!Enum.IsDefined(backend)) throw new EntkArgumentException(nameof(backend), "a defined LinearAlgebraBackend (Auto, Torch, Managed)", backend.ToString());
            var previous = Scoped.Value;
            Scoped.Value = backend;
            return new Scope(() => Scoped.Value = previous);
        }

        /// <summary>
        /// A description of the backends and of the choice in effect, one "name: value" line each (as in <c>entk describe</c>).
        /// </summary>
        /// <returns>Multi-line text.</returns>
        public static string Describe()
        {
            var sb = new StringBuilder();
            sb.Append("backend: ").Append(Backend).Append(Backend == LinearAlgebraBackend.Auto ? " (" + AutoRule + ")" : "").Append('\n');
            sb.Append("torch: ").Append(TorchLinearAlgebra.Description).Append('\n');
            sb.Append("managed: ").Append(ManagedLinearAlgebra.Description).Append('\n');
            return sb.ToString();
        }

        /// <summary>The size rule of Auto in words.</summary>
        internal static string AutoRule => string.Format(CultureInfo.InvariantCulture,
            "managed for symmetric eigenproblems of order ≤ {0} and QR/SVD with max(r,c)·min(r,c)² ≤ {1}, libtorch otherwise",
            ManagedMaxEigenOrder, ManagedMaxFactorWork);

        /// <summary>The provider for a symmetric eigenproblem of order n under the current choice.</summary>
        internal static ILinearAlgebraProvider ForEigen(int n, string operation) =>
            Pick(Backend == LinearAlgebraBackend.Auto ? (n <= ManagedMaxEigenOrder ? LinearAlgebraBackend.Managed : LinearAlgebraBackend.Torch) : Backend, operation);

        /// <summary>The provider for a QR or SVD of an r × c matrix under the current choice.</summary>
        internal static ILinearAlgebraProvider ForFactor(int rows, int columns, string operation) =>
            Pick(Backend == LinearAlgebraBackend.Auto ? (FactorWork(rows, columns) <= ManagedMaxFactorWork ? LinearAlgebraBackend.Managed : LinearAlgebraBackend.Torch) : Backend, operation);

        /// <summary>max(r, c)·min(r, c)², saturating.</summary>
        internal static long FactorWork(int rows, int columns)
        {
            long big = Math.Max(rows, columns), small = Math.Min(rows, columns);
            return MemoryBudget.Product(big, small, small);
        }

        /// <summary>
        /// Test hook: calls <paramref name="observer"/> with the backend and operation of every dense routine run in the
        /// current asynchronous flow until the handle is disposed.
        /// </summary>
        internal static IDisposable Observe(Action<LinearAlgebraBackend, string> observer)
        {
            var previous = Observer.Value;
            Observer.Value = observer;
            return new Scope(() => Observer.Value = previous);
        }

        private static ILinearAlgebraProvider Pick(LinearAlgebraBackend backend, string operation)
        {
            Observer.Value?.Invoke(backend, operation);
            return backend == LinearAlgebraBackend.Managed ? ManagedLinearAlgebra.Instance : TorchLinearAlgebra.Instance;
        }

        private sealed class Scope : IDisposable
        {
            private Action? _restore;

            public Scope(Action restore) => _restore = restore;

            public void Dispose()
            {
                Interlocked.Exchange(ref _restore, null)?.Invoke();
            }
        }
    }
}

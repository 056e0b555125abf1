using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Entk.Internal;
using Entk.Models;
using Entk.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Kernels
{
    /// <summary>
    /// A symmetric kernel as a linear operator v ↦ K·v: the flattened eNTK (class-major or sample-major rows) applied as
    /// K·v = J·(Jᵀ·v) without forming K — by model closed forms, by layer-rule factors or by NTK-vector products — or an
    /// explicit matrix, or any symmetric operator a user supplies (<see cref="FromFunction"/>). Used by
    /// <see cref="Linalg.Lanczos"/>. Not thread-safe (counts its applications). Operators built from eNTK factors hold
    /// native memory: dispose them when done (the garbage collector frees it otherwise, later).
    /// </summary>
    public sealed class KernelOperator : IDisposable
    {
        private readonly Func<Tensor, Tensor> _apply;
        private readonly Action? _release;
        private readonly int _chunk;
        private long _applications;
        private int _disposed;

        internal KernelOperator(int dimension, string description, Func<Tensor, Tensor> apply, double trace, NtkMethod method, IReadOnlyList<TensorRoute>? routes = null, Action? release = null, int columnChunk = ColumnChunk)
        {
            _chunk = columnChunk;
            Dimension = dimension;
            Description = description;
            _apply = apply;
            Trace = trace;
            Method = method;
            TensorRoutes = Array.AsReadOnly((routes ?? Array.Empty<TensorRoute>()).ToArray());
            _release = release;
        }

        /// <summary>The dimension n (the operator is n × n).</summary>
        public int Dimension { get; }

        /// <summary>What the operator is, e.g. "flattened class-major eNTK of modular-mlp(p=29, H=512) (Structured)".</summary>
        public string Description { get; }

        /// <summary>trace(K) = Σ_i K_ii (used for the ridge ε·mean(diag K)).</summary>
        public double Trace { get; }

        /// <summary>How products are computed.</summary>
        public NtkMethod Method { get; }

        /// <summary>How each parameter tensor enters the products (empty for explicit matrices and user operators).</summary>
        public IReadOnlyList<TensorRoute> TensorRoutes { get; }

        /// <summary>Number of vectors the operator has been applied to so far.</summary>
        public long Applications => Interlocked.Read(ref _applications);

        /// <summary>An operator backed by an explicit symmetric matrix (checked for symmetry; the data are copied once).</summary>
        /// <param name="matrix">Symmetric n × n matrix.</param>
        /// <returns>The operator.</returns>
        public static KernelOperator FromMatrix(Matrix matrix)
        {
            int n = Linalg.SymmetricEigen.ValidateSymmetric(Check.NotNull(matrix, nameof(matrix)), nameof(matrix));
            double trace = 0;
            for (int i = 0; i < n; i++) trace += matrix[i, i];
            var k = TorchOps.ToTensor(matrix).clone().DetachFromDisposeScope();     // copied once into native memory
            return new KernelOperator(n, Check.Inv($"explicit matrix [{n}, {n}]"), SymmetricProduct(k), trace, NtkMethod.JacobianContraction, release: k.Dispose, columnChunk: int.MaxValue);
        }

        /// <summary>An operator over a symmetric float64 tensor (n × n); with <paramref name="owns"/> it is disposed with the operator.</summary>
        internal static KernelOperator FromTensor(Tensor k, string description, NtkMethod method, bool owns, IReadOnlyList<TensorRoute>? routes = null)
        {
            int n = (int)k.shape[0];
            double trace = k.diagonal().sum().item<double>();
            // K is symmetric, so K·V = (Vᵀ·K)ᵀ; for a block of vectors MKL's GEMM runs 2–3× faster in that orientation (a
            // 10,000² float64 kernel times 16 columns: 68 ms against 182 ms). A single vector is made contiguous (a strided
            // column of the Lanczos basis otherwise takes a slower matrix-vector path).
            return new KernelOperator(n, description, SymmetricProduct(k), trace, method, routes, owns ? k.Dispose : null, int.MaxValue);
        }

        private static Func<Tensor, Tensor> SymmetricProduct(Tensor k) => v => v.shape[1] == 1 ? k.mm(v.contiguous()) : v.t().contiguous().mm(k).t();

        /// <summary>
        /// An operator from a user function, so that <see cref="Linalg.Lanczos"/> runs on any symmetric operator. The function
        /// receives a block of vectors as an n × b matrix and must return K·V (n × b); Entk checks the shape and finiteness of
        /// every result and never calls it concurrently.
        /// </summary>
        /// <param name="dimension">n ≥ 1.</param>
        /// <param name="apply">V ↦ K·V for V of shape n × b (b ≥ 1).</param>
        /// <param name="trace">trace(K), used only for a relative ridge (<see cref="Linalg.RidgePolicy.RelativeToMeanDiagonal"/>); pass NaN when unknown and no relative ridge is used.</param>
        /// <param name="description">Shown in messages (default "user operator").</param>
        /// <returns>The operator.</returns>
        /// <example>F#: <c>KernelOperator.FromFunction(3, (fun v -> a.Multiply v), nan)</c></example>
        public static KernelOperator FromFunction(int dimension, Func<Matrix, Matrix> apply, double trace, string? description = null)
        {
            Check.Positive(dimension, nameof(dimension));
            Check.NotNull(apply, nameof(apply));
            string what = description ?? "user operator";
            return new KernelOperator(dimension, what, v =>
            {
                var m = TorchOps.ToMatrix(v);
                var r = apply(m) ?? throw new EntkArgumentException(nameof(apply), "a result matrix", "null");
                if (r.Rows != dimension || r.Columns != m.Columns)
                    throw new ShapeMismatchException(nameof(apply), Check.Shape(dimension, m.Columns), Check.Shape(r.Rows, r.Columns), "The function must return K·V with V's shape.");
                Check.AllFinite(r.Span, nameof(apply), r.Columns);
                return TorchOps.ToTensor(r).clone();
            }, trace, NtkMethod.JacobianContraction);
        }

        /// <summary>K·V for a block of vectors (n × b).</summary>
        /// <param name="vectors">n × b.</param>
        /// <returns>n × b.</returns>
        /// <exception cref="ShapeMismatchException">Wrong row count.</exception>
        public Matrix Apply(Matrix vectors)
        {
            Check.NotNull(vectors, nameof(vectors));
            if (vectors.Rows != Dimension) throw new ShapeMismatchException(nameof(vectors), Check.Inv($"[{Dimension}, *]"), Check.Shape(vectors.Rows, vectors.Columns));
            Check.AllFinite(vectors.Span, nameof(vectors), vectors.Columns);
            if (vectors.Columns == 0) return Matrix.Zeros(Dimension, 0);
            using var scope = torch.NewDisposeScope();
            return TorchOps.ToMatrix(ApplyTensor(TorchOps.ToTensor(vectors)));
        }

        /// <summary>K·v for one vector.</summary>
        /// <param name="vector">Length n.</param>
        /// <returns>Length n.</returns>
        public double[] Apply(double[] vector)
        {
            Check.NotNull(vector, nameof(vector));
            return Apply(Matrix.FromArray(vector.Length, 1, vector)).Column(0);
        }

        /// <summary>Default columns applied per call of an autograd-based product (bounds the operator's transient memory).</summary>
        internal const int ColumnChunk = 8;

        /// <summary>Columns this operator applies per call of its product.</summary>
        internal int ColumnsPerCall => _chunk;

        internal KernelOperator WithRoutes(IReadOnlyList<TensorRoute> routes) => new(Dimension, Description, _apply, Trace, Method, routes, _release, _chunk);

        internal Tensor ApplyTensor(Tensor v)
        {
            if (Volatile.Read(ref _disposed) != 0) throw new ObjectDisposedException(nameof(KernelOperator), Description);
            long b = v.shape[1];
            Interlocked.Add(ref _applications, b);
            if (b <= _chunk) return _apply(v);
            var parts = new Tensor[(b + _chunk - 1) / _chunk];
            for (int i = 0; i < parts.Length; i++)
            {
                using var chunk = torch.NewDisposeScope();      // free each chunk's temporaries before the next
                long start = (long)i * _chunk;
                parts[i] = _apply(v.narrow(1, start, Math.Min(_chunk, b - start))).MoveToOuterDisposeScope();
            }
            return torch.cat(parts, 1);
        }

        /// <summary>Frees the native memory the operator holds (factors, formed matrices). Further products throw.</summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) _release?.Invoke();
        }
    }
}

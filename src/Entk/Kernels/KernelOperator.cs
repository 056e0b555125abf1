using System;
using System.Threading;
using Entk.Internal;
using Entk.Models;
using Entk.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Kernels
{
    /// <summary>
    /// A symmetric kernel as a linear operator v ↦ K·v that never forms K: the flattened eNTK
    /// (class-major or sample-major rows) applied as K·v = J·(Jᵀ·v), by structured rules where the model
    /// has them and by NTK-vector products from reverse-mode passes otherwise; or an explicit matrix.
    /// Used by <see cref="Linalg.Lanczos"/>. Not thread-safe (counts its applications).
    /// </summary>
    public sealed class KernelOperator
    {
        private readonly Func<Tensor, Tensor> _apply;
        private long _applications;

        internal KernelOperator(int dimension, string description, Func<Tensor, Tensor> apply, double trace, NtkMethod method)
        {
            Dimension = dimension;
            Description = description;
            _apply = apply;
            Trace = trace;
            Method = method;
        }

        /// <summary>The dimension n (the operator is n × n).</summary>
        public int Dimension { get; }

        /// <summary>What the operator is, e.g. "flattened class-major eNTK of modular-mlp(p=29, H=512) (Structured)".</summary>
        public string Description { get; }

        /// <summary>trace(K) = Σ_i K_ii (used for the ridge ε·mean(diag K)).</summary>
        public double Trace { get; }

        /// <summary>How products are computed.</summary>
        public NtkMethod Method { get; }

        /// <summary>Number of vectors the operator has been applied to so far.</summary>
        public long Applications => Interlocked.Read(ref _applications);

        /// <summary>An operator backed by an explicit symmetric matrix (checked for symmetry).</summary>
        /// <param name="matrix">Symmetric n × n matrix.</param>
        /// <returns>The operator.</returns>
        public static KernelOperator FromMatrix(Matrix matrix)
        {
            int n = Linalg.SymmetricEigen.ValidateSymmetric(Check.NotNull(matrix, nameof(matrix)), nameof(matrix));
            double trace = 0;
            for (int i = 0; i < n; i++) trace += matrix[i, i];
            var data = matrix.RawData;
            return new KernelOperator(n, Check.Inv($"explicit matrix [{n}, {n}]"), v => TorchOps.ToTensor(data, n, n).mm(v), trace, NtkMethod.JacobianContraction);
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

        /// <summary>Columns applied per call of the underlying product (bounds the operator's transient memory).</summary>
        internal const int ColumnChunk = 8;

        internal Tensor ApplyTensor(Tensor v)
        {
            long b = v.shape[1];
            Interlocked.Add(ref _applications, b);
            if (b <= ColumnChunk) return _apply(v);
            var parts = new Tensor[(b + ColumnChunk - 1) / ColumnChunk];
            for (int i = 0; i < parts.Length; i++)
            {
                using var chunk = torch.NewDisposeScope();      // free each chunk's temporaries before the next
                long start = (long)i * ColumnChunk;
                parts[i] = _apply(v.narrow(1, start, Math.Min(ColumnChunk, b - start))).MoveToOuterDisposeScope();
            }
            return torch.cat(parts, 1);
        }
    }
}

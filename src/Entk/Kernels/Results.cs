using System;
using System.Collections.Generic;
using System.Linq;
using Entk.Internal;
using Entk.Models;

namespace Entk.Kernels
{
    /// <summary>A reduced eNTK matrix with the facts needed to interpret it.</summary>
    public sealed class NtkKernel
    {
        internal NtkKernel(Matrix matrix, KernelReduction reduction, NtkMethod method, string group, int samples1, int samples2, int outputs, bool rescaled, IReadOnlyList<TensorRoute>? routes = null)
        {
            TensorRoutes = Array.AsReadOnly((routes ?? Array.Empty<TensorRoute>()).ToArray());
            Matrix = matrix;
            Reduction = reduction;
            Method = method;
            Group = group;
            Samples1 = samples1;
            Samples2 = samples2;
            Outputs = outputs;
            ImportanceRescaled = rescaled;
        }

        /// <summary>The kernel matrix ((N1·C) × (N2·C) for flattened layouts, N1 × N2 otherwise).</summary>
        public Matrix Matrix { get; }

        /// <summary>The reduction that produced <see cref="Matrix"/>.</summary>
        public KernelReduction Reduction { get; }

        /// <summary>The method actually used (never <see cref="NtkMethod.Auto"/>).</summary>
        public NtkMethod Method { get; }

        /// <summary>The parameter group ("all" for the full kernel).</summary>
        public string Group { get; }

        /// <summary>N1, the number of rows of x1.</summary>
        public int Samples1 { get; }

        /// <summary>N2, the number of rows of x2.</summary>
        public int Samples2 { get; }

        /// <summary>C, the number of model outputs.</summary>
        public int Outputs { get; }

        /// <summary>Whether importance rescaling (β ≠ 0) was applied.</summary>
        public bool ImportanceRescaled { get; }

        /// <summary>How each parameter tensor of the kernel was computed (layout order; for a group kernel, its tensors).</summary>
        public IReadOnlyList<TensorRoute> TensorRoutes { get; }

        /// <summary>Element (i, j) of <see cref="Matrix"/>.</summary>
        /// <param name="i">Row.</param>
        /// <param name="j">Column.</param>
        public double this[int i, int j] => Matrix[i, j];

        /// <inheritdoc />
        public override string ToString() => "eNTK " + Reduction + " [" + Matrix.Rows + ", " + Matrix.Columns + "] group=" + Group + " method=" + Method;
    }

    /// <summary>Layerwise kernels: one per parameter group, plus the full kernel over all parameters.</summary>
    public sealed class LayerwiseKernels
    {
        private readonly NtkKernel[] _kernels;

        internal LayerwiseKernels(IReadOnlyList<NtkKernel> kernels, NtkKernel total)
        {
            _kernels = kernels.ToArray();
            Total = total;
        }

        /// <summary>The group kernels, in the order the groups were given (read-only).</summary>
        public IReadOnlyList<NtkKernel> Kernels => Array.AsReadOnly(_kernels);

        /// <summary>The group names, in order.</summary>
        public IReadOnlyList<string> GroupNames => _kernels.Select(k => k.Group).ToArray();

        /// <summary>The kernel over all parameters (equals the sum of the groups when they cover every tensor).</summary>
        public NtkKernel Total { get; }

        /// <summary>The kernel of one group.</summary>
        /// <param name="group">Group name.</param>
        /// <exception cref="EntkArgumentException">Unknown group.</exception>
        public NtkKernel this[string group] =>
            _kernels.FirstOrDefault(k => k.Group == group)
            ?? throw new EntkArgumentException(nameof(group), "one of {" + string.Join(", ", GroupNames) + "}", "'" + group + "'");
    }

    /// <summary>
    /// The full eNTK 4-tensor K[n1, n2, c, d] of shape (N1, N2, C, C), row-major
    /// (offset ((n1·N2 + n2)·C + c)·C + d).
    /// </summary>
    public sealed class KernelTensor
    {
        private readonly double[] _data;

        internal KernelTensor(int n1, int n2, int c, double[] data, NtkMethod method)
        {
            Samples1 = n1;
            Samples2 = n2;
            Outputs = c;
            _data = data;
            Method = method;
        }

        /// <summary>N1.</summary>
        public int Samples1 { get; }

        /// <summary>N2.</summary>
        public int Samples2 { get; }

        /// <summary>C.</summary>
        public int Outputs { get; }

        /// <summary>The method used.</summary>
        public NtkMethod Method { get; }

        /// <summary>Shape [N1, N2, C, C].</summary>
        public IReadOnlyList<int> Shape => new[] { Samples1, Samples2, Outputs, Outputs };

        /// <summary>K[n1, n2, c, d].</summary>
        /// <param name="n1">Sample of x1.</param>
        /// <param name="n2">Sample of x2.</param>
        /// <param name="c">Output of x1.</param>
        /// <param name="d">Output of x2.</param>
        public double this[int n1, int n2, int c, int d]
        {
            get
            {
                Check.InRange(n1, 0, Samples1 - 1, nameof(n1));
                Check.InRange(n2, 0, Samples2 - 1, nameof(n2));
                Check.InRange(c, 0, Outputs - 1, nameof(c));
                Check.InRange(d, 0, Outputs - 1, nameof(d));
                return _data[(((long)n1 * Samples2 + n2) * Outputs + c) * Outputs + d];
            }
        }

        /// <summary>A copy of the row-major data.</summary>
        /// <returns>New array of length N1·N2·C·C.</returns>
        public double[] ToArray() => (double[])_data.Clone();

        internal double[] RawData => _data;

        /// <summary>Reduces the tensor to a matrix.</summary>
        /// <param name="reduction">The reduction.</param>
        /// <returns>The reduced matrix.</returns>
        public Matrix Reduce(KernelReduction reduction)
        {
            Check.NotNull(reduction, nameof(reduction));
            reduction.Validate(Outputs, nameof(reduction));
            using var scope = TorchSharp.torch.NewDisposeScope();
            var t = Torch.TorchOps.ToTensor(_data, Samples1, Samples2, Outputs, Outputs);
            return Torch.TorchOps.ToMatrix(reduction.Apply(t));
        }

        /// <summary>The importance-rescaled tensor K_cd · I_c^{β/2} · I_d^{β/2}.</summary>
        /// <param name="importance">I_c, length C, positive.</param>
        /// <param name="beta">β.</param>
        /// <returns>A new tensor.</returns>
        public KernelTensor Rescale(IReadOnlyList<double> importance, double beta)
        {
            var s = new NtkOptions { Importance = importance, Beta = beta }.OutputScales(Outputs);
            var d = new double[_data.Length];
            long idx = 0;
            for (long p = 0; p < (long)Samples1 * Samples2; p++)
                for (int c = 0; c < Outputs; c++)
                    for (int e = 0; e < Outputs; e++, idx++)
                        d[idx] = _data[idx] * s[c] * s[e];
            return new KernelTensor(Samples1, Samples2, Outputs, d, Method);
        }
    }

    /// <summary>Orders of flattening (sample n, output c) pairs into one index.</summary>
    public enum FlattenOrder
    {
        /// <summary>Index c·N + n (output slow, sample fast).</summary>
        ClassMajor,
        /// <summary>Index n·C + c (sample slow, output fast).</summary>
        SampleMajor,
    }

    /// <summary>The per-sample Jacobian J[n, c, μ] = ∂f_c(x_n)/∂θ_μ, shape (N, C, P), μ in layout order.</summary>
    public sealed class Jacobian
    {
        private readonly double[] _data;

        internal Jacobian(int n, int c, ParameterLayout layout, double[] data)
        {
            Samples = n;
            Outputs = c;
            Layout = layout;
            _data = data;
        }

        /// <summary>N.</summary>
        public int Samples { get; }

        /// <summary>C.</summary>
        public int Outputs { get; }

        /// <summary>P.</summary>
        public int Parameters => Layout.Count;

        /// <summary>The parameter layout (column order).</summary>
        public ParameterLayout Layout { get; }

        /// <summary>J[n, c, μ].</summary>
        /// <param name="n">Sample.</param>
        /// <param name="c">Output.</param>
        /// <param name="mu">Parameter index in θ.</param>
        public double this[int n, int c, int mu]
        {
            get
            {
                Check.InRange(n, 0, Samples - 1, nameof(n));
                Check.InRange(c, 0, Outputs - 1, nameof(c));
                Check.InRange(mu, 0, Parameters - 1, nameof(mu));
                return _data[((long)n * Outputs + c) * Parameters + mu];
            }
        }

        /// <summary>A copy of the data in (n, c, μ) row-major order.</summary>
        /// <returns>New array of length N·C·P.</returns>
        public double[] ToArray() => (double[])_data.Clone();

        /// <summary>The Jacobian as an (N·C) × P matrix with rows in the given order.</summary>
        /// <param name="order">Row order (must be chosen explicitly).</param>
        /// <returns>The matrix.</returns>
        public Matrix ToMatrix(FlattenOrder order)
        {
            int p = Parameters;
            if (order == FlattenOrder.SampleMajor) return Matrix.Wrap(Samples * Outputs, p, (double[])_data.Clone());
            var d = new double[_data.Length];
            for (int n = 0; n < Samples; n++)
                for (int c = 0; c < Outputs; c++)
                    Array.Copy(_data, ((long)n * Outputs + c) * p, d, ((long)c * Samples + n) * p, p);
            return Matrix.Wrap(Samples * Outputs, p, d);
        }
    }
}

using System;
using System.Globalization;
using Entk.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Kernels
{
    /// <summary>The kinds of <see cref="KernelReduction"/>.</summary>
    public enum KernelReductionKind
    {
        /// <summary>(N1·C) × (N2·C) matrix, row r = c·N1 + n (output channel slow, sample fast).</summary>
        FlattenClassMajor,
        /// <summary>(N1·C) × (N2·C) matrix, row r = n·C + c (sample slow, output channel fast).</summary>
        FlattenSampleMajor,
        /// <summary>N1 × N2 matrix (1/C)·Σ_c K_cc (the paper's "traced" kernel: a mean).</summary>
        TraceMean,
        /// <summary>N1 × N2 matrix Σ_c K_cc (the PyTorch tutorial's "trace": a sum).</summary>
        TraceSum,
        /// <summary>N1 × N2 matrix (1/C²)·Σ_c Σ_d K_cd = NTK of the sum of outputs divided by C².</summary>
        AllPairsMean,
        /// <summary>N1 × N2 matrix K_cd for one fixed output pair (c, d).</summary>
        Block,
    }

    /// <summary>
    /// How the eNTK 4-tensor K[n1, n2, c, d] = Σ_μ ∂f_c(x_n1)/∂θ_μ · ∂f_d(x'_n2)/∂θ_μ (shape
    /// (N1, N2, C, C)) is reduced to a matrix. Every reduction is named and explicit; they are not
    /// interchangeable (eigenvalue magnitudes differ by the constant factors; flattening orders are
    /// permutations of each other with the same spectrum).
    /// </summary>
    public sealed class KernelReduction : IEquatable<KernelReduction>
    {
        private KernelReduction(KernelReductionKind kind, int c = -1, int d = -1)
        {
            Kind = kind;
            OutputC = c;
            OutputD = d;
        }

        /// <summary>The kind of reduction.</summary>
        public KernelReductionKind Kind { get; }

        /// <summary>For <see cref="KernelReductionKind.Block"/>: the row output c; otherwise −1.</summary>
        public int OutputC { get; }

        /// <summary>For <see cref="KernelReductionKind.Block"/>: the column output d; otherwise −1.</summary>
        public int OutputD { get; }

        /// <summary>Flattened, class-major: M[c·N1 + n1, d·N2 + n2] = K[n1, n2, c, d] (the paper's TMS layout).</summary>
        public static KernelReduction FlattenClassMajor { get; } = new(KernelReductionKind.FlattenClassMajor);

        /// <summary>Flattened, sample-major: M[n1·C + c, n2·C + d] = K[n1, n2, c, d] (J·Jᵀ with J rows in (n, c) order).</summary>
        public static KernelReduction FlattenSampleMajor { get; } = new(KernelReductionKind.FlattenSampleMajor);

        /// <summary>Trace as a mean: M[n1, n2] = (1/C)·Σ_c K[n1, n2, c, c] (the paper's MLP kernel).</summary>
        public static KernelReduction TraceMean { get; } = new(KernelReductionKind.TraceMean);

        /// <summary>Trace as a sum: M[n1, n2] = Σ_c K[n1, n2, c, c].</summary>
        public static KernelReduction TraceSum { get; } = new(KernelReductionKind.TraceSum);

        /// <summary>All-pairs average: M[n1, n2] = (1/C²)·Σ_c Σ_d K[n1, n2, c, d].</summary>
        public static KernelReduction AllPairsMean { get; } = new(KernelReductionKind.AllPairsMean);

        /// <summary>One output block: M[n1, n2] = K[n1, n2, c, d].</summary>
        /// <param name="c">Row output index, 0 ≤ c &lt; C.</param>
        /// <param name="d">Column output index, 0 ≤ d &lt; C.</param>
        /// <returns>The reduction.</returns>
        public static KernelReduction Block(int c, int d)
        {
            Check.NonNegative(c, nameof(c));
            Check.NonNegative(d, nameof(d));
            return new KernelReduction(KernelReductionKind.Block, c, d);
        }

        /// <summary>True for the two flattened layouts.</summary>
        public bool IsFlattened => Kind is KernelReductionKind.FlattenClassMajor or KernelReductionKind.FlattenSampleMajor;

        /// <summary>Number of rows of the reduced matrix for N samples and C outputs.</summary>
        /// <param name="samples">N.</param>
        /// <param name="outputs">C.</param>
        /// <returns>N·C for flattened layouts, N otherwise.</returns>
        public long RowsFor(long samples, long outputs) => IsFlattened ? samples * outputs : samples;

        internal void Validate(int outputs, string paramName)
        {
            if (Kind == KernelReductionKind.Block && (OutputC >= outputs || OutputD >= outputs))
                throw new EntkArgumentException(paramName, Check.Inv($"a block (c, d) with c, d < C = {outputs}"), Check.Inv($"Block({OutputC}, {OutputD})"));
        }

        /// <summary>Applies the reduction to a full (N1, N2, C, C) tensor.</summary>
        internal Tensor Apply(Tensor full)
        {
            long n1 = full.shape[0], n2 = full.shape[1], c = full.shape[2];
            return Kind switch
            {
                KernelReductionKind.FlattenClassMajor => full.permute(2, 0, 3, 1).reshape(c * n1, c * n2),
                KernelReductionKind.FlattenSampleMajor => full.permute(0, 2, 1, 3).reshape(n1 * c, n2 * c),
                KernelReductionKind.TraceMean => full.diagonal(0, 2, 3).sum(-1) / (double)c,
                KernelReductionKind.TraceSum => full.diagonal(0, 2, 3).sum(-1),
                KernelReductionKind.AllPairsMean => full.sum(new long[] { 2, 3 }) / (double)(c * c),
                KernelReductionKind.Block => full.select(3, OutputD).select(2, OutputC),
                _ => throw new InvalidOperationException(),
            };
        }

        /// <inheritdoc />
        public bool Equals(KernelReduction? other) => other is not null && other.Kind == Kind && other.OutputC == OutputC && other.OutputD == OutputD;

        /// <inheritdoc />
        public override bool Equals(object? obj) => obj is KernelReduction r && Equals(r);

        /// <inheritdoc />
        public override int GetHashCode() => HashCode.Combine(Kind, OutputC, OutputD);

        /// <summary>The name, e.g. "TraceMean" or "Block(4, 5)".</summary>
        /// <returns>The name.</returns>
        public override string ToString() => Kind == KernelReductionKind.Block
            ? string.Format(CultureInfo.InvariantCulture, "Block({0}, {1})", OutputC, OutputD)
            : Kind.ToString();
    }
}

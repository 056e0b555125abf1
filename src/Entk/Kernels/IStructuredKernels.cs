using System.Collections.Generic;
using static TorchSharp.torch;

namespace Entk.Kernels
{
    /// <summary>
    /// Structured-derivative rules a model may provide. Every rule returns, for each parameter tensor
    /// of the layout, that tensor's contribution to the kernel, either as a full (N1, N2, C, C) tensor or
    /// already reduced (N1, N2) for the non-flattened reductions; or null when the model has no rule
    /// for the request (the engine then reports that Structured is unavailable).
    /// </summary>
    internal interface IStructuredKernels
    {
        /// <summary>Whether a rule exists for this reduction.</summary>
        bool Supports(KernelReduction reduction);

        /// <summary>Estimated peak bytes of the rule for N1, N2 samples.</summary>
        long EstimateBytes(KernelReduction reduction, long n1, long n2);

        /// <summary>Per-tensor kernel contributions. x2 is null when x2 = x1. s = output scales I_c^{β/2}.</summary>
        Tensor[] PerTensor(Tensor x1, Tensor? x2, KernelReduction reduction, double[] s);

        /// <summary>Closed-form per-tensor Jacobians (N, C, count_t) scaled by s, or null if not provided.</summary>
        Tensor[]? Jacobians(Tensor x, double[] s);

        /// <summary>
        /// The parameter-side Gram matrix J̃ᵀJ̃ (P × P, layout order) of the s-scaled Jacobian without forming
        /// J̃, or null when the model has no such rule.
        /// </summary>
        Tensor? ParameterGram(Tensor x, double[] s) => null;

        /// <summary>
        /// The parameter-side Gram matrix restricted to the orthogonal complement of directions the model is exactly
        /// invariant under (so J̃ vanishes on them), or null when the model has no such symmetry rule. The nonzero
        /// spectrum equals that of the full Gram matrix; the smaller matrix is cheaper to decompose.
        /// </summary>
        /// <param name="gram">The full Gram matrix from <see cref="ParameterGram"/> (P × P).</param>
        ReducedGram? SymmetryReduce(Tensor gram) => null;

        /// <summary>The product J̃·V (result (N, C, k)) for V of shape (P, k), or null when not provided.</summary>
        Tensor? JacobianProduct(Tensor x, double[] s, Tensor v) => null;

        /// <summary>
        /// The flattened kernel as an operator on sample-major blocks: v of shape (N, C, b) ↦ K·v of shape (N, C, b),
        /// plus trace(K); or null when the model has no structured rule.
        /// </summary>
        StructuredOperator? FlatOperator(Tensor x, double[] s) => null;

        /// <summary>Bytes the flattened-kernel operator of <see cref="FlatOperator"/> holds for N samples (factors and one product block).</summary>
        long OperatorBytes(long n, int outputs, long parameters, int inputWidth) =>
            MemoryBudget.Sum(MemoryBudget.Product(8, n, outputs + inputWidth, 16), MemoryBudget.Product(8, parameters, 16), MemoryBudget.Product(8, n, outputs, KernelOperator.ColumnChunk, 4));
    }

    /// <summary>
    /// A Gram matrix G' = QᵀGQ (P' × P') in an orthonormal basis Q (P × P') of a subspace that contains the
    /// row space of J̃, and the map Q: reduced coordinates (P' × k) ↦ parameter coordinates (P × k).
    /// </summary>
    internal sealed class ReducedGram
    {
        public ReducedGram(Tensor gram, System.Func<Tensor, Tensor> lift, string description)
        {
            Gram = gram;
            Lift = lift;
            Description = description;
        }

        /// <summary>G' (P' × P').</summary>
        public Tensor Gram { get; }

        /// <summary>V' (P' × k) ↦ Q·V' (P × k); preserves orthonormality.</summary>
        public System.Func<Tensor, Tensor> Lift { get; }

        /// <summary>What was removed, for messages.</summary>
        public string Description { get; }
    }

    /// <summary>A structured flattened-kernel operator: K·v on (N, C, b) blocks and trace(K).</summary>
    internal sealed class StructuredOperator
    {
        public StructuredOperator(System.Func<Tensor, Tensor> apply, double trace)
        {
            Apply = apply;
            Trace = trace;
        }

        /// <summary>(N, C, b) ↦ (N, C, b).</summary>
        public System.Func<Tensor, Tensor> Apply { get; }

        /// <summary>trace(K).</summary>
        public double Trace { get; }
    }
}

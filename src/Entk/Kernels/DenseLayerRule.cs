using System;
using static TorchSharp.torch;

namespace Entk.Kernels
{
    /// <summary>
    /// The structured rule for one dense layer z = s·W a + σ_b·b inside a network. With the backpropagated
    /// signals δ_c(x) = ∂f_c(x)/∂z (shape (N, C, out)) and layer inputs a(x) (shape (N, in)):
    /// K^W_cd(x, x') = s² (a·a') (δ_c·δ'_d) and K^b_cd(x, x') = σ_b² (δ_c·δ'_d).
    /// The (N·C) × (in·out) Jacobian is never formed.
    /// </summary>
    internal static class DenseLayerRule
    {
        /// <summary>
        /// The layer's kernel contribution: a full (N1, N2, C, C) tensor for flattened reductions, the final
        /// reduced (N1, N2) matrix otherwise. a1/a2 null means a ≡ 1 (a bias). alpha = s² or σ_b².
        /// </summary>
        public static Tensor Kernel(Tensor? a1, Tensor? a2, Tensor d1, Tensor d2, double alpha, KernelReduction r)
        {
            long n1 = d1.shape[0], n2 = d2.shape[0], c = d1.shape[1], o = d1.shape[2];
            Tensor? gramA = a1 is null ? null : a1.mm(a2!.t());
            Tensor k;
            switch (r.Kind)
            {
                case KernelReductionKind.FlattenClassMajor:
                case KernelReductionKind.FlattenSampleMajor:
                    k = d1.reshape(n1 * c, o).mm(d2.reshape(n2 * c, o).t()).reshape(n1, c, n2, c).permute(0, 2, 1, 3);
                    if (gramA is not null) k = k * gramA.unsqueeze(2).unsqueeze(3);
                    return alpha == 1 ? k : k * alpha;
                case KernelReductionKind.TraceSum:
                case KernelReductionKind.TraceMean:
                    k = d1.reshape(n1, c * o).mm(d2.reshape(n2, c * o).t());
                    if (r.Kind == KernelReductionKind.TraceMean) k = k / (double)c;
                    break;
                case KernelReductionKind.AllPairsMean:
                    k = d1.sum(1).mm(d2.sum(1).t()) / (double)(c * c);
                    break;
                case KernelReductionKind.Block:
                    k = d1.select(1, r.OutputC).mm(d2.select(1, r.OutputD).t());
                    break;
                default:
                    throw new InvalidOperationException();
            }
            if (gramA is not null) k = k * gramA;
            return alpha == 1 ? k : k * alpha;
        }

        /// <summary>Closed-form Jacobian of the weight: J[n, c, i·in + j] = s δ[n, c, i] a[n, j].</summary>
        public static Tensor WeightJacobian(Tensor a, Tensor d, double s)
        {
            long n = d.shape[0], c = d.shape[1], o = d.shape[2], i = a.shape[1];
            return (d.unsqueeze(3) * a.unsqueeze(1).unsqueeze(2) * s).reshape(n, c, o * i);
        }
    }
}

using System;
using TorchSharp;
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
        /// reduced (N1, N2) matrix otherwise. gramA = (a(x)·a(x')) (N1 × N2), null for a bias (a ≡ 1). alpha = s² or σ_b².
        /// </summary>
        public static Tensor Kernel(Tensor? gramA, Tensor d1, Tensor d2, double alpha, KernelReduction r)
        {
            long n1 = d1.shape[0], n2 = d2.shape[0], c = d1.shape[1], o = d1.shape[2];
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

        /// <summary>
        /// K·v for one dense factor of the flattened kernel, K_f = alpha · J_f J_fᵀ with J_f row (n, c) = δ_nc ⊗ a_n:
        /// Jᵀv = Σ_n (Σ_c v_nc δ_nc) ⊗ a_n (an out × in matrix per column of v), then (J M)_nc = δ_nc · (M a_n).
        /// v, result: (N, C, b). a null means a ≡ 1 (a bias). With one-hot pair indices (n-index, p + m-index)
        /// instead of a, the products with a are index gathers/scatters and a is never formed.
        /// Cost O(N·C·out·b + N·out·in·b) (O(N·C·out·b) for one-hot inputs).
        /// </summary>
        public static Tensor Matvec(Tensor? a, OneHotPairs? oneHot, Tensor d, double alpha, Tensor v)
        {
            long n = d.shape[0], o = d.shape[2], b = v.shape[2];
            var z = d.transpose(1, 2).bmm(v);                              // (N, out, b): Σ_c δ_nc v_nc
            Tensor y;
            if (oneHot is not null)
            {
                var zb = z.permute(1, 2, 0);                                // (out, b, N)
                var m = torch.zeros(new long[] { o, b, oneHot.Width }, ScalarType.Float64);
                m.index_add_(2, oneHot.First, zb, 1.0);
                m.index_add_(2, oneHot.Second, zb, 1.0);
                var t = m.index_select(2, oneHot.First) + m.index_select(2, oneHot.Second);   // (out, b, N)
                y = t.permute(2, 0, 1);                                     // (N, out, b)
            }
            else if (a is null)
            {
                y = z.sum(new long[] { 0 }, true).expand(n, o, b);          // Σ_n z_n, same for every n
            }
            else
            {
                long i = a.shape[1];
                var m = z.permute(2, 1, 0).reshape(b * o, n).mm(a);          // (b·out, in)
                y = m.mm(a.t()).reshape(b, o, n).permute(2, 1, 0);          // (N, out, b)
            }
            var r = d.bmm(y.contiguous());                                  // (N, C, b)
            return alpha == 1 ? r : r * alpha;
        }

        /// <summary>
        /// K·v for a dense layer whose backpropagated signal is separable, δ_nc = κ · (W̃[c, :] ∘ g_n) (the last hidden layer
        /// of a network with a linear readout W̃, g = the activation derivative times anything per sample). Everything is a
        /// GEMM over N·b rows: z_n = κ g_n ∘ (W̃ᵀ v_n), M = Σ_n z_n ⊗ a_n, (J M)_nc = κ W̃[c, :]·(g_n ∘ M a_n).
        /// v, result: (N, C, b); wt: (C, out); g: (N, out); a: (N, in) or one-hot pairs.
        /// </summary>
        public static Tensor SeparableMatvec(Tensor? a, OneHotPairs? oneHot, Tensor wt, Tensor g, double kappa, Tensor v)
        {
            long n = v.shape[0], c = v.shape[1], b = v.shape[2], o = wt.shape[1];
            var z = v.permute(0, 2, 1).reshape(n * b, c).mm(wt).reshape(n, b, o) * g.unsqueeze(1);   // (N, b, out), κ applied at the end
            var zf = z.reshape(n, b * o);
            Tensor t;
            if (oneHot is not null)
            {
                var m = torch.zeros(new long[] { oneHot.Width, b * o }, ScalarType.Float64);
                m.index_add_(0, oneHot.First, zf, 1.0);
                m.index_add_(0, oneHot.Second, zf, 1.0);
                t = m.index_select(0, oneHot.First) + m.index_select(0, oneHot.Second);          // (N, b·out)
            }
            else if (a is null)
            {
                t = zf.sum(new long[] { 0 }, true).expand(n, b * o);
            }
            else
            {
                t = a.mm(a.t().mm(zf));                                                          // (N, b·out)
            }
            var y = (t.reshape(n, b, o) * g.unsqueeze(1)).reshape(n * b, o).mm(wt.t()).reshape(n, b, c).permute(0, 2, 1);
            return y * (kappa * kappa);
        }

        /// <summary>K·v for a readout layer (δ_nc = s_c e_c): (K v)[n, c] = s_c Σ_m (a_n·a_m) s_c v[m, c]; two GEMMs.</summary>
        public static Tensor ReadoutMatvec(Tensor a, Tensor s, Tensor v)
        {
            long n = v.shape[0], c = v.shape[1], b = v.shape[2];
            var z = (v * s.reshape(1, c, 1)).reshape(n, c * b);
            var t = a.mm(a.t().mm(z)).reshape(n, c, b);
            return t * s.reshape(1, c, 1);
        }

        /// <summary>trace of one dense factor: alpha · Σ_n ‖a_n‖² Σ_c ‖δ_nc‖².</summary>
        public static double Trace(Tensor? a, OneHotPairs? oneHot, Tensor d, double alpha)
        {
            var dn = d.pow(2).sum(new long[] { 1, 2 });                     // (N)
            Tensor an = oneHot is not null ? torch.full(new long[] { d.shape[0] }, 2.0, ScalarType.Float64)   // ‖e_i + e_j‖² = 2
                : a is null ? torch.ones(d.shape[0], ScalarType.Float64) : a.pow(2).sum(new long[] { 1 });
            return alpha * (dn * an).sum().item<double>();
        }

        /// <summary>Closed-form Jacobian of the weight: J[n, c, i·in + j] = s δ[n, c, i] a[n, j].</summary>
        public static Tensor WeightJacobian(Tensor a, Tensor d, double s)
        {
            long n = d.shape[0], c = d.shape[1], o = d.shape[2], i = a.shape[1];
            return (d.unsqueeze(3) * a.unsqueeze(1).unsqueeze(2) * s).reshape(n, c, o * i);
        }
    }

    /// <summary>
    /// Inputs that are concatenations of two one-hot vectors, stored as indices: row n is e_{First[n]} + e_{Second[n]}
    /// in R^Width (First in [0, p), Second in [p, 2p) for the modular MLP).
    /// </summary>
    internal sealed class OneHotPairs
    {
        private OneHotPairs(Tensor first, Tensor second, long width)
        {
            First = first;
            Second = second;
            Width = width;
        }

        public Tensor First { get; }

        public Tensor Second { get; }

        public long Width { get; }

        /// <summary>Detaches the index tensors from the current dispose scope (for long-lived operators).</summary>
        public OneHotPairs Detached()
        {
            First.DetachFromDisposeScope();
            Second.DetachFromDisposeScope();
            return this;
        }

        /// <summary>Gram matrix x·x' = [first = first'] + [second = second'] (N1 × N2).</summary>
        public Tensor Gram(OneHotPairs other) =>
            First.unsqueeze(1).eq(other.First.unsqueeze(0)).to(ScalarType.Float64) + Second.unsqueeze(1).eq(other.Second.unsqueeze(0)).to(ScalarType.Float64);

        /// <summary>W·x_n for every n (W: out × Width) by gathering two columns: (N, out).</summary>
        public Tensor Project(Tensor w) => (w.index_select(1, First) + w.index_select(1, Second)).t();

        /// <summary>Detects rows with exactly two entries equal to 1, one in each half, zeros elsewhere; null otherwise.</summary>
        public static OneHotPairs? Detect(Tensor x)
        {
            long n = x.shape[0], w = x.shape[1];
            if (w % 2 != 0 || n == 0) return null;
            long p = w / 2;
            var left = x.narrow(1, 0, p);
            var right = x.narrow(1, p, p);
            bool ok = left.eq(0).logical_or(left.eq(1)).all().item<bool>() && right.eq(0).logical_or(right.eq(1)).all().item<bool>()
                      && left.sum(new long[] { 1 }).eq(1).all().item<bool>() && right.sum(new long[] { 1 }).eq(1).all().item<bool>();
            if (!ok) return null;
            return new OneHotPairs(left.argmax(1), right.argmax(1) + p, w);
        }
    }
}

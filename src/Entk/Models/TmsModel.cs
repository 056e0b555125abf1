using System;
using System.Collections.Generic;
using System.Linq;
using Entk.Internal;
using Entk.Kernels;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Models
{
    /// <summary>
    /// The Toy Model of Superposition's ReLU output model f(x) = ReLU(Wᵀ W x + b) with n features and
    /// m hidden dimensions: W ∈ R^{m×n} (tensor "W", shape [m, n]) and b ∈ R^n (tensor "b", shape [n]),
    /// in that order in θ (P = m·n + n). Outputs: C = n (output c reconstructs feature c). The ReLU
    /// derivative at 0 is 0 (PyTorch convention). Structured rules: the closed-form kernel of
    /// docs/paper-notes.md §1.10, K_cd(x,x') = g_c g'_d [δ_cd(1 + h·h') + x'_c (W_:d·h) + x_d (W_:c·h') + (WᵀW)_cd
    /// (x·x')] with h = Wx and g_c = 1[pre_c &gt; 0], and the closed-form Jacobian.
    /// </summary>
    public sealed class TmsModel : FunctionalModel, IStructuredKernels
    {
        private TmsModel(int features, int hidden, IReadOnlyList<double> theta)
            : base(Check.Inv($"tms(n={features}, m={hidden})"), MakeLayout(features, hidden), features, features, theta)
        {
            Features = features;
            Hidden = hidden;
        }

        private static ParameterLayout MakeLayout(int n, int m) =>
            new(new[] { "W", "b" }, new IReadOnlyList<int>[] { new[] { m, n }, new[] { n } });

        /// <summary>Number of features n (= inputs = outputs).</summary>
        public int Features { get; }

        /// <summary>Hidden dimension m.</summary>
        public int Hidden { get; }

        /// <summary>W as an m × n matrix.</summary>
        public Matrix W => Matrix.Wrap(Hidden, Features, Theta.Slice(0, Hidden * Features).ToArray());

        /// <summary>b, length n (a read-only copy).</summary>
        public IReadOnlyList<double> B => Array.AsReadOnly(Theta.Slice(Hidden * Features, Features).ToArray());

        /// <summary>Creates the model from W (m × n) and b (length n).</summary>
        /// <param name="w">W, m × n.</param>
        /// <param name="b">b, length n.</param>
        /// <returns>The model.</returns>
        /// <exception cref="ShapeMismatchException">b's length differs from W's column count.</exception>
        public static TmsModel FromWeights(Matrix w, IReadOnlyList<double> b)
        {
            Check.NotNull(w, nameof(w));
            Check.NotNull(b, nameof(b));
            if (w.Rows == 0 || w.Columns == 0) throw new ShapeMismatchException(nameof(w), "[m, n] with m, n ≥ 1", Check.Shape(w.Rows, w.Columns));
            if (b.Count != w.Columns) throw new ShapeMismatchException(nameof(b), Check.Inv($"[{w.Columns}]"), Check.Inv($"[{b.Count}]"), "b has one entry per feature (column of W).");
            return new TmsModel(w.Columns, w.Rows, w.Span.ToArray().Concat(b).ToArray());
        }

        /// <summary>Creates the model from θ = [vec(W) row-major, b].</summary>
        /// <param name="features">n.</param>
        /// <param name="hidden">m.</param>
        /// <param name="parameters">θ, length m·n + n.</param>
        /// <returns>The model.</returns>
        public static TmsModel FromParameters(int features, int hidden, IReadOnlyList<double> parameters)
        {
            Check.Positive(features, nameof(features));
            Check.Positive(hidden, nameof(hidden));
            return new TmsModel(features, hidden, parameters);
        }

        /// <summary>
        /// The same architecture at other parameters θ′, typed as <see cref="TmsModel"/> (hides the base method,
        /// which returns <see cref="FunctionalModel"/>): callers keep the model's own members without a
        /// downcast, which F# would otherwise need to write as <c>:?&gt;</c> (e.g. <c>(tms.WithParameters theta).W</c>).
        /// </summary>
        /// <param name="parameters">θ′, length P (copied).</param>
        /// <returns>A new model; this one is unchanged.</returns>
        /// <exception cref="ShapeMismatchException">θ′ has the wrong length.</exception>
        /// <exception cref="NonFiniteValueException">θ′ contains NaN or ±Infinity.</exception>
        public new TmsModel WithParameters(IReadOnlyList<double> parameters) => (TmsModel)base.WithParameters(parameters);

        /// <inheritdoc />
        protected override FunctionalModel Rebuild(double[] parameters) => new TmsModel(Features, Hidden, parameters);

        /// <inheritdoc />
        protected override bool SupportsPerSampleParameters => true;

        /// <inheritdoc />
        protected override Tensor Forward(Tensor x, IReadOnlyList<Tensor> p)
        {
            var h = x.mm(p[0].t());                                   // (N, m)
            return torch.nn.functional.relu(h.mm(p[0]) + p[1]);       // (N, n)
        }

        /// <inheritdoc />
        protected override Tensor? ForwardPerSample(Tensor x, IReadOnlyList<Tensor> p)
        {
            var w = p[0];                                             // (N, m, n)
            var h = w.bmm(x.unsqueeze(2));                            // (N, m, 1)
            var pre = w.transpose(1, 2).bmm(h).squeeze(2) + p[1];     // (N, n)
            return torch.nn.functional.relu(pre);
        }

        internal override IStructuredKernels? Structured => this;

        /// <summary>h = W x (N, m), g = 1[pre &gt; 0] (N, n), W tensor.</summary>
        private (Tensor h, Tensor g, Tensor w) Signals(Tensor x)
        {
            var ps = ParameterTensors();
            var h = x.mm(ps[0].t());
            var pre = h.mm(ps[0]) + ps[1];
            return (h, (pre > 0).to(ScalarType.Float64), ps[0]);
        }

        bool IStructuredKernels.Supports(KernelReduction reduction) => true;

        // The closed form builds the full (N1, N2, C, C) tensor with about ten full-size temporaries.
        long IStructuredKernels.EstimateBytes(KernelReduction reduction, long n1, long n2) => 8L * n1 * n2 * Features * Features * 12;

        Tensor[] IStructuredKernels.PerTensor(Tensor x1, Tensor? x2, KernelReduction reduction, double[] s)
        {
            var xb = x2 ?? x1;
            var (h1, g1, w) = Signals(x1);
            var (h2, g2, _) = x2 is null ? (h1, g1, w) : Signals(xb);
            var sv = Torch.TorchOps.ToTensor(s, s.Length);
            var gs1 = g1 * sv;                                         // (N1, C) with s_c
            var gs2 = g2 * sv;
            var gate = gs1.unsqueeze(1).unsqueeze(3) * gs2.unsqueeze(0).unsqueeze(2);   // [n1, n2, c, d] = s_c g_c(x) s_d g_d(x')
            var eye = torch.eye(Features, dtype: ScalarType.Float64).unsqueeze(0).unsqueeze(0);
            var kb = gate * eye;
            var a1 = h1.mm(w);                                         // (N1, C): W_:d·h
            var a2 = h2.mm(w);                                         // (N2, C): W_:c·h'
            var wtw = w.t().mm(w);                                     // (C, C)
            var hh = h1.mm(h2.t()).unsqueeze(2).unsqueeze(3);
            var xx = x1.mm(xb.t()).unsqueeze(2).unsqueeze(3);
            var t = eye * hh
                    + xb.unsqueeze(0).unsqueeze(3) * a1.unsqueeze(1).unsqueeze(2)       // x'_c (W_:d·h)
                    + x1.unsqueeze(1).unsqueeze(2) * a2.unsqueeze(0).unsqueeze(3)       // x_d (W_:c·h')
                    + wtw.unsqueeze(0).unsqueeze(0) * xx;
            return new[] { gate * t, kb };
        }

        /// <summary>
        /// G = J̃ᵀJ̃ by structure, with weights w_nc = s_c² g_nc (g ∈ {0, 1}):
        /// G_WW[(k,l),(k',l')] = δ_ll' Σ_n w_nl h_nk h_nk' + B[l,k,l'] W_k'l + B[l',k',l] W_kl' + Σ_c W_kc W_k'c S_c[l,l'],
        /// with B[l,k,q] = Σ_n w_nl h_nk x_nq and S_c = Xᵀ diag(w_:c) X;
        /// G_Wb[(k,l),d] = δ_ld Σ_n w_nd h_nk + W_kd Σ_n w_nd x_nl;  G_bb = diag(Σ_n w_nd).
        /// Cost O(N·n·m·(m + n) + n·m²·n²) instead of O(N·n·P²).
        /// </summary>
        Tensor? IStructuredKernels.ParameterGram(Tensor x, double[] s)
        {
            var (h, g, w) = Signals(x);
            int n = Features, m = Hidden;
            var sv = Torch.TorchOps.ToTensor(s, s.Length);
            var wt = g * (sv * sv);                                              // (N, n): w_nc
            var wtT = wt.t().unsqueeze(2);                                       // (n, N, 1)
            var wh = wtT * h.unsqueeze(0);                                       // (n, N, m): w_nl h_nk
            var a = wh.transpose(1, 2).bmm(h.unsqueeze(0).expand(n, h.shape[0], m));   // (n, m, m): A[l,k,k']
            var b = wh.transpose(1, 2).bmm(x.unsqueeze(0).expand(n, x.shape[0], n));   // (n, m, n): B[l,k,q]
            var wx = wtT * x.unsqueeze(0);                                       // (n, N, n): w_nc x_nl
            var sc = wx.transpose(1, 2).bmm(x.unsqueeze(0).expand(n, x.shape[0], n));  // (n, n, n): S[c,l,l']
            // G is assembled in place (one P × P allocation plus two m·n × m·n temporaries): on machines where fresh
            // memory is expensive (page faults) this matters as much as the FLOPs.
            long pw = (long)m * n;
            var gram = torch.zeros(new long[] { pw + n, pw + n }, ScalarType.Float64);
            var gww = gram.narrow(0, 0, pw).narrow(1, 0, pw);
            var g4 = gww.view(m, n, m, n);                                       // [k, l, k', l']
            // Term a: δ_ll' A[l,k,k'] on the (l = l') diagonal.
            g4.diagonal(0, 1, 3).copy_(a.permute(1, 2, 0));                      // [k, k', l]
            // Terms b and c: B[l,k,l'] W[k',l] → [k, l, k', l'], plus its transpose.
            var gb = (b.permute(1, 0, 2).unsqueeze(2) * w.t().unsqueeze(0).unsqueeze(3)).reshape(pw, pw);
            gww.add_(gb);
            gww.add_(gb.t());
            // Term d: Σ_c W_kc W_k'c S[c,l,l'].
            var ww = (w.unsqueeze(1) * w.unsqueeze(0)).reshape((long)m * m, n);  // [(k,k'), c]
            g4.add_(ww.mm(sc.reshape(n, (long)n * n)).view(m, m, n, n).permute(0, 2, 1, 3));
            var e1 = wt.t().mm(h);                                               // (n, m): E1[d,k]
            var e2 = wt.t().mm(x);                                               // (n, n): E2[d,l]
            var eyeN = torch.eye(n, dtype: ScalarType.Float64);
            var gwb1 = e1.t().unsqueeze(1) * eyeN.unsqueeze(0);                  // [k, l, d] = δ_ld E1[d,k]
            var gwb2 = w.unsqueeze(1) * e2.t().unsqueeze(0);                     // [k, l, d] = W_kd E2[d,l]
            var gwb = (gwb1 + gwb2).reshape(pw, n);
            gram.narrow(0, 0, pw).narrow(1, pw, n).copy_(gwb);
            gram.narrow(0, pw, n).narrow(1, 0, pw).copy_(gwb.t());
            gram.narrow(0, pw, n).narrow(1, pw, n).copy_(torch.diag(wt.sum(dim: 0)));
            return gram;
        }

        /// <summary>
        /// f depends on W only through WᵀW, so f(QW) = f(W) for every orthogonal Q (m × m): the m(m−1)/2 directions
        /// δW = A·W (A antisymmetric) lie in the null space of J̃ exactly, for every input. With the full SVD
        /// W = U·Σ·V_fullᵀ (needs 2 ≤ m ≤ n) and rotated coordinates Z = Uᵀ·δW·V_full (m × n), those directions are
        /// Z_ij = σ_j, Z_ji = −σ_i for i &lt; j &lt; m. The reduced orthonormal basis keeps Z_ii, Z_ij for j ≥ m, the
        /// combinations (σ_i·Z_ij + σ_j·Z_ji)/√(σ_i² + σ_j²) and b: P' = P − m(m−1)/2 (pairs with σ_i = σ_j = 0 are kept whole).
        /// G' = QᵀGQ is assembled by two Kronecker rotations (O((m + n)·P²)) and row/column gathers.
        /// </summary>
        ReducedGram? IStructuredKernels.SymmetryReduce(Tensor gram)
        {
            int n = Features, m = Hidden;
            if (m < 2 || m > n) return null;
            var w = ParameterTensors()[0];
            var (u, sv, vh) = torch.linalg.svd(w, fullMatrices: true);            // u (m, m), sv (m), vh (n, n)
            var v = vh.t().contiguous();                                          // V_full (n, n)
            long pw = (long)m * n, p = pw + n;
            // W-rows (k, l) of M (m·n × q) ↦ rows (i, j) = Σ_kl U_ki V_lj M[(k,l), :], i.e. Tᵀ·M with T = U ⊗ V_full.
            Tensor RotateW(Tensor mat)
            {
                long q = mat.shape[1];
                var t1 = u.t().mm(mat.reshape(m, n * q)).view(m, n, q);
                return v.t().unsqueeze(0).matmul(t1).view(pw, q);
            }
            var sig = Torch.TorchOps.ToArray(sv);
            var idx1 = new List<long>();
            var idx2 = new List<long>();
            var w1 = new List<double>();
            var w2 = new List<double>();
            void Keep(long a)
            {
                idx1.Add(a);
                idx2.Add(a);
                w1.Add(1.0);
                w2.Add(0.0);
            }
            int removed = 0;
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    long a = (long)i * n + j;
                    if (j == i || j >= m)
                    {
                        Keep(a);
                    }
                    else if (j > i)
                    {
                        long t = (long)j * n + i;
                        double r = Math.Sqrt(sig[i] * sig[i] + sig[j] * sig[j]);
                        if (r > 0)
                        {
                            idx1.Add(a);
                            idx2.Add(t);
                            w1.Add(sig[i] / r);
                            w2.Add(sig[j] / r);
                            removed++;
                        }
                        else
                        {
                            Keep(a);
                            Keep(t);
                        }
                    }
                }
            }
            long prw = idx1.Count, pr = prw + n;
            var i1 = torch.tensor(idx1.ToArray(), ScalarType.Int64);
            var i2 = torch.tensor(idx2.ToArray(), ScalarType.Int64);
            var a1 = torch.tensor(w1.ToArray(), ScalarType.Float64).unsqueeze(1);
            var a2 = torch.tensor(w2.ToArray(), ScalarType.Float64).unsqueeze(1);
            // Sᵀ·(rotated W-rows): each kept W coordinate is one rotated row or a two-row combination.
            Tensor GatherW(Tensor rot) => rot.index_select(0, i1).mul_(a1).add_(rot.index_select(0, i2).mul_(a2));
            // Qᵀ·M for M (P × q): rotated and gathered W-rows, bias rows unchanged.
            Tensor ApplyQt(Tensor mat) => torch.cat(new[] { GatherW(RotateW(mat.narrow(0, 0, pw))), mat.narrow(0, pw, n) }, 0);
            var rows = ApplyQt(gram);                                             // Qᵀ·G (P' × P)
            var reduced = ApplyQt(rows.t());                                      // Qᵀ·(G·Q) = QᵀGQ (G symmetric)
            Tensor Lift(Tensor vr)
            {
                long k = vr.shape[1];
                var vw = vr.narrow(0, 0, prw);
                var z = torch.zeros(new long[] { pw, k }, ScalarType.Float64);
                z.index_add_(0, i1, vw * a1, 1.0);
                z.index_add_(0, i2, vw * a2, 1.0);
                var t1 = u.mm(z.view(m, n * k)).view(m, n, k);                    // Σ_i U_ki Z[i, j, :]
                var dw = v.unsqueeze(0).matmul(t1);                                // Σ_j V_lj t1[k, j, :]
                return torch.cat(new[] { dw.reshape(pw, k), vr.narrow(0, prw, n) }, 0);
            }
            return new ReducedGram(reduced, Lift, Check.Inv($"the {removed} rotation directions δW = A·W (A antisymmetric; P' = {pr} of {p})"));
        }

        /// <summary>J̃·V by structure: (N, C, k) with u[n,c,i] = s_c g_nc (Σ_k h_nk V_W[k,c,i] + Σ_k W_kc Σ_l x_nl V_W[k,l,i] + V_b[c,i]).</summary>
        Tensor? IStructuredKernels.JacobianProduct(Tensor x, double[] s, Tensor v)
        {
            var (h, g, w) = Signals(x);
            int n = Features, m = Hidden;
            long k = v.shape[1], nn = x.shape[0];
            var vw = v.narrow(0, 0, (long)m * n).reshape(m, n, k);
            var vb = v.narrow(0, (long)m * n, n);                                // (n, k)
            var t1 = h.mm(vw.reshape(m, n * k)).reshape(nn, n, k);              // Σ_k h_nk V_W[k,c,i]
            var z = x.mm(vw.permute(1, 0, 2).reshape(n, m * k)).reshape(nn, m, k);  // Z[n,k,i] = Σ_l x_nl V_W[k,l,i]
            var t2 = z.permute(0, 2, 1).matmul(w).permute(0, 2, 1);              // (N, C, k): Σ_k W_kc Z[n,k,i]
            var gs = g * Torch.TorchOps.ToTensor(s, s.Length);
            return (t1 + t2 + vb.unsqueeze(0)) * gs.unsqueeze(2);
        }

        /// <summary>K·v = J̃(J̃ᵀv) on (N, C, b) blocks, with J̃ᵀu by structure: V_W = Hᵀ(u∘gs) + W·(u∘gs)ᵀX per column, V_b = Σ_n (u∘gs).</summary>
        StructuredOperator? IStructuredKernels.FlatOperator(Tensor x, double[] s)
        {
            var xs = x.clone().DetachFromDisposeScope();
            var (h, g, w) = Signals(xs);
            var gs = (g * Torch.TorchOps.ToTensor(s, s.Length)).DetachFromDisposeScope();
            h.DetachFromDisposeScope();
            w.DetachFromDisposeScope();
            int n = Features, m = Hidden;
            long nn = xs.shape[0];
            var self = (IStructuredKernels)this;
            // trace(K) = Σ_{n,c} ‖J̃_nc‖² = Σ_{n,c} gs² (‖h_n‖² + 2 h_n·W_:c x_nc + ‖W_:c‖² ‖x_n‖² + 1)
            var wc = h.mm(w);                                                  // (N, C): h_n·W_:c
            var rowNorm = (h.pow(2).sum(new long[] { 1 }, true) + 2 * wc * xs + w.pow(2).sum(new long[] { 0 }).unsqueeze(0) * xs.pow(2).sum(new long[] { 1 }, true) + 1);
            double trace = (gs.pow(2) * rowNorm).sum().item<double>();
            return new StructuredOperator(u =>
            {
                long b = u.shape[2];
                var ug = u * gs.unsqueeze(2);                                   // (N, C, b)
                var t1 = h.t().mm(ug.reshape(nn, (long)n * b)).reshape(m, n, b);
                var q = ug.permute(1, 2, 0).reshape((long)n * b, nn).mm(xs).reshape(n, b, n);   // (C, b, l)
                var t2 = w.mm(q.reshape(n, b * n)).reshape(m, b, n).permute(0, 2, 1);          // (m, l, b)
                var vw = (t1 + t2).reshape((long)m * n, b);
                var vb = ug.sum(new long[] { 0 });                               // (C, b)
                var v = torch.cat(new[] { vw, vb }, 0);
                return self.JacobianProduct(xs, s, v)!;
            }, trace);
        }

        Tensor[]? IStructuredKernels.Jacobians(Tensor x, double[] s)
        {
            var (h, g, w) = Signals(x);
            long n = x.shape[0];
            int c = Features, m = Hidden;
            var gs = g * Torch.TorchOps.ToTensor(s, s.Length);         // (N, C)
            var eye = torch.eye(c, dtype: ScalarType.Float64);
            // J_W[n, c, k, l] = s_c g_c (h_k δ_lc + W_kc x_l)
            var t1 = h.unsqueeze(1).unsqueeze(3) * eye.unsqueeze(0).unsqueeze(2);      // (N, C, m, n): h_k δ_lc
            var t2 = w.t().unsqueeze(0).unsqueeze(3) * x.unsqueeze(1).unsqueeze(2);    // (N, C, m, n): W_kc x_l
            var jw = ((t1 + t2) * gs.unsqueeze(2).unsqueeze(3)).reshape(n, c, (long)m * c);
            var jb = gs.unsqueeze(2) * eye.unsqueeze(0);                               // (N, C, C)
            return new[] { jw, jb };
        }
    }
}

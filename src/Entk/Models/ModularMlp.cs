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
    /// The one-hidden-layer MLP on modular addition (Gromov's mean-field parametrisation, docs/paper-notes.md §2.2.1):
    /// f(x) = (1/H)·W2·((W1 x)/√(2p))² with x = concat(onehot_p(n), onehot_p(m)), W1 ∈ R^{H×2p}
    /// (tensor "W1"), W2 ∈ R^{p×H} (tensor "W2"), no biases. Outputs C = p. Structured rules: the
    /// dense-layer factorisation and, for traced kernels, the closed forms of docs/paper-notes.md §1.10:
    /// K_tr^(2) = (1/H²) Σ_j u_j² u'_j², K_tr^(1) = (4/(C H² 2p)) (x·x') Σ_j ‖W2_:j‖² u_j u'_j
    /// with u = W1 x / √(2p) (importance scales enter as Σ_c s_c² W2_cj²).
    /// </summary>
    public sealed class ModularMlp : FunctionalModel, IStructuredKernels
    {
        private ModularMlp(int p, int width, IReadOnlyList<double> theta)
            : base(Check.Inv($"modular-mlp(p={p}, H={width})"), MakeLayout(p, width), 2 * p, p, theta)
        {
            Modulus = p;
            Width = width;
        }

        private static ParameterLayout MakeLayout(int p, int h) =>
            new(new[] { "W1", "W2" }, new IReadOnlyList<int>[] { new[] { h, 2 * p }, new[] { p, h } });

        /// <summary>The modulus p.</summary>
        public int Modulus { get; }

        /// <summary>The hidden width H.</summary>
        public int Width { get; }

        /// <summary>W1, H × 2p.</summary>
        public Matrix W1 => Matrix.Wrap(Width, 2 * Modulus, Theta.Slice(0, Width * 2 * Modulus).ToArray());

        /// <summary>W2, p × H.</summary>
        public Matrix W2 => Matrix.Wrap(Modulus, Width, Theta.Slice(Width * 2 * Modulus, Modulus * Width).ToArray());

        /// <summary>Creates the model from W1 (H × 2p) and W2 (p × H).</summary>
        /// <param name="w1">W1.</param>
        /// <param name="w2">W2.</param>
        /// <returns>The model.</returns>
        public static ModularMlp FromWeights(Matrix w1, Matrix w2)
        {
            Check.NotNull(w1, nameof(w1));
            Check.NotNull(w2, nameof(w2));
            if (w1.Columns % 2 != 0 || w1.Columns < 6) throw new ShapeMismatchException(nameof(w1), "[H, 2p] with p ≥ 3", Check.Shape(w1.Rows, w1.Columns));
            int p = w1.Columns / 2;
            if (w2.Rows != p || w2.Columns != w1.Rows) throw new ShapeMismatchException(nameof(w2), Check.Inv($"[{p}, {w1.Rows}] (p × H)"), Check.Shape(w2.Rows, w2.Columns));
            return new ModularMlp(p, w1.Rows, w1.Span.ToArray().Concat(w2.Span.ToArray()).ToArray());
        }

        /// <summary>Creates the model from θ = [vec(W1), vec(W2)] (row-major).</summary>
        /// <param name="p">Modulus (≥ 3).</param>
        /// <param name="width">H.</param>
        /// <param name="parameters">θ, length 3·p·H.</param>
        /// <returns>The model.</returns>
        public static ModularMlp FromParameters(int p, int width, IReadOnlyList<double> parameters)
        {
            Check.InRange(p, 3, 100_000, nameof(p));
            Check.Positive(width, nameof(width));
            return new ModularMlp(p, width, parameters);
        }

        /// <summary>All p² inputs, row i = n·p + m holding concat(onehot(n), onehot(m)) (p² × 2p).</summary>
        /// <param name="p">Modulus (≥ 3).</param>
        /// <returns>The input matrix.</returns>
        /// <exception cref="MemoryBudgetExceededException">The 2·p³ numbers exceed the memory budget or one array's capacity (checked before allocating).</exception>
        public static Matrix AllInputs(int p)
        {
            Check.InRange(p, 3, 4096, nameof(p));
            int n = p * p;
            long elements = MemoryBudget.Product(n, 2L * p);
            MemoryBudget.Require(Check.Inv($"all p² inputs p² × 2p = {n} × {2 * p}"), elements > Array.MaxLength ? long.MaxValue : MemoryBudget.Product(8, elements), MemoryBudget.DefaultBytes,
                "Use a smaller modulus p (the inputs alone hold 2·p³ numbers).");
            var d = new double[elements];
            for (int a = 0; a < p; a++)
                for (int b = 0; b < p; b++)
                {
                    long row = (long)(a * p + b) * 2 * p;
                    d[row + a] = 1;
                    d[row + p + b] = 1;
                }
            return Matrix.Wrap(n, 2 * p, d);
        }

        /// <summary>The labels (n + m) mod p for all p² inputs in row order n·p + m.</summary>
        /// <param name="p">Modulus.</param>
        /// <returns>Labels.</returns>
        public static int[] AllLabels(int p)
        {
            Check.InRange(p, 3, 4096, nameof(p));
            var y = new int[p * p];
            for (int a = 0; a < p; a++)
                for (int b = 0; b < p; b++) y[a * p + b] = (a + b) % p;
            return y;
        }

        /// <summary>
        /// The same architecture at other parameters θ′, typed as <see cref="ModularMlp"/> (hides the base method,
        /// which returns <see cref="FunctionalModel"/>): callers keep the model's own members without a
        /// downcast, which F# would otherwise need to write as <c>:?&gt;</c> (e.g. <c>(mlp.WithParameters theta).W1</c>).
        /// </summary>
        /// <param name="parameters">θ′, length P (copied).</param>
        /// <returns>A new model; this one is unchanged.</returns>
        /// <exception cref="ShapeMismatchException">θ′ has the wrong length.</exception>
        /// <exception cref="NonFiniteValueException">θ′ contains NaN or ±Infinity.</exception>
        public new ModularMlp WithParameters(IReadOnlyList<double> parameters) => (ModularMlp)base.WithParameters(parameters);

        /// <inheritdoc />
        protected override FunctionalModel Rebuild(double[] parameters) => new ModularMlp(Modulus, Width, parameters);

        /// <inheritdoc />
        protected override bool SupportsPerSampleParameters => true;

        internal override long JacobianWorkBytesPerSample => 6L * ParameterCount * sizeof(double);

        private double InputScale => 1.0 / Math.Sqrt(2.0 * Modulus);

        /// <inheritdoc />
        protected override Tensor Forward(Tensor x, IReadOnlyList<Tensor> p)
        {
            var u = x.mm(p[0].t()) * InputScale;                  // (N, H)
            return (u * u).mm(p[1].t()) / Width;                  // (N, p)
        }

        /// <inheritdoc />
        protected override Tensor? ForwardPerSample(Tensor x, IReadOnlyList<Tensor> p)
        {
            var u = p[0].bmm(x.unsqueeze(2)) * InputScale;        // (N, H, 1)
            return p[1].bmm(u * u).squeeze(2) / Width;            // (N, p)
        }

        internal override IStructuredKernels? Structured => this;

        /// <summary>u = W1 x / √(2p): by gathering two columns of W1 when x holds one-hot pairs, by a product otherwise.</summary>
        private Tensor U(Tensor x, Tensor w1, OneHotPairs? oh) => (oh is not null ? oh.Project(w1) : x.mm(w1.t())) * InputScale;

        private static Tensor InputGram(Tensor x1, Tensor x2, OneHotPairs? o1, OneHotPairs? o2) =>
            o1 is not null && o2 is not null ? o1.Gram(o2) : x1.mm(x2.t());

        StructuredOperator? IStructuredKernels.FlatOperator(Tensor x, double[] s)
        {
            var ps = ParameterTensors();
            var oh = OneHotPairs.Detect(x)?.Detached();
            var u = U(x, ps[0], oh).DetachFromDisposeScope();
            double h = Width;
            int c = Modulus;
            var sv = Torch.TorchOps.ToTensor(s, c).clone().DetachFromDisposeScope();
            var wt = (sv.unsqueeze(1) * ps[1]).DetachFromDisposeScope();          // W̃ = diag(s) W2, (C, H)
            double kappa = 2.0 * InputScale / h;                                 // δ¹_nc = κ W̃[c, :] ∘ u_n
            var a2 = (u * u / h).DetachFromDisposeScope();                       // layer-2 inputs
            var xs = oh is null ? x.clone().DetachFromDisposeScope() : null;
            // trace: layer 1 Σ_n ‖x_n‖² κ² Σ_j u_nj² ‖W̃_:j‖²; layer 2 Σ_n ‖a2_n‖² Σ_c s_c².
            var xn = oh is not null ? torch.full(new long[] { x.shape[0] }, 2.0, ScalarType.Float64) : x.pow(2).sum(new long[] { 1 });
            double t1 = kappa * kappa * (xn * (u.pow(2) * wt.pow(2).sum(new long[] { 0 }).unsqueeze(0)).sum(new long[] { 1 })).sum().item<double>();
            double t2 = a2.pow(2).sum().item<double>() * sv.pow(2).sum().item<double>();
            return new StructuredOperator(v => DenseLayerRule.SeparableMatvec(xs, oh, wt, u, kappa, v) + DenseLayerRule.ReadoutMatvec(a2, sv, v), t1 + t2);
        }

        bool IStructuredKernels.Supports(KernelReduction reduction) => true;

        long IStructuredKernels.EstimateBytes(KernelReduction reduction, long n1, long n2)
        {
            long c = Modulus, h = Width;
            // Two per-tensor kernels, each with up to three full-size temporaries, plus the signals δ (N, C, H).
            return reduction.IsFlattened
                ? 8L * n1 * n2 * c * c * 8 + 8L * (n1 + n2) * c * h * 2
                : 8L * n1 * n2 * 8 + 8L * (n1 + n2) * c * h * 2;
        }

        Tensor[] IStructuredKernels.PerTensor(Tensor x1, Tensor? x2, KernelReduction reduction, double[] s)
        {
            var xb = x2 ?? x1;
            var ps = ParameterTensors();
            var w1 = ps[0];
            var w2 = ps[1];
            var oh1 = OneHotPairs.Detect(x1);
            var oh2 = x2 is null ? oh1 : OneHotPairs.Detect(xb);
            var u1 = U(x1, w1, oh1);
            var u2 = x2 is null ? u1 : U(xb, w1, oh2);
            double h = Width;
            int c = Modulus;
            var sv = Torch.TorchOps.ToTensor(s, c);
            if (reduction.Kind is KernelReductionKind.TraceMean or KernelReductionKind.TraceSum)
            {
                double norm = reduction.Kind == KernelReductionKind.TraceMean ? c : 1;
                var s2 = sv * sv;                                                        // s_c²
                // Layer 2: Σ_c s_c² δ_cc (u²·u'²)/H²
                var k2 = (u1 * u1).mm((u2 * u2).t()) * (s2.sum().item<double>() / (h * h * norm));
                // Layer 1: (4/(H² 2p)) (x·x') Σ_j (Σ_c s_c² W2_cj²) u_j u'_j
                var col = s2.unsqueeze(0).mm(w2 * w2).squeeze(0);                       // (H)
                var k1 = (u1 * col).mm(u2.t()) * InputGram(x1, xb, oh1, oh2) * (4.0 / (h * h * 2 * Modulus * norm));
                return new[] { k1, k2 };
            }
            // General reductions: dense-layer rule with δ¹_c[j] = s_c 2 W2_cj u_j /(H √(2p)) and δ² = diag(s).
            var d1a = 2.0 * InputScale / h * sv.unsqueeze(0).unsqueeze(2) * w2.unsqueeze(0) * u1.unsqueeze(1);  // (N1, C, H)
            var d1b = x2 is null ? d1a : 2.0 * InputScale / h * sv.unsqueeze(0).unsqueeze(2) * w2.unsqueeze(0) * u2.unsqueeze(1);
            var eyeS = torch.diag(sv);
            var d2a = eyeS.unsqueeze(0).expand(x1.shape[0], c, c);
            var d2b = eyeS.unsqueeze(0).expand(xb.shape[0], c, c);
            return new[]
            {
                DenseLayerRule.Kernel(InputGram(x1, xb, oh1, oh2), d1a, d1b, 1, reduction),
                DenseLayerRule.Kernel((u1 * u1 / h).mm((u2 * u2 / h).t()), d2a, d2b, 1, reduction),
            };
        }

        Tensor[]? IStructuredKernels.Jacobians(Tensor x, double[] s)
        {
            var ps = ParameterTensors();
            var u = U(x, ps[0], OneHotPairs.Detect(x));
            double h = Width;
            int c = Modulus;
            var sv = Torch.TorchOps.ToTensor(s, c);
            var d1 = 2.0 * InputScale / h * sv.unsqueeze(0).unsqueeze(2) * ps[1].unsqueeze(0) * u.unsqueeze(1);   // (N, C, H)
            var d2 = torch.diag(sv).unsqueeze(0).expand(x.shape[0], c, c);
            return new[] { DenseLayerRule.WeightJacobian(x, d1, 1), DenseLayerRule.WeightJacobian(u * u / h, d2, 1) };
        }
    }
}

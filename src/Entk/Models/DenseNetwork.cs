using System;
using System.Collections.Generic;
using System.Linq;
using Entk.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Models
{
    /// <summary>Element-wise activation functions for <see cref="DenseNetwork"/>.</summary>
    public enum Activation
    {
        /// <summary>φ(z) = z.</summary>
        Identity,
        /// <summary>φ(z) = max(z, 0); derivative 0 at z = 0 (PyTorch convention).</summary>
        Relu,
        /// <summary>φ(z) = tanh z.</summary>
        Tanh,
        /// <summary>φ(z) = z².</summary>
        Square,
        /// <summary>φ(z) = log(1 + e^z).</summary>
        Softplus,
    }

    /// <summary>
    /// A fully connected network: a_0 = x; z_l = s_l · W_l a_{l−1} + b_l; a_l = φ(z_l) for hidden
    /// layers, and f(x) = z_L (no activation on the output). s_l is 1 in the standard
    /// parametrisation and σ_w/√(fan_in) in the NTK parametrisation. Parameters are named
    /// "layer{l}.weight" (shape [out, in]) and "layer{l}.bias" (shape [out]), l = 0..L−1, in that order.
    /// </summary>
    public sealed class DenseNetwork : FunctionalModel, Kernels.IStructuredKernels
    {
        private readonly int[] _widths;
        private readonly Activation _activation;
        private readonly bool _bias;
        private readonly double[] _scales;
        private readonly double _biasScale;

        private DenseNetwork(int[] widths, Activation activation, bool bias, double[] scales, double biasScale, IReadOnlyList<double> theta)
            : base(Describe(widths, activation, bias), MakeLayout(widths, bias), widths[0], widths[^1], theta)
        {
            _widths = widths;
            Widths = ReadOnly.View(widths);
            _activation = activation;
            _bias = bias;
            _scales = scales;
            WeightScales = ReadOnly.View(scales);
            _biasScale = biasScale;
        }

        private static string Describe(int[] w, Activation a, bool bias) => "dense(" + string.Join("-", w) + ", " + a.ToString().ToLowerInvariant() + (bias ? "" : ", no bias") + ")";

        private static ParameterLayout MakeLayout(int[] widths, bool bias)
        {
            var names = new List<string>();
            var shapes = new List<IReadOnlyList<int>>();
            for (int l = 0; l + 1 < widths.Length; l++)
            {
                names.Add("layer" + l + ".weight");
                shapes.Add(new[] { widths[l + 1], widths[l] });
                if (bias)
                {
                    names.Add("layer" + l + ".bias");
                    shapes.Add(new[] { widths[l + 1] });
                }
            }
            return new ParameterLayout(names, shapes);
        }

        /// <summary>Layer widths [input, hidden..., output].</summary>
        public IReadOnlyList<int> Widths { get; }

        /// <summary>The hidden-layer activation.</summary>
        public Activation Activation => _activation;

        /// <summary>Whether layers have biases.</summary>
        public bool HasBias => _bias;

        /// <summary>Per-layer weight multipliers s_l (1 in the standard parametrisation).</summary>
        public IReadOnlyList<double> WeightScales { get; }

        /// <summary>Multiplier of every bias (1 in the standard parametrisation, σ_b in the NTK one).</summary>
        public double BiasScale => _biasScale;

        /// <summary>
        /// Creates a network in the standard parametrisation with weights ~ N(0, 1/fan_in) and zero
        /// biases... unless <paramref name="biasStd"/> is given, drawn from a seeded generator.
        /// </summary>
        /// <param name="widths">Layer widths [input, hidden..., output]; at least two entries, all positive.</param>
        /// <param name="activation">Hidden activation.</param>
        /// <param name="seed">Seed of the private generator (the global RNG is not touched).</param>
        /// <param name="bias">Whether layers have biases.</param>
        /// <param name="biasStd">Standard deviation of the initial biases (default 0.1).</param>
        /// <returns>The network.</returns>
        public static DenseNetwork CreateRandom(IReadOnlyList<int> widths, Activation activation, long seed, bool bias = true, double biasStd = 0.1)
        {
            var w = ValidateWidths(widths);
            var layout = MakeLayout(w, bias);
            var theta = new double[layout.Count];
            using var scope = torch.NewDisposeScope();
            var g = new torch.Generator((ulong)seed, torch.CPU);
            foreach (var t in layout.Tensors)
            {
                double std = t.Shape.Count == 2 ? 1.0 / Math.Sqrt(t.Shape[1]) : biasStd;
                var r = torch.randn(new long[] { t.Count }, ScalarType.Float64, generator: g) * std;
                r.data<double>().CopyTo(theta, t.Offset);
            }
            return new DenseNetwork(w, activation, bias, Enumerable.Repeat(1.0, w.Length - 1).ToArray(), 1.0, theta);
        }

        /// <summary>
        /// Creates a network in the NTK parametrisation: z_l = (σ_w/√fan_in) W_l a + σ_b b_l, every weight
        /// and bias ~ N(0, 1) from a seeded generator.
        /// </summary>
        /// <param name="widths">Layer widths.</param>
        /// <param name="activation">Hidden activation.</param>
        /// <param name="seed">Seed.</param>
        /// <param name="sigmaW">σ_w.</param>
        /// <param name="sigmaB">σ_b (0 gives a network without biases).</param>
        /// <returns>The network.</returns>
        public static DenseNetwork CreateNtkParametrised(IReadOnlyList<int> widths, Activation activation, long seed, double sigmaW = 1.0, double sigmaB = 0.0)
        {
            var w = ValidateWidths(widths);
            Check.PositiveFinite(sigmaW, nameof(sigmaW));
            Check.Finite(sigmaB, nameof(sigmaB));
            bool bias = sigmaB != 0;
            var layout = MakeLayout(w, bias);
            var theta = new double[layout.Count];
            using var scope = torch.NewDisposeScope();
            var g = new torch.Generator((ulong)seed, torch.CPU);
            var r = torch.randn(new long[] { layout.Count }, ScalarType.Float64, generator: g);
            r.data<double>().CopyTo(theta, 0);
            var scales = Enumerable.Range(0, w.Length - 1).Select(l => sigmaW / Math.Sqrt(w[l])).ToArray();
            return new DenseNetwork(w, activation, bias, scales, sigmaB, theta);
        }

        /// <summary>Creates a network from explicit parameters (standard parametrisation unless scales are given).</summary>
        /// <param name="widths">Layer widths.</param>
        /// <param name="activation">Hidden activation.</param>
        /// <param name="parameters">θ in layout order.</param>
        /// <param name="bias">Whether layers have biases.</param>
        /// <param name="weightScales">Optional per-layer multipliers s_l (default all 1).</param>
        /// <param name="biasScale">Bias multiplier (default 1).</param>
        /// <returns>The network.</returns>
        public static DenseNetwork FromParameters(IReadOnlyList<int> widths, Activation activation, IReadOnlyList<double> parameters, bool bias = true, IReadOnlyList<double>? weightScales = null, double biasScale = 1.0)
        {
            var w = ValidateWidths(widths);
            double[] scales = weightScales?.ToArray() ?? Enumerable.Repeat(1.0, w.Length - 1).ToArray();
            if (scales.Length != w.Length - 1)
                throw new ShapeMismatchException(nameof(weightScales), Check.Inv($"[{w.Length - 1}]"), Check.Inv($"[{scales.Length}]"));
            foreach (var s in scales) Check.Finite(s, nameof(weightScales));
            Check.Finite(biasScale, nameof(biasScale));
            return new DenseNetwork(w, activation, bias, scales, biasScale, parameters);
        }

        private static int[] ValidateWidths(IReadOnlyList<int> widths)
        {
            Check.NotNull(widths, nameof(widths));
            if (widths.Count < 2) throw new EntkArgumentException(nameof(widths), "at least two widths [input, output]", Check.Shape(widths));
            foreach (var d in widths) if (d <= 0) throw new EntkArgumentException(nameof(widths), "positive widths", Check.Shape(widths));
            return widths.ToArray();
        }

        /// <summary>
        /// The same architecture at other parameters θ′, typed as <see cref="DenseNetwork"/> (hides the base method,
        /// which returns <see cref="FunctionalModel"/>): callers keep the model's own members without a
        /// downcast, which F# would otherwise need to write as <c>:?&gt;</c> (e.g. <c>(net.WithParameters theta).WeightScales</c>).
        /// </summary>
        /// <param name="parameters">θ′, length P (copied).</param>
        /// <returns>A new model; this one is unchanged.</returns>
        /// <exception cref="ShapeMismatchException">θ′ has the wrong length.</exception>
        /// <exception cref="NonFiniteValueException">θ′ contains NaN or ±Infinity.</exception>
        public new DenseNetwork WithParameters(IReadOnlyList<double> parameters) => (DenseNetwork)base.WithParameters(parameters);

        /// <inheritdoc />
        protected override FunctionalModel Rebuild(double[] parameters) => new DenseNetwork(_widths, _activation, _bias, _scales, _biasScale, parameters);

        /// <inheritdoc />
        protected override bool SupportsPerSampleParameters => true;

        internal Tensor Activate(Tensor z) => _activation switch
        {
            Activation.Identity => z,
            Activation.Relu => torch.nn.functional.relu(z),
            Activation.Tanh => torch.tanh(z),
            Activation.Square => z * z,
            Activation.Softplus => torch.nn.functional.softplus(z),
            _ => throw new InvalidOperationException(),
        };

        /// <inheritdoc />
        protected override Tensor Forward(Tensor x, IReadOnlyList<Tensor> parameters)
        {
            var a = x;
            int idx = 0;
            int layers = _widths.Length - 1;
            for (int l = 0; l < layers; l++)
            {
                var w = parameters[idx++];
                var z = a.mm(w.t()) * _scales[l];
                if (_bias) z = z + parameters[idx++] * _biasScale;
                a = l < layers - 1 ? Activate(z) : z;
            }
            return a;
        }

        internal override Kernels.IStructuredKernels? Structured => this;

        /// <summary>Expanded weights: a copy of θ per sample, its gradient and the activations (measured ≈ 3·P doubles per sample).</summary>
        internal override long JacobianWorkBytesPerSample => 3L * ParameterCount * sizeof(double);

        private Tensor ActivationDerivative(Tensor z) => _activation switch
        {
            Activation.Identity => torch.ones_like(z),
            Activation.Relu => (z > 0).to(ScalarType.Float64),
            Activation.Tanh => 1 - torch.tanh(z).pow(2),
            Activation.Square => 2 * z,
            Activation.Softplus => torch.sigmoid(z),
            _ => throw new InvalidOperationException(),
        };

        /// <summary>Layer inputs a_{l−1} (N, in_l) and backprop signals δ_l (N, C, out_l), rows scaled by s_c.</summary>
        private (Tensor[] inputs, Tensor[] deltas) Signals(Tensor x, double[] s)
        {
            var ps = ParameterTensors();
            int layers = _widths.Length - 1;
            var inputs = new Tensor[layers];
            var zs = new Tensor[layers];
            var a = x;
            int idx = 0;
            var weights = new Tensor[layers];
            for (int l = 0; l < layers; l++)
            {
                inputs[l] = a;
                weights[l] = ps[idx++];
                var z = a.mm(weights[l].t()) * _scales[l];
                if (_bias) z = z + ps[idx++] * _biasScale;
                zs[l] = z;
                a = l < layers - 1 ? Activate(z) : z;
            }
            long n = x.shape[0];
            int c = OutputDimension;
            var deltas = new Tensor[layers];
            var sdiag = torch.diag(Torch.TorchOps.ToTensor(s, c));
            deltas[layers - 1] = sdiag.unsqueeze(0).expand(n, c, c);
            for (int l = layers - 2; l >= 0; l--)
            {
                var back = deltas[l + 1].matmul(weights[l + 1]) * _scales[l + 1];     // (N, C, out_l)
                deltas[l] = back * ActivationDerivative(zs[l]).unsqueeze(1);
            }
            return (inputs, deltas);
        }

        bool Kernels.IStructuredKernels.Supports(Kernels.KernelReduction reduction) => true;

        long Kernels.IStructuredKernels.EstimateBytes(Kernels.KernelReduction reduction, long n1, long n2)
        {
            long width = _widths.Max();
            long c = OutputDimension;
            long tensors = Layout.Tensors.Count;
            // Every per-tensor kernel is kept until the groups are summed (2 copies each: rule output and reduced form).
            long one = reduction.IsFlattened ? 8L * n1 * n2 * c * c : 8L * n1 * n2;
            // Per-tensor kernels (rule output and reduced form), their sum and the groups' accumulators; measured peak ≈ 17 copies for 6 tensors.
            return MemoryBudget.Sum(MemoryBudget.Product(one, 2 * tensors + 5), MemoryBudget.Product(8, n1 + n2, c, width, _widths.Length, 2));
        }

        Tensor[] Kernels.IStructuredKernels.PerTensor(Tensor x1, Tensor? x2, Kernels.KernelReduction reduction, double[] s)
        {
            var (a1, d1) = Signals(x1, s);
            var (a2, d2) = x2 is null ? (a1, d1) : Signals(x2, s);
            var result = new List<Tensor>();
            for (int l = 0; l < a1.Length; l++)
            {
                result.Add(Kernels.DenseLayerRule.Kernel(a1[l].mm(a2[l].t()), d1[l], d2[l], _scales[l] * _scales[l], reduction));
                if (_bias) result.Add(Kernels.DenseLayerRule.Kernel(null, d1[l], d2[l], _biasScale * _biasScale, reduction));
            }
            return result.ToArray();
        }

        Kernels.StructuredOperator? Kernels.IStructuredKernels.FlatOperator(Tensor x, double[] s)
        {
            var (a, d) = Signals(x, s);
            double trace = 0;
            var factors = new List<(Tensor? a, Tensor d, double alpha)>();
            for (int l = 0; l < a.Length; l++)
            {
                factors.Add((a[l].clone().DetachFromDisposeScope(), d[l].contiguous().DetachFromDisposeScope(), _scales[l] * _scales[l]));
                if (_bias) factors.Add((null, factors[^1].d, _biasScale * _biasScale));
            }
            foreach (var f in factors) trace += Kernels.DenseLayerRule.Trace(f.a, null, f.d, f.alpha);
            return new Kernels.StructuredOperator(v =>
            {
                Tensor? acc = null;
                foreach (var f in factors)
                {
                    var t = Kernels.DenseLayerRule.Matvec(f.a, null, f.d, f.alpha, v);
                    acc = acc is null ? t : acc + t;
                }
                return acc!;
            }, trace);
        }

        Tensor[]? Kernels.IStructuredKernels.Jacobians(Tensor x, double[] s)
        {
            var (a, d) = Signals(x, s);
            var result = new List<Tensor>();
            for (int l = 0; l < a.Length; l++)
            {
                result.Add(Kernels.DenseLayerRule.WeightJacobian(a[l], d[l], _scales[l]));
                if (_bias) result.Add(d[l] * _biasScale);
            }
            return result.ToArray();
        }

        /// <inheritdoc />
        protected override Tensor? ForwardPerSample(Tensor x, IReadOnlyList<Tensor> parameters)
        {
            var a = x;
            int idx = 0;
            int layers = _widths.Length - 1;
            for (int l = 0; l < layers; l++)
            {
                var w = parameters[idx++];                              // (N, out, in)
                var z = w.bmm(a.unsqueeze(2)).squeeze(2) * _scales[l];  // (N, out)
                if (_bias) z = z + parameters[idx++] * _biasScale;      // (N, out)
                a = l < layers - 1 ? Activate(z) : z;
            }
            return a;
        }
    }

    /// <summary>
    /// The linear model f(x) = W x + b, W ∈ R^{C×D}, b ∈ R^C (tensors "weight" [C, D] and "bias" [C]).
    /// Its eNTK is K(x, x') = (x·x' + 1)·I_C for any parameters: a closed-form oracle.
    /// </summary>
    public sealed class LinearModel : FunctionalModel, Kernels.IStructuredKernels
    {
        private LinearModel(int inputs, int outputs, IReadOnlyList<double> theta)
            : base(Check.Inv($"linear({inputs}→{outputs})"), new ParameterLayout(new[] { "weight", "bias" }, new IReadOnlyList<int>[] { new[] { outputs, inputs }, new[] { outputs } }), inputs, outputs, theta) { }

        /// <summary>Creates the model with N(0, 1/D) weights and N(0, 1) biases from a seeded generator.</summary>
        /// <param name="inputDimension">D.</param>
        /// <param name="outputDimension">C.</param>
        /// <param name="seed">Seed.</param>
        /// <returns>The model.</returns>
        public static LinearModel CreateRandom(int inputDimension, int outputDimension, long seed)
        {
            Check.Positive(inputDimension, nameof(inputDimension));
            Check.Positive(outputDimension, nameof(outputDimension));
            int p = outputDimension * inputDimension + outputDimension;
            var theta = new double[p];
            using var scope = torch.NewDisposeScope();
            var g = new torch.Generator((ulong)seed, torch.CPU);
            torch.randn(new long[] { p }, ScalarType.Float64, generator: g).data<double>().CopyTo(theta, 0);
            for (int i = 0; i < outputDimension * inputDimension; i++) theta[i] /= Math.Sqrt(inputDimension);
            return new LinearModel(inputDimension, outputDimension, theta);
        }

        /// <summary>Creates the model from explicit parameters θ = [vec(W) row-major, b].</summary>
        /// <param name="inputDimension">D.</param>
        /// <param name="outputDimension">C.</param>
        /// <param name="parameters">θ, length C·D + C.</param>
        /// <returns>The model.</returns>
        public static LinearModel FromParameters(int inputDimension, int outputDimension, IReadOnlyList<double> parameters)
        {
            Check.Positive(inputDimension, nameof(inputDimension));
            Check.Positive(outputDimension, nameof(outputDimension));
            return new LinearModel(inputDimension, outputDimension, parameters);
        }

        /// <summary>
        /// The same architecture at other parameters θ′, typed as <see cref="LinearModel"/> (hides the base method,
        /// which returns <see cref="FunctionalModel"/>): callers keep the model's own members without a
        /// downcast, which F# would otherwise need to write as <c>:?&gt;</c> (e.g. <c>(linear.WithParameters theta).Evaluate x</c> stays a <see cref="LinearModel"/> call chain).
        /// </summary>
        /// <param name="parameters">θ′, length P (copied).</param>
        /// <returns>A new model; this one is unchanged.</returns>
        /// <exception cref="ShapeMismatchException">θ′ has the wrong length.</exception>
        /// <exception cref="NonFiniteValueException">θ′ contains NaN or ±Infinity.</exception>
        public new LinearModel WithParameters(IReadOnlyList<double> parameters) => (LinearModel)base.WithParameters(parameters);

        /// <inheritdoc />
        protected override FunctionalModel Rebuild(double[] parameters) => new LinearModel(InputDimension, OutputDimension, parameters);

        /// <inheritdoc />
        protected override bool SupportsPerSampleParameters => true;

        /// <inheritdoc />
        protected override Tensor Forward(Tensor x, IReadOnlyList<Tensor> p) => x.mm(p[0].t()) + p[1];

        /// <inheritdoc />
        protected override Tensor? ForwardPerSample(Tensor x, IReadOnlyList<Tensor> p) => p[0].bmm(x.unsqueeze(2)).squeeze(2) + p[1];

        internal override Kernels.IStructuredKernels? Structured => this;

        bool Kernels.IStructuredKernels.Supports(Kernels.KernelReduction reduction) => true;

        long Kernels.IStructuredKernels.EstimateBytes(Kernels.KernelReduction reduction, long n1, long n2) =>
            (reduction.IsFlattened ? 8L * n1 * n2 * OutputDimension * OutputDimension : 8L * n1 * n2) * 8 + 8L * (n1 + n2) * OutputDimension * OutputDimension * 2;

        private Tensor Deltas(long n, double[] s) => torch.diag(Torch.TorchOps.ToTensor(s, s.Length)).unsqueeze(0).expand(n, s.Length, s.Length);

        Tensor[] Kernels.IStructuredKernels.PerTensor(Tensor x1, Tensor? x2, Kernels.KernelReduction reduction, double[] s)
        {
            var xb = x2 ?? x1;
            var d1 = Deltas(x1.shape[0], s);
            var d2 = Deltas(xb.shape[0], s);
            return new[]
            {
                Kernels.DenseLayerRule.Kernel(x1.mm(xb.t()), d1, d2, 1, reduction),
                Kernels.DenseLayerRule.Kernel(null, d1, d2, 1, reduction),
            };
        }

        Kernels.StructuredOperator? Kernels.IStructuredKernels.FlatOperator(Tensor x, double[] s)
        {
            var d = Deltas(x.shape[0], s).contiguous().DetachFromDisposeScope();
            var xs = x.clone().DetachFromDisposeScope();
            double trace = Kernels.DenseLayerRule.Trace(xs, null, d, 1) + Kernels.DenseLayerRule.Trace(null, null, d, 1);
            return new Kernels.StructuredOperator(v => Kernels.DenseLayerRule.Matvec(xs, null, d, 1, v) + Kernels.DenseLayerRule.Matvec(null, null, d, 1, v), trace);
        }

        Tensor[]? Kernels.IStructuredKernels.Jacobians(Tensor x, double[] s)
        {
            var d = Deltas(x.shape[0], s);
            return new[] { Kernels.DenseLayerRule.WeightJacobian(x, d, 1), d.clone() };
        }
    }
}

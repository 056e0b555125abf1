using System;
using System.Collections.Generic;
using System.Linq;
using Entk.Internal;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Entk.Kernels.Rules
{
    /// <summary>
    /// A structured-derivative rule for one kind of TorchSharp layer: from what the forward and backward passes already
    /// have — the layer's input and the cotangent (gradient of the virtual outputs) arriving at its output — it gives
    /// the per-sample gradients of the layer's parameters in factored form (<see cref="GradientFactors"/>), so the
    /// engine can contract them without forming the (N·C) × P Jacobian (neural-tangents' "structured derivatives",
    /// Novak et al. 2022). Rules see the module through a forward hook, so they apply to layers called with
    /// <c>call(x)</c> (also inside <c>nn.Sequential</c>); a layer whose <c>forward</c> is called directly is not seen.
    /// The engine checks every rule on the data it runs on: the rule's gradient summed with random weights over samples
    /// and outputs must equal autograd's to 1e-8 (float64) or 1e-3 (float32) relative, otherwise the tensor falls back
    /// to the generic route (and the result's routes say why). A wrong rule therefore costs speed, never correctness.
    /// </summary>
    /// <example>
    /// A rule for a custom "Scale" layer y = x ⊙ γ (γ of shape [d]) with a 2-D input (B, d):
    /// <code>
    /// sealed class ScaleRule : ILayerRule {
    ///   public string Name => "Scale";
    ///   public IReadOnlyList&lt;string&gt;? Covers(nn.Module m) => m is Scale ? new[] { "gamma" } : null;
    ///   public IReadOnlyList&lt;GradientFactors&gt; Factors(nn.Module m, Tensor input, Tensor cot) =>
    ///     new[] { new ElementwiseFactors(input.unsqueeze(1), cot.unsqueeze(2)) };   // T = 1
    /// }
    /// </code>
    /// and pass it with <c>NtkOptions { LayerRules = new ILayerRule[] { new ScaleRule() } }</c>.
    /// </example>
    public interface ILayerRule
    {
        /// <summary>The name shown in route reports, e.g. "Linear".</summary>
        string Name { get; }

        /// <summary>
        /// The local names (as in <c>named_parameters(recurse: false)</c>, e.g. "weight", "bias") of the module's
        /// parameters this rule covers, or null when the rule does not apply to the module.
        /// </summary>
        /// <param name="module">A module of the model.</param>
        /// <returns>The covered parameter names, or null.</returns>
        IReadOnlyList<string>? Covers(nn.Module module);

        /// <summary>
        /// The factors of every covered parameter (in the order <see cref="Covers"/> gave) for one call of the module.
        /// </summary>
        /// <param name="module">The module.</param>
        /// <param name="input">The module's input for the batch (B, …), detached, in the module's dtype.</param>
        /// <param name="cotangents">∂y_v/∂output for the V virtual outputs: shape (B, V, …output shape without B).</param>
        /// <returns>One factor object per covered parameter.</returns>
        IReadOnlyList<GradientFactors> Factors(nn.Module module, Tensor input, Tensor cotangents);
    }

    /// <summary>The built-in layer rules.</summary>
    public static class LayerRules
    {
        /// <summary>
        /// The rules Entk applies by default, in order (the first rule that covers a module wins): Linear (weight and
        /// bias, on inputs of any rank: leading dimensions after the batch are positions), Conv1d/Conv2d (zero padding,
        /// groups = 1; as a Linear on unfolded patches), Embedding (weight), LayerNorm (affine weight and bias) and
        /// <see cref="RmsNorm"/> (weight).
        /// </summary>
        public static IReadOnlyList<ILayerRule> Default { get; } = Array.AsReadOnly(new ILayerRule[]
        {
            new LinearRule(), new ConvolutionRule(), new EmbeddingRule(), new LayerNormRule(), new RmsNormRule(),
        });

        internal static Tensor Positions(Tensor t, long batch, long features) => t.reshape(batch, -1, features);

        private sealed class LinearRule : ILayerRule
        {
            public string Name => "Linear";

            public IReadOnlyList<string>? Covers(nn.Module module) =>
                module is Linear l ? (l.bias is null ? new[] { "weight" } : new[] { "weight", "bias" }) : null;

            public IReadOnlyList<GradientFactors> Factors(nn.Module module, Tensor input, Tensor cotangents)
            {
                var l = (Linear)module;
                long b = input.shape[0], v = cotangents.shape[1];
                var a = Positions(input, b, l.in_features);
                var d = cotangents.reshape(b, v, -1, l.out_features);
                var w = new OuterProductFactors(a, d);
                return l.bias is null ? new GradientFactors[] { w } : new GradientFactors[] { w, new OuterProductFactors(null, d) };
            }
        }

        private sealed class ConvolutionRule : ILayerRule
        {
            public string Name => "Convolution";

            public IReadOnlyList<string>? Covers(nn.Module module)
            {
                if (module is not (Conv1d or Conv2d)) return null;
                var c = (Convolution)module;
                if (c.transposed || c.groups != 1 || c.padding_mode != PaddingModes.Zeros) return null;
                if (c.padding_type is not null && c.padding_type != Padding.Valid) return null;
                return c.bias is null ? new[] { "weight" } : new[] { "weight", "bias" };
            }

            public IReadOnlyList<GradientFactors> Factors(nn.Module module, Tensor input, Tensor cotangents)
            {
                var c = (Convolution)module;
                bool one = module is Conv1d;
                long b = input.shape[0], v = cotangents.shape[1], o = c.out_channels;
                long[] Two(long[]? p, long dflt) => one ? new[] { 1L, p is { Length: > 0 } ? p[0] : dflt } : new[] { p is { Length: > 0 } ? p[0] : dflt, p is { Length: > 1 } ? p[1] : p is { Length: 1 } ? p[0] : dflt };
                long[] padding = c.padding_type == Padding.Valid ? new[] { 0L, 0L } : Two(c.padding, 0);
                if (one) padding[0] = 0;
                var x = one ? input.unsqueeze(2) : input;                                    // (B, I, H, W)
                static (long, long) P(long[] a) => (a[0], a[1]);
                var cols = torch.nn.functional.unfold(x, P(Two(c.kernel_size, 1)), P(Two(c.dilation, 1)), P(padding), P(Two(c.stride, 1))); // (B, I·k, L)
                var a = cols.transpose(1, 2);                                                // (B, L, I·k)
                var d = cotangents.reshape(b, v, o, -1).transpose(2, 3);                     // (B, V, L, O)
                var w = new OuterProductFactors(a, d);
                return c.bias is null ? new GradientFactors[] { w } : new GradientFactors[] { w, new OuterProductFactors(null, d) };
            }
        }

        private sealed class EmbeddingRule : ILayerRule
        {
            public string Name => "Embedding";

            public IReadOnlyList<string>? Covers(nn.Module module) => module is Embedding ? new[] { "weight" } : null;

            public IReadOnlyList<GradientFactors> Factors(nn.Module module, Tensor input, Tensor cotangents)
            {
                var e = (Embedding)module;
                long rows = e.weight!.shape[0], dim = e.weight.shape[1];
                long b = input.shape[0], v = cotangents.shape[1];
                var i = input.reshape(b, -1);
                var d = cotangents.reshape(b, v, -1, dim);
                return new GradientFactors[] { new IndexedRowFactors(i, d, rows) };
            }
        }

        private sealed class LayerNormRule : ILayerRule
        {
            public string Name => "LayerNorm";

            public IReadOnlyList<string>? Covers(nn.Module module)
            {
                if (module is not LayerNorm ln || !ln.elementwise_affine || ln.weight is null) return null;
                return ln.bias is null ? new[] { "weight" } : new[] { "weight", "bias" };
            }

            public IReadOnlyList<GradientFactors> Factors(nn.Module module, Tensor input, Tensor cotangents)
            {
                var ln = (LayerNorm)module;
                long d = 1;
                foreach (var s in ln.normalized_shape) d *= s;
                long b = input.shape[0], v = cotangents.shape[1];
                var x = input.reshape(b, -1, d);
                var mean = x.mean(new long[] { 2 }, true);
                var var_ = (x - mean).pow(2).mean(new long[] { 2 }, true);
                var xhat = (x - mean) / (var_ + ln.eps).sqrt();
                var dd = cotangents.reshape(b, v, -1, d);
                var w = new ElementwiseFactors(xhat, dd);
                return ln.bias is null ? new GradientFactors[] { w } : new GradientFactors[] { w, new OuterProductFactors(null, dd) };
            }
        }

        private sealed class RmsNormRule : ILayerRule
        {
            public string Name => "RMSNorm";

            public IReadOnlyList<string>? Covers(nn.Module module) => module is RmsNorm ? new[] { "weight" } : null;

            public IReadOnlyList<GradientFactors> Factors(nn.Module module, Tensor input, Tensor cotangents)
            {
                var r = (RmsNorm)module;
                long b = input.shape[0], v = cotangents.shape[1];
                var x = input.reshape(b, -1, r.Dimension);
                var xhat = x / (x.pow(2).mean(new long[] { 2 }, true) + r.Epsilon).sqrt();
                return new GradientFactors[] { new ElementwiseFactors(xhat, cotangents.reshape(b, v, -1, r.Dimension)) };
            }
        }
    }

    /// <summary>
    /// Root-mean-square layer normalisation y = x / sqrt(mean(x²) + ε) ⊙ weight over the last dimension (Zhang and
    /// Sennrich 2019), as a TorchSharp module (TorchSharp 0.107 has none). Parameter "weight" of shape [d], initialised
    /// to ones. Entk has a layer rule for it.
    /// </summary>
    public sealed class RmsNorm : nn.Module<Tensor, Tensor>
    {
        private readonly Parameter weight;

        /// <summary>Creates the layer.</summary>
        /// <param name="dimension">d, the size of the last dimension.</param>
        /// <param name="epsilon">ε (default 1e-6).</param>
        /// <param name="dtype">Parameter dtype (default float64).</param>
        public RmsNorm(long dimension, double epsilon = 1e-6, ScalarType dtype = ScalarType.Float64) : base(nameof(RmsNorm))
        {
            if (dimension <= 0) throw new EntkArgumentException(nameof(dimension), "a positive size", dimension.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Dimension = dimension;
            Epsilon = Check.PositiveFinite(epsilon, nameof(epsilon));
            weight = new Parameter(torch.ones(dimension, dtype));
            RegisterComponents();
        }

        /// <summary>d.</summary>
        public long Dimension { get; }

        /// <summary>ε.</summary>
        public double Epsilon { get; }

        /// <summary>The gain, shape [d].</summary>
        public Parameter Weight => weight;

        /// <summary>y = x / sqrt(mean(x², last dim) + ε) ⊙ weight.</summary>
        /// <param name="input">(…, d).</param>
        /// <returns>(…, d).</returns>
        public override Tensor forward(Tensor input) => input / (input.pow(2).mean(new long[] { -1 }, true) + Epsilon).sqrt() * weight;
    }
}

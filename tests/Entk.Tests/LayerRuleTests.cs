using System;
using System.Collections.Generic;
using System.Linq;
using Entk.Kernels;
using Entk.Kernels.Rules;
using Entk.Models;
using NUnit.Framework;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Entk.Tests
{
    /// <summary>Small TorchSharp modules that exercise every built-in layer rule and the fallback.</summary>
    internal static class RuleModules
    {
        /// <summary>Tokens (N, T) of a float64 input (cast inside), embedded, a per-token Linear, LayerNorm, RMSNorm, a positional Parameter (no rule), mean over tokens, a readout.</summary>
        public sealed class TokenModel : nn.Module<Tensor, Tensor>
        {
            private readonly Embedding emb;
            private readonly Parameter pos;
            private readonly Linear proj;
            private readonly LayerNorm ln;
            private readonly RmsNorm rms;
            private readonly Linear head;

            public TokenModel(long vocab, long tokens, long d, long outputs, long seed) : base("TokenModel")
            {
                torch.random.manual_seed(seed);
                emb = nn.Embedding(vocab, d, dtype: ScalarType.Float64);
                pos = new Parameter(torch.randn(new long[] { tokens, d }, ScalarType.Float64) * 0.3);
                proj = nn.Linear(d, d, dtype: ScalarType.Float64);
                ln = nn.LayerNorm(d, dtype: ScalarType.Float64);
                rms = new RmsNorm(d);
                head = nn.Linear(d, outputs, dtype: ScalarType.Float64);
                using (torch.no_grad())
                {
                    ln.weight!.add_(torch.randn(d, ScalarType.Float64) * 0.2);
                    ln.bias!.add_(torch.randn(d, ScalarType.Float64) * 0.2);
                    rms.Weight.add_(torch.randn(d, ScalarType.Float64) * 0.2);
                }
                RegisterComponents();
            }

            public override Tensor forward(Tensor x)
            {
                var h = emb.call(x.to(ScalarType.Int64)) + pos;
                h = torch.tanh(proj.call(h));
                h = rms.call(ln.call(h));
                return head.call(h.mean(new long[] { 1 }));
            }
        }

        /// <summary>A small CNN on (N, 1, 6, 6): Conv2d(1→3, 3, pad 1), ReLU, Conv2d(3→2, 3, stride 2, dilation 1), tanh, Conv1d over rows, Flatten, Linear.</summary>
        public sealed class ConvModel : nn.Module<Tensor, Tensor>
        {
            private readonly Conv2d c1;
            private readonly Conv2d c2;
            private readonly Conv1d c3;
            private readonly Linear head;

            public ConvModel(long outputs, long seed) : base("ConvModel")
            {
                torch.random.manual_seed(seed);
                c1 = nn.Conv2d(1, 3, 3, padding: 1, dtype: ScalarType.Float64);
                c2 = nn.Conv2d(3, 2, 3, stride: 2, dtype: ScalarType.Float64);
                c3 = nn.Conv1d(2, 2, 2, stride: 1, padding: 1, bias: false, dtype: ScalarType.Float64);
                head = nn.Linear(2 * 5, outputs, dtype: ScalarType.Float64);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x)
            {
                var h = torch.nn.functional.relu(c1.call(x));       // (N, 3, 6, 6)
                h = torch.tanh(c2.call(h));                          // (N, 2, 2, 2)
                h = h.reshape(h.shape[0], 2, 4);                     // (N, 2, 4)
                h = torch.tanh(c3.call(h));                          // (N, 2, 5)
                return head.call(h.reshape(h.shape[0], 10));
            }
        }

        /// <summary>One Linear called with forward() (no hook) and one whose weight is also used directly: both must fall back.</summary>
        public sealed class TrickyModel : nn.Module<Tensor, Tensor>
        {
            private readonly Linear hidden;
            private readonly Linear unhooked;
            private readonly Linear tied;

            public TrickyModel(long inputs, long outputs, long seed) : base("TrickyModel")
            {
                torch.random.manual_seed(seed);
                hidden = nn.Linear(inputs, 5, dtype: ScalarType.Float64);
                unhooked = nn.Linear(5, 5, dtype: ScalarType.Float64);
                tied = nn.Linear(5, outputs, dtype: ScalarType.Float64);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x)
            {
                var h = torch.tanh(hidden.call(x));
                h = torch.tanh(unhooked.forward(h));
                return tied.call(h) + 0.3 * h.mm(tied.weight!.t()).pow(2);
            }
        }

        public static nn.Module<Tensor, Tensor> Mlp(long input, long hidden, long outputs, long seed)
        {
            torch.random.manual_seed(seed);
            return nn.Sequential(("0", nn.Linear(input, hidden, dtype: ScalarType.Float64)), ("1", nn.Tanh()),
                ("2", nn.Linear(hidden, hidden, dtype: ScalarType.Float64)), ("3", nn.Tanh()),
                ("4", nn.Linear(hidden, outputs, dtype: ScalarType.Float64)));
        }
    }

    /// <summary>Every built-in layer rule against the plain Jacobian contraction, per tensor, for every reduction.</summary>
    [TestFixture]
    public sealed class LayerRuleTests
    {
        private static readonly KernelReduction[] Reductions =
        {
            KernelReduction.TraceMean, KernelReduction.TraceSum, KernelReduction.AllPairsMean,
            KernelReduction.FlattenClassMajor, KernelReduction.FlattenSampleMajor, KernelReduction.Block(1, 0),
        };

        private static Matrix Tokens(int n, int t, int vocab, int seed)
        {
            var rng = new Random(seed);
            var d = new double[n * t];
            for (int i = 0; i < d.Length; i++) d[i] = rng.Next(vocab);
            return Matrix.FromArray(n, t, d);
        }

        private static void AssertRulesMatchContraction(NtkModel model, Matrix x1, Matrix? x2, NtkOptions? extra = null)
        {
            foreach (var r in Reductions)
            {
                var rule = EmpiricalNtk.ComputeLayerwise(model, r, x1, x2, options: (extra ?? new NtkOptions()) with { Method = NtkMethod.Structured });
                var jc = EmpiricalNtk.ComputeLayerwise(model, r, x1, x2, options: new NtkOptions { Method = NtkMethod.JacobianContraction });
                Assert.That(rule.Total.Method, Is.EqualTo(NtkMethod.Structured));
                TestUtil.AssertClose(rule.Total.Matrix, jc.Total.Matrix, 1e-10, model.Name + " total " + r);
                foreach (var name in rule.GroupNames)
                    TestUtil.AssertClose(rule[name].Matrix, jc[name].Matrix, 1e-10, model.Name + " " + name + " " + r);
            }
        }

        [Test]
        public void Mlp_RuleKernels_EqualJacobianContraction_AllReductions()
        {
            var model = TorchModuleModel.Wrap(RuleModules.Mlp(4, 6, 3, 1), 4, 3, name: "mlp");
            var x = TestUtil.RandomMatrix(7, 4, 2);
            AssertRulesMatchContraction(model, x, null);
            AssertRulesMatchContraction(model, x, TestUtil.RandomMatrix(5, 4, 3));
            var routes = EmpiricalNtk.Compute(model, KernelReduction.TraceMean, x).TensorRoutes;
            Assert.That(routes.Select(r => r.Kind), Is.All.EqualTo(TensorRouteKind.LayerRule), string.Join("; ", routes));
        }

        [Test]
        public void TokenModel_EmbeddingLinearNorms_EqualJacobianContraction_PositionalFallsBack()
        {
            var model = TorchModuleModel.Wrap(new RuleModules.TokenModel(7, 4, 5, 3, 4), 4, 3, name: "tokens");
            var x = Tokens(6, 4, 7, 5);
            AssertRulesMatchContraction(model, x, null);
            AssertRulesMatchContraction(model, x, Tokens(3, 4, 7, 6));
            var routes = EmpiricalNtk.Compute(model, KernelReduction.TraceMean, x).TensorRoutes.ToDictionary(r => r.Tensor);
            Assert.That(routes["pos"].Kind, Is.EqualTo(TensorRouteKind.Generic));
            Assert.That(routes["pos"].FallbackReason, Does.Contain("no layer rule"));
            foreach (var n in new[] { "emb.weight", "proj.weight", "proj.bias", "ln.weight", "ln.bias", "rms.weight", "head.weight", "head.bias" })
                Assert.That(routes[n].Kind, Is.EqualTo(TensorRouteKind.LayerRule), n + ": " + routes[n]);
        }

        [Test]
        public void ConvModel_Conv2dConv1d_EqualJacobianContraction()
        {
            var model = TorchModuleModel.Wrap(new RuleModules.ConvModel(3, 7), 36, 3, inputShape: new[] { 1, 6, 6 }, name: "conv");
            var x = TestUtil.RandomMatrix(5, 36, 8);
            AssertRulesMatchContraction(model, x, null);
            var routes = EmpiricalNtk.Compute(model, KernelReduction.TraceMean, x).TensorRoutes;
            Assert.That(routes.Select(r => r.Kind), Is.All.EqualTo(TensorRouteKind.LayerRule), string.Join("; ", routes));
        }

        [Test]
        public void TrickyModel_UnhookedAndTiedTensors_FallBackWithReason_KernelStillExact()
        {
            var model = TorchModuleModel.Wrap(new RuleModules.TrickyModel(3, 2, 9), 3, 2, name: "tricky");
            var x = TestUtil.RandomMatrix(6, 3, 10);
            AssertRulesMatchContraction(model, x, null);
            var routes = EmpiricalNtk.Compute(model, KernelReduction.TraceMean, x).TensorRoutes.ToDictionary(r => r.Tensor);
            Assert.That(routes["hidden.weight"].Kind, Is.EqualTo(TensorRouteKind.LayerRule));
            Assert.That(routes["unhooked.weight"].Kind, Is.EqualTo(TensorRouteKind.Generic));
            Assert.That(routes["unhooked.weight"].FallbackReason, Does.Contain("does not reproduce"));
            Assert.That(routes["tied.weight"].Kind, Is.EqualTo(TensorRouteKind.Generic));
            Assert.That(routes["tied.bias"].Kind, Is.EqualTo(TensorRouteKind.LayerRule));
        }

        [Test]
        public void SmallChunks_ManyPasses_SameKernel()
        {
            var model = TorchModuleModel.Wrap(new RuleModules.TokenModel(7, 4, 5, 3, 11), 4, 3, name: "tokens");
            var x = Tokens(9, 4, 7, 12);
            var whole = EmpiricalNtk.Compute(model, KernelReduction.FlattenClassMajor, x, options: new NtkOptions { Method = NtkMethod.Structured });
            var chunked = EmpiricalNtk.Compute(model, KernelReduction.FlattenClassMajor, x, options: new NtkOptions { Method = NtkMethod.Structured, ChunkSize = 2 });
            TestUtil.AssertClose(chunked.Matrix, whole.Matrix, 1e-12, "chunked");
        }

        [Test]
        public void Float32Precision_CloseToFloat64()
        {
            var model = TorchModuleModel.Wrap(RuleModules.Mlp(4, 6, 3, 13), 4, 3, name: "mlp");
            var x = TestUtil.RandomMatrix(8, 4, 14);
            var k64 = EmpiricalNtk.Compute(model, KernelReduction.TraceMean, x);
            var k32 = EmpiricalNtk.Compute(model, KernelReduction.TraceMean, x, options: new NtkOptions { Precision = Precision.Float32 });
            double rel = k32.Matrix.MaxAbsDifference(k64.Matrix) / k64.Matrix.MaxAbs();
            Assert.That(rel, Is.LessThan(1e-5).And.GreaterThan(0), "float32 contractions differ from float64 by float32 rounding");
        }

        private sealed class ScaleLayer : nn.Module<Tensor, Tensor>
        {
            private readonly Parameter gamma;

            public ScaleLayer(long d) : base("Scale")
            {
                gamma = new Parameter(torch.linspace(0.5, 1.5, d, ScalarType.Float64));
                RegisterComponents();
            }

            public override Tensor forward(Tensor x) => x * gamma;
        }

        private sealed class ScaleRule : ILayerRule
        {
            public string Name => "Scale";

            public IReadOnlyList<string>? Covers(nn.Module module) => module is ScaleLayer ? new[] { "gamma" } : null;

            public IReadOnlyList<GradientFactors> Factors(nn.Module module, Tensor input, Tensor cotangents) =>
                new GradientFactors[] { new ElementwiseFactors(input.unsqueeze(1), cotangents.unsqueeze(2)) };
        }

        [Test]
        public void UserRule_CoversCustomLayer_EqualJacobianContraction()
        {
            torch.random.manual_seed(15);
            var module = nn.Sequential(("0", nn.Linear(3, 4, dtype: ScalarType.Float64)), ("1", new ScaleLayer(4)), ("2", nn.Tanh()), ("3", nn.Linear(4, 2, dtype: ScalarType.Float64)));
            var model = TorchModuleModel.Wrap(module, 3, 2, name: "scaled");
            var x = TestUtil.RandomMatrix(5, 3, 16);
            var opts = new NtkOptions { LayerRules = new ILayerRule[] { new ScaleRule() } };
            AssertRulesMatchContraction(model, x, null, opts);
            var routes = EmpiricalNtk.Compute(model, KernelReduction.TraceMean, x, options: opts).TensorRoutes.ToDictionary(r => r.Tensor);
            Assert.That(routes["1.gamma"].Description, Does.StartWith("Scale rule"));
            var without = EmpiricalNtk.Compute(model, KernelReduction.TraceMean, x).TensorRoutes.ToDictionary(r => r.Tensor);
            Assert.That(without["1.gamma"].Kind, Is.EqualTo(TensorRouteKind.Generic));
        }

        private sealed class WrongRule : ILayerRule
        {
            public string Name => "Wrong";

            public IReadOnlyList<string>? Covers(nn.Module module) => module is ScaleLayer ? new[] { "gamma" } : null;

            public IReadOnlyList<GradientFactors> Factors(nn.Module module, Tensor input, Tensor cotangents) =>
                new GradientFactors[] { new ElementwiseFactors(2 * input.unsqueeze(1), cotangents.unsqueeze(2)) };
        }

        [Test]
        public void WrongUserRule_IsCaughtByTheOnDataCheck_KernelStillExact()
        {
            torch.random.manual_seed(17);
            var module = nn.Sequential(("0", new ScaleLayer(3)), ("1", nn.Tanh()), ("2", nn.Linear(3, 2, dtype: ScalarType.Float64)));
            var model = TorchModuleModel.Wrap(module, 3, 2, name: "wrong");
            var x = TestUtil.RandomMatrix(5, 3, 18);
            var opts = new NtkOptions { LayerRules = new ILayerRule[] { new WrongRule() } };
            AssertRulesMatchContraction(model, x, null, opts);
            var routes = EmpiricalNtk.Compute(model, KernelReduction.TraceMean, x, options: opts).TensorRoutes.ToDictionary(r => r.Tensor);
            Assert.That(routes["0.gamma"].Kind, Is.EqualTo(TensorRouteKind.Generic));
            Assert.That(routes["0.gamma"].FallbackReason, Does.Contain("Wrong rule does not reproduce"));
        }
    }
}

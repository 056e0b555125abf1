using System;
using System.Linq;
using Entk.Kernels;
using Entk.Models;
using NUnit.Framework;

namespace Entk.Tests
{
    [TestFixture]
    public partial class EmpiricalNtkTests
    {
        [TestCase(NtkMethod.JacobianContraction)]
        [TestCase(NtkMethod.NtkVectorProducts)]
        [TestCase(NtkMethod.Structured)]
        public void LinearModel_FullKernel_EqualsClosedForm(NtkMethod method)
        {
            var model = LinearModel.CreateRandom(4, 3, seed: 1);
            var x1 = TestUtil.RandomMatrix(5, 4, 2);
            var x2 = TestUtil.RandomMatrix(3, 4, 3);
            var k = EmpiricalNtk.ComputeFull(model, x1, x2, new NtkOptions { Method = method });
            Assert.That(k.Method, Is.EqualTo(method));
            for (int a = 0; a < 5; a++)
                for (int b = 0; b < 3; b++)
                {
                    double expected = TestUtil.Dot(x1.Row(a), x2.Row(b)) + 1;
                    for (int c = 0; c < 3; c++)
                        for (int d = 0; d < 3; d++)
                            Assert.That(k[a, b, c, d], Is.EqualTo(c == d ? expected : 0).Within(1e-12), $"K[{a},{b},{c},{d}]");
                }
        }

        /// <summary>One hidden layer: K^{W1}_cd = (x·x')(δ_c·δ'_d), K^{b1} = δ_c·δ'_d, K^{W2} = (a·a')δ_cd, K^{b2} = δ_cd.</summary>
        [TestCase(Activation.Tanh)]
        [TestCase(Activation.Softplus)]
        [TestCase(Activation.Square)]
        public void DenseNetwork_LayerKernels_FactorAsInputTimesBackprop(Activation act)
        {
            var net = DenseNetwork.CreateRandom(new[] { 3, 6, 2 }, act, seed: 7);
            var x = TestUtil.RandomMatrix(4, 3, 8);
            var lw = EmpiricalNtk.ComputeLayerwise(net, KernelReduction.FlattenSampleMajor, x, options: new NtkOptions { Method = NtkMethod.JacobianContraction });
            double[] w1 = net.GetTensor("layer0.weight"), b1 = net.GetTensor("layer0.bias"), w2 = net.GetTensor("layer1.weight");
            int h = 6, c = 2, d = 3;
            // Hand-computed forward and backprop signals.
            var a = new double[4][];
            var delta = new double[4][,]; // [c, j] = ∂f_c/∂z1_j = W2[c, j] φ'(z1_j)
            for (int n = 0; n < 4; n++)
            {
                a[n] = new double[h];
                delta[n] = new double[c, h];
                for (int j = 0; j < h; j++)
                {
                    double z = b1[j];
                    for (int i = 0; i < d; i++) z += w1[j * d + i] * x[n, i];
                    double phi, dphi;
                    switch (act)
                    {
                        case Activation.Tanh: phi = Math.Tanh(z); dphi = 1 - phi * phi; break;
                        case Activation.Softplus: phi = Math.Log(1 + Math.Exp(z)); dphi = 1 / (1 + Math.Exp(-z)); break;
                        default: phi = z * z; dphi = 2 * z; break;
                    }
                    a[n][j] = phi;
                    for (int o = 0; o < c; o++) delta[n][o, j] = w2[o * h + j] * dphi;
                }
            }
            for (int n = 0; n < 4; n++)
                for (int m = 0; m < 4; m++)
                {
                    double xx = TestUtil.Dot(x.Row(n), x.Row(m));
                    double aa = TestUtil.Dot(a[n], a[m]);
                    for (int o = 0; o < c; o++)
                        for (int q = 0; q < c; q++)
                        {
                            double dd = 0;
                            for (int j = 0; j < h; j++) dd += delta[n][o, j] * delta[m][q, j];
                            int r = n * c + o, s = m * c + q;
                            Assert.That(lw["layer0.weight"][r, s], Is.EqualTo(xx * dd).Within(1e-10 * Math.Max(1, Math.Abs(xx * dd))), "W1");
                            Assert.That(lw["layer0.bias"][r, s], Is.EqualTo(dd).Within(1e-10 * Math.Max(1, Math.Abs(dd))), "b1");
                            Assert.That(lw["layer1.weight"][r, s], Is.EqualTo(o == q ? aa : 0).Within(1e-10 * Math.Max(1, aa)), "W2");
                            Assert.That(lw["layer1.bias"][r, s], Is.EqualTo(o == q ? 1 : 0).Within(1e-12), "b2");
                        }
                }
        }

        [Test]
        public void Jacobian_MatchesCentralFiniteDifferences()
        {
            var net = DenseNetwork.CreateRandom(new[] { 3, 5, 4, 2 }, Activation.Tanh, seed: 11);
            var x = TestUtil.RandomMatrix(3, 3, 12);
            var j = EmpiricalNtk.ComputeJacobian(net, x, new NtkOptions { Method = NtkMethod.JacobianContraction });
            var theta = net.GetParameters();
            const double h = 1e-6;
            double maxRel = 0;
            for (int mu = 0; mu < theta.Length; mu++)
            {
                var tp = (double[])theta.Clone();
                var tm = (double[])theta.Clone();
                tp[mu] += h;
                tm[mu] -= h;
                var fp = net.WithParameters(tp).Evaluate(x);
                var fm = net.WithParameters(tm).Evaluate(x);
                for (int n = 0; n < 3; n++)
                    for (int c = 0; c < 2; c++)
                    {
                        double fd = (fp[n, c] - fm[n, c]) / (2 * h);
                        double err = Math.Abs(fd - j[n, c, mu]) / Math.Max(1, Math.Abs(fd));
                        maxRel = Math.Max(maxRel, err);
                    }
            }
            Assert.That(maxRel, Is.LessThan(1e-8));
            Assert.That(net.GetParameters(), Is.EqualTo(theta), "parameters must not change");
        }

        [Test]
        public void ExpandedWeights_EqualPerSampleLoop_ViaWrappedTorchModule()
        {
            var net = DenseNetwork.CreateRandom(new[] { 3, 7, 2 }, Activation.Relu, seed: 21);
            var module = TorchModules.DenseEquivalent(net);
            var wrapped = TorchModuleModel.Wrap(module, 3, 2);
            var x = TestUtil.RandomMatrix(6, 3, 22);
            var a = EmpiricalNtk.Compute(net, KernelReduction.FlattenClassMajor, x, options: new NtkOptions { Method = NtkMethod.JacobianContraction });
            var b = EmpiricalNtk.Compute(wrapped, KernelReduction.FlattenClassMajor, x, options: new NtkOptions { Method = NtkMethod.JacobianContraction });
            Assert.That(b.Method, Is.EqualTo(NtkMethod.JacobianContraction));
            TestUtil.AssertClose(b.Matrix, a.Matrix, 1e-12, "wrapped vs functional");
            var auto = EmpiricalNtk.Compute(wrapped, KernelReduction.FlattenClassMajor, x);
            Assert.That(auto.Method, Is.EqualTo(NtkMethod.Structured), "Auto takes the layer rules of a wrapped module");
            TestUtil.AssertClose(auto.Matrix, a.Matrix, 1e-12, "layer rules vs functional");
        }
    }
}

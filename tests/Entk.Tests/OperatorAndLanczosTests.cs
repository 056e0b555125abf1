using System;
using System.Linq;
using Entk.Kernels;
using Entk.Linalg;
using Entk.Models;
using Entk.Training;
using NUnit.Framework;

namespace Entk.Tests
{
    [TestFixture]
    public class KernelOperatorTests
    {
        private static (NtkModel model, Matrix x)[] Cases()
        {
            var tms = TmsTraining.Train(TmsSetup.Create(new TmsConfig { Features = 8, Hidden = 3, Samples = 12, Sparsity = 0.4, LearningRate = 1e-2 }, 2), new TmsTrainingOptions { Steps = 100 }).Model;
            return new (NtkModel, Matrix)[]
            {
                (DenseNetwork.CreateRandom(new[] { 3, 6, 5, 4 }, Activation.Tanh, 1), TestUtil.RandomMatrix(7, 3, 2)),
                (DenseNetwork.CreateRandom(new[] { 2, 5, 3 }, Activation.Relu, 3, bias: false), TestUtil.RandomMatrix(6, 2, 4)),
                (LinearModel.CreateRandom(4, 3, 5), TestUtil.RandomMatrix(5, 4, 6)),
                (tms, TmsSetup.Create(new TmsConfig { Features = 8, Hidden = 3, Samples = 12, Sparsity = 0.4 }, 2).Inputs),
                (MlpSetup.Create(new MlpConfig { Modulus = 5, Width = 6 }, 7).InitialModel, ModularMlp.AllInputs(5)),
            };
        }

        [Test]
        public void Operator_ProductsAndTrace_EqualExplicitKernel([Values(NtkMethod.Structured, NtkMethod.NtkVectorProducts)] NtkMethod method,
                                                               [Values(KernelReductionKind.FlattenClassMajor, KernelReductionKind.FlattenSampleMajor)] KernelReductionKind kind)
        {
            var r = kind == KernelReductionKind.FlattenClassMajor ? KernelReduction.FlattenClassMajor : KernelReduction.FlattenSampleMajor;
            foreach (var (model, x) in Cases())
            {
                int c = model.OutputDimension;
                var imp = Enumerable.Range(0, c).Select(i => Math.Pow(0.7, i)).ToArray();
                var o = new NtkOptions { Importance = imp, Beta = 0.5 };
                var k = EmpiricalNtk.Compute(model, r, x, options: o with { Method = NtkMethod.JacobianContraction }).Matrix;
                var op = EmpiricalNtk.Operator(model, r, x, o with { Method = method });
                Assert.That(op.Method, Is.EqualTo(method));
                Assert.That(op.Dimension, Is.EqualTo(k.Rows));
                var v = TestUtil.RandomMatrix(k.Rows, 3, 9);
                TestUtil.AssertClose(op.Apply(v), k.Multiply(v), 1e-11, model.Name + " " + method + " " + r);
                double trace = Enumerable.Range(0, k.Rows).Sum(i => k[i, i]);
                Assert.That(op.Trace, Is.EqualTo(trace).Within(1e-11 * Math.Max(1, trace)), model.Name + " trace");
                Assert.That(op.Applications, Is.EqualTo(3));
            }
        }

        [Test]
        public void Operator_JacobianContraction_IsRejected()
        {
            var net = DenseNetwork.CreateRandom(new[] { 2, 3, 2 }, Activation.Tanh, 1);
            var ex = Assert.Throws<EntkArgumentException>(() => EmpiricalNtk.Operator(net, KernelReduction.FlattenClassMajor, TestUtil.RandomMatrix(3, 2, 1), new NtkOptions { Method = NtkMethod.JacobianContraction }));
            Assert.That(ex!.ParamName, Is.EqualTo("options.Method"));
        }
    }

    [TestFixture]
    public class LanczosTests
    {
        /// <summary>A PSD matrix with a clustered spectrum (an isolated top eigenvalue, two near-degenerate cliffs, a tail).</summary>
        private static Matrix ClusteredMatrix(int n, int seed, out double[] spectrum)
        {
            var rng = new Random(seed);
            spectrum = new double[n];
            for (int i = 0; i < n; i++)
                spectrum[i] = i == 0 ? 50 : i <= 20 ? 10 + 0.01 * rng.NextDouble() : i <= 40 ? 3 + 0.01 * rng.NextDouble() : 1.0 / (1 + i);
            var q = Entk.Torch.TorchOps.ToMatrix(TorchSharp.torch.linalg.qr(Entk.Torch.TorchOps.ToTensor(TestUtil.RandomMatrix(n, n, seed))).Q);
            var d = new double[n * n];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int l = 0; l < n; l++) s += q[i, l] * spectrum[l] * q[j, l];
                    d[i * n + j] = s;
                }
            var a = Matrix.FromArray(n, n, d);
            var sym = new double[n * n];
            for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) sym[i * n + j] = 0.5 * (a[i, j] + a[j, i]);
            return Matrix.FromArray(n, n, sym);
        }

        [Test]
        public void TopK_ClusteredSpectrum_MatchesDenseAndSatisfiesInvariants()
        {
            var a = ClusteredMatrix(300, 1, out _);
            var dense = SymmetricEigen.Decompose(a, 45);
            var lz = Lanczos.TopK(KernelOperator.FromMatrix(a), 45, new LanczosOptions { Seed = 3 });
            Assert.That(lz.Route, Is.EqualTo(SpectrumRoute.Lanczos));
            TestUtil.AssertClose(lz.ValuesArray(), dense.ValuesArray(), 1e-10);
            var u = lz.Vectors;
            TestUtil.AssertClose(u.Transpose().Multiply(u), Matrix.Identity(45), 1e-10, "UᵀU");
            var au = a.Multiply(u);
            for (int i = 0; i < 300; i++)
                for (int j = 0; j < 45; j++)
                    Assert.That(au[i, j], Is.EqualTo(u[i, j] * lz.Values[j]).Within(1e-8));
            Assert.That(lz.Residuals!.Max(), Is.LessThan(1e-8));
        }

        [Test]
        public void TopK_IsDeterministicForASeed()
        {
            var a = ClusteredMatrix(120, 2, out _);
            var x = Lanczos.TopK(KernelOperator.FromMatrix(a), 10, new LanczosOptions { Seed = 7 });
            var y = Lanczos.TopK(KernelOperator.FromMatrix(a), 10, new LanczosOptions { Seed = 7 });
            Assert.That(x.ValuesArray(), Is.EqualTo(y.ValuesArray()));
            Assert.That(x.Vectors.ToArray(), Is.EqualTo(y.Vectors.ToArray()));
        }

        [Test]
        public void TopK_OnFlattenedMlpOperator_EqualsDenseEighOfExplicitKernel()
        {
            var model = MlpTraining.Train(MlpSetup.Create(new MlpConfig { Modulus = 7, Width = 16, Epochs = 60 }, 3)).Model;
            var x = ModularMlp.AllInputs(7);
            var k = EmpiricalNtk.Compute(model, KernelReduction.FlattenClassMajor, x, options: new NtkOptions { Method = NtkMethod.JacobianContraction }).Matrix;
            var dense = SymmetricEigen.Decompose(k, 40, RidgePolicy.Paper);
            var op = EmpiricalNtk.Operator(model, KernelReduction.FlattenClassMajor, x);
            var lz = Lanczos.TopK(op, 40, new LanczosOptions { Ridge = RidgePolicy.Paper });
            Assert.That(lz.Shift, Is.EqualTo(dense.Shift).Within(1e-12 * dense.Shift));
            TestUtil.AssertClose(lz.ValuesArray(), dense.ValuesArray(), 1e-10 / Math.Max(1, dense.Values[0]) * dense.Values[0]);
            double rel = lz.ValuesArray().Zip(dense.ValuesArray(), (p, q) => Math.Abs(p - q) / dense.Values[0]).Max();
            Assert.That(rel, Is.LessThan(1e-10));
        }

        [Test]
        public void TopK_BadArguments_Throw()
        {
            var op = KernelOperator.FromMatrix(Matrix.Identity(5));
            Assert.Throws<EntkArgumentException>(() => Lanczos.TopK(op, 5));
            Assert.Throws<EntkArgumentException>(() => Lanczos.TopK(op, 2, new LanczosOptions { BasisSize = 2 }));
            Assert.Throws<EntkArgumentException>(() => Lanczos.TopK(op, 2, new LanczosOptions { Tolerance = 0 }));
        }
    }
}

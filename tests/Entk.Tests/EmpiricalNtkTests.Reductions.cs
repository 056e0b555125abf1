using System;
using System.Linq;
using Entk.Kernels;
using Entk.Linalg;
using Entk.Models;
using NUnit.Framework;

namespace Entk.Tests
{
    public partial class EmpiricalNtkTests
    {
        private static readonly NtkMethod[] AllMethods = { NtkMethod.JacobianContraction, NtkMethod.Structured, NtkMethod.NtkVectorProducts };

        private static DenseNetwork SmallNet() => DenseNetwork.CreateRandom(new[] { 3, 5, 4 }, Activation.Tanh, seed: 31);

        private static KernelReduction[] Reductions() => new[]
        {
            KernelReduction.FlattenClassMajor, KernelReduction.FlattenSampleMajor, KernelReduction.TraceMean,
            KernelReduction.TraceSum, KernelReduction.AllPairsMean, KernelReduction.Block(1, 2),
        };

        [Test]
        public void Reductions_OfFullTensor_MatchTheirFormulas()
        {
            var net = SmallNet();
            var x1 = TestUtil.RandomMatrix(4, 3, 32);
            var x2 = TestUtil.RandomMatrix(3, 3, 33);
            var full = EmpiricalNtk.ComputeFull(net, x1, x2, new NtkOptions { Method = NtkMethod.JacobianContraction });
            int n1 = 4, n2 = 3, c = 4;
            var cm = full.Reduce(KernelReduction.FlattenClassMajor);
            var sm = full.Reduce(KernelReduction.FlattenSampleMajor);
            var tm = full.Reduce(KernelReduction.TraceMean);
            var ts = full.Reduce(KernelReduction.TraceSum);
            var ap = full.Reduce(KernelReduction.AllPairsMean);
            var bl = full.Reduce(KernelReduction.Block(1, 2));
            for (int a = 0; a < n1; a++)
                for (int b = 0; b < n2; b++)
                {
                    double tr = 0, all = 0;
                    for (int i = 0; i < c; i++)
                    {
                        tr += full[a, b, i, i];
                        for (int j = 0; j < c; j++)
                        {
                            all += full[a, b, i, j];
                            Assert.That(cm[i * n1 + a, j * n2 + b], Is.EqualTo(full[a, b, i, j]));
                            Assert.That(sm[a * c + i, b * c + j], Is.EqualTo(full[a, b, i, j]));
                        }
                    }
                    Assert.That(tm[a, b], Is.EqualTo(tr / c).Within(1e-13));
                    Assert.That(ts[a, b], Is.EqualTo(tr).Within(1e-13));
                    Assert.That(ap[a, b], Is.EqualTo(all / (c * c)).Within(1e-13));
                    Assert.That(bl[a, b], Is.EqualTo(full[a, b, 1, 2]));
                }
        }

        [Test]
        public void EveryMethod_EveryReduction_EqualsFullTensorReduction([ValueSource(nameof(AllMethods))] NtkMethod method)
        {
            var net = SmallNet();
            var x1 = TestUtil.RandomMatrix(4, 3, 34);
            var x2 = TestUtil.RandomMatrix(3, 3, 35);
            var importance = new[] { 1.0, 0.8, 0.64, 0.512 };
            var opts = new NtkOptions { Method = method, Importance = importance, Beta = 0.3 };
            var reference = EmpiricalNtk.ComputeFull(net, x1, x2, new NtkOptions { Method = NtkMethod.JacobianContraction }).Rescale(importance, 0.3);
            foreach (var r in Reductions())
            {
                var k = EmpiricalNtk.Compute(net, r, x1, x2, opts);
                Assert.That(k.Method, Is.EqualTo(method));
                Assert.That(k.ImportanceRescaled, Is.True);
                TestUtil.AssertClose(k.Matrix, reference.Reduce(r), 1e-10, method + " " + r);
            }
        }

        [Test]
        public void ImportanceRescaling_MultipliesBlocksByPowers()
        {
            var net = SmallNet();
            var x = TestUtil.RandomMatrix(3, 3, 36);
            var imp = new[] { 1.0, 0.5, 0.25, 0.125 };
            var plain = EmpiricalNtk.ComputeFull(net, x);
            var scaled = EmpiricalNtk.ComputeFull(net, x, options: new NtkOptions { Importance = imp, Beta = 1 });
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++)
                    for (int c = 0; c < 4; c++)
                        for (int d = 0; d < 4; d++)
                            Assert.That(scaled[a, b, c, d], Is.EqualTo(plain[a, b, c, d] * Math.Sqrt(imp[c] * imp[d])).Within(1e-12));
        }

        [Test]
        public void AllPairsMean_EqualsNtkOfSummedOutputs_OverCSquared()
        {
            var net = SmallNet();
            var x = TestUtil.RandomMatrix(5, 3, 37);
            var j = EmpiricalNtk.ComputeJacobian(net, x, new NtkOptions { Method = NtkMethod.JacobianContraction });
            var k = EmpiricalNtk.Compute(net, KernelReduction.AllPairsMean, x);
            int c = 4, p = net.ParameterCount;
            for (int a = 0; a < 5; a++)
                for (int b = 0; b < 5; b++)
                {
                    double s = 0;
                    for (int mu = 0; mu < p; mu++)
                    {
                        double ga = 0, gb = 0;
                        for (int i = 0; i < c; i++) { ga += j[a, i, mu]; gb += j[b, i, mu]; }
                        s += ga * gb;
                    }
                    Assert.That(k[a, b], Is.EqualTo(s / (c * c)).Within(1e-12));
                }
        }

        [Test]
        public void SelfKernel_IsSymmetricPositiveSemidefinite([ValueSource(nameof(AllMethods))] NtkMethod method)
        {
            var net = DenseNetwork.CreateRandom(new[] { 2, 6, 3 }, Activation.Relu, seed: 38);
            var x = TestUtil.RandomMatrix(6, 2, 39);
            var k = EmpiricalNtk.Compute(net, KernelReduction.FlattenClassMajor, x, options: new NtkOptions { Method = method }).Matrix;
            TestUtil.AssertClose(k, k.Transpose(), 1e-13, "symmetry");
            var ev = SymmetricEigen.Eigenvalues(k);
            Assert.That(ev.Min(), Is.GreaterThanOrEqualTo(-1e-10 * ev.Max()));
        }

        [Test]
        public void LayerKernels_SumToFullKernel([ValueSource(nameof(AllMethods))] NtkMethod method)
        {
            var net = DenseNetwork.CreateRandom(new[] { 3, 4, 4, 2 }, Activation.Softplus, seed: 40);
            var x = TestUtil.RandomMatrix(4, 3, 41);
            foreach (var r in Reductions().Take(5))
            {
                var lw = EmpiricalNtk.ComputeLayerwise(net, r, x, options: new NtkOptions { Method = method });
                Assert.That(lw.GroupNames, Is.EqualTo(net.Layout.Tensors.Select(t => t.Name).ToArray()));
                var sum = lw.Kernels.Select(k => k.Matrix).Aggregate(TestUtil.Add);
                TestUtil.AssertClose(sum, lw.Total.Matrix, 1e-12, r.ToString());
            }
        }

        [Test]
        public void CustomGroups_SumPerGroupAndMatchPerTensorSums()
        {
            var net = DenseNetwork.CreateRandom(new[] { 3, 4, 2 }, Activation.Tanh, seed: 42);
            var x = TestUtil.RandomMatrix(4, 3, 43);
            var groups = new[] { ParameterGroup.Of("hidden", "layer0.weight", "layer0.bias"), ParameterGroup.Of("readout", "layer1.weight", "layer1.bias") };
            var byGroup = EmpiricalNtk.ComputeLayerwise(net, KernelReduction.TraceMean, x, groups: groups);
            var byTensor = EmpiricalNtk.ComputeLayerwise(net, KernelReduction.TraceMean, x);
            TestUtil.AssertClose(byGroup["hidden"].Matrix, TestUtil.Add(byTensor["layer0.weight"].Matrix, byTensor["layer0.bias"].Matrix), 1e-13);
            TestUtil.AssertClose(TestUtil.Add(byGroup["hidden"].Matrix, byGroup["readout"].Matrix), byGroup.Total.Matrix, 1e-13);
        }

        [Test]
        public void TraceMean_StreamedOverOutputs_EqualsUnstreamed()
        {
            var net = DenseNetwork.CreateRandom(new[] { 3, 8, 6 }, Activation.Tanh, seed: 44);
            var x = TestUtil.RandomMatrix(10, 3, 45);
            var whole = EmpiricalNtk.Compute(net, KernelReduction.TraceMean, x, options: new NtkOptions { Method = NtkMethod.JacobianContraction });
            // Budget so small that only one or two outputs' Jacobians fit at once.
            long perOutput = 8L * 10 * net.ParameterCount;
            var streamed = EmpiricalNtk.Compute(net, KernelReduction.TraceMean, x, options: new NtkOptions { Method = NtkMethod.JacobianContraction, MemoryBudgetBytes = 3 * perOutput + 8L * 100 * 3 + net.ParameterCount * 8L * 4 * 10 + 4096, ChunkSize = 2 });
            TestUtil.AssertClose(streamed.Matrix, whole.Matrix, 1e-13);
        }

        [Test]
        public void FlattenOrders_ArePermutationsWithTheSameSpectrum()
        {
            var net = SmallNet();
            var x = TestUtil.RandomMatrix(5, 3, 46);
            var cm = EmpiricalNtk.Compute(net, KernelReduction.FlattenClassMajor, x).Matrix;
            var sm = EmpiricalNtk.Compute(net, KernelReduction.FlattenSampleMajor, x).Matrix;
            TestUtil.AssertClose(SymmetricEigen.Eigenvalues(cm), SymmetricEigen.Eigenvalues(sm), 1e-12);
        }

        [Test]
        public void Methods_ReportProgress()
        {
            var net = SmallNet();
            var x = TestUtil.RandomMatrix(5, 3, 47);
            var reports = new System.Collections.Generic.List<EntkProgress>();
            var sink = new SyncProgress(reports.Add);
            EmpiricalNtk.Compute(net, KernelReduction.TraceMean, x, options: new NtkOptions { Method = NtkMethod.JacobianContraction, Progress = sink });
            Assert.That(reports, Is.Not.Empty);
            Assert.That(reports[^1].Completed, Is.EqualTo(reports[^1].Total));
        }

        private sealed class SyncProgress : IProgress<EntkProgress>
        {
            private readonly Action<EntkProgress> _a;
            public SyncProgress(Action<EntkProgress> a) => _a = a;
            public void Report(EntkProgress value) => _a(value);
        }
    }
}

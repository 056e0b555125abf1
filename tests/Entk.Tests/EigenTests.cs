using System;
using System.Linq;
using Entk.Kernels;
using Entk.Linalg;
using Entk.Models;
using NUnit.Framework;

namespace Entk.Tests
{
    public class EigenTests : BackendFixture
    {
        public EigenTests(Linalg.LinearAlgebraBackend backend) : base(backend) { }

        [TestCase(1)]
        [TestCase(2)]
        [TestCase(10)]
        [TestCase(60)]
        [TestCase(90)]
        public void Decompose_SatisfiesInvariants(int n)
        {
            var a = TestUtil.RandomSymmetric(n, n);
            var e = SymmetricEigen.Decompose(a);
            var v = e.Vectors;
            var av = a.Multiply(v);
            double scale = Math.Max(1, e.Values.Max(Math.Abs));
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    Assert.That(av[i, j], Is.EqualTo(v[i, j] * e.Values[j]).Within(1e-12 * scale * n), "A·V = V·Λ");
            TestUtil.AssertClose(v.Transpose().Multiply(v), Matrix.Identity(n), 1e-12, "VᵀV = I");
            for (int i = 1; i < n; i++) Assert.That(e.Values[i], Is.LessThanOrEqualTo(e.Values[i - 1]), "descending");
            Assert.That(e.Route, Is.EqualTo(SpectrumRoute.Dense));
            Assert.That(e.Backend, Is.EqualTo(Backend == LinearAlgebraBackend.Auto
                ? (n <= LinearAlgebraControl.ManagedMaxEigenOrder ? LinearAlgebraBackend.Managed : LinearAlgebraBackend.Torch)
                : Backend));
        }

        [Test]
        public void Decompose_TopK_ReturnsLargestAndDoesNotMutateInput()
        {
            var a = TestUtil.RandomSymmetric(20, 5);
            var before = a.ToArray();
            var all = SymmetricEigen.Decompose(a);
            var top = SymmetricEigen.Decompose(a, 5, RidgePolicy.Paper);
            Assert.That(a.ToArray(), Is.EqualTo(before), "input unchanged");
            Assert.That(top.Count, Is.EqualTo(5));
            double meanDiag = Enumerable.Range(0, 20).Average(i => a[i, i]);
            Assert.That(top.Shift, Is.EqualTo(1e-8 * meanDiag).Within(1e-20));
            for (int i = 0; i < 5; i++) Assert.That(top.Values[i], Is.EqualTo(all.Values[i] + top.Shift).Within(1e-12));
        }

        [Test]
        public void OfGram_EqualsDenseSpectrumOfJJt()
        {
            var j = TestUtil.RandomMatrix(40, 7, 9);
            var k = j.Multiply(j.Transpose());
            var dense = SymmetricEigen.Decompose(k, 7);
            var gram = SymmetricEigen.OfGram(j, 7);
            Assert.That(gram.Route, Is.EqualTo(SpectrumRoute.ParameterSideGram));
            TestUtil.AssertClose(gram.ValuesArray(), dense.ValuesArray(), 1e-12);
            // Eigenvectors: compare projectors and check invariants.
            var u = gram.Vectors;
            TestUtil.AssertClose(u.Transpose().Multiply(u), Matrix.Identity(7), 1e-11, "UᵀU");
            var ku = k.Multiply(u);
            for (int i = 0; i < 40; i++)
                for (int c = 0; c < 7; c++)
                    Assert.That(ku[i, c], Is.EqualTo(u[i, c] * gram.Values[c]).Within(1e-10 * gram.Values[0]));
        }

        [Test]
        public void OfGram_PastTheRank_CompletesOrthonormally()
        {
            var j = TestUtil.RandomMatrix(12, 3, 10);
            var g = SymmetricEigen.OfGram(j, 3);
            Assert.That(g.Count, Is.EqualTo(3));
            var rankDeficient = Matrix.FromArray(6, 3, new double[] { 1, 1, 0, 2, 2, 0, 0, 0, 0, 1, 1, 0, 3, 3, 0, 0, 0, 0 });
            var e = SymmetricEigen.OfGram(rankDeficient, 3);
            TestUtil.AssertClose(e.Vectors.Transpose().Multiply(e.Vectors), Matrix.Identity(3), 1e-12);
            Assert.That(e.Values[1], Is.EqualTo(0).Within(1e-12));
        }

        [Test]
        public void ModelSpectrum_ParameterSide_EqualsDenseSpectrumOfExplicitKernel()
        {
            var net = DenseNetwork.CreateRandom(new[] { 3, 4, 6 }, Activation.Tanh, seed: 51);
            var x = TestUtil.RandomMatrix(12, 3, 52);   // N·C = 72 > P = 46
            var imp = Enumerable.Range(0, 6).Select(i => Math.Pow(0.8, i)).ToArray();
            var opts = new NtkOptions { Importance = imp, Beta = 0.3 };
            foreach (var r in new[] { KernelReduction.FlattenClassMajor, KernelReduction.FlattenSampleMajor })
            {
                var side = EmpiricalNtk.Spectrum(net, r, x, 20, opts, RidgePolicy.Paper);
                Assert.That(side.Route, Is.EqualTo(SpectrumRoute.ParameterSideGram));
                var k = EmpiricalNtk.Compute(net, r, x, options: opts with { Method = NtkMethod.JacobianContraction }).Matrix;
                var dense = SymmetricEigen.Decompose(k, 20, RidgePolicy.Paper);
                TestUtil.AssertClose(side.ValuesArray(), dense.ValuesArray(), 1e-11, r.ToString());
                var kv = k.Multiply(side.Vectors);
                for (int i = 0; i < k.Rows; i++)
                    for (int c = 0; c < 20; c++)
                        Assert.That(kv[i, c], Is.EqualTo(side.Vectors[i, c] * (side.Values[c] - side.Shift)).Within(1e-9 * side.Values[0]));
            }
            // Traced kernel: C·P = 276 > N = 12 → dense route.
            var tr = EmpiricalNtk.Spectrum(net, KernelReduction.TraceMean, x, 5);
            Assert.That(tr.Route, Is.EqualTo(SpectrumRoute.Dense));
        }
    }

    [TestFixture]
    public class CliffDetectorTests
    {
        [Test]
        public void Detect_FindsPaperLikeMlpCliffs()
        {
            // λ0 isolated, 56-mode plateau, 56-mode plateau, slowly decaying tail (as in docs/paper-notes.md §2.2.4).
            var v = new double[200];
            v[0] = 0.55;
            for (int i = 1; i <= 56; i++) v[i] = 2.0e-2 - (i - 1) * (0.4e-2 / 55);
            for (int i = 57; i <= 112; i++) v[i] = 7e-3 - (i - 57) * (3e-3 / 55);
            for (int i = 113; i < 200; i++) v[i] = 3e-3 * Math.Pow(2.0 / 3.0, (i - 113) / 87.0);
            var r = CliffDetector.Detect(v);
            Assert.That(r.DropIndices, Is.EqualTo(new[] { 0, 56, 112 }));
            Assert.That(r.Cliffs.Select(c => c.Size), Is.EqualTo(new[] { 1, 56, 56 }));
        }

        [Test]
        public void Detect_SmoothSpectrum_HasNoCliffs()
        {
            var v = Enumerable.Range(0, 100).Select(i => Math.Exp(-0.03 * i)).ToArray();
            Assert.That(CliffDetector.Detect(v).Drops, Is.Empty);
        }

        [Test]
        public void Detect_DropToNullSpace_IsReported()
        {
            var v = new[] { 5.0, 4.9, 4.8, 1e-16, 1e-17 };
            var r = CliffDetector.Detect(v);
            Assert.That(r.DropIndices, Is.EqualTo(new[] { 2 }));
            Assert.That(double.IsPositiveInfinity(r.Drops[0].Ratio), Is.True);
        }

        [Test]
        public void Detect_RejectsAscendingInput()
        {
            var ex = Assert.Throws<EntkArgumentException>(() => CliffDetector.Detect(new[] { 1.0, 2.0 }));
            Assert.That(ex!.ParamName, Is.EqualTo("eigenvalues"));
        }
    }
}

namespace Entk.Tests
{
    /// <summary>An independent eigensolver (MathNet.Numerics' managed EVD, called directly) agrees with SymmetricEigen on every backend.</summary>
    public class IndependentEigenTests : BackendFixture
    {
        public IndependentEigenTests(Linalg.LinearAlgebraBackend backend) : base(backend) { }

        [NUnit.Framework.TestCase(5)]
        [NUnit.Framework.TestCase(40)]
        public void Decompose_AgreesWithMathNetManagedEvd(int n)
        {
            var a = TestUtil.RandomSymmetric(n, 100 + n);
            var mine = Entk.Linalg.SymmetricEigen.Decompose(a);
            var m = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.DenseOfArray(a.ToArray2D());
            var evd = m.Evd(MathNet.Numerics.LinearAlgebra.Symmetricity.Symmetric);
            var theirs = System.Linq.Enumerable.ToArray(System.Linq.Enumerable.OrderByDescending(evd.EigenValues, v => v.Real)).Select(v => v.Real).ToArray();
            TestUtil.AssertClose(mine.ValuesArray(), theirs, 1e-12);
        }
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Entk.Linalg;
using Entk.Linalg.Providers;
using NUnit.Framework;

namespace Entk.Tests
{
    /// <summary>
    /// The internal provider seam, tested per provider by invariants (A·V = V·Λ, VᵀV = I, QᵀQ = I, Q·(QᵀA) = A, ‖Aᵀu_i‖ = σ_i)
    /// and across providers (eigenvalues, singular values and spanned subspaces agree).
    /// </summary>
    [TestFixture(LinearAlgebraBackend.Torch)]
    [TestFixture(LinearAlgebraBackend.Managed)]
    public class LinearAlgebraProviderTests
    {
        private readonly ILinearAlgebraProvider _provider;
        private readonly ILinearAlgebraProvider _other;

        public LinearAlgebraProviderTests(LinearAlgebraBackend backend)
        {
            _provider = backend == LinearAlgebraBackend.Torch ? TorchLinearAlgebra.Instance : ManagedLinearAlgebra.Instance;
            _other = backend == LinearAlgebraBackend.Torch ? ManagedLinearAlgebra.Instance : TorchLinearAlgebra.Instance;
            Assert.That(_provider.Backend, Is.EqualTo(backend));
        }

        [TestCase(1, 1)]
        [TestCase(7, 7)]
        [TestCase(40, 5)]
        [TestCase(130, 130)]
        public void SymmetricEigen_TopK_SatisfiesInvariants(int n, int k)
        {
            var a = TestUtil.RandomSymmetric(n, 300 + n);
            var e = _provider.SymmetricEigen(a, k, vectors: true);
            var v = e.Vectors!;
            Assert.That(v.Rows, Is.EqualTo(n));
            Assert.That(v.Columns, Is.EqualTo(k));
            Assert.That(e.Values, Has.Length.EqualTo(k));
            double scale = Math.Max(1, a.MaxAbs());
            var av = a.Multiply(v);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < k; j++)
                    Assert.That(av[i, j], Is.EqualTo(v[i, j] * e.Values[j]).Within(1e-12 * scale * n), "A·V = V·Λ");
            TestUtil.AssertClose(v.Transpose().Multiply(v), Matrix.Identity(k), 1e-12, "VᵀV = I");
            for (int i = 1; i < k; i++) Assert.That(e.Values[i], Is.LessThanOrEqualTo(e.Values[i - 1]), "descending");
            var all = _provider.SymmetricEigen(a, n, vectors: false);
            Assert.That(all.Vectors, Is.Null);
            TestUtil.AssertClose(e.Values, all.Values.Take(k).ToArray(), 1e-12, "top-k = the k largest of all");
            TestUtil.AssertClose(all.Values, _other.SymmetricEigen(a, n, vectors: false).Values, 1e-12, "backends agree");
        }

        [TestCase(50, 7)]
        [TestCase(841, 3)]
        [TestCase(5, 5)]
        [TestCase(9, 1)]
        public void Qr_IsThinAndReproducesTheMatrix(int r, int c)
        {
            var a = TestUtil.RandomMatrix(r, c, 400 + r + c);
            var qr = _provider.Qr(a);
            var q = qr.Q;
            Assert.That((q.Rows, q.Columns), Is.EqualTo((r, c)));
            TestUtil.AssertClose(q.Transpose().Multiply(q), Matrix.Identity(c), 1e-13, "QᵀQ = I");
            var rr = q.Transpose().Multiply(a);                      // R = QᵀA, upper triangular
            for (int i = 0; i < c; i++)
            {
                for (int j = 0; j < i; j++) Assert.That(rr[i, j], Is.EqualTo(0).Within(1e-12 * Math.Sqrt(r)), $"R[{i},{j}] below the diagonal");
                Assert.That(Math.Abs(rr[i, i]), Is.EqualTo(qr.AbsDiagonalR[i]).Within(1e-12 * Math.Sqrt(r)), $"|R[{i},{i}]|");
            }
            TestUtil.AssertClose(q.Multiply(rr), a, 1e-13, "Q·R = A");
            // the same column space as the other backend's Q: QQᵀ agree
            var q2 = _other.Qr(a).Q;
            TestUtil.AssertClose(q.Multiply(q.Transpose()), q2.Multiply(q2.Transpose()), 1e-12, "projectors agree");
        }

        [TestCase(30, 8)]
        [TestCase(8, 30)]
        [TestCase(841, 2)]
        [TestCase(6, 6)]
        public void Svd_LeftVectorsAndSingularValues_SatisfyInvariants(int r, int c)
        {
            var a = TestUtil.RandomMatrix(r, c, 500 + r * c);
            var svd = _provider.Svd(a);
            int m = Math.Min(r, c);
            Assert.That((svd.U.Rows, svd.U.Columns), Is.EqualTo((r, m)));
            Assert.That(svd.S, Has.Length.EqualTo(m));
            TestUtil.AssertClose(svd.U.Transpose().Multiply(svd.U), Matrix.Identity(m), 1e-13, "UᵀU = I");
            var atu = a.Transpose().Multiply(svd.U);                 // column i has norm σ_i
            for (int i = 0; i < m; i++)
            {
                double norm = Math.Sqrt(atu.Column(i).Sum(x => x * x));
                Assert.That(norm, Is.EqualTo(svd.S[i]).Within(1e-12 * svd.S[0]), $"‖Aᵀu_{i}‖ = σ_{i}");
                if (i > 0) Assert.That(svd.S[i], Is.LessThanOrEqualTo(svd.S[i - 1]), "descending");
            }
            double frob2 = a.Span.ToArray().Sum(x => x * x);
            Assert.That(svd.S.Sum(s => s * s), Is.EqualTo(frob2).Within(1e-12 * frob2), "Σσ² = ‖A‖²_F");
            TestUtil.AssertClose(_provider.SingularValues(a), svd.S, 1e-12, "SingularValues = S of the SVD");
            TestUtil.AssertClose(_other.SingularValues(a), svd.S, 1e-12, "backends agree");
        }

        [Test]
        public void Svd_RankDeficient_HasZeroTrailingSingularValues()
        {
            var b = TestUtil.RandomMatrix(20, 2, 61);
            var a = b.Multiply(TestUtil.RandomMatrix(2, 5, 62));      // rank 2
            var s = _provider.SingularValues(a);
            Assert.That(s, Has.Length.EqualTo(5));
            Assert.That(s[1], Is.GreaterThan(1e-3 * s[0]));
            for (int i = 2; i < 5; i++) Assert.That(s[i], Is.LessThan(1e-13 * s[0]));
        }
    }

    /// <summary>The public control: scoping, isolation between flows, Auto's size rule, validation and the report.</summary>
    [TestFixture]
    public class LinearAlgebraControlTests
    {
        [Test]
        public void Use_NestsAndRestores()
        {
            Assert.That(LinearAlgebraControl.Backend, Is.EqualTo(LinearAlgebraBackend.Auto));
            using (LinearAlgebraControl.Use(LinearAlgebraBackend.Managed))
            {
                Assert.That(LinearAlgebraControl.Backend, Is.EqualTo(LinearAlgebraBackend.Managed));
                var inner = LinearAlgebraControl.Use(LinearAlgebraBackend.Torch);
                Assert.That(LinearAlgebraControl.Backend, Is.EqualTo(LinearAlgebraBackend.Torch));
                inner.Dispose();
                inner.Dispose();                                      // a second dispose changes nothing
                Assert.That(LinearAlgebraControl.Backend, Is.EqualTo(LinearAlgebraBackend.Managed));
            }
            Assert.That(LinearAlgebraControl.Backend, Is.EqualTo(LinearAlgebraBackend.Auto));
        }

        [Test]
        public void Use_IsLocalToItsFlow_AndFlowsIntoTasksItStarts()
        {
            using var barrier = new Barrier(2);
            LinearAlgebraBackend Run(LinearAlgebraBackend b)
            {
                using var scope = LinearAlgebraControl.Use(b);
                barrier.SignalAndWait();                              // both scopes are open at the same time
                var seen = Task.Run(() => LinearAlgebraControl.Backend).Result;
                barrier.SignalAndWait();
                return seen;
            }
            var t1 = Task.Factory.StartNew(() => Run(LinearAlgebraBackend.Managed), TaskCreationOptions.LongRunning);
            var t2 = Task.Factory.StartNew(() => Run(LinearAlgebraBackend.Torch), TaskCreationOptions.LongRunning);
            Assert.That(t1.Result, Is.EqualTo(LinearAlgebraBackend.Managed));
            Assert.That(t2.Result, Is.EqualTo(LinearAlgebraBackend.Torch));
            Assert.That(LinearAlgebraControl.Backend, Is.EqualTo(LinearAlgebraBackend.Auto), "the caller's flow is untouched");
        }

        [Test]
        public void Use_RejectsAnUndefinedBackend()
        {
            var ex = Assert.Throws<EntkArgumentException>(() => LinearAlgebraControl.Use((LinearAlgebraBackend)7));
            Assert.That(ex!.ParamName, Is.EqualTo("backend"));
        }

        [Test]
        public void Auto_FollowsTheDocumentedSizeRule()
        {
            var seen = new List<string>();
            using (LinearAlgebraControl.Observe((b, op) => seen.Add(op + ":" + b)))
            {
                int small = LinearAlgebraControl.ManagedMaxEigenOrder;
                Assert.That(SymmetricEigen.Decompose(TestUtil.RandomSymmetric(small, 1)).Backend, Is.EqualTo(LinearAlgebraBackend.Managed));
                Assert.That(SymmetricEigen.Decompose(TestUtil.RandomSymmetric(small + 1, 1)).Backend, Is.EqualTo(LinearAlgebraBackend.Torch));
                SymmetricEigen.Eigenvalues(TestUtil.RandomSymmetric(3, 2));
                Entk.Metrics.SubspaceOverlap.Between(TestUtil.RandomMatrix(256, 16, 3), TestUtil.RandomMatrix(256, 17, 4));
            }
            Assert.That(seen, Is.EqualTo(new[]
            {
                "symmetric eigen:Managed", "symmetric eigen:Torch", "symmetric eigenvalues:Managed",
                "qr:Managed",                                          // 256·16² = 65 536 = the limit
                "qr:Torch",                                            // 256·17² > the limit
                "singular values:Managed",                            // 16 × 17
            }));
            Assert.That(LinearAlgebraControl.FactorWork(841, 8), Is.LessThanOrEqualTo(LinearAlgebraControl.ManagedMaxFactorWork));
            Assert.That(LinearAlgebraControl.FactorWork(8, 841), Is.EqualTo(LinearAlgebraControl.FactorWork(841, 8)));
            Assert.That(LinearAlgebraControl.FactorWork(int.MaxValue, int.MaxValue), Is.EqualTo(long.MaxValue), "saturates");
        }

        [Test]
        public void Describe_AndEntkInfo_ReportTheChoice()
        {
            var text = LinearAlgebraControl.Describe();
            Assert.That(text, Does.StartWith("backend: Auto (managed for symmetric eigenproblems of order ≤ 64"));
            Assert.That(text, Does.Contain("torch: libtorch").And.Contain("managed: MathNet.Numerics 5.0.0 (provider: Managed"));
            using (LinearAlgebraControl.Use(LinearAlgebraBackend.Managed))
            {
                Assert.That(LinearAlgebraControl.Describe(), Does.StartWith("backend: Managed\n"));
                Assert.That(EntkInfo.Collect()["linear algebra"], Is.EqualTo("Managed (LinearAlgebraControl.Use scope)"));
            }
            var info = EntkInfo.Collect();
            Assert.That(info["linear algebra"], Does.StartWith("Auto (managed for symmetric eigenproblems"));
            Assert.That(info["managed linear algebra"], Does.StartWith("MathNet.Numerics 5.0.0"));
        }
    }
}

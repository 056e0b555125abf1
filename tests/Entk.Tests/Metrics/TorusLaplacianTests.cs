using System;
using Entk.Metrics;
using NUnit.Framework;

namespace Entk.Tests.Metrics
{
    [TestFixture]
    public class TorusLaplacianTests
    {
        private static double Axis(int k, int p) => 2 - 2 * Math.Cos(2 * Math.PI * k / p);

        private static double Double(int k, int p) => 2 - 2 * Math.Cos(4 * Math.PI * k / p);

        /// <summary>Closed-form Rayleigh quotients (docs/paper-notes.md §1.7) on every mode of every relevant family.</summary>
        [TestCase(7)]
        [TestCase(29)]
        public void RayleighQuotient_OnFourierModes_EqualsClosedForm(int p)
        {
            var ln = TorusLaplacian.Create(TorusLaplacianKind.N, p);
            var lm = TorusLaplacian.Create(TorusLaplacianKind.M, p);
            var ls = TorusLaplacian.Create(TorusLaplacianKind.Sum, p);
            var ld = TorusLaplacian.Create(TorusLaplacianKind.Diff, p);
            for (int k = 1; k <= p / 2; k++)
                foreach (bool sine in new[] { false, true })
                {
                    var n = MetricsTestUtil.Mode(p, k, (a, b) => a, sine);
                    var m = MetricsTestUtil.Mode(p, k, (a, b) => b, sine);
                    var s = MetricsTestUtil.Mode(p, k, (a, b) => a + b, sine);
                    var d = MetricsTestUtil.Mode(p, k, (a, b) => a - b, sine);
                    string w = $"k={k} sine={sine}";
                    Assert.That(ln.RayleighQuotient(n), Is.EqualTo(Axis(k, p)).Within(1e-12), "L_n on n " + w);
                    Assert.That(ln.RayleighQuotient(m), Is.EqualTo(0).Within(1e-12), "L_n on m " + w);
                    Assert.That(lm.RayleighQuotient(m), Is.EqualTo(Axis(k, p)).Within(1e-12), "L_m on m " + w);
                    Assert.That(lm.RayleighQuotient(n), Is.EqualTo(0).Within(1e-12), "L_m on n " + w);
                    Assert.That(ls.RayleighQuotient(s), Is.EqualTo(Double(k, p)).Within(1e-12), "L_sum on sum " + w);
                    Assert.That(ls.RayleighQuotient(d), Is.EqualTo(0).Within(1e-12), "L_sum on diff " + w);
                    Assert.That(ld.RayleighQuotient(d), Is.EqualTo(Double(k, p)).Within(1e-12), "L_diff on diff " + w);
                    Assert.That(ld.RayleighQuotient(s), Is.EqualTo(0).Within(1e-12), "L_diff on sum " + w);
                    // Axis Laplacians on sum/diff modes: each operand moves the argument by one step.
                    Assert.That(ln.RayleighQuotient(s), Is.EqualTo(Axis(k, p)).Within(1e-12), "L_n on sum " + w);
                }
        }

        [TestCase(TorusLaplacianKind.N, 7)]
        [TestCase(TorusLaplacianKind.M, 7)]
        [TestCase(TorusLaplacianKind.Sum, 7)]
        [TestCase(TorusLaplacianKind.Diff, 7)]
        [TestCase(TorusLaplacianKind.N, 29)]
        [TestCase(TorusLaplacianKind.M, 29)]
        [TestCase(TorusLaplacianKind.Sum, 29)]
        [TestCase(TorusLaplacianKind.Diff, 29)]
        public void Apply_EqualsDenseProduct(TorusLaplacianKind kind, int p)
        {
            var l = TorusLaplacian.Create(kind, p);
            var x = TestUtil.RandomMatrix(p * p, 5, 100 + p);
            var dense = l.ToDense();
            TestUtil.AssertClose(l.Apply(x), MetricsTestUtil.Mul(dense, x), 1e-13, "Apply vs dense");
            Assert.That(dense.MaxAbsDifference(dense.Transpose()), Is.EqualTo(0), "symmetric");
            for (int i = 0; i < dense.Rows; i++)
            {
                double rowSum = 0;
                for (int j = 0; j < dense.Columns; j++) rowSum += dense[i, j];
                Assert.That(rowSum, Is.EqualTo(0), "constant vector in the kernel");
                Assert.That(dense[i, i], Is.EqualTo(2));
            }
        }

        /// <summary>L_n = L1d ⊗ I_p and L_m = I_p ⊗ L1d built explicitly; L_sum / L_diff from the permutation definition.</summary>
        [TestCase(5)]
        [TestCase(7)]
        public void ToDense_EqualsKroneckerAndPermutationDefinitions(int p)
        {
            int nn = p * p;
            var l1d = new double[p, p];
            for (int i = 0; i < p; i++)
            {
                l1d[i, i] = 2;
                l1d[i, (i + 1) % p] -= 1;
                l1d[i, (i + p - 1) % p] -= 1;
            }
            var ln = new double[nn, nn];
            var lm = new double[nn, nn];
            var ls = new double[nn, nn];
            var ld = new double[nn, nn];
            for (int a = 0; a < p; a++)
                for (int b = 0; b < p; b++)
                    for (int c = 0; c < p; c++)
                        for (int d = 0; d < p; d++)
                        {
                            int i = a * p + b, j = c * p + d;
                            ln[i, j] = l1d[a, c] * (b == d ? 1 : 0);
                            lm[i, j] = (a == c ? 1 : 0) * l1d[b, d];
                        }
            // P(dx, dy) e_(n,m) = e_(n+dx, m+dy): entry [σ(i), i] = 1.
            void AddPerm(double[,] target, int dx, int dy)
            {
                for (int a = 0; a < p; a++)
                    for (int b = 0; b < p; b++)
                        target[((a + dx + p) % p) * p + (b + dy + p) % p, a * p + b] -= 1;
            }
            for (int i = 0; i < nn; i++) { ls[i, i] = 2; ld[i, i] = 2; }
            AddPerm(ls, 1, 1); AddPerm(ls, -1, -1);
            AddPerm(ld, 1, -1); AddPerm(ld, -1, 1);
            Assert.That(TorusLaplacian.Create(TorusLaplacianKind.N, p).ToDense().ToArray2D(), Is.EqualTo(ln));
            Assert.That(TorusLaplacian.Create(TorusLaplacianKind.M, p).ToDense().ToArray2D(), Is.EqualTo(lm));
            Assert.That(TorusLaplacian.Create(TorusLaplacianKind.Sum, p).ToDense().ToArray2D(), Is.EqualTo(ls));
            Assert.That(TorusLaplacian.Create(TorusLaplacianKind.Diff, p).ToDense().ToArray2D(), Is.EqualTo(ld));
        }

        [Test]
        public void Properties_AreReported()
        {
            var l = TorusLaplacian.Create(TorusLaplacianKind.Diff, 29);
            Assert.That(l.Kind, Is.EqualTo(TorusLaplacianKind.Diff));
            Assert.That(l.Modulus, Is.EqualTo(29));
            Assert.That(l.Dimension, Is.EqualTo(841));
        }

        [Test]
        public void BadInputs_ThrowTypedExceptions()
        {
            Assert.That(Assert.Throws<EntkArgumentException>(() => TorusLaplacian.Create(TorusLaplacianKind.N, 2))!.ParamName, Is.EqualTo("p"));
            Assert.That(Assert.Throws<EntkArgumentException>(() => TorusLaplacian.Create((TorusLaplacianKind)9, 7))!.ParamName, Is.EqualTo("kind"));
            var l = TorusLaplacian.Create(TorusLaplacianKind.Sum, 7);
            Assert.That(Assert.Throws<ShapeMismatchException>(() => l.Apply(TestUtil.RandomMatrix(48, 2, 1)))!.ParamName, Is.EqualTo("x"));
            var bad = new double[49];
            bad[3] = double.NaN;
            Assert.That(Assert.Throws<NonFiniteValueException>(() => l.RayleighQuotient(bad))!.ParamName, Is.EqualTo("v"));
            Assert.That(Assert.Throws<EntkArgumentException>(() => l.RayleighQuotient(new double[49]))!.ParamName, Is.EqualTo("v"));
            Assert.That(Assert.Throws<ShapeMismatchException>(() => l.RayleighQuotient(new double[50]))!.ParamName, Is.EqualTo("v"));
        }
    }
}

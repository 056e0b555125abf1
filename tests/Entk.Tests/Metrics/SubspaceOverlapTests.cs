using System;
using System.Linq;
using Entk.Metrics;
using NUnit.Framework;

namespace Entk.Tests.Metrics
{
    public class SubspaceOverlapTests : BackendFixture
    {
        public SubspaceOverlapTests(Linalg.LinearAlgebraBackend backend) : base(backend) { }

        [TestCase("n", 7)]
        [TestCase("sum", 29)]
        [TestCase("axis_sum", 13)]
        public void Compute_FamilyWithItself_Is2KAndInvariantToRotationAndSigns(string name, int p)
        {
            var fam = FourierFamilies.Create(name, p);
            int twoK = 2 * (p / 2);
            var f = fam.ToMatrix();
            var self = SubspaceOverlap.Compute(f, fam);
            Assert.That(self.Overlap, Is.EqualTo(twoK).Within(1e-10));
            Assert.That(self.Dimension, Is.EqualTo(twoK));
            Assert.That(self.FamilyDimension, Is.EqualTo(twoK));
            Assert.That(self.SingularValues.Count, Is.EqualTo(twoK));
            Assert.That(self.SingularValues.All(s => Math.Abs(s - 1) < 1e-10), Is.True);
            var mixed = MetricsTestUtil.FlipColumns(MetricsTestUtil.Mul(f, MetricsTestUtil.RandomOrthogonal(twoK, 7)), 8);
            var r = SubspaceOverlap.Compute(mixed, fam);
            Assert.That(r.Overlap, Is.EqualTo(twoK).Within(1e-10));
            Assert.That(r.Fraction, Is.EqualTo(1).Within(1e-12));
        }

        [Test]
        public void Compute_OrthogonalFamiliesAndPartialCliffs()
        {
            const int p = 29;
            var n = FourierFamilies.Create("n", p);
            var m = FourierFamilies.Create("m", p);
            var sum = FourierFamilies.Create("sum", p);
            var nf = n.ToMatrix();
            Assert.That(SubspaceOverlap.Compute(nf, m).Overlap, Is.EqualTo(0).Within(1e-10), "n ⟂ m");
            Assert.That(SubspaceOverlap.Compute(nf, sum).Overlap, Is.EqualTo(0).Within(1e-10), "n ⟂ sum");
            var sub = n.WithFrequencies(new[] { 2, 9, 5 }).ToMatrix();
            var r = SubspaceOverlap.Compute(sub, n);
            Assert.That(r.Overlap, Is.EqualTo(6).Within(1e-10), "a 6-dim cliff inside the family");
            Assert.That(r.MaxOverlap, Is.EqualTo(6));
            Assert.That(SubspaceOverlap.Compute(sub, n, new[] { 2, 5 }).Overlap, Is.EqualTo(4).Within(1e-10));
            Assert.That(SubspaceOverlap.Compute(sub, n, new[] { 1, 3 }).Overlap, Is.EqualTo(0).Within(1e-10));
        }

        [Test]
        public void Compute_CentresFamilyColumnsButNotTheCliff()
        {
            // a constant vector is orthogonal to every centred family column; 2n has exact zero mean for odd p anyway.
            const int p = 7;
            var ones = Matrix.FromArray(49, 1, Enumerable.Repeat(1.0, 49).ToArray());
            Assert.That(SubspaceOverlap.Compute(ones, FourierFamilies.Create("2n", p)).Overlap, Is.EqualTo(0).Within(1e-12));
            // even p: the Nyquist sine vanishes, so the family dimension drops by one
            var even = SubspaceOverlap.Compute(TestUtil.RandomMatrix(64, 3, 4), FourierFamilies.Create("n", 8));
            Assert.That(even.FamilyDimension, Is.EqualTo(7));
        }

        [TestCase(1)]
        [TestCase(2)]
        [TestCase(3)]
        public void Compute_RandomCliff_IsInRangeAndEqualsProjectorTrace(int seed)
        {
            const int p = 11;
            var fam = FourierFamilies.Create("diff", p);
            int d = 3 + 4 * seed;
            var cliff = TestUtil.RandomMatrix(p * p, d, seed);
            var r = SubspaceOverlap.Compute(cliff, fam);
            Assert.That(r.Overlap, Is.InRange(0.0, Math.Min(d, 10)));
            // Oracle: Σ_k,j (f̂ᵀ q_j)² with f̂ the (already orthogonal) normalised family columns and q from Gram–Schmidt.
            var q = MetricsTestUtil.Mul(cliff, MetricsTestUtil.RandomOrthogonal(d, 0)); // same span
            var basis = GramSchmidt(q);
            double expected = 0;
            for (int c = 0; c < 10; c++)
            {
                var fc = MetricsTestUtil.Unit(fam.ToMatrix().Column(c));
                foreach (var b in basis) expected += Math.Pow(TestUtil.Dot(fc, b), 2);
            }
            Assert.That(r.Overlap, Is.EqualTo(expected).Within(1e-10));
            Assert.That(r.SingularValues.Zip(r.SingularValues.Skip(1), (a, b) => a >= b).All(x => x), Is.True, "descending");
        }

        [Test]
        public void PerFrequency_ScoresAndRanks()
        {
            const int p = 29;
            var sum = FourierFamilies.Create("sum", p);
            var mixed = MetricsTestUtil.Mul(sum.WithFrequencies(new[] { 1, 12 }).ToMatrix(), MetricsTestUtil.RandomOrthogonal(4, 2));
            var cols = Enumerable.Range(0, 4).Select(mixed.Column).Append(sum.Cosine(10)).ToArray();
            var full = MetricsTestUtil.FromColumns(cols);
            var rank = SubspaceOverlap.PerFrequency(full, sum);
            Assert.That(rank.Family.Name, Is.EqualTo("sum"));
            Assert.That(rank.Family.Kind, Is.EqualTo(FourierFamilyKind.Sum));
            Assert.That(rank.ByFrequency.Count, Is.EqualTo(14));
            Assert.That(rank.ScoreOf(1), Is.EqualTo(2).Within(1e-10));
            Assert.That(rank.ScoreOf(12), Is.EqualTo(2).Within(1e-10));
            Assert.That(rank.ScoreOf(10), Is.EqualTo(1).Within(1e-10));
            Assert.That(rank.ScoreOf(3), Is.EqualTo(0).Within(1e-10));
            Assert.That(rank.Ranked.Take(2).Select(f => f.Frequency), Is.EquivalentTo(new[] { 1, 12 }), "the two full frequencies first (scores tie up to rounding)");
            Assert.That(rank.Ranked[2].Frequency, Is.EqualTo(10));
            Assert.That(rank.Ranked[2].Label, Is.EqualTo("sum k=10"));
            Assert.That(rank.Ranked.Select(f => f.Score), Is.Ordered.Descending);
            var some = SubspaceOverlap.PerFrequency(full, sum, new[] { 10, 3 });
            Assert.That(some.ByFrequency.Select(f => f.Frequency), Is.EqualTo(new[] { 10, 3 }));
            Assert.That(Assert.Throws<EntkArgumentException>(() => some.ScoreOf(1))!.ParamName, Is.EqualTo("frequency"));
        }

        [Test]
        public void Between_IsDimensionForSameSpanAndSymmetric()
        {
            var a = TestUtil.RandomMatrix(40, 6, 11);
            var rotated = MetricsTestUtil.FlipColumns(MetricsTestUtil.Mul(a, MetricsTestUtil.RandomOrthogonal(6, 12)), 13);
            Assert.That(SubspaceOverlap.Between(a, rotated).Overlap, Is.EqualTo(6).Within(1e-10));
            var b = TestUtil.RandomMatrix(40, 3, 14);
            var ab = SubspaceOverlap.Between(a, b);
            var ba = SubspaceOverlap.Between(b, a);
            Assert.That(ab.Overlap, Is.EqualTo(ba.Overlap).Within(1e-12));
            Assert.That(ab.Overlap, Is.InRange(0.0, 3.0));
            Assert.That(ab.Dimension, Is.EqualTo(6));
            Assert.That(ab.FamilyDimension, Is.EqualTo(3));
        }

        [Test]
        public void BadInputs_ThrowTypedExceptions()
        {
            var fam = FourierFamilies.Create("sum", 7);
            Assert.That(Assert.Throws<ShapeMismatchException>(() => SubspaceOverlap.Compute(TestUtil.RandomMatrix(48, 2, 1), fam))!.ParamName, Is.EqualTo("cliff"));
            var dependent = MetricsTestUtil.FromColumns(new[] { fam.Cosine(1), fam.Cosine(1) });
            Assert.That(Assert.Throws<EntkArgumentException>(() => SubspaceOverlap.Compute(dependent, fam))!.ParamName, Is.EqualTo("cliff"));
            Assert.That(Assert.Throws<ShapeMismatchException>(() => SubspaceOverlap.Compute(TestUtil.RandomMatrix(49, 50, 1), fam))!.ParamName, Is.EqualTo("cliff"));
            Assert.That(Assert.Throws<EntkArgumentException>(() => SubspaceOverlap.Compute(TestUtil.RandomMatrix(49, 2, 1), fam, new[] { 9 }))!.ParamName, Is.EqualTo("frequencies"));
            Assert.That(Assert.Throws<ShapeMismatchException>(() => SubspaceOverlap.Between(TestUtil.RandomMatrix(10, 2, 1), TestUtil.RandomMatrix(11, 2, 1)))!.ParamName, Is.EqualTo("b"));
            var nan = TestUtil.RandomMatrix(10, 2, 1).ToArray();
            nan[0] = double.PositiveInfinity;
            Assert.That(Assert.Throws<NonFiniteValueException>(() => PrincipalAngles.Compute(Matrix.FromArray(10, 2, nan), TestUtil.RandomMatrix(10, 2, 1)))!.ParamName, Is.EqualTo("a"));
        }

        internal static double[][] GramSchmidt(Matrix q)
        {
            var basis = new double[q.Columns][];
            for (int j = 0; j < q.Columns; j++)
            {
                var v = q.Column(j);
                for (int pass = 0; pass < 2; pass++)
                    for (int i = 0; i < j; i++)
                    {
                        double dot = TestUtil.Dot(v, basis[i]);
                        for (int r = 0; r < v.Length; r++) v[r] -= dot * basis[i][r];
                    }
                basis[j] = MetricsTestUtil.Unit(v);
            }
            return basis;
        }
    }

    public class PrincipalAnglesTests : BackendFixture
    {
        public PrincipalAnglesTests(Linalg.LinearAlgebraBackend backend) : base(backend) { }

        [Test]
        public void Compute_RotatedCopy_AllAnglesZero()
        {
            var a = TestUtil.RandomMatrix(60, 8, 21);
            var b = MetricsTestUtil.FlipColumns(MetricsTestUtil.Mul(a, MetricsTestUtil.RandomOrthogonal(8, 22)), 23);
            var angles = PrincipalAngles.Compute(a, b);
            Assert.That(angles.Length, Is.EqualTo(8));
            Assert.That(angles.Max(), Is.LessThan(1e-12));
        }

        [Test]
        public void Compute_KnownAnglesAscending()
        {
            // span{e0, e1} vs span{cos α e0 + sin α e2, cos β e1 + sin β e3}: angles α and β.
            double alpha = 0.3, beta = 1e-9, gamma = 1.2;
            var a = new double[5 * 2];
            a[0 * 2 + 0] = 1; a[1 * 2 + 1] = 1;
            var b = new double[5 * 2];
            b[0 * 2 + 0] = Math.Cos(gamma); b[2 * 2 + 0] = Math.Sin(gamma);
            b[1 * 2 + 1] = Math.Cos(beta); b[3 * 2 + 1] = Math.Sin(beta);
            var angles = PrincipalAngles.Compute(Matrix.FromArray(5, 2, a), Matrix.FromArray(5, 2, b));
            Assert.That(angles[0], Is.EqualTo(beta).Within(1e-20), "tiny angle accurate (sine branch)");
            Assert.That(angles[1], Is.EqualTo(gamma).Within(1e-14), "large angle (cosine branch)");
            var single = PrincipalAngles.Compute(Matrix.FromArray(5, 2, a), Matrix.FromArray(5, 1, new[] { Math.Cos(alpha), 0, Math.Sin(alpha), 0, 0 }));
            Assert.That(single, Has.Length.EqualTo(1));
            Assert.That(single[0], Is.EqualTo(alpha).Within(1e-14));
            var orth = PrincipalAngles.Compute(Matrix.FromArray(5, 1, new double[] { 1, 0, 0, 0, 0 }), Matrix.FromArray(5, 1, new double[] { 0, 0, 0, 0, 2 }));
            Assert.That(orth[0], Is.EqualTo(Math.PI / 2).Within(1e-15));
        }

        [Test]
        public void Compute_CosinesSquaredSumToOverlap()
        {
            var a = TestUtil.RandomMatrix(30, 5, 31);
            var b = TestUtil.RandomMatrix(30, 4, 32);
            var angles = PrincipalAngles.Compute(a, b);
            Assert.That(angles.Length, Is.EqualTo(4));
            Assert.That(angles.Sum(t => Math.Cos(t) * Math.Cos(t)), Is.EqualTo(SubspaceOverlap.Between(a, b).Overlap).Within(1e-12));
            Assert.That(angles, Is.Ordered.Ascending);
        }
    }
}

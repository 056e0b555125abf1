using System;
using System.Linq;
using Entk.Metrics;
using NUnit.Framework;

namespace Entk.Tests.Metrics
{
    [TestFixture]
    public class PhaseInsensitiveCorrelationTests
    {
        /// <summary>A pure mode with an arbitrary phase correlates exactly 1 with its own (family, k) and 0 with every other k.</summary>
        [TestCase("n", 7)]
        [TestCase("sum", 29)]
        [TestCase("diff", 29)]
        [TestCase("2m", 11)]
        public void Compute_PureModeWithOwnFamily_IsOneAtItsFrequencyOnly(string name, int p)
        {
            var fam = FourierFamilies.Create(name, p);
            int kk = p / 2;
            var cols = new double[kk][];
            var rng = new Random(p);
            for (int k = 1; k <= kk; k++)
            {
                double phase = 2 * Math.PI * rng.NextDouble(), scale = 0.1 + 5 * rng.NextDouble();
                var c = MetricsTestUtil.Mode(p, k, MetricsTestUtil.ValueOf(name), false);
                var s = MetricsTestUtil.Mode(p, k, MetricsTestUtil.ValueOf(name), true);
                cols[k - 1] = c.Select((v, i) => scale * (Math.Cos(phase) * v + Math.Sin(phase) * s[i])).ToArray();
            }
            var h = PhaseInsensitiveCorrelation.Compute(MetricsTestUtil.FromColumns(cols), fam);
            Assert.That(h.Rows, Is.EqualTo(kk));
            Assert.That(h.Columns, Is.EqualTo(kk));
            for (int r = 0; r < kk; r++)
                for (int j = 0; j < kk; j++)
                    Assert.That(h[r, j], Is.EqualTo(r == j ? 1.0 : 0.0).Within(1e-12), $"H[{r},{j}]");
        }

        [Test]
        public void Compute_MatchesFormulaOnRandomVectors()
        {
            const int p = 7;
            var fam = FourierFamilies.Create("diff", p);
            var u = TestUtil.RandomMatrix(p * p, 4, 3);
            var h = PhaseInsensitiveCorrelation.Compute(u, fam);
            for (int k = 1; k <= 3; k++)
                for (int j = 0; j < 4; j++)
                {
                    var uj = MetricsTestUtil.Unit(u.Column(j));
                    double c = TestUtil.Dot(MetricsTestUtil.Unit(fam.Cosine(k)), uj);
                    double s = TestUtil.Dot(MetricsTestUtil.Unit(fam.Sine(k)), uj);
                    Assert.That(h[k - 1, j], Is.EqualTo(Math.Sqrt(c * c + s * s)).Within(1e-12));
                    Assert.That(h[k - 1, j], Is.InRange(0.0, 1.0));
                }
        }

        [Test]
        public void Compute_ZeroColumnScoresZero()
        {
            var h = PhaseInsensitiveCorrelation.Compute(Matrix.Zeros(49, 2), FourierFamilies.Create("n", 7));
            Assert.That(h.MaxAbs(), Is.EqualTo(0));
        }

        [Test]
        public void Stacked_RowsAndLabelsFollowFamilies()
        {
            const int p = 29;
            var sum = FourierFamilies.Create("sum", p);
            var diff = FourierFamilies.Create("diff", p);
            var v = MetricsTestUtil.FromColumns(new[] { diff.Sine(3), sum.Cosine(14) });
            var h = PhaseInsensitiveCorrelation.Stacked(v, sum, diff);
            Assert.That(h.RowCount, Is.EqualTo(28));
            Assert.That(h.ColumnCount, Is.EqualTo(2));
            Assert.That(h.RowLabels[0], Is.EqualTo("sum k=1"));
            Assert.That(h.RowLabels[16], Is.EqualTo("diff k=3"));
            Assert.That(h.RowFamilies[27], Is.EqualTo("diff"));
            Assert.That(h.RowFrequencies[27], Is.EqualTo(14));
            Assert.That(h.RowIndex("diff", 3), Is.EqualTo(16));
            Assert.That(h.RowIndex("n", 3), Is.EqualTo(-1));
            Assert.That(h.Values[16, 0], Is.EqualTo(1).Within(1e-12));
            Assert.That(h.Values[13, 1], Is.EqualTo(1).Within(1e-12));
            Assert.That(h.Values.Column(0).Where((x, i) => i != 16).Max(), Is.LessThan(1e-12));
            // the single-family blocks agree with Compute
            TestUtil.AssertClose(h.Values.SliceRows(0, 14), PhaseInsensitiveCorrelation.Compute(v, sum), 1e-15);
        }

        [Test]
        public void BadInputs_ThrowTypedExceptions()
        {
            var fam = FourierFamilies.Create("n", 7);
            Assert.That(Assert.Throws<ShapeMismatchException>(() => PhaseInsensitiveCorrelation.Compute(TestUtil.RandomMatrix(50, 2, 1), fam))!.ParamName, Is.EqualTo("vectors"));
            var nan = TestUtil.RandomMatrix(49, 2, 1).ToArray();
            nan[5] = double.NaN;
            Assert.That(Assert.Throws<NonFiniteValueException>(() => PhaseInsensitiveCorrelation.Compute(Matrix.FromArray(49, 2, nan), fam))!.ParamName, Is.EqualTo("vectors"));
            Assert.That(Assert.Throws<EntkArgumentException>(() => PhaseInsensitiveCorrelation.Stacked(TestUtil.RandomMatrix(49, 2, 1), fam, FourierFamilies.Create("m", 11)))!.ParamName, Is.EqualTo("second"));
            Assert.Throws<ArgumentNullException>(() => PhaseInsensitiveCorrelation.Compute(null!, fam));
        }
    }

    [TestFixture]
    public class AtomAssignmentTests
    {
        [Test]
        public void Summarize_CountsBestRowsCoverageAndFraction()
        {
            var h = Matrix.FromRows(new[]
            {
                new[] { 0.95, 0.10, 0.20, 0.50 },
                new[] { 0.10, 0.92, 0.91, 0.40 },
                new[] { 0.00, 0.30, 0.10, 0.60 },
            });
            var s = AtomAssignment.Summarize(h, 0.9, new[] { "a", "b", "c" });
            Assert.That(s.BestRow, Is.EqualTo(new[] { 0, 1, 1, 2 }));
            Assert.That(s.BestValue, Is.EqualTo(new[] { 0.95, 0.92, 0.91, 0.60 }));
            Assert.That(s.BestLabel, Is.EqualTo(new[] { "a", "b", "b", "c" }));
            Assert.That(s.CoveredRows, Is.EqualTo(new[] { 0, 1 }));
            Assert.That(s.Coverage, Is.EqualTo(2));
            Assert.That(s.AtomsPerRow, Is.EqualTo(new[] { 1, 2, 0 }));
            Assert.That(s.AlignedCount, Is.EqualTo(3));
            Assert.That(s.AlignedFraction, Is.EqualTo(0.75));
            Assert.That(s.AllRowsCovered, Is.False);
            Assert.That(s.AllColumnsAligned, Is.False);
            var low = AtomAssignment.Summarize(h, 0.5);
            Assert.That(low.Coverage, Is.EqualTo(3));
            Assert.That(low.AllColumnsAligned, Is.True);
            Assert.That(low.RowLabels[2], Is.EqualTo("row 2"));
        }

        [Test]
        public void Summarize_BadInputs_Throw()
        {
            var h = Matrix.FromRows(new[] { new[] { 1.0, 0.0 } });
            Assert.That(Assert.Throws<ShapeMismatchException>(() => AtomAssignment.Summarize(h, 0.9, new[] { "a", "b" }))!.ParamName, Is.EqualTo("rowLabels"));
            Assert.That(Assert.Throws<NonFiniteValueException>(() => AtomAssignment.Summarize(h, double.NaN))!.ParamName, Is.EqualTo("threshold"));
            Assert.That(Assert.Throws<ShapeMismatchException>(() => AtomAssignment.Summarize(Matrix.Zeros(0, 3)))!.ParamName, Is.EqualTo("heatmap"));
        }
    }
}

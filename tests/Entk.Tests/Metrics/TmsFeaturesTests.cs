using System;
using System.Collections.Generic;
using System.Linq;
using Entk.Metrics;
using NUnit.Framework;

namespace Entk.Tests.Metrics
{
    [TestFixture]
    public class TmsFeaturesTests
    {
        /// <summary>TMS-like data: D samples × C features, each 0 with probability sparsity else U[0, 1], rows normalised.</summary>
        private static Matrix Data(int d, int c, double sparsity, int seed)
        {
            var rng = new Random(seed);
            var x = new double[d * c];
            for (int s = 0; s < d; s++)
            {
                double norm = 0;
                for (int a = 0; a < c; a++)
                {
                    double v = rng.NextDouble() < sparsity ? 0 : rng.NextDouble();
                    x[s * c + a] = v;
                    norm += v * v;
                }
                norm = Math.Sqrt(norm) + 1e-8;
                for (int a = 0; a < c; a++) x[s * c + a] /= norm;
            }
            return Matrix.FromArray(d, c, x);
        }

        [Test]
        public void Indicators_AreChannelMajorBlocks()
        {
            var x = Data(4, 3, 0.2, 1);
            var z = TmsFeatures.Indicators(x);
            Assert.That(z.Rows, Is.EqualTo(12));
            Assert.That(z.Columns, Is.EqualTo(3));
            for (int c = 0; c < 3; c++)
                for (int s = 0; s < 4; s++)
                    for (int a = 0; a < 3; a++)
                        Assert.That(z[c * 4 + s, a], Is.EqualTo(a == c ? x[s, a] : 0.0));
        }

        /// <summary>Eigenvectors = normalised indicators in a permuted order (with random signs and scales) → a permutation heatmap.</summary>
        [Test]
        public void Heatmap_PermutedIndicators_KnownAnswer()
        {
            const int d = 30, c = 8;
            var x = Data(d, c, 0.5, 2);
            var z = TmsFeatures.Indicators(x);
            int[] perm = { 0, 2, 1, 3, 7, 5, 4, 6 };   // eigenvector i = feature perm[i]; fixed points 0, 3, 5
            var rng = new Random(3);
            var cols = perm.Select(a =>
            {
                double scale = rng.Next(2) == 0 ? -2.5 : 0.7;
                return z.Column(a).Select(v => v * scale).ToArray();
            }).ToArray();
            var e = MetricsTestUtil.FromColumns(cols);
            var h = TmsFeatures.Heatmap(x, e);
            Assert.That(h.FeatureCount, Is.EqualTo(c));
            Assert.That(h.VectorCount, Is.EqualTo(c));
            for (int a = 0; a < c; a++)
                for (int i = 0; i < c; i++)
                {
                    double expected = perm[i] == a ? 1.0 : 0.0;
                    Assert.That(h.Cosines[a, i], Is.EqualTo(expected).Within(1e-9), $"cos[{a},{i}]");
                    Assert.That(h.Normalized[a, i], Is.EqualTo(expected).Within(1e-9), $"norm[{a},{i}]");
                }
            Assert.That(h.BestFeature, Is.EqualTo(perm));
            Assert.That(h.DiagonalFeatures, Is.EqualTo(new[] { 0, 3, 5 }));
            Assert.That(h.DiagonalCount, Is.EqualTo(3));
            Assert.That(h.Mmcs, Is.EqualTo(1).Within(1e-9));
            Assert.That(h.MatchedScore, Is.EqualTo(1).Within(1e-9));
            for (int i = 0; i < c; i++) Assert.That(h.Assignment.ColumnToRow[i], Is.EqualTo(perm[i]));
        }

        [Test]
        public void Heatmap_RectangularKnownAnswer_MoreEigenvectorsThanFeatures()
        {
            const int d = 20, c = 4;
            var x = Data(d, c, 0.3, 4);
            var z = TmsFeatures.Indicators(x);
            // eigenvectors: features 1, 0, 2, then a 50/50 mix of features 2 and 3, then feature 3.
            var mix = z.Column(2).Select((v, i) => v / Norm(z.Column(2)) + z.Column(3)[i] / Norm(z.Column(3))).ToArray();
            var e = MetricsTestUtil.FromColumns(new[] { z.Column(1), z.Column(0), z.Column(2), mix, z.Column(3) });
            var h = TmsFeatures.Heatmap(x, e);
            double r = Math.Sqrt(0.5);
            Assert.That(h.Cosines[2, 3], Is.EqualTo(r).Within(1e-9));
            Assert.That(h.Cosines[3, 3], Is.EqualTo(r).Within(1e-9));
            Assert.That(h.Normalized[2, 3], Is.EqualTo(r).Within(1e-9), "column normalised: (r, r) / ‖(r, r)‖");
            Assert.That(h.DiagonalFeatures, Is.EqualTo(new[] { 2 }), "i < min(C, k) = 4; column 3's argmax (tie) is feature 2");
            Assert.That(h.MatchedScore, Is.EqualTo(1).Within(1e-9), "features 1,0,2,3 ↔ eigenvectors 0,1,2,4");
            Assert.That(h.Assignment.RowToColumn, Is.EqualTo(new[] { 1, 0, 2, 4 }));
            Assert.That(h.Assignment.ColumnToRow[3], Is.EqualTo(-1));
            Assert.That(h.Mmcs, Is.EqualTo(1).Within(1e-9));
        }

        [Test]
        public void Heatmap_RandomEigenvectors_MatchesDenseRecipe()
        {
            const int d = 15, c = 5, k = 7;
            var x = Data(d, c, 0.4, 5);
            var e = TestUtil.RandomMatrix(d * c, k, 6);
            var h = TmsFeatures.Heatmap(x, e);
            var z = TmsFeatures.Indicators(x);
            var expected = new double[c, k];
            for (int a = 0; a < c; a++)
                for (int i = 0; i < k; i++)
                {
                    var za = z.Column(a);
                    var ei = e.Column(i);
                    expected[a, i] = Math.Abs(TestUtil.Dot(za, ei) / ((Norm(za) + 1e-10) * (Norm(ei) + 1e-10)));
                }
            for (int a = 0; a < c; a++)
                for (int i = 0; i < k; i++)
                    Assert.That(h.Cosines[a, i], Is.EqualTo(expected[a, i]).Within(1e-13));
            for (int i = 0; i < k; i++)
            {
                double n = Math.Sqrt(Enumerable.Range(0, c).Sum(a => expected[a, i] * expected[a, i])) + 1e-10;
                for (int a = 0; a < c; a++) Assert.That(h.Normalized[a, i], Is.EqualTo(expected[a, i] / n).Within(1e-13));
            }
            double mmcs = Enumerable.Range(0, c).Average(a => Enumerable.Range(0, k).Max(i => expected[a, i]));
            Assert.That(h.Mmcs, Is.EqualTo(mmcs).Within(1e-13));
            Assert.That(h.MatchedScore, Is.EqualTo(BruteForceMax(h.Cosines) / c).Within(1e-12));
            var diag = Enumerable.Range(0, c).Where(i => Enumerable.Range(0, c).OrderByDescending(a => expected[a, i]).First() == i).ToArray();
            Assert.That(h.DiagonalFeatures, Is.EqualTo(diag));
        }

        [Test]
        public void ReconstructedCount_CountsGramDiagonalAboveThreshold()
        {
            // columns with squared norms 1.0, 0.75, 0.74, 0.0, 2.0
            var w = Matrix.FromRows(new[]
            {
                new[] { 1.0, Math.Sqrt(0.5), Math.Sqrt(0.37), 0.0, 1.0 },
                new[] { 0.0, Math.Sqrt(0.25), Math.Sqrt(0.37), 0.0, 1.0 },
            });
            Assert.That(TmsFeatures.GramDiagonal(w), Is.EqualTo(new[] { 1.0, 0.75, 0.74, 0.0, 2.0 }).Within(1e-15));
            Assert.That(TmsFeatures.ReconstructedCount(w, 0.749999999), Is.EqualTo(3));
            Assert.That(TmsFeatures.ReconstructedCount(w, 0.7), Is.EqualTo(4));
            Assert.That(TmsFeatures.ReconstructedCount(w, 1.5), Is.EqualTo(1));
            Assert.That(TmsFeatures.ReconstructedCount(Matrix.Identity(3)), Is.EqualTo(3));
        }

        [Test]
        public void BadInputs_ThrowTypedExceptions()
        {
            var x = Data(6, 3, 0.2, 7);
            Assert.That(Assert.Throws<ShapeMismatchException>(() => TmsFeatures.Heatmap(x, TestUtil.RandomMatrix(17, 2, 1)))!.ParamName, Is.EqualTo("eigenvectors"));
            var nan = x.ToArray();
            nan[4] = double.NaN;
            Assert.That(Assert.Throws<NonFiniteValueException>(() => TmsFeatures.Heatmap(Matrix.FromArray(6, 3, nan), TestUtil.RandomMatrix(18, 2, 1)))!.ParamName, Is.EqualTo("inputs"));
            Assert.That(Assert.Throws<ShapeMismatchException>(() => TmsFeatures.Indicators(Matrix.Zeros(0, 3)))!.ParamName, Is.EqualTo("inputs"));
            Assert.That(Assert.Throws<NonFiniteValueException>(() => TmsFeatures.ReconstructedCount(Matrix.Identity(2), double.NaN))!.ParamName, Is.EqualTo("threshold"));
            Assert.Throws<ArgumentNullException>(() => TmsFeatures.ReconstructedCount(null!));
        }

        private static double Norm(double[] v) => Math.Sqrt(TestUtil.Dot(v, v));

        internal static double BruteForceMax(Matrix s)
        {
            bool transpose = s.Rows > s.Columns;
            int n = transpose ? s.Columns : s.Rows, m = transpose ? s.Rows : s.Columns;
            double Get(int i, int j) => transpose ? s[j, i] : s[i, j];
            double best = double.NegativeInfinity;
            var used = new bool[m];
            void Rec(int i, double acc)
            {
                if (i == n) { best = Math.Max(best, acc); return; }
                for (int j = 0; j < m; j++)
                {
                    if (used[j]) continue;
                    used[j] = true;
                    Rec(i + 1, acc + Get(i, j));
                    used[j] = false;
                }
            }
            Rec(0, 0);
            return best;
        }
    }

    [TestFixture]
    public class LinearAssignmentTests
    {
        private static IEnumerable<TestCaseData> Sizes()
        {
            for (int n = 1; n <= 6; n++) yield return new TestCaseData(n, n);
            yield return new TestCaseData(4, 6);
            yield return new TestCaseData(6, 4);
            yield return new TestCaseData(1, 5);
            yield return new TestCaseData(5, 2);
        }

        [TestCaseSource(nameof(Sizes))]
        public void MaximizeAndMinimize_EqualBruteForce(int rows, int cols)
        {
            for (int seed = 0; seed < 20; seed++)
            {
                var s = TestUtil.RandomMatrix(rows, cols, 1000 * rows + 10 * cols + seed, 3.0);
                var max = LinearAssignment.Maximize(s);
                Assert.That(max.Total, Is.EqualTo(TmsFeaturesTests.BruteForceMax(s)).Within(1e-12), $"max seed {seed}");
                AssertValid(max, s);
                var min = LinearAssignment.Minimize(s);
                Assert.That(min.Total, Is.EqualTo(-TmsFeaturesTests.BruteForceMax(TestUtil.Scale(s, -1))).Within(1e-12), $"min seed {seed}");
                AssertValid(min, s);
            }
        }

        [Test]
        public void Maximize_WithTiesAndIntegerScores_IsOptimal()
        {
            var s = Matrix.FromRows(new[]
            {
                new[] { 1.0, 1.0, 0.0 },
                new[] { 1.0, 1.0, 0.0 },
                new[] { 0.0, 0.0, 0.0 },
            });
            var r = LinearAssignment.Maximize(s);
            Assert.That(r.Total, Is.EqualTo(2));
            AssertValid(r, s);
        }

        [Test]
        public void BadInputs_Throw()
        {
            Assert.That(Assert.Throws<ShapeMismatchException>(() => LinearAssignment.Maximize(Matrix.Zeros(0, 0)))!.ParamName, Is.EqualTo("scores"));
            Assert.That(Assert.Throws<NonFiniteValueException>(() => LinearAssignment.Minimize(Matrix.FromArray(1, 2, new[] { 1.0, double.NaN })))!.ParamName, Is.EqualTo("costs"));
        }

        private static void AssertValid(AssignmentResult r, Matrix s)
        {
            int pairs = Math.Min(s.Rows, s.Columns);
            Assert.That(r.PairCount, Is.EqualTo(pairs));
            Assert.That(r.RowToColumn.Count(c => c >= 0), Is.EqualTo(pairs));
            Assert.That(r.ColumnToRow.Count(c => c >= 0), Is.EqualTo(pairs));
            double total = 0;
            for (int i = 0; i < s.Rows; i++)
            {
                int c = r.RowToColumn[i];
                if (c < 0) continue;
                Assert.That(r.ColumnToRow[c], Is.EqualTo(i));
                total += s[i, c];
            }
            Assert.That(r.Total, Is.EqualTo(total).Within(1e-12));
        }
    }
}

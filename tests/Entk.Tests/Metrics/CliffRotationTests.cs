using System;
using System.Linq;
using Entk.Metrics;
using NUnit.Framework;

namespace Entk.Tests.Metrics
{
    public class CliffRotationTests : BackendFixture
    {
        public CliffRotationTests(Linalg.LinearAlgebraBackend backend) : base(backend) { }

        /// <summary>
        /// Synthetic first cliff: the 56 n- and m-modes for p = 29, mixed by a seeded random rotation and
        /// sign flips. TwoStage(L_n, L_m) must recover every mode pair exactly: each atom correlates
        /// ≥ 1 − 1e-8 with exactly one (family, k) row, each row gets exactly two atoms, columns 0..27 are
        /// m-modes in increasing k and 28..55 n-modes in increasing k.
        /// </summary>
        [TestCase(29, 5)]
        [TestCase(7, 6)]
        public void TwoStage_AxisModes_RecoversEveryOperandFrequency(int p, int seed)
        {
            int kk = p / 2, k = 4 * kk;
            var modes = MetricsTestUtil.ModeCliff(p, "n", "m");
            var cliff = MetricsTestUtil.FlipColumns(MetricsTestUtil.Mul(modes, MetricsTestUtil.RandomOrthogonal(k, seed)), seed + 1);
            var r = CliffRotation.TwoStage(cliff, TorusLaplacian.Create(TorusLaplacianKind.N, p), TorusLaplacian.Create(TorusLaplacianKind.M, p));
            Assert.That(r.Count, Is.EqualTo(k));
            Assert.That(r.Stage1Kind, Is.EqualTo(TorusLaplacianKind.N));
            Assert.That(r.Stage2Kind, Is.EqualTo(TorusLaplacianKind.M));
            var h = PhaseInsensitiveCorrelation.Stacked(r.Rotated, FourierFamilies.Create("m", p), FourierFamilies.Create("n", p));
            AssertExactStaircase(h, kk);
            for (int j = 0; j < k; j++)
            {
                int row = h.Values.Column(j).Select((v, i) => (v, i)).Max().i;
                Assert.That(row, Is.EqualTo(j / 2), $"atom {j} in staircase order");
            }
            // Energies: stage 1 = 28 zeros then 2 − 2cos(2πk/p) twice each; stage 2 = the m-energies.
            for (int i = 0; i < 2 * kk; i++) Assert.That(r.Stage1Energies[i], Is.EqualTo(0).Within(1e-12));
            for (int i = 0; i < 2 * kk; i++)
            {
                double e = 2 - 2 * Math.Cos(2 * Math.PI * (i / 2 + 1) / p);
                Assert.That(r.Stage1Energies[2 * kk + i], Is.EqualTo(e).Within(1e-12));
                Assert.That(r.Stage2Energies[i], Is.EqualTo(e).Within(1e-12));
            }
            AssertOrthonormalSameSpan(r.Rotated, cliff);
        }

        /// <summary>Synthetic second cliff: sum + diff modes, TwoStage(L_sum, L_diff): diff-modes first, then sum-modes ordered by L_sum energy.</summary>
        [Test]
        public void TwoStage_SumDiffModes_RecoversEveryFamilyFrequency()
        {
            const int p = 29, kk = 14, k = 56;
            var modes = MetricsTestUtil.ModeCliff(p, "sum", "diff");
            var cliff = MetricsTestUtil.FlipColumns(MetricsTestUtil.Mul(modes, MetricsTestUtil.RandomOrthogonal(k, 41)), 42);
            var r = CliffRotation.TwoStage(cliff, TorusLaplacian.Create(TorusLaplacianKind.Sum, p), TorusLaplacian.Create(TorusLaplacianKind.Diff, p));
            var h = PhaseInsensitiveCorrelation.Stacked(r.Rotated, FourierFamilies.Create("sum", p), FourierFamilies.Create("diff", p));
            AssertExactStaircase(h, kk);
            var summary = AtomAssignment.Summarize(h);
            for (int j = 0; j < 28; j++) Assert.That(h.RowFamilies[summary.BestRow[j]], Is.EqualTo("diff"), $"atom {j}");
            for (int j = 28; j < 56; j++) Assert.That(h.RowFamilies[summary.BestRow[j]], Is.EqualTo("sum"), $"atom {j}");
            // Sum atoms sorted by L_sum energy 2 − 2cos(4πk/p): distance of 2k mod p from 0 → k = 14, 1, 13, 2, 12, 3, …
            var expectedOrder = new[] { 14, 1, 13, 2, 12, 3, 11, 4, 10, 5, 9, 6, 8, 7 };
            for (int j = 0; j < 14; j++)
                Assert.That(h.RowFrequencies[summary.BestRow[28 + 2 * j]], Is.EqualTo(expectedOrder[j]), $"sum atom pair {j}");
            AssertOrthonormalSameSpan(r.Rotated, cliff);
        }

        [Test]
        public void SingleStage_SumModesAtKeyFrequencies_AreSeparated()
        {
            const int p = 29;
            var sum = FourierFamilies.Create("sum", p).WithFrequencies(new[] { 1, 3, 10 });
            var cliff = MetricsTestUtil.Mul(sum.ToMatrix(), MetricsTestUtil.RandomOrthogonal(6, 51));
            var r = CliffRotation.SingleStage(cliff, TorusLaplacian.Create(TorusLaplacianKind.Sum, p));
            Assert.That(r.Stage2Energies, Is.Empty);
            Assert.That(r.Stage2Kind, Is.Null);
            var h = PhaseInsensitiveCorrelation.Compute(r.Rotated, sum);
            var s = AtomAssignment.Summarize(h, 1 - 1e-8);
            Assert.That(s.AllColumnsAligned && s.AllRowsCovered, Is.True);
            Assert.That(s.AtomsPerRow, Is.EqualTo(new[] { 2, 2, 2 }));
            // ascending energy: k = 1 (2−2cos(4π/29)), then k = 3, then k = 10 (2k mod 29 = 20 → distance 9)
            Assert.That(s.BestRow, Is.EqualTo(new[] { 0, 0, 1, 1, 2, 2 }));
            Assert.That(r.Stage1Energies, Is.Ordered.Ascending);
            AssertOrthonormalSameSpan(r.Rotated, cliff);
        }

        [Test]
        public void TwoStage_RandomCliff_PreservesSpanAndDiagonalisesL1OnUpperHalf()
        {
            const int p = 7;
            var cliff = TestUtil.RandomMatrix(49, 10, 61);
            var l1 = TorusLaplacian.Create(TorusLaplacianKind.Diff, p);
            var l2 = TorusLaplacian.Create(TorusLaplacianKind.N, p);
            var r = CliffRotation.TwoStage(cliff, l1, l2);
            AssertOrthonormalSameSpan(r.Rotated, cliff);
            Assert.That(r.Stage1Energies.Count, Is.EqualTo(10));
            Assert.That(r.Stage2Energies.Count, Is.EqualTo(5));
            for (int j = 5; j < 10; j++)
                Assert.That(l1.RayleighQuotient(r.Rotated.Column(j)), Is.EqualTo(r.Stage1Energies[j]).Within(1e-12));
            for (int j = 0; j < 5; j++)
                Assert.That(l2.RayleighQuotient(r.Rotated.Column(j)), Is.EqualTo(r.Stage2Energies[j]).Within(1e-12));
            // UᵀL2U restricted to the first half is diagonal
            var b = MetricsTestUtil.Mul(r.Rotated.SliceColumns(0, 5).Transpose(), l2.Apply(r.Rotated.SliceColumns(0, 5)));
            for (int i = 0; i < 5; i++)
                for (int j = 0; j < 5; j++)
                    if (i != j) Assert.That(b[i, j], Is.EqualTo(0).Within(1e-12));
        }

        [Test]
        public void BadInputs_ThrowTypedExceptions()
        {
            var ln = TorusLaplacian.Create(TorusLaplacianKind.N, 7);
            var lm = TorusLaplacian.Create(TorusLaplacianKind.M, 7);
            var odd = Assert.Throws<EntkArgumentException>(() => CliffRotation.TwoStage(TestUtil.RandomMatrix(49, 5, 1), ln, lm))!;
            Assert.That(odd.ParamName, Is.EqualTo("cliff"));
            Assert.That(odd.Message, Does.Contain("k = 5"));
            Assert.That(Assert.Throws<ShapeMismatchException>(() => CliffRotation.TwoStage(TestUtil.RandomMatrix(50, 4, 1), ln, lm))!.ParamName, Is.EqualTo("cliff"));
            Assert.That(Assert.Throws<EntkArgumentException>(() => CliffRotation.TwoStage(TestUtil.RandomMatrix(49, 4, 1), ln, TorusLaplacian.Create(TorusLaplacianKind.M, 5)))!.ParamName, Is.EqualTo("l2"));
            var nan = TestUtil.RandomMatrix(49, 4, 1).ToArray();
            nan[7] = double.NaN;
            Assert.That(Assert.Throws<NonFiniteValueException>(() => CliffRotation.TwoStage(Matrix.FromArray(49, 4, nan), ln, lm))!.ParamName, Is.EqualTo("cliff"));
            Assert.That(Assert.Throws<NonFiniteValueException>(() => CliffRotation.SingleStage(Matrix.FromArray(49, 4, nan), ln))!.ParamName, Is.EqualTo("cliff"));
            Assert.That(Assert.Throws<EntkArgumentException>(() => CliffRotation.SingleStage(Matrix.Zeros(49, 2), ln))!.ParamName, Is.EqualTo("cliff"));
            Assert.Throws<ArgumentNullException>(() => CliffRotation.TwoStage(TestUtil.RandomMatrix(49, 4, 1), null!, lm));
        }

        private static void AssertExactStaircase(FourierHeatmap h, int kk)
        {
            var s = AtomAssignment.Summarize(h, 1 - 1e-8);
            Assert.That(s.AllColumnsAligned, Is.True, "every atom ≥ 1 − 1e-8 with some row: " + s);
            Assert.That(s.AllRowsCovered, Is.True, "every (family, k) covered: " + s);
            Assert.That(s.AtomsPerRow.All(c => c == 2), Is.True, "exactly two atoms (cos/sin pair) per row");
            for (int j = 0; j < h.ColumnCount; j++)
            {
                var col = h.Values.Column(j);
                int aligned = col.Count(v => v >= 1 - 1e-8);
                Assert.That(aligned, Is.EqualTo(1), $"atom {j} aligns with exactly one row");
                Assert.That(col.Where(v => v < 1 - 1e-8).DefaultIfEmpty(0).Max(), Is.LessThan(1e-6), $"atom {j} off-row values");
            }
            Assert.That(h.RowCount, Is.EqualTo(2 * kk));
        }

        private static void AssertOrthonormalSameSpan(Matrix u, Matrix cliff)
        {
            TestUtil.AssertClose(MetricsTestUtil.Mul(u.Transpose(), u), Matrix.Identity(u.Columns), 1e-12, "UᵀU = I");
            Assert.That(SubspaceOverlap.Between(u, cliff).Overlap, Is.EqualTo(u.Columns).Within(1e-9), "same span");
        }
    }
}

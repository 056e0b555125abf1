using System;
using System.Linq;
using Entk.Metrics;
using NUnit.Framework;

namespace Entk.Tests.Metrics
{
    [TestFixture]
    public class FourierFamilyTests
    {
        [TestCase("n", 7)]
        [TestCase("m", 7)]
        [TestCase("sum", 29)]
        [TestCase("diff", 29)]
        [TestCase("2n", 11)]
        [TestCase("2m", 8)]
        public void Create_ColumnsEqualClosedForm(string name, int p)
        {
            var fam = FourierFamilies.Create(name, p);
            Assert.That(fam.Name, Is.EqualTo(name));
            Assert.That(fam.Modulus, Is.EqualTo(p));
            Assert.That(fam.FrequencyCount, Is.EqualTo(p / 2));
            Assert.That(fam.Frequencies, Is.EqualTo(Enumerable.Range(1, p / 2).ToArray()));
            var f = fam.ToMatrix();
            Assert.That(f.Rows, Is.EqualTo(p * p));
            Assert.That(f.Columns, Is.EqualTo(2 * (p / 2)));
            for (int k = 1; k <= p / 2; k++)
            {
                var c = MetricsTestUtil.Mode(p, k, MetricsTestUtil.ValueOf(name), false);
                var s = MetricsTestUtil.Mode(p, k, MetricsTestUtil.ValueOf(name), true);
                TestUtil.AssertClose(f.Column(2 * k - 2), c, 1e-13, name + " cos " + k);
                TestUtil.AssertClose(f.Column(2 * k - 1), s, 1e-13, name + " sin " + k);
                TestUtil.AssertClose(fam.Cosine(k), c, 1e-13);
                TestUtil.AssertClose(fam.Sine(k), s, 1e-13);
            }
        }

        [Test]
        public void Create_AxisFamiliesAreSumAndDifferenceOfOperandFamilies()
        {
            const int p = 13;
            var n = FourierFamilies.Create("n", p).ToMatrix();
            var m = FourierFamilies.Create("m", p).ToMatrix();
            var sum = FourierFamilies.Create("axis_sum", p).ToMatrix();
            var diff = FourierFamilies.Create("axis_diff", p).ToMatrix();
            TestUtil.AssertClose(sum, TestUtil.Add(n, m), 1e-14, "axis_sum");
            TestUtil.AssertClose(diff, TestUtil.Add(n, TestUtil.Scale(m, -1)), 1e-14, "axis_diff");
        }

        [Test]
        public void Create_RowOrderIsLeftOperandSlow()
        {
            const int p = 5;
            var n = FourierFamilies.Create("n", p).Cosine(1);
            // row i = n·p + m: rows 0..4 all have n = 0 (value 1), rows 5..9 have n = 1.
            for (int m = 0; m < p; m++)
            {
                Assert.That(n[m], Is.EqualTo(1.0));
                Assert.That(n[p + m], Is.EqualTo(Math.Cos(2 * Math.PI / p)).Within(1e-15));
            }
        }

        [Test]
        public void Create_EvenModulusNyquistSineIsExactlyZero()
        {
            var fam = FourierFamilies.Create("n", 8);
            Assert.That(fam.Sine(4).All(v => v == 0), Is.True);
            Assert.That(fam.Cosine(4).All(v => v == 1 || v == -1), Is.True);
        }

        [Test]
        public void WithFrequencies_SelectsAndOrdersColumns()
        {
            var fam = FourierFamilies.Create("sum", 29);
            var sub = fam.WithFrequencies(new[] { 12, 1 });
            Assert.That(sub.Frequencies, Is.EqualTo(new[] { 12, 1 }));
            Assert.That(sub.Labels, Is.EqualTo(new[] { "sum k=12", "sum k=1" }));
            var f = sub.ToMatrix();
            Assert.That(f.Columns, Is.EqualTo(4));
            TestUtil.AssertClose(f.Column(0), fam.Cosine(12), 0);
            TestUtil.AssertClose(f.Column(3), fam.Sine(1), 0);
        }

        [Test]
        public void Standard_HoldsTheEightFamiliesInOrder()
        {
            var all = FourierFamilies.Standard(7);
            Assert.That(all.Select(f => f.Name), Is.EqualTo(new[] { "n", "m", "sum", "diff", "2n", "2m", "axis_sum", "axis_diff" }));
            Assert.That(FourierFamilies.Names, Is.EqualTo(all.Select(f => f.Name).ToArray()));
        }

        [Test]
        public void Create_UnknownName_ListsValidNames()
        {
            var e = Assert.Throws<EntkArgumentException>(() => FourierFamilies.Create("prod", 29))!;
            Assert.That(e.ParamName, Is.EqualTo("name"));
            Assert.That(e.Message, Does.Contain("\"axis_diff\"").And.Contain("\"prod\""));
        }

        [TestCase(2)]
        [TestCase(0)]
        [TestCase(-5)]
        public void Create_ModulusBelowThree_Throws(int p)
        {
            var e = Assert.Throws<EntkArgumentException>(() => FourierFamilies.Create("n", p))!;
            Assert.That(e.ParamName, Is.EqualTo("p"));
        }

        [Test]
        public void WithFrequencies_BadLists_Throw()
        {
            var fam = FourierFamilies.Create("n", 7);
            Assert.That(Assert.Throws<EntkArgumentException>(() => fam.WithFrequencies(new[] { 4 }))!.ParamName, Is.EqualTo("frequencies"));
            Assert.That(Assert.Throws<EntkArgumentException>(() => fam.WithFrequencies(new[] { 1, 1 }))!.ParamName, Is.EqualTo("frequencies"));
            Assert.That(Assert.Throws<EntkArgumentException>(() => fam.WithFrequencies(Array.Empty<int>()))!.ParamName, Is.EqualTo("frequencies"));
            Assert.That(Assert.Throws<EntkArgumentException>(() => fam.Cosine(0))!.ParamName, Is.EqualTo("frequency"));
        }
    }
}

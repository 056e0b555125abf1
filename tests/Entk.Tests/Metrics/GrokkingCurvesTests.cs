using System;
using System.Linq;
using Entk.Metrics;
using NUnit.Framework;

namespace Entk.Tests.Metrics
{
    [TestFixture]
    public class GrokkingCurvesTests
    {
        private static double F(double t) => 3 * t * t - 2 * t + 5;

        private static double Df(double t) => 6 * t - 2;

        [Test]
        public void Derivative_QuadraticOnUniformGrid_ExactInsideOneSidedAtEnds()
        {
            var t = Enumerable.Range(0, 11).Select(i => 10.0 * i).ToArray();
            var d = GrokkingCurves.Derivative(t, t.Select(F).ToArray());
            for (int i = 1; i < 10; i++) Assert.That(d[i], Is.EqualTo(Df(t[i])).Within(1e-9));
            Assert.That(d[0], Is.EqualTo((F(10) - F(0)) / 10).Within(1e-12), "forward");
            Assert.That(d[10], Is.EqualTo((F(100) - F(90)) / 10).Within(1e-12), "backward");
        }

        /// <summary>
        /// Non-uniform grid. The default secant formula (f[i+1] − f[i−1]) / (t[i+1] − t[i−1]) is, for a
        /// quadratic, exactly f′ at the stencil midpoint; the second-order scheme is exactly f′(t[i]).
        /// </summary>
        [Test]
        public void Derivative_QuadraticOnNonUniformGrid_ExactForBothSchemes()
        {
            var t = new[] { 0.0, 1.0, 3.0, 3.5, 7.0, 10.0, 20.0, 21.0 };
            var f = t.Select(F).ToArray();
            var secant = GrokkingCurves.Derivative(t, f);
            var second = GrokkingCurves.Derivative(t, f, FiniteDifferenceScheme.SecondOrder);
            for (int i = 1; i < t.Length - 1; i++)
            {
                Assert.That(secant[i], Is.EqualTo(Df(0.5 * (t[i - 1] + t[i + 1]))).Within(1e-12), $"secant at {i}");
                Assert.That(secant[i], Is.EqualTo((f[i + 1] - f[i - 1]) / (t[i + 1] - t[i - 1])).Within(0), $"formula at {i}");
                Assert.That(second[i], Is.EqualTo(Df(t[i])).Within(1e-10), $"second order at {i}");
            }
            foreach (var d in new[] { secant, second })
            {
                Assert.That(d[0], Is.EqualTo((f[1] - f[0]) / (t[1] - t[0])).Within(0));
                Assert.That(d[^1], Is.EqualTo((f[^1] - f[^2]) / (t[^1] - t[^2])).Within(0));
            }
        }

        [Test]
        public void Derivative_LinearIsExactEverywhere_TwoPointsWork()
        {
            var t = new[] { 2.0, 5.0, 6.0, 11.0 };
            var d = GrokkingCurves.Derivative(t, t.Select(x => 4 * x - 1).ToArray());
            Assert.That(d.All(v => Math.Abs(v - 4) < 1e-13), Is.True);
            Assert.That(GrokkingCurves.Derivative(new[] { 0.0, 2.0 }, new[] { 1.0, 2.0 }), Is.EqualTo(new[] { 0.5, 0.5 }));
        }

        [Test]
        public void Derivative_BadInputs_Throw()
        {
            Assert.That(Assert.Throws<ShapeMismatchException>(() => GrokkingCurves.Derivative(new[] { 0.0, 1.0 }, new[] { 0.0 }))!.ParamName, Is.EqualTo("values"));
            Assert.That(Assert.Throws<EntkArgumentException>(() => GrokkingCurves.Derivative(new[] { 0.0 }, new[] { 0.0 }))!.ParamName, Is.EqualTo("epochs"));
            Assert.That(Assert.Throws<EntkArgumentException>(() => GrokkingCurves.Derivative(new[] { 0.0, 2.0, 2.0 }, new[] { 0.0, 1.0, 2.0 }))!.ParamName, Is.EqualTo("epochs"));
            Assert.That(Assert.Throws<NonFiniteValueException>(() => GrokkingCurves.Derivative(new[] { 0.0, 1.0 }, new[] { 0.0, double.NaN }))!.ParamName, Is.EqualTo("values"));
            Assert.That(Assert.Throws<NonFiniteValueException>(() => GrokkingCurves.Derivative(new[] { double.NaN, 1.0 }, new[] { 0.0, 1.0 }))!.ParamName, Is.EqualTo("epochs"));
        }
    }
}

using System;
using System.Collections.Generic;
using Entk.Internal;

namespace Entk.Metrics
{
    /// <summary>The interior formula of <see cref="GrokkingCurves.Derivative"/>.</summary>
    public enum FiniteDifferenceScheme
    {
        /// <summary>
        /// (f[i+1] − f[i−1]) / (t[i+1] − t[i−1]) (the default; the paper's "central differences"). On a
        /// uniform grid it is exact for quadratics; on a non-uniform grid it is the slope of the secant,
        /// which for a quadratic equals f′ at the stencil midpoint (t[i−1] + t[i+1]) / 2, not at t[i].
        /// </summary>
        CentralSecant,

        /// <summary>
        /// The second-order non-uniform formula of numpy.gradient:
        /// f′_i = [h₋² f[i+1] − h₊² f[i−1] + (h₊² − h₋²) f[i]] / (h₋ h₊ (h₋ + h₊)) with h₋ = t[i] − t[i−1],
        /// h₊ = t[i+1] − t[i]; exact for quadratics at t[i]. Identical to <see cref="CentralSecant"/> on a uniform grid.
        /// </summary>
        SecondOrder,
    }

    /// <summary>Helpers for curves over training (docs/paper-notes.md §1.8), e.g. the overlap of a cliff with a family per logged epoch.</summary>
    public static class GrokkingCurves
    {
        /// <summary>
        /// First derivative of values(t) by finite differences: forward difference at the first point,
        /// central inside (see <see cref="FiniteDifferenceScheme"/>), backward difference at the last.
        /// </summary>
        /// <param name="epochs">The abscissae t, strictly increasing, finite, at least 2.</param>
        /// <param name="values">The values f(t), same length, finite.</param>
        /// <param name="scheme">Interior formula (default <see cref="FiniteDifferenceScheme.CentralSecant"/>).</param>
        /// <returns>New array of the same length with df/dt.</returns>
        /// <exception cref="ArgumentNullException">A null argument.</exception>
        /// <exception cref="ShapeMismatchException">Lengths differ.</exception>
        /// <exception cref="EntkArgumentException">Fewer than 2 points, epochs not strictly increasing, or an undefined scheme.</exception>
        /// <exception cref="NonFiniteValueException">NaN or ±Infinity.</exception>
        /// <example>
        /// C#: <c>var slope = GrokkingCurves.Derivative(new double[] { 0, 10, 20 }, new double[] { 1, 4, 9 }); // [0.3, 0.4, 0.5]</c>
        /// F#: <c>let slope = GrokkingCurves.Derivative([| 0.0; 10.0; 20.0 |], overlapPercent)</c>
        /// </example>
        public static double[] Derivative(IReadOnlyList<double> epochs, IReadOnlyList<double> values, FiniteDifferenceScheme scheme = FiniteDifferenceScheme.CentralSecant)
        {
            Check.NotNull(epochs, nameof(epochs));
            Check.NotNull(values, nameof(values));
            if (!Enum.IsDefined(scheme)) throw new EntkArgumentException(nameof(scheme), "CentralSecant or SecondOrder", ((int)scheme).ToString(System.Globalization.CultureInfo.InvariantCulture));
            int n = epochs.Count;
            if (values.Count != n) throw new ShapeMismatchException(nameof(values), Check.Inv($"[{n}] (as epochs)"), Check.Inv($"[{values.Count}]"));
            if (n < 2) throw new EntkArgumentException(nameof(epochs), "at least 2 points", Check.Inv($"{n}"));
            var t = new double[n];
            var f = new double[n];
            for (int i = 0; i < n; i++)
            {
                t[i] = epochs[i];
                f[i] = values[i];
            }
            Check.AllFinite(t, nameof(epochs));
            Check.AllFinite(f, nameof(values));
            for (int i = 1; i < n; i++)
                if (!(t[i] > t[i - 1]))
                    throw new EntkArgumentException(nameof(epochs), "strictly increasing values", Check.Inv($"epochs[{i - 1}] = {Check.R(t[i - 1])}, epochs[{i}] = {Check.R(t[i])}"));
            var d = new double[n];
            d[0] = (f[1] - f[0]) / (t[1] - t[0]);
            d[n - 1] = (f[n - 1] - f[n - 2]) / (t[n - 1] - t[n - 2]);
            for (int i = 1; i < n - 1; i++)
            {
                if (scheme == FiniteDifferenceScheme.CentralSecant)
                {
                    d[i] = (f[i + 1] - f[i - 1]) / (t[i + 1] - t[i - 1]);
                }
                else
                {
                    double hm = t[i] - t[i - 1], hp = t[i + 1] - t[i];
                    d[i] = (hm * hm * f[i + 1] - hp * hp * f[i - 1] + (hp * hp - hm * hm) * f[i]) / (hm * hp * (hm + hp));
                }
            }
            return d;
        }
    }
}

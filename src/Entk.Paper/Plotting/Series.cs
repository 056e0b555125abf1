using System;
using System.Collections.Generic;
using System.Globalization;
using Entk.Internal;

namespace Entk.Plotting
{
    /// <summary>
    /// An immutable named data series: y values over x values of the same length, all finite.
    /// Construction copies the arrays.
    /// </summary>
    /// <example>
    /// C#: <c>var train = Series.Of("train", epochs, trainAccuracy);</c>
    /// F#: <c>let s = Series.Of("epoch 60", eigenvalues)</c> (x = 0, 1, …)
    /// </example>
    public sealed class Series
    {
        private Series(string name, double[] x, double[] y)
        {
            Name = name;
            X = Array.AsReadOnly(x);
            Y = Array.AsReadOnly(y);
        }

        /// <summary>Legend name.</summary>
        public string Name { get; }

        /// <summary>The x values (read-only copy).</summary>
        public IReadOnlyList<double> X { get; }

        /// <summary>The y values (read-only copy), same length as <see cref="X"/>.</summary>
        public IReadOnlyList<double> Y { get; }

        /// <summary>Number of points.</summary>
        public int Count => Y.Count;

        /// <summary>A series over x = 0, 1, …, n − 1 (e.g. eigenvalues by index).</summary>
        /// <param name="name">Legend name.</param>
        /// <param name="y">The values; non-empty and finite.</param>
        /// <returns>The series.</returns>
        /// <exception cref="EntkArgumentException"><paramref name="y"/> is empty.</exception>
        /// <exception cref="NonFiniteValueException"><paramref name="y"/> holds NaN or ±∞.</exception>
        public static Series Of(string name, double[] y)
        {
            Check.NotNull(y, nameof(y));
            return Create(name, null, y, nameof(y), nameof(y), nameof(name));
        }

        /// <summary>A series of y over x.</summary>
        /// <param name="name">Legend name.</param>
        /// <param name="x">The x values; finite.</param>
        /// <param name="y">The y values; non-empty, finite, same length as <paramref name="x"/>.</param>
        /// <returns>The series.</returns>
        /// <exception cref="ShapeMismatchException">The lengths differ.</exception>
        /// <exception cref="EntkArgumentException"><paramref name="y"/> is empty.</exception>
        /// <exception cref="NonFiniteValueException">A value is NaN or ±∞.</exception>
        public static Series Of(string name, double[] x, double[] y)
        {
            Check.NotNull(x, nameof(x));
            Check.NotNull(y, nameof(y));
            return Create(name, x, y, nameof(x), nameof(y), nameof(name));
        }

        /// <summary>Validating constructor; <paramref name="xWhere"/>/<paramref name="yWhere"/> spell the caller's argument (e.g. "series[2]").</summary>
        internal static Series Create(string name, double[]? x, double[] y, string xWhere, string yWhere, string paramName)
        {
            Check.NotNull(name, paramName);
            string yParam = RootName(yWhere), xParam = RootName(xWhere);
            if (y.Length == 0)
                throw new EntkArgumentException(yParam, "a non-empty series", yWhere + " with 0 values");
            if (x is not null && x.Length != y.Length)
                throw new ShapeMismatchException(xParam, Check.Inv($"[{y.Length}] (the length of {yWhere})"), Check.Inv($"[{x.Length}]"),
                    "x and y of a series must have the same length.");
            AllFinite(y, yParam, yWhere);
            double[] xs;
            if (x is null)
            {
                xs = new double[y.Length];
                for (int i = 0; i < xs.Length; i++) xs[i] = i;
            }
            else
            {
                AllFinite(x, xParam, xWhere);
                xs = (double[])x.Clone();
            }
            return new Series(name, xs, (double[])y.Clone());
        }

        internal static void AllFinite(IReadOnlyList<double> values, string paramName, string where)
        {
            for (int i = 0; i < values.Count; i++)
                if (!double.IsFinite(values[i]))
                    throw new NonFiniteValueException(paramName, where + "[" + i.ToString(CultureInfo.InvariantCulture) + "]", values[i]);
        }

        internal static string RootName(string where)
        {
            int b = where.IndexOf('[', StringComparison.Ordinal);
            return b < 0 ? where : where.Substring(0, b);
        }

        /// <summary>Short description, e.g. "Series 'train' (60 points)".</summary>
        /// <returns>The description.</returns>
        public override string ToString() => Check.Inv($"Series '{Name}' ({Count} points)");
    }

    /// <summary>An immutable vertical guide line at <see cref="X"/>, optionally labelled (e.g. a cliff boundary or a phase change).</summary>
    public sealed class GuideLine
    {
        /// <summary>Creates a guide line.</summary>
        /// <param name="x">Position on the x axis; finite.</param>
        /// <param name="label">Label drawn at the top of the line; empty for none.</param>
        /// <exception cref="NonFiniteValueException"><paramref name="x"/> is NaN or ±∞.</exception>
        public GuideLine(double x, string label = "")
        {
            X = Check.Finite(x, nameof(x));
            Label = Check.NotNull(label, nameof(label));
        }

        /// <summary>Position on the x axis.</summary>
        public double X { get; }

        /// <summary>Label drawn at the top of the line (empty for none).</summary>
        public string Label { get; }

        /// <summary>A guide between eigenvalue <paramref name="index"/> and <paramref name="index"/> + 1 (x = index + 0.5), as for a cliff whose last member is <paramref name="index"/>.</summary>
        /// <param name="index">The last index before the boundary (≥ 0).</param>
        /// <param name="label">Optional label.</param>
        /// <returns>The guide line.</returns>
        public static GuideLine After(int index, string label = "") => new GuideLine(Check.NonNegative(index, nameof(index)) + 0.5, label);

        /// <summary>Short description.</summary>
        /// <returns>The description.</returns>
        public override string ToString() => Label.Length == 0 ? Check.Inv($"GuideLine x={X}") : Check.Inv($"GuideLine x={X} '{Label}'");
    }
}

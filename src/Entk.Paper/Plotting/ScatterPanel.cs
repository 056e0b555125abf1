using System;
using System.Collections.Generic;
using Entk.Internal;
using ScottPlot;

namespace Entk.Plotting
{
    /// <summary>
    /// A scatter plot of one or more named point series (markers, no lines), optionally with the diagonal y = x drawn
    /// dashed (e.g. a prediction against the value it should reproduce). Create it with <see cref="Create"/>.
    /// CSV: one line per point, kind <c>point</c>, series name, x, value = shown = y; the diagonal is not data.
    /// </summary>
    public sealed class ScatterPanel : Panel
    {
        private ScatterPanel(string title, IReadOnlyList<Series> series, bool diagonal, LegendLocation legend, string xLabel, string yLabel, int width, int height)
            : base(title, xLabel, yLabel, width, height)
        {
            Series = series;
            Diagonal = diagonal;
            Legend = legend;
        }

        /// <summary>The point series (x and y of equal length).</summary>
        public IReadOnlyList<Series> Series { get; }

        /// <summary>Whether the line y = x is drawn.</summary>
        public bool Diagonal { get; }

        /// <summary>Legend placement.</summary>
        public LegendLocation Legend { get; }

        /// <summary>A scatter panel.</summary>
        /// <param name="title">Panel title (empty for none).</param>
        /// <param name="series">One or more series of points (see <see cref="Plotting.Series.Of(string, double[], double[])"/>).</param>
        /// <param name="diagonal">Draw y = x across the data range.</param>
        /// <param name="xLabel">x axis label.</param>
        /// <param name="yLabel">y axis label.</param>
        /// <param name="legend">Legend placement.</param>
        /// <param name="width">Stand-alone width in pixels.</param>
        /// <param name="height">Stand-alone height in pixels.</param>
        /// <returns>The panel.</returns>
        /// <exception cref="EntkArgumentException"><paramref name="series"/> is empty or holds null.</exception>
        public static ScatterPanel Create(string title, IReadOnlyList<Series> series, bool diagonal = true, string xLabel = "x", string yLabel = "y",
            LegendLocation legend = LegendLocation.UpperLeft, int width = DefaultWidth, int height = DefaultHeight)
        {
            Check.NotNull(series, nameof(series));
            if (series.Count == 0) throw new EntkArgumentException(nameof(series), "at least one series", "none");
            var copy = new Series[series.Count];
            for (int i = 0; i < copy.Length; i++)
                copy[i] = series[i] ?? throw new EntkArgumentException(nameof(series), "non-null series", Check.Inv($"null at series[{i}]"));
            if (!Enum.IsDefined(legend)) throw new EntkArgumentException(nameof(legend), "a defined LegendLocation", legend.ToString());
            return new ScatterPanel(title, Array.AsReadOnly(copy), diagonal, legend, xLabel, yLabel, width, height);
        }

        /// <inheritdoc />
        public override ScatterPanel WithSize(int width, int height) => new(Title, Series, Diagonal, Legend, XLabel, YLabel, width, height);

        internal override void Configure(Plot plot, int width, int height)
        {
            double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
            for (int s = 0; s < Series.Count; s++)
            {
                var series = Series[s];
                var xs = new double[series.Count];
                var ys = new double[series.Count];
                for (int i = 0; i < xs.Length; i++)
                {
                    xs[i] = series.X[i];
                    ys[i] = series.Y[i];
                    lo = Math.Min(lo, Math.Min(xs[i], ys[i]));
                    hi = Math.Max(hi, Math.Max(xs[i], ys[i]));
                }
                var sc = plot.Add.Scatter(xs, ys, Style.SeriesColor(s));
                sc.LineWidth = 0;
                sc.MarkerSize = series.Count > 2000 ? 2f : 3.5f;
                sc.LegendText = series.Name;
            }
            if (Diagonal && hi >= lo)
            {
                double pad = hi > lo ? 0.02 * (hi - lo) : 0.5;
                var line = plot.Add.Line(lo - pad, lo - pad, hi + pad, hi + pad);
                line.Color = Style.GuideColor;
                line.LinePattern = LinePattern.Dashed;
                line.LineWidth = 1f;
            }
            Style.ApplyLegend(plot, Legend);
        }

        internal override void AppendPanelCsv(CsvBuilder csv)
        {
            foreach (var s in Series)
                for (int i = 0; i < s.Count; i++) csv.Add(Title, "point", s.Name, null, null, s.X[i], s.Y[i], s.Y[i]);
        }
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using Entk.Internal;
using ScottPlot;

namespace Entk.Plotting
{
    /// <summary>
    /// An eigenvalue spectrum: one or more series of values by index (x = 0 … k − 1), on a linear
    /// or a log10 y axis, with optional vertical guides at cliff boundaries and a legend.
    /// Create it with <see cref="Figures.Spectrum"/>.
    /// </summary>
    /// <remarks>
    /// With <see cref="LogY"/> the panel plots log10(λ) of the positive values and labels the y ticks
    /// 10ⁿ; zero and negative values (round-off below the numerical rank) cannot be shown on a log
    /// axis and are skipped, without an error: <see cref="SkippedCount"/> says how many, and
    /// <see cref="Figure.ToCsv"/> lists them with an empty <c>shown</c> column.
    /// </remarks>
    public sealed class SpectrumPanel : Panel
    {
        internal SpectrumPanel(string title, IReadOnlyList<Series> series, bool logY, IReadOnlyList<GuideLine> guides,
            LegendLocation legend, string xLabel, string yLabel, int width, int height)
            : base(title, xLabel, yLabel, width, height)
        {
            Series = ReadOnly.Copy(series);
            LogY = logY;
            Guides = ReadOnly.Copy(guides);
            Legend = legend;
            SkippedCount = logY ? series.Sum(s => s.Y.Count(v => v <= 0)) : 0;
        }

        /// <summary>The series, each over x = 0 … Count − 1.</summary>
        public IReadOnlyList<Series> Series { get; }

        /// <summary>Whether the y axis shows log10 of the values.</summary>
        public bool LogY { get; }

        /// <summary>Vertical guide lines (e.g. at x = i + 0.5 after the last index i of a cliff).</summary>
        public IReadOnlyList<GuideLine> Guides { get; }

        /// <summary>Legend placement (<see cref="LegendLocation.None"/> for no legend).</summary>
        public LegendLocation Legend { get; }

        /// <summary>Number of values not drawn because they are ≤ 0 on a log axis (0 on a linear axis).</summary>
        public int SkippedCount { get; }

        /// <inheritdoc />
        public override SpectrumPanel WithSize(int width, int height) =>
            new SpectrumPanel(Title, Series, LogY, Guides, Legend, XLabel, YLabel, width, height);

        /// <summary>The y coordinate a value is drawn at, or null when it is skipped.</summary>
        internal double? Shown(double value) => !LogY ? value : value > 0 ? Math.Log10(value) : null;

        internal override void Configure(Plot plot, int width, int height)
        {
            double yLo = double.PositiveInfinity, yHi = double.NegativeInfinity;
            int maxCount = 1;
            for (int s = 0; s < Series.Count; s++)
            {
                var series = Series[s];
                maxCount = Math.Max(maxCount, series.Count);
                var xs = new List<double>(series.Count);
                var ys = new List<double>(series.Count);
                for (int i = 0; i < series.Count; i++)
                {
                    double? y = Shown(series.Y[i]);
                    if (y is null) continue;
                    xs.Add(series.X[i]);
                    ys.Add(y.Value);
                    yLo = Math.Min(yLo, y.Value);
                    yHi = Math.Max(yHi, y.Value);
                }
                if (xs.Count == 0) continue;
                var sc = plot.Add.Scatter(xs.ToArray(), ys.ToArray(), Style.SeriesColor(s));
                sc.LineWidth = 1.5f;
                sc.MarkerSize = series.Count > 300 ? 0 : 3.5f;
                sc.LegendText = series.Name;
            }
            Style.AddGuides(plot, Guides);

            double xPad = Math.Max(0.5, 0.02 * (maxCount - 1));
            plot.Axes.SetLimitsX(-xPad, maxCount - 1 + xPad);
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };

            if (double.IsInfinity(yLo)) { yLo = 0; yHi = 1; }
            double span = yHi - yLo;
            double pad = span > 0 ? 0.05 * span : Math.Max(LogY ? 0.5 : 0.1 * Math.Abs(yHi), 0.5);
            double lo = yLo - pad, hi = yHi + pad;
            plot.Axes.SetLimitsY(lo, hi);
            if (LogY) plot.Axes.Left.TickGenerator = Style.LogTicks(lo, hi);

            Style.ApplyLegend(plot, Legend);
        }

        internal override void AppendPanelCsv(CsvBuilder csv)
        {
            foreach (var s in Series)
                for (int i = 0; i < s.Count; i++)
                    csv.Add(Title, "spectrum", s.Name, null, null, s.X[i], s.Y[i], Shown(s.Y[i]));
            AppendGuidesCsv(csv, Title, Guides);
        }
    }
}

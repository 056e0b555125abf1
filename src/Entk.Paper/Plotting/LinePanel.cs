using System.Collections.Generic;
using Entk.Internal;
using ScottPlot;

namespace Entk.Plotting
{
    /// <summary>
    /// Several named series over x (e.g. train and test accuracy against epoch), optionally with a
    /// second group of series on a right-hand y axis (e.g. an overlap percentage and its
    /// derivative) and labelled vertical guide lines. Create it with <see cref="Figures.Lines(string, IReadOnlyList{Series}, string, string, IReadOnlyList{GuideLine}, IReadOnlyList{Series}, string, LegendLocation, int, int)"/>.
    /// </summary>
    public sealed class LinePanel : Panel
    {
        internal LinePanel(string title, IReadOnlyList<Series> series, IReadOnlyList<Series> rightSeries, string rightYLabel,
            IReadOnlyList<GuideLine> guides, LegendLocation legend, string xLabel, string yLabel, int width, int height)
            : base(title, xLabel, yLabel, width, height)
        {
            Series = ReadOnly.Copy(series);
            RightSeries = ReadOnly.Copy(rightSeries);
            RightYLabel = rightYLabel;
            Guides = ReadOnly.Copy(guides);
            Legend = legend;
        }

        /// <summary>Series drawn against the left y axis.</summary>
        public IReadOnlyList<Series> Series { get; }

        /// <summary>Series drawn against the right y axis (empty: no right axis).</summary>
        public IReadOnlyList<Series> RightSeries { get; }

        /// <summary>Label of the right y axis.</summary>
        public string RightYLabel { get; }

        /// <summary>Labelled vertical guide lines.</summary>
        public IReadOnlyList<GuideLine> Guides { get; }

        /// <summary>Legend placement (<see cref="LegendLocation.None"/> for no legend).</summary>
        public LegendLocation Legend { get; }

        /// <inheritdoc />
        public override LinePanel WithSize(int width, int height) =>
            new LinePanel(Title, Series, RightSeries, RightYLabel, Guides, Legend, XLabel, YLabel, width, height);

        internal override void Configure(Plot plot, int width, int height)
        {
            int colour = 0;
            foreach (var s in Series) Add(plot, s, colour++, null);
            if (RightSeries.Count > 0)
            {
                foreach (var s in RightSeries) Add(plot, s, colour++, plot.Axes.Right);
                plot.Axes.Right.Label.Text = RightYLabel;
                plot.Axes.Right.Label.FontSize = Style.AxisLabelSize;
                plot.Axes.Right.Label.FontName = Style.FontName;
                plot.Axes.Right.Label.Bold = false;
            }
            Style.AddGuides(plot, Guides);
            plot.Axes.Margins(0.03, 0.08);
            Style.ApplyLegend(plot, Legend);
        }

        private static void Add(Plot plot, Series s, int colour, IYAxis? axis)
        {
            var x = new double[s.Count];
            var y = new double[s.Count];
            for (int i = 0; i < s.Count; i++) { x[i] = s.X[i]; y[i] = s.Y[i]; }
            var sc = plot.Add.Scatter(x, y, Style.SeriesColor(colour));
            sc.LineWidth = 2f;
            sc.MarkerSize = s.Count > 60 ? 0 : 4f;
            sc.LegendText = s.Name;
            if (axis is not null)
            {
                sc.Axes.YAxis = axis;
                sc.LinePattern = LinePattern.Dashed;
            }
        }

        internal override void AppendPanelCsv(CsvBuilder csv)
        {
            foreach (var s in Series)
                for (int i = 0; i < s.Count; i++) csv.Add(Title, "line", s.Name, null, null, s.X[i], s.Y[i], s.Y[i]);
            foreach (var s in RightSeries)
                for (int i = 0; i < s.Count; i++) csv.Add(Title, "line_right", s.Name, null, null, s.X[i], s.Y[i], s.Y[i]);
            AppendGuidesCsv(csv, Title, Guides);
        }
    }
}

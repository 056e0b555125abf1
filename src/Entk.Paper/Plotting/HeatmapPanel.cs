using System;
using System.Collections.Generic;
using System.Linq;
using Entk.Internal;
using ScottPlot;

namespace Entk.Plotting
{
    /// <summary>
    /// A rows × columns matrix drawn as coloured cells with the viridis colormap over a fixed colour
    /// range [<see cref="VMin"/>, <see cref="VMax"/>] (values outside are clamped to the end colours),
    /// a colorbar, axis labels and optional tick labels. Cell (r, c) is centred at x = c, y = r; with
    /// <see cref="HeatmapOrigin.Lower"/> (the default, like matplotlib <c>imshow(origin="lower")</c>)
    /// row 0 is at the bottom. The aspect ratio follows the panel (cells are not kept square).
    /// Create it with <see cref="Figures.Heatmap"/>.
    /// </summary>
    public sealed class HeatmapPanel : Panel
    {
        internal HeatmapPanel(string title, Matrix data, double vmin, double vmax, HeatmapOrigin origin,
            IReadOnlyList<string> yTickLabels, IReadOnlyList<string> xTickLabels, string colorbarLabel,
            string xLabel, string yLabel, int width, int height)
            : base(title, xLabel, yLabel, width, height)
        {
            Data = data;
            VMin = vmin;
            VMax = vmax;
            Origin = origin;
            YTickLabels = ReadOnly.Copy(yTickLabels);
            XTickLabels = ReadOnly.Copy(xTickLabels);
            ColorbarLabel = colorbarLabel;
        }

        /// <summary>The matrix shown (rows on y, columns on x).</summary>
        public Matrix Data { get; }

        /// <summary>Value mapped to the bottom colour of the colormap (dark purple).</summary>
        public double VMin { get; }

        /// <summary>Value mapped to the top colour of the colormap (yellow).</summary>
        public double VMax { get; }

        /// <summary>Whether row 0 is drawn at the bottom (<see cref="HeatmapOrigin.Lower"/>) or at the top.</summary>
        public HeatmapOrigin Origin { get; }

        /// <summary>One label per row (empty: numeric row ticks). Thinned evenly when there are too many to fit.</summary>
        public IReadOnlyList<string> YTickLabels { get; }

        /// <summary>One label per column (empty: numeric column ticks). Thinned evenly when there are too many to fit.</summary>
        public IReadOnlyList<string> XTickLabels { get; }

        /// <summary>Label next to the colorbar (empty for none).</summary>
        public string ColorbarLabel { get; }

        /// <inheritdoc />
        public override HeatmapPanel WithSize(int width, int height) =>
            new HeatmapPanel(Title, Data, VMin, VMax, Origin, YTickLabels, XTickLabels, ColorbarLabel, XLabel, YLabel, width, height);

        /// <summary>A copy with another colour range, e.g. to share one scale between several panels.</summary>
        /// <param name="vmin">Value of the bottom colour; finite.</param>
        /// <param name="vmax">Value of the top colour; finite and greater than <paramref name="vmin"/>.</param>
        /// <returns>The copy.</returns>
        /// <exception cref="EntkArgumentException">The range is empty or not finite.</exception>
        public HeatmapPanel WithColorRange(double vmin, double vmax)
        {
            CheckRange(vmin, vmax);
            return new HeatmapPanel(Title, Data, vmin, vmax, Origin, YTickLabels, XTickLabels, ColorbarLabel, XLabel, YLabel, Width, Height);
        }

        internal static void CheckRange(double vmin, double vmax)
        {
            Check.Finite(vmin, nameof(vmin));
            Check.Finite(vmax, nameof(vmax));
            if (!(vmax > vmin))
                throw new EntkArgumentException(nameof(vmax), "a value greater than vmin = " + Check.R(vmin), Check.R(vmax));
        }

        /// <summary>The value a cell's colour stands for (clamped into the colour range).</summary>
        internal double Shown(double value) => Math.Clamp(value, VMin, VMax);

        /// <summary>The y coordinate of the centre of data row r.</summary>
        internal double RowY(int row) => Origin == HeatmapOrigin.Lower ? row : Data.Rows - 1 - row;

        internal override void Configure(Plot plot, int width, int height)
        {
            int rows = Data.Rows, cols = Data.Columns;
            // ScottPlot draws Intensities[0, *] as the top image row; place data row r at y = RowY(r).
            var intensities = new double[rows, cols];
            for (int r = 0; r < rows; r++)
            {
                int imageRow = rows - 1 - (int)RowY(r);
                for (int c = 0; c < cols; c++) intensities[imageRow, c] = Data[r, c];
            }
            var hm = plot.Add.Heatmap(intensities);
            hm.Colormap = new ScottPlot.Colormaps.Viridis();
            hm.ManualRange = new ScottPlot.Range(VMin, VMax);
            // No Extent: ScottPlot then uses unit cells centred on integer coordinates, i.e. cell (r, c)
            // covers [c − ½, c + ½] × [y − ½, y + ½]. (Extent would mean the span of cell centres and
            // breaks down for a single row or column.)
            hm.Smooth = false;

            var bar = plot.Add.ColorBar(hm);
            bar.Label = ColorbarLabel;
            bar.LabelStyle.FontSize = Style.AxisLabelSize;
            bar.LabelStyle.FontName = Style.FontName;
            bar.LabelStyle.Bold = false;
            bar.Axis.TickLabelStyle.FontSize = Style.TickLabelSize;
            bar.Axis.TickLabelStyle.FontName = Style.FontName;

            plot.Axes.SetLimits(-0.5, cols - 0.5, -0.5, rows - 0.5);
            plot.HideGrid();

            if (YTickLabels.Count > 0)
            {
                int fit = Math.Max(2, (height - 110) / (int)(Style.TickLabelSize + 4));
                SetTicks(plot.Axes.Left, YTickLabels, fit, RowY);
            }
            else
            {
                plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
            }
            if (XTickLabels.Count > 0)
            {
                int longest = XTickLabels.Max(s => s.Length);
                int fit = Math.Max(2, (width - 200) / (int)(longest * Style.TickLabelSize * 0.62 + 10));
                SetTicks(plot.Axes.Bottom, XTickLabels, fit, c => c);
            }
            else
            {
                plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
            }
        }

        private static void SetTicks(IAxis axis, IReadOnlyList<string> labels, int fit, Func<int, double> position)
        {
            int step = Math.Max(1, (labels.Count + fit - 1) / fit);
            var gen = new ScottPlot.TickGenerators.NumericManual();
            for (int i = 0; i < labels.Count; i += step) gen.AddMajor(position(i), labels[i]);
            axis.TickGenerator = gen;
        }

        internal override void AppendPanelCsv(CsvBuilder csv)
        {
            csv.Add(Title, "color_range", "vmin", null, null, null, VMin, VMin);
            csv.Add(Title, "color_range", "vmax", null, null, null, VMax, VMax);
            for (int r = 0; r < Data.Rows; r++)
                for (int c = 0; c < Data.Columns; c++)
                    csv.Add(Title, "heatmap", null, r, c, null, Data[r, c], Shown(Data[r, c]));
        }
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using Entk.Internal;

namespace Entk.Plotting
{
    /// <summary>
    /// Builders for the figures of the reproduction. Each returns an immutable figure specification
    /// holding copies of the data; call <see cref="Figure.Render"/> for PNG bytes,
    /// <see cref="Figure.Save"/> to write the PNG atomically and <see cref="Figure.ToCsv"/> for the
    /// numbers shown. Invalid input throws before anything is drawn: <see cref="EntkArgumentException"/>
    /// (empty data, bad range or size), <see cref="ShapeMismatchException"/> (label or panel counts,
    /// series lengths) or <see cref="NonFiniteValueException"/> (NaN/∞), each naming the argument.
    /// </summary>
    /// <example>
    /// F#: <c>Figures.Spectrum("NTK spectrum", [| eigenvalues |], logY = true).Save("spectrum.png")</c>
    /// C#: <c>Figures.Grid(1, 2, new Panel[] { spectrum, heatmap }, "Toy model").Save("fig.png", overwrite: true);</c>
    /// </example>
    public static class Figures
    {
        /// <summary>Default width of one grid cell in pixels.</summary>
        public const int DefaultPanelWidth = 500;

        /// <summary>Default height of one grid cell in pixels.</summary>
        public const int DefaultPanelHeight = 400;

        /// <summary>
        /// A spectrum panel: each array is one series of values plotted by index 0 … k − 1.
        /// With <paramref name="logY"/> the y axis shows log10 of the values with ticks labelled 10ⁿ;
        /// values ≤ 0 are skipped (see <see cref="SpectrumPanel.SkippedCount"/>), not rejected.
        /// </summary>
        /// <param name="title">Panel title (empty for none).</param>
        /// <param name="series">One or more non-empty arrays of finite values (e.g. eigenvalues in descending order).</param>
        /// <param name="logY">Whether to use a log10 y axis.</param>
        /// <param name="names">Legend names, one per series (e.g. "epoch 60"); null: no legend for one series, "series i" for several.</param>
        /// <param name="cliffsAfter">Indices i after which a dashed guide is drawn (at x = i + 0.5), e.g. the last index of each cliff.</param>
        /// <param name="guides">Further guide lines at arbitrary x, optionally labelled.</param>
        /// <param name="xLabel">x axis label.</param>
        /// <param name="yLabel">y axis label.</param>
        /// <param name="legend">Legend placement (ignored, no legend, for a single unnamed series).</param>
        /// <param name="width">Stand-alone width in pixels.</param>
        /// <param name="height">Stand-alone height in pixels.</param>
        /// <returns>The panel.</returns>
        /// <exception cref="EntkArgumentException">No series, an empty series or a negative cliff index.</exception>
        /// <exception cref="ShapeMismatchException"><paramref name="names"/> has a different count than <paramref name="series"/>.</exception>
        /// <exception cref="NonFiniteValueException">A value is NaN or ±∞.</exception>
        public static SpectrumPanel Spectrum(string title, IReadOnlyList<double[]> series, bool logY = false,
            IReadOnlyList<string>? names = null, IReadOnlyList<int>? cliffsAfter = null, IReadOnlyList<GuideLine>? guides = null,
            string xLabel = "index", string yLabel = "eigenvalue", LegendLocation legend = LegendLocation.UpperRight,
            int width = Panel.DefaultWidth, int height = Panel.DefaultHeight)
        {
            Check.NotNull(series, nameof(series));
            if (series.Count == 0) throw new EntkArgumentException(nameof(series), "at least one series", "none");
            CheckNames(names, series.Count, nameof(names), nameof(series));
            var list = new Series[series.Count];
            for (int i = 0; i < list.Length; i++)
            {
                string where = Check.Inv($"series[{i}]");
                var y = series[i] ?? throw new EntkArgumentException(nameof(series), "non-null arrays", "null at " + where);
                string name = names is not null ? names[i] : series.Count == 1 ? "" : Check.Inv($"series {i}");
                list[i] = Plotting.Series.Create(name, null, y, where, where, nameof(names));
            }
            var allGuides = new List<GuideLine>();
            if (cliffsAfter is not null)
                for (int i = 0; i < cliffsAfter.Count; i++)
                {
                    if (cliffsAfter[i] < 0)
                        throw new EntkArgumentException(nameof(cliffsAfter), "non-negative indices", Check.Inv($"{cliffsAfter[i]} at cliffsAfter[{i}]"));
                    allGuides.Add(GuideLine.After(cliffsAfter[i]));
                }
            allGuides.AddRange(Panel.CopyGuides(guides, nameof(guides)));
            if (names is null && series.Count == 1) legend = LegendLocation.None;
            return new SpectrumPanel(title, Array.AsReadOnly(list), logY, allGuides.AsReadOnly(), legend, xLabel, yLabel, width, height);
        }

        /// <summary>
        /// A heatmap panel of a matrix (rows on y, columns on x) with the viridis colormap and a colorbar.
        /// </summary>
        /// <param name="title">Panel title (empty for none).</param>
        /// <param name="data">The matrix; non-empty, finite.</param>
        /// <param name="vmin">Value of the bottom colour; null: the data minimum. Pass the same range to several panels to share one scale.</param>
        /// <param name="vmax">Value of the top colour; null: the data maximum. A constant matrix with both null gets [v − 0.5, v + 0.5].</param>
        /// <param name="xLabel">x axis label (e.g. "eigenvector").</param>
        /// <param name="yLabel">y axis label (e.g. "feature").</param>
        /// <param name="yTickLabels">One label per row (e.g. "a k=1" … "b k=14"); null: numeric ticks.</param>
        /// <param name="xTickLabels">One label per column; null: numeric ticks.</param>
        /// <param name="colorbarLabel">Label of the colorbar.</param>
        /// <param name="origin">Whether row 0 is at the bottom (<see cref="HeatmapOrigin.Lower"/>, default) or the top.</param>
        /// <param name="width">Stand-alone width in pixels.</param>
        /// <param name="height">Stand-alone height in pixels.</param>
        /// <returns>The panel.</returns>
        /// <exception cref="EntkArgumentException">Empty matrix or empty colour range.</exception>
        /// <exception cref="ShapeMismatchException">A tick label list does not have one label per row/column.</exception>
        /// <exception cref="NonFiniteValueException">The matrix or a range end is NaN or ±∞.</exception>
        public static HeatmapPanel Heatmap(string title, Matrix data, double? vmin = null, double? vmax = null,
            string xLabel = "column", string yLabel = "row", IReadOnlyList<string>? yTickLabels = null,
            IReadOnlyList<string>? xTickLabels = null, string colorbarLabel = "", HeatmapOrigin origin = HeatmapOrigin.Lower,
            int width = Panel.DefaultWidth, int height = Panel.DefaultHeight)
        {
            Check.NotNull(data, nameof(data));
            if (data.Rows == 0 || data.Columns == 0)
                throw new EntkArgumentException(nameof(data), "a non-empty matrix", "shape " + Check.Shape(data.Rows, data.Columns));
            Check.AllFinite(data.Span, nameof(data), data.Columns);
            if (vmin.HasValue) Check.Finite(vmin.Value, nameof(vmin));
            if (vmax.HasValue) Check.Finite(vmax.Value, nameof(vmax));
            CheckNames(yTickLabels, data.Rows, nameof(yTickLabels), "data rows");
            CheckNames(xTickLabels, data.Columns, nameof(xTickLabels), "data columns");
            if (!Enum.IsDefined(origin)) throw new EntkArgumentException(nameof(origin), "Lower or Upper", origin.ToString());

            double dmin = double.PositiveInfinity, dmax = double.NegativeInfinity;
            foreach (double v in data.Span) { dmin = Math.Min(dmin, v); dmax = Math.Max(dmax, v); }
            double lo = vmin ?? dmin, hi = vmax ?? dmax;
            if (!vmin.HasValue && !vmax.HasValue && hi <= lo) { lo -= 0.5; hi += 0.5; }
            else if (!(hi > lo))
            {
                if (vmax.HasValue && !vmin.HasValue)
                    throw new EntkArgumentException(nameof(vmax), "a value above the data minimum " + Check.R(dmin) + " (or pass vmin too)", Check.R(hi));
                if (vmin.HasValue && !vmax.HasValue)
                    throw new EntkArgumentException(nameof(vmin), "a value below the data maximum " + Check.R(dmax) + " (or pass vmax too)", Check.R(lo));
                HeatmapPanel.CheckRange(lo, hi);
            }
            return new HeatmapPanel(title, data, lo, hi, origin, CopyLabels(yTickLabels), CopyLabels(xTickLabels),
                Check.NotNull(colorbarLabel, nameof(colorbarLabel)), xLabel, yLabel, width, height);
        }

        /// <summary>A line panel of named series, each with its own x values (see <see cref="Plotting.Series.Of(string, double[], double[])"/>).</summary>
        /// <param name="title">Panel title (empty for none).</param>
        /// <param name="series">One or more series drawn against the left y axis.</param>
        /// <param name="xLabel">x axis label (e.g. "epoch").</param>
        /// <param name="yLabel">Left y axis label (e.g. "accuracy").</param>
        /// <param name="guides">Vertical guide lines, optionally labelled (e.g. "grokking").</param>
        /// <param name="rightSeries">Series drawn dashed against a right-hand y axis (e.g. the derivative of an overlap curve); null: none.</param>
        /// <param name="rightYLabel">Right y axis label.</param>
        /// <param name="legend">Legend placement.</param>
        /// <param name="width">Stand-alone width in pixels.</param>
        /// <param name="height">Stand-alone height in pixels.</param>
        /// <returns>The panel.</returns>
        /// <exception cref="EntkArgumentException"><paramref name="series"/> is empty or holds null.</exception>
        public static LinePanel Lines(string title, IReadOnlyList<Series> series, string xLabel = "x", string yLabel = "y",
            IReadOnlyList<GuideLine>? guides = null, IReadOnlyList<Series>? rightSeries = null, string rightYLabel = "",
            LegendLocation legend = LegendLocation.LowerRight, int width = Panel.DefaultWidth, int height = Panel.DefaultHeight)
        {
            var left = CopySeries(series, nameof(series), allowEmpty: false);
            var right = rightSeries is null ? Array.Empty<Series>() : CopySeries(rightSeries, nameof(rightSeries), allowEmpty: true);
            return new LinePanel(title, left, right, Check.NotNull(rightYLabel, nameof(rightYLabel)), Panel.CopyGuides(guides, nameof(guides)),
                legend, xLabel, yLabel, width, height);
        }

        /// <summary>A line panel of several named series over one shared x (e.g. train and test accuracy by epoch).</summary>
        /// <param name="title">Panel title (empty for none).</param>
        /// <param name="x">The shared x values; finite.</param>
        /// <param name="ys">One or more y arrays, each as long as <paramref name="x"/>.</param>
        /// <param name="names">One legend name per y array.</param>
        /// <param name="xLabel">x axis label.</param>
        /// <param name="yLabel">y axis label.</param>
        /// <param name="guides">Vertical guide lines, optionally labelled.</param>
        /// <param name="legend">Legend placement.</param>
        /// <param name="width">Stand-alone width in pixels.</param>
        /// <param name="height">Stand-alone height in pixels.</param>
        /// <returns>The panel.</returns>
        /// <exception cref="EntkArgumentException">No y arrays, or an empty <paramref name="x"/>.</exception>
        /// <exception cref="ShapeMismatchException">A y array's length differs from x, or <paramref name="names"/> has a different count than <paramref name="ys"/>.</exception>
        /// <exception cref="NonFiniteValueException">A value is NaN or ±∞.</exception>
        public static LinePanel Lines(string title, double[] x, IReadOnlyList<double[]> ys, IReadOnlyList<string> names,
            string xLabel = "x", string yLabel = "y", IReadOnlyList<GuideLine>? guides = null,
            LegendLocation legend = LegendLocation.LowerRight, int width = Panel.DefaultWidth, int height = Panel.DefaultHeight)
        {
            Check.NotNull(x, nameof(x));
            Check.NotNull(ys, nameof(ys));
            Check.NotNull(names, nameof(names));
            if (ys.Count == 0) throw new EntkArgumentException(nameof(ys), "at least one series", "none");
            CheckNames(names, ys.Count, nameof(names), nameof(ys));
            var list = new Series[ys.Count];
            for (int i = 0; i < list.Length; i++)
            {
                string where = Check.Inv($"ys[{i}]");
                var y = ys[i] ?? throw new EntkArgumentException(nameof(ys), "non-null arrays", "null at " + where);
                if (y.Length != x.Length)
                    throw new ShapeMismatchException(nameof(ys), Check.Inv($"[{x.Length}] (the length of x)"), Check.Inv($"[{y.Length}] at {where}"));
                list[i] = Plotting.Series.Create(names[i], x, y, nameof(x), where, nameof(names));
            }
            return new LinePanel(title, Array.AsReadOnly(list), Array.Empty<Series>(), "", Panel.CopyGuides(guides, nameof(guides)),
                legend, xLabel, yLabel, width, height);
        }

        /// <summary>
        /// A grid of <paramref name="rows"/> × <paramref name="columns"/> panels under an overall title,
        /// e.g. the toy-model figure (3 × 3: spectra on the first row, 50 × 80 heatmaps below) or a
        /// 2 × 3 heatmap grid with <paramref name="sharedColorScale"/>.
        /// </summary>
        /// <param name="rows">Number of panel rows (≥ 1).</param>
        /// <param name="columns">Number of panel columns (≥ 1).</param>
        /// <param name="panels">Exactly rows·columns panels, row by row; a null entry leaves its cell blank.</param>
        /// <param name="title">Overall title (empty: no title band).</param>
        /// <param name="panelWidth">Width of each cell in pixels.</param>
        /// <param name="panelHeight">Height of each cell in pixels.</param>
        /// <param name="sharedColorScale">Give every heatmap the union of their colour ranges (see <see cref="GridFigure.WithSharedColorScale"/>).</param>
        /// <returns>The grid figure.</returns>
        /// <exception cref="ShapeMismatchException"><paramref name="panels"/> does not hold rows·columns entries.</exception>
        /// <exception cref="EntkArgumentException">A non-positive count or a cell/figure size out of range.</exception>
        public static GridFigure Grid(int rows, int columns, IReadOnlyList<Panel?> panels, string title = "",
            int panelWidth = DefaultPanelWidth, int panelHeight = DefaultPanelHeight, bool sharedColorScale = false)
        {
            Check.Positive(rows, nameof(rows));
            Check.Positive(columns, nameof(columns));
            Check.NotNull(panels, nameof(panels));
            Check.NotNull(title, nameof(title));
            if ((long)rows * columns != panels.Count)
                throw new ShapeMismatchException(nameof(panels), Check.Inv($"[{(long)rows * columns}] (rows·columns = {rows}·{columns})"), Check.Inv($"[{panels.Count}]"));
            Figure.CheckPixels(panelWidth, nameof(panelWidth));
            Figure.CheckPixels(panelHeight, nameof(panelHeight));
            if ((long)columns * panelWidth > Figure.MaxPixels)
                throw new EntkArgumentException(nameof(panelWidth), Check.Inv($"columns·panelWidth ≤ {Figure.MaxPixels}"), Check.Inv($"{columns}·{panelWidth}"));
            if ((long)rows * panelHeight + GridFigure.TitleBandFor(title) > Figure.MaxPixels)
                throw new EntkArgumentException(nameof(panelHeight), Check.Inv($"rows·panelHeight + title band ≤ {Figure.MaxPixels}"), Check.Inv($"{rows}·{panelHeight}"));
            var copy = panels.ToArray();
            var grid = new GridFigure(rows, columns, Array.AsReadOnly(copy), title, panelWidth, panelHeight);
            return sharedColorScale ? grid.WithSharedColorScale() : grid;
        }

        private static void CheckNames(IReadOnlyList<string>? names, int expected, string paramName, string what)
        {
            if (names is null) return;
            if (names.Count != expected)
                throw new ShapeMismatchException(paramName, Check.Inv($"[{expected}] (one per entry of {what})"), Check.Inv($"[{names.Count}]"));
            for (int i = 0; i < names.Count; i++)
                if (names[i] is null) throw new EntkArgumentException(paramName, "non-null labels", Check.Inv($"null at {paramName}[{i}]"));
        }

        private static IReadOnlyList<string> CopyLabels(IReadOnlyList<string>? labels) =>
            labels is null ? Array.Empty<string>() : Array.AsReadOnly(labels.ToArray());

        private static IReadOnlyList<Series> CopySeries(IReadOnlyList<Series> series, string paramName, bool allowEmpty)
        {
            Check.NotNull(series, paramName);
            if (series.Count == 0 && !allowEmpty) throw new EntkArgumentException(paramName, "at least one series", "none");
            var copy = new Series[series.Count];
            for (int i = 0; i < copy.Length; i++)
                copy[i] = series[i] ?? throw new EntkArgumentException(paramName, "non-null series", Check.Inv($"null at {paramName}[{i}]"));
            return Array.AsReadOnly(copy);
        }
    }
}

using System;
using System.Collections.Generic;
using Entk.Internal;
using ScottPlot;

namespace Entk.Plotting
{
    /// <summary>
    /// One plot with a title and axis labels: a <see cref="SpectrumPanel"/>, <see cref="HeatmapPanel"/>
    /// or <see cref="LinePanel"/>. A panel is a complete figure on its own (rendered at
    /// <see cref="Figure.Width"/> × <see cref="Figure.Height"/>) and can be placed in a
    /// <see cref="GridFigure"/>, which then renders it at the grid's cell size instead.
    /// </summary>
    public abstract class Panel : Figure
    {
        /// <summary>Default width of a stand-alone panel in pixels.</summary>
        public const int DefaultWidth = 640;

        /// <summary>Default height of a stand-alone panel in pixels.</summary>
        public const int DefaultHeight = 480;

        private protected Panel(string title, string xLabel, string yLabel, int width, int height)
            : base(width, height)
        {
            Title = Check.NotNull(title, nameof(title));
            XLabel = Check.NotNull(xLabel, nameof(xLabel));
            YLabel = Check.NotNull(yLabel, nameof(yLabel));
        }

        /// <summary>Panel title (empty for none).</summary>
        public string Title { get; }

        /// <summary>Label of the x axis.</summary>
        public string XLabel { get; }

        /// <summary>Label of the (left) y axis.</summary>
        public string YLabel { get; }

        /// <summary>A copy of this panel with another stand-alone size.</summary>
        /// <param name="width">Width in pixels, in [<see cref="Figure.MinPixels"/>, <see cref="Figure.MaxPixels"/>].</param>
        /// <param name="height">Height in pixels, same range.</param>
        /// <returns>The resized copy (same data).</returns>
        public abstract Panel WithSize(int width, int height);

        /// <summary>Draws the panel onto a fresh plot that will be rendered at width × height pixels.</summary>
        internal abstract void Configure(Plot plot, int width, int height);

        /// <summary>Appends this panel's lines to the shared CSV (the builder carries the panel index).</summary>
        internal abstract void AppendPanelCsv(CsvBuilder csv);

        internal Plot BuildPlot(int width, int height)
        {
            var plot = Style.NewPlot(Title, XLabel, YLabel);
            Configure(plot, width, height);
            return plot;
        }

        internal override RenderedFigure RenderDetailed()
        {
            using var plot = BuildPlot(Width, Height);
            byte[] png = plot.GetImageBytes(Width, Height, ImageFormat.Png);
            return new RenderedFigure(png, new PixelRect?[] { plot.LastRender.DataRect });
        }

        internal override void AppendCsv(CsvBuilder csv)
        {
            csv.PanelIndex = 0;
            AppendPanelCsv(csv);
        }

        internal static IReadOnlyList<GuideLine> CopyGuides(IReadOnlyList<GuideLine>? guides, string paramName)
        {
            if (guides is null) return Array.Empty<GuideLine>();
            var copy = new GuideLine[guides.Count];
            for (int i = 0; i < copy.Length; i++)
                copy[i] = guides[i] ?? throw new EntkArgumentException(paramName, "non-null guide lines", Check.Inv($"null at {paramName}[{i}]"));
            return Array.AsReadOnly(copy);
        }

        internal static void AppendGuidesCsv(CsvBuilder csv, string title, IReadOnlyList<GuideLine> guides)
        {
            foreach (var g in guides) csv.Add(title, "guide", g.Label, null, null, g.X, null, null);
        }
    }
}

using System;
using System.Collections.Generic;
using ScottPlot;
using SkiaSharp;

namespace Entk.Plotting
{
    /// <summary>
    /// An R × C grid of panels (any mix of spectra, heatmaps and line plots), each with its own
    /// title, under an overall title. Every cell is <see cref="PanelWidth"/> × <see cref="PanelHeight"/>
    /// pixels, so the figure is C·PanelWidth wide and R·PanelHeight (+ a title band) high. Panels are
    /// listed row by row; a null entry leaves its cell blank. Create it with <see cref="Figures.Grid"/>.
    /// </summary>
    public sealed class GridFigure : Figure
    {
        internal GridFigure(int rows, int columns, IReadOnlyList<Panel?> panels, string title, int panelWidth, int panelHeight)
            : base(columns * panelWidth, rows * panelHeight + TitleBandFor(title))
        {
            Rows = rows;
            Columns = columns;
            Panels = panels;
            Title = title;
            PanelWidth = panelWidth;
            PanelHeight = panelHeight;
        }

        /// <summary>Number of panel rows.</summary>
        public int Rows { get; }

        /// <summary>Number of panel columns.</summary>
        public int Columns { get; }

        /// <summary>The panels, row by row (index r·Columns + c); null for a blank cell.</summary>
        public IReadOnlyList<Panel?> Panels { get; }

        /// <summary>Overall title drawn above the grid (empty: no title band).</summary>
        public string Title { get; }

        /// <summary>Width of one cell in pixels (the panels' own sizes are ignored inside a grid).</summary>
        public int PanelWidth { get; }

        /// <summary>Height of one cell in pixels.</summary>
        public int PanelHeight { get; }

        /// <summary>Height of the band that holds <see cref="Title"/> (0 when the title is empty).</summary>
        public int TitleBandHeight => TitleBandFor(Title);

        /// <summary>The panel at (row, column), or null for a blank cell.</summary>
        /// <param name="row">Row index, 0-based.</param>
        /// <param name="column">Column index, 0-based.</param>
        /// <returns>The panel or null.</returns>
        public Panel? PanelAt(int row, int column)
        {
            Internal.Check.InRange(row, 0, Rows - 1, nameof(row));
            Internal.Check.InRange(column, 0, Columns - 1, nameof(column));
            return Panels[row * Columns + column];
        }

        /// <summary>
        /// A copy in which every heatmap panel uses the same colour range: from the smallest
        /// <see cref="HeatmapPanel.VMin"/> to the largest <see cref="HeatmapPanel.VMax"/> of the
        /// heatmaps in the grid, so equal values get equal colours across panels. Other panels are unchanged.
        /// </summary>
        /// <returns>The copy (this figure when it holds no heatmap).</returns>
        public GridFigure WithSharedColorScale()
        {
            double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
            foreach (var p in Panels)
                if (p is HeatmapPanel h) { lo = Math.Min(lo, h.VMin); hi = Math.Max(hi, h.VMax); }
            if (double.IsInfinity(lo)) return this;
            var copy = new Panel?[Panels.Count];
            for (int i = 0; i < copy.Length; i++)
                copy[i] = Panels[i] is HeatmapPanel h ? h.WithColorRange(lo, hi) : Panels[i];
            return new GridFigure(Rows, Columns, Array.AsReadOnly(copy), Title, PanelWidth, PanelHeight);
        }

        internal static int TitleBandFor(string title) => title.Length == 0 ? 0 : Style.FigureTitleBand;

        internal override RenderedFigure RenderDetailed()
        {
            var info = new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Premul);
            using var surface = SKSurface.Create(info);
            var canvas = surface.Canvas;
            canvas.Clear(SKColors.White);
            int band = TitleBandHeight;
            if (band > 0) DrawTitle(canvas, band);

            var rects = new PixelRect?[Panels.Count];
            for (int i = 0; i < Panels.Count; i++)
            {
                var panel = Panels[i];
                if (panel is null) continue;
                int r = i / Columns, c = i % Columns;
                float left = c * PanelWidth, top = band + r * PanelHeight;
                using var plot = panel.BuildPlot(PanelWidth, PanelHeight);
                canvas.Save();
                canvas.ClipRect(new SKRect(left, top, left + PanelWidth, top + PanelHeight));
                plot.Render(canvas, new PixelRect(left, left + PanelWidth, top + PanelHeight, top));
                canvas.Restore();
                rects[i] = plot.LastRender.DataRect;
            }
            canvas.Flush();
            using var image = surface.Snapshot();
            using var data = image.Encode(SKEncodedImageFormat.Png, 100);
            return new RenderedFigure(data.ToArray(), rects);
        }

        private void DrawTitle(SKCanvas canvas, int band)
        {
            using var typeface = SKTypeface.FromFamilyName(Style.FontName, SKFontStyle.Bold);
            using var font = new SKFont(typeface, Style.FigureTitleSize);
            float textWidth = font.MeasureText(Title);
            if (textWidth > Width - 20) font.Size = Style.FigureTitleSize * (Width - 20) / textWidth;
            using var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true };
            canvas.DrawText(Title, Width / 2f, band / 2f + font.Size * 0.36f, SKTextAlign.Center, font, paint);
        }

        internal override void AppendCsv(CsvBuilder csv)
        {
            for (int i = 0; i < Panels.Count; i++)
            {
                if (Panels[i] is null) continue;
                csv.PanelIndex = i;
                Panels[i]!.AppendPanelCsv(csv);
            }
        }
    }
}

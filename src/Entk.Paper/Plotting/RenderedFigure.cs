using System.Collections.Generic;

namespace Entk.Plotting
{
    /// <summary>A rendered PNG plus where each panel's data area landed (figure pixels; null for an empty grid cell).</summary>
    internal sealed class RenderedFigure
    {
        public RenderedFigure(byte[] png, IReadOnlyList<ScottPlot.PixelRect?> dataRects)
        {
            Png = png;
            DataRects = dataRects;
        }

        public byte[] Png { get; }

        public IReadOnlyList<ScottPlot.PixelRect?> DataRects { get; }
    }
}

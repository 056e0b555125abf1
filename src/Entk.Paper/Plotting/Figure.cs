using System;
using System.IO;
using Entk.Internal;
using Entk.IO;

namespace Entk.Plotting
{
    /// <summary>
    /// An immutable figure specification: it holds the exact numbers it shows and knows how to draw
    /// them. <see cref="Render"/> produces PNG bytes, <see cref="Save"/> writes them atomically and
    /// <see cref="ToCsv"/> exports the shown numbers so a caller can store the data next to the image.
    /// Rendering is headless (ScottPlot 5 on SkiaSharp) and does not change the figure.
    /// </summary>
    public abstract class Figure
    {
        /// <summary>Smallest accepted width or height in pixels.</summary>
        public const int MinPixels = 64;

        /// <summary>Largest accepted width or height in pixels.</summary>
        public const int MaxPixels = 16384;

        private protected Figure(int width, int height)
        {
            Width = CheckPixels(width, nameof(width));
            Height = CheckPixels(height, nameof(height));
        }

        /// <summary>Width of the rendered PNG in pixels.</summary>
        public int Width { get; }

        /// <summary>Height of the rendered PNG in pixels.</summary>
        public int Height { get; }

        /// <summary>Renders the figure as a PNG image of <see cref="Width"/> × <see cref="Height"/> pixels.</summary>
        /// <returns>The PNG file content.</returns>
        public byte[] Render() => RenderDetailed().Png;

        /// <summary>
        /// Renders the figure and writes it as a PNG file through <see cref="AtomicFile.WriteAllBytes"/>
        /// (temporary file, flush, rename), so readers never see a partial image.
        /// </summary>
        /// <param name="path">Target path; its directory is created if missing.</param>
        /// <param name="overwrite">Whether an existing file may be replaced.</param>
        /// <exception cref="OutputExistsException">The file exists and <paramref name="overwrite"/> is false (checked before rendering; nothing is written).</exception>
        public void Save(string path, bool overwrite = false)
        {
            Check.NotNull(path, nameof(path));
            if (!overwrite && File.Exists(Path.GetFullPath(path))) throw new OutputExistsException(Path.GetFullPath(path));
            AtomicFile.WriteAllBytes(path, Render(), overwrite);
        }

        /// <summary>
        /// The numbers the figure shows, as CSV text (invariant culture, round-trip precision, "\n"
        /// line ends) with the header <c>panel,panel_title,kind,series,row,column,x,value,shown</c>.
        /// One line per plotted point, heatmap cell, guide line and colour-scale end; see the
        /// <c>ToCsv</c> remarks of each panel type for which columns it fills. Every figure type uses
        /// this header, so grids simply concatenate their panels' lines.
        /// </summary>
        /// <returns>The CSV text, header included.</returns>
        public string ToCsv()
        {
            var csv = new CsvBuilder();
            AppendCsv(csv);
            return csv.ToString();
        }

        /// <summary>Writes <see cref="ToCsv"/> atomically to a file (UTF-8 without BOM).</summary>
        /// <param name="path">Target path.</param>
        /// <param name="overwrite">Whether an existing file may be replaced.</param>
        /// <exception cref="OutputExistsException">The file exists and <paramref name="overwrite"/> is false.</exception>
        public void SaveCsv(string path, bool overwrite = false) => AtomicFile.WriteAllText(path, ToCsv(), overwrite);

        internal abstract RenderedFigure RenderDetailed();

        internal abstract void AppendCsv(CsvBuilder csv);

        internal static int CheckPixels(int value, string name) => Check.InRange(value, MinPixels, MaxPixels, name);
    }
}

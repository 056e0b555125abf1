using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using ScottPlot;

namespace Entk.Plotting
{
    /// <summary>Shared look of all Entk figures (fonts, sizes, palette, log ticks).</summary>
    internal static class Style
    {
        public const float TitleSize = 16;
        public const float AxisLabelSize = 14;
        public const float TickLabelSize = 12;
        public const float LegendSize = 12;
        public const float GuideLabelSize = 11;
        public const float FigureTitleSize = 20;
        public const int FigureTitleBand = 44;

        private static readonly Color[] Palette = new ScottPlot.Palettes.Category10().Colors;

        public static Color SeriesColor(int i) => Palette[i % Palette.Length];

        public static readonly Color GuideColor = Color.FromHex("#555555");

        /// <summary>The font family used everywhere: DejaVu Sans where installed, else ScottPlot's default sans font.</summary>
        public static string FontName { get; } = ChooseFont();

        private static string ChooseFont()
        {
            using var tf = SkiaSharp.SKTypeface.FromFamilyName("DejaVu Sans");
            return tf is not null && string.Equals(tf.FamilyName, "DejaVu Sans", StringComparison.OrdinalIgnoreCase) ? "DejaVu Sans" : Fonts.Sans;
        }

        public static Plot NewPlot(string title, string xLabel, string yLabel)
        {
            var plot = new Plot();
            plot.Font.Set(FontName);
            if (title.Length > 0) plot.Title(title, TitleSize);
            plot.XLabel(xLabel, AxisLabelSize);
            plot.YLabel(yLabel, AxisLabelSize);
            foreach (var axis in plot.Axes.GetAxes())
            {
                axis.TickLabelStyle.FontSize = TickLabelSize;
                axis.Label.Bold = false;
            }
            return plot;
        }

        public static void ApplyLegend(Plot plot, LegendLocation location)
        {
            if (location == LegendLocation.None) { plot.HideLegend(); return; }
            var alignment = location switch
            {
                LegendLocation.UpperLeft => Alignment.UpperLeft,
                LegendLocation.LowerLeft => Alignment.LowerLeft,
                LegendLocation.LowerRight => Alignment.LowerRight,
                _ => Alignment.UpperRight,
            };
            plot.ShowLegend(alignment);
            plot.Legend.FontSize = LegendSize;
            plot.Legend.FontName = FontName;
        }

        public static void AddGuides(Plot plot, IReadOnlyList<GuideLine> guides)
        {
            // Labels sit just above the data area; reserve room there so they do not cover the title.
            foreach (var g in guides)
                if (g.Label.Length > 0) { plot.Axes.Top.MinimumSize = GuideLabelSize + 16; break; }
            foreach (var g in guides)
            {
                var line = plot.Add.VerticalLine(g.X, 1.5f, GuideColor, LinePattern.Dashed);
                line.ExcludeFromLegend = true;
                if (g.Label.Length > 0)
                {
                    line.Text = g.Label;
                    line.LabelOppositeAxis = true;
                    line.LabelStyle.FontSize = GuideLabelSize;
                    line.LabelStyle.FontName = FontName;
                    line.LabelStyle.BackgroundColor = GuideColor;
                    line.LabelStyle.ForeColor = Colors.White;
                }
            }
        }

        private static readonly string Superscripts = "⁰¹²³⁴⁵⁶⁷⁸⁹";

        /// <summary>"10" followed by the exponent in Unicode superscripts, e.g. 10⁻³.</summary>
        public static string Pow10Label(int exponent)
        {
            var sb = new StringBuilder("10");
            string digits = Math.Abs(exponent).ToString(CultureInfo.InvariantCulture);
            if (exponent < 0) sb.Append('⁻');
            foreach (char c in digits) sb.Append(Superscripts[c - '0']);
            return sb.ToString();
        }

        /// <summary>
        /// Ticks for an axis that shows log10 of the data over [lo, hi] (in log10 units): major ticks
        /// at whole decades labelled 10^e (every k-th decade when the range is wide), minor ticks at
        /// 2..9 × 10^e; ranges narrower than 2.5 decades also label the 2× and 5× ticks, and ranges
        /// narrower than one decade label every m × 10^e.
        /// </summary>
        public static ScottPlot.TickGenerators.NumericManual LogTicks(double lo, double hi) =>
            new ScottPlot.TickGenerators.NumericManual(LogTickList(lo, hi).ToArray());

        /// <summary>The ticks of <see cref="LogTicks"/>.</summary>
        public static List<Tick> LogTickList(double lo, double hi)
        {
            var ticks = new List<Tick>();
            int eLo = (int)Math.Floor(lo), eHi = (int)Math.Ceiling(hi);
            double span = hi - lo;
            int step = Math.Max(1, (int)Math.Ceiling(span / 8.0));
            bool fine = span < 2.5, veryFine = span < 1.0;
            for (int e = eLo; e <= eHi; e++)
            {
                if (e >= lo && e <= hi && e % step == 0) ticks.Add(Tick.Major(e, Pow10Label(e)));
                if (step > 1) continue;
                for (int m = 2; m <= 9; m++)
                {
                    double v = e + Math.Log10(m);
                    if (v < lo || v > hi) continue;
                    ticks.Add(veryFine || (fine && (m == 2 || m == 5))
                        ? Tick.Major(v, m.ToString(CultureInfo.InvariantCulture) + "×" + Pow10Label(e))
                        : Tick.Minor(v));
                }
            }
            return ticks;
        }
    }
}

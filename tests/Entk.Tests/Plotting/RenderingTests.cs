using System;
using System.IO;
using System.Linq;
using Entk.Plotting;
using NUnit.Framework;

namespace Entk.Tests.Plotting
{
    [TestFixture]
    public class RenderingTests
    {
        private static double[] Decaying(int n, double rate = 0.2) => Enumerable.Range(0, n).Select(i => Math.Exp(-rate * i)).ToArray();

        [Test]
        public void Spectrum_RendersPngOfRequestedSize()
        {
            var p = Figures.Spectrum("spectrum", new[] { Decaying(30) }, width: 320, height: 240);
            PngUtil.AssertPngSize(p.Render(), 320, 240);
            Assert.That(p.Width, Is.EqualTo(320));
            Assert.That(p.Height, Is.EqualTo(240));
        }

        [Test]
        public void DefaultPanelSize_AndWithSize()
        {
            var p = Figures.Lines("acc", new[] { 1.0, 2, 3 }, new[] { new[] { 0.1, 0.5, 0.9 } }, new[] { "train" });
            PngUtil.AssertPngSize(p.Render(), Panel.DefaultWidth, Panel.DefaultHeight);
            var small = p.WithSize(300, 200);
            Assert.That(small, Is.InstanceOf<LinePanel>());
            PngUtil.AssertPngSize(small.Render(), 300, 200);
            Assert.That(p.Width, Is.EqualTo(Panel.DefaultWidth), "the original is unchanged");
        }

        [Test]
        public void Heatmap_RendersPngOfRequestedSize()
        {
            var h = Figures.Heatmap("h", TestUtil.RandomMatrix(5, 7, 1), width: 401, height: 303);
            PngUtil.AssertPngSize(h.Render(), 401, 303);
        }

        [Test]
        public void Grid_SizeIsCellsPlusTitleBand()
        {
            var s = Figures.Spectrum("s", new[] { Decaying(10) });
            var g = Figures.Grid(2, 3, new Panel?[] { s, null, s, s, s, null }, "overall", panelWidth: 200, panelHeight: 150);
            Assert.That(g.Width, Is.EqualTo(600));
            Assert.That(g.Height, Is.EqualTo(300 + g.TitleBandHeight));
            Assert.That(g.TitleBandHeight, Is.GreaterThan(0));
            PngUtil.AssertPngSize(g.Render(), g.Width, g.Height);

            var untitled = Figures.Grid(1, 2, new Panel[] { s, s }, panelWidth: 200, panelHeight: 150);
            Assert.That(untitled.TitleBandHeight, Is.Zero);
            PngUtil.AssertPngSize(untitled.Render(), 400, 150);
        }

        [Test]
        public void HeatmapOriginLower_PutsRowZeroAtTheBottom()
        {
            var data = new double[4, 3];
            for (int c = 0; c < 3; c++) data[0, c] = 1;
            var m = Matrix.FromArray2D(data);

            var lower = Figures.Heatmap("lower", m, width: 400, height: 320);
            Assert.That(lower.Origin, Is.EqualTo(HeatmapOrigin.Lower));
            var (bottom, top) = SampleBottomTop(lower);
            Assert.That(PngUtil.Distance(bottom, PngUtil.Viridis1), Is.LessThan(40), $"bottom should be yellow, got {bottom}");
            Assert.That(PngUtil.Distance(top, PngUtil.Viridis0), Is.LessThan(40), $"top should be purple, got {top}");
            Assert.That(bottom.Red, Is.GreaterThan(200));
            Assert.That(bottom.Green, Is.GreaterThan(180));
            Assert.That(bottom.Blue, Is.LessThan(100));

            // Every row's cells show that row's value: rows 0..3 hold 0, 1/3, 2/3, 1 and must appear bottom to top.
            var ramp = new double[4, 3];
            for (int r = 0; r < 4; r++) for (int c = 0; c < 3; c++) ramp[r, c] = r / 3.0;
            var rampPanel = Figures.Heatmap("ramp", Matrix.FromArray2D(ramp), width: 400, height: 320);
            var rr = rampPanel.RenderDetailed();
            var rect = rr.DataRects[0]!.Value;
            using (var bmp = PngUtil.Decode(rr.Png))
            {
                var viridis = new ScottPlot.Colormaps.Viridis();
                float cellH = rect.Height / 4, cellW = rect.Width / 3;
                for (int r = 0; r < 4; r++)
                    for (int c = 0; c < 3; c++)
                    {
                        var expected = viridis.GetColor(r / 3.0);
                        // sample near the inner corners of the cell, not just its centre, to catch misaligned cells
                        foreach (var (fx, fy) in new[] { (0.15f, 0.15f), (0.85f, 0.85f), (0.5f, 0.5f) })
                        {
                            var got = bmp.GetPixel((int)(rect.Left + cellW * (c + fx)), (int)(rect.Bottom - cellH * (r + fy)));
                            Assert.That(PngUtil.Distance(got, new SkiaSharp.SKColor(expected.R, expected.G, expected.B)), Is.LessThan(12),
                                $"cell ({r}, {c}) at ({fx}, {fy}): got {got}, expected {expected}");
                        }
                    }
            }

            var upper = Figures.Heatmap("upper", m, origin: HeatmapOrigin.Upper, width: 400, height: 320);
            var (bottomU, topU) = SampleBottomTop(upper);
            Assert.That(PngUtil.Distance(topU, PngUtil.Viridis1), Is.LessThan(40), $"origin upper: top should be yellow, got {topU}");
            Assert.That(PngUtil.Distance(bottomU, PngUtil.Viridis0), Is.LessThan(40), $"origin upper: bottom should be purple, got {bottomU}");
        }

        private static (SkiaSharp.SKColor Bottom, SkiaSharp.SKColor Top) SampleBottomTop(HeatmapPanel panel)
        {
            var r = panel.RenderDetailed();
            PngUtil.AssertPngSize(r.Png, panel.Width, panel.Height);
            var rect = r.DataRects[0]!.Value;
            using var bmp = PngUtil.Decode(r.Png);
            int x = (int)rect.HorizontalCenter;
            float cell = rect.Height / panel.Data.Rows;
            var bottom = bmp.GetPixel(x, (int)(rect.Bottom - cell / 2));
            var top = bmp.GetPixel(x, (int)(rect.Top + cell / 2));
            return (bottom, top);
        }

        [Test]
        public void SharedColorScale_SameValueGetsSameColourAcrossPanels()
        {
            // Panel A spans [0, 0.5] and panel B [0.5, 1]; on their own scales 0.5 is yellow in A and purple in B.
            var a = Figures.Heatmap("A", Matrix.FromRows(new[] { new[] { 0.0, 0.5 } }));
            var b = Figures.Heatmap("B", Matrix.FromRows(new[] { new[] { 0.5, 1.0 } }));

            var separate = Figures.Grid(1, 2, new Panel[] { a, b }, "separate", 300, 240);
            var (sepA, sepB) = SampleHalfCells(separate);
            Assert.That(PngUtil.Distance(sepA, PngUtil.Viridis1), Is.LessThan(40), $"own scale: A's 0.5 is its maximum, got {sepA}");
            Assert.That(PngUtil.Distance(sepB, PngUtil.Viridis0), Is.LessThan(40), $"own scale: B's 0.5 is its minimum, got {sepB}");

            var shared = Figures.Grid(1, 2, new Panel[] { a, b }, "shared", 300, 240, sharedColorScale: true);
            var ha = (HeatmapPanel)shared.PanelAt(0, 0)!;
            var hb = (HeatmapPanel)shared.PanelAt(0, 1)!;
            Assert.That((ha.VMin, ha.VMax, hb.VMin, hb.VMax), Is.EqualTo((0.0, 1.0, 0.0, 1.0)));
            var (shA, shB) = SampleHalfCells(shared);
            Assert.That(PngUtil.Distance(shA, shB), Is.LessThan(6), $"shared scale: {shA} vs {shB}");
            Assert.That(PngUtil.Distance(shA, PngUtil.ViridisHalf), Is.LessThan(30), $"0.5 on [0, 1] is mid viridis, got {shA}");

            // The same through explicit ranges on stand-alone panels.
            var ea = a.WithColorRange(0, 1).RenderDetailed();
            var eb = Figures.Heatmap("B", Matrix.FromRows(new[] { new[] { 0.5, 1.0 } }), vmin: 0, vmax: 1).RenderDetailed();
            using var ba = PngUtil.Decode(ea.Png);
            using var bb = PngUtil.Decode(eb.Png);
            var ca = CellColour(ba, ea.DataRects[0]!.Value, 1, 2);
            var cb = CellColour(bb, eb.DataRects[0]!.Value, 0, 2);
            Assert.That(PngUtil.Distance(ca, cb), Is.LessThan(6), $"explicit range: {ca} vs {cb}");
        }

        private static (SkiaSharp.SKColor A, SkiaSharp.SKColor B) SampleHalfCells(GridFigure grid)
        {
            var r = grid.RenderDetailed();
            PngUtil.AssertPngSize(r.Png, grid.Width, grid.Height);
            using var bmp = PngUtil.Decode(r.Png);
            Assert.That(r.DataRects[1]!.Value.Left, Is.GreaterThanOrEqualTo(grid.PanelWidth), "second panel is placed in the second cell");
            // 0.5 sits in column 1 of A and column 0 of B.
            return (CellColour(bmp, r.DataRects[0]!.Value, 1, 2), CellColour(bmp, r.DataRects[1]!.Value, 0, 2));
        }

        private static SkiaSharp.SKColor CellColour(SkiaSharp.SKBitmap bmp, ScottPlot.PixelRect rect, int column, int columns)
        {
            float w = rect.Width / columns;
            return bmp.GetPixel((int)(rect.Left + w * (column + 0.5f)), (int)rect.VerticalCenter);
        }

        [Test]
        public void LogAxis_SkipsNonPositiveValuesWithoutThrowing()
        {
            var values = new[] { 10.0, 1.0, 0.1, 0.0, -1e-3, 1e-5 };
            var p = Figures.Spectrum("log", new[] { values, new[] { -1.0, 0.0 } }, logY: true, names: new[] { "mixed", "all non-positive" });
            Assert.That(p.SkippedCount, Is.EqualTo(4));
            PngUtil.AssertPngSize(p.Render(), p.Width, p.Height);
            var lines = p.ToCsv().TrimEnd('\n').Split('\n');
            Assert.That(lines.Length, Is.EqualTo(1 + 8));
            Assert.That(lines[1], Is.EqualTo("0,log,spectrum,mixed,,,0,10,1"));
            Assert.That(lines[4], Does.StartWith("0,log,spectrum,mixed,,,3,0,").And.EndWith(","), "skipped: shown is empty");
            Assert.That(lines[6], Does.EndWith(",-5"));

            var linear = Figures.Spectrum("lin", new[] { values });
            Assert.That(linear.SkippedCount, Is.Zero);
            Assert.DoesNotThrow(() => linear.Render());
        }

        [Test]
        public void LogTicks_AreWholeDecadesLabelledWithPowersOfTen()
        {
            var majors = Entk.Plotting.Style.LogTickList(-12.3, 0.4).Where(t => t.IsMajor).ToArray();
            Assert.That(majors.All(t => t.Position == Math.Floor(t.Position)), Is.True, "majors at whole decades");
            Assert.That(majors.Select(t => t.Label), Does.Contain("10⁰").And.Contain("10⁻¹²"));
            Assert.That(Entk.Plotting.Style.Pow10Label(-3), Is.EqualTo("10⁻³"));
            Assert.That(Entk.Plotting.Style.Pow10Label(15), Is.EqualTo("10¹⁵"));
            var narrow = Entk.Plotting.Style.LogTickList(-0.9, -0.1).Where(t => t.IsMajor).Select(t => t.Label).ToArray();
            Assert.That(narrow, Does.Contain("2×10⁻¹").And.Contain("5×10⁻¹"));
        }

        [Test]
        public void Csv_ExportsTheShownNumbers()
        {
            var m = Matrix.FromRows(new[] { new[] { 1.0, 2.0 }, new[] { 3.0, 4.0 } });
            var h = Figures.Heatmap("h", m, vmin: 0, vmax: 3.5);
            var lines = h.ToCsv().TrimEnd('\n').Split('\n');
            Assert.That(lines[0], Is.EqualTo("panel,panel_title,kind,series,row,column,x,value,shown"));
            Assert.That(lines, Does.Contain("0,h,color_range,vmin,,,,0,0").And.Contain("0,h,color_range,vmax,,,,3.5,3.5"));
            Assert.That(lines, Does.Contain("0,h,heatmap,,1,1,,4,3.5"), "clamped to vmax");
            Assert.That(lines.Length, Is.EqualTo(1 + 2 + 4));

            var l = Figures.Lines("acc, test", new[] { Series.Of("train", new[] { 0.0, 10 }, new[] { 0.5, 1.0 }) },
                guides: new[] { new GuideLine(5, "grok") }, rightSeries: new[] { Series.Of("d", new[] { 0.25, 0.125 }) });
            var ll = l.ToCsv().TrimEnd('\n').Split('\n');
            Assert.That(ll, Does.Contain("0,\"acc, test\",line,train,,,10,1,1"));
            Assert.That(ll, Does.Contain("0,\"acc, test\",line_right,d,,,1,0.125,0.125"));
            Assert.That(ll, Does.Contain("0,\"acc, test\",guide,grok,,,5,,"));

            var g = Figures.Grid(1, 3, new Panel?[] { null, h, l }, "g");
            var gl = g.ToCsv().TrimEnd('\n').Split('\n');
            Assert.That(gl.Length, Is.EqualTo(1 + (lines.Length - 1) + (ll.Length - 1)));
            Assert.That(gl.Count(s => s.StartsWith("1,h,", StringComparison.Ordinal)), Is.EqualTo(6));
            Assert.That(gl.Count(s => s.StartsWith("2,", StringComparison.Ordinal)), Is.EqualTo(ll.Length - 1));
        }

        [Test]
        public void PaperFigures_Render()
        {
            // Toy-model layout: 3 × 3, spectra on the first row, 50 features × 80 eigenvectors below.
            var rng = new Random(3);
            var spectra = Enumerable.Range(0, 3).Select(k =>
                (Panel)Figures.Spectrum("epoch " + (20 * k), new[] { Decaying(160, 0.05 + 0.05 * k), Decaying(160, 0.1) },
                    logY: true, names: new[] { "trace", "sum" }, cliffsAfter: new[] { 49 })).ToList();
            var heat = Enumerable.Range(0, 6).Select(k =>
                (Panel)Figures.Heatmap("overlap " + k, TestUtil.RandomMatrix(50, 80, k), vmin: -1, vmax: 1,
                    xLabel: "eigenvector", yLabel: "feature", colorbarLabel: "cos")).ToList();
            var tms = Figures.Grid(3, 3, spectra.Concat(heat).ToArray(), "Toy model of superposition");
            PngUtil.AssertPngSize(tms.Render(), 1500, 1200 + tms.TitleBandHeight);

            var labels = Enumerable.Range(1, 14).Select(k => "a k=" + k).Concat(Enumerable.Range(1, 14).Select(k => "b k=" + k)).ToArray();
            var grid = Figures.Grid(2, 3, Enumerable.Range(0, 6).Select(k =>
                (Panel)Figures.Heatmap("layer " + k, TestUtil.RandomMatrix(28, 20, 10 + k, scale: 1 + k), yTickLabels: labels,
                    xLabel: "eigenvector", yLabel: "feature")).ToArray(), "Modular addition", sharedColorScale: true);
            PngUtil.AssertPngSize(grid.Render(), 1500, 800 + grid.TitleBandHeight);

            var epochs = Enumerable.Range(0, 100).Select(i => (double)i).ToArray();
            var train = epochs.Select(e => 1 - Math.Exp(-e / 8)).ToArray();
            var test = epochs.Select(e => 1 / (1 + Math.Exp(-(e - 60) / 5))).ToArray();
            var acc = Figures.Lines("accuracy", epochs, new[] { train, test }, new[] { "train", "test" }, "epoch", "accuracy",
                guides: new[] { new GuideLine(60, "grokking") });
            var overlap = Figures.Lines("overlap", new[] { Series.Of("overlap %", epochs, test.Select(v => 100 * v).ToArray()) }, "epoch", "overlap %",
                rightSeries: new[] { Series.Of("d/dt", epochs, test.Select(v => 20 * v * (1 - v)).ToArray()) }, rightYLabel: "derivative",
                guides: new[] { new GuideLine(60, "grokking") }, legend: LegendLocation.UpperLeft);
            var lines = Figures.Grid(1, 2, new Panel[] { acc, overlap }, "Training");
            PngUtil.AssertPngSize(lines.Render(), 1000, 400 + lines.TitleBandHeight);

            string? outDir = Environment.GetEnvironmentVariable("ENTK_PLOTS_OUT");
            if (!string.IsNullOrEmpty(outDir))
            {
                tms.Save(Path.Combine(outDir, "tms.png"), overwrite: true);
                grid.Save(Path.Combine(outDir, "heatmaps.png"), overwrite: true);
                lines.Save(Path.Combine(outDir, "lines.png"), overwrite: true);
                spectra[0].Save(Path.Combine(outDir, "spectrum.png"), overwrite: true);
                Figures.Spectrum("linear", new[] { Decaying(40) }, cliffsAfter: new[] { 9, 19 }).Save(Path.Combine(outDir, "spectrum_linear.png"), overwrite: true);
                heat[0].Save(Path.Combine(outDir, "heatmap.png"), overwrite: true);
                overlap.Save(Path.Combine(outDir, "overlap.png"), overwrite: true);
                Figures.Spectrum("narrow log", new[] { new[] { 0.9, 0.7, 0.5, 0.3, 0.2, 0.0 } }, logY: true,
                    guides: new[] { GuideLine.After(2, "cliff") }).Save(Path.Combine(outDir, "spectrum_narrow.png"), overwrite: true);
            }
        }
    }
}

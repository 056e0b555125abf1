using System;
using System.IO;
using Entk.Plotting;
using NUnit.Framework;

namespace Entk.Tests.Plotting
{
    [TestFixture]
    public class SaveTests
    {
        private string _dir = "";

        [SetUp]
        public void SetUp()
        {
            _dir = Path.Combine(Path.GetTempPath(), "entk-plot-tests-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(_dir);
        }

        [TearDown]
        public void TearDown()
        {
            if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
        }

        [Test]
        public void Save_WritesPngAtomically_AndRefusesToOverwriteWithoutTheFlag()
        {
            string path = Path.Combine(_dir, "sub", "spectrum.png");
            var first = Figures.Spectrum("first", new[] { new[] { 3.0, 2, 1 } }, width: 200, height: 150);
            first.Save(path);
            byte[] written = File.ReadAllBytes(path);
            PngUtil.AssertPngSize(written, 200, 150);
            Assert.That(Directory.GetFiles(Path.GetDirectoryName(path)!), Is.EqualTo(new[] { path }), "no temporary files left behind");

            var second = Figures.Spectrum("second", new[] { new[] { 5.0, 4 } }, width: 300, height: 200);
            var ex = Assert.Throws<OutputExistsException>(() => second.Save(path));
            Assert.That(ex!.Path, Is.EqualTo(Path.GetFullPath(path)));
            Assert.That(File.ReadAllBytes(path), Is.EqualTo(written), "existing file untouched");

            second.Save(path, overwrite: true);
            PngUtil.AssertPngSize(File.ReadAllBytes(path), 300, 200);
            Assert.That(Directory.GetFiles(Path.GetDirectoryName(path)!), Has.Length.EqualTo(1));
        }

        [Test]
        public void SaveCsv_WritesTheDataAndRefusesToOverwrite()
        {
            string path = Path.Combine(_dir, "grid.csv");
            var grid = Figures.Grid(1, 1, new Panel[] { Figures.Heatmap("h", Matrix.Identity(2)) }, "t");
            grid.SaveCsv(path);
            Assert.That(File.ReadAllText(path), Is.EqualTo(grid.ToCsv()));
            Assert.Throws<OutputExistsException>(() => grid.SaveCsv(path));
        }

        [Test]
        public void Save_NullPath_Throws()
        {
            var p = Figures.Spectrum("s", new[] { new[] { 1.0 } });
            var ex = Assert.Throws<ArgumentNullException>(() => p.Save(null!));
            Assert.That(ex!.ParamName, Is.EqualTo("path"));
        }
    }

    [TestFixture]
    public class BadInputTests
    {
        private static readonly double[] Ok = { 3.0, 2.0, 1.0 };

        [Test]
        public void Spectrum_NoSeries_Throws()
        {
            var ex = Assert.Throws<EntkArgumentException>(() => Figures.Spectrum("s", Array.Empty<double[]>()));
            Assert.That(ex!.ParamName, Is.EqualTo("series"));
        }

        [Test]
        public void Spectrum_EmptySeries_ThrowsNamingTheIndex()
        {
            var ex = Assert.Throws<EntkArgumentException>(() => Figures.Spectrum("s", new[] { Ok, Array.Empty<double>() }));
            Assert.That(ex!.ParamName, Is.EqualTo("series"));
            Assert.That(ex.Message, Does.Contain("series[1]"));
        }

        [Test]
        public void Spectrum_NaN_ThrowsNonFinite()
        {
            var ex = Assert.Throws<NonFiniteValueException>(() => Figures.Spectrum("s", new[] { Ok, new[] { 1.0, 0.5, double.NaN } }, logY: true));
            Assert.That(ex!.ParamName, Is.EqualTo("series"));
            Assert.That(ex.Message, Does.Contain("series[1][2]").And.Contain("NaN"));
        }

        [Test]
        public void Spectrum_NameCountMismatch_Throws()
        {
            var ex = Assert.Throws<ShapeMismatchException>(() => Figures.Spectrum("s", new[] { Ok, Ok }, names: new[] { "epoch 60" }));
            Assert.That(ex!.ParamName, Is.EqualTo("names"));
            Assert.That(ex.Expected, Does.Contain("[2]"));
            Assert.That(ex.Actual, Does.Contain("[1]"));
        }

        [Test]
        public void Spectrum_NegativeCliffIndex_Throws()
        {
            var ex = Assert.Throws<EntkArgumentException>(() => Figures.Spectrum("s", new[] { Ok }, cliffsAfter: new[] { 1, -2 }));
            Assert.That(ex!.ParamName, Is.EqualTo("cliffsAfter"));
        }

        [Test]
        public void Heatmap_NaN_ThrowsWithPosition()
        {
            var d = new double[2, 3];
            d[1, 2] = double.NaN;
            var ex = Assert.Throws<NonFiniteValueException>(() => Figures.Heatmap("h", Matrix.FromArray2D(d)));
            Assert.That(ex!.ParamName, Is.EqualTo("data"));
            Assert.That(ex.Message, Does.Contain("[1, 2]"));
        }

        [Test]
        public void Heatmap_EmptyMatrix_Throws()
        {
            var ex = Assert.Throws<EntkArgumentException>(() => Figures.Heatmap("h", Matrix.Zeros(0, 4)));
            Assert.That(ex!.ParamName, Is.EqualTo("data"));
        }

        [Test]
        public void Heatmap_TickLabelCountMismatch_Throws()
        {
            var ex = Assert.Throws<ShapeMismatchException>(() => Figures.Heatmap("h", Matrix.Zeros(3, 2), yTickLabels: new[] { "a", "b" }));
            Assert.That(ex!.ParamName, Is.EqualTo("yTickLabels"));
            Assert.That(ex.Expected, Does.Contain("[3]"));
            var ex2 = Assert.Throws<ShapeMismatchException>(() => Figures.Heatmap("h", Matrix.Zeros(3, 2), xTickLabels: new[] { "a" }));
            Assert.That(ex2!.ParamName, Is.EqualTo("xTickLabels"));
        }

        [Test]
        public void Heatmap_BadColourRange_Throws()
        {
            var m = Matrix.Identity(2);
            var ex = Assert.Throws<EntkArgumentException>(() => Figures.Heatmap("h", m, vmin: 1, vmax: 1));
            Assert.That(ex!.ParamName, Is.EqualTo("vmax"));
            Assert.That(Assert.Throws<NonFiniteValueException>(() => Figures.Heatmap("h", m, vmin: double.NaN))!.ParamName, Is.EqualTo("vmin"));
            Assert.That(Assert.Throws<EntkArgumentException>(() => Figures.Heatmap("h", m, vmin: 5))!.ParamName, Is.EqualTo("vmin"));
            Assert.That(Assert.Throws<EntkArgumentException>(() => Figures.Heatmap("h", m).WithColorRange(2, -2))!.ParamName, Is.EqualTo("vmax"));
        }

        [Test]
        public void Heatmap_ConstantMatrix_GetsAUnitRange()
        {
            var h = Figures.Heatmap("h", Matrix.Zeros(2, 2));
            Assert.That((h.VMin, h.VMax), Is.EqualTo((-0.5, 0.5)));
            Assert.DoesNotThrow(() => h.Render());
        }

        [Test]
        public void Lines_LengthMismatch_Throws()
        {
            var ex = Assert.Throws<ShapeMismatchException>(() => Figures.Lines("l", new[] { 1.0, 2, 3 }, new[] { Ok, new[] { 1.0 } }, new[] { "a", "b" }));
            Assert.That(ex!.ParamName, Is.EqualTo("ys"));
            Assert.That(ex.Message, Does.Contain("ys[1]"));
            var ex2 = Assert.Throws<ShapeMismatchException>(() => Series.Of("s", new[] { 1.0, 2 }, Ok));
            Assert.That(ex2!.ParamName, Is.EqualTo("x"));
        }

        [Test]
        public void Lines_NameCountMismatch_AndEmpty_Throw()
        {
            Assert.That(Assert.Throws<ShapeMismatchException>(() => Figures.Lines("l", Ok, new[] { Ok }, new[] { "a", "b" }))!.ParamName, Is.EqualTo("names"));
            Assert.That(Assert.Throws<EntkArgumentException>(() => Figures.Lines("l", Ok, Array.Empty<double[]>(), Array.Empty<string>()))!.ParamName, Is.EqualTo("ys"));
            Assert.That(Assert.Throws<EntkArgumentException>(() => Figures.Lines("l", Array.Empty<Series>()))!.ParamName, Is.EqualTo("series"));
            Assert.That(Assert.Throws<EntkArgumentException>(() => Series.Of("s", Array.Empty<double>()))!.ParamName, Is.EqualTo("y"));
        }

        [Test]
        public void Lines_NonFinite_Throws()
        {
            var ex = Assert.Throws<NonFiniteValueException>(() => Figures.Lines("l", new[] { 0.0, double.PositiveInfinity, 2 }, new[] { Ok }, new[] { "a" }));
            Assert.That(ex!.ParamName, Is.EqualTo("x"));
            Assert.That(Assert.Throws<NonFiniteValueException>(() => Series.Of("s", new[] { 1.0, double.NaN }))!.ParamName, Is.EqualTo("y"));
            Assert.That(Assert.Throws<NonFiniteValueException>(() => new GuideLine(double.NaN))!.ParamName, Is.EqualTo("x"));
        }

        [Test]
        public void Grid_WrongPanelCount_Throws()
        {
            var s = Figures.Spectrum("s", new[] { Ok });
            var ex = Assert.Throws<ShapeMismatchException>(() => Figures.Grid(2, 3, new Panel[] { s, s, s, s, s }));
            Assert.That(ex!.ParamName, Is.EqualTo("panels"));
            Assert.That(ex.Expected, Does.Contain("[6]"));
            Assert.That(ex.Actual, Does.Contain("[5]"));
            Assert.That(Assert.Throws<EntkArgumentException>(() => Figures.Grid(0, 3, Array.Empty<Panel>()))!.ParamName, Is.EqualTo("rows"));
            Assert.That(Assert.Throws<EntkArgumentException>(() => Figures.Grid(1, 1, new Panel[] { s }, panelWidth: 10))!.ParamName, Is.EqualTo("panelWidth"));
            Assert.That(Assert.Throws<EntkArgumentException>(() => Figures.Grid(1, 40, new Panel[40], panelWidth: 500))!.ParamName, Is.EqualTo("panelWidth"));
        }

        [Test]
        public void BadSize_Throws()
        {
            Assert.That(Assert.Throws<EntkArgumentException>(() => Figures.Spectrum("s", new[] { Ok }, width: 0))!.ParamName, Is.EqualTo("width"));
            Assert.That(Assert.Throws<EntkArgumentException>(() => Figures.Heatmap("h", Matrix.Identity(2)).WithSize(100, 100000))!.ParamName, Is.EqualTo("height"));
        }

        [Test]
        public void Data_IsCopied()
        {
            var values = new[] { 3.0, 2.0, 1.0 };
            var p = Figures.Spectrum("s", new[] { values });
            values[0] = 99;
            Assert.That(p.Series[0].Y[0], Is.EqualTo(3.0));
        }
    }
}

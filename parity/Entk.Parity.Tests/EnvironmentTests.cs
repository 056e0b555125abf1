using System;
using System.IO;
using System.Linq;
using NUnit.Framework;

namespace Entk.Parity.Tests
{
    /// <summary>
    /// The process-isolation contract: Python torch runs in this process and aborts it when TorchSharp/libtorch is loaded
    /// too, so TorchSharp, libtorch and the Entk engine (Entk.dll, Entk.Paper.dll, Entk.Cli.dll) must never be loaded here
    /// or copied beside the tests; the C# side runs as the CLI process. Entk.Core (torch-free) is allowed and used to read
    /// the CLI's arrays.
    /// </summary>
    [TestFixture]
    public sealed class EnvironmentTests
    {
        [Test]
        public void TestOutput_TorchSharpAndEntk_NotPresent()
        {
            string dir = Path.GetDirectoryName(typeof(EnvironmentTests).Assembly.Location)!;
            var offending = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
                .Select(Path.GetFileName).OfType<string>()
                .Where(f => f.Contains("torch", StringComparison.OrdinalIgnoreCase) || f is "Entk.dll" or "Entk.Paper.dll" or "Entk.Cli.dll"
                            || f.StartsWith("MathNet", StringComparison.Ordinal) || f.StartsWith("ScottPlot", StringComparison.Ordinal) || f.Contains("SkiaSharp", StringComparison.Ordinal))
                .ToArray();
            Assert.That(offending, Is.Empty, "the parity test output must not contain TorchSharp, libtorch or the Entk engine");
            Assert.That(File.Exists(Path.Combine(dir, "Entk.Core.dll")), Is.True, "the torch-free core reads the arrays");
        }

        [Test]
        public void TestProcess_TorchSharpAndEntk_NotLoaded()
        {
            var loaded = AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetName().Name ?? "")
                .Where(n => n.StartsWith("TorchSharp", StringComparison.Ordinal) || n is "Entk" or "Entk.Paper" or "Entk.Cli")
                .ToArray();
            Assert.That(loaded, Is.Empty);
            Assert.That(typeof(Entk.IO.Npy).Assembly.GetName().Name, Is.EqualTo("Entk.Core"), "arrays come from the core");
            Assert.That(typeof(Entk.IO.Npy).Assembly.GetReferencedAssemblies().Select(r => r.Name), Has.None.StartWith("TorchSharp").And.None.EqualTo("Entk"),
                "the core references no engine");
        }

        [Test]
        public void TestProcess_TorchSharpNativeShimNotMapped()
        {
            // Python torch maps its own libtorch once the reference has run; TorchSharp's native shim must never be mapped.
            Assume.That(File.Exists("/proc/self/maps"), "needs Linux /proc");
            var shim = File.ReadLines("/proc/self/maps").Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(f => f.Length >= 6 && f[5].StartsWith('/')).Select(f => Path.GetFileName(f[5]))
                .Where(n => n.StartsWith("libLibTorchSharp", StringComparison.Ordinal)).Distinct().ToArray();
            Assert.That(shim, Is.Empty);
        }

        [Test]
        public void CliDll_SameConfigurationAsTests_IsBuilt()
        {
            Assert.That(File.Exists(ParityEnvironment.CliDll), Is.True,
                ParityEnvironment.CliDll + " missing (the ProjectReference builds it with the tests' configuration " + ParityEnvironment.Configuration + ")");
        }
    }
}

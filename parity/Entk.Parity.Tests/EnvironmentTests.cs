using System;
using System.IO;
using System.Linq;
using NUnit.Framework;

namespace Entk.Parity.Tests
{
    /// <summary>
    /// The process-isolation contract (platform.md §5.1): Python torch runs in this process, so TorchSharp/libtorch
    /// and the Entk library must never be loaded here or copied beside the tests; the C# side runs as the CLI process.
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
                .Where(f => f.Contains("torch", StringComparison.OrdinalIgnoreCase) || f is "Entk.dll" or "Entk.Cli.dll")
                .ToArray();
            Assert.That(offending, Is.Empty, "the parity test output must not contain TorchSharp, libtorch or Entk");
        }

        [Test]
        public void TestProcess_TorchSharpAndEntk_NotLoaded()
        {
            var loaded = AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetName().Name ?? "")
                .Where(n => n.StartsWith("TorchSharp", StringComparison.Ordinal) || n is "Entk" or "Entk.Cli")
                .ToArray();
            Assert.That(loaded, Is.Empty);
        }

        [Test]
        public void CliDll_SameConfigurationAsTests_IsBuilt()
        {
            Assert.That(File.Exists(ParityEnvironment.CliDll), Is.True,
                ParityEnvironment.CliDll + " missing (the ProjectReference builds it with the tests' configuration " + ParityEnvironment.Configuration + ")");
        }
    }
}

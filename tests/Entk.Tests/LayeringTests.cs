using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using NUnit.Framework;

namespace Entk.Tests
{
    /// <summary>
    /// The layering: Entk.Paper (application) → Entk (engine) → Entk.Core (torch-free core), never the reverse; the core
    /// references nothing but the .NET runtime; and a program referencing the core alone loads no native library of the
    /// engine or the application (checked in a child process, tests/Entk.Core.Probe).
    /// </summary>
    [TestFixture]
    public class LayeringTests
    {
        private static readonly Assembly Core = typeof(Matrix).Assembly;
        private static readonly Assembly Engine = typeof(EntkRuntime).Assembly;
        private static readonly Assembly Paper = typeof(Entk.Experiments.TmsExperiment).Assembly;
        private static readonly Assembly Cli = typeof(Entk.Cli.Program).Assembly;

        private static string[] References(Assembly a) => a.GetReferencedAssemblies().Select(r => r.Name!).OrderBy(n => n, StringComparer.Ordinal).ToArray();

        private static bool IsFramework(string name) =>
            name is "netstandard" or "mscorlib" || name.StartsWith("System.", StringComparison.Ordinal) || name == "System" || name.StartsWith("Microsoft.", StringComparison.Ordinal);

        [Test]
        public void Assemblies_HaveTheExpectedNames()
        {
            Assert.That(new[] { Core, Engine, Paper, Cli }.Select(a => a.GetName().Name), Is.EqualTo(new[] { "Entk.Core", "Entk", "Entk.Paper", "Entk.Cli" }));
        }

        [Test]
        public void Dependencies_PointFromApplicationToEngineToCore_NeverBack()
        {
            var layer = new Dictionary<string, int> { ["Entk.Core"] = 0, ["Entk"] = 1, ["Entk.Paper"] = 2, ["Entk.Cli"] = 3 };
            foreach (var a in new[] { Core, Engine, Paper, Cli })
            {
                string name = a.GetName().Name!;
                foreach (var r in References(a).Where(layer.ContainsKey))
                    Assert.That(layer[r], Is.LessThan(layer[name]), $"{name} references {r}: dependencies point application → engine → core only");
            }
            Assert.That(References(Engine), Does.Contain("Entk.Core"));
            Assert.That(References(Paper), Does.Contain("Entk").And.Contain("Entk.Core"));
        }

        [Test]
        public void Core_ReferencesOnlyTheRuntime()
        {
            var foreign = References(Core).Where(n => !IsFramework(n)).ToArray();
            Assert.That(foreign, Is.Empty, "Entk.Core references no package (no TorchSharp, MathNet.Numerics, ScottPlot, SkiaSharp)");
        }

        [Test]
        public void Engine_ReferencesNoPlottingLibrary()
        {
            var refs = References(Engine);
            Assert.That(refs, Does.Contain("TorchSharp").And.Contain("MathNet.Numerics"));
            Assert.That(refs.Where(n => n.StartsWith("ScottPlot", StringComparison.Ordinal) || n.StartsWith("SkiaSharp", StringComparison.Ordinal) || n.StartsWith("HarfBuzz", StringComparison.Ordinal)),
                Is.Empty, "plotting belongs to the application layer");
        }

        /// <summary>Shared objects mapped into a process, as listed by /proc/&lt;pid&gt;/maps.</summary>
        internal static IReadOnlyList<string> MappedObjects(IEnumerable<string> mapsLines) =>
            mapsLines.Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(f => f.Length >= 6 && f[5].StartsWith('/') && f[5].Contains(".so", StringComparison.Ordinal))
                .Select(f => f[5]).Distinct().ToList();

        private static readonly string[] ForbiddenNatives = { "libtorch", "libLibTorchSharp", "libSkiaSharp", "libHarfBuzz", "libgomp", "libc10" };

        private static bool IsForbidden(string path) => ForbiddenNatives.Any(f => Path.GetFileName(path).StartsWith(f, StringComparison.Ordinal));

        [Test]
        public void TheMapsParser_SeesLibtorchInAProcessThatUsesIt()
        {
            // Control for the child-process test below: this test process has run libtorch, and the parser finds it.
            _ = TorchSharp.torch.ones(2).sum().item<float>();
            Assume.That(File.Exists("/proc/self/maps"), "needs Linux /proc");
            var mapped = MappedObjects(File.ReadLines("/proc/self/maps"));
            Assert.That(mapped.Where(IsForbidden).Select(Path.GetFileName), Has.Some.StartsWith("libtorch_cpu").And.Some.StartsWith("libLibTorchSharp"));
        }

        [Test]
        public void AProgramReferencingOnlyTheCore_LoadsNoNativeLibraryOfTheEngine()
        {
            Assume.That(File.Exists("/proc/self/maps"), "needs Linux /proc");
            string probe = ProbeDll();
            Assert.That(File.Exists(probe), Is.True, "the probe is built with the tests: " + probe);
            var folder = Path.GetDirectoryName(probe)!;
            Assert.That(Directory.GetFiles(folder).Select(Path.GetFileName).Where(f => f!.StartsWith("TorchSharp", StringComparison.Ordinal) || f!.StartsWith("Entk.dll", StringComparison.Ordinal)),
                Is.Empty, "the probe's folder holds only the core");
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = folder };
            psi.ArgumentList.Add(probe);
            using var p = Process.Start(psi)!;
            var so = p.StandardOutput.ReadToEndAsync();
            var se = p.StandardError.ReadToEndAsync();
            Assert.That(p.WaitForExit(120_000), Is.True, "probe timed out");
            string output = so.Result, errors = se.Result;
            string describe = $"exit {p.ExitCode}\n--- stdout ---\n{output}\n--- stderr ---\n{errors}";
            Assert.That(p.ExitCode, Is.EqualTo(0), describe);
            var lines = output.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
            var checks = lines.Where(l => l.StartsWith("check ", StringComparison.Ordinal)).ToArray();
            Assert.That(checks, Has.Length.EqualTo(7), describe);
            Assert.That(checks, Has.All.EndWith(": OK"), describe);
            var mapped = lines.Where(l => l.StartsWith("mapped: ", StringComparison.Ordinal)).Select(l => l["mapped: ".Length..]).ToArray();
            Assert.That(mapped, Has.Some.Contains("libcoreclr.so"), "the list is real\n" + describe);
            Assert.That(mapped.Where(IsForbidden), Is.Empty, "native libraries of the engine or application in a core-only process\n" + describe);
            var assemblies = lines.Where(l => l.StartsWith("assembly: ", StringComparison.Ordinal)).Select(l => l["assembly: ".Length..]).ToArray();
            Assert.That(assemblies, Does.Contain("Entk.Core"), describe);
            Assert.That(assemblies.Where(a => a is "Entk" or "Entk.Paper" || a.StartsWith("TorchSharp", StringComparison.Ordinal) || a.StartsWith("MathNet", StringComparison.Ordinal)
                                                || a.StartsWith("ScottPlot", StringComparison.Ordinal) || a.StartsWith("SkiaSharp", StringComparison.Ordinal)),
                Is.Empty, describe);
        }

        /// <summary>tests/Entk.Core.Probe/bin/&lt;same configuration and framework as this assembly&gt;/Entk.Core.Probe.dll.</summary>
        private static string ProbeDll()
        {
            var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
            var suffix = new List<string>();
            while (dir is not null && dir.Name != "Entk.Tests")
            {
                suffix.Insert(0, dir.Name);
                dir = dir.Parent;
            }
            if (dir?.Parent is null) Assert.Fail("cannot locate tests/Entk.Tests above " + TestContext.CurrentContext.TestDirectory);
            return Path.Combine(new[] { dir!.Parent!.FullName, "Entk.Core.Probe" }.Concat(suffix).Append("Entk.Core.Probe.dll").ToArray());
        }
    }
}

using System;
using System.IO;
using System.Linq;
using System.Reflection;
using NUnit.Framework;

namespace Entk.Parity.Tests
{
    /// <summary>
    /// Where things are and which switches are set. Environment variables:
    /// <list type="bullet">
    /// <item><c>ENTK_REQUIRE_PYTHON=1</c> (set by .ci/run): a missing Python stack fails the tests instead of skipping them.</item>
    /// <item><c>CI=true</c> or <c>ENTK_REQUIRE_PYTHON=1</c>: "CI mode": a missing or mismatching snapshot always fails, and
    /// <c>ENTK_UPDATE_SNAPSHOTS</c> is refused.</item>
    /// <item><c>ENTK_UPDATE_SNAPSHOTS=1</c>: (re)write the snapshot files under <c>parity/Entk.Parity.Tests/Snapshots/</c>
    /// from the current C# outputs (local use only; review the diff, then commit).</item>
    /// <item><c>ENTK_PYTHON</c>: the Python executable to use (default <c>/usr/bin/python3</c>); e.g. <c>/nonexistent</c> to see the skip.</item>
    /// <item><c>ENTK_CLI_DLL</c>: run this <c>Entk.Cli.dll</c> instead of the one built beside the tests (e.g. a locally
    /// perturbed build, to see the suite fail).</item>
    /// <item><c>ENTK_PARITY_KEEP=1</c>: keep the case folders (under the temp directory) after the run.</item>
    /// </list>
    /// </summary>
    internal static class ParityEnvironment
    {
        private static readonly Lazy<string> RootLazy = new(FindRepositoryRoot);

        /// <summary>The folder holding Entk.sln.</summary>
        public static string RepositoryRoot => RootLazy.Value;

        /// <summary>The build configuration of this assembly (embedded at build time).</summary>
        public static string Configuration =>
            typeof(ParityEnvironment).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .FirstOrDefault(a => a.Key == "EntkConfiguration")?.Value ?? "Release";

        /// <summary>The entk CLI assembly (same configuration as the tests unless ENTK_CLI_DLL says otherwise).</summary>
        public static string CliDll
        {
            get
            {
                string? overrideDll = Environment.GetEnvironmentVariable("ENTK_CLI_DLL");
                if (!string.IsNullOrEmpty(overrideDll)) return Path.GetFullPath(overrideDll);
                return Path.Combine(RepositoryRoot, "src", "Entk.Cli", "bin", Configuration, "net10.0", "linux-x64", "Entk.Cli.dll");
            }
        }

        /// <summary>The Python executable probed and hosted (ENTK_PYTHON, default /usr/bin/python3).</summary>
        public static string PythonExecutable
        {
            get
            {
                string? p = Environment.GetEnvironmentVariable("ENTK_PYTHON");
                return string.IsNullOrEmpty(p) ? "/usr/bin/python3" : p;
            }
        }

        /// <summary>ENTK_REQUIRE_PYTHON=1: a missing Python is a failure, not a skip.</summary>
        public static bool RequirePython => Environment.GetEnvironmentVariable("ENTK_REQUIRE_PYTHON") == "1";

        /// <summary>CI mode: ENTK_REQUIRE_PYTHON=1 or CI=true (case-insensitive) or CI=1.</summary>
        public static bool IsCi
        {
            get
            {
                string? ci = Environment.GetEnvironmentVariable("CI");
                return RequirePython || string.Equals(ci, "true", StringComparison.OrdinalIgnoreCase) || ci == "1";
            }
        }

        /// <summary>ENTK_UPDATE_SNAPSHOTS=1.</summary>
        public static bool UpdateSnapshots => Environment.GetEnvironmentVariable("ENTK_UPDATE_SNAPSHOTS") == "1";

        /// <summary>ENTK_PARITY_KEEP=1.</summary>
        public static bool KeepCases => Environment.GetEnvironmentVariable("ENTK_PARITY_KEEP") == "1";

        /// <summary>The committed snapshot folder in the source tree.</summary>
        public static string SnapshotDirectory => Path.Combine(RepositoryRoot, "parity", "Entk.Parity.Tests", "Snapshots");

        /// <summary>The Python glue module folder in the source tree.</summary>
        public static string PythonSupportDirectory => Path.Combine(RepositoryRoot, "parity", "Entk.Parity.Tests", "python");

        /// <summary>The Python reference package root.</summary>
        public static string ReferencePythonDirectory => Path.Combine(RepositoryRoot, "reference-python");

        /// <summary>Skips (or, with ENTK_REQUIRE_PYTHON=1, fails) the current test with the reason.</summary>
        public static void Unavailable(string reason)
        {
            if (RequirePython)
                Assert.Fail("ENTK_REQUIRE_PYTHON=1 but the Python reference is unavailable: " + reason);
            Assert.Ignore("Python reference unavailable (parity tests skipped; set ENTK_REQUIRE_PYTHON=1 to make this a failure): " + reason);
        }

        private static string FindRepositoryRoot()
        {
            string? dir = Path.GetDirectoryName(typeof(ParityEnvironment).Assembly.Location);
            while (dir is not null)
            {
                if (File.Exists(Path.Combine(dir, "Entk.sln"))) return dir;
                dir = Path.GetDirectoryName(dir);
            }
            throw new InvalidOperationException("Entk.sln not found above the test assembly " + typeof(ParityEnvironment).Assembly.Location);
        }
    }
}

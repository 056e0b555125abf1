using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading;
using Entk.Experiments;
using NUnit.Framework;

namespace Entk.Tests
{
    /// <summary>
    /// The CLI runs in a child process that is killed mid-way; reruns must lose nothing the user had,
    /// refuse to touch partial outputs without a flag, and finish with --resume.
    /// </summary>
    [TestFixture]
    [NonParallelizable]
    public class InterruptedRunTests
    {
        private static string CliDll => Path.Combine(TestContext.CurrentContext.TestDirectory, "Entk.Cli.dll");

        private static Process Start(params string[] args)
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add(CliDll);
            foreach (var a in args) psi.ArgumentList.Add(a);
            return Process.Start(psi)!;
        }

        private static (int code, string output) Run(params string[] args)
        {
            using var p = Start(args);
            var so = p.StandardOutput.ReadToEndAsync();
            var se = p.StandardError.ReadToEndAsync();
            Assert.That(p.WaitForExit(300_000), Is.True, "CLI timed out");
            return (p.ExitCode, so.Result + se.Result);
        }

        private static string[] TmsArgs(string dir, int steps) =>
            new[] { "tms", "--out", dir, "-n", "12", "-m", "4", "-D", "60", "--steps", steps.ToString(System.Globalization.CultureInfo.InvariantCulture), "-k", "20" };

        [Test]
        public void KilledRun_RerunRefusesWithClearMessage_ResumeCompletes_UserFilesKept()
        {
            string parent = Path.Combine(Path.GetTempPath(), "entk-interrupt-" + Guid.NewGuid().ToString("N"));
            string dir = Path.Combine(parent, "out");
            Directory.CreateDirectory(parent);
            string parentFile = Path.Combine(parent, "data.csv");
            File.WriteAllText(parentFile, "the user's data beside the output folder");
            string userFile = Path.Combine(dir, "my-notes.txt");
            try
            {
                // 1. Start a long run and kill it once it has claimed the folder.
                using (var p = Start(TmsArgs(dir, Steps)))
                {
                    var marker = Path.Combine(dir, ExperimentOutput.MarkerName);
                    var sw = Stopwatch.StartNew();
                    while (!File.Exists(marker) && sw.Elapsed < TimeSpan.FromSeconds(60)) Thread.Sleep(50);
                    Assert.That(File.Exists(marker), Is.True, "the run never started");
                    Thread.Sleep(300);
                    Assert.That(p.HasExited, Is.False, "the run finished before it could be interrupted");
                    p.Kill(true);
                    p.WaitForExit();
                }
                Assert.That(File.Exists(Path.Combine(dir, ExperimentOutput.ManifestName)), Is.False, "a killed run must not look complete");
                Assert.That(File.ReadAllText(parentFile), Is.EqualTo("the user's data beside the output folder"));
                File.WriteAllText(userFile, "the user's own file");
                Assert.That(Directory.GetFiles(dir, "*.tmp", SearchOption.AllDirectories), Is.Empty, "no temporary files left behind");

                // 2. Rerun without a flag: refused, with a message naming the folder and the flags; nothing changes.
                var before = Directory.GetFiles(dir, "*", SearchOption.AllDirectories).OrderBy(f => f).ToArray();
                var (code, output) = Run(TmsArgs(dir, Steps));
                Assert.That(code, Is.EqualTo(2), output);
                Assert.That(output, Does.Contain("holds an interrupted Entk run with these settings").And.Contain("--resume").And.Contain("--force"));
                (code, output) = Run(TmsArgs(dir, 400));
                Assert.That(code, Is.EqualTo(2), output);
                Assert.That(output, Does.Contain("holds the outputs of an Entk run with different settings").And.Contain("--force"));
                Assert.That(Directory.GetFiles(dir, "*", SearchOption.AllDirectories).OrderBy(f => f).ToArray(), Is.EqualTo(before));

                // 3. --resume with different settings than the interrupted run: refused.
                (code, output) = Run(TmsArgs(dir, 400).Concat(new[] { "--resume" }).ToArray());
                Assert.That(code, Is.EqualTo(2), output);
                Assert.That(output, Does.Contain("holds the outputs of an Entk run with different settings"));

                // 4. --resume with the same settings: redone and completed; the user's file survives.
                (code, output) = Resume(dir);
                Assert.That(code, Is.EqualTo(0), output);
                Assert.That(File.Exists(Path.Combine(dir, ExperimentOutput.ManifestName)), Is.True);
                Assert.That(File.Exists(Path.Combine(dir, ExperimentOutput.MarkerName)), Is.False);
                Assert.That(File.ReadAllText(userFile), Is.EqualTo("the user's own file"));
                Assert.That(File.ReadAllText(parentFile), Is.EqualTo("the user's data beside the output folder"));
                var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, ExperimentOutput.ManifestName)))!;
                Assert.That(manifest["files"]!.AsArray().Select(f => f!["path"]!.GetValue<string>()), Does.Contain("metrics.json").And.Contain("m4_S0.3/weights.npz"));

                // 5. --resume again: verified complete, skipped, files unchanged.
                var stamp = File.GetLastWriteTimeUtc(Path.Combine(dir, "metrics.json"));
                (code, output) = Resume(dir);
                Assert.That(code, Is.EqualTo(0), output);
                Assert.That(output, Does.Contain("skipped"));
                Assert.That(File.GetLastWriteTimeUtc(Path.Combine(dir, "metrics.json")), Is.EqualTo(stamp));

                // 6. A damaged output is detected by the manifest and redone on --resume.
                File.WriteAllText(Path.Combine(dir, "report.md"), "damaged");
                (code, output) = Resume(dir);
                Assert.That(code, Is.EqualTo(0), output);
                Assert.That(File.ReadAllText(Path.Combine(dir, "report.md")), Does.StartWith("# Toy models of superposition"));
            }
            finally
            {
                Directory.Delete(parent, true);
            }
        }

        /// <summary>
        /// Fault injection: the run is killed (SIGKILL, by ENTK_FAULT_INJECTION) in the file-writing phase, between writing an
        /// atomic file's temporary and renaming it — at the first output file, in the middle, and at the manifest, the last
        /// write. The killed run leaves its temporary behind and no manifest; --resume completes it, removes every temporary,
        /// and gives results identical to a clean run (every array, figure and CSV byte for byte; metrics.json apart from
        /// timings).
        /// </summary>
        [Test]
        public void KilledDuringFileWriting_ResumeLeavesNoTemporaries_AndMatchesACleanRun()
        {
            string parent = Path.Combine(Path.GetTempPath(), "entk-kill-" + Guid.NewGuid().ToString("N"));
            try
            {
                string clean = Path.Combine(parent, "clean");
                var (code, output) = Run(SmallArgs(clean));
                Assert.That(code, Is.EqualTo(0), output);
                var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(clean, ExperimentOutput.ManifestName)))!;
                var files = manifest["files"]!.AsArray().Select(f => f!["path"]!.GetValue<string>()).ToArray();
                int writes = files.Length + 2;   // the in-progress marker, every output file, the manifest
                foreach (int n in new[] { 2, writes / 2, writes })
                {
                    string dir = Path.Combine(parent, "killed-at-write-" + n);
                    var killed = BadInput.CliProcess.Run(SmallArgs(dir), new System.Collections.Generic.Dictionary<string, string> { ["ENTK_FAULT_INJECTION"] = "atomic-write-before-rename:" + n });
                    Assert.That(killed.ExitCode, Is.EqualTo(137), "killed by SIGKILL at write " + n + "\n" + killed.Output);
                    Assert.That(Directory.GetFiles(dir, "*.tmp", SearchOption.AllDirectories), Is.Not.Empty, "the killed write left its temporary file");
                    Assert.That(File.Exists(Path.Combine(dir, ExperimentOutput.ManifestName)), Is.False, "a killed run has no manifest");

                    (code, output) = Run(SmallArgs(dir).Concat(new[] { "--resume" }).ToArray());
                    Assert.That(code, Is.EqualTo(0), output);
                    Assert.That(Directory.GetFiles(dir, "*.tmp", SearchOption.AllDirectories), Is.Empty, "no temporary file survives a successful --resume");
                    Assert.That(File.Exists(Path.Combine(dir, ExperimentOutput.MarkerName)), Is.False);
                    foreach (var f in files)
                    {
                        string a = Path.Combine(clean, f), b = Path.Combine(dir, f);
                        Assert.That(File.Exists(b), Is.True, f);
                        if (Path.GetExtension(f) is ".npy" or ".npz" or ".png" or ".csv")
                            Assert.That(File.ReadAllBytes(b), Is.EqualTo(File.ReadAllBytes(a)), f + " identical to the clean run (kill at write " + n + ")");
                        else if (Path.GetExtension(f) == ".json")
                            Assert.That(WithoutTimings(JsonNode.Parse(File.ReadAllText(b)))!.ToJsonString(), Is.EqualTo(WithoutTimings(JsonNode.Parse(File.ReadAllText(a)))!.ToJsonString()), f);
                    }
                }
            }
            finally
            {
                if (Directory.Exists(parent)) Directory.Delete(parent, true);
            }
        }

        private static string[] SmallArgs(string dir) => new[] { "tms", "--out", dir, "-n", "12", "-m", "4", "-D", "30", "--steps", "300", "-k", "12" };

        /// <summary>A JSON tree without the keys that hold run times or the environment.</summary>
        private static JsonNode? WithoutTimings(JsonNode? node)
        {
            if (node is JsonObject o)
            {
                foreach (var key in o.Select(kv => kv.Key).ToArray())
                {
                    if (key.Contains("seconds", StringComparison.Ordinal) || key == "environment" || key.EndsWith("_utc", StringComparison.Ordinal)) o.Remove(key);
                    else WithoutTimings(o[key]);
                }
            }
            else if (node is JsonArray a)
            {
                foreach (var item in a) WithoutTimings(item);
            }
            return node;
        }

        /// <summary>Resumes the interrupted run with its settings.</summary>
        private static (int code, string output) Resume(string dir) => Run(TmsArgs(dir, Steps).Concat(new[] { "--resume" }).ToArray());

        /// <summary>Long enough to be killed mid-way, short enough to finish in a few seconds.</summary>
        private const int Steps = 20_000;
    }
}

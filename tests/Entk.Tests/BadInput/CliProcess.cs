using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using NUnit.Framework;

namespace Entk.Tests.BadInput
{
    /// <summary>The result of one `entk` child process.</summary>
    internal sealed record CliResult(int ExitCode, string StdOut, string StdErr, double Seconds)
    {
        public string Output => StdOut + StdErr;

        /// <summary>Died of a signal (exit code 128 + signal, e.g. 134 SIGABRT, 137 SIGKILL, 139 SIGSEGV).</summary>
        public bool Signalled => ExitCode >= 128;
    }

    /// <summary>
    /// Runs the `entk` command built with the tests (Entk.Cli.dll next to the test assembly, one build shared by all cases)
    /// in a child process, so that a native crash shows as an exit code instead of killing the test host.
    /// </summary>
    internal static class CliProcess
    {
        public static string CliDll => Path.Combine(TestContext.CurrentContext.TestDirectory, "Entk.Cli.dll");

        public static Process Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null)
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add(CliDll);
            foreach (var a in args) psi.ArgumentList.Add(a);
            psi.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
            psi.Environment.Remove("ENTK_FAULT_INJECTION");
            if (env is not null) foreach (var kv in env) psi.Environment[kv.Key] = kv.Value;
            return Process.Start(psi)!;
        }

        public static CliResult Run(IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null, int timeoutSeconds = 300)
        {
            var sw = Stopwatch.StartNew();
            using var p = Start(args, env);
            var so = p.StandardOutput.ReadToEndAsync();
            var se = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(timeoutSeconds * 1000))
            {
                p.Kill(true);
                p.WaitForExit();
                Assert.Fail($"entk {string.Join(" ", args)} did not finish within {timeoutSeconds} s");
            }
            p.WaitForExit();
            return new CliResult(p.ExitCode, so.Result, se.Result, sw.Elapsed.TotalSeconds);
        }
    }
}

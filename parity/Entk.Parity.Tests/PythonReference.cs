using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Text.Json;
using System.Text.Json.Nodes;
using NUnit.Framework;
using Python.Runtime;

namespace Entk.Parity.Tests
{
    /// <summary>
    /// Starts the in-process Python reference once for the whole assembly and removes the case folders at the end.
    /// </summary>
    [SetUpFixture]
    public sealed class ParitySetUp
    {
        [OneTimeSetUp]
        public void StartPython() => PythonReference.Start();

        [OneTimeTearDown]
        public void RemoveCases() => CaseStore.Cleanup();
    }

    /// <summary>
    /// The Python reference (<c>entk_ref</c>, Debian's python3 with numpy, scipy and torch 1.13) hosted in this
    /// process by pythonnet. Before pythonnet is touched, the interpreter is probed as a subprocess; if it lacks
    /// numpy/scipy/torch (or libpython is missing) every parity test is skipped with the reason, or fails with it
    /// under ENTK_REQUIRE_PYTHON=1. All calls take the GIL; arguments and results travel as JSON strings through
    /// <c>parity/Entk.Parity.Tests/python/entk_parity_support.py</c> (doubles round-trip exactly: Python writes the
    /// shortest repr, .NET parses it correctly rounded).
    /// </summary>
    internal static class PythonReference
    {
        private static readonly object Gate = new();
        private static bool started;
        private static string? unavailable;
        private static PyObject? support;

        /// <summary>Versions reported by the probe (for logs and snapshot provenance).</summary>
        public static string Versions { get; private set; } = "";

        /// <summary>Why the reference is unavailable, or null.</summary>
        public static string? UnavailableReason
        {
            get { lock (Gate) return started ? unavailable : "not started"; }
        }

        /// <summary>Probes the interpreter and initialises pythonnet (once).</summary>
        public static void Start()
        {
            lock (Gate)
            {
                if (started) return;
                started = true;
                try
                {
                    unavailable = StartCore();
                }
                catch (Exception ex)
                {
                    unavailable = "starting the embedded Python failed: " + ex.GetType().Name + ": " + ex.Message;
                }
                TestContext.Progress.WriteLine(unavailable is null
                    ? "parity: Python reference ready: " + Versions
                    : "parity: Python reference unavailable: " + unavailable);
            }
        }

        /// <summary>Skips or fails the current test when the reference is unavailable.</summary>
        public static void Require()
        {
            Start();
            string? reason = UnavailableReason;
            if (reason is not null) ParityEnvironment.Unavailable(reason);
        }

        /// <summary>Calls <c>entk_ref.bridge.FUNCTIONS[function](**args)</c>; returns its JSON.</summary>
        public static JsonObject Bridge(string function, object args) => Invoke("call", function, args);

        /// <summary>Calls a function of the glue module with one JSON argument; returns its JSON.</summary>
        public static JsonObject Support(string function, object args) => Invoke(function, null, args);

        private static JsonObject Invoke(string supportFunction, string? bridgeFunction, object args)
        {
            Require();
            string json = JsonSerializer.Serialize(args);
            var sw = Stopwatch.StartNew();
            string result;
            using (Py.GIL())
            {
                try
                {
                    using PyObject fn = support!.GetAttr(supportFunction);
                    using PyObject r = bridgeFunction is null
                        ? fn.Invoke(new PyString(json))
                        : fn.Invoke(new PyString(bridgeFunction), new PyString(json));
                    result = r.As<string>();
                }
                catch (PythonException ex)
                {
                    throw new InvalidOperationException(
                        "Python " + (bridgeFunction ?? supportFunction) + "(" + json + ") raised:\n" + ex.Format(), ex);
                }
            }
            TestContext.Progress.WriteLine("parity: python " + (bridgeFunction ?? supportFunction) + " " + Shorten(json)
                + " took " + sw.Elapsed.TotalSeconds.ToString("F1", System.Globalization.CultureInfo.InvariantCulture) + " s");
            return JsonNode.Parse(result)?.AsObject() ?? throw new InvalidOperationException("null result from Python");
        }

        private static string Shorten(string s) => s.Length <= 160 ? s : s.Substring(0, 157) + "...";

        private static string? StartCore()
        {
            string py = ParityEnvironment.PythonExecutable;
            if (!File.Exists(py)) return py + " does not exist (install Debian's python3 with python3-numpy python3-scipy python3-torch, --no-install-recommends)";

            // 1. Probe in a subprocess first: importing a missing package in-process would leave pythonnet half-initialised.
            const string probe =
                "import json, sys, sysconfig, numpy, scipy, torch\n" +
                "print(json.dumps({'python': sys.version.split()[0], 'libdir': sysconfig.get_config_var('LIBDIR'),\n" +
                "  'soname': sysconfig.get_config_var('INSTSONAME'), 'numpy': numpy.__version__, 'scipy': scipy.__version__,\n" +
                "  'torch': torch.__version__}))\n";
            var (code, stdout, stderr) = RunProcess(py, new[] { "-c", probe }, TimeSpan.FromMinutes(3));
            if (code != 0)
            {
                string last = LastLine(stderr);
                return py + " cannot import numpy, scipy and torch (" + last + "); install python3-numpy python3-scipy python3-torch "
                    + "(apt-get install --no-install-recommends)";
            }
            JsonObject info = JsonNode.Parse(LastLine(stdout))!.AsObject();
            string libdir = (string?)info["libdir"] ?? "";
            string soname = (string?)info["soname"] ?? "";
            string dll = Path.Combine(libdir, soname);
            if (!File.Exists(dll)) return "libpython not found at " + dll + " (Debian package libpython3.11)";
            Versions = "python " + info["python"] + ", numpy " + info["numpy"] + ", scipy " + info["scipy"] + ", torch " + info["torch"] + " (" + dll + ")";

            // 2. Host it: the same interpreter's libpython, initialised once; release the GIL so NUnit worker threads can take it.
            Runtime.PythonDLL = dll;
            PythonEngine.Initialize();
            PythonEngine.BeginAllowThreads();
            using (Py.GIL())
            {
                using PyObject sys = Py.Import("sys");
                using PyObject path = sys.GetAttr("path");
                path.InvokeMethod("insert", new PyInt(0), new PyString(ParityEnvironment.ReferencePythonDirectory));
                path.InvokeMethod("insert", new PyInt(0), new PyString(ParityEnvironment.PythonSupportDirectory));
                // pythonnet takes sys.executable from PATH (the pyenv shim here); anything spawning Python must get Debian's.
                sys.SetAttr("executable", new PyString(py));
                support = Py.Import("entk_parity_support");
                using PyObject v = support.InvokeMethod("versions");
                Versions += "; in-process " + v.As<string>();
            }
            return null;
        }

        private static string LastLine(string s)
        {
            string[] lines = s.Trim().Split('\n');
            return lines.Length == 0 ? "" : lines[^1].Trim();
        }

        /// <summary>Runs a process, returns exit code and outputs (kills it on timeout).</summary>
        internal static (int Code, string Stdout, string Stderr) RunProcess(string exe, IReadOnlyList<string> args, TimeSpan timeout,
            IReadOnlyDictionary<string, string>? environment = null)
        {
            var psi = new ProcessStartInfo(exe)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string a in args) psi.ArgumentList.Add(a);
            if (environment is not null)
                foreach (var kv in environment) psi.Environment[kv.Key] = kv.Value;
            using var p = new Process { StartInfo = psi };
            var so = new System.Text.StringBuilder();
            var se = new System.Text.StringBuilder();
            p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (so) so.AppendLine(e.Data); };
            p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (se) se.AppendLine(e.Data); };
            p.Start();
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            if (!p.WaitForExit((int)timeout.TotalMilliseconds))
            {
                try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                p.WaitForExit();
                return (-1, so.ToString(), se + "\n(timed out after " + timeout + ")");
            }
            p.WaitForExit();
            return (p.ExitCode, so.ToString(), se.ToString());
        }
    }
}

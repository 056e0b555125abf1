using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Entk.IO;
using NUnit.Framework;

namespace Entk.Tests.IO
{
    /// <summary>Temporary directories, deterministic test arrays and corruption helpers.</summary>
    internal static class IoTestUtil
    {
        public static string NewTempDir(string tag)
        {
            string d = Path.Combine(Path.GetTempPath(), "entk-io-" + tag + "-" + Guid.NewGuid().ToString("N").Substring(0, 8));
            Directory.CreateDirectory(d);
            return d;
        }

        public static void DeleteDir(string? dir)
        {
            if (dir != null && Directory.Exists(dir)) Directory.Delete(dir, true);
        }

        public static readonly ElementType[] AllTypes =
            { ElementType.Float64, ElementType.Float32, ElementType.Int64, ElementType.Int32, ElementType.Bool, ElementType.UInt8 };

        public static readonly int[][] ShapesRank0To3 =
        {
            Array.Empty<int>(), new[] { 5 }, new[] { 3, 4 }, new[] { 2, 3, 4 }, new[] { 0 }, new[] { 0, 3 }, new[] { 3, 0, 2 }, new[] { 1, 1, 1 },
        };

        /// <summary>
        /// A deterministic array whose element i is the value of the same formula the Python scripts
        /// use: float (i·0.5 − 3), int (i − 5, and extremes), bool (i mod 3 == 0), uint8 (i·7 mod 256).
        /// </summary>
        public static NdArray Formula(ElementType t, params int[] shape)
        {
            int n = 1;
            foreach (int d in shape) n *= d;
            switch (t)
            {
                case ElementType.Float64: return NdArray.FromDoubles(Enumerable.Range(0, n).Select(i => i * 0.5 - 3).ToArray(), shape);
                case ElementType.Float32: return NdArray.FromSingles(Enumerable.Range(0, n).Select(i => (float)(i * 0.5 - 3)).ToArray(), shape);
                case ElementType.Int64: return NdArray.FromInt64s(Enumerable.Range(0, n).Select(i => (long)i - 5).ToArray(), shape);
                case ElementType.Int32: return NdArray.FromInt32s(Enumerable.Range(0, n).Select(i => i - 5).ToArray(), shape);
                case ElementType.Bool: return NdArray.FromBools(Enumerable.Range(0, n).Select(i => i % 3 == 0).ToArray(), shape);
                default: return NdArray.FromBytes(Enumerable.Range(0, n).Select(i => (byte)(i * 7 % 256)).ToArray(), shape);
            }
        }

        /// <summary>Random array with awkward values (NaN, ±0, ±inf, subnormals, extremes) mixed in.</summary>
        public static NdArray Random(ElementType t, int seed, params int[] shape)
        {
            var rng = new Random(seed);
            int n = 1;
            foreach (int d in shape) n *= d;
            double[] specials = { double.NaN, -0.0, 0.0, double.PositiveInfinity, double.NegativeInfinity, double.Epsilon, double.MaxValue, -double.MinValue };
            switch (t)
            {
                case ElementType.Float64:
                    return NdArray.FromDoubles(Enumerable.Range(0, n).Select(i => i < specials.Length ? specials[i] : rng.NextDouble() * 2e3 - 1e3).ToArray(), shape);
                case ElementType.Float32:
                    return NdArray.FromSingles(Enumerable.Range(0, n).Select(i => i < specials.Length ? (float)specials[i] : (float)(rng.NextDouble() * 2e3 - 1e3)).ToArray(), shape);
                case ElementType.Int64:
                    return NdArray.FromInt64s(Enumerable.Range(0, n).Select(i => i == 0 ? long.MinValue : i == 1 ? long.MaxValue : rng.NextInt64(long.MinValue, long.MaxValue)).ToArray(), shape);
                case ElementType.Int32:
                    return NdArray.FromInt32s(Enumerable.Range(0, n).Select(i => i == 0 ? int.MinValue : i == 1 ? int.MaxValue : rng.Next(int.MinValue, int.MaxValue)).ToArray(), shape);
                case ElementType.Bool:
                    return NdArray.FromBools(Enumerable.Range(0, n).Select(_ => rng.Next(2) == 1).ToArray(), shape);
                default:
                    return NdArray.FromBytes(Enumerable.Range(0, n).Select(_ => (byte)rng.Next(256)).ToArray(), shape);
            }
        }

        /// <summary>Asserts that the action throws <see cref="EntkFormatException"/> naming the file; returns it.</summary>
        public static EntkFormatException AssertFormatError(Action action, string path, string context = "")
        {
            EntkFormatException? caught = null;
            try { action(); }
            catch (EntkFormatException e) { caught = e; }
            catch (Exception e) { Assert.Fail(context + ": expected EntkFormatException, got " + e.GetType().Name + ": " + e.Message); }
            Assert.That(caught, Is.Not.Null, context + ": expected EntkFormatException, but reading succeeded");
            Assert.That(caught!.Path, Is.EqualTo(path), context);
            Assert.That(caught.Message, Does.StartWith("Cannot read '" + path + "': "), context);
            return caught;
        }

        /// <summary>Byte ranges [start, end) of every ZIP entry's (compressed) data, from the local headers.</summary>
        public static List<(int Start, int End)> ZipDataRanges(byte[] zip)
        {
            var ranges = new List<(int, int)>();
            // Walk the central directory (end record → entries → local headers).
            int eocd = -1;
            for (int i = zip.Length - 22; i >= 0; i--)
                if (zip[i] == 0x50 && zip[i + 1] == 0x4b && zip[i + 2] == 5 && zip[i + 3] == 6) { eocd = i; break; }
            Assert.That(eocd, Is.GreaterThanOrEqualTo(0), "test zip has an end record");
            int count = BitConverter.ToUInt16(zip, eocd + 10);
            int cd = BitConverter.ToInt32(zip, eocd + 16);
            for (int e = 0; e < count; e++)
            {
                long csize = BitConverter.ToUInt32(zip, cd + 20);
                int nameLen = BitConverter.ToUInt16(zip, cd + 28), extraLen = BitConverter.ToUInt16(zip, cd + 30), commentLen = BitConverter.ToUInt16(zip, cd + 32);
                int local = BitConverter.ToInt32(zip, cd + 42);
                int lNameLen = BitConverter.ToUInt16(zip, local + 26), lExtraLen = BitConverter.ToUInt16(zip, local + 28);
                int start = local + 30 + lNameLen + lExtraLen;
                ranges.Add((start, (int)(start + csize)));
                cd += 46 + nameLen + extraLen + commentLen;
            }
            return ranges;
        }
    }

    /// <summary>
    /// Runs Debian's /usr/bin/python3 for interop checks. Missing Python/numpy/torch skips the test
    /// with a reason, unless ENTK_REQUIRE_PYTHON=1, which turns it into a failure.
    /// </summary>
    internal static class Py
    {
        public const string Exe = "/usr/bin/python3";
        private static readonly Lazy<string?> NumpyProblem = new(() => Probe("import numpy"));
        private static readonly Lazy<string?> TorchProblem = new(() => Probe("import numpy, torch"));

        public static void RequireNumpy() => Require(NumpyProblem.Value, "numpy", "python3-numpy");

        public static void RequireTorch() => Require(TorchProblem.Value, "torch", "python3-torch");

        private static void Require(string? problem, string what, string package)
        {
            if (problem is null) return;
            string msg = Exe + " with " + what + " is not available (" + problem + "); apt-get install --no-install-recommends " + package;
            if (Environment.GetEnvironmentVariable("ENTK_REQUIRE_PYTHON") == "1") Assert.Fail("ENTK_REQUIRE_PYTHON=1 but " + msg);
            Assert.Ignore(msg);
        }

        private static string? Probe(string code)
        {
            if (!File.Exists(Exe)) return Exe + " not found";
            try
            {
                var r = Run(code, Array.Empty<string>(), 120, throwOnError: false);
                return r.ExitCode == 0 ? null : r.StdErr.Trim().Split('\n').Last();
            }
            catch (Exception e)
            {
                return e.Message;
            }
        }

        public static string Run(string script, params string[] args) => Run(script, args, 120, throwOnError: true).StdOut;

        private static (int ExitCode, string StdOut, string StdErr) Run(string script, string[] args, int timeoutSeconds, bool throwOnError)
        {
            var psi = new ProcessStartInfo(Exe)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(script);
            foreach (var a in args) psi.ArgumentList.Add(a);
            psi.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
            psi.Environment["PYTHONUTF8"] = "1";
            psi.Environment.Remove("PYTHONPATH");
            psi.Environment.Remove("PYTHONHOME");
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(timeoutSeconds * 1000))
            {
                p.Kill(true);
                throw new TimeoutException("python did not finish within " + timeoutSeconds + " s");
            }
            p.WaitForExit();
            var r = (p.ExitCode, stdout.Result, stderr.Result);
            if (throwOnError && r.ExitCode != 0)
                Assert.Fail("python failed (exit " + r.ExitCode + "):\n" + r.Item3 + "\nstdout:\n" + r.Item2);
            return r;
        }
    }
}

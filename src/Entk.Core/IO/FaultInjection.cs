using System;
using System.Globalization;
using System.Threading;

namespace Entk.IO
{
    /// <summary>
    /// Test-only fault injection, off unless the environment variable <c>ENTK_FAULT_INJECTION</c> is set to
    /// <c>&lt;point&gt;:&lt;n&gt;</c>: the n-th time (1-based) the process reaches the named point, the fault happens.
    /// Points: <c>atomic-write-before-rename</c> (an <see cref="AtomicFile"/> write has written and flushed its
    /// temporary file but not yet renamed it: the process kills itself with SIGKILL, as <c>kill -9</c> would) and
    /// <c>internal-error</c> (the CLI throws an <see cref="InvalidOperationException"/> before its command runs, to test
    /// its error boundary). The variable is read once per process.
    /// </summary>
    internal static class FaultInjection
    {
        /// <summary>The environment variable.</summary>
        public const string Variable = "ENTK_FAULT_INJECTION";

        /// <summary>Kill the process between writing and renaming an atomic file's temporary.</summary>
        public const string AtomicWriteBeforeRename = "atomic-write-before-rename";

        /// <summary>Throw an internal error in the CLI before the command runs.</summary>
        public const string InternalError = "internal-error";

        private static readonly Lazy<(string point, long n)?> Setting = new(Read);
        private static long _hits;

        private static (string point, long n)? Read()
        {
            string? v = Environment.GetEnvironmentVariable(Variable);
            if (string.IsNullOrWhiteSpace(v)) return null;
            int colon = v.LastIndexOf(':');
            if (colon <= 0 || !long.TryParse(v.AsSpan(colon + 1), NumberStyles.Integer, CultureInfo.InvariantCulture, out long n) || n < 1) return (v.Trim(), 1);
            return (v.Substring(0, colon).Trim(), n);
        }

        /// <summary>Whether the named point is armed and this is its n-th hit.</summary>
        /// <param name="point">The point's name.</param>
        /// <returns>True when the fault must happen now.</returns>
        public static bool Hit(string point)
        {
            var s = Setting.Value;
            if (s is null || s.Value.point != point) return false;
            return Interlocked.Increment(ref _hits) == s.Value.n;
        }

        /// <summary>At an armed point's n-th hit, kills the process with SIGKILL (no managed clean-up runs).</summary>
        /// <param name="point">The point's name.</param>
        public static void KillIfHit(string point)
        {
            if (!Hit(point)) return;
            Console.Error.Flush();
            System.Diagnostics.Process.GetCurrentProcess().Kill();
            Thread.Sleep(Timeout.Infinite);
        }
    }
}

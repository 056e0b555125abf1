using System;
using System.Globalization;

namespace Entk
{
    /// <summary>
    /// An argument was rejected by Entk before any native code ran: wrong shape, non-finite value,
    /// empty input, out-of-range option or unknown name. <see cref="ArgumentException.ParamName"/>
    /// names the argument; <see cref="Expected"/> and <see cref="Actual"/> describe the mismatch.
    /// </summary>
    public class EntkArgumentException : ArgumentException
    {
        /// <summary>Creates the exception.</summary>
        /// <param name="paramName">Name of the offending argument (as the caller spells it).</param>
        /// <param name="expected">What was expected, in words (e.g. "shape [*, 2]").</param>
        /// <param name="actual">What was received, in words (e.g. "shape [4, 3]").</param>
        /// <param name="detail">Optional extra sentence.</param>
        public EntkArgumentException(string paramName, string expected, string actual, string? detail = null)
            : base(Compose(paramName, expected, actual, detail), paramName)
        {
            Expected = expected;
            Actual = actual;
        }

        /// <summary>What the argument should have been.</summary>
        public string Expected { get; }

        /// <summary>What the argument was.</summary>
        public string Actual { get; }

        private static string Compose(string paramName, string expected, string actual, string? detail) =>
            string.Format(CultureInfo.InvariantCulture, "Invalid argument '{0}': expected {1}, got {2}.{3}",
                paramName, expected, actual, detail is null ? "" : " " + detail);
    }

    /// <summary>An array or matrix argument has the wrong shape.</summary>
    public sealed class ShapeMismatchException : EntkArgumentException
    {
        /// <summary>Creates the exception.</summary>
        /// <param name="paramName">Name of the offending argument.</param>
        /// <param name="expected">Expected shape, in words (e.g. "[*, 2]").</param>
        /// <param name="actual">Actual shape, in words.</param>
        /// <param name="detail">Optional extra sentence.</param>
        public ShapeMismatchException(string paramName, string expected, string actual, string? detail = null)
            : base(paramName, "shape " + expected, "shape " + actual, detail) { }
    }

    /// <summary>A parameter, input or matrix contains NaN or ±Infinity.</summary>
    public sealed class NonFiniteValueException : EntkArgumentException
    {
        /// <summary>Creates the exception.</summary>
        /// <param name="paramName">Name of the offending argument.</param>
        /// <param name="where">Where the first non-finite value sits (e.g. "W[3, 1]").</param>
        /// <param name="value">The value found.</param>
        public NonFiniteValueException(string paramName, string where, double value)
            : base(paramName, "finite values", value.ToString("R", CultureInfo.InvariantCulture) + " at " + where) { }
    }

    /// <summary>
    /// The estimated memory of a computation exceeds the configured budget. Nothing was allocated.
    /// </summary>
    public sealed class MemoryBudgetExceededException : InvalidOperationException
    {
        /// <summary>Creates the exception.</summary>
        /// <param name="what">The object that would have been materialised.</param>
        /// <param name="estimateBytes">Estimated bytes.</param>
        /// <param name="budgetBytes">The budget in bytes.</param>
        /// <param name="alternatives">What the caller can do instead.</param>
        public MemoryBudgetExceededException(string what, long estimateBytes, long budgetBytes, string alternatives)
            : base(string.Format(CultureInfo.InvariantCulture,
                "Refusing to materialise {0}: estimated {1} exceeds the memory budget of {2}. {3}",
                what, FormatBytes(estimateBytes), FormatBytes(budgetBytes), alternatives))
        {
            EstimateBytes = estimateBytes;
            BudgetBytes = budgetBytes;
        }

        /// <summary>Estimated bytes of the refused computation.</summary>
        public long EstimateBytes { get; }

        /// <summary>The budget that was in force, in bytes.</summary>
        public long BudgetBytes { get; }

        /// <summary>Formats a byte count as a human-readable string (binary units).</summary>
        /// <param name="bytes">Byte count.</param>
        /// <returns>For example "2.38 GiB".</returns>
        public static string FormatBytes(long bytes)
        {
            if (bytes == long.MaxValue) return "more than 8 EiB (the size overflows 64-bit arithmetic)";
            string[] units = { "B", "KiB", "MiB", "GiB", "TiB" };
            double v = bytes;
            int u = 0;
            while (v >= 1024 && u < units.Length - 1) { v /= 1024; u++; }
            return string.Format(CultureInfo.InvariantCulture, u == 0 ? "{0:0} {1}" : "{0:0.##} {1}", v, units[u]);
        }
    }

    /// <summary>A file Entk reads is truncated, corrupted or not in the expected format.</summary>
    public sealed class EntkFormatException : FormatException
    {
        /// <summary>Creates the exception.</summary>
        /// <param name="path">The file.</param>
        /// <param name="problem">What is wrong with it.</param>
        /// <param name="inner">Underlying exception, if any.</param>
        public EntkFormatException(string path, string problem, Exception? inner = null)
            : base("Cannot read '" + path + "': " + problem, inner)
        {
            Path = path;
        }

        /// <summary>The offending file.</summary>
        public string Path { get; }
    }

    /// <summary>An output file already exists and overwriting was not allowed.</summary>
    public sealed class OutputExistsException : System.IO.IOException
    {
        /// <summary>Creates the exception.</summary>
        /// <param name="path">The existing file.</param>
        public OutputExistsException(string path)
            : base("Output '" + path + "' already exists; pass overwrite: true (CLI: --force) to replace it, or choose another path.")
        {
            Path = path;
        }

        /// <summary>Creates the exception with a reason in words, e.g. for a folder: "is not empty and holds files no Entk run wrote; …".</summary>
        /// <param name="path">The existing file or folder.</param>
        /// <param name="reason">Why it cannot be written, and what to do (a sentence that follows the quoted path).</param>
        public OutputExistsException(string path, string reason)
            : base("'" + path + "' " + reason)
        {
            Path = path;
        }

        /// <summary>The existing file.</summary>
        public string Path { get; }
    }

    /// <summary>A native (libtorch/LAPACK) operation failed; the message carries the native error and the context.</summary>
    public sealed class EntkNativeException : Exception
    {
        /// <summary>Creates the exception.</summary>
        /// <param name="operation">What Entk was doing.</param>
        /// <param name="inner">The native exception.</param>
        public EntkNativeException(string operation, Exception inner)
            : base(operation + " failed in native code: " + inner.Message, inner) { }
    }
}

using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

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
            Detail = detail;
        }

        /// <summary>What the argument should have been.</summary>
        public string Expected { get; }

        /// <summary>What the argument was.</summary>
        public string Actual { get; }

        /// <summary>The extra sentence of the message (e.g. what to do instead), or null.</summary>
        public string? Detail { get; }

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
            : base(paramName, "finite values", value.ToString("R", CultureInfo.InvariantCulture) + " at " + where)
        {
            Where = where;
            Value = value;
        }

        /// <summary>Where the first non-finite value sits, e.g. "W[3, 1]" or "row 4, column 2".</summary>
        public string Where { get; }

        /// <summary>The non-finite value found (NaN, +Infinity or −Infinity).</summary>
        public double Value { get; }
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
            What = what;
            EstimateBytes = estimateBytes;
            BudgetBytes = budgetBytes;
            Alternatives = alternatives;
        }

        /// <summary>The object that would have been materialised, in words (e.g. "the flattened eNTK (25000 × 25000)").</summary>
        public string What { get; }

        /// <summary>What the caller can do instead, in words.</summary>
        public string Alternatives { get; }

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
            Problem = problem;
        }

        /// <summary>The offending file.</summary>
        public string Path { get; }

        /// <summary>What is wrong with it, in words.</summary>
        public string Problem { get; }
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
            Reason = reason;
        }

        /// <summary>The existing file.</summary>
        public string Path { get; }

        /// <summary>Why it cannot be written, when the exception was created with a reason; otherwise null.</summary>
        public string? Reason { get; }
    }

    /// <summary>A native (libtorch/LAPACK) operation failed; the message carries the native error and the context.</summary>
    public sealed class EntkNativeException : Exception
    {
        /// <summary>Creates the exception.</summary>
        /// <param name="operation">What Entk was doing.</param>
        /// <param name="inner">The native exception.</param>
        public EntkNativeException(string operation, Exception inner)
            : base(operation + " failed in native code: " + inner?.Message, inner)
        {
            Operation = operation;
        }

        /// <summary>What Entk was doing, e.g. "symmetric eigendecomposition (eigh)".</summary>
        public string Operation { get; }
    }

    /// <summary>
    /// An iterative solver stopped without converging (e.g. Lanczos ran out of operator applications). Carries the
    /// residuals at the last check, the work done and the tolerance that was not met, so that a caller can decide to retry
    /// with a larger budget or accept the approximation.
    /// </summary>
    public sealed class EntkNonConvergenceException : InvalidOperationException
    {
        private readonly double[] _residuals;

        /// <summary>Creates the exception.</summary>
        /// <param name="operation">The solver and problem, e.g. "Lanczos (top 200 of 25000)".</param>
        /// <param name="residuals">The convergence measure of every wanted pair at the last check (copied), in the solver's units (Lanczos: ‖K·u − θ·u‖ / |θ_max|).</param>
        /// <param name="applications">Operator applications (or iterations) spent.</param>
        /// <param name="tolerance">The tolerance every residual had to meet.</param>
        /// <param name="detail">Optional extra sentence (e.g. which option to raise).</param>
        public EntkNonConvergenceException(string operation, IReadOnlyList<double> residuals, long applications, double tolerance, string? detail = null)
            : base(Compose(operation, residuals, applications, tolerance, detail))
        {
            Operation = operation;
            _residuals = residuals is null ? Array.Empty<double>() : residuals.ToArray();
            Residuals = Array.AsReadOnly(_residuals);
            Applications = applications;
            Tolerance = tolerance;
            Detail = detail;
        }

        /// <summary>The solver and problem.</summary>
        public string Operation { get; }

        /// <summary>The residual of every wanted pair at the last check (a read-only copy), in the solver's units.</summary>
        public IReadOnlyList<double> Residuals { get; }

        /// <summary>The largest of <see cref="Residuals"/> (NaN when there are none).</summary>
        public double WorstResidual => _residuals.Length == 0 ? double.NaN : _residuals.Max();

        /// <summary>Operator applications (or iterations) spent.</summary>
        public long Applications { get; }

        /// <summary>The tolerance every residual had to meet.</summary>
        public double Tolerance { get; }

        /// <summary>The extra sentence of the message, or null.</summary>
        public string? Detail { get; }

        private static string Compose(string operation, IReadOnlyList<double>? residuals, long applications, double tolerance, string? detail)
        {
            double worst = residuals is null || residuals.Count == 0 ? double.NaN : residuals.Max();
            return string.Format(CultureInfo.InvariantCulture, "{0} did not converge within {1} applications (worst residual {2:E2}, tolerance {3:E2}).{4}",
                operation, applications, worst, tolerance, detail is null ? "" : " " + detail);
        }
    }

    /// <summary>
    /// A model returned outputs of the wrong shape (e.g. a wrapped TorchSharp module whose forward does not return
    /// [samples, outputs]). Nothing was computed from them.
    /// </summary>
    public sealed class ModelOutputShapeException : InvalidOperationException
    {
        /// <summary>Creates the exception.</summary>
        /// <param name="modelName">The model's name.</param>
        /// <param name="expected">The expected output shape, e.g. "[12, 3]".</param>
        /// <param name="actual">The shape it returned, e.g. "[12, 1, 3]".</param>
        /// <param name="detail">Optional extra sentence (e.g. "for one sample").</param>
        public ModelOutputShapeException(string modelName, string expected, string actual, string? detail = null)
            : base("Model '" + modelName + "' returned shape " + actual + "; expected " + expected + "." + (detail is null ? "" : " " + detail))
        {
            ModelName = modelName;
            Expected = expected;
            Actual = actual;
            Detail = detail;
        }

        /// <summary>The model's name.</summary>
        public string ModelName { get; }

        /// <summary>The expected output shape.</summary>
        public string Expected { get; }

        /// <summary>The shape the model returned.</summary>
        public string Actual { get; }

        /// <summary>The extra sentence of the message, or null.</summary>
        public string? Detail { get; }
    }
}

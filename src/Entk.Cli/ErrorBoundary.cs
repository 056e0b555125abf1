using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Entk.IO;

namespace Entk.Cli
{
    /// <summary>A bad command line, worded with the CLI's flags. Exit code 2.</summary>
    internal sealed class UsageException : Exception
    {
        public UsageException(string message, Exception? inner = null)
            : base(message, inner)
        {
        }

        /// <summary>The library's rejection of an argument, reworded with the flag that set it.</summary>
        public static UsageException From(EntkArgumentException e, IReadOnlyDictionary<string, string> flags)
        {
            string name = e.ParamName ?? "?";
            var parts = name.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(n => flags.TryGetValue(n, out var f) ? f : n).Distinct().ToArray();
            string flag = string.Join(" / ", parts);
            return new UsageException(string.Format(CultureInfo.InvariantCulture, "invalid {0}: expected {1}, got {2}.", flag, e.Expected, e.Actual), e);
        }
    }

    /// <summary>
    /// The CLI's top-level error boundary: no exception reaches the console as a .NET stack trace.
    /// A user error (a bad option or file, an existing output, a request over the memory budget, an I/O failure) prints one
    /// line "error: …" on stderr and exits with 2. Anything else is an internal error: one line naming a log file that holds
    /// the full trace (written atomically under the temporary folder's entk-logs/), exit code 1.
    /// An <see cref="EntkArgumentException"/> counts as a user error until <see cref="BeginWork"/> (every option has been
    /// validated by then), and as an internal error after it.
    /// </summary>
    internal static class ErrorBoundary
    {
        public const int UserError = 2;
        public const int InternalError = 1;

        private static bool _workStarted;
        private static string _sizeHint = "Use smaller sizes (see the command's --help).";

        /// <summary>Marks the end of validation: from now on a rejected argument is Entk's bug, not the user's.</summary>
        public static void BeginWork() => _workStarted = true;

        /// <summary>What the user can change when a request is over the memory budget (set by the command's validation).</summary>
        public static void SetSizeHint(string hint) => _sizeHint = hint;

        /// <summary>Resets the per-invocation state (Main may run more than once in one process, e.g. in tests).</summary>
        public static void Reset()
        {
            _workStarted = false;
            _sizeHint = "Use smaller sizes (see the command's --help).";
        }

        /// <summary>Handles an exception that escaped a command: prints one line and returns the exit code.</summary>
        public static int Handle(Exception e, IReadOnlyList<string> args)
        {
            if (e is AggregateException { InnerExceptions.Count: 1 } ag) e = ag.InnerExceptions[0];
            if (e is System.Reflection.TargetInvocationException { InnerException: { } inner }) e = inner;
            string? user = UserMessage(e);
            if (!Console.IsErrorRedirected) Console.Error.WriteLine();
            if (user is not null)
            {
                Console.Error.WriteLine("error: " + OneLine(user));
                return UserError;
            }
            string log;
            try
            {
                log = WriteLog(e, args);
            }
            catch (Exception le)
            {
                Console.Error.WriteLine("error: internal error (" + Describe(e) + "); this is a bug in Entk. The full trace could not be written: " + OneLine(le.Message));
                return InternalError;
            }
            Console.Error.WriteLine("error: internal error (" + Describe(e) + "); this is a bug in Entk. The full trace is in " + log);
            return InternalError;
        }

        /// <summary>The message for a user error, or null for an internal error.</summary>
        private static string? UserMessage(Exception e)
        {
            switch (e)
            {
                case UsageException:
                    return e.Message;
                case OutputExistsException oe:
                    return oe.Message == new OutputExistsException(oe.Path).Message
                        ? "'" + oe.Path + "' already exists; --force replaces it, or choose another output path."
                        : oe.Message;
                case EntkFormatException:
                    return e.Message;
                case MemoryBudgetExceededException me:
                {
                    // keep the library's "Refusing to materialise …: estimated … exceeds the memory budget of …." and word the remedy with flags
                    string budget = "exceeds the memory budget of " + MemoryBudgetExceededException.FormatBytes(me.BudgetBytes) + ".";
                    int at = me.Message.IndexOf(budget, StringComparison.Ordinal);
                    string head = at < 0 ? me.Message : me.Message.Substring(0, at + budget.Length);
                    return head + " " + _sizeHint + " Nothing was computed.";
                }
                case EntkArgumentException ae when !_workStarted:
                    return ae.Message;
                case FileNotFoundException or DirectoryNotFoundException or PathTooLongException or UnauthorizedAccessException:
                    return e.Message;
                case IOException when e.GetType() == typeof(IOException):
                    return e.Message;   // the operating system's word on a failed read or write (no space left, read-only file system, …)
                default:
                    return null;
            }
        }

        private static string Describe(Exception e)
        {
            string what = e.GetType().Name + ": " + OneLine(e.Message);
            if (e is OutOfMemoryException || (e is System.Runtime.InteropServices.ExternalException && e.Message.Contains("allocate", StringComparison.OrdinalIgnoreCase)))
                what = "out of memory in an allocation the memory budget did not foresee; " + what;
            return what.Length > 300 ? what.Substring(0, 297) + "…" : what;
        }

        private static string OneLine(string message)
        {
            var first = message.Replace("\r", "", StringComparison.Ordinal).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return first.Length == 0 ? "" : first.Length == 1 ? first[0] : string.Join(" ", first.Take(3)) + (first.Length > 3 ? " …" : "");
        }

        /// <summary>Writes the full trace atomically to a new file under the temporary folder and returns its path.</summary>
        private static string WriteLog(Exception e, IReadOnlyList<string> args)
        {
            string dir = Path.Combine(Path.GetTempPath(), "entk-logs");
            string name = string.Format(CultureInfo.InvariantCulture, "entk-error-{0:yyyyMMdd-HHmmss}-{1}.log", DateTime.UtcNow, Environment.ProcessId);
            string path = Path.Combine(dir, name);
            string text = string.Format(CultureInfo.InvariantCulture,
                "Entk internal error\ntime (UTC): {0:o}\nentk: {1}\ncommand: entk {2}\nworking folder: {3}\n\n{4}\n",
                DateTime.UtcNow, EntkInfo.Version, string.Join(" ", args.Select(Quote)), Environment.CurrentDirectory, e);
            AtomicFile.WriteAllText(path, text, overwrite: true);
            return path;
        }

        private static string Quote(string a) => a.Length > 0 && a.All(c => char.IsLetterOrDigit(c) || "-_./=,:+".Contains(c)) ? a : "'" + a.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }
}

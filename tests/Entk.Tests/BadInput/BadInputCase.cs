using System;
using System.Collections.Generic;
using System.Linq;

namespace Entk.Tests.BadInput
{
    /// <summary>The catalogue's categories (reported with their sizes by <see cref="BadInputCatalogueTests.Catalogue_Size"/>).</summary>
    public enum BadInputCategory
    {
        /// <summary>Command-line options: out of range, unparsable, contradictory, missing, and option combinations that once crashed.</summary>
        CliOptions,
        /// <summary>Files and folders: output paths, existing outputs, corrupt or foreign input files.</summary>
        Files,
        /// <summary>Library arguments that must be refused with a typed error naming the argument.</summary>
        LibraryArguments,
        /// <summary>Numeric extremes: huge or tiny learning rates, seeds, exponents; diverging training.</summary>
        NumericExtremes,
        /// <summary>Sizes whose arrays would not fit: refused by the memory budget before any allocation.</summary>
        Sizes,
        /// <summary>Faults: interrupted runs, stale temporaries, damaged markers and manifests, internal errors.</summary>
        Faults,
    }

    /// <summary>
    /// One catalogued bad input and what must happen: a CLI case (child process; exit code, a text of the one error line or
    /// of the output) or a library case (in process; the typed exception and the argument it names, or a check that must
    /// hold). <see cref="Lead"/> marks engine cases that wait for the kernel-engine rewrite: they are listed, not run.
    /// </summary>
    public sealed record BadInputCase(BadInputCategory Category, string Name)
    {
        /// <summary>CLI arguments; "{out}" is a fresh, not yet existing folder, "{dir}" the case's scratch folder.</summary>
        public IReadOnlyList<string>? Args { get; init; }

        /// <summary>Expected exit code of the CLI (0, 1 or 2; never ≥ 128).</summary>
        public int ExitCode { get; init; }

        /// <summary>Text the error line (or, for exit code 0, the output) must contain.</summary>
        public string? Expect { get; init; }

        /// <summary>Environment variables for the child process.</summary>
        public IReadOnlyDictionary<string, string>? Env { get; init; }

        /// <summary>Prepares the scratch folder before the CLI runs (argument: the scratch folder).</summary>
        public Action<string>? Arrange { get; init; }

        /// <summary>Checks the scratch folder after the CLI ran (arguments: the scratch folder, the output).</summary>
        public Action<string, string>? Verify { get; init; }

        /// <summary>Library case: the code under test (argument: a scratch folder).</summary>
        public Action<string>? Act { get; init; }

        /// <summary>Library case: the exception type expected (null: <see cref="Act"/> must complete; it asserts itself).</summary>
        public Type? Throws { get; init; }

        /// <summary>Library case: the <see cref="ArgumentException.ParamName"/> expected, or a text of the message.</summary>
        public string? Names { get; init; }

        /// <summary>Set for engine cases owned by the lead's kernel-engine rewrite: the reason; the case is listed but ignored.</summary>
        public string? Lead { get; init; }

        /// <summary>Whether this is a CLI case.</summary>
        public bool IsCli => Args is not null;

        /// <inheritdoc />
        public override string ToString() => Category + ": " + Name;

        /// <summary>The case with a description appended to its name (for cases whose arguments repeat another's).</summary>
        public BadInputCase Named(string what) => this with { Name = Name + " [" + what + "]" };

        /// <summary>Marks the case as waiting for the kernel-engine rewrite.</summary>
        public BadInputCase ForLead(string reason) => this with { Lead = reason };

        /// <summary>A CLI case: expected exit code, a text of the error line (or output) and the arguments.</summary>
        public static BadInputCase Cmd(BadInputCategory category, int exitCode, string? expect, params string[] args) =>
            new(category, "entk " + string.Join(" ", args.Select(a => a.Length == 0 ? "''" : a.Contains(' ') ? "'" + a + "'" : a))) { Args = args, ExitCode = exitCode, Expect = expect };

        /// <summary>A library case expecting a typed exception naming an argument (or with a text in its message).</summary>
        public static BadInputCase Lib<TException>(BadInputCategory category, string name, Action<string> act, string? names = null) where TException : Exception =>
            new(category, name) { Act = act, Throws = typeof(TException), Names = names };

        /// <summary>A library case that must complete; the action asserts what must hold.</summary>
        public static BadInputCase Ok(BadInputCategory category, string name, Action<string> act) => new(category, name) { Act = act };
    }
}

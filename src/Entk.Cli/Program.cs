using System;
using System.CommandLine;
using System.Linq;
using System.Threading.Tasks;

namespace Entk.Cli
{
    /// <summary>The `entk` command.</summary>
    public static class Program
    {
        /// <summary>
        /// Entry point. Exit codes: 0 success, 1 internal error (one line naming a log file with the full trace),
        /// 2 user error (one line "error: …" on stderr). No .NET stack trace reaches the console.
        /// </summary>
        /// <param name="args">Arguments.</param>
        /// <returns>Exit code.</returns>
        public static async Task<int> Main(string[] args)
        {
            ErrorBoundary.Reset();
            try
            {
                EntkRuntime.Configure();
                var root = Commands.BuildRoot();
                var parse = root.Parse(args);
                if (parse.Action is System.CommandLine.Invocation.ParseErrorAction)
                {
                    string command = string.Join(" ", parse.CommandResult.Command is var c && c != root ? Path(parse.CommandResult) : "entk");
                    Console.Error.WriteLine("error: " + string.Join("; ", parse.Errors.Select(e => e.Message.TrimEnd('.'))) + ". `" + command + " --help` lists the options.");
                    return ErrorBoundary.UserError;
                }
                return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
            }
            catch (Exception e)
            {
                return ErrorBoundary.Handle(e, args);
            }
        }

        private static string Path(System.CommandLine.Parsing.CommandResult r)
        {
            var names = new System.Collections.Generic.List<string>();
            for (var s = r; s is not null; s = s.Parent as System.CommandLine.Parsing.CommandResult) names.Insert(0, s.Command.Name);
            return string.Join(" ", names);
        }
    }
}

using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using Entk.Experiments;

namespace Entk.Cli
{
    /// <summary>Builds the command tree.</summary>
    internal static partial class Commands
    {
        public static Command BuildRoot()
        {
            var root = new Command("entk", "entk — feature identification by eigenanalysis of the empirical neural tangent kernel (arXiv 2510.00468).");
            root.Options.Add(new System.CommandLine.Help.HelpOption());
            root.Options.Add(new VersionOption());
            var describe = new Command("describe", "Print versions, thread count, MKL presence and float type.");
            describe.SetAction(_ =>
            {
                Console.Out.Write(EntkInfo.Collect().ToString());
                return 0;
            });
            root.Subcommands.Add(describe);
            var reproduce = new Command("reproduce", "Reproduce the paper's experiments end to end (figures, report, raw arrays).");
            reproduce.Subcommands.Add(ReproduceTms());
            reproduce.Subcommands.Add(ReproduceMlp());
            reproduce.Subcommands.Add(ReproduceGrokking());
            reproduce.Subcommands.Add(ReproduceTransformer());
            reproduce.Subcommands.Add(ReproduceAll());
            root.Subcommands.Add(reproduce);
            root.Subcommands.Add(CustomTms());
            root.Subcommands.Add(CustomMlp());
            root.Subcommands.Add(CustomTransformer());
            root.Subcommands.Add(Ntk());
            root.Subcommands.Add(MemoryProbe());
            root.Subcommands.Add(Bench());
            root.Subcommands.Add(BenchTransformerCommand());
            root.Subcommands.Add(BenchWorker());
            return root;
        }

        // ---- shared options -------------------------------------------------------------------

        internal sealed class CommonOptions
        {
            public CommonOptions(long defaultSeed = 0)
            {
                Seed = new("--seed") { Description = "Seed of weights, data and split (integer).", DefaultValueFactory = _ => defaultSeed };
            }

            public Option<string> Out { get; } = new("--out") { Description = "Output folder (created if missing).", Required = true };
            public Option<long> Seed { get; }
            public Option<bool> Force { get; } = new("--force") { Description = "Replace existing outputs in the folder." };
            public Option<bool> Resume { get; } = new("--resume") { Description = "Continue an interrupted run: keep verified complete experiments, redo the rest." };

            public void AddTo(Command c)
            {
                c.Options.Add(Out);
                c.Options.Add(Seed);
                c.Options.Add(Force);
                c.Options.Add(Resume);
            }

            public OutputPolicy Policy(ParseResult p)
            {
                bool force = p.GetValue(Force), resume = p.GetValue(Resume);
                if (force && resume) throw new EntkArgumentException("--force/--resume", "at most one of them", "both");
                return force ? OutputPolicy.Overwrite : resume ? OutputPolicy.Resume : OutputPolicy.FailIfExists;
            }
        }

        /// <summary>
        /// Runs a command's action. Errors are handled by the error boundary in <see cref="Program.Main"/> (one line, exit code
        /// 2 for user errors, 1 with a log file for internal ones). The test-only fault injection can raise an internal error here.
        /// </summary>
        internal static int Guard(Func<int> action)
        {
            if (Entk.IO.FaultInjection.Hit(Entk.IO.FaultInjection.InternalError))
                throw new InvalidOperationException("injected internal error (" + Entk.IO.FaultInjection.Variable + ")");
            return action();
        }

        internal static IReadOnlyList<double> ParseDoubles(string text, string option)
        {
            var list = new List<double>();
            foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
                    throw new EntkArgumentException(option, "a comma-separated list of numbers (e.g. 0,1,0.3)", "'" + text + "'");
                list.Add(v);
            }
            if (list.Count == 0) throw new EntkArgumentException(option, "at least one number", "'" + text + "'");
            return list;
        }

        internal static IReadOnlyList<long> ParseSeeds(string text, string option = "--seeds")
        {
            var list = new List<long>();
            foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!long.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v))
                    throw new EntkArgumentException(option, "a comma-separated list of integers (e.g. 0,1,2)", "'" + text + "'");
                list.Add(v);
            }
            if (list.Count == 0 || list.Distinct().Count() != list.Count) throw new EntkArgumentException(option, "at least one seed, no repeats", "'" + text + "'");
            return list;
        }
    }
}

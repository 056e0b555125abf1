using System;
using System.CommandLine;

namespace Entk.Cli
{
    /// <summary>Builds the command tree.</summary>
    internal static class Commands
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
            return root;
        }
    }
}

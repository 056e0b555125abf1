using System;
using System.CommandLine;
using System.Threading.Tasks;

namespace Entk.Cli
{
    /// <summary>The `entk` command.</summary>
    public static class Program
    {
        /// <summary>Entry point.</summary>
        /// <param name="args">Arguments.</param>
        /// <returns>Exit code.</returns>
        public static async Task<int> Main(string[] args)
        {
            EntkRuntime.Configure();
            var root = Commands.BuildRoot();
            return await root.Parse(args).InvokeAsync();
        }
    }
}

using System;
using System.IO;
using NUnit.Framework;

namespace Entk.Tests
{
    [TestFixture]
    [NonParallelizable]
    public class CliTests
    {
        internal static (int code, string output) Run(params string[] args)
        {
            var oldOut = Console.Out;
            var oldErr = Console.Error;
            var sw = new StringWriter();
            try
            {
                Console.SetOut(sw);
                Console.SetError(sw);
                int code = Entk.Cli.Program.Main(args).GetAwaiter().GetResult();
                return (code, sw.ToString());
            }
            finally
            {
                Console.SetOut(oldOut);
                Console.SetError(oldErr);
            }
        }

        [Test]
        public void Help_ListsCommands()
        {
            var (code, output) = Run("--help");
            Assert.That(code, Is.EqualTo(0));
            Assert.That(output, Does.Contain("describe"));
        }

        [Test]
        public void Describe_ReportsVersionsThreadsMklAndFloatType()
        {
            var (code, output) = Run("describe");
            Assert.That(code, Is.EqualTo(0));
            Assert.That(output, Does.Contain("libtorch: 2.10"));
            Assert.That(output, Does.Match("threads: [0-9]+"));
            Assert.That(output, Does.Contain("mkl: Intel(R) oneAPI Math Kernel Library"));
            Assert.That(output, Does.Contain("float: float64"));
        }
    }
}

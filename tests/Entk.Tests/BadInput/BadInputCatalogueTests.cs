using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using NUnit.Framework;

namespace Entk.Tests.BadInput
{
    /// <summary>
    /// Runs <see cref="BadInputCatalogue"/>. Every CLI case runs `entk` in its own child process (in parallel; each in its own
    /// scratch folder) and asserts: the stated exit code; never death by a signal (exit code ≥ 128); no .NET stack trace on
    /// the console; on failure exactly one "error: …" line on stderr, containing the stated text (and, for an internal error,
    /// naming a log file that holds the trace). Library cases run in this process and assert the typed exception and the
    /// argument it names. Cases marked for the lead (engine rewrite) are listed and ignored.
    /// </summary>
    [TestFixture]
    [Parallelizable(ParallelScope.Children)]
    public class BadInputCatalogueTests
    {
        private static readonly Regex StackFrame = new(@"^\s+at \S+.*\(|Unhandled exception|^\s*frame #\d+", RegexOptions.Multiline);

        private static TestCaseData Data(BadInputCase c)
        {
            var d = new TestCaseData(c).SetName(Safe(c.ToString())).SetCategory(c.Category.ToString());
            return c.Lead is null ? d : d.Ignore("engine rewrite (lead): " + c.Lead);
        }

        // NUnit test names: keep them readable and free of characters that confuse filters.
        private static string Safe(string s) => s.Replace('(', '[').Replace(')', ']').Replace(",", ";", StringComparison.Ordinal).Replace("\"", "'", StringComparison.Ordinal);

        public static IEnumerable<TestCaseData> CliCases() => BadInputCatalogue.All.Where(c => c.IsCli).Select(Data);

        public static IEnumerable<TestCaseData> LibraryCases() => BadInputCatalogue.All.Where(c => !c.IsCli).Select(Data);

        private static string NewScratch()
        {
            string d = Path.Combine(Path.GetTempPath(), "entk-bad-" + Guid.NewGuid().ToString("N").Substring(0, 10));
            Directory.CreateDirectory(d);
            return d;
        }

        [TestCaseSource(nameof(CliCases))]
        public void Cli(BadInputCase c)
        {
            string dir = NewScratch();
            try
            {
                c.Arrange?.Invoke(dir);
                var args = c.Args!.Select(a => a.Replace("{out}", Path.Combine(dir, "out"), StringComparison.Ordinal).Replace("{dir}", dir, StringComparison.Ordinal)).ToArray();
                var r = CliProcess.Run(args, c.Env);
                string context = $"entk {string.Join(" ", args)}\n--- exit code {r.ExitCode}; stdout:\n{r.StdOut}\n--- stderr:\n{r.StdErr}";
                Assert.That(r.Signalled, Is.False, "the process died of a signal\n" + context);
                Assert.That(StackFrame.IsMatch(r.Output), Is.False, "a stack trace reached the console\n" + context);
                Assert.That(r.ExitCode, Is.EqualTo(c.ExitCode), context);
                if (c.ExitCode != 0)
                {
                    var lines = r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => !l.StartsWith('[')).ToArray();
                    Assert.That(lines, Has.Length.EqualTo(1), "one line on stderr (besides progress)\n" + context);
                    Assert.That(lines[0], Does.StartWith("error: "), context);
                    Assert.That(r.StdOut, Is.Empty, context);
                    if (c.Expect is not null) Assert.That(lines[0], Does.Contain(c.Expect), context);
                    if (c.ExitCode == 1)
                    {
                        var m = Regex.Match(lines[0], @"full trace is in (\S+\.log)");
                        Assert.That(m.Success, Is.True, "the line names the log file\n" + context);
                        string log = m.Groups[1].Value;
                        Assert.That(File.ReadAllText(log), Does.Contain("   at "), "the log holds the trace");
                        File.Delete(log);
                    }
                }
                else if (c.Expect is not null)
                {
                    Assert.That(r.Output, Does.Contain(c.Expect), context);
                }
                c.Verify?.Invoke(dir, r.Output);
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }

        [TestCaseSource(nameof(LibraryCases))]
        [NonParallelizable]
        public void Library(BadInputCase c)
        {
            string dir = NewScratch();
            try
            {
                if (c.Throws is null)
                {
                    c.Act!(dir);
                    return;
                }
                var ex = Assert.Catch(() => c.Act!(dir), c.ToString())!;
                Assert.That(ex, Is.InstanceOf(c.Throws), ex.ToString());
                if (c.Names is not null)
                {
                    if (ex is ArgumentException ae && ae.ParamName == c.Names) return;
                    Assert.That(ex.Message, Does.Contain(c.Names), "the exception names the argument (ParamName or message)");
                }
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }

        /// <summary>The catalogue's size by category (printed), with its floor of 80 cases.</summary>
        [Test]
        public void Catalogue_Size()
        {
            var all = BadInputCatalogue.All;
            foreach (var g in all.GroupBy(c => c.Category))
                TestContext.Out.WriteLine($"{g.Key}: {g.Count()} cases ({g.Count(c => c.IsCli)} CLI, {g.Count(c => !c.IsCli)} library; {g.Count(c => c.Lead is not null)} for the lead)");
            TestContext.Out.WriteLine($"total: {all.Count} cases; {all.Count(c => c.Lead is not null)} wait for the engine rewrite");
            Assert.That(all.Count, Is.GreaterThanOrEqualTo(80));
            Assert.That(Enum.GetValues<BadInputCategory>().All(cat => all.Count(c => c.Category == cat) >= 5), Is.True, "every category has cases");
            Assert.That(all.Select(c => c.ToString()).Distinct().Count(), Is.EqualTo(all.Count), "case names are unique");
        }
    }
}

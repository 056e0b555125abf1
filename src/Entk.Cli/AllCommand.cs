using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using Entk.Experiments;
using Entk.IO;
using Entk.Training;

namespace Entk.Cli
{
    internal static partial class Commands
    {
        private static Command ReproduceAll()
        {
            var c = new Command("all", "Every experiment of the paper (TMS, MLP, grokking) for each seed, plus OUT/index.md: each claim with the measured value and a verdict, seeds, versions and run time. Extra seeds go to OUT/seeds/seed<S>/.");
            var common = new CommonOptions();
            common.AddTo(c);
            var seeds = new Option<string>("--seeds") { Description = "Comma-separated seeds; the first one is the main run (OUT/tms, OUT/mlp, OUT/grokking), overrides --seed.", DefaultValueFactory = _ => "0,1,2" };
            c.Options.Add(seeds);
            c.SetAction(p => Guard(() =>
            {
                string outDir = Preflight.Out(p.GetValue(common.Out));
                // An option with a default always has a result; Implicit says whether the user gave it.
                bool seedsGiven = p.GetResult(seeds) is { Implicit: false }, seedGiven = p.GetResult(common.Seed) is { Implicit: false };
                var list = seedGiven && !seedsGiven ? new[] { p.GetValue(common.Seed) } : ParseSeeds(p.GetValue(seeds)!);   // --seeds overrides --seed
                return RunAll(outDir, list, common.Policy(p), new ConsoleProgress());
            }));
            return c;
        }

        internal sealed class SeedClaims
        {
            public SeedClaims(long seed, string folder, IReadOnlyList<ClaimResult> claims)
            {
                Seed = seed;
                Folder = folder;
                Claims = claims;
            }

            public long Seed { get; }
            public string Folder { get; }
            public IReadOnlyList<ClaimResult> Claims { get; }
        }

        internal static int RunAll(string outDir, IReadOnlyList<long> seeds, OutputPolicy policy, ConsoleProgress progress)
        {
            string index = Path.Combine(outDir, "index.md");
            if (policy == OutputPolicy.FailIfExists && File.Exists(index))
                throw new OutputExistsException(index, "already exists (a finished `entk reproduce all`); --resume keeps the verified experiments and rewrites it, --force redoes everything.");
            string FolderOf(long seed) => seed == seeds[0] ? outDir : Path.Combine(outDir, "seeds", "seed" + seed.ToString(CultureInfo.InvariantCulture));
            foreach (var seed in seeds)
            {
                // every experiment folder of every seed is checked before the first one starts
                string folder = FolderOf(seed);
                Preflight.Tms(Path.Combine(folder, "tms"), TmsConfig.PaperModels, seed, new TmsAnalysisOptions(), policy);
                Preflight.Mlp(Path.Combine(folder, "mlp"), Path.Combine(folder, "grokking"), new MlpConfig(), seed, new MlpAnalysisOptions(), policy);
            }
            ErrorBoundary.BeginWork();
            var sw = Stopwatch.StartNew();
            var results = new List<SeedClaims>();
            foreach (var seed in seeds)
            {
                string folder = FolderOf(seed);
                progress.Log(FormattableString.Invariant($"=== seed {seed} → {folder}"));
                var tms = RunTms(Path.Combine(folder, "tms"), TmsConfig.PaperModels, seed, new TmsAnalysisOptions { Linearize = true }, policy, progress);
                var (mlp, grok) = RunMlp(Path.Combine(folder, "mlp"), Path.Combine(folder, "grokking"), new MlpConfig(), seed, new MlpAnalysisOptions(), policy, progress);
                results.Add(new SeedClaims(seed, folder, tms.Concat(mlp).Concat(grok).ToArray()));
            }
            double seconds = sw.Elapsed.TotalSeconds;
            WriteIndex(outDir, results, seconds, policy != OutputPolicy.FailIfExists);
            string summary = ReportWriter.Summary(results[0].Claims);
            progress.Log(FormattableString.Invariant($"all: wrote {index} in {seconds:0.0}s; main seed {seeds[0]}: claims {summary}"));
            Console.Out.WriteLine(FormattableString.Invariant($"{index}: {summary} (seed {seeds[0]}); run time {seconds:0.0} s"));
            return 0;
        }

        private static void WriteIndex(string outDir, IReadOnlyList<SeedClaims> results, double seconds, bool overwrite)
        {
            var main = results[0];
            var sb = new StringBuilder();
            sb.Append("# Entk — reproduction of *Feature Identification via the Empirical NTK* (arXiv 2510.00468, v3)\n\n");
            sb.Append(FormattableString.Invariant($"Seeds: {string.Join(", ", results.Select(r => r.Seed))} (main run: seed {main.Seed}). Total run time: {seconds:0.0} s. Generated {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.\n\n"));
            foreach (var r in results.Where(r => r.Claims.Any(c => c.Verdict == Verdict.NotEvaluated)))
                sb.Append(FormattableString.Invariant($"> **Warning (seed {r.Seed}): training diverged**; {r.Claims.Count(c => c.Verdict == Verdict.NotEvaluated)} claims are **not evaluated** (see the experiment reports).\n\n"));
            sb.Append("Verdicts follow fixed rules stated beside each claim; \"info\" rows are reported for comparison only; \"not evaluated\" rows belong to a run whose training diverged. Details, per-experiment figures and raw arrays: [tms/report.md](tms/report.md), [mlp/report.md](mlp/report.md), [grokking/report.md](grokking/report.md).\n\n");
            sb.Append("## Figures (main seed)\n\n![TMS](tms/figure.png)\n\n![MLP spectra](mlp/spectra.png)\n\n![first cliff](mlp/first_cliff.png)\n\n![second cliff](mlp/second_cliff.png)\n\n![grokking](grokking/grokking.png)\n\n![overlap](grokking/overlap.png)\n\n![heatmaps](grokking/heatmaps.png)\n\n");
            sb.Append(FormattableString.Invariant($"## Claims (seed {main.Seed})\n\n"));
            sb.Append(ReportWriter.ClaimsTable(main.Claims));
            if (results.Count > 1)
            {
                sb.Append("\n## Verdicts across seeds\n\n");
                var ids = main.Claims.Where(c => c.Verdict != Verdict.Info).Select(c => c.Id).ToArray();
                sb.Append(ReportWriter.Table(new[] { "claim" }.Concat(results.Select(r => "seed " + r.Seed.ToString(CultureInfo.InvariantCulture))).ToArray(),
                    ids.Select(id => (IReadOnlyList<string>)new[] { id }.Concat(results.Select(r =>
                    {
                        var c = r.Claims.FirstOrDefault(x => x.Id == id);
                        return c is null ? "—" : ReportWriter.Text(c.Verdict) + " (" + c.Measured + ")";
                    })).ToArray())));
                sb.Append("\n## Measured values across seeds (info rows)\n\n");
                var infos = main.Claims.Where(c => c.Verdict == Verdict.Info).Select(c => c.Id).ToArray();
                sb.Append(ReportWriter.Table(new[] { "claim" }.Concat(results.Select(r => "seed " + r.Seed.ToString(CultureInfo.InvariantCulture))).ToArray(),
                    infos.Select(id => (IReadOnlyList<string>)new[] { id }.Concat(results.Select(r => r.Claims.FirstOrDefault(x => x.Id == id)?.Measured ?? "—")).ToArray())));
            }
            sb.Append("\n## Environment (`entk describe`)\n\n```\n").Append(EntkInfo.Collect()).Append("```\n");
            AtomicFile.WriteAllText(Path.Combine(outDir, "index.md"), sb.ToString(), overwrite);
            var json = new JsonObject
            {
                ["seeds"] = new JsonArray(results.Select(r => (JsonNode?)JsonValue.Create(r.Seed)).ToArray()),
                ["total_seconds"] = seconds,
                ["runs"] = new JsonArray(results.Select(r => (JsonNode?)new JsonObject
                {
                    ["seed"] = r.Seed,
                    ["folder"] = Path.GetRelativePath(outDir, r.Folder),
                    ["claims"] = new JsonArray(r.Claims.Select(c => (JsonNode?)new JsonObject
                    {
                        ["id"] = c.Id, ["claim"] = c.Claim, ["paper"] = c.PaperValue, ["measured"] = c.Measured, ["rule"] = c.Rule, ["verdict"] = ReportWriter.Key(c.Verdict),
                    }).ToArray()),
                }).ToArray()),
            };
            JsonFile.Write(Path.Combine(outDir, "index.json"), json, overwrite);
        }
    }
}

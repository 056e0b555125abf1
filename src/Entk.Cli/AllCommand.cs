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
            var c = new Command("all", "Every experiment of the paper (TMS, MLP, grokking for each seed; the Transformer for each --transformer-seeds), plus OUT/index.md: each claim with the measured value and a verdict, seeds, versions and run time. Extra seeds go to OUT/seeds/seed<S>/.");
            var common = new CommonOptions();
            common.AddTo(c);
            var seeds = new Option<string>("--seeds") { Description = "Comma-separated seeds; the first one is the main run (OUT/tms, OUT/mlp, OUT/grokking), overrides --seed.", DefaultValueFactory = _ => "0,1,2" };
            c.Options.Add(seeds);
            var tseeds = new Option<string>("--transformer-seeds")
            {
                Description = "Comma-separated model seeds of the Transformer experiment, or 'none'; the first goes to OUT/transformer, the others to OUT/seeds/seed<S>/transformer. "
                    + "Default: " + DefaultTransformerSeeds + " (the two seeds of the paper's notebooks; a third does not fit the 5-minute budget on a 2-core machine, see the README).",
                DefaultValueFactory = _ => DefaultTransformerSeeds,
            };
            c.Options.Add(tseeds);
            c.SetAction(p => Guard(() =>
            {
                string outDir = Preflight.Out(p.GetValue(common.Out));
                // An option with a default always has a result; Implicit says whether the user gave it.
                bool seedsGiven = p.GetResult(seeds) is { Implicit: false }, seedGiven = p.GetResult(common.Seed) is { Implicit: false };
                var list = seedGiven && !seedsGiven ? new[] { p.GetValue(common.Seed) } : ParseSeeds(p.GetValue(seeds)!);   // --seeds overrides --seed
                string ts = p.GetValue(tseeds)!.Trim();
                var tlist = ts == "none" ? Array.Empty<long>() : ParseSeeds(ts, "--transformer-seeds");
                return RunAll(outDir, list, tlist, common.Policy(p), new ConsoleProgress());
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

        /// <summary>The Transformer seeds `reproduce all` runs by default.</summary>
        internal const string DefaultTransformerSeeds = "2,0";

        internal static int RunAll(string outDir, IReadOnlyList<long> seeds, IReadOnlyList<long> transformerSeeds, OutputPolicy policy, ConsoleProgress progress)
        {
            string index = Path.Combine(outDir, "index.md");
            if (policy == OutputPolicy.FailIfExists && File.Exists(index))
                throw new OutputExistsException(index, "already exists (a finished `entk reproduce all`); --resume keeps the verified experiments and rewrites it, --force redoes everything.");
            string TransformerFolder(long seed) => seed == transformerSeeds[0] ? Path.Combine(outDir, "transformer") : Path.Combine(outDir, "seeds", "seed" + seed.ToString(CultureInfo.InvariantCulture), "transformer");
            string FolderOf(long seed) => seed == seeds[0] ? outDir : Path.Combine(outDir, "seeds", "seed" + seed.ToString(CultureInfo.InvariantCulture));
            foreach (var seed in seeds)
            {
                // every experiment folder of every seed is checked before the first one starts
                string folder = FolderOf(seed);
                Preflight.Tms(Path.Combine(folder, "tms"), TmsConfig.PaperModels, seed, new TmsAnalysisOptions(), policy);
                Preflight.Mlp(Path.Combine(folder, "mlp"), Path.Combine(folder, "grokking"), new MlpConfig(), seed, new MlpAnalysisOptions(), policy);
            }
            foreach (var seed in transformerSeeds)
                Preflight.Transformer(TransformerFolder(seed), new TransformerConfig(), seed, new TransformerAnalysisOptions(), policy);
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
            var transformer = new List<SeedClaims>();
            foreach (var seed in transformerSeeds)
            {
                string folder = TransformerFolder(seed);
                progress.Log(FormattableString.Invariant($"=== transformer seed {seed} → {folder}"));
                var tc = RunTransformer(folder, new TransformerConfig(), seed, new TransformerAnalysisOptions(), policy, progress);
                transformer.Add(new SeedClaims(seed, folder, tc));
            }
            double seconds = sw.Elapsed.TotalSeconds;
            WriteIndex(outDir, results, transformer, seconds, policy != OutputPolicy.FailIfExists);
            var mainClaims = results[0].Claims.Concat(transformer.Count > 0 ? transformer[0].Claims : Array.Empty<ClaimResult>()).ToArray();
            string summary = ReportWriter.Summary(mainClaims);
            string tnote = transformer.Count > 0 ? FormattableString.Invariant($", Transformer seed {transformer[0].Seed}") : "";
            progress.Log(FormattableString.Invariant($"all: wrote {index} in {seconds:0.0}s; main seed {seeds[0]}{tnote}: claims {summary}"));
            Console.Out.WriteLine(FormattableString.Invariant($"{index}: {summary} (seed {seeds[0]}{tnote}); run time {seconds:0.0} s"));
            return 0;
        }

        private static void WriteIndex(string outDir, IReadOnlyList<SeedClaims> results, IReadOnlyList<SeedClaims> transformer, double seconds, bool overwrite)
        {
            var main = results[0];
            var sb = new StringBuilder();
            sb.Append("# Entk — reproduction of *Feature Identification via the Empirical NTK* (arXiv 2510.00468, v3)\n\n");
            sb.Append(FormattableString.Invariant($"Seeds: {string.Join(", ", results.Select(r => r.Seed))} (main run: seed {main.Seed}). Total run time: {seconds:0.0} s. Generated {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.\n\n"));
            foreach (var r in results.Concat(transformer).Where(r => r.Claims.Any(c => c.Verdict == Verdict.NotEvaluated)))
                sb.Append(FormattableString.Invariant($"> **Warning (seed {r.Seed}): training diverged**; {r.Claims.Count(c => c.Verdict == Verdict.NotEvaluated)} claims are **not evaluated** (see the experiment reports).\n\n"));
            sb.Append("Verdicts follow fixed rules stated beside each claim; \"info\" rows are reported for comparison only; \"not evaluated\" rows belong to a run whose training diverged. Details, per-experiment figures and raw arrays: [tms/report.md](tms/report.md), [mlp/report.md](mlp/report.md), [grokking/report.md](grokking/report.md)"
                + (transformer.Count > 0 ? ", [transformer/report.md](transformer/report.md)" : "") + ".\n\n");
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
            if (transformer.Count > 0) AppendTransformer(sb, transformer);
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
            json["transformer_runs"] = new JsonArray(transformer.Select(r => (JsonNode?)new JsonObject
            {
                ["seed"] = r.Seed,
                ["folder"] = Path.GetRelativePath(outDir, r.Folder),
                ["claims"] = new JsonArray(r.Claims.Select(c => (JsonNode?)new JsonObject
                {
                    ["id"] = c.Id, ["claim"] = c.Claim, ["paper"] = c.PaperValue, ["measured"] = c.Measured, ["rule"] = c.Rule, ["verdict"] = c.Verdict.ToString().ToLowerInvariant(),
                }).ToArray()),
            }).ToArray());
            JsonFile.Write(Path.Combine(outDir, "index.json"), json, overwrite);
        }

        private static void AppendTransformer(StringBuilder sb, IReadOnlyList<SeedClaims> transformer)
        {
            var main = transformer[0];
            sb.Append(FormattableString.Invariant($"\n## Transformer (seed {main.Seed})\n\n"));
            sb.Append("![accuracy](transformer/accuracy.png)\n\n![fourier](transformer/fourier.png)\n\n![spectra](transformer/spectra.png)\n\n![rotation](transformer/rotation.png)\n\n![over training](transformer/over_training.png)\n\n");
            sb.Append(ReportWriter.ClaimsTable(main.Claims));
            if (transformer.Count < 2) return;
            sb.Append("\n### Transformer verdicts across seeds\n\n");
            var ids = main.Claims.Select(c => c.Id).ToArray();
            sb.Append(ReportWriter.Table(new[] { "claim" }.Concat(transformer.Select(r => "seed " + r.Seed.ToString(CultureInfo.InvariantCulture))).ToArray(),
                ids.Select(id => (IReadOnlyList<string>)new[] { id }.Concat(transformer.Select(r =>
                {
                    var c = r.Claims.FirstOrDefault(x => x.Id == id);
                    return c is null ? "—" : (c.Verdict == Verdict.Info ? "" : ReportWriter.Text(c.Verdict) + " (") + c.Measured + (c.Verdict == Verdict.Info ? "" : ")");
                })).ToArray())));
        }
    }
}

using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using Entk.Experiments;
using Entk.Internal;
using Entk.IO;
using Entk.Models;
using Entk.Training;

namespace Entk.Cli
{
    /// <summary>
    /// The Transformer workload of `entk bench`: the 12 per-tensor all-pairs-mean kernels on all p² inputs plus their top-40
    /// spectra, Entk (TransformerExperiment.Kernels through the generic module route, and SymmetricEigen) against the paper's
    /// method (entk_ref.paper_method --workload transformer_layers: per-tensor vmap(jacrev) Jacobians of x1 and x2, einsum to the
    /// full (N, N, C, C) block, mean over (c, d), ridge + eigh). At p = 7 both run completely; at p = 29 the paper's method runs
    /// its first row block(s) of samples and is extrapolated by its block count (each row block does identical work, so this is
    /// exact in FLOPs), while Entk runs completely. Weights: the seed-2 initialisation (the cost does not depend on the values).
    /// </summary>
    internal static partial class Commands
    {
        private const string TransformerWorkload = "transformer-kernels";

        internal static Command BenchTransformerCommand()
        {
            var c = new Command("bench-transformer", "Benchmark only the Transformer workload of `entk bench` (per-tensor kernels + top-40 spectra against the paper's method); prints a table and writes JSON.");
            var output = new Option<string>("--json") { Description = "Where to write the JSON results.", DefaultValueFactory = _ => "bench-transformer.json" };
            var skipPaper = new Option<bool>("--skip-paper") { Description = "Do not run the Python paper method (Entk only)." };
            var rowBlocks = new Option<int>("--paper-row-blocks") { Description = "Row blocks (of 64 samples) the paper's method computes at p = 29 before extrapolating (0: all 14, about 25 min).", DefaultValueFactory = _ => 1 };
            var force = new Option<bool>("--force") { Description = "Replace an existing JSON file." };
            foreach (var o in new Option[] { output, skipPaper, rowBlocks, force }) c.Options.Add(o);
            c.SetAction(p => Guard(() =>
            {
                string path = p.GetValue(output)!;
                if (!p.GetValue(force) && File.Exists(path)) throw new OutputExistsException(Path.GetFullPath(path));
                var all = new List<Measurement>();
                var ratios = new JsonArray();
                var notes = new List<string>();
                string dir = Directory.CreateTempSubdirectory("entk-bench-").FullName;
                try
                {
                    BenchTransformer(dir, new ConsoleProgress(), all, ratios, notes, !p.GetValue(skipPaper), "float64", p.GetValue(rowBlocks));
                }
                finally
                {
                    try { Directory.Delete(dir, true); } catch (IOException) { }
                }
                foreach (var m in all)
                    Console.Out.WriteLine(FormattableString.Invariant($"{m.Workload,-22} {m.Size,-26} {m.Method,-22} {m.Seconds,12:0.000} s {m.PeakMb,8:0} MB"));
                foreach (var r in ratios)
                    Console.Out.WriteLine(FormattableString.Invariant($"speed-up {r!["workload"]}: {r["speedup"]!.GetValue<double>():0.0}× ({r["kind"]}; paper {r["paper_seconds"]!.GetValue<double>():0.0} s vs entk {r["entk_seconds"]!.GetValue<double>():0.000} s)"));
                foreach (var n in notes) Console.Out.WriteLine("note: " + n);
                var json = new JsonObject
                {
                    ["measurements"] = new JsonArray(all.Select(m => (JsonNode?)new JsonObject
                    {
                        ["workload"] = m.Workload, ["size"] = m.Size, ["method"] = m.Method, ["seconds"] = m.Seconds, ["peak_rss_mb"] = m.PeakMb, ["raw"] = m.Raw.DeepClone(),
                    }).ToArray()),
                    ["ratios"] = ratios,
                    ["notes"] = new JsonArray(notes.Select(n => (JsonNode?)JsonValue.Create(n)).ToArray()),
                    ["environment"] = DescribeJson(),
                };
                JsonFile.Write(path, json, overwrite: p.GetValue(force));
                return 0;
            }));
            return c;
        }

        /// <summary>The worker side (in the measuring child process): kernels + spectra of the weights written for size p.</summary>
        private static void TransformerWorker(string method, string dir, int size, JsonObject result, JsonObject phases, Stopwatch sw)
        {
            if (method != "generic") throw new EntkArgumentException("--method", "generic", method);
            var w = TransformerWeights.FromCheckpoint(Checkpoint.Load(Path.Combine(dir, Check.Inv($"transformer_p{size}_weights.npz"))));
            phases["setup"] = sw.Elapsed.TotalSeconds;
            double kernelSeconds = 0, spectrumSeconds = 0;
            IReadOnlyList<KernelSpectrum> Run()
            {
                var t = Stopwatch.StartNew();
                var k = TransformerExperiment.Kernels(w);
                kernelSeconds = t.Elapsed.TotalSeconds;
                t.Restart();
                var s = TransformerExperiment.Spectra(k, null, Math.Min(40, size * size));
                spectrumSeconds = t.Elapsed.TotalSeconds;
                return s;
            }
            var spectra = Repeat(Run, result);
            double scale = result["seconds_median"]!.GetValue<double>() / (kernelSeconds + spectrumSeconds);
            phases["kernels"] = kernelSeconds * scale;
            phases["spectra"] = spectrumSeconds * scale;
            result["eigenvalues"] = new JsonArray(spectra.First(s => s.Name == "full").Spectrum.Values.Take(10).Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());
        }

        /// <summary>The orchestrator side: prepares weights, runs Entk and the paper's method in child processes, records ratios.</summary>
        private static void BenchTransformer(string dir, ConsoleProgress progress, List<Measurement> all, JsonArray ratios, List<string> notes, bool runPaper, string paperDtype, int rowBlocks = 1)
        {
            string self = typeof(Commands).Assembly.Location;
            foreach (int p in new[] { 7, 29 })
            {
                var setup = TransformerSetup.Create(new TransformerConfig { Architecture = new TransformerArchitecture { Modulus = p } }, TransformerPaperSeed);
                Checkpoint.Save(Path.Combine(dir, Check.Inv($"transformer_p{p}_weights.npz")), setup.InitialWeights.ToCheckpoint(), overwrite: true);
            }
            Measurement? EntkRun(int p)
            {
                string json = Path.Combine(dir, Check.Inv($"{TransformerWorkload}-generic-{p}.json"));
                progress.Log(Check.Inv($"bench: entk {TransformerWorkload} generic (p = {p}) ..."));
                var (code, outp) = RunProcess("dotnet", new[] { self, "bench-worker", "--workload", TransformerWorkload, "--method", "generic", "--dir", dir, "--size", p.ToString(CultureInfo.InvariantCulture), "--json", json });
                if (code != 0)
                {
                    notes.Add(Check.Inv($"entk {TransformerWorkload} (p = {p}) failed (exit {code}): {outp.Trim().Split('\n').LastOrDefault()}"));
                    return null;
                }
                var raw = JsonNode.Parse(File.ReadAllText(json))!.AsObject();
                var m = new Measurement(TransformerWorkload, Check.Inv($"p={p}"), "entk generic module", raw["seconds"]!.GetValue<double>(), raw["peak_rss_mb"]!.GetValue<double>(), raw);
                progress.Log(Check.Inv($"bench:   {m.Seconds:0.000} s, peak {m.PeakMb:0} MB"));
                all.Add(m);
                return m;
            }
            string? root = RepoRoot();
            string python = Environment.GetEnvironmentVariable("ENTK_PYTHON") ?? "/usr/bin/python3";
            bool havePaper = runPaper && root is not null && File.Exists(python) && RunProcess(python, new[] { "-c", "import torch, functorch, numpy" }).code == 0;
            if (runPaper && !havePaper) notes.Add("transformer paper method skipped: " + python + " with numpy, torch and functorch or the reference-python folder is not available");
            Measurement? PaperRun(int p, int blocks)
            {
                if (!havePaper) return null;
                string label = Check.Inv($"p={p}") + (blocks > 0 ? Check.Inv($", {blocks} row block(s)") : "");
                string json = Path.Combine(dir, Check.Inv($"paper-transformer-p{p}-{blocks}.json"));
                progress.Log(Check.Inv($"bench: paper method transformer_layers ({label}, {paperDtype}) ..."));
                var args = new List<string> { "-m", "entk_ref.paper_method", "--workload", "transformer_layers", "--dtype", paperDtype, "--threads", "2", "--json", json,
                    "--weights", Path.Combine(dir, Check.Inv($"transformer_p{p}_weights.npz")), "--chunk", "64", "--row-blocks", blocks.ToString(CultureInfo.InvariantCulture) };
                var (code, outp) = RunProcess(python, args, new Dictionary<string, string> { ["PYTHONPATH"] = Path.Combine(root!, "reference-python") }, 4 * 3600);
                if (code != 0)
                {
                    notes.Add(Check.Inv($"paper method transformer_layers {label} failed (exit {code}): {outp.Trim().Split('\n').LastOrDefault()}"));
                    return null;
                }
                var raw = JsonNode.Parse(File.ReadAllText(json))!.AsObject();
                double seconds = blocks > 0 ? raw["extrapolated_total"]!.GetValue<double>() : raw["seconds"]!["total"]!.GetValue<double>();
                var m = new Measurement(TransformerWorkload, label, "paper (" + paperDtype + ")" + (blocks > 0 ? " extrapolated" : ""), seconds, raw["peak_rss_mb"]!.GetValue<double>(), raw);
                progress.Log(Check.Inv($"bench:   {m.Seconds:0.0} s{(blocks > 0 ? Check.Inv($" (measured {raw["seconds"]!["total"]!.GetValue<double>():0.0} s for {raw["row_blocks_done"]} of {raw["row_blocks_total"]} row blocks)") : "")}, peak {m.PeakMb:0} MB"));
                all.Add(m);
                return m;
            }
            void Ratio(string workload, double entkSeconds, double paperSeconds, string kind) =>
                ratios.Add(new JsonObject { ["workload"] = workload, ["entk_method"] = "generic module", ["entk_seconds"] = entkSeconds, ["paper_seconds"] = paperSeconds, ["speedup"] = paperSeconds / entkSeconds, ["kind"] = kind });

            var small = EntkRun(7);
            var paperSmall = PaperRun(7, 0);
            if (small is not null && paperSmall is not null) Ratio("transformer-kernels p=7", small.Seconds, paperSmall.Seconds, "measured");
            var full = EntkRun(29);
            var paperFull = PaperRun(29, Math.Max(0, rowBlocks));
            if (full is not null && paperFull is not null)
            {
                var raw = paperFull.Raw;
                string kind = rowBlocks > 0
                    ? Check.Inv($"paper extrapolated from {raw["row_blocks_done"]} of {raw["row_blocks_total"]} row blocks (identical work per block), entk measured")
                    : "measured";
                Ratio("transformer-kernels p=29", full.Seconds, paperFull.Seconds, kind);
                notes.Add(Check.Inv($"transformer-kernels p=29: the paper's route contracts 2·N²·C²·P = {2.0 * 841 * 841 * 900 * 53184 / 1e12:0.0} TFLOP (N = 841, C = 30, P = 53,184); Entk's generic module route computes one gradient of the logit sum per input and N²·P = {2.0 * 841 * 841 * 53184 / 1e12:0.00} TFLOP of per-tensor Gram products"));
            }
        }
    }
}

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using Entk.IO;
using Entk.Kernels;
using Entk.Linalg;
using Entk.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Cli
{
    /// <summary>
    /// The own-model workloads of `entk bench` (issue 12): models a researcher brings, each measured against the functorch
    /// method (reference-python/entk_ref/functorch_bench.py: vmap(jacrev) + einsum + eigh, or scipy eigsh on vjp/jvp
    /// products, Debian torch 1.13, float64, 2 threads, chunked to fit memory) on the same weights and inputs, which
    /// reference-python/entk_ref/own_models.py draws (seeded) and exports. Every measurement runs in its own child process.
    /// </summary>
    internal static partial class Commands
    {
        /// <summary>The own-model worker: one measurement in this process (called by the orchestrator as a child process).</summary>
        private static int OwnWorker(string workload, string method, string dir, int size, string jsonPath)
        {
            var result = new JsonObject { ["workload"] = workload, ["method"] = method, ["size"] = size };
            var precision = method.Contains("-float32", StringComparison.Ordinal) ? Precision.Float32 : Precision.Float64;
            method = method.Replace("-float32", "", StringComparison.Ordinal);
            bool single = method.EndsWith("-single", StringComparison.Ordinal);
            if (single)
            {
                EntkRuntime.Configure(new RuntimeOptions { Threads = ThreadPolicy.Single });
                method = method.Substring(0, method.Length - "-single".Length);
            }
            result["thread_policy"] = EntkRuntime.Current.Threads.ToString();
            result["precision"] = precision.ToString();
            result["threads"] = torch.get_num_threads();
            var sw = Stopwatch.StartNew();
            var phases = new JsonObject();
            var x = Npy.Read(Path.Combine(dir, "inputs.npy"));
            int n = Math.Min(size, x.Shape[0]);
            long per = x.Shape.Skip(1).Aggregate(1L, (a, b) => a * b);
            var all = x.ToDoubleArray();
            var xm = Matrix.FromRowMajor(n, (int)per, all.AsSpan(0, (int)(n * per)));
            var shape = x.Shape.Skip(1).ToArray();
            TorchModuleModel model;
            if (workload == "own-gpt")
            {
                var gpt = new BenchGpt();
                ModuleWeights.Load(gpt, Path.Combine(dir, "weights.npz"));
                model = TorchModuleModel.Wrap(gpt, (int)per, 64, shape, "gpt", integerInputs: true);
            }
            else
            {
                var imp = TorchScript.Load(Path.Combine(dir, "model.pt"), shape, new TorchScriptOptions { ProbeInputs = xm.SliceRows(0, Math.Min(8, n)) });
                result["import"] = imp.Description;
                model = imp.Model;
            }
            phases["setup"] = sw.Elapsed.TotalSeconds;
            int c = model.OutputDimension;
            double kernelSeconds = 0, eigSeconds = 0;
            void Eig(Func<EigenDecomposition> run, string key)
            {
                var t = Stopwatch.StartNew();
                var e = run();
                eigSeconds += t.Elapsed.TotalSeconds;
                result[key] = new JsonArray(e.Values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());
                if (e.Residuals is not null) result[key + "_max_relative_residual"] = e.Residuals.Max() / Math.Max(Math.Abs(e.Values[0]), 1e-300);
                if (e.Applications > 0) result["applications"] = e.Applications;
                result["spectrum_route"] = e.Route.ToString();
            }
            object Run()
            {
                kernelSeconds = eigSeconds = 0;
                var t = Stopwatch.StartNew();
                switch (method)
                {
                    case "traced":
                    {
                        var k = EmpiricalNtk.Compute(model, KernelReduction.TraceMean, xm, options: new NtkOptions { Precision = precision });
                        kernelSeconds = t.Elapsed.TotalSeconds;
                        foreach (var kv in Kernels.Rules.RuleKernels.LastPhases) phases["engine_" + kv.Key] = kv.Value;
                        Eig(() => SymmetricEigen.Decompose(k.Matrix, Math.Min(50, n)), "eigenvalues");
                        result["routes"] = new JsonArray(k.TensorRoutes.Select(r => (JsonNode?)JsonValue.Create(r.Tensor + ": " + r.Description)).ToArray());
                        return k;
                    }
                    case "per-tensor":
                    {
                        var lw = EmpiricalNtk.ComputeLayerwise(model, KernelReduction.TraceMean, xm, options: new NtkOptions { Precision = precision });
                        kernelSeconds = t.Elapsed.TotalSeconds;
                        result["traces"] = new JsonObject(lw.Kernels.Select(k => new KeyValuePair<string, JsonNode?>(k.Group, Enumerable.Range(0, n).Sum(i => k.Matrix[i, i]))));
                        return lw;
                    }
                    case "flat":
                    {
                        var e = EmpiricalNtk.Spectrum(model, KernelReduction.FlattenSampleMajor, xm, 50, new NtkOptions { Precision = precision });
                        kernelSeconds = 0;
                        eigSeconds = t.Elapsed.TotalSeconds;
                        result["eigenvalues"] = new JsonArray(e.Values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());
                        if (e.Residuals is not null) result["eigenvalues_max_relative_residual"] = e.Residuals.Max() / Math.Max(Math.Abs(e.Values[0]), 1e-300);
                        result["applications"] = e.Applications;
                        result["spectrum_route"] = e.Route.ToString();
                        return e;
                    }
                    case "flat-vectors":
                    {
                        // The Lanczos iteration itself against ARPACK: single-vector products (block size 1) on the formed
                        // flattened kernel, at the tolerance the functorch method gives eigsh (1e-10); only the products count.
                        var k = EmpiricalNtk.Compute(model, KernelReduction.FlattenSampleMajor, xm, options: new NtkOptions { Precision = precision });
                        kernelSeconds = t.Elapsed.TotalSeconds;
                        using var op = KernelOperator.FromMatrix(k.Matrix);
                        Eig(() => Lanczos.TopK(op, 50, new LanczosOptions { BlockSize = 1, Tolerance = 1e-10 }), "eigenvalues");
                        return k;
                    }
                    case "layers":
                    {
                        // Per-layer all-pairs-mean kernels (the paper's Transformer reduction), one group per block plus the
                        // embeddings and the final LayerNorm + unembedding, and the top 20 eigenpairs of each.
                        var groups = BenchGpt.LayerGroups(model.Layout.Tensors.Select(p => p.Name).ToArray());
                        var spectra = new JsonObject();
                        // One computation for all groups: the engine captures every layer once and, when the stored factors do not
                        // fit the memory budget, processes the layers in passes (one layer at a time at the limit).
                        var tg = Stopwatch.StartNew();
                        var lw = EmpiricalNtk.ComputeLayerwise(model, KernelReduction.AllPairsMean, xm, groups: groups, options: new NtkOptions { Precision = precision });
                        kernelSeconds = tg.Elapsed.TotalSeconds;
                        foreach (var kv in Kernels.Rules.RuleKernels.LastPhases) phases["engine_" + kv.Key] = kv.Value;
                        foreach (var g in groups)
                        {
                            tg.Restart();
                            var e = SymmetricEigen.Decompose(lw[g.Name].Matrix, 20);
                            eigSeconds += tg.Elapsed.TotalSeconds;
                            spectra[g.Name] = new JsonArray(e.Values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());
                        }
                        result["routes"] = new JsonArray(lw.Total.TensorRoutes.Select(r => (JsonNode?)JsonValue.Create(r.Tensor + ": " + r.Description)).ToArray());
                        result["spectra"] = spectra;
                        return spectra;
                    }
                    default:
                        throw new EntkArgumentException("--method", "traced, per-tensor, flat or layers", method);
                }
            }
            // Large workloads run once (the first call is the measurement); small ones up to three times (median).
            Repeat(Run, result);
            phases["kernel"] = kernelSeconds;
            phases["eigen"] = eigSeconds;
            result["phases"] = phases;
            result["seconds"] = result["seconds_median"]!.GetValue<double>();
            result["peak_rss_mb"] = PeakRssMb();
            JsonFile.Write(jsonPath, result, overwrite: true);
            return 0;
        }

        /// <summary>The own-model suite: export with Python, then Entk (default and single-thread) and functorch per workload.</summary>
        private static void RunOwnSuite(string dir, string self, string python, string? root, bool havePython, ConsoleProgress progress, List<Measurement> all, JsonArray ratios, List<string> notes, bool quick)
        {
            if (!havePython || root is null)
            {
                notes.Add("own-model workloads skipped: they need " + python + " with torch/functorch (the models and the functorch method live in reference-python)");
                return;
            }
            var env = new Dictionary<string, string> { ["PYTHONPATH"] = Path.Combine(root, "reference-python") };
            string Export(string model, int count)
            {
                string d = Path.Combine(dir, "own-" + model);
                var args = new List<string> { "-m", "entk_ref.own_models", "export", "--model", model, "--seed", "0", "--n", count.ToString(CultureInfo.InvariantCulture), "--out", d };
                var (code, outp) = RunProcess(python, args, env, 1800);
                if (code != 0) throw new IOException("own_models export " + model + " failed: " + outp.Trim().Split('\n').LastOrDefault());
                return d;
            }
            int nMlp = quick ? 200 : 1000, nCnn = quick ? 100 : 500, nGpt = quick ? 100 : 1000;
            progress.Log("bench: exporting the own models (Python)");
            string mlpDir = Export("mlp", Math.Max(nMlp, quick ? 200 : 4000));
            string cnnDir = Export("cnn", nCnn);
            string gptDir = Export("gpt", nGpt);

            Measurement? Entk(string workload, string method, string d, int size)
            {
                string json = Path.Combine(dir, $"{workload}-{method}-{size}.json");
                progress.Log($"bench: entk {workload} {method} (N = {size}) ...");
                var (code, outp) = RunProcess("dotnet", new[] { self, "bench-worker", "--workload", workload, "--method", method, "--dir", d, "--size", size.ToString(CultureInfo.InvariantCulture), "--json", json }, null, 3600);
                if (code != 0)
                {
                    string last = outp.Trim().Split('\n').FirstOrDefault(l => l.StartsWith("error", StringComparison.Ordinal)) ?? outp.Trim().Split('\n').LastOrDefault() ?? "";
                    notes.Add($"entk {workload}/{method} (N = {size}) failed (exit {code}): {last.Trim()}");
                    progress.Log("bench:   failed: " + last.Trim());
                    return null;
                }
                var raw = JsonNode.Parse(File.ReadAllText(json))!.AsObject();
                var m = new Measurement(workload, "N=" + size.ToString(CultureInfo.InvariantCulture), "entk " + method, raw["seconds"]!.GetValue<double>(), raw["peak_rss_mb"]!.GetValue<double>(), raw);
                progress.Log(FormattableString.Invariant($"bench:   {m.Seconds:0.000} s, peak {m.PeakMb:0} MB"));
                all.Add(m);
                return m;
            }
            Measurement? Functorch(string workload, string fworkload, string d, int size, params string[] extra)
            {
                string json = Path.Combine(dir, $"functorch-{workload}-{fworkload}-{size}.json");
                progress.Log($"bench: functorch {workload} {fworkload} (N = {size}) ...");
                var args = new List<string> { "-m", "entk_ref.functorch_bench", "--workload", fworkload, "--dir", d, "--json", json, "--threads", "2", "--n", size.ToString(CultureInfo.InvariantCulture) };
                args.AddRange(extra);
                var (code, outp) = RunProcess(python, args, env, 4 * 3600);
                if (code != 0)
                {
                    notes.Add($"functorch {workload}/{fworkload} failed (exit {code}): {outp.Trim().Split('\n').LastOrDefault()}");
                    return null;
                }
                var raw = JsonNode.Parse(File.ReadAllText(json))!.AsObject();
                double seconds = raw["seconds"]!["total"]!.GetValue<double>();
                var m = new Measurement(workload, "N=" + size.ToString(CultureInfo.InvariantCulture), "functorch " + fworkload, seconds, raw["peak_rss_mb"]!.GetValue<double>(), raw);
                progress.Log(FormattableString.Invariant($"bench:   {m.Seconds:0.0} s, peak {m.PeakMb:0} MB"));
                all.Add(m);
                return m;
            }
            void Compare(string label, Measurement? entk, Measurement? functorch, double target)
            {
                if (entk is null || functorch is null) return;
                double speedup = functorch.Seconds / entk.Seconds;
                ratios.Add(new JsonObject
                {
                    ["workload"] = label, ["entk_method"] = entk.Method, ["entk_seconds"] = entk.Seconds, ["paper_seconds"] = functorch.Seconds,
                    ["speedup"] = speedup, ["kind"] = "measured vs functorch", ["target"] = target, ["meets_target"] = speedup >= target,
                });
                // The same spectrum: top eigenvalues agree.
                if (entk.Raw["eigenvalues"] is JsonArray a && functorch.Raw["eigenvalues"] is JsonArray b && a.Count > 0 && b.Count > 0)
                {
                    int k = Math.Min(a.Count, b.Count);
                    double top = Math.Abs(b[0]!.GetValue<double>()), worst = 0;
                    for (int i = 0; i < k; i++) worst = Math.Max(worst, Math.Abs(a[i]!.GetValue<double>() - b[i]!.GetValue<double>()) / top);
                    notes.Add(FormattableString.Invariant($"{label}: top-{k} eigenvalues Entk vs functorch agree to {worst:E1} (relative to λ₁)"));
                }
            }
            void Threads(string label, Measurement? auto, Measurement? single)
            {
                if (auto is null || single is null) return;
                double r = auto.Seconds / single.Seconds;
                ratios.Add(new JsonObject
                {
                    ["workload"] = label, ["entk_method"] = auto.Method, ["entk_seconds"] = auto.Seconds, ["paper_seconds"] = single.Seconds,
                    ["speedup"] = single.Seconds / auto.Seconds, ["kind"] = "default threads vs one thread (target: default ≤ 1.10 × one thread)", ["target"] = 1 / 1.10, ["meets_target"] = r <= 1.10,
                });
            }

            // MLP 784→512→512→10 (TorchScript), traced + top 50, per-tensor, flattened top 50.
            var mt = Entk("own-mlp", "traced", mlpDir, nMlp);
            Threads("own-mlp traced", mt, Entk("own-mlp", "traced-single", mlpDir, nMlp));
            Compare("own-mlp traced + top-50", mt, Functorch("own-mlp", "traced_topk", mlpDir, nMlp, "--topk", "50"), 50);
            var mp = Entk("own-mlp", "per-tensor", mlpDir, nMlp);
            Threads("own-mlp per-tensor", mp, Entk("own-mlp", "per-tensor-single", mlpDir, nMlp));
            Compare("own-mlp per-tensor kernels", mp, Functorch("own-mlp", "per_tensor", mlpDir, nMlp), 50);
            var mf = Entk("own-mlp", "flat", mlpDir, nMlp);
            Threads("own-mlp flattened", mf, Entk("own-mlp", "flat-single", mlpDir, nMlp));
            var ff = Functorch("own-mlp", "flat_eigsh", mlpDir, nMlp, "--topk", "50", "--tol", "1e-10");
            Compare("own-mlp flattened top-50", mf, ff, 10);
            // The product count of the Lanczos iteration itself (block size 1; the default formed route uses blocks of 16,
            // more products but each block one GEMM, faster in time).
            var mv = Entk("own-mlp", "flat-vectors", mlpDir, nMlp);
            if (mv?.Raw["applications"] is JsonNode ea && ff?.Raw["applications"] is JsonNode fa)
            {
                double r = ea.GetValue<double>() / fa.GetValue<double>();
                notes.Add(FormattableString.Invariant($"own-mlp flattened: Lanczos products {ea.GetValue<long>()} (block size 1) vs ARPACK eigsh {fa.GetValue<long>()} (ratio {r:0.00}, target ≤ 1.5) at tolerance 1e-10; the default route's blocks of 16 took {mf?.Raw["applications"]} products"));
                ratios.Add(new JsonObject { ["workload"] = "own-mlp flattened: Lanczos products / eigsh products", ["speedup"] = r, ["kind"] = "product count (target ≤ 1.5)", ["target"] = 1.5, ["meets_target"] = r <= 1.5 });
            }
            if (!quick)
            {
                var big = Entk("own-mlp", "traced", mlpDir, 4000);
                if (big is not null) notes.Add(FormattableString.Invariant($"own-mlp traced at N = 4000 ran within the default memory budget ({MemoryBudgetExceededException.FormatBytes(MemoryBudget.DefaultBytes)}): {big.Seconds:0.0} s, peak {big.PeakMb:0} MB"));
            }
            // CNN (TorchScript), traced.
            var ct = Entk("own-cnn", "traced", cnnDir, nCnn);
            Threads("own-cnn traced", ct, Entk("own-cnn", "traced-single", cnnDir, nCnn));
            Compare("own-cnn traced + top-50", ct, Functorch("own-cnn", "traced_topk", cnnDir, nCnn, "--topk", "50"), 10);
            // GPT (native TorchSharp), per-layer all-pairs-mean kernels + top 20, one layer at a time.
            var gl = Entk("own-gpt", "layers", gptDir, nGpt);
            if (gl is not null)
                notes.Add(FormattableString.Invariant($"own-gpt: all per-layer top-20 spectra in {gl.Seconds:0.0} s (target ≤ 300 s), peak {gl.PeakMb / 1024:0.00} GB (target ≤ 8 GB), float64"));
            var gl32 = Entk("own-gpt", "layers-float32", gptDir, nGpt);
            if (gl32 is not null)
                notes.Add(FormattableString.Invariant($"own-gpt: the same with float32 contractions (Precision.Float32): {gl32.Seconds:0.0} s, peak {gl32.PeakMb / 1024:0.00} GB"));
            Compare("own-gpt per-layer top-20", gl, Functorch("own-gpt", "layer_allpairs_topk", gptDir, nGpt, "--topk", "20"), 0);
        }
    }
}

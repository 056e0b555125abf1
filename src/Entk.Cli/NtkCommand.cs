using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using Entk.Experiments;
using Entk.IO;
using Entk.Kernels;
using Entk.Linalg;
using Entk.Models;
using Entk.Plotting;

namespace Entk.Cli
{
    internal static partial class Commands
    {
        private static readonly Dictionary<string, KernelReduction> NtkReductions = new(StringComparer.Ordinal)
        {
            ["trace-mean"] = KernelReduction.TraceMean,
            ["trace-sum"] = KernelReduction.TraceSum,
            ["all-pairs-mean"] = KernelReduction.AllPairsMean,
            ["flatten-class-major"] = KernelReduction.FlattenClassMajor,
            ["flatten-sample-major"] = KernelReduction.FlattenSampleMajor,
        };

        /// <summary>`entk ntk`: the eNTK spectrum of a TorchScript model on the user's inputs.</summary>
        private static Command Ntk()
        {
            var c = new Command("ntk", "The eNTK of your own model: a TorchScript file (torch.jit.save) on your inputs (.npy). Writes the top-K eigenpairs " +
                "(eigenvalues.npy, eigenvectors.npy), with --layerwise one spectrum per parameter tensor, metrics.json (route per tensor, seconds per phase, " +
                "peak memory, residuals) and spectrum.png into OUT/.");
            var model = new Option<string>("--model") { Description = "TorchScript file saved by torch.jit.save(torch.jit.script(model), path).", Required = true };
            var inputs = new Option<string>("--inputs") { Description = "Inputs X.npy, float32/float64 (or integer token ids), shape (N, ...) as the model's forward takes it.", Required = true };
            var inputs2 = new Option<string?>("--inputs2") { Description = "Second inputs X2.npy: write the cross kernel K(X, X2) (kernel.npy) instead of a spectrum." };
            var reduction = new Option<string>("--reduction") { Description = "trace-mean | trace-sum | all-pairs-mean | flatten-class-major | flatten-sample-major.", DefaultValueFactory = _ => "trace-mean" };
            var layerwise = new Option<bool>("--layerwise") { Description = "Also one spectrum per parameter tensor (eigenvalues_<tensor>.npy, '.' in names replaced by '_')." };
            var topK = new Option<int>("--top-k", "-k") { Description = "Number of eigenpairs (at most the kernel's size).", DefaultValueFactory = _ => 50 };
            var precision = new Option<string>("--precision") { Description = "float64 | float32 (float32 contractions: about 2× faster for large models; see README).", DefaultValueFactory = _ => "float64" };
            var output = new Option<string>("--out") { Description = "Output folder (created if missing).", Required = true };
            var force = new Option<bool>("--force") { Description = "Replace existing outputs in the folder." };
            foreach (var o in new Option[] { model, inputs, inputs2, reduction, layerwise, topK, precision, output, force }) c.Options.Add(o);
            c.SetAction(p => Guard(() => RunNtk(new NtkRequest
            {
                Model = p.GetValue(model)!, Inputs = p.GetValue(inputs)!, Inputs2 = p.GetValue(inputs2), Reduction = p.GetValue(reduction)!,
                Layerwise = p.GetValue(layerwise), TopK = p.GetValue(topK), Precision = p.GetValue(precision)!, Out = p.GetValue(output)!, Force = p.GetValue(force),
            }, new ConsoleProgress())));
            return c;
        }

        internal sealed class NtkRequest
        {
            public string Model { get; init; } = "";

            public string Inputs { get; init; } = "";

            public string? Inputs2 { get; init; }

            public string Reduction { get; init; } = "trace-mean";

            public bool Layerwise { get; init; }

            public int TopK { get; init; } = 50;

            public string Precision { get; init; } = "float64";

            public string Out { get; init; } = "";

            public bool Force { get; init; }
        }

        private static (Matrix X, int[] Shape) ReadInputs(string path, string option)
        {
            if (!File.Exists(path)) throw new EntkArgumentException(option, "an existing .npy file", "'" + path + "' (not found)");
            var a = Npy.Read(path);
            if (a.Shape.Count < 2) throw new ShapeMismatchException(option, "an array of shape (N, ...) with N ≥ 1", ShapeText(a.Shape));
            if (a.Shape[0] == 0) throw new EntkArgumentException(option, "at least one input row", "an empty array " + ShapeText(a.Shape));
            long d = 1;
            foreach (var s in a.Shape.Skip(1)) d *= s;
            if (d > int.MaxValue) throw new EntkArgumentException(option, "fewer than 2³¹ values per sample", ShapeText(a.Shape));
            var data = a.ToDoubleArray();
            for (long i = 0; i < data.LongLength; i++)
                if (!double.IsFinite(data[i])) throw new NonFiniteValueException(option, "flat index " + i.ToString(CultureInfo.InvariantCulture), data[i]);
            return (Matrix.FromArray(a.Shape[0], (int)d, data), a.Shape.Skip(1).ToArray());
        }

        private static string ShapeText(IReadOnlyList<int> shape) => "[" + string.Join(", ", shape) + "]";

        internal static int RunNtk(NtkRequest r, ConsoleProgress progress)
        {
            // Everything is checked before any work starts.
            if (!NtkReductions.TryGetValue(r.Reduction, out var reduction))
                throw new EntkArgumentException("--reduction", "one of " + string.Join(", ", NtkReductions.Keys), "'" + r.Reduction + "'");
            var precision = r.Precision switch
            {
                "float64" => Kernels.Precision.Float64,
                "float32" => Kernels.Precision.Float32,
                _ => throw new EntkArgumentException("--precision", "float64 or float32", "'" + r.Precision + "'"),
            };
            if (r.TopK < 1) throw new EntkArgumentException("--top-k", "a positive integer", r.TopK.ToString(CultureInfo.InvariantCulture));
            if (string.IsNullOrWhiteSpace(r.Out)) throw new EntkArgumentException("--out", "a folder path", "an empty string");
            if (!File.Exists(r.Model)) throw new EntkArgumentException("--model", "an existing TorchScript file", "'" + r.Model + "' (not found)");
            var (x, shape) = ReadInputs(r.Inputs, "--inputs");
            Matrix? x2 = null;
            if (r.Inputs2 is not null)
            {
                var (b, shape2) = ReadInputs(r.Inputs2, "--inputs2");
                if (!shape2.SequenceEqual(shape))
                    throw new ShapeMismatchException("--inputs2", "(N2, " + string.Join(", ", shape) + ") like --inputs", "(" + b.Rows + ", " + string.Join(", ", shape2) + ")");
                x2 = b;
            }
            var output = ExperimentOutput.Open(r.Out, "ntk", "{}", r.Force ? OutputPolicy.Overwrite : OutputPolicy.FailIfExists);
            var phases = new JsonObject();
            var clock = Stopwatch.StartNew();
            var sw = Stopwatch.StartNew();
            progress.Log("ntk: loading " + r.Model);
            TorchScriptImport imp;
            try
            {
                imp = TorchScript.Load(r.Model, shape, new TorchScriptOptions { Precision = precision, ProbeInputs = x.SliceRows(0, Math.Min(8, x.Rows)) });
            }
            catch (EntkArgumentException e) when (e.ParamName is "inputShape" or "path")
            {
                throw new EntkArgumentException(e.ParamName == "inputShape" ? "--inputs" : "--model", e.Expected, e.Actual);
            }
            var m = imp.Model;
            phases["load"] = sw.Elapsed.TotalSeconds;
            progress.Log(FormattableString.Invariant($"ntk: {m.Name}: P = {m.ParameterCount}, C = {m.OutputDimension}, N = {x.Rows}; {imp.Description}"));
            long rows = reduction.RowsFor(x.Rows, m.OutputDimension);
            int k = (int)Math.Min(r.TopK, rows);
            var opts = new NtkOptions { Precision = precision, Progress = progress };
            var metrics = new JsonObject
            {
                ["model"] = Path.GetFullPath(r.Model),
                ["import"] = imp.Description,
                ["rebuilt_natively"] = imp.Rebuilt,
                ["parameters"] = m.ParameterCount,
                ["outputs"] = m.OutputDimension,
                ["samples"] = x.Rows,
                ["input_shape"] = new JsonArray(shape.Select(s => (JsonNode)s).ToArray()),
                ["reduction"] = r.Reduction,
                ["precision"] = r.Precision,
                ["top_k"] = k,
            };
            JsonArray RoutesJson(IReadOnlyList<TensorRoute> routes) => new(routes.Select(t => (JsonNode)new JsonObject
            {
                ["tensor"] = t.Tensor, ["route"] = t.Kind.ToString(), ["description"] = t.Description, ["fallback_reason"] = t.FallbackReason,
            }).ToArray());
            sw.Restart();
            if (x2 is not null)
            {
                var kx = EmpiricalNtk.Compute(m, reduction, x, x2, opts);
                phases["kernel"] = sw.Elapsed.TotalSeconds;
                output.Npy("kernel.npy", kx.Matrix);
                metrics["routes"] = RoutesJson(kx.TensorRoutes);
                metrics["samples2"] = x2.Rows;
                metrics["note"] = "cross kernel K(X, X2) written to kernel.npy (rows of X, columns of X2); no spectrum (the kernel is not symmetric)";
            }
            else
            {
                var results = new List<(string Name, EigenDecomposition Eig)>();
                bool fits = EmpiricalNtk.EstimateMemory(m, reduction, x.Rows, groups: r.Layerwise ? m.Layout.Tensors.Count : 0, options: opts, inputs: x).Bytes <= MemoryBudget.DefaultBytes;
                if (fits && (rows <= EmpiricalNtk.DenseEighLimit || r.Layerwise))
                {
                    // Form the kernels once (all tensors in one capture), then decompose each.
                    var lw = EmpiricalNtk.ComputeLayerwise(m, reduction, x, options: opts);
                    phases["kernel"] = sw.Elapsed.TotalSeconds;
                    sw.Restart();
                    var kernels = new List<(string, NtkKernel)> { ("", lw.Total) };
                    if (r.Layerwise) kernels.AddRange(lw.Kernels.Select(g => (g.Group, g)));
                    foreach (var (name, kern) in kernels)
                    {
                        var eig = kern.Matrix.Rows <= EmpiricalNtk.DenseEighLimit || k > kern.Matrix.Rows / 8
                            ? SymmetricEigen.Decompose(kern.Matrix, k)
                            : Lanczos.TopK(KernelOperator.FromMatrix(kern.Matrix), k);
                        results.Add((name, WithResiduals(eig, kern.Matrix)));
                    }
                    metrics["routes"] = RoutesJson(lw.Total.TensorRoutes);
                    metrics["spectrum_route"] = "formed kernel, " + results[0].Eig.Route;
                }
                else
                {
                    if (r.Layerwise)
                        throw new MemoryBudgetExceededException("the per-tensor " + r.Reduction + " kernels (--layerwise) of " + x.Rows + " inputs",
                            EmpiricalNtk.EstimateMemory(m, reduction, x.Rows, groups: m.Layout.Tensors.Count, options: opts, inputs: x).Bytes, MemoryBudget.DefaultBytes,
                            "Use fewer inputs or a traced reduction for --layerwise; without --layerwise the whole-model spectrum can run matrix-free.");
                    var eig = EmpiricalNtk.Spectrum(m, reduction, x, k, opts);
                    results.Add(("", eig));
                    metrics["routes"] = RoutesJson(eig.TensorRoutes);
                    metrics["spectrum_route"] = eig.Route.ToString();
                    metrics["applications"] = eig.Applications;
                }
                phases["spectrum"] = sw.Elapsed.TotalSeconds;
                sw.Restart();
                var spectra = new JsonObject();
                foreach (var (name, eig) in results)
                {
                    string suffix = name.Length == 0 ? "" : "_" + name.Replace('.', '_');
                    output.Npy("eigenvalues" + suffix + ".npy", eig.Values);
                    output.Npy("eigenvectors" + suffix + ".npy", eig.Vectors);
                    spectra[name.Length == 0 ? "model" : name] = new JsonObject
                    {
                        ["eigenvalues"] = new JsonArray(eig.Values.Select(v => (JsonNode)v).ToArray()),
                        ["max_relative_residual"] = eig.Residuals is null ? null : eig.Residuals.Max() / Math.Max(Math.Abs(eig.Values[0]), 1e-300),
                        ["residuals"] = eig.Residuals is null ? null : new JsonArray(eig.Residuals.Select(v => (JsonNode)v).ToArray()),
                    };
                }
                metrics["spectra"] = spectra;
                var top = results[0].Eig.ValuesArray();
                bool log = top.All(v => v > 0);
                var fig = Figures.Spectrum("eNTK spectrum (" + r.Reduction + ") of " + m.Name + ", N = " + x.Rows, new[] { top }, logY: log);
                output.Figure("spectrum.png", fig);
            }
            phases["write"] = sw.Elapsed.TotalSeconds;
            phases["total"] = clock.Elapsed.TotalSeconds;
            metrics["seconds"] = phases;
            metrics["peak_memory_bytes"] = PeakRssBytes();
            output.Json("metrics.json", metrics);
            output.Complete();
            progress.Log(FormattableString.Invariant($"ntk: wrote {r.Out} in {clock.Elapsed.TotalSeconds:0.0}s"));
            return 0;
        }

        /// <summary>Residual norms ‖K v − λ v‖ of the returned pairs against the formed kernel (for routes that do not report them).</summary>
        private static EigenDecomposition WithResiduals(EigenDecomposition eig, Matrix kernel) =>
            eig.Residuals is not null ? eig : eig.WithResiduals(kernel);

        private static long PeakRssBytes()
        {
            try
            {
                var line = File.ReadAllLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
                if (line is null) return -1;
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
            catch (IOException)
            {
                return -1;
            }
        }
    }
}

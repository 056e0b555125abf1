using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using Entk.Kernels;
using Entk.Linalg;
using Entk.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Cli
{
    /// <summary>
    /// `entk memory-probe` (hidden): runs one eNTK computation in a fresh process and prints its memory estimate beside the
    /// measured peak (VmHWM minus the resident memory just before the computation, after a tiny warm-up that loads the
    /// native code paths). The tests run it once per route to check that every estimate is honest: at least the measured
    /// peak and at most 1.5 times it.
    /// </summary>
    internal static partial class Commands
    {
        internal static Command MemoryProbe()
        {
            var c = new Command("memory-probe", "(internal) the memory estimate of one route beside its measured peak, as JSON.") { Hidden = true };
            var name = new Option<string>("--case") { Required = true };
            var count = new Option<int?>("--n") { Description = "Inputs (rules-gpt-layers only; default 200)." };
            c.Options.Add(name);
            c.Options.Add(count);
            c.SetAction(p => Guard(() => RunMemoryProbe(p.GetValue(name)!, p.GetValue(count))));
            return c;
        }

        private static long Kb(string key) => long.Parse(File.ReadAllLines("/proc/self/status").First(l => l.StartsWith(key, StringComparison.Ordinal))
            .Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);

        private static int RunMemoryProbe(string name, int? inputs)
        {
            torch.random.manual_seed(0);
            static nn.Module<Tensor, Tensor> L(long i, long o) => nn.Linear(i, o, dtype: ScalarType.Float64);
            var mlp = TorchModuleModel.Wrap(nn.Sequential(("0", L(100, 512)), ("1", nn.Tanh()), ("2", L(512, 512)), ("3", nn.Tanh()), ("4", L(512, 10))), 100, 10, name: "mlp");
            var rng = new Random(1);
            Matrix X(int n, int d) => Matrix.FromArray(n, d, Enumerable.Range(0, n * d).Select(_ => rng.NextDouble() * 2 - 1).ToArray());
            var dense = DenseNetwork.CreateRandom(new[] { 50, 400, 400, 10 }, Activation.Tanh, 2);
            MemoryEstimate est;
            Func<object> run;
            Func<object> warm;
            switch (name)
            {
                case "rules-traced":
                {
                    var x = X(3000, 100);
                    est = EmpiricalNtk.EstimateMemory(mlp, KernelReduction.TraceMean, x.Rows, inputs: x);
                    run = () => EmpiricalNtk.Compute(mlp, KernelReduction.TraceMean, x);
                    warm = () => EmpiricalNtk.Compute(mlp, KernelReduction.TraceMean, x.SliceRows(0, 4));
                    break;
                }
                case "rules-flattened":
                {
                    var x = X(600, 100);
                    est = EmpiricalNtk.EstimateMemory(mlp, KernelReduction.FlattenClassMajor, x.Rows, inputs: x);
                    run = () => EmpiricalNtk.Compute(mlp, KernelReduction.FlattenClassMajor, x);
                    warm = () => EmpiricalNtk.Compute(mlp, KernelReduction.FlattenClassMajor, x.SliceRows(0, 4));
                    break;
                }
                case "rules-operator-spectrum":
                case "rules-formed-spectrum":
                {
                    var x = X(name == "rules-formed-spectrum" ? 600 : 1500, 100);
                    // A fixed capture chunk: the default chunk follows the budget, and the probe runs under a budget (the
                    // estimate) other than the one it planned with.
                    var planned = name == "rules-formed-spectrum" ? new NtkOptions() : new NtkOptions { ChunkSize = 64 };
                    var plans = EmpiricalNtk.PlanSpectrum(mlp, KernelReduction.FlattenClassMajor, x, 20, planned, RidgePolicy.None);
                    var plan = plans.Single(p => p.Name == (name == "rules-formed-spectrum" ? "formed kernel" : "matrix-free layer-rule operator"));
                    est = plan.Estimate;
                    var o = planned with { MemoryBudgetBytes = est.Bytes };   // only this route (or a cheaper one) fits
                    run = () => EmpiricalNtk.Spectrum(mlp, KernelReduction.FlattenClassMajor, x, 20, o);
                    // Warm the same route (JIT, libtorch's lazily initialised kernels) on a few samples.
                    warm = () => EmpiricalNtk.PlanSpectrum(mlp, KernelReduction.FlattenClassMajor, x.SliceRows(0, 40), 4, new NtkOptions(), RidgePolicy.None)
                        .Single(p => p.Name == plan.Name).Run();
                    break;
                }
                case "rules-gpt-layers":
                {
                    // The bench's GPT-style transformer (4 pre-LN blocks, d 256, MLP 1,024, 32 tokens): per-layer all-pairs-mean
                    // kernels of six groups in one call, as `entk bench --suite own` computes them.
                    int count = inputs ?? 200;
                    if (count < 4) throw new EntkArgumentException("--n", "at least 4 inputs", count.ToString(CultureInfo.InvariantCulture));
                    var gpt = new BenchGpt();
                    var gm = TorchModuleModel.Wrap(gpt, 32, 64, new[] { 32 }, "gpt", integerInputs: true);
                    var tok = Matrix.FromArray(count, 32, Enumerable.Range(0, count * 32).Select(_ => (double)rng.Next(64)).ToArray());
                    var groups = BenchGpt.LayerGroups(gm.Layout.Tensors.Select(t => t.Name).ToArray());
                    est = EmpiricalNtk.EstimateMemory(gm, KernelReduction.AllPairsMean, count, groups: groups.Count, inputs: tok);
                    run = () => EmpiricalNtk.ComputeLayerwise(gm, KernelReduction.AllPairsMean, tok, groups: groups);
                    warm = () => EmpiricalNtk.ComputeLayerwise(gm, KernelReduction.AllPairsMean, tok.SliceRows(0, 4), groups: groups);
                    break;
                }
                case "jacobian-traced":
                {
                    var x = X(400, 50);
                    var o = new NtkOptions { Method = NtkMethod.JacobianContraction };
                    est = EmpiricalNtk.EstimateMemory(dense, KernelReduction.TraceMean, x.Rows, options: o);
                    run = () => EmpiricalNtk.Compute(dense, KernelReduction.TraceMean, x, options: o);
                    warm = () => EmpiricalNtk.Compute(dense, KernelReduction.TraceMean, x.SliceRows(0, 4), options: o);
                    break;
                }
                case "structured-flattened":
                {
                    var x = X(400, 50);
                    var o = new NtkOptions { Method = NtkMethod.Structured };
                    est = EmpiricalNtk.EstimateMemory(dense, KernelReduction.FlattenClassMajor, x.Rows, options: o);
                    run = () => EmpiricalNtk.Compute(dense, KernelReduction.FlattenClassMajor, x, options: o);
                    warm = () => EmpiricalNtk.Compute(dense, KernelReduction.FlattenClassMajor, x.SliceRows(0, 4), options: o);
                    break;
                }
                default:
                    throw new EntkArgumentException("--case", "rules-traced, rules-flattened, rules-formed-spectrum, rules-operator-spectrum, rules-gpt-layers, jacobian-traced or structured-flattened", name);
            }
            warm();
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            long baseline = Kb("VmRSS:");
            File.WriteAllText("/proc/self/clear_refs", "5");
            var r = run();
            long peak = (Kb("VmHWM:") - baseline) * 1024;
            GC.KeepAlive(r);
            Console.Out.WriteLine(new JsonObject { ["case"] = name, ["estimate"] = est.Bytes, ["peak"] = peak, ["baseline"] = baseline * 1024, ["ratio"] = (double)est.Bytes / Math.Max(1, peak), ["formula"] = est.Formula, ["route"] = r is Entk.Linalg.EigenDecomposition ed ? ed.Route.ToString() : null }.ToJsonString());
            return 0;
        }
    }
}

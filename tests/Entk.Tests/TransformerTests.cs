using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using Entk.Experiments;
using Entk.IO;
using Entk.Linalg;
using Entk.Metrics;
using Entk.Models;
using Entk.Tests.IO;
using Entk.Training;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Tests
{
    /// <summary>
    /// The modular-addition Transformer: the module against a literal full causal forward pass, its gradients, the weight
    /// conventions, the per-tensor kernels against finite-difference Jacobians, training (flat AdamW against the per-tensor
    /// AdamW, determinism, no global RNG), Python's shuffle and PyTorch's generator stream against /usr/bin/python3.
    /// </summary>
    [TestFixture]
    public class TransformerTests
    {
        private static readonly TransformerArchitecture Tiny = new() { Modulus = 5, ModelWidth = 8, Heads = 2, MlpWidth = 12 };

        /// <summary>Random weights of the given sizes (N(0, scale²)), from a private generator.</summary>
        internal static TransformerWeights RandomWeights(TransformerArchitecture a, int seed, double scale = 0.6)
        {
            var rng = new Random(seed);
            var d = new Dictionary<string, NdArray>();
            foreach (var n in TransformerWeights.Names)
            {
                var shape = a.ShapeOf(n).ToArray();
                int count = shape.Aggregate(1, (x, y) => x * y);
                var v = new double[count];
                for (int i = 0; i < count; i++)
                {
                    double u1 = 1 - rng.NextDouble(), u2 = rng.NextDouble();
                    v[i] = scale * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
                }
                d[n] = NdArray.FromDoubles(v, shape);
            }
            return TransformerWeights.FromArrays(a, d);
        }

        private static Tensor T(TransformerWeights w, string n, bool grad = false)
        {
            var t = torch.tensor(w[n].ToDoubleArray(), w.Architecture.ShapeOf(n).Select(d => (long)d).ToArray(), ScalarType.Float64);
            return grad ? t.requires_grad_(true) : t;
        }

        /// <summary>The paper's forward pass (docs/paper-notes.md §2.3.1) at all three positions with the causal mask, from the nine paper-shaped tensors.</summary>
        internal static Tensor LiteralForward(IReadOnlyList<Tensor> w, Tensor tokens)
        {
            var (we, pos, wq, wk, wv, wo, win, wout, wu) = (w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8]);
            long n = tokens.shape[0], h = wq.shape[0], dh = wq.shape[1];
            var x0 = we.index_select(0, tokens.reshape(-1)).reshape(n, 3, -1) + pos;
            var q = torch.einsum("hid,nsd->nhsi", wq, x0);
            var k = torch.einsum("hid,nsd->nhsi", wk, x0);
            var v = torch.einsum("hid,nsd->nhsi", wv, x0);
            var scores = torch.einsum("nhti,nhsi->nhts", q, k) / Math.Sqrt(dh);
            var mask = torch.ones(3, 3, ScalarType.Bool).triu(1);
            var attn = torch.nn.functional.softmax(scores.masked_fill(mask, double.NegativeInfinity), -1);
            var z = torch.einsum("nhts,nhsi->nthi", attn, v).reshape(n, 3, h * dh);
            var x1 = x0 + z.matmul(wo.t());
            var x2 = x1 + torch.nn.functional.relu(x1.matmul(win)).matmul(wout);
            return x2.select(1, 2).matmul(wu);
        }

        [Test]
        public void Module_EqualsLiteralCausalForwardPass_AndItsParameterGradients()
        {
            var w = RandomWeights(Tiny, 1);
            using var scope = torch.NewDisposeScope();
            using var m = w.CreateModule();
            var x = Torch.TorchOps.ToTensor(ModularTransformer.AllInputs(5));
            var y = m.forward(x);
            var leaves = TransformerWeights.Names.Select(n => T(w, n, grad: true)).ToArray();
            var yl = LiteralForward(leaves, x.to(ScalarType.Int64));
            double scale = yl.abs().max().item<double>();
            Assert.That((y - yl).abs().max().item<double>(), Is.LessThanOrEqualTo(1e-13 * scale));
            Assert.That(y.shape, Is.EqualTo(new long[] { 25, 6 }));

            // Gradients of a weighted logit sum: the module's ("=" row only) equal the full model's.
            var wts = torch.linspace(-1, 1, 6, ScalarType.Float64);
            var gm = torch.autograd.grad(new[] { (y * wts).sum() }, m.parameters().ToArray());
            var gl = torch.autograd.grad(new[] { (yl * wts).sum() }, leaves);
            var back = new TransformerWeightsBuilder(Tiny);
            var mod = back.FromModuleGradients(gm.ToArray());
            for (int i = 0; i < leaves.Length; i++)
            {
                var a = mod[i];
                var b = gl[i].reshape(a.shape);
                double s = Math.Max(1e-300, b.abs().max().item<double>());
                Assert.That((a - b).abs().max().item<double>(), Is.LessThanOrEqualTo(1e-12 * s), TransformerWeights.Names[i]);
            }
        }

        /// <summary>Maps module-parameter gradients back to the paper's shapes (transposes / reshapes as documented).</summary>
        private sealed class TransformerWeightsBuilder
        {
            private readonly TransformerArchitecture _a;

            public TransformerWeightsBuilder(TransformerArchitecture a) => _a = a;

            public Tensor[] FromModuleGradients(IReadOnlyList<Tensor> g) => new[]
            {
                g[0], g[1], g[2].reshape(_a.Heads, _a.HeadWidth, _a.ModelWidth), g[3].reshape(_a.Heads, _a.HeadWidth, _a.ModelWidth),
                g[4].reshape(_a.Heads, _a.HeadWidth, _a.ModelWidth), g[5], g[6].t(), g[7].t(), g[8].t(),
            };
        }

        [Test]
        public void Module_ParameterNamesOrderAndWeightConventions()
        {
            var w = RandomWeights(Tiny, 2);
            using var m = w.CreateModule();
            var named = m.named_parameters().ToArray();
            Assert.That(named.Select(p => p.name), Is.EqualTo(TransformerWeights.Names.Select(ModularTransformer.ParameterName)));
            Assert.That(named.Select(p => p.name).ToArray(), Is.EqualTo(new[]
            {
                "embed.weight", "pos_embed.W_pos", "attn.W_Q.weight", "attn.W_K.weight", "attn.W_V.weight", "attn.W_O.weight",
                "mlp.W_in.weight", "mlp.W_out.weight", "unembed.weight",
            }));
            // Linear weights hold the transposes of W_in, W_out, W_U and row h·d_head + i of W_Q.
            var win = w["W_in"].ToDoubleArray();
            var lin = named[6].parameter.detach().contiguous().data<double>().ToArray();    // [d_mlp, d]
            Assert.That(lin[3 * 8 + 5], Is.EqualTo(win[5 * 12 + 3]));
            var wq = w["W_Q"].ToDoubleArray();                                              // [2, 4, 8]
            var lq = named[2].parameter.detach().contiguous().data<double>().ToArray();     // [8, 8]
            Assert.That(lq[(1 * 4 + 2) * 8 + 7], Is.EqualTo(wq[(1 * 4 + 2) * 8 + 7]));
            var back = m.GetWeights();
            foreach (var n in TransformerWeights.Names)
            {
                Assert.That(back[n].Shape, Is.EqualTo(Tiny.ShapeOf(n)), n);
                Assert.That(back[n].ToDoubleArray(), Is.EqualTo(w[n].ToDoubleArray()), n);
            }
            var ck = TransformerWeights.FromCheckpoint(w.ToCheckpoint());
            Assert.That(ck.Architecture, Is.EqualTo(Tiny));
            Assert.That(ck.Flatten(), Is.EqualTo(w.Flatten()));
            Assert.That(new TransformerArchitecture().ParameterCount, Is.EqualTo(53184));
        }

        [Test]
        public void BadInputs_AreTypedErrorsNamingTheArgument()
        {
            var w = RandomWeights(Tiny, 3);
            using var m = w.CreateModule();
            using var scope = torch.NewDisposeScope();
            Assert.That(() => m.forward(torch.zeros(4, 2, ScalarType.Float64)), Throws.TypeOf<ShapeMismatchException>().With.Message.Contains("x"));
            Assert.That(() => m.forward(torch.full(2, 3, 6.0, ScalarType.Float64)), Throws.TypeOf<EntkArgumentException>().With.Message.Contains("[0, 5]"));
            Assert.That(() => m.forward(torch.full(2, 3, 1.5, ScalarType.Float64)), Throws.TypeOf<EntkArgumentException>().With.Message.Contains("integral"));
            var arrays = w.ToNamedArrays().ToDictionary(a => a.Name, a => a.Array);
            arrays["W_U"] = NdArray.FromDoubles(new double[8 * 5], 8, 5);
            Assert.That(() => TransformerWeights.FromArrays(Tiny, arrays), Throws.TypeOf<ShapeMismatchException>().With.Message.Contains("W_U"));
            Assert.That(() => new TransformerArchitecture { ModelWidth = 10, Heads = 4 }.Validate(), Throws.TypeOf<EntkArgumentException>().With.Message.Contains("Heads"));
            Assert.That(() => new TransformerConfig { TrainFraction = 1.0 }.Validate(), Throws.TypeOf<EntkArgumentException>().With.Message.Contains("TrainFraction"));
            Assert.That(() => new TransformerAnalysisOptions { TopK = 8 }.Validate(29), Throws.TypeOf<EntkArgumentException>().With.Message.Contains("TopK"));
            Assert.That(() => TransformerSetup.Create(new TransformerConfig(), -1), Throws.TypeOf<EntkArgumentException>().With.Message.Contains("seed"));
        }

        /// <summary>Central finite differences of the logit sum, per parameter, for every input: G [N, P] in paper order.</summary>
        private static double[,] FiniteDifferenceGradients(TransformerWeights w, double h = 1e-6)
        {
            int p = w.Architecture.Modulus, n = p * p;
            var theta = w.Flatten();
            var g = new double[n, theta.Length];
            using var scope = torch.NewDisposeScope();
            var tokens = Torch.TorchOps.ToTensor(ModularTransformer.AllInputs(p)).to(ScalarType.Int64);
            var offsets = new List<int> { 0 };
            foreach (var name in TransformerWeights.Names) offsets.Add(offsets[^1] + w.Architecture.ShapeOf(name).Aggregate(1, (a, b) => a * b));
            double[] Eval(double[] th)
            {
                using var inner = torch.NewDisposeScope();
                var ts = TransformerWeights.Names.Select((name, i) => torch.tensor(th.AsSpan(offsets[i], offsets[i + 1] - offsets[i]).ToArray(),
                    w.Architecture.ShapeOf(name).Select(d => (long)d).ToArray(), ScalarType.Float64)).ToArray();
                return LiteralForward(ts, tokens).sum(1).data<double>().ToArray();
            }
            for (int j = 0; j < theta.Length; j++)
            {
                double keep = theta[j];
                theta[j] = keep + h;
                var plus = Eval(theta);
                theta[j] = keep - h;
                var minus = Eval(theta);
                theta[j] = keep;
                for (int i = 0; i < n; i++) g[i, j] = (plus[i] - minus[i]) / (2 * h);
            }
            return g;
        }

        [Test]
        public void Kernels_EqualFiniteDifferenceJacobianContraction_PerTensorAndCombined()
        {
            var a = Tiny with { Modulus = 3 };
            var w = RandomWeights(a, 4, 0.5);
            var k = TransformerExperiment.Kernels(w);
            var g = FiniteDifferenceGradients(w);
            int n = 9, c = 4, off = 0;
            var byTensor = new Dictionary<string, Matrix>();
            foreach (var name in TransformerWeights.Names)
            {
                int cnt = a.ShapeOf(name).Aggregate(1, (x, y) => x * y);
                var kk = new double[n * n];
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < n; j++)
                    {
                        double s = 0;
                        for (int q = off; q < off + cnt; q++) s += g[i, q] * g[j, q];
                        kk[i * n + j] = s / (c * c);
                    }
                off += cnt;
                byTensor[name] = Matrix.FromArray(n, n, kk);
                double scale = Math.Max(1e-12, byTensor[name].MaxAbs());
                Assert.That(k[name].MaxAbsDifference(byTensor[name]), Is.LessThanOrEqualTo(1e-6 * scale + 1e-12), name);
            }
            var full = TransformerWeights.Names.Select(x => byTensor[x]).Aggregate((x, y) => x + y);
            TestUtil.AssertClose(k["full"], full, 1e-6, "full");
            TestUtil.AssertClose(k["full"], TransformerWeights.Names.Select(x => k[x]).Aggregate((x, y) => x + y), 1e-12, "layer sum");
            Assert.That(k["W_out+W_U"].MaxAbsDifference(k["W_out"] + k["W_U"]), Is.EqualTo(0));
            Assert.That(k["W_O+W_V"].MaxAbsDifference(k["W_O"] + k["W_V"]), Is.EqualTo(0));
            Assert.That(TransformerKernels.Names.Count, Is.EqualTo(12));
        }

        [Test]
        public void Training_Diverging_StopsAtTheCheckpointAndClaimsAreNotEvaluated()
        {
            // Learning rate 1e4: the first steps blow the weights up, so the full-batch loss at epoch 2 fails the check.
            var cfg = new TransformerConfig { Architecture = Tiny with { Modulus = 7 }, Epochs = 20, LearningRate = 1e4, WeightDecay = 0, BatchSize = 8, LogEvery = 2 };
            var t = TransformerTraining.Train(TransformerSetup.Create(cfg, 5));
            Assert.That(t.Divergence, Is.Not.Null, "training with lr 1e4 diverges");
            var d = t.Divergence!;
            Assert.That(d.Unit, Is.EqualTo("epoch"));
            Assert.That(d.Step % 2, Is.EqualTo(0), "checked at checkpoints");
            Assert.That(d.Step, Is.LessThan(20));
            Assert.That(t.Checkpoints[^1].Epoch, Is.EqualTo(d.KeptStep), "the checkpoints end at the last one that passed");
            Assert.That(t.Checkpoints.All(c => double.IsFinite(c.Metrics.TrainLoss)), Is.True);
            Assert.That(!double.IsFinite(d.Loss) || d.Loss > DivergenceCheck.ExplosionFactor * t.Checkpoints[0].Metrics.TrainLoss, Is.True, d.ToString());
            var a = TransformerExperiment.Analyze(t, new TransformerAnalysisOptions { TopK = 6, KeyFrequencies = new[] { 1 } });
            var claims = TransformerClaims.Evaluate(a);
            Assert.That(claims.Where(c => c.Verdict != Verdict.Info).Select(c => c.Verdict), Is.All.EqualTo(Verdict.NotEvaluated));
        }

        [Test]
        public void Training_FlatAdamW_EqualsPerTensorAdamW_Deterministic_GlobalRngUntouched()
        {
            var cfg = new TransformerConfig { Architecture = Tiny with { Modulus = 7 }, Epochs = 6, LearningRate = 3e-3, WeightDecay = 0.5, BatchSize = 8, LogEvery = 3 };
            var setup = TransformerSetup.Create(cfg, 5);
            using var before = torch.random.get_rng_state();
            var a = TransformerTraining.Train(setup);
            var b = TransformerTraining.Train(setup);
            using var after = torch.random.get_rng_state();
            Assert.That(after.data<byte>().ToArray(), Is.EqualTo(before.data<byte>().ToArray()), "global RNG state");
            Assert.That(a.Weights.Flatten(), Is.EqualTo(b.Weights.Flatten()), "same setup, same result");
            Assert.That(a.History.Select(h => h.Epoch), Is.EqualTo(new[] { 0, 3, 6 }));
            Assert.That(a.Steps, Is.EqualTo(6 * 3));   // ⌈24 / 8⌉ = 3 batches per epoch (p = 7: 24 training pairs)

            // The same steps with the per-tensor AdamW (PyTorch's operation order) on a second copy of the module.
            using var scope = torch.NewDisposeScope();
            using var m = setup.InitialWeights.CreateModule();
            var ps = m.ParameterList();
            var opt = new AdamOptimizer(ps.Cast<Tensor>().ToArray(), cfg.LearningRate, cfg.WeightDecay, decoupled: true);
            var order = setup.BatchOrder();
            var tokens = Torch.TorchOps.ToTensor(ModularTransformer.AllInputs(7)).to(ScalarType.Int64);
            var labels = torch.tensor(ModularTransformer.AllLabels(7).Select(v => (long)v).ToArray(), ScalarType.Int64);
            var tr = torch.tensor(setup.TrainIndices.Select(v => (long)v).ToArray(), ScalarType.Int64);
            for (int e = 0; e < cfg.Epochs; e++)
            {
                var perm = order.NextEpoch(setup.TrainIndices.Count);
                for (int s = 0; s < perm.Length; s += cfg.BatchSize)
                {
                    var idx = tr.index_select(0, torch.tensor(perm.Skip(s).Take(cfg.BatchSize).ToArray(), ScalarType.Int64));
                    var loss = torch.nn.functional.cross_entropy(m.Logits(tokens.index_select(0, idx)).narrow(1, 0, 7), labels.index_select(0, idx));
                    opt.ZeroGrad();
                    loss.backward();
                    opt.Step();
                }
                order.AfterEpoch(e);
            }
            var flat = a.Weights.Flatten();
            var reference = m.GetWeights().Flatten();
            double diff = flat.Zip(reference, (x, y) => Math.Abs(x - y)).Max(), scale = reference.Max(Math.Abs);
            Assert.That(diff, Is.LessThanOrEqualTo(1e-14 * scale), "flat vs per-tensor AdamW");
        }

        [Test]
        public void PythonRandomShuffle_EqualsCPython()
        {
            Py.RequireNumpy();
            var seeds = new long[] { 0, 1, 2, 12345, (1L << 40) + 7, -5 };
            string script = "import random, json, sys\nout = {}\nfor s in json.loads(sys.argv[1]):\n    r = random.Random(s)\n    a = list(range(841)); r.shuffle(a)\n"
                + "    b = list(range(10)); r.shuffle(b)\n    out[str(s)] = {'a': a, 'b': b, 'bits': [r.getrandbits(k) for k in (1, 5, 17, 31, 32)], 'below': [r.randrange(n) for n in (1, 3, 1000, 2**31 + 11)]}\nprint(json.dumps(out))\n";
            var res = JsonNode.Parse(Py.Run(script, JsonSerializer.Serialize(seeds)))!;
            foreach (var s in seeds)
            {
                var r = new PythonRandom(s);
                var a = Enumerable.Range(0, 841).ToArray();
                r.Shuffle(a);
                var b = Enumerable.Range(0, 10).ToArray();
                r.Shuffle(b);
                var node = res[s.ToString(CultureInfo.InvariantCulture)]!;
                Assert.That(a, Is.EqualTo(node["a"]!.AsArray().Select(v => (int)v!)), "shuffle 841, seed " + s);
                Assert.That(b, Is.EqualTo(node["b"]!.AsArray().Select(v => (int)v!)), "shuffle 10, seed " + s);
                Assert.That(new[] { 1, 5, 17, 31, 32 }.Select(k => r.GetRandBits(k)), Is.EqualTo(node["bits"]!.AsArray().Select(v => (long)v!)), "getrandbits, seed " + s);
                Assert.That(new long[] { 1, 3, 1000, (1L << 31) + 11 }.Select(r.RandBelow), Is.EqualTo(node["below"]!.AsArray().Select(v => (long)v!)), "randrange, seed " + s);
            }
            var split = TransformerSetup.Split(29, 0.5, 0);
            Assert.That(split[0].Count, Is.EqualTo(420));
            Assert.That(split[1].Count, Is.EqualTo(421));
            Assert.That(split[0].Concat(split[1]).OrderBy(v => v), Is.EqualTo(Enumerable.Range(0, 841)));
        }

        [Test]
        public void GeneratorStream_EqualsTorchRandomAndTheNotebooksDataLoader()
        {
            Py.RequireTorch();
            // In-process: the managed MT19937 continues TorchSharp's generator exactly (randperm for small n draws random() % (n − i)).
            using (var g = new torch.Generator(77, torch.CPU))
            {
                torch.randn(new long[] { 3, 5 }, ScalarType.Float32, generator: g).Dispose();
                var stream = TorchGeneratorStream.FromState(TorchGeneratorStream.StateOf(g));
                var r = Enumerable.Range(0, 10).ToArray();
                for (int i = 0; i < 9; i++)
                {
                    int z = (int)(stream.NextUInt32() % (uint)(10 - i));
                    (r[i], r[i + z]) = (r[i + z], r[i]);
                }
                using var perm = torch.randperm(10, ScalarType.Int64, generator: g);
                Assert.That(r.Select(v => (long)v), Is.EqualTo(perm.data<long>().ToArray()));
            }
            // Against torch 1.13: random_() int64 draws after the init draws, and a real DataLoader's shuffled batches.
            const string script = @"
import json, sys, torch
from torch.utils.data import DataLoader, TensorDataset
seed, n, epochs = int(sys.argv[1]), 20, 23
shapes = [(8, 16), (3, 16), (2, 8, 16), (2, 8, 16), (2, 8, 16), (16, 16), (16, 32), (32, 16), (16, 8)]
g = torch.Generator().manual_seed(seed)
for s in shapes: torch.randn(s, generator=g, dtype=torch.float32)
draws = [int(torch.empty((), dtype=torch.int64).random_(generator=g).item()) for _ in range(4)]
perms = []
with torch.random.fork_rng():
    torch.manual_seed(seed)
    for s in shapes: torch.randn(s)
    tl = DataLoader(TensorDataset(torch.arange(n)), batch_size=6, shuffle=True)
    vl = DataLoader(TensorDataset(torch.arange(4)), batch_size=6, shuffle=False)
    for e in range(epochs):
        perms.append(torch.cat([b[0] for b in tl]).tolist())
        if e % 20 == 0:
            for _ in vl: pass
            for _ in tl: pass
print(json.dumps({'draws': draws, 'perms': perms}))
";
            var res = JsonNode.Parse(Py.Run(script, "9"))!;
            var cfg = new TransformerConfig { Architecture = new TransformerArchitecture { Modulus = 7, ModelWidth = 16, Heads = 2, MlpWidth = 32 } };
            using (var g = new torch.Generator(9, torch.CPU))
            {
                foreach (var name in TransformerWeights.Names)
                    torch.randn(cfg.Architecture.ShapeOf(name).Select(d => (long)d).ToArray(), ScalarType.Float32, generator: g).Dispose();
                var stream = TorchGeneratorStream.FromState(TorchGeneratorStream.StateOf(g));
                Assert.That(Enumerable.Range(0, 4).Select(_ => stream.NextInt64()), Is.EqualTo(res["draws"]!.AsArray().Select(v => (long)v!)));
            }
            var order = TransformerSetup.Create(cfg, 9).BatchOrder();
            var perms = res["perms"]!.AsArray();
            for (int e = 0; e < perms.Count; e++)
            {
                Assert.That(order.NextEpoch(20), Is.EqualTo(perms[e]!.AsArray().Select(v => (long)v!)), "epoch " + e);
                order.AfterEpoch(e);
            }
        }

        [Test]
        public void KeyFrequencies_RecoverPlantedFrequencies_AndMatchADirectDft()
        {
            int p = 29, d = 12;
            var rng = new Random(3);
            var w = new double[(p + 1) * d];
            for (int t = 0; t < p + 1; t++)
                for (int c = 0; c < d; c++)
                {
                    double v = 0.02 * (rng.NextDouble() - 0.5);
                    if (t < p) v += Math.Cos(2 * Math.PI * 4 * t / p + c) + 0.7 * Math.Sin(2 * Math.PI * 9 * t / p + 0.3 * c);
                    w[t * d + c] = v;
                }
            var r = KeyFrequencies.FromEmbedding(Matrix.FromArray(p + 1, d, w), p);
            Assert.That(r.Frequencies, Is.EqualTo(new[] { 4, 9 }));
            Assert.That(r.PowerFraction, Is.GreaterThan(0.99));
            Assert.That(r.GapRatio, Is.GreaterThan(10));
            Assert.That(r.Ranked.Take(2), Is.EquivalentTo(new[] { 4, 9 }));
            for (int k = 1; k < p; k++) Assert.That(r.Power[k], Is.EqualTo(r.Power[p - k]).Within(1e-9 * r.Power[4]));
            for (int k = 0; k < p; k++)
            {
                double s = 0;
                for (int c = 0; c < d; c++)
                {
                    double re = 0, im = 0;
                    for (int t = 0; t < p; t++) { re += w[t * d + c] * Math.Cos(2 * Math.PI * k * t / p); im -= w[t * d + c] * Math.Sin(2 * Math.PI * k * t / p); }
                    s += re * re + im * im;
                }
                Assert.That(r.Power[k], Is.EqualTo(s / d).Within(1e-9 * Math.Max(1, s / d)), "k = " + k);
            }
            Assert.That(KeyFrequencies.FromEmbedding(Matrix.FromArray(p + 1, d, w), p, maxCount: 1).Frequencies.Count, Is.EqualTo(1));
            Assert.That(() => KeyFrequencies.FromEmbedding(Matrix.Zeros(5, 2), 7), Throws.TypeOf<ShapeMismatchException>());
        }
    }

    /// <summary>`entk transformer` end to end on a small model: files, shapes, and the exported spectra equal those of the exported weights.</summary>
    [TestFixture]
    [NonParallelizable]
    public class TransformerCommandTests
    {
        [Test]
        public void Commands_AreRegistered_AndBadOptionsAreTypedErrors()
        {
            var (code, help) = CliTests.Run("reproduce", "--help");
            Assert.That(code, Is.EqualTo(0));
            Assert.That(help, Does.Contain("transformer"));
            var (c2, allHelp) = CliTests.Run("reproduce", "all", "--help");
            Assert.That(c2, Is.EqualTo(0));
            Assert.That(allHelp, Does.Contain("--transformer-seeds"));
            string dir = Path.Combine(Path.GetTempPath(), "entk-out-transformer-bad-" + Guid.NewGuid().ToString("N"));
            var (c3, o3) = CliTests.Run("reproduce", "all", "--out", dir, "--transformer-seeds", "2,x");
            Assert.That(c3, Is.EqualTo(2), o3);
            Assert.That(o3, Does.Contain("--transformer-seeds"));
            var (c4, o4) = CliTests.Run("transformer", "--out", dir, "-p", "7", "--d-model", "10", "--heads", "4");
            Assert.That(c4, Is.EqualTo(2), o4);
            Assert.That(o4, Does.Contain("--heads"));
            var (c5, o5) = CliTests.Run("transformer", "--out", dir, "-p", "7", "--epochs", "40", "--spectrum-epochs", "15");
            Assert.That(c5, Is.EqualTo(2), o5);
            Assert.That(o5, Does.Contain("--spectrum-epochs"));
            Assert.That(Directory.Exists(dir), Is.False, "nothing written for refused arguments");
        }

        [Test]
        public void TransformerCommand_FilesShapes_ExportedSpectraAreThoseOfTheExportedWeights()
        {
            string dir = Path.Combine(Path.GetTempPath(), "entk-out-transformer-" + Guid.NewGuid().ToString("N"));
            try
            {
                var (code, output) = CliTests.Run("transformer", "--out", dir, "--seed", "1", "-p", "7", "--d-model", "16", "--heads", "2", "--d-mlp", "32",
                    "--epochs", "40", "--lr", "3e-3", "--weight-decay", "0.1", "--batch-size", "8", "--log-every", "10", "-k", "49", "--spectrum-epochs", "0,20", "--write-kernels");
                Assert.That(code, Is.EqualTo(0), output);
                string t = Path.Combine(dir, "transformer");
                var w = TransformerWeights.FromCheckpoint(Checkpoint.Load(Path.Combine(t, "weights.npz")));
                var a = w.Architecture;
                var expected = new Dictionary<string, int[]>
                {
                    ["W_E"] = new[] { 8, 16 }, ["W_pos"] = new[] { 3, 16 }, ["W_Q"] = new[] { 2, 8, 16 }, ["W_K"] = new[] { 2, 8, 16 }, ["W_V"] = new[] { 2, 8, 16 },
                    ["W_O"] = new[] { 16, 16 }, ["W_in"] = new[] { 16, 32 }, ["W_out"] = new[] { 32, 16 }, ["W_U"] = new[] { 16, 8 },
                };
                var ck = Checkpoint.Load(Path.Combine(t, "weights.npz"));
                foreach (var kv in expected) Assert.That(ck.Tensor(kv.Key).Shape, Is.EqualTo(kv.Value), kv.Key);
                var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(t, "metrics.json")))!;

                // Recompute everything from the exported weights: kernels, spectra, logits, key frequencies.
                var kernels = TransformerExperiment.Kernels(w);
                foreach (var n in TransformerKernels.Names)
                {
                    var written = Npy.ReadMatrix(Path.Combine(t, "kernel_" + n + ".npy"));
                    TestUtil.AssertClose(written, kernels[n], 1e-12, "kernel " + n);
                    var values = Npy.ReadVector(Path.Combine(t, "eigenvalues_" + n + ".npy"));
                    var vectors = Npy.ReadMatrix(Path.Combine(t, "eigenvectors_" + n + ".npy"));
                    Assert.That(values.Length, Is.EqualTo(49), n);
                    Assert.That(vectors.Shape, Is.EqualTo(new[] { 49, 49 }), n);
                    var fresh = SymmetricEigen.Decompose(kernels[n], 49, RidgePolicy.Paper);
                    TestUtil.AssertClose(values, fresh.ValuesArray(), 1e-10, "eigenvalues " + n);
                    // A·V = V·Λ for the written pairs against the recomputed kernel (+ ridge), and VᵀV = I.
                    double shift = fresh.Shift, lam0 = Math.Abs(values[0]);
                    var kv2 = kernels[n].Multiply(vectors);
                    for (int j = 0; j < 49; j++)
                        for (int i = 0; i < 49; i++)
                            Assert.That(Math.Abs(kv2[i, j] + shift * vectors[i, j] - values[j] * vectors[i, j]), Is.LessThanOrEqualTo(1e-9 * lam0 + 1e-300), n + " residual");
                    TestUtil.AssertClose(vectors.Transpose().Multiply(vectors), Matrix.Identity(49), 1e-10, "orthonormal " + n);
                    Assert.That(metrics["kernels"]![n]!["eigenvalues"]!.AsArray().Select(v => v!.GetValue<double>()), Is.EqualTo(values), n);
                }
                using (var m = w.CreateModule())
                using (var scope = torch.NewDisposeScope())
                using (torch.no_grad())
                    TestUtil.AssertClose(Npy.ReadMatrix(Path.Combine(t, "logits.npy")), Torch.TorchOps.ToMatrix(m.forward(Torch.TorchOps.ToTensor(ModularTransformer.AllInputs(7)))), 1e-14, "logits");
                var keys = KeyFrequencies.FromEmbedding(w["W_E"].ToMatrix(), 7);
                Assert.That(metrics["key_frequency_detection"]!["detected"]!.AsArray().Select(v => v!.GetValue<int>()), Is.EqualTo(keys.Frequencies));
                TestUtil.AssertClose(Npy.ReadVector(Path.Combine(t, "fourier_power.npy")), keys.Power.ToArray(), 1e-14, "fourier power");
                var hist = Npy.Read(Path.Combine(t, "history.npy"));
                Assert.That(hist.Shape, Is.EqualTo(new[] { 5, 5 }));
                var split = Npz.Read(Path.Combine(t, "split.npz"));
                Assert.That(split.Arrays.Select(x => x.Array.ElementCount).Sum(), Is.EqualTo(49));
                var ot = Npz.Read(Path.Combine(t, "spectra_over_training.npz"));
                Assert.That(ot["epochs"].ToInt64Array(), Is.EqualTo(new long[] { 0, 20 }));
                Assert.That(ot["W_U"].Shape, Is.EqualTo(new[] { 2, 49 }));
                foreach (var f in new[] { "accuracy.png", "accuracy.csv", "fourier.png", "spectra.png", "spectra.csv", "overlaps.png", "rotation.png", "over_training.png", "report.md", "manifest.json", "initial_weights.npz" })
                    Assert.That(File.Exists(Path.Combine(t, f)), Is.True, f);
                Assert.That(metrics["claims"]!.AsArray().Count, Is.GreaterThanOrEqualTo(6));

                // The same command again: refused without --force/--resume; with --resume the verified folder is kept.
                var args = new[] { "transformer", "--out", dir, "--seed", "1", "-p", "7", "--d-model", "16", "--heads", "2", "--d-mlp", "32",
                    "--epochs", "40", "--lr", "3e-3", "--weight-decay", "0.1", "--batch-size", "8", "--log-every", "10", "-k", "49", "--spectrum-epochs", "0,20", "--write-kernels" };
                string manifest = File.ReadAllText(Path.Combine(t, "manifest.json"));
                var (again, refused) = CliTests.Run(args);
                Assert.That(again, Is.EqualTo(2), refused);
                var (resumed, log) = CliTests.Run(args.Append("--resume").ToArray());
                Assert.That(resumed, Is.EqualTo(0), log);
                Assert.That(log, Does.Contain("skipped"));
                Assert.That(File.ReadAllText(Path.Combine(t, "manifest.json")), Is.EqualTo(manifest));
            }
            finally
            {
                if (Directory.Exists(dir)) Directory.Delete(dir, true);
            }
        }
    }
}

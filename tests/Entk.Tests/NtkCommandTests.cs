using System;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using Entk.IO;
using Entk.Tests.IO;
using NUnit.Framework;

namespace Entk.Tests
{
    /// <summary>
    /// `entk ntk` end to end: a TorchScript model saved by Debian's torch 1.13, eigenvalues equal to functorch's
    /// (vmap(jacrev) + einsum + eigh in the same Python) to 1e-10 relative, the files the issue lists, bad input → rc 2.
    /// </summary>
    [TestFixture]
    [NonParallelizable]
    public sealed class NtkCommandTests
    {
        private string _dir = "";

        private const string Script = @"
import sys, numpy as np, torch, torch.nn as nn
from functorch import make_functional, vmap, jacrev
out = sys.argv[1]
torch.manual_seed(3)
m = nn.Sequential(nn.Linear(12, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3)).double().eval()
torch.jit.save(torch.jit.script(m), f'{out}/model.pt')
x = np.random.default_rng(4).standard_normal((40, 12))
np.save(f'{out}/x.npy', x.astype(np.float32))          # float32 inputs, as a user may save them
xt = torch.from_numpy(x.astype(np.float32)).double()
fm, params = make_functional(m)
J = vmap(jacrev(lambda p, xi: fm(p, xi.unsqueeze(0)).squeeze(0)), (None, 0))(params, xt)
Jf = torch.cat([j.reshape(40, 3, -1) for j in J], 2).detach()
K = torch.einsum('ncp,mdp->nmcd', Jf, Jf)
tr = K.diagonal(dim1=2, dim2=3).mean(-1)
np.save(f'{out}/eig_traced.npy', torch.linalg.eigvalsh(tr).flip(0)[:10].numpy())
flat = K.permute(2, 0, 3, 1).reshape(120, 120)
np.save(f'{out}/eig_flat.npy', torch.linalg.eigvalsh(flat).flip(0)[:10].numpy())
for i, (name, p) in enumerate(m.named_parameters()):
    Jt = J[i].reshape(40, 3, -1).detach()
    kt = torch.einsum('ncp,mcp->nm', Jt, Jt) / 3
    np.save(f'{out}/eig_{name.replace(""."", ""_"")}.npy', torch.linalg.eigvalsh(kt).flip(0)[:10].numpy())
print('ok')
";

        [OneTimeSetUp]
        public void Generate()
        {
            Py.RequireTorch();
            _dir = Path.Combine(Path.GetTempPath(), "entk-ntkcmd-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(_dir);
            string gen = Path.Combine(_dir, "gen.py");
            File.WriteAllText(gen, Script);
            Assert.That(Py.Run("import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')", gen, _dir).Trim(), Is.EqualTo("ok"));
        }

        [OneTimeTearDown]
        public void Clean()
        {
            if (_dir.Length > 0 && Directory.Exists(_dir)) Directory.Delete(_dir, true);
        }

        private static void AssertRelClose(double[] actual, double[] expected, double tol, string what)
        {
            Assert.That(actual.Length, Is.EqualTo(expected.Length), what);
            for (int i = 0; i < actual.Length; i++)
                Assert.That(Math.Abs(actual[i] - expected[i]), Is.LessThanOrEqualTo(tol * Math.Abs(expected[0])), what + "[" + i + "]");
        }

        [Test]
        public void Traced_Layerwise_MatchesFunctorch_WritesTheFiles()
        {
            string outDir = Path.Combine(_dir, "traced");
            var (code, output) = CliTests.Run("ntk", "--model", Path.Combine(_dir, "model.pt"), "--inputs", Path.Combine(_dir, "x.npy"), "--layerwise", "--top-k", "10", "--out", outDir);
            Assert.That(code, Is.EqualTo(0), output);
            AssertRelClose(Npy.ReadVector(Path.Combine(outDir, "eigenvalues.npy")), Npy.ReadVector(Path.Combine(_dir, "eig_traced.npy")), 1e-10, "model");
            foreach (var t in new[] { "0_weight", "0_bias", "2_weight", "2_bias", "4_weight", "4_bias" })
            {
                AssertRelClose(Npy.ReadVector(Path.Combine(outDir, "eigenvalues_" + t + ".npy")), Npy.ReadVector(Path.Combine(_dir, "eig_" + t + ".npy")), 1e-10, t);
                Assert.That(Npy.ReadMatrix(Path.Combine(outDir, "eigenvectors_" + t + ".npy")).Shape, Is.EqualTo(new[] { 40, 10 }));
            }
            Assert.That(Npy.ReadMatrix(Path.Combine(outDir, "eigenvectors.npy")).Shape, Is.EqualTo(new[] { 40, 10 }));
            var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "metrics.json")))!;
            Assert.That(metrics["routes"]!.AsArray().Select(r => r!["route"]!.GetValue<string>()), Is.All.EqualTo("LayerRule"));
            Assert.That(metrics["seconds"]!["total"]!.GetValue<double>(), Is.GreaterThan(0));
            Assert.That(metrics["peak_memory_bytes"]!.GetValue<long>(), Is.GreaterThan(0));
            Assert.That(metrics["spectra"]!["model"]!["max_relative_residual"]!.GetValue<double>(), Is.LessThan(1e-10));
            Assert.That(File.Exists(Path.Combine(outDir, "spectrum.png")), Is.True);
        }

        [Test]
        public void Flattened_MatchesFunctorch()
        {
            string outDir = Path.Combine(_dir, "flat");
            var (code, output) = CliTests.Run("ntk", "--model", Path.Combine(_dir, "model.pt"), "--inputs", Path.Combine(_dir, "x.npy"), "--reduction", "flatten-class-major", "--top-k", "10", "--out", outDir);
            Assert.That(code, Is.EqualTo(0), output);
            AssertRelClose(Npy.ReadVector(Path.Combine(outDir, "eigenvalues.npy")), Npy.ReadVector(Path.Combine(_dir, "eig_flat.npy")), 1e-10, "flattened");
            Assert.That(Npy.ReadMatrix(Path.Combine(outDir, "eigenvectors.npy")).Shape, Is.EqualTo(new[] { 120, 10 }));
        }

        [TestCase("--reduction", "trace-median", "--reduction")]
        [TestCase("--precision", "float16", "--precision")]
        [TestCase("--top-k", "0", "--top-k")]
        [TestCase("--inputs", "missing.npy", "--inputs")]
        [TestCase("--model", "missing.pt", "--model")]
        public void BadInput_OneLine_ExitCode2(string option, string value, string named)
        {
            var args = new System.Collections.Generic.Dictionary<string, string>
            {
                ["--model"] = Path.Combine(_dir, "model.pt"), ["--inputs"] = Path.Combine(_dir, "x.npy"), ["--out"] = Path.Combine(_dir, "bad-" + Guid.NewGuid().ToString("N")),
            };
            args[option] = value.EndsWith(".npy", StringComparison.Ordinal) || value.EndsWith(".pt", StringComparison.Ordinal) ? Path.Combine(_dir, value) : value;
            var (code, output) = CliTests.Run(new[] { "ntk" }.Concat(args.SelectMany(kv => new[] { kv.Key, kv.Value })).ToArray());
            Assert.That(code, Is.EqualTo(2), output);
            Assert.That(output, Does.Contain(named));
            Assert.That(output, Does.Not.Contain("   at "), "no stack trace");
        }

        [Test]
        public void WrongInputShape_NamesTheInputs()
        {
            string bad = Path.Combine(_dir, "wide.npy");
            Npy.WriteMatrix(bad, TestUtil.RandomMatrix(4, 13, 1), overwrite: true);
            var (code, output) = CliTests.Run("ntk", "--model", Path.Combine(_dir, "model.pt"), "--inputs", bad, "--out", Path.Combine(_dir, "wide-out"));
            Assert.That(code, Is.EqualTo(2), output);
            Assert.That(output, Does.Contain("--inputs"));
        }
    }
}

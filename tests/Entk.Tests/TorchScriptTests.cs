using System;
using System.IO;
using System.Linq;
using Entk.IO;
using Entk.Kernels;
using Entk.Models;
using Entk.Tests.IO;
using NUnit.Framework;

namespace Entk.Tests
{
    /// <summary>
    /// TorchScript files saved by Debian's torch 1.13 (generated at test time by /usr/bin/python3): native rebuild of
    /// scripted Sequentials, the opaque route for custom forward code, and kernels equal to functorch's to 1e-10.
    /// </summary>
    [TestFixture]
    [NonParallelizable]
    public sealed class TorchScriptTests
    {
        private string _dir = "";

        private const string Script = @"
import sys, json, numpy as np, torch, torch.nn as nn
from functorch import make_functional, vmap, jacrev
out = sys.argv[1]
torch.manual_seed(0)
class Custom(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(6, 5)
        self.w = nn.Parameter(torch.randn(5, 3))
    def forward(self, x):
        return torch.tanh(self.a(x)) @ self.w
models = {
    'mlp': (nn.Sequential(nn.Linear(6, 7), nn.Tanh(), nn.Linear(7, 7), nn.GELU(), nn.Dropout(0.1), nn.Linear(7, 3)), (6,)),
    'cnn': (nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Conv2d(3, 2, 3, stride=2), nn.Tanh(), nn.Flatten(), nn.Linear(2*2*2, 3)), (1, 6, 6)),
    'emb': (nn.Sequential(nn.Embedding(9, 4), nn.LayerNorm(4), nn.Flatten(), nn.Linear(4*5, 3)), (5,)),
    'f32': (nn.Sequential(nn.Linear(6, 4), nn.Sigmoid(), nn.Linear(4, 3)), (6,)),
    'custom': (Custom(), (6,)),
}
rng = np.random.default_rng(1)
for name, (m, shape) in models.items():
    m = m.float() if name == 'f32' else m.double()
    m.eval()
    torch.jit.save(torch.jit.script(m), f'{out}/{name}.pt')
    if name == 'mlp':
        torch.save(m.state_dict(), f'{out}/mlp_state.pt')
        np.savez(f'{out}/mlp_state.npz', **{k: v.numpy() for k, v in m.state_dict().items()})
    n = 7
    if name == 'emb':
        x = rng.integers(0, 9, size=(n,) + shape).astype(np.float64)
        fwd = lambda p, b, xx: fm(p, b, xx.long())
    else:
        x = rng.standard_normal((n,) + shape)
    np.save(f'{out}/{name}_x.npy', x.reshape(n, -1))
    md = m.double()
    fm, params, buffers = None, None, None
    from functorch import make_functional_with_buffers
    fm, params, buffers = make_functional_with_buffers(md)
    xt = torch.from_numpy(x).long() if name == 'emb' else torch.from_numpy(x)
    def f(p, xi):
        return fm(p, buffers, xi.unsqueeze(0)).squeeze(0)
    jac = vmap(jacrev(f), (None, 0))(params, xt)
    J = torch.cat([j.reshape(n, 3, -1) for j in jac], 2)
    K = torch.einsum('ncp,mdp->nmcd', J, J).detach()
    np.save(f'{out}/{name}_traced.npy', K.diagonal(dim1=2, dim2=3).mean(-1).numpy())
    np.save(f'{out}/{name}_flat.npy', K.permute(2, 0, 3, 1).reshape(n * 3, n * 3).numpy())
sd = nn.Linear(2, 2).double()
torch.save(sd.state_dict(), f'{out}/state_dict.pt')
print('ok')
";

        [OneTimeSetUp]
        public void Generate()
        {
            Py.RequireTorch();
            _dir = Path.Combine(Path.GetTempPath(), "entk-torchscript-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(_dir);
            // torch.jit.script needs the source of custom classes: run the generator from a file, not from -c.
            string gen = Path.Combine(_dir, "gen.py");
            File.WriteAllText(gen, Script);
            Assert.That(Py.Run("import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')", gen, _dir).Trim(), Is.EqualTo("ok"));
        }

        [OneTimeTearDown]
        public void Clean()
        {
            if (_dir.Length > 0 && Directory.Exists(_dir)) Directory.Delete(_dir, true);
        }

        private Matrix Inputs(string name) => NdArrayMatrix(Npy.Read(Path.Combine(_dir, name + "_x.npy")));

        private static Matrix NdArrayMatrix(NdArray a) => Matrix.FromArray(a.Shape[0], a.Shape[1], a.ToDoubleArray());

        [TestCase("mlp", new[] { 6 }, true)]
        [TestCase("cnn", new[] { 1, 6, 6 }, true)]
        [TestCase("emb", new[] { 5 }, true)]
        [TestCase("f32", new[] { 6 }, true)]
        [TestCase("custom", new[] { 6 }, false)]
        public void Load_KernelsEqualFunctorch(string name, int[] shape, bool rebuilt)
        {
            var imp = TorchScript.Load(Path.Combine(_dir, name + ".pt"), shape);
            Assert.That(imp.Rebuilt, Is.EqualTo(rebuilt), imp.Description);
            var model = imp.Model;
            Assert.That(model.OutputDimension, Is.EqualTo(3));
            var x = Inputs(name);
            var traced = EmpiricalNtk.Compute(model, KernelReduction.TraceMean, x);
            var flat = EmpiricalNtk.Compute(model, KernelReduction.FlattenClassMajor, x);
            const double tol = 1e-10;   // f32: the file's float32 weights are promoted exactly to float64 on both sides
            TestUtil.AssertClose(traced.Matrix, NdArrayMatrix(Npy.Read(Path.Combine(_dir, name + "_traced.npy"))), tol, name + " traced vs functorch");
            TestUtil.AssertClose(flat.Matrix, NdArrayMatrix(Npy.Read(Path.Combine(_dir, name + "_flat.npy"))), tol, name + " flattened vs functorch");
            if (rebuilt) Assert.That(traced.TensorRoutes.Select(r => r.Kind), Is.All.EqualTo(TensorRouteKind.LayerRule), string.Join("; ", traced.TensorRoutes));
            else
            {
                Assert.That(imp.OpaqueReason, Does.Contain("own forward code"));
                Assert.That(traced.Method, Is.EqualTo(NtkMethod.JacobianContraction));
            }
        }

        [Test]
        public void Load_NamesFollowPyTorch()
        {
            var imp = TorchScript.Load(Path.Combine(_dir, "mlp.pt"), new[] { 6 });
            Assert.That(imp.Model.Layout.Tensors.Select(t => t.Name), Is.EqualTo(new[] { "0.weight", "0.bias", "2.weight", "2.bias", "5.weight", "5.bias" }));
            Assert.That(imp.Layers, Does.Contain("GELU").And.Contain("Dropout (identity in eval mode)"));
            Assert.That(imp.Layers, Is.Not.InstanceOf<string[]>(), "a read-only view, never the private array");
            Assert.That(((System.Collections.IList)imp.Layers).IsReadOnly, Is.True);
        }

        [TestCase("mlp_state.pt")]
        [TestCase("mlp_state.npz")]
        public void StateDict_IntoOwnTorchSharpModule_SameKernelAsTorchScript(string file)
        {
            TorchSharp.torch.random.manual_seed(99);
            var f64 = TorchSharp.torch.ScalarType.Float64;
            var module = TorchSharp.torch.nn.Sequential(("0", TorchSharp.torch.nn.Linear(6, 7, dtype: f64)), ("1", TorchSharp.torch.nn.Tanh()),
                ("2", TorchSharp.torch.nn.Linear(7, 7, dtype: f64)), ("3", TorchSharp.torch.nn.GELU()), ("4", TorchSharp.torch.nn.Dropout(0.1)), ("5", TorchSharp.torch.nn.Linear(7, 3, dtype: f64)));
            var report = ModuleWeights.Load(module, Path.Combine(_dir, file));
            Assert.That(report.Loaded.Count, Is.EqualTo(6));
            Assert.That(report.Missing, Is.Empty);
            var model = TorchModuleModel.Wrap(module, 6, 3, name: "mine");
            var x = Inputs("mlp");
            TestUtil.AssertClose(EmpiricalNtk.Compute(model, KernelReduction.TraceMean, x).Matrix, NdArrayMatrix(Npy.Read(Path.Combine(_dir, "mlp_traced.npy"))), 1e-10, "state_dict route");
            var wrong = TorchSharp.torch.nn.Sequential(("0", TorchSharp.torch.nn.Linear(6, 8, dtype: f64)), ("1", TorchSharp.torch.nn.Linear(8, 3, dtype: f64)));
            Assert.Throws<EntkArgumentException>(() => ModuleWeights.Load(wrong, Path.Combine(_dir, file)));
        }

        [Test]
        public void Load_BadFiles_TypedErrors()
        {
            Assert.Throws<FileNotFoundException>(() => TorchScript.Load(Path.Combine(_dir, "missing.pt"), new[] { 6 }));
            var sd = Assert.Throws<EntkFormatException>(() => TorchScript.Load(Path.Combine(_dir, "state_dict.pt"), new[] { 2 }));
            Assert.That(sd!.Message, Does.Contain("not a TorchScript module"));
            string junk = Path.Combine(_dir, "junk.pt");
            File.WriteAllBytes(junk, Enumerable.Range(0, 100).Select(i => (byte)i).ToArray());
            Assert.Throws<EntkFormatException>(() => TorchScript.Load(junk, new[] { 6 }));
            var bytes = File.ReadAllBytes(Path.Combine(_dir, "mlp.pt"));
            string cut = Path.Combine(_dir, "cut.pt");
            File.WriteAllBytes(cut, bytes.Take(bytes.Length / 2).ToArray());
            Assert.Throws<EntkFormatException>(() => TorchScript.Load(cut, new[] { 6 }));
            var wrongShape = Assert.Throws<EntkArgumentException>(() => TorchScript.Load(Path.Combine(_dir, "mlp.pt"), new[] { 5 }));
            Assert.That(wrongShape!.ParamName, Is.EqualTo("inputShape"));
        }
    }
}

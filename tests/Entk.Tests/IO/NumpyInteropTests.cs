using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using Entk.IO;
using NUnit.Framework;

namespace Entk.Tests.IO
{
    /// <summary>
    /// Interop with numpy in both directions through one /usr/bin/python3 run: files written here
    /// must load with numpy (and be byte-identical to np.save's output), files written by numpy must
    /// read here. Skipped without numpy unless ENTK_REQUIRE_PYTHON=1.
    /// </summary>
    [TestFixture]
    public class NumpyInteropTests
    {
        private string _dir = "";
        private Dictionary<string, string> _results = new();

        private const string Script = @"
import sys, os, io, json, hashlib
import numpy as np
d = sys.argv[1]
spec = json.loads(sys.argv[2])
os.makedirs(os.path.join(d, 'py'), exist_ok=True)

def formula(t, shape):
    n = int(np.prod(shape)) if len(shape) else 1
    i = np.arange(n)
    if t == 'Float64': a = (i * 0.5 - 3).astype('<f8')
    elif t == 'Float32': a = (i * 0.5 - 3).astype('<f4')
    elif t == 'Int64': a = (i - 5).astype('<i8')
    elif t == 'Int32': a = (i - 5).astype('<i4')
    elif t == 'Bool': a = (i % 3 == 0)
    else: a = ((i * 7) % 256).astype('|u1')
    return a.reshape(shape)

results = {}
def check(name, fn):
    try:
        fn()
        results[name] = 'ok'
    except Exception as e:
        results[name] = type(e).__name__ + ': ' + str(e)

# ---- numpy writes, C# reads
for t in spec['types']:
    for k, shape in enumerate(spec['shapes']):
        a = formula(t, shape)
        np.save(os.path.join(d, 'py', f'{t}_{k}.npy'), a)
        f = np.asfortranarray(a)
        if a.ndim >= 2 and not f.flags.c_contiguous:   # empty and 1x1x1 arrays are both C and F contiguous: numpy writes them as C
            np.save(os.path.join(d, 'py', f'fortran_{t}_{k}.npy'), f)
W = formula('Float64', [3, 4]); b = formula('Float32', [4]); mask = formula('Bool', [5])
np.savez(os.path.join(d, 'py', 'plain.npz'), W=W, b=b, mask=mask)
np.savez_compressed(os.path.join(d, 'py', 'compressed.npz'), W=W, b=b, mask=mask)
np.savez(os.path.join(d, 'py', 'positional.npz'), W, b)
np.savez(os.path.join(d, 'py', 'w.npz'), W=W.astype(np.float32), b=formula('Float64', [4]))
np.save(os.path.join(d, 'py', 'big_endian.npy'), W.astype('>f8'))
np.save(os.path.join(d, 'py', 'object.npy'), np.array([1, 'a'], dtype=object), allow_pickle=True)
np.save(os.path.join(d, 'py', 'complex.npy'), np.arange(3, dtype=complex))
np.save(os.path.join(d, 'py', 'structured.npy'), np.zeros(2, dtype=[('x', '<f8'), ('y', '<i4')]))
np.save(os.path.join(d, 'py', 'float16.npy'), np.zeros(2, dtype=np.float16))

# ---- C# writes, numpy reads
cs = os.path.join(d, 'cs')
for t in spec['types']:
    for k, shape in enumerate(spec['shapes']):
        name = f'{t}_{k}.npy'
        def c(t=t, shape=shape, name=name):
            p = os.path.join(cs, name)
            a = np.load(p)
            e = formula(t, shape)
            assert a.dtype == e.dtype, (a.dtype, e.dtype)
            assert a.shape == e.shape, (a.shape, e.shape)
            assert np.array_equal(a, e)
            buf = io.BytesIO(); np.save(buf, e)
            assert buf.getvalue() == open(p, 'rb').read(), 'not byte-identical to np.save'
        check('npy:' + name, c)

def npz(name):
    def c():
        z = np.load(os.path.join(cs, name))
        assert list(z.keys()) == ['W', 'b', 'mask', 'scalar'], list(z.keys())
        assert np.array_equal(z['W'], W) and z['W'].dtype == np.float64
        assert np.array_equal(z['b'], b) and z['b'].dtype == np.float32
        assert np.array_equal(z['mask'], mask) and z['mask'].dtype == np.bool_
        assert z['scalar'].shape == () and z['scalar'] == 2.5
    return c
check('npz:stored', npz('arrays.npz'))
check('npz:compressed', npz('arrays_compressed.npz'))

def ckpt():
    z = np.load(os.path.join(cs, 'ckpt.npz'))
    meta = json.loads(z['__entk__'].tobytes().decode('utf-8'))
    assert meta['format'] == 'entk-checkpoint' and meta['format_version'] == 1
    names = [p['name'] for p in meta['parameters']]
    assert names == [k for k in z.keys() if k != '__entk__'], names
    for p in meta['parameters']:
        assert list(z[p['name']].shape) == p['shape'] and z[p['name']].dtype == np.float64
    h = hashlib.sha256(b''.join(np.ascontiguousarray(z[n], '<f8').tobytes() for n in names)).hexdigest()
    assert h == meta['sha256'], (h, meta['sha256'])
    assert meta['hyperparameters']['activation'] == 'relu' and meta['hyperparameters']['p'] == 5
    assert meta['hyperparameters']['weight_decay'] == 1.0 and isinstance(meta['hyperparameters']['weight_decay'], float)
    assert meta['info']['epoch'] == 1200
check('checkpoint', ckpt)

def report():
    r = json.load(open(os.path.join(cs, 'report.json'), encoding='utf-8'))
    assert r['values'] == [1.5, None, -0.25], r
    assert r['name'] == 'Σ'
check('json', report)

print(json.dumps(results))
";

        [OneTimeSetUp]
        public void SetUp()
        {
            Py.RequireNumpy();
            _dir = IoTestUtil.NewTempDir("numpy");
            string cs = Path.Combine(_dir, "cs");
            for (int t = 0; t < IoTestUtil.AllTypes.Length; t++)
                for (int k = 0; k < IoTestUtil.ShapesRank0To3.Length; k++)
                    Npy.Write(Path.Combine(cs, IoTestUtil.AllTypes[t] + "_" + k + ".npy"), IoTestUtil.Formula(IoTestUtil.AllTypes[t], IoTestUtil.ShapesRank0To3[k]));
            var arrays = NpzArrays();
            Npz.Write(Path.Combine(cs, "arrays.npz"), arrays);
            Npz.Write(Path.Combine(cs, "arrays_compressed.npz"), arrays, compress: true);
            Checkpoint.Save(Path.Combine(cs, "ckpt.npz"), CheckpointTests.Sample());
            JsonFile.Write(Path.Combine(cs, "report.json"), new { values = new[] { 1.5, double.NaN, -0.25 }, name = "Σ" });

            string spec = JsonSerializer.Serialize(new { types = IoTestUtil.AllTypes.Select(t => t.ToString()).ToArray(), shapes = IoTestUtil.ShapesRank0To3 });
            string stdout = Py.Run(Script, _dir, spec);
            _results = JsonSerializer.Deserialize<Dictionary<string, string>>(stdout.Trim().Split('\n').Last())!;
        }

        [OneTimeTearDown]
        public void TearDown() => IoTestUtil.DeleteDir(_dir);

        private string Py_(string name) => Path.Combine(_dir, "py", name);

        private static List<NamedArray> NpzArrays() => new()
        {
            new NamedArray("W", IoTestUtil.Formula(ElementType.Float64, 3, 4)),
            new NamedArray("b", IoTestUtil.Formula(ElementType.Float32, 4)),
            new NamedArray("mask", IoTestUtil.Formula(ElementType.Bool, 5)),
            new NamedArray("scalar", NdArray.Scalar(2.5)),
        };

        private void AssertPythonOk(string prefix)
        {
            var failures = _results.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal) && kv.Value != "ok").Select(kv => kv.Key + " → " + kv.Value).ToList();
            Assert.That(_results.Keys.Count(k => k.StartsWith(prefix, StringComparison.Ordinal)), Is.GreaterThan(0), "python ran the " + prefix + " checks");
            Assert.That(failures, Is.Empty);
        }

        [Test]
        public void CSharpNpy_LoadsInNumpy_ByteIdenticalToNpSave() => AssertPythonOk("npy:");

        [Test]
        public void CSharpNpz_LoadsInNumpy_StoredAndCompressed() => AssertPythonOk("npz:");

        [Test]
        public void CSharpCheckpoint_IsReadableAndVerifiableWithNumpyAlone() => AssertPythonOk("checkpoint");

        [Test]
        public void CSharpJsonReport_LoadsInPython() => AssertPythonOk("json");

        [Test]
        public void NumpyNpy_ReadInCSharp_EveryTypeAndRank()
        {
            for (int t = 0; t < IoTestUtil.AllTypes.Length; t++)
                for (int k = 0; k < IoTestUtil.ShapesRank0To3.Length; k++)
                {
                    var type = IoTestUtil.AllTypes[t];
                    var a = Npy.Read(Py_(type + "_" + k + ".npy"));
                    Assert.That(a.ContentEquals(IoTestUtil.Formula(type, IoTestUtil.ShapesRank0To3[k])), Is.True, type + " shape " + k);
                }
        }

        [Test]
        public void NumpyFortranOrder_ReadInCSharp_InCOrder()
        {
            int n = 0;
            for (int t = 0; t < IoTestUtil.AllTypes.Length; t++)
                for (int k = 0; k < IoTestUtil.ShapesRank0To3.Length; k++)
                {
                    var type = IoTestUtil.AllTypes[t];
                    string p = Py_("fortran_" + type + "_" + k + ".npy");
                    if (!File.Exists(p)) continue;
                    Assert.That(File.ReadAllText(p, System.Text.Encoding.Latin1), Does.Contain("'fortran_order': True"));
                    Assert.That(Npy.Read(p).ContentEquals(IoTestUtil.Formula(type, IoTestUtil.ShapesRank0To3[k])), Is.True, p);
                    n++;
                }
            Assert.That(n, Is.EqualTo(IoTestUtil.AllTypes.Length * 2), "the 3×4 and 2×3×4 shapes of every type");
        }

        [TestCase("plain.npz")]
        [TestCase("compressed.npz")]
        public void NumpyNpz_ReadInCSharp(string file)
        {
            var z = Npz.Read(Py_(file));
            Assert.That(z.Names, Is.EqualTo(new[] { "W", "b", "mask" }));
            Assert.That(z["W"].ContentEquals(IoTestUtil.Formula(ElementType.Float64, 3, 4)), Is.True);
            Assert.That(z["b"].ContentEquals(IoTestUtil.Formula(ElementType.Float32, 4)), Is.True);
            Assert.That(z["mask"].ContentEquals(IoTestUtil.Formula(ElementType.Bool, 5)), Is.True);
        }

        [Test]
        public void NumpyPositionalNpz_UsesArrNames()
        {
            Assert.That(Npz.Read(Py_("positional.npz")).Names, Is.EqualTo(new[] { "arr_0", "arr_1" }));
        }

        [Test]
        public void NumpyNpzCorruption_IsDetected()
        {
            // numpy writes ZIP64 local headers (force_zip64); every data byte must still be CRC-protected.
            var bytes = File.ReadAllBytes(Py_("plain.npz"));
            var ranges = IoTestUtil.ZipDataRanges(bytes);
            string p = Path.Combine(_dir, "np-flip.npz");
            foreach (var r in ranges)
                for (int pos = r.Start; pos < r.End; pos += 5)
                {
                    var c = (byte[])bytes.Clone();
                    c[pos] ^= 0x40;
                    File.WriteAllBytes(p, c);
                    IoTestUtil.AssertFormatError(() => Npz.Read(p), p, "flip at " + pos);
                }
        }

        [Test]
        public void PlainNumpyNpz_LoadsAsCheckpointOfUnknownKind()
        {
            var c = Checkpoint.Load(Py_("w.npz"));
            Assert.That(c.Kind, Is.EqualTo(CheckpointData.UnknownKind));
            Assert.That(c.HasMetadata, Is.False);
            Assert.That(c.TensorNames, Is.EqualTo(new[] { "W", "b" }));
            Assert.That(c.Tensor("W").ElementType, Is.EqualTo(ElementType.Float64));
            Assert.That(c.Tensor("W").ToDoubleArray(), Is.EqualTo(IoTestUtil.Formula(ElementType.Float64, 3, 4).ToDoubleArray()));
        }

        [TestCase("big_endian.npy", "big-endian")]
        [TestCase("object.npy", "unsupported dtype '|O'")]
        [TestCase("complex.npy", "unsupported dtype '<c16'")]
        [TestCase("float16.npy", "unsupported dtype '<f2'")]
        [TestCase("structured.npy", "structured")]
        public void UnsupportedNumpyFiles_GiveFormatErrors(string file, string expected)
        {
            var ex = IoTestUtil.AssertFormatError(() => Npy.Read(Py_(file)), Py_(file));
            Assert.That(ex.Message, Does.Contain(expected));
        }
    }
}

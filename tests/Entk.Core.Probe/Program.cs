using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Entk;
using Entk.IO;

// Exercises Entk.Core (matrices, .npy, .npz, checkpoints, JSON) and reports what the process loaded.
// Output: "check <name>: OK|FAILED" lines, then "mapped: <path>" per shared object and "assembly: <name>" per assembly.
// Exit code 0 when every check passed.
int failures = 0;
void Check(string name, bool ok)
{
    Console.WriteLine("check " + name + ": " + (ok ? "OK" : "FAILED"));
    if (!ok) failures++;
}

string dir = Path.Combine(Path.GetTempPath(), "entk-core-probe-" + Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(dir);
try
{
    var a = Matrix.FromArray2D(new double[,] { { 1, 2, 3 }, { 4, 5, 6 } });
    var b = Matrix.FromArray2D(new double[,] { { 1, 0 }, { 0, 1 }, { 2, -1 } });
    var c = a.Multiply(b);                                        // managed GEMM
    Check("multiply", c.ToArray().SequenceEqual(new double[] { 7, -1, 16, -1 }));
    var big = Matrix.FromArray(64, 64, Enumerable.Range(0, 64 * 64).Select(i => Math.Sin(i)).ToArray());
    var prod = big.Multiply(Matrix.Identity(64));
    Check("multiply 64x64 by the identity", prod.MaxAbsDifference(big) == 0);

    string npy = Path.Combine(dir, "c.npy");
    Npy.WriteMatrix(npy, c);
    Check("npy round trip", Npy.ReadMatrix(npy).ToArray().SequenceEqual(c.ToArray()));

    string npz = Path.Combine(dir, "arrays.npz");
    Npz.Write(npz, new[] { new NamedArray("c", NdArray.FromMatrix(c)), new NamedArray("labels", NdArray.FromInt64s(new long[] { 3, 1, 2 }, 3)) }, compress: true);
    var archive = Npz.Read(npz);
    Check("npz round trip", archive.Names.SequenceEqual(new[] { "c", "labels" }) && archive["labels"].ToInt64Array().SequenceEqual(new long[] { 3, 1, 2 }));

    string ckpt = Path.Combine(dir, "model.npz");
    var data = new CheckpointData("probe", new[] { new NamedArray("w", NdArray.FromMatrix(a)) },
        new Dictionary<string, MetadataValue> { ["width"] = 3L }, new Dictionary<string, MetadataValue> { ["epoch"] = 7L });
    Checkpoint.Save(ckpt, data);
    var loaded = Checkpoint.Load(ckpt);
    Check("checkpoint round trip", loaded.Kind == "probe" && loaded.ToParameterVector().SequenceEqual(a.ToArray()) && loaded.ComputeSha256() == data.ComputeSha256());

    string json = Path.Combine(dir, "metrics.json");
    JsonFile.Write(json, new { value = 0.5, missing = double.NaN });
    Check("json (non-finite as null)", File.ReadAllText(json).Contains("\"missing\": null", StringComparison.Ordinal));

    try
    {
        Npy.Read(Path.Combine(dir, "does-not-exist.npy"));
        Check("typed error for a missing file", false);
    }
    catch (FileNotFoundException)
    {
        Check("typed error for a missing file", true);
    }
}
finally
{
    Directory.Delete(dir, true);
}

// What the process loaded: shared objects from /proc/self/maps, managed assemblies from the AppDomain.
if (File.Exists("/proc/self/maps"))
{
    var mapped = File.ReadLines("/proc/self/maps")
        .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        .Where(f => f.Length >= 6 && f[5].StartsWith('/') && f[5].Contains(".so", StringComparison.Ordinal))
        .Select(f => f[5])
        .Distinct()
        .OrderBy(p => p, StringComparer.Ordinal);
    foreach (var path in mapped) Console.WriteLine("mapped: " + path);
}
else
{
    Console.WriteLine("maps: unavailable");
}
foreach (var asm in AppDomain.CurrentDomain.GetAssemblies().Select(x => x.GetName().Name).OrderBy(n => n, StringComparer.Ordinal))
    Console.WriteLine("assembly: " + asm);
return failures == 0 ? 0 : 1;

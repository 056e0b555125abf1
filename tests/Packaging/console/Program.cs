// A package consumer's program (tests/Packaging/run.sh copies it over `dotnet new console`'s Program.cs after
// `dotnet add package Entk`): the traced eNTK of a small tanh network, computed twice (Jacobian contraction, the
// reference, and the structured layer factorisation), checked against each other and for symmetry and positive
// semi-definiteness, then its top eigenvalues. Exit code 0 only if every check holds.
using System;
using System.Globalization;
using Entk;
using Entk.Kernels;
using Entk.Linalg;
using Entk.Models;

EntkRuntime.Configure();
Console.WriteLine("entk " + EntkInfo.Version + " from " + typeof(EmpiricalNtk).Assembly.Location);

var net = DenseNetwork.CreateRandom(new[] { 3, 16, 2 }, Activation.Tanh, seed: 7);
var x = Matrix.FromArray2D(new double[,] { { 0.1, 0.2, 0.3 }, { 0.5, -0.1, 0.0 }, { 1.0, 0.0, 0.2 }, { -0.4, 0.8, 0.1 } });

var reference = EmpiricalNtk.Compute(net, KernelReduction.TraceMean, x, options: new NtkOptions { Method = NtkMethod.JacobianContraction }).Matrix;
var structured = EmpiricalNtk.Compute(net, KernelReduction.TraceMean, x, options: new NtkOptions { Method = NtkMethod.Structured }).Matrix;
var eig = SymmetricEigen.Decompose(reference);

int failures = 0;
void Check(string what, bool ok, double value)
{
    Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0}: {1:E2} {2}", what, value, ok ? "OK" : "FAILED"));
    if (!ok) failures++;
}

double scale = reference.MaxAbs();
Check("kernel shape 4x4", reference.Rows == 4 && reference.Columns == 4, reference.Rows * reference.Columns);
Check("structured vs Jacobian contraction (relative)", structured.MaxAbsDifference(reference) <= 1e-10 * scale, structured.MaxAbsDifference(reference) / scale);
Check("symmetry (relative)", reference.MaxAbsDifference(reference.Transpose()) <= 1e-12 * scale, reference.MaxAbsDifference(reference.Transpose()) / scale);
Check("smallest eigenvalue >= -1e-10 * largest", eig.Values[^1] >= -1e-10 * eig.Values[0], eig.Values[^1] / eig.Values[0]);
Check("largest eigenvalue > 0", eig.Values[0] > 0, eig.Values[0]);
Console.WriteLine("eigenvalues: " + string.Join(" ", eig.ValuesArray().Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
Console.WriteLine(failures == 0 ? "consumer kernel: OK" : $"consumer kernel: {failures} check(s) FAILED");
return failures == 0 ? 0 : 1;

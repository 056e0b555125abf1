// Interop: hand Entk's matrices to TorchSharp and MathNet.Numerics and take theirs back, and choose which backend runs
// Entk's own dense linear algebra. Every conversion copies (documented on TorchInterop and MathNetInterop):
//   Matrix.ToTensor()      -> a new float64 CPU tensor [rows, cols] with storage of its own; the caller owns (disposes) it
//   Tensor.ToEntkMatrix()  -> a new immutable Matrix from a 2-D real tensor (any dtype/device/stride); the tensor stays the caller's
//   Matrix.ToMathNet()     -> a new MathNet DenseMatrix (column-major storage, same (i, j) elements)
//   Matrix<double>.ToEntkMatrix() -> a new Matrix from a dense or sparse MathNet matrix
// so changing a tensor or MathNet matrix afterwards never changes an Entk matrix (which is immutable anyway).
//
// Run from the repository root after building the library once:
//   dotnet build src/Entk.Paper -c Release
//   dotnet fsi --define:ENTK_BUILD_FOLDER examples/interop.fsx [OUT_DIR]
// Writes interop_eigenvalues.npy (the kernel's eigenvalues from Entk) to OUT_DIR. Deterministic (seeded). About 6 s.

#load "common.fsx"   // references MathNet.Numerics too (the NuGet route through Entk's dependency)

open System
open TorchSharp
open MathNet.Numerics.LinearAlgebra
open Entk
open Entk.IO
open Entk.Kernels
open Entk.Linalg
open Entk.Models
open Common

let outDir = outputFolder "interop"
let check (ok: bool) = if ok then "OK" else "FAILED"
let mutable failures = 0
let report (line: string) (ok: bool) =
    printfn "%s: %s" line (check ok)
    if not ok then failures <- failures + 1

// ---- an Entk kernel to pass around: the traced eNTK of a small random tanh network on 12 inputs
let net = DenseNetwork.CreateRandom([| 3; 16; 4 |], Activation.Tanh, seed = 7L)
let x = Matrix.FromArray2D(Array2D.init 12 3 (fun i j -> sin (float (3 * i + j))))
let kernel = EmpiricalNtk.Compute(net, KernelReduction.TraceMean, x).Matrix
let entkValues = SymmetricEigen.Eigenvalues kernel                       // descending
printfn "kernel: %O, top eigenvalue %s" kernel (r entkValues.[0])

// ---- 1. Matrix -> TorchSharp tensor: a copy the script owns (`use` disposes it)
let torchValues =
    use scope = torch.NewDisposeScope()
    let t = kernel.ToTensor()
    printfn "tensor: %A %O" t.shape t.dtype
    let values = torch.linalg.eigvalsh(t).flip(0L).data<float>().ToArray()   // ascending -> descending
    t.mul_(torch.tensor 2.0) |> ignore                                  // change the tensor in place ...
    report "tensor changed in place, Entk matrix unchanged" (kernel.[0, 0] * 2.0 = t.[0, 0].item<float>())
    values
let relTorch = Array.map2 (fun a b -> abs (a - b)) torchValues entkValues |> Array.max |> fun d -> d / entkValues.[0]
report (sprintf "torch eigvalsh vs Entk, max relative difference %.1e" relTorch) (relTorch < 1e-12)

// ---- 2. TorchSharp tensor -> Matrix: compute features in torch, analyse them in Entk
let features =
    use scope = torch.NewDisposeScope()
    let g = new torch.Generator(1UL)
    let f = torch.randn([| 12L; 5L |], dtype = torch.ScalarType.Float32, generator = g)   // float32 is converted to float64
    f.ToEntkMatrix()
let gram = features.Multiply(features.Transpose())
printfn "from torch: %O features, Gram trace %s" features (r (Seq.init 12 (fun i -> gram.[i, i]) |> Seq.sum))
report "Gram matrix symmetric and PSD (smallest eigenvalue >= -1e-12 * largest)"
    (let e = SymmetricEigen.Eigenvalues gram in e.[e.Length - 1] >= -1e-12 * e.[0])

// ---- 3. Matrix -> MathNet and back
let m = kernel.ToMathNet()
let mathnetValues = m.Evd(Symmetricity.Symmetric).EigenValues |> Seq.map (fun c -> c.Real) |> Seq.sortDescending |> Seq.toArray
let relMathNet = Array.map2 (fun a b -> abs (a - b)) mathnetValues entkValues |> Array.max |> fun d -> d / entkValues.[0]
report (sprintf "MathNet EVD vs Entk, max relative difference %.1e" relMathNet) (relMathNet < 1e-12)
m.[0, 0] <- -1.0
report "MathNet matrix changed, Entk matrix unchanged" (kernel.[0, 0] > 0.0)
let inverse = (kernel.ToMathNet() + 1e-3 * Matrix<double>.Build.DenseIdentity 12).Inverse().ToEntkMatrix()
let residual = (kernel + 1e-3 * Entk.Matrix.Identity 12).Multiply(inverse).MaxAbsDifference(Entk.Matrix.Identity 12)
report (sprintf "MathNet inverse of K + 1e-3 I back in Entk, max |(K + 1e-3 I)·inv - I| %.1e" residual) (residual < 1e-8)

// ---- 4. which backend runs Entk's dense eigensolver and metrics (scoped to this flow; Auto by default)
printf "%s" (LinearAlgebraControl.Describe())
let onTorch =
    use _ = LinearAlgebraControl.Use LinearAlgebraBackend.Torch
    SymmetricEigen.Decompose(kernel, 4)
let managed =
    use _ = LinearAlgebraControl.Use LinearAlgebraBackend.Managed
    SymmetricEigen.Decompose(kernel, 4)
let relBackends = Seq.map2 (fun (a: float) b -> abs (a - b)) onTorch.Values managed.Values |> Seq.max |> fun d -> d / onTorch.Values.[0]
report (sprintf "top 4 eigenvalues on %O and %O, max relative difference %.1e" onTorch.Backend managed.Backend relBackends) (relBackends < 1e-12)

let path = IO.Path.Combine(outDir, "interop_eigenvalues.npy")
Npy.WriteVector(path, entkValues, overwrite = true)
printfn "wrote %s" path
printfn "interop finished in %.1f s" clock.Elapsed.TotalSeconds
if failures > 0 then exit 1

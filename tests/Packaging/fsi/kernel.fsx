// A user's F# script (tests/Packaging/run.sh fills in @FEED@ and @VERSION@): the engine package from a local feed,
// the same kernel as tests/Packaging/console/Program.cs, its eigenvalues printed for comparison.
// usepackagetargets=true lets F# Interactive run the package's build step, which applies the Debian 12 load fix to
// TorchSharp's native shim in the NuGet package folder (fsi loads the natives from there).
#i "nuget: @FEED@"
#r "nuget: Entk, @VERSION@, usepackagetargets=true"

open System.Globalization
open Entk
open Entk.Kernels
open Entk.Linalg
open Entk.Models

EntkRuntime.Configure() |> ignore
printfn "entk %s from %s" EntkInfo.Version typeof<EmpiricalNtk>.Assembly.Location
let net = DenseNetwork.CreateRandom([| 3; 16; 2 |], Activation.Tanh, seed = 7L)
let x = Matrix.FromArray2D(array2D [ [ 0.1; 0.2; 0.3 ]; [ 0.5; -0.1; 0.0 ]; [ 1.0; 0.0; 0.2 ]; [ -0.4; 0.8; 0.1 ] ])
let k = EmpiricalNtk.Compute(net, KernelReduction.TraceMean, x, options = NtkOptions(Method = NtkMethod.JacobianContraction))
let eig = SymmetricEigen.Decompose(k.Matrix)
printfn "eigenvalues: %s" (eig.ValuesArray() |> Array.map (fun v -> v.ToString("R", CultureInfo.InvariantCulture)) |> String.concat " ")

// Bring your own model: define a TorchSharp module in F#, wrap it for Entk, compute its layerwise
// traced eNTKs, check that the layer kernels add up to the full kernel, and print the spectrum and
// cliffs of every layer.
//
// Run from the repository root after building the library once:
//   dotnet build src/Entk.Paper -c Release
//   dotnet fsi --define:ENTK_BUILD_FOLDER examples/bring_your_own_model.fsx [OUT_DIR]
// OUT_DIR defaults to $ENTK_EXAMPLES_OUT, else a new temporary folder; the script writes the layer
// kernels there as one .npz. Another build of the library: ENTK_LIB_DIR=DIR dotnet fsi --define:ENTK_BUILD_FOLDER --lib:DIR ...
// Deterministic (torch.manual_seed 0 for the module's initial weights). About 8 s, half of it fsi start-up.

#load "common.fsx"

open System
open System.Diagnostics
open System.Globalization
open System.IO
open TorchSharp
open Entk
open Entk.IO
open Entk.Kernels
open Entk.Linalg
open Entk.Models
open Common

let outDir = outputFolder "byom"


// ---- 1. your model: a two-layer tanh MLP in float64, written as an ordinary TorchSharp module
// (`open type torch` would shadow F#'s `float` with torch.float, so torch names are qualified.)
type TwoLayerMlp(inputs: int, hidden: int, outputs: int) as this =
    inherit torch.nn.Module<torch.Tensor, torch.Tensor>("TwoLayerMlp")
    let fc1 = torch.nn.Linear(int64 inputs, int64 hidden, dtype = torch.ScalarType.Float64)
    let fc2 = torch.nn.Linear(int64 hidden, int64 outputs, dtype = torch.ScalarType.Float64)
    do this.RegisterComponents()
    override _.forward(x: torch.Tensor) = fc2.forward(fc1.forward(x).tanh())

torch.manual_seed 0L |> ignore
let net = new TwoLayerMlp(4, 16, 3)
let wasTraining = net.training

// ---- 2. wrap it: Entk reads named_parameters() and never writes them
let model = TorchModuleModel.Wrap(net, inputDimension = 4, outputDimension = 3, name = "two-layer tanh MLP")
printfn "model: %O" model
for t in model.Layout.Tensors do
    printfn "parameter tensor %s, offset %d, %d values" (string t) t.Offset t.Count

// 24 deterministic inputs in [-1, 1]^4
let x = Matrix.FromArray2D(Array2D.init 24 4 (fun n d -> sin (0.7 * float (n + 1) * float (d + 1))))

// Entk evaluates the module itself: compare with calling forward directly
let direct =
    use _noGrad = torch.no_grad()
    use xt = torch.from_array(x.ToArray2D())   // float64 [24, 4]
    use y = net.forward xt
    y.data<float>().ToArray()
let viaEntk = model.Evaluate(x).ToArray()
let evalDiff = Array.map2 (fun a b -> abs (a - b)) direct viaEntk |> Array.max
printfn "evaluate check: max |Entk - module.forward| = %s: %s" (r evalDiff) (if evalDiff <= 1e-12 then "OK" else "FAILED")

// ---- 3. layerwise traced kernels (mean over the 3 outputs): per tensor (default) and per layer
let checkSum (label: string) (layers: LayerwiseKernels) =
    let total = layers.Total.Matrix
    let summed = layers.Kernels |> Seq.map (fun k -> k.Matrix) |> Seq.reduce (+)
    let diff = (summed - total).MaxAbs()
    let rel = diff / total.MaxAbs()
    printfn "layer-sum check (%s, %d groups: %s): max |sum of layers - total| = %s (relative %s): %s"
        label layers.Kernels.Count (String.Join(", ", layers.GroupNames)) (r diff) (r rel) (if rel <= 1e-12 then "OK" else "FAILED")
    rel <= 1e-12

let perTensor = EmpiricalNtk.ComputeLayerwise(model, KernelReduction.TraceMean, x)
let groups = [| ParameterGroup.Of("layer1", "fc1.weight", "fc1.bias"); ParameterGroup.Of("layer2", "fc2.weight", "fc2.bias") |]
let perLayer = EmpiricalNtk.ComputeLayerwise(model, KernelReduction.TraceMean, x, groups = groups)
let sumsOk = checkSum "per tensor" perTensor && checkSum "per layer" perLayer

// The same total kernel by NTK-vector products (a different algorithm from the layer rules Entk uses by default): they must agree
let byProducts = EmpiricalNtk.Compute(model, KernelReduction.TraceMean, x, options = NtkOptions(Method = NtkMethod.NtkVectorProducts))
let methodDiff = byProducts.Matrix.MaxAbsDifference(perLayer.Total.Matrix) / perLayer.Total.Matrix.MaxAbs()
printfn "method check: %A vs %A, relative difference %s: %s" byProducts.Method perLayer.Total.Method (r methodDiff) (if methodDiff <= 1e-10 then "OK" else "FAILED")

// ---- 4. spectrum and cliffs of every layer kernel and of the total
let kernels = [ yield! perLayer.Kernels; yield perLayer.Total ]
for k in kernels do
    let eig = SymmetricEigen.Decompose(k.Matrix, topK = 10)
    let cliffs = CliffDetector.Detect(eig.Values)
    printfn "spectrum %s: %s" k.Group (eig.Values |> Seq.map r |> String.concat " ")
    printfn "cliffs %s: %O (drops after [%s])" k.Group cliffs (cliffs.DropIndices |> Seq.map string |> String.concat ", ")
    printfn "trace %s: %s" k.Group (r (Seq.sumBy (fun i -> k.[i, i]) (seq { 0 .. k.Matrix.Rows - 1 })))

// ---- 5. the kernels as one .npz (numpy: np.load(path)["layer1"])
let npz = Path.Combine(outDir, "layer_kernels.npz")
Npz.Write(npz, [| for k in kernels -> NamedArray(k.Group, NdArray.FromMatrix k.Matrix) |], overwrite = true)
printfn "wrote %s" npz

// Entk restored the module's train/eval mode
printfn "module mode: training before = %b, after = %b" wasTraining net.training
printfn "bring_your_own_model finished in %.1f s" clock.Elapsed.TotalSeconds
if not sumsOk || evalDiff > 1e-12 || methodDiff > 1e-10 || net.training <> wasTraining then exit 1

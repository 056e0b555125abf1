// Your own PyTorch model, two ways: Python saves a small CNN with torch.jit.save (TorchScript) and its weights with
// torch.save(model.state_dict()); Entk (1) loads the TorchScript file as a model (TorchScript.Load: a scripted
// nn.Sequential of standard layers is rebuilt as TorchSharp layers, so the layer rules apply), and (2) loads the
// state_dict into an F#-built TorchSharp module of the same architecture (ModuleWeights.Load). Both give the same
// eNTK, computed by the layer rules (the route of every parameter tensor is printed), and the same spectrum.
//
// Run from the repository root after building the library once:
//   dotnet build src/Entk.Paper -c Release
//   dotnet fsi --define:ENTK_BUILD_FOLDER examples/own_model_torchscript.fsx [OUT_DIR]
// Needs /usr/bin/python3 with torch (Debian: python3-torch; another interpreter: ENTK_PYTHON=/path/to/python3).
// Without it the script prints a line starting with "SKIP:" and exits with code 0. Deterministic (seeds 0 and 1).

#load "common.fsx"

open System
open System.Diagnostics
open System.IO
open TorchSharp
open Entk
open Entk.IO
open Entk.Kernels
open Entk.Linalg
open Entk.Models
open Common

let outDir = outputFolder "own-model"

let python =
    match Environment.GetEnvironmentVariable "ENTK_PYTHON" with
    | null | "" -> "/usr/bin/python3"
    | path -> path

// torch.jit.script needs the source of the module's class, so the Python part runs from a file.
let pythonCode = """
import sys, numpy as np, torch, torch.nn as nn
out = sys.argv[1]
torch.manual_seed(0)
model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, stride=2), nn.Tanh(),
                      nn.Flatten(), nn.Linear(4 * 3 * 3, 5)).double().eval()
torch.jit.save(torch.jit.script(model), out + '/cnn.pt')
torch.save(model.state_dict(), out + '/cnn_state_dict.pt')
x = np.random.default_rng(1).standard_normal((60, 1, 8, 8))
np.save(out + '/inputs.npy', x)
print('torch', torch.__version__)
"""

let runPython () =
    let script = Path.Combine(outDir, "make_model.py")
    File.WriteAllText(script, pythonCode)
    let psi = ProcessStartInfo(python, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false)
    psi.ArgumentList.Add script
    psi.ArgumentList.Add outDir
    try
        use proc = Process.Start psi
        let stderr = proc.StandardError.ReadToEndAsync()
        let stdout = proc.StandardOutput.ReadToEnd()
        proc.WaitForExit()
        Some(proc.ExitCode, stdout.Trim(), stderr.Result.Trim())
    with :? ComponentModel.Win32Exception -> None

match runPython () with
| None ->
    printfn "SKIP: cannot start %s (set ENTK_PYTHON to a python3 with torch)" python
    exit 0
| Some(code, _, err) when code <> 0 ->
    printfn "SKIP: %s could not save the model (exit code %d: %s)" python code (err.Split('\n') |> Array.last)
    exit 0
| Some(_, out, _) -> printfn "python: %s saved cnn.pt, cnn_state_dict.pt and inputs.npy (%s)" python out

// Inputs: (N, 1, 8, 8) in the file; Entk takes N × 64 rows and the per-sample shape [1; 8; 8].
let x = Npy.Read(Path.Combine(outDir, "inputs.npy"))
let n = x.Shape.[0]
let inputs = Matrix.FromArray(n, 64, x.ToDoubleArray())

// ---- 1. the TorchScript file
let imported = TorchScript.Load(Path.Combine(outDir, "cnn.pt"), [| 1; 8; 8 |])
printfn "torchscript: %s" imported.Description
let fromScript = imported.Model
let kernel1 = EmpiricalNtk.Compute(fromScript, KernelReduction.TraceMean, inputs)
for route in kernel1.TensorRoutes do
    printfn "route %s: %s" route.Tensor route.Description

// ---- 2. the state_dict into our own TorchSharp module (same architecture, same names "0", "2", "5")
let f64 = torch.ScalarType.Float64
let layer (m: torch.nn.Module<torch.Tensor, torch.Tensor>) = m
let mine =
    torch.nn.Sequential(
        [| ("0", layer (torch.nn.Conv2d(1L, 4L, 3L, padding = 1L, dtype = f64)))
           ("1", layer (torch.nn.ReLU()))
           ("2", layer (torch.nn.Conv2d(4L, 4L, 3L, stride = 2L, dtype = f64)))
           ("3", layer (torch.nn.Tanh()))
           ("4", layer (torch.nn.Flatten()))
           ("5", layer (torch.nn.Linear(36L, 5L, dtype = f64))) |])
let report = ModuleWeights.Load(mine, Path.Combine(outDir, "cnn_state_dict.pt"))
printfn "state_dict: loaded %d tensors (%s)" report.Loaded.Count (String.Join(", ", report.Loaded))
let fromStateDict = TorchModuleModel.Wrap(mine, 64, 5, [| 1; 8; 8 |], "my-cnn")
let kernel2 = EmpiricalNtk.Compute(fromStateDict, KernelReduction.TraceMean, inputs)

// ---- 3. the two routes agree, and the spectrum
let diff = kernel1.Matrix.MaxAbsDifference kernel2.Matrix / kernel1.Matrix.MaxAbs()
printfn "kernel agreement (relative max difference): %s: %s" (r diff) (if diff <= 1e-12 then "OK" else "FAILED")
let eig = SymmetricEigen.Decompose(kernel1.Matrix, 10)
printfn "top eigenvalues: %s" (eig.Values |> Seq.truncate 5 |> Seq.map r |> String.concat " ")
Npy.WriteVector(Path.Combine(outDir, "eigenvalues.npy"), eig.Values, overwrite = true)
printfn "own_model_torchscript finished in %.1f s" clock.Elapsed.TotalSeconds
if diff > 1e-12 then exit 1

// Load a model written by Python: numpy draws the weights of a modular-addition MLP (p = 11, H = 32)
// and saves them with np.savez; Entk loads them (ModelFiles.LoadMlp), checks the forward pass and
// the traced layer kernels against numpy's own closed-form computation, and measures how much of
// each block of eigenvectors lies in the Fourier families of modular addition.
//
// Run from the repository root after building the library once:
//   dotnet build src/Entk.Paper -c Release
//   dotnet fsi --define:ENTK_BUILD_FOLDER examples/load_from_python.fsx [OUT_DIR]
// Needs /usr/bin/python3 with numpy (another interpreter: ENTK_PYTHON=/path/to/python3). Without it the
// script prints a line starting with "SKIP:" and exits with code 0.
// OUT_DIR defaults to $ENTK_EXAMPLES_OUT, else a new temporary folder. Another build of the library:
// ENTK_LIB_DIR=DIR dotnet fsi --define:ENTK_BUILD_FOLDER --lib:DIR ... Deterministic (numpy default_rng(0)). About 8 s.

#load "common.fsx"

open System
open System.Diagnostics
open System.Globalization
open System.IO
open Entk
open Entk.Experiments
open Entk.IO
open Entk.Linalg
open Entk.Metrics
open Common

let outDir = outputFolder "python"

let p, width = 11, 32

// ---- 1. Python writes the weights (and, for checking, its own forward pass and kernels)
let python =
    match Environment.GetEnvironmentVariable "ENTK_PYTHON" with
    | null | "" -> "/usr/bin/python3"
    | path -> path

/// Runs python -c code args...; returns (exit code, stdout, stderr), or None when it cannot start.
let runPython (code: string) (args: string list) =
    let psi = ProcessStartInfo(python, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false)
    psi.ArgumentList.Add "-c"
    psi.ArgumentList.Add code
    for a in args do psi.ArgumentList.Add a
    try
        use proc = Process.Start psi
        let stderr = proc.StandardError.ReadToEndAsync()
        let stdout = proc.StandardOutput.ReadToEnd()
        proc.WaitForExit()
        Some(proc.ExitCode, stdout.Trim(), stderr.Result.Trim())
    with :? ComponentModel.Win32Exception -> None

let numpyCode = """
import sys
import numpy as np
out, p, H = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
W1 = rng.standard_normal((H, 2 * p))
W2 = rng.standard_normal((p, H))
np.savez(out + '/mlp_weights.npz', W1=W1, W2=W2)
# all p^2 inputs, row i = n*p + m = concat(onehot(n), onehot(m))
i = np.arange(p * p)
X = np.zeros((p * p, 2 * p)); X[i, i // p] = 1; X[i, p + i % p] = 1
U = X @ W1.T / np.sqrt(2 * p)                      # (N, H)
F = (U ** 2) @ W2.T / H                            # f(x) = (1/H) W2 ((W1 x)/sqrt(2p))^2
K2 = (U ** 2) @ (U ** 2).T / H ** 2                # traced (mean over outputs) kernel of W2
K1 = 4.0 / (p * H ** 2 * 2 * p) * (X @ X.T) * ((U * (W2 ** 2).sum(0)) @ U.T)   # ... of W1
np.savez(out + '/numpy_reference.npz', outputs=F, k_layer1=K1, k_layer2=K2)
print('numpy', np.__version__)
"""

match runPython numpyCode [ outDir; string p; string width ] with
| None ->
    printfn "SKIP: cannot start %s (set ENTK_PYTHON to a python3 with numpy)" python
    exit 0
| Some(code, _, err) when code <> 0 ->
    let last = err.Split('\n') |> Array.last
    printfn "SKIP: %s could not run the numpy part (exit code %d: %s)" python code last
    exit 0
| Some(_, out, _) -> printfn "python: %s wrote mlp_weights.npz and numpy_reference.npz (%s)" python out

// ---- 2. load the weights: a plain np.savez archive with W1 [H, 2p] and W2 [p, H] is enough
let weightsPath = Path.Combine(outDir, "mlp_weights.npz")
let model = ModelFiles.LoadMlp weightsPath
printfn "loaded: %O (p = %d, H = %d)" model model.Modulus model.Width
let reference = Npz.Read(Path.Combine(outDir, "numpy_reference.npz"))

let relDiff (a: Matrix) (b: Matrix) = a.MaxAbsDifference b / b.MaxAbs()
let verdict ok = if ok then "OK" else "FAILED"
let mutable failures = 0
let check label (a: Matrix) (b: Matrix) =
    let d = relDiff a b
    let ok = d <= 1e-10
    if not ok then failures <- failures + 1
    printfn "numpy check %s: relative difference %s: %s" label (r d) (verdict ok)

let inputs = Entk.Models.ModularMlp.AllInputs p
check "forward" (model.Evaluate inputs) (reference.["outputs"].ToMatrix())

// ---- 3. traced kernels (mean over the p outputs) of W1, W2 and of all parameters, on all p² inputs
let layers = MlpExperiment.TracedKernels model
check "kernel layer1" layers.["layer1"].Matrix (reference.["k_layer1"].ToMatrix())
check "kernel layer2" layers.["layer2"].Matrix (reference.["k_layer2"].ToMatrix())
check "kernel total" layers.Total.Matrix (reference.["k_layer1"].ToMatrix() + reference.["k_layer2"].ToMatrix())

// ---- 4. full spectrum and cliffs of the total kernel
let n = p * p
let eig = SymmetricEigen.Decompose(layers.Total.Matrix, ridge = RidgePolicy.Paper)
printfn "spectrum: %d eigenvalues, top 5: %s" eig.Count (eig.Values |> Seq.truncate 5 |> Seq.map r |> String.concat " ")
let cliffs = CliffDetector.Detect eig.Values
printfn "cliffs: %O" cliffs

// ---- 5. Fourier subspace overlaps of eigenvector blocks. The blocks follow the layout the paper
// predicts for a trained model (λ0, then two cliffs of 4K = 20 modes each). This model is untrained:
// its block 1..20 already lies mostly in the single-operand families n and m, while the sum/diff
// content is spread over the later blocks. The blocks partition all p² eigenvectors, so each family's
// overlaps add up to its dimension 2K = 10 whatever the weights: the "overlap totals" line checks that.
let layout = CliffLayout.For p
let blocks =
    [ "0", 0, 1
      sprintf "%d..%d" layout.FirstStart (layout.FirstStart + layout.Size - 1), layout.FirstStart, layout.Size
      sprintf "%d..%d" layout.SecondStart (layout.SecondStart + layout.Size - 1), layout.SecondStart, layout.Size
      sprintf "%d..%d" (layout.SecondStart + layout.Size) (n - 1), layout.SecondStart + layout.Size, n - layout.SecondStart - layout.Size ]
let families = [ for name in [ "n"; "m"; "sum"; "diff" ] -> FourierFamilies.Create(name, p) ]
printfn "overlap (sum of squared cosines of principal angles) of each eigenvector block with each family:"
printfn "  %-10s %s" "block" (families |> List.map (fun f -> sprintf "%10s" f.Name) |> String.concat "")
let totals = Array.zeroCreate families.Length
for label, start, size in blocks do
    let block = eig.Vectors.SliceColumns(start, size)
    let overlaps = families |> List.map (fun f -> SubspaceOverlap.Compute(block, f).Overlap)
    overlaps |> List.iteri (fun i o -> totals.[i] <- totals.[i] + o)
    printfn "  %-10s %s" label (overlaps |> List.map (sprintf "%10.4f") |> String.concat "")
let familyDimension = families.Head.ColumnCount
let worst = totals |> Array.map (fun t -> abs (t - float familyDimension)) |> Array.max
if worst > 1e-8 then failures <- failures + 1
printfn "overlap totals: %s (family dimension %d): %s" (totals |> Array.map (sprintf "%.10f") |> String.concat " ") familyDimension (verdict (worst <= 1e-8))

// Which frequencies of the "sum" family the first block carries, best first
let ranking = SubspaceOverlap.PerFrequency(eig.Vectors.SliceColumns(layout.FirstStart, layout.Size), FourierFamilies.Create("sum", p))
printfn "block %d..%d, family sum, best frequencies: %s" layout.FirstStart (layout.FirstStart + layout.Size - 1)
    (ranking.Ranked |> Seq.truncate 3 |> Seq.map string |> String.concat "; ")

// ---- 6. the model as an Entk checkpoint (adds metadata and a SHA-256; numpy still reads it)
let checkpoint = Path.Combine(outDir, "mlp_checkpoint.npz")
ModelFiles.SaveMlp(checkpoint, model, overwrite = true)
let reloaded = ModelFiles.LoadMlp checkpoint
let same = reloaded.GetParameters() = model.GetParameters()
if not same then failures <- failures + 1
printfn "wrote %s (reloads identically: %s)" checkpoint (verdict same)
printfn "load_from_python finished in %.1f s" clock.Elapsed.TotalSeconds
if failures > 0 then exit 1

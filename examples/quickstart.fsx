// Quickstart: train a small Toy Model of Superposition, compute the spectrum of its flattened
// (class-major) eNTK with the paper's importance rescaling (β = 0.3), find the cliffs, and save a
// spectrum plot and the eigenvalues.
//
// Run from the repository root after building the library once:
//   dotnet build src/Entk.Paper -c Release
//   dotnet fsi --define:ENTK_BUILD_FOLDER examples/quickstart.fsx [OUT_DIR]
// OUT_DIR defaults to $ENTK_EXAMPLES_OUT, else a new temporary folder. To use another build of the
// library, pass its folder to fsi and name it in ENTK_LIB_DIR too (the script checks the two agree):
//   ENTK_LIB_DIR=DIR dotnet fsi --define:ENTK_BUILD_FOLDER --lib:DIR examples/quickstart.fsx
// Deterministic: seed 0 for the weights and the data. About 8 s on 2 CPU cores, half of it fsi start-up
// (on a busy machine set OMP_NUM_THREADS=1: small tensor operations then run much faster; see README).

#load "common.fsx"

open System
open System.Diagnostics
open System.Globalization
open System.IO
open Entk
open Entk.IO
open Entk.Kernels
open Entk.Linalg
open Entk.Metrics
open Entk.Plotting
open Entk.Training
open Common

let outDir = outputFolder "quickstart"

// ---- 1. train a TMS model: n = 20 features, m = 5 hidden, D = 200 samples, 2000 full-batch Adam steps
let config = TmsConfig(Features = 20, Hidden = 5, Samples = 200, Steps = 2000)
let setup = TmsSetup.Create(config, seed = 0L)
let trained = TmsTraining.Train(setup, TmsTrainingOptions(LogEvery = 500))
printfn "model: %s, P = %d parameters" trained.Model.Name trained.Model.ParameterCount
printfn "loss: %.6g -> %.6g after %d steps" trained.InitialLoss trained.FinalLoss config.Steps
printfn "reconstructed features ((W^T W)_ii >= 0.75): %d of %d" (trained.ReconstructedFeatures()) config.Features

// ---- 2. top eigenpairs of the flattened class-major eNTK, importance-rescaled with β = 0.3
let topK = 40
let options = NtkOptions(Importance = setup.Importance, Beta = 0.3)
let spectrum =
    EmpiricalNtk.Spectrum(trained.Model, KernelReduction.FlattenClassMajor, setup.Inputs, topK,
                          options = options, ridge = RidgePolicy.Paper)
printfn "spectrum: route %A, kernel dimension %d (= n·D), %d eigenpairs, ridge shift %.4g"
    spectrum.Route spectrum.Dimension spectrum.Count spectrum.Shift
// "R" prints the shortest text that parses back to the same double (the test compares it with the .npy)
spectrum.Values |> Seq.truncate 12 |> Seq.iteri (fun i v -> printfn "eigenvalue %d: %s" i (v.ToString("R", CultureInfo.InvariantCulture)))

// ---- 3. cliffs (sharp drops) by the library's documented rule
let cliffs = CliffDetector.Detect spectrum.Values
printfn "drops after indices: [%s]" (cliffs.DropIndices |> Seq.map string |> String.concat ", ")
for c in cliffs.Cliffs do
    printfn "cliff: %d..%d (size %d, drop x%.4g)" c.Start c.End c.Size c.DropRatio

// ---- 4. how well the eigenvectors line up with the features (docs/paper-notes.md §1.6 a)
let heatmap = TmsFeatures.Heatmap(setup.Inputs, spectrum.Vectors)
printfn "feature alignment: matched |cos| %.4f, diagonal features %d of %d, MMCS %.4f"
    heatmap.MatchedScore heatmap.DiagonalCount heatmap.FeatureCount heatmap.Mmcs

// ---- 5. outputs: a spectrum plot (PNG) and the eigenvalues (.npy, loads with numpy.load)
let png = Path.Combine(outDir, "spectrum.png")
let npy = Path.Combine(outDir, "eigenvalues.npy")
Figures.Spectrum(sprintf "TMS n=%d m=%d, flattened eNTK, beta = 0.3" config.Features config.Hidden,
                 [| spectrum.ValuesArray() |], logY = true, cliffsAfter = cliffs.DropIndices)
       .Save(png, overwrite = true)
Npy.WriteVector(npy, spectrum.Values, overwrite = true)
printfn "wrote %s" png
printfn "wrote %s" npy
printfn "quickstart finished in %.1f s" clock.Elapsed.TotalSeconds

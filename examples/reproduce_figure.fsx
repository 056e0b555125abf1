// Reproduce one column of the paper's toy-model figure: train one of the paper's three TMS models
// (n = 50 features, D = 500 samples, 5000 Adam steps), analyse its flattened eNTK for β = 0, 1 and 0.3,
// print the claims the library evaluates, and save the figure (spectrum + two heatmaps) as a PNG.
//
// Run from the repository root after building the library once:
//   dotnet build src/Entk.Paper -c Release
//   dotnet fsi --define:ENTK_BUILD_FOLDER examples/reproduce_figure.fsx [OUT_DIR] [MODEL] [STEPS]
// MODEL is 0, 1 or 2 for (m, S) = (10, 0.3), (10, 0.9), (40, 0.9) (default 0); STEPS overrides the
// paper's 5000 training steps (the tests use a short run). OUT_DIR defaults to $ENTK_EXAMPLES_OUT,
// else a new temporary folder. Another build of the library: ENTK_LIB_DIR=DIR dotnet fsi --define:ENTK_BUILD_FOLDER --lib:DIR ...
// Deterministic (seed 0, the CLI's default). About 20 s for the full 5000 steps with OMP_NUM_THREADS=1.
// The whole paper (all three models, report and claims): ./entk reproduce tms --out DIR.

#load "common.fsx"

open System
open System.Diagnostics
open System.IO
open Entk
open Entk.Experiments
open Entk.Training
open Common

let outDir = outputFolder "figure"

let modelIndex = args |> Array.tryItem 1 |> Option.map int |> Option.defaultValue 0
let paper = TmsConfig.PaperModels.[modelIndex]
// TmsConfig is a C# record with init-only properties. F# sets them in the constructor call
// (TmsConfig(Hidden = 40)), but it has no equivalent of C#'s `paper with { Steps = 200 }` (F#'s
// `{ r with ... }` is for F# records only, and init-only setters cannot be called after construction),
// so a modified copy names every property:
let config =
    match args |> Array.tryItem 2 with
    | Some steps ->
        TmsConfig(Features = paper.Features, Hidden = paper.Hidden, Sparsity = paper.Sparsity, Samples = paper.Samples,
                  ImportanceDecay = paper.ImportanceDecay, LearningRate = paper.LearningRate, Steps = int steps)
    | None -> paper
printfn "config: %s (n = %d, m = %d, S = %g, D = %d, %d steps)" config.Name config.Features config.Hidden config.Sparsity config.Samples config.Steps

// ---- train and analyse (β ∈ {0, 1, 0.3}, top 80 eigenpairs, the paper's ridge)
let analysis = TmsExperiment.Run(config, seed = 0L)
printfn "loss %.5g -> %.5g, reconstructed features: %d (train %.1f s, spectra %.1f s)"
    analysis.Training.InitialLoss analysis.Training.FinalLoss analysis.ReconstructedFeatures analysis.TrainSeconds analysis.KernelSeconds
for b in analysis.PerBeta do
    printfn "beta %s: top eigenvalues %s; cliffs %O; diagonal features %d of %d; matched |cos| %.4f"
        b.Tag (b.Spectrum.Values |> Seq.truncate 3 |> Seq.map (sprintf "%.5g") |> String.concat ", ")
        b.Cliffs b.Heatmap.DiagonalCount b.Heatmap.FeatureCount b.Heatmap.MatchedScore

// ---- the paper's claims for this model, judged by the library's documented rules
for c in TmsClaims.Evaluate [| analysis |] do
    printfn "claim %s [%A]: %s | paper: %s | measured: %s" c.Id c.Verdict c.Claim c.PaperValue c.Measured

// ---- the figure: spectrum (β = 0) over the two heatmaps (β = 1, β = 0.3), plus its numbers as CSV
let figure = TmsOutputs.BuildFigure [| analysis |]
let png = Path.Combine(outDir, sprintf "tms_%s.png" config.Name)
figure.Save(png, overwrite = true)
figure.SaveCsv(Path.ChangeExtension(png, ".csv"), overwrite = true)
printfn "wrote %s (%d x %d pixels)" png figure.Width figure.Height
printfn "reproduce_figure finished in %.1f s" clock.Elapsed.TotalSeconds

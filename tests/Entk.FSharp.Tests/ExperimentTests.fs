/// The paper's experiments on tiny settings from F#: TMS (train + spectra per β + heatmaps + claims +
/// output folder) and the modular MLP on p = 7 (traced kernels, cliff alignment, grokking, outputs).
module Entk.FSharp.Tests.ExperimentTests

open System
open System.IO
open System.Text.Json.Nodes
open NUnit.Framework
open Entk
open Entk.Experiments
open Entk.IO
open Entk.Kernels
open Entk.Linalg
open Entk.Metrics
open Entk.Models
open Entk.Training
open Entk.FSharp.Tests.TestUtil

/// JSON access without nullness warnings: a missing member fails the test.
let private readJson (path: string) = JsonNode.Parse(File.ReadAllText path) |> nonNull
let private field (key: string) (node: JsonNode) = nonNull node.[key]

let private tmsConfig = TmsConfig(Features = 6, Hidden = 2, Samples = 40, Steps = 150, LearningRate = 1e-2)
let private tmsOptions = TmsAnalysisOptions(TopK = 12, Betas = [| 0.0; 0.3 |])
let private tms = lazy (TmsExperiment.Run(tmsConfig, 0L, tmsOptions))

[<Test>]
let ``TmsExperiment.Run on a tiny config: per-beta spectra, cliffs and heatmaps, reproducible by Analyze`` () =
    let a = tms.Value
    Assert.That((a.Name, a.Config, a.PerBeta.Count), equalTo(("m2_S0.3", tmsConfig, 2)))
    Assert.That(a.PerBeta |> Seq.map (fun b -> b.Tag), equalTo [| "0"; "0.3" |])
    Assert.That(a.ForBeta(0.3).Beta, equalTo 0.3)
    Assert.That((throws<EntkArgumentException> (fun () -> a.ForBeta 1.0 |> ignore)).Message, Does.Contain "0, 0.3")
    Assert.That(a.ReconstructedFeatures, equalTo (a.Training.ReconstructedFeatures()))
    Assert.That(a.TrainSeconds >= 0.0 && a.KernelSeconds >= 0.0, Is.True)
    for b in a.PerBeta do
        Assert.That((b.Spectrum.Count, b.Spectrum.Dimension, b.Spectrum.Route), equalTo((12, 6 * 40, SpectrumRoute.ParameterSideGram)))
        Assert.That(isDescending b.Spectrum.Values, Is.True)
        Assert.That(b.Spectrum.Shift, Is.GreaterThan 0.0, "the paper's ridge")
        Assert.That((b.Heatmap.FeatureCount, b.Heatmap.VectorCount), equalTo((6, 12)))
        Assert.That(b.Cliffs.DropIndices, equalTo ((CliffDetector.Detect b.Spectrum.Values).DropIndices))
        // the same spectrum straight from the kernel API
        let setup = a.Training.Setup
        let direct = EmpiricalNtk.Spectrum(a.Training.Model, KernelReduction.FlattenClassMajor, setup.Inputs, 12,
                                           options = NtkOptions(Importance = setup.Importance, Beta = b.Beta), ridge = RidgePolicy.Paper)
        assertAllClose (1e-10 * direct.Values.[0]) (b.Spectrum.ValuesArray()) (direct.ValuesArray())
    let again = TmsExperiment.Analyze(a.Training, tmsOptions)
    Assert.That(again.ForBeta(0.0).Spectrum.ValuesArray(), equalTo (a.ForBeta(0.0).Spectrum.ValuesArray()))
    Assert.That(TmsBetaAnalysis.FormatBeta 0.25, equalTo "0.25")
    Assert.That((throws<EntkArgumentException> (fun () -> TmsExperiment.Analyze(a.Training, TmsAnalysisOptions(Betas = [| 1.0; 1.0 |])) |> ignore)).ParamName, equalTo "Betas")
    Assert.That((throws<EntkArgumentException> (fun () -> TmsExperiment.Analyze(a.Training, TmsAnalysisOptions(TopK = 241)) |> ignore)).ParamName, equalTo "TopK")

[<Test>]
let ``TMS claims and the output folder: files, manifest, claims read back, and the folder policies`` () =
    let a = tms.Value
    let claims = TmsClaims.Evaluate [| a |]
    Assert.That(claims |> Seq.map (fun c -> c.Id), Has.Member("tms.reconstructed.m2_S0.3").And.Member("tms.n-cliff.m2_S0.3"))
    Assert.That(claims |> Seq.forall (fun c -> c.Claim <> "" && c.Rule <> ""), Is.True)
    withTempDir "entk-fs-tms-" (fun dir ->
        let folder = Path.Combine(dir, "tms")
        let settings = TmsOutputs.Settings([| tmsConfig |], 0L, tmsOptions)
        Assert.That(settings, Does.StartWith "tms seed=0 betas=0,0.3 k=12")
        let output = ExperimentOutput.Open(folder, "tms", settings, OutputPolicy.FailIfExists)
        Assert.That((output.Folder, output.Experiment, output.IsComplete, output.Overwrite), equalTo((folder, "tms", false, false)))
        let written = TmsOutputs.Write(output, [| a |], 0L, 1.5, tmsOptions)
        Assert.That(written |> Seq.map (fun c -> c.Id), equalTo (claims |> Seq.map (fun c -> c.Id)))
        for f in [ "manifest.json"; "metrics.json"; "report.md"; "figure.png"; "figure.csv"; "m2_S0.3/weights.npz"; "m2_S0.3/eigenvalues_beta0.3.npy" ] do
            Assert.That(File.Exists(Path.Combine(folder, f)), Is.True, f)
        Assert.That(File.Exists(Path.Combine(folder, ExperimentOutput.MarkerName)), Is.False, "completed: no in-progress marker")
        Assert.That(startsWith pngSignature (Path.Combine(folder, "figure.png")), Is.True)
        assertAllClose 0.0 (Npy.ReadVector(Path.Combine(folder, "m2_S0.3/eigenvalues_beta0.3.npy"))) (a.ForBeta(0.3).Spectrum.ValuesArray())
        Assert.That(ModelFiles.LoadTms(Path.Combine(folder, "m2_S0.3/weights.npz")).GetParameters(), equalTo (a.Training.Model.GetParameters()))
        let manifest = readJson (Path.Combine(folder, ExperimentOutput.ManifestName))
        Assert.That((manifest |> field "settings").GetValue<string>(), equalTo settings)
        Assert.That((TmsOutputs.ReadClaims folder).Count, equalTo claims.Count)
        Assert.That(File.ReadAllText(Path.Combine(folder, "report.md")), Does.Contain "| claim | paper (same configuration) | measured | rule | verdict |")
        // policies: refuse, resume (complete: nothing to do), overwrite
        throws<OutputExistsException> (fun () -> ExperimentOutput.Open(folder, "tms", settings, OutputPolicy.FailIfExists) |> ignore) |> ignore
        Assert.That(ExperimentOutput.Open(folder, "tms", settings, OutputPolicy.Resume).IsComplete, Is.True)
        throws<OutputExistsException> (fun () -> ExperimentOutput.Open(folder, "tms", settings + " other", OutputPolicy.Resume) |> ignore) |> ignore
        let again = ExperimentOutput.Open(folder, "tms", settings, OutputPolicy.Overwrite)
        Assert.That(again.Overwrite, Is.True)
        again.Text("notes.txt", "hello")
        again.Npy("v.npy", [| 1.0; 2.0 |])
        again.Npy("m.npy", Matrix.Identity 2)
        again.Npy("i.npy", NdArray.FromInt32s([| 1; 2; 3 |], 3))
        again.Npz("a.npz", [ NamedArray("x", NdArray.Scalar 1.0) ])
        again.Json("j.json", JsonArray())
        again.Checkpoint("c.npz", ModelFiles.ToCheckpoint(a.Training.Model, ModelFiles.TmsKind))
        again.Figure("f.png", Plotting.Figures.Spectrum("s", [| [| 2.0; 1.0 |] |]))
        let extra = JsonObject()
        extra.["note"] <- JsonValue.Create "extra"
        again.Complete extra
        let m2 = readJson (Path.Combine(folder, ExperimentOutput.ManifestName))
        Assert.That((m2 |> field "files").AsArray() |> Seq.map (fun f -> (nonNull f |> field "path").GetValue<string>()), equalTo [| "notes.txt"; "v.npy"; "m.npy"; "i.npy"; "a.npz"; "j.json"; "c.npz"; "f.png"; "f.csv" |])
        Assert.That((Npy.Read(Path.Combine(folder, "i.npy"))).ToInt32Array(), equalTo [| 1; 2; 3 |])
        Assert.That((ModelFiles.LoadTms(Path.Combine(folder, "c.npz"))).GetParameters(), equalTo (a.Training.Model.GetParameters()))
        Assert.That((m2 |> field "note").GetValue<string>(), equalTo "extra")
        Assert.That(again.PathOf "sub/x.txt", equalTo (Path.Combine(folder, "sub/x.txt")))
        let grid = TmsOutputs.BuildFigure [| a |]
        Assert.That((grid.Rows, grid.Columns), equalTo((3, 1))))

let private mlpConfig = MlpConfig(Modulus = 7, Width = 24, Epochs = 40, LogEvery = 10)
let private mlpOptions = MlpAnalysisOptions(HeatmapEpochs = [| 20; 40 |], SpectrumEpochs = [| 0; 40 |])
let private mlp = lazy (MlpExperiment.Run(mlpConfig, 1L, mlpOptions))

[<Test>]
let ``MlpExperiment on p = 7: traced layer kernels, spectra, cliff layout and aligned cliffs`` () =
    let a = mlp.Value
    Assert.That(a.Spectra |> Seq.map (fun s -> s.Name), equalTo [| "full"; "layer1"; "layer2" |])
    Assert.That((a.Layout.Modulus, a.Layout.Size, a.Layout.FirstStart, a.Layout.SecondStart), equalTo((7, 12, 1, 13)))
    Assert.That((CliffLayout.For 29).Size, equalTo 56)
    Assert.That((CliffLayout.For 29).SecondStart, equalTo 57)
    for s in a.Spectra do
        Assert.That(s.Spectrum.Count, equalTo 49, "TopK 200 is clipped to p²")
        Assert.That(isDescending s.Spectrum.Values, Is.True)
        Assert.That(s.Cliffs.DropIndices, equalTo ((CliffDetector.Detect s.Spectrum.Values).DropIndices))
    Assert.That(a.Spectrum("layer2"), Is.SameAs a.Spectra.[2])
    // traced kernels: layer1 + layer2 = full, and the spectra are theirs (with the paper's ridge)
    let kernels = MlpExperiment.TracedKernels a.Training.Model
    assertMatrixClose 1e-12 (kernels.["layer1"].Matrix + kernels.["layer2"].Matrix) kernels.Total.Matrix
    assertAllClose (1e-10 * a.Spectra.[0].Spectrum.Values.[0]) (a.Spectra.[0].Spectrum.ValuesArray())
        ((SymmetricEigen.Decompose(kernels.Total.Matrix, ridge = RidgePolicy.Paper)).ValuesArray())
    for c, kernel, start in [ a.FirstCliffLayer1, "layer1", 1; a.FirstCliffFull, "full", 1; a.SecondCliffFull, "full", 13 ] do
        Assert.That((c.Kernel, c.Start, c.Size), equalTo((kernel, start, 12)))
        Assert.That((c.Before.ColumnCount, c.After.ColumnCount, c.Before.RowCount, c.Summary.ColumnCount), equalTo((12, 12, 6, 12)))
        Assert.That(c.OverlapFirst.Overlap, Is.InRange(0.0, 6.0 + 1e-9))
        Assert.That(c.OverlapSecond.Overlap, Is.InRange(0.0, 6.0 + 1e-9))
    // AlignCliff by hand reproduces the analysis' second cliff
    let e = a.Spectra.[0].Spectrum.Vectors
    let again = MlpExperiment.AlignCliff("full", e, 13, 12, 7, TorusLaplacianKind.Sum, TorusLaplacianKind.Diff, FourierFamilyKind.Sum, FourierFamilyKind.Diff)
    Assert.That(again.OverlapFirst.Overlap, Is.EqualTo(a.SecondCliffFull.OverlapFirst.Overlap).Within(1e-10))
    Assert.That(again.After.RowLabels.[0], equalTo "sum k=1")
    let claims = MlpClaims.Evaluate a
    Assert.That(claims |> Seq.map (fun c -> c.Id), Has.Member("mlp.full-two-cliffs").And.Member("mlp.overlap.sum"))
    Assert.That(a.TrainSeconds >= 0.0 && a.AnalysisSeconds >= 0.0, Is.True)
    throws<EntkArgumentException> (fun () -> MlpExperiment.Analyze(a.Training, MlpAnalysisOptions(TopK = 20)) |> ignore) |> ignore

[<Test>]
let ``grokking diagnosis on p = 7: one spectrum per checkpoint, sum-overlap curve and its derivative, outputs`` () =
    let a = mlp.Value
    let g = MlpExperiment.RunGrokking(mlpConfig, 1L, mlpOptions)     // trains the same run again
    Assert.That(g.Training.Setup.TrainIndices, equalTo a.Training.Setup.TrainIndices)
    assertAllClose 1e-10 (g.Training.Model.GetParameters()) (a.Training.Model.GetParameters())
    let again = MlpExperiment.AnalyzeGrokking(a.Training, mlpOptions)
    assertAllClose 1e-10 (Seq.toArray again.SumOverlapPercent) (Seq.toArray g.SumOverlapPercent)
    Assert.That(g.Points |> Seq.map (fun pt -> pt.Epoch), equalTo [| 0; 10; 20; 30; 40 |])
    Assert.That(g.At(20).Checkpoint, Is.SameAs(g.Training.At 20))
    Assert.That(g.HeatmapEpochs, equalTo [| 20; 40 |])
    Assert.That(g.Heatmaps.Count, equalTo 2)
    for pt, percent in Seq.zip g.Points g.SumOverlapPercent do
        Assert.That(percent, Is.EqualTo(100.0 * pt.OverlapSum.Overlap / 6.0).Within(1e-9))
        Assert.That(percent, Is.InRange(0.0, 100.0 + 1e-9))
        Assert.That(pt.OverlapDiff.Overlap, Is.InRange(0.0, 6.0 + 1e-9))
        Assert.That(pt.Spectrum.Count, equalTo 49)
    assertAllClose 1e-12 (Seq.toArray g.SumOverlapDerivative) (GrokkingCurves.Derivative([| 0.0; 10.0; 20.0; 30.0; 40.0 |], g.SumOverlapPercent))
    // the final point is the final model's spectrum
    assertAllClose 1e-10 (g.At(40).Spectrum.ValuesArray()) (a.Spectra.[0].Spectrum.ValuesArray())
    let reading = g.Reading
    Assert.That(reading.OverlapDerivativePeakEpoch.HasValue && reading.JumpEpoch.HasValue, Is.True)
    Assert.That(Option.ofNullable reading.TestAccuracy90Epoch |> Option.forall (fun e -> e % 10 = 0), Is.True)
    Assert.That(MlpClaims.Evaluate g |> Seq.map (fun c -> c.Id), Has.Member "grok.second-cliff-emerges")
    withTempDir "entk-fs-mlp-" (fun dir ->
        let mlpFolder, grokFolder = Path.Combine(dir, "mlp"), Path.Combine(dir, "grokking")
        let written = MlpOutputs.WriteMlp(ExperimentOutput.Open(mlpFolder, "mlp", MlpOutputs.Settings(MlpAnalysisKind.FinalModel, mlpConfig, 1L, mlpOptions), OutputPolicy.FailIfExists), a, 1L, 2.0, mlpOptions)
        Assert.That((MlpOutputs.ReadClaims mlpFolder).Count, equalTo written.Count)
        let grok = MlpOutputs.WriteGrokking(ExperimentOutput.Open(grokFolder, "grokking", MlpOutputs.Settings(MlpAnalysisKind.Grokking, mlpConfig, 1L, mlpOptions), OutputPolicy.FailIfExists), g, 1L, mlpOptions, 3.0)
        Assert.That((MlpOutputs.ReadClaims grokFolder).Count, equalTo grok.Count)
        for folder in [ mlpFolder; grokFolder ] do
            Assert.That(File.Exists(Path.Combine(folder, ExperimentOutput.ManifestName)), Is.True)
            let pngs = Directory.GetFiles(folder, "*.png", SearchOption.AllDirectories)
            Assert.That(pngs, Is.Not.Empty)
            Assert.That(pngs |> Array.forall (startsWith pngSignature), Is.True))

[<Test>]
let ``claim results and report tables`` () =
    let pass = ClaimResult.Judge("x.1", "a claim", "1", "1.02", "|x − 1| < 0.05", true)
    let fail = ClaimResult.Judge("x.2", "another | claim", "1", "2", "|x − 1| < 0.05", false)
    let info = ClaimResult.Info("x.3", "reported", "—", "3")
    Assert.That([ pass; fail; info ] |> List.map (fun c -> c.Verdict), equalTo [ Verdict.Pass; Verdict.Fail; Verdict.Info ])
    Assert.That((info.Rule, pass.Measured, pass.PaperValue), equalTo(("reported for comparison", "1.02", "1")))
    let table = ReportWriter.ClaimsTable [ pass; fail; info ]
    Assert.That(table.Split('\n') |> Array.filter (fun l -> l.StartsWith "| ") |> Array.length, equalTo 4)
    Assert.That(table, Does.Contain("**PASS**").And.Contain("**FAIL**").And.Contain("another \\| claim"))
    Assert.That(ReportWriter.Table([| "a"; "b" |], [ [| "1"; "2" |] :> Collections.Generic.IReadOnlyList<string> ]), equalTo "| a | b |\n|---|---|\n| 1 | 2 |\n")
    Assert.That((ReportWriter.G4 Math.PI, ReportWriter.Text Verdict.Info), equalTo(("3.142", "info")))

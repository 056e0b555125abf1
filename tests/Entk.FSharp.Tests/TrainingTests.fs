/// Training from F#: configs as records with named setters, seeded setups, losses, gradients, small runs.
module Entk.FSharp.Tests.TrainingTests

open System
open System.Collections.Generic
open NUnit.Framework
open Entk
open Entk.Kernels
open Entk.Models
open Entk.Training
open Entk.FSharp.Tests.TestUtil

let private tiny = TmsConfig(Features = 8, Hidden = 3, Samples = 64, Steps = 200, LearningRate = 1e-2)

[<Test>]
let ``TMS configs: the paper's defaults, named setters, names, importances and validation`` () =
    let d = TmsConfig()
    Assert.That((d.Features, d.Hidden, d.Sparsity, d.Samples, d.ImportanceDecay, d.LearningRate, d.Steps), equalTo((50, 10, 0.3, 500, 0.8, 1e-3, 5000)))
    Assert.That(d.Name, equalTo "m10_S0.3")
    Assert.That(TmsConfig(Hidden = 40, Sparsity = 0.9).Name, equalTo "m40_S0.9")
    Assert.That(TmsConfig.PaperModels |> Seq.map (fun c -> c.Name), equalTo [| "m10_S0.3"; "m10_S0.9"; "m40_S0.9" |])
    Assert.That(TmsConfig.PaperModels.[1] = TmsConfig(Sparsity = 0.9), Is.True, "records compare by value")
    assertAllClose 1e-15 (tiny.Importance()) [| for i in 0 .. 7 -> 0.8 ** float i |]
    for bad, name in [ TmsConfig(Features = 0), "Features"; TmsConfig(Sparsity = 1.5), "Sparsity"; TmsConfig(LearningRate = -1.0), "LearningRate"; TmsConfig(Steps = -1), "Steps" ] do
        Assert.That((throws<EntkArgumentException> (fun () -> bad.Validate())).ParamName, equalTo name)
        Assert.That((throws<EntkArgumentException> (fun () -> TmsSetup.Create(bad, 0L) |> ignore)).ParamName, equalTo name)

[<Test>]
let ``TMS setups are seeded, normalised and validated`` () =
    let a, b, c = TmsSetup.Create(tiny, 3L), TmsSetup.Create(tiny, 3L), TmsSetup.Create(tiny, 4L)
    Assert.That((a.Config, a.Seed), equalTo((tiny, 3L)))
    Assert.That(a.Inputs.ToArray(), equalTo (b.Inputs.ToArray()))
    Assert.That(a.InitialModel.GetParameters(), equalTo (b.InitialModel.GetParameters()))
    Assert.That(a.Inputs.ToArray() = c.Inputs.ToArray(), Is.False, "another seed, other data")
    Assert.That((a.Inputs.Rows, a.Inputs.Columns, a.InitialModel.Features, a.InitialModel.Hidden), equalTo((64, 8, 8, 3)))
    for n in 0 .. 63 do
        let norm = sqrt (a.Inputs.Row n |> Array.sumBy (fun v -> v * v))
        Assert.That(norm < 1e-12 || abs (norm - 1.0) < 1e-7, Is.True, sprintf "row %d has norm %g" n norm)
    Assert.That(a.Inputs.ToArray() |> Array.forall (fun v -> v >= 0.0), Is.True)
    Assert.That(a.InitialModel.B, equalTo (Array.zeroCreate<float> 8))
    Assert.That(a.Importance, equalTo (tiny.Importance()))
    let fromData = TmsSetup.FromData(tiny, 9L, a.InitialModel, a.Inputs)
    Assert.That(fromData.Seed, equalTo 9L)
    let wrong = throws<EntkArgumentException> (fun () -> TmsSetup.FromData(TmsConfig(Features = 8, Hidden = 4), 0L, a.InitialModel, a.Inputs) |> ignore)
    Assert.That(wrong.ParamName, equalTo "model")

[<Test>]
let ``TMS loss is the importance-weighted MSE and its gradient matches finite differences`` () =
    let setup = TmsSetup.Create(tiny, 1L)
    let model = setup.InitialModel.WithParameters(setup.InitialModel.GetParameters() |> Array.mapi (fun i v -> if i >= 24 then 0.05 * float (i - 27) else v))
    let y = model.Evaluate setup.Inputs
    let expected =
        Seq.average (seq { for n in 0 .. 63 do for c in 0 .. 7 -> setup.Importance.[c] * (y.[n, c] - setup.Inputs.[n, c]) ** 2.0 })
    let lg = TmsTraining.LossAndGradient(model, setup.Inputs, setup.Importance)
    Assert.That(lg.Loss, Is.EqualTo(expected).Within(1e-15))
    Assert.That(TmsTraining.Loss(model, setup.Inputs, setup.Importance), equalTo lg.Loss)
    Assert.That(lg.Gradient.Count, equalTo model.ParameterCount)
    let theta = model.GetParameters()
    let h = 1e-6
    for mu in [ 0; 5; 17; 23; 24; 31 ] do
        let at s = TmsTraining.Loss(model.WithParameters(theta |> Array.mapi (fun i v -> if i = mu then v + s else v)), setup.Inputs, setup.Importance)
        Assert.That(lg.Gradient.[mu], Is.EqualTo((at h - at -h) / (2.0 * h)).Within(1e-8), sprintf "dL/dθ[%d]" mu)
    Assert.That((throws<ShapeMismatchException> (fun () -> TmsTraining.Loss(model, setup.Inputs, [| 1.0 |]) |> ignore)).ParamName, equalTo "importance")

[<Test>]
let ``TMS training lowers the loss, logs it, reports progress and is deterministic`` () =
    let setup = TmsSetup.Create(tiny, 2L)
    let reports = List<EntkProgress>()
    let sink = { new IProgress<EntkProgress> with member _.Report p = reports.Add p }
    let r = TmsTraining.Train(setup, TmsTrainingOptions(Progress = sink, LogEvery = 50))
    Assert.That(r.Losses |> Seq.map (fun l -> l.Step), equalTo [| 0; 50; 100; 150; 200 |])
    Assert.That(r.FinalLoss, Is.LessThan(0.8 * r.InitialLoss))
    Assert.That((r.InitialLoss, r.FinalLoss), equalTo((r.Losses.[0].Loss, r.Losses.[4].Loss)))
    Assert.That(r.FinalLoss, Is.EqualTo(TmsTraining.Loss(r.Model, setup.Inputs, setup.Importance)).Within(1e-15))
    Assert.That(r.Setup, Is.SameAs setup)
    Assert.That(setup.InitialModel.GetParameters(), equalTo (TmsSetup.Create(tiny, 2L).InitialModel.GetParameters()), "the setup is not modified")
    Assert.That((Seq.last reports).Completed, equalTo 200L)
    // The docs promise bit-identical reruns, but oneMKL picks alignment-dependent kernels unless MKL_CBWR
    // is set (e.g. MKL_CBWR=AUTO,STRICT): reruns in one process differ in the last bits. Checked to 1e-12.
    assertAllClose 1e-12 (TmsTraining.Train(setup, TmsTrainingOptions(LogEvery = 50)).Model.GetParameters()) (r.Model.GetParameters())
    let shorter = TmsTraining.Train(setup, TmsTrainingOptions(Steps = 20))
    Assert.That(shorter.Losses |> Seq.map (fun l -> l.Step), equalTo [| 0; 20 |])
    Assert.That(r.ReconstructedFeatures(threshold = 0.0), equalTo 8)
    Assert.That(r.ReconstructedFeatures(), equalTo (Metrics.TmsFeatures.ReconstructedCount r.Model.W))

let private mlpConfig = MlpConfig(Modulus = 7, Width = 16, Epochs = 30, LogEvery = 10)

[<Test>]
let ``MLP configs and setups: defaults, the seeded split and validation`` () =
    let d = MlpConfig()
    Assert.That((d.Modulus, d.Width, d.TrainFraction, d.LearningRate, d.WeightDecay, d.Epochs, d.LogEvery), equalTo((29, 512, 0.7, 0.05, 0.01, 500, 10)))
    let s = MlpSetup.Create(mlpConfig, 1L)
    Assert.That((s.Config, s.Seed, s.TrainIndices.Count, s.TestIndices.Count), equalTo((mlpConfig, 1L, 34, 15)))
    Assert.That(Seq.append s.TrainIndices s.TestIndices |> Seq.sort, equalTo [| 0 .. 48 |])
    Assert.That(isDescending (Seq.rev s.TrainIndices) && isDescending (Seq.rev s.TestIndices), Is.True, "sorted")
    Assert.That(s.Labels, equalTo (ModularMlp.AllLabels 7))
    assertMatrixClose 0.0 s.Inputs (ModularMlp.AllInputs 7)
    Assert.That((s.InitialModel.Modulus, s.InitialModel.Width), equalTo((7, 16)))
    Assert.That(MlpSetup.Create(mlpConfig, 1L).TrainIndices, equalTo s.TrainIndices)
    Assert.That(MlpSetup.Create(mlpConfig, 2L).TrainIndices = s.TrainIndices, Is.False)
    let own = MlpSetup.FromData(mlpConfig, 5L, s.InitialModel, [| 3; 1; 2 |])
    Assert.That((own.TrainIndices |> List.ofSeq, own.TestIndices.Count), equalTo(([ 1; 2; 3 ], 46)))
    throws<EntkArgumentException> (fun () -> MlpSetup.FromData(mlpConfig, 5L, s.InitialModel, [| 1; 1 |]) |> ignore) |> ignore
    Assert.That((throws<EntkArgumentException> (fun () -> MlpConfig(TrainFraction = 0.0).Validate())).ParamName, equalTo "TrainFraction")
    Assert.That((throws<EntkArgumentException> (fun () -> MlpSetup.Create(MlpConfig(Modulus = 2), 0L) |> ignore)).ParamName, equalTo "Modulus")

[<Test>]
let ``MLP training keeps checkpoints with metrics, lowers the training loss and is deterministic`` () =
    let setup = MlpSetup.Create(mlpConfig, 1L)
    let r = MlpTraining.Train setup
    Assert.That(r.Checkpoints |> Seq.map (fun c -> c.Epoch), equalTo [| 0; 10; 20; 30 |])
    Assert.That(r.History |> Seq.map (fun h -> h.Epoch), equalTo [| 0; 10; 20; 30 |])
    Assert.That(r.Model.GetParameters(), equalTo (r.Checkpoints.[3].Model.GetParameters()))
    Assert.That(r.At(20).Metrics, Is.SameAs r.Checkpoints.[2].Metrics)
    throws<EntkArgumentException> (fun () -> r.At 15 |> ignore) |> ignore
    Assert.That(r.History.[3].TrainLoss, Is.LessThan r.History.[0].TrainLoss)
    for h in r.History do
        Assert.That(h.TrainAccuracy, Is.InRange(0.0, 1.0))
        Assert.That(h.TestAccuracy, Is.InRange(0.0, 1.0))
        Assert.That(h.TestLoss, Is.GreaterThan 0.0)
    // the logged accuracies are those of the checkpoint models
    let last = r.Checkpoints.[3]
    Assert.That(MlpTraining.Accuracy(last.Model, setup.TrainIndices), Is.EqualTo(last.Metrics.TrainAccuracy).Within(1e-12))
    Assert.That(MlpTraining.Accuracy(last.Model, setup.TestIndices), Is.EqualTo(last.Metrics.TestAccuracy).Within(1e-12))
    Assert.That(setup.InitialModel.GetParameters(), equalTo (r.Checkpoints.[0].Model.GetParameters()))
    // reruns agree to rounding (bit-identical only with MKL_CBWR set; see the TMS training test)
    assertAllClose 1e-10 (MlpTraining.Train(setup).Model.GetParameters()) (r.Model.GetParameters())
    throws<EntkArgumentException> (fun () -> MlpTraining.Accuracy(r.Model, [||]) |> ignore) |> ignore

/// Linearised models from F#: options as records with named setters, enums, fits, predictions, dynamics and metrics.
module Entk.FSharp.Tests.LinearizationTests

open NUnit.Framework
open Entk
open Entk.Kernels
open Entk.Linearization
open Entk.Models
open Entk.FSharp.Tests.TestUtil

let private net = DenseNetwork.CreateRandom([| 3; 8; 2 |], Activation.Tanh, seed = 2L)
let private x = randomMatrix 6 3 1
let private y = randomMatrix 6 2 2
let private xTest = randomMatrix 4 3 3

[<Test>]
let ``kernel regression: every route gives the same predictor, and t = ∞ of the dynamics is the expand variant`` () =
    let fits =
        [ LinearSolveMethod.ParameterSide; LinearSolveMethod.DenseCholesky; LinearSolveMethod.ConjugateGradient ]
        |> List.map (fun m -> KernelRegression.Fit(net, x, y, 0.01, KernelRegressionOptions(Method = m, Tolerance = 1e-13)))
    Assert.That(fits |> List.map (fun f -> f.Route),
                equalTo [ LinearSolveRoute.ParameterSideCholesky; LinearSolveRoute.DenseCholesky; LinearSolveRoute.ConjugateGradient ])
    let reference = fits.Head.Predict(xTest, LinearizationVariant.ExpandAroundModel)
    for f in fits.Tail do
        assertMatrixClose 1e-9 (f.Predict(xTest, LinearizationVariant.ExpandAroundModel)) reference
    Assert.That(fits.[2].Iterations, Is.GreaterThan 0)
    let gd = GradientDescentMse.Create(net, x, y, GradientDescentMseOptions(LearningRate = 0.5, Ridge = 0.01))
    assertMatrixClose 1e-9 (gd.Predict(xTest, infinity)) reference
    Assert.That(gd.TrainLoss 50.0, Is.LessThan(gd.TrainLoss 0.0))
    let score = LinearizationMetrics.Score(fits.Head.TrainPredictions LinearizationVariant.PureNtk, net.Evaluate x, y)
    Assert.That(score.R2, Is.LessThanOrEqualTo 1.0)
    Assert.That(score.LossRatio, Is.GreaterThan 0.0)
    let ex = throws<EntkArgumentException> (fun () -> KernelRegression.Fit(net, x, y, -1.0) |> ignore)
    Assert.That(ex.ParamName, equalTo "ridges")

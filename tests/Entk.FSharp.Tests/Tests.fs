module Entk.FSharp.Tests.ApiTests

open System
open NUnit.Framework
open Entk
open Entk.Models
open Entk.Kernels
open Entk.Linalg
open Entk.FSharp.Tests.TestUtil

let private assertAllClose (tol: float) (actual: float[]) (expected: float[]) =
    Assert.That(actual.Length, Is.EqualTo expected.Length)
    let worst = Array.map2 (fun a e -> abs (a - e)) actual expected |> Array.fold max 0.0
    Assert.That(worst, Is.LessThanOrEqualTo tol)

let private throws<'e when 'e :> exn and 'e: not struct> (f: unit -> unit) : 'e =
    match Assert.Throws<'e>(Action f) with
    | null -> failwith "no exception"
    | e -> e

let private randomMatrix rows cols (seed: int) =
    let rng = Random(seed)
    Array2D.init rows cols (fun _ _ -> 2.0 * rng.NextDouble() - 1.0) |> Matrix.FromArray2D

[<Test>]
let ``linear model kernel is (x·x' + 1) I from F#`` () =
    let model = LinearModel.CreateRandom(3, 2, seed = 5L)
    let x = randomMatrix 4 3 1
    let k = EmpiricalNtk.ComputeFull(model, x)
    for a in 0 .. 3 do
        for b in 0 .. 3 do
            let dot = Array.fold2 (fun s u v -> s + u * v) 0.0 (x.Row a) (x.Row b)
            Assert.That(k.[a, b, 0, 0], Is.EqualTo(dot + 1.0).Within(1e-12))
            Assert.That(k.[a, b, 0, 1], Is.EqualTo(0.0).Within(1e-12))

[<Test>]
let ``pipeline: layerwise kernels, spectrum and cliffs with optional arguments and records`` () =
    let net = DenseNetwork.CreateRandom([| 3; 8; 4 |], Activation.Tanh, seed = 3L)
    let x = randomMatrix 10 3 2
    let options = NtkOptions(Method = NtkMethod.Structured, Importance = [| 1.0; 0.8; 0.64; 0.512 |], Beta = 0.3)
    let layers = EmpiricalNtk.ComputeLayerwise(net, KernelReduction.TraceMean, x, options = options)
    let total = layers.Total.Matrix
    let summed =
        layers.Kernels
        |> Seq.map (fun k -> k.Matrix.ToArray())
        |> Seq.reduce (Array.map2 (+))
    assertAllClose 1e-12 summed (total.ToArray())
    let eig = SymmetricEigen.Decompose(total, topK = 5, ridge = RidgePolicy.Paper)
    Assert.That(eig.Count, Is.EqualTo 5)
    Assert.That(eig.Values |> Seq.pairwise |> Seq.forall (fun (a, b) -> a >= b), Is.True)
    let report = eig.Values |> CliffDetector.Detect
    Assert.That(report.Cliffs, Is.Not.Null)
    let strict = CliffOptions(MinRatio = 2.0)
    Assert.That((CliffDetector.Detect(eig.Values, strict)).Drops.Count, Is.LessThanOrEqualTo(report.Drops.Count))

[<Test>]
let ``parameter-side spectrum equals dense spectrum from F#`` () =
    let net = DenseNetwork.CreateRandom([| 2; 3; 5 |], Activation.Relu, seed = 9L)
    let x = randomMatrix 12 2 4
    let side = EmpiricalNtk.Spectrum(net, KernelReduction.FlattenClassMajor, x, 10)
    let dense = EmpiricalNtk.Compute(net, KernelReduction.FlattenClassMajor, x).Matrix |> fun k -> SymmetricEigen.Decompose(k, topK = 10)
    Assert.That(side.Route, Is.EqualTo SpectrumRoute.ParameterSideGram)
    assertAllClose 1e-10 (side.ValuesArray()) (dense.ValuesArray())

[<Test>]
let ``bad input gives a typed exception naming the argument`` () =
    let net = DenseNetwork.CreateRandom([| 3; 4; 2 |], Activation.Tanh, seed = 1L)
    let ex = throws<ShapeMismatchException> (fun () -> EmpiricalNtk.Compute(net, KernelReduction.TraceMean, randomMatrix 2 5 1) |> ignore)
    Assert.That(ex.ParamName, Is.EqualTo<string> "x1")

[<Test>]
let ``describe works`` () =
    let info = EntkInfo.Collect()
    Assert.That(info.["float"], Is.EqualTo<string> "float64")
    Assert.That(info.["entk"], Is.EqualTo<string> EntkInfo.Version)
    Assert.That(EntkInfo.Version, Does.Match @"^\d+\.\d+\.\d+")
    Assert.That(info.["libtorch"], Does.StartWith "2.")
    Assert.That(int info.["threads"], Is.GreaterThanOrEqualTo 1)
    Assert.That(info.["no such entry"] |> Option.ofObj, Is.EqualTo<string option> None)
    Assert.That(info.Entries |> Seq.map (fun kv -> kv.Key) |> Seq.head, Is.EqualTo<string> "entk")
    Assert.That(info.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length, Is.EqualTo(info.Entries.Count))
    // oneMKL is linked into libtorch (docs/platform-notes.md §3)
    Assert.That(EntkInfo.MklVersion(), Does.Contain "Math Kernel Library")
    Assert.That(info.["mkl"], Is.EqualTo<string>(EntkInfo.MklVersion()))

[<Test>]
let ``matrices: construction, copies, slices, products and element-wise operators`` () =
    let a = Matrix.FromArray2D(array2D [ [ 1.0; 2.0; 3.0 ]; [ 4.0; 5.0; 6.0 ] ])
    Assert.That((a.Rows, a.Columns, a.[1, 2], a.ToString()), equalTo((2, 3, 6.0, "Matrix [2, 3]")))
    Assert.That(a.Shape |> List.ofSeq, equalTo [ 2; 3 ])
    Assert.That(Matrix.FromRows([ [| 1.0; 2.0; 3.0 |]; [| 4.0; 5.0; 6.0 |] ]).MaxAbsDifference a, equalTo 0.0)
    Assert.That(Matrix.FromArray(2, 3, [| 1.0 .. 6.0 |]).MaxAbsDifference a, equalTo 0.0)
    Assert.That(Matrix.FromRowMajor(2, 3, ReadOnlySpan [| 1.0 .. 6.0 |]).MaxAbsDifference a, equalTo 0.0)
    let data = a.ToArray()
    data.[0] <- 100.0
    Assert.That(a.[0, 0], equalTo 1.0, "ToArray copies; matrices are immutable")
    Assert.That(a.ToArray2D(), equalTo(array2D [ [ 1.0; 2.0; 3.0 ]; [ 4.0; 5.0; 6.0 ] ]))
    Assert.That((a.Row 1, a.Column 2), equalTo(([| 4.0; 5.0; 6.0 |], [| 3.0; 6.0 |])))
    Assert.That(a.SliceColumns(1, 2).ToArray(), equalTo [| 2.0; 3.0; 5.0; 6.0 |])
    Assert.That(a.SliceRows(1, 1).ToArray(), equalTo [| 4.0; 5.0; 6.0 |])
    Assert.That(a.Transpose().ToArray(), equalTo [| 1.0; 4.0; 2.0; 5.0; 3.0; 6.0 |])
    Assert.That(a.Multiply(a.Transpose()).ToArray(), equalTo [| 14.0; 32.0; 32.0; 77.0 |])
    Assert.That((a.MaxAbs(), Matrix.Identity(3).FrobeniusNorm(), Matrix.Zeros(2, 2).MaxAbs()), equalTo((6.0, sqrt 3.0, 0.0)))
    Assert.That(a.Span.ToArray(), equalTo(a.ToArray()))
    // operators, and a pipeline that sums matrices
    Assert.That((a + a).ToArray(), equalTo((2.0 * a).ToArray()))
    Assert.That((a - a).MaxAbs(), equalTo 0.0)
    Assert.That(([ a; a; a ] |> List.reduce (+)).ToArray(), equalTo((3.0 * a).ToArray()))
    Assert.That((throws<ShapeMismatchException> (fun () -> a + a.Transpose() |> ignore)).ParamName, equalTo "b")
    Assert.That((throws<ShapeMismatchException> (fun () -> a.Multiply a |> ignore)).ParamName, equalTo "other")
    throws<ShapeMismatchException> (fun () -> Matrix.FromRows [ [| 1.0 |]; [| 1.0; 2.0 |] ] |> ignore) |> ignore
    throws<ArgumentOutOfRangeException> (fun () -> a.[2, 0] |> ignore) |> ignore

/// Kernels from F#: every reduction, every method, layerwise groups, the full tensor, Jacobians, spectra, options.
module Entk.FSharp.Tests.KernelTests

open System
open System.Collections.Generic
open NUnit.Framework
open Entk
open Entk.Models
open Entk.Kernels
open Entk.Linalg
open Entk.FSharp.Tests.TestUtil

let private net = lazy (DenseNetwork.CreateRandom([| 3; 6; 4 |], Activation.Tanh, seed = 12L))
let private x = lazy (randomMatrix 5 3 31)

/// The reduction written out from the 4-tensor K[n1, n2, c, d] (paper conventions).
let private reduceByHand (k: KernelTensor) (r: KernelReduction) =
    let n1, n2, c = k.Samples1, k.Samples2, k.Outputs
    let cf = float c
    match r.Kind with
    | KernelReductionKind.FlattenClassMajor -> Array2D.init (c * n1) (c * n2) (fun i j -> k.[i % n1, j % n2, i / n1, j / n2])
    | KernelReductionKind.FlattenSampleMajor -> Array2D.init (n1 * c) (n2 * c) (fun i j -> k.[i / c, j / c, i % c, j % c])
    | KernelReductionKind.TraceMean -> Array2D.init n1 n2 (fun a b -> (Seq.sumBy (fun cc -> k.[a, b, cc, cc]) [ 0 .. c - 1 ]) / cf)
    | KernelReductionKind.TraceSum -> Array2D.init n1 n2 (fun a b -> Seq.sumBy (fun cc -> k.[a, b, cc, cc]) [ 0 .. c - 1 ])
    | KernelReductionKind.AllPairsMean ->
        Array2D.init n1 n2 (fun a b -> (Seq.sum (seq { for cc in 0 .. c - 1 do for d in 0 .. c - 1 -> k.[a, b, cc, d] })) / (cf * cf))
    | KernelReductionKind.Block -> Array2D.init n1 n2 (fun a b -> k.[a, b, r.OutputC, r.OutputD])
    | other -> failwithf "unexpected %A" other
    |> Matrix.FromArray2D

let private allReductions =
    [ KernelReduction.FlattenClassMajor; KernelReduction.FlattenSampleMajor; KernelReduction.TraceMean
      KernelReduction.TraceSum; KernelReduction.AllPairsMean; KernelReduction.Block(1, 3); KernelReduction.Block(2, 2) ]

[<Test>]
let ``every reduction equals the written-out reduction of the full tensor, from Compute and from Reduce`` () =
    let net, x = net.Value, x.Value
    let full = EmpiricalNtk.ComputeFull(net, x)
    Assert.That(full.Shape, equalTo [| 5; 5; 4; 4 |])
    Assert.That(full.ToArray().Length, equalTo (5 * 5 * 4 * 4))
    for r in allReductions do
        let expected = reduceByHand full r
        let k = EmpiricalNtk.Compute(net, r, x)
        Assert.That((k.Reduction, k.Group, k.Samples1, k.Samples2, k.Outputs, k.ImportanceRescaled), equalTo((r, "all", 5, 5, 4, false)), string r)
        Assert.That(k.Matrix.Rows, equalTo (int (r.RowsFor(5L, 4L))), string r)
        assertMatrixClose 1e-12 k.Matrix expected
        assertMatrixClose 1e-12 (full.Reduce r) expected
        Assert.That(k.[1, 2], equalTo k.Matrix.[1, 2])

[<Test>]
let ``every method gives the same kernel, and Auto says which one it used`` () =
    let net, x = net.Value, x.Value
    let reference = EmpiricalNtk.Compute(net, KernelReduction.FlattenSampleMajor, x, options = NtkOptions(Method = NtkMethod.JacobianContraction))
    for m in Enum.GetValues<NtkMethod>() do
        let k = EmpiricalNtk.Compute(net, KernelReduction.FlattenSampleMajor, x, options = NtkOptions(Method = m))
        Assert.That(k.Method, equalTo(if m = NtkMethod.Auto then NtkMethod.Structured else m))
        assertMatrixClose 1e-10 k.Matrix reference.Matrix

[<Test>]
let ``cross kernels K(x1, x2) have the shape N1 x N2 and K(x2, x1) is their transpose`` () =
    let net = net.Value
    let x1, x2 = randomMatrix 3 3 1, randomMatrix 6 3 2
    for r in [ KernelReduction.TraceMean; KernelReduction.FlattenClassMajor ] do
        let k12 = EmpiricalNtk.Compute(net, r, x1, x2)
        let k21 = EmpiricalNtk.Compute(net, r, x2, x1)
        Assert.That((k12.Samples1, k12.Samples2, k12.Matrix.Rows, k12.Matrix.Columns), equalTo((3, 6, int (r.RowsFor(3L, 4L)), int (r.RowsFor(6L, 4L)))))
        assertMatrixClose 1e-12 k12.Matrix (k21.Matrix.Transpose())
    let full = EmpiricalNtk.ComputeFull(net, x1, x2)
    Assert.That(full.Shape, equalTo [| 3; 6; 4; 4 |])

[<Test>]
let ``layerwise kernels with custom groups: groups covering every tensor add up to the total`` () =
    let net, x = net.Value, x.Value
    let layers = EmpiricalNtk.ComputeLayerwise(net, KernelReduction.FlattenClassMajor, x,
                                               groups = [ ParameterGroup.Of("weights", "layer0.weight", "layer1.weight")
                                                          ParameterGroup("biases", [| "layer0.bias"; "layer1.bias" |]) ])
    Assert.That(layers.GroupNames, equalTo [| "weights"; "biases" |])
    Assert.That(layers.["biases"].Group, equalTo "biases")
    assertMatrixClose 1e-12 (layers.["weights"].Matrix + layers.["biases"].Matrix) layers.Total.Matrix
    // a group of one tensor equals the per-tensor default group of that tensor
    let perTensor = EmpiricalNtk.ComputeLayerwise(net, KernelReduction.FlattenClassMajor, x)
    Assert.That(perTensor.GroupNames, equalTo [| "layer0.weight"; "layer0.bias"; "layer1.weight"; "layer1.bias" |])
    assertMatrixClose 1e-12 (perTensor.["layer0.bias"].Matrix + perTensor.["layer1.bias"].Matrix) layers.["biases"].Matrix
    // groups that leave tensors out do not add up to the total, and the total is still the full kernel
    let partial = EmpiricalNtk.ComputeLayerwise(net, KernelReduction.TraceMean, x, groups = [ ParameterGroup.Of("last", "layer1.weight") ])
    assertMatrixClose 1e-12 partial.Total.Matrix (EmpiricalNtk.Compute(net, KernelReduction.TraceMean, x).Matrix)
    Assert.That((partial.Total.Matrix - partial.["last"].Matrix).MaxAbs(), Is.GreaterThan 1e-6)
    // validation: unknown tensor, overlap, duplicate group name, empty group, unknown group lookup
    let bad groups = throws<EntkArgumentException> (fun () -> EmpiricalNtk.ComputeLayerwise(net, KernelReduction.TraceMean, x, groups = groups) |> ignore)
    Assert.That((bad [ ParameterGroup.Of("g", "layer7.weight") ]).Message, Does.Contain "unknown tensor 'layer7.weight'")
    Assert.That((bad [ ParameterGroup.Of("a", "layer0.bias"); ParameterGroup.Of("b", "layer0.bias") ]).Message, Does.Contain "several groups")
    Assert.That((bad [ ParameterGroup.Of("a", "layer0.bias"); ParameterGroup.Of("a", "layer1.bias") ]).Message, Does.Contain "duplicate group")
    throws<EntkArgumentException> (fun () -> ParameterGroup("empty", [||]) |> ignore) |> ignore
    Assert.That((throws<EntkArgumentException> (fun () -> layers.["nope"] |> ignore)).Message, Does.Contain "weights, biases")

[<Test>]
let ``ComputeFull then Rescale equals Compute with importance options, and Reduce gives every reduction`` () =
    let net, x = net.Value, x.Value
    let importance = [| 1.0; 0.8; 0.64; 0.512 |]
    let full = EmpiricalNtk.ComputeFull(net, x)
    let rescaled = full.Rescale(importance, 0.6)
    Assert.That((rescaled.Method, rescaled.Samples1, rescaled.Outputs), equalTo((full.Method, 5, 4)))
    Assert.That(rescaled.[1, 3, 2, 1], Is.EqualTo(full.[1, 3, 2, 1] * (0.64 ** 0.3) * (0.8 ** 0.3)).Within(1e-14))
    for r in allReductions do
        let direct = EmpiricalNtk.Compute(net, r, x, options = NtkOptions(Importance = importance, Beta = 0.6))
        Assert.That(direct.ImportanceRescaled, Is.True)
        assertMatrixClose 1e-12 (rescaled.Reduce r) direct.Matrix
    Assert.That(full.ToArray(), equalTo (full.ToArray()), "ToArray copies")
    throws<EntkArgumentException> (fun () -> full.Reduce(KernelReduction.Block(0, 4)) |> ignore) |> ignore

[<Test>]
let ``the Jacobian matches finite differences and J Jt reproduces both flattened kernels`` () =
    let net, x = net.Value, x.Value
    for m in [ NtkMethod.Auto; NtkMethod.JacobianContraction ] do
        let j = EmpiricalNtk.ComputeJacobian(net, x, NtkOptions(Method = m))
        Assert.That((j.Samples, j.Outputs, j.Parameters, j.Layout.Count), equalTo((5, 4, net.ParameterCount, net.ParameterCount)))
        for order, reduction in [ FlattenOrder.SampleMajor, KernelReduction.FlattenSampleMajor; FlattenOrder.ClassMajor, KernelReduction.FlattenClassMajor ] do
            let jm = j.ToMatrix order
            Assert.That((jm.Rows, jm.Columns), equalTo((20, net.ParameterCount)))
            assertMatrixClose 1e-12 (jm.Multiply(jm.Transpose())) (EmpiricalNtk.Compute(net, reduction, x).Matrix)
        // row (n, c) of the sample-major matrix is J[n, c, :]
        Assert.That((j.ToMatrix FlattenOrder.SampleMajor).[2 * 4 + 3, 7], equalTo j.[2, 3, 7])
        Assert.That((j.ToMatrix FlattenOrder.ClassMajor).[3 * 5 + 2, 7], equalTo j.[2, 3, 7])
        // central differences through WithParameters
        let theta = net.GetParameters()
        let h = 1e-6
        for mu in [ 0; 13; net.ParameterCount - 1 ] do
            let shifted (s: float) = net.WithParameters(theta |> Array.mapi (fun i v -> if i = mu then v + s else v)).Evaluate x
            let fd = (shifted h - shifted -h)
            for n in 0 .. 4 do
                for c in 0 .. 3 do
                    Assert.That(j.[n, c, mu], Is.EqualTo(fd.[n, c] / (2.0 * h)).Within(1e-7), sprintf "J[%d, %d, %d]" n c mu)
    // importance rescaling multiplies rows of output c by I_c^(β/2)
    let plain = EmpiricalNtk.ComputeJacobian(net, x)
    let scaled = EmpiricalNtk.ComputeJacobian(net, x, NtkOptions(Importance = [| 1.0; 4.0; 9.0; 16.0 |], Beta = 1.0))
    Assert.That(scaled.[1, 2, 5], Is.EqualTo(3.0 * plain.[1, 2, 5]).Within(1e-12))

[<Test>]
let ``Spectrum takes the parameter side when it is smaller and agrees with the dense route`` () =
    let net = DenseNetwork.CreateRandom([| 2; 3; 2 |], Activation.Relu, seed = 6L)  // P = 17
    let x = randomMatrix 30 2 7
    for r in [ KernelReduction.FlattenClassMajor; KernelReduction.FlattenSampleMajor; KernelReduction.AllPairsMean; KernelReduction.Block(1, 1); KernelReduction.TraceMean ] do
        let k = EmpiricalNtk.Compute(net, r, x)
        let n = k.Matrix.Rows
        let kk = min 8 n
        let side = EmpiricalNtk.Spectrum(net, r, x, kk)
        let dense = SymmetricEigen.Decompose(k.Matrix, topK = kk)
        Assert.That(side.Route, equalTo(if r.IsFlattened || r.Kind = KernelReductionKind.AllPairsMean || r.Kind = KernelReductionKind.Block then SpectrumRoute.ParameterSideGram else SpectrumRoute.Dense), string r)
        assertAllClose (1e-10 * dense.Values.[0]) (side.ValuesArray()) (dense.ValuesArray())
        // eigenvectors: K v = λ v for each returned pair (signs and degenerate blocks aside)
        for i in 0 .. kk - 1 do
            let v = side.Vectors.SliceColumns(i, 1)
            assertMatrixClose 1e-9 (k.Matrix.Multiply v) (side.Values.[i] * v)
    let ridged = EmpiricalNtk.Spectrum(net, KernelReduction.FlattenClassMajor, x, 3, ridge = RidgePolicy.Paper)
    Assert.That(ridged.Shift, Is.GreaterThan 0.0)
    throws<EntkArgumentException> (fun () -> EmpiricalNtk.Spectrum(net, KernelReduction.Block(0, 1), x, 3) |> ignore) |> ignore

[<Test>]
let ``options: memory budget refusals, chunk size, progress reports and validation`` () =
    let net, x = net.Value, x.Value
    let refused = throws<MemoryBudgetExceededException> (fun () ->
        EmpiricalNtk.Compute(net, KernelReduction.FlattenClassMajor, x, options = NtkOptions(MemoryBudgetBytes = 1000L)) |> ignore)
    Assert.That(refused.EstimateBytes, Is.GreaterThan refused.BudgetBytes)
    Assert.That(refused.BudgetBytes, equalTo 1000L)
    Assert.That(refused.Message, Does.Contain "1000 B")
    Assert.That(MemoryBudget.DefaultBytes, Is.GreaterThanOrEqualTo(1L <<< 30))
    Assert.That(MemoryBudgetExceededException.FormatBytes(3L * 1024L * 1024L), equalTo "3 MiB")
    // chunking changes nothing
    let one = EmpiricalNtk.Compute(net, KernelReduction.TraceSum, x, options = NtkOptions(Method = NtkMethod.JacobianContraction, ChunkSize = 1))
    assertMatrixClose 1e-12 one.Matrix (EmpiricalNtk.Compute(net, KernelReduction.TraceSum, x).Matrix)
    // progress: an object expression is an IProgress
    let reports = List<EntkProgress>()
    let sink = { new IProgress<EntkProgress> with member _.Report p = lock reports (fun () -> reports.Add p) }
    EmpiricalNtk.Compute(net, KernelReduction.TraceSum, x, options = NtkOptions(Method = NtkMethod.JacobianContraction, Progress = sink)) |> ignore
    Assert.That(reports.Count, Is.GreaterThan 0)
    Assert.That(reports |> Seq.forall (fun p -> p.Completed <= p.Total && p.Stage <> ""), Is.True)
    Assert.That(reports |> Seq.exists (fun p -> p.Completed = p.Total), Is.True, "reports completion")
    // validation of the options names the member
    let wrongLength = throws<ShapeMismatchException> (fun () ->
        EmpiricalNtk.Compute(net, KernelReduction.TraceSum, x, options = NtkOptions(Importance = [| 1.0 |], Beta = 1.0)) |> ignore)
    Assert.That(wrongLength.ParamName, equalTo "Importance")
    Assert.That((throws<EntkArgumentException> (fun () ->
        EmpiricalNtk.Compute(net, KernelReduction.TraceSum, x, options = NtkOptions(Beta = 0.5)) |> ignore)).ParamName, equalTo "Importance")
    Assert.That((throws<EntkArgumentException> (fun () ->
        EmpiricalNtk.Compute(net, KernelReduction.TraceSum, x, options = NtkOptions(ChunkSize = 0)) |> ignore)).ParamName, equalTo "ChunkSize")
    // options are C# records: structural equality and readable printing from F#
    Assert.That(NtkOptions(Method = NtkMethod.Structured, Beta = 0.0) = NtkOptions(Method = NtkMethod.Structured), Is.True)
    Assert.That(NtkOptions(Method = NtkMethod.Structured) = NtkOptions(), Is.False)
    Assert.That(string (NtkOptions(Method = NtkMethod.Structured)), Does.Contain "Method = Structured")

[<Test>]
let ``reductions are values: equality, names, rows and validation`` () =
    Assert.That(KernelReduction.Block(1, 2), equalTo (KernelReduction.Block(1, 2)))
    Assert.That(KernelReduction.Block(1, 2) = KernelReduction.Block(2, 1), Is.False)
    Assert.That(KernelReduction.Block(1, 2) |> string, equalTo "Block(1, 2)")
    Assert.That(KernelReduction.TraceMean |> string, equalTo "TraceMean")
    Assert.That((KernelReduction.Block(1, 2).OutputC, KernelReduction.TraceMean.OutputC), equalTo((1, -1)))
    Assert.That(allReductions |> List.filter (fun r -> r.IsFlattened) |> List.length, equalTo 2)
    Assert.That((KernelReduction.FlattenClassMajor.RowsFor(10L, 3L), KernelReduction.AllPairsMean.RowsFor(10L, 3L)), equalTo((30L, 10L)))
    throws<EntkArgumentException> (fun () -> KernelReduction.Block(-1, 0) |> ignore) |> ignore
    let tooBig = throws<EntkArgumentException> (fun () -> EmpiricalNtk.Compute(net.Value, KernelReduction.Block(0, 4), x.Value) |> ignore)
    Assert.That(tooBig.ParamName, equalTo "reduction")
    // F# pattern matching on the kind
    let describe (r: KernelReduction) =
        match r.Kind with
        | KernelReductionKind.TraceMean | KernelReductionKind.TraceSum -> "traced"
        | KernelReductionKind.Block -> sprintf "block %d,%d" r.OutputC r.OutputD
        | _ -> "other"
    Assert.That(allReductions |> List.map describe, equalTo [ "other"; "other"; "traced"; "traced"; "other"; "block 1,3"; "block 2,2" ])

/// Every model kind as an F# user builds, evaluates, re-parametrises and extends it.
module Entk.FSharp.Tests.ModelTests

open System
open System.Collections.Generic
open NUnit.Framework
open TorchSharp
open Entk
open Entk.Models
open Entk.Kernels
open Entk.FSharp.Tests.TestUtil

/// Dense forward pass written out in F#: z = s·W a + s_b·b, activation on hidden layers only.
let private denseForward (net: DenseNetwork) (x: float[]) =
    let phi z =
        match net.Activation with
        | Activation.Identity -> z
        | Activation.Relu -> max z 0.0
        | Activation.Tanh -> tanh z
        | Activation.Square -> z * z
        | Activation.Softplus -> log (1.0 + exp z)
        | a -> failwithf "unexpected %A" a
    let layers = net.Widths.Count - 1
    let mutable a = x
    for l in 0 .. layers - 1 do
        let w = net.GetTensor(sprintf "layer%d.weight" l)
        let b = if net.HasBias then net.GetTensor(sprintf "layer%d.bias" l) else Array.zeroCreate net.Widths.[l + 1]
        let z =
            Array.init net.Widths.[l + 1] (fun o ->
                net.WeightScales.[l] * Seq.sum (seq { for i in 0 .. a.Length - 1 -> w.[o * a.Length + i] * a.[i] }) + net.BiasScale * b.[o])
        a <- if l < layers - 1 then Array.map phi z else z
    a

[<Test>]
let ``dense networks of every activation evaluate like the written-out forward pass`` () =
    let x = randomMatrix 5 3 11
    for act in Enum.GetValues<Activation>() do
        for bias in [ true; false ] do
            let net = DenseNetwork.CreateRandom([| 3; 6; 4; 2 |], act, seed = 7L, bias = bias, biasStd = 0.3)
            Assert.That(net.Widths, equalTo [| 3; 6; 4; 2 |])
            Assert.That((net.Activation, net.HasBias, net.BiasScale), equalTo((act, bias, 1.0)))
            Assert.That(net.WeightScales, equalTo [| 1.0; 1.0; 1.0 |])
            Assert.That(net.ParameterCount, equalTo(3 * 6 + 6 * 4 + 4 * 2 + (if bias then 6 + 4 + 2 else 0)))
            Assert.That(net.Name, Does.Contain(act.ToString().ToLowerInvariant()))
            let y = net.Evaluate x
            Assert.That((y.Rows, y.Columns), equalTo((5, 2)))
            for n in 0 .. 4 do
                assertAllClose 1e-12 (y.Row n) (denseForward net (x.Row n))

[<Test>]
let ``NTK parametrisation scales each layer by sigma_w / sqrt(fan_in) and biases by sigma_b`` () =
    let net = DenseNetwork.CreateNtkParametrised([| 4; 8; 3 |], Activation.Relu, seed = 2L, sigmaW = 1.5, sigmaB = 0.5)
    assertAllClose 1e-15 (Seq.toArray net.WeightScales) [| 1.5 / 2.0; 1.5 / sqrt 8.0 |]
    Assert.That((net.BiasScale, net.HasBias), equalTo((0.5, true)))
    let x = randomMatrix 3 4 5
    for n in 0 .. 2 do assertAllClose 1e-12 ((net.Evaluate x).Row n) (denseForward net (x.Row n))
    // σ_b = 0: no biases at all
    let noBias = DenseNetwork.CreateNtkParametrised([| 4; 8; 3 |], Activation.Relu, seed = 2L)
    Assert.That((noBias.HasBias, noBias.Layout.Contains "layer0.bias"), equalTo((false, false)))

[<Test>]
let ``FromParameters rebuilds a network and WithParameters gives a new typed model, leaving the old one alone`` () =
    let net = DenseNetwork.CreateNtkParametrised([| 2; 5; 2 |], Activation.Tanh, seed = 4L, sigmaB = 0.2)
    let theta = net.GetParameters()
    let same = DenseNetwork.FromParameters(net.Widths, net.Activation, theta, weightScales = net.WeightScales, biasScale = net.BiasScale)
    let x = randomMatrix 4 2 9
    assertMatrixClose 0.0 (same.Evaluate x) (net.Evaluate x)
    // WithParameters returns DenseNetwork itself (no downcast), keeps the scales, copies θ
    let doubled = net.WithParameters(theta |> Array.map ((*) 2.0))
    Assert.That(doubled.WeightScales, equalTo net.WeightScales)
    Assert.That(doubled.GetParameters(), equalTo(theta |> Array.map ((*) 2.0)))
    Assert.That(net.GetParameters(), equalTo theta, "the original is unchanged")
    theta.[0] <- 1e6
    Assert.That(net.GetParameters().[0], Is.Not.EqualTo 1e6, "GetParameters returns a copy")
    // the base-class method, reached through FunctionalModel, still works and returns the same type
    let viaBase = (net :> FunctionalModel).WithParameters(doubled.GetParameters())
    Assert.That(viaBase, Is.InstanceOf<DenseNetwork>())
    // θ is validated
    let short = throws<ShapeMismatchException> (fun () -> net.WithParameters [| 1.0 |] |> ignore)
    Assert.That(short.ParamName, equalTo "parameters")
    let nan = throws<NonFiniteValueException> (fun () -> net.WithParameters(Array.init net.ParameterCount (fun i -> if i = 3 then nan else 0.0)) |> ignore)
    Assert.That(nan.Message, Does.Contain "layer0.weight[3]")

[<Test>]
let ``TMS model: f(x) = ReLU(W^T W x + b), typed WithParameters keeps W and B`` () =
    let w = randomMatrix 2 5 3
    let b = [| 0.1; -0.2; 0.0; 0.3; -0.05 |]
    let tms = TmsModel.FromWeights(w, b)
    Assert.That((tms.Features, tms.Hidden, tms.InputDimension, tms.OutputDimension, tms.ParameterCount), equalTo((5, 2, 5, 5, 15)))
    Assert.That(tms.Layout.Tensors |> Seq.map string, equalTo [| "W [2, 5]"; "b [5]" |])
    assertMatrixClose 0.0 tms.W w
    Assert.That(tms.B, equalTo b)
    let x = randomMatrix 4 5 8
    let y = tms.Evaluate x
    for n in 0 .. 3 do
        let xn = x.Row n
        let h = Array.init 2 (fun j -> Seq.sum (seq { for i in 0 .. 4 -> w.[j, i] * xn.[i] }))
        let expected = Array.init 5 (fun c -> max 0.0 (Seq.sum (seq { for j in 0 .. 1 -> w.[j, c] * h.[j] }) + b.[c]))
        assertAllClose 1e-13 (y.Row n) expected
    let same = TmsModel.FromParameters(5, 2, tms.GetParameters())
    assertMatrixClose 0.0 (same.Evaluate x) y
    let zeroed = tms.WithParameters(Array.zeroCreate 15)
    Assert.That(zeroed.W.MaxAbs(), equalTo 0.0)        // .W: no downcast needed
    Assert.That((zeroed.Evaluate x).MaxAbs(), equalTo 0.0)
    Assert.That(tms.GetTensor "b", equalTo b)
    throws<ShapeMismatchException> (fun () -> TmsModel.FromWeights(w, [| 1.0 |]) |> ignore) |> ignore

[<Test>]
let ``modular MLP: all inputs and labels, and f(x) = W2 (W1 x / sqrt(2p))^2 / H`` () =
    let p, h = 5, 4
    let inputs = ModularMlp.AllInputs p
    let labels = ModularMlp.AllLabels p
    Assert.That((inputs.Rows, inputs.Columns), equalTo((25, 10)))
    for n in 0 .. p - 1 do
        for m in 0 .. p - 1 do
            let row = inputs.Row(n * p + m)
            Assert.That(row |> Array.indexed |> Array.filter (fun (_, v) -> v = 1.0) |> Array.map fst, equalTo [| n; p + m |])
            Assert.That(labels.[n * p + m], equalTo((n + m) % p))
    let w1, w2 = randomMatrix h (2 * p) 1, randomMatrix p h 2
    let mlp = ModularMlp.FromWeights(w1, w2)
    Assert.That((mlp.Modulus, mlp.Width, mlp.ParameterCount), equalTo((p, h, 3 * p * h)))
    assertMatrixClose 0.0 mlp.W1 w1
    assertMatrixClose 0.0 mlp.W2 w2
    let y = mlp.Evaluate inputs
    for i in [ 0; 7; 24 ] do
        let x = inputs.Row i
        let u = Array.init h (fun j -> Seq.sum (seq { for k in 0 .. 2 * p - 1 -> w1.[j, k] * x.[k] }) / sqrt (float (2 * p)))
        let expected = Array.init p (fun c -> Seq.sum (seq { for j in 0 .. h - 1 -> w2.[c, j] * u.[j] * u.[j] }) / float h)
        assertAllClose 1e-13 (y.Row i) expected
    let again = ModularMlp.FromParameters(p, h, mlp.GetParameters())
    assertMatrixClose 0.0 (again.Evaluate inputs) y
    let scaled = mlp.WithParameters(mlp.GetParameters() |> Array.map ((*) 2.0))
    assertMatrixClose 1e-13 scaled.W2 (2.0 * w2)
    // f is homogeneous of degree 3 in θ
    assertMatrixClose 1e-12 (scaled.Evaluate inputs) (8.0 * y)
    throws<ShapeMismatchException> (fun () -> ModularMlp.FromWeights(w1, randomMatrix h p 3) |> ignore) |> ignore

[<Test>]
let ``linear model: FromParameters, typed WithParameters and evaluation W x + b`` () =
    let lin = LinearModel.FromParameters(2, 3, [| 1.0; 2.0; 3.0; 4.0; 5.0; 6.0; 0.5; -0.5; 0.0 |])
    let y = lin.Evaluate(Matrix.FromRows [ [| 1.0; -1.0 |] ])
    Assert.That(y.Row 0, equalTo [| -0.5; -1.5; -1.0 |])
    let moved = lin.WithParameters(Array.create 9 1.0)
    Assert.That((moved.Evaluate(Matrix.FromRows [ [| 1.0; 1.0 |] ])).Row 0, equalTo [| 3.0; 3.0; 3.0 |])
    Assert.That(LinearModel.CreateRandom(2, 3, seed = 1L).GetParameters(), equalTo(LinearModel.CreateRandom(2, 3, seed = 1L).GetParameters()), "seeded")

[<Test>]
let ``evaluate validates inputs and accepts an empty batch`` () =
    let net = DenseNetwork.CreateRandom([| 3; 4; 2 |], Activation.Relu, seed = 0L)
    let empty = net.Evaluate(Matrix.Zeros(0, 3))
    Assert.That((empty.Rows, empty.Columns), equalTo((0, 2)))
    let wrong = throws<ShapeMismatchException> (fun () -> net.Evaluate(Matrix.Zeros(2, 4)) |> ignore)
    Assert.That((wrong.ParamName, wrong.Expected), equalTo(("x", "shape [*, 3]")))
    let bad = Matrix.FromRows [ [| 0.0; Double.PositiveInfinity; 0.0 |] ]
    Assert.That((throws<NonFiniteValueException> (fun () -> net.Evaluate bad |> ignore)).ParamName, equalTo "x")

[<Test>]
let ``layouts: names, offsets, lookup, per-tensor groups and validation`` () =
    let net = DenseNetwork.CreateRandom([| 3; 4; 2 |], Activation.Tanh, seed = 1L)
    let layout = net.Layout
    Assert.That(layout.Tensors |> Seq.map (fun t -> t.Name, t.Offset, t.Count),
                equalTo [| ("layer0.weight", 0, 12); ("layer0.bias", 12, 4); ("layer1.weight", 16, 8); ("layer1.bias", 24, 2) |])
    Assert.That((layout.Count, layout.IndexOf "layer1.weight", layout.["layer1.weight"].Shape |> Seq.toList), equalTo((26, 2, [ 2; 4 ])))
    Assert.That((layout.Contains "layer0.bias", layout.Contains "nope"), equalTo((true, false)))
    Assert.That(layout.PerTensorGroups |> Seq.map (fun g -> g.Name, List.ofSeq g.TensorNames),
                equalTo(layout.Tensors |> Seq.map (fun t -> t.Name, [ t.Name ])))
    let unknown = throws<EntkArgumentException> (fun () -> layout.IndexOf "layer9.weight" |> ignore)
    Assert.That(unknown.Message, Does.Contain "layer0.weight, layer0.bias, layer1.weight, layer1.bias")
    // building a layout in F#: inline array literals convert to IReadOnlyList<IReadOnlyList<int>>
    let own = ParameterLayout([| "a"; "B" |], [| [| 2; 3 |]; [| 3 |] |])
    Assert.That((own.Count, own.["B"].Offset), equalTo((9, 6)))
    throws<EntkArgumentException> (fun () -> ParameterLayout([| "a"; "a" |], [| [| 1 |]; [| 1 |] |]) |> ignore) |> ignore
    throws<ShapeMismatchException> (fun () -> ParameterLayout([| "a" |], [| [| 1 |]; [| 1 |] |]) |> ignore) |> ignore

/// A model written in F# on top of FunctionalModel: f(x) = [ (a·x)², b·x ], tensors "a" [D] and "b" [D].
type QuadraticModel(d: int, theta: IReadOnlyList<float>, perSample: bool) =
    inherit FunctionalModel("quadratic", ParameterLayout([| "a"; "b" |], [| [| d |]; [| d |] |]), d, 2, theta)
    override _.Rebuild(p: float[]) = QuadraticModel(d, p, perSample) :> FunctionalModel
    override _.Forward(x: torch.Tensor, p: IReadOnlyList<torch.Tensor>) =
        let u = x.matmul(p.[0]).unsqueeze 1L
        torch.cat([| u * u; x.matmul(p.[1]).unsqueeze 1L |], 1L)
    override _.SupportsPerSampleParameters = perSample
    override _.ForwardPerSample(x: torch.Tensor, p: IReadOnlyList<torch.Tensor>) =
        if not perSample then null
        else
            let u = (p.[0] * x).sum(1L, true)          // p.[0]: (N, D), one parameter copy per sample
            torch.cat([| u * u; (p.[1] * x).sum(1L, true) |], 1L)

[<Test>]
let ``an F# subclass of FunctionalModel gets kernels, Jacobians and WithParameters from the engine`` () =
    let theta = [| 1.0; 2.0; -1.0; 0.5; 0.0; 0.25 |]
    let x = randomMatrix 6 3 21
    let expected =
        // K[n, n', c, d]: c = d = 0: 4 u u' (x·x'); c = d = 1: x·x'; c ≠ d: 0
        let u = Array.init 6 (fun n -> Array.fold2 (fun s a v -> s + a * v) 0.0 theta.[0..2] (x.Row n))
        Array2D.init 12 12 (fun r s ->
            let n, c, n', c' = r / 2, r % 2, s / 2, s % 2
            let dot = Array.fold2 (fun acc a b -> acc + a * b) 0.0 (x.Row n) (x.Row n')
            if c <> c' then 0.0 elif c = 0 then 4.0 * u.[n] * u.[n'] * dot else dot)
        |> Matrix.FromArray2D
    for perSample in [ false; true ] do
        let model = QuadraticModel(3, theta, perSample)
        let k = EmpiricalNtk.Compute(model, KernelReduction.FlattenSampleMajor, x)
        Assert.That(k.Method, equalTo NtkMethod.JacobianContraction, "no structured rule: Auto falls back")
        assertMatrixClose 1e-12 k.Matrix expected
        let viaProducts = EmpiricalNtk.Compute(model, KernelReduction.FlattenSampleMajor, x, options = NtkOptions(Method = NtkMethod.NtkVectorProducts))
        assertMatrixClose 1e-12 viaProducts.Matrix expected
        let structured = throws<EntkArgumentException> (fun () ->
            EmpiricalNtk.Compute(model, KernelReduction.TraceMean, x, options = NtkOptions(Method = NtkMethod.Structured)) |> ignore)
        Assert.That(structured.ParamName, equalTo "options.Method")
        let moved = model.WithParameters(Array.zeroCreate 6)
        Assert.That(moved, Is.InstanceOf<QuadraticModel>(), "Rebuild is called")
        Assert.That((moved.Evaluate x).MaxAbs(), equalTo 0.0)

/// A module written in F# with TorchSharp: two Linear layers around tanh, float64.
type TanhMlp(inputs: int, hidden: int, outputs: int) as this =
    inherit torch.nn.Module<torch.Tensor, torch.Tensor>("TanhMlp")
    let fc1 = torch.nn.Linear(int64 inputs, int64 hidden, dtype = torch.ScalarType.Float64)
    let fc2 = torch.nn.Linear(int64 hidden, int64 outputs, dtype = torch.ScalarType.Float64)
    do this.RegisterComponents()
    override _.forward(x: torch.Tensor) = fc2.forward(fc1.forward(x).tanh())

/// The same weights as a DenseNetwork (layer names differ, values and order agree).
let private asDense (m: torch.nn.Module<torch.Tensor, torch.Tensor>) (widths: int[]) act =
    let theta = m.parameters() |> Seq.collect (fun p -> p.detach().reshape(-1L).data<float>().ToArray()) |> Seq.toArray
    DenseNetwork.FromParameters(widths, act, theta)

[<Test>]
let ``wrapped TorchSharp modules (Sequential and an F# Module subclass) give the dense network's kernel`` () =
    torch.random.manual_seed 5L |> ignore
    let x = randomMatrix 7 3 4
    let sequential =
        torch.nn.Sequential(
            struct ("0", torch.nn.Linear(3L, 5L, dtype = torch.ScalarType.Float64) :> torch.nn.Module<_, _>),
            struct ("1", torch.nn.ReLU() :> torch.nn.Module<_, _>),
            struct ("2", torch.nn.Linear(5L, 2L, dtype = torch.ScalarType.Float64) :> torch.nn.Module<_, _>))
    let custom = new TanhMlp(3, 5, 2)
    for m, act in [ (sequential :> torch.nn.Module<_, _>, Activation.Relu); (custom :> torch.nn.Module<_, _>, Activation.Tanh) ] do
        m.train()
        let wrapped = TorchModuleModel.Wrap(m, inputDimension = 3, outputDimension = 2, name = "mine")
        Assert.That((wrapped.Name, wrapped.ParameterCount), equalTo(("mine", 3 * 5 + 5 + 5 * 2 + 2)))
        let dense = asDense m [| 3; 5; 2 |] act
        Assert.That(wrapped.GetParameters(), equalTo(dense.GetParameters()))
        assertMatrixClose 1e-13 (wrapped.Evaluate x) (dense.Evaluate x)
        let k = EmpiricalNtk.Compute(wrapped, KernelReduction.FlattenClassMajor, x)
        let reference = EmpiricalNtk.Compute(dense, KernelReduction.FlattenClassMajor, x)
        Assert.That((k.Method, reference.Method), equalTo((NtkMethod.Structured, NtkMethod.Structured)), "a wrapped module gets the layer rules")
        assertMatrixClose 1e-12 k.Matrix reference.Matrix
        let jc = EmpiricalNtk.Compute(wrapped, KernelReduction.FlattenClassMajor, x, options = NtkOptions(Method = NtkMethod.JacobianContraction))
        assertMatrixClose 1e-12 jc.Matrix reference.Matrix
        Assert.That(m.training, Is.True, "Entk restores train mode")
        Assert.That(m.parameters() |> Seq.forall (fun p -> p.requires_grad), Is.True, "and requires_grad flags")
    Assert.That(TorchModuleModel.Wrap(custom, 3, 2).Layout.Tensors |> Seq.map (fun t -> t.Name), equalTo [| "fc1.weight"; "fc1.bias"; "fc2.weight"; "fc2.bias" |])

[<Test>]
let ``wrap reshapes flat input rows to the module's per-sample shape and validates it`` () =
    torch.random.manual_seed 3L |> ignore
    // the module wants (N, 2, 2) and flattens itself
    let seq =
        torch.nn.Sequential(
            struct ("flat", torch.nn.Flatten() :> torch.nn.Module<_, _>),
            struct ("fc", torch.nn.Linear(4L, 3L, dtype = torch.ScalarType.Float64) :> torch.nn.Module<_, _>))
    let wrapped = TorchModuleModel.Wrap(seq, 4, 3, inputShape = [| 2; 2 |])
    let x = randomMatrix 5 4 2
    let lin = LinearModel.FromParameters(4, 3, wrapped.GetParameters())
    assertMatrixClose 1e-13 (wrapped.Evaluate x) (lin.Evaluate x)
    assertMatrixClose 1e-12 (EmpiricalNtk.Compute(wrapped, KernelReduction.TraceSum, x).Matrix) (EmpiricalNtk.Compute(lin, KernelReduction.TraceSum, x).Matrix)
    let bad = throws<ShapeMismatchException> (fun () -> TorchModuleModel.Wrap(seq, 4, 3, inputShape = [| 3; 2 |]) |> ignore)
    Assert.That(bad.ParamName, equalTo "inputShape")
    let noParams = throws<EntkArgumentException> (fun () -> TorchModuleModel.Wrap(torch.nn.ReLU(), 4, 4) |> ignore)
    Assert.That(noParams.ParamName, equalTo "module")

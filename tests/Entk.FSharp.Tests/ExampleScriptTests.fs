/// Runs every script in examples/ with `dotnet fsi` as a child process and checks what it prints and
/// writes, not only its exit code. The scripts are given the Entk.dll this test project references
/// (`--lib:<its folder>`, and ENTK_LIB_DIR so that the script can verify it loaded that build), an
/// output folder of their own, and OMP_NUM_THREADS=1 (see AssemblySetup). All runs start together in
/// the fixture's set-up, two at a time; each test waits for its own run (timeout per run: 180 s).
module Entk.FSharp.Tests.ExampleScriptTests

open System
open System.Collections.Generic
open System.Diagnostics
open System.Globalization
open System.IO
open System.Text
open System.Threading
open System.Threading.Tasks
open NUnit.Framework
open Entk
open Entk.IO
open Entk.Kernels
open Entk.Linalg
open Entk.Training
open Entk.FSharp.Tests.TestUtil

type ScriptRun =
    { Name: string
      Command: string
      ExitCode: int
      Stdout: string
      Stderr: string
      Seconds: float
      OutDir: string }

    member r.Lines = r.Stdout.Split('\n') |> Array.map (fun l -> l.TrimEnd '\r')

    /// Every failure message carries the command, the exit code and both streams.
    member r.Describe =
        sprintf "%s\n`%s` exited with %d after %.1f s\n--- stdout ---\n%s\n--- stderr ---\n%s" r.Name r.Command r.ExitCode r.Seconds r.Stdout r.Stderr

    /// Lines starting with the prefix, with the prefix removed.
    member r.After(prefix: string) =
        r.Lines |> Array.filter (fun l -> l.StartsWith(prefix, StringComparison.Ordinal)) |> Array.map (fun l -> l.Substring prefix.Length)

    member r.Single(prefix: string) =
        match r.After prefix with
        | [| line |] -> line
        | found -> Assert.Fail(sprintf "expected one line starting with '%s', found %d\n%s" prefix found.Length r.Describe); ""

let private timeout = TimeSpan.FromSeconds 180.0

/// The folder of the Entk.dll this test assembly was built against (it holds TorchSharp.dll and the natives too).
let libDir =
    match Path.GetDirectoryName(typeof<Matrix>.Assembly.Location) with
    | null -> failwith "Entk.dll has no folder"
    | dir -> dir

let private parse (s: string) = Double.Parse(s.Trim(), CultureInfo.InvariantCulture)

/// Runs `dotnet fsi --define:ENTK_BUILD_FOLDER --lib:<libDir> examples/<script> args...` from the repository root
/// (ENTK_BUILD_FOLDER selects common.fsx's build-folder route instead of its `#r "nuget: Entk.Paper"` route).
let runScript (name: string) (script: string) (args: string list) (env: (string * string) list) =
    let dotnet =
        match Environment.GetEnvironmentVariable "DOTNET_HOST_PATH" |> Option.ofObj with
        | Some path when File.Exists path -> path
        | _ -> "dotnet"
    let scriptPath = Path.Combine(repoRoot.Value, "examples", script)
    let argv = [ "fsi"; "--define:ENTK_BUILD_FOLDER"; "--lib:" + libDir; scriptPath ] @ args
    let psi = ProcessStartInfo(dotnet, argv, WorkingDirectory = repoRoot.Value, UseShellExecute = false,
                               RedirectStandardOutput = true, RedirectStandardError = true)
    psi.Environment.["ENTK_LIB_DIR"] <- libDir
    psi.Environment.["DOTNET_CLI_TELEMETRY_OPTOUT"] <- "1"
    psi.Environment.["DOTNET_NOLOGO"] <- "1"
    if String.IsNullOrEmpty(Environment.GetEnvironmentVariable "OMP_NUM_THREADS") then psi.Environment.["OMP_NUM_THREADS"] <- "1"
    for k, v in env do psi.Environment.[k] <- v
    let stdout, stderr = StringBuilder(), StringBuilder()
    let clock = Stopwatch.StartNew()
    use proc = new Process(StartInfo = psi)
    let collect (sink: StringBuilder) (e: DataReceivedEventArgs) =
        match e.Data with
        | null -> ()
        | line -> lock sink (fun () -> sink.AppendLine line |> ignore)
    proc.OutputDataReceived.Add(collect stdout)
    proc.ErrorDataReceived.Add(collect stderr)
    proc.Start() |> ignore
    proc.BeginOutputReadLine()
    proc.BeginErrorReadLine()
    let finished = proc.WaitForExit timeout
    if not finished then
        proc.Kill(entireProcessTree = true)
        proc.WaitForExit()
    else
        proc.WaitForExit() // drains the asynchronous readers
    let command = String.Join(" ", argv |> List.map (fun a -> if a.Contains ' ' then "\"" + a + "\"" else a))
    let outDir = match args with dir :: _ -> dir | [] -> ""
    { Name = name
      Command = "dotnet " + command
      ExitCode = (if finished then proc.ExitCode else -1)
      Stdout = lock stdout (fun () -> stdout.ToString())
      Stderr = (lock stderr (fun () -> stderr.ToString())) + (if finished then "" else sprintf "\nKILLED: no exit within %.0f s" timeout.TotalSeconds)
      Seconds = clock.Elapsed.TotalSeconds
      OutDir = outDir }

let private runs = Dictionary<string, Task<ScriptRun>>()
let mutable private root = ""

let private run (name: string) =
    match runs.TryGetValue name with
    | true, t -> t.Result
    | _ -> failwithf "no script run named %s" name

let private assertOk (r: ScriptRun) =
    Assert.That(r.ExitCode, equalTo 0, r.Describe)
    Assert.That(r.Single "entk library: ", Does.StartWith(Path.Combine(libDir, "Entk.dll")), "the script must load the Entk.dll given by --lib\n" + r.Describe)

[<OneTimeSetUp>]
let startScripts () =
    root <- Path.Combine(Path.GetTempPath(), "entk-fs-examples-" + Guid.NewGuid().ToString "N")
    let gate = new SemaphoreSlim(2)
    let start name script args env =
        let dir = Path.Combine(root, name)
        runs.[name] <-
            Task.Run(fun () ->
                gate.Wait()
                try runScript name script (dir :: args) env finally gate.Release() |> ignore)
    // longest first, so that the two slots stay busy
    start "figure" "reproduce_figure.fsx" [ "0"; "300" ] []
    start "quickstart" "quickstart.fsx" [] []
    start "byom" "bring_your_own_model.fsx" [] []
    start "python" "load_from_python.fsx" [] []
    start "own-model" "own_model_torchscript.fsx" [] []
    start "interop" "interop.fsx" [] []
    start "python-missing" "load_from_python.fsx" [] [ "ENTK_PYTHON", "/nonexistent/python3" ]
    start "wrong-lib" "quickstart.fsx" [] [ "ENTK_LIB_DIR", Path.GetTempPath() ]

[<OneTimeTearDown>]
let cleanUp () =
    for t in runs.Values do (try t.Wait() with _ -> ())
    for t in runs.Values do
        if t.IsCompletedSuccessfully then TestContext.Progress.WriteLine(sprintf "example %s: exit %d in %.1f s" t.Result.Name t.Result.ExitCode t.Result.Seconds)
    (try Directory.Delete(root, true) with _ -> ())

[<Test>]
let ``quickstart trains a TMS, prints a descending positive spectrum and cliffs, and writes a PNG and an npy`` () =
    let r = run "quickstart"
    assertOk r
    let values =
        r.After "eigenvalue "
        |> Array.map (fun l -> let parts = l.Split(':') in int parts.[0], parse parts.[1])
    Assert.That(values |> Array.map fst, equalTo [| 0 .. 11 |], "12 eigenvalues, indices 0..11\n" + r.Describe)
    let printed = values |> Array.map snd
    Assert.That(printed |> Array.forall (fun v -> v > 0.0), Is.True, "positive\n" + r.Describe)
    Assert.That(isDescending printed, Is.True, "descending\n" + r.Describe)
    // training lowered the loss
    let losses = (r.Single "loss: ").Split(' ') |> fun p -> parse p.[0], parse p.[2]
    Assert.That(snd losses, Is.LessThan(fst losses), r.Describe)
    Assert.That(r.Single "spectrum: ", Does.StartWith "route ParameterSideGram, kernel dimension 4000 (= n·D), 40 eigenpairs", r.Describe)
    // cliffs: consecutive blocks from index 0, each ending where a printed drop is
    let drops = (r.Single "drops after indices: [").TrimEnd(']').Split(", ", StringSplitOptions.RemoveEmptyEntries) |> Array.map int
    let cliffs = r.After "cliff: " |> Array.map (fun l -> let range = l.Split(' ').[0].Split("..") in int range.[0], int range.[1])
    Assert.That(cliffs.Length, Is.GreaterThanOrEqualTo 1, r.Describe)
    Assert.That(cliffs |> Array.map snd, equalTo drops, r.Describe)
    Assert.That(cliffs |> Array.map fst, equalTo(Array.append [| 0 |] (drops |> Array.take (drops.Length - 1) |> Array.map ((+) 1))), r.Describe)
    // the files: a 640×480 PNG, and an .npy whose first 12 values are exactly the printed ones
    let png = Path.Combine(r.OutDir, "spectrum.png")
    let npy = Path.Combine(r.OutDir, "eigenvalues.npy")
    Assert.That(r.After "wrote ", Is.EquivalentTo [| png; npy |], r.Describe)
    Assert.That(pngSize (File.ReadAllBytes png), equalTo((640, 480)), r.Describe)
    Assert.That(startsWith npySignature npy, Is.True, "npy magic")
    let saved = Npy.ReadVector npy
    Assert.That(saved.Length, equalTo 40)
    Assert.That(saved.[0..11], equalTo printed, "the .npy holds the printed values")
    Assert.That(isDescending saved && saved.[39] > 0.0, Is.True)
    // and the same computation in this process gives the same spectrum (deterministic seeds)
    let setup = TmsSetup.Create(TmsConfig(Features = 20, Hidden = 5, Samples = 200, Steps = 2000), 0L)
    let trained = TmsTraining.Train(setup, TmsTrainingOptions(LogEvery = 500))
    let here = EmpiricalNtk.Spectrum(trained.Model, KernelReduction.FlattenClassMajor, setup.Inputs, 40,
                                     options = NtkOptions(Importance = setup.Importance, Beta = 0.3), ridge = RidgePolicy.Paper)
    assertAllClose (1e-8 * saved.[0]) (here.ValuesArray()) saved

[<Test>]
let ``bring_your_own_model checks layer sums, methods and module mode, and prints per-layer spectra`` () =
    let r = run "byom"
    assertOk r
    Assert.That(r.Single "evaluate check: ", Does.EndWith ": OK", r.Describe)
    let sums = r.After "layer-sum check ("
    Assert.That(sums.Length, equalTo 2, r.Describe)
    Assert.That(sums |> Array.forall (fun l -> l.EndsWith ": OK"), Is.True, r.Describe)
    Assert.That(sums.[0], Does.StartWith "per tensor, 4 groups: fc1.weight, fc1.bias, fc2.weight, fc2.bias)", r.Describe)
    Assert.That(r.Single "method check: ", Does.StartWith("NtkVectorProducts vs Structured").And.EndWith(": OK"), r.Describe)
    Assert.That(r.Single "module mode: ", equalTo "training before = true, after = true", r.Describe)
    let spectrum group = (r.Single(sprintf "spectrum %s: " group)).Split(' ') |> Array.map parse
    let trace group = parse (r.Single(sprintf "trace %s: " group))
    for g in [ "layer1"; "layer2"; "all" ] do
        let s = spectrum g
        Assert.That(s.Length, equalTo 10, r.Describe)
        Assert.That(isDescending s && Array.forall (fun v -> v > 0.0) s, Is.True, sprintf "%s spectrum descending and positive\n%s" g r.Describe)
        Assert.That(r.After(sprintf "cliffs %s: " g).Length, equalTo 1, r.Describe)
    // kernels add: traces add, and the top eigenvalue of a sum of PSD matrices lies between max and sum (Weyl)
    Assert.That(trace "all", equalTo(trace "layer1" + trace "layer2").Within(1e-12 * trace "all"), r.Describe)
    let top g = (spectrum g).[0]
    Assert.That(top "all", Is.GreaterThanOrEqualTo(max (top "layer1") (top "layer2")).And.LessThanOrEqualTo(top "layer1" + top "layer2"), r.Describe)
    // the .npz holds the three 24×24 kernels, and layer1 + layer2 = all
    let npz = Path.Combine(r.OutDir, "layer_kernels.npz")
    Assert.That(startsWith zipSignature npz, Is.True, "npz is a ZIP file")
    let archive = Npz.Read npz
    Assert.That(archive.Names, equalTo [| "layer1"; "layer2"; "all" |])
    let k name = archive.[name].ToMatrix()
    Assert.That((k "all").Shape, equalTo [| 24; 24 |])
    assertMatrixClose 1e-13 (k "layer1" + k "layer2") (k "all")

[<Test>]
let ``load_from_python matches numpy's forward pass and kernels, and Fourier overlaps add up to 2K`` () =
    let r = run "python"
    if not (pythonHas "numpy") then
        Assert.That(r.ExitCode, equalTo 0, r.Describe)
        Assert.That(r.After "SKIP: ", Has.Length.EqualTo 1, r.Describe)
        requirePython "numpy"
    assertOk r
    Assert.That(r.After "SKIP", Is.Empty, r.Describe)
    let checks = r.After "numpy check "
    Assert.That(checks |> Array.map (fun l -> l.Split(':').[0]), equalTo [| "forward"; "kernel layer1"; "kernel layer2"; "kernel total" |], r.Describe)
    for c in checks do
        let rel = parse (c.Split(':').[1].Replace("relative difference", ""))
        Assert.That(rel, Is.LessThan 1e-12, c + "\n" + r.Describe)
        Assert.That(c, Does.EndWith ": OK", r.Describe)
    Assert.That(r.Single "loaded: ", Does.Contain "(p = 11, H = 32)", r.Describe)
    // the overlap table: 4 blocks × 4 families, each in [0, min(block size, 10)], column sums 10
    let header = r.Lines |> Array.findIndex (fun l -> l.TrimStart().StartsWith "block" && l.Contains "diff")
    let rows =
        r.Lines.[header + 1 .. header + 4]
        |> Array.map (fun l -> l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
    Assert.That(rows |> Array.map (fun c -> c.[0]), equalTo [| "0"; "1..20"; "21..40"; "41..120" |], r.Describe)
    let sizes = [| 1; 20; 20; 80 |]
    let overlaps = rows |> Array.map (fun c -> c.[1..] |> Array.map parse)
    overlaps |> Array.iteri (fun b row ->
        Assert.That(row.Length, equalTo 4)
        for o in row do Assert.That(o, Is.InRange(0.0, float (min sizes.[b] 10) + 1e-4), r.Describe))
    for f in 0 .. 3 do
        Assert.That(overlaps |> Array.sumBy (fun row -> row.[f]), equalTo(10.0).Within(5e-4), r.Describe)
    Assert.That(r.Single "overlap totals: ", Does.EndWith ": OK", r.Describe)
    // block 1..20 of this untrained model lies mostly in the single-operand families n and m
    Assert.That(overlaps.[1].[0] > 5.0 && overlaps.[1].[1] > 5.0 && overlaps.[1].[2] < 2.0 && overlaps.[1].[3] < 2.0, Is.True, r.Describe)
    // the files: numpy's weights load here too, and the Entk checkpoint reloads identically
    let model = ModelFiles.LoadMlp(Path.Combine(r.OutDir, "mlp_weights.npz"))
    Assert.That(model.W1.Shape, equalTo [| 32; 22 |])
    Assert.That(model.W2.Shape, equalTo [| 11; 32 |])
    let checkpoint = Path.Combine(r.OutDir, "mlp_checkpoint.npz")
    Assert.That(ModelFiles.LoadMlp(checkpoint).GetParameters(), equalTo(model.GetParameters()))
    Assert.That(Checkpoint.Load(checkpoint).Kind, equalTo ModelFiles.MlpKind)

[<Test>]
let ``own_model_torchscript loads TorchScript and a state_dict, both through the layer rules, with the same kernel`` () =
    let r = run "own-model"
    if not (pythonHas "torch") then
        Assert.That(r.ExitCode, equalTo 0, r.Describe)
        Assert.That(r.After "SKIP: ", Has.Length.EqualTo 1, r.Describe)
        requirePython "torch"
    assertOk r
    Assert.That(r.Single "torchscript: ", Does.StartWith "nn.Sequential rebuilt natively", r.Describe)
    let routes = r.After "route "
    Assert.That(routes, Has.Length.EqualTo 6, r.Describe)
    for line in routes do Assert.That(line, Does.Contain " rule", r.Describe)
    Assert.That(r.Single "state_dict: ", Does.StartWith "loaded 6 tensors", r.Describe)
    let agreement = r.Single "kernel agreement (relative max difference): "
    Assert.That(agreement, Does.EndWith ": OK", r.Describe)
    let values = Entk.IO.Npy.ReadVector(Path.Combine(r.OutDir, "eigenvalues.npy"))
    Assert.That(values.Length, equalTo 10)
    for i in 1 .. values.Length - 1 do Assert.That(values.[i], Is.LessThanOrEqualTo values.[i - 1])

[<Test>]
let ``load_from_python says SKIP and exits 0 when Python cannot run`` () =
    let r = run "python-missing"
    assertOk r
    Assert.That(r.Single "SKIP: ", Does.StartWith "cannot start /nonexistent/python3", r.Describe)
    Assert.That(r.After "numpy check", Is.Empty, r.Describe)
    Assert.That(Directory.GetFiles(r.OutDir), Is.Empty, "nothing written")

[<Test>]
let ``reproduce_figure trains a paper model briefly, judges its claims and saves the figure`` () =
    let r = run "figure"
    assertOk r
    Assert.That(r.Single "config: ", equalTo "m10_S0.3 (n = 50, m = 10, S = 0.3, D = 500, 300 steps)", r.Describe)
    Assert.That(r.After "beta " |> Array.map (fun l -> l.Split(':').[0]), equalTo [| "0"; "1"; "0.3" |], r.Describe)
    for l in r.After "beta " do
        let top = l.Split([| "top eigenvalues "; ";" |], StringSplitOptions.None).[1].Split(", ") |> Array.map parse
        Assert.That(top.Length = 3 && isDescending top && top.[2] > 0.0, Is.True, l)
    let claims = r.After "claim "
    Assert.That(claims.Length, Is.GreaterThanOrEqualTo 4, r.Describe)
    Assert.That(claims |> Array.forall (fun c -> c.Contains "[Pass]" || c.Contains "[Fail]" || c.Contains "[Info]"), Is.True, r.Describe)
    Assert.That(claims |> Array.exists (fun c -> c.StartsWith "tms.n-cliff.m10_S0.3 "), Is.True, r.Describe)
    let png = Path.Combine(r.OutDir, "tms_m10_S0.3.png")
    let wrote = r.Single "wrote "
    Assert.That(wrote, Does.StartWith png, r.Describe)
    let size = wrote.Split('(').[1].Split(' ') |> fun p -> int p.[0], int p.[2]
    Assert.That(pngSize (File.ReadAllBytes png), equalTo size, "PNG size as printed")
    let csv = File.ReadAllLines(Path.Combine(r.OutDir, "tms_m10_S0.3.csv"))
    Assert.That(csv.[0], equalTo "panel,panel_title,kind,series,row,column,x,value,shown")
    Assert.That(csv.Length, Is.GreaterThan(80 + 2 * 50 * 80), "the CSV holds every plotted number")

[<Test>]
let ``interop hands matrices to TorchSharp and MathNet as copies, and both backends agree`` () =
    let r = run "interop"
    assertOk r
    let checks = r.Lines |> Array.filter (fun l -> l.EndsWith ": OK" || l.EndsWith ": FAILED")
    Assert.That(checks.Length, equalTo 7, r.Describe)
    Assert.That(checks |> Array.forall (fun l -> l.EndsWith ": OK"), Is.True, r.Describe)
    Assert.That(r.Single "tensor: ", equalTo "[|12L; 12L|] Float64", r.Describe)
    Assert.That(r.Single "from torch: ", Does.StartWith "Matrix [12, 5] features", r.Describe)
    Assert.That(r.Single "backend: ", Does.StartWith "Auto (managed for symmetric eigenproblems", r.Describe)
    Assert.That(r.Single "top 4 eigenvalues on ", Does.StartWith "Torch and Managed", r.Describe)
    // the .npy holds the kernel's 12 eigenvalues; the printed top one is its first, and this process computes the same
    let npy = Path.Combine(r.OutDir, "interop_eigenvalues.npy")
    Assert.That(r.Single "wrote ", equalTo npy, r.Describe)
    let saved = Npy.ReadVector npy
    Assert.That(saved.Length, equalTo 12)
    Assert.That(isDescending saved, Is.True)
    Assert.That(saved.[0], equalTo(parse ((r.Single "kernel: ").Split("top eigenvalue ").[1])), r.Describe)
    let net = Entk.Models.DenseNetwork.CreateRandom([| 3; 16; 4 |], Entk.Models.Activation.Tanh, seed = 7L)
    let x = Matrix.FromArray2D(Array2D.init 12 3 (fun i j -> sin (float (3 * i + j))))
    let here = SymmetricEigen.Eigenvalues(EmpiricalNtk.Compute(net, KernelReduction.TraceMean, x).Matrix)
    assertAllClose (1e-12 * saved.[0]) here saved

[<Test>]
let ``a script refuses to run against another build than ENTK_LIB_DIR names`` () =
    let r = run "wrong-lib"
    Assert.That(r.ExitCode, equalTo 2, r.Describe)
    Assert.That(r.Stderr, Does.Contain("ENTK_LIB_DIR is " + Path.GetTempPath()).And.Contain("--lib:"), r.Describe)
    Assert.That(r.After "model: ", Is.Empty, "stopped before any work\n" + r.Describe)

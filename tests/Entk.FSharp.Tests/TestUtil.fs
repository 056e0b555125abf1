namespace Entk.FSharp.Tests

open System
open System.IO
open NUnit.Framework
open TorchSharp
open Entk

/// Runs once before every fixture of the assembly.
[<SetUpFixture>]
type AssemblySetup() =
    /// The suite's tensors are tiny. On the 2-vCPU machines this project runs on, libtorch/oneMKL with 2
    /// OpenMP threads is 10-20x slower for such sizes as soon as another process competes for a core
    /// (`dotnet test Entk.sln` runs the test assemblies side by side), so the suite uses one thread
    /// unless OMP_NUM_THREADS says otherwise. Results are compared with tolerances, never bit for bit.
    [<OneTimeSetUp>]
    member _.Setup() =
        EntkRuntime.Configure() |> ignore
        if String.IsNullOrEmpty(Environment.GetEnvironmentVariable "OMP_NUM_THREADS") then
            torch.set_num_threads 1

/// Helpers shared by the test modules.
module TestUtil =

    /// Is.EqualTo through its obj overload: NUnit 4's generic overloads are ambiguous for F# arrays and
    /// sequences (FS0041); the obj overload compares collections element by element and supports .Within.
    let equalTo (expected: obj) : Constraints.EqualConstraint = Is.EqualTo(expected)

    let assertAllClose (tol: float) (actual: float[]) (expected: float[]) =
        Assert.That(actual.Length, Is.EqualTo expected.Length, "length")
        let worst = Array.map2 (fun a e -> abs (a - e)) actual expected |> Array.fold max 0.0
        Assert.That(worst, Is.LessThanOrEqualTo tol, sprintf "max |actual - expected| = %g > %g" worst tol)

    /// Relative closeness of two matrices: max |a - b| ≤ tol · max(1, max |b|).
    let assertMatrixClose (tol: float) (actual: Matrix) (expected: Matrix) =
        Assert.That((actual.Rows, actual.Columns), Is.EqualTo((expected.Rows, expected.Columns)), "shape")
        let scale = max 1.0 (expected.MaxAbs())
        let diff = actual.MaxAbsDifference expected
        Assert.That(diff, Is.LessThanOrEqualTo(tol * scale), sprintf "max |actual - expected| = %g (scale %g)" diff scale)

    let throws<'e when 'e :> exn and 'e: not struct> (f: unit -> unit) : 'e =
        match Assert.Throws<'e>(Action f) with
        | null -> failwith "no exception"
        | e -> e

    let randomMatrix rows cols (seed: int) =
        let rng = Random(seed)
        Array2D.init rows cols (fun _ _ -> 2.0 * rng.NextDouble() - 1.0) |> Matrix.FromArray2D

    let isDescending (values: seq<'T>) = values |> Seq.pairwise |> Seq.forall (fun (a, b) -> a >= b)

    /// A fresh temporary folder, deleted afterwards.
    let withTempDir (prefix: string) (f: string -> unit) =
        let dir = Path.Combine(Path.GetTempPath(), prefix + Guid.NewGuid().ToString "N")
        Directory.CreateDirectory dir |> ignore
        try f dir finally (try Directory.Delete(dir, true) with _ -> ())

    let pngSignature = [| 0x89uy; 0x50uy; 0x4Euy; 0x47uy; 0x0Duy; 0x0Auy; 0x1Auy; 0x0Auy |]
    let npySignature = [| 0x93uy; byte 'N'; byte 'U'; byte 'M'; byte 'P'; byte 'Y' |]
    let zipSignature = [| byte 'P'; byte 'K'; 3uy; 4uy |]

    let startsWith (signature: byte[]) (path: string) =
        File.Exists path && (File.ReadAllBytes path |> fun b -> b.Length >= signature.Length && b.[0 .. signature.Length - 1] = signature)

    /// Width and height from a PNG's IHDR chunk (asserting the signature first).
    let pngSize (bytes: byte[]) =
        Assert.That((bytes.[0..7] = pngSignature), Is.True, "PNG signature")
        let be (o: int) = (int bytes.[o] <<< 24) ||| (int bytes.[o + 1] <<< 16) ||| (int bytes.[o + 2] <<< 8) ||| int bytes.[o + 3]
        be 16, be 20

    /// The repository root (the folder holding Entk.sln), searched upwards from the test binaries.
    let repoRoot =
        lazy
            (let rec up (dir: DirectoryInfo | null) =
                match dir with
                | null -> failwithf "Entk.sln not found above %s" TestContext.CurrentContext.TestDirectory
                | d when File.Exists(Path.Combine(d.FullName, "Entk.sln")) -> d.FullName
                | d -> up d.Parent
             up (DirectoryInfo TestContext.CurrentContext.TestDirectory))

    /// Whether /usr/bin/python3 can import the given modules (e.g. "numpy").
    let pythonHas (modules: string) =
        File.Exists "/usr/bin/python3"
        && (try
                let psi = Diagnostics.ProcessStartInfo("/usr/bin/python3", [| "-c"; "import " + modules |],
                                                       RedirectStandardError = true, RedirectStandardOutput = true)
                use p = new Diagnostics.Process(StartInfo = psi)
                p.Start() && p.WaitForExit 60000 && p.ExitCode = 0
            with _ -> false)

    /// Ignores the test when Python lacks the modules, unless ENTK_REQUIRE_PYTHON=1 (CI), which fails it.
    let requirePython (modules: string) =
        if not (pythonHas modules) then
            let message = sprintf "/usr/bin/python3 cannot import %s" modules
            if Environment.GetEnvironmentVariable "ENTK_REQUIRE_PYTHON" = "1" then Assert.Fail(message + " and ENTK_REQUIRE_PYTHON=1")
            else Assert.Ignore message

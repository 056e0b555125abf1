// The preamble every example shares (loaded with `#load "common.fsx"`; not meant to be run on its own).
// It references the library, makes the explicit runtime set-up a program using Entk makes, checks that the library
// loaded is the one ENTK_LIB_DIR names (when set), and chooses the output folder:
//   - first script argument, else $ENTK_EXAMPLES_OUT, else a new folder under $TMPDIR.
// Two routes to the library (see examples/README.md):
//   - NuGet (the default): `#r "nuget: Entk.Paper"`, as a user's script references it. From packages built locally:
//       dotnet pack -c Release -o artifacts/packages
//       RestoreAdditionalProjectSources=$PWD/artifacts/packages dotnet fsi examples/<script>.fsx
//     usepackagetargets=true lets F# Interactive run the Entk package's build step, which applies the Debian 12 load fix
//     to TorchSharp's native shim in the NuGet package folder (fsi loads the natives from there).
//   - the repository's build folder: dotnet build src/Entk.Paper -c Release, then
//       dotnet fsi --define:ENTK_BUILD_FOLDER examples/<script>.fsx
//     another build of the library: ENTK_LIB_DIR=DIR dotnet fsi --define:ENTK_BUILD_FOLDER --lib:DIR examples/<script>.fsx
//     (fsi cannot read environment variables in #r, so the folder is passed with --lib and checked here; exit code 2 on
//     a mismatch). The F# tests (tests/Entk.FSharp.Tests/ExampleScriptTests.fs) run every example this way against
//     their own build; tests/Packaging/run.sh runs interop.fsx through the NuGet route against freshly packed packages.

#if ENTK_BUILD_FOLDER
#I "../src/Entk.Paper/bin/Release/net10.0/linux-x64"
#r "TorchSharp.dll"
#r "Entk.Core.dll"
#r "Entk.dll"
#r "Entk.Paper.dll"
#r "MathNet.Numerics.dll"
#else
#r "nuget: Entk.Paper, usepackagetargets=true"
#endif

open System
open System.Diagnostics
open System.Globalization
open System.IO
open Entk

/// Started when the script starts; each example prints its run time at the end.
let clock = Stopwatch.StartNew()

/// The script's own arguments (without the script path).
let args = fsi.CommandLineArgs |> Array.skip 1

/// Shortest text that parses back to the same double (the F# tests compare printed values with files).
let r (v: float) = v.ToString("R", CultureInfo.InvariantCulture)

// ---- where the library came from
let libraryDll = typeof<Entk.Kernels.EmpiricalNtk>.Assembly.Location
printfn "entk library: %s (version %s)" libraryDll EntkInfo.Version
match Environment.GetEnvironmentVariable "ENTK_LIB_DIR" with
| null | "" -> ()
| dir when Path.GetFullPath(dir).TrimEnd('/') <> Path.GetDirectoryName libraryDll ->
    let script = fsi.CommandLineArgs |> Array.tryHead |> Option.defaultValue "examples/<script>.fsx"
    eprintfn "ENTK_LIB_DIR is %s but Entk.dll was loaded from %s; run: dotnet fsi --define:ENTK_BUILD_FOLDER --lib:%s %s" dir libraryDll dir script
    exit 2
| _ -> ()

// ---- the explicit process-wide set-up (allocator tuning, oneMKL reproducibility, thread policy); see the README
EntkRuntime.Configure() |> ignore

/// The output folder (created if missing): the first script argument, else $ENTK_EXAMPLES_OUT, else a new temporary
/// folder named after the example.
let outputFolder (example: string) =
    let dir =
        match args |> Array.tryItem 0, Environment.GetEnvironmentVariable "ENTK_EXAMPLES_OUT" with
        | Some dir, _ -> dir
        | None, (null | "") -> Path.Combine(Path.GetTempPath(), "entk-example-" + example + "-" + Guid.NewGuid().ToString "N")
        | None, dir -> dir
    Directory.CreateDirectory dir |> ignore
    printfn "output folder: %s" (Path.GetFullPath dir)
    dir

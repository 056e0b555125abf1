module Entk.FSharp.Tests.PlottingTests

open System
open System.IO
open NUnit.Framework
open Entk
open Entk.Plotting

let private pngSize (bytes: byte[]) =
    Assert.That((bytes.[0..7] = [| 0x89uy; 0x50uy; 0x4Euy; 0x47uy; 0x0Duy; 0x0Auy; 0x1Auy; 0x0Auy |]), Is.True, "PNG signature")
    let be (o: int) = (int bytes.[o] <<< 24) ||| (int bytes.[o + 1] <<< 16) ||| (int bytes.[o + 2] <<< 8) ||| int bytes.[o + 3]
    be 16, be 20

let private withTempDir (f: string -> unit) =
    let dir = Path.Combine(Path.GetTempPath(), "entk-fs-plot-" + Guid.NewGuid().ToString "N")
    Directory.CreateDirectory dir |> ignore
    try f dir finally Directory.Delete(dir, true)

[<Test>]
let ``spectrum plot is a one-liner from F#`` () =
    withTempDir (fun dir ->
        let values = Array.init 40 (fun i -> exp (-0.3 * float i))
        let path = Path.Combine(dir, "spectrum.png")
        Figures.Spectrum("title", [| values |], logY = true).Save(path)
        Assert.That(pngSize (File.ReadAllBytes path), Is.EqualTo((Panel.DefaultWidth, Panel.DefaultHeight)))
        Assert.Throws<OutputExistsException>(Action(fun () -> Figures.Spectrum("again", [| values |]).Save(path))) |> ignore)

[<Test>]
let ``grid of mixed panels with optional arguments from F#`` () =
    let values = Array.init 20 (fun i -> 1.0 / float (i + 1))
    let spectrum = Figures.Spectrum("spectra", [| values; Array.map (fun v -> v * v) values |], logY = true,
                                    names = [| "epoch 0"; "epoch 60" |], cliffsAfter = [| 4 |])
    let heat = Figures.Heatmap("overlaps", Matrix.FromArray2D(Array2D.init 5 4 (fun r c -> float (r - c))),
                               vmin = -4.0, vmax = 4.0, yTickLabels = [| for k in 1 .. 5 -> sprintf "a k=%d" k |])
    let epochs = [| 0.0 .. 10.0 |]
    let lines = Figures.Lines("accuracy", epochs, [| epochs |> Array.map (fun e -> e / 10.0) |], [| "train" |],
                              xLabel = "epoch", guides = [| GuideLine(5.0, "grok") |])
    let grid = Figures.Grid(1, 4, [| spectrum; heat; lines; null |], "mixed", panelWidth = 300, panelHeight = 250)
    Assert.That(pngSize (grid.Render()), Is.EqualTo((1200, 250 + grid.TitleBandHeight)))
    Assert.That(heat.VMin, Is.EqualTo -4.0)
    Assert.That(grid.ToCsv().Split('\n').[0], Is.EqualTo "panel,panel_title,kind,series,row,column,x,value,shown")

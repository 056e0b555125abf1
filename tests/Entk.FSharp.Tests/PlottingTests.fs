module Entk.FSharp.Tests.PlottingTests

open System
open System.IO
open NUnit.Framework
open Entk
open Entk.Plotting
open Entk.FSharp.Tests.TestUtil

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

[<Test>]
let ``line panels with Series.Of, a right axis and guides; sizes, CSV and blank grid cells`` () =
    withTempDir (fun dir ->
        let epochs = [| 0.0; 10.0; 20.0; 30.0 |]
        let acc = Series.Of("test accuracy", epochs, [| 0.0; 0.1; 0.8; 1.0 |])
        let byIndex = Series.Of("loss", [| 1.0; 0.5; 0.2 |])
        Assert.That((acc.Name, acc.Count, byIndex.X |> List.ofSeq), equalTo(("test accuracy", 4, [ 0.0; 1.0; 2.0 ])))
        let panel = Figures.Lines("grokking", [| acc |], xLabel = "epoch", yLabel = "accuracy",
                                  guides = [| GuideLine(20.0, "jump"); GuideLine.After 1 |],
                                  rightSeries = [| Series.Of("d overlap", epochs, [| 0.0; 1.0; 3.0; 0.5 |]) |], rightYLabel = "derivative",
                                  legend = LegendLocation.UpperLeft, width = 320, height = 240)
        Assert.That((panel.Series.Count, panel.RightSeries.Count, panel.RightYLabel, panel.Legend), equalTo((1, 1, "derivative", LegendLocation.UpperLeft)))
        Assert.That(panel.Guides |> Seq.map (fun g -> g.X, g.Label) |> List.ofSeq, equalTo [ (20.0, "jump"); (1.5, "") ])
        Assert.That(pngSize (panel.Render()), equalTo((320, 240)))
        let bigger = panel.WithSize(400, 300)
        Assert.That((bigger.Width, bigger.Height, panel.Width), equalTo((400, 300, 320)), "WithSize copies")
        let csvPath = Path.Combine(dir, "lines.csv")
        panel.SaveCsv csvPath
        let rows = File.ReadAllLines csvPath
        Assert.That(rows.[0], equalTo "panel,panel_title,kind,series,row,column,x,value,shown")
        Assert.That(rows |> Array.filter (fun r -> r.Contains "test accuracy") |> Array.length, equalTo 4)
        // log spectra skip non-positive values instead of failing
        let log = Figures.Spectrum("with zeros", [| [| 1.0; 0.1; 0.0; -1e-17 |] |], logY = true)
        Assert.That((log.SkippedCount, log.LogY), equalTo((2, true)))
        // heatmaps: colour ranges, shared scales and tick labels
        let h1 = Figures.Heatmap("a", Matrix.FromArray2D(array2D [ [ 0.0; 1.0 ]; [ 2.0; 3.0 ] ]), origin = HeatmapOrigin.Upper, colorbarLabel = "|cos|")
        let h2 = Figures.Heatmap("b", Matrix.FromArray2D(array2D [ [ -1.0; 0.5 ] ]), xTickLabels = [| "u"; "v" |])
        Assert.That((h1.VMin, h1.VMax, h1.Origin, h1.ColorbarLabel, h2.XTickLabels.Count), equalTo((0.0, 3.0, HeatmapOrigin.Upper, "|cos|", 2)))
        let recoloured = h1.WithColorRange(-5.0, 5.0)
        Assert.That((recoloured.VMin, recoloured.VMax, h1.VMin), equalTo((-5.0, 5.0, 0.0)))
        let grid = Figures.Grid(2, 2, [| h1; h2; null; panel |], "shared", sharedColorScale = true)
        Assert.That(grid.PanelAt(1, 0), Is.Null)
        let shared = grid.Panels |> Seq.choose (function :? HeatmapPanel as h -> Some(h.VMin, h.VMax) | _ -> None) |> List.ofSeq
        Assert.That(shared, equalTo [ (-1.0, 3.0); (-1.0, 3.0) ])
        let png = Path.Combine(dir, "grid.png")
        grid.Save png
        Assert.That(pngSize (File.ReadAllBytes png), equalTo((2 * Figures.DefaultPanelWidth, 2 * Figures.DefaultPanelHeight + grid.TitleBandHeight)))
        grid.Save(png, overwrite = true)
        // invalid input is refused before anything is drawn
        Assert.That((throws<ShapeMismatchException> (fun () -> Figures.Grid(1, 2, [| h1 |]) |> ignore)).ParamName, equalTo "panels")
        throws<NonFiniteValueException> (fun () -> Figures.Spectrum("x", [| [| 1.0; nan |] |]) |> ignore) |> ignore
        throws<EntkArgumentException> (fun () -> h1.WithColorRange(1.0, 1.0) |> ignore) |> ignore
        throws<ShapeMismatchException> (fun () -> Series.Of("x", [| 1.0 |], [| 1.0; 2.0 |]) |> ignore) |> ignore)

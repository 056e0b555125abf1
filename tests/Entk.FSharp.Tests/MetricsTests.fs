/// Metrics from F#: Fourier families, phase-insensitive correlation, subspace overlap, principal angles,
/// torus Laplacians, cliff rotations, atom assignment, TMS heatmaps, linear assignment, derivatives.
module Entk.FSharp.Tests.MetricsTests

open System
open NUnit.Framework
open Entk
open Entk.Metrics
open Entk.FSharp.Tests.TestUtil

let private p = 7
let private twoPi = 2.0 * Math.PI

/// Columns as a matrix.
let private ofColumns (columns: float[] list) =
    let cols = Array.ofList columns
    Matrix.FromArray2D(Array2D.init cols.[0].Length cols.Length (fun r c -> cols.[c].[r]))

/// A rotation of the columns by a random orthogonal k × k matrix (from the eigenvectors of a random symmetric matrix).
let private mix (m: Matrix) (seed: int) =
    let r = randomMatrix m.Columns m.Columns seed
    let q = Linalg.SymmetricEigen.Decompose(r + r.Transpose()).Vectors
    m.Multiply q

[<Test>]
let ``Fourier families: names, shapes, labels and the exact cos/sin values`` () =
    Assert.That(FourierFamilies.Names, equalTo [| "n"; "m"; "sum"; "diff"; "2n"; "2m"; "axis_sum"; "axis_diff" |])
    Assert.That(FourierFamilies.Standard p |> Seq.map (fun f -> f.Name), equalTo FourierFamilies.Names)
    let angle (a: int) (b: int) k = fun i -> twoPi * float k * float (a * (i / p) + b * (i % p)) / float p
    let expectedCos name k =
        let f a b = Array.init (p * p) (fun i -> cos (angle a b k i))
        match name with
        | "n" | "a" -> f 1 0 | "m" | "b" -> f 0 1 | "sum" -> f 1 1 | "diff" -> f 1 -1 | "2n" -> f 2 0 | "2m" -> f 0 2
        | "axis_sum" -> Array.map2 (+) (f 1 0) (f 0 1)
        | "axis_diff" -> Array.map2 (-) (f 1 0) (f 0 1)
        | other -> failwith other
    for name in Seq.append FourierFamilies.Names [ "a"; "b" ] do
        let family = FourierFamilies.Create(name, p)
        Assert.That((family.Name, family.Modulus, family.InputCount, family.MaxFrequency, family.FrequencyCount, family.ColumnCount),
                    equalTo((name, p, 49, 3, 3, 6)))
        Assert.That(family.Frequencies, equalTo [| 1; 2; 3 |])
        Assert.That(family.Labels, equalTo [| for k in 1 .. 3 -> sprintf "%s k=%d" name k |])
        for k in 1 .. 3 do
            assertAllClose 1e-12 (family.Cosine k) (expectedCos name k)
        let m = family.ToMatrix()
        Assert.That((m.Rows, m.Columns), equalTo((49, 6)))
        assertAllClose 0.0 (m.Column 4) (family.Cosine 3)
        assertAllClose 0.0 (m.Column 5) (family.Sine 3)
        assertMatrixClose 0.0 (family.FrequencyPair 2) (m.SliceColumns(2, 2))
    let sum = FourierFamilies.Create("sum", p)
    assertAllClose 1e-12 (sum.Sine 2) (Array.init 49 (fun i -> sin (angle 1 1 2 i)))
    let reordered = sum.WithFrequencies [| 3; 1 |]
    Assert.That((reordered.Frequencies |> List.ofSeq, reordered.Label 3, string reordered), equalTo(([ 3; 1 ], "sum k=3", "FourierFamily sum (p = 7, K = 2)")))
    assertAllClose 0.0 ((reordered.ToMatrix()).Column 0) (sum.Cosine 3)
    Assert.That((throws<EntkArgumentException> (fun () -> FourierFamilies.Create("prod", p) |> ignore)).Message, Does.Contain "axis_diff")
    throws<EntkArgumentException> (fun () -> sum.Cosine 4 |> ignore) |> ignore
    throws<EntkArgumentException> (fun () -> sum.WithFrequencies [| 1; 1 |] |> ignore) |> ignore

[<Test>]
let ``phase-insensitive correlation is 1 for any phase at the right frequency and 0 elsewhere`` () =
    let diff = FourierFamilies.Create("diff", p)
    let sum = FourierFamilies.Create("sum", p)
    // vectors: cos(θ + 0.7) at diff k=2, and sin(θ) of sum k=1
    let shifted = Array.map2 (fun c s -> c * cos 0.7 - s * sin 0.7) (diff.Cosine 2) (diff.Sine 2)
    let vectors = ofColumns [ shifted; sum.Sine 1 ]
    let h = PhaseInsensitiveCorrelation.Compute(vectors, diff)
    Assert.That((h.Rows, h.Columns), equalTo((3, 2)))
    assertAllClose 1e-12 (h.Column 0) [| 0.0; 1.0; 0.0 |]
    assertAllClose 1e-12 (h.Column 1) [| 0.0; 0.0; 0.0 |]
    let stacked = PhaseInsensitiveCorrelation.Stacked(vectors, diff, sum)
    Assert.That((stacked.RowCount, stacked.ColumnCount), equalTo((6, 2)))
    Assert.That(stacked.RowLabels, equalTo [| "diff k=1"; "diff k=2"; "diff k=3"; "sum k=1"; "sum k=2"; "sum k=3" |])
    Assert.That(stacked.RowFamilies |> Seq.distinct, equalTo [| "diff"; "sum" |])
    Assert.That(stacked.RowFrequencies, equalTo [| 1; 2; 3; 1; 2; 3 |])
    Assert.That((stacked.RowIndex("sum", 1), stacked.RowIndex("n", 1)), equalTo((3, -1)))
    Assert.That(stacked.Values.[3, 1], Is.EqualTo(1.0).Within(1e-12))
    let all = PhaseInsensitiveCorrelation.Heatmap(vectors, FourierFamilies.Standard p)
    Assert.That(all.RowCount, equalTo (8 * 3))
    Assert.That(all.Values.[all.RowIndex("diff", 2), 0], Is.EqualTo(1.0).Within(1e-12))
    Assert.That((throws<ShapeMismatchException> (fun () -> PhaseInsensitiveCorrelation.Compute(Matrix.Zeros(48, 1), diff) |> ignore)).ParamName, equalTo "vectors")

[<Test>]
let ``subspace overlaps and principal angles measure how much two spans share`` () =
    let n = FourierFamilies.Create("n", p)
    let m = FourierFamilies.Create("m", p)
    // a mixed basis of the whole n family (6 columns) plus one m direction
    let cliff = mix (ofColumns [ for k in 1 .. 3 do yield n.Cosine k; yield n.Sine k ]) 4
    let own = SubspaceOverlap.Compute(cliff, n)
    Assert.That((own.Dimension, own.FamilyDimension, own.MaxOverlap), equalTo((6, 6, 6)))
    Assert.That(own.Overlap, Is.EqualTo(6.0).Within(1e-10))
    Assert.That((own.Fraction, own.SingularValues.Count), equalTo((own.Overlap / 6.0, 6)))
    Assert.That((SubspaceOverlap.Compute(cliff, m)).Overlap, Is.EqualTo(0.0).Within(1e-10))
    Assert.That((SubspaceOverlap.Compute(cliff, n, [| 2 |])).Overlap, Is.EqualTo(2.0).Within(1e-10))
    let ranking = SubspaceOverlap.PerFrequency(ofColumns [ n.Cosine 3; n.Sine 3; n.Cosine 1 ], n)
    Assert.That(ranking.Family.Name, equalTo "n")
    Assert.That(ranking.Family.Kind, equalTo FourierFamilyKind.N)
    Assert.That(ranking.ByFrequency |> Seq.map (fun f -> f.Frequency), equalTo [| 1; 2; 3 |])
    Assert.That(ranking.Ranked |> Seq.map (fun f -> f.Label), equalTo [| "n k=3"; "n k=1"; "n k=2" |])
    assertAllClose 1e-10 [| ranking.ScoreOf 3; ranking.ScoreOf 1; ranking.ScoreOf 2 |] [| 2.0; 1.0; 0.0 |]
    // Between / PrincipalAngles on a plane in R^3 and a line at angle θ to it
    let theta = 0.3
    let plane = ofColumns [ [| 1.0; 0.0; 0.0 |]; [| 0.0; 1.0; 0.0 |] ]
    let line = ofColumns [ [| cos theta; 0.0; sin theta |] ]
    assertAllClose 1e-15 (PrincipalAngles.Compute(plane, line)) [| theta |]
    assertAllClose 1e-15 (PrincipalAngles.Compute(line, plane)) [| theta |]
    let between = SubspaceOverlap.Between(line, plane)
    Assert.That((between.Dimension, between.FamilyDimension), equalTo((1, 2)))
    Assert.That(between.Overlap, Is.EqualTo(cos theta ** 2.0).Within(1e-14))
    assertAllClose 1e-15 (PrincipalAngles.Compute(plane, mix plane 3)) [| 0.0; 0.0 |]
    assertAllClose 1e-15 (PrincipalAngles.Compute(plane, ofColumns [ [| 0.0; 0.0; 1.0 |] ])) [| Math.PI / 2.0 |]
    Assert.That((throws<EntkArgumentException> (fun () -> SubspaceOverlap.Between(ofColumns [ [| 1.0; 0.0 |]; [| 2.0; 0.0 |] ], plane.SliceRows(0, 2)) |> ignore)).Message,
                Does.Contain "independent")

[<Test>]
let ``torus Laplacians: matrix-free application, spectra and the modes each one leaves alone`` () =
    let n, m, sum, diff = (FourierFamilies.Create("n", p), FourierFamilies.Create("m", p), FourierFamilies.Create("sum", p), FourierFamilies.Create("diff", p))
    for kind in Enum.GetValues<TorusLaplacianKind>() do
        let l = TorusLaplacian.Create(kind, p)
        Assert.That((l.Kind, l.Modulus, l.Dimension), equalTo((kind, p, 49)))
        let dense = l.ToDense()
        let v = randomMatrix 49 3 (int kind)
        assertMatrixClose 1e-13 (l.Apply v) (dense.Multiply v)
        // eigenvalues 2 − 2cos(2πk/p), each p times, k = 0..p−1
        let expected = [| for k in 0 .. p - 1 do for _ in 1 .. p -> 2.0 - 2.0 * cos (twoPi * float k / float p) |] |> Array.sortDescending
        assertAllClose 1e-12 (Linalg.SymmetricEigen.Eigenvalues dense) expected
    let energy kind (v: float[]) = (TorusLaplacian.Create(kind, p)).RayleighQuotient v
    Assert.That(energy TorusLaplacianKind.N (m.Cosine 2), Is.EqualTo(0.0).Within(1e-13), "L_n ignores m-modes")
    Assert.That(energy TorusLaplacianKind.M (n.Sine 1), Is.EqualTo(0.0).Within(1e-13), "L_m ignores n-modes")
    Assert.That(energy TorusLaplacianKind.Sum (diff.Cosine 3), Is.EqualTo(0.0).Within(1e-13), "L_sum ignores functions of n − m")
    Assert.That(energy TorusLaplacianKind.Diff (sum.Sine 2), Is.EqualTo(0.0).Within(1e-13), "L_diff ignores functions of n + m")
    Assert.That(energy TorusLaplacianKind.N (n.Cosine 1), Is.EqualTo(2.0 - 2.0 * cos (twoPi / float p)).Within(1e-13))
    throws<EntkArgumentException> (fun () -> TorusLaplacian.Create(TorusLaplacianKind.N, 2) |> ignore) |> ignore

[<Test>]
let ``cliff rotations separate mixed Fourier modes: two-stage and single-stage`` () =
    let n, m = FourierFamilies.Create("n", p), FourierFamilies.Create("m", p)
    let cliff = mix (ofColumns [ n.Cosine 1; n.Sine 1; m.Cosine 2; m.Sine 2 ]) 8
    let before = PhaseInsensitiveCorrelation.Stacked(cliff, m, n)
    Assert.That(before.Values.Span.ToArray() |> Array.filter (fun v -> v > 0.999) |> Array.length, Is.LessThan 4, "mixed before")
    let r = CliffRotation.TwoStage(cliff, TorusLaplacian.Create(TorusLaplacianKind.N, p), TorusLaplacian.Create(TorusLaplacianKind.M, p))
    Assert.That((r.Count, r.Stage1Kind, r.Stage2Kind), equalTo((4, TorusLaplacianKind.N, Nullable TorusLaplacianKind.M)))
    Assert.That((r.Stage1Energies.Count, r.Stage2Energies.Count), equalTo((4, 2)))
    assertAllClose 1e-12 (Seq.toArray r.Stage1Energies) [| 0.0; 0.0; 2.0 - 2.0 * cos (twoPi / 7.0); 2.0 - 2.0 * cos (twoPi / 7.0) |]
    assertAllClose 1e-12 (Seq.toArray r.Stage2Energies) [| 2.0 - 2.0 * cos (2.0 * twoPi / 7.0); 2.0 - 2.0 * cos (2.0 * twoPi / 7.0) |]
    assertMatrixClose 1e-12 (r.Rotated.Transpose().Multiply r.Rotated) (Matrix.Identity 4)
    // after: columns 0, 1 are m-modes at k = 2, columns 2, 3 n-modes at k = 1
    let after = PhaseInsensitiveCorrelation.Stacked(r.Rotated, m, n)
    let summary = AtomAssignment.Summarize(after, 0.99)
    Assert.That(summary.BestLabel, equalTo [| "m k=2"; "m k=2"; "n k=1"; "n k=1" |])
    Assert.That((summary.AllColumnsAligned, summary.Coverage), equalTo((true, 2)))
    let single = CliffRotation.SingleStage(cliff, TorusLaplacian.Create(TorusLaplacianKind.M, p))
    Assert.That((single.Stage2Kind.HasValue, single.Stage2Energies.Count), equalTo((false, 0)))
    Assert.That(single.Stage1Energies.[0], Is.EqualTo(0.0).Within(1e-12), "n-modes first: no L_m energy")
    throws<EntkArgumentException> (fun () -> CliffRotation.TwoStage(cliff.SliceColumns(0, 3), TorusLaplacian.Create(TorusLaplacianKind.N, p), TorusLaplacian.Create(TorusLaplacianKind.M, p)) |> ignore)
    |> ignore

[<Test>]
let ``atom assignment summarises a heatmap by best rows, coverage and alignment`` () =
    let h = Matrix.FromArray2D(array2D [ [ 0.95; 0.10; 0.20; 0.50 ]
                                         [ 0.10; 0.92; 0.91; 0.60 ]
                                         [ 0.00; 0.30; 0.10; 0.10 ] ])
    let s = AtomAssignment.Summarize(h, 0.9, [| "a"; "b"; "c" |])
    Assert.That((s.Threshold, s.RowCount, s.ColumnCount), equalTo((0.9, 3, 4)))
    Assert.That(s.BestRow, equalTo [| 0; 1; 1; 1 |])
    assertAllClose 0.0 (Seq.toArray s.BestValue) [| 0.95; 0.92; 0.91; 0.60 |]
    Assert.That(s.BestLabel, equalTo [| "a"; "b"; "b"; "b" |])
    Assert.That(s.AtomsPerRow, equalTo [| 1; 2; 0 |])
    Assert.That((s.CoveredRows |> List.ofSeq, s.Coverage, s.AlignedCount, s.AlignedFraction), equalTo(([ 0; 1 ], 2, 3, 0.75)))
    Assert.That((s.AllRowsCovered, s.AllColumnsAligned), equalTo((false, false)))
    Assert.That((AtomAssignment.Summarize h).RowLabels, equalTo [| "row 0"; "row 1"; "row 2" |])
    Assert.That((AtomAssignment.Summarize(h, 0.5)).AllColumnsAligned, Is.True)
    Assert.That((throws<ShapeMismatchException> (fun () -> AtomAssignment.Summarize(h, rowLabels = [| "x" |]) |> ignore)).ParamName, equalTo "rowLabels")

[<Test>]
let ``TMS features: indicators, the heatmap of perfect eigenvectors, Gram diagonal and reconstructed count`` () =
    let x = Matrix.FromArray2D(Array2D.init 6 3 (fun s c -> 0.1 + float ((s * 3 + c) % 5)))
    let z = TmsFeatures.Indicators x
    Assert.That((z.Rows, z.Columns), equalTo((18, 3)))
    Assert.That(z.[1 * 6 + 4, 1], equalTo x.[4, 1])
    Assert.That(z.[1 * 6 + 4, 0], equalTo 0.0)
    // eigenvectors that are the normalised indicators (reordered 2, 0, 1) score perfectly
    let normalise (v: float[]) = let n = sqrt (Array.sumBy (fun a -> a * a) v) in Array.map (fun a -> a / n) v
    let e = ofColumns [ normalise (z.Column 2); normalise (z.Column 0); normalise (z.Column 1) ]
    let h = TmsFeatures.Heatmap(x, e)
    Assert.That((h.FeatureCount, h.VectorCount), equalTo((3, 3)))
    Assert.That(h.BestFeature, equalTo [| 2; 0; 1 |])
    Assert.That((h.DiagonalCount, h.DiagonalFeatures.Count), equalTo((0, 0)))
    Assert.That(h.Mmcs, Is.EqualTo(1.0).Within(1e-9))
    Assert.That(h.MatchedScore, Is.EqualTo(1.0).Within(1e-9))
    Assert.That(h.Assignment.ColumnToRow, equalTo [| 2; 0; 1 |])
    assertMatrixClose 1e-9 h.Normalized h.Cosines
    let ordered = TmsFeatures.Heatmap(x, ofColumns [ for c in 0 .. 2 -> normalise (z.Column c) ])
    Assert.That(ordered.DiagonalFeatures, equalTo [| 0; 1; 2 |])
    let w = Matrix.FromArray2D(array2D [ [ 1.0; 0.5; 0.0 ]; [ 0.0; 0.5; 0.8 ] ])
    assertAllClose 1e-15 (TmsFeatures.GramDiagonal w) [| 1.0; 0.5; 0.64 |]
    Assert.That((TmsFeatures.ReconstructedCount w, TmsFeatures.ReconstructedCount(w, threshold = 0.6)), equalTo((1, 2)))

[<Test>]
let ``linear assignment is optimal (checked against every permutation) for square and rectangular matrices`` () =
    let rec permutations = function
        | [] -> [ [] ]
        | xs -> [ for x in xs do for rest in permutations (List.filter ((<>) x) xs) -> x :: rest ]
    let m = randomMatrix 5 5 17
    let best = permutations [ 0 .. 4 ] |> List.map (fun perm -> perm |> List.mapi (fun r c -> m.[r, c]) |> List.sum)
    let maxi, mini = LinearAssignment.Maximize m, LinearAssignment.Minimize m
    Assert.That(maxi.Total, Is.EqualTo(List.max best).Within(1e-12))
    Assert.That(mini.Total, Is.EqualTo(List.min best).Within(1e-12))
    Assert.That((maxi.PairCount, maxi.Mean), equalTo((5, maxi.Total / 5.0)))
    Assert.That(maxi.RowToColumn |> Seq.sort, equalTo [| 0 .. 4 |])
    Assert.That(Seq.init 5 (fun r -> m.[r, maxi.RowToColumn.[r]]) |> Seq.sum, Is.EqualTo(maxi.Total).Within(1e-12))
    // 3 rows, 5 columns: every row matched, two columns left over (−1)
    let wide = randomMatrix 3 5 18
    let a = LinearAssignment.Maximize wide
    Assert.That(a.PairCount, equalTo 3)
    Assert.That(a.ColumnToRow |> Seq.filter (fun r -> r = -1) |> Seq.length, equalTo 2)
    let bestWide =
        [ for c0 in 0 .. 4 do
              for c1 in 0 .. 4 do
                  for c2 in 0 .. 4 do
                      if c0 <> c1 && c1 <> c2 && c0 <> c2 then yield wide.[0, c0] + wide.[1, c1] + wide.[2, c2] ]
        |> List.max
    Assert.That(a.Total, Is.EqualTo(bestWide).Within(1e-12))
    let tall = LinearAssignment.Minimize(wide.Transpose())
    Assert.That(tall.RowToColumn |> Seq.filter (fun c -> c = -1) |> Seq.length, equalTo 2)

[<Test>]
let ``finite-difference derivatives are exact for quadratics where the scheme says so`` () =
    let f t = 3.0 * t * t - 2.0 * t + 1.0
    let f' t = 6.0 * t - 2.0
    let uniform = [| 0.0 .. 10.0 .. 50.0 |]
    let d = GrokkingCurves.Derivative(uniform, uniform |> Array.map f)
    assertAllClose 1e-9 d.[1..4] (uniform.[1..4] |> Array.map f')
    Assert.That(d.[0], Is.EqualTo((f 10.0 - f 0.0) / 10.0).Within(1e-12), "forward difference at the start")
    Assert.That(d.[5], Is.EqualTo((f 50.0 - f 40.0) / 10.0).Within(1e-12), "backward difference at the end")
    let uneven = [| 0.0; 1.0; 4.0; 5.0; 9.0 |]
    let second = GrokkingCurves.Derivative(uneven, uneven |> Array.map f, FiniteDifferenceScheme.SecondOrder)
    assertAllClose 1e-9 second.[1..3] (uneven.[1..3] |> Array.map f')
    let secant = GrokkingCurves.Derivative(uneven, uneven |> Array.map f)
    Assert.That(secant.[2], Is.EqualTo(f' 3.0).Within(1e-9), "the secant slope is f' at the stencil midpoint (1 + 5) / 2")
    Assert.That(GrokkingCurves.Derivative([| 0.0; 10.0; 20.0 |], [| 1.0; 4.0; 9.0 |]), equalTo [| 0.3; 0.4; 0.5 |])
    throws<EntkArgumentException> (fun () -> GrokkingCurves.Derivative([| 0.0; 0.0 |], [| 1.0; 2.0 |]) |> ignore) |> ignore
    throws<ShapeMismatchException> (fun () -> GrokkingCurves.Derivative([| 0.0; 1.0 |], [| 1.0 |]) |> ignore) |> ignore

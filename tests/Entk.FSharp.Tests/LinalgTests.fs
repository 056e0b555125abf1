/// Eigendecompositions, ridge policies and the cliff rule from F#.
module Entk.FSharp.Tests.LinalgTests

open System
open NUnit.Framework
open Entk
open Entk.Linalg
open Entk.FSharp.Tests.TestUtil

/// A symmetric matrix with known eigenvalues: Q diag(values) Qᵀ, Q from a QR of a random matrix.
let private withEigenvalues (values: float[]) (seed: int) =
    let n = values.Length
    let a = randomMatrix n n seed
    // Gram-Schmidt in F# (small n)
    let cols = Array.init n (fun j -> a.Column j)
    let q = Array.zeroCreate<float[]> n
    for j in 0 .. n - 1 do
        let mutable v = Array.copy cols.[j]
        for i in 0 .. j - 1 do
            let d = Array.fold2 (fun s x y -> s + x * y) 0.0 v q.[i]
            v <- Array.map2 (fun x y -> x - d * y) v q.[i]
        let norm = sqrt (Array.sumBy (fun x -> x * x) v)
        q.[j] <- Array.map (fun x -> x / norm) v
    Array2D.init n n (fun r c -> Seq.sum (seq { for k in 0 .. n - 1 -> q.[k].[r] * values.[k] * q.[k].[c] })) |> Matrix.FromArray2D

[<Test>]
let ``Decompose returns descending eigenvalues and orthonormal eigenvectors that reconstruct the matrix`` () =
    let values = [| 5.0; 3.0; 3.0; 1.0; 0.5; -2.0 |]
    let a = withEigenvalues values 3
    let eig = SymmetricEigen.Decompose a
    Assert.That((eig.Count, eig.Dimension, eig.Route, eig.Shift), equalTo((6, 6, SpectrumRoute.Dense, 0.0)))
    Assert.That(eig.Residuals, Is.Null)
    assertAllClose 1e-12 (eig.ValuesArray()) values
    let v = eig.Vectors
    assertMatrixClose 1e-12 (v.Transpose().Multiply v) (Matrix.Identity 6)
    let lambda = Array2D.init 6 6 (fun i j -> if i = j then eig.Values.[i] else 0.0) |> Matrix.FromArray2D
    assertMatrixClose 1e-12 (v.Multiply(lambda).Multiply(v.Transpose())) a
    Assert.That(eig.Vector 2, equalTo (v.Column 2))
    // top-k is a prefix; Eigenvalues agrees without vectors
    let top = SymmetricEigen.Decompose(a, topK = 2)
    assertAllClose 1e-12 (top.ValuesArray()) values.[0..1]
    Assert.That((top.Vectors.Rows, top.Vectors.Columns), equalTo((6, 2)))
    assertAllClose 1e-12 (SymmetricEigen.Eigenvalues a) values

[<Test>]
let ``ridge policies shift every eigenvalue by the reported amount and leave the matrix alone`` () =
    let values = [| 4.0; 2.0; 1.0; 0.0 |]
    let a = withEigenvalues values 5
    let before = a.ToArray()
    let meanDiagonal = Array.sum values / 4.0
    for policy, shift in [ RidgePolicy.None, 0.0
                           RidgePolicy.Paper, 1e-8 * meanDiagonal
                           RidgePolicy.RelativeToMeanDiagonal 0.1, 0.1 * meanDiagonal
                           RidgePolicy.Absolute 0.25, 0.25 ] do
        let eig = SymmetricEigen.Decompose(a, ridge = policy)
        Assert.That(eig.Shift, Is.EqualTo(shift).Within(1e-14), string policy)
        assertAllClose 1e-12 (eig.ValuesArray()) (values |> Array.map ((+) shift))
        assertAllClose 1e-12 (SymmetricEigen.Eigenvalues(a, ridge = policy)) (values |> Array.map ((+) shift))
        Assert.That(policy.ShiftFor meanDiagonal, Is.EqualTo(shift).Within(1e-14))
    Assert.That(a.ToArray(), equalTo before, "the caller's matrix is never modified")
    Assert.That([ RidgePolicy.None; RidgePolicy.Paper; RidgePolicy.Absolute 2.0 ] |> List.map string, equalTo [ "none"; "relative(1E-08)"; "absolute(2)" ])
    Assert.That((RidgePolicy.Paper.Kind, RidgePolicy.Paper.Value), equalTo((RidgeKind.Relative, 1e-8)))
    throws<EntkArgumentException> (fun () -> RidgePolicy.Absolute -1.0 |> ignore) |> ignore
    throws<EntkArgumentException> (fun () -> RidgePolicy.RelativeToMeanDiagonal -1e-3 |> ignore) |> ignore

[<Test>]
let ``OfGram decomposes J Jt from the parameter side when P < R, densely otherwise`` () =
    // R = 12 > P = 4, rank 3 (column 3 = column 0 + column 1)
    let r = randomMatrix 12 3 9
    let tall = Matrix.FromArray2D(Array2D.init 12 4 (fun i j -> if j < 3 then r.[i, j] else r.[i, 0] + r.[i, 1]))
    let k = tall.Multiply(tall.Transpose())
    let g = SymmetricEigen.OfGram(tall, 4)
    Assert.That(g.Route, equalTo SpectrumRoute.ParameterSideGram)
    let dense = SymmetricEigen.Decompose(k, topK = 6)
    assertAllClose 1e-11 (g.ValuesArray()) (dense.ValuesArray().[0..3])
    Assert.That(abs g.Values.[3], Is.LessThan 1e-10, "rank 3: the fourth eigenvalue is null")
    // the null direction is completed to an orthonormal set
    assertMatrixClose 1e-10 (g.Vectors.Transpose().Multiply g.Vectors) (Matrix.Identity 4)
    for i in 0 .. 2 do
        let v = g.Vectors.SliceColumns(i, 1)
        assertMatrixClose 1e-10 (k.Multiply v) (g.Values.[i] * v)
    // more pairs than parameters: the dense route
    let six = SymmetricEigen.OfGram(tall, 6)
    Assert.That(six.Route, equalTo SpectrumRoute.Dense)
    assertAllClose 1e-11 (six.ValuesArray()) (dense.ValuesArray())
    let wide = randomMatrix 4 9 10
    let w = SymmetricEigen.OfGram(wide, 4, ridge = RidgePolicy.Absolute 1.0)
    Assert.That((w.Route, w.Shift), equalTo((SpectrumRoute.Dense, 1.0)))
    assertAllClose 1e-11 (w.ValuesArray()) (SymmetricEigen.Eigenvalues(wide.Multiply(wide.Transpose())) |> Array.map ((+) 1.0))
    throws<EntkArgumentException> (fun () -> SymmetricEigen.OfGram(tall, 13) |> ignore) |> ignore

[<Test>]
let ``bad matrices are refused with typed exceptions`` () =
    let notSymmetric = Matrix.FromArray2D(array2D [ [ 1.0; 2.0 ]; [ 0.0; 1.0 ] ])
    Assert.That((throws<EntkArgumentException> (fun () -> SymmetricEigen.Decompose notSymmetric |> ignore)).Message, Does.Contain "symmetric")
    Assert.That((throws<ShapeMismatchException> (fun () -> SymmetricEigen.Decompose(Matrix.Zeros(2, 3)) |> ignore)).ParamName, equalTo "matrix")
    throws<NonFiniteValueException> (fun () -> SymmetricEigen.Eigenvalues(Matrix.FromArray2D(array2D [ [ nan ] ])) |> ignore) |> ignore
    Assert.That((throws<EntkArgumentException> (fun () -> SymmetricEigen.Decompose(Matrix.Identity 3, topK = 4) |> ignore)).ParamName, equalTo "topK")

[<Test>]
let ``the cliff rule finds plateaus before sharp drops, with ratios and prominences`` () =
    // three plateaus (slowly decaying) separated by drops of x10 and x20
    let spectrum = [ for i in 0 .. 4 -> 100.0 * 0.99 ** float i ] @ [ for i in 0 .. 5 -> 9.0 * 0.99 ** float i ] @ [ for i in 0 .. 9 -> 0.4 * 0.99 ** float i ]
    let report = CliffDetector.Detect spectrum
    Assert.That(report.DropIndices, equalTo [| 4; 10 |])
    Assert.That(report.Cliffs |> Seq.map (fun c -> c.Start, c.End, c.Size), equalTo [ (0, 4, 5); (5, 10, 6) ])
    Assert.That(report.Drops.[0].Ratio, Is.EqualTo(spectrum.[4] / spectrum.[5]).Within(1e-12))
    Assert.That(report.Cliffs.[1].DropRatio, Is.EqualTo(spectrum.[10] / spectrum.[11]).Within(1e-12))
    Assert.That(report.Drops |> Seq.forall (fun d -> d.Prominence >= 4.0), Is.True)
    Assert.That(string report, Does.StartWith "[0..4] (size 5")
    // stricter options: only the larger drop, as a record built with named setters
    let strict = CliffOptions(MinRatio = 15.0, Window = 5)
    Assert.That((CliffDetector.Detect(spectrum, strict)).DropIndices, equalTo [| 10 |])
    Assert.That((strict.MinProminence, strict.ZeroTolerance), equalTo((4.0, 1e-12)), "unset members keep their defaults")
    // a drop onto numerical zero always counts, with ratio ∞
    let zero = CliffDetector.Detect [ 3.0; 2.9; 2.8; 0.0; 0.0 ]
    Assert.That(zero.DropIndices, equalTo [| 2 |])
    Assert.That(Double.IsPositiveInfinity zero.Drops.[0].Ratio, Is.True)
    // a flat spectrum has no cliffs; ascending input is refused
    Assert.That(string (CliffDetector.Detect [ 1.0; 1.0; 1.0 ]), equalTo "no cliffs")
    Assert.That((throws<EntkArgumentException> (fun () -> CliffDetector.Detect [ 1.0; 2.0 ] |> ignore)).Message, Does.Contain "descending")
    throws<EntkArgumentException> (fun () -> CliffDetector.Detect([ 2.0; 1.0 ], CliffOptions(MinRatio = 0.5)) |> ignore) |> ignore

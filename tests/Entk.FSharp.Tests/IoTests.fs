/// Data exchange from F#: NdArray, .npy, .npz, checkpoints and model files (including corruption),
/// JSON, atomic writes, and torch state_dicts written by Python.
module Entk.FSharp.Tests.IoTests

open System
open System.Collections.Generic
open System.Diagnostics
open System.IO
open System.Text
open NUnit.Framework
open Entk
open Entk.IO
open Entk.Models
open Entk.FSharp.Tests.TestUtil

[<Test>]
let ``every element type round-trips through .npy files and streams with numpy's header`` () =
    withTempDir "entk-fs-npy-" (fun dir ->
        let arrays =
            [ NdArray.FromDoubles([| 1.0 .. 6.0 |], 2, 3)
              NdArray.FromSingles([| 0.5f; -1.5f |], 2)
              NdArray.FromInt64s([| -5L; 0L; 5L; Int64.MaxValue |], 2, 1, 2)
              NdArray.FromInt32s([| 7; 8; 9 |], 3)
              NdArray.FromBools([| true; false; true; true |], 2, 2)
              NdArray.FromBytes([| 0uy; 255uy |], 2)
              NdArray.Scalar 3.25
              NdArray.FromVector [ 1.0; 2.0; 3.0 ]
              NdArray.FromMatrix(Matrix.FromArray2D(array2D [ [ 1.0; 2.0 ]; [ 3.0; 4.0 ] ])) ]
        arrays |> List.iteri (fun i a ->
            let path = Path.Combine(dir, sprintf "a%d.npy" i)
            Npy.Write(path, a)
            let bytes = File.ReadAllBytes path
            Assert.That(bytes.[0..5], equalTo npySignature, "magic")
            Assert.That((bytes.[6], bytes.[7]), equalTo((1uy, 0uy)), "version 1.0")
            let headerLength = int bytes.[8] + 256 * int bytes.[9]
            Assert.That((10 + headerLength) % 64, equalTo 0, "data aligned to 64 bytes")
            Assert.That(Encoding.ASCII.GetString(bytes, 10, headerLength), Does.StartWith(sprintf "{'descr': '%s', 'fortran_order': False, 'shape': (" a.Descr))
            let back = Npy.Read path
            Assert.That(back.ContentEquals a, Is.True, string a)
            Assert.That((back.ElementType, back.Shape |> List.ofSeq, back.Rank, back.ElementCount, back.ItemSize),
                        equalTo((a.ElementType, List.ofSeq a.Shape, a.Rank, a.ElementCount, a.ItemSize)))
            use ms = new MemoryStream()
            Npy.Write(ms, a)
            ms.Position <- 0L
            Assert.That((Npy.Read(ms, "memory")).ContentEquals a, Is.True))
        Assert.That(arrays |> List.map (fun a -> a.Descr), equalTo [ "<f8"; "<f4"; "<i8"; "<i4"; "|b1"; "|u1"; "<f8"; "<f8"; "<f8" ])
        Assert.That(arrays.[6].Shape, Is.Empty)
        // conversions
        Assert.That(arrays.[1].ToDoubleArray(), equalTo [| 0.5; -1.5 |])
        Assert.That(arrays.[4].ToDoubleArray(), equalTo [| 1.0; 0.0; 1.0; 1.0 |])
        Assert.That(arrays.[3].ToInt64Array(), equalTo [| 7L; 8L; 9L |])
        Assert.That((arrays.[1].ToSingleArray(), arrays.[4].ToBoolArray(), arrays.[5].ToByteArray(), arrays.[3].ToInt32Array()),
                    equalTo(([| 0.5f; -1.5f |], [| true; false; true; true |], [| 0uy; 255uy |], [| 7; 8; 9 |])))
        throws<InvalidOperationException> (fun () -> arrays.[2].ToDoubleArray() |> ignore) |> ignore   // Int64.MaxValue has no exact double
        throws<InvalidOperationException> (fun () -> arrays.[0].ToSingleArray() |> ignore) |> ignore
        let reshaped = arrays.[0].Reshape(3, 2)
        Assert.That((reshaped.Shape |> List.ofSeq, reshaped.ToDoubleArray()), equalTo(([ 3; 2 ], [| 1.0 .. 6.0 |])))
        assertMatrixClose 0.0 (reshaped.ToMatrix()) (Matrix.FromArray(3, 2, [| 1.0 .. 6.0 |]))
        Assert.That(arrays.[0].ContentEquals(reshaped), Is.False, "shape matters")
        throws<ShapeMismatchException> (fun () -> NdArray.FromDoubles([| 1.0; 2.0 |], 3) |> ignore) |> ignore
        Assert.That(string arrays.[0], equalTo "NdArray float64 [2, 3]"))

[<Test>]
let ``matrices and vectors as .npy; existing files are only replaced on request`` () =
    withTempDir "entk-fs-npy-" (fun dir ->
        let m = randomMatrix 4 3 1
        let path = Path.Combine(dir, "m.npy")
        Npy.WriteMatrix(path, m)
        assertMatrixClose 0.0 (Npy.ReadMatrix path) m
        let exists = throws<OutputExistsException> (fun () -> Npy.WriteMatrix(path, m))
        Assert.That(exists.Path, equalTo path)
        Npy.WriteVector(path, [ 1.0; 2.0 ], overwrite = true)
        Assert.That(Npy.ReadVector path, equalTo [| 1.0; 2.0 |])
        let notMatrix = throws<EntkFormatException> (fun () -> Npy.ReadMatrix path |> ignore)
        Assert.That((notMatrix.Path, notMatrix.Message), equalTo((path, sprintf "Cannot read '%s': expected a 2-D array (a matrix), found shape [2]." path))))

[<Test>]
let ``.npz archives: stored and deflated, lists and dictionaries, streams, lookups and name rules`` () =
    withTempDir "entk-fs-npz-" (fun dir ->
        let w = NdArray.FromMatrix(randomMatrix 3 2 4)
        let b = NdArray.FromInt32s([| 1; 2 |], 2)
        for compress in [ false; true ] do
            let path = Path.Combine(dir, sprintf "c%b.npz" compress)
            Npz.Write(path, [ NamedArray("W", w); NamedArray("nested/b", b) ], compress = compress)
            Assert.That(startsWith zipSignature path, Is.True)
            let z = Npz.Read path
            Assert.That((z.Names |> List.ofSeq, z.Count, z.Source), equalTo(([ "W"; "nested/b" ], 2, path)))
            Assert.That(z.["W"].ContentEquals w && z.["nested/b"].ContentEquals b, Is.True)
            Assert.That((z.ContainsKey "W", z.ContainsKey "b"), equalTo((true, false)))
            Assert.That(z.Arrays |> Seq.map (fun a -> a.Name), equalTo z.Names)
            Assert.That((throws<EntkArgumentException> (fun () -> z.["nope"] |> ignore)).Message, Does.Contain "'W', 'nested/b'")
        // identical input gives identical bytes (fixed timestamps)
        let p1, p2 = Path.Combine(dir, "d1.npz"), Path.Combine(dir, "d2.npz")
        Npz.Write(p1, readOnlyDict [ "x", w ])
        Npz.Write(p2, readOnlyDict [ "x", w ])
        Assert.That(File.ReadAllBytes p1, equalTo (File.ReadAllBytes p2))
        use ms = new MemoryStream()
        Npz.Write(ms, [ NamedArray("x", w) ], compress = true)
        ms.Position <- 0L
        Assert.That((Npz.Read(ms, "memory")).["x"].ContentEquals w, Is.True)
        Npz.ValidateName "a/b.c"
        for bad in [ ""; "../x"; "a\\b"; "a//b" ] do
            throws<EntkArgumentException> (fun () -> Npz.ValidateName bad) |> ignore
        throws<EntkArgumentException> (fun () -> NamedArray("", w) |> ignore) |> ignore)

[<Test>]
let ``checkpoints keep kind, metadata and a SHA-256; model files round-trip TMS and MLP models`` () =
    withTempDir "entk-fs-ckpt-" (fun dir ->
        let w = randomMatrix 2 3 5
        let data =
            CheckpointData("dense-network",
                           [ NamedArray("W", NdArray.FromMatrix w); NamedArray("b", NdArray.FromVector [ 0.5; -0.5; 1.0 ]) ],
                           readOnlyDict [ "activation", MetadataValue.FromString "tanh"; "lr", MetadataValue.FromDouble 1e-3 ],
                           readOnlyDict [ "epoch", MetadataValue.FromInt64 100L; "loss", MetadataValue.FromDouble 0.25 ])
        let path = Path.Combine(dir, "model.npz")
        Checkpoint.Save(path, data)
        let back = Checkpoint.Load path
        Assert.That((back.Kind, back.HasMetadata, back.ParameterCount, back.TensorNames |> List.ofSeq), equalTo(("dense-network", true, 9L, [ "W"; "b" ])))
        Assert.That(back.ToParameterVector(), equalTo (Array.append (w.ToArray()) [| 0.5; -0.5; 1.0 |]))
        Assert.That(back.ComputeSha256(), equalTo (data.ComputeSha256()))
        Assert.That(back.ComputeSha256().Length, equalTo 64)
        Assert.That((back.Hyperparameters.["activation"].AsString(), back.Hyperparameters.["lr"].AsDouble()), equalTo(("tanh", 1e-3)))
        Assert.That((back.Info.["epoch"].Kind, back.Info.["epoch"].AsInt64(), back.Info.["loss"].Kind), equalTo((MetadataValueKind.Integer, 100L, MetadataValueKind.Number)))
        Assert.That(back.Info.Keys, equalTo [| "epoch"; "loss" |], "order kept")
        Assert.That(back.Tensor("b").ToDoubleArray(), equalTo [| 0.5; -0.5; 1.0 |])
        Assert.That(back.ContainsTensor "W" && not (back.ContainsTensor CheckpointData.MetadataEntryName), Is.True)
        Assert.That((Npz.Read path).Names, equalTo [| "W"; "b"; "__entk__" |], "numpy sees the arrays plus the metadata entry")
        // metadata values: kinds, conversions, equality
        Assert.That(MetadataValue.FromInt64 3L = MetadataValue.FromInt64 3L, Is.True)
        Assert.That(MetadataValue.FromInt64 3L = MetadataValue.FromDouble 3.0, Is.False, "kind matters")
        Assert.That((MetadataValue.FromDouble 3.0).AsInt64(), equalTo 3L)
        Assert.That((string (MetadataValue.FromString "x"), (MetadataValue.FromDouble 2.0).AsString(), (MetadataValue.FromInt64 2L).IsNumeric), equalTo(("\"x\"", "2.0", true)))
        throws<InvalidOperationException> (fun () -> (MetadataValue.FromString "x").AsDouble() |> ignore) |> ignore
        throws<EntkArgumentException> (fun () -> CheckpointData("k", [ NamedArray("W", NdArray.FromInt32s([| 1 |], 1)) ]) |> ignore) |> ignore
        // model files
        let tms = TmsModel.FromWeights(w, [| 0.1; 0.2; 0.3 |])
        let tmsPath = Path.Combine(dir, "tms.npz")
        ModelFiles.SaveTms(tmsPath, tms, readOnlyDict [ "seed", MetadataValue.FromInt64 7L ])
        let loaded = ModelFiles.LoadTms tmsPath
        Assert.That(loaded.GetParameters(), equalTo (tms.GetParameters()))
        Assert.That((Checkpoint.Load tmsPath).Info.["seed"].AsInt64(), equalTo 7L)
        let mlp = ModularMlp.FromWeights(randomMatrix 4 6 1, randomMatrix 3 4 2)
        let mlpPath = Path.Combine(dir, "mlp.npz")
        ModelFiles.SaveMlp(mlpPath, mlp)
        Assert.That((ModelFiles.LoadMlp mlpPath).GetParameters(), equalTo (mlp.GetParameters()))
        let cp = ModelFiles.ToCheckpoint(mlp, ModelFiles.MlpKind)
        Assert.That((cp.Kind, cp.Hyperparameters.["inputs"].AsInt64(), cp.Hyperparameters.["model"].AsString()), equalTo(("modular-mlp", 6L, mlp.Name)))
        let wrongKind = throws<EntkFormatException> (fun () -> ModelFiles.LoadMlp tmsPath |> ignore)
        Assert.That((wrongKind.Path, wrongKind.Message), equalTo((tmsPath, sprintf "Cannot read '%s': checkpoint holds a 'tms' model, not a 'modular-mlp' model" tmsPath)))
        throws<OutputExistsException> (fun () -> ModelFiles.SaveMlp(mlpPath, mlp)) |> ignore
        ModelFiles.SaveMlp(mlpPath, mlp, overwrite = true)
        // a plain archive written without metadata loads as kind "unknown"
        let plain = Path.Combine(dir, "plain.npz")
        Npz.Write(plain, [ NamedArray("W", NdArray.FromMatrix w); NamedArray("b", NdArray.FromVector [ 0.0; 0.0; 0.0 ]) ])
        Assert.That((Checkpoint.Load plain).Kind, equalTo CheckpointData.UnknownKind)
        Assert.That((ModelFiles.LoadTms plain).W.ToArray(), equalTo (w.ToArray())))

[<Test>]
let ``corrupted or truncated checkpoints give EntkFormatException naming the file`` () =
    withTempDir "entk-fs-corrupt-" (fun dir ->
        let path = Path.Combine(dir, "tms.npz")
        ModelFiles.SaveTms(path, TmsModel.FromWeights(randomMatrix 3 5 3, Array.zeroCreate 5))
        let good = File.ReadAllBytes path
        let variants =
            [ "flipped byte in W's data", (let b = Array.copy good in b.[200] <- b.[200] ^^^ 0xFFuy; b)
              "truncated", good.[0 .. good.Length / 2]
              "empty", [||]
              "not a zip", Encoding.ASCII.GetBytes "hello, world" ]
        for what, bytes in variants do
            let bad = Path.Combine(dir, what.Replace(' ', '_').Replace("'", "") + ".npz")
            File.WriteAllBytes(bad, bytes)
            let e = throws<EntkFormatException> (fun () -> ModelFiles.LoadTms bad |> ignore)
            Assert.That(e.Path, equalTo bad, what)
            Assert.That(e.Message, Does.StartWith("Cannot read '" + bad + "': "), what)
        let missing = Path.Combine(dir, "missing.npz")
        throws<FileNotFoundException> (fun () -> Checkpoint.Load missing |> ignore) |> ignore)

[<Test>]
let ``JSON files from F# records, anonymous records and options; NaN is written as null`` () =
    withTempDir "entk-fs-json-" (fun dir ->
        let path = Path.Combine(dir, "report.json")
        JsonFile.Write(path, {| name = "tms"; eigenvalues = [| 2.0; 1.0 |]; missing = nan; best = Some 3; none = (None: int option) |})
        let text = File.ReadAllText path
        let node = Text.Json.Nodes.JsonNode.Parse text |> nonNull
        Assert.That((nonNull node.["name"]).GetValue<string>(), equalTo "tms")
        Assert.That((nonNull node.["eigenvalues"]).AsArray().Count, equalTo 2)
        Assert.That((node.["missing"], node.["none"]), equalTo((null, null)))
        Assert.That((nonNull node.["best"]).GetValue<int>(), equalTo 3)
        Assert.That(text.EndsWith "\n" && text.Contains "\n  \"name\"", Is.True, "indented, newline at the end")
        Assert.That(JsonFile.ToJsonString [ 1; 2 ], equalTo "[\n  1,\n  2\n]\n")
        throws<OutputExistsException> (fun () -> JsonFile.Write(path, 1)) |> ignore
        JsonFile.Write(path, Text.Json.Nodes.JsonArray(), overwrite = true)
        Assert.That(File.ReadAllText(path).Trim(), equalTo "[]"))

[<Test>]
let ``atomic writes: bytes, text and stream callbacks, no temporary files left behind`` () =
    withTempDir "entk-fs-atomic-" (fun dir ->
        let path = Path.Combine(dir, "sub", "a.txt")
        AtomicFile.WriteAllText(path, "héllo")
        Assert.That(File.ReadAllBytes path, equalTo (UTF8Encoding(false).GetBytes "héllo"), "UTF-8 without BOM, folder created")
        AtomicFile.WriteAllBytes(path, ReadOnlySpan [| 1uy; 2uy |], overwrite = true)
        Assert.That(File.ReadAllBytes path, equalTo [| 1uy; 2uy |])
        AtomicFile.Write(path, (fun s -> s.WriteByte 42uy), overwrite = true)
        Assert.That(File.ReadAllBytes path, equalTo [| 42uy |])
        throws<OutputExistsException> (fun () -> AtomicFile.WriteAllText(path, "x")) |> ignore
        // a failing writer leaves the old content and no temporary file
        throws<InvalidOperationException> (fun () -> AtomicFile.Write(path, (fun _ -> invalidOp "boom"), overwrite = true)) |> ignore
        Assert.That(File.ReadAllBytes path, equalTo [| 42uy |])
        Assert.That(Directory.GetFiles(Path.Combine(dir, "sub")), equalTo [| path |]))

[<Test>]
let ``torch state_dicts written by Python torch are read with names, shapes and values`` () =
    requirePython "torch"
    withTempDir "entk-fs-torch-" (fun dir ->
        let path = Path.Combine(dir, "state.pt")
        let code =
            "import sys, torch\n" +
            "m = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Tanh(), torch.nn.Linear(2, 1)).double()\n" +
            "with torch.no_grad():\n" +
            "    for i, p in enumerate(m.parameters()): p.copy_(torch.arange(p.numel(), dtype=torch.float64).reshape(p.shape) * 0.5 - i)\n" +
            "sd = m.state_dict(); sd['extra'] = torch.tensor([1.5, 2.5], dtype=torch.float32)\n" +
            "torch.save(sd, sys.argv[1])\n"
        let psi = ProcessStartInfo("/usr/bin/python3", [| "-c"; code; path |], RedirectStandardError = true, RedirectStandardOutput = true)
        use p = new Process(StartInfo = psi)
        p.Start() |> ignore
        let err = p.StandardError.ReadToEnd()
        Assert.That(p.WaitForExit 120000 && p.ExitCode = 0, Is.True, err)
        let tensors = TorchStateDict.Read path
        Assert.That(tensors |> Seq.map (fun t -> t.Name), equalTo [| "0.weight"; "0.bias"; "2.weight"; "2.bias"; "extra" |])
        Assert.That(tensors |> Seq.map (fun t -> List.ofSeq t.Array.Shape), equalTo [ [ 2; 3 ]; [ 2 ]; [ 1; 2 ]; [ 1 ]; [ 2 ] ])
        Assert.That(tensors.[0].Array.ToDoubleArray(), equalTo [| 0.0; 0.5; 1.0; 1.5; 2.0; 2.5 |])
        Assert.That(tensors.[3].Array.ToDoubleArray(), equalTo [| -3.0 |])
        Assert.That((tensors.[4].Array.ElementType, tensors.[4].Array.ToDoubleArray()), equalTo((ElementType.Float32, [| 1.5; 2.5 |])))
        // the state_dict drives a DenseNetwork with the same weights
        let theta = tensors |> Seq.take 4 |> Seq.collect (fun t -> t.Array.ToDoubleArray()) |> Seq.toArray
        let net = DenseNetwork.FromParameters([| 3; 2; 1 |], Activation.Tanh, theta)
        let y = net.Evaluate(Matrix.FromRows [ [| 1.0; 0.0; 0.0 |] ])
        Assert.That(y.[0, 0], Is.EqualTo(-2.0 * tanh -1.0 - 1.5 * tanh 1.0 - 3.0).Within(1e-14))
        File.WriteAllBytes(path, [| 1uy; 2uy; 3uy |])
        throws<EntkFormatException> (fun () -> TorchStateDict.Read path |> ignore) |> ignore)

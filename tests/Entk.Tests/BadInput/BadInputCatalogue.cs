using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using Entk.Experiments;
using Entk.IO;
using Entk.Kernels;
using Entk.Linalg;
using Entk.Models;
using Entk.Plotting;
using Entk.Training;
using NUnit.Framework;
using static Entk.Tests.BadInput.BadInputCase;
using static Entk.Tests.BadInput.BadInputCategory;

namespace Entk.Tests.BadInput
{
    /// <summary>
    /// The catalogue of bad inputs (issue 15): one line per case. CLI cases run `entk` in a child process and state the exit
    /// code (2: user error, one line "error: …"; 1: internal error, one line naming a log file; 0: handled, e.g. a diverged run
    /// reported as such) and a text the line must contain. Library cases state the typed exception and the argument it names.
    /// To add a case, add a line to the list of its category.
    /// </summary>
    internal static class BadInputCatalogue
    {
        // Tiny configurations for the cases that do run: a TMS run and an MLP run of about a second each.
        private static readonly string[] TinyTms = { "-n", "12", "-m", "4", "-D", "30", "--steps", "20", "-k", "10" };
        private static readonly string[] TinyMlp = { "-p", "5", "-H", "8", "--epochs", "20", "-k", "25" };

        private static string[] Tms(params string[] extra) => new[] { "tms", "--out", "{out}" }.Concat(TinyTms).Concat(extra).ToArray();

        private static string[] Mlp(params string[] extra) => new[] { "mlp", "--out", "{out}" }.Concat(TinyMlp).Concat(extra).ToArray();

        /// <summary>The TMS configuration and options <see cref="Tms"/> runs (for markers written by Arrange).</summary>
        private static string TinyTmsSettings() => TmsOutputs.Settings(new[] { new TmsConfig { Features = 12, Hidden = 4, Samples = 30, Steps = 20 } }, 0, new TmsAnalysisOptions { TopK = 10 });

        private static void Marker(string folder, string settings)
        {
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, ExperimentOutput.MarkerName), new JsonObject { ["experiment"] = "tms", ["settings"] = settings, ["started_utc"] = "2026-01-01T00:00:00Z" }.ToJsonString());
        }

        private static string Out(string dir) => Path.Combine(dir, "out");

        private static void NoTemporaries(string dir, string output) =>
            Assert.That(Directory.GetFiles(dir, "*.tmp", SearchOption.AllDirectories), Is.Empty, "no temporary file survives a successful run");

        private static void Completed(string dir, string output) =>
            Assert.That(File.Exists(Path.Combine(Out(dir), ExperimentOutput.ManifestName)), Is.True, "the run completed with a manifest");

        private static readonly DenseNetwork Net = DenseNetwork.CreateRandom(new[] { 3, 4, 2 }, Activation.Tanh, seed: 1);

        private static string NewFile(string dir, string name, byte[] bytes)
        {
            string p = Path.Combine(dir, name);
            File.WriteAllBytes(p, bytes);
            return p;
        }

        private static string TmsCheckpoint(string dir) =>
            Do(() => ModelFiles.SaveTms(Path.Combine(dir, "tms.npz"), TmsModel.FromWeights(TestUtil.RandomMatrix(2, 3, 1), new double[3])), Path.Combine(dir, "tms.npz"));

        private static T Do<T>(Action a, T value)
        {
            a();
            return value;
        }

        private static void Fast(Action a, double seconds = 20)
        {
            var sw = Stopwatch.StartNew();
            try
            {
                a();
            }
            finally
            {
                Assert.That(sw.Elapsed.TotalSeconds, Is.LessThan(seconds), "refused before any work (not after training)");
            }
        }

        public static IReadOnlyList<BadInputCase> All { get; } = Build();

        private static IReadOnlyList<BadInputCase> Build()
        {
            var list = new List<BadInputCase>();

            // ---- CLI options --------------------------------------------------------------------------------------------
            list.AddRange(new[]
            {
                Cmd(CliOptions, 2, "--features", "tms", "--out", "{out}", "-n", "0"),
                Cmd(CliOptions, 2, "--features", "tms", "--out", "{out}", "-n", "-5"),
                Cmd(CliOptions, 2, "--hidden", "tms", "--out", "{out}", "-m", "0"),
                Cmd(CliOptions, 2, "--sparsity", "tms", "--out", "{out}", "-S", "1.5"),
                Cmd(CliOptions, 2, "--sparsity", "tms", "--out", "{out}", "-S", "NaN"),
                Cmd(CliOptions, 2, "--sparsity", "tms", "--out", "{out}", "-S", "-0.1"),
                Cmd(CliOptions, 2, "--samples", "tms", "--out", "{out}", "-D", "0"),
                Cmd(CliOptions, 2, "--importance-decay", "tms", "--out", "{out}", "-r", "0"),
                Cmd(CliOptions, 2, "--importance-decay", "tms", "--out", "{out}", "-r", "1e7"),
                Cmd(CliOptions, 2, "--lr", "tms", "--out", "{out}", "--lr", "0"),
                Cmd(CliOptions, 2, "--lr", "tms", "--out", "{out}", "--lr", "-1"),
                Cmd(CliOptions, 2, "--lr", "tms", "--out", "{out}", "--lr", "Infinity"),
                Cmd(CliOptions, 2, "--lr", "tms", "--out", "{out}", "--lr", "NaN"),
                Cmd(CliOptions, 2, "--steps", "tms", "--out", "{out}", "--steps", "-1"),
                Cmd(CliOptions, 2, "--betas", "tms", "--out", "{out}", "--betas", ""),
                Cmd(CliOptions, 2, "--betas", "tms", "--out", "{out}", "--betas", "a,b"),
                Cmd(CliOptions, 2, "--betas", "tms", "--out", "{out}", "--betas", "1,1"),
                Cmd(CliOptions, 2, "--betas", "tms", "--out", "{out}", "--betas", "NaN"),
                Cmd(CliOptions, 2, "--top-k", "tms", "--out", "{out}", "-k", "0"),
                Cmd(CliOptions, 2, "--top-k", "tms", "--out", "{out}", "-n", "12", "-m", "4", "-D", "30", "-k", "361"),
                Cmd(CliOptions, 2, "--write-kernels", "tms", "--out", "{out}", "--write-kernels"),
                Cmd(CliOptions, 2, "--force/--resume", "tms", "--out", "{out}", "--force", "--resume"),
                Cmd(CliOptions, 2, "Cannot parse", "tms", "--out", "{out}", "-n", "abc"),
                Cmd(CliOptions, 2, "Cannot parse", "tms", "--out", "{out}", "-n", "99999999999"),
                Cmd(CliOptions, 2, "Unrecognized", "tms", "--out", "{out}", "--bogus", "3"),
                Cmd(CliOptions, 2, "--out", "tms"),
                Cmd(CliOptions, 2, "--modulus", "mlp", "--out", "{out}", "-p", "2"),
                Cmd(CliOptions, 2, "--modulus", "mlp", "--out", "{out}", "-p", "4"),
                Cmd(CliOptions, 2, "--modulus", "mlp", "--out", "{out}", "-p", "5000"),
                Cmd(CliOptions, 2, "--width", "mlp", "--out", "{out}", "-H", "0"),
                Cmd(CliOptions, 2, "--train-fraction", "mlp", "--out", "{out}", "--train-fraction", "0"),
                Cmd(CliOptions, 2, "--train-fraction", "mlp", "--out", "{out}", "--train-fraction", "1"),
                Cmd(CliOptions, 2, "--train-fraction", "mlp", "--out", "{out}", "--train-fraction", "1e-300"),
                Cmd(CliOptions, 2, "--lr", "mlp", "--out", "{out}", "--lr", "-0.1"),
                Cmd(CliOptions, 2, "--weight-decay", "mlp", "--out", "{out}", "--weight-decay", "-1"),
                Cmd(CliOptions, 2, "--epochs", "mlp", "--out", "{out}", "--epochs", "-1"),
                Cmd(CliOptions, 2, "--log-every", "mlp", "--out", "{out}", "--log-every", "0"),
                Cmd(CliOptions, 2, "--top-k", "mlp", "--out", "{out}", "-p", "7", "-H", "16", "--epochs", "100000000", "--log-every", "100000000", "-k", "5"),
                Cmd(CliOptions, 2, "--top-k", "mlp", "--out", "{out}", "-p", "7", "-H", "16", "--epochs", "100000000", "--log-every", "100000000", "-k", "5", "--grokking"),
                Cmd(CliOptions, 2, "--seeds", "reproduce", "all", "--out", "{out}", "--seeds", "a"),
                Cmd(CliOptions, 2, "--seeds", "reproduce", "all", "--out", "{out}", "--seeds", "1,1"),
                Cmd(CliOptions, 2, "--force/--resume", "reproduce", "tms", "--out", "{out}", "--force", "--resume"),
                Cmd(CliOptions, 2, "command"),
                Cmd(CliOptions, 2, "Unrecognized", "foo"),
                Cmd(CliOptions, 2, "Required command", "reproduce"),
                Cmd(CliOptions, 2, "--paper-dtype", "bench", "--json", "{dir}/b.json", "--paper-dtype", "float16"),
                // once crashed at the figure step (an odd number of heatmap epochs), leaving no manifest
                Cmd(CliOptions, 0, "grokking: 6 checkpoints", "mlp", "--out", "{out}", "-p", "7", "-H", "16", "--epochs", "50", "--grokking") with
                    { Verify = (d, o) => Assert.That(File.Exists(Path.Combine(d, "out", "grokking", ExperimentOutput.ManifestName)), Is.True, "grokking manifest") },
            });

            // ---- files and folders ----------------------------------------------------------------------------------------
            list.AddRange(new[]
            {
                Cmd(Files, 2, "--out", "tms", "--out", ""),
                Cmd(Files, 2, "--out", "tms", "--out", "   "),
                Cmd(Files, 2, "which is a file", "tms", "--out", "{dir}/file.txt") with { Arrange = d => File.WriteAllText(Path.Combine(d, "file.txt"), "x") },
                Cmd(Files, 2, "is a file", "tms", "--out", "{dir}/file.txt/sub") with { Arrange = d => File.WriteAllText(Path.Combine(d, "file.txt"), "x") },
                Cmd(Files, 2, "no Entk run wrote", Tms()).Named("folder holds the user's files") with { Arrange = d => { Directory.CreateDirectory(Out(d)); File.WriteAllText(Path.Combine(Out(d), "notes.txt"), "mine"); } },
                Cmd(Files, 2, "no Entk run wrote", Tms("--resume")).Named("folder holds the user's files") with { Arrange = d => { Directory.CreateDirectory(Out(d)); File.WriteAllText(Path.Combine(Out(d), "notes.txt"), "mine"); } },
                Cmd(Files, 2, "index.md", "reproduce", "all", "--out", "{out}", "--seeds", "0") with { Arrange = d => { Directory.CreateDirectory(Out(d)); File.WriteAllText(Path.Combine(Out(d), "index.md"), "#"); } },
                Cmd(Files, 2, "--json", "bench", "--json", ""),
                Cmd(Files, 2, "--json", "bench", "--json", "{dir}"),
                Cmd(Files, 2, "already exists", "bench", "--json", "{dir}/b.json") with { Arrange = d => File.WriteAllText(Path.Combine(d, "b.json"), "{}") },
                Cmd(Files, 2, "/proc/entk-bad-input-out", "tms", "--out", "/proc/entk-bad-input-out", "-n", "12", "-m", "4", "-D", "30", "--steps", "20", "-k", "10"),
                Cmd(Files, 2, "is a file", "tms", "--out", "/dev/null/out"),
                Lib<EntkFormatException>(Files, "ModelFiles.LoadAny: legacy (pre-1.6) torch.save file", d => ModelFiles.LoadAny(NewFile(d, "legacy.pt", new byte[] { 0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19 })), "legacy (pre-1.6, non-ZIP)"),
                Lib<EntkFormatException>(Files, "ModelFiles.LoadAny: empty file", d => ModelFiles.LoadAny(NewFile(d, "empty.npz", Array.Empty<byte>()))),
                Lib<FileNotFoundException>(Files, "ModelFiles.LoadAny: missing file", d => ModelFiles.LoadAny(Path.Combine(d, "missing.npz"))),
                Lib<EntkFormatException>(Files, "ModelFiles.LoadAny: random bytes", d => ModelFiles.LoadAny(NewFile(d, "noise.npz", Enumerable.Range(0, 300).Select(i => (byte)(i * 37)).ToArray()))),
                Lib<EntkFormatException>(Files, "ModelFiles.LoadTms: truncated checkpoint", d => { var p = TmsCheckpoint(d); File.WriteAllBytes(p, File.ReadAllBytes(p).AsSpan(0, 200).ToArray()); ModelFiles.LoadTms(p); }),
                Lib<EntkFormatException>(Files, "ModelFiles.LoadMlp: a TMS checkpoint", d => ModelFiles.LoadMlp(TmsCheckpoint(d)), "'tms' model"),
                Lib<EntkFormatException>(Files, "ModelFiles.LoadMlp: .npz without W1/W2", d => { Npz.Write(Path.Combine(d, "x.npz"), new[] { new NamedArray("X", NdArray.FromDoubles(new[] { 1.0 }, 1)) }); ModelFiles.LoadMlp(Path.Combine(d, "x.npz")); }, "missing array"),
                Lib<EntkFormatException>(Files, "Npy.Read: header claims 10^12 elements", d => Npy.Read(NewFile(d, "huge.npy", NpyWithHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }")))),
                Lib<EntkFormatException>(Files, "Npy.Read: data cut short", d => { Npy.WriteMatrix(Path.Combine(d, "m.npy"), Matrix.Identity(8)); var b = File.ReadAllBytes(Path.Combine(d, "m.npy")); File.WriteAllBytes(Path.Combine(d, "m.npy"), b.AsSpan(0, b.Length - 9).ToArray()); Npy.Read(Path.Combine(d, "m.npy")); }),
                Lib<EntkFormatException>(Files, "Checkpoint.Load: an .npy file", d => { Npy.WriteMatrix(Path.Combine(d, "m.npy"), Matrix.Identity(2)); Checkpoint.Load(Path.Combine(d, "m.npy")); }),
                Lib<EntkFormatException>(Files, "TorchStateDict.Read: ZIP without data.pkl", d => { Npz.Write(Path.Combine(d, "z.pt"), new[] { new NamedArray("X", NdArray.FromDoubles(new[] { 1.0 }, 1)) }); TorchStateDict.Read(Path.Combine(d, "z.pt")); }, "data.pkl"),
                Lib<EntkArgumentException>(Files, "AtomicFile.WriteAllText: empty path", d => AtomicFile.WriteAllText("", "x"), "path"),
                Lib<EntkArgumentException>(Files, "AtomicFile.WriteAllText: a folder", d => AtomicFile.WriteAllText(d, "x", overwrite: true), "path"),
                Lib<OutputExistsException>(Files, "AtomicFile.WriteAllText: existing file, no overwrite", d => { File.WriteAllText(Path.Combine(d, "a.txt"), "mine"); AtomicFile.WriteAllText(Path.Combine(d, "a.txt"), "x"); }),
                Lib<EntkArgumentException>(Files, "ExperimentOutput.Open: empty folder path", d => ExperimentOutput.Open("", "tms", "s", OutputPolicy.FailIfExists), "folder"),
                Lib<EntkArgumentException>(Files, "ExperimentOutput.Open: a file", d => ExperimentOutput.Open(NewFile(d, "f", new byte[1]), "tms", "s", OutputPolicy.Overwrite), "folder"),
                Lib<OutputExistsException>(Files, "ExperimentOutput.Open: foreign folder (message not spliced into the path)", d => { File.WriteAllText(Path.Combine(d, "mine.txt"), "x"); ExperimentOutput.Open(d, "tms", "s", OutputPolicy.FailIfExists); }, "' is not empty and holds files that no Entk run wrote"),
                Lib<OutputExistsException>(Files, "ExperimentOutput.Open: other settings, resume", d => { Marker(d, "other"); ExperimentOutput.Open(d, "tms", "s", OutputPolicy.Resume); }, "different settings"),
            });

            // ---- library arguments ------------------------------------------------------------------------------------------
            list.AddRange(new[]
            {
                Lib<EntkArgumentException>(LibraryArguments, "TmsConfig: Features = 0", d => new TmsConfig { Features = 0 }.Validate(), "Features"),
                Lib<EntkArgumentException>(LibraryArguments, "TmsConfig: Sparsity = NaN", d => new TmsConfig { Sparsity = double.NaN }.Validate(), "Sparsity"),
                Lib<EntkArgumentException>(LibraryArguments, "TmsConfig: r^(n−1) overflows", d => new TmsConfig { Features = 100, ImportanceDecay = 1e6 }.Validate(), "ImportanceDecay"),
                Lib<EntkArgumentException>(LibraryArguments, "MlpConfig: Modulus = 2", d => new MlpConfig { Modulus = 2 }.Validate(), "Modulus"),
                Lib<EntkArgumentException>(LibraryArguments, "MlpConfig: TrainFraction leaves no pair", d => new MlpConfig { TrainFraction = 1e-9 }.Validate(), "TrainFraction"),
                Lib<EntkArgumentException>(LibraryArguments, "MlpExperiment.Validate: TopK below the two cliffs", d => MlpExperiment.Validate(new MlpConfig { Modulus = 7, Width = 16 }, new MlpAnalysisOptions { TopK = 5 }), "options.TopK"),
                Lib<EntkArgumentException>(LibraryArguments, "MlpExperiment.Validate: p = 4 cannot hold both cliffs", d => MlpExperiment.Validate(new MlpConfig { Modulus = 4 }), "Modulus"),
                Lib<EntkArgumentException>(LibraryArguments, "MlpExperiment.Run: TopK refused before training", d => Fast(() => MlpExperiment.Run(new MlpConfig { Modulus = 7, Width = 16, Epochs = 100_000_000, LogEvery = 100_000_000 }, 0, new MlpAnalysisOptions { TopK = 5 })), "options.TopK"),
                Lib<EntkArgumentException>(LibraryArguments, "MlpExperiment.RunGrokking: TopK refused before training", d => Fast(() => MlpExperiment.RunGrokking(new MlpConfig { Modulus = 7, Width = 16, Epochs = 100_000_000, LogEvery = 100_000_000 }, 0, new MlpAnalysisOptions { TopK = 5 })), "options.TopK"),
                Lib<EntkArgumentException>(LibraryArguments, "TmsExperiment.Run: TopK > n·D refused before training", d => Fast(() => TmsExperiment.Run(new TmsConfig { Features = 5, Samples = 4, Steps = 100_000_000 }, 0, new TmsAnalysisOptions { TopK = 21 })), "TopK"),
                Lib<EntkArgumentException>(LibraryArguments, "TmsExperiment.Validate: no β", d => TmsExperiment.Validate(new TmsConfig(), new TmsAnalysisOptions { Betas = Array.Empty<double>() }), "Betas"),
                Lib<EntkArgumentException>(LibraryArguments, "TmsExperiment.Validate: repeated β", d => TmsExperiment.Validate(new TmsConfig(), new TmsAnalysisOptions { Betas = new[] { 1.0, 1.0 } }), "Betas"),
                Lib<EntkArgumentException>(LibraryArguments, "TmsSetup.FromData: model of other sizes", d => TmsSetup.FromData(new TmsConfig { Features = 3, Hidden = 2 }, 0, TmsModel.FromWeights(TestUtil.RandomMatrix(3, 3, 1), new double[3]), TestUtil.RandomMatrix(4, 3, 2)), "model"),
                Lib<EntkArgumentException>(LibraryArguments, "MlpSetup.FromData: repeated training index", d => MlpSetup.FromData(new MlpConfig { Modulus = 3, Width = 2 }, 0, ModularMlp.FromWeights(TestUtil.RandomMatrix(2, 6, 1), TestUtil.RandomMatrix(3, 2, 2)), new[] { 1, 1 }), "trainIndices"),
                Lib<EntkArgumentException>(LibraryArguments, "MlpTrainingResult.At: no checkpoint at that epoch", d => MlpTraining.Train(MlpSetup.Create(new MlpConfig { Modulus = 3, Width = 2, Epochs = 2 }, 0)).At(7), "epoch"),
                Lib<EntkArgumentException>(LibraryArguments, "CliffLayout.For: p = 2", d => CliffLayout.For(2), "p"),
                Lib<EntkArgumentException>(LibraryArguments, "MlpExperiment.AlignCliff: start outside the eigenvectors", d => MlpExperiment.AlignCliff("full", TestUtil.RandomMatrix(9, 4, 1), 7, 2, 3, Entk.Metrics.TorusLaplacianKind.N, Entk.Metrics.TorusLaplacianKind.M, Entk.Metrics.FourierFamilyKind.N, Entk.Metrics.FourierFamilyKind.M), "start"),
                Lib<EntkArgumentException>(LibraryArguments, "MemoryPlan.Add: negative copies", d => MemoryPlan.Empty.Add("x", "X", -1, 3), "copies"),
                Lib<EntkArgumentException>(LibraryArguments, "MemoryPlan.Require: budget 0", d => MemoryPlan.Empty.Add("x", "X", 1, 3).Require("x", 0), "budgetBytes"),
                Lib<ArgumentNullException>(LibraryArguments, "DivergenceCheck.Test: null unit", d => DivergenceCheck.Test(1, 1, 1, null!), "unit"),
                Lib<ArgumentNullException>(LibraryArguments, "ClaimResult: null id", d => _ = new ClaimResult(null!, "c", "p", "m", "r", Verdict.Info), "id"),
                Lib<ShapeMismatchException>(LibraryArguments, "Figures.Grid: panel count ≠ rows·columns", d => Figures.Grid(2, 1, new Panel?[1]), "panels"),
                Lib<ShapeMismatchException>(LibraryArguments, "EmpiricalNtk.Compute: wrong input width", d => EmpiricalNtk.Compute(Net, KernelReduction.TraceMean, TestUtil.RandomMatrix(4, 2, 1)), "x1"),
                Lib<EntkArgumentException>(LibraryArguments, "SymmetricEigen.Decompose: topK = 0", d => SymmetricEigen.Decompose(Matrix.Identity(3), 0), "topK"),
            });

            // ---- numeric extremes -------------------------------------------------------------------------------------------
            list.AddRange(new[]
            {
                Cmd(NumericExtremes, 0, "not evaluated", Tms("--lr", "1e10")) with { Verify = (d, o) => Assert.That(o, Does.Contain("WARNING: training diverged").And.Contain("0 pass, 0 fail")) },
                Cmd(NumericExtremes, 0, "not evaluated", Mlp("--lr", "1e6")) with { Verify = (d, o) => Assert.That(File.ReadAllText(Path.Combine(d, "out", "mlp", "report.md")), Does.Contain("training diverged")) },
                Cmd(NumericExtremes, 0, "not evaluated", Mlp("--weight-decay", "1e6")),
                Cmd(NumericExtremes, 0, "claims", Tms("--seed=-1")),
                Cmd(NumericExtremes, 0, "claims", Tms("--seed", "9223372036854775807")),
                Cmd(NumericExtremes, 0, "claims", Tms("-S", "1")),
                Cmd(NumericExtremes, 0, "claims", Tms("--lr", "1e-300")),
                Cmd(NumericExtremes, 0, "claims", "tms", "--out", "{out}", "-n", "12", "-m", "4", "-D", "30", "--steps", "0", "-k", "10"),
                Cmd(NumericExtremes, 0, "claims", "mlp", "--out", "{out}", "-p", "5", "-H", "8", "--epochs", "0", "-k", "25"),
                Cmd(NumericExtremes, 2, "--importance-decay", Tms("-r", "5e-324")),
                Cmd(NumericExtremes, 2, "--importance-decay", "tms", "--out", "{out}", "-n", "60", "-r", "1e6"),
                Cmd(NumericExtremes, 2, "--betas", Tms("--betas", "1e308")),
                Cmd(NumericExtremes, 2, "--betas", Tms("--betas=-1e308")),
                Ok(NumericExtremes, "TmsTraining.Train: lr 1e10 diverges, stops and keeps a finite model", d =>
                {
                    var t = TmsTraining.Train(TmsSetup.Create(new TmsConfig { Features = 6, Hidden = 3, Samples = 20, Steps = 50, LearningRate = 1e10 }, 0));
                    Assert.That(t.Divergence, Is.Not.Null);
                    Assert.That(t.Model.GetParameters().All(double.IsFinite) && double.IsFinite(t.FinalLoss), Is.True);
                    Assert.That(t.Losses[^1].Step, Is.EqualTo(t.Divergence!.KeptStep));
                }),
                Ok(NumericExtremes, "MlpTraining.Train: lr 1e6 diverges; the last checkpoint is the epoch kept", d =>
                {
                    var t = MlpTraining.Train(MlpSetup.Create(new MlpConfig { Modulus = 5, Width = 8, Epochs = 30, LearningRate = 1e6 }, 0));
                    Assert.That(t.Divergence, Is.Not.Null);
                    Assert.That(t.Checkpoints[^1].Epoch, Is.EqualTo(t.Divergence!.KeptStep));
                }),
                Ok(NumericExtremes, "TmsClaims: a diverged model's claims are not evaluated", d =>
                {
                    var t = TmsTraining.Train(TmsSetup.Create(new TmsConfig { Features = 6, Hidden = 3, Samples = 20, Steps = 50, LearningRate = 1e10 }, 0));
                    var claims = TmsClaims.Evaluate(new[] { TmsExperiment.Analyze(t, new TmsAnalysisOptions { TopK = 8 }) });
                    Assert.That(claims.Where(c => c.Verdict != Verdict.Info).Select(c => c.Verdict), Is.Not.Empty.And.All.EqualTo(Verdict.NotEvaluated));
                }),
                Ok(NumericExtremes, "DivergenceCheck.Test: NaN, ∞, 10⁴× explode; zero initial loss never explodes", d =>
                {
                    Assert.That(DivergenceCheck.Test(3, double.NaN, 1), Is.Not.Null);
                    Assert.That(DivergenceCheck.Test(3, double.PositiveInfinity, 1), Is.Not.Null);
                    Assert.That(DivergenceCheck.Test(3, 1.00001e4, 1), Is.Not.Null);
                    Assert.That(DivergenceCheck.Test(3, 0.99e4, 1), Is.Null);
                    Assert.That(DivergenceCheck.Test(3, 5, 0), Is.Null);
                }),
                Lib<MemoryBudgetExceededException>(NumericExtremes, "MemoryBudget.Product: overflow saturates and is refused", d => MemoryBudget.Require("x", MemoryBudget.Product(long.MaxValue, 2), long.MaxValue - 1, "")),
                Lib<MemoryBudgetExceededException>(NumericExtremes, "MemoryBudget.Sum: overflow saturates and is refused", d => MemoryBudget.Require("x", MemoryBudget.Sum(long.MaxValue, 1), long.MaxValue - 1, "")),
                Lib<MemoryBudgetExceededException>(NumericExtremes, "MemoryBudget.Product: a negative factor saturates", d => MemoryBudget.Require("x", MemoryBudget.Product(-1, 5), long.MaxValue - 1, "")),
                Lib<NonFiniteValueException>(NumericExtremes, "SymmetricEigen.Decompose: NaN entry", d => SymmetricEigen.Decompose(Matrix.FromArray(2, 2, new[] { 1.0, double.NaN, double.NaN, 1.0 }))),
                Lib<NonFiniteValueException>(NumericExtremes, "EmpiricalNtk.Compute: model output overflows (silent NaN kernel)",
                    d => EmpiricalNtk.Compute(TmsModel.FromWeights(Matrix.FromArray(1, 2, new[] { 1e200, 1e200 }), new double[2]), KernelReduction.TraceMean, Matrix.FromArray(1, 2, new[] { 1e200, 1e200 }))),
            });

            // ---- sizes --------------------------------------------------------------------------------------------------------
            list.AddRange(new[]
            {
                Cmd(Sizes, 2, "memory budget", "tms", "--out", "{out}", "-n", "40", "-D", "1000000000", "--steps", "1"),
                Cmd(Sizes, 2, "memory budget", "tms", "--out", "{out}", "-n", "2000000000"),
                Cmd(Sizes, 2, "memory budget", "tms", "--out", "{out}", "-n", "2147483647", "-D", "2147483647"),
                Cmd(Sizes, 2, "memory budget", "tms", "--out", "{out}", "-m", "2000000000", "-n", "10", "-D", "10"),
                Cmd(Sizes, 2, "memory budget", "tms", "--out", "{out}", "-D", "2147483647", "-n", "1", "-k", "1"),
                Cmd(Sizes, 2, "--top-k", "tms", "--out", "{out}", "-k", "2147483647"),
                Cmd(Sizes, 2, "memory budget", "mlp", "--out", "{out}", "-p", "4096", "-H", "2", "--epochs", "0"),
                Cmd(Sizes, 2, "memory budget", "mlp", "--out", "{out}", "-p", "1000", "-H", "2", "--epochs", "0"),
                Cmd(Sizes, 2, "memory budget", "mlp", "--out", "{out}", "-p", "7", "-H", "2147483647"),
                Cmd(Sizes, 2, "memory budget", "mlp", "--out", "{out}", "-p", "7", "-H", "16", "--epochs", "2147483647", "--log-every", "1"),
                Cmd(Sizes, 2, "--modulus", "mlp", "--out", "{out}", "-p", "4097"),
                Cmd(Sizes, 2, "memory budget", "transformer", "--out", "{out}", "-p", "1000", "-k", "1001", "--epochs", "0"),
                Cmd(Sizes, 2, "memory budget", "transformer", "--out", "{out}", "-p", "7", "--d-model", "16384", "--heads", "1", "--d-mlp", "65536", "--epochs", "0"),
                Cmd(Sizes, 2, "memory budget", "transformer", "--out", "{out}", "-p", "7", "--epochs", "2000000000", "--log-every", "1"),
                Cmd(Sizes, 2, "--modulus", "transformer", "--out", "{out}", "-p", "4097"),
                Lib<MemoryBudgetExceededException>(Sizes, "TmsSetup.Create: D·n = 4·10¹⁰", d => TmsSetup.Create(new TmsConfig { Features = 40, Samples = 1_000_000_000 }, 0)),
                Lib<MemoryBudgetExceededException>(Sizes, "TmsSetup.Create: n = 2·10⁹", d => TmsSetup.Create(new TmsConfig { Features = 2_000_000_000, ImportanceDecay = 1 }, 0)),
                Lib<MemoryBudgetExceededException>(Sizes, "TmsExperiment.Run: refused before training", d => Fast(() => TmsExperiment.Run(new TmsConfig { Features = 40, Samples = 1_000_000_000 }, 0))),
                Lib<MemoryBudgetExceededException>(Sizes, "MlpSetup.Create: p = 4096", d => MlpSetup.Create(new MlpConfig { Modulus = 4096, Width = 2 }, 0)),
                Lib<MemoryBudgetExceededException>(Sizes, "MlpSetup.Create: H = 2³¹ − 1", d => MlpSetup.Create(new MlpConfig { Width = int.MaxValue }, 0)),
                Lib<MemoryBudgetExceededException>(Sizes, "ModularMlp.AllInputs: p = 4096", d => ModularMlp.AllInputs(4096)),
                Lib<MemoryBudgetExceededException>(Sizes, "MlpExperiment.Plan: 2³¹ checkpoints", d => MlpExperiment.Plan(new MlpConfig { Modulus = 7, Width = 16, Epochs = int.MaxValue, LogEvery = 1 }, grokking: true).Require("x")),
                Lib<EntkArgumentException>(Sizes, "MemoryPlan.Require: one array over 2³¹ elements", d => MemoryPlan.Empty.Add("a", "Samples, Features", 1, 1L << 20, 1L << 12).Require("x", long.MaxValue - 1), "Samples, Features"),
                Lib<MemoryBudgetExceededException>(Sizes, "EmpiricalNtk.Compute: EstimateMemory overflows for a wrapped Linear(1 → 10⁶) on 1000 inputs",
                    d => EmpiricalNtk.Compute(TorchModuleModel.Wrap(TorchSharp.torch.nn.Linear(1, 1_000_000, dtype: TorchSharp.torch.ScalarType.Float64), 1, 1_000_000), KernelReduction.FlattenClassMajor, TestUtil.RandomMatrix(1000, 1, 1))),
                Lib<MemoryBudgetExceededException>(Sizes, "EmpiricalNtk.Spectrum: a 1-byte budget", d => EmpiricalNtk.Spectrum(Net, KernelReduction.FlattenClassMajor, TestUtil.RandomMatrix(10, 3, 1), 2, new NtkOptions { MemoryBudgetBytes = 1 })),
                Lib<MemoryBudgetExceededException>(Sizes, "EmpiricalNtk.Operator: a 1-byte budget", d => EmpiricalNtk.Operator(Net, KernelReduction.FlattenClassMajor, TestUtil.RandomMatrix(10, 3, 1), new NtkOptions { MemoryBudgetBytes = 1 })),
                Lib<MemoryBudgetExceededException>(Sizes, "EmpiricalNtk.Spectrum: TMS, 200 000 inputs, top 600 (≈ 99 GB Lanczos basis)",
                    d => EmpiricalNtk.Spectrum(TmsModel.FromWeights(TestUtil.RandomMatrix(10, 50, 1), new double[50]), KernelReduction.FlattenClassMajor, TestUtil.RandomMatrix(200_000, 50, 2), 600)),
                Lib<MemoryBudgetExceededException>(Sizes, "EmpiricalNtk.Compute: TraceMean with C = 10⁵ outputs (C × C diag(s))",
                    d => EmpiricalNtk.Compute(DenseNetwork.CreateRandom(new[] { 1, 1, 100_000 }, Activation.Tanh, 1), KernelReduction.TraceMean, TestUtil.RandomMatrix(2, 1, 1), options: new NtkOptions { Method = NtkMethod.JacobianContraction })),
            });

            // ---- faults -------------------------------------------------------------------------------------------------------
            list.AddRange(new[]
            {
                Cmd(Faults, 1, "internal error", Tms()).Named("injected internal error") with { Env = new Dictionary<string, string> { ["ENTK_FAULT_INJECTION"] = "internal-error" } },
                Cmd(Faults, 1, "injected internal error", Mlp()) with { Env = new Dictionary<string, string> { ["ENTK_FAULT_INJECTION"] = "internal-error:1" } },
                Cmd(Faults, 0, "claims", Tms("--resume")).Named("stale temporaries of a killed write") with
                {
                    Arrange = d => { Marker(Out(d), TinyTmsSettings()); Directory.CreateDirectory(Path.Combine(Out(d), "m4_S0.3")); File.WriteAllText(Path.Combine(Out(d), "m4_S0.3", ".inputs.npy.0123abcd.tmp"), "partial"); File.WriteAllText(Path.Combine(Out(d), ".manifest.json.deadbeef.tmp"), "partial"); },
                    Verify = (d, o) => { NoTemporaries(d, o); Completed(d, o); },
                },
                Cmd(Faults, 0, "claims", Tms("--resume")).Named("damaged manifest") with { Arrange = d => { Marker(Out(d), TinyTmsSettings()); File.WriteAllText(Path.Combine(Out(d), ExperimentOutput.ManifestName), "{ damaged"); }, Verify = Completed },
                Cmd(Faults, 2, "no Entk run wrote", Tms("--resume")).Named("damaged in-progress marker") with { Arrange = d => { Directory.CreateDirectory(Out(d)); File.WriteAllText(Path.Combine(Out(d), ExperimentOutput.MarkerName), "{ damaged"); } },
                Cmd(Faults, 2, "different settings", Tms()).Named("interrupted run with other settings") with { Arrange = d => Marker(Out(d), "tms seed=0 other settings") },
                Cmd(Faults, 2, "interrupted Entk run", Tms()).Named("interrupted run, no flag") with { Arrange = d => Marker(Out(d), TinyTmsSettings()) },
                Cmd(Faults, 0, "claims", Tms("--force")) with { Arrange = d => { Marker(Out(d), TinyTmsSettings()); File.WriteAllText(Path.Combine(Out(d), "notes.txt"), "mine"); }, Verify = (d, o) => { Completed(d, o); Assert.That(File.ReadAllText(Path.Combine(Out(d), "notes.txt")), Is.EqualTo("mine")); } },
                Ok(Faults, "AtomicFile.RemoveStaleTemporaries: removes only atomic-write temporaries", d =>
                {
                    foreach (var f in new[] { ".a.npy.0123abcd.tmp", "keep.tmp", ".b.0123abcd.tmp.txt", ".c.npy.XYZ12345.tmp", "x.npy" }) File.WriteAllText(Path.Combine(d, f), "x");
                    Directory.CreateDirectory(Path.Combine(d, "sub"));
                    File.WriteAllText(Path.Combine(d, "sub", ".w.npz.89abcdef.tmp"), "x");
                    Assert.That(AtomicFile.RemoveStaleTemporaries(d).Select(Path.GetFileName), Is.EquivalentTo(new[] { ".a.npy.0123abcd.tmp", ".w.npz.89abcdef.tmp" }));
                    Assert.That(Directory.GetFiles(d).Select(Path.GetFileName), Is.EquivalentTo(new[] { "keep.tmp", ".b.0123abcd.tmp.txt", ".c.npy.XYZ12345.tmp", "x.npy" }));
                }),
                Ok(Faults, "ExperimentOutput.Open(Resume): a killed write's temporaries are removed, the user's files kept", d =>
                {
                    Marker(d, "s");
                    File.WriteAllText(Path.Combine(d, ".inputs.npy.0123abcd.tmp"), "partial");
                    File.WriteAllText(Path.Combine(d, "notes.txt"), "mine");
                    var o = ExperimentOutput.Open(d, "tms", "s", OutputPolicy.Resume);
                    Assert.That(o.IsComplete, Is.False);
                    Assert.That(Directory.GetFiles(d, "*.tmp"), Is.Empty);
                    Assert.That(File.ReadAllText(Path.Combine(d, "notes.txt")), Is.EqualTo("mine"));
                }),
                Ok(Faults, "ExperimentOutput.Inspect: each state", d =>
                {
                    Assert.That(ExperimentOutput.Inspect(Path.Combine(d, "none"), "s"), Is.EqualTo(OutputFolderState.Empty));
                    Marker(Path.Combine(d, "m"), "s");
                    Assert.That(ExperimentOutput.Inspect(Path.Combine(d, "m"), "s"), Is.EqualTo(OutputFolderState.Interrupted));
                    Assert.That(ExperimentOutput.Inspect(Path.Combine(d, "m"), "t"), Is.EqualTo(OutputFolderState.OtherSettings));
                    Directory.CreateDirectory(Path.Combine(d, "u"));
                    File.WriteAllText(Path.Combine(d, "u", "x"), "x");
                    Assert.That(ExperimentOutput.Inspect(Path.Combine(d, "u"), "s"), Is.EqualTo(OutputFolderState.NotEntk));
                }),
            });
            return list;
        }

        /// <summary>An .npy file with the given header dictionary and no data.</summary>
        private static byte[] NpyWithHeader(string dict)
        {
            string h = dict;
            int total = 10 + h.Length + 1;
            h += new string(' ', (64 - total % 64) % 64) + "\n";
            var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)(h.Length & 0xff), (byte)(h.Length >> 8) };
            bytes.AddRange(System.Text.Encoding.ASCII.GetBytes(h));
            return bytes.ToArray();
        }
    }
}

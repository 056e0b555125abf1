using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Entk.Experiments;
using Entk.IO;
using Entk.Kernels;
using Entk.Kernels.Rules;
using Entk.Linalg;
using Entk.Metrics;
using Entk.Models;
using Entk.Plotting;
using Entk.Training;
using Entk.Tests.Metrics;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Tests.Conventions
{
    /// <summary>
    /// One or more instances of every public type with collection members, made through the public API the way a user
    /// would (small sizes). <see cref="ConventionTests.CollectionMembers_NeverHandOutPrivateState"/> requires a sample for
    /// every such type, so a new type must be added here.
    /// </summary>
    internal static class ConventionSamples
    {
        public static readonly Lazy<IReadOnlyList<object>> All = new(Create);

        private static IReadOnlyList<object> Create()
        {
            var s = new List<object>();
            // ---- core
            s.Add(new EntkNonConvergenceException("Lanczos (top 3 of 30)", new[] { 1e-3, 2e-9 }, 600, 1e-10, "raise MaxApplications"));
            var m = TestUtil.RandomMatrix(4, 3, 1);
            s.Add(m);
            var nd = NdArray.FromMatrix(m);
            s.Add(nd);
            string dir = Path.Combine(Path.GetTempPath(), "entk-conventions-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                string npz = Path.Combine(dir, "a.npz");
                Npz.Write(npz, new[] { new NamedArray("m", nd), new NamedArray("v", NdArray.FromVector(new[] { 1.0, 2.0 })) });
                s.Add(Npz.Read(npz));
                var data = new CheckpointData("sample", new[] { new NamedArray("w", nd) },
                    new Dictionary<string, MetadataValue> { ["p"] = 5L }, new Dictionary<string, MetadataValue> { ["epoch"] = 3L });
                s.Add(data);
                string ckpt = Path.Combine(dir, "c.npz");
                Checkpoint.Save(ckpt, data);
                s.Add(Checkpoint.Load(ckpt));
            }
            finally
            {
                Directory.Delete(dir, true);
            }
            // ---- engine: models, kernels, spectra
            var net = DenseNetwork.CreateRandom(new[] { 3, 5, 2 }, Activation.Tanh, seed: 2);
            s.Add(net);
            s.Add(DenseNetwork.FromParameters(new[] { 3, 5, 2 }, Activation.Relu, net.GetParameters(), weightScales: new[] { 0.5, 2.0 }));
            s.Add(LinearModel.CreateRandom(3, 2, 3));
            s.Add(ModularMlp.FromParameters(5, 4, Enumerable.Range(0, 4 * 10 + 5 * 4).Select(i => Math.Sin(i)).ToArray()));
            var tms = TmsModel.FromWeights(TestUtil.RandomMatrix(2, 4, 4), new[] { 0.1, 0.2, 0.3, 0.4 });
            s.Add(tms);
            s.Add(TorchModuleModel.Wrap(nn.Linear(3, 2, dtype: ScalarType.Float64), 3, 2));
            s.Add(net.Layout);
            s.AddRange(net.Layout.Tensors);
            s.Add(ParameterGroup.Of("first", "layer0.weight", "layer0.bias"));
            var x = TestUtil.RandomMatrix(6, 3, 5);
            var layerwise = EmpiricalNtk.ComputeLayerwise(net, KernelReduction.TraceMean, x);
            s.Add(layerwise);
            s.Add(EmpiricalNtk.ComputeFull(net, x));
            s.Add(EmpiricalNtk.ComputeJacobian(net, x));
            var k = layerwise.Total.Matrix;
            var e = SymmetricEigen.Decompose(k, 4, RidgePolicy.Paper);
            s.Add(e);
            var op = KernelOperator.FromMatrix(TestUtil.RandomSymmetric(30, 6).Multiply(TestUtil.RandomSymmetric(30, 6)));
            s.Add(Lanczos.TopK(op, 3));
            s.Add(op);
            s.Add(layerwise.Total);
            var wrapped = TorchModuleModel.Wrap(nn.Sequential(("0", nn.Linear(3, 4, dtype: ScalarType.Float64)), ("1", nn.Tanh()), ("2", nn.Linear(4, 2, dtype: ScalarType.Float64))), 3, 2, name: "seq");
            s.Add(EmpiricalNtk.Spectrum(wrapped, KernelReduction.FlattenClassMajor, x, 3));
            s.Add(EmpiricalNtk.Operator(wrapped, KernelReduction.FlattenClassMajor, x));
            s.Add(new NtkOptions { LayerRules = new[] { LayerRules.Default[0] } });
            string wdir = Path.Combine(Path.GetTempPath(), "entk-conventions-w-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(wdir);
            try
            {
                string wpath = Path.Combine(wdir, "w.npz");
                Npz.Write(wpath, wrapped.Layout.Tensors.Select(t => new NamedArray(t.Name, NdArray.FromDoubles(wrapped.GetTensor(t.Name), t.Shape.ToArray()))).ToArray());
                s.Add(ModuleWeights.Load(nn.Sequential(("0", nn.Linear(3, 4, dtype: ScalarType.Float64)), ("1", nn.Tanh()), ("2", nn.Linear(4, 2, dtype: ScalarType.Float64))), wpath));
                // A TorchScript import needs a file written by Python's torch.jit.save; TorchScriptTests covers its members.
            }
            finally
            {
                Directory.Delete(wdir, true);
            }
            s.Add(CliffDetector.Detect(new[] { 5.0, 4.9, 1.0, 0.9, 0.01 }));
            s.Add(EntkInfo.Collect());
            s.Add(new NtkOptions { Importance = new[] { 1.0, 0.5 } });
            // ---- engine: metrics
            const int p = 7;
            var sum = FourierFamilies.Create("sum", p);
            s.Add(sum);
            var cliff = MetricsTestUtil.ModeCliff(p, "n", "m");
            s.Add(SubspaceOverlap.Compute(cliff, sum));
            s.Add(SubspaceOverlap.PerFrequency(cliff, sum));
            s.Add(CliffRotation.TwoStage(cliff, TorusLaplacian.Create(TorusLaplacianKind.N, p), TorusLaplacian.Create(TorusLaplacianKind.M, p)));
            var heat = PhaseInsensitiveCorrelation.Stacked(cliff, FourierFamilies.Create("n", p), FourierFamilies.Create("m", p));
            s.Add(heat);
            s.Add(AtomAssignment.Summarize(heat));
            s.Add(LinearAssignment.Maximize(TestUtil.RandomMatrix(3, 4, 7)));
            s.Add(TmsFeatures.Heatmap(TestUtil.RandomMatrix(5, 4, 8), TestUtil.RandomMatrix(20, 3, 9)));
            // ---- application: training, experiments
            var tmsConfig = new TmsConfig { Features = 6, Hidden = 2, Samples = 10, Steps = 20 };
            s.Add(tmsConfig);
            var tmsSetup = TmsSetup.Create(tmsConfig, 1);
            s.Add(tmsSetup);
            s.Add(TmsTraining.LossAndGradient(tmsSetup.InitialModel, tmsSetup.Inputs, tmsSetup.Importance));
            var tmsTrained = TmsTraining.Train(tmsSetup, new TmsTrainingOptions { LogEvery = 5 });
            s.Add(tmsTrained);
            var tmsOptions = new TmsAnalysisOptions { Betas = new[] { 0.0, 0.5 }, TopK = 8 };
            s.Add(tmsOptions);
            s.Add(new TmsAnalysisOptions());
            s.Add(TmsExperiment.Analyze(tmsTrained, tmsOptions));
            var mlpConfig = new MlpConfig { Modulus = 5, Width = 6, Epochs = 20, LogEvery = 10 };
            var mlpSetup = MlpSetup.Create(mlpConfig, 2);
            s.Add(mlpSetup);
            var mlpTrained = MlpTraining.Train(mlpSetup);
            s.Add(mlpTrained);
            var mlpOptions = new MlpAnalysisOptions { HeatmapEpochs = new[] { 10, 20 } };
            s.Add(mlpOptions);
            s.Add(new MlpAnalysisOptions());
            s.Add(MlpExperiment.Analyze(mlpTrained, mlpOptions));
            s.Add(MlpExperiment.AnalyzeGrokking(mlpTrained, mlpOptions));
            var tfConfig = new TransformerConfig { Architecture = new TransformerArchitecture { Modulus = 5, ModelWidth = 8, Heads = 2, MlpWidth = 12 }, Epochs = 4, BatchSize = 8, LogEvery = 2 };
            s.Add(tfConfig);
            var tfSetup = TransformerSetup.Create(tfConfig, 3);
            s.Add(tfSetup);
            s.Add(tfSetup.InitialWeights);
            s.Add(new TransformerTrainingOptions());
            var tfTrained = TransformerTraining.Train(tfSetup);
            s.Add(tfTrained);
            var tfOptions = new TransformerAnalysisOptions { TopK = 6, SpectrumEpochs = new[] { 0, 4 }, KeyFrequencies = new[] { 1 } };
            s.Add(tfOptions);
            s.Add(new TransformerAnalysisOptions());
            var tfAnalysis = TransformerExperiment.Analyze(tfTrained, tfOptions);
            s.Add(tfAnalysis);
            s.Add(tfAnalysis.DetectedKeyFrequencies);
            foreach (var r in tfAnalysis.Rotations.Take(1)) s.Add(r);
            foreach (var pt in tfAnalysis.OverTraining.Take(1)) s.Add(pt);
            // ---- engine and application: linearisation
            var lx = TestUtil.RandomMatrix(5, 3, 11);
            var ly = TestUtil.RandomMatrix(5, 2, 12);
            s.Add(Entk.Linearization.LinearizationCheck.Run(net, lx, net.Evaluate(lx), lx, net.Evaluate(lx), new[] { 1e-3 }));
            s.Add(Entk.Linearization.GradientDescentMse.Create(net, lx, ly));
            s.Add(MseGradientDescent.Train(net, lx, ly, 0.1, new[] { 1, 2 }, new MseGradientDescentOptions { EvaluationInputs = lx }));
            s.Add(MemoryPlan.Empty.Add("a", "Samples, Features", 1, 10, 4));
            s.Add(new TmsLinearizationOptions { Ridges = new[] { 1e-3 } });
            s.Add(new TmsLinearizationOptions());
            // ---- application: plotting
            s.Add(ScatterPanel.Create("scatter", new[] { Series.Of("a", new[] { 1.0, 2.0 }, new[] { 1.5, 2.5 }) }, width: 200, height: 150));
            var series = Series.Of("a", new[] { 1.0, 0.5, 0.25 });
            s.Add(series);
            s.Add(Series.Of("b", new[] { 1.0, 2.0, 3.0 }, new[] { 3.0, 2.0, 1.0 }));
            s.Add(Figures.Lines("l2", new[] { series }, rightSeries: new[] { Series.Of("r", new[] { 2.0, 1.0, 0.0 }) }, width: 200, height: 150));
            var spectrum = Figures.Spectrum("s", new[] { new[] { 1.0, 0.5, 0.25 } }, cliffsAfter: new[] { 0 }, guides: new[] { GuideLine.After(1, "cliff") }, width: 200, height: 150);
            s.Add(spectrum);
            s.Add(Figures.Lines("l", new[] { 1.0, 2, 3 }, new[] { new[] { 0.1, 0.5, 0.9 } }, new[] { "train" }, width: 200, height: 150));
            var heatmap = Figures.Heatmap("h", TestUtil.RandomMatrix(3, 4, 10), yTickLabels: new[] { "a", "b", "c" }, width: 200, height: 150);
            s.Add(heatmap);
            s.Add(Figures.Grid(1, 2, new Panel?[] { spectrum, heatmap }, "grid", panelWidth: 200, panelHeight: 150));
            return s;
        }
    }
}

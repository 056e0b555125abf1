using System;
using System.IO;
using System.Linq;
using Entk.Kernels;
using Entk.Models;
using NUnit.Framework;

namespace Entk.Tests
{
    /// <summary>
    /// Every kernel computation stays within the memory its formula states (EmpiricalNtk.EstimateMemory, the same
    /// estimate that is checked against the budget). Peak resident memory is measured in this process by resetting
    /// the kernel's high-water mark (/proc/self/clear_refs) before each computation.
    /// </summary>
    [TestFixture]
    [NonParallelizable]
    public class MemoryBoundTests
    {
        private static long Kb(string key) => long.Parse(File.ReadAllLines("/proc/self/status").First(l => l.StartsWith(key, StringComparison.Ordinal))
            .Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);

        private static readonly DenseNetwork Net = DenseNetwork.CreateRandom(new[] { 20, 300, 300, 10 }, Activation.Tanh, 1);   // P ≈ 100k

        private static readonly Matrix X = TestUtil.RandomMatrix(60, 20, 5);

        private static object[] Cases() => new object[]
        {
            new object[] { NtkMethod.JacobianContraction, KernelReductionKind.TraceMean, 300L << 20 },   // streams over outputs
            new object[] { NtkMethod.JacobianContraction, KernelReductionKind.TraceMean, 4000L << 20 },
            new object[] { NtkMethod.JacobianContraction, KernelReductionKind.FlattenClassMajor, 4000L << 20 },
            new object[] { NtkMethod.Structured, KernelReductionKind.FlattenClassMajor, 600L << 20 },
            new object[] { NtkMethod.Structured, KernelReductionKind.TraceMean, 300L << 20 },
        };

        [TestCaseSource(nameof(Cases))]
        public void Compute_PeakMemory_WithinStatedFormula(NtkMethod method, KernelReductionKind kind, long budget)
        {
            if (!File.Exists("/proc/self/clear_refs")) Assert.Ignore("needs Linux /proc/self/clear_refs to reset the peak-RSS mark");
            var r = kind == KernelReductionKind.TraceMean ? KernelReduction.TraceMean : KernelReduction.FlattenClassMajor;
            var o = new NtkOptions { Method = method, MemoryBudgetBytes = budget };
            var est = EmpiricalNtk.EstimateMemory(Net, r, X.Rows, options: o);
            Assert.That(est.Bytes, Is.LessThanOrEqualTo(budget), "the estimate must fit the budget for this case");
            EmpiricalNtk.Compute(Net, r, X, options: o);   // warm-up (code paths, thread pools)
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            File.WriteAllText("/proc/self/clear_refs", "5");
            long baseline = Kb("VmRSS");
            var k = EmpiricalNtk.Compute(Net, r, X, options: o);
            long peakIncrease = (Kb("VmHWM") - baseline) * 1024;
            TestContext.Out.WriteLine($"{method} {r}: measured {peakIncrease / 1e6:0.0} MB ≤ estimate {est.Bytes / 1e6:0.0} MB ({est.Formula})");
            Assert.That(peakIncrease, Is.LessThanOrEqualTo(est.Bytes), est.Formula);
            Assert.That(k.Matrix.Rows, Is.EqualTo(r.RowsFor(X.Rows, 10)));
        }

        [Test]
        public void Compute_OverBudget_RefusesWithTheFormula()
        {
            var o = new NtkOptions { Method = NtkMethod.JacobianContraction, MemoryBudgetBytes = 50L << 20 };
            var ex = Assert.Throws<MemoryBudgetExceededException>(() => EmpiricalNtk.Compute(Net, KernelReduction.FlattenClassMajor, X, options: o));
            Assert.That(ex!.Message, Does.Contain("Jacobians 8·60·10·"));
            Assert.That(ex.EstimateBytes, Is.EqualTo(EmpiricalNtk.EstimateMemory(Net, KernelReduction.FlattenClassMajor, X.Rows, options: o).Bytes));
        }
    }
}

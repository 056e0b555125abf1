using System.Collections.Generic;
using Entk.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Tests
{
    /// <summary>TorchSharp modules used to test the module wrapper.</summary>
    internal static class TorchModules
    {
        /// <summary>y = tanh(x·A)·B with raw parameters A, B (no layer a rule covers).</summary>
        public sealed class RawParameterModule : nn.Module<Tensor, Tensor>
        {
            private readonly TorchSharp.Modules.Parameter a;
            private readonly TorchSharp.Modules.Parameter b;

            public RawParameterModule(long inputs, long outputs) : base("RawParameterModule")
            {
                var gen = new torch.Generator(7, torch.CPU);
                a = new TorchSharp.Modules.Parameter(torch.randn(new long[] { inputs, 4 }, ScalarType.Float64, generator: gen));
                b = new TorchSharp.Modules.Parameter(torch.randn(new long[] { 4, outputs }, ScalarType.Float64, generator: gen));
                RegisterComponents();
            }

            public override Tensor forward(Tensor x) => torch.tanh(x.mm(a)).mm(b);
        }

        /// <summary>A Sequential(Linear, ReLU, Linear) in float64 with the network's weights.</summary>
        public static nn.Module<Tensor, Tensor> DenseEquivalent(DenseNetwork net)
        {
            var w = net.Widths;
            var l0 = nn.Linear(w[0], w[1], dtype: ScalarType.Float64);
            var l1 = nn.Linear(w[1], w[2], dtype: ScalarType.Float64);
            using (torch.no_grad())
            {
                l0.weight!.copy_(torch.tensor(net.GetTensor("layer0.weight"), new long[] { w[1], w[0] }, ScalarType.Float64));
                l0.bias!.copy_(torch.tensor(net.GetTensor("layer0.bias"), new long[] { w[1] }, ScalarType.Float64));
                l1.weight!.copy_(torch.tensor(net.GetTensor("layer1.weight"), new long[] { w[2], w[1] }, ScalarType.Float64));
                l1.bias!.copy_(torch.tensor(net.GetTensor("layer1.bias"), new long[] { w[2] }, ScalarType.Float64));
            }
            return nn.Sequential(("0", l0), ("1", nn.ReLU()), ("2", l1));
        }
    }
}

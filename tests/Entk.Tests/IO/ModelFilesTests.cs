using System.IO;
using System.Linq;
using Entk.IO;
using Entk.Models;
using Entk.Training;
using NUnit.Framework;

namespace Entk.Tests.IO
{
    /// <summary>Models to and from files numpy and PyTorch users write.</summary>
    [TestFixture]
    public class ModelFilesTests
    {
        [Test]
        public void Checkpoint_RoundTrip_IsBitIdentical()
        {
            string dir = IoTestUtil.NewTempDir("modelfiles");
            try
            {
                var tms = TmsSetup.Create(new TmsConfig { Features = 6, Hidden = 2, Samples = 4 }, 1).InitialModel;
                ModelFiles.SaveTms(Path.Combine(dir, "t.npz"), tms);
                Assert.That(ModelFiles.LoadTms(Path.Combine(dir, "t.npz")).GetParameters(), Is.EqualTo(tms.GetParameters()));
                var mlp = MlpSetup.Create(new MlpConfig { Modulus = 5, Width = 4 }, 2).InitialModel;
                ModelFiles.SaveMlp(Path.Combine(dir, "m.npz"), mlp);
                Assert.That(ModelFiles.LoadMlp(Path.Combine(dir, "m.npz")).GetParameters(), Is.EqualTo(mlp.GetParameters()));
                var ex = Assert.Throws<EntkFormatException>(() => ModelFiles.LoadMlp(Path.Combine(dir, "t.npz")));
                Assert.That(ex!.Message, Does.Contain("'tms' model"));
            }
            finally
            {
                IoTestUtil.DeleteDir(dir);
            }
        }

        /// <summary>A PyTorch state_dict of the paper's nn.Sequential MLP (net.0 = W1, net.3 = W2), saved by torch 1.13.</summary>
        [Test]
        public void LoadMlp_FromPyTorchStateDict_MatchesTorchWeights()
        {
            Py.RequireTorch();
            string dir = IoTestUtil.NewTempDir("statedict");
            try
            {
                Py.Run(@"
import sys, os, numpy as np, torch
d = sys.argv[1]
torch.manual_seed(3)
net = torch.nn.Sequential(torch.nn.Linear(10, 8, bias=False), torch.nn.Identity(), torch.nn.Identity(), torch.nn.Linear(8, 5, bias=False))
torch.save(net.state_dict(), os.path.join(d, 'mlp.pt'))
np.savez(os.path.join(d, 'expected.npz'), W1=net[0].weight.detach().double().numpy(), W2=net[3].weight.detach().double().numpy())
print('ok')", dir);
                var model = ModelFiles.LoadMlp(Path.Combine(dir, "mlp.pt"));
                var expected = Npz.Read(Path.Combine(dir, "expected.npz"));
                Assert.That(model.Modulus, Is.EqualTo(5));
                Assert.That(model.Width, Is.EqualTo(8));
                Assert.That(model.W1.ToArray(), Is.EqualTo(expected["W1"].ToDoubleArray()));
                Assert.That(model.W2.ToArray(), Is.EqualTo(expected["W2"].ToDoubleArray()));
            }
            finally
            {
                IoTestUtil.DeleteDir(dir);
            }
        }
    }
}

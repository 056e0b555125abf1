using System;
using System.Collections.Generic;
using System.Linq;
using Entk.Internal;
using Entk.Models;

namespace Entk.IO
{
    /// <summary>
    /// Saves and loads Entk models as checkpoints (<see cref="Checkpoint"/>): an .npz with one float64
    /// array per parameter tensor under its layout name (TMS: "W" [m, n], "b" [n]; modular MLP: "W1" [H, 2p],
    /// "W2" [p, H]) plus the "__entk__" metadata entry with a SHA-256 of the parameters. numpy reads it with
    /// <c>np.load</c>; Entk also loads plain .npz files written by numpy with the same array names.
    /// </summary>
    public static class ModelFiles
    {
        /// <summary>Checkpoint kind of TMS models.</summary>
        public const string TmsKind = "tms";

        /// <summary>Checkpoint kind of modular MLPs.</summary>
        public const string MlpKind = "modular-mlp";

        /// <summary>The checkpoint of a model: every layout tensor with its shape, plus metadata.</summary>
        /// <param name="model">Model.</param>
        /// <param name="kind">Kind string.</param>
        /// <param name="info">Optional free-form info (epoch, seed, loss, ...).</param>
        /// <returns>Checkpoint data.</returns>
        public static CheckpointData ToCheckpoint(NtkModel model, string kind, IReadOnlyDictionary<string, MetadataValue>? info = null)
        {
            Check.NotNull(model, nameof(model));
            Check.NotNull(kind, nameof(kind));
            var theta = model.GetParameters();
            var tensors = model.Layout.Tensors.Select(t => new NamedArray(t.Name,
                NdArray.FromDoubles(theta.AsSpan(t.Offset, t.Count).ToArray(), t.Shape.ToArray()))).ToArray();
            var hyper = new Dictionary<string, MetadataValue>
            {
                ["model"] = MetadataValue.FromString(model.Name),
                ["inputs"] = MetadataValue.FromInt64(model.InputDimension),
                ["outputs"] = MetadataValue.FromInt64(model.OutputDimension),
            };
            return new CheckpointData(kind, tensors, hyper, info);
        }

        /// <summary>Saves a TMS model (arrays "W" [m, n], "b" [n]).</summary>
        /// <param name="path">Target .npz path.</param>
        /// <param name="model">Model.</param>
        /// <param name="info">Optional info.</param>
        /// <param name="overwrite">Whether an existing file may be replaced.</param>
        public static void SaveTms(string path, TmsModel model, IReadOnlyDictionary<string, MetadataValue>? info = null, bool overwrite = false) =>
            Checkpoint.Save(path, ToCheckpoint(model, TmsKind, info), overwrite);

        /// <summary>Saves a modular MLP (arrays "W1" [H, 2p], "W2" [p, H]).</summary>
        /// <param name="path">Target .npz path.</param>
        /// <param name="model">Model.</param>
        /// <param name="info">Optional info.</param>
        /// <param name="overwrite">Whether an existing file may be replaced.</param>
        public static void SaveMlp(string path, ModularMlp model, IReadOnlyDictionary<string, MetadataValue>? info = null, bool overwrite = false) =>
            Checkpoint.Save(path, ToCheckpoint(model, MlpKind, info), overwrite);

        /// <summary>
        /// Reads parameters from an Entk checkpoint, a plain numpy .npz, or a PyTorch <c>torch.save(state_dict)</c> file
        /// (recognised by its content: a ZIP holding <c>data.pkl</c>; float32 tensors are promoted to float64). A legacy
        /// (pre-1.6, non-ZIP) torch.save file is refused as such.
        /// </summary>
        /// <param name="path">The file.</param>
        /// <returns>The checkpoint data (kind "unknown" for numpy and PyTorch files).</returns>
        /// <exception cref="EntkFormatException">Corrupt, truncated or unsupported file.</exception>
        public static CheckpointData LoadAny(string path)
        {
            Check.NotNull(path, nameof(path));
            if (IsTorchZip(path) || IsPickle(path))
            {
                var tensors = TorchStateDict.Read(path)
                    .Select(t => new NamedArray(t.Name, NdArray.FromDoubles(t.Array.ToDoubleArray(), t.Array.Shape.ToArray()))).ToArray();
                return new CheckpointData(CheckpointData.UnknownKind, tensors);
            }
            return Checkpoint.Load(path);
        }

        /// <summary>
        /// A file that starts like a pickle (0x80, protocol ≤ 5) is a legacy (pre-1.6, non-ZIP) torch.save file;
        /// <see cref="TorchStateDict.Read"/> names it as such instead of calling it a damaged ZIP.
        /// </summary>
        private static bool IsPickle(string path)
        {
            try
            {
                using var fs = new System.IO.FileStream(path, System.IO.FileMode.Open, System.IO.FileAccess.Read, System.IO.FileShare.Read);
                int b0 = fs.ReadByte(), b1 = fs.ReadByte();
                return b0 == 0x80 && b1 >= 0 && b1 <= 5;
            }
            catch (Exception e) when (e is System.IO.IOException or UnauthorizedAccessException)
            {
                return false;
            }
        }

        private static bool IsTorchZip(string path)
        {
            try
            {
                using var zip = System.IO.Compression.ZipFile.OpenRead(path);
                return zip.Entries.Any(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) || e.FullName == "data.pkl")
                       && !zip.Entries.Any(e => e.FullName.EndsWith(".npy", StringComparison.Ordinal));
            }
            catch (Exception e) when (e is System.IO.InvalidDataException or System.IO.IOException or UnauthorizedAccessException)
            {
                return false;
            }
        }

        private static NdArray Pick(string path, CheckpointData data, int rank, params string[] names)
        {
            foreach (var n in names)
                if (data.ContainsTensor(n)) return Require(path, data, n, rank);
            throw new EntkFormatException(path, "missing array " + string.Join(" or ", names.Select(n => "'" + n + "'")) + " (found: " + string.Join(", ", data.TensorNames) + ")");
        }

        /// <summary>
        /// Loads a TMS model from an Entk checkpoint, a plain .npz or a PyTorch state_dict with tensors "W" [m, n] and "b" [n].
        /// </summary>
        /// <param name="path">The file.</param>
        /// <returns>The model.</returns>
        /// <exception cref="EntkFormatException">Corrupt or truncated file, checksum mismatch, missing arrays, wrong kind or shapes.</exception>
        public static TmsModel LoadTms(string path)
        {
            var data = LoadAny(path);
            RequireKind(path, data, TmsKind);
            var w = Require(path, data, "W", 2);
            var b = Require(path, data, "b", 1);
            if (b.Shape[0] != w.Shape[1]) throw new EntkFormatException(path, Check.Inv($"array 'b' has shape [{b.Shape[0]}] but 'W' has {w.Shape[1]} columns (expected b of shape [{w.Shape[1]}])"));
            return Wrap(path, () => TmsModel.FromWeights(w.ToMatrix(), b.ToDoubleArray()));
        }

        /// <summary>
        /// Loads a modular MLP from an Entk checkpoint, a plain .npz or a PyTorch state_dict with tensors "W1" [H, 2p] and
        /// "W2" [p, H] (or the paper's nn.Sequential names "net.0.weight"/"0.weight" and "net.3.weight"/"3.weight").
        /// </summary>
        /// <param name="path">The file.</param>
        /// <returns>The model.</returns>
        /// <exception cref="EntkFormatException">Corrupt or truncated file, checksum mismatch, missing arrays, wrong kind or shapes.</exception>
        public static ModularMlp LoadMlp(string path)
        {
            var data = LoadAny(path);
            RequireKind(path, data, MlpKind);
            var w1 = Pick(path, data, 2, "W1", "net.0.weight", "0.weight");
            var w2 = Pick(path, data, 2, "W2", "net.3.weight", "3.weight");
            return Wrap(path, () => ModularMlp.FromWeights(w1.ToMatrix(), w2.ToMatrix()));
        }

        private static void RequireKind(string path, CheckpointData data, string kind)
        {
            if (data.HasMetadata && data.Kind != kind && data.Kind != CheckpointData.UnknownKind)
                throw new EntkFormatException(path, "checkpoint holds a '" + data.Kind + "' model, not a '" + kind + "' model");
        }

        private static NdArray Require(string path, CheckpointData data, string name, int rank)
        {
            if (!data.ContainsTensor(name)) throw new EntkFormatException(path, "missing array '" + name + "' (found: " + string.Join(", ", data.TensorNames) + ")");
            var a = data.Tensor(name);
            if (a.Rank != rank) throw new EntkFormatException(path, Check.Inv($"array '{name}' has rank {a.Rank}; expected {rank}"));
            return a;
        }

        private static T Wrap<T>(string path, Func<T> build)
        {
            try
            {
                return build();
            }
            catch (EntkArgumentException e)
            {
                throw new EntkFormatException(path, e.Message, e);
            }
        }
    }
}

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Entk.Internal;
using Entk.IO;

namespace Entk.Experiments
{
    /// <summary>What to do when an experiment's output folder already holds files.</summary>
    public enum OutputPolicy
    {
        /// <summary>Refuse (the default): nothing the user had is overwritten.</summary>
        FailIfExists,
        /// <summary>Replace existing outputs (CLI: --force).</summary>
        Overwrite,
        /// <summary>
        /// Continue an interrupted run (CLI: --resume): a folder whose manifest verifies (every file present with
        /// its recorded SHA-256, same settings) is kept and skipped; a folder left by an interrupted run of the
        /// same settings is redone; anything else is refused.
        /// </summary>
        Resume,
    }

    /// <summary>What an output folder holds, as judged by <see cref="ExperimentOutput.Inspect"/> for a run's settings.</summary>
    public enum OutputFolderState
    {
        /// <summary>The folder is missing or empty.</summary>
        Empty,
        /// <summary>A complete Entk run with these settings: its manifest verifies (every file present with its SHA-256).</summary>
        Complete,
        /// <summary>An Entk run with these settings that did not complete (in-progress marker, or a file that no longer matches the manifest).</summary>
        Interrupted,
        /// <summary>The outputs (complete or not) of an Entk run with different settings.</summary>
        OtherSettings,
        /// <summary>Files that no Entk run wrote (no manifest, no in-progress marker).</summary>
        NotEntk,
    }

    /// <summary>
    /// One experiment's output folder. Files are written atomically; an "in-progress" marker records the
    /// settings while the run is under way, and a manifest (files with SHA-256, settings, versions) is written
    /// last, so a complete folder can be told from one left by an interrupted run.
    /// </summary>
    public sealed class ExperimentOutput
    {
        /// <summary>Name of the manifest file.</summary>
        public const string ManifestName = "manifest.json";

        /// <summary>Name of the in-progress marker.</summary>
        public const string MarkerName = ".entk-in-progress.json";

        private readonly List<string> _files = new();

        private ExperimentOutput(string folder, string experiment, string settings, bool complete, bool overwrite)
        {
            Folder = folder;
            Experiment = experiment;
            Settings = settings;
            IsComplete = complete;
            Overwrite = overwrite;
        }

        /// <summary>The folder.</summary>
        public string Folder { get; }

        /// <summary>Experiment name.</summary>
        public string Experiment { get; }

        /// <summary>The settings string recorded in the marker and the manifest.</summary>
        public string Settings { get; }

        /// <summary>True when resuming and the folder's manifest verified: nothing needs to be done.</summary>
        public bool IsComplete { get; }

        /// <summary>Whether writes may replace existing files.</summary>
        public bool Overwrite { get; }

        /// <summary>Opens (and, unless complete, claims) an experiment folder according to the policy.</summary>
        /// <param name="folder">Folder path.</param>
        /// <param name="experiment">Experiment name.</param>
        /// <param name="settings">A canonical string of every setting that determines the outputs (seed included).</param>
        /// <param name="policy">The policy.</param>
        /// <returns>The output.</returns>
        /// <exception cref="EntkArgumentException">The folder path is empty or names a file.</exception>
        /// <exception cref="OutputExistsException">The folder holds outputs and the policy does not allow touching them (the message says what it holds).</exception>
        /// <remarks>
        /// When the policy lets Entk write into a non-empty folder (resume or overwrite), the temporary files that a killed
        /// write left behind (<see cref="AtomicFile.IsTemporaryName"/>) are deleted first; nothing else of the folder's is touched.
        /// </remarks>
        public static ExperimentOutput Open(string folder, string experiment, string settings, OutputPolicy policy)
        {
            Check.NotNull(folder, nameof(folder));
            Check.NotNull(settings, nameof(settings));
            string full = FullFolder(folder, nameof(folder));
            var state = Inspect(full, settings);
            string? refusal = Refusal(state, policy, cli: false);
            if (refusal is not null) throw new OutputExistsException(full, refusal);
            if (state == OutputFolderState.Complete && policy == OutputPolicy.Resume)
            {
                AtomicFile.RemoveStaleTemporaries(full);
                return new ExperimentOutput(full, experiment, settings, complete: true, overwrite: false);
            }
            bool hasFiles = state != OutputFolderState.Empty;
            if (hasFiles) AtomicFile.RemoveStaleTemporaries(full);
            try
            {
                Directory.CreateDirectory(full);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new IOException("Cannot create the output folder '" + full + "': " + e.Message, e);
            }
            var output = new ExperimentOutput(full, experiment, settings, complete: false, overwrite: hasFiles);
            var marker = new JsonObject { ["experiment"] = experiment, ["settings"] = settings, ["started_utc"] = DateTime.UtcNow.ToString("o", System.Globalization.CultureInfo.InvariantCulture) };
            JsonFile.Write(Path.Combine(full, MarkerName), marker, overwrite: true);
            var old = Path.Combine(full, ManifestName);
            if (File.Exists(old)) File.Delete(old);
            return output;
        }

        /// <summary>The full path of an output folder, refusing an empty path and a path that names a file.</summary>
        internal static string FullFolder(string folder, string paramName)
        {
            if (string.IsNullOrWhiteSpace(folder))
                throw new EntkArgumentException(paramName, "a folder path", folder.Length == 0 ? "an empty string" : "'" + folder + "' (white space only)");
            if (folder.IndexOf('\0') >= 0) throw new EntkArgumentException(paramName, "a folder path without NUL characters", "a path containing NUL");
            string full = Path.GetFullPath(folder);
            if (File.Exists(full)) throw new EntkArgumentException(paramName, "a folder", "'" + full + "', which is a file");
            return full;
        }

        /// <summary>
        /// What a folder holds, judged against the settings of a run about to write into it: nothing, a complete or an
        /// interrupted Entk run with these settings, an Entk run with other settings, or files that no Entk run wrote.
        /// Reads the folder only.
        /// </summary>
        /// <param name="folder">The folder.</param>
        /// <param name="settings">The settings string of the run (as recorded in markers and manifests).</param>
        /// <returns>The state.</returns>
        public static OutputFolderState Inspect(string folder, string settings)
        {
            Check.NotNull(folder, nameof(folder));
            Check.NotNull(settings, nameof(settings));
            string full = FullFolder(folder, nameof(folder));
            if (!Directory.Exists(full) || !Directory.EnumerateFileSystemEntries(full).Any()) return OutputFolderState.Empty;
            var manifest = Path.Combine(full, ManifestName);
            var marker = Path.Combine(full, MarkerName);
            if (File.Exists(manifest))
            {
                try
                {
                    var node = JsonNode.Parse(File.ReadAllText(manifest));
                    if (node?["settings"]?.GetValue<string>() != settings) return OutputFolderState.OtherSettings;
                    foreach (var f in node["files"]!.AsArray())
                    {
                        string rel = f!["path"]!.GetValue<string>();
                        string p = Path.Combine(full, rel);
                        if (!File.Exists(p) || Sha256(p) != f["sha256"]!.GetValue<string>()) return OutputFolderState.Interrupted;
                    }
                    return OutputFolderState.Complete;
                }
                catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or NullReferenceException or FormatException or ArgumentException)
                {
                    // a damaged manifest: judged by the marker below
                }
            }
            if (File.Exists(marker))
            {
                try
                {
                    var node = JsonNode.Parse(File.ReadAllText(marker));
                    return node?["settings"]?.GetValue<string>() == settings ? OutputFolderState.Interrupted : OutputFolderState.OtherSettings;
                }
                catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
                {
                    return OutputFolderState.NotEntk;
                }
            }
            return OutputFolderState.NotEntk;
        }

        /// <summary>
        /// Why a policy may not write into a folder in this state (a sentence following the quoted folder path), or null
        /// when it may. <paramref name="cli"/> words the remedies as the CLI's flags instead of <see cref="OutputPolicy"/> values.
        /// </summary>
        internal static string? Refusal(OutputFolderState state, OutputPolicy policy, bool cli)
        {
            string resume = cli ? "--resume" : "OutputPolicy.Resume", force = cli ? "--force" : "OutputPolicy.Overwrite", other = cli ? "choose another --out folder" : "choose another folder";
            return (state, policy) switch
            {
                (OutputFolderState.Empty, _) or (_, OutputPolicy.Overwrite) => null,
                (OutputFolderState.Complete or OutputFolderState.Interrupted, OutputPolicy.Resume) => null,
                (OutputFolderState.NotEntk, _) =>
                    $"is not empty and holds files that no Entk run wrote; {other}, or use {force} to write into it anyway (files with Entk's names are replaced, others are kept).",
                (OutputFolderState.OtherSettings, _) =>
                    $"holds the outputs of an Entk run with different settings; {other}, or use {force} to replace them.",
                (OutputFolderState.Interrupted, _) =>
                    $"holds an interrupted Entk run with these settings; {resume} continues it, {force} starts it over.",
                (OutputFolderState.Complete, _) =>
                    $"already holds a complete Entk run with these settings; {resume} keeps it (nothing is recomputed), {force} recomputes it.",
                _ => throw new ArgumentOutOfRangeException(nameof(state)),
            };
        }

        /// <summary>The full path of a file in the folder (sub-folders are created).</summary>
        /// <param name="relative">Relative path.</param>
        /// <returns>Full path.</returns>
        public string PathOf(string relative)
        {
            string p = Path.Combine(Folder, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(p)!);
            return p;
        }

        private string Track(string relative)
        {
            if (IsComplete) throw new InvalidOperationException("This experiment folder is complete; nothing is written.");
            _files.Add(relative.Replace('\\', '/'));
            return PathOf(relative);
        }

        /// <summary>Writes a matrix as .npy.</summary>
        /// <param name="relative">Relative path.</param>
        /// <param name="m">Matrix.</param>
        public void Npy(string relative, Matrix m) => IO.Npy.WriteMatrix(Track(relative), m, Overwrite);

        /// <summary>Writes a vector as .npy.</summary>
        /// <param name="relative">Relative path.</param>
        /// <param name="v">Vector.</param>
        public void Npy(string relative, IReadOnlyList<double> v) => IO.Npy.WriteVector(Track(relative), v, Overwrite);

        /// <summary>Writes an array as .npy.</summary>
        /// <param name="relative">Relative path.</param>
        /// <param name="a">Array.</param>
        public void Npy(string relative, NdArray a) => IO.Npy.Write(Track(relative), a, Overwrite);

        /// <summary>Writes named arrays as .npz.</summary>
        /// <param name="relative">Relative path.</param>
        /// <param name="arrays">Arrays.</param>
        public void Npz(string relative, IReadOnlyList<NamedArray> arrays) => IO.Npz.Write(Track(relative), arrays, Overwrite);

        /// <summary>Writes a checkpoint.</summary>
        /// <param name="relative">Relative path.</param>
        /// <param name="data">Checkpoint.</param>
        public void Checkpoint(string relative, CheckpointData data) => IO.Checkpoint.Save(Track(relative), data, Overwrite);

        /// <summary>Writes JSON.</summary>
        /// <param name="relative">Relative path.</param>
        /// <param name="node">JSON.</param>
        public void Json(string relative, JsonNode node) => JsonFile.Write(Track(relative), node, Overwrite);

        /// <summary>Writes text.</summary>
        /// <param name="relative">Relative path.</param>
        /// <param name="text">Text.</param>
        public void Text(string relative, string text) => AtomicFile.WriteAllText(Track(relative), text, Overwrite);

        /// <summary>Writes a figure as PNG plus the numbers it shows as CSV (same name, .csv).</summary>
        /// <param name="relative">Relative path of the PNG.</param>
        /// <param name="figure">Figure.</param>
        public void Figure(string relative, Plotting.Figure figure)
        {
            figure.Save(Track(relative), Overwrite);
            figure.SaveCsv(Track(Path.ChangeExtension(relative, ".csv")), Overwrite);
        }

        /// <summary>Writes the manifest (files with SHA-256, settings, versions) and removes the in-progress marker.</summary>
        /// <param name="extra">Optional extra JSON fields.</param>
        public void Complete(JsonObject? extra = null)
        {
            if (IsComplete) return;
            var files = new JsonArray();
            foreach (var rel in _files.Distinct())
            {
                string p = Path.Combine(Folder, rel);
                files.Add(new JsonObject { ["path"] = rel, ["bytes"] = new FileInfo(p).Length, ["sha256"] = Sha256(p) });
            }
            var m = new JsonObject
            {
                ["experiment"] = Experiment,
                ["settings"] = Settings,
                ["entk"] = EntkInfo.Version,
                ["completed_utc"] = DateTime.UtcNow.ToString("o", System.Globalization.CultureInfo.InvariantCulture),
                ["files"] = files,
            };
            if (extra is not null) foreach (var kv in extra.ToList()) { extra.Remove(kv.Key); m[kv.Key] = kv.Value; }
            JsonFile.Write(Path.Combine(Folder, ManifestName), m, overwrite: true);
            var marker = Path.Combine(Folder, MarkerName);
            if (File.Exists(marker)) File.Delete(marker);
        }

        private static string Sha256(string path)
        {
            using var s = File.OpenRead(path);
            return Convert.ToHexString(SHA256.HashData(s)).ToLowerInvariant();
        }
    }
}

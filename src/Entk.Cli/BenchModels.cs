using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Entk.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Entk.Cli
{
    /// <summary>
    /// The benchmark's GPT-style decoder as a native TorchSharp module, the same function as reference-python's
    /// entk_ref.own_models.GPT (parameter names and shapes identical, so its weights.npz loads with ModuleWeights.Load):
    /// token + positional embeddings, 4 pre-LayerNorm blocks of causal self-attention (one qkv Linear, q|k|v, heads
    /// head-major) and a GELU MLP, a final LayerNorm and an unembedding without bias; output = the logits at the last
    /// position. The positional embedding is looked up with the position ids expanded over the batch (the same values as
    /// PyTorch's broadcast of arange(T)), so that every lookup is per sample.
    /// </summary>
    internal sealed class BenchGpt : nn.Module<Tensor, Tensor>
    {
        private readonly Embedding tok_emb;
        private readonly Embedding pos_emb;
        private readonly ModuleList<Block> blocks;
        private readonly LayerNorm ln_f;
        private readonly Linear head;
        private readonly long _heads;

        internal sealed class Attention : nn.Module<Tensor, Tensor>
        {
            private readonly Linear qkv;
            private readonly Linear proj;
            private readonly long _heads;

            public Attention(long d, long heads) : base("attn")
            {
                qkv = nn.Linear(d, 3 * d, dtype: ScalarType.Float64);
                proj = nn.Linear(d, d, dtype: ScalarType.Float64);
                _heads = heads;
                RegisterComponents();
            }

            public override Tensor forward(Tensor x)
            {
                long n = x.shape[0], t = x.shape[1], d = x.shape[2], hd = d / _heads;
                var parts = qkv.call(x).split(d, -1);
                Tensor Heads(Tensor z) => z.view(n, t, _heads, hd).transpose(1, 2);
                var q = Heads(parts[0]);
                var k = Heads(parts[1]);
                var v = Heads(parts[2]);
                var s = q.matmul(k.transpose(-2, -1)) / Math.Sqrt(hd);
                var mask = torch.ones(new long[] { t, t }, ScalarType.Bool).triu(1);
                s = s.masked_fill(mask, double.NegativeInfinity);
                var y = torch.nn.functional.softmax(s, -1).matmul(v).transpose(1, 2).reshape(n, t, d);
                return proj.call(y);
            }
        }

        internal sealed class FeedForward : nn.Module<Tensor, Tensor>
        {
            private readonly Linear fc1;
            private readonly Linear fc2;
            private readonly GELU act = nn.GELU();

            public FeedForward(long d, long hidden) : base("mlp")
            {
                fc1 = nn.Linear(d, hidden, dtype: ScalarType.Float64);
                fc2 = nn.Linear(hidden, d, dtype: ScalarType.Float64);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x) => fc2.call(act.call(fc1.call(x)));
        }

        internal sealed class Block : nn.Module<Tensor, Tensor>
        {
            private readonly LayerNorm ln1;
            private readonly Attention attn;
            private readonly LayerNorm ln2;
            private readonly FeedForward mlp;

            public Block(long d, long heads, long hidden) : base("block")
            {
                ln1 = nn.LayerNorm(d, dtype: ScalarType.Float64);
                attn = new Attention(d, heads);
                ln2 = nn.LayerNorm(d, dtype: ScalarType.Float64);
                mlp = new FeedForward(d, hidden);
                RegisterComponents();
            }

            public override Tensor forward(Tensor h)
            {
                h = h + attn.call(ln1.call(h));
                return h + mlp.call(ln2.call(h));
            }
        }

        public BenchGpt(long vocab = 64, long context = 32, long d = 256, long heads = 4, long hidden = 1024, int layers = 4) : base("gpt")
        {
            tok_emb = nn.Embedding(vocab, d, dtype: ScalarType.Float64);
            pos_emb = nn.Embedding(context, d, dtype: ScalarType.Float64);
            var list = new Block[layers];
            for (int i = 0; i < layers; i++) list[i] = new Block(d, heads, hidden);
            blocks = nn.ModuleList(list);
            ln_f = nn.LayerNorm(d, dtype: ScalarType.Float64);
            head = nn.Linear(d, vocab, hasBias: false, dtype: ScalarType.Float64);
            _heads = heads;
            RegisterComponents();
        }

        /// <summary>
        /// The per-layer groups of the bench (and of the memory probe): the two embeddings, each block, and the final
        /// LayerNorm with the unembedding.
        /// </summary>
        internal static List<ParameterGroup> LayerGroups(IReadOnlyList<string> names, int layers = 4)
        {
            var groups = new List<ParameterGroup> { ParameterGroup.Of("embeddings", names.Where(s => s.Contains("_emb.", StringComparison.Ordinal)).ToArray()) };
            for (int i = 0; i < layers; i++)
            {
                string prefix = "blocks." + i.ToString(CultureInfo.InvariantCulture) + ".";
                groups.Add(ParameterGroup.Of("block" + i.ToString(CultureInfo.InvariantCulture), names.Where(s => s.StartsWith(prefix, StringComparison.Ordinal)).ToArray()));
            }
            groups.Add(ParameterGroup.Of("head", names.Where(s => s.StartsWith("ln_f.", StringComparison.Ordinal) || s.StartsWith("head.", StringComparison.Ordinal)).ToArray()));
            return groups;
        }

        /// <summary>ids (N, T) as int64 → logits at the last position (N, vocab).</summary>
        public override Tensor forward(Tensor ids)
        {
            long n = ids.shape[0], t = ids.shape[1];
            var pos = torch.arange(t, ScalarType.Int64).unsqueeze(0).expand(n, t);
            var h = tok_emb.call(ids) + pos_emb.call(pos);
            foreach (var b in blocks) h = b.call(h);
            return head.call(ln_f.call(h.select(1, t - 1)));
        }
    }
}

"""Own-model workloads for ``entk bench``: three float64 PyTorch models (``mlp``, ``cnn``, ``gpt``),
seeded initialisation, and an exporter that writes the model as TorchScript, as a ``state_dict``
and as plain arrays, together with seeded inputs.

The C# side rebuilds the same modules in TorchSharp and loads ``weights.npz``, so every detail is
fixed here (and repeated in ``meta.json`` as ``architecture``).

Architectures (defaults; every size is a keyword argument so that tests can build tiny versions)
----------------------------------------------------------------------------------------------

``mlp`` -- ``nn.Sequential(Linear(784,512), Tanh, Linear(512,512), Tanh, Linear(512,10))``.
    Input float64 ``(N, 784)``; output ``(N, 10)``. Parameters (named_parameters order):
    ``0.weight [512,784]``, ``0.bias [512]``, ``2.weight [512,512]``, ``2.bias [512]``,
    ``4.weight [10,512]``, ``4.bias [10]``; P = 669,706. ``Linear``: ``y = x W^T + b``;
    ``Tanh``: ``tanh``.

``cnn`` -- ``nn.Sequential(Conv2d(1,16,3,padding=1), ReLU, Conv2d(16,32,3,padding=1), ReLU,
    Flatten, Linear(32*28*28, 10))``. Input float64 ``(N, 1, 28, 28)`` (NCHW); output ``(N, 10)``.
    Convolutions: stride 1, zero padding 1, dilation 1, groups 1, with bias (cross-correlation, as
    ``torch.nn.functional.conv2d``). ``Flatten`` = ``nn.Flatten()`` (start_dim 1), i.e. feature
    index ``c*784 + h*28 + w``. ReLU derivative at 0 is 0. Parameters: ``0.weight [16,1,3,3]``,
    ``0.bias [16]``, ``2.weight [32,16,3,3]``, ``2.bias [32]``, ``5.weight [10,25088]``,
    ``5.bias [10]``; P = 255,690. With ``input_layout="flat"`` the module is
    ``FlatInputSequential`` (a subclass of ``nn.Sequential`` with the SAME children and parameter
    names) whose forward first does ``x.reshape(x.shape[0], 1, side, side)``, so it takes
    ``(N, 784)``; the default (``"image"``) is the plain ``nn.Sequential`` taking NCHW.

``gpt`` -- a 4-layer GPT-style decoder, written from standard layers (no MultiheadAttention):
    vocab V = 64, context T = 32, d = 256, H = 4 heads (head_dim 64), MLP width 1024.
    Input: token ids ``(N, T')`` with ``1 <= T' <= 32`` passed as float64 (integral values in
    ``[0, V)``), cast with ``.long()`` inside forward. Output: the V = 64 logits at the LAST
    position, ``(N, 64)``. Forward::

        h = tok_emb(ids) + pos_emb(arange(T'))                      # (N, T', d)
        for each block:
            a = ln1(h)
            qkv = attn.qkv(a)                                        # (N, T', 3d), Linear with bias
            q, k, v = qkv.split(d, dim=-1)                           # order q | k | v
            q = q.view(N, T', H, d/H).transpose(1, 2)                # head-major: head i uses
            (same for k, v)                                          # features [i*64, (i+1)*64)
            s = (q @ k.transpose(-2, -1)) / sqrt(d/H)                # (N, H, T', T')
            s = s.masked_fill(triu(ones(T', T'), diagonal=1), -inf)  # causal: key j <= query i
            y = softmax(s, dim=-1) @ v                               # (N, H, T', d/H)
            y = y.transpose(1, 2).reshape(N, T', d)
            h = h + attn.proj(y)                                     # Linear(d, d) with bias
            h = h + mlp.fc2(GELU(mlp.fc1(ln2(h))))                   # Linear(d,4d), exact erf GELU,
                                                                     # Linear(4d,d), both with bias
        logits = head(ln_f(h[:, -1, :]))                             # Linear(d, V, bias=False)

    LayerNorm: ``nn.LayerNorm(d)``, eps 1e-5, elementwise affine, biased variance (mean of
    squared deviations). GELU: ``nn.GELU()`` = ``x * 0.5 * (1 + erf(x / sqrt(2)))``. Positional
    embedding: an ``nn.Embedding(32, 256)`` indexed by ``arange(T')``. Parameters
    (named_parameters order): ``tok_emb.weight [64,256]``, ``pos_emb.weight [32,256]``, then for
    ``i = 0..3``: ``blocks.i.ln1.weight [256]``, ``blocks.i.ln1.bias [256]``,
    ``blocks.i.attn.qkv.weight [768,256]``, ``blocks.i.attn.qkv.bias [768]``,
    ``blocks.i.attn.proj.weight [256,256]``, ``blocks.i.attn.proj.bias [256]``,
    ``blocks.i.ln2.weight [256]``, ``blocks.i.ln2.bias [256]``, ``blocks.i.mlp.fc1.weight
    [1024,256]``, ``blocks.i.mlp.fc1.bias [1024]``, ``blocks.i.mlp.fc2.weight [256,1024]``,
    ``blocks.i.mlp.fc2.bias [256]``; then ``ln_f.weight [256]``, ``ln_f.bias [256]``,
    ``head.weight [64,256]``. P = 3,200,512 (789,760 per block). No buffers.

Initialisation (``init_parameters``): one private ``torch.Generator().manual_seed(seed)``; for every
parameter in named_parameters order exactly one draw of the parameter's full shape, float64:

* weight or bias of ``Linear`` / ``Conv2d``: ``(rand(shape) * 2 - 1) * bound``, bound =
  ``1 / sqrt(fan_in)`` (fan_in = in_features, or in_channels * kh * kw): PyTorch's default range;
* ``Embedding`` weight: ``randn(shape) * 0.02``;
* ``LayerNorm`` weight: ``1 + 0.1 * randn(shape)``; bias: ``0.1 * randn(shape)`` (perturbed from
  PyTorch's 1 / 0 so that the affine parameters are not trivial).

Inputs (``make_inputs``) are drawn from the SAME generator after all parameters: ``mlp``:
``randn((N, 784))``; ``cnn``: ``randn((N, 1, 28, 28))`` (or ``(N, 784)`` for the flat layout: the
same numbers); ``gpt``: ``randint(0, 64, (N, 32))`` converted to float64. No global RNG state is
read or changed (modules are constructed on the ``meta`` device and materialised with
``to_empty``, so PyTorch's default initialisers never run).

Export (command line)::

    /usr/bin/python3 -m entk_ref.own_models export --model mlp|cnn|gpt --seed S --n N --out DIR \
        [--config '{"hidden": 16}'] [--input-layout image|flat] [--force]

writes ``DIR/model.pt`` (``torch.jit.save(torch.jit.script(model))``), ``DIR/state_dict.pt``
(``torch.save(model.state_dict())``), ``DIR/weights.npz`` (one float64 array per parameter, key =
the named_parameters name with '.' kept), ``DIR/inputs.npy`` (float64 ``(N, ...)``) and
``DIR/meta.json``. ``python3 -m entk_ref.own_models describe --model M [--config ...]`` prints the
meta data without writing anything.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

DTYPE = torch.float64
MODELS = ("mlp", "cnn", "gpt")

DEFAULT_CONFIGS: Dict[str, Dict[str, Any]] = {
    "mlp": {"d_in": 784, "hidden": 512, "classes": 10},
    "cnn": {"side": 28, "c1": 16, "c2": 32, "classes": 10, "input_layout": "image"},
    "gpt": {"vocab": 64, "context": 32, "d_model": 256, "heads": 4, "d_ff": 1024, "layers": 4},
}


class OwnModelError(ValueError):
    """Bad argument to the own-model tools (the message names the argument, expected and actual)."""


# --------------------------------------------------------------------------------------------
# Modules (TorchScript-friendly: no Python-only constructs in forward)
# --------------------------------------------------------------------------------------------

class FlatInputSequential(nn.Sequential):
    """``nn.Sequential`` whose forward reshapes a flat ``(N, side*side)`` input to ``(N, 1, side,
    side)`` first. Children and parameter names are those of the plain Sequential."""

    def __init__(self, side: int, *layers: nn.Module):
        super().__init__(*layers)
        self.side = side

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(x.shape[0], 1, self.side, self.side)
        for m in self:
            x = m(x)
        return x


class CausalSelfAttention(nn.Module):
    """One ``Linear(d, 3d)`` for q|k|v (head-major within each), scaled dot product / sqrt(d/H),
    causal mask, softmax, output ``Linear(d, d)``."""

    def __init__(self, d_model: int, heads: int, device=None, dtype=None):
        super().__init__()
        if d_model % heads != 0:
            raise OwnModelError(f"d_model must be divisible by heads: d_model={d_model}, heads={heads}")
        self.d_model = d_model
        self.heads = heads
        self.head_dim = d_model // heads
        self.sqrt_head_dim = math.sqrt(self.head_dim)
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=True, device=device, dtype=dtype)
        self.proj = nn.Linear(d_model, d_model, bias=True, device=device, dtype=dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B = x.shape[0]
        T = x.shape[1]
        qkv = self.qkv(x)
        q, k, v = qkv.split(self.d_model, dim=-1)
        q = q.reshape(B, T, self.heads, self.head_dim).transpose(1, 2)
        k = k.reshape(B, T, self.heads, self.head_dim).transpose(1, 2)
        v = v.reshape(B, T, self.heads, self.head_dim).transpose(1, 2)
        s = torch.matmul(q, k.transpose(-2, -1)) / self.sqrt_head_dim
        mask = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
        s = s.masked_fill(mask, float("-inf"))
        a = torch.softmax(s, dim=-1)
        y = torch.matmul(a, v).transpose(1, 2).reshape(B, T, self.d_model)
        return self.proj(y)


class FeedForward(nn.Module):
    """``fc2(GELU(fc1(x)))`` with exact (erf) GELU."""

    def __init__(self, d_model: int, d_ff: int, device=None, dtype=None):
        super().__init__()
        self.fc1 = nn.Linear(d_model, d_ff, bias=True, device=device, dtype=dtype)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(d_ff, d_model, bias=True, device=device, dtype=dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-LN transformer block: ``h + attn(ln1(h))`` then ``h + mlp(ln2(h))``."""

    def __init__(self, d_model: int, heads: int, d_ff: int, device=None, dtype=None):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model, device=device, dtype=dtype)
        self.attn = CausalSelfAttention(d_model, heads, device=device, dtype=dtype)
        self.ln2 = nn.LayerNorm(d_model, device=device, dtype=dtype)
        self.mlp = FeedForward(d_model, d_ff, device=device, dtype=dtype)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = h + self.attn(self.ln1(h))
        h = h + self.mlp(self.ln2(h))
        return h


class GPT(nn.Module):
    """GPT-style decoder; input token ids ``(N, T')`` as float64, output last-position logits
    ``(N, vocab)``."""

    def __init__(self, vocab: int = 64, context: int = 32, d_model: int = 256, heads: int = 4,
                 d_ff: int = 1024, layers: int = 4, device=None, dtype=None):
        super().__init__()
        self.vocab = vocab
        self.context = context
        self.tok_emb = nn.Embedding(vocab, d_model, device=device, dtype=dtype)
        self.pos_emb = nn.Embedding(context, d_model, device=device, dtype=dtype)
        self.blocks = nn.ModuleList([Block(d_model, heads, d_ff, device=device, dtype=dtype)
                                     for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d_model, device=device, dtype=dtype)
        self.head = nn.Linear(d_model, vocab, bias=False, device=device, dtype=dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ids = x.long()
        T = ids.shape[1]
        pos = torch.arange(T, device=x.device)
        h = self.tok_emb(ids) + self.pos_emb(pos)
        for blk in self.blocks:
            h = blk(h)
        return self.head(self.ln_f(h[:, -1, :]))


# --------------------------------------------------------------------------------------------
# Building, initialisation, inputs
# --------------------------------------------------------------------------------------------

def resolve_config(model: str, config: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Default config of ``model`` updated by ``config``; unknown keys are refused."""
    if model not in DEFAULT_CONFIGS:
        raise OwnModelError(f"model must be one of {', '.join(MODELS)}; got {model!r}")
    cfg = dict(DEFAULT_CONFIGS[model])
    for k, v in (config or {}).items():
        if k not in cfg:
            raise OwnModelError(f"config key {k!r} is not a setting of model {model!r}; expected one of "
                                f"{sorted(cfg)}")
        cfg[k] = v
    for k, v in cfg.items():
        if k == "input_layout":
            if v not in ("image", "flat"):
                raise OwnModelError(f"input_layout must be 'image' or 'flat'; got {v!r}")
        elif not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise OwnModelError(f"config {k} must be a positive integer; got {v!r}")
    return cfg


def build_model(model: str, config: Optional[Dict[str, Any]] = None) -> nn.Module:
    """The module with UNINITIALISED float64 storage (built on ``meta``, then ``to_empty``); no
    RNG is used. Fill it with :func:`init_parameters` or :func:`load_weights`."""
    cfg = resolve_config(model, config)
    fk = {"device": "meta", "dtype": DTYPE}
    if model == "mlp":
        d, H, C = cfg["d_in"], cfg["hidden"], cfg["classes"]
        m: nn.Module = nn.Sequential(nn.Linear(d, H, **fk), nn.Tanh(), nn.Linear(H, H, **fk), nn.Tanh(),
                                     nn.Linear(H, C, **fk))
    elif model == "cnn":
        s, c1, c2, C = cfg["side"], cfg["c1"], cfg["c2"], cfg["classes"]
        layers = [nn.Conv2d(1, c1, 3, padding=1, **fk), nn.ReLU(), nn.Conv2d(c1, c2, 3, padding=1, **fk),
                  nn.ReLU(), nn.Flatten(), nn.Linear(c2 * s * s, C, **fk)]
        m = nn.Sequential(*layers) if cfg["input_layout"] == "image" else FlatInputSequential(s, *layers)
    else:
        m = GPT(cfg["vocab"], cfg["context"], cfg["d_model"], cfg["heads"], cfg["d_ff"], cfg["layers"], **fk)
    m = m.to_empty(device="cpu")
    m.eval()
    return m


def _owner_kinds(module: nn.Module) -> Dict[str, Tuple[str, int]]:
    """{parameter name: (kind, fan_in)} with kind in linear | embedding | layernorm_weight |
    layernorm_bias."""
    out: Dict[str, Tuple[str, int]] = {}
    for mname, mod in module.named_modules():
        pre = (mname + ".") if mname else ""
        if isinstance(mod, nn.Linear):
            for pn, _ in mod.named_parameters(recurse=False):
                out[pre + pn] = ("uniform", mod.in_features)
        elif isinstance(mod, nn.Conv2d):
            fan_in = mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1]
            for pn, _ in mod.named_parameters(recurse=False):
                out[pre + pn] = ("uniform", fan_in)
        elif isinstance(mod, nn.Embedding):
            out[pre + "weight"] = ("embedding", 0)
        elif isinstance(mod, nn.LayerNorm):
            out[pre + "weight"] = ("layernorm_weight", 0)
            out[pre + "bias"] = ("layernorm_bias", 0)
    return out


def init_parameters(module: nn.Module, seed: int, g: Optional[torch.Generator] = None) -> torch.Generator:
    """Seeded init (see module doc) in named_parameters order; returns the generator (for inputs)."""
    if g is None:
        g = torch.Generator().manual_seed(int(seed))
    kinds = _owner_kinds(module)
    with torch.no_grad():
        for name, p in module.named_parameters():
            kind, fan_in = kinds[name]
            if kind == "uniform":
                bound = 1.0 / math.sqrt(fan_in)
                val = (torch.rand(p.shape, generator=g, dtype=DTYPE) * 2 - 1) * bound
            elif kind == "embedding":
                val = torch.randn(p.shape, generator=g, dtype=DTYPE) * 0.02
            elif kind == "layernorm_weight":
                val = 1 + 0.1 * torch.randn(p.shape, generator=g, dtype=DTYPE)
            else:
                val = 0.1 * torch.randn(p.shape, generator=g, dtype=DTYPE)
            p.copy_(val)
    return g


def input_shape(model: str, config: Optional[Dict[str, Any]] = None) -> Tuple[int, ...]:
    """Shape of ONE input row (without the N axis)."""
    cfg = resolve_config(model, config)
    if model == "mlp":
        return (cfg["d_in"],)
    if model == "cnn":
        s = cfg["side"]
        return (1, s, s) if cfg["input_layout"] == "image" else (s * s,)
    return (cfg["context"],)


def num_outputs(model: str, config: Optional[Dict[str, Any]] = None) -> int:
    cfg = resolve_config(model, config)
    return cfg["vocab"] if model == "gpt" else cfg["classes"]


def make_inputs(model: str, N: int, g: torch.Generator, config: Optional[Dict[str, Any]] = None) -> torch.Tensor:
    """Float64 inputs ``(N, ...)`` from generator ``g`` (see module doc)."""
    if not isinstance(N, int) or N < 1:
        raise OwnModelError(f"n must be a positive integer; got {N!r}")
    cfg = resolve_config(model, config)
    if model == "gpt":
        return torch.randint(0, cfg["vocab"], (N, cfg["context"]), generator=g).to(DTYPE)
    if model == "cnn":
        s = cfg["side"]
        x = torch.randn((N, 1, s, s), generator=g, dtype=DTYPE)
        return x if cfg["input_layout"] == "image" else x.reshape(N, s * s)
    return torch.randn((N,) + input_shape(model, cfg), generator=g, dtype=DTYPE)


def create(model: str, seed: int, N: int, config: Optional[Dict[str, Any]] = None) -> Tuple[nn.Module, torch.Tensor]:
    """(initialised module, inputs) for ``seed``: parameters first, then inputs, one generator."""
    m = build_model(model, config)
    g = init_parameters(m, seed)
    x = make_inputs(model, N, g, config)
    return m, x


def load_weights(module: nn.Module, weights: Dict[str, np.ndarray]) -> nn.Module:
    """Copy ``{name: array}`` into the module's parameters; names and shapes must match exactly."""
    names = [n for n, _ in module.named_parameters()]
    missing = [n for n in names if n not in weights]
    extra = [n for n in weights if n not in names]
    if missing or extra:
        raise OwnModelError(f"weights do not match the model's parameters: missing {missing}, unexpected {extra}")
    with torch.no_grad():
        for n, p in module.named_parameters():
            a = np.asarray(weights[n])
            if tuple(a.shape) != tuple(p.shape):
                raise OwnModelError(f"weights[{n!r}] has shape {tuple(a.shape)}; expected {tuple(p.shape)}")
            t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))
            if not torch.isfinite(t).all():
                raise OwnModelError(f"weights[{n!r}] has non-finite entries")
            p.copy_(t)
    return module


# --------------------------------------------------------------------------------------------
# Parameter groups (layers) for the layerwise workloads
# --------------------------------------------------------------------------------------------

def param_groups(model: str, names: Sequence[str]) -> List[Tuple[str, List[str]]]:
    """Ordered ``[(group name, [parameter names])]`` partitioning all parameters.

    ``gpt``: ``embeddings`` (tok_emb.weight, pos_emb.weight), ``block0`` .. ``block{L-1}`` (all
    ``blocks.i.*``), ``head`` (ln_f.weight, ln_f.bias, head.weight). ``mlp``/``cnn``: one group per
    layer, named ``layer<i>`` after the Sequential index (``layer0``, ``layer2``, ...), holding that
    layer's weight and bias."""
    groups: Dict[str, List[str]] = {}
    order: List[str] = []
    for n in names:
        if model == "gpt":
            if n.startswith("tok_emb.") or n.startswith("pos_emb."):
                g = "embeddings"
            elif n.startswith("blocks."):
                g = "block" + n.split(".")[1]
            else:
                g = "head"
        else:
            g = "layer" + n.split(".")[0]
        if g not in groups:
            groups[g] = []
            order.append(g)
        groups[g].append(n)
    return [(g, groups[g]) for g in order]


# --------------------------------------------------------------------------------------------
# Description, export
# --------------------------------------------------------------------------------------------

ARCHITECTURE_TEXT = {
    "mlp": "nn.Sequential(Linear(d_in,hidden), Tanh, Linear(hidden,hidden), Tanh, Linear(hidden,classes)); "
           "Linear y = x W^T + b; input (N, d_in) float64; output (N, classes).",
    "cnn": "nn.Sequential(Conv2d(1,c1,3,padding=1), ReLU, Conv2d(c1,c2,3,padding=1), ReLU, Flatten, "
           "Linear(c2*side*side, classes)); conv stride 1, zero padding 1, with bias; Flatten(start_dim=1) "
           "feature index c*side*side + h*side + w; input (N,1,side,side) NCHW (input_layout image) or "
           "(N, side*side) reshaped to (N,1,side,side) inside forward (input_layout flat, class "
           "FlatInputSequential, same parameter names); output (N, classes).",
    "gpt": "GPT decoder: h = tok_emb(ids) + pos_emb(arange(T)); per block: h += attn.proj(MHA(ln1(h))) with "
           "qkv = attn.qkv(a) split q|k|v (each d wide, head-major: head i = features [i*hd,(i+1)*hd)), "
           "scores = q k^T / sqrt(hd), causal mask (key j > query i -> -inf), softmax over keys, heads "
           "concatenated back in head-major order; h += mlp.fc2(GELU_erf(mlp.fc1(ln2(h)))); "
           "logits = head(ln_f(h[:, -1, :])) (Linear without bias). LayerNorm eps 1e-5, biased variance. "
           "Input: token ids (N, T<=context) as float64, cast to long in forward; output (N, vocab).",
}

INIT_TEXT = ("one torch.Generator().manual_seed(seed); per parameter in named_parameters order one draw "
             "of its full shape: Linear/Conv2d weight and bias (rand*2-1)/sqrt(fan_in); Embedding "
             "randn*0.02; LayerNorm weight 1+0.1*randn, bias 0.1*randn; then the inputs from the same "
             "generator (mlp/cnn randn((N,)+input_shape), gpt randint(0,vocab,(N,context)) as float64)")


def describe(model: str, config: Optional[Dict[str, Any]] = None, module: Optional[nn.Module] = None) -> Dict[str, Any]:
    cfg = resolve_config(model, config)
    m = module if module is not None else build_model(model, cfg)
    names = [n for n, _ in m.named_parameters()]
    shapes = [list(p.shape) for _, p in m.named_parameters()]
    counts = [int(p.numel()) for _, p in m.named_parameters()]
    return {
        "format": "entk-own-model/1",
        "model": model,
        "config": cfg,
        "dtype": "float64",
        "param_names": names,
        "param_shapes": shapes,
        "param_counts": counts,
        "P": int(sum(counts)),
        "groups": [{"name": g, "params": ps, "P": int(sum(counts[names.index(p)] for p in ps))}
                   for g, ps in param_groups(model, names)],
        "input_shape": list(input_shape(model, cfg)),
        "input_kind": "token ids as float64" if model == "gpt" else "float64 values",
        "outputs": num_outputs(model, cfg),
        "architecture": ARCHITECTURE_TEXT[model],
        "init": INIT_TEXT,
        "buffers": [n for n, _ in m.named_buffers()],
    }


def _atomic_write(path: str, writer) -> None:
    """``writer(tmp_path)`` then ``os.replace`` onto ``path`` (same directory)."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=d)
    os.close(fd)
    try:
        writer(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


EXPORT_FILES = ("model.pt", "state_dict.pt", "weights.npz", "inputs.npy", "meta.json")


def export(model: str, seed: int, N: int, out_dir: str, config: Optional[Dict[str, Any]] = None,
           force: bool = False) -> Dict[str, Any]:
    """Write the five export files into ``out_dir`` (created if needed). Existing files of those
    names are refused unless ``force``. Returns the meta dict (also written as meta.json)."""
    cfg = resolve_config(model, config)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise OwnModelError(f"seed must be an integer; got {seed!r}")
    existing = [f for f in EXPORT_FILES if os.path.exists(os.path.join(out_dir, f))]
    if existing and not force:
        raise OwnModelError(f"out directory {out_dir!r} already holds {existing}; pass --force to replace them")
    m, x = create(model, seed, N, cfg)
    with torch.no_grad():
        y = m(x[: min(N, 4)])
    if not torch.isfinite(y).all():
        raise OwnModelError("the model produced non-finite outputs")
    scripted = torch.jit.script(m)
    with torch.no_grad():
        ys = scripted(x[: min(N, 4)])
    if not torch.equal(ys, y):
        raise RuntimeError("TorchScript module disagrees with the eager module")
    os.makedirs(out_dir, exist_ok=True)
    meta = describe(model, cfg, m)
    meta.update({"seed": int(seed), "N": int(N), "inputs_shape": list(x.shape), "torch_version": torch.__version__,
                 "files": list(EXPORT_FILES)})
    weights = {n: p.detach().numpy().copy() for n, p in m.named_parameters()}
    _atomic_write(os.path.join(out_dir, "model.pt"), lambda t: torch.jit.save(scripted, t))
    _atomic_write(os.path.join(out_dir, "state_dict.pt"), lambda t: torch.save(m.state_dict(), t))

    def _npz(t):
        with open(t, "wb") as fh:
            np.savez(fh, **weights)
    _atomic_write(os.path.join(out_dir, "weights.npz"), _npz)

    def _npy(t):
        with open(t, "wb") as fh:
            np.save(fh, np.ascontiguousarray(x.numpy()), allow_pickle=False)
    _atomic_write(os.path.join(out_dir, "inputs.npy"), _npy)

    def _json(t):
        with open(t, "w", encoding="utf-8") as fh:
            json.dump(meta, fh, indent=1)
    _atomic_write(os.path.join(out_dir, "meta.json"), _json)
    return meta


def load_dir(out_dir: str, model: Optional[str] = None, config: Optional[Dict[str, Any]] = None,
             n: Optional[int] = None) -> Tuple[str, Dict[str, Any], nn.Module, torch.Tensor]:
    """Rebuild the module of an export directory from ``meta.json`` (or ``model``/``config`` when
    there is none), load ``weights.npz`` and ``inputs.npy`` (first ``n`` rows if given).
    Returns (model name, config, module, inputs)."""
    meta_path = os.path.join(out_dir, "meta.json")
    if os.path.exists(meta_path):
        with open(meta_path, "r", encoding="utf-8") as fh:
            meta = json.load(fh)
        if model is not None and model != meta.get("model"):
            raise OwnModelError(f"--model {model!r} disagrees with {meta_path} (model {meta.get('model')!r})")
        model = meta.get("model")
        config = meta.get("config") if config is None else config
    elif model is None:
        raise OwnModelError(f"{out_dir!r} has no meta.json; pass --model")
    cfg = resolve_config(model, config)
    for f in ("weights.npz", "inputs.npy"):
        if not os.path.exists(os.path.join(out_dir, f)):
            raise OwnModelError(f"{out_dir!r} has no {f}")
    m = build_model(model, cfg)
    with np.load(os.path.join(out_dir, "weights.npz"), allow_pickle=False) as z:
        load_weights(m, {k: z[k] for k in z.files})
    xa = np.load(os.path.join(out_dir, "inputs.npy"), allow_pickle=False)
    want = input_shape(model, cfg)
    if xa.ndim != len(want) + 1 or tuple(xa.shape[1:]) != tuple(want):
        if not (model == "gpt" and xa.ndim == 2 and 1 <= xa.shape[1] <= cfg["context"]):
            raise OwnModelError(f"inputs.npy has shape {xa.shape}; expected (N,) + {tuple(want)}")
    if n is not None:
        if n < 1 or n > xa.shape[0]:
            raise OwnModelError(f"n must be in [1, {xa.shape[0]}] (the rows of inputs.npy); got {n}")
        xa = xa[:n]
    x = torch.from_numpy(np.ascontiguousarray(xa, dtype=np.float64))
    if not torch.isfinite(x).all():
        raise OwnModelError("inputs.npy has non-finite entries")
    if model == "gpt":
        if (x != x.round()).any() or x.min() < 0 or x.max() >= cfg["vocab"]:
            raise OwnModelError(f"gpt inputs must be integral token ids in [0, {cfg['vocab']})")
    return model, cfg, m, x


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m entk_ref.own_models", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("export", help="write model.pt, state_dict.pt, weights.npz, inputs.npy, meta.json")
    ex.add_argument("--model", required=True, choices=MODELS)
    ex.add_argument("--seed", type=int, required=True)
    ex.add_argument("--n", type=int, required=True, help="number of input rows")
    ex.add_argument("--out", required=True, help="output directory")
    ex.add_argument("--config", default=None, help="JSON object overriding sizes, e.g. '{\"hidden\": 16}'")
    ex.add_argument("--input-layout", default=None, choices=["image", "flat"], help="cnn only (default image)")
    ex.add_argument("--force", action="store_true", help="replace existing export files")
    de = sub.add_parser("describe", help="print the meta data of a model (nothing is written)")
    de.add_argument("--model", required=True, choices=MODELS)
    de.add_argument("--config", default=None)
    a = ap.parse_args(argv)
    try:
        cfg = json.loads(a.config) if a.config else {}
        if not isinstance(cfg, dict):
            raise OwnModelError(f"--config must be a JSON object; got {a.config!r}")
        if a.cmd == "export":
            if getattr(a, "input_layout", None):
                if a.model != "cnn":
                    raise OwnModelError(f"--input-layout applies to cnn only; got --model {a.model}")
                cfg["input_layout"] = a.input_layout
            meta = export(a.model, a.seed, a.n, a.out, cfg, a.force)
            print(f"exported {a.model} P={meta['P']} N={meta['N']} to {os.path.abspath(a.out)}")
        else:
            print(json.dumps(describe(a.model, cfg), indent=1))
    except (OwnModelError, json.JSONDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

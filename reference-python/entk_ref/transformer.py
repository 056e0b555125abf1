"""The paper's one-layer Transformer on modular addition (docs/paper-notes.md §2.3), written from those notes.

Parameters (a tuple, in this order, float64; ``TRANSFORMER_PARAM_NAMES``):
``W_E [p+1, d]``, ``W_pos [3, d]``, ``W_Q``, ``W_K``, ``W_V [H, d_head, d]``, ``W_O [d, H*d_head]``
(rows = d_model, columns = heads concatenated head-major h*d_head + i), ``W_in [d, d_mlp]``,
``W_out [d_mlp, d]``, ``W_U [d, p+1]``.

Forward (``transformer_forward``), literally as the notes state it, at ALL three positions:
x0_t = W_E[tok_t] + W_pos[t]; per head q_t = W_Q[h] x0_t (likewise k, v); scores q_t.k_s/sqrt(d_head)
for s <= t (causal mask), softmax over s; z_t = concat_h sum_s attn_ts v_s; x1 = x0 + W_O z;
x2 = x1 + ReLU(x1 W_in) W_out; logits = x2 at position 2 times W_U (p+1 outputs). Tokens are given
as a float or integer tensor ``[N, 3]`` (or ``[3]``) of indices (a, b, p).

Initialisation (``transformer_init``): one private ``torch.Generator().manual_seed(seed)``; in
float32 and in the paper notebook's order W_E = randn(p+1, d)/sqrt(d), W_pos = randn(3, d)/sqrt(d),
W_Q, W_K, W_V = randn(H, d_head, d)/sqrt(d), W_O = randn(d, d)/sqrt(d), W_in = randn(d, d_mlp)/sqrt(d_mlp),
W_out = randn(d_mlp, d)/sqrt(d), W_U = randn(d, p+1)/sqrt(p+1); then promoted to float64. The
generator's state afterwards continues the mini-batch order (``AuthorBatchOrder``).

Split (``python_split``): Python's ``random.seed(split_seed); random.shuffle(pairs)`` on the
lexicographic list of pairs (row a*p + b); the first int(frac*p^2) train, the rest test, both in
shuffled order.

Mini-batch order (``AuthorBatchOrder``): the notebook's ``DataLoader(..., shuffle=True)`` draws,
from the generator that initialised the model, one int64 per iterator (its base seed) and one for
the RandomSampler's private generator, which gives ``randperm(n)``; after training epochs e with
e % 20 == 0 the notebook's evaluation iterates the test loader (one draw) and the train loader
(two draws). Here the same draws come from the private generator.

Training (``train_transformer``): ``torch.optim.AdamW`` (single-tensor path), cross-entropy on the
first p logits, mini-batches of ``batch`` in that order; metrics (full-batch losses, accuracies) after
e epochs for e = 0, log_every, ..., epochs.

Kernels (``transformer_kernels``): the all-pairs mean (1/C^2) sum_cd K_cd (C = p+1) per parameter
tensor, from per-sample gradients of the sum of logits by ``vmap(jacrev)`` (docs/paper-notes.md §1.2 item 3:
K_avg = G G^T / C^2), plus "full", "W_out+W_U" and "W_O+W_V".
"""
from __future__ import annotations

import math
import random
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from . import ntk

DTYPE = torch.float64
TRANSFORMER_PARAM_NAMES = ("W_E", "W_pos", "W_Q", "W_K", "W_V", "W_O", "W_in", "W_out", "W_U")
KERNEL_NAMES = TRANSFORMER_PARAM_NAMES + ("full", "W_out+W_U", "W_O+W_V")
EVALUATION_INTERVAL = 20


def shapes(p: int = 29, d_model: int = 64, heads: int = 4, d_mlp: int = 256) -> Dict[str, Tuple[int, ...]]:
    """Shape of every weight, by name."""
    if d_model % heads:
        raise ValueError("heads must divide d_model")
    dh, V = d_model // heads, p + 1
    return {"W_E": (V, d_model), "W_pos": (3, d_model), "W_Q": (heads, dh, d_model), "W_K": (heads, dh, d_model),
            "W_V": (heads, dh, d_model), "W_O": (d_model, d_model), "W_in": (d_model, d_mlp),
            "W_out": (d_mlp, d_model), "W_U": (d_model, V)}


def transformer_forward(params, x: torch.Tensor) -> torch.Tensor:
    """Logits ``[N, p+1]`` (or ``[p+1]`` for one sample) at position 2, full causal forward pass."""
    W_E, W_pos, W_Q, W_K, W_V, W_O, W_in, W_out, W_U = params
    single = x.dim() == 1
    tok = (x[None] if single else x).long()
    heads, dh = W_Q.shape[0], W_Q.shape[1]
    x0 = W_E[tok] + W_pos                                         # [N, 3, d]
    q = torch.einsum("hid,nsd->nhsi", W_Q, x0)
    k = torch.einsum("hid,nsd->nhsi", W_K, x0)
    v = torch.einsum("hid,nsd->nhsi", W_V, x0)
    scores = torch.einsum("nhti,nhsi->nhts", q, k) / math.sqrt(dh)
    mask = torch.triu(torch.ones(3, 3, dtype=torch.bool), diagonal=1)
    scores = scores.masked_fill(mask, float("-inf"))
    attn = torch.softmax(scores, dim=-1)
    z = torch.einsum("nhts,nhsi->nthi", attn, v).reshape(tok.shape[0], 3, heads * dh)
    x1 = x0 + z @ W_O.t()
    x2 = x1 + torch.relu(x1 @ W_in) @ W_out
    logits = x2[:, 2] @ W_U
    return logits[0] if single else logits


def all_inputs(p: int) -> torch.Tensor:
    """All p^2 inputs (a, b, p) as float64 ``[p^2, 3]``, row a*p + b."""
    i = torch.arange(p * p)
    return torch.stack([i // p, i % p, torch.full_like(i, p)], dim=1).to(DTYPE)


def labels(p: int) -> torch.Tensor:
    i = torch.arange(p * p)
    return (i // p + i % p) % p


def transformer_init(seed: int, p: int = 29, d_model: int = 64, heads: int = 4, d_mlp: int = 256):
    """(params float64 tuple, generator continuing after the draws); see the module docstring."""
    g = torch.Generator().manual_seed(int(seed))
    sh = shapes(p, d_model, heads, d_mlp)
    scale = {"W_in": d_mlp, "W_U": p + 1}
    params = []
    for name in TRANSFORMER_PARAM_NAMES:
        w = torch.randn(sh[name], generator=g, dtype=torch.float32) / math.sqrt(scale.get(name, d_model))
        params.append(w.to(DTYPE))
    return tuple(params), g


def python_split(p: int, frac: float = 0.5, split_seed: int = 0) -> Tuple[List[int], List[int]]:
    """Rows a*p + b of the train and test pairs, in the order of the shuffled list."""
    pairs = [(a, b, p) for a in range(p) for b in range(p)]
    rng = random.Random(split_seed)
    rng.shuffle(pairs)
    n = int(frac * len(pairs))
    rows = [a * p + b for a, b, _ in pairs]
    return rows[:n], rows[n:]


class AuthorBatchOrder:
    """The DataLoader stream of the paper's notebook, drawn from a private generator."""

    def __init__(self, generator: torch.Generator):
        self.g = generator

    def _draw(self) -> int:
        return int(torch.empty((), dtype=torch.int64).random_(generator=self.g).item())

    def next_epoch(self, n: int) -> torch.Tensor:
        self._draw()                          # the iterator's base seed
        seed = self._draw()                   # RandomSampler's seed
        return torch.randperm(n, generator=torch.Generator().manual_seed(seed))

    def after_epoch(self, epoch: int) -> None:
        if epoch % EVALUATION_INTERVAL == 0:
            for _ in range(3):
                self._draw()


def _metrics(params, x, y, tr, te, p):
    with torch.no_grad():
        out = transformer_forward(params, x)[:, :p]
        res = {}
        for name, idx in (("train", tr), ("test", te)):
            o, t = out[idx], y[idx]
            res[name + "_loss"] = float(F.cross_entropy(o, t).item())
            res[name + "_acc"] = float((o.argmax(1) == t).double().mean().item())
        return res


def train_transformer(params, p: int, train_idx: Sequence[int], test_idx: Sequence[int], epochs: int,
                      generator: torch.Generator, lr: float = 3e-4, weight_decay: float = 1.0,
                      betas=(0.9, 0.999), eps: float = 1e-8, batch_size: int = 64, log_every: int = 20,
                      checkpoints: Optional[Sequence[int]] = None) -> Dict[str, object]:
    """AdamW mini-batch training (see the module docstring). Returns ``params`` (tuple),
    ``history`` (dict of lists ``epoch, train_loss, test_loss, train_acc, test_acc``) and
    ``checkpoints`` {epoch: params}. The caller's tensors are not modified."""
    W = [t.detach().clone().to(DTYPE).requires_grad_(True) for t in params]
    opt = torch.optim.AdamW(W, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, foreach=False)
    x = all_inputs(p)
    y = labels(p)
    tr = torch.as_tensor(list(train_idx), dtype=torch.long)
    te = torch.as_tensor(list(test_idx), dtype=torch.long)
    xtr, ytr = x[tr], y[tr]
    order = AuthorBatchOrder(generator)
    want = set(int(e) for e in (checkpoints or []))
    hist = {"epoch": [], "train_loss": [], "test_loss": [], "train_acc": [], "test_acc": []}
    ckpt = {}
    n = len(tr)
    for e in range(int(epochs) + 1):
        if e % log_every == 0 or e == epochs:
            m = _metrics(W, x, y, tr, te, p)
            hist["epoch"].append(e)
            for k in ("train_loss", "test_loss", "train_acc", "test_acc"):
                hist[k].append(m[k])
        if e in want:
            ckpt[e] = tuple(w.detach().clone() for w in W)
        if e == epochs:
            break
        perm = order.next_epoch(n)
        for start in range(0, n, batch_size):
            idx = perm[start:start + batch_size]
            opt.zero_grad()
            loss = F.cross_entropy(transformer_forward(W, xtr[idx])[:, :p], ytr[idx])
            loss.backward()
            opt.step()
        order.after_epoch(e)
    return {"params": tuple(w.detach().clone() for w in W), "history": hist, "checkpoints": ckpt}


def sum_gradients(params, x: torch.Tensor, chunk: int = 256) -> List[torch.Tensor]:
    """Per-sample gradients of the sum of logits, one ``[N, P_t]`` block per tensor (vmap(jacrev))."""
    def s(prm, xx):
        return transformer_forward(prm, xx).sum(-1, keepdim=True)
    blocks: Optional[List[List[torch.Tensor]]] = None
    for i in range(0, x.shape[0], chunk):
        part = ntk.jacobian_blocks_functorch(s, params, x[i:i + chunk])
        if blocks is None:
            blocks = [[] for _ in part]
        for b, j in zip(blocks, part):
            b.append(j[:, 0, :])
    return [torch.cat(b, 0) for b in blocks]


def transformer_kernels(params, p: Optional[int] = None) -> Dict[str, torch.Tensor]:
    """The 12 all-pairs-mean kernels [p^2, p^2] on all inputs (see the module docstring)."""
    p = int(params[0].shape[0]) - 1 if p is None else int(p)
    C = p + 1
    G = sum_gradients(tuple(params), all_inputs(p))
    K = {name: g @ g.t() / (C * C) for name, g in zip(TRANSFORMER_PARAM_NAMES, G)}
    full = torch.cat(G, 1)
    K["full"] = full @ full.t() / (C * C)
    K["W_out+W_U"] = K["W_out"] + K["W_U"]
    K["W_O+W_V"] = K["W_O"] + K["W_V"]
    return K


def transformer_kernels_full_jacobian(params, x: torch.Tensor) -> Dict[str, torch.Tensor]:
    """Independent route for small cases: the full per-tensor Jacobians [N, C, P_t] and
    ``ntk.all_pairs_mean`` of the (N, N, C, C) kernel, as the paper computes it."""
    J = ntk.jacobian_blocks_functorch(transformer_forward, tuple(params), x)
    K = {}
    for name, j in zip(TRANSFORMER_PARAM_NAMES, J):
        K[name] = ntk.all_pairs_mean(torch.einsum("ncp,mdp->nmcd", j, j))
    K["full"] = sum(K[n] for n in TRANSFORMER_PARAM_NAMES)
    return K


def fourier_power(W_E, p: int) -> np.ndarray:
    """P_k = mean_d |sum_t W_E[t, d] exp(-2 pi i k t / p)|^2, k = 0..p-1, on rows t = 0..p-1 (numpy FFT)."""
    W = np.asarray(W_E.detach().numpy() if hasattr(W_E, "detach") else W_E, dtype=np.float64)[:p]
    return np.mean(np.abs(np.fft.fft(W, axis=0)) ** 2, axis=1)


def key_frequencies(power: np.ndarray, p: int, max_count: Optional[int] = None) -> Tuple[List[int], float, float]:
    """The documented rule: sort P_1..P_{p//2} descending; keep the m strongest, m maximising
    P_(m)/P_(m+1) for m <= max_count (default max(1, (p//2)//2)), ties to the smaller m.
    Returns (frequencies ascending, gap ratio, power fraction)."""
    half = p // 2
    limit = max(1, half // 2) if max_count is None else int(max_count)
    ks = sorted(range(1, half + 1), key=lambda k: (-power[k], k))
    best, ratio = 1, -math.inf
    for m in range(1, min(limit, half - 1) + 1):
        r = power[ks[m - 1]] / power[ks[m]] if power[ks[m]] > 0 else math.inf
        if r > ratio:
            best, ratio = m, r
    key = sorted(ks[:best])
    total = float(np.sum(power[1:half + 1]))
    return key, ratio, float(np.sum(power[key]) / total) if total > 0 else 0.0

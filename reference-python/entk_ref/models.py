"""Models of the paper as pure functions of ``(params, x)``, plus seeded init and data builders.

Every forward pass takes a tuple of parameter tensors first and a batch (or a single sample) of
inputs second, so that ``functorch.jacrev(f, argnums=0)`` differentiates with respect to the
parameters and ``functorch.vmap(..., in_dims=(None, 0))`` maps over samples.

Parameter order (this fixes the column order of every Jacobian, see ``ntk.py``):

* TMS: ``(W, b)`` with ``W`` of shape ``[m, n]`` and ``b`` of shape ``[n]``  -> names ``("W", "b")``.
* MLP: ``(W1, W2)`` with ``W1`` of shape ``[H, 2p]`` and ``W2`` of shape ``[p, H]`` -> names
  ``("W1", "W2")``.

Randomness: every builder takes an explicit integer ``seed`` and draws from ONE private
``torch.Generator().manual_seed(seed)`` in a documented call order. No global RNG is touched.
Everything is float64.
"""
from __future__ import annotations

import math
from typing import Dict, Tuple

import torch

DTYPE = torch.float64

TMS_PARAM_NAMES = ("W", "b")
MLP_PARAM_NAMES = ("W1", "W2")


# --------------------------------------------------------------------------------------------
# Toy Models of Superposition (docs/paper-notes.md §2.1)
# --------------------------------------------------------------------------------------------

def tms_forward(params: Tuple[torch.Tensor, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """f(x) = ReLU(W^T W x + b).  ``x``: ``[n]`` or ``[N, n]``; returns ``[n]`` or ``[N, n]``.

    ReLU derivative at exactly 0 is 0 (PyTorch convention, docs/paper-notes.md §4.9).
    """
    W, b = params
    h = x @ W.t()            # [.., m]   h = W x
    pre = h @ W + b          # [.., n]   pre = W^T h + b
    return torch.relu(pre)


def tms_init(n: int, m: int, D: int, S: float, seed: int, r: float = 0.8) -> Dict[str, torch.Tensor]:
    """Deterministic TMS weights and data from one generator, in this exact call order:

    1. ``W = randn((m, n), g) * sqrt(2/(m+n))`` (Xavier normal), ``b = zeros(n)``;
    2. ``u = rand((D, n), g)``; 3. ``v = rand((D, n), g)``;
    ``x = where(u < S, 0, v)``; ``x = x / (||x||_row + 1e-8)``.

    Importance ``I_i = r**i``.  Returns dict with ``W [m,n]``, ``b [n]``, ``x [D,n]``,
    ``importance [n]`` (all float64 tensors).
    """
    g = torch.Generator().manual_seed(int(seed))
    W = torch.randn((m, n), generator=g, dtype=DTYPE) * math.sqrt(2.0 / (m + n))
    b = torch.zeros(n, dtype=DTYPE)
    x = tms_data(n, D, S, g)
    importance = tms_importance(n, r)
    return {"W": W, "b": b, "x": x, "importance": importance}


def tms_data(n: int, D: int, S: float, g: torch.Generator) -> torch.Tensor:
    """Sparse, unit-normalised TMS data drawn from generator ``g`` (two ``rand`` calls)."""
    u = torch.rand((D, n), generator=g, dtype=DTYPE)
    v = torch.rand((D, n), generator=g, dtype=DTYPE)
    x = torch.where(u < S, torch.zeros_like(v), v)
    return x / (x.norm(dim=1, keepdim=True) + 1e-8)


def tms_importance(n: int, r: float = 0.8) -> torch.Tensor:
    """I_i = r**i, i = 0..n-1 (computed as float64 powers)."""
    return torch.tensor([float(r) ** i for i in range(n)], dtype=DTYPE)


def tms_loss(params, x: torch.Tensor, importance: torch.Tensor) -> torch.Tensor:
    """Mean over the D*n entries of I_i (f_i(x) - x_i)^2."""
    out = tms_forward(params, x)
    return (importance * (out - x) ** 2).mean()


def tms_reconstructed_count(W, threshold: float = 0.75) -> int:
    """#{i : (W^T W)_ii >= threshold} (= squared column norms of W)."""
    W = torch.as_tensor(W, dtype=DTYPE)
    return int(((W * W).sum(dim=0) >= threshold).sum().item())


# --------------------------------------------------------------------------------------------
# Modular-addition MLP (docs/paper-notes.md §2.2)
# --------------------------------------------------------------------------------------------

def mlp_forward(params: Tuple[torch.Tensor, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """f(x) = (1/H) W2 ((W1 x)/sqrt(2p))^2.  ``x``: ``[2p]`` or ``[N, 2p]``; out ``[p]``/``[N, p]``."""
    W1, W2 = params
    H = W1.shape[0]
    u = (x @ W1.t()) / math.sqrt(W1.shape[1])   # W1.shape[1] = 2p
    return (u * u) @ W2.t() / H


def mlp_inputs(p: int) -> Dict[str, torch.Tensor]:
    """All p^2 inputs, row i = n*p + m: ``x = concat(onehot(n), onehot(m))`` ``[p^2, 2p]``,
    ``labels = (n+m) mod p`` ``[p^2]`` (int64), ``targets = onehot(labels)`` ``[p^2, p]``,
    ``n``, ``m`` index vectors (int64)."""
    idx = torch.arange(p * p)
    n = idx // p
    m = idx % p
    eye = torch.eye(p, dtype=DTYPE)
    x = torch.cat([eye[n], eye[m]], dim=1)
    labels = (n + m) % p
    targets = eye[labels]
    return {"x": x, "labels": labels, "targets": targets, "n": n, "m": m}


def mlp_init(p: int, H: int, seed: int, train_frac: float = 0.7) -> Dict[str, torch.Tensor]:
    """Deterministic MLP init and split from one generator, in this exact call order:

    ``W1 = randn((H, 2p), g)``, ``W2 = randn((p, H), g)``, ``perm = randperm(p*p, g)``;
    ``train = sorted(perm[:int(train_frac*p*p)])``, ``test = sorted(rest)``.
    Returns ``W1``, ``W2`` (float64), ``perm``, ``train_idx``, ``test_idx`` (int64).
    """
    g = torch.Generator().manual_seed(int(seed))
    W1 = torch.randn((H, 2 * p), generator=g, dtype=DTYPE)
    W2 = torch.randn((p, H), generator=g, dtype=DTYPE)
    perm = torch.randperm(p * p, generator=g)
    n_train = int(train_frac * p * p)
    train_idx = torch.sort(perm[:n_train]).values
    test_idx = torch.sort(perm[n_train:]).values
    return {"W1": W1, "W2": W2, "perm": perm, "train_idx": train_idx, "test_idx": test_idx}


def mlp_loss(params, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """MSE, mean over all entries."""
    out = mlp_forward(params, x)
    return ((out - targets) ** 2).mean()


def mlp_accuracy(params, x: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of rows whose argmax output equals the label."""
    with torch.no_grad():
        out = mlp_forward(params, x)
    if out.shape[0] == 0:
        return float("nan")
    return float((out.argmax(dim=1) == labels).double().mean().item())


# --------------------------------------------------------------------------------------------
# Test helper: linear model f(x) = W x + b, closed-form kernel (x.x' + 1) I
# --------------------------------------------------------------------------------------------

def linear_forward(params, x: torch.Tensor) -> torch.Tensor:
    """f(x) = W x + b with ``W [C, d]``, ``b [C]``."""
    W, b = params
    return x @ W.t() + b

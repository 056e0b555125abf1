"""Full-batch training of the TMS model (Adam) and the modular-addition MLP (AdamW).

Both functions copy the initial weights (the caller's tensors are never modified), run in
float64, and return the trained weights plus a loss/metric history. No randomness is used
(full batch), so results depend only on the initial weights.

History conventions (decided here; the paper notes are silent):

* TMS: ``loss[t]`` is the loss of the parameters after ``t`` optimiser steps,
  t = 0..steps (so ``loss[0]`` is the initial loss and ``loss[steps]`` the final one; length
  steps + 1).
* MLP: metrics are logged for the parameters after ``e`` updates for e = 0, log_every,
  2*log_every, ... and always for e = epochs. ``train_loss`` is the full-batch train MSE at
  those parameters (i.e. the loss that the (e+1)-th update starts from), ``test_loss`` the
  test MSE, accuracies are argmax accuracies. ``checkpoints`` (optional epoch list) stores
  W1, W2 after that many updates.
"""
from __future__ import annotations

from typing import Dict, Iterable, Optional

import torch

from . import models


def _leaf(t) -> torch.Tensor:
    return torch.as_tensor(t, dtype=models.DTYPE).detach().clone().requires_grad_(True)


def train_tms(W, b, x, importance, steps: int, lr: float = 1e-3,
              betas=(0.9, 0.999), eps: float = 1e-8) -> Dict[str, object]:
    """Adam (no weight decay), full batch, ``steps`` steps on loss = mean I_i (f_i(x) - x_i)^2.
    Returns ``{"W", "b"}`` (detached float64 tensors) and ``"loss"`` (list of steps+1 floats)."""
    W, b = _leaf(W), _leaf(b)
    x = torch.as_tensor(x, dtype=models.DTYPE)
    importance = torch.as_tensor(importance, dtype=models.DTYPE)
    opt = torch.optim.Adam([W, b], lr=lr, betas=tuple(betas), eps=eps)
    losses = []
    for _ in range(int(steps)):
        opt.zero_grad()
        loss = models.tms_loss((W, b), x, importance)
        losses.append(float(loss.item()))
        loss.backward()
        opt.step()
    with torch.no_grad():
        losses.append(float(models.tms_loss((W, b), x, importance).item()))
    return {"W": W.detach().clone(), "b": b.detach().clone(), "loss": losses}


def train_mlp(W1, W2, p: int, train_idx, test_idx, epochs: int, lr: float = 0.05,
              weight_decay: float = 0.01, betas=(0.9, 0.999), eps: float = 1e-8,
              log_every: int = 10, checkpoints: Optional[Iterable[int]] = None) -> Dict[str, object]:
    """AdamW full batch on MSE (mean over train rows x p outputs) for ``epochs`` epochs.

    Returns ``W1``, ``W2`` (final, detached), ``history`` = dict of lists ``epoch``,
    ``train_loss``, ``test_loss``, ``train_acc``, ``test_acc``, and ``checkpoints`` =
    {epoch: (W1, W2)} for the requested epochs (0..epochs)."""
    data = models.mlp_inputs(p)
    x, targets, labels = data["x"], data["targets"], data["labels"]
    tr = torch.as_tensor(train_idx, dtype=torch.long)
    te = torch.as_tensor(test_idx, dtype=torch.long)
    W1, W2 = _leaf(W1), _leaf(W2)
    opt = torch.optim.AdamW([W1, W2], lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
    want = set(int(e) for e in (checkpoints or []))
    hist = {"epoch": [], "train_loss": [], "test_loss": [], "train_acc": [], "test_acc": []}
    ckpt = {}

    def log(e: int) -> None:
        with torch.no_grad():
            prm = (W1, W2)
            hist["epoch"].append(e)
            hist["train_loss"].append(float(models.mlp_loss(prm, x[tr], targets[tr]).item()))
            hist["test_loss"].append(float(models.mlp_loss(prm, x[te], targets[te]).item())
                                     if te.numel() else float("nan"))
            hist["train_acc"].append(models.mlp_accuracy(prm, x[tr], labels[tr]))
            hist["test_acc"].append(models.mlp_accuracy(prm, x[te], labels[te]))

    for e in range(int(epochs) + 1):
        if e % log_every == 0 or e == epochs:
            log(e)
        if e in want:
            ckpt[e] = (W1.detach().clone(), W2.detach().clone())
        if e == epochs:
            break
        opt.zero_grad()
        loss = models.mlp_loss((W1, W2), x[tr], targets[tr])
        loss.backward()
        opt.step()
    return {"W1": W1.detach().clone(), "W2": W2.detach().clone(), "history": hist, "checkpoints": ckpt}

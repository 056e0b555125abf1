"""Seeded init/data, model definitions, training."""
import math

import numpy as np
import pytest
import torch

from entk_ref import models, train


def test_same_seed_identical_and_global_rng_untouched():
    state = torch.random.get_rng_state().clone()
    a = models.tms_init(8, 3, 20, 0.7, seed=123)
    b = models.tms_init(8, 3, 20, 0.7, seed=123)
    c = models.tms_init(8, 3, 20, 0.7, seed=124)
    for k in ("W", "b", "x", "importance"):
        assert torch.equal(a[k], b[k])
    assert not torch.equal(a["W"], c["W"])
    ma = models.mlp_init(5, 7, seed=9)
    mb = models.mlp_init(5, 7, seed=9)
    for k in ("W1", "W2", "perm", "train_idx", "test_idx"):
        assert torch.equal(ma[k], mb[k])
    assert torch.equal(torch.random.get_rng_state(), state)


def test_tms_init_call_order_and_data():
    n, m, D, S = 6, 2, 40, 0.5
    d = models.tms_init(n, m, D, S, seed=7, r=0.9)
    g = torch.Generator().manual_seed(7)
    W = torch.randn((m, n), generator=g, dtype=torch.float64) * math.sqrt(2 / (m + n))
    u = torch.rand((D, n), generator=g, dtype=torch.float64)
    v = torch.rand((D, n), generator=g, dtype=torch.float64)
    x = torch.where(u < S, torch.zeros_like(v), v)
    x = x / (x.norm(dim=1, keepdim=True) + 1e-8)
    assert torch.equal(d["W"], W) and torch.equal(d["x"], x)
    assert torch.equal(d["b"], torch.zeros(n, dtype=torch.float64))
    assert d["x"].dtype == torch.float64
    norms = d["x"].norm(dim=1)
    assert torch.all(((norms - 1).abs() < 1e-7) | (norms == 0))
    assert torch.allclose(d["importance"], torch.tensor([0.9 ** i for i in range(n)], dtype=torch.float64))


def test_mlp_init_and_inputs():
    p, H = 29, 16
    d = models.mlp_init(p, H, seed=0)
    assert d["W1"].shape == (H, 2 * p) and d["W2"].shape == (p, H)
    tr, te = d["train_idx"], d["test_idx"]
    assert tr.numel() == 588 and te.numel() == 253
    assert torch.equal(tr, torch.sort(tr).values) and torch.equal(te, torch.sort(te).values)
    assert torch.equal(torch.sort(torch.cat([tr, te])).values, torch.arange(p * p))
    g = torch.Generator().manual_seed(0)
    torch.randn((H, 2 * p), generator=g, dtype=torch.float64)
    torch.randn((p, H), generator=g, dtype=torch.float64)
    assert torch.equal(torch.randperm(p * p, generator=g), d["perm"])
    data = models.mlp_inputs(p)
    i = 3 * p + 27
    assert data["x"][i, 3] == 1 and data["x"][i, p + 27] == 1 and data["x"][i].sum() == 2
    assert data["labels"][i] == (3 + 27) % p
    assert torch.equal(data["targets"][i], torch.eye(p, dtype=torch.float64)[(3 + 27) % p])


def test_forward_definitions():
    d = models.tms_init(5, 2, 4, 0.2, seed=1)
    W, b, x = d["W"], torch.linspace(-0.2, 0.2, 5, dtype=torch.float64), d["x"]
    assert torch.allclose(models.tms_forward((W, b), x), torch.relu(x @ (W.t() @ W) + b))
    assert torch.allclose(models.tms_forward((W, b), x[0]), models.tms_forward((W, b), x)[0])
    p, H = 5, 6
    m = models.mlp_init(p, H, seed=2)
    xx = models.mlp_inputs(p)["x"]
    out = models.mlp_forward((m["W1"], m["W2"]), xx)
    ref = ((xx @ m["W1"].t() / math.sqrt(2 * p)) ** 2) @ m["W2"].t() / H
    assert torch.allclose(out, ref, rtol=1e-14)
    assert models.tms_reconstructed_count(torch.eye(3, 4, dtype=torch.float64)) == 3


def test_tms_training_lowers_loss():
    d = models.tms_init(6, 3, 64, 0.5, seed=0)
    t = train.train_tms(d["W"], d["b"], d["x"], d["importance"], steps=300)
    assert len(t["loss"]) == 301
    assert t["loss"][-1] < 0.5 * t["loss"][0]
    assert not torch.equal(t["W"], d["W"])
    # caller's tensors untouched; deterministic
    t2 = train.train_tms(d["W"], d["b"], d["x"], d["importance"], steps=300)
    assert torch.equal(t["W"], t2["W"]) and torch.equal(t["b"], t2["b"])
    assert t["loss"][0] == pytest.approx(float(models.tms_loss((d["W"], d["b"]), d["x"], d["importance"])))


def test_mlp_training_lowers_loss_and_logs():
    p, H = 7, 32
    d = models.mlp_init(p, H, seed=1)
    t = train.train_mlp(d["W1"], d["W2"], p, d["train_idx"], d["test_idx"], epochs=45, log_every=10,
                        checkpoints=[0, 20, 45])
    h = t["history"]
    assert h["epoch"] == [0, 10, 20, 30, 40, 45]
    assert h["train_loss"][-1] < h["train_loss"][0]
    assert all(0 <= a <= 1 for a in h["train_acc"] + h["test_acc"])
    assert torch.equal(t["checkpoints"][0][0], d["W1"])
    assert torch.equal(t["checkpoints"][45][1], t["W2"])
    x = models.mlp_inputs(p)
    tr = d["train_idx"]
    assert h["train_loss"][-1] == pytest.approx(
        float(models.mlp_loss((t["W1"], t["W2"]), x["x"][tr], x["targets"][tr])), rel=1e-12)

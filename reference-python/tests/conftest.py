"""Shared fixtures: tiny float64 TMS / MLP models with explicit seeds (no global RNG)."""
import numpy as np
import pytest
import torch

torch.set_num_threads(2)

F64 = torch.float64


def gen(seed):
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def tms_small():
    """TMS n=5, m=3, D=7 with a non-zero bias and no ReLU input within 1e-3 of the kink, so that
    finite differences are valid. Returns (params, x, importance)."""
    g = gen(11)
    n, m, D = 5, 3, 7
    for _ in range(100):
        W = torch.randn((m, n), generator=g, dtype=F64) * 0.8
        b = torch.randn(n, generator=g, dtype=F64) * 0.3
        x = torch.rand((D, n), generator=g, dtype=F64)
        x = torch.where(x < 0.3, torch.zeros_like(x), x)
        pre = (x @ W.t()) @ W + b
        if pre.abs().min() > 1e-3 and (pre > 0).any() and (pre < 0).any():
            break
    imp = torch.tensor([0.8 ** i for i in range(n)], dtype=F64)
    return (W, b), x, imp


@pytest.fixture
def mlp_small():
    """MLP p=5, H=8. Returns (params, x, p)."""
    from entk_ref import models
    p, H = 5, 8
    g = gen(5)
    W1 = torch.randn((H, 2 * p), generator=g, dtype=F64)
    W2 = torch.randn((p, H), generator=g, dtype=F64)
    x = models.mlp_inputs(p)["x"]
    return (W1, W2), x, p


def rng(seed):
    return np.random.default_rng(seed)

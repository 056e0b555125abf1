"""Jacobian routes, kernel closed forms, reductions, chunking."""
import math

import numpy as np
import pytest
import torch

from entk_ref import models, ntk

F64 = torch.float64


def relmax(a, b):
    a, b = torch.as_tensor(a), torch.as_tensor(b)
    return float((a - b).abs().max() / b.abs().max())


# ------------------------------------------------------------------ Jacobians

@pytest.mark.parametrize("which", ["tms", "mlp"])
def test_jacobian_routes_agree(which, tms_small, mlp_small):
    if which == "tms":
        params, x, _ = tms_small
        fn = models.tms_forward
    else:
        params, x, _ = mlp_small
        x = x[::3]
        fn = models.mlp_forward
    Ja = ntk.jacobian_functorch(fn, params, x)
    Jb = ntk.jacobian_autograd(fn, params, x)
    Jfd = ntk.jacobian_finite_difference(fn, params, x, h=1e-6)
    N, C = x.shape[0], fn(params, x).shape[1]
    assert Ja.shape == (N, C, sum(p.numel() for p in params))
    assert relmax(Ja, Jb) < 1e-13
    assert relmax(Jfd, Ja) < 1e-7


def test_jacobian_column_order_tms(tms_small):
    """P axis = W row-major then b: dJ/db_d = delta_cd g_c, dJ/dW_kl at column k*n + l."""
    (W, b), x, _ = tms_small
    m, n = W.shape
    J = ntk.jacobian_functorch(models.tms_forward, (W, b), x)
    g = ((x @ W.t() @ W + b) > 0).to(F64)
    assert torch.allclose(J[:, :, m * n:], torch.diag_embed(g), atol=0)
    h = x @ W.t()
    k, l, c = 1, 2, 2   # d f_c / d W_kl = g_c (delta_lc h_k + W_kc x_l)
    expected = g[:, c] * (h[:, k] * (l == c) + W[k, c] * x[:, l])
    assert torch.allclose(J[:, c, k * n + l], expected, rtol=1e-13, atol=1e-15)


def test_linear_model_closed_form():
    g = torch.Generator().manual_seed(3)
    C, d = 4, 6
    W = torch.randn((C, d), generator=g, dtype=F64)
    b = torch.randn(C, generator=g, dtype=F64)
    x1 = torch.randn((5, d), generator=g, dtype=F64)
    x2 = torch.randn((3, d), generator=g, dtype=F64)
    expected = (x1 @ x2.t() + 1.0)[:, :, None, None] * torch.eye(C, dtype=F64)
    for method in ("functorch", "autograd"):
        K = ntk.ntk(models.linear_forward, (W, b), x1, x2, method=method)
        assert K.shape == (5, 3, C, C)
        assert relmax(K, expected) < 1e-14


# ------------------------------------------------------------------ closed forms

def test_tms_closed_form(tms_small):
    (W, b), x, _ = tms_small
    g = torch.Generator().manual_seed(8)
    x2 = torch.rand((4, x.shape[1]), generator=g, dtype=F64)
    for a, c in ((x, None), (x, x2)):
        K = ntk.ntk(models.tms_forward, (W, b), a, c)
        Kcf = ntk.tms_kernel_closed_form(W, b, a, c)
        assert relmax(Kcf, K) < 1e-13


def test_tms_closed_form_zero_bias_zero_sample():
    """b = 0 and an all-zero sample: pre = 0 exactly, ReLU'(0) = 0 (PyTorch convention)."""
    d = models.tms_init(6, 3, 9, 0.6, seed=4)
    x = d["x"].clone()
    x[0] = 0.0
    K = ntk.ntk(models.tms_forward, (d["W"], d["b"]), x)
    Kcf = ntk.tms_kernel_closed_form(d["W"], d["b"], x)
    assert relmax(Kcf, K) < 1e-13
    assert float(K[0].abs().max()) == 0.0


def test_mlp_traced_closed_form(mlp_small):
    params, x, p = mlp_small
    lw = ntk.layerwise_ntk(models.mlp_forward, params, models.MLP_PARAM_NAMES, x)
    cf = ntk.mlp_traced_closed_form(*params, x)
    for nm in ("W1", "W2"):
        assert relmax(ntk.trace_mean(lw[nm]), cf[nm]) < 1e-13
    full = ntk.ntk(models.mlp_forward, params, x)
    assert relmax(ntk.trace_mean(full), cf["full"]) < 1e-13


# ------------------------------------------------------------------ layers and reductions

@pytest.mark.parametrize("which", ["tms", "mlp"])
def test_layer_sum_equals_full(which, tms_small, mlp_small):
    if which == "tms":
        params, x, _ = tms_small
        fn, names = models.tms_forward, models.TMS_PARAM_NAMES
    else:
        params, x, _ = mlp_small
        fn, names = models.mlp_forward, models.MLP_PARAM_NAMES
    lw = ntk.layerwise_ntk(fn, params, names, x)
    assert set(lw) == set(names)
    full = ntk.ntk(fn, params, x)
    assert relmax(sum(lw.values()), full) < 1e-14


def test_reductions(mlp_small):
    params, x, p = mlp_small
    K = ntk.ntk(models.mlp_forward, params, x)
    C = K.shape[2]
    tm = sum(K[:, :, c, c] for c in range(C)) / C
    assert relmax(ntk.trace_mean(K), tm) < 1e-15
    assert relmax(ntk.trace_sum(K), C * tm) < 1e-14
    ap = sum(K[:, :, c, d] for c in range(C) for d in range(C)) / C ** 2
    assert relmax(ntk.all_pairs_mean(K), ap) < 1e-14
    assert relmax(ntk.all_pairs_mean_via_sum(models.mlp_forward, params, x), ap) < 1e-13
    assert torch.equal(ntk.block(K, 1, 3), K[:, :, 1, 3])
    # symmetry K_cd(x,x') = K_dc(x',x)
    assert relmax(K.permute(1, 0, 3, 2), K) < 1e-15


def test_flatten_orders(tms_small):
    params, x, _ = tms_small
    K = ntk.ntk(models.tms_forward, params, x)
    N, _, C, _ = K.shape
    A = ntk.flatten_class_major(K)
    B = ntk.flatten_sample_major(K)
    for (n, m, c, d) in [(0, 1, 2, 3), (6, 2, 4, 0), (3, 3, 1, 1)]:
        assert A[c * N + n, d * N + m] == K[n, m, c, d]
        assert B[n * C + c, m * C + d] == K[n, m, c, d]
    assert torch.equal(ntk.unflatten_class_major(A, N, N), K)
    ea = torch.linalg.eigvalsh(A)
    eb = torch.linalg.eigvalsh(B)
    assert float((ea - eb).abs().max()) < 1e-12 * float(ea.abs().max())
    assert float(ea.min()) > -1e-12 * float(ea.max())        # PSD
    # class-major rows of J reproduce the class-major kernel
    J = ntk.jacobian_functorch(models.tms_forward, params, x)
    R = ntk.jacobian_class_major_rows(J)
    assert relmax(R @ R.t(), A) < 1e-14


def test_importance_rescale(tms_small):
    params, x, imp = tms_small
    J = ntk.jacobian_functorch(models.tms_forward, params, x)
    K = ntk.kernel_from_jacobians(J)
    for beta in (0.0, 0.3, 1.0):
        Kr = ntk.importance_rescale(K, imp, beta)
        Jr = ntk.rescale_jacobian(J, imp, beta)
        assert relmax(Kr, ntk.kernel_from_jacobians(Jr)) < 1e-14
        c, d = 1, 3
        assert torch.allclose(Kr[:, :, c, d], K[:, :, c, d] * imp[c] ** (beta / 2) * imp[d] ** (beta / 2))
    assert torch.equal(ntk.importance_rescale(K, imp, 0.0), K)


@pytest.mark.parametrize("max_bytes", [10 ** 9, 2 * 25 * 120 * 8, 2 * 8 * 120 * 8])
def test_traced_chunked(mlp_small, max_bytes):
    """Chunked traced kernels equal the direct ones: class chunks (large budget: all classes at
    once; medium: 2 classes of all 25 samples, P = 120) and sample chunks of 8, last one 1 (small budget)."""
    params, x, p = mlp_small
    K = ntk.traced_kernels_chunked(models.mlp_forward, params, x, models.MLP_PARAM_NAMES, max_bytes=max_bytes)
    cf = ntk.mlp_traced_closed_form(*params, x)
    for nm in ("W1", "W2", "full"):
        assert relmax(K[nm], cf[nm]) < 1e-13
    Ks = ntk.traced_kernels_chunked(models.mlp_forward, params, x, models.MLP_PARAM_NAMES,
                                    max_bytes=max_bytes, reduction="trace_sum")
    assert relmax(Ks["full"], p * cf["full"]) < 1e-13

"""The modular-addition Transformer reference: forward pass, init order, split, batch order, kernels, training."""
import math
import random

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from entk_ref import linalg, ntk
from entk_ref import transformer as T

F64 = torch.float64


def small_params(seed=0, p=5, d=8, heads=2, d_mlp=12, scale=0.7):
    g = torch.Generator().manual_seed(seed)
    sh = T.shapes(p, d, heads, d_mlp)
    return tuple(torch.randn(sh[n], generator=g, dtype=F64) * scale for n in T.TRANSFORMER_PARAM_NAMES)


def naive_forward(params, tokens):
    """Loop over samples, positions and heads; no einsum, no batching."""
    W_E, W_pos, W_Q, W_K, W_V, W_O, W_in, W_out, W_U = params
    H, dh, d = W_Q.shape
    out = []
    for row in tokens.long():
        x0 = [W_E[row[t]] + W_pos[t] for t in range(3)]
        x1 = []
        for t in range(3):
            z = []
            for h in range(H):
                q = W_Q[h] @ x0[t]
                s = torch.stack([q @ (W_K[h] @ x0[u]) / math.sqrt(dh) for u in range(t + 1)])
                a = torch.softmax(s, 0)
                z.append(sum(a[u] * (W_V[h] @ x0[u]) for u in range(t + 1)))
            x1.append(x0[t] + W_O @ torch.cat(z))
        x2 = x1[2] + torch.relu(x1[2] @ W_in) @ W_out
        out.append(x2 @ W_U)
    return torch.stack(out)


def test_forward_equals_naive_loop_and_single_sample():
    params = small_params()
    x = T.all_inputs(5)
    y = T.transformer_forward(params, x)
    assert y.shape == (25, 6)
    scale = y.abs().max()
    assert torch.allclose(y, naive_forward(params, x), atol=1e-13 * scale, rtol=0)
    assert torch.allclose(T.transformer_forward(params, x[7]), y[7], atol=1e-14 * scale, rtol=0)


def test_inputs_labels_rows():
    p = 7
    x = T.all_inputs(p)
    i = 3 * p + 5
    assert x[i].tolist() == [3.0, 5.0, 7.0] and T.labels(p)[i] == (3 + 5) % p


def test_init_order_float32_promoted_and_generator_continues():
    params, g = T.transformer_init(2, p=5, d_model=8, heads=2, d_mlp=12)
    g2 = torch.Generator().manual_seed(2)
    sh = T.shapes(5, 8, 2, 12)
    scale = {"W_in": 12, "W_U": 6}
    for name, w in zip(T.TRANSFORMER_PARAM_NAMES, params):
        ref = (torch.randn(sh[name], generator=g2, dtype=torch.float32) / math.sqrt(scale.get(name, 8))).double()
        assert w.dtype == F64 and torch.equal(w, ref), name
    assert torch.equal(g.get_state(), g2.get_state())


def test_split_is_python_random_shuffle():
    p = 29
    tr, te = T.python_split(p, 0.5, 0)
    pairs = [(i, j, p) for i in range(p) for j in range(p)]
    random.seed(0)
    random.shuffle(pairs)
    assert tr == [a * p + b for a, b, _ in pairs[:420]]
    assert te == [a * p + b for a, b, _ in pairs[420:]]
    assert sorted(tr + te) == list(range(p * p))


def test_batch_order_equals_the_notebooks_dataloader_stream():
    """The notebook's loop with the real DataLoader on the (forked) global RNG, against the emulation."""
    p, seed, epochs, n = 7, 3, 45, 24
    tr, te = T.python_split(p, 0.5, 0)
    x = torch.arange(len(tr))
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for name, shape in T.shapes(p, 8, 2, 12).items():
            torch.randn(shape)                                            # the model's init draws
        train_loader = DataLoader(TensorDataset(x[:n]), batch_size=5, shuffle=True)
        test_loader = DataLoader(TensorDataset(x[:4]), batch_size=5, shuffle=False)
        seen = []
        for epoch in range(epochs):
            seen.append(torch.cat([b[0] for b in train_loader]))
            if epoch % 20 == 0:
                for _ in test_loader:
                    pass
                for _ in train_loader:
                    pass
    _, g = T.transformer_init(seed, p=p, d_model=8, heads=2, d_mlp=12)
    order = T.AuthorBatchOrder(g)
    for epoch in range(epochs):
        assert torch.equal(order.next_epoch(n), seen[epoch]), epoch
        order.after_epoch(epoch)


def test_kernels_sum_route_equals_full_jacobian_route_and_layers_sum_to_full():
    params = small_params(3, p=5)
    K = T.transformer_kernels(params, 5)
    Kj = T.transformer_kernels_full_jacobian(params, T.all_inputs(5))
    for name in T.TRANSFORMER_PARAM_NAMES + ("full",):
        assert torch.allclose(K[name], Kj[name], atol=1e-12 * Kj["full"].abs().max(), rtol=0), name
    total = sum(K[n] for n in T.TRANSFORMER_PARAM_NAMES)
    assert torch.allclose(total, K["full"], atol=1e-12 * K["full"].abs().max(), rtol=0)
    assert torch.allclose(K["W_out+W_U"], K["W_out"] + K["W_U"])
    assert torch.allclose(K["full"], K["full"].t())
    lam, _, _ = linalg.eig_decompose(K["full"], None)
    assert lam.min() > -1e-10 * lam.max()


def test_kernel_entry_by_finite_differences():
    params = small_params(4, p=5)
    x = T.all_inputs(5)[[3, 11]]
    C = 6
    h = 1e-6

    def s(prm, xx):
        return T.transformer_forward(prm, xx).sum(-1)
    # gradient of the logit sum w.r.t. W_in for both samples by central differences
    idx = 6
    grads = []
    for i in range(2):
        g = torch.zeros_like(params[idx])
        flat = g.view(-1)
        for j in range(flat.numel()):
            plus = list(params)
            minus = list(params)
            e = torch.zeros_like(params[idx]).view(-1)
            e[j] = h
            plus[idx] = params[idx] + e.view_as(params[idx])
            minus[idx] = params[idx] - e.view_as(params[idx])
            flat[j] = (s(tuple(plus), x[i:i + 1]) - s(tuple(minus), x[i:i + 1])).item() / (2 * h)
        grads.append(flat.clone())
    k01 = float(grads[0] @ grads[1]) / (C * C)
    K = T.transformer_kernels(params, 5)["W_in"]
    assert abs(K[3, 11].item() - k01) < 1e-6 * abs(K[3, 11].item()) + 1e-9


def test_training_short_run_deterministic_and_learns():
    p = 7
    params, g = T.transformer_init(0, p=p, d_model=16, heads=2, d_mlp=32)
    tr, te = T.python_split(p, 0.5, 0)
    state = torch.random.get_rng_state().clone()
    a = T.train_transformer(params, p, tr, te, 30, g, lr=3e-3, weight_decay=0.1, batch_size=8, log_every=10)
    _, g2 = T.transformer_init(0, p=p, d_model=16, heads=2, d_mlp=32)
    b = T.train_transformer(params, p, tr, te, 30, g2, lr=3e-3, weight_decay=0.1, batch_size=8, log_every=10)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert a["history"]["epoch"] == [0, 10, 20, 30]
    for u, v in zip(a["params"], b["params"]):
        assert torch.equal(u, v)
    assert a["history"]["train_loss"][-1] < 0.7 * a["history"]["train_loss"][0]


def test_key_frequency_rule_on_a_synthetic_embedding():
    p, d = 29, 16
    t = np.arange(p)[:, None]
    rng = np.random.default_rng(0)
    W = 0.02 * rng.standard_normal((p + 1, d))
    for k, amp in ((3, 1.0), (11, 0.8)):
        W[:p] += amp * np.cos(2 * np.pi * k * t / p + rng.uniform(0, 6, (1, d)))
    power = T.fourier_power(W, p)
    assert np.allclose(power[1:], power[1:][::-1])                  # real input: P_k = P_{p-k}
    keys, ratio, frac = T.key_frequencies(power, p)
    assert keys == [3, 11] and ratio > 10 and frac > 0.95
    direct = np.array([np.mean(np.abs((W[:p] * np.exp(-2j * np.pi * k * t / p)).sum(0)) ** 2) for k in range(p)])
    assert np.allclose(power, direct)


def test_bridge_rng_and_train_cases_are_json_and_consistent():
    import json
    from entk_ref import bridge
    r = bridge.transformer_rng_case(4, p=5, d_model=8, heads=2, d_mlp=12, epochs=2)
    json.dumps(r, allow_nan=False)
    params, g = T.transformer_init(4, p=5, d_model=8, heads=2, d_mlp=12)
    assert np.array_equal(np.array(r["W_U"]).reshape(r["W_U_shape"]), params[8].numpy())
    order = T.AuthorBatchOrder(g)
    assert r["perms"][0] == order.next_epoch(len(r["train_idx"])).tolist()
    t = bridge.transformer_train_case(4, 3, p=5, d_model=8, heads=2, d_mlp=12, batch_size=4, log_every=1, threads=1)
    json.dumps(t, allow_nan=False)
    assert t["history"]["epoch"] == [0, 1, 2, 3] and len(t["W_E"]) == 6 * 8

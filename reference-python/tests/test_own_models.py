"""Own models (mlp / cnn / gpt), their export (TorchScript, state_dict, npz) and the functorch
benchmark workloads, checked against a naive per-sample autograd loop on tiny versions."""
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from entk_ref import functorch_bench as fb
from entk_ref import own_models as om

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
F64 = torch.float64

TINY = {
    "mlp": {"d_in": 12, "hidden": 9, "classes": 4},
    "cnn": {"side": 6, "c1": 2, "c2": 3, "classes": 4},
    "gpt": {"vocab": 7, "context": 5, "d_model": 8, "heads": 2, "d_ff": 12, "layers": 2},
}


def naive_jacobian(module, x):
    """Per-parameter Jacobians [(N, C, P_i)] by a loop of torch.autograd.grad over samples and
    outputs on the module itself (no functorch)."""
    params = [p for _, p in module.named_parameters()]
    for p in params:
        p.requires_grad_(True)
    N = x.shape[0]
    blocks = None
    for i in range(N):
        out = module(x[i:i + 1])[0]
        C = out.shape[0]
        if blocks is None:
            blocks = [torch.zeros((N, C, p.numel()), dtype=F64) for p in params]
        for c in range(C):
            gs = torch.autograd.grad(out[c], params, retain_graph=True, allow_unused=True)
            for k, g in enumerate(gs):
                if g is not None:
                    blocks[k][i, c] = g.reshape(-1)
    for p in params:
        p.requires_grad_(False)
    return blocks


def rel_err(a, b):
    a = torch.as_tensor(np.asarray(a) if not torch.is_tensor(a) else a)
    b = torch.as_tensor(np.asarray(b) if not torch.is_tensor(b) else b)
    return float((a - b).abs().max() / b.abs().max())


@pytest.fixture(scope="module")
def tiny_dirs(tmp_path_factory):
    base = tmp_path_factory.mktemp("own")
    out = {}
    for name, cfg in TINY.items():
        d = str(base / name)
        om.export(name, 7, 9 if name != "gpt" else 8, d, cfg)
        out[name] = d
    return out


def load(d):
    name, cfg, m, x = om.load_dir(d)
    return name, cfg, m, x


# ------------------------------------------------------------------------------------------------
# architectures
# ------------------------------------------------------------------------------------------------

def test_full_size_parameter_counts_and_names():
    counts = {"mlp": 669706, "cnn": 255690, "gpt": 3200512}
    for name, P in counts.items():
        d = om.describe(name)
        assert d["P"] == P and sum(d["param_counts"]) == P
        assert d["buffers"] == []
        assert sum(g["P"] for g in d["groups"]) == P
    assert om.describe("mlp")["param_names"] == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    assert om.describe("cnn")["param_names"] == ["0.weight", "0.bias", "2.weight", "2.bias", "5.weight", "5.bias"]
    g = om.describe("gpt")
    assert g["param_names"][:2] == ["tok_emb.weight", "pos_emb.weight"]
    assert g["param_names"][2:14] == ["blocks.0." + s for s in (
        "ln1.weight", "ln1.bias", "attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight", "attn.proj.bias",
        "ln2.weight", "ln2.bias", "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias")]
    assert g["param_names"][-3:] == ["ln_f.weight", "ln_f.bias", "head.weight"]
    assert [x["name"] for x in g["groups"]] == ["embeddings", "block0", "block1", "block2", "block3", "head"]
    assert [x["P"] for x in g["groups"]] == [24576] + [789760] * 4 + [16896]


def reference_gpt(W, ids, cfg):
    """The documented GPT forward from the weights dict, written with plain tensor ops."""
    d, H = cfg["d_model"], cfg["heads"]
    hd = d // H
    N, T = ids.shape

    def ln(h, pre):
        mu = h.mean(-1, keepdim=True)
        var = ((h - mu) ** 2).mean(-1, keepdim=True)
        return (h - mu) / torch.sqrt(var + 1e-5) * W[pre + ".weight"] + W[pre + ".bias"]

    def lin(h, pre, bias=True):
        y = h @ W[pre + ".weight"].t()
        return y + W[pre + ".bias"] if bias else y
    h = W["tok_emb.weight"][ids] + W["pos_emb.weight"][torch.arange(T)]
    for b in range(cfg["layers"]):
        p = f"blocks.{b}."
        qkv = lin(ln(h, p + "ln1"), p + "attn.qkv")
        heads = []
        for i in range(H):
            q = qkv[:, :, i * hd:(i + 1) * hd]
            k = qkv[:, :, d + i * hd:d + (i + 1) * hd]
            v = qkv[:, :, 2 * d + i * hd:2 * d + (i + 1) * hd]
            s = q @ k.transpose(1, 2) / math.sqrt(hd)
            for qi in range(T):
                s[:, qi, qi + 1:] = -math.inf
            heads.append(torch.softmax(s, -1) @ v)
        h = h + lin(torch.cat(heads, -1), p + "attn.proj")
        a = lin(ln(h, p + "ln2"), p + "mlp.fc1")
        a = 0.5 * a * (1 + torch.erf(a / math.sqrt(2)))
        h = h + lin(a, p + "mlp.fc2")
    return lin(ln(h[:, -1], "ln_f"), "head", bias=False)


def test_gpt_forward_matches_documented_formula():
    cfg = dict(TINY["gpt"], heads=2, d_model=8)
    m, x = om.create("gpt", 3, 6, cfg)
    W = {n: p.detach() for n, p in m.named_parameters()}
    with torch.no_grad():
        y = m(x)
        yr = reference_gpt(W, x.long(), cfg)
        y_short = m(x[:, :3])            # shorter sequences are allowed
        yr_short = reference_gpt(W, x[:, :3].long(), cfg)
    assert y.shape == (6, cfg["vocab"])
    assert rel_err(y, yr) < 1e-13 and rel_err(y_short, yr_short) < 1e-13
    # causal: changing the last token changes the output, the model is not permutation-invariant
    x2 = x.clone()
    x2[:, 0], x2[:, 1] = x[:, 1], x[:, 0]
    with torch.no_grad():
        assert not torch.allclose(m(x2), y)


def test_cnn_and_mlp_forward_match_functional_ops():
    m, x = om.create("cnn", 1, 3, TINY["cnn"])
    W = {n: p.detach() for n, p in m.named_parameters()}
    F = torch.nn.functional
    h = F.relu(F.conv2d(x, W["0.weight"], W["0.bias"], padding=1))
    h = F.relu(F.conv2d(h, W["2.weight"], W["2.bias"], padding=1))
    yr = h.reshape(3, -1) @ W["5.weight"].t() + W["5.bias"]
    with torch.no_grad():
        assert rel_err(m(x), yr) < 1e-14
    # the flat layout: same parameter names, same numbers for the same seed, reshaped input
    mf, xf = om.create("cnn", 1, 3, dict(TINY["cnn"], input_layout="flat"))
    assert [n for n, _ in mf.named_parameters()] == [n for n, _ in m.named_parameters()]
    assert torch.equal(xf, x.reshape(3, -1))
    with torch.no_grad():
        assert torch.equal(mf(xf), m(x))
    m2, x2 = om.create("mlp", 1, 3, TINY["mlp"])
    W = {n: p.detach() for n, p in m2.named_parameters()}
    h = torch.tanh(x2 @ W["0.weight"].t() + W["0.bias"])
    h = torch.tanh(h @ W["2.weight"].t() + W["2.bias"])
    with torch.no_grad():
        assert rel_err(m2(x2), h @ W["4.weight"].t() + W["4.bias"]) < 1e-14


def test_init_is_seeded_and_leaves_global_rng_alone():
    state = torch.get_rng_state()
    a, xa = om.create("gpt", 5, 4, TINY["gpt"])
    b, xb = om.create("gpt", 5, 4, TINY["gpt"])
    c, _ = om.create("gpt", 6, 4, TINY["gpt"])
    assert torch.equal(torch.get_rng_state(), state)
    for (n, p), (_, q), (_, r) in zip(a.named_parameters(), b.named_parameters(), c.named_parameters()):
        assert torch.equal(p, q), n
        assert not torch.equal(p, r), n
    assert torch.equal(xa, xb)
    assert xa.dtype == F64 and ((xa >= 0) & (xa < 7) & (xa == xa.round())).all()
    # documented init ranges
    m, _ = om.create("mlp", 0, 1)
    w = dict(m.named_parameters())
    assert w["0.weight"].abs().max() <= 1 / math.sqrt(784) and w["4.bias"].abs().max() <= 1 / math.sqrt(512)
    g = dict(b.named_parameters())
    assert abs(float(g["blocks.0.ln1.weight"].mean()) - 1) < 0.2 and float(g["tok_emb.weight"].std()) < 0.05


def test_bad_arguments_are_refused_with_names():
    with pytest.raises(om.OwnModelError, match="hidden"):
        om.resolve_config("mlp", {"hidden": 0})
    with pytest.raises(om.OwnModelError, match="widht"):
        om.resolve_config("mlp", {"widht": 3})
    with pytest.raises(om.OwnModelError, match="model must be one of"):
        om.resolve_config("rnn")
    with pytest.raises(om.OwnModelError, match="divisible"):
        om.build_model("gpt", {"d_model": 10, "heads": 3})
    m = om.build_model("mlp", TINY["mlp"])
    with pytest.raises(om.OwnModelError, match="shape"):
        om.load_weights(m, {n: np.zeros(3) for n, _ in m.named_parameters()})
    with pytest.raises(om.OwnModelError, match="missing"):
        om.load_weights(m, {})


# ------------------------------------------------------------------------------------------------
# export round trip
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["mlp", "cnn", "gpt"])
def test_export_round_trip(tiny_dirs, name):
    d = tiny_dirs[name]
    meta = json.load(open(os.path.join(d, "meta.json")))
    x = torch.from_numpy(np.load(os.path.join(d, "inputs.npy")))
    assert x.dtype == F64 and list(x.shape) == meta["inputs_shape"] == [meta["N"]] + meta["input_shape"]
    _, _, m, x2 = load(d)
    assert torch.equal(x, x2)
    # weights.npz: one float64 array per parameter, in named_parameters order
    with np.load(os.path.join(d, "weights.npz")) as z:
        assert z.files == meta["param_names"] == [n for n, _ in m.named_parameters()]
        assert [list(z[k].shape) for k in z.files] == meta["param_shapes"]
        assert all(z[k].dtype == np.float64 for k in z.files)
    ref, _ = om.create(name, 7, 1, TINY[name])
    for (n, p), (_, q) in zip(m.named_parameters(), ref.named_parameters()):
        assert torch.equal(p, q), n
    with torch.no_grad():
        y = m(x)
        ts = torch.jit.load(os.path.join(d, "model.pt"))
        assert [n for n, _ in ts.named_parameters()] == meta["param_names"]
        assert all(p.dtype == F64 for p in ts.parameters())
        assert torch.equal(ts(x), y)
        m2 = om.build_model(name, meta["config"])
        m2.load_state_dict(torch.load(os.path.join(d, "state_dict.pt")))
        assert torch.equal(m2(x), y)
    assert y.shape == (meta["N"], meta["outputs"])
    # gradients flow through the loaded TorchScript module
    ps = list(ts.parameters())
    for p in ps:
        p.requires_grad_(True)
    g = torch.autograd.grad(ts(x[:2]).sum(), ps)
    assert all(torch.isfinite(t).all() for t in g) and any(t.abs().sum() > 0 for t in g)


def test_export_refuses_to_overwrite(tmp_path):
    d = str(tmp_path / "e")
    om.export("mlp", 1, 3, d, TINY["mlp"])
    before = open(os.path.join(d, "inputs.npy"), "rb").read()
    with pytest.raises(om.OwnModelError, match="--force"):
        om.export("mlp", 2, 3, d, TINY["mlp"])
    assert open(os.path.join(d, "inputs.npy"), "rb").read() == before
    om.export("mlp", 2, 3, d, TINY["mlp"], force=True)
    assert open(os.path.join(d, "inputs.npy"), "rb").read() != before
    assert sorted(os.listdir(d)) == sorted(om.EXPORT_FILES)     # no temporary files left


# ------------------------------------------------------------------------------------------------
# functorch workloads against the naive loop
# ------------------------------------------------------------------------------------------------

def naive_traced(blocks):
    C = blocks[0].shape[1]
    return [torch.einsum("ncp,mcp->nm", b, b) / C for b in blocks]


@pytest.mark.parametrize("name", ["mlp", "cnn", "gpt"])
@pytest.mark.parametrize("mode,chunk,class_chunk", [(None, None, None), ("stored", 2, 3), ("pairs", 4, 2)])
def test_per_tensor_and_traced_match_naive_loop(tiny_dirs, name, mode, chunk, class_chunk):
    d = tiny_dirs[name]
    _, _, m, x = load(d)
    blocks = naive_jacobian(m, x)
    Kn = naive_traced(blocks)
    names = [n for n, _ in m.named_parameters()]
    r = fb.run("per_tensor", d, topk=4, mode=mode, chunk=chunk, class_chunk=class_chunk, return_arrays=True)
    K = r["_arrays"]["kernels"]
    if mode:
        assert r["chunks"]["mode"] == mode and r["chunks"]["samples"] == chunk and r["chunks"]["classes"] == class_chunk
    for n, kn in zip(names, Kn):
        assert rel_err(K[n], kn) < 1e-12, n
    full = sum(Kn)
    assert rel_err(K["full"], full) < 1e-12
    lam = torch.linalg.eigvalsh(full).flip(0)[:4]
    assert rel_err(r["eigenvalues"], lam) < 1e-12
    for n, kn in zip(names, Kn):
        ln = torch.linalg.eigvalsh(kn).flip(0)[:4]
        assert float((torch.tensor(r["spectra"][n], dtype=F64) - ln).abs().max()) <= 1e-12 * max(float(full.abs().max()), 1e-300)
    rt = fb.run("traced_topk", d, topk=4, mode=mode, chunk=chunk, class_chunk=class_chunk, return_arrays=True)
    assert rel_err(rt["_arrays"]["kernels"]["full"], full) < 1e-12
    assert rel_err(rt["eigenvalues"], lam) < 1e-12
    V = rt["_arrays"]["vectors"]
    lt = torch.tensor(rt["eigenvalues"], dtype=F64)
    assert float((full @ V - V * lt).abs().max()) < 1e-12 * float(lt[0])          # A V = V Λ
    assert float((V.t() @ V - torch.eye(4, dtype=F64)).abs().max()) < 1e-12      # V^T V = I


@pytest.mark.parametrize("name", ["mlp", "cnn", "gpt"])
@pytest.mark.parametrize("mode,chunk", [(None, None), ("stored", 3), ("pairs", 3)])
def test_layer_allpairs_match_naive_loop(tiny_dirs, name, mode, chunk):
    d = tiny_dirs[name]
    model, _, m, x = load(d)
    blocks = naive_jacobian(m, x)
    names = [n for n, _ in m.named_parameters()]
    C = blocks[0].shape[1]
    r = fb.run("layer_allpairs_topk", d, topk=3, mode=mode, chunk=chunk, return_arrays=True)
    groups = om.param_groups(model, names)
    assert [g["name"] for g in r["groups"]] == [g for g, _ in groups]
    full = 0
    for gname, pnames in groups:
        G = torch.cat([blocks[names.index(p)].sum(1) for p in pnames], dim=1)
        Kg = G @ G.t() / C ** 2
        full = full + Kg
        assert rel_err(r["_arrays"]["kernels"][gname], Kg) < 1e-12, gname
        lg = torch.linalg.eigvalsh(Kg).flip(0)[:3]
        assert float((torch.tensor(r["spectra"][gname], dtype=F64) - lg).abs().max()) <= 1e-12 * float(lg[0]), gname
        if mode:
            grp = next(g for g in r["groups"] if g["name"] == gname)
            assert grp["chunks"]["mode"] == mode and grp["chunks"]["samples"] == chunk
    assert rel_err(r["_arrays"]["kernels"]["full"], full) < 1e-12
    assert rel_err(r["eigenvalues"], torch.linalg.eigvalsh(full).flip(0)[:3]) < 1e-12


@pytest.mark.parametrize("name", ["mlp", "cnn", "gpt"])
def test_flat_eigsh_matches_dense_eigh(tiny_dirs, name):
    d = tiny_dirs[name]
    _, _, m, x = load(d)
    blocks = naive_jacobian(m, x)
    J = torch.cat(blocks, dim=2)                       # (N, C, P)
    N, C, P = J.shape
    Jr = J.reshape(N * C, P)                            # sample-major rows n*C + c
    K = Jr @ Jr.t()
    lam = torch.linalg.eigvalsh(K).flip(0)
    k = 5
    r = fb.run("flat_eigsh", d, topk=k, chunk=3, return_arrays=True)
    assert r["chunks"]["samples"] == 3 and r["applications"] > 0 and r["residual_applications"] == k
    w = np.array(r["eigenvalues"])
    assert np.abs(w - lam[:k].numpy()).max() <= 1e-10 * float(lam[0])
    V = r["_arrays"]["vectors"]
    Vt = torch.from_numpy(V)
    res = ((K @ Vt - Vt * torch.from_numpy(w)).norm(dim=0) / float(lam[0])).numpy()
    assert np.abs(res - np.array(r["residuals"])).max() < 1e-12
    assert max(r["residuals"]) < 1e-8
    assert np.abs(V.T @ V - np.eye(k)).max() < 1e-10
    assert r["tol"] == 1e-10 and r["row_order"].startswith("sample-major")


def test_flat_operator_is_j_jt(tiny_dirs):
    """One product of the operator equals J (J^T v) from the naive Jacobian, cached or not."""
    d = tiny_dirs["mlp"]
    _, _, m, x = load(d)
    J = torch.cat(naive_jacobian(m, x), dim=2)
    N, C, P = J.shape
    v = torch.randn((N, C), generator=torch.Generator().manual_seed(4), dtype=F64)
    want = torch.einsum("ncp,p->nc", J, torch.einsum("ncp,nc->p", J, v))
    for cache in (True, False):
        op = fb.FlatOperator(fb.Functional(m), x, C, chunk=4, cache_vjp=cache)
        got = torch.from_numpy(op.matvec(v.reshape(-1).numpy())).reshape(N, C)
        assert rel_err(got, want) < 1e-13
        assert op.applications == 1


def test_plan_respects_budget():
    N, C, P, act = 1000, 10, 669706, 30000
    fixed = 3 * N * N * 8
    p = fb.plan_jacobian(N, C, P, act, 8 * 2 ** 30, fixed)
    assert p["mode"] == "stored" and p["classes"] == 1 and p["estimate_bytes"] <= 8 * 2 ** 30
    assert p["samples"] > 16
    p2 = fb.plan_jacobian(N, C, P, act, 4 * 2 ** 30, fixed)           # one class of all samples: 5.4 GB
    assert p2["mode"] == "pairs" and p2["classes"] == 1 and p2["estimate_bytes"] <= 4 * 2 ** 30
    assert p2["samples"] > 100
    with pytest.raises(fb.OwnModelError, match="mem-gb"):
        fb.plan_jacobian(N, C, P, act, 2 ** 20, fixed)


def test_run_refuses_bad_arguments(tiny_dirs, tmp_path):
    d = tiny_dirs["mlp"]
    with pytest.raises(fb.OwnModelError, match="workload"):
        fb.run("flat", d)
    with pytest.raises(fb.OwnModelError, match="topk"):
        fb.run("flat_eigsh", d, topk=36)                   # N*C = 36
    with pytest.raises(fb.OwnModelError, match="n must be"):
        fb.run("traced_topk", d, n=100)
    with pytest.raises(fb.OwnModelError, match="meta.json"):
        fb.run("traced_topk", str(tmp_path))
    (tmp_path / "v.npy").write_bytes(b"x")
    with pytest.raises(fb.OwnModelError, match="exists"):
        fb.run("traced_topk", d, save_vectors=str(tmp_path / "v.npy"))


# ------------------------------------------------------------------------------------------------
# command lines and the JSON contract
# ------------------------------------------------------------------------------------------------

def _py(args, **kw):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(REPO, "reference-python")
    return subprocess.run([sys.executable, "-m"] + args, env=env, capture_output=True, text=True, **kw)


def test_cli_contract(tmp_path):
    d = str(tmp_path / "gpt")
    cfg = json.dumps(TINY["gpt"])
    r = _py(["entk_ref.own_models", "export", "--model", "gpt", "--seed", "2", "--n", "6", "--out", d, "--config", cfg])
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(d)) == sorted(om.EXPORT_FILES)
    r = _py(["entk_ref.own_models", "export", "--model", "gpt", "--seed", "2", "--n", "6", "--out", d, "--config", cfg])
    assert r.returncode == 2 and r.stderr.strip().startswith("error:") and len(r.stderr.strip().splitlines()) == 1
    out = str(tmp_path / "r.json")
    vec = str(tmp_path / "v.npy")
    r = _py(["entk_ref.functorch_bench", "--workload", "flat_eigsh", "--dir", d, "--json", out, "--topk", "3",
             "--save-vectors", vec, "--quiet"])
    assert r.returncode == 0, r.stderr
    j = json.load(open(out))
    for key in ("format", "workload", "dir", "model", "config", "dtype", "threads", "torch_version", "N", "C", "P",
                "topk", "mem_gb", "chunks", "seconds", "peak_rss_mb", "eigenvalues", "applications",
                "residual_applications", "tol", "ncv", "residuals", "vectors_file"):
        assert key in j, key
    assert j["threads"] == 2 and j["dtype"] == "float64" and j["N"] == 6 and j["C"] == 7
    assert set(j["seconds"]) == {"load", "setup", "products", "eigsh", "residuals", "total"}
    assert np.load(vec).shape == (6 * 7, 3)
    r = _py(["entk_ref.functorch_bench", "--workload", "flat_eigsh", "--dir", d, "--json", out])
    assert r.returncode == 2 and "exists" in r.stderr
    r = _py(["entk_ref.functorch_bench", "--list"])
    assert r.returncode == 0 and [ln.split("\t")[0] for ln in r.stdout.splitlines()] == list(fb.WORKLOADS)

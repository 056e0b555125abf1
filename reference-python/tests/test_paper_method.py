"""The paper-pipeline benchmark module gives the reference results on small workloads."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from entk_ref import linalg, models, ntk, paper_method

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_tms_flat_matches_reference():
    n, m, D, beta = 5, 3, 8, 1.0
    r = paper_method.run("tms_flat", n=n, m=m, D=D, S=0.3, beta=beta, seed=2, topk=15, chunk=3)
    d = models.tms_init(n, m, D, 0.3, 2)
    K = ntk.tms_kernel_closed_form(d["W"], d["b"], d["x"])
    Kf = ntk.flatten_class_major(ntk.importance_rescale(K, d["importance"], beta))
    lam, _, ridge = linalg.eig_decompose(Kf, 15)
    assert r["matrix_size"] == n * D and r["chunk"] == 3
    assert np.abs(np.array(r["eigenvalues"]) - lam).max() < 1e-12 * lam[0]
    assert r["ridge"] == pytest.approx(ridge, rel=1e-12)
    assert set(r["seconds"]) == {"setup", "jacobian", "contract", "reduce", "eigh", "total"}
    assert r["peak_rss_mb"] > 0


def test_mlp_traced_and_flat_match_reference():
    p, H = 5, 8
    r = paper_method.run("mlp_traced", p=p, H=H, seed=1, topk=10, chunk=7)
    d = models.mlp_init(p, H, 1)
    x = models.mlp_inputs(p)["x"]
    cf = ntk.mlp_traced_closed_form(d["W1"], d["W2"], x)["full"]
    lam, _, _ = linalg.eig_decompose(cf, 10)
    assert np.abs(np.array(r["eigenvalues"]) - lam).max() < 1e-12 * lam[0]
    p2 = 3
    rf = paper_method.run("mlp_flat_dense", p=p2, H=4, seed=0, topk=12, chunk=4)
    d2 = models.mlp_init(p2, 4, 0)
    K = ntk.ntk(models.mlp_forward, (d2["W1"], d2["W2"]), models.mlp_inputs(p2)["x"])
    lam2, _, _ = linalg.eig_decompose(ntk.flatten_class_major(K), 12)
    assert rf["matrix_size"] == 27
    assert np.abs(np.array(rf["eigenvalues"]) - lam2).max() < 1e-12 * lam2[0]
    r32 = paper_method.run("mlp_traced", p=p, H=H, seed=1, topk=10, dtype="float32")
    assert np.abs(np.array(r32["eigenvalues"]) - lam).max() < 1e-4 * lam[0]


def test_cli(tmp_path):
    out = tmp_path / "o.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(REPO, "reference-python")
    subprocess.run([sys.executable, "-m", "entk_ref.paper_method", "--workload", "tms_flat", "--n", "4",
                    "--m", "2", "--D", "5", "--topk", "6", "--json", str(out)], check=True, env=env,
                   capture_output=True)
    r = json.loads(out.read_text())
    assert r["workload"] == "tms_flat" and len(r["eigenvalues"]) == 6 and r["threads"] == 2


def test_eigh_fallback(monkeypatch):
    """When torch's eigh raises (Debian float32 LAPACK workspace bug), scipy evd is used."""
    ref = paper_method.run("tms_flat", n=5, m=3, D=8, S=0.3, topk=8)

    def boom(*a, **k):
        raise RuntimeError("linalg.eigh: Argument 8 has illegal value")
    monkeypatch.setattr(torch.linalg, "eigh", boom)
    r = paper_method.run("tms_flat", n=5, m=3, D=8, S=0.3, topk=8)
    assert r["eigh_backend"].startswith("scipy")
    assert np.abs(np.array(r["eigenvalues"]) - np.array(ref["eigenvalues"])).max() < 1e-12 * ref["eigenvalues"][0]
    assert ref["eigenvalues"][0] > 0


def test_transformer_layers_matches_reference_and_extrapolates_row_blocks():
    from entk_ref import transformer as T
    p = 5
    r = paper_method.run("transformer_layers", p=p, seed=1, topk=10, chunk=7)
    params, _ = T.transformer_init(1, p)
    K = T.transformer_kernels(params, p)
    for name in T.KERNEL_NAMES:
        lam, _, _ = linalg.eig_decompose(K[name], 10)
        assert np.abs(np.array(r["eigenvalues_by_kernel"][name]) - lam).max() < 1e-10 * lam[0], name
    assert r["row_blocks_total"] == 4 and r["row_blocks_done"] == 4
    part = paper_method.run("transformer_layers", p=p, seed=1, topk=10, chunk=7, row_blocks=1)
    assert part["row_blocks_done"] == 1 and part["eigenvalues"] is None
    s = part["seconds"]
    assert part["extrapolated_total"] == pytest.approx(s["setup"] + (s["jacobian"] + s["contract"] + s["reduce"]) * 4 + s["eigh"])

"""Bridge entry points end to end on tiny case directories written here with numpy."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from entk_ref import bridge, linalg, metrics, models, ntk, npyio

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def write_tms_case(dirpath, seed=0, n=6, m=3, D=10, S=0.3, steps=150):
    d = models.tms_init(n, m, D, S, seed)
    from entk_ref import train
    t = train.train_tms(d["W"], d["b"], d["x"], d["importance"], steps, lr=1e-2)
    W, b = t["W"].numpy(), t["b"].numpy()
    x, imp = d["x"].numpy(), d["importance"].numpy()
    np.savez(os.path.join(dirpath, "weights.npz"), W=W, b=b)
    np.save(os.path.join(dirpath, "inputs.npy"), x)
    np.save(os.path.join(dirpath, "importance.npy"), imp)
    return W, b, x, imp


def fake_csharp_tms(dirpath, W, b, x, imp, betas, k):
    """'C#' outputs from an independent route: closed-form kernel + numpy eigh; eigenvectors
    sign-flipped and rotated within degenerate blocks."""
    Wt, bt, xt = (torch.as_tensor(a) for a in (W, b, x))
    K4 = ntk.tms_kernel_closed_form(Wt, bt, xt)
    J = ntk.jacobian_autograd(models.tms_forward, (Wt, bt), xt).numpy()
    np.save(os.path.join(dirpath, "jacobian.npy"), J)
    mets = {"reconstructed_count": metrics.reconstructed_count(W)}
    rng = np.random.default_rng(0)
    for beta in betas:
        Kf = ntk.flatten_class_major(ntk.importance_rescale(K4, imp, beta)).numpy()
        w, V = np.linalg.eigh(Kf + 1e-8 * np.mean(np.diag(Kf)) * np.eye(Kf.shape[0]))
        w, V = w[::-1][:k], V[:, ::-1][:, :k] * rng.choice([-1.0, 1.0], size=k)
        for (s, e) in linalg.gap_blocks(w):
            if e - s > 1:
                Q, _ = np.linalg.qr(rng.standard_normal((e - s, e - s)))
                V[:, s:e] = V[:, s:e] @ Q
        tag = bridge.format_beta(beta)
        np.save(os.path.join(dirpath, f"kernel_flat_beta{tag}.npy"), Kf)
        np.save(os.path.join(dirpath, f"eigenvalues_beta{tag}.npy"), w)
        np.save(os.path.join(dirpath, f"eigenvectors_beta{tag}.npy"), V)
        cos = metrics.tms_cosines(x, V)
        np.save(os.path.join(dirpath, f"heatmap_beta{tag}.npy"), metrics.column_normalise(cos))
        mets[f"beta{tag}"] = {"mmcs": metrics.mmcs(cos), "matched_score": metrics.matched_score(cos),
                              "diagonal_count": metrics.diagonal_count(metrics.column_normalise(cos))}
    with open(os.path.join(dirpath, "metrics.json"), "w") as fh:
        json.dump(mets, fh)


def test_format_beta():
    assert [bridge.format_beta(b) for b in (0, 1.0, 0.3, 0.33, 2)] == ["0", "1", "0.3", "0.33", "2"]


def test_tms_case_dense_and_pside(tmp_path):
    d = str(tmp_path)
    W, b, x, imp = write_tms_case(d)
    betas, k = [0.0, 1.0, 0.3], 20
    r0 = bridge.tms_case(d, betas, k)        # no C# files yet
    assert r0["route"] == "dense" and r0["N"] == 10 and r0["C"] == 6 and r0["P"] == 24
    assert r0["results"][0]["kernel_max_rel_err"] is None and r0["metrics_compare"] is None
    fake_csharp_tms(d, W, b, x, imp, betas, k)
    r = bridge.tms_case(d, betas, k, return_heatmaps=True)
    json.dumps(r, allow_nan=False)
    assert r["jacobian_max_rel_err"] < 1e-13
    assert r["reconstructed_count"] == metrics.reconstructed_count(W)
    for res in r["results"]:
        assert len(res["eigenvalues"]) == 20
        assert res["kernel_max_rel_err"] < 1e-13
        assert res["eigenvalues_max_err_rel_to_top"] < 1e-12
        assert res["eigvec_max_angle_blocks"] < 1e-8
        assert res["eigpair_residual_max"] < 1e-12
        assert res["heatmap_same_vectors_max_abs_err"] < 1e-12
        assert res["heatmap_shape"] == [6, 20]
        assert 0 <= res["mmcs"] <= 1 and 0 <= res["matched_score"] <= 1
    assert r["metrics_max_abs_err"] < 1e-12
    assert set(r["metrics_compare"]) >= {"reconstructed_count", "beta1.mmcs", "beta0.3.diagonal_count"}
    # P-side route (forced) gives the same spectrum as the dense one
    rp = bridge.tms_case(d, betas, k, dense_max=0)
    assert rp["route"] == "pside" and rp["k"] == 20
    for a, b_ in zip(r["results"], rp["results"]):
        la, lb = np.array(a["eigenvalues"]), np.array(b_["eigenvalues"])
        assert np.abs(la - lb).max() < 1e-11 * la[0]
        assert b_["eigpair_residual_max"] < 1e-10
        assert b_["eigvec_max_angle_blocks"] < 1e-6
    # numpy-only variant on the C# eigenvectors
    nm = bridge.tms_metrics_case(d, betas)
    assert nm["metrics"]["beta1.mmcs"] == pytest.approx(r["metrics_same_vectors"]["beta1.mmcs"])


def test_tms_case_detects_wrong_vectors(tmp_path):
    d = str(tmp_path)
    W, b, x, imp = write_tms_case(d, seed=1)
    fake_csharp_tms(d, W, b, x, imp, [1.0], 10)
    V = np.load(os.path.join(d, "eigenvectors_beta1.npy"))
    V[:, [0, 5]] = V[:, [5, 0]]
    np.save(os.path.join(d, "eigenvectors_beta1.npy"), V)
    r = bridge.tms_case(d, [1.0], 10)["results"][0]
    assert r["eigvec_max_angle_blocks"] > 0.1 and r["eigpair_residual_max"] > 1e-3


def write_mlp_case(dirpath, p=5, H=8, seed=3):
    dd = models.mlp_init(p, H, seed)
    np.savez(os.path.join(dirpath, "weights.npz"), W1=dd["W1"].numpy(), W2=dd["W2"].numpy())
    return dd


def test_mlp_case(tmp_path):
    d = str(tmp_path)
    p = 5
    dd = write_mlp_case(d, p)
    x = models.mlp_inputs(p)["x"]
    cf = ntk.mlp_traced_closed_form(dd["W1"], dd["W2"], x)
    names = {"full": "full", "W1": "layer1", "W2": "W2"}   # alias accepted for W1
    for kn, fname in names.items():
        K = cf[kn].numpy()
        lam, V, _ = linalg.eig_decompose(K, 20)
        np.save(os.path.join(d, f"kernel_traced_{fname}.npy"), K)
        np.save(os.path.join(d, f"eigenvalues_{fname}.npy"), lam)
        np.save(os.path.join(d, f"eigenvectors_{fname}.npy"), -V)
    ref_m = bridge.mlp_metrics_case(d, p)["metrics"]
    assert "full.cliff0.overlap_n" in ref_m and "W1.cliff1.rot_corr_max_mean" in ref_m
    with open(os.path.join(d, "metrics.json"), "w") as fh:
        json.dump({"full": {"cliff0": {"overlap_n": ref_m["full.cliff0.overlap_n"]}},
                   "W2.cliff1.overlap_per_freq_sum": ref_m["W2.cliff1.overlap_per_freq_sum"]}, fh)
    for method in ("functorch", "closed_form"):
        r = bridge.mlp_case(d, k=20, method=method, return_heatmaps=True)
        json.dumps(r, allow_nan=False)
        assert r["p"] == 5 and r["N"] == 25 and r["P"] == 8 * 10 + 5 * 8
        assert r["cliffs"] == [[1, 9], [9, 17]]
        assert r["closed_form_max_rel_err"] < 1e-13 and r["layer_sum_max_rel_err"] < 1e-14
        for kn in ("full", "W1", "W2"):
            kr = r["kernels"][kn]
            assert len(kr["eigenvalues"]) == 20
            assert kr["kernel_max_rel_err"] < 1e-13
            assert kr["eigenvalues_max_err_rel_to_top"] < 1e-12
            assert kr["eigvec_max_angle_blocks"] < 1e-7
            assert kr["eigpair_residual_max"] < 1e-12
        assert r["metrics_max_abs_err"] < 1e-12
        assert "full.cliff0" in r["heatmaps"] and r["heatmaps"]["full.cliff0_shape"] == [4, 8]
    with pytest.raises(ValueError):
        bridge.mlp_case(d, p=7)


def test_rng_and_train_cases(tmp_path):
    a = bridge.rng_case(5, model="tms", n=6, m=2, D=8, S=0.5, out_dir=str(tmp_path / "tms"))
    b = bridge.rng_case(5, model="tms", n=6, m=2, D=8, S=0.5)
    assert a["W"] == b["W"] and a["x"] == b["x"] and a["W_shape"] == [2, 6] and a["x_shape"] == [8, 6]
    assert isinstance(a["W"][0], float)
    ref = models.tms_init(6, 2, 8, 0.5, 5)
    assert np.array_equal(np.array(a["W"]).reshape(2, 6), ref["W"].numpy())
    assert np.array_equal(np.load(tmp_path / "tms" / "inputs.npy"), ref["x"].numpy())
    mm = bridge.rng_case(2, model="mlp", p=5, H=4, out_dir=str(tmp_path / "mlp"))
    assert mm["W1_shape"] == [4, 10] and len(mm["train_idx"]) == int(0.7 * 25)
    assert isinstance(mm["perm"][0], int)
    t = bridge.tms_train_case(1, 50, n=6, m=2, D=16, S=0.5, out_dir=str(tmp_path / "trained"))
    assert len(t["loss"]) == 51 and t["final_loss"] < t["initial_loss"]
    t2 = bridge.tms_train_case(1, 50, n=6, m=2, D=16, S=0.5)
    assert t2["W"] == t["W"]
    r = bridge.tms_case(str(tmp_path / "trained"), [1.0], 12)
    assert r["results"][0]["eigenvalues"][0] > 0
    mt = bridge.mlp_train_case(0, 20, p=5, H=8, log_every=10, out_dir=str(tmp_path / "mlptrained"))
    assert mt["history"]["epoch"] == [0, 10, 20]
    assert os.path.exists(tmp_path / "mlptrained" / "history.json")
    rm = bridge.mlp_case(str(tmp_path / "mlptrained"), k=10, method="closed_form")
    assert len(rm["kernels"]["full"]["eigenvalues"]) == 10


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(REPO, "reference-python")
    return env


def test_cli_and_numpy_only_import(tmp_path):
    out = tmp_path / "r.json"
    cmd = [sys.executable, "-m", "entk_ref.bridge", "rng_case", "--args",
           json.dumps({"seed": 1, "model": "tms", "n": 4, "m": 2, "D": 3}), "--out", str(out)]
    subprocess.run(cmd, check=True, env=_env(), cwd=str(tmp_path))
    r = json.loads(out.read_text())
    assert r["W_shape"] == [2, 4]
    # numpy-only bridge functions never import torch
    d = tmp_path / "np"
    d.mkdir()
    np.save(d / "inputs.npy", np.eye(3))
    np.save(d / "eigenvectors_beta1.npy", np.eye(9)[:, :4])
    code = ("import sys, entk_ref.bridge as b; r = b.tms_metrics_case(sys.argv[1], [1.0]); "
            "assert 'torch' not in sys.modules, 'torch imported'; print(r['metrics']['beta1.mmcs'])")
    res = subprocess.run([sys.executable, "-c", code, str(d)], check=True, env=_env(), capture_output=True, text=True)
    assert float(res.stdout.strip()) == pytest.approx(1 / 3, abs=1e-8)   # only feature 0 is matched (by e_0)

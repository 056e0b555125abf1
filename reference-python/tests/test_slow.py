"""Paper-size regression checks (run with ``-m slow``; ~2-3 min on 2 cores)."""
import numpy as np
import pytest

from entk_ref import bridge

pytestmark = pytest.mark.slow


def test_mlp_paper_size(tmp_path):
    """p = 29, H = 512, seed 0, 500 epochs: grokking, cliffs 1 | 56 | 56, chunked functorch
    kernels (Jacobian memory <= 2 GiB) equal the closed form, Fourier structure of the cliffs."""
    d = str(tmp_path)
    t = bridge.mlp_train_case(0, 500, p=29, H=512, out_dir=d)
    h = t["history"]
    assert h["train_acc"][-1] == 1.0 and h["test_acc"][-1] > 0.95
    assert h["test_acc"][h["epoch"].index(50)] < 0.1              # delayed generalisation
    r = bridge.mlp_case(d, k=200, method="functorch")
    assert r["closed_form_max_rel_err"] < 1e-12
    lam = np.array(r["kernels"]["full"]["eigenvalues"])
    assert lam[0] / lam[1] > 10
    assert lam[56] / lam[57] > 1.5 and lam[112] / lam[113] > 1.2
    lam1 = np.array(r["kernels"]["W1"]["eigenvalues"])
    assert lam1[56] / lam1[57] > 5
    m = r["metrics"]
    assert m["W1.cliff0.rot_frac_ge_0.9"] == 1.0 and m["W1.cliff0.rot_distinct_rows"] == 28
    assert m["full.cliff0.overlap_n"] > 27 and m["full.cliff0.overlap_m"] > 27
    assert m["full.cliff1.overlap_sum"] > 24 and m["full.cliff1.overlap_diff"] > 22


def test_tms_paper_size(tmp_path):
    """n = 50, m = 10, S = 0.3, D = 500, 5000 Adam steps: 10 reconstructed features, beta = 0
    spectrum drops at index 50, beta = 0.3 heatmap is (nearly) diagonal."""
    d = str(tmp_path)
    t = bridge.tms_train_case(0, 5000, n=50, m=10, D=500, S=0.3, out_dir=d)
    assert t["final_loss"] < 2e-4 and t["reconstructed_count"] == 10
    r = bridge.tms_case(d, [0.0, 1.0, 0.3], 80)
    assert r["route"] == "pside" and r["k"] == 80
    ev0 = np.array(r["results"][0]["eigenvalues"])
    assert ev0[49] / ev0[50] > 10
    assert r["results"][2]["diagonal_count"] >= 45
    assert r["results"][1]["diagonal_count"] >= 10

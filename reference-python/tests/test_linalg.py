"""eig_decompose invariants, P-side spectrum, principal angles, gap blocks."""
import numpy as np
import pytest
import torch

from entk_ref import linalg, models, ntk


def rnd(seed):
    return np.random.default_rng(seed)


def psd(n, r, seed):
    A = rnd(seed).standard_normal((n, r))
    return A @ A.T


def test_eig_decompose_invariants():
    K = psd(30, 12, 0)
    K0 = K.copy()
    lam, V, ridge = linalg.eig_decompose(K, 10)
    assert np.array_equal(K, K0), "input must not be mutated"
    assert ridge == pytest.approx(1e-8 * np.mean(np.diag(K)), rel=1e-15)
    assert lam.shape == (10,) and V.shape == (30, 10)
    assert np.all(np.diff(lam) <= 0)
    A = K + ridge * np.eye(30)
    assert np.abs(A @ V - V * lam).max() < 1e-12 * lam[0]
    assert np.abs(V.T @ V - np.eye(10)).max() < 1e-13
    # the ridge is included (not subtracted): eigenvalues = eigh(K) + ridge
    w = np.sort(np.linalg.eigvalsh(K))[::-1][:10]
    assert np.abs(lam - (w + ridge)).max() < 1e-12 * lam[0]
    # null space eigenvalues equal the ridge
    lam_all, _, _ = linalg.eig_decompose(K)
    assert np.abs(lam_all[12:] - ridge).max() < 1e-12 * lam[0]
    # torch input accepted
    lam_t, _, _ = linalg.eig_decompose(torch.as_tensor(K), 10)
    assert np.array_equal(lam_t, lam)


def test_pside_equals_dense_random():
    J = rnd(1).standard_normal((60, 15))
    lam_d, V_d, r_d = linalg.eig_decompose(J @ J.T, 15)
    lam_p, U_p, r_p = linalg.pside_spectrum(J)
    assert r_p == pytest.approx(r_d, rel=1e-13)
    assert np.abs(lam_p - lam_d).max() < 1e-12 * lam_d[0]
    assert linalg.max_principal_angle(V_d[:, :15], U_p) < 1e-10
    # individual eigenvectors (non-degenerate spectrum) agree up to sign
    s = np.sign(np.sum(V_d * U_p, axis=0))
    assert np.abs(V_d - U_p * s).max() < 1e-9
    with pytest.raises(ValueError):
        linalg.pside_spectrum(J, 16)


def test_pside_equals_dense_tms(tms_small):
    params, x, imp = tms_small
    J = ntk.rescale_jacobian(ntk.jacobian_functorch(models.tms_forward, params, x), imp, 1.0)
    R = ntk.jacobian_class_major_rows(J).numpy()         # 35 x 20: M > P
    Kf = ntk.flatten_class_major(ntk.kernel_from_jacobians(J)).numpy()
    k = 12
    lam_d, V_d, _ = linalg.eig_decompose(Kf, k)
    lam_p, U_p, _ = linalg.pside_spectrum(R, k)
    assert np.abs(lam_p - lam_d).max() < 1e-12 * lam_d[0]
    cmp = linalg.compare_eigenvectors(V_d, U_p, linalg.eig_decompose(Kf)[0])
    assert cmp["max_angle_blocks"] < 1e-9


def test_principal_angles_known():
    th = 1e-9
    A = np.array([[1.0, 0], [0, 1], [0, 0]])
    B = np.array([[1.0, 0], [0, np.cos(th)], [0, np.sin(th)]])
    ang = linalg.principal_angles(A, B)
    assert ang[0] == pytest.approx(0.0, abs=1e-15)
    assert ang[1] == pytest.approx(th, rel=1e-6)
    B2 = np.array([[1.0, 0], [0, np.cos(0.7)], [0, np.sin(0.7)]])
    assert linalg.max_principal_angle(A, B2 @ np.array([[2.0, 1.0], [0.5, -3.0]])) == pytest.approx(0.7, rel=1e-12)
    assert linalg.max_principal_angle(A, np.array([[0.0], [0], [1]])) == pytest.approx(np.pi / 2)


def test_gap_blocks_and_degenerate_compare():
    lam = np.array([5.0, 3.0, 3.0 * (1 - 1e-9), 3.0 * (1 - 2e-9), 1.0, 0.5, 0.5])
    assert linalg.gap_blocks(lam) == [(0, 1), (1, 4), (4, 5), (5, 7)]
    Q, _ = np.linalg.qr(rnd(2).standard_normal((20, 7)))
    R3, _ = np.linalg.qr(rnd(3).standard_normal((3, 3)))
    Q2 = Q.copy()
    Q2[:, 1:4] = Q[:, 1:4] @ R3         # rotate inside the degenerate block
    Q2[:, 0] *= -1                     # sign flip
    c = linalg.compare_eigenvectors(Q, Q2[:, :5], lam)   # k = 5; boundary between 4|5 is a gap? (1.0 vs 0.5 yes)
    assert c["max_angle_blocks"] < 1e-13 and c["n_blocks"] == 3 and c["truncated_block"] is None
    assert c["max_angle_topk"] < 1e-13
    c6 = linalg.compare_eigenvectors(Q, Q2[:, :6], lam)  # k = 6 cuts the last block (5, 7)
    assert c6["truncated_block"] == [5, 7] and c6["max_angle_topk"] is None
    # vectors swapped across a real gap are detected
    Q3 = Q.copy()
    Q3[:, [0, 4]] = Q3[:, [4, 0]]
    assert linalg.compare_eigenvectors(Q, Q3[:, :5], lam)["max_angle_blocks"] > 1.5

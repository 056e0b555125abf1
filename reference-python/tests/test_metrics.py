"""TMS heatmap metrics, Fourier families, Laplacians, rotations, overlaps, derivative."""
import numpy as np
import pytest

from entk_ref import metrics


def rnd(seed):
    return np.random.default_rng(seed)


def random_orthogonal(k, seed):
    Q, R = np.linalg.qr(rnd(seed).standard_normal((k, k)))
    return Q * np.sign(np.diag(R))


# ------------------------------------------------------------------ TMS

def test_feature_indicators():
    x = rnd(0).random((4, 3))
    Z = metrics.tms_feature_indicators(x)
    assert Z.shape == (12, 3)
    assert np.array_equal(Z[4:8, 1], x[:, 1])
    assert np.count_nonzero(Z[:, 1]) == 4 and np.all(Z[:4, 1] == 0) and np.all(Z[8:, 1] == 0)


def test_heatmap_synthetic_known_answer():
    N, C = 6, 4
    x = rnd(1).random((N, C)) + 0.1
    Z = metrics.tms_feature_indicators(x)
    Zn = Z / np.linalg.norm(Z, axis=0)
    th = 0.3
    # eigenvector 0 = feature 0, 1 = feature 2, 2 = cos*f1 + sin*f3, 3 = feature 3 (negated), 4 = 3*feature 1
    Q = np.zeros((C, 5))
    Q[0, 0] = 1
    Q[2, 1] = 1
    Q[1, 2], Q[3, 2] = np.cos(th), np.sin(th)
    Q[3, 3] = -1
    Q[1, 4] = 3.0
    E = Zn @ Q
    cos = metrics.tms_cosines(x, E)
    assert np.allclose(cos, np.abs(Q) / np.linalg.norm(Q, axis=0), atol=1e-9)
    H = metrics.tms_heatmap(x, E)
    assert np.allclose(np.linalg.norm(H, axis=0), 1.0, atol=1e-9)
    assert metrics.diagonal_count(H) == 2        # columns 0 (f0) and 3 (f3); column 1 -> f2, column 2 -> f1
    # MMCS: f0 1, f1 max(cos th, 1) = 1, f2 1, f3 max(sin th, 1) = 1
    assert metrics.mmcs(cos) == pytest.approx(1.0, abs=1e-9)
    # matched (4 features, 5 vectors): f0-e0, f2-e1, f3-e3, f1-e4 -> 1
    assert metrics.matched_score(cos) == pytest.approx(1.0, abs=1e-9)
    # only the first 3 eigenvectors: f3 best is sin th; matching: f0-e0, f2-e1, f1 or f3 with e2 -> cos th
    c3 = cos[:, :3]
    assert metrics.mmcs(c3) == pytest.approx((1 + np.cos(th) + 1 + np.sin(th)) / 4, abs=1e-9)
    assert metrics.matched_score(c3) == pytest.approx((1 + 1 + np.cos(th)) / 3, abs=1e-9)


def test_heatmap_epsilons_zero_column():
    x = np.zeros((3, 2))
    x[:, 0] = [1.0, 2.0, 0.0]
    E = np.zeros((6, 2))
    E[0, 0] = 1.0
    H = metrics.tms_heatmap(x, E)                   # zero feature column and zero eigenvector: no NaN
    assert np.all(np.isfinite(H))
    assert H[0, 0] == pytest.approx(1.0, abs=1e-9) and H[1, 0] == 0 and np.all(H[:, 1] == 0)


def test_reconstructed_count():
    W = np.zeros((2, 4))
    W[0, 0] = 1.0                 # 1.0
    W[:, 1] = [0.6, 0.6]          # 0.72
    W[:, 2] = [0.5, 0.5]          # 0.5
    W[:, 3] = [0.5, 0.75]         # 0.8125
    assert metrics.reconstructed_count(W) == 2
    assert metrics.reconstructed_count(W, 0.7) == 3
    assert metrics.reconstructed_count(W, 0.5) == 4


# ------------------------------------------------------------------ Fourier families

@pytest.mark.parametrize("p", [5, 6, 7])
def test_families(p):
    fams = metrics.fourier_families(p)
    K = p // 2
    n, m = metrics.torus_indices(p)
    for name, F in fams.items():
        assert F.shape == (p * p, K, 2)
    k = 2 if K >= 2 else 1
    assert np.allclose(fams["sum"][:, k - 1, 0], np.cos(2 * np.pi * k * ((n + m) % p) / p))
    assert np.allclose(fams["diff"][:, k - 1, 1], np.sin(2 * np.pi * k * ((n - m) % p) / p))
    assert np.allclose(fams["2m"][:, k - 1, 1], np.sin(4 * np.pi * k * m / p))
    assert np.allclose(fams["axis_sum"], fams["n"] + fams["m"])
    assert np.allclose(fams["axis_diff"], fams["n"] - fams["m"])
    assert n[p + 2] == 1 and m[p + 2] == 2


def test_phase_insensitive_corr_pure_modes():
    p = 11
    n, m = metrics.torus_indices(p)
    F = metrics.fourier_family(p, "sum")
    U = np.stack([np.cos(2 * np.pi * 3 * (n + m) / p + 0.4), 5 * np.sin(2 * np.pi * 1 * (n + m) / p)], axis=1)
    Hm = metrics.phase_insensitive_corr(U, F)
    assert Hm.shape == (5, 2)
    assert Hm[2, 0] == pytest.approx(1.0, abs=1e-12) and Hm[0, 1] == pytest.approx(1.0, abs=1e-12)
    assert np.abs(np.delete(Hm[:, 0], 2)).max() < 1e-12
    # an n-mode is orthogonal to the sum family (mean over m vanishes)
    Hn = metrics.phase_insensitive_corr(np.cos(2 * np.pi * 2 * n / p), F)
    assert np.abs(Hn).max() < 1e-12


# ------------------------------------------------------------------ overlaps

def test_subspace_overlap():
    p = 9
    K = p // 2
    fams = metrics.fourier_families(p)
    F = fams["sum"]
    M = metrics.family_matrix(F)
    assert metrics.subspace_overlap(M, F) == pytest.approx(2 * K, abs=1e-10)
    Q = M @ random_orthogonal(2 * K, 4)             # any basis of the same span
    assert metrics.subspace_overlap(-Q, F) == pytest.approx(2 * K, abs=1e-10)
    assert metrics.subspace_overlap(Q, fams["diff"]) == pytest.approx(0.0, abs=1e-10)
    assert metrics.subspace_overlap(metrics.family_matrix(fams["n"]), fams["m"]) == pytest.approx(0.0, abs=1e-10)
    # axis_sum lies inside span(n) + span(m): half of it overlaps n
    assert metrics.subspace_overlap(metrics.family_matrix(fams["axis_sum"]), fams["n"]) == pytest.approx(K, abs=1e-10)
    # per-frequency: a cliff with sum k=1, 3 (full pairs) and diff k=2
    cols = np.concatenate([metrics.family_matrix(F, [1, 3]), metrics.family_matrix(fams["diff"], [2])], axis=1)
    per = metrics.subspace_overlap_per_frequency(cols, F)
    assert np.allclose(per, [2, 0, 2, 0], atol=1e-10)
    assert metrics.subspace_overlap(cols, F, freqs=[1, 3]) == pytest.approx(4.0, abs=1e-10)
    assert metrics.subspace_overlap(cols, F) == pytest.approx(per.sum(), abs=1e-10)
    # random subspace: within bounds
    R = rnd(5).standard_normal((p * p, 6))
    ov = metrics.subspace_overlap(R, F)
    assert 0.0 <= ov <= 6.0
    s = metrics.subspace_singular_values(R, F)
    assert ov == pytest.approx(float(np.sum(s ** 2)))


def test_subspace_overlap_even_p_zero_column():
    p = 6     # sin at k = 3 vanishes for the n family
    F = metrics.fourier_family(p, "n")
    assert metrics.subspace_overlap(metrics.family_matrix(F), F) == pytest.approx(5.0, abs=1e-10)


# ------------------------------------------------------------------ Laplacians and rotations

@pytest.mark.parametrize("p", [7, 10])
def test_laplacian_rayleigh(p):
    n, m = metrics.torus_indices(p)
    Ln, Lm, Ls, Ld = (metrics.laplacian(p, nm) for nm in ("n", "m", "sum", "diff"))
    for L in (Ln, Lm, Ls, Ld):
        assert np.array_equal(L, L.T)
        assert np.abs(L @ np.ones(p * p)).max() == 0
    assert np.array_equal(metrics.cycle_laplacian(3), np.array([[2, -1, -1], [-1, 2, -1], [-1, -1, 2.0]]))
    for k in range(1, p // 2 + 1):
        lam1 = 2 - 2 * np.cos(2 * np.pi * k / p)
        lam2 = 2 - 2 * np.cos(4 * np.pi * k / p)
        for trig in (np.cos, np.sin):
            vn = trig(2 * np.pi * k * n / p)
            vm = trig(2 * np.pi * k * m / p)
            vs = trig(2 * np.pi * k * (n + m) / p)
            vd = trig(2 * np.pi * k * (n - m) / p)
            if np.linalg.norm(vn) < 1e-9:
                continue     # sin at k = p/2
            rq = metrics.rayleigh_quotient
            assert rq(Ln, vn) == pytest.approx(lam1, abs=1e-12)
            assert rq(Ln, vm) == pytest.approx(0.0, abs=1e-12)
            assert rq(Lm, vm) == pytest.approx(lam1, abs=1e-12)
            assert rq(Lm, vn) == pytest.approx(0.0, abs=1e-12)
            assert rq(Ls, vs) == pytest.approx(lam2, abs=1e-12)
            assert rq(Ls, vd) == pytest.approx(0.0, abs=1e-12)
            assert rq(Ld, vd) == pytest.approx(lam2, abs=1e-12)
            assert rq(Ld, vs) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("fams,p", [(("n", "m"), 11), (("sum", "diff"), 11), (("n", "m"), 29)])
def test_two_stage_rotation_recovers_fourier_cliff(fams, p):
    K = p // 2
    F1, F2 = (metrics.fourier_family(p, f) for f in fams)
    M = np.concatenate([metrics.family_matrix(F1), metrics.family_matrix(F2)], axis=1)
    M = M / np.linalg.norm(M, axis=0)
    cliff = M @ random_orthogonal(4 * K, 7)                 # randomly mixed cliff (N x 4K)
    before = metrics.corr_stack(cliff, [F1, F2])
    assert before.max(axis=0).min() < 0.9                  # mixed: not aligned before rotation
    U = metrics.two_stage_rotation(cliff, metrics.laplacian(p, fams[0]), metrics.laplacian(p, fams[1]))
    assert U.shape == cliff.shape
    assert np.abs(U.T @ U - np.eye(4 * K)).max() < 1e-12
    assert metrics.subspace_overlap(U, F1) + metrics.subspace_overlap(U, F2) == pytest.approx(4 * K, abs=1e-9)
    H = metrics.corr_stack(U, [F1, F2])                     # (2K rows) x (4K atoms)
    assert np.abs(H.max(axis=0) - 1).max() < 1e-9          # every atom = one (family, k)
    rows = H.argmax(axis=0)
    counts = np.bincount(rows, minlength=2 * K)
    assert np.all(counts == 2)                              # each (family, k) gets its cos/sin pair
    # first stage keeps the L1-smooth half = the second family's modes, sorted by L2 energy
    first = rows[: 2 * K]
    assert np.all(first >= K)
    if fams == ("n", "m"):
        assert np.array_equal(first, K + np.repeat(np.arange(K), 2))     # m-modes k = 1..K
        assert np.array_equal(rows[2 * K:], np.repeat(np.arange(K), 2))  # n-modes k = 1..K
    st = metrics.staircase_stats(H)
    assert st["max_min"] > 1 - 1e-9 and st["distinct_rows"] == 2 * K


def test_single_stage_rotation_sorts_by_energy():
    p = 7
    F = metrics.fourier_family(p, "sum")
    M = metrics.family_matrix(F)
    U = metrics.single_stage_rotation(M @ random_orthogonal(M.shape[1], 1), metrics.laplacian_sum(p))
    e = [metrics.rayleigh_quotient(metrics.laplacian_sum(p), U[:, j]) for j in range(U.shape[1])]
    assert np.all(np.diff(e) >= -1e-12)
    with pytest.raises(ValueError):
        metrics.two_stage_rotation(M[:, :3], np.eye(p * p), np.eye(p * p))


def test_finite_difference_derivative():
    t = np.array([0.0, 10, 20, 30, 40])
    y = 3 * t + 1
    assert np.allclose(metrics.finite_difference_derivative(t, y), 3.0)
    y2 = t ** 2
    d = metrics.finite_difference_derivative(t, y2)
    assert d[0] == pytest.approx(10.0) and d[-1] == pytest.approx(70.0)
    assert np.allclose(d[1:-1], 2 * t[1:-1])
    assert np.allclose(d, np.gradient(y2, t))
    tn = np.array([0.0, 1, 3])
    dn = metrics.finite_difference_derivative(tn, tn ** 2)
    assert np.allclose(dn, [1.0, 3.0, 4.0])
    assert metrics.overlap_percent_curve([14.0, 28.0], 28).tolist() == [50.0, 100.0]

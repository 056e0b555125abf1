"""Feature metrics (numpy/scipy only; no torch import, so usable next to TorchSharp).

TMS (docs/paper-notes.md §1.5, §1.6 a): feature indicators, the column-normalised eigenvector-feature heatmap,
MMCS, matched score, diagonal count, reconstructed-feature count.

Modular addition (docs/paper-notes.md §1.5–§1.8): Fourier families, phase-insensitive correlation, subspace
overlap (+ per frequency), torus Laplacians, two-stage (and single-stage) Laplacian rotation,
finite-difference derivative of an overlap curve, principal angles.
"""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from .linalg import max_principal_angle, orthonormal_basis, principal_angles  # noqa: F401 (re-export)

EPS_TMS = 1e-10
EPS_FOURIER = 1e-12


def _np(a) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


# --------------------------------------------------------------------------------------------
# TMS
# --------------------------------------------------------------------------------------------

def tms_feature_indicators(x) -> np.ndarray:
    """Z of shape (N*C, C), class-major rows: column a holds x[:, a] in rows a*N .. a*N+N-1."""
    x = _np(x)
    N, C = x.shape
    Z = np.zeros((N * C, C))
    for a in range(C):
        Z[a * N:(a + 1) * N, a] = x[:, a]
    return Z


def tms_cosines(x, E) -> np.ndarray:
    """|cosine| matrix (C features x k eigenvectors): |Z_hat^T E_hat| with columns of Z and E
    each divided by (L2 norm + 1e-10). This is H before column normalisation."""
    Z = tms_feature_indicators(x)
    E = _np(E)
    Zn = Z / (np.linalg.norm(Z, axis=0, keepdims=True) + EPS_TMS)
    En = E / (np.linalg.norm(E, axis=0, keepdims=True) + EPS_TMS)
    return np.abs(Zn.T @ En)


def column_normalise(H) -> np.ndarray:
    """H[:, i] / (||H[:, i]||_2 + 1e-10)."""
    H = _np(H)
    return H / (np.linalg.norm(H, axis=0, keepdims=True) + EPS_TMS)


def tms_heatmap(x, E) -> np.ndarray:
    """docs/paper-notes.md §1.6(a): column-normalised |Z_hat^T E_hat|, shape (C features, k eigenvectors)."""
    return column_normalise(tms_cosines(x, E))


def mmcs(cos) -> float:
    """Mean over features (rows) of the max over eigenvectors (columns) of |cos|.
    Use the un-column-normalised cosine matrix (``tms_cosines``)."""
    cos = _np(cos)
    return float(np.mean(np.max(np.abs(cos), axis=1)))


def matched_score(cos) -> float:
    """Mean |cos| over an optimal one-to-one assignment rows (features) <-> columns
    (eigenvectors) maximising the total |cos| (Hungarian). With k < C only k pairs exist and the
    mean is over those k pairs (likewise C pairs if k > C)."""
    cos = np.abs(_np(cos))
    r, c = linear_sum_assignment(cos, maximize=True)
    return float(cos[r, c].mean())


def diagonal_count(H) -> int:
    """Number of i < min(C, k) such that column i of H has its argmax at row i
    (first maximum wins on ties, as numpy argmax)."""
    H = _np(H)
    C, k = H.shape
    n = min(C, k)
    am = np.argmax(H[:, :n], axis=0)
    return int(np.sum(am == np.arange(n)))


def reconstructed_count(W, threshold: float = 0.75) -> int:
    """#{i : (W^T W)_ii >= threshold} for W of shape (m, n)."""
    W = _np(W)
    return int(np.sum(np.sum(W * W, axis=0) >= threshold))


# --------------------------------------------------------------------------------------------
# Fourier families (docs/paper-notes.md §1.5)
# --------------------------------------------------------------------------------------------

FAMILY_NAMES = ("n", "m", "sum", "diff", "2n", "2m", "axis_sum", "axis_diff")


def torus_indices(p: int):
    """(n, m) index vectors of the p^2 inputs, row i = n*p + m."""
    i = np.arange(p * p)
    return i // p, i % p


def _modes(v: np.ndarray, p: int) -> np.ndarray:
    K = p // 2
    k = np.arange(1, K + 1)
    ang = 2.0 * np.pi * np.outer(v, k) / p          # (N, K)
    return np.stack([np.cos(ang), np.sin(ang)], axis=-1)


def fourier_family(p: int, name: str) -> np.ndarray:
    """Family array (N = p^2, K = floor(p/2), 2) with [..., 0] = cos(2 pi k v / p),
    [..., 1] = sin(2 pi k v / p), k = 1..K. ``v`` per family: n, m, (n+m) mod p, (n-m) mod p,
    2n, 2m; ``axis_sum`` = family n + family m, ``axis_diff`` = family n - family m."""
    n, m = torus_indices(p)
    if name in ("n", "a"):
        return _modes(n, p)
    if name in ("m", "b"):
        return _modes(m, p)
    if name == "sum":
        return _modes((n + m) % p, p)
    if name == "diff":
        return _modes((n - m) % p, p)
    if name == "2n":
        return _modes(2 * n, p)
    if name == "2m":
        return _modes(2 * m, p)
    if name == "axis_sum":
        return _modes(n, p) + _modes(m, p)
    if name == "axis_diff":
        return _modes(n, p) - _modes(m, p)
    raise ValueError(f"unknown Fourier family {name!r}")


def fourier_families(p: int, names: Iterable[str] = FAMILY_NAMES) -> Dict[str, np.ndarray]:
    return {nm: fourier_family(p, nm) for nm in names}


def family_matrix(F, freqs: Optional[Sequence[int]] = None) -> np.ndarray:
    """(N, K, 2) family -> (N, 2|freqs|) matrix with columns cos_k, sin_k for each selected
    frequency k (1-based; default all), in the order [cos_k1, sin_k1, cos_k2, ...]."""
    F = _np(F)
    K = F.shape[1]
    ks = list(range(1, K + 1)) if freqs is None else [int(k) for k in freqs]
    cols = []
    for k in ks:
        cols.append(F[:, k - 1, 0])
        cols.append(F[:, k - 1, 1])
    return np.stack(cols, axis=1) if cols else np.zeros((F.shape[0], 0))


def phase_insensitive_corr(U, F) -> np.ndarray:
    """docs/paper-notes.md §1.6(b): H[k, j] = sqrt((c_hat_k . u_hat_j)^2 + (s_hat_k . u_hat_j)^2), shape (K, k),
    every vector normalised by (L2 norm + 1e-12). No column normalisation."""
    U = _np(U)
    if U.ndim == 1:
        U = U[:, None]
    F = _np(F)
    Un = U / (np.linalg.norm(U, axis=0, keepdims=True) + EPS_FOURIER)
    c = F[:, :, 0]
    s = F[:, :, 1]
    cn = c / (np.linalg.norm(c, axis=0, keepdims=True) + EPS_FOURIER)
    sn = s / (np.linalg.norm(s, axis=0, keepdims=True) + EPS_FOURIER)
    return np.sqrt((cn.T @ Un) ** 2 + (sn.T @ Un) ** 2)


def _family_basis(F, freqs=None, center: bool = True) -> np.ndarray:
    M = family_matrix(F, freqs)
    if center:
        M = M - M.mean(axis=0, keepdims=True)
    return orthonormal_basis(M)


def subspace_singular_values(Q_cols, F, freqs: Optional[Sequence[int]] = None, center: bool = True) -> np.ndarray:
    """Singular values of Q^T F_basis (cosines of the principal angles), descending."""
    Q, _ = np.linalg.qr(_np(Q_cols))
    B = _family_basis(F, freqs, center)
    if B.shape[1] == 0 or Q.shape[1] == 0:
        return np.zeros(0)
    return np.linalg.svd(Q.T @ B, compute_uv=False)


def subspace_overlap(Q_cols, F, freqs: Optional[Sequence[int]] = None, center: bool = True) -> float:
    """docs/paper-notes.md §1.6(c): Q = reduced-QR basis of the cliff columns; family columns (cos_k, sin_k for
    the selected frequencies, default all) mean-centred then orthonormalised; overlap = sum of
    squared singular values of Q^T F in [0, min(d, 2K)].

    Decision: the family basis is built by SVD with rank truncation (rtol 1e-12) rather than QR,
    so that identically-zero / dependent family columns (e.g. sin at k = p/2 for even p) do not
    inject arbitrary directions. For full-rank families the span, hence the overlap, is the same
    as with QR."""
    s = subspace_singular_values(Q_cols, F, freqs, center)
    return float(np.sum(s * s))


def subspace_overlap_per_frequency(Q_cols, F, center: bool = True) -> np.ndarray:
    """Overlap of the cliff with each single frequency's 2-dim span (cos_k, sin_k), k = 1..K,
    each in [0, 2]. Returns an array of length K (index k-1)."""
    F = _np(F)
    return np.array([subspace_overlap(Q_cols, F, [k], center) for k in range(1, F.shape[1] + 1)])


# --------------------------------------------------------------------------------------------
# Laplacians on the p x p torus (docs/paper-notes.md §1.7)
# --------------------------------------------------------------------------------------------

def cycle_laplacian(p: int) -> np.ndarray:
    """L1d = 2 I - S - S^T on Z_p."""
    S = np.roll(np.eye(p), 1, axis=1)
    return 2.0 * np.eye(p) - S - S.T


def shift_permutation(p: int, dx: int, dy: int) -> np.ndarray:
    """Permutation matrix P[i, j] = 1 where i = (n, m) and j = ((n+dx) mod p, (m+dy) mod p)."""
    n, m = torus_indices(p)
    j = ((n + dx) % p) * p + (m + dy) % p
    P = np.zeros((p * p, p * p))
    P[np.arange(p * p), j] = 1.0
    return P


def laplacian_n(p: int) -> np.ndarray:
    """L_n = L1d kron I_p (variation along the left operand n)."""
    return np.kron(cycle_laplacian(p), np.eye(p))


def laplacian_m(p: int) -> np.ndarray:
    """L_m = I_p kron L1d (variation along the right operand m)."""
    return np.kron(np.eye(p), cycle_laplacian(p))


def laplacian_sum(p: int) -> np.ndarray:
    """L_sum = 2 I - P(+1,+1) - P(-1,-1)."""
    return 2.0 * np.eye(p * p) - shift_permutation(p, 1, 1) - shift_permutation(p, -1, -1)


def laplacian_diff(p: int) -> np.ndarray:
    """L_diff = 2 I - P(+1,-1) - P(-1,+1)."""
    return 2.0 * np.eye(p * p) - shift_permutation(p, 1, -1) - shift_permutation(p, -1, 1)


LAPLACIANS = {"n": laplacian_n, "m": laplacian_m, "sum": laplacian_sum, "diff": laplacian_diff}


def laplacian(p: int, name: str) -> np.ndarray:
    return LAPLACIANS[name](p)


def rayleigh_quotient(L, v) -> float:
    L, v = _np(L), _np(v).ravel()
    return float(v @ L @ v / (v @ v))


def single_stage_rotation(C, L1) -> np.ndarray:
    """Q = reduced-QR basis of span(C); eigh(Q^T L1 Q) ascending; return Q V1 (N x k)."""
    Q, _ = np.linalg.qr(_np(C))
    A = Q.T @ _np(L1) @ Q
    _, V1 = np.linalg.eigh(A)
    return Q @ V1


def two_stage_rotation(C, L1, L2) -> np.ndarray:
    """docs/paper-notes.md §1.7: two-stage diagonalisation of a cliff C (N x k, k even):
    Q = QR basis; Q1 = Q eigvecs(Q^T L1 Q) (ascending); Q1a = first k/2 columns of Q1;
    Q2 = Q1a eigvecs(Q1a^T L2 Q1a) (ascending); U = [Q2 | Q1[:, k/2:]]."""
    C = _np(C)
    k = C.shape[1]
    if k % 2:
        raise ValueError("two_stage_rotation needs an even number of columns")
    Q1 = single_stage_rotation(C, L1)
    h = k // 2
    Q1a = Q1[:, :h]
    B = Q1a.T @ _np(L2) @ Q1a
    _, V2 = np.linalg.eigh(B)
    Q2 = Q1a @ V2
    return np.concatenate([Q2, Q1[:, h:]], axis=1)


# --------------------------------------------------------------------------------------------
# Over-training curves (docs/paper-notes.md §1.8)
# --------------------------------------------------------------------------------------------

def finite_difference_derivative(t, y) -> np.ndarray:
    """dy/dt: forward difference at the first point, central (y[i+1]-y[i-1])/(t[i+1]-t[i-1])
    inside, backward at the last. Equals numpy.gradient for uniform spacing."""
    t, y = _np(t).ravel(), _np(y).ravel()
    n = y.size
    if n != t.size:
        raise ValueError("t and y must have the same length")
    if n < 2:
        return np.zeros(n)
    d = np.empty(n)
    d[0] = (y[1] - y[0]) / (t[1] - t[0])
    d[-1] = (y[-1] - y[-2]) / (t[-1] - t[-2])
    if n > 2:
        d[1:-1] = (y[2:] - y[:-2]) / (t[2:] - t[:-2])
    return d


def overlap_percent_curve(overlaps, dim: int) -> np.ndarray:
    """100 * overlap / dim (e.g. dim = 2K = 28 for the sum family at p = 29)."""
    return 100.0 * _np(overlaps) / float(dim)


# --------------------------------------------------------------------------------------------
# Summary statistics of a stack of phase-insensitive heatmaps
# --------------------------------------------------------------------------------------------

def corr_stack(U, families: Sequence[np.ndarray]) -> np.ndarray:
    """Vertically stacked phase-insensitive heatmaps of U against several families
    ((sum K_f) x k)."""
    return np.concatenate([phase_insensitive_corr(U, F) for F in families], axis=0)


def staircase_stats(H) -> Dict[str, float]:
    """For a stacked heatmap H (rows = (family, k), columns = atoms): per-atom maximum over rows;
    returns mean and min of these maxima, the fraction of atoms with max >= 0.9, and the number
    of distinct rows that are the argmax of some atom."""
    H = _np(H)
    if H.size == 0:
        return {"max_mean": 0.0, "max_min": 0.0, "frac_ge_0.9": 0.0, "distinct_rows": 0}
    mx = H.max(axis=0)
    return {
        "max_mean": float(mx.mean()),
        "max_min": float(mx.min()),
        "frac_ge_0.9": float(np.mean(mx >= 0.9)),
        "distinct_rows": int(np.unique(H.argmax(axis=0)).size),
    }

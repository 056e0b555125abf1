"""Eigendecompositions (numpy/scipy only; no torch import, so usable next to TorchSharp).

``eig_decompose`` follows the paper (docs/paper-notes.md §1.4) except that it never mutates its input:
ridge = 1e-8 * mean(diag K) is added to a COPY, ``eigh``, eigenvalues sorted descending,
eigenvectors as columns. The returned eigenvalues INCLUDE the ridge (it is not subtracted); the
ridge is returned so callers can subtract it if they wish.

``pside_spectrum`` gives the same top eigenpairs of K = J J^T from the P x P Gram J^T J
(docs/paper-notes.md §1.10, docs/platform-notes.md §4.2), with the same ridge convention.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np
import scipy.linalg

RIDGE_REL = 1e-8


def _np(a) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def ridge_for(K) -> float:
    """1e-8 * mean(diag K)."""
    K = _np(K)
    return float(RIDGE_REL * np.mean(np.diag(K)))


def eig_decompose(K, topk: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray, float]:
    """Top-``topk`` eigenpairs of a symmetric matrix after the paper's ridge.

    Returns ``(eigenvalues[topk] descending, eigenvectors[n, topk] columns, ridge)``.
    ``topk=None`` keeps all. The input is not modified. Eigenvalues include the ridge.
    """
    K = _np(K)
    ridge = ridge_for(K)
    A = K.copy()
    A[np.diag_indices_from(A)] += ridge
    w, V = scipy.linalg.eigh(A, driver="evd", check_finite=False)
    order = np.argsort(w)[::-1]
    if topk is not None:
        order = order[:topk]
    return w[order].copy(), np.ascontiguousarray(V[:, order]), ridge


def pside_spectrum(J, topk: Optional[int] = None, nvectors: Optional[int] = None
                   ) -> Tuple[np.ndarray, np.ndarray, float]:
    """Top eigenpairs of K = J J^T (``J`` of shape (M, P), rows in the caller's ordering) from the
    P x P Gram matrix J^T J.

    Returns ``(eigenvalues[topk], eigenvectors[M, nvectors], ridge)``: eigenvalues sigma^2 + ridge
    with ridge = 1e-8 * mean(diag K) = 1e-8 * trace(J^T J) / M (same convention as
    :func:`eig_decompose`: the ridge is included, not subtracted), descending; eigenvectors
    J v / sigma (re-normalised). ``topk`` defaults to min(M, P) and may not exceed it (beyond the
    rank of J, K's eigenvalues equal the ridge and its eigenvectors are not determined by
    J^T J); ``nvectors`` defaults to ``topk``. Eigenvectors with sigma^2 at round-off level
    (<= ~1e-13 sigma_max^2) are unreliable; they are returned anyway."""
    J = _np(J)
    M, P = J.shape
    kmax = min(M, P)
    if topk is None:
        topk = kmax
    if topk > kmax:
        raise ValueError(f"topk={topk} exceeds min(M, P)={kmax}")
    if nvectors is None:
        nvectors = topk
    nvectors = min(nvectors, topk)
    G = J.T @ J
    ridge = float(RIDGE_REL * np.trace(G) / M)
    w, V = scipy.linalg.eigh(G, driver="evd", check_finite=False)
    order = np.argsort(w)[::-1][:topk]
    w = np.clip(w[order], 0.0, None)
    V = V[:, order[:nvectors]]
    sig = np.sqrt(w[:nvectors])
    U = (J @ V) / np.where(sig > 0, sig, 1.0)
    nrm = np.linalg.norm(U, axis=0)
    U = U / np.where(nrm > 0, nrm, 1.0)
    return w + ridge, U, ridge


def gap_blocks(eigenvalues, rel_gap: float = 1e-6) -> List[Tuple[int, int]]:
    """Split a descending eigenvalue list into blocks [start, stop) at every i where
    (lam_i - lam_{i+1}) / max(|lam_i|, tiny) > rel_gap. Degenerate clusters stay together."""
    lam = _np(eigenvalues).ravel()
    n = lam.size
    if n == 0:
        return []
    tiny = np.finfo(float).tiny
    blocks = []
    start = 0
    for i in range(n - 1):
        gap = (lam[i] - lam[i + 1]) / max(abs(lam[i]), tiny)
        if gap > rel_gap:
            blocks.append((start, i + 1))
            start = i + 1
    blocks.append((start, n))
    return blocks


def orthonormal_basis(A, rtol: float = 1e-12) -> np.ndarray:
    """Orthonormal basis of the column span of A (SVD; columns with s <= rtol*s_max dropped).
    For a full-rank A this spans the same space as the Q of a reduced QR."""
    A = _np(A)
    if A.ndim == 1:
        A = A[:, None]
    if A.shape[1] == 0:
        return A.copy()
    U, s, _ = np.linalg.svd(A, full_matrices=False)
    if s.size == 0 or s[0] == 0:
        return U[:, :0]
    r = int(np.sum(s > rtol * s[0]))
    return U[:, :r]


def principal_angles(A, B) -> np.ndarray:
    """Principal angles (radians, ascending) between span(A) and span(B) (columns).

    Accurate for tiny angles: cosines from svd(Qa^T Qb), sines from svd(Qb - Qa Qa^T Qb)
    (Bjorck-Golub / Knyazev-Argentati); small angles use the sine."""
    Qa, _ = np.linalg.qr(_np(A))
    Qb, _ = np.linalg.qr(_np(B))
    if Qa.shape[1] < Qb.shape[1]:
        Qa, Qb = Qb, Qa
    M = Qa.T @ Qb
    cos = np.clip(np.linalg.svd(M, compute_uv=False), 0.0, 1.0)      # descending
    R = Qb - Qa @ M
    sin = np.clip(np.linalg.svd(R, compute_uv=False), 0.0, 1.0)      # descending
    k = Qb.shape[1]
    cos = cos[:k]
    sin_asc = np.sort(sin)[:k]                                        # ascending sines
    ang_cos = np.arccos(cos)                                          # ascending angles
    ang_sin = np.arcsin(sin_asc)
    return np.where(cos ** 2 < 0.5, ang_cos, ang_sin)


def max_principal_angle(A, B) -> float:
    """Largest principal angle between the column spans (radians); 0 for empty spans."""
    A, B = _np(A), _np(B)
    if A.shape[1] == 0 or B.shape[1] == 0:
        return 0.0
    ang = principal_angles(A, B)
    return float(ang.max()) if ang.size else 0.0


def compare_eigenvectors(E_ref, E_other, eigenvalues_ref, rel_gap: float = 1e-6) -> dict:
    """Compare two eigenvector matrices (same number of columns k) as subspaces.

    ``eigenvalues_ref`` must hold at least k values and preferably k+1 (so that the top-k
    boundary can be checked); blocks come from :func:`gap_blocks`. Returns a dict:
    ``max_angle_blocks`` (max over blocks fully inside the top k),
    ``max_angle_topk`` (whole top-k span; None when the boundary cuts a degenerate block or
    cannot be checked), ``n_blocks``, ``largest_block``, ``truncated_block`` ([start, stop] of a
    block cut by the boundary, else None)."""
    E_ref, E_other = _np(E_ref), _np(E_other)
    k = min(E_ref.shape[1], E_other.shape[1])
    lam = _np(eigenvalues_ref).ravel()
    boundary_known = lam.size > k
    blocks = gap_blocks(lam[: k + 1], rel_gap)
    full_blocks, truncated = [], None
    for (s, e) in blocks:
        if e <= k:
            full_blocks.append((s, e))
        elif s < k:
            truncated = [int(s), int(e)]
    if not boundary_known and full_blocks:
        # the last block ends at k but may continue beyond it: treat it as truncated
        s, e = full_blocks.pop()
        truncated = [int(s), int(e)]
    boundary_ok = boundary_known and truncated is None
    angs = [max_principal_angle(E_ref[:, s:e], E_other[:, s:e]) for (s, e) in full_blocks]
    res = {
        "max_angle_blocks": float(max(angs)) if angs else 0.0,
        "max_angle_topk": float(max_principal_angle(E_ref[:, :k], E_other[:, :k])) if boundary_ok else None,
        "n_blocks": len(full_blocks),
        "largest_block": int(max((e - s for s, e in full_blocks), default=0)),
        "truncated_block": truncated,
    }
    return res

"""Entry points for the C# parity suite (pythonnet in-process, or out of process via the CLI).

Every function takes plain arguments (str paths, int, float, str, lists of numbers) and returns
a JSON-serialisable dict (str keys; values are Python float/int/bool/str/None or (nested) lists
and dicts of those). Non-finite floats are returned as None. Arrays are returned FLAT in
row-major order with a companion ``<name>_shape`` list.

torch is imported lazily, only inside the functions that need it (``tms_case``, ``mlp_case``,
``rng_case``, ``tms_train_case``, ``mlp_train_case``). ``tms_metrics_case`` and
``mlp_metrics_case`` are numpy/scipy only and may run in a process that has TorchSharp loaded
(Python torch and TorchSharp must not share a process, docs/platform-notes.md §2).

Command line (out of process)::

    /usr/bin/python3 -m entk_ref.bridge FUNCTION --args '{"case_dir": "...", "k": 80}' [--out r.json]

prints (or writes) the JSON of the returned dict.

File-name conventions in a case directory (all arrays float64 .npy/.npz, C order):

* β tag: ``format(float(beta), "g")``: 0 -> "0", 1.0 -> "1", 0.3 -> "0.3", 0.33 -> "0.33".
  Files named with ``repr(float(beta))`` ("1.0", "0.0") are accepted as well.
* TMS inputs: ``weights.npz`` (arrays ``W`` [m, n], ``b`` [n]), ``inputs.npy`` [D, n],
  ``importance.npy`` [n].
  Optional C# outputs: ``jacobian.npy`` [D, n, P] (unrescaled, P = W row-major then b),
  ``kernel_flat_beta<β>.npy`` [nD, nD] (class-major, rescaled, no ridge),
  ``eigenvalues_beta<β>.npy`` [k'] (descending, ridge included),
  ``eigenvectors_beta<β>.npy`` [nD, k'] (columns), ``heatmap_beta<β>.npy`` [n, k'],
  ``metrics.json``.
* MLP inputs: ``weights.npz`` (``W1`` [H, 2p], ``W2`` [p, H]).
  Optional C# outputs for kernel name ``<kn>`` in {"full", "W1", "W2"} (aliases "layer1" for W1
  and "layer2" for W2 are also accepted): ``kernel_traced_<kn>.npy`` [p², p²] (trace_mean, no
  ridge), ``eigenvalues_<kn>.npy`` [k'], ``eigenvectors_<kn>.npy`` [p², k'], ``metrics.json``.
* ``metrics.json``: a JSON object, nested or flat; it is flattened with "." separators and every
  key that the reference also produces (see ``metrics`` in the returned dicts, e.g.
  ``"reconstructed_count"``, ``"beta1.mmcs"``, ``"full.cliff1.overlap_sum"``) is compared.
  Numeric lists are compared elementwise (max abs error).

Error measures: ``*_max_rel_err`` = max |a - ref| / max |ref| (a normwise-relative maximum, robust
to tiny entries); eigenvalues additionally give the elementwise max |Δλ_i| / |λ_ref,i|.
Eigenvectors are compared as subspaces (principal angles, radians), per block of eigenvalues
separated by a relative gap > ``rel_gap`` (so degenerate clusters are compared as blocks), and
by the residual max_i ||K e_i - λ_i e_i|| / λ_0 of the C# eigenpairs against the reference K.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from . import linalg, metrics, npyio

DEFAULT_TMS_BETAS = (0.0, 1.0, 0.3)


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------

def format_beta(beta: float) -> str:
    """Canonical β tag used in file names and metric keys: ``format(float(beta), "g")``."""
    return format(float(beta), "g")


def _find(case_dir: str, names: Sequence[str]) -> Optional[str]:
    for nm in names:
        path = os.path.join(case_dir, nm)
        if os.path.exists(path):
            return path
    return None


def _beta_file(case_dir: str, stem: str, beta: float) -> Optional[str]:
    tags = [format_beta(beta), repr(float(beta))]
    return _find(case_dir, [f"{stem}_beta{t}.npy" for t in tags])


def _rel_err(a, ref) -> Optional[float]:
    a, ref = np.asarray(a, dtype=float), np.asarray(ref, dtype=float)
    if a.shape != ref.shape:
        return None
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    diff = float(np.max(np.abs(a - ref))) if ref.size else 0.0
    return diff / scale if scale > 0 else diff


def _eigval_errors(lam_cs, lam_ref) -> Dict[str, Any]:
    lam_cs = np.asarray(lam_cs, dtype=float).ravel()
    lam_ref = np.asarray(lam_ref, dtype=float).ravel()
    n = min(lam_cs.size, lam_ref.size)
    if n == 0:
        return {"eigenvalues_max_rel_err": None, "eigenvalues_max_err_rel_to_top": None, "eigenvalues_compared": 0}
    d = np.abs(lam_cs[:n] - lam_ref[:n])
    den = np.maximum(np.abs(lam_ref[:n]), np.finfo(float).tiny)
    return {
        "eigenvalues_max_rel_err": float(np.max(d / den)),
        "eigenvalues_max_err_rel_to_top": float(np.max(d) / max(abs(lam_ref[0]), np.finfo(float).tiny)),
        "eigenvalues_compared": int(n),
    }


def _eigvec_compare(E_cs, E_ref, lam_ref_ext, rel_gap) -> Dict[str, Any]:
    k = min(E_cs.shape[1], E_ref.shape[1])
    if E_cs.shape[0] != E_ref.shape[0]:
        return {"eigvec_error": f"row mismatch {E_cs.shape[0]} vs {E_ref.shape[0]}"}
    c = linalg.compare_eigenvectors(E_ref[:, :k], E_cs[:, :k], lam_ref_ext, rel_gap)
    return {
        "eigvec_max_angle_blocks": c["max_angle_blocks"],
        "eigvec_max_angle_topk": c["max_angle_topk"],
        "eigvec_n_blocks": c["n_blocks"],
        "eigvec_largest_block": c["largest_block"],
        "eigvec_truncated_block": c["truncated_block"],
        "eigvec_compared": int(k),
    }


def _residual(matvec, E_cs, lam_cs, lam_top) -> float:
    """max_i ||K e_i - lam_i e_i|| / lam_top (lam_i = C# eigenvalue or Rayleigh quotient)."""
    E = np.asarray(E_cs, dtype=float)
    E = E / np.linalg.norm(E, axis=0, keepdims=True)
    KE = matvec(E)
    if lam_cs is None:
        lam = np.sum(E * KE, axis=0)
    else:
        lam = np.asarray(lam_cs, dtype=float).ravel()[: E.shape[1]]
        if lam.size < E.shape[1]:
            lam = np.concatenate([lam, np.sum(E[:, lam.size:] * KE[:, lam.size:], axis=0)])
    R = KE - E * lam[None, :]
    return float(np.max(np.linalg.norm(R, axis=0)) / abs(lam_top))


def _compare_metrics(case_dir: str, ref_same: Dict[str, Any], ref_own: Dict[str, Any]) -> Dict[str, Any]:
    """Compare metrics.json (if present) with the reference metrics. ``ref_same`` holds reference
    metrics computed from the C# eigenvectors (preferred), ``ref_own`` from the reference's."""
    path = os.path.join(case_dir, "metrics.json")
    if not os.path.exists(path):
        return {"metrics_compare": None, "metrics_max_abs_err": None}
    cs = npyio.flatten_dict(npyio.load_json(path))
    comp = {}
    worst = 0.0
    for key, val in cs.items():
        ref = ref_same.get(key, ref_own.get(key))
        if ref is None or val is None:
            continue
        try:
            a = np.asarray(val, dtype=float)
            r = np.asarray(ref, dtype=float)
        except (TypeError, ValueError):
            continue
        if a.shape != r.shape:
            comp[key] = {"csharp": npyio.jsonable(val), "reference": npyio.jsonable(ref), "abs_err": None}
            continue
        err = float(np.max(np.abs(a - r))) if a.size else 0.0
        worst = max(worst, err)
        comp[key] = {"csharp": npyio.jsonable(val), "reference": npyio.jsonable(ref),
                     "reference_own_vectors": npyio.jsonable(ref_own.get(key)), "abs_err": err}
    return {"metrics_compare": comp, "metrics_max_abs_err": worst if comp else None}


def _flat(name: str, a) -> Dict[str, Any]:
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    a = np.asarray(a)
    return {name: a.ravel().tolist(), f"{name}_shape": list(a.shape)}


# --------------------------------------------------------------------------------------------
# TMS
# --------------------------------------------------------------------------------------------

def _tms_vector_metrics(x, E, beta: float) -> Dict[str, Any]:
    cos = metrics.tms_cosines(x, E)
    H = metrics.column_normalise(cos)
    tag = format_beta(beta)
    return {
        f"beta{tag}.mmcs": metrics.mmcs(cos),
        f"beta{tag}.matched_score": metrics.matched_score(cos),
        f"beta{tag}.diagonal_count": metrics.diagonal_count(H),
    }


def tms_metrics_case(case_dir: str, beta_list: Sequence[float] = DEFAULT_TMS_BETAS) -> Dict[str, Any]:
    """numpy-only: reference TMS metrics computed from the C#-written eigenvectors.

    Reads ``inputs.npy``, ``weights.npz`` (for ``reconstructed_count``; optional) and
    ``eigenvectors_beta<β>.npy`` for each β (β skipped when missing).
    Returns ``{"metrics": {"reconstructed_count"?, "beta<β>.mmcs", "beta<β>.matched_score",
    "beta<β>.diagonal_count", ...}, "heatmaps": {"<β>": flat list}, "heatmaps_shape":
    {"<β>": [n, k]}}``."""
    x = npyio.load_npy(os.path.join(case_dir, "inputs.npy"))
    out: Dict[str, Any] = {}
    wpath = os.path.join(case_dir, "weights.npz")
    if os.path.exists(wpath):
        out["reconstructed_count"] = metrics.reconstructed_count(npyio.load_npz(wpath)["W"])
    heat, shapes = {}, {}
    for beta in beta_list:
        f = _beta_file(case_dir, "eigenvectors", beta)
        if f is None:
            continue
        E = npyio.load_npy(f)
        out.update(_tms_vector_metrics(x, E, beta))
        H = metrics.tms_heatmap(x, E)
        heat[format_beta(beta)] = H.ravel().tolist()
        shapes[format_beta(beta)] = list(H.shape)
    return npyio.jsonable({"metrics": out, "heatmaps": heat, "heatmaps_shape": shapes})


def tms_case(case_dir: str, beta_list: Sequence[float] = DEFAULT_TMS_BETAS, k: int = 80,
             dense_max: int = 3000, rel_gap: float = 1e-6, return_heatmaps: bool = False,
             threads: int = 2) -> Dict[str, Any]:
    """Reference TMS analysis of a C#-prepared case directory, with comparisons.

    Reads ``weights.npz`` (W [m,n], b [n]), ``inputs.npy`` [D,n], ``importance.npy`` [n]; computes
    the Jacobian with functorch (vmap(jacrev)), for each β the importance-rescaled flattened
    class-major kernel (rows c*D + d) and its top-``k`` eigenpairs (``eig_decompose``
    convention: ridge 1e-8*mean(diag) included in the eigenvalues). Route: ``"dense"`` (einsum
    kernel + eigh) when n*D <= ``dense_max``, else ``"pside"`` (P x P Gram, eigenvectors J v/σ;
    k is capped at min(nD, P)). Then the heatmap (docs/paper-notes.md §1.6 a), MMCS, matched score, diagonal count.

    Returns:
      ``N`` (=D), ``C`` (=n), ``P``, ``route``, ``k`` (effective), ``rel_gap``,
      ``reconstructed_count``, ``jacobian_max_rel_err`` (None without jacobian.npy),
      ``results``: list (in ``beta_list`` order) of dicts with ``beta``, ``beta_tag``,
      ``eigenvalues`` (k floats), ``ridge``, ``mmcs``, ``matched_score``, ``diagonal_count``,
      ``kernel_max_rel_err``, ``eigenvalues_max_rel_err``, ``eigenvalues_max_err_rel_to_top``,
      ``eigenvalues_compared``, ``eigvec_max_angle_blocks``, ``eigvec_max_angle_topk``,
      ``eigvec_n_blocks``, ``eigvec_largest_block``, ``eigvec_truncated_block``,
      ``eigvec_compared``, ``eigpair_residual_max`` (C# eigenpairs against the reference K,
      relative to the reference λ_0), ``heatmap_max_abs_err`` (C# heatmap vs the reference
      heatmap of the reference eigenvectors; rotation-dependent inside degenerate blocks),
      ``heatmap_same_vectors_max_abs_err`` (C# heatmap vs the reference formula applied to the
      C# eigenvectors) — each None when the C# file is absent; ``heatmap`` + ``heatmap_shape``
      when ``return_heatmaps``;
      ``metrics``: flat reference metrics from the reference eigenvectors;
      ``metrics_same_vectors``: the same computed from the C# eigenvectors (where present);
      ``metrics_compare`` / ``metrics_max_abs_err``: comparison with ``metrics.json``
      (reference values from the C# eigenvectors when available).
    """
    import torch
    from . import models, ntk
    ntk.set_threads(threads)

    w = npyio.load_npz(os.path.join(case_dir, "weights.npz"))
    W = torch.as_tensor(w["W"], dtype=torch.float64)
    b = torch.as_tensor(w["b"], dtype=torch.float64)
    x_np = npyio.load_npy(os.path.join(case_dir, "inputs.npy"))
    x = torch.as_tensor(x_np, dtype=torch.float64)
    importance = npyio.load_npy(os.path.join(case_dir, "importance.npy"))
    N, C = x_np.shape
    with torch.no_grad():
        J_t = ntk.jacobian_functorch(models.tms_forward, (W, b), x)
    J = J_t.numpy()
    P = J.shape[2]
    M = N * C
    route = "dense" if M <= dense_max else "pside"
    k_eff = int(min(k, M) if route == "dense" else min(k, M, P))

    res: Dict[str, Any] = {"N": N, "C": C, "P": P, "route": route, "k": k_eff, "rel_gap": rel_gap,
                           "reconstructed_count": metrics.reconstructed_count(w["W"])}
    jpath = os.path.join(case_dir, "jacobian.npy")
    res["jacobian_max_rel_err"] = _rel_err(npyio.load_npy(jpath), J) if os.path.exists(jpath) else None

    ref_metrics: Dict[str, Any] = {"reconstructed_count": res["reconstructed_count"]}
    same_metrics: Dict[str, Any] = {}
    results = []
    for beta in beta_list:
        beta = float(beta)
        Jr = J * ntk.importance_weights(importance, beta).numpy()[None, :, None]
        rows = np.ascontiguousarray(Jr.transpose(1, 0, 2).reshape(M, P))      # class-major
        r: Dict[str, Any] = {"beta": beta, "beta_tag": format_beta(beta)}
        Kf = None
        if route == "dense":
            K4 = ntk.kernel_from_jacobians(torch.as_tensor(Jr))
            Kf = ntk.flatten_class_major(K4).numpy()
            lam_all, V_all, ridge = linalg.eig_decompose(Kf, None)
            lam_ext = lam_all[: k_eff + 1]
            lam, E = lam_all[:k_eff], V_all[:, :k_eff]

            def matvec(X, Kf=Kf, ridge=ridge):
                return Kf @ X + ridge * X
        else:
            lam_all, E, ridge = linalg.pside_spectrum(rows, min(M, P), k_eff)
            lam = lam_all[:k_eff]
            lam_ext = lam_all[: k_eff + 1]
            if lam_ext.size <= k_eff and M > P:
                lam_ext = np.concatenate([lam_ext, [ridge]])      # null space of K = ridge

            def matvec(X, rows=rows, ridge=ridge):
                return rows @ (rows.T @ X) + ridge * X
        r["eigenvalues"] = lam.tolist()
        r["ridge"] = ridge
        vm = _tms_vector_metrics(x_np, E, beta)
        ref_metrics.update(vm)
        tag = format_beta(beta)
        r["mmcs"] = vm[f"beta{tag}.mmcs"]
        r["matched_score"] = vm[f"beta{tag}.matched_score"]
        r["diagonal_count"] = vm[f"beta{tag}.diagonal_count"]
        H_ref = metrics.tms_heatmap(x_np, E)
        if return_heatmaps:
            r.update(_flat("heatmap", H_ref))

        # --- comparisons with C# outputs
        f = _beta_file(case_dir, "kernel_flat", beta)
        if f is not None:
            Kcs = npyio.load_npy(f)
            if Kf is None and M <= 12000:
                Kf = rows @ rows.T
            r["kernel_max_rel_err"] = _rel_err(Kcs, Kf) if Kf is not None else None
        else:
            r["kernel_max_rel_err"] = None
        f = _beta_file(case_dir, "eigenvalues", beta)
        lam_cs = npyio.load_npy(f).ravel() if f is not None else None
        r.update(_eigval_errors(lam_cs, lam) if lam_cs is not None else
                 {"eigenvalues_max_rel_err": None, "eigenvalues_max_err_rel_to_top": None, "eigenvalues_compared": 0})
        f = _beta_file(case_dir, "eigenvectors", beta)
        E_cs = npyio.load_npy(f) if f is not None else None
        if E_cs is not None:
            if E_cs.ndim == 1:
                E_cs = E_cs[:, None]
            r.update(_eigvec_compare(E_cs, E, lam_ext, rel_gap))
            r["eigpair_residual_max"] = _residual(matvec, E_cs, lam_cs, lam[0])
            sm = _tms_vector_metrics(x_np, E_cs, beta)
            same_metrics.update(sm)
        else:
            r.update({"eigvec_max_angle_blocks": None, "eigvec_max_angle_topk": None, "eigvec_n_blocks": 0,
                      "eigvec_largest_block": 0, "eigvec_truncated_block": None, "eigvec_compared": 0,
                      "eigpair_residual_max": None})
        f = _beta_file(case_dir, "heatmap", beta)
        if f is not None:
            H_cs = npyio.load_npy(f)
            kk = min(H_cs.shape[1], H_ref.shape[1]) if H_cs.ndim == 2 else 0
            r["heatmap_max_abs_err"] = (float(np.max(np.abs(H_cs[:, :kk] - H_ref[:, :kk])))
                                        if kk and H_cs.shape[0] == H_ref.shape[0] else None)
            if E_cs is not None:
                H_same = metrics.tms_heatmap(x_np, E_cs)
                r["heatmap_same_vectors_max_abs_err"] = (float(np.max(np.abs(H_cs - H_same)))
                                                         if H_same.shape == H_cs.shape else None)
            else:
                r["heatmap_same_vectors_max_abs_err"] = None
        else:
            r["heatmap_max_abs_err"] = None
            r["heatmap_same_vectors_max_abs_err"] = None
        results.append(r)
    res["results"] = results
    res["metrics"] = ref_metrics
    res["metrics_same_vectors"] = same_metrics
    same_all = dict(same_metrics)
    if same_all:
        same_all["reconstructed_count"] = res["reconstructed_count"]
    res.update(_compare_metrics(case_dir, same_all, ref_metrics))
    return npyio.jsonable(res)


# --------------------------------------------------------------------------------------------
# MLP on modular addition
# --------------------------------------------------------------------------------------------

KERNEL_NAMES = ("full", "W1", "W2")
_KERNEL_ALIASES = {"full": ("full",), "W1": ("W1", "layer1"), "W2": ("W2", "layer2")}


def default_cliffs(p: int) -> List[List[int]]:
    """[[1, 1+4K], [1+4K, 1+8K]] (half-open, 0-based), K = floor(p/2): for p = 29 eigenvectors
    1..56 and 57..112 (python slices [1:57], [57:113])."""
    K = p // 2
    return [[1, 1 + 4 * K], [1 + 4 * K, 1 + 8 * K]]


DEFAULT_CLIFF_FAMILIES = [["n", "m"], ["sum", "diff"]]


def _mlp_cliff_metrics(E, p: int, cliffs, cliff_families, prefix: str, families_cache: Dict,
                       lap_cache: Dict, heatmaps: Optional[Dict] = None) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    E = np.asarray(E, dtype=float)
    for i, (s, e) in enumerate(cliffs):
        s, e = int(s), int(min(e, E.shape[1]))
        if e - s <= 0:
            continue
        fams = list(cliff_families[i]) if i < len(cliff_families) else []
        key = f"{prefix}.cliff{i}"
        Ec = E[:, s:e]
        Fs = []
        for f in fams:
            if f not in families_cache:
                families_cache[f] = metrics.fourier_family(p, f)
            F = families_cache[f]
            Fs.append(F)
            out[f"{key}.overlap_{f}"] = metrics.subspace_overlap(Ec, F)
            out[f"{key}.overlap_per_freq_{f}"] = metrics.subspace_overlap_per_frequency(Ec, F).tolist()
        if len(Fs) >= 1:
            raw = metrics.staircase_stats(metrics.corr_stack(Ec, Fs))
            out[f"{key}.raw_corr_max_mean"] = raw["max_mean"]
        can_rotate = (len(fams) == 2 and all(f in metrics.LAPLACIANS for f in fams) and (e - s) % 2 == 0)
        if can_rotate:
            for f in fams:
                if f not in lap_cache:
                    lap_cache[f] = metrics.laplacian(p, f)
            U = metrics.two_stage_rotation(Ec, lap_cache[fams[0]], lap_cache[fams[1]])
            Hs = metrics.corr_stack(U, Fs)
            st = metrics.staircase_stats(Hs)
            out[f"{key}.rot_corr_max_mean"] = st["max_mean"]
            out[f"{key}.rot_corr_max_min"] = st["max_min"]
            out[f"{key}.rot_frac_ge_0.9"] = st["frac_ge_0.9"]
            out[f"{key}.rot_distinct_rows"] = st["distinct_rows"]
            if heatmaps is not None:
                heatmaps[key] = Hs.ravel().tolist()
                heatmaps[key + "_shape"] = list(Hs.shape)
    return out


def _mlp_kernel_file(case_dir: str, stem: str, kn: str) -> Optional[str]:
    return _find(case_dir, [f"{stem}_{a}.npy" for a in _KERNEL_ALIASES[kn]])


def mlp_metrics_case(case_dir: str, p: int, cliffs: Optional[Sequence[Sequence[int]]] = None,
                     cliff_families: Optional[Sequence[Sequence[str]]] = None,
                     return_heatmaps: bool = False) -> Dict[str, Any]:
    """numpy-only: reference Fourier metrics of the C#-written eigenvectors
    ``eigenvectors_<kn>.npy`` (kn in full/W1/W2, aliases layer1/layer2).

    For each cliff i = [start, stop) (default :func:`default_cliffs`) with families
    ``cliff_families[i]`` (default [["n","m"], ["sum","diff"]]), keys
    ``<kn>.cliff<i>.overlap_<f>``, ``<kn>.cliff<i>.overlap_per_freq_<f>`` (list of K),
    ``<kn>.cliff<i>.raw_corr_max_mean`` and, after the two-stage rotation with
    (L_<f1>, L_<f2>) (only for families n, m, sum, diff and an even width),
    ``<kn>.cliff<i>.rot_corr_max_mean``, ``.rot_corr_max_min``, ``.rot_frac_ge_0.9``,
    ``.rot_distinct_rows``. Returns ``{"metrics": {...}, "heatmaps": {...}}`` (rotated stacked
    phase-insensitive heatmaps, flat + ``_shape``, only when ``return_heatmaps``)."""
    cliffs = [list(c) for c in (cliffs or default_cliffs(p))]
    cliff_families = [list(f) for f in (cliff_families or DEFAULT_CLIFF_FAMILIES)]
    fc, lc = {}, {}
    out: Dict[str, Any] = {}
    heat: Optional[Dict] = {} if return_heatmaps else None
    for kn in KERNEL_NAMES:
        f = _mlp_kernel_file(case_dir, "eigenvectors", kn)
        if f is None:
            continue
        out.update(_mlp_cliff_metrics(npyio.load_npy(f), p, cliffs, cliff_families, kn, fc, lc, heat))
    return npyio.jsonable({"metrics": out, "heatmaps": heat or {}})


def mlp_case(case_dir: str, k: int = 200, p: Optional[int] = None,
             cliffs: Optional[Sequence[Sequence[int]]] = None,
             cliff_families: Optional[Sequence[Sequence[str]]] = None,
             method: str = "functorch", max_bytes: int = 2 * 1024 ** 3, rel_gap: float = 1e-6,
             return_heatmaps: bool = False, threads: int = 2) -> Dict[str, Any]:
    """Reference analysis of a modular-addition MLP case directory, with comparisons.

    Reads ``weights.npz`` (W1 [H, 2p], W2 [p, H]); ``p`` is inferred from W2 when None (and
    checked otherwise). Inputs: all p² pairs, row n*p + m. Computes the traced (trace_mean)
    kernels "full", "W1", "W2" (N x N) by ``method``: "functorch" (chunked vmap(jacrev), Jacobian
    memory <= ``max_bytes``), "autograd" (per-sample loop; small cases only) or "closed_form"
    (docs/paper-notes.md §1.10); their top-``k`` eigenpairs (ridge included), and the Fourier metrics of the
    cliffs (see :func:`mlp_metrics_case`).

    Returns: ``p``, ``N``, ``C``, ``H``, ``P``, ``k``, ``method``, ``cliffs``, ``cliff_families``,
    ``closed_form_max_rel_err`` (kernel by ``method`` vs closed form, max over the 3 kernels),
    ``layer_sum_max_rel_err``, ``kernels``: {kn: {``eigenvalues`` (k), ``ridge``,
    ``kernel_max_rel_err``, ``eigenvalues_max_rel_err``, ``eigenvalues_max_err_rel_to_top``,
    ``eigenvalues_compared``, ``eigvec_max_angle_blocks``, ``eigvec_max_angle_topk``,
    ``eigvec_n_blocks``, ``eigvec_largest_block``, ``eigvec_truncated_block``,
    ``eigvec_compared``, ``eigpair_residual_max``}} (comparison entries None when the C# file is
    absent), ``metrics`` (flat, from the reference eigenvectors), ``metrics_same_vectors``
    (from the C# eigenvectors), ``metrics_compare`` / ``metrics_max_abs_err`` (vs
    ``metrics.json``), ``heatmaps`` when ``return_heatmaps``.
    """
    import torch
    from . import models, ntk
    ntk.set_threads(threads)

    w = npyio.load_npz(os.path.join(case_dir, "weights.npz"))
    W1 = torch.as_tensor(w["W1"], dtype=torch.float64)
    W2 = torch.as_tensor(w["W2"], dtype=torch.float64)
    p_w = int(W2.shape[0])
    if p is None:
        p = p_w
    if int(p) != p_w or W1.shape[1] != 2 * p_w or W1.shape[0] != W2.shape[1]:
        raise ValueError(f"weights inconsistent with p={p}: W1 {tuple(W1.shape)}, W2 {tuple(W2.shape)}")
    p = int(p)
    H = int(W1.shape[0])
    x = models.mlp_inputs(p)["x"]
    N = p * p
    if method == "closed_form":
        Kt = ntk.mlp_traced_closed_form(W1, W2, x)
    elif method in ("functorch", "autograd"):
        Kt = ntk.traced_kernels_chunked(models.mlp_forward, (W1, W2), x, models.MLP_PARAM_NAMES,
                                        max_bytes=int(max_bytes), method=method)
    else:
        raise ValueError(f"unknown method {method!r}")
    Kn = {kn: Kt[kn].detach().numpy() for kn in KERNEL_NAMES}
    Kcf = ntk.mlp_traced_closed_form(W1, W2, x)
    cf_err = max(_rel_err(Kn[kn], Kcf[kn].numpy()) for kn in KERNEL_NAMES)
    ls_err = _rel_err(Kn["W1"] + Kn["W2"], Kn["full"])

    cliffs = [list(map(int, c)) for c in (cliffs or default_cliffs(p))]
    cliff_families = [list(f) for f in (cliff_families or DEFAULT_CLIFF_FAMILIES)]
    k = int(min(k, N))
    res: Dict[str, Any] = {"p": p, "N": N, "C": p, "H": H, "P": int(W1.numel() + W2.numel()), "k": k,
                           "method": method, "cliffs": cliffs, "cliff_families": cliff_families,
                           "closed_form_max_rel_err": cf_err, "layer_sum_max_rel_err": ls_err}
    fc, lc = {}, {}
    ref_m: Dict[str, Any] = {}
    same_m: Dict[str, Any] = {}
    heat: Optional[Dict] = {} if return_heatmaps else None
    kernels = {}
    for kn in KERNEL_NAMES:
        K = Kn[kn]
        lam_all, V_all, ridge = linalg.eig_decompose(K, None)
        lam, E = lam_all[:k], V_all[:, :k]
        r: Dict[str, Any] = {"eigenvalues": lam.tolist(), "ridge": ridge}
        ref_m.update(_mlp_cliff_metrics(E, p, cliffs, cliff_families, kn, fc, lc, heat))
        f = _mlp_kernel_file(case_dir, "kernel_traced", kn)
        r["kernel_max_rel_err"] = _rel_err(npyio.load_npy(f), K) if f is not None else None
        f = _mlp_kernel_file(case_dir, "eigenvalues", kn)
        lam_cs = npyio.load_npy(f).ravel() if f is not None else None
        r.update(_eigval_errors(lam_cs, lam) if lam_cs is not None else
                 {"eigenvalues_max_rel_err": None, "eigenvalues_max_err_rel_to_top": None, "eigenvalues_compared": 0})
        f = _mlp_kernel_file(case_dir, "eigenvectors", kn)
        if f is not None:
            E_cs = npyio.load_npy(f)
            if E_cs.ndim == 1:
                E_cs = E_cs[:, None]
            r.update(_eigvec_compare(E_cs, E, lam_all[: E_cs.shape[1] + 1], rel_gap))

            def matvec(X, K=K, ridge=ridge):
                return K @ X + ridge * X
            r["eigpair_residual_max"] = _residual(matvec, E_cs, lam_cs, lam[0])
            same_m.update(_mlp_cliff_metrics(E_cs, p, cliffs, cliff_families, kn, fc, lc, None))
        else:
            r.update({"eigvec_max_angle_blocks": None, "eigvec_max_angle_topk": None, "eigvec_n_blocks": 0,
                      "eigvec_largest_block": 0, "eigvec_truncated_block": None, "eigvec_compared": 0,
                      "eigpair_residual_max": None})
        kernels[kn] = r
    res["kernels"] = kernels
    res["metrics"] = ref_m
    res["metrics_same_vectors"] = same_m
    res.update(_compare_metrics(case_dir, same_m, ref_m))
    if return_heatmaps:
        res["heatmaps"] = heat
    return npyio.jsonable(res)


# --------------------------------------------------------------------------------------------
# RNG and training
# --------------------------------------------------------------------------------------------

def rng_case(seed: int, model: str = "tms", n: int = 50, m: int = 10, D: int = 500, S: float = 0.9,
             r: float = 0.8, p: int = 29, H: int = 512, train_frac: float = 0.7,
             out_dir: Optional[str] = None) -> Dict[str, Any]:
    """Initial weights/data produced from ``seed`` (models.tms_init / models.mlp_init order).

    ``model="tms"``: returns ``W``, ``b``, ``x``, ``importance`` (flat + ``_shape``); with
    ``out_dir`` also writes ``weights.npz`` (W, b), ``inputs.npy``, ``importance.npy``.
    ``model="mlp"``: returns ``W1``, ``W2`` (float), ``perm``, ``train_idx``, ``test_idx``
    (ints), flat + ``_shape``; with ``out_dir`` writes ``weights.npz`` (W1, W2) and
    ``split.npz`` (perm, train_idx, test_idx as int64)."""
    from . import models
    out: Dict[str, Any] = {"model": model, "seed": int(seed)}
    if model == "tms":
        d = models.tms_init(n, m, D, S, seed, r)
        for key in ("W", "b", "x", "importance"):
            out.update(_flat(key, d[key]))
        if out_dir:
            os.makedirs(out_dir, exist_ok=True)
            npyio.save_npz(os.path.join(out_dir, "weights.npz"), W=d["W"], b=d["b"])
            npyio.save_npy(os.path.join(out_dir, "inputs.npy"), d["x"])
            npyio.save_npy(os.path.join(out_dir, "importance.npy"), d["importance"])
    elif model == "mlp":
        d = models.mlp_init(p, H, seed, train_frac)
        for key in ("W1", "W2", "perm", "train_idx", "test_idx"):
            out.update(_flat(key, d[key]))
        if out_dir:
            os.makedirs(out_dir, exist_ok=True)
            npyio.save_npz(os.path.join(out_dir, "weights.npz"), W1=d["W1"], W2=d["W2"])
            npyio.save_npz(os.path.join(out_dir, "split.npz"), perm=d["perm"], train_idx=d["train_idx"],
                           test_idx=d["test_idx"])
    else:
        raise ValueError(f"unknown model {model!r}")
    return npyio.jsonable(out)


def tms_train_case(seed: int, steps: int, n: int = 50, m: int = 10, D: int = 500, S: float = 0.9,
                   r: float = 0.8, lr: float = 1e-3, out_dir: Optional[str] = None,
                   threads: int = 2) -> Dict[str, Any]:
    """Init from ``seed`` (``rng_case`` order) and train with Adam for ``steps`` full-batch steps.

    Returns ``W``, ``b`` (trained, flat + ``_shape``), ``loss`` (steps+1 floats: loss after t
    steps), ``initial_loss``, ``final_loss``, ``reconstructed_count``. With ``out_dir`` writes a
    ready ``tms_case`` directory: ``weights.npz`` (trained W, b), ``inputs.npy``,
    ``importance.npy``, ``loss.npy``."""
    from . import models, ntk, train
    ntk.set_threads(threads)
    d = models.tms_init(n, m, D, S, seed, r)
    t = train.train_tms(d["W"], d["b"], d["x"], d["importance"], steps, lr=lr)
    out: Dict[str, Any] = {"seed": int(seed), "steps": int(steps)}
    out.update(_flat("W", t["W"]))
    out.update(_flat("b", t["b"]))
    out["loss"] = t["loss"]
    out["initial_loss"] = t["loss"][0]
    out["final_loss"] = t["loss"][-1]
    out["reconstructed_count"] = metrics.reconstructed_count(t["W"].numpy())
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        npyio.save_npz(os.path.join(out_dir, "weights.npz"), W=t["W"], b=t["b"])
        npyio.save_npy(os.path.join(out_dir, "inputs.npy"), d["x"])
        npyio.save_npy(os.path.join(out_dir, "importance.npy"), d["importance"])
        npyio.save_npy(os.path.join(out_dir, "loss.npy"), np.asarray(t["loss"]))
    return npyio.jsonable(out)


def mlp_train_case(seed: int, epochs: int, p: int = 29, H: int = 512, lr: float = 0.05,
                   weight_decay: float = 0.01, train_frac: float = 0.7, log_every: int = 10,
                   out_dir: Optional[str] = None, threads: int = 2) -> Dict[str, Any]:
    """Init from ``seed`` (``rng_case`` order) and train with AdamW for ``epochs`` epochs.

    Returns ``W1``, ``W2`` (trained, flat + ``_shape``), ``history`` (dict of lists ``epoch``,
    ``train_loss``, ``test_loss``, ``train_acc``, ``test_acc``; logged after e updates for
    e = 0, log_every, ..., epochs). With ``out_dir`` writes ``weights.npz`` (W1, W2; a ready
    ``mlp_case`` directory), ``split.npz`` and ``history.json``."""
    from . import models, ntk, train
    ntk.set_threads(threads)
    d = models.mlp_init(p, H, seed, train_frac)
    t = train.train_mlp(d["W1"], d["W2"], p, d["train_idx"], d["test_idx"], epochs, lr=lr,
                        weight_decay=weight_decay, log_every=log_every)
    out: Dict[str, Any] = {"seed": int(seed), "epochs": int(epochs), "p": p, "H": H}
    out.update(_flat("W1", t["W1"]))
    out.update(_flat("W2", t["W2"]))
    out["history"] = t["history"]
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        npyio.save_npz(os.path.join(out_dir, "weights.npz"), W1=t["W1"], W2=t["W2"])
        npyio.save_npz(os.path.join(out_dir, "split.npz"), perm=d["perm"], train_idx=d["train_idx"],
                       test_idx=d["test_idx"])
        npyio.save_json(os.path.join(out_dir, "history.json"), t["history"])
    return npyio.jsonable(out)


# --------------------------------------------------------------------------------------------
# Modular-addition Transformer (entk_ref.transformer)
# --------------------------------------------------------------------------------------------

def _tf_params(case_dir: str):
    import torch
    from . import transformer as T
    w = npyio.load_npz(os.path.join(case_dir, "weights.npz"))
    missing = [n for n in T.TRANSFORMER_PARAM_NAMES if n not in w]
    if missing:
        raise ValueError(f"weights.npz lacks {missing}")
    return tuple(torch.as_tensor(w[n], dtype=torch.float64) for n in T.TRANSFORMER_PARAM_NAMES)


def transformer_metrics(E_by_kernel: Dict[str, np.ndarray], p: int, keys: Sequence[int],
                        offsets: Dict[str, int], rotations: Dict[str, Dict[str, int]],
                        heatmaps: Optional[Dict] = None) -> Dict[str, Any]:
    """numpy-only Fourier metrics of given eigenvectors, with the same flat keys as the C#
    ``metrics.json``: for kernel n with offset s (0 or 1) and F = len(keys), block 1 = [0, s+2F),
    block 2 = [s+2F, s+4F); ``kernels.<n>.block<b>_<f>.overlap`` / ``.singular_values`` /
    ``.per_frequency`` for f in (sum, axis_sum) at the key frequencies (per frequency: all k);
    for each rotated kernel (given block start and size) the single-stage L_sum rotation's
    ``rotations.<n>.l_sum_energies`` and ``.best_value_per_direction`` (sum modes, all k)."""
    fams = {f: metrics.fourier_family(p, f) for f in ("sum", "axis_sum")}
    F = len(keys)
    out: Dict[str, Any] = {}
    for n, E in E_by_kernel.items():
        s = int(offsets[n])
        blocks = {1: E[:, : s + 2 * F], 2: E[:, s + 2 * F: s + 4 * F]}
        for b, Q in blocks.items():
            for f, fam in fams.items():
                key = f"kernels.{n}.block{b}_{f}"
                sv = metrics.subspace_singular_values(Q, fam, keys)
                out[key + ".overlap"] = float(np.sum(sv * sv))
                out[key + ".singular_values"] = sv.tolist()
                out[key + ".per_frequency"] = metrics.subspace_overlap_per_frequency(Q, fam).tolist()
    L = None
    for n, r in rotations.items():
        if n not in E_by_kernel:
            continue
        if L is None:
            L = metrics.laplacian(p, "sum")
        C = E_by_kernel[n][:, int(r["start"]): int(r["start"]) + int(r["size"])]
        Q, _ = np.linalg.qr(C)
        energies, V = np.linalg.eigh(Q.T @ L @ Q)
        U = Q @ V
        H = metrics.phase_insensitive_corr(U, fams["sum"])
        out[f"rotations.{n}.l_sum_energies"] = energies.tolist()
        out[f"rotations.{n}.best_value_per_direction"] = H.max(axis=0).tolist()
        if heatmaps is not None:
            heatmaps[n] = H.ravel().tolist()
            heatmaps[n + "_shape"] = list(H.shape)
    return out


def transformer_case(case_dir: str, k: int = 40, rel_gap: float = 1e-6, threads: int = 2,
                     compare_own_metrics: Sequence[str] = ("W_out", "W_U", "full")) -> Dict[str, Any]:
    """Reference analysis of a C# Transformer case directory, with comparisons.

    Reads ``weights.npz`` (W_E ... W_U, see entk_ref.transformer), ``metrics.json`` (for the key
    frequencies, block offsets and rotated blocks that C# chose), and the optional C# files
    ``logits.npy`` [p^2, p+1], ``kernel_<n>.npy``, ``eigenvalues_<n>.npy``, ``eigenvectors_<n>.npy``
    (n in the 12 kernel names), ``fourier_power.npy``, ``heatmap_<n>_after.npy``. Computes the
    full causal forward pass, the 12 kernels by vmap(jacrev) of the logit sum, their top-k
    eigenpairs (ridge included), the Fourier power and key frequencies of W_E, and the block
    overlaps / rotations (``transformer_metrics``) from the C# eigenvectors ("same vectors") and,
    for ``compare_own_metrics``, from the reference's own eigenvectors.

    Returns ``p, N, C, P, k, logits_max_rel_err, layer_sum_max_rel_err, fourier_power_max_rel_err,
    key_frequencies, key_frequencies_match, gap_ratio, power_fraction, kernels{n: eigenvalues,
    ridge, kernel_max_rel_err, eigenvalues_max_rel_err, ..., eigpair_residual_max}``,
    ``metrics_same_vectors``, ``metrics_own_vectors``, ``metrics_compare``, ``metrics_max_abs_err``,
    ``heatmaps_after_max_abs_err`` {n: err}."""
    import torch
    from . import ntk, transformer as T
    ntk.set_threads(threads)
    params = _tf_params(case_dir)
    p = int(params[0].shape[0]) - 1
    N, C = p * p, p + 1
    x = T.all_inputs(p)
    res: Dict[str, Any] = {"p": p, "N": N, "C": C, "P": int(sum(t.numel() for t in params))}
    with torch.no_grad():
        logits = T.transformer_forward(params, x).numpy()
    f = os.path.join(case_dir, "logits.npy")
    res["logits_max_rel_err"] = _rel_err(npyio.load_npy(f), logits) if os.path.exists(f) else None
    K = {n: v.numpy() for n, v in T.transformer_kernels(params, p).items()}
    res["layer_sum_max_rel_err"] = _rel_err(sum(K[n] for n in T.TRANSFORMER_PARAM_NAMES), K["full"])
    power = T.fourier_power(params[0], p)
    f = os.path.join(case_dir, "fourier_power.npy")
    res["fourier_power_max_rel_err"] = _rel_err(npyio.load_npy(f), power) if os.path.exists(f) else None
    cs = npyio.load_json(os.path.join(case_dir, "metrics.json"))
    keys, ratio, frac = T.key_frequencies(power, p)
    res["key_frequencies"] = keys
    res["gap_ratio"] = ratio
    res["power_fraction"] = frac
    res["key_frequencies_match"] = list(cs["key_frequency_detection"]["detected"]) == keys
    used = [int(v) for v in cs["key_frequencies"]]
    offsets = {n: int(cs["kernels"][n]["offset"]) for n in T.KERNEL_NAMES}
    rotations = {n: {"start": int(r["start"]), "size": int(r["size"])} for n, r in cs.get("rotations", {}).items()}
    k = int(min(k, N))
    res["k"] = k
    kernels: Dict[str, Any] = {}
    E_cs: Dict[str, np.ndarray] = {}
    E_own: Dict[str, np.ndarray] = {}
    for n in T.KERNEL_NAMES:
        lam_all, V_all, ridge = linalg.eig_decompose(K[n], None)
        lam, E = lam_all[:k], V_all[:, :k]
        E_own[n] = E
        r: Dict[str, Any] = {"eigenvalues": lam.tolist(), "ridge": ridge}
        f = os.path.join(case_dir, f"kernel_{n}.npy")
        r["kernel_max_rel_err"] = _rel_err(npyio.load_npy(f), K[n]) if os.path.exists(f) else None
        f = os.path.join(case_dir, f"eigenvalues_{n}.npy")
        lam_cs = npyio.load_npy(f).ravel() if os.path.exists(f) else None
        r.update(_eigval_errors(lam_cs, lam) if lam_cs is not None else
                 {"eigenvalues_max_rel_err": None, "eigenvalues_max_err_rel_to_top": None, "eigenvalues_compared": 0})
        f = os.path.join(case_dir, f"eigenvectors_{n}.npy")
        if os.path.exists(f):
            Ec = npyio.load_npy(f)
            E_cs[n] = Ec
            r.update(_eigvec_compare(Ec, E, lam_all[: Ec.shape[1] + 1], rel_gap))

            def matvec(X, Kn=K[n], ridge=ridge):
                return Kn @ X + ridge * X
            r["eigpair_residual_max"] = _residual(matvec, Ec, lam_cs, lam[0])
        kernels[n] = r
    res["kernels"] = kernels
    heat: Dict[str, Any] = {}
    same = transformer_metrics(E_cs, p, used, offsets, rotations, heat)
    own = transformer_metrics({n: E_own[n] for n in compare_own_metrics}, p, used, offsets, {})
    same["key_frequency_detection.power"] = power.tolist()
    same["key_frequency_detection.power_fraction"] = frac
    same["key_frequency_detection.gap_ratio"] = ratio
    res["metrics_same_vectors"] = same
    res["metrics_own_vectors"] = own
    res.update(_compare_metrics(case_dir, same, {}))
    herr = {}
    for n in rotations:
        f = os.path.join(case_dir, f"heatmap_{n}_after.npy")
        if os.path.exists(f) and n in heat:
            H = np.asarray(heat[n]).reshape(heat[n + "_shape"])
            herr[n] = _rel_err(npyio.load_npy(f), H)
    res["heatmaps_after_max_abs_err"] = herr
    return npyio.jsonable(res)


def transformer_rng_case(seed: int, p: int = 29, d_model: int = 64, heads: int = 4, d_mlp: int = 256,
                         train_frac: float = 0.5, split_seed: int = 0, epochs: int = 3) -> Dict[str, Any]:
    """Initial weights (``W_E`` ... ``W_U``, flat + ``_shape``), the split (``train_idx``,
    ``test_idx`` in shuffled order) and the first ``epochs`` mini-batch permutations
    (``perms``, list of lists) for ``seed`` (entk_ref.transformer init, split and batch order)."""
    from . import transformer as T
    params, g = T.transformer_init(seed, p, d_model, heads, d_mlp)
    tr, te = T.python_split(p, train_frac, split_seed)
    order = T.AuthorBatchOrder(g)
    perms = []
    for e in range(int(epochs)):
        perms.append(order.next_epoch(len(tr)).tolist())
        order.after_epoch(e)
    out: Dict[str, Any] = {"seed": int(seed), "train_idx": tr, "test_idx": te, "perms": perms}
    for n, w in zip(T.TRANSFORMER_PARAM_NAMES, params):
        out.update(_flat(n, w))
    return npyio.jsonable(out)


def transformer_train_case(seed: int, epochs: int, p: int = 29, d_model: int = 64, heads: int = 4,
                           d_mlp: int = 256, lr: float = 3e-4, weight_decay: float = 1.0, beta1: float = 0.9,
                           beta2: float = 0.999, eps: float = 1e-8, batch_size: int = 64,
                           train_frac: float = 0.5, split_seed: int = 0, log_every: int = 20,
                           threads: int = 2) -> Dict[str, Any]:
    """Init from ``seed`` and train ``epochs`` epochs (entk_ref.transformer.train_transformer).
    Returns the trained weights (flat + ``_shape``) and ``history`` (dict of lists)."""
    from . import ntk, transformer as T
    ntk.set_threads(threads)
    params, g = T.transformer_init(seed, p, d_model, heads, d_mlp)
    tr, te = T.python_split(p, train_frac, split_seed)
    t = T.train_transformer(params, p, tr, te, epochs, g, lr=lr, weight_decay=weight_decay, betas=(beta1, beta2),
                            eps=eps, batch_size=batch_size, log_every=log_every)
    out: Dict[str, Any] = {"seed": int(seed), "epochs": int(epochs), "history": t["history"]}
    for n, w in zip(T.TRANSFORMER_PARAM_NAMES, t["params"]):
        out.update(_flat(n, w))
    return npyio.jsonable(out)


FUNCTIONS = {
    "tms_case": tms_case,
    "tms_metrics_case": tms_metrics_case,
    "mlp_case": mlp_case,
    "mlp_metrics_case": mlp_metrics_case,
    "rng_case": rng_case,
    "tms_train_case": tms_train_case,
    "mlp_train_case": mlp_train_case,
    "transformer_case": transformer_case,
    "transformer_rng_case": transformer_rng_case,
    "transformer_train_case": transformer_train_case,
}


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m entk_ref.bridge", description=__doc__.split("\n")[0])
    ap.add_argument("function", choices=sorted(FUNCTIONS))
    ap.add_argument("--args", default="{}", help="JSON object of keyword arguments")
    ap.add_argument("--out", default=None, help="write the JSON result here instead of stdout")
    a = ap.parse_args(argv)
    kwargs = json.loads(a.args)
    result = FUNCTIONS[a.function](**kwargs)
    text = json.dumps(result, allow_nan=False)
    if a.out:
        with open(a.out, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

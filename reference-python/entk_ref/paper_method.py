"""The paper's own eNTK pipeline, re-implemented in its spirit, for the benchmark.

What the paper's code does (docs/paper-notes.md §1.1–§1.4, docs/platform-notes.md §4.1), and what this module times:

1. per-sample Jacobians with functorch ``vmap(jacrev(f), (None, 0))``, computed SEPARATELY for
   x1 and x2 (although they are the same set), per parameter tensor;
2. contraction to the FULL 4-tensor kernel ``einsum('ncp,mdp->nmcd')`` (N, N, C, C), per
   parameter tensor, summed;
3. the reduction (class-mean trace for the MLP, class-major flattening for TMS);
4. ridge 1e-8 * mean(diag) added, dense ``torch.linalg.eigh``, eigenvalues sorted descending,
   top-k kept.

To stay inside a memory budget (``--mem-gb``, default 8), samples are processed in chunks: for
every chunk of x1 its Jacobian is formed, and for every chunk of x2 the x2 Jacobian is formed
again and the (chunk1, chunk2, C, C) block of the full kernel is contracted and reduced. The
FLOP count is the paper's (N^2 C^2 P for the full kernel); only the peak memory differs.

Workloads:

* ``mlp_traced``: modular-addition MLP (``--p``, ``--H``), traced kernel (1/C) sum_c K_cc of the
  full kernel (layer W1 + layer W2), eigh of N x N (N = p^2), top ``--topk`` (200).
* ``mlp_flat_dense``: same model, full kernel flattened class-major to (N C) x (N C) and eigh'd
  densely (only feasible for small p).
* ``tms_flat``: TMS (``--n``, ``--m``, ``--D``, ``--S``, ``--r``), importance-rescaled (``--beta``)
  full kernel flattened class-major (nD x nD), dense eigh, top ``--topk`` (80).
* ``transformer_layers``: the modular-addition Transformer (``--p``; d_model 64, 4 heads, d_mlp 256;
  entk_ref.transformer), per parameter tensor the full (N, N, C, C) kernel block by ``einsum`` of
  per-sample ``vmap(jacrev)`` Jacobians (x1 and x2 computed separately, as the paper's
  ``empirical_ntk_by_layer``), reduced by the mean over (c, d) (``K[:, :, :30, :30].mean((2, 3))``),
  then the full kernel, "W_out+W_U", "W_O+W_V", and ridge + eigh top ``--topk`` (40) of all 12.
  ``--row-blocks B`` computes only the first B row blocks of samples (every column block) and
  reports, besides the measured seconds, ``extrapolated_total`` = setup + (jacobian + contract +
  reduce) x (row blocks in all / B) + eigh, exact in FLOPs because every row block does the same
  work; the eigh phase then decomposes the 12 partially filled (symmetrised) matrices, which costs
  the same as the complete ones.

Weights: random init from ``--seed`` (models.tms_init / models.mlp_init) unless ``--weights``
(npz with W, b or W1, W2) and for TMS ``--inputs`` (npy [D, n]) are given.

Usage::

    /usr/bin/python3 -m entk_ref.paper_method --workload tms_flat --D 100 --dtype float32 --json out.json

The JSON holds ``workload``, ``dtype``, ``threads``, ``params``, ``chunk``, ``seconds``
(``setup``, ``jacobian``, ``contract``, ``reduce``, ``eigh``, ``total``), ``peak_rss_mb``
(ru_maxrss of this process), ``matrix_size``, ``eigenvalues`` (top-k, descending, ridge
included), ``ridge``, ``eigh_backend`` (``torch.linalg.eigh``, or a scipy ``evd`` fallback in the
same dtype where Debian's torch 1.13 float32 ``eigh`` fails for large n with "Argument 8 has
illegal value").
"""
from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from . import models
from .ntk import _vmap_jacrev


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _jac_blocks(fn, params, x) -> List[torch.Tensor]:
    """Per-parameter per-sample Jacobians [(n, C, P_i)] by vmap(jacrev)."""
    vmap, jacrev = _vmap_jacrev()
    jac = vmap(jacrev(fn, argnums=0), in_dims=(None, 0))(tuple(params), x)
    return [j.reshape(j.shape[0], j.shape[1], -1) for j in jac]


def _chunk_size(N: int, C: int, P: int, itemsize: int, mem_gb: float, chunk: Optional[int]) -> int:
    if chunk:
        return max(1, min(N, int(chunk)))
    budget = mem_gb * 1024 ** 3
    # two Jacobian chunks (s C P each) + one full-kernel block (s^2 C^2) + einsum temporaries
    s = N
    while s > 1 and (2 * s * C * P + 2 * s * s * C * C) * itemsize > budget:
        s = (s + 1) // 2
    return s


def full_kernel_blocks(fn, params, x, chunk: int, reducer, out: torch.Tensor, timers: Dict[str, float],
                       rescale: Optional[torch.Tensor] = None, spec: str = "ncp,mdp->nmcd") -> None:
    """Blockwise: J(x1 chunk), J(x2 chunk) (recomputed, as the paper computes x1 and x2
    separately), full block einsum per parameter tensor, summed, then ``reducer(block, i0, j0)``
    writes the reduced block into ``out``."""
    N = x.shape[0]
    for i0 in range(0, N, chunk):
        i1 = min(N, i0 + chunk)
        t = time.perf_counter()
        J1 = _jac_blocks(fn, params, x[i0:i1])
        if rescale is not None:
            J1 = [j * rescale[None, :, None] for j in J1]
        timers["jacobian"] += time.perf_counter() - t
        for j0 in range(0, N, chunk):
            j1 = min(N, j0 + chunk)
            t = time.perf_counter()
            J2 = _jac_blocks(fn, params, x[j0:j1])
            if rescale is not None:
                J2 = [j * rescale[None, :, None] for j in J2]
            timers["jacobian"] += time.perf_counter() - t
            t = time.perf_counter()
            K = None
            for a, b in zip(J1, J2):
                kb = torch.einsum(spec, a, b)
                K = kb if K is None else K + kb
            del J2
            timers["contract"] += time.perf_counter() - t
            t = time.perf_counter()
            reducer(K, i0, i1, j0, j1, out)
            del K
            timers["reduce"] += time.perf_counter() - t
        del J1


def ridge_eigh_topk(A: torch.Tensor, topk: int, timers: Dict[str, float]):
    """Paper's eig_decompose: ridge 1e-8 mean(diag) (here on the matrix we own), eigh, sort
    descending, top-k."""
    t = time.perf_counter()
    ridge = 1e-8 * A.diagonal().mean()
    A.diagonal().add_(ridge)
    backend = "torch.linalg.eigh"
    try:
        w, V = torch.linalg.eigh(A)
    except RuntimeError:
        # Debian torch 1.13 + OpenBLAS: float32 ?syevd fails for large n with "Argument 8 has
        # illegal value" (workspace size returned as a float and rounded down). Same LAPACK
        # algorithm (divide and conquer), same dtype, through scipy, which rounds lwork up.
        import scipy.linalg
        wn, Vn = scipy.linalg.eigh(A.numpy(), driver="evd", overwrite_a=True, check_finite=False)
        w, V = torch.from_numpy(wn), torch.from_numpy(Vn)
        backend = "scipy.linalg.eigh(evd) fallback"
    order = torch.argsort(w, descending=True)[:topk]
    w, V = w[order], V[:, order]
    timers["eigh"] += time.perf_counter() - t
    return w, V, float(ridge), backend


def transformer_layers(params, x, chunk: int, row_blocks: int, timers: Dict[str, float]) -> Dict[str, torch.Tensor]:
    """Per-tensor all-pairs-mean kernels by the paper's route (see the module docstring), for the
    first ``row_blocks`` row blocks (0: all)."""
    from . import transformer as T
    N = x.shape[0]
    C = int(params[0].shape[0])
    out = {name: torch.zeros((N, N), dtype=x.dtype) for name in T.TRANSFORMER_PARAM_NAMES}
    starts = list(range(0, N, chunk))
    if row_blocks:
        starts = starts[:row_blocks]
    for i0 in starts:
        i1 = min(N, i0 + chunk)
        t = time.perf_counter()
        J1 = _jac_blocks(T.transformer_forward, params, x[i0:i1])
        timers["jacobian"] += time.perf_counter() - t
        for j0 in range(0, N, chunk):
            j1 = min(N, j0 + chunk)
            t = time.perf_counter()
            J2 = _jac_blocks(T.transformer_forward, params, x[j0:j1])
            timers["jacobian"] += time.perf_counter() - t
            for name, a, b in zip(T.TRANSFORMER_PARAM_NAMES, J1, J2):
                t = time.perf_counter()
                K = torch.einsum("ncp,mdp->nmcd", a, b)
                timers["contract"] += time.perf_counter() - t
                t = time.perf_counter()
                out[name][i0:i1, j0:j1] = K[:, :, :C, :C].mean(dim=(2, 3))
                del K
                timers["reduce"] += time.perf_counter() - t
            del J2
        del J1
    return out


def run(workload: str, dtype: str = "float64", threads: int = 2, topk: Optional[int] = None,
        seed: int = 0, p: int = 29, H: int = 512, n: int = 50, m: int = 10, D: int = 100,
        S: float = 0.9, r: float = 0.8, beta: float = 1.0, weights: Optional[str] = None,
        inputs: Optional[str] = None, chunk: Optional[int] = None, mem_gb: float = 8.0,
        row_blocks: int = 0) -> Dict:
    torch.set_num_threads(int(threads))
    dt = {"float32": torch.float32, "float64": torch.float64}[dtype]
    itemsize = 4 if dt == torch.float32 else 8
    timers = {"setup": 0.0, "jacobian": 0.0, "contract": 0.0, "reduce": 0.0, "eigh": 0.0}
    t_all = time.perf_counter()
    t = time.perf_counter()
    params_info: Dict = {}
    if workload in ("mlp_traced", "mlp_traced_einsum", "mlp_flat_dense"):
        if weights:
            z = np.load(weights)
            W1 = torch.as_tensor(z["W1"]).to(dt)
            W2 = torch.as_tensor(z["W2"]).to(dt)
            p = int(W2.shape[0])
            H = int(W1.shape[0])
        else:
            d = models.mlp_init(p, H, seed)
            W1, W2 = d["W1"].to(dt), d["W2"].to(dt)
        params = (W1, W2)
        x = models.mlp_inputs(p)["x"].to(dt)
        fn = models.mlp_forward
        C = p
        rescale = None
        params_info = {"p": p, "H": H, "seed": seed, "weights": weights}
        if topk is None:
            topk = 200
    elif workload == "tms_flat":
        if weights:
            z = np.load(weights)
            W = torch.as_tensor(z["W"]).to(dt)
            b = torch.as_tensor(z["b"]).to(dt)
            m, n = int(W.shape[0]), int(W.shape[1])
        else:
            d = models.tms_init(n, m, D, S, seed, r)
            W, b = d["W"].to(dt), d["b"].to(dt)
        if inputs:
            x = torch.as_tensor(np.load(inputs)).to(dt)
        else:  # the data that tms_init draws for this seed (after W)
            x = models.tms_init(n, m, D, S, seed, r)["x"].to(dt)
        D = int(x.shape[0])
        params = (W, b)
        fn = models.tms_forward
        C = n
        rescale = models.tms_importance(n, r).to(dt) ** (beta / 2.0)
        params_info = {"n": n, "m": m, "D": D, "S": S, "r": r, "beta": beta, "seed": seed,
                       "weights": weights, "inputs": inputs}
        if topk is None:
            topk = 80
    elif workload == "transformer_layers":
        from . import transformer as T
        if weights:
            z = np.load(weights)
            params = tuple(torch.as_tensor(z[nm]).to(dt) for nm in T.TRANSFORMER_PARAM_NAMES)
            p = int(params[0].shape[0]) - 1
        else:
            params = tuple(w.to(dt) for w in T.transformer_init(seed, p)[0])
        x = T.all_inputs(p).to(dt)
        fn = T.transformer_forward
        C = p + 1
        rescale = None
        params_info = {"p": p, "seed": seed, "weights": weights, "row_blocks": int(row_blocks)}
        if topk is None:
            topk = 40
    else:
        raise ValueError(f"unknown workload {workload!r}")
    N = x.shape[0]
    P = sum(int(q.numel()) for q in params)
    cs = _chunk_size(N, C, P, itemsize, mem_gb, chunk)
    timers["setup"] += time.perf_counter() - t

    if workload == "transformer_layers":
        from . import transformer as T
        Ks = transformer_layers(params, x, cs, int(row_blocks), timers)
        Ks["full"] = sum(Ks[nm] for nm in T.TRANSFORMER_PARAM_NAMES)
        Ks["W_out+W_U"] = Ks["W_out"] + Ks["W_U"]
        Ks["W_O+W_V"] = Ks["W_O"] + Ks["W_V"]
        k = int(min(topk, N))
        eig = {}
        for nm, A in Ks.items():
            A = 0.5 * (A + A.t()) if row_blocks else A
            w, _, ridge, eigh_backend = ridge_eigh_topk(A.clone(), k, timers)
            eig[nm] = [float(v) for v in w.tolist()]
        nblocks = (N + cs - 1) // cs
        done = min(nblocks, int(row_blocks)) if row_blocks else nblocks
        timers["total"] = time.perf_counter() - t_all
        extrap = timers["setup"] + (timers["jacobian"] + timers["contract"] + timers["reduce"]) * nblocks / done + timers["eigh"]
        return {
            "workload": workload, "dtype": dtype, "threads": int(threads), "params": params_info,
            "N": int(N), "C": int(C), "P": int(P), "chunk": int(cs), "matrix_size": int(N), "topk": k,
            "row_blocks_done": int(done), "row_blocks_total": int(nblocks), "extrapolated_total": extrap,
            "seconds": timers, "peak_rss_mb": _peak_rss_mb(), "eigenvalues": eig["full"] if not row_blocks else None,
            "eigenvalues_by_kernel": eig if not row_blocks else None, "eigh_backend": eigh_backend, "torch_version": torch.__version__,
        }
    if workload == "mlp_traced_einsum":
        # The PyTorch-tutorial 'trace' contraction einsum('ncp,mcp->nm'), which never forms the
        # (N, N, C, C) tensor (about 30x fewer FLOPs than the paper's full kernel); divided by C.
        out = torch.zeros((N, N), dtype=dt)

        def reducer(K, i0, i1, j0, j1, out):
            out[i0:i1, j0:j1] = K / C
        full_kernel_blocks(fn, params, x, cs, reducer, out, timers, spec="ncp,mcp->nm")
        A = out
    elif workload == "mlp_traced":
        out = torch.zeros((N, N), dtype=dt)

        def reducer(K, i0, i1, j0, j1, out):
            out[i0:i1, j0:j1] = K.diagonal(dim1=2, dim2=3).mean(-1)
        full_kernel_blocks(fn, params, x, cs, reducer, out, timers)
        A = out
    else:
        out = torch.zeros((C * N, C * N), dtype=dt)
        Ov = out.view(C, N, C, N)

        def reducer(K, i0, i1, j0, j1, out):
            # class-major flattening: row = c*N + n, column = d*N + n'
            Ov[:, i0:i1, :, j0:j1] = K.permute(2, 0, 3, 1)
        full_kernel_blocks(fn, params, x, cs, reducer, out, timers, rescale)
        A = out
    k = int(min(topk, A.shape[0]))
    w, V, ridge, eigh_backend = ridge_eigh_topk(A, k, timers)
    timers["total"] = time.perf_counter() - t_all
    return {
        "workload": workload, "dtype": dtype, "threads": int(threads), "params": params_info,
        "N": int(N), "C": int(C), "P": int(P), "chunk": int(cs), "matrix_size": int(A.shape[0]),
        "topk": k, "seconds": timers, "peak_rss_mb": _peak_rss_mb(),
        "eigenvalues": [float(v) for v in w.tolist()], "ridge": ridge,
        "eigh_backend": eigh_backend, "torch_version": torch.__version__,
    }


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m entk_ref.paper_method", description=__doc__.split("\n")[0])
    ap.add_argument("--workload", required=True, choices=["mlp_traced", "mlp_traced_einsum", "tms_flat", "mlp_flat_dense", "transformer_layers"])
    ap.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--topk", type=int, default=None, help="default 200 (MLP) / 80 (TMS)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--p", type=int, default=29)
    ap.add_argument("--H", type=int, default=512)
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--m", type=int, default=10)
    ap.add_argument("--D", type=int, default=100)
    ap.add_argument("--S", type=float, default=0.9)
    ap.add_argument("--r", type=float, default=0.8)
    ap.add_argument("--beta", type=float, default=1.0)
    ap.add_argument("--weights", default=None, help="npz with W,b (TMS) or W1,W2 (MLP)")
    ap.add_argument("--inputs", default=None, help="TMS inputs npy [D, n]")
    ap.add_argument("--chunk", type=int, default=None, help="samples per Jacobian chunk (default: from --mem-gb)")
    ap.add_argument("--mem-gb", type=float, default=8.0)
    ap.add_argument("--row-blocks", type=int, default=0, help="transformer_layers: only the first B row blocks (0: all); see extrapolated_total")
    ap.add_argument("--json", default=None, help="write the result JSON here")
    a = ap.parse_args(argv)
    res = run(a.workload, a.dtype, a.threads, a.topk, a.seed, a.p, a.H, a.n, a.m, a.D, a.S, a.r, a.beta,
              a.weights, a.inputs, a.chunk, a.mem_gb, a.row_blocks)
    s = res["seconds"]
    print(f"{res['workload']} {res['dtype']} N={res['N']} C={res['C']} P={res['P']} chunk={res['chunk']} "
          f"matrix={res['matrix_size']}  " + " ".join(f"{k}={v:.3f}s" for k, v in s.items())
          + f"  peak_rss={res['peak_rss_mb']:.0f}MB")
    if a.json:
        with open(a.json, "w", encoding="utf-8") as fh:
            json.dump(res, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

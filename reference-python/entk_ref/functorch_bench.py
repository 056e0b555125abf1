"""The functorch method on the own models (``own_models``): what a competent PyTorch user writes on
torch 1.13 in float64 to get eNTK spectra, chunked to stay inside a memory budget. ``entk bench``
runs it as a child process and reads its JSON.

Usage::

    /usr/bin/python3 -m entk_ref.functorch_bench --workload W --dir DIR --json OUT \
        [--topk K] [--mem-gb 8] [--threads 2] [--n N] [--chunk S] [--class-chunk CC] \
        [--tol 1e-10] [--seed 0] [--save-vectors V.npy] [--save-kernels K.npz] [--force]
    /usr/bin/python3 -m entk_ref.functorch_bench --list

``DIR`` is an export directory of ``python3 -m entk_ref.own_models export`` (``meta.json``,
``weights.npz``, ``inputs.npy``); the module is rebuilt from ``meta.json`` and loaded from
``weights.npz`` (``model.pt`` is not used). ``--n`` uses the first N rows of ``inputs.npy``.

Notation: ``f(x) in R^C`` the model output of one sample, ``J_c(x) = d f_c(x) / d theta`` (P
entries), ``K_cd(x, x') = <J_c(x), J_d(x')>``.

Workloads
---------

``traced_topk``
    ``K = (1/C) sum_c K_cc`` (N x N) over all parameters. Per-sample Jacobians by
    ``vmap(jacrev(f), in_dims=(None, 0))`` (per parameter tensor), for ``cc`` classes and ``s``
    samples per call; ``K += B B^T`` per parameter tensor (``B`` = (N, cc*P_i), one GEMM, the
    einsum ``'ncp,mcp->nm'``); then ``torch.linalg.eigh`` and the top ``--topk`` (default 50)
    eigenvalues, descending, no ridge. ``--save-vectors`` writes the (N, K) eigenvectors.
``per_tensor``
    The same traced kernel of every parameter tensor separately (``K_i``, summing to the traced
    kernel); ``spectra`` holds the top-K eigenvalues of each ``K_i`` and ``eigenvalues`` those of
    the sum. ``--save-kernels`` writes an npz ``{parameter name: (N, N)}``.
``flat_eigsh``
    The sample-major flattened kernel ``K = J J^T``, (N*C) x (N*C), row ``n*C + c``, never formed:
    ``scipy.sparse.linalg.eigsh(LinearOperator(matvec), k=topk, which='LA', tol=--tol,
    v0=standard normal from numpy default_rng(--seed))`` with scipy's default ``ncv`` =
    min(N*C, max(2k+1, 20)) and ``maxiter``. ``matvec(v)``: ``u = J^T v = sum_chunks
    vjp_fn_chunk(v_chunk)`` (functorch ``vjp`` of the batched model over a sample chunk; the
    ``vjp_fn`` of every chunk is kept between products when its activations fit in the budget,
    ``vjp_cached``), then ``J u`` by ``functorch.jvp`` per chunk. ``applications`` counts the
    calls of ``matvec`` by ARPACK (one vector each). ``tol`` is ARPACK's: a Ritz pair (theta, y)
    is accepted when its Ritz estimate ``||K y - theta y|| <= tol * max(eps^(2/3), |theta|)``
    (dsaupd / dsconv), i.e. relative to its own eigenvalue. ``residuals`` are then measured with
    extra products (not counted in ``applications``, but in ``residual_applications`` and
    ``seconds.residuals``): ``||K v_i - lambda_i v_i|| / lambda_max`` for every returned pair.
    ``--save-vectors`` writes the (N*C, K) eigenvectors.
``layer_allpairs_topk``
    For every parameter group (gpt: ``embeddings``, ``block0``..``block3``, ``head``; mlp/cnn: one
    group per layer) the all-pairs-mean kernel ``K_g = (1/C^2) G_g G_g^T`` with ``G_g[n] =
    d (sum_c f_c(x_n)) / d theta_g`` by ``vmap(grad(.., argnums=0))`` with respect to that group's
    parameters only, one group at a time, sample-chunked; ``eigh`` and top ``--topk`` (default
    20) eigenpairs per group in ``spectra``; ``eigenvalues`` are those of ``sum_g K_g`` (the
    whole-model all-pairs-mean kernel).

Memory plan (``--mem-gb``, default 8 GiB): ``act`` = 3 * 8 bytes * (sum of the outputs of every
module for one sample, measured with forward hooks). Jacobian workloads: ``stored`` mode keeps the
Jacobian of all N samples for ``cc`` classes (N*cc*P*8 bytes) and fills it ``s`` samples at a time
(transient s*cc*(2*P*8 + act), with the activations s*cc*act of one chunk capped at 1/8 of the
budget); if not even one class fits, ``pairs`` mode keeps two sample chunks
and recomputes the Jacobian of the second chunk for every pair (i <= j), one class per pass so that
the chunks are as large as possible. layer_allpairs_topk keeps
G_g of all N samples (N*P_g*8) when it fits (else pairs), chunk transient s*(2*P_g*8 + act), the same
activation cap. Freed heap memory is returned to the OS (glibc ``malloc_trim``) after every class pass
and every group. ``--chunk`` /
``--class-chunk`` override the plan.

JSON (``--json OUT``; refused if OUT exists unless ``--force``): ``format`` ("entk-functorch-bench/1"),
``workload``, ``dir``, ``model``, ``config``, ``dtype`` ("float64"), ``threads``, ``torch_version``,
``N``, ``C``, ``P``, ``topk``, ``mem_gb``, ``activation_bytes_per_sample``, ``cpu_count``,
``loadavg_start`` / ``loadavg_end`` (os.getloadavg: 1, 5, 15 min; the machine is shared), ``chunks`` {``mode`` (stored | pairs | chunks),
``samples``, ``classes``, ``passes``, ``vjp_cached``}, ``seconds`` (traced_topk / per_tensor /
layer_allpairs_topk: ``load``, ``jacobian``, ``contract``, ``eigh``, ``total``; flat_eigsh:
``load``, ``setup``, ``products``, ``eigsh``, ``residuals``, ``total``; ``total`` is everything
after ``load`` except ``residuals`` and file writing), ``peak_rss_mb`` (ru_maxrss of this
process, MiB), ``eigenvalues`` (descending, no ridge), and per workload: ``kernel_stats``
{name: {trace, fro}} (traced_topk: "full"; per_tensor: every tensor and "full";
layer_allpairs_topk: every group and "full"), ``spectra`` {name: eigenvalues} (per_tensor,
layer_allpairs_topk), ``groups`` [{name, params, P, seconds{jacobian, contract, eigh}}]
(layer_allpairs_topk), ``applications``, ``residual_applications``, ``tol``, ``ncv``, ``residuals``
(flat_eigsh), ``vectors_file`` / ``kernels_file`` when written.

Errors (bad arguments or files) print ``error: ...`` on one line to stderr and exit with code 2.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from . import own_models
from .own_models import OwnModelError

WORKLOADS = {
    "traced_topk": "traced kernel (1/C) sum_c K_cc of all parameters, eigh, top-K (default 50)",
    "per_tensor": "traced kernel of every parameter tensor separately (+ their top-K spectra)",
    "flat_eigsh": "flattened sample-major (N*C)^2 kernel, top-K by scipy eigsh on J(J^T v) (vjp + jvp)",
    "layer_allpairs_topk": "all-pairs-mean kernel of every parameter group, one at a time, top-K (default 20)",
}
DEFAULT_TOPK = {"traced_topk": 50, "per_tensor": 50, "flat_eigsh": 50, "layer_allpairs_topk": 20}
ITEM = 8  # float64


def _functorch():
    try:  # pragma: no cover - torch >= 2
        from torch.func import grad, jacrev, jvp, vjp, vmap  # type: ignore
        from functorch import make_functional  # type: ignore
    except ImportError:
        from functorch import grad, jacrev, jvp, make_functional, vjp, vmap  # type: ignore
    return make_functional, vmap, jacrev, grad, jvp, vjp


def release_free_memory() -> None:
    """``malloc_trim(0)`` (glibc): hand freed heap memory back to the OS between passes, so that the
    transients of one pass (e.g. the large activation chunks of a small parameter group) do not
    stay resident under the next pass's allocations. A no-op where glibc is not available."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def activation_bytes_per_sample(module: torch.nn.Module, x1: torch.Tensor) -> int:
    """3 * 8 * (numel of every module's output) for one sample (forward hooks)."""
    total = [0]

    def hook(_m, _i, out):
        if isinstance(out, torch.Tensor):
            total[0] += out.numel()
    hs = [m.register_forward_hook(hook) for m in module.modules()]
    try:
        with torch.no_grad():
            module(x1)
    finally:
        for h in hs:
            h.remove()
    return 3 * ITEM * max(1, total[0])


class Functional:
    """``make_functional`` of the module with helpers for a per-sample and a batched call."""

    def __init__(self, module: torch.nn.Module):
        make_functional = _functorch()[0]
        self.fmodel, params = make_functional(module)
        self.params = tuple(p.detach() for p in params)
        self.names = [n for n, _ in module.named_parameters()]
        self.sizes = [int(p.numel()) for p in self.params]

    def batch(self, params, x):
        return self.fmodel(params, x)

    def single(self, params, x):
        return self.fmodel(params, x.unsqueeze(0))[0]


def _eigh_topk(K: torch.Tensor, k: int) -> Tuple[torch.Tensor, torch.Tensor]:
    w, V = torch.linalg.eigh(K)
    order = torch.argsort(w, descending=True)[:k]
    return w[order], V[:, order]


def _stats(K: torch.Tensor) -> Dict[str, float]:
    return {"trace": float(K.diagonal().sum()), "fro": float(torch.linalg.norm(K))}


def plan_jacobian(N: int, C: int, P: int, act: int, budget: int, fixed: int, chunk: Optional[int] = None,
                  class_chunk: Optional[int] = None, mode: Optional[str] = None) -> Dict[str, Any]:
    """Chunk plan for the per-sample Jacobian workloads (see module doc): the first of ``stored``,
    ``pairs`` that fits; stored takes as many classes per pass as fit, pairs one class per pass;
    then as many samples per chunk as fit. ``chunk`` / ``class_chunk`` / ``mode`` override the plan (then it may exceed the
    budget; ``estimate_bytes`` says by how much)."""
    avail = budget - fixed

    def raw(md, cc, s):
        base = N * cc * P * ITEM if md == "stored" else 2 * s * cc * P * ITEM
        return base + s * cc * (2 * P * ITEM + act) + s * act

    def need(md, cc, s):
        if (s * cc * act + s * act) * 8 > budget and s > 1:
            return budget + 1      # activations of one chunk are capped at 1/8 of the budget
        return raw(md, cc, s)

    modes = [mode] if mode else ["stored", "pairs"]
    ccs = [max(1, min(C, int(class_chunk)))] if class_chunk else list(range(C, 0, -1))
    for s_floor in sorted({min(N, 16), 1}, reverse=True):
        for md in modes:
            # stored: as many classes per pass as fit (fewer passes); pairs: one class per pass, so
            # that the sample chunks are as large as possible (the Jacobian of a chunk is recomputed
            # about N/(2s) times, and the chunk-pair GEMMs get more efficient with s)
            for cc in (ccs if md == "stored" else sorted(ccs)):
                if chunk:
                    s = max(1, min(N, int(chunk)))
                    if need(md, cc, s) <= avail:
                        return {"mode": md, "classes": cc, "samples": s, "estimate_bytes": fixed + need(md, cc, s)}
                    continue
                if need(md, cc, s_floor) <= avail:
                    lo, hi = s_floor, N
                    while lo < hi:  # largest s with need <= avail
                        mid = (lo + hi + 1) // 2
                        if need(md, cc, mid) <= avail:
                            lo = mid
                        else:
                            hi = mid - 1
                    return {"mode": md, "classes": cc, "samples": lo, "estimate_bytes": fixed + need(md, cc, lo)}
    if chunk or class_chunk or mode:  # explicit overrides are honoured even over the budget
        md = mode or "pairs"
        cc = ccs[-1]
        s = max(1, min(N, int(chunk))) if chunk else 1
        return {"mode": md, "classes": cc, "samples": s, "estimate_bytes": fixed + raw(md, cc, s)}
    raise OwnModelError(f"--mem-gb {budget / 2**30:g} is too small: one sample and one class need about "
                        f"{(fixed + need('pairs', 1, 1)) / 2**30:.2f} GiB")


def traced_kernels(fn: Functional, x: torch.Tensor, C: int, plan: Dict[str, Any], per_tensor: bool,
                   timers: Dict[str, float], progress: Callable[[str], None]) -> Dict[str, torch.Tensor]:
    """Traced kernels ``(1/C) sum_c K_cc``: ``{"full": ...}`` or one per parameter tensor plus
    ``"full"``."""
    _, vmap, jacrev, _, _, _ = _functorch()
    N = x.shape[0]
    cc, s, mode = plan["classes"], plan["samples"], plan["mode"]
    keys = fn.names if per_tensor else ["full"]
    K = {k: torch.zeros((N, N), dtype=x.dtype) for k in keys}
    params = fn.params

    def jac(c0: int, c1: int, xs: torch.Tensor) -> List[torch.Tensor]:
        def g(p, xi):
            return fn.single(p, xi)[c0:c1]
        t = time.perf_counter()
        blocks = vmap(jacrev(g, argnums=0), in_dims=(None, 0))(params, xs)
        out = [b.reshape(b.shape[0], -1) for b in blocks]
        timers["jacobian"] += time.perf_counter() - t
        return out

    def acc(i0, i1, j0, j1, Bi, Bj):
        t = time.perf_counter()
        for idx, (bi, bj) in enumerate(zip(Bi, Bj)):
            tgt = K[keys[idx]] if per_tensor else K["full"]
            blk = bi @ bj.t()
            tgt[i0:i1, j0:j1] += blk
            if j0 != i0:
                tgt[j0:j1, i0:i1] += blk.t()
        timers["contract"] += time.perf_counter() - t

    passes = 0
    for c0 in range(0, C, cc):
        c1 = min(C, c0 + cc)
        if mode == "stored":
            bufs = [torch.empty((N, (c1 - c0) * sz), dtype=x.dtype) for sz in fn.sizes]
            for i0 in range(0, N, s):
                i1 = min(N, i0 + s)
                blocks = jac(c0, c1, x[i0:i1])
                t = time.perf_counter()
                for b, blk in zip(bufs, blocks):
                    b[i0:i1] = blk
                del blocks
                timers["jacobian"] += time.perf_counter() - t
                passes += 1
            t = time.perf_counter()
            for idx, b in enumerate(bufs):
                tgt = K[keys[idx]] if per_tensor else K["full"]
                tgt.addmm_(b, b.t())
            timers["contract"] += time.perf_counter() - t
            del bufs
        else:
            for i0 in range(0, N, s):
                i1 = min(N, i0 + s)
                Bi = jac(c0, c1, x[i0:i1])
                passes += 1
                for j0 in range(i0, N, s):
                    j1 = min(N, j0 + s)
                    if j0 == i0:
                        Bj = Bi
                    else:
                        Bj = jac(c0, c1, x[j0:j1])
                        passes += 1
                    acc(i0, i1, j0, j1, Bi, Bj)
                    del Bj
                del Bi
        release_free_memory()
        progress(f"classes {c1}/{C}")
    plan["passes"] = passes
    for k in keys:
        K[k] /= C
    if per_tensor:
        full = torch.zeros((N, N), dtype=x.dtype)
        for k in keys:
            full += K[k]
        K["full"] = full
    return K


def group_allpairs_kernel(fn: Functional, x: torch.Tensor, C: int, idx: Sequence[int], budget: int,
                          fixed: int, act: int, chunk: Optional[int], timers: Dict[str, float],
                          mode: Optional[str] = None) -> Tuple[torch.Tensor, Dict[str, Any]]:
    """``(1/C^2) G G^T`` with ``G[n] = d sum_c f_c(x_n) / d theta_group`` (rows chunked)."""
    _, vmap, _, grad, _, _ = _functorch()
    N = x.shape[0]
    Pg = sum(fn.sizes[i] for i in idx)
    idx = list(idx)
    rest_idx = [i for i in range(len(fn.params)) if i not in idx]
    sub = tuple(fn.params[i] for i in idx)
    rest = tuple(fn.params[i] for i in rest_idx)
    order = {i: ("s", k) for k, i in enumerate(idx)}
    order.update({i: ("r", k) for k, i in enumerate(rest_idx)})

    def s_of(sub_p, rest_p, xi):
        full = tuple(sub_p[order[i][1]] if order[i][0] == "s" else rest_p[order[i][1]]
                     for i in range(len(fn.params)))
        return fn.single(full, xi).sum()

    per_sample = lambda sp, rp, xi: grad(s_of, argnums=0)(sp, rp, xi)  # noqa: E731
    batched = vmap(per_sample, in_dims=(None, None, 0))

    avail = budget - fixed
    stored = N * Pg * ITEM + min(N, 16) * (2 * Pg * ITEM + act) <= avail if mode is None else mode == "stored"

    def need(s):
        if s * act * 8 > budget and s > 1:
            return budget + 1      # activations of one chunk are capped at 1/8 of the budget
        base = N * Pg * ITEM if stored else 2 * s * Pg * ITEM
        return base + s * (2 * Pg * ITEM + act)
    if chunk is not None:
        s = max(1, min(N, int(chunk)))
    else:
        s = 1
        if need(1) > avail:
            raise OwnModelError(f"--mem-gb {budget / 2**30:g} is too small for a group of {Pg} parameters")
        lo, hi = 1, N
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if need(mid) <= avail:
                lo = mid
            else:
                hi = mid - 1
        s = lo

    def G_of(xs):
        t = time.perf_counter()
        gs = batched(sub, rest, xs)
        out = torch.cat([g.reshape(g.shape[0], -1) for g in gs], dim=1)
        timers["jacobian"] += time.perf_counter() - t
        return out

    K = torch.zeros((N, N), dtype=x.dtype)
    passes = 0
    if stored:
        G = torch.empty((N, Pg), dtype=x.dtype)
        for i0 in range(0, N, s):
            i1 = min(N, i0 + s)
            g = G_of(x[i0:i1])
            t = time.perf_counter()
            G[i0:i1] = g
            del g
            timers["jacobian"] += time.perf_counter() - t
            passes += 1
        t = time.perf_counter()
        K.addmm_(G, G.t())
        timers["contract"] += time.perf_counter() - t
        del G
    else:
        for i0 in range(0, N, s):
            i1 = min(N, i0 + s)
            Gi = G_of(x[i0:i1])
            passes += 1
            for j0 in range(i0, N, s):
                j1 = min(N, j0 + s)
                if j0 == i0:
                    Gj = Gi
                else:
                    Gj = G_of(x[j0:j1])
                    passes += 1
                t = time.perf_counter()
                blk = Gi @ Gj.t()
                K[i0:i1, j0:j1] = blk
                if j0 != i0:
                    K[j0:j1, i0:i1] = blk.t()
                timers["contract"] += time.perf_counter() - t
                del Gj
            del Gi
    K /= C * C
    return K, {"mode": "stored" if stored else "pairs", "samples": s, "classes": C, "passes": passes, "P": Pg}


class FlatOperator:
    """``v -> J (J^T v)`` on sample-major vectors of length N*C, with functorch vjp + jvp per chunk."""

    def __init__(self, fn: Functional, x: torch.Tensor, C: int, chunk: int, cache_vjp: bool,
                 progress: Optional[Callable[[str], None]] = None):
        _, _, _, _, self._jvp, self._vjp = _functorch()
        self.progress = progress
        self.fn, self.x, self.C, self.chunk = fn, x, C, chunk
        self.N = x.shape[0]
        self.applications = 0
        self.seconds = 0.0
        self.cache_vjp = cache_vjp
        self._vjp_fns: Optional[List[Any]] = None
        if cache_vjp:
            self._vjp_fns = [self._make_vjp(i0) for i0 in range(0, self.N, chunk)]

    def _make_vjp(self, i0: int):
        xs = self.x[i0:i0 + self.chunk]
        _, vjp_fn = self._vjp(lambda p: self.fn.batch(p, xs), self.fn.params)
        return vjp_fn

    def apply(self, v: torch.Tensor) -> torch.Tensor:
        """``v``: (N, C) -> (N, C)."""
        u = None
        for k, i0 in enumerate(range(0, self.N, self.chunk)):
            vjp_fn = self._vjp_fns[k] if self._vjp_fns is not None else self._make_vjp(i0)
            g = vjp_fn(v[i0:i0 + self.chunk].contiguous())[0]
            u = list(g) if u is None else [a + b for a, b in zip(u, g)]
        ut = tuple(u)
        out = torch.empty((self.N, self.C), dtype=v.dtype)
        for i0 in range(0, self.N, self.chunk):
            xs = self.x[i0:i0 + self.chunk]
            _, t = self._jvp(lambda p: self.fn.batch(p, xs), (self.fn.params,), (ut,))
            out[i0:i0 + self.chunk] = t
        return out

    def matvec(self, v: np.ndarray) -> np.ndarray:
        t = time.perf_counter()
        vt = torch.from_numpy(np.ascontiguousarray(np.asarray(v, dtype=np.float64).reshape(self.N, self.C)))
        r = self.apply(vt).reshape(-1).numpy().copy()
        self.applications += 1
        self.seconds += time.perf_counter() - t
        if self.progress is not None and self.applications % 25 == 0:
            self.progress(f"{self.applications} products, {self.seconds:.1f} s")
        return r


def _atomic_save(path: str, writer) -> None:
    own_models._atomic_write(path, writer)


def _save_npy(path: str, a: np.ndarray) -> None:
    def w(t):
        with open(t, "wb") as fh:
            np.save(fh, np.ascontiguousarray(a), allow_pickle=False)
    _atomic_save(path, w)


def run(workload: str, dir: str, topk: Optional[int] = None, mem_gb: float = 8.0, threads: int = 2,
        n: Optional[int] = None, chunk: Optional[int] = None, class_chunk: Optional[int] = None,
        tol: float = 1e-10, seed: int = 0, save_vectors: Optional[str] = None,
        save_kernels: Optional[str] = None, model: Optional[str] = None, config: Optional[Dict[str, Any]] = None,
        force: bool = False, progress: Optional[Callable[[str], None]] = None,
        return_arrays: bool = False, mode: Optional[str] = None) -> Dict[str, Any]:
    """Run one workload; returns the JSON dict (plus ``_arrays`` with the kernels / vectors as
    tensors when ``return_arrays``, for tests)."""
    if workload not in WORKLOADS:
        raise OwnModelError(f"workload must be one of {', '.join(WORKLOADS)}; got {workload!r}")
    if not (isinstance(threads, int) and threads >= 1):
        raise OwnModelError(f"threads must be a positive integer; got {threads!r}")
    if not (mem_gb > 0 and math.isfinite(mem_gb)):
        raise OwnModelError(f"mem_gb must be a positive number; got {mem_gb!r}")
    if not (tol >= 0 and math.isfinite(tol)):
        raise OwnModelError(f"tol must be a non-negative number; got {tol!r}")
    for p, nm in ((save_vectors, "save_vectors"), (save_kernels, "save_kernels")):
        if p and os.path.exists(p) and not force:
            raise OwnModelError(f"{nm} file {p!r} exists; pass --force to replace it")
    if mode not in (None, "stored", "pairs"):
        raise OwnModelError(f"mode must be stored or pairs; got {mode!r}")
    if save_kernels and workload != "per_tensor":
        raise OwnModelError(f"save_kernels applies to per_tensor only; got workload {workload}")
    progress = progress or (lambda _m: None)
    torch.set_num_threads(int(threads))
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=int(threads), user_api="blas"):
        return _run(workload, dir, topk, mem_gb, threads, n, chunk, class_chunk, tol, seed, save_vectors,
                    save_kernels, model, config, progress, return_arrays, mode)


def _run(workload, dir, topk, mem_gb, threads, n, chunk, class_chunk, tol, seed, save_vectors, save_kernels,
         model, config, progress, return_arrays, mode) -> Dict[str, Any]:
    t0 = time.perf_counter()
    name, cfg, module, x = own_models.load_dir(dir, model, config, n)
    for p in module.parameters():
        p.requires_grad_(False)
    fn = Functional(module)
    N = int(x.shape[0])
    with torch.no_grad():
        C = int(module(x[:1]).shape[-1])
    P = int(sum(fn.sizes))
    act = activation_bytes_per_sample(module, x[:1])
    budget = int(mem_gb * 2 ** 30)
    k_default = DEFAULT_TOPK[workload]
    k = int(topk) if topk is not None else k_default
    if k < 1:
        raise OwnModelError(f"topk must be >= 1; got {k}")
    seconds: Dict[str, float] = {"load": time.perf_counter() - t0}
    res: Dict[str, Any] = {
        "format": "entk-functorch-bench/1", "workload": workload, "dir": os.path.abspath(dir), "model": name,
        "config": cfg, "dtype": "float64", "threads": int(threads), "torch_version": torch.__version__,
        "N": N, "C": C, "P": P, "mem_gb": float(mem_gb), "activation_bytes_per_sample": act,
        "loadavg_start": list(os.getloadavg()), "cpu_count": os.cpu_count(),
    }
    arrays: Dict[str, Any] = {}
    t_start = time.perf_counter()
    if workload in ("traced_topk", "per_tensor"):
        per_tensor = workload == "per_tensor"
        k = min(k, N)
        nk = (len(fn.names) + 1) if per_tensor else 1
        plan = plan_jacobian(N, C, P, act, budget, (nk + 2) * N * N * ITEM, chunk, class_chunk, mode)
        timers = {"jacobian": 0.0, "contract": 0.0, "eigh": 0.0}
        K = traced_kernels(fn, x, C, plan, per_tensor, timers, progress)
        t = time.perf_counter()
        lam, V = _eigh_topk(K["full"], k)
        spectra = {}
        if per_tensor:
            for nm in fn.names:
                spectra[nm] = [float(v) for v in _eigh_topk(K[nm], k)[0]]
        timers["eigh"] = time.perf_counter() - t
        seconds.update(timers)
        seconds["total"] = time.perf_counter() - t_start
        res["chunks"] = {"mode": plan["mode"], "samples": plan["samples"], "classes": plan["classes"],
                         "passes": plan["passes"], "vjp_cached": None,
                         "estimate_mb": plan["estimate_bytes"] / 2 ** 20}
        res["kernel_stats"] = {nm: _stats(Km) for nm, Km in K.items()}
        if per_tensor:
            res["spectra"] = spectra
        res["eigenvalues"] = [float(v) for v in lam]
        if save_vectors:
            _save_npy(save_vectors, V.numpy())
            res["vectors_file"] = os.path.abspath(save_vectors)
        if save_kernels:
            kk = {nm: K[nm].numpy() for nm in fn.names}

            def w(tp):
                with open(tp, "wb") as fh:
                    np.savez(fh, **kk)
            _atomic_save(save_kernels, w)
            res["kernels_file"] = os.path.abspath(save_kernels)
        arrays.update({"kernels": K, "vectors": V})
    elif workload == "layer_allpairs_topk":
        k = min(k, N)
        groups = own_models.param_groups(name, fn.names)
        timers = {"jacobian": 0.0, "contract": 0.0, "eigh": 0.0}
        fixed = 3 * N * N * ITEM
        full = torch.zeros((N, N), dtype=x.dtype)
        out_groups, spectra, stats, kernels, vectors = [], {}, {}, {}, {}
        for gname, pnames in groups:
            idx = [fn.names.index(p) for p in pnames]
            gt = {"jacobian": 0.0, "contract": 0.0, "eigh": 0.0}
            Kg, info = group_allpairs_kernel(fn, x, C, idx, budget, fixed, act, chunk, gt, mode)
            t = time.perf_counter()
            lam_g, V_g = _eigh_topk(Kg, k)
            gt["eigh"] = time.perf_counter() - t
            full += Kg
            for kk_ in timers:
                timers[kk_] += gt[kk_]
            spectra[gname] = [float(v) for v in lam_g]
            stats[gname] = _stats(Kg)
            out_groups.append({"name": gname, "params": pnames, "P": info["P"], "chunks": info, "seconds": gt})
            if return_arrays:
                kernels[gname], vectors[gname] = Kg, V_g
            del Kg
            release_free_memory()
            progress(f"group {gname} done ({sum(gt.values()):.1f} s)")
        t = time.perf_counter()
        lam, V = _eigh_topk(full, k)
        timers["eigh"] += time.perf_counter() - t
        seconds.update(timers)
        seconds["total"] = time.perf_counter() - t_start
        stats["full"] = _stats(full)
        res["chunks"] = {"mode": "per-group", "samples": max(g["chunks"]["samples"] for g in out_groups),
                         "classes": C, "passes": sum(g["chunks"]["passes"] for g in out_groups), "vjp_cached": None}
        res["groups"] = out_groups
        res["spectra"] = spectra
        res["kernel_stats"] = stats
        res["eigenvalues"] = [float(v) for v in lam]
        if save_vectors:
            _save_npy(save_vectors, V.numpy())
            res["vectors_file"] = os.path.abspath(save_vectors)
        kernels["full"] = full
        arrays.update({"kernels": kernels, "vectors": V, "group_vectors": vectors})
    else:  # flat_eigsh
        import scipy.sparse.linalg as sla
        M = N * C
        if k >= M:
            raise OwnModelError(f"topk must be < N*C = {M} for eigsh; got {k}")
        t = time.perf_counter()
        # activations of one chunk for vjp (kept) + jvp (transient); the cache holds all N.
        per = 2 * act + 4 * C * ITEM
        s = max(1, min(N, int(chunk) if chunk else max(1, (budget // 2) // per)))
        cache = N * act <= budget // 2
        op = FlatOperator(fn, x, C, s, cache, progress)
        seconds["setup"] = time.perf_counter() - t
        v0 = np.random.default_rng(int(seed)).standard_normal(M)
        ncv = min(M, max(2 * k + 1, 20))
        L = sla.LinearOperator((M, M), matvec=op.matvec, dtype=np.float64)
        t = time.perf_counter()
        w, V = sla.eigsh(L, k=k, which="LA", tol=tol, v0=v0, ncv=ncv)
        seconds["eigsh"] = time.perf_counter() - t
        seconds["products"] = op.seconds
        seconds["total"] = time.perf_counter() - t_start
        order = np.argsort(w)[::-1]
        w, V = w[order], V[:, order]
        apps = op.applications
        t = time.perf_counter()
        KV = np.stack([op.matvec(V[:, i]) for i in range(V.shape[1])], axis=1)
        lam_max = float(w[0])
        residuals = [float(np.linalg.norm(KV[:, i] - w[i] * V[:, i]) / lam_max) for i in range(V.shape[1])]
        seconds["residuals"] = time.perf_counter() - t
        res["chunks"] = {"mode": "chunks", "samples": s, "classes": C, "passes": (N + s - 1) // s,
                         "vjp_cached": cache}
        res.update({"applications": apps, "residual_applications": op.applications - apps, "tol": float(tol),
                    "ncv": ncv, "which": "LA", "v0": f"numpy default_rng({int(seed)}).standard_normal(N*C)",
                    "row_order": "sample-major (n*C + c)", "residuals": residuals,
                    "eigenvalues": [float(v) for v in w]})
        if save_vectors:
            _save_npy(save_vectors, V)
            res["vectors_file"] = os.path.abspath(save_vectors)
        arrays.update({"vectors": V})
    res["topk"] = k
    res["seconds"] = seconds
    res["peak_rss_mb"] = peak_rss_mb()
    res["loadavg_end"] = list(os.getloadavg())
    if return_arrays:
        res["_arrays"] = arrays
    return res


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m entk_ref.functorch_bench", description=__doc__.split("\n")[0])
    ap.add_argument("--list", action="store_true", help="print the workloads and exit")
    ap.add_argument("--workload", choices=sorted(WORKLOADS))
    ap.add_argument("--dir", help="export directory (meta.json, weights.npz, inputs.npy)")
    ap.add_argument("--json", help="write the result JSON here")
    ap.add_argument("--topk", type=int, default=None, help="default 50 (20 for layer_allpairs_topk)")
    ap.add_argument("--mem-gb", type=float, default=8.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, default=None, help="use the first N input rows")
    ap.add_argument("--chunk", type=int, default=None, help="samples per chunk (default: from --mem-gb)")
    ap.add_argument("--class-chunk", type=int, default=None, help="classes per Jacobian pass (default: from --mem-gb)")
    ap.add_argument("--tol", type=float, default=1e-10, help="eigsh tolerance (flat_eigsh)")
    ap.add_argument("--seed", type=int, default=0, help="seed of eigsh's start vector (flat_eigsh)")
    ap.add_argument("--save-vectors", default=None, help="npy for the top-K eigenvectors (columns)")
    ap.add_argument("--save-kernels", default=None, help="npz for the per-tensor kernels (per_tensor)")
    ap.add_argument("--mode", default=None, choices=["stored", "pairs"], help="Jacobian chunking mode (default: from --mem-gb)")
    ap.add_argument("--model", default=None, choices=own_models.MODELS, help="only when DIR has no meta.json")
    ap.add_argument("--force", action="store_true", help="replace existing output files")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    if a.list:
        for w, d in WORKLOADS.items():
            print(f"{w}\t{d}")
        return 0
    try:
        if not a.workload or not a.dir or not a.json:
            raise OwnModelError("--workload, --dir and --json are required (or --list)")
        if os.path.exists(a.json) and not a.force:
            raise OwnModelError(f"--json file {a.json!r} exists; pass --force to replace it")
        prog = (lambda m: None) if a.quiet else (lambda m: print(f"[{a.workload}] {m}", file=sys.stderr, flush=True))
        res = run(a.workload, a.dir, a.topk, a.mem_gb, a.threads, a.n, a.chunk, a.class_chunk, a.tol, a.seed,
                  a.save_vectors, a.save_kernels, a.model, None, a.force, prog, mode=a.mode)
    except OwnModelError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    s = res["seconds"]
    print(f"{res['workload']} {res['model']} N={res['N']} C={res['C']} P={res['P']} "
          + " ".join(f"{k}={v:.3f}s" for k, v in s.items()) + f" peak_rss={res['peak_rss_mb']:.0f}MB")

    def w(tp):
        with open(tp, "w", encoding="utf-8") as fh:
            json.dump(res, fh, indent=1, allow_nan=False)
    own_models._atomic_write(a.json, w)
    return 0


if __name__ == "__main__":
    sys.exit(main())

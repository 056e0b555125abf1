"""Empirical NTK: Jacobians (two independent routes + finite differences), kernels, reductions.

Conventions (the contract with the C# side):

* Jacobian ``J`` has shape ``(N, C, P)``; the P axis is the concatenation of the parameter tensors
  of ``params`` flattened row-major, in the order of the tuple (TMS: ``W [m,n]`` then ``b [n]``;
  MLP: ``W1 [H,2p]`` then ``W2 [p,H]``).
* Full eNTK ``K[n1, n2, c, d] = sum_mu J1[n1, c, mu] * J2[n2, d, mu]``, shape ``(N1, N2, C, C)``.
* Reductions: class-major flatten (row = c*N + n), sample-major flatten (row = n*C + c),
  ``trace_mean`` = (1/C) sum_c K_cc, ``trace_sum`` = sum_c K_cc, ``all_pairs_mean`` =
  (1/C^2) sum_cd K_cd, ``block(c, d)`` = K[:, :, c, d], importance rescale
  K_cd * I_c^(beta/2) * I_d^(beta/2).
* Layerwise kernels: one per parameter tensor, keyed by the parameter names; they sum to the
  full kernel.

All functions work in the dtype of the inputs (float64 everywhere in this package) and return
torch tensors.
"""
from __future__ import annotations

import math
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

from . import models

Params = Tuple[torch.Tensor, ...]
Fn = Callable[[Params, torch.Tensor], torch.Tensor]


def _vmap_jacrev():
    """(vmap, jacrev) from torch.func when it exists (torch >= 2), else from functorch (1.13)."""
    try:  # pragma: no cover - depends on the torch version
        from torch.func import jacrev, vmap  # type: ignore
    except ImportError:
        from functorch import jacrev, vmap  # type: ignore
    return vmap, jacrev


def set_threads(n: int = 2) -> None:
    """Debian's torch starts with one intra-op thread; use ``n``."""
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


def param_sizes(params: Params) -> List[int]:
    return [int(t.numel()) for t in params]


# --------------------------------------------------------------------------------------------
# Jacobians
# --------------------------------------------------------------------------------------------

def jacobian_blocks_functorch(fn: Fn, params: Params, x: torch.Tensor) -> List[torch.Tensor]:
    """Per-parameter Jacobians ``[(N, C, P_i)]`` by ``vmap(jacrev(fn, argnums=0), (None, 0))``."""
    vmap, jacrev = _vmap_jacrev()
    params = tuple(params)
    jac = vmap(jacrev(fn, argnums=0), in_dims=(None, 0))(params, x)
    N = x.shape[0]
    out = []
    for j in jac:
        C = j.shape[1]
        out.append(j.reshape(N, C, -1))
    return out


def jacobian_functorch(fn: Fn, params: Params, x: torch.Tensor) -> torch.Tensor:
    """Full Jacobian ``(N, C, P)`` by functorch (route a)."""
    return torch.cat(jacobian_blocks_functorch(fn, params, x), dim=2)


def jacobian_blocks_autograd(fn: Fn, params: Params, x: torch.Tensor) -> List[torch.Tensor]:
    """Per-parameter Jacobians by a plain loop of ``torch.autograd.grad`` calls, one per sample and
    output (route b, independent of functorch)."""
    ps = [p.detach().clone().requires_grad_(True) for p in params]
    N = x.shape[0]
    blocks = None
    for i in range(N):
        out = fn(tuple(ps), x[i])
        C = out.shape[0]
        if blocks is None:
            blocks = [torch.zeros((N, C, p.numel()), dtype=p.dtype) for p in ps]
        for c in range(C):
            grads = torch.autograd.grad(out[c], ps, retain_graph=True, allow_unused=True)
            for k, gk in enumerate(grads):
                if gk is not None:
                    blocks[k][i, c] = gk.reshape(-1)
    if blocks is None:
        blocks = [torch.zeros((0, 0, p.numel()), dtype=p.dtype) for p in params]
    return blocks


def jacobian_autograd(fn: Fn, params: Params, x: torch.Tensor) -> torch.Tensor:
    """Full Jacobian ``(N, C, P)`` by the autograd loop (route b)."""
    return torch.cat(jacobian_blocks_autograd(fn, params, x), dim=2)


def jacobian_finite_difference(fn: Fn, params: Params, x: torch.Tensor, h: float = 1e-6) -> torch.Tensor:
    """Central differences (f(theta + h e) - f(theta - h e)) / 2h, ``(N, C, P)``. For tests only."""
    params = [p.detach().clone() for p in params]
    cols = []
    with torch.no_grad():
        for k, p in enumerate(params):
            flat = p.view(-1)
            for mu in range(flat.numel()):
                old = flat[mu].item()
                flat[mu] = old + h
                fp = fn(tuple(params), x)
                flat[mu] = old - h
                fm = fn(tuple(params), x)
                flat[mu] = old
                cols.append((fp - fm) / (2 * h))
    return torch.stack(cols, dim=2)


def jacobian(fn: Fn, params: Params, x: torch.Tensor, method: str = "functorch") -> torch.Tensor:
    if method == "functorch":
        return jacobian_functorch(fn, params, x)
    if method == "autograd":
        return jacobian_autograd(fn, params, x)
    if method == "fd":
        return jacobian_finite_difference(fn, params, x)
    raise ValueError(f"unknown Jacobian method {method!r}")


def jacobian_blocks(fn: Fn, params: Params, x: torch.Tensor, method: str = "functorch") -> List[torch.Tensor]:
    if method == "functorch":
        return jacobian_blocks_functorch(fn, params, x)
    if method == "autograd":
        return jacobian_blocks_autograd(fn, params, x)
    raise ValueError(f"unknown Jacobian method {method!r}")


# --------------------------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------------------------

def kernel_from_jacobians(J1: torch.Tensor, J2: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``K[n, m, c, d] = sum_p J1[n, c, p] J2[m, d, p]``, shape (N1, N2, C, C)."""
    if J2 is None:
        J2 = J1
    return torch.einsum("ncp,mdp->nmcd", J1, J2)


def ntk(fn: Fn, params: Params, x1: torch.Tensor, x2: Optional[torch.Tensor] = None,
        method: str = "functorch") -> torch.Tensor:
    """Full eNTK ``(N1, N2, C, C)``."""
    J1 = jacobian(fn, params, x1, method)
    J2 = J1 if x2 is None else jacobian(fn, params, x2, method)
    return kernel_from_jacobians(J1, J2)


def layerwise_ntk(fn: Fn, params: Params, names: Sequence[str], x1: torch.Tensor,
                  x2: Optional[torch.Tensor] = None, method: str = "functorch") -> Dict[str, torch.Tensor]:
    """One full kernel per parameter tensor: ``{name: (N1, N2, C, C)}`` (they sum to the full one)."""
    B1 = jacobian_blocks(fn, params, x1, method)
    B2 = B1 if x2 is None else jacobian_blocks(fn, params, x2, method)
    if len(names) != len(B1):
        raise ValueError("one name per parameter tensor expected")
    return {nm: kernel_from_jacobians(a, b) for nm, a, b in zip(names, B1, B2)}


# --------------------------------------------------------------------------------------------
# Reductions
# --------------------------------------------------------------------------------------------

def flatten_class_major(K: torch.Tensor) -> torch.Tensor:
    """(N1, N2, C, C) -> (C*N1, C*N2), row = c*N1 + n."""
    N1, N2, C, D = K.shape
    return K.permute(2, 0, 3, 1).reshape(C * N1, D * N2)


def flatten_sample_major(K: torch.Tensor) -> torch.Tensor:
    """(N1, N2, C, C) -> (N1*C, N2*C), row = n*C + c."""
    N1, N2, C, D = K.shape
    return K.permute(0, 2, 1, 3).reshape(N1 * C, N2 * D)


def unflatten_class_major(Kf: torch.Tensor, N1: int, N2: int) -> torch.Tensor:
    """Inverse of :func:`flatten_class_major`."""
    C = Kf.shape[0] // N1
    D = Kf.shape[1] // N2
    return Kf.reshape(C, N1, D, N2).permute(1, 3, 0, 2)


def trace_mean(K: torch.Tensor) -> torch.Tensor:
    """(1/C) sum_c K[:, :, c, c]  (the paper's 'traced' kernel)."""
    return K.diagonal(dim1=2, dim2=3).mean(-1)


def trace_sum(K: torch.Tensor) -> torch.Tensor:
    """sum_c K[:, :, c, c]."""
    return K.diagonal(dim1=2, dim2=3).sum(-1)


def all_pairs_mean(K: torch.Tensor) -> torch.Tensor:
    """(1/C^2) sum_{c,d} K[:, :, c, d]."""
    return K.mean(dim=(2, 3))


def block(K: torch.Tensor, c: int, d: int) -> torch.Tensor:
    """K[:, :, c, d]."""
    return K[:, :, c, d]


def importance_weights(importance, beta: float) -> torch.Tensor:
    """I_c^(beta/2) as float64 tensor (beta = 0 gives ones, also for I_c = 0)."""
    I = torch.as_tensor(importance, dtype=models.DTYPE)
    if beta == 0:
        return torch.ones_like(I)
    return I ** (beta / 2.0)


def importance_rescale(K: torch.Tensor, importance, beta: float) -> torch.Tensor:
    """K_cd * I_c^(beta/2) * I_d^(beta/2) on a full (N1, N2, C, C) kernel."""
    w = importance_weights(importance, beta).to(K.dtype)
    return K * w[None, None, :, None] * w[None, None, None, :]


def rescale_jacobian(J: torch.Tensor, importance, beta: float) -> torch.Tensor:
    """Multiply row c of the Jacobian (N, C, P) by I_c^(beta/2)."""
    w = importance_weights(importance, beta).to(J.dtype)
    return J * w[None, :, None]


def jacobian_class_major_rows(J: torch.Tensor) -> torch.Tensor:
    """(N, C, P) -> (C*N, P) with row = c*N + n, so that rows @ rows.T = flatten_class_major(K)."""
    N, C, P = J.shape
    return J.permute(1, 0, 2).reshape(C * N, P)


# --------------------------------------------------------------------------------------------
# Chunked traced kernels (bounded Jacobian memory)
# --------------------------------------------------------------------------------------------

def traced_kernels_chunked(fn: Fn, params: Params, x: torch.Tensor, names: Sequence[str],
                           max_bytes: int = 2 * 1024 ** 3, reduction: str = "trace_mean",
                           method: str = "functorch") -> Dict[str, torch.Tensor]:
    """Traced self-kernels ``{name: (N, N)}`` for every parameter tensor plus ``"full"``, computed
    without ever holding more than about ``max_bytes`` of Jacobian.

    Strategy: outputs are processed in chunks of classes; for a class chunk the Jacobian of all
    samples is formed if it fits (one Gram product per parameter tensor), otherwise samples are
    split into chunks and the (i, j >= i) block pairs are accumulated (Jacobians of the j-chunks
    are recomputed). ``reduction`` is ``"trace_mean"`` ((1/C) sum_c K_cc) or ``"trace_sum"``.
    """
    if reduction not in ("trace_mean", "trace_sum"):
        raise ValueError("reduction must be trace_mean or trace_sum")
    params = tuple(params)
    N = x.shape[0]
    P = sum(param_sizes(params))
    with torch.no_grad():
        C = int(fn(params, x[:1]).shape[-1])
    itemsize = torch.finfo(x.dtype).bits // 8
    per_sample_class = P * itemsize
    K = {nm: torch.zeros((N, N), dtype=x.dtype) for nm in names}

    if N * per_sample_class <= max_bytes:
        cc = max(1, min(C, max_bytes // (N * per_sample_class)))
        sc = N
    else:
        cc = 1
        sc = max(1, max_bytes // (2 * per_sample_class))

    def blocks_for(c0: int, c1: int, xs: torch.Tensor) -> List[torch.Tensor]:
        def g(prm, xx):
            return fn(prm, xx)[..., c0:c1]
        bl = jacobian_blocks(g, params, xs, method)
        return [b.reshape(b.shape[0], -1) for b in bl]   # (n, (c1-c0)*P_i)

    for c0 in range(0, C, cc):
        c1 = min(C, c0 + cc)
        for i0 in range(0, N, sc):
            i1 = min(N, i0 + sc)
            Bi = blocks_for(c0, c1, x[i0:i1])
            for j0 in range(i0, N, sc):
                j1 = min(N, j0 + sc)
                Bj = Bi if j0 == i0 else blocks_for(c0, c1, x[j0:j1])
                for nm, bi, bj in zip(names, Bi, Bj):
                    blk = bi @ bj.t()
                    K[nm][i0:i1, j0:j1] += blk
                    if j0 != i0:
                        K[nm][j0:j1, i0:i1] += blk.t()
                del Bj
            del Bi
    if reduction == "trace_mean":
        for nm in names:
            K[nm] /= C
    full = torch.zeros((N, N), dtype=x.dtype)
    for nm in names:
        full += K[nm]
    K["full"] = full
    return K


def all_pairs_mean_via_sum(fn: Fn, params: Params, x: torch.Tensor, method: str = "functorch") -> torch.Tensor:
    """(1/C^2) sum_cd K_cd computed from the gradient of the sum of logits (one row per sample)."""
    with torch.no_grad():
        C = int(fn(tuple(params), x[:1]).shape[-1])

    def s(prm, xx):
        return fn(prm, xx).sum(-1, keepdim=True)
    G = jacobian(s, params, x, method)[:, 0, :]
    return G @ G.t() / (C * C)


# --------------------------------------------------------------------------------------------
# Closed forms (docs/paper-notes.md §1.10), independent of autodiff
# --------------------------------------------------------------------------------------------

def tms_kernel_closed_form(W: torch.Tensor, b: torch.Tensor, x1: torch.Tensor,
                           x2: Optional[torch.Tensor] = None) -> torch.Tensor:
    """K_cd(x,x') = g_c(x) g_d(x') [d_cd (1 + h.h') + x'_c (W_:d . h) + x_d (W_:c . h')
    + (W^T W)_cd (x.x')], g = 1[pre > 0].  Returns (N1, N2, n, n)."""
    if x2 is None:
        x2 = x1
    h1, h2 = x1 @ W.t(), x2 @ W.t()
    g1 = ((h1 @ W + b) > 0).to(W.dtype)
    g2 = ((h2 @ W + b) > 0).to(W.dtype)
    A1, A2 = h1 @ W, h2 @ W             # A[n, d] = W_:d . h(x_n)
    G = W.t() @ W
    n = W.shape[1]
    eye = torch.eye(n, dtype=W.dtype)
    hh = h1 @ h2.t()
    xx = x1 @ x2.t()
    K = (1.0 + hh)[:, :, None, None] * eye[None, None]
    K = K + x2[None, :, :, None] * A1[:, None, None, :]     # x'_c (W_:d . h)
    K = K + x1[:, None, None, :] * A2[None, :, :, None]     # x_d (W_:c . h')
    K = K + xx[:, :, None, None] * G[None, None]
    return K * g1[:, None, :, None] * g2[None, :, None, :]


def mlp_traced_closed_form(W1: torch.Tensor, W2: torch.Tensor, x1: torch.Tensor,
                           x2: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
    """Traced (mean over classes) layer kernels of the MLP in closed form:

    K2(x,x') = (1/H^2) sum_j u_j(x)^2 u_j(x')^2,
    K1(x,x') = 4/(C H^2 2p) (x.x') sum_j ||W2_:j||^2 u_j(x) u_j(x'),  u = W1 x / sqrt(2p).
    Returns ``{"W1", "W2", "full"}`` (N1, N2) tensors.
    """
    if x2 is None:
        x2 = x1
    H, twop = W1.shape
    C = W2.shape[0]
    u1 = x1 @ W1.t() / math.sqrt(twop)
    u2 = x2 @ W1.t() / math.sqrt(twop)
    K2 = (u1 * u1) @ (u2 * u2).t() / (H * H)
    w = (W2 * W2).sum(dim=0)
    K1 = 4.0 / (C * H * H * twop) * (x1 @ x2.t()) * ((u1 * w) @ u2.t())
    return {"W1": K1, "W2": K2, "full": K1 + K2}

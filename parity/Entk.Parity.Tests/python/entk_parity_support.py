"""Glue between the C# parity tests (pythonnet, in-process) and the Python reference ``entk_ref``.

Only the parity test assembly imports this module. It adds nothing to the reference: it calls
``entk_ref.bridge`` functions with JSON keyword arguments and returns their JSON, and offers two
numpy/torch diagnostics that the bridge contract does not return (see each function).
Strings in, strings out, so the C# side never marshals Python objects.
"""
from __future__ import annotations

import json
import math
import os
from typing import Any, Dict, List

import numpy as np

from entk_ref import bridge, metrics, npyio


def call(function: str, args_json: str) -> str:
    """Runs ``entk_ref.bridge.FUNCTIONS[function](**json.loads(args_json))``; returns its JSON."""
    kwargs = json.loads(args_json)
    result = bridge.FUNCTIONS[function](**kwargs)
    return json.dumps(result, allow_nan=False)


def versions() -> str:
    """Versions of the reference stack (for test logs)."""
    import sys
    import scipy
    import torch
    return json.dumps({"python": sys.version.split()[0], "numpy": np.__version__, "scipy": scipy.__version__,
                       "torch": torch.__version__, "torch_threads": torch.get_num_threads()})


def mlp_cliff_detail(args_json: str) -> str:
    """Reference values for one C# MLP cliff that ``bridge.mlp_metrics_case`` does not return:
    the singular values of the cliff basis against each family (``metrics.subspace_singular_values``)
    and the un-rotated stacked phase-insensitive heatmap (``metrics.corr_stack``), both computed from
    the C#-written eigenvectors ``eigenvectors_file`` columns [start, start + size).

    args: ``eigenvectors_file``, ``p``, ``start``, ``size``, ``families`` (two names)."""
    a = json.loads(args_json)
    E = npyio.load_npy(a["eigenvectors_file"])
    s, e = int(a["start"]), int(a["start"]) + int(a["size"])
    Ec = E[:, s:e]
    fams = [metrics.fourier_family(int(a["p"]), f) for f in a["families"]]
    sv = [metrics.subspace_singular_values(Ec, F).tolist() for F in fams]
    H = metrics.corr_stack(Ec, fams)
    return json.dumps(npyio.jsonable({"singular_values": sv, "heatmap_before": H.ravel().tolist(),
                                      "heatmap_before_shape": list(H.shape)}), allow_nan=False)


def tms_inputs_explained(args_json: str) -> str:
    """Explains the difference between the C# ``inputs.npy`` and ``bridge.rng_case``'s ``x``.

    Draws the raw sparse data exactly as ``entk_ref.models.tms_init`` documents it (one
    torch.Generator: W = randn((m, n)), u = rand((D, n)), v = rand((D, n)), raw = where(u < S, 0, v))
    and checks, row by row, whether the C# row equals ``raw_row / d`` bit for bit for a single
    float64 denominator d within +-8 ulp of torch 1.13's ``||raw_row|| + 1e-8``. If every row is
    explained, the random draws agree bit for bit and the only difference is the rounding of the
    row norm (a reduction whose summation order differs between torch 1.13 and libtorch 2.10).

    args: ``seed``, ``n``, ``m``, ``D``, ``S``, ``inputs_file``. Returns ``rows``,
    ``rows_explained``, ``rows_with_reference_denominator`` (d = torch 1.13's exactly),
    ``ulp_offsets`` (distinct offsets used)."""
    import torch
    a = json.loads(args_json)
    n, m, D, S = int(a["n"]), int(a["m"]), int(a["D"]), float(a["S"])
    g = torch.Generator().manual_seed(int(a["seed"]))
    torch.randn((m, n), generator=g, dtype=torch.float64)
    u = torch.rand((D, n), generator=g, dtype=torch.float64)
    v = torch.rand((D, n), generator=g, dtype=torch.float64)
    raw_t = torch.where(u < S, torch.zeros_like(v), v)
    den = (raw_t.norm(dim=1) + 1e-8).numpy()
    raw = raw_t.numpy()
    xc = npyio.load_npy(a["inputs_file"])
    if xc.shape != raw.shape:
        raise ValueError(f"inputs shape {xc.shape} != ({D}, {n})")
    explained = 0
    exact = 0
    offsets: List[int] = []
    for i in range(D):
        found = None
        for k in sorted(range(-8, 9), key=abs):
            d = den[i]
            for _ in range(abs(k)):
                d = np.nextafter(d, math.inf if k > 0 else -math.inf)
            if np.array_equal(raw[i] / d, xc[i]):
                found = k
                break
        if found is not None:
            explained += 1
            exact += found == 0
            offsets.append(found)
    return json.dumps({"rows": D, "rows_explained": explained, "rows_with_reference_denominator": exact,
                       "ulp_offsets": sorted(set(offsets))})


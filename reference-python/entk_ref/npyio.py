"""Small .npy / .npz / .json helpers (numpy only). Arrays are read as float64 unless the file
holds integers and ``as_float=False``."""
from __future__ import annotations

import json
import math
import os
from typing import Any, Dict, Optional

import numpy as np


def _to_numpy(a) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def load_npy(path: str, as_float: bool = True) -> np.ndarray:
    a = np.load(path, allow_pickle=False)
    return np.ascontiguousarray(a, dtype=np.float64) if as_float else a


def save_npy(path: str, a) -> None:
    np.save(path, np.ascontiguousarray(_to_numpy(a)), allow_pickle=False)


def load_npz(path: str, as_float: bool = True) -> Dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: (np.ascontiguousarray(z[k], dtype=np.float64) if as_float else z[k]) for k in z.files}


def save_npz(path: str, **arrays) -> None:
    np.savez(path, **{k: np.ascontiguousarray(_to_numpy(v)) for k, v in arrays.items()})


def maybe_load_npy(path: str) -> Optional[np.ndarray]:
    return load_npy(path) if os.path.exists(path) else None


def jsonable(obj: Any) -> Any:
    """Convert numpy/torch scalars and arrays (recursively) to plain Python; NaN/inf -> None."""
    if hasattr(obj, "detach"):
        obj = obj.detach().cpu().numpy()
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    return obj


def load_json(path: str) -> Any:
    with open(path, "r", encoding="utf-8") as fh:
        return json.load(fh)


def save_json(path: str, obj: Any) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(jsonable(obj), fh, indent=1, sort_keys=True)


def flatten_dict(d: Dict[str, Any], prefix: str = "") -> Dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1} (lists and scalars are leaves)."""
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten_dict(v, key + "."))
        else:
            out[key] = v
    return out

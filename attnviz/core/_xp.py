"""Array-namespace helpers: let core functions run on NumPy or CuPy arrays alike.

The core never imports CuPy. A CuPy array names its own namespace through the array-API
``__array_namespace__`` protocol, so the core asks the array instead of importing the library.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np


def array_namespace(*arrays: Any) -> ModuleType:
    """Return the array module (``numpy`` or ``cupy``) the given arrays belong to.

    Python scalars, lists and ``None`` are ignored; plain NumPy is the default.
    """
    for a in arrays:
        if a is None or isinstance(a, np.ndarray | np.generic | int | float | bool | list | tuple):
            continue
        ns = getattr(a, "__array_namespace__", None)
        if ns is None:
            continue
        mod = ns()
        # NumPy >= 2 answers with ``numpy`` itself; CuPy answers with ``cupy``.
        return mod if mod.__name__.split(".")[0] == "cupy" else np
    return np


def compute_dtype(dtype: Any) -> np.dtype:
    """The float type arithmetic runs in: half precision is computed in float32."""
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"attention needs floating-point arrays, got dtype {dt}")
    return np.dtype(np.float64) if dt == np.float64 else np.dtype(np.float32)


def to_numpy(a: Any) -> np.ndarray:
    """Host NumPy copy of a NumPy or CuPy array (CuPy arrays expose ``.get()``)."""
    if isinstance(a, np.ndarray):
        return a
    get = getattr(a, "get", None)
    return np.asarray(get() if callable(get) else a)

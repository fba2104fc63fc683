"""Attention saved by other tools (BertViz, CircuitsVis, a notebook), read without pickle.

Accepted: ``.npy`` holding one array, or ``.npz`` holding the array and, optionally, the tokens
(as a string array, e.g. ``np.savez(f, attention=a, tokens=np.array(tokens))``). The array is
(layers, heads, L, S), (heads, L, S), or (layers, 1, heads, L, S) as stacked from a
batch of one. Tokens not in the npz come from ``tokens_path`` or a JSON file beside the array
(same name, ``.json``): a list of strings, or {"tokens": [...], "key_tokens": [...]}.

Every size is checked from the array headers before any data is read, and ``np.load`` never
unpickles (``allow_pickle=False``).
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from attnviz.models.errors import PICKLE_SUFFIXES, ModelError

__all__ = ["AttentionFile", "load_attention_file"]

ARRAY_KEYS = ("attention", "attentions", "attn", "attention_weights", "weights", "pattern")
TOKEN_KEYS = ("tokens", "token", "labels", "words", "query_tokens")
KEY_TOKEN_KEYS = ("key_tokens", "src_tokens", "source_tokens")
MAX_ARRAY_BYTES = 4 * 2**30  # 32 layers × 32 heads × 1024² float32 is 4 GiB
ROW_SUM_TOL = 1e-3  # float16 exports round each weight by ~5e-4 relative


@dataclass(frozen=True)
class AttentionFile:
    """Attention probabilities read from a file, with their tokens."""

    path: Path
    attentions: np.ndarray  # (layers, heads, L, S) float32
    tokens: tuple[str, ...]  # the L queries
    key_tokens: tuple[str, ...]  # the S keys (the same as tokens for self-attention)

    @property
    def layers(self) -> int:
        return self.attentions.shape[0]

    @property
    def heads(self) -> int:
        return self.attentions.shape[1]


def _err(path: Path, problem: str) -> ModelError:
    return ModelError(f"{path.name}: {problem} ({path})", path)


def _npy_header(f: IO[bytes], path: Path, what: str, stored: int) -> tuple[tuple[int, ...], Any]:
    """(shape, dtype) from an .npy header, checked against the ``stored`` bytes that follow."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(f)
        read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, _fortran, dtype = read(f)
    except (ValueError, OSError, SyntaxError) as exc:
        raise _err(path, f"{what} is not a NumPy array file: {exc}") from None
    if dtype.hasobject:
        raise _err(
            path,
            f"{what} holds Python objects, which only pickle can read and attnviz never "
            "unpickles; save strings as np.array(tokens, dtype=str) and numbers as floats",
        )
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > MAX_ARRAY_BYTES:
        raise _err(
            path, f"{what} claims {nbytes / 2**30:.1f} GiB (limit {MAX_ARRAY_BYTES >> 30} GiB)"
        )
    if nbytes > stored - f.tell():
        raise _err(
            path,
            f"{what} claims shape {shape} ({nbytes:,} bytes) but only {stored - f.tell():,} bytes "
            "follow its header: the file is truncated",
        )
    return shape, dtype


def _read_npy(path: Path) -> dict[str, np.ndarray]:
    with path.open("rb") as f:
        _npy_header(f, path, "the array", path.stat().st_size)
    try:
        return {"": np.load(path, allow_pickle=False)}
    except (ValueError, OSError) as exc:
        raise _err(path, f"cannot read the array: {exc}") from None


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if info.filename.endswith(".npy"):
                    with zf.open(info) as f:
                        _npy_header(f, path, f"array {info.filename[:-4]!r}", info.file_size)
    except zipfile.BadZipFile as exc:
        raise _err(path, f"not a valid .npz (zip) file: {exc}") from None
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise _err(path, f"cannot read the arrays: {exc}") from None


def _as_tokens(value: Any, where: str, path: Path) -> tuple[str, ...]:
    if isinstance(value, np.ndarray):
        if value.ndim != 1 or value.dtype.kind not in "US":
            raise _err(
                path, f"{where} must be a 1-D array of strings, got {value.dtype} {value.shape}"
            )
        if value.dtype.kind == "S":
            return tuple(b.decode("utf-8", errors="replace") for b in value.tolist())
        return tuple(str(t) for t in value.tolist())
    if isinstance(value, list) and all(isinstance(t, str) for t in value):
        return tuple(value)
    raise _err(path, f"{where} must be a list of strings")


def _pick(arrays: dict[str, np.ndarray], keys: tuple[str, ...]) -> str | None:
    return next((k for k in keys if k in arrays), None)


def _tokens_from_json(path: Path) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _err(path, "the tokens file is missing") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _err(path, f"not valid JSON: {exc}") from None
    if isinstance(doc, dict):
        tk = next((k for k in TOKEN_KEYS if k in doc), None)
        if tk is None:
            raise _err(path, f"holds no token list (keys tried: {', '.join(TOKEN_KEYS)})")
        kk = next((k for k in KEY_TOKEN_KEYS if k in doc), None)
        keys = None if kk is None else _as_tokens(doc[kk], f"{kk!r}", path)
        return _as_tokens(doc[tk], f"{tk!r}", path), keys
    return _as_tokens(doc, "the token list", path), None


def _check_probabilities(a: np.ndarray, path: Path) -> None:
    if not np.all(np.isfinite(a)):
        raise _err(path, "the attention holds NaN or infinite values")
    if a.size and float(a.min()) < -1e-6:
        raise _err(path, f"the attention holds negative values (min {float(a.min()):.3g})")
    sums = a.sum(axis=-1, dtype=np.float64)  # (layers, heads, L)
    # A row that may look at nothing is all zeros (the core's convention); others sum to 1.
    bad = (np.abs(sums - 1.0) > ROW_SUM_TOL) & (np.abs(sums) > ROW_SUM_TOL)
    if np.any(bad):
        layer, head, row = (int(i) for i in np.argwhere(bad)[0])
        raise _err(
            path,
            f"rows must be probability distributions (post-softmax, summing to 1), but layer "
            f"{layer}, head {head}, query {row} sums to {sums[layer, head, row]:.6g}"
            f"{'; were pre-softmax scores saved?' if bad.mean() > 0.5 else ''}",
        )


def load_attention_file(
    path: str | os.PathLike[str], tokens_path: str | os.PathLike[str] | None = None
) -> AttentionFile:
    """Read saved attention probabilities and their tokens; see the module docstring.

    Raises ModelError naming the file when it is not .npy/.npz, would need pickle, is truncated,
    has the wrong number of dimensions, rows that are not distributions, or tokens that do not
    match the array's length.
    """
    path = Path(path).expanduser()
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        raise _err(path, "pickle files are never loaded; save the attention with np.save/np.savez")
    if suffix not in (".npy", ".npz"):
        raise _err(path, "attention files must be .npy or .npz (NumPy arrays)")
    if not path.is_file():
        raise ModelError(f"{path.name} is missing ({path})", path)
    arrays = _read_npy(path) if suffix == ".npy" else _read_npz(path)

    if suffix == ".npy":
        key = ""
    else:
        key = _pick(arrays, ARRAY_KEYS)
        if key is None:
            floats = [k for k, v in arrays.items() if v.dtype.kind == "f" and v.ndim >= 3]
            if len(floats) != 1:
                raise _err(
                    path,
                    f"cannot tell which array is the attention (arrays: {', '.join(arrays)}); "
                    f"name it one of {', '.join(ARRAY_KEYS)}",
                )
            key = floats[0]
    a = arrays[key]
    if a.dtype.kind != "f":
        raise _err(path, f"the attention must be floating point, got {a.dtype}")
    if a.ndim == 5 and a.shape[1] == 1:
        a = a[:, 0]  # (layers, batch=1, heads, L, S): BertViz's per-layer outputs stacked
    elif a.ndim == 3:
        a = a[None]  # (heads, L, S): one layer, as CircuitsVis takes it
    if a.ndim != 4:
        raise _err(
            path,
            f"the attention has shape {arrays[key].shape}; expected (layers, heads, L, S) or "
            "(heads, L, S)",
        )
    n_q, n_k = a.shape[-2:]
    if 0 in a.shape:
        raise _err(path, f"the attention has an empty axis: shape {a.shape}")

    tk = _pick(arrays, TOKEN_KEYS)
    if tokens_path is not None:
        tokens, key_tokens = _tokens_from_json(Path(tokens_path).expanduser())
        tok_src = Path(tokens_path).name
    elif tk is not None:
        tokens = _as_tokens(arrays[tk], f"array {tk!r}", path)
        kk = _pick(arrays, KEY_TOKEN_KEYS)
        key_tokens = None if kk is None else _as_tokens(arrays[kk], f"array {kk!r}", path)
        tok_src = f"{path.name}[{tk!r}]"
    else:
        side = path.with_suffix(".json")
        if not side.is_file():
            raise _err(
                path,
                f"no tokens: store them in the npz as 'tokens', or put a JSON list beside the "
                f"array as {side.name}, or pass tokens_path",
            )
        tokens, key_tokens = _tokens_from_json(side)
        tok_src = side.name
    if len(tokens) != n_q:
        raise _err(
            path,
            f"the attention has L={n_q} query positions but {tok_src} lists {len(tokens)} tokens",
        )
    if key_tokens is None:
        if n_k != n_q:
            raise _err(
                path,
                f"the attention is {n_q} queries × {n_k} keys; for S ≠ L give the key tokens "
                f"too ('key_tokens')",
            )
        key_tokens = tokens
    elif len(key_tokens) != n_k:
        raise _err(
            path,
            f"the attention has S={n_k} key positions but {tok_src} lists {len(key_tokens)} "
            "key tokens",
        )
    _check_probabilities(a, path)
    return AttentionFile(path, np.ascontiguousarray(a, dtype=np.float32), tokens, key_tokens)

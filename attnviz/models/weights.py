"""Reading weights from safetensors files, checked before anything large is allocated.

A safetensors file is an 8-byte little-endian header length N, N bytes of JSON naming every
tensor's dtype, shape and byte range, then the raw data. We read and check the header ourselves
(so that a truncated or lying file gives a message naming the file and the tensor, and nothing
is allocated from an unchecked size), then let the ``safetensors`` library read each tensor.
NumPy has no bfloat16, so bf16 tensors are read as raw 16-bit words and widened to float32 here.
Pickle checkpoints are never opened.

References
----------
- Hugging Face, "safetensors" format specification (github.com/huggingface/safetensors).
- Hugging Face, sharded checkpoints: ``model.safetensors.index.json`` with a ``weight_map``.
"""

from __future__ import annotations

import json
import math
import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from attnviz.models.errors import PICKLE_SUFFIXES, ModelError, pickle_refusal

__all__ = [
    "DTYPE_SIZES",
    "SHARD_INDEX",
    "SINGLE_FILE",
    "TensorInfo",
    "WeightFiles",
    "open_weights",
    "read_header",
]

SINGLE_FILE = "model.safetensors"
SHARD_INDEX = "model.safetensors.index.json"

# Bytes per element of every dtype the format defines.
DTYPE_SIZES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
}  # fmt: skip
# Those we can widen to float32 for computing.
FLOAT_DTYPES = ("F32", "F16", "BF16", "F64")
# The reference implementation refuses headers over 100 MB; a real one is a few hundred KB.
MAX_HEADER_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True)
class TensorInfo:
    """One tensor as its file's header describes it (checked against the file's size)."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    file: Path
    begin: int  # absolute byte offset in the file
    nbytes: int

    @property
    def size(self) -> int:
        return math.prod(self.shape)


def _header_error(path: Path, problem: str) -> ModelError:
    return ModelError(f"{path.name} is not a valid safetensors file: {problem} ({path})", path)


def read_header(path: Path) -> tuple[dict[str, TensorInfo], dict[str, str]]:
    """Read and check one file's header; returns ({name: TensorInfo}, metadata).

    Every size is checked against the file's length before anything is allocated: the header
    length, each tensor's byte range, and that the range holds exactly shape × itemsize bytes.
    """
    path = Path(path)
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise pickle_refusal(path)
    try:
        file_size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise _header_error(path, f"the file is only {file_size} bytes long")
            (n,) = struct.unpack("<Q", head)
            if n > file_size - 8:
                raise _header_error(
                    path,
                    f"its header claims {n:,} bytes but the file has only {file_size:,}; "
                    "it is truncated or not safetensors at all",
                )
            if n > MAX_HEADER_BYTES:
                raise _header_error(path, f"its header claims {n:,} bytes (limit 100 MB)")
            raw = f.read(n)
    except FileNotFoundError:
        raise ModelError(f"{path.name} is missing ({path})", path) from None
    except OSError as exc:
        raise ModelError(f"cannot read {path.name}: {exc} ({path})", path) from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _header_error(path, f"its header is not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise _header_error(path, "its header is not a JSON object")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict):
        raise _header_error(path, "__metadata__ is not an object")
    data_start = 8 + n
    data_len = file_size - data_start
    tensors: dict[str, TensorInfo] = {}
    for name, entry in header.items():
        tensors[name] = _check_entry(path, name, entry, data_start, data_len)
    return tensors, {str(k): str(v) for k, v in meta.items()}


def _check_entry(
    path: Path, name: str, entry: object, data_start: int, data_len: int
) -> TensorInfo:
    if not isinstance(entry, dict):
        raise _header_error(path, f"the entry for tensor {name!r} is not an object")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype not in DTYPE_SIZES:
        raise _header_error(path, f"tensor {name!r} has unknown dtype {dtype!r}")
    ok_shape = isinstance(shape, list) and all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    )
    if not ok_shape:
        raise _header_error(path, f"tensor {name!r} has a malformed shape {shape!r}")
    ok_offsets = (
        isinstance(offsets, list)
        and len(offsets) == 2
        and all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
        and 0 <= offsets[0] <= offsets[1]
    )
    if not ok_offsets:
        raise _header_error(path, f"tensor {name!r} has malformed data_offsets {offsets!r}")
    begin, end = offsets
    want = math.prod(shape) * DTYPE_SIZES[dtype]
    if end - begin != want:
        raise _header_error(
            path,
            f"tensor {name!r} ({dtype}, shape {tuple(shape)}) needs {want:,} bytes but its "
            f"data_offsets span {end - begin:,}",
        )
    if end > data_len:
        raise ModelError(
            f"{path.name} is truncated: tensor {name!r} needs bytes up to {end:,} of the data "
            f"section, which holds only {data_len:,} (was a download interrupted?) ({path})",
            path,
        )
    return TensorInfo(name, dtype, tuple(shape), path, data_start + begin, want)


@dataclass(frozen=True)
class WeightFiles:
    """The safetensors files of one model and every tensor they hold (headers only)."""

    files: tuple[Path, ...]
    tensors: dict[str, TensorInfo]
    metadata: dict[str, str]

    @property
    def nbytes(self) -> int:
        return sum(t.nbytes for t in self.tensors.values())

    def dtypes(self) -> list[str]:
        """Distinct dtypes of the floating-point tensors, most bytes first."""
        count: dict[str, int] = {}
        for t in self.tensors.values():
            if t.dtype in FLOAT_DTYPES:
                count[t.dtype] = count.get(t.dtype, 0) + t.nbytes
        return sorted(count, key=lambda d: -count[d])

    def read(self, names: Iterable[str]) -> dict[str, np.ndarray]:
        """Read the named tensors as float32 (little-endian, C order), file by file."""
        by_file: dict[Path, list[TensorInfo]] = {}
        for n in names:
            t = self.tensors[n]
            if t.dtype not in FLOAT_DTYPES:
                raise ModelError(
                    f"tensor {n!r} in {t.file.name} is {t.dtype}; attnviz reads float weights "
                    "(F32, F16, BF16, F64) only, not quantised ones",
                    t.file,
                )
            by_file.setdefault(t.file, []).append(t)
        out: dict[str, np.ndarray] = {}
        for path, infos in by_file.items():
            out.update(_read_file(path, infos))
        return out


def _read_file(path: Path, infos: list[TensorInfo]) -> dict[str, np.ndarray]:
    from safetensors import SafetensorError, safe_open

    out: dict[str, np.ndarray] = {}
    bf16 = [t for t in infos if t.dtype == "BF16"]
    other = [t for t in infos if t.dtype != "BF16"]
    try:
        if other:
            with safe_open(str(path), framework="numpy") as f:
                for t in other:
                    a = f.get_tensor(t.name)
                    if a.shape != t.shape:  # the library and our header parse disagree
                        raise ModelError(f"{path.name}: tensor {t.name!r} read back as {a.shape}")
                    out[t.name] = np.ascontiguousarray(a, dtype=np.float32)
        if bf16:
            # safe_open cannot hand NumPy a bf16 array: read the 16-bit words ourselves.
            with path.open("rb") as fh:
                for t in bf16:
                    fh.seek(t.begin)
                    words = np.fromfile(fh, dtype="<u2", count=t.size)
                    if words.size != t.size:
                        raise ModelError(f"{path.name} is truncated inside tensor {t.name!r}")
                    out[t.name] = bf16_to_float32(words).reshape(t.shape)
    except SafetensorError as exc:
        raise ModelError(
            f"{path.name} is not a valid safetensors file: {exc} ({path})", path
        ) from None
    except OSError as exc:
        raise ModelError(f"cannot read {path.name}: {exc} ({path})", path) from None
    return out


def bf16_to_float32(words: np.ndarray) -> np.ndarray:
    """bfloat16 bit patterns (uint16) -> float32: bf16 is the top half of a float32."""
    return (words.astype(np.uint32) << 16).view(np.float32)


def open_weights(folder: Path) -> WeightFiles:
    """Find and check a model folder's safetensors: one file, or shards named by an index.

    Refuses pickle checkpoints with a message on converting them.
    """
    single, index = folder / SINGLE_FILE, folder / SHARD_INDEX
    if single.is_file():
        tensors, meta = read_header(single)
        return WeightFiles((single,), tensors, meta)
    if index.is_file():
        return _open_sharded(folder, index)
    pickles = sorted(p for p in folder.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES)
    if pickles:
        raise pickle_refusal(pickles[0])
    others = sorted(p.name for p in folder.glob("*.safetensors"))
    hint = f" (found {', '.join(others)}, which are not in Hugging Face layout)" if others else ""
    raise ModelError(
        f"no weights in {folder}: expected {SINGLE_FILE} or {SHARD_INDEX}{hint}", folder
    )


def _open_sharded(folder: Path, index: Path) -> WeightFiles:
    try:
        doc = json.loads(index.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{index.name} is not valid JSON: {exc} ({index})", index) from None
    wmap = doc.get("weight_map") if isinstance(doc, dict) else None
    if not isinstance(wmap, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in wmap.items()
    ):
        raise ModelError(f"{index.name} has no weight_map of tensor name -> file ({index})", index)
    shards = sorted(set(wmap.values()))
    for s in shards:
        # Shards are plain file names beside the index; never follow a path out of the folder.
        if s != os.path.basename(s) or s in ("", ".", "..") or "\\" in s:
            raise ModelError(f"{index.name} names a shard outside its folder: {s!r}", index)
        if Path(s).suffix.lower() in PICKLE_SUFFIXES:
            raise pickle_refusal(folder / s)
    tensors: dict[str, TensorInfo] = {}
    meta: dict[str, str] = {}
    for s in shards:
        t, m = read_header(folder / s)
        meta.update(m)
        for name, info in t.items():
            if name in tensors:
                raise ModelError(
                    f"tensor {name!r} is stored twice, in {tensors[name].file.name} and {s}",
                    folder / s,
                )
            tensors[name] = info
    for name, s in wmap.items():
        if name not in tensors or tensors[name].file.name != s:
            raise ModelError(
                f"{index.name} places tensor {name!r} in {s}, but {s} does not hold it", index
            )
    return WeightFiles(tuple(folder / s for s in shards), tensors, meta)

"""Reading weights from safetensors files, checked before anything large is allocated.

A safetensors file is an 8-byte little-endian header length N, N bytes of JSON naming every
tensor's dtype, shape and byte range, then the raw data. We read and check the header ourselves
(so that a truncated or lying file gives a message naming the file and the tensor, and nothing
is allocated from an unchecked size), then map each file read-only (:class:`MappedWeights`):
tensors are NumPy views of the mapping, read from disk only when used, and widened to float32
(:func:`to_float32`) when a layer needs them. NumPy has no bfloat16, so bf16 tensors are viewed
as raw 16-bit words and widened here. Pickle checkpoints are never opened.

References
----------
- Hugging Face, "safetensors" format specification (github.com/huggingface/safetensors).
- Hugging Face, sharded checkpoints: ``model.safetensors.index.json`` with a ``weight_map``.
"""

from __future__ import annotations

import contextlib
import json
import math
import mmap
import os
import struct
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from attnviz.models.errors import PICKLE_SUFFIXES, ModelError, pickle_refusal

__all__ = [
    "DTYPE_SIZES",
    "SHARD_INDEX",
    "SINGLE_FILE",
    "MappedWeights",
    "Rows",
    "TensorInfo",
    "Tensors",
    "WeightFiles",
    "open_weights",
    "owned_bytes",
    "read_header",
    "to_float32",
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
        """Read the named tensors whole, as float32 copies of their own (C order)."""
        mapped = MappedWeights(self)
        out = {}
        for n in names:
            t = self.tensors[n]
            out[n] = mapped.float32(t, np.empty(t.shape, np.float32))
        mapped.release(self.tensors[n] for n in out)
        return out


# How each float dtype's raw bytes are viewed: bf16 as its 16-bit words (NumPy has no bfloat16).
RAW_DTYPES = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "BF16": np.dtype("<u2"),
              "F64": np.dtype("<f8")}  # fmt: skip


def to_float32(raw: np.ndarray, dtype: str, out: np.ndarray | None = None) -> np.ndarray:
    """Widen ``raw`` (stored as ``dtype``: "F32", "F16", "BF16" or "F64") to float32, into
    ``out`` when given (same shape), else into a new C-ordered array."""
    if out is None:
        out = np.empty(raw.shape, np.float32)
    if dtype == "BF16":
        # bf16 is the top half of a float32: widen the words, then shift them into place.
        bits = out.view(np.uint32)
        np.copyto(bits, raw, casting="safe")
        bits <<= 16
    else:
        np.copyto(out, raw, casting="same_kind")
    return out


def bf16_to_float32(words: np.ndarray) -> np.ndarray:
    """bfloat16 bit patterns (uint16) -> float32: bf16 is the top half of a float32."""
    return to_float32(np.asarray(words, np.uint16), "BF16")


class MappedWeights:
    """The safetensors files of one model, memory-mapped read-only: a tensor's bytes are read
    (by the operating system, page by page) only when something uses them.

    The files must not be rewritten while mapped; a file that is shorter than its header says
    is refused when a tensor in the missing part is first asked for.
    """

    def __init__(self, files: WeightFiles) -> None:
        self._maps: dict[Path, mmap.mmap] = {}
        for path in files.files:
            try:
                with path.open("rb") as f:
                    self._maps[path] = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError) as exc:
                raise ModelError(f"cannot map {path.name}: {exc} ({path})", path) from None

    def raw(self, t: TensorInfo) -> np.ndarray:
        """The tensor's stored values, read-only, in the file's dtype (bf16 as uint16 words)."""
        if t.dtype not in RAW_DTYPES:
            raise ModelError(
                f"tensor {t.name!r} in {t.file.name} is {t.dtype}; attnviz reads float weights "
                "(F32, F16, BF16, F64) only, not quantised ones",
                t.file,
            )
        mm = self._maps[t.file]
        if t.begin + t.nbytes > len(mm):
            raise ModelError(
                f"{t.file.name} is truncated inside tensor {t.name!r}: it was cut short after "
                f"loading began ({t.file})",
                t.file,
            )
        return np.frombuffer(mm, RAW_DTYPES[t.dtype], t.size, t.begin).reshape(t.shape)

    def float32(self, t: TensorInfo, out: np.ndarray | None = None) -> np.ndarray:
        """The tensor as float32: a converted copy (into ``out`` when given), or, for an F32
        tensor without ``out``, the read-only mapped array itself (no copy)."""
        raw = self.raw(t)
        if out is None and t.dtype == "F32":
            return raw
        return to_float32(raw, t.dtype, out)

    def release(self, infos: Iterable[TensorInfo]) -> None:
        """Tell the system these tensors' mapped pages are not needed now (after converting
        them): they leave this process's resident memory and stay in the page cache."""
        if not hasattr(mmap.mmap, "madvise") or not hasattr(mmap, "MADV_DONTNEED"):
            return
        page = mmap.PAGESIZE
        for t in infos:
            if t.dtype == "F32" or not t.nbytes:  # F32 tensors are used in place
                continue
            start = t.begin // page * page
            end = min(-(-(t.begin + t.nbytes) // page) * page, len(self._maps[t.file]))
            with contextlib.suppress(OSError, ValueError):
                self._maps[t.file].madvise(mmap.MADV_DONTNEED, start, end - start)


class Rows:
    """A mapped table (an embedding) whose rows become float32 only as they are looked up:
    ``rows[ids]``, ``rows[:n]`` and ``rows[i]`` give float32 copies."""

    def __init__(self, mapped: MappedWeights, info: TensorInfo) -> None:
        self.info = info
        self._raw = mapped.raw(info)
        self.shape = info.shape

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: object) -> np.ndarray:
        return to_float32(np.asarray(self._raw[index]), self.info.dtype)


class Tensors(Mapping[str, np.ndarray]):
    """What a family's ``bind_shared`` and ``bind_layer`` read: float32 tensors by unprefixed
    name, converted from the mapped files when asked for (F32 ones handed over in place, read-
    only). Remembers which it handed out, so that their mapped pages can be released."""

    def __init__(self, mapped: MappedWeights, infos: Mapping[str, TensorInfo]) -> None:
        self.mapped = mapped
        self.infos = infos
        self.used: dict[str, TensorInfo] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        return self.mapped.float32(self._info(name))

    def __iter__(self) -> Iterator[str]:
        return iter(self.infos)

    def __len__(self) -> int:
        return len(self.infos)

    def _info(self, name: str) -> TensorInfo:
        t = self.infos[name]
        self.used[name] = t
        return t

    def concat(self, names: Iterable[str]) -> np.ndarray:
        """The named tensors joined along their first axis, converted straight into one float32
        array (no float32 copy of each first)."""
        infos = [self._info(n) for n in names]
        rest = infos[0].shape[1:]
        if any(t.shape[1:] != rest for t in infos):
            raise ValueError(f"cannot join shapes {[t.shape for t in infos]} along axis 0")
        out = np.empty((sum(t.shape[0] for t in infos), *rest), np.float32)
        row = 0
        for t in infos:
            self.mapped.float32(t, out[row : row + t.shape[0]])
            row += t.shape[0]
        return out

    def rows(self, name: str) -> Rows:
        """A table read row by row as it is indexed (embeddings: only the tokens' rows)."""
        return Rows(self.mapped, self._info(name))


def owned_bytes(bound: Mapping[str, object]) -> int:
    """Bytes of memory a family's bound tensors hold of their own: arrays (or lists of arrays)
    not backed by a mapped file, each underlying buffer counted once."""
    seen: dict[int, int] = {}
    for value in bound.values():
        for a in value if isinstance(value, list | tuple) else (value,):
            if not isinstance(a, np.ndarray):
                continue
            root = a
            while isinstance(root.base, np.ndarray):
                root = root.base
            if isinstance(root.base, memoryview) and isinstance(root.base.obj, mmap.mmap):
                continue
            seen[id(root)] = root.nbytes
    return sum(seen.values())


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

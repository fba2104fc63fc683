"""Writing files safely, and the data formats (CSV, NPZ, JSON)."""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from attnviz.export.formats import ExportError, format_for

__all__ = ["safe_write", "write_data"]


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied (choose a folder you can write to)"
    if exc.errno == errno.ENOENT:
        return "the folder does not exist"
    if exc.errno == errno.EISDIR:
        return "that is a folder, not a file"
    return exc.strerror or str(exc)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def safe_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place.

    On any failure the temporary file is removed, ``path`` is untouched, and an ExportError
    says why. Returns the final path.
    """
    target = Path(path).expanduser()
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise ExportError(f"cannot write {str(target)!r}: that is a folder, not a file")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise ExportError(f"cannot write {str(target)!r}: {_reason(exc)}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        if tmp.stat().st_size == 0:
            raise ExportError(f"nothing was written for {str(target)!r}")
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; a figure is not
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ExportError(f"cannot write {str(target)!r}: {_reason(exc)}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return target


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            # JSON has no infinity: a masked score (-inf) is written as null.
            return (
                [_jsonable(v) for v in value]
                if value.ndim > 1
                else [None if not np.isfinite(v) else float(v) for v in value]
            )
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _primary_matrix(data: dict[str, Any]) -> tuple[str, np.ndarray]:
    for name, value in data.items():
        if isinstance(value, np.ndarray) and value.ndim == 2:
            return name, value
    for name, value in data.items():
        if isinstance(value, np.ndarray) and value.ndim == 1:
            return name, value[:, None]
    raise ExportError("this panel has no table of numbers to write as CSV; try NPZ or JSON")


def _labels(data: dict[str, Any], key: str, n: int) -> list[str] | None:
    labels = data.get(key)
    if labels is not None and len(labels) == n:
        return [str(x) for x in labels]
    return None


def _csv_text(data: dict[str, Any]) -> str:
    """The panel's main matrix, with row and column labels when the data names them."""
    name, m = _primary_matrix(data)
    rows = _labels(data, f"{name}_rows", m.shape[0]) or _labels(data, "tokens", m.shape[0])
    cols = _labels(data, f"{name}_cols", m.shape[1]) or _labels(data, "tokens", m.shape[1])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([name, *(cols or [str(j) for j in range(m.shape[1])])])
    for i in range(m.shape[0]):
        label = rows[i] if rows else str(i)
        w.writerow([label, *(repr(float(x)) if np.isfinite(x) else str(x) for x in m[i])])
    return buf.getvalue()


def write_data(data: dict[str, Any], path: str | Path, fmt: str | None = None) -> Path:
    """Write a panel's numbers (``Panel.export_data()``) as CSV, NPZ or JSON."""
    if not data:
        raise ExportError("this panel shows no numbers to export")
    f = format_for(path, fmt, kind="data")
    if f.name == "csv":
        text = _csv_text(data)
        return safe_write(path, lambda p: p.write_text(text, encoding="utf-8"))
    if f.name == "json":
        text = json.dumps({k: _jsonable(v) for k, v in data.items()}, ensure_ascii=False, indent=1)
        return safe_write(path, lambda p: p.write_text(text + "\n", encoding="utf-8"))
    arrays = {k: (np.asarray(v) if not isinstance(v, np.ndarray) else v) for k, v in data.items()}
    for k, v in arrays.items():
        if v.dtype == object:
            raise ExportError(f"{k} cannot be stored without pickling; it must be numbers or text")

    def write_npz(p: Path) -> None:
        with open(p, "wb") as fh:  # np.savez on a path would append ".npz" to the temp name
            np.savez_compressed(fh, **arrays)

    return safe_write(path, write_npz)

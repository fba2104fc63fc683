"""Finding model folders already on this machine: the local Hugging Face cache and folders the
user names. Only reads config.json, tokenizer file names and safetensors headers; never
downloads, never reads tensor data, never opens pickles.

The cache's layout (huggingface_hub): ``<cache>/models--<org>--<name>/snapshots/<revision>/``
holds one folder per downloaded revision (files are links into ``blobs/``), and
``refs/main`` names the revision ``main`` pointed to when it was last fetched.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from attnviz.models.errors import ModelError
from attnviz.models.model import _count, display_name, inspect

__all__ = ["ModelEntry", "discover", "hf_cache_dir"]


@dataclass(frozen=True)
class ModelEntry:
    """One model folder found on disk, and whether attnviz can run it (``reason`` says why)."""

    name: str  # "org/name" for the Hugging Face cache, else the folder's name
    path: Path  # what to pass to attnviz.models.load
    compatible: bool
    reason: str  # what it is ("BertModel, 6 layers × 12 heads, …") or why it cannot run
    family: str | None = None  # "bert", "gpt2", "llama" when compatible
    architecture: str | None = None
    revision: str | None = None  # cache snapshot's commit hash
    current: bool = True  # False for a cache snapshot that refs/main no longer points to
    weights_bytes: int = 0
    parameters: int = 0  # in the tensors the forward pass reads

    @property
    def label(self) -> str:
        """What a picker shows: "org/name · 22.7 M parameters, 91 MB" (the name alone when the
        folder cannot be run)."""
        if not self.compatible:
            return self.name
        mb = self.weights_bytes / 1e6
        size = f"{mb / 1e3:.1f} GB" if mb >= 1e3 else f"{mb:.0f} MB" if mb >= 1 else "<1 MB"
        return f"{self.name} · {_count(self.parameters)} parameters, {size}"


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache, found as huggingface_hub finds it (no import of it)."""
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        v = os.environ.get(var)
        if v:
            return Path(v).expanduser()
    home = os.environ.get("HF_HOME")
    if home:
        return Path(home).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def _entry(folder: Path, revision: str | None = None, current: bool = True) -> ModelEntry:
    try:
        spec = inspect(folder)
    except (ModelError, OSError) as exc:
        name = display_name(folder)
        return ModelEntry(name, folder, False, str(exc), revision=revision, current=current)
    name = display_name(folder, spec.config)  # the name it was saved under, where it says one
    a = spec.arch
    kv = f" ({a.kv_heads} KV heads)" if a.kv_heads != a.heads else ""
    reason = (
        f"{a.architecture}: {a.layers} layers × {a.heads} heads{kv}, d={a.hidden_size}, "
        f"{spec.dtype}, up to {a.max_positions} tokens; tokenizer {spec.tokenizer}"
    )
    return ModelEntry(
        name, folder, True, reason, family=a.family, architecture=a.architecture,
        revision=revision, current=current, weights_bytes=spec.weights.nbytes,
        parameters=sum(t.size for t in spec.tensors.values()),
    )  # fmt: skip


def _from_cache(cache: Path) -> list[ModelEntry]:
    out = []
    for repo in sorted(cache.glob("models--*")):
        snaps = repo / "snapshots"
        if not snaps.is_dir():
            continue
        try:
            main = (repo / "refs" / "main").read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            main = None
        for snap in sorted(p for p in snaps.iterdir() if p.is_dir()):
            out.append(_entry(snap, snap.name, main is None or snap.name == main))
    return out


def _from_folder(root: Path) -> list[ModelEntry]:
    if (root / "config.json").is_file():
        return [_entry(root)]
    if any(root.glob("models--*")):
        return _from_cache(root)
    return [
        _entry(sub)
        for sub in sorted(p for p in root.iterdir() if p.is_dir())
        if (sub / "config.json").is_file()
    ]


def discover(
    extra_dirs: Iterable[str | os.PathLike[str]] = (), *, include_cache: bool = True
) -> list[ModelEntry]:
    """Model folders on this machine, each with whether attnviz can run it and why.

    Parameters
    ----------
    extra_dirs : folders to search besides the cache: a model folder itself, a folder of
        model folders (one level down), or another hub cache.
    include_cache : also search the Hugging Face cache (:func:`hf_cache_dir`).

    Folders that do not exist are skipped. Compatible entries come first.
    """
    roots = [(hf_cache_dir(), _from_cache)] if include_cache else []
    roots += [(Path(d).expanduser(), _from_folder) for d in extra_dirs]
    seen: set[Path] = set()
    found: list[ModelEntry] = []
    for root, scan in roots:
        if not root.is_dir():
            continue
        for e in scan(root):
            key = e.path.resolve()
            if key not in seen:
                seen.add(key)
                found.append(e)
    return sorted(found, key=lambda e: (not e.compatible, not e.current, e.name.lower()))

"""config.json, read with checks: every value the forward pass uses is looked up here, with
transformers' default when the key is absent, and a message naming the file and the key when it
is missing or of the wrong type."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from attnviz.models.errors import ModelError

__all__ = ["CONFIG_FILE", "Config", "read_config"]

CONFIG_FILE = "config.json"
_MISSING: Any = object()


class Config:
    """A model's config.json, with typed and checked look-ups."""

    def __init__(self, doc: dict[str, Any], path: Path) -> None:
        self.doc = doc
        self.path = path

    def error(self, problem: str) -> ModelError:
        return ModelError(f"{self.path.name}: {problem} ({self.path})", self.path)

    def raw(self, *keys: str, default: Any = _MISSING) -> Any:
        """The first of ``keys`` that is present and not null, else ``default``."""
        for k in keys:
            v = self.doc.get(k)
            if v is not None:
                return v
        if default is _MISSING:
            raise self.error(f"lacks {' or '.join(repr(k) for k in keys)}")
        return default

    def int(self, *keys: str, default: Any = _MISSING, minimum: int = 1) -> Any:
        v = self.raw(*keys, default=default)
        if v is None:  # only when the caller's default is None
            return v
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            raise self.error(f"{keys[0]!r} must be an integer >= {minimum}, got {v!r}")
        return v

    def float(self, *keys: str, default: Any = _MISSING) -> float:
        v = self.raw(*keys, default=default)
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise self.error(f"{keys[0]!r} must be a finite number, got {v!r}")
        return float(v)

    def bool(self, *keys: str, default: Any = _MISSING) -> bool:
        v = self.raw(*keys, default=default)
        if not isinstance(v, bool):
            raise self.error(f"{keys[0]!r} must be true or false, got {v!r}")
        return v

    def str(self, *keys: str, default: Any = _MISSING) -> str:
        v = self.raw(*keys, default=default)
        if not isinstance(v, str):
            raise self.error(f"{keys[0]!r} must be a string, got {v!r}")
        return v

    @property
    def model_type(self) -> str:
        v = self.doc.get("model_type")
        return v if isinstance(v, str) else ""

    @property
    def architecture(self) -> str:
        """The first of ``architectures`` (e.g. "BertForMaskedLM"), else the model type."""
        arch = self.doc.get("architectures")
        if isinstance(arch, list) and arch and isinstance(arch[0], str):
            return arch[0]
        return self.model_type


# Image-and-text checkpoints whose text model attnviz runs: model_type -> its text model's type.
TEXT_MODELS = {"gemma3": "gemma3_text"}


def text_model(config: Config) -> Config:
    """An image-and-text checkpoint's language model (its ``text_config``), named after the
    whole ("Gemma3ForConditionalGeneration"); any other config as it is. Text alone runs
    through the language model exactly as through the text-only checkpoint."""
    inner = TEXT_MODELS.get(config.model_type)
    if inner is None:
        return config
    sub = config.doc.get("text_config")
    if not isinstance(sub, dict):
        raise config.error(f"model_type {config.model_type!r} needs a text_config object")
    doc = {**sub, "model_type": inner, "architectures": [config.architecture]}
    return Config(doc, config.path)


def read_config(folder: Path) -> Config:
    """Parse ``folder/config.json``; a missing or malformed file raises ModelError."""
    path = folder / CONFIG_FILE
    if not path.is_file():
        raise ModelError(f"{CONFIG_FILE} is missing from {folder}", path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{CONFIG_FILE} is not valid JSON: {exc} ({path})", path) from None
    except OSError as exc:
        raise ModelError(f"cannot read {CONFIG_FILE}: {exc} ({path})", path) from None
    if not isinstance(doc, dict):
        raise ModelError(f"{CONFIG_FILE} does not hold a JSON object ({path})", path)
    return Config(doc, path)

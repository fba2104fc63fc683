"""Saved scenes: a ``.attnviz`` file holds everything needed to show a scene again.

The file is UTF-8 JSON with a format name and a schema version::

    {"format": "attnviz-scene", "version": 1, "scene": "cat", "text": "…",
     "model_path": null, "attention_path": null, "layer": 0, "head": 2, …,
     "view_params": {"kv_cache": {"seq_len": 4096, …}, …}, "layout": "<base64>"}

Opening never trusts the file: :func:`load_scene` reads only a regular file of bounded size and
checks the structure (format, version, types, paths); :func:`apply_scene` replays the scene on a
fresh :class:`Session`, whose own checks decide which values are acceptable — the reader has no
limits of its own, so a scene that can be saved can be reopened — and only then hands the result
to the open session in one update. Whatever is wrong raises :class:`SceneFileError` (a
``ValueError``) with a message for the user, and the open session is left exactly as it was.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import math
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from attnviz.export import ExportError, safe_write
from attnviz.lessons.scenes import get_scene
from attnviz.state.session import MAX_EDITS, MAX_LOGITS, MAX_TEXT_CHARS, Session

__all__ = [
    "FORMAT",
    "SCENE_SUFFIX",
    "SCHEMA_VERSION",
    "SceneFile",
    "SceneFileError",
    "apply_scene",
    "load_scene",
    "save_scene",
    "scene_from_session",
]

FORMAT = "attnviz-scene"
SCHEMA_VERSION = 1
SCENE_SUFFIX = ".attnviz"
MAX_FILE_BYTES = 4 * 2**20  # a scene is a few kB; the window layout a few more
MAX_LAYOUT_BYTES = 2**20


class SceneFileError(ValueError):
    """A scene file that cannot be opened or saved; the message says why."""


@dataclass(frozen=True)
class SceneFile:
    """The contents of a ``.attnviz`` file, checked for shape but not yet applied."""

    scene: str = "cat"
    text: str = ""
    model_path: str | None = None
    attention_path: str | None = None
    layer: int = 0
    head: int = 0
    selected_token: int = 0
    temperature: float = 1.0
    causal: bool = False
    window: int | None = None
    hide_special: bool = False
    text_b: str = ""  # an encoder–decoder's target (files before it have none)
    stack: str = "encoder"
    logits: tuple[float, ...] = ()
    edits: tuple[tuple[str, int, int, int, float], ...] = ()
    view_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    layout: bytes = b""
    version: int = SCHEMA_VERSION


def scene_from_session(session: Session, layout: bytes = b"") -> SceneFile:
    """What :func:`save_scene` would write for ``session``."""
    params = {
        pid: {f.name: getattr(p, f.name) for f in dataclasses.fields(p)}
        for pid, p in session.view_params.items()
    }
    return SceneFile(
        scene=session.scene,
        text=session.text,
        model_path=session.model_path,
        attention_path=session.attention_path,
        layer=session.layer,
        head=session.head,
        selected_token=session.selected_token,
        temperature=session.temperature,
        causal=session.causal,
        window=session.window,
        hide_special=session.hide_special,
        text_b=session.text_b,
        stack=session.stack,
        logits=tuple(session.logits),
        edits=tuple(session.edits),
        view_params=params,
        layout=bytes(layout),
    )


def _to_json(sf: SceneFile) -> str:
    doc: dict[str, Any] = {"format": FORMAT, "version": SCHEMA_VERSION}
    for f in dataclasses.fields(sf):
        if f.name == "version":
            continue
        value = getattr(sf, f.name)
        if f.name == "layout":
            value = base64.b64encode(value).decode("ascii")
        elif f.name in ("logits", "edits"):
            value = [list(e) if isinstance(e, tuple) else e for e in value]
        doc[f.name] = value
    return json.dumps(doc, ensure_ascii=False, indent=1, allow_nan=False) + "\n"


def save_scene(session: Session, path: str | os.PathLike[str], layout: bytes = b"") -> Path:
    """Write ``session`` (and the window ``layout``, from ``saveState``) to ``path``.

    Written to a temporary file and renamed into place: a failed save leaves any earlier file
    whole. Raises SceneFileError with the reason when the file cannot be written.
    """
    text = _to_json(scene_from_session(session, layout))
    try:
        return safe_write(path, lambda p: p.write_text(text, encoding="utf-8"))
    except ExportError as exc:
        raise SceneFileError(str(exc)) from None


# -- reading ---------------------------------------------------------------------------------
def _refuse_constant(name: str) -> Any:
    raise SceneFileError(f"the file holds {name}, which is not a number a scene can use")


def _str(doc: dict[str, Any], key: str, limit: int = MAX_TEXT_CHARS) -> str:
    value = doc.get(key)
    if not isinstance(value, str):
        raise SceneFileError(f"“{key}” must be text, got {_kind(value)}")
    if len(value) > limit:
        raise SceneFileError(f"“{key}” is too long ({len(value):,} characters; at most {limit:,})")
    return value


def _int(doc: dict[str, Any], key: str, *, optional: bool = False) -> int | None:
    value = doc.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise SceneFileError(f"“{key}” must be a whole number, got {_kind(value)}")
    return value


def _float(value: Any, key: str) -> float:
    """A number as a float; its range is the session's to judge (apply_scene)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SceneFileError(f"“{key}” must be a number, got {_kind(value)}")
    try:
        value = float(value)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise SceneFileError(f"“{key}” is out of range ({_short(value)})")
    return value


def _bool(doc: dict[str, Any], key: str) -> bool:
    value = doc.get(key)
    if not isinstance(value, bool):
        raise SceneFileError(f"“{key}” must be true or false, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {_short(value)}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "…"


def _allowed_roots() -> tuple[Path, ...]:
    roots = [Path.home(), Path("/tmp")]
    return tuple(dict.fromkeys(roots))


def _safe_path(doc: dict[str, Any], key: str) -> str | None:
    """A model or attention path from the file: absolute, no ``..``, under home or /tmp."""
    value = doc.get(key)
    if value is None:
        return None
    value = _str(doc, key, 4096)
    p = Path(value)
    if "\x00" in value or not p.is_absolute():
        raise SceneFileError(f"“{key}” must be an absolute path, got {_short(value)}")
    if ".." in p.parts:
        raise SceneFileError(f"“{key}” may not contain “..”: {_short(value)}")
    roots = _allowed_roots()
    try:
        real = p.resolve()
    except (OSError, RuntimeError):
        real = p
    for candidate in (p, real):
        if not any(candidate == r or candidate.is_relative_to(r) for r in roots):
            where = " or ".join(str(r) for r in roots)
            raise SceneFileError(
                f"“{key}” points outside your folders ({value}); a scene file may only name "
                f"models and attention files under {where}"
            )
    return value


def _params(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    raw = doc.get("view_params", {})
    if not isinstance(raw, dict):
        raise SceneFileError(f"“view_params” must be an object, got {_kind(raw)}")
    out: dict[str, dict[str, Any]] = {}
    for pid, fields_ in raw.items():
        if not isinstance(fields_, dict):
            raise SceneFileError(f"“view_params.{pid}” must be an object, got {_kind(fields_)}")
        clean: dict[str, Any] = {}
        for name, value in fields_.items():
            key = f"view_params.{pid}.{name}"
            if isinstance(value, bool) or value is None:
                clean[name] = value
            elif isinstance(value, int | float):
                clean[name] = _int(fields_, name) if isinstance(value, int) else _float(value, key)
            elif isinstance(value, str):
                clean[name] = _str(fields_, name)
            else:
                raise SceneFileError(f"“{key}” must be a number, text or true/false")
        out[pid] = clean
    return out


def _layout(doc: dict[str, Any]) -> bytes:
    text = _str(doc, "layout", 4 * MAX_LAYOUT_BYTES // 3 + 4) if "layout" in doc else ""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise SceneFileError("“layout” is not valid base64 (the file may be damaged)") from None


def _edits(doc: dict[str, Any]) -> tuple[tuple[str, int, int, int, float], ...]:
    raw = doc.get("edits", [])
    if not isinstance(raw, list) or len(raw) > MAX_EDITS:
        raise SceneFileError("“edits” must be a list of [matrix, head, row, col, value]")
    out = []
    for e in raw:
        if not (isinstance(e, list) and len(e) == 5 and isinstance(e[0], str)):
            raise SceneFileError(
                f"an edit must be [matrix, head, row, col, value], got {_short(e)}"
            )
        nums = {str(i): v for i, v in enumerate(e[1:4])}
        head, row, col = (_int(nums, k) for k in ("0", "1", "2"))
        out.append((e[0], head, row, col, _float(e[4], "edits value")))
    return tuple(out)  # type: ignore[return-value]


def parse_scene(text: str, name: str = "scene file") -> SceneFile:
    """A SceneFile from the text of a ``.attnviz`` file; SceneFileError when it is not one."""
    try:
        doc = json.loads(text, parse_constant=_refuse_constant)
    except SceneFileError as exc:
        raise SceneFileError(f"{name}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise SceneFileError(
            f"{name} is not a complete attnviz scene (damaged, cut short or not JSON: "
            f"{exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise SceneFileError(f"{name} cannot be read as a scene: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SceneFileError(f"{name} is not an attnviz scene file")
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise SceneFileError(f"{name}: the schema version must be a whole number")
    if version > SCHEMA_VERSION:
        raise SceneFileError(
            f"{name} was saved by a newer attnviz (scene format {version}; this version reads "
            f"format {SCHEMA_VERSION}): update attnviz to open it"
        )
    if version < 1:
        raise SceneFileError(f"{name}: unknown scene format version {version}")
    try:
        logits = doc.get("logits", [])
        if not isinstance(logits, list) or len(logits) > MAX_LOGITS:
            raise SceneFileError("“logits” must be a list of numbers")
        window = _int(doc, "window", optional=True)
        sf = SceneFile(
            version=version,
            scene=_str(doc, "scene", 100),
            text=_str(doc, "text"),
            model_path=_safe_path(doc, "model_path"),
            attention_path=_safe_path(doc, "attention_path"),
            layer=_int(doc, "layer"),  # type: ignore[arg-type]
            head=_int(doc, "head"),  # type: ignore[arg-type]
            selected_token=_int(doc, "selected_token"),  # type: ignore[arg-type]
            temperature=_float(doc.get("temperature"), "temperature"),
            causal=_bool(doc, "causal"),
            window=window,
            hide_special=_bool(doc, "hide_special"),
            text_b=_str({"text_b": "", **doc}, "text_b"),
            stack=_str({"stack": "encoder", **doc}, "stack", 20),
            logits=tuple(_float(v, "logits") for v in logits),
            edits=_edits(doc),
            view_params=_params(doc),
            layout=_layout(doc),
        )
    except SceneFileError as exc:
        raise SceneFileError(f"{name}: {exc}") from None
    if sf.model_path is not None and not Path(sf.model_path).is_dir():
        raise SceneFileError(f"{name}: the model folder {sf.model_path} is missing")
    if sf.attention_path is not None and not Path(sf.attention_path).is_file():
        raise SceneFileError(f"{name}: the saved-attention file {sf.attention_path} is missing")
    return sf


def _read_bounded(p: Path) -> bytes:
    """The bytes of ``p`` if it is a regular file of at most MAX_FILE_BYTES; SceneFileError else.

    Opened without blocking (a FIFO would wait for a writer forever) and checked on the open
    descriptor, so a file swapped after the check is still caught; read with a bound either way.
    """
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise SceneFileError(f"cannot read {p}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SceneFileError(f"{p} is not a regular file (a device, pipe or folder)")
        if st.st_size > MAX_FILE_BYTES:
            raise SceneFileError(
                f"{p.name} is too large for a scene file ({st.st_size:,} bytes; at most "
                f"{MAX_FILE_BYTES:,})"
            )
        with os.fdopen(os.dup(fd), "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise SceneFileError(f"cannot read {p}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_FILE_BYTES:
        raise SceneFileError(f"{p.name} grew past {MAX_FILE_BYTES:,} bytes while it was read")
    return raw


def load_scene(path: str | os.PathLike[str]) -> SceneFile:
    """Read and check a ``.attnviz`` file (not yet applied); SceneFileError says what is wrong."""
    p = Path(path).expanduser()
    raw = _read_bounded(p)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SceneFileError(f"{p.name} is not an attnviz scene file (not UTF-8 text)") from None
    return parse_scene(text, p.name)


def _replay(session: Session, sf: SceneFile) -> None:
    """Assign the scene's fields to ``session`` in an order the session accepts."""
    session.scene = sf.scene
    if sf.attention_path is not None:
        session.attention_path = sf.attention_path
    else:
        if sf.model_path is not None:
            session.model_path = sf.model_path
        # A fixed example shows its own tokens whatever text the file holds (files saved
        # before qkv4 had a text of its own kept the last typed text there).
        own_text = sf.model_path is None and not get_scene(sf.scene).editable_text
        if sf.text != session.text and not own_text:
            session.text = sf.text
        session.hide_special = sf.hide_special
        session.text_b = sf.text_b
        session.stack = sf.stack
        session.temperature = sf.temperature
        session.causal = sf.causal
        if sf.logits:
            session.logits = sf.logits
        session.edits = sf.edits
    session.window = sf.window
    session.layer = sf.layer
    session.head = sf.head
    session.selected_token = sf.selected_token
    for pid, values in sf.view_params.items():
        params = session.view_params.get(pid)
        if params is None:
            raise ValueError(f"there is no panel setting group {pid!r}")
        names = {f.name for f in dataclasses.fields(params)}
        for name, value in values.items():
            if name not in names:
                raise ValueError(f"{pid} has no setting {name!r}")
            try:
                setattr(params, name, value)
            except ValueError as exc:
                raise ValueError(f"{pid}.{name}: {exc}") from None


def apply_scene(session: Session, sf: SceneFile) -> None:
    """Make ``session`` show the scene ``sf``; all or nothing.

    The scene is replayed on a fresh Session, where the session's own checks refuse anything it
    would not accept (SceneFileError, and ``session`` untouched); ``session`` then adopts the
    result in one update.
    """
    fresh = Session(backend=session.backend)
    try:
        _replay(fresh, sf)
    except ValueError as exc:
        raise SceneFileError(f"the scene cannot be shown: {exc}") from None
    session.adopt(fresh)

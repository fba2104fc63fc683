"""Make Qt's SVG output draw the same in every program.

Qt writes a hairline ("cosmetic") pen inside a scaled group as a stroke with
``vector-effect="non-scaling-stroke"``. Browsers honour that; librsvg, Inkscape and the slide
programs lecturers paste into often do not, and there a 2-pixel line in a plot scaled by
(528, 74) becomes a band hundreds of pixels wide. This module bakes the group's transform into
the coordinates of such strokes, so the line has the right place and width everywhere.
pyqtgraph's own SVG exporter does the same (its ``correctCoordinates``), but fails on
PySide6 >= 6.11, whose path data contains ``Z``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

__all__ = ["bake_cosmetic_strokes"]

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
NON_SCALING = "non-scaling-stroke"
_MATRIX = re.compile(r"^\s*matrix\(([^)]*)\)\s*$")
_NUMBER = r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_PATH_TOKEN = re.compile(rf"[A-Za-z]|{_NUMBER}")

Matrix = tuple[float, float, float, float, float, float]


def _matrix(transform: str | None) -> Matrix | None:
    m = _MATRIX.match(transform or "")
    if m is None:
        return None
    parts = [float(x) for x in re.split(r"[\s,]+", m.group(1).strip())]
    return tuple(parts) if len(parts) == 6 else None  # type: ignore[return-value]


def _apply(m: Matrix, x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f = m
    return a * x + c * y + e, b * x + d * y + f


def _fmt(v: float) -> str:
    return f"{v:.4f}".rstrip("0").rstrip(".")


def _points(m: Matrix, text: str) -> str | None:
    nums = [float(v) for v in re.findall(_NUMBER, text)]
    if len(nums) % 2:
        return None
    pts = (_apply(m, nums[i], nums[i + 1]) for i in range(0, len(nums), 2))
    return " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in pts)


def _path(m: Matrix, d: str) -> str | None:
    out: list[str] = []
    pending: list[float] = []
    for tok in _PATH_TOKEN.findall(d):
        if tok.isalpha():
            if tok not in "MLCQZ":  # relative or arc commands: leave the element alone
                return None
            if pending:
                return None
            out.append(tok)
            continue
        pending.append(float(tok))
        if len(pending) == 2:
            x, y = _apply(m, *pending)
            out.append(f"{_fmt(x)},{_fmt(y)}")
            pending = []
    return None if pending else " ".join(out)


def _bake(el: ET.Element, m: Matrix) -> bool:
    """Rewrite one stroke element's geometry in the parent's coordinates; False if it cannot."""
    tag = el.tag.removeprefix(f"{{{SVG_NS}}}")
    if tag in ("polyline", "polygon"):
        new = _points(m, el.get("points", ""))
        if new is None:
            return False
        el.set("points", new)
    elif tag == "path":
        new = _path(m, el.get("d", ""))
        if new is None:
            return False
        el.set("d", new)
    elif tag == "line":
        x1, y1 = _apply(m, float(el.get("x1", 0)), float(el.get("y1", 0)))
        x2, y2 = _apply(m, float(el.get("x2", 0)), float(el.get("y2", 0)))
        for k, v in (("x1", x1), ("y1", y1), ("x2", x2), ("y2", y2)):
            el.set(k, _fmt(v))
    elif tag == "rect" and m[1] == 0 and m[2] == 0:
        x, y = _apply(m, float(el.get("x", 0)), float(el.get("y", 0)))
        w, h = float(el.get("width", 0)) * m[0], float(el.get("height", 0)) * m[3]
        el.set("x", _fmt(min(x, x + w)))
        el.set("y", _fmt(min(y, y + h)))
        el.set("width", _fmt(abs(w)))
        el.set("height", _fmt(abs(h)))
    else:
        return False
    del el.attrib["vector-effect"]
    return True


def bake_cosmetic_strokes(svg: str) -> str:
    """Return ``svg`` with every non-scaling stroke drawn in its group's parent coordinates."""
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    root = ET.fromstring(svg)
    parent_of = {child: parent for parent in root.iter() for child in parent}
    for group in list(root.iter(f"{{{SVG_NS}}}g")):
        m = _matrix(group.get("transform"))
        if m is None:
            continue
        strokes = [c for c in group if c.get("vector-effect") == NON_SCALING]
        if not strokes:
            continue
        # A sibling group with the same style and no transform receives the baked strokes.
        flat = ET.Element(group.tag, {k: v for k, v in group.attrib.items() if k != "transform"})
        for child in strokes:
            if _bake(child, m):
                group.remove(child)
                flat.append(child)
        if len(flat):
            parent = parent_of.get(group, root)
            parent.insert(list(parent).index(group) + 1, flat)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)

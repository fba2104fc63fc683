"""Where attention's arrays live: the GPU's main memory (HBM) and its on-chip memory (SRAM).

A small QPainter picture, one row per path: boxes for the two memories and, inside them, a chip
per array with its size. The caller supplies the rows (labels and sizes); this widget only draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from PySide6 import QtCore, QtGui, QtWidgets

from attnviz.gui.theme import theme_manager

__all__ = ["Chip", "MemoryDiagram", "MemoryRow", "Text"]

HBM_SHARE = 0.64  # of the width: main memory holds six arrays, on-chip memory four


@dataclass(frozen=True)
class Chip:
    """One array: its name, its size as text, and whether it is the costly N×N kind."""

    label: str
    size: str
    costly: bool = False


@dataclass(frozen=True)
class MemoryRow:
    title: str  # "Standard attention"
    hbm: tuple[Chip, ...]
    sram: tuple[Chip, ...]
    traffic: str  # what crosses between the two, e.g. "S and P written and read back"


@dataclass(frozen=True)
class Text:
    """A text the diagram draws: where, how (bold, on a chip) and with which flags."""

    rect: QtCore.QRectF
    text: str
    bold: bool = False
    on_chip: QtGui.QColor | None = None  # the chip's colour when drawn on one
    flags: int = int(QtCore.Qt.AlignmentFlag.AlignLeft)


@dataclass
class _Plan:
    """Everything one paint draws, laid out for one size: shared by painting, the size hints
    and the tests, so what is measured is what is drawn."""

    boxes: list[QtCore.QRectF] = field(default_factory=list)
    chips: list[tuple[QtCore.QRectF, QtGui.QColor]] = field(default_factory=list)
    arrows: list[tuple[float, float, float]] = field(default_factory=list)  # x0, x1, y
    texts: list[Text] = field(default_factory=list)
    height: float = 0.0  # what the plan needs


MARGIN = 6
GAP = 34  # between the two memories, for the arrow
WRAP = int(QtCore.Qt.TextFlag.TextWordWrap)


class MemoryDiagram(QtWidgets.QWidget):
    """Rows of [HBM box] ⇄ [SRAM box], each box holding labelled chips.

    Texts wrap inside their boxes and the widget asks for the width its widest chip and word
    need and the height its wrapped texts need (in presenter type the chips' sizes, the
    traffic line and "on-chip" were cut at the box edges)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: tuple[MemoryRow, ...] = ()
        self.hbm_caption = "HBM (GPU main memory)"
        self.sram_caption = "SRAM (on-chip)"
        self.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding
        )
        theme_manager().changed.connect(self.update)

    def set_rows(self, rows: tuple[MemoryRow, ...], hbm_caption: str, sram_caption: str) -> None:
        self.rows, self.hbm_caption, self.sram_caption = rows, hbm_caption, sram_caption
        self.updateGeometry()
        self.update()

    # -- sizes -----------------------------------------------------------------------------
    def _fonts(self) -> tuple[QtGui.QFontMetricsF, QtGui.QFontMetricsF]:
        bold = QtGui.QFont(self.font())
        bold.setBold(True)
        return QtGui.QFontMetricsF(self.font()), QtGui.QFontMetricsF(bold)

    @staticmethod
    def _columns(width: float) -> tuple[float, float, float]:
        """(HBM box width, SRAM box left, SRAM box width) at ``width``."""
        hbm_w = int((width - 3 * MARGIN) * HBM_SHARE)
        sram_x = MARGIN + hbm_w + GAP
        return hbm_w, sram_x, width - sram_x - MARGIN

    def _least_width(self) -> int:
        """The width at which the widest chip and the longest word of each column fit."""
        fm, fb = self._fonts()

        def words(text: str, metrics: QtGui.QFontMetricsF) -> float:
            return max((metrics.horizontalAdvance(w) for w in text.split()), default=0.0)

        hbm = max(words(self.hbm_caption, fb), 120.0)
        sram = max(words(self.sram_caption, fb), 60.0)
        for row in self.rows:
            hbm = max(hbm, fb.horizontalAdvance(row.title) + 12, words(row.traffic, fm) + 16)
            hbm = max([hbm] + [self._chip_width(fm, c) + 16 for c in row.hbm])
            sram = max([sram] + [self._chip_width(fm, c) + 16 for c in row.sram])
        need = max(hbm / HBM_SHARE + 3 * MARGIN, (sram + GAP + 2 * MARGIN) / (1 - HBM_SHARE))
        return math.ceil(need) + 2

    def sizeHint(self) -> QtCore.QSize:
        width = max(520, self._least_width())
        return QtCore.QSize(width, self.heightForWidth(width))

    def minimumSizeHint(self) -> QtCore.QSize:
        # The height it needs at its least width, the most it can need: a layout that lays
        # it out narrower than it was measured at would otherwise cut its last row of chips.
        width = self._least_width()
        return QtCore.QSize(width, self.heightForWidth(width))

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        """Tall enough at ``width`` for the captions and, per row, its title, traffic line and
        every chip, wrapped as the paint wraps them."""
        return math.ceil(self._plan(width, 0).height)

    # -- layout ----------------------------------------------------------------------------
    @staticmethod
    def _chip_width(fm: QtGui.QFontMetricsF, chip: Chip) -> float:
        return max(fm.horizontalAdvance(chip.label), fm.horizontalAdvance(chip.size)) + 14

    @staticmethod
    def _wrapped(fm: QtGui.QFontMetricsF, text: str, width: float) -> float:
        """The height of ``text`` word-wrapped at ``width``."""
        rect = QtCore.QRectF(0, 0, max(1.0, width), 1e6)
        return fm.boundingRect(rect, WRAP, text).height()

    def _plan(self, width: float, height: float) -> _Plan:
        """Lay the diagram out at ``width``; rows share ``height`` (their least when 0)."""
        t = theme_manager().theme
        fm, fb = self._fonts()
        line = fm.height()
        plan = _Plan()
        hbm_w, sram_x, sram_w = self._columns(width)
        caption_h = max(self._wrapped(fb, self.hbm_caption, hbm_w),
                        self._wrapped(fb, self.sram_caption, sram_w))  # fmt: skip
        plan.texts.append(Text(QtCore.QRectF(MARGIN, 0, hbm_w, caption_h), self.hbm_caption,
                               bold=True, flags=WRAP))  # fmt: skip
        plan.texts.append(Text(QtCore.QRectF(sram_x, 0, sram_w, caption_h), self.sram_caption,
                               bold=True, flags=WRAP))  # fmt: skip
        top = caption_h + 6
        # Each row: its head (title, traffic beside or wrapped below), then the chips.
        heads, chip_rows = [], []
        for row in self.rows:
            title_w = fb.horizontalAdvance(row.title) + 12
            traffic = f"· {row.traffic}" if row.traffic else ""
            beside = title_w + fm.horizontalAdvance(traffic) <= hbm_w - 10
            below = 0.0 if beside or not traffic else self._wrapped(fm, traffic, hbm_w - 12)
            heads.append((title_w, traffic, beside, line + below))
            chip_rows.append(max(self._chip_rows(fm, row.hbm, hbm_w - 8),
                                 self._chip_rows(fm, row.sram, sram_w - 8)))  # fmt: skip
        chip_h = 2 * line + 6
        pairs = zip(heads, chip_rows, strict=True)
        least = [head[3] + 16 + n * (chip_h + 4) + MARGIN for head, n in pairs]
        plan.height = top + sum(least) + MARGIN
        spare = max(0.0, height - plan.height) / max(1, len(self.rows))
        costly, plain = QtGui.QColor(t.accent), QtGui.QColor(t.highlight)
        y = top
        for row, (title_w, traffic, beside, head), row_h in zip(self.rows, heads, least,
                                                                strict=True):  # fmt: skip
            box_h = row_h + spare - MARGIN
            plan.texts.append(Text(QtCore.QRectF(MARGIN + 6, y + 2, title_w, line), row.title,
                                   bold=True))  # fmt: skip
            if traffic:
                if beside:
                    rect = QtCore.QRectF(MARGIN + 6 + title_w, y + 2,
                                         hbm_w - title_w - 10, line)  # fmt: skip
                else:
                    rect = QtCore.QRectF(MARGIN + 6, y + 2 + line, hbm_w - 12, head - line)
                plan.texts.append(Text(rect, traffic, flags=WRAP))
            for x, bw, chips in ((MARGIN, hbm_w, row.hbm), (sram_x, sram_w, row.sram)):
                plan.boxes.append(QtCore.QRectF(x, y, bw, box_h))
                cx, cy = x + 4, y + head + 6
                for chip in chips:
                    cw = self._chip_width(fm, chip)
                    if cx + cw > x + bw - 4 and cx > x + 4:
                        cx, cy = x + 4, cy + chip_h + 4
                    colour = costly if chip.costly else plain
                    rect = QtCore.QRectF(cx, cy, cw, chip_h)
                    plan.chips.append((rect, colour))
                    centre = int(QtCore.Qt.AlignmentFlag.AlignHCenter)
                    plan.texts.append(Text(rect.adjusted(0, 2, 0, -line - 2), chip.label,
                                           on_chip=colour, flags=centre))  # fmt: skip
                    plan.texts.append(Text(rect.adjusted(0, line + 2, 0, 0), chip.size,
                                           on_chip=colour, flags=centre))  # fmt: skip
                    cx += cw + 4
            plan.arrows.append((MARGIN + hbm_w + 4, sram_x - 4, y + box_h / 2))
            y += row_h + spare
        return plan

    def texts(self) -> list[Text]:
        """What the diagram draws at its present size (for the tests: each must fit)."""
        return self._plan(self.width(), self.height()).texts

    @staticmethod
    def _chip_rows(fm: QtGui.QFontMetricsF, chips: tuple[Chip, ...], width: float) -> int:
        rows, x = 1, 0.0
        for chip in chips:
            cw = MemoryDiagram._chip_width(fm, chip)
            if x + cw > width and x > 0:
                rows, x = rows + 1, 0.0
            x += cw + 4
        return rows

    # -- painting --------------------------------------------------------------------------
    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        t = theme_manager().theme
        plan = self._plan(self.width(), self.height())
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QtGui.QColor(t.plot_background))
        fg = QtGui.QColor(t.plot_foreground)
        p.setPen(QtGui.QPen(fg, 1.2))
        p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        for box in plan.boxes:
            p.drawRoundedRect(box, 6, 6)
        p.setPen(QtCore.Qt.PenStyle.NoPen)
        for rect, colour in plan.chips:
            p.setBrush(colour)
            p.drawRoundedRect(rect, 4, 4)
        # What crosses between the two memories: a double arrow.
        p.setPen(QtGui.QPen(fg, 1.5))
        for x0, x1, y in plan.arrows:
            p.drawLine(QtCore.QPointF(x0, y), QtCore.QPointF(x1, y))
            for tip, sign in ((x0, 1), (x1, -1)):
                p.drawLine(QtCore.QPointF(tip, y), QtCore.QPointF(tip + 6 * sign, y - 4))
                p.drawLine(QtCore.QPointF(tip, y), QtCore.QPointF(tip + 6 * sign, y + 4))
        bold = QtGui.QFont(self.font())
        bold.setBold(True)
        for text in plan.texts:
            p.setFont(bold if text.bold else self.font())
            if text.on_chip is not None:
                light = text.on_chip.lightnessF() > 0.6
                p.setPen(QtGui.QColor("#000000" if light else "#ffffff"))
            else:
                p.setPen(fg)
            p.drawText(text.rect, text.flags, text.text)
        p.end()

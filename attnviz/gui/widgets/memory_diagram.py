"""Where attention's arrays live: the GPU's main memory (HBM) and its on-chip memory (SRAM).

A small QPainter picture, one row per path: boxes for the two memories and, inside them, a chip
per array with its size. The caller supplies the rows (labels and sizes); this widget only draws.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6 import QtCore, QtGui, QtWidgets

from attnviz.gui.theme import theme_manager

__all__ = ["Chip", "MemoryDiagram", "MemoryRow"]

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


class MemoryDiagram(QtWidgets.QWidget):
    """Rows of [HBM box] ⇄ [SRAM box], each box holding labelled chips."""

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
        self.update()

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(520, 260)

    def minimumSizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(320, self.heightForWidth(max(self.width(), 320)))

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        """Tall enough at ``width`` for the captions and, per row, its title (and traffic line)
        and every chip, wrapped as ``paintEvent`` wraps them."""
        fm = QtGui.QFontMetrics(self.font())
        line = fm.height()
        margin, gap = 6, 34
        hbm_w = int((width - 3 * margin) * HBM_SHARE)
        sram_w = width - (margin + hbm_w + gap) - margin
        need = 2 * line + 6 + margin
        for row in self.rows or (MemoryRow("", (), (), ""),):
            title_w = fm.horizontalAdvance(row.title) + 12
            beside = title_w + fm.horizontalAdvance(f"· {row.traffic}") <= hbm_w - 10
            head = line if beside or not row.traffic else 2 * line
            lines = max(
                self._chip_rows(fm, row.hbm, hbm_w - 8), self._chip_rows(fm, row.sram, sram_w - 8)
            )
            need += head + 16 + lines * (2 * line + 10) + margin
        return need

    @staticmethod
    def _chip_rows(fm: QtGui.QFontMetrics, chips: tuple[Chip, ...], width: float) -> int:
        rows, x = 1, 0.0
        for chip in chips:
            cw = max(fm.horizontalAdvance(chip.label), fm.horizontalAdvance(chip.size)) + 14
            if x + cw > width and x > 0:
                rows, x = rows + 1, 0.0
            x += cw + 4
        return rows

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        t = theme_manager().theme
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QtGui.QColor(t.plot_background))
        fg = QtGui.QColor(t.plot_foreground)
        fm = QtGui.QFontMetrics(self.font())
        line = fm.height()
        w, h = self.width(), self.height()
        margin = 6
        hbm_w = int((w - 3 * margin) * HBM_SHARE)
        gap = 34
        sram_x = margin + hbm_w + gap
        sram_w = w - sram_x - margin
        # Captions over the two columns.
        p.setPen(fg)
        bold = QtGui.QFont(self.font())
        bold.setBold(True)
        p.setFont(bold)
        wrap = int(QtCore.Qt.TextFlag.TextWordWrap)
        p.drawText(QtCore.QRect(margin, 0, hbm_w, 2 * line + 4), wrap, self.hbm_caption)
        p.drawText(QtCore.QRect(sram_x, 0, sram_w, 2 * line + 4), wrap, self.sram_caption)
        p.setFont(self.font())
        if not self.rows:
            p.end()
            return
        top = 2 * line + 6
        row_h = (h - top - margin) / len(self.rows)
        costly = QtGui.QColor(t.accent)
        plain = QtGui.QColor(t.highlight)
        for r, row in enumerate(self.rows):
            y = int(top + r * row_h)
            box_h = int(row_h - margin)
            p.setPen(fg)
            p.setFont(bold)
            title_w = fm.horizontalAdvance(row.title) + 12  # bold is a little wider
            p.drawText(QtCore.QRect(margin + 6, y + 2, hbm_w, line), 0, row.title)
            p.setFont(self.font())
            head = line  # the title's line, and the traffic's when it needs one of its own
            if row.traffic:  # what crosses to the other memory: beside the title, or below it
                traffic = f"· {row.traffic}"
                beside = title_w + fm.horizontalAdvance(traffic) <= hbm_w - 10
                x0, y0 = (margin + 6 + title_w, y + 2) if beside else (margin + 6, y + 2 + line)
                p.drawText(QtCore.QRectF(x0, y0, hbm_w - (x0 - margin) - 4, line),
                           int(QtCore.Qt.AlignmentFlag.AlignLeft), traffic)  # fmt: skip
                head = line if beside else 2 * line
            for x, bw, chips in ((margin, hbm_w, row.hbm), (sram_x, sram_w, row.sram)):
                p.setPen(QtGui.QPen(fg, 1.2))
                p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
                p.drawRoundedRect(QtCore.QRectF(x, y, bw, box_h), 6, 6)
                self._chips(p, chips, QtCore.QRectF(x + 4, y + head + 6, bw - 8,
                                                    box_h - head - 10), costly, plain)  # fmt: skip
            # The traffic between the two memories: a double arrow and what crosses it.
            mid_y = y + box_h / 2
            p.setPen(QtGui.QPen(fg, 1.5))
            x0, x1 = margin + hbm_w + 4, sram_x - 4
            p.drawLine(QtCore.QPointF(x0, mid_y), QtCore.QPointF(x1, mid_y))
            for tip, sign in ((x0, 1), (x1, -1)):
                p.drawLine(QtCore.QPointF(tip, mid_y), QtCore.QPointF(tip + 6 * sign, mid_y - 4))
                p.drawLine(QtCore.QPointF(tip, mid_y), QtCore.QPointF(tip + 6 * sign, mid_y + 4))
        p.end()

    def _chips(
        self,
        p: QtGui.QPainter,
        chips: tuple[Chip, ...],
        area: QtCore.QRectF,
        costly: QtGui.QColor,
        plain: QtGui.QColor,
    ) -> None:
        """Lay chips out left to right, wrapping; each shows its name over its size."""
        fm = QtGui.QFontMetrics(self.font())
        line = fm.height()
        chip_h = 2 * line + 6
        x, y = area.left(), area.top()
        for chip in chips:
            cw = max(fm.horizontalAdvance(chip.label), fm.horizontalAdvance(chip.size)) + 14
            if x + cw > area.right() and x > area.left():
                x, y = area.left(), y + chip_h + 4
            if y + chip_h > area.bottom() + 2:
                break  # no room: the box is too small to show more
            colour = costly if chip.costly else plain
            p.setPen(QtCore.Qt.PenStyle.NoPen)
            p.setBrush(colour)
            rect = QtCore.QRectF(x, y, cw, chip_h)
            p.drawRoundedRect(rect, 4, 4)
            light = colour.lightnessF() > 0.6
            p.setPen(QtGui.QColor("#000000" if light else "#ffffff"))
            p.drawText(
                rect.adjusted(0, 2, 0, -line - 2), int(QtCore.Qt.AlignmentFlag.AlignHCenter),
                chip.label,
            )  # fmt: skip
            p.drawText(
                rect.adjusted(0, line + 2, 0, 0), int(QtCore.Qt.AlignmentFlag.AlignHCenter),
                chip.size,
            )  # fmt: skip
            x += cw + 4

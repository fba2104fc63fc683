"""A grid that rearranges its widgets by the width it has: side by side when they fit at their
least widths, in fewer columns when they do not (more rows, scrolled down) — never squeezed.

At 1280 x 720 in presenter type, plots that sat side by side at 10 pt needed more than the
screen's width; squeezed, they were cut off, and scrolled sideways, half of them was off screen.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6 import QtWidgets

__all__ = ["ReflowGrid"]

Arrangement = Sequence[Sequence[QtWidgets.QWidget]]  # rows of widgets, left to right


def least_width(widget: QtWidgets.QWidget) -> int:
    """The width a layout never gives it less of (an explicit minimum replaces the hint)."""
    return widget.minimumWidth() or widget.minimumSizeHint().width()


class ReflowGrid(QtWidgets.QGridLayout):
    """A grid of the same widgets in one of several arrangements, the first that fits.

    ``arrangements`` go from the widest to the narrowest; in each, a row with fewer widgets
    than the widest row lets its last widget span the rest. A widget hidden with
    :meth:`set_shown` takes no width and leaves no empty stretch behind."""

    def __init__(self, arrangements: Sequence[Arrangement], parent=None) -> None:
        super().__init__(parent)
        if not arrangements:
            raise ValueError("a ReflowGrid needs at least one arrangement")
        self.arrangements = [[list(row) for row in a] for a in arrangements]
        self.current: int | None = None
        self.hidden: list[QtWidgets.QWidget] = []  # hidden by set_shown: no room kept for them
        self._place(len(self.arrangements) - 1)

    def width_needed(self, index: int) -> int:
        """The least width of arrangement ``index``: its widest row at least widths."""
        gap = max(0, self.horizontalSpacing())
        m = self.contentsMargins()
        rows = [[w for w in row if w not in self.hidden] for row in self.arrangements[index]]
        return max(sum(least_width(w) for w in row) + gap * max(len(row) - 1, 0)
                   for row in rows) + m.left() + m.right()  # fmt: skip

    def set_shown(self, widget: QtWidgets.QWidget, shown: bool) -> None:
        """Show or hide one of the grid's widgets; the others take its room."""
        if (widget not in self.hidden) == shown:
            return
        if shown:
            self.hidden.remove(widget)
        else:
            self.hidden.append(widget)
        widget.setVisible(shown)
        index, self.current = self.current, None
        self._place(len(self.arrangements) - 1 if index is None else index)

    def fit(self, width: int, first: int = 0) -> int:
        """Take the first arrangement from ``first`` on that fits ``width`` (else the last)."""
        last = len(self.arrangements) - 1
        chosen = next((i for i in range(first, last) if self.width_needed(i) <= width), last)
        self._place(chosen)
        return chosen

    def narrower(self) -> bool:
        """Take the next narrower arrangement; False when this is the narrowest."""
        if self.current is None or self.current + 1 >= len(self.arrangements):
            return False
        self._place(self.current + 1)
        return True

    def _place(self, index: int) -> None:
        if index == self.current:
            return
        self.current = index
        rows = self.arrangements[index]
        columns = max(len(row) for row in rows)
        for r in range(self.rowCount()):
            self.setRowStretch(r, 0)
        for c in range(self.columnCount()):
            self.setColumnStretch(c, 0)
        used: set[int] = set()
        for r, row in enumerate(rows):
            for c, widget in enumerate(row):
                span = columns - c if c == len(row) - 1 else 1
                self.addWidget(widget, r, c, 1, span)  # moved, if it was elsewhere
                if widget not in self.hidden:
                    used.update(range(c, c + span))
            self.setRowStretch(r, int(any(w not in self.hidden for w in row)))
        for c in range(columns):
            self.setColumnStretch(c, int(c in used))
        # A hidden page (a tab not shown) does not pass its new least size up by itself, and
        # its tab widget kept the old, wider one: forget the sizes of the layouts around the
        # grid, then tell each hidden level, and the first shown one, that its size changed.
        outer = self.parent()
        while isinstance(outer, QtWidgets.QLayout):
            outer.invalidate()
            outer = outer.parent()
        host = self.parentWidget()
        while host is not None:
            host.updateGeometry()
            if not host.isHidden():
                break
            host = host.parentWidget()

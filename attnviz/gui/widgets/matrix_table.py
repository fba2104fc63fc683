"""A numeric heatmap table: every number printed, its cell coloured; optionally editable.

A QTableView over a small model, so thousands of rows cost only the rows on screen.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from attnviz.gui.theme import theme_manager
from attnviz.gui.widgets.heatmap import MASKED_COLOUR, format_value
from attnviz.gui.widgets.labels import token_label

MAX_FITTED_COLUMNS = 256  # beyond this many columns, one width for all (fitting each costs)

__all__ = ["MatrixTable"]

WHOLE_COLUMNS = 4  # columns a table always shows whole; the panel reflows to give them room

Role = QtCore.Qt.ItemDataRole


class _MatrixModel(QtCore.QAbstractTableModel):
    edited = QtCore.Signal(int, int, str)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.matrix = np.zeros((0, 0))
        self.rows: tuple[str, ...] = ()
        self.cols: tuple[str, ...] = ()
        self.editable = False
        self.diverging = True
        self._lut = np.zeros((256, 3), dtype=np.uint8)
        self._masked = (128, 128, 128)
        self._lo, self._hi = 0.0, 1.0

    def set_matrix(self, m: np.ndarray, rows: tuple[str, ...], cols: tuple[str, ...]) -> None:
        self.beginResetModel()
        self.matrix = np.asarray(m, dtype=np.float64)
        self.rows, self.cols = tuple(rows), tuple(cols)
        self._recolour()
        self.endResetModel()

    def _recolour(self) -> None:
        """Colour scale for the matrix; each cell's colour is looked up when it is painted, so a
        2,048 × 2,048 step matrix costs only the cells on screen."""
        m = self.matrix
        tm = theme_manager()
        if self.diverging:
            finite = m[np.isfinite(m)]
            lim = float(np.abs(finite).max()) if finite.size else 1.0
            self._lo, self._hi = -(lim or 1.0), lim or 1.0
            cmap = tm.diverging()
        else:
            self._lo, self._hi = 0.0, 1.0
            cmap = tm.colormap()
        self._lut = cmap.getLookupTable(nPts=256, alpha=False)
        grey = QtGui.QColor(MASKED_COLOUR)
        self._masked = (grey.red(), grey.green(), grey.blue())

    def colour(self, i: int, j: int) -> tuple[int, int, int]:
        x = float(self.matrix[i, j])
        if not np.isfinite(x):
            return self._masked
        t = min(max((x - self._lo) / (self._hi - self._lo), 0.0), 1.0)
        r, g, b = self._lut[round(t * 255)]
        return int(r), int(g), int(b)

    def rowCount(self, parent: QtCore.QModelIndex | None = None) -> int:
        return self.matrix.shape[0]

    def columnCount(self, parent: QtCore.QModelIndex | None = None) -> int:
        return self.matrix.shape[1] if self.matrix.ndim == 2 else 0

    def data(self, index: QtCore.QModelIndex, role: int = Role.DisplayRole) -> object:
        i, j = index.row(), index.column()
        if role in (Role.DisplayRole, Role.EditRole):
            return format_value(float(self.matrix[i, j]))
        if role == Role.BackgroundRole:
            return QtGui.QColor(*self.colour(i, j))
        if role == Role.ForegroundRole:
            r, g, b = self.colour(i, j)
            light = 0.299 * r + 0.587 * g + 0.114 * b > 140
            return QtGui.QColor("#000000" if light else "#ffffff")
        if role == Role.TextAlignmentRole:
            return int(QtCore.Qt.AlignmentFlag.AlignCenter)
        return None

    def headerData(self, section: int, orientation: QtCore.Qt.Orientation, role: int = 0) -> object:
        if role not in (Role.DisplayRole, Role.ToolTipRole):
            return None
        labels = self.cols if orientation == QtCore.Qt.Orientation.Horizontal else self.rows
        text = labels[section] if section < len(labels) else str(section)
        return token_label(text) if role == Role.DisplayRole else text

    def flags(self, index: QtCore.QModelIndex) -> QtCore.Qt.ItemFlag:
        f = QtCore.Qt.ItemFlag.ItemIsEnabled | QtCore.Qt.ItemFlag.ItemIsSelectable
        if self.editable:
            f |= QtCore.Qt.ItemFlag.ItemIsEditable
        return f

    def setData(self, index: QtCore.QModelIndex, value: object, role: int = Role.EditRole) -> bool:
        if role != Role.EditRole or not self.editable or not index.isValid():
            return False
        # The table does not change its own numbers: it reports the edit, the session checks
        # it, and the recomputed result comes back through set_matrix.
        self.edited.emit(index.row(), index.column(), str(value))
        return False


class MatrixTable(QtWidgets.QWidget):
    """A titled table of numbers; ``cell_edited(row, col, text)`` when the user types a value."""

    cell_edited = QtCore.Signal(int, int, str)

    def __init__(
        self,
        title: str,
        parent: QtWidgets.QWidget | None = None,
        *,
        editable: bool = False,
        diverging: bool = True,
    ) -> None:
        super().__init__(parent)
        self.title = QtWidgets.QLabel(f"<b>{title}</b>")
        self.model = _MatrixModel(self)
        self.model.editable = editable
        self.model.diverging = diverging
        self.model.edited.connect(self.cell_edited)
        self.view = QtWidgets.QTableView()
        self.view.setModel(self.model)
        self.view.horizontalHeader().setDefaultSectionSize(56)
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.view.setEditTriggers(
            QtWidgets.QAbstractItemView.EditTrigger.DoubleClicked
            | QtWidgets.QAbstractItemView.EditTrigger.EditKeyPressed
            | QtWidgets.QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(2)
        lay.addWidget(self.title)
        lay.addWidget(self.view)
        theme_manager().changed.connect(self._restyle)

    def set_title(self, title: str) -> None:
        self.title.setText(f"<b>{title}</b>")

    def set_matrix(self, m: np.ndarray, rows: tuple[str, ...], cols: tuple[str, ...]) -> None:
        self.model.set_matrix(m, rows, cols)
        self._fit_sections()

    def _restyle(self) -> None:
        self.model.set_matrix(self.model.matrix, self.model.rows, self.model.cols)
        self._fit_sections()

    def _fit_sections(self) -> None:
        """Columns wide enough for every number and header at the current text size, rows as
        tall as a line: a fixed 56 px column printed "0.…" at 18 pt (issue 12)."""
        fm = QtGui.QFontMetrics(QtWidgets.QApplication.font())
        m = self.model.matrix
        finite = m[np.isfinite(m)] if m.size else m
        samples = ["-0.000", "−∞"]
        if finite.size:
            samples += [format_value(float(finite.min())), format_value(float(finite.max()))]
        pad = fm.horizontalAdvance("00")
        num_w = max(fm.horizontalAdvance(s) for s in samples) + pad
        header = self.view.horizontalHeader()
        cols = self.model.cols
        if len(cols) <= MAX_FITTED_COLUMNS:
            for j, name in enumerate(cols):
                header.resizeSection(j, max(num_w, fm.horizontalAdvance(token_label(name)) + pad))
        else:
            header.setDefaultSectionSize(num_w)
        row_h = fm.height() + fm.height() // 3
        self.view.verticalHeader().setDefaultSectionSize(row_h)
        # A title, the header and four rows at least: a table one row high shows nothing.
        self.view.setMinimumHeight(row_h * 5 + 4)
        # and its first columns whole (up to WHOLE_COLUMNS; the rest scroll): squeezed beside
        # another table, it showed three columns and a sliver of the fourth.
        shown = min(len(cols), WHOLE_COLUMNS)
        widths = sum(header.sectionSize(j) for j in range(shown))
        labels = self.view.verticalHeader().sizeHint().width()
        bar = self.view.verticalScrollBar().sizeHint().width()
        self.view.setMinimumWidth(labels + widths + bar + 2 * self.view.frameWidth() + 2)

"""A row of controls that wraps onto more lines instead of widening its panel.

At 1280 px in presenter type the positional-encoding controls alone were wider than their
dock, and the whole panel, its explanation included, scrolled sideways. superqt's QFlowLayout
wraps the labelled controls; each label stays beside its box. ``pair_grid`` sets a panel's
settings out as label–control pairs, two to a row.
"""

from __future__ import annotations

from PySide6 import QtWidgets
from superqt import QFlowLayout

__all__ = ["FlowRow", "hold_wrapped_heights", "pair_grid"]


class FlowRow(QtWidgets.QWidget):
    """Labelled controls laid left to right, wrapping where the width ends."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.flow = QFlowLayout(self)
        self.flow.setContentsMargins(0, 0, 0, 0)

    def add(self, label: str | None, widget: QtWidgets.QWidget) -> None:
        """``widget`` with its ``label`` (if any) in front of it, kept together."""
        pair = QtWidgets.QWidget()
        row = QtWidgets.QHBoxLayout(pair)
        row.setContentsMargins(0, 0, 0, 0)
        if label:
            row.addWidget(QtWidgets.QLabel(label))
        row.addWidget(widget)
        self.flow.addWidget(pair)


def hold_wrapped_heights(root: QtWidgets.QWidget) -> None:
    """Give every shown word-wrapped label and FlowRow under ``root`` the height it wraps to at
    its width, as its minimum. Layouts measure such widgets as one line (a grid row, a dock,
    a scroll area's content); the paragraph's last lines were then cut off. Run again when the
    width or the text changes."""
    for w in [*root.findChildren(QtWidgets.QLabel), *root.findChildren(FlowRow)]:
        if isinstance(w, QtWidgets.QLabel) and not w.wordWrap():
            continue
        if not w.isVisibleTo(root) or w.width() <= 0:
            continue
        want = max(0, w.heightForWidth(w.width()))
        if w.minimumHeight() != want:
            w.setMinimumHeight(want)


def pair_grid(
    pairs: list[tuple[str, QtWidgets.QWidget]], per_row: int = 2
) -> QtWidgets.QGridLayout:
    """Labelled controls, ``per_row`` label–control pairs to a row; the controls' columns take
    the room left (a panel's settings, compact enough for a projector's short dock)."""
    grid = QtWidgets.QGridLayout()
    for i, (label, widget) in enumerate(pairs):
        row, col = divmod(i, per_row)
        grid.addWidget(QtWidgets.QLabel(label), row, 2 * col)
        grid.addWidget(widget, row, 2 * col + 1)
    for col in range(per_row):
        grid.setColumnStretch(2 * col + 1, 1)
    return grid

"""A row of controls that wraps onto more lines instead of widening its panel.

At 1280 px in presenter type the positional-encoding controls alone were wider than their
dock, and the whole panel, its explanation included, scrolled sideways. superqt's QFlowLayout
wraps the labelled controls; each label stays beside its box.
"""

from __future__ import annotations

from PySide6 import QtWidgets
from superqt import QFlowLayout

__all__ = ["FlowRow"]


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

"""The "Export figure…" and "Export data…" dialogs."""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtWidgets

from attnviz.export import DATA_FORMATS, FIGURE_FORMATS, FORMATS, FigureSpec

__all__ = ["FigureDialog", "ask_data_path"]


class FigureDialog(QtWidgets.QDialog):
    """Format, scale or DPI, slide style, background, title and caption, then a file name."""

    def __init__(self, what: str, default_name: str, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("figure_dialog")
        self.setWindowTitle(f"Export figure — {what}")
        self.default_name = default_name
        form = QtWidgets.QFormLayout(self)
        self.format_box = QtWidgets.QComboBox()
        for name in FIGURE_FORMATS:
            self.format_box.addItem(FORMATS[name].description, name)
        self.scale_box = QtWidgets.QDoubleSpinBox()
        self.scale_box.setRange(1.0, 4.0)
        self.scale_box.setSingleStep(0.5)
        self.scale_box.setValue(1.0)
        self.scale_box.setToolTip("A 16:9 slide is 1920 × 1080 pixels at 1 ×")
        self.scale_box.setSuffix(" ×")
        self.dpi_box = QtWidgets.QSpinBox()
        self.dpi_box.setRange(0, 600)
        self.dpi_box.setSpecialValueText("use the scale")
        self.dpi_box.setSuffix(" dpi")
        self.style_box = QtWidgets.QComboBox()
        self.style_box.addItem("Slide: light, large text, no controls", "slide")
        self.style_box.addItem("As on screen", "screen")
        self.aspect_box = QtWidgets.QComboBox()
        self.aspect_box.setObjectName("aspect_box")
        self.aspect_box.addItem("16:9 (13.33 × 7.5 in)", "16:9")
        self.aspect_box.addItem("4:3 (10 × 7.5 in)", "4:3")
        self.theme_box = QtWidgets.QComboBox()
        self.theme_box.setObjectName("slide_theme_box")
        self.theme_box.addItem("Light (print, projectors)", "light")
        self.theme_box.addItem("Dark (dark slide templates)", "dark")
        for box in (self.aspect_box, self.theme_box):  # slide choices
            self.style_box.currentIndexChanged.connect(
                lambda _=0, b=box: b.setEnabled(self.style_box.currentData() == "slide")
            )
        self.background_box = QtWidgets.QComboBox()
        self.background_box.addItem("White", "white")
        self.background_box.addItem("Transparent", "transparent")
        self.title_edit = QtWidgets.QLineEdit()
        self.caption_edit = QtWidgets.QLineEdit()
        form.addRow("Format", self.format_box)
        form.addRow("Scale (PNG)", self.scale_box)
        form.addRow("Resolution (PNG)", self.dpi_box)
        form.addRow("Style", self.style_box)
        form.addRow("Slide shape", self.aspect_box)
        form.addRow("Slide colours", self.theme_box)
        form.addRow("Background", self.background_box)
        form.addRow("Title", self.title_edit)
        form.addRow("Caption", self.caption_edit)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Save
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def spec(self) -> FigureSpec:
        """The figure as chosen; ExportError if a choice is out of range."""
        dpi = self.dpi_box.value()
        return FigureSpec(
            format=self.format_box.currentData(),
            scale=self.scale_box.value(),
            dpi=float(dpi) if dpi else None,
            style=self.style_box.currentData(),
            background=self.background_box.currentData(),
            title=self.title_edit.text().strip(),
            caption=self.caption_edit.text().strip(),
            aspect=self.aspect_box.currentData(),
            theme=self.theme_box.currentData(),
        )

    def ask_path(self) -> Path | None:
        fmt = FORMATS[self.format_box.currentData()]
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self.parentWidget(), "Export figure", f"{self.default_name}{fmt.extensions[0]}",
            fmt.filter,
        )  # fmt: skip
        return Path(path) if path else None


def ask_data_path(parent: QtWidgets.QWidget, default_name: str) -> Path | None:
    """A file name for "Export data…"; the extension picks CSV, NPZ or JSON."""
    filters = ";;".join(FORMATS[n].filter for n in DATA_FORMATS)
    path, chosen = QtWidgets.QFileDialog.getSaveFileName(
        parent, "Export data", f"{default_name}.csv", filters
    )
    if not path:
        return None
    p = Path(path)
    if not p.suffix:
        for n in DATA_FORMATS:
            if FORMATS[n].filter == chosen:
                p = p.with_suffix(FORMATS[n].extensions[0])
    return p

"""The main window."""

from __future__ import annotations

from PySide6 import QtWidgets

from attnviz.backends import backend_status


class MainWindow(QtWidgets.QMainWindow):
    """attnviz's main window: panels dock around it; the status bar names the backend."""

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("attnviz")
        self.resize(1280, 800)
        choice = backend_status()
        self.backend_text = f"{choice.name}: {choice.reason}"
        self.statusBar().showMessage(f"Computing on {self.backend_text}")

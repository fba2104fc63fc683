"""The main window, one module per job (see main.py)."""

from attnviz.gui.window.main import MainWindow

__all__ = ["MainWindow"]

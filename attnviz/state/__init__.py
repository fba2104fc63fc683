"""Qt-free application state: the evented session and the pure pipeline that computes from it."""

from attnviz.state.session import Session

__all__ = ["Session"]

"""Qt-free lesson content: scenes (the example inputs), the toy model, and explanatory text."""

from attnviz.lessons.scenes import SCENES, Scene, SceneInput, TextError, get_scene
from attnviz.lessons.texts import panel_text

__all__ = ["SCENES", "Scene", "SceneInput", "TextError", "get_scene", "panel_text"]

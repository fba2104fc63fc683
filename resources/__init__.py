"""attnviz's resources: the icon, the desktop entry, example texts.

Installed as the package ``attnviz.resources`` (see pyproject.toml), so
``importlib.resources.files("attnviz.resources")`` finds them installed, editable and frozen.
"""

"""The only part of attnviz that imports Qt."""

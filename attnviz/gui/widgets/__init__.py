"""Reusable Qt widgets: the heatmap and the numeric table."""

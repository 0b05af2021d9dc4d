"""Fonts of the pages and charts (Chinese included). Being implemented in this change: until
then pages use the system's fonts and charts matplotlib's default."""

from __future__ import annotations


def configure_matplotlib() -> None:
    """Make matplotlib draw CJK text with the project's font (no-op until implemented)."""


def font_face_css(text: str) -> str:
    """CSS ``@font-face`` embedding the glyphs of ``text`` (empty until implemented)."""
    return ""

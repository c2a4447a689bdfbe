"""Generated blocks inside hand-written Markdown pages.

A page keeps a generated table between ``<!-- NAME:begin -->`` and
``<!-- NAME:end -->``. The tool rewrites only that block, and a test compares it
with a fresh rendering, so the page cannot drift from the model.
"""

from __future__ import annotations

from sdkit.errors import InputFileError

__all__ = ["begin_marker", "end_marker", "replace_block", "extract_block"]


def begin_marker(name: str) -> str:
    """The comment that opens block ``name``."""
    return f"<!-- {name}:begin -->"


def end_marker(name: str) -> str:
    """The comment that closes block ``name``."""
    return f"<!-- {name}:end -->"


def _span(text: str, name: str, source: str) -> tuple[int, int]:
    begin, end = begin_marker(name), end_marker(name)
    begins, ends = text.count(begin), text.count(end)
    start, stop = text.find(begin), text.find(end)
    if begins != 1 or ends != 1 or stop < start:
        raise InputFileError(
            f"{source} needs exactly one {begin} followed by one {end}; "
            f"found {begins} and {ends}.", path=source, key=begin)
    return start + len(begin), stop


def replace_block(text: str, name: str, content: str, *, source: str = "the file") -> str:
    """Replace what stands between the markers of block ``name`` with ``content``.

    Raises
    ------
    InputFileError
        If the markers are missing, repeated, or in the wrong order.
    """
    start, stop = _span(text, name, source)
    return f"{text[:start]}\n{content.strip()}\n{text[stop:]}"


def extract_block(text: str, name: str, *, source: str = "the file") -> str:
    """The stripped text between the markers of block ``name``.

    Raises
    ------
    InputFileError
        If the markers are missing, repeated, or in the wrong order.
    """
    start, stop = _span(text, name, source)
    return text[start:stop].strip()

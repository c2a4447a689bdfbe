"""Generated blocks inside hand-written Markdown pages.

A page keeps a generated table between ``<!-- NAME:begin -->`` and
``<!-- NAME:end -->``. The tool rewrites only that block, and a test compares it
with a fresh rendering, so the page cannot drift from the model. Every command
with ``--update FILE.md`` (and ``sdkit doc``) writes its blocks with
:func:`update_page`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from sdkit.errors import InputFileError

__all__ = ["begin_marker", "end_marker", "replace_block", "extract_block", "read_page",
           "update_page"]


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


def read_page(path: str | os.PathLike[str]) -> str:
    """The text of a page (UTF-8).

    Raises
    ------
    InputFileError
        If the page cannot be read (missing, a folder, not UTF-8...).
    """
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputFileError(f"Cannot read {path}: {err}", path=str(path)) from err


def update_page(path: str | os.PathLike[str], blocks: Mapping[str, str]) -> Path:
    """Replace blocks of a page and write it atomically.

    Parameters
    ----------
    path : path-like
        The Markdown page.
    blocks : mapping of str to str
        Block name -> its new content (see :func:`replace_block`).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    InputFileError
        If the page cannot be read, or a block's markers are missing, repeated or in
        the wrong order; the page is then left as it was.
    OutputWriteError
        If the page cannot be written (:func:`sdkit.util.files.write_text_atomic`).
    """
    from sdkit.util.files import write_text_atomic

    text = read_page(path)
    for name, content in blocks.items():
        text = replace_block(text, name, content, source=str(path))
    return write_text_atomic(path, text)

"""Content-addressed cache of translated models.

PySD writes the Python translation of a model next to the file it translates.
sdkit never lets that happen beside the user's model: the model file is copied
into a cache entry and translated there.  An entry is a directory named after a
SHA-256 key of the model's bytes and the versions of PySD and sdkit, so editing
the model or upgrading either package gives a new entry.

Entries are built in a temporary directory inside the cache root and moved into
place with :func:`os.replace`, which is atomic on one file system: a reader sees
either no entry or a complete one, and concurrent builders of the same entry do
not corrupt each other (the loser discards its copy).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["cache_root", "cache_key", "ensure_entry", "COMPLETE_MARKER"]

#: File written last into a finished entry.
COMPLETE_MARKER = "complete"


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the directory that holds cache entries.

    Parameters
    ----------
    cache_dir : path-like, optional
        Explicit cache root; wins over the environment.

    Returns
    -------
    pathlib.Path
        ``cache_dir`` if given, else ``$SDKIT_CACHE_DIR``, else
        ``$XDG_CACHE_HOME/sdkit``, else ``~/.cache/sdkit``.  The directory is
        not created here.
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    explicit = os.environ.get("SDKIT_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "sdkit"


def cache_key(data: bytes, *versions: str) -> str:
    """Return the hexadecimal SHA-256 key of model bytes and tool versions.

    Parameters
    ----------
    data : bytes
        Content of the model file.
    *versions : str
        Versions of the tools whose output is cached (PySD, sdkit).

    Returns
    -------
    str
        64 hexadecimal characters.
    """
    digest = hashlib.sha256()
    digest.update(len(data).to_bytes(8, "little"))
    digest.update(data)
    for version in versions:
        digest.update(b"\0" + version.encode("utf-8"))
    return digest.hexdigest()


def ensure_entry(root: Path, key: str, build: Callable[[Path], None]) -> Path:
    """Return the cache entry for ``key``, building it first if needed.

    Parameters
    ----------
    root : pathlib.Path
        Cache root; created if missing.
    key : str
        Entry key from :func:`cache_key`.
    build : callable
        Called with an empty temporary directory that it must fill.  Any
        exception it raises propagates and leaves no entry behind.

    Returns
    -------
    pathlib.Path
        Directory of the complete entry.
    """
    entry = root / key
    if (entry / COMPLETE_MARKER).is_file():
        return entry
    root.mkdir(parents=True, exist_ok=True)
    if entry.exists():
        # An incomplete entry can only come from outside interference (sdkit
        # renames complete directories into place); set it aside.
        shutil.rmtree(entry, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{key[:16]}-", dir=root))
    try:
        build(staging)
        (staging / COMPLETE_MARKER).write_text(key + "\n", encoding="utf-8")
        try:
            os.replace(staging, entry)
        except OSError:
            # Another process finished first; its entry is equivalent to ours.
            if not (entry / COMPLETE_MARKER).is_file():
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return entry

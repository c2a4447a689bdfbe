"""Content-addressed cache of translated models, verified before every use.

A model is copied into a cache entry (a folder named by a SHA-256 key of its
bytes and the PySD and sdkit versions) and translated there, never beside the
user's file.  Entries are built in a private staging folder and moved into place
with :func:`os.replace`, so readers see no entry or a complete one, and the loser
of a race between builders uses the winner's entry once it checks out.

The last file written into an entry, :data:`COMPLETE_MARKER`, is a manifest of
the SHA-256 digest of every other file.  :func:`ensure_entry` re-hashes the entry
each time; a changed, removed or added file, a symbolic link, or a file or folder
writable by group or others makes it discard the entry and build it again, with a
:class:`CacheEntryRebuiltWarning`.  ``__pycache__`` folders are deleted at each
check, so a planted ``.pyc`` is never loaded instead of the verified source.  The
root, and everything in an entry, owned by another user, and a root writable by
group or others, raise :class:`~sdkit.errors.UnsafeCacheError` naming the path
and the fix.  Folders sdkit creates are ``0700`` and entry files ``0600`` whatever
the umask; existing parents of the root (such as ``/tmp``) are not checked.  On
systems without POSIX ownership (Windows) the owner and mode checks are skipped.

Limits: the manifest is a digest, not a signature.  Whoever can write the entry as
the same user can rewrite the manifest too, but can already run code as that
user.  The digests catch corruption and tampering by others; the owner and mode
checks keep other users out of the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path

from sdkit.errors import UnsafeCacheError

__all__ = ["cache_root", "cache_key", "ensure_entry", "verify_entry", "read_verified",
           "discard_entry", "COMPLETE_MARKER", "CacheEntryRebuiltWarning"]

#: File written last into a finished entry: the manifest of its digests (JSON).
COMPLETE_MARKER = "complete"

_FORMAT = "sdkit-cache-1"
_BYTECODE_DIR = "__pycache__"
_KEY_PATTERN = re.compile(r"[0-9A-Za-z_-]{1,128}")
_PRIVATE_FIX = "set SDKIT_CACHE_DIR to a private folder"
_POSIX = hasattr(os, "geteuid")


class CacheEntryRebuiltWarning(UserWarning):
    """A cache entry failed verification and was discarded and built again."""


class _Mismatch(Exception):
    """An entry that does not match its manifest (the message says how)."""


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
        ``$XDG_CACHE_HOME/sdkit``, else ``~/.cache/sdkit`` (not created or checked).
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


def ensure_entry(
    root: Path, key: str, build: Callable[[Path], None], *, stacklevel: int = 2
) -> Path:
    """Return the verified cache entry for ``key``, building it first if needed.

    Parameters
    ----------
    root : pathlib.Path
        Cache root; created (mode ``0700``) if missing.
    key : str
        Entry key from :func:`cache_key` (letters, digits, ``_`` and ``-``).
    build : callable
        Called with an empty private temporary directory that it must fill.
        Any exception it raises propagates and leaves no entry behind.
    stacklevel : int, optional
        :func:`warnings.warn` stack level of the rebuild warning (2: our caller).

    Returns
    -------
    pathlib.Path
        Directory of the complete entry, just checked against its manifest.

    Raises
    ------
    UnsafeCacheError
        The root or anything in the entry belongs to another user, or the root
        is not a folder or is writable by group or others.

    Warns
    -----
    CacheEntryRebuiltWarning
        The existing entry failed :func:`verify_entry`; it was discarded and rebuilt.
    """
    if not _KEY_PATTERN.fullmatch(key):
        raise ValueError(f"Invalid cache key {key!r}: expected letters, digits, '_' or '-'.")
    root = Path(root)
    _prepare_root(root)
    entry = root / key
    if os.path.lexists(entry):
        problem = verify_entry(entry)
        if problem is None:
            return entry
        _discard(entry)
        warnings.warn(
            CacheEntryRebuiltWarning(
                f"Cache entry {entry} did not match its digest ({problem}); "
                "discarded it and rebuilt it from the model."
            ),
            stacklevel=stacklevel,
        )
    return _build(root, key, build)


def verify_entry(entry: Path) -> str | None:
    """Check a cache entry against the manifest recorded when it was built.

    ``__pycache__`` folders in the entry are deleted (never trusted).

    Parameters
    ----------
    entry : pathlib.Path
        Entry directory (``root / key``).

    Returns
    -------
    str or None
        ``None`` if every file matches its digest, else a short description of
        the first problem (e.g. ``"model.py changed"``).

    Raises
    ------
    UnsafeCacheError
        The entry or something in it belongs to another user.
    """
    entry = Path(entry)
    try:
        found = _scan(entry, seal=False)
    except FileNotFoundError:
        return "the entry is missing"
    except _Mismatch as mismatch:
        return str(mismatch)
    try:
        manifest = json.loads((entry / COMPLETE_MARKER).read_bytes())
    except (OSError, ValueError):
        manifest = None
    return _compare(manifest, entry.name, found)


def read_verified(entry: Path, name: str) -> bytes | None:
    """Read ``entry / name``, checking the bytes read against the entry's manifest.

    The digest is computed on the very bytes returned (no check-then-use race) and
    symbolic links are not followed.  Returns ``None`` if the file is missing, is not
    a regular file, or does not match its recorded digest.
    """
    entry = Path(entry)
    try:
        manifest = json.loads((entry / COMPLETE_MARKER).read_bytes())
        handle = os.open(entry / name, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(handle, "rb") as stream:
            if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
                return None
            data = stream.read()
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT \
            or manifest.get("key") != entry.name or not isinstance(manifest.get("files"), dict):
        return None
    if manifest["files"].get(name) != hashlib.sha256(data).hexdigest():
        return None
    return data


def discard_entry(entry: Path) -> None:
    """Remove an entry its user found unusable (``UnsafeCacheError`` if it cannot)."""
    _discard(Path(entry))


def _prepare_root(root: Path) -> None:
    """Create the root privately if missing, then refuse it if others control it."""
    missing = []
    path = root
    while not os.path.lexists(path) and path != path.parent:
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            continue  # created concurrently; the root itself is checked below
        os.chmod(folder, 0o700)
    fix = f"run 'chmod 700 {root}' or {_PRIVATE_FIX}"
    _check_owner(root, os.lstat(root), "Cache folder", _PRIVATE_FIX)
    info = os.stat(root)
    _check_owner(root, info, "Cache folder", _PRIVATE_FIX)
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeCacheError(f"Cache folder {root} is not a directory; {_PRIVATE_FIX}.")
    if _POSIX and info.st_mode & 0o022:
        raise UnsafeCacheError(
            f"Cache folder {root} is writable by group or others "
            f"(mode {stat.S_IMODE(info.st_mode):04o}); {fix}."
        )


def _check_owner(path: Path, info: os.stat_result, what: str, fix: str) -> None:
    """Raise :class:`UnsafeCacheError` if ``path`` does not belong to the current user."""
    if _POSIX and info.st_uid != os.geteuid():
        raise UnsafeCacheError(
            f"{what} {path} is owned by user id {info.st_uid}, not by you "
            f"(user id {os.geteuid()}); {fix}."
        )


def _scan(top: Path, *, seal: bool) -> dict[str, str]:
    """Digests of the files under ``top`` (marker excluded; folders map to ``"dir"``).

    Checks everything (``seal`` first sets modes); deletes ``__pycache__``.
    """
    found: dict[str, str] = {}
    pending = [top]
    while pending:
        folder = pending.pop()
        _check_item(top, folder, seal)
        if folder != top:
            found[folder.relative_to(top).as_posix() + "/"] = "dir"
        for item in sorted(os.scandir(folder), key=lambda e: e.name):
            path = Path(item.path)
            if item.is_dir(follow_symlinks=False):
                if item.name != _BYTECODE_DIR:
                    pending.append(path)
                else:
                    _drop_bytecode(top, path)
                continue
            _check_item(top, path, seal)
            if path != top / COMPLETE_MARKER:
                found[path.relative_to(top).as_posix()] = _digest(path)
    return found


def _check_item(top: Path, path: Path, seal: bool) -> None:
    """Refuse foreign owners; report symbolic links, odd file types and loose modes."""
    info = os.lstat(path)
    name = "the entry" if path == top else path.relative_to(top).as_posix()
    fix = f"remove it ('rm -rf {top}') or {_PRIVATE_FIX}"
    _check_owner(path, info, "Cache path", fix)
    if stat.S_ISLNK(info.st_mode):
        raise _Mismatch(f"{name} is a symbolic link")
    if path == top and not stat.S_ISDIR(info.st_mode):
        raise _Mismatch("the entry is not a folder")
    if not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
        raise _Mismatch(f"{name} is not a regular file or folder")
    if seal:
        os.chmod(path, 0o700 if stat.S_ISDIR(info.st_mode) else 0o600)
    elif _POSIX and info.st_mode & 0o022:
        raise _Mismatch(f"{name} is writable by group or others")


def _drop_bytecode(top: Path, folder: Path) -> None:
    """Delete a ``__pycache__`` folder (bytecode is never trusted)."""
    _check_owner(folder, os.lstat(folder), "Cache path", _PRIVATE_FIX)
    shutil.rmtree(folder, ignore_errors=True)
    if os.path.lexists(folder):
        raise _Mismatch(f"{folder.relative_to(top).as_posix()} could not be removed")


def _digest(path: Path) -> str:
    """SHA-256 of a file, opened without following symbolic links."""
    digest = hashlib.sha256()
    handle = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(handle, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def _compare(manifest: object, key: str, found: dict[str, str]) -> str | None:
    """Describe the first difference between the manifest and the digests found."""
    if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
        return "no valid digest manifest was recorded"
    recorded = manifest.get("files")
    if not isinstance(recorded, dict):
        return "no valid digest manifest was recorded"
    if manifest.get("key") != key:
        return "the manifest was recorded for another entry"
    for name in sorted(set(recorded) | set(found)):
        if name not in found:
            return f"{name} was removed"
        if name not in recorded:
            return f"{name} was added"
        if recorded[name] != found[name]:
            return f"{name} changed"
    return None


def _discard(entry: Path) -> None:
    """Move an entry aside atomically, then delete it (a concurrent discard is fine)."""
    trash = entry.with_name(f".trash-{entry.name[:16]}-{uuid.uuid4().hex}")
    try:
        os.replace(entry, trash)
    except FileNotFoundError:
        return
    except OSError as err:
        raise UnsafeCacheError(
            f"Cache entry {entry} failed verification and cannot be removed ({err}); "
            f"remove it by hand ('rm -rf {entry}') or {_PRIVATE_FIX}."
        ) from err
    if os.path.isdir(trash) and not os.path.islink(trash):
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.unlink(trash)


def _build(root: Path, key: str, build: Callable[[Path], None]) -> Path:
    """Build an entry in a private staging folder, seal it, and move it into place."""
    entry = root / key
    staging = Path(tempfile.mkdtemp(prefix=f".{key[:16]}-", dir=root))
    try:
        os.chmod(staging, 0o700)
        build(staging)
        _seal(staging, key)
        try:
            os.replace(staging, entry)
        except OSError as err:
            # Another process finished first; use its entry if it checks out.
            problem = verify_entry(entry)
            if problem is not None:
                raise UnsafeCacheError(
                    f"Cache entry {entry} was replaced while building it and does not "
                    f"match its digest ({problem}); {_PRIVATE_FIX}."
                ) from err
    finally:
        if os.path.lexists(staging):
            shutil.rmtree(staging, ignore_errors=True)
    return entry


def _seal(staging: Path, key: str) -> None:
    """Make the built files private and write the manifest last, atomically."""
    try:
        files = _scan(staging, seal=True)
    except _Mismatch as mismatch:
        message = f"The translation build produced an unsafe cache entry: {mismatch}."
        raise UnsafeCacheError(message) from mismatch
    text = json.dumps({"format": _FORMAT, "key": key, "files": files}, indent=1, sort_keys=True)
    # mkstemp makes the file 0600; a failure leaves it in staging, which is removed.
    handle, name = tempfile.mkstemp(dir=staging, prefix=f".{COMPLETE_MARKER}.", suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(text + "\n")
    os.replace(name, staging / COMPLETE_MARKER)

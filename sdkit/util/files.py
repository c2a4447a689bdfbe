"""Files on disk: atomic writes, and the manifests of study folders.

Every file sdkit writes goes through :func:`atomic_write` (or its shortcuts
:func:`write_text_atomic` and :func:`write_bytes_atomic`): the content is first
written to a temporary file in the target's folder, flushed to disk with
``fsync``, and then moved into place with :func:`os.replace`, so a reader never
sees a half-written file and a failed write (full disk, read-only folder) leaves
the previous file as it was and no temporary file behind.  Such a failure is an
:class:`~sdkit.errors.OutputWriteError` naming the file and the reason.

A study folder (a sensitivity study, a calibration) records what it holds in
``manifest.json``: :func:`previous_manifest` reads it before a run reuses the
folder, :func:`finished_manifest` before its results are loaded.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sdkit.errors import InputFileError, OutputWriteError

__all__ = ["atomic_write", "write_text_atomic", "write_bytes_atomic", "previous_manifest",
           "finished_manifest", "MANIFEST"]

def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Create or replace ``path`` by calling ``write(temporary_path)`` and then renaming.

    Parent folders are created. The temporary file lies in the same folder, gets
    the mode a plain ``open()`` would give a new file (or the mode of the file it
    replaces), and is flushed to disk before the rename; the folder is flushed
    after it.

    Parameters
    ----------
    path : path-like
        The file to write.
    write : callable
        Writes the whole content to the path it is given.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    OutputWriteError
        The file could not be written (an ``OSError`` from the folder, ``write``,
        the flush or the rename): ``path`` is left as it was and the temporary
        file is removed. ``__cause__`` is the ``OSError``.
    """
    target = Path(path)
    existed = target.exists()
    try:
        temporary = _temporary_file(target)
    except OSError as err:
        raise _write_error(target, err, existed) from err
    try:
        write(temporary)
        _keep_mode(temporary, target)
        _fsync(temporary)
        os.replace(temporary, target)
    except OSError as err:
        temporary.unlink(missing_ok=True)
        raise _write_error(target, err, existed) from err
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(target.parent)
    return target


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 text to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write bytes to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def _temporary_file(target: Path) -> Path:
    """An empty new file beside ``target`` (mode 0o666 less the umask, as ``open()``)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        name = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
        try:
            os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return name
    raise FileExistsError(f"no free temporary name beside {target}")


def _keep_mode(temporary: Path, target: Path) -> None:
    """Give ``temporary`` the permissions of the file it will replace, if any."""
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return
    os.chmod(temporary, mode)


def _fsync(path: Path, flags: int = os.O_RDWR) -> None:
    handle = os.open(path, flags)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _fsync_folder(folder: Path) -> None:
    """Flush the rename to disk where the platform allows it (best effort: done is done)."""
    try:
        _fsync(folder, os.O_RDONLY)
    except OSError:
        pass


def _write_error(target: Path, err: OSError, existed: bool) -> OutputWriteError:
    reason = err.strerror or (os.strerror(err.errno) if err.errno else "") or str(err) \
        or type(err).__name__
    kept = "the previous file is unchanged" if existed else "no file was written"
    error = OutputWriteError(f"Cannot write {target}: {reason}; {kept}.")
    error.errno = err.errno
    return error


#: The file a study folder records itself in.
MANIFEST = "manifest.json"


def previous_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest a study folder already holds; None when there is none to go by
    (no file, unreadable, not a JSON object)."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return old if isinstance(old, dict) else None


def finished_manifest(folder: str | os.PathLike[str], *, what: str, command: str
                      ) -> dict[str, Any]:
    """The manifest of a finished study folder.

    ``what`` names the study (``"study"``, ``"calibration"``) and ``command`` is
    the command that makes or resumes it, with ``{spec}``, ``{model}`` and
    ``{out}`` filled in from the manifest (``SPEC``, ``MODEL`` when unknown).

    Raises
    ------
    InputFileError
        If the manifest is missing, unreadable, not a JSON object, or the study
        did not finish.
    """
    out = Path(folder)
    path = out / MANIFEST

    def run(manifest: dict[str, Any]) -> str:
        return command.format(spec=manifest.get("spec", "SPEC"),
                              model=manifest.get("model", "MODEL"), out=out)

    if not path.is_file():
        raise InputFileError(f"{path} does not exist; run `{run({})}`.", path=str(path))
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputFileError(f"Cannot read {path}: {err}", path=str(path)) from err
    if not isinstance(manifest, dict):
        raise InputFileError(f"{path} is not a {what} manifest (a JSON object).",
                             path=str(path))
    if not manifest.get("complete"):
        raise InputFileError(f"The {what} in {out} did not finish; run `{run(manifest)}` to "
                             "resume it.", path=str(path), key="complete")
    return manifest

"""Output files are written atomically: a failed write keeps the previous file (issue: no
lost or wrong results).

Injected failures (a writer that stops half-way with ``ENOSPC``, a failing ``fsync``
or rename) always run; a real full disk and a real read-only folder need a small
tmpfs that only root can mount (skipped elsewhere, a failure under SDKIT_REQUIRE_ALL=1 as
in CI).
"""

from __future__ import annotations

import ast
import errno
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import skip_or_fail

from sdkit.cli.app import main
from sdkit.errors import OutputWriteError, SdkitError
from sdkit.util import files as store

SDKIT = Path(store.__file__).parent
ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _half_then_full(path: str | os.PathLike[str]) -> None:
    """Write some bytes, then fail as a full disk does."""
    Path(path).write_bytes(b"time,Population\n0,10")
    raise ENOSPC


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --------------------------------------------------------------------------- the helper
def test_a_full_disk_keeps_the_previous_file_and_names_it(tmp_path: Path) -> None:
    target = tmp_path / "prev.csv"
    target.write_text("previous", encoding="utf-8")
    with pytest.raises(OutputWriteError) as info:
        store.atomic_write(target, _half_then_full)
    assert str(info.value) == (f"Cannot write {target}: No space left on device; "
                               "the previous file is unchanged.")
    assert isinstance(info.value, OSError) and isinstance(info.value, SdkitError)
    assert info.value.errno == errno.ENOSPC and info.value.__cause__ is ENOSPC
    assert target.read_text(encoding="utf-8") == "previous"
    assert _listing(tmp_path) == ["prev.csv"]


def test_a_failed_new_file_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(OutputWriteError, match="no file was written"):
        store.atomic_write(tmp_path / "new.csv", _half_then_full)
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_a_failing_flush_or_rename_keeps_the_previous_file(tmp_path: Path, monkeypatch,
                                                           step: str) -> None:
    target = store.write_text_atomic(tmp_path / "out.md", "previous")

    def fail(*args: object) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, step, fail)
    with pytest.raises(OutputWriteError, match=r"out.md: Input/output error; the previous"):
        store.write_text_atomic(target, "new")
    monkeypatch.undo()
    assert target.read_text(encoding="utf-8") == "previous"
    assert _listing(tmp_path) == ["out.md"]


def test_a_folder_in_the_way_is_an_output_write_error(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(OutputWriteError, match=r"Cannot write .*taken: Is a directory"):
        store.write_text_atomic(tmp_path / "taken", "x")
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(OutputWriteError, match=r"Cannot write .*file.out.csv: "):
        store.write_text_atomic(tmp_path / "file" / "out.csv", "x")
    assert _listing(tmp_path) == ["file", "taken"]


def test_an_interrupted_writer_is_cleaned_up_and_not_wrapped(tmp_path: Path) -> None:
    def interrupted(path: Path) -> None:
        path.write_text("half", encoding="utf-8")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.atomic_write(tmp_path / "x.txt", interrupted)
    assert _listing(tmp_path) == []


def test_a_replaced_file_keeps_its_permissions(tmp_path: Path) -> None:
    target = tmp_path / "private.csv"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o600)
    store.write_text_atomic(target, "new")
    assert target.stat().st_mode & 0o777 == 0o600 and target.read_text() == "new"


# --------------------------------------------------------------------------- the CLI
@pytest.fixture()
def full_disk(monkeypatch) -> None:
    """Every write of an output file's temporary copy stops half-way with ENOSPC."""
    to_csv, write_text = pd.DataFrame.to_csv, Path.write_text

    def is_temporary(path: object) -> bool:
        name = Path(str(path)).name
        return name.startswith(".") and name.endswith(".tmp")

    def csv(self: pd.DataFrame, path: object = None, **kwargs: object) -> object:
        return _half_then_full(path) if is_temporary(path) else to_csv(self, path, **kwargs)

    def text(self: Path, *args: object, **kwargs: object) -> object:
        return _half_then_full(self) if is_temporary(self) else write_text(self, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", csv)
    monkeypatch.setattr(Path, "write_text", text)


@pytest.mark.parametrize("option", ["-o", "--summary"])
def test_cli_run_on_a_full_disk_exits_2_and_keeps_the_file(tiny_path: Path, tmp_path: Path,
                                                            full_disk, option: str) -> None:
    previous = tmp_path / "prev.out"
    previous.write_bytes(b"previous results\n")
    result = CliRunner().invoke(main, ["run", str(tiny_path), option, str(previous)])
    assert result.exit_code == 2, result.output
    assert result.output.splitlines()[-1] == (
        f"sdkit: error: Cannot write {previous}: No space left on device; "
        "the previous file is unchanged.")
    assert "Traceback" not in result.output and not isinstance(result.exception, OSError)
    assert previous.read_bytes() == b"previous results\n"
    assert _listing(tmp_path) == ["prev.out"]


def test_cli_export_on_a_full_disk_exits_2(tiny_path: Path, tmp_path: Path, full_disk) -> None:
    result = CliRunner().invoke(main, ["export", str(tiny_path), "-o", str(tmp_path / "t.xmile")])
    assert result.exit_code == 2, result.output
    assert "sdkit: error: Cannot write" in result.output and "no file was written" in result.output
    assert _listing(tmp_path) == []


# --------------------------------------------------------------------------- one write path
#: Files that write into a private staging folder that is renamed into place as a whole.
STAGING = {"translation.py", "cache.py", "progcache.py", "records.py"}
#: Known writes outside the helper, both to memory: a chunk serialised (then written with
#: the helper) and a font subset (embedded in a page).
KNOWN = {"sdkit/sensitivity/execute.py write_table", "sdkit/report/fonts.py save"}
WRITERS = {"write_text", "write_bytes", "to_csv", "to_parquet", "to_json", "to_excel",
           "to_pickle", "to_feather", "write_table", "savefig", "export_png", "export_svg",
           "output_file", "save"}
WRITE_MODE = re.compile(r"[rbtU]*[wax+][rwaxbtU+]*")


def _opens_for_writing(node: ast.Call) -> bool:
    return any(isinstance(a, ast.Constant) and isinstance(a.value, str)
               and WRITE_MODE.fullmatch(a.value)
               for a in [*node.args[:2], *(k.value for k in node.keywords if k.arg == "mode")])


def _direct_writes(path: Path) -> Iterator[str]:
    """Calls in ``path`` that write a file other than through a lambda given to the helper."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    in_lambda = {id(node) for lam in ast.walk(tree) if isinstance(lam, ast.Lambda)
                 for node in ast.walk(lam.body)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or id(node) in in_lambda:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in WRITERS or (name in ("open", "fdopen") and _opens_for_writing(node)):
            yield f"{path.relative_to(SDKIT.parent).as_posix()} {name}"


def test_every_file_is_written_through_the_atomic_helper() -> None:
    found = [hit for path in sorted(SDKIT.rglob("*.py"))
             if path.name not in STAGING and path.name != "store.py"
             for hit in _direct_writes(path)]
    assert sorted(set(found) - KNOWN) == []


# --------------------------------------------------------------------------- a real tmpfs
@pytest.fixture()
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs (root only; skipped where it cannot be mounted)."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    if not shutil.which("mount") or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
            capture_output=True).returncode != 0:
        skip_or_fail("cannot mount a tmpfs (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _sdkit(*args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from sdkit.cli.app import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=300)


def test_a_real_full_disk_and_read_only_folder(tiny_path: Path, tmpfs: Path) -> None:
    previous = tmpfs / "prev.csv"
    previous.write_text("previous\n", encoding="utf-8")
    filler = tmpfs / "filler"
    with filler.open("wb", buffering=0) as handle:  # fill the disk up to its last few KiB
        try:
            while True:
                handle.write(b"\0" * 1024)
        except OSError:
            pass
    filler.write_bytes(b"\0" * (filler.stat().st_size - 4096))
    full = _sdkit("run", str(tiny_path), "-o", str(previous))
    assert full.returncode == 2, full.stderr
    assert full.stderr.strip().splitlines()[-1] == (
        f"sdkit: error: Cannot write {previous}: No space left on device; "
        "the previous file is unchanged.")
    assert previous.read_text() == "previous\n" and _listing(tmpfs) == ["filler", "prev.csv"]
    filler.unlink()
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    read_only = _sdkit("run", str(tiny_path), "-o", str(previous))
    assert read_only.returncode == 2, read_only.stderr
    assert read_only.stderr.strip().splitlines()[-1] == (
        f"sdkit: error: Cannot write {previous}: Read-only file system; "
        "the previous file is unchanged.")
    assert previous.read_text() == "previous\n"

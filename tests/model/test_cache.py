"""Translation-cache integrity: digests, private modes, ownership, symbolic links."""

from __future__ import annotations

import importlib.util
import json
import os
import stat
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import skip_or_fail

from sdkit.errors import UnsafeCacheError
from sdkit.model import cache

KEY = "a" * 64
SOURCE = "VALUE = 1\n"
OTHER_UID = 65534


def _builder(calls: list[Path], source: str = SOURCE) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        calls.append(folder)
        (folder / "model.py").write_text(source, encoding="utf-8")
        (folder / "structure.json").write_text("{}", encoding="utf-8")

    return build


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _import(path: Path) -> object:
    spec = importlib.util.spec_from_file_location(f"cached_{id(path)}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def entry(root: Path) -> Path:
    built: list[Path] = []
    return cache.ensure_entry(root, KEY, _builder(built))


@pytest.fixture
def chown_possible(tmp_path: Path) -> Iterator[None]:
    probe = tmp_path / "probe"
    probe.mkdir()
    try:
        os.chown(probe, OTHER_UID, -1)
    except (PermissionError, AttributeError):
        skip_or_fail("changing a file's owner needs root (CI runs as root)")
    yield


def _rebuilt(root: Path, match: str) -> tuple[Path, list[Path]]:
    calls: list[Path] = []
    with pytest.warns(cache.CacheEntryRebuiltWarning, match=match):
        again = cache.ensure_entry(root, KEY, _builder(calls))
    assert len(calls) == 1
    assert cache.verify_entry(again) is None
    return again, calls


def test_a_verified_entry_is_reused_without_warning(root: Path, entry: Path) -> None:
    calls: list[Path] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cache.ensure_entry(root, KEY, _builder(calls)) == entry
    assert calls == []
    manifest = json.loads((entry / cache.COMPLETE_MARKER).read_text(encoding="utf-8"))
    assert set(manifest["files"]) == {"model.py", "structure.json"}
    assert cache.verify_entry(entry) is None


def test_code_appended_to_the_cached_module_never_runs(
    root: Path, entry: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    with open(entry / "model.py", "a", encoding="utf-8") as stream:
        stream.write(f"open({str(marker)!r}, 'w').close()\n")
    assert cache.verify_entry(entry) == "model.py changed"
    again, _ = _rebuilt(root, r"did not match its digest \(model\.py changed\)")
    assert (again / "model.py").read_text(encoding="utf-8") == SOURCE
    assert _import(again / "model.py").VALUE == 1
    assert not marker.exists()


def test_a_planted_file_beside_the_module_is_removed(root: Path, entry: Path) -> None:
    (entry / "pysd_helpers.py").write_text("import os\n", encoding="utf-8")
    again, _ = _rebuilt(root, "pysd_helpers.py was added")
    assert sorted(p.name for p in again.iterdir()) == [
        cache.COMPLETE_MARKER, "model.py", "structure.json",
    ]


def test_a_planted_folder_and_a_removed_file_are_noticed(root: Path, entry: Path) -> None:
    (entry / "plugins").mkdir(mode=0o700)
    _rebuilt(root, "plugins/ was added")
    (entry / "structure.json").unlink()
    _rebuilt(root, "structure.json was removed")


@pytest.mark.parametrize("marker", ["", "a" * 64 + "\n", "{not json", '{"format": 0}'])
def test_an_entry_without_a_valid_manifest_is_rebuilt(
    root: Path, entry: Path, marker: str
) -> None:
    (entry / cache.COMPLETE_MARKER).write_text(marker, encoding="utf-8")
    _rebuilt(root, "no valid digest manifest")


def test_a_manifest_moved_from_another_entry_does_not_count(root: Path, entry: Path) -> None:
    other = cache.ensure_entry(root, "b" * 64, _builder([]))
    (other / cache.COMPLETE_MARKER).unlink()
    os.replace(entry / cache.COMPLETE_MARKER, other / cache.COMPLETE_MARKER)
    assert cache.verify_entry(other) == "the manifest was recorded for another entry"


def test_a_world_writable_entry_or_module_is_rebuilt(root: Path, entry: Path) -> None:
    os.chmod(entry, 0o777)
    again, _ = _rebuilt(root, "the entry is writable by group or others")
    assert _mode(again) == 0o700
    os.chmod(again / "model.py", 0o666)
    again, _ = _rebuilt(root, "model.py is writable by group or others")
    assert _mode(again / "model.py") == 0o600


def test_symbolic_links_in_or_as_the_entry_are_rebuilt(
    root: Path, entry: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere.py"
    elsewhere.write_text("EVIL = True\n", encoding="utf-8")
    (entry / "model.py").unlink()
    (entry / "model.py").symlink_to(elsewhere)
    again, _ = _rebuilt(root, "model.py is a symbolic link")
    assert not (again / "model.py").is_symlink()
    target = tmp_path / "planted"
    os.rename(again, target)
    again.symlink_to(target, target_is_directory=True)
    again, _ = _rebuilt(root, "the entry is a symbolic link")
    assert not again.is_symlink() and (target / "model.py").is_file()
    assert elsewhere.read_text(encoding="utf-8") == "EVIL = True\n"


def test_bytecode_written_on_import_is_dropped_not_trusted(root: Path, entry: Path) -> None:
    pycache = entry / "__pycache__"
    pycache.mkdir(mode=0o700)
    (pycache / "model.cpython-311.pyc").write_bytes(b"planted")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cache.ensure_entry(root, KEY, _builder([])) == entry
    assert not pycache.exists()


def test_a_world_writable_root_is_refused(root: Path, entry: Path) -> None:
    os.chmod(root, 0o777)
    with pytest.raises(UnsafeCacheError, match="writable by group or others") as caught:
        cache.ensure_entry(root, KEY, _builder([]))
    message = str(caught.value)
    assert str(root) in message and f"chmod 700 {root}" in message
    assert "SDKIT_CACHE_DIR" in message and "\n" not in message


def test_existing_shared_parents_are_not_checked(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    built = cache.ensure_entry(shared / "sdkit", KEY, _builder([]))
    assert cache.verify_entry(built) is None


def test_created_folders_are_private_whatever_the_umask(tmp_path: Path) -> None:
    root = tmp_path / "missing" / "cache"
    previous = os.umask(0)
    try:
        built = cache.ensure_entry(root, KEY, _builder([]))
    finally:
        os.umask(previous)
    assert _mode(root.parent) == 0o700 and _mode(root) == 0o700 and _mode(built) == 0o700
    assert {_mode(path) for path in built.iterdir()} == {0o600}


@pytest.mark.usefixtures("chown_possible")
def test_a_root_owned_by_another_user_is_refused(root: Path, tmp_path: Path) -> None:
    root.mkdir(mode=0o700)
    os.chown(root, OTHER_UID, -1)
    with pytest.raises(UnsafeCacheError, match=f"owned by user id {OTHER_UID}") as caught:
        cache.ensure_entry(root, KEY, _builder([]))
    assert str(root) in str(caught.value)
    link = tmp_path / "link"
    link.symlink_to(root, target_is_directory=True)
    with pytest.raises(UnsafeCacheError, match=f"owned by user id {OTHER_UID}"):
        cache.ensure_entry(link, KEY, _builder([]))
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    planted = tmp_path / "planted-link"
    planted.symlink_to(private, target_is_directory=True)
    assert cache.verify_entry(cache.ensure_entry(planted, KEY, _builder([]))) is None
    os.lchown(planted, OTHER_UID, -1)
    with pytest.raises(UnsafeCacheError, match=f"{planted} is owned by user id {OTHER_UID}"):
        cache.ensure_entry(planted, KEY, _builder([]))


@pytest.mark.usefixtures("chown_possible")
def test_an_entry_or_module_owned_by_another_user_is_refused(root: Path, entry: Path) -> None:
    os.chown(entry / "model.py", OTHER_UID, -1)
    with pytest.raises(UnsafeCacheError, match=f"owned by user id {OTHER_UID}") as caught:
        cache.ensure_entry(root, KEY, _builder([]))
    assert str(entry / "model.py") in str(caught.value)
    os.chown(entry, OTHER_UID, -1)
    with pytest.raises(UnsafeCacheError, match=f"{entry} is owned by user id"):
        cache.ensure_entry(root, KEY, _builder([]))


def test_a_build_that_leaves_a_symbolic_link_is_refused(root: Path, tmp_path: Path) -> None:
    def build(folder: Path) -> None:
        (folder / "model.py").symlink_to(tmp_path / "anywhere.py")

    with pytest.raises(UnsafeCacheError, match="model.py is a symbolic link"):
        cache.ensure_entry(root, KEY, build)
    assert list(root.iterdir()) == []


def test_an_unsafe_key_is_refused(root: Path) -> None:
    with pytest.raises(ValueError, match="Invalid cache key"):
        cache.ensure_entry(root, "../escape", _builder([]))


@pytest.mark.filterwarnings("ignore::sdkit.model.cache.CacheEntryRebuiltWarning")
def test_concurrent_rebuilds_of_a_tampered_entry_agree(root: Path, entry: Path) -> None:
    with open(entry / "model.py", "a", encoding="utf-8") as stream:
        stream.write("raise SystemExit\n")
    barrier = threading.Barrier(4)
    results: list[Path] = []
    errors: list[BaseException] = []

    def build(folder: Path) -> None:
        barrier.wait(timeout=10)
        _builder([])(folder)

    def worker() -> None:
        try:
            results.append(cache.ensure_entry(root, KEY, build))
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and results == [entry] * 4
    assert cache.verify_entry(entry) is None
    assert (entry / "model.py").read_text(encoding="utf-8") == SOURCE
    assert sorted(p.name for p in root.iterdir()) == [KEY]

"""The verified-record store (sdkit.model.records) shared by the loop summaries and the program
cache."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from sdkit.errors import SdkitError, UnsafeCacheError
from sdkit.model import cache, records

NAME = "test-" + "0" * 16


class Counter:
    """A build that counts its calls, and a parse that checks the payload's types."""

    def __init__(self, value: float = 1.5) -> None:
        self.calls = 0
        self.value = value

    def build(self) -> tuple[float, dict[str, Any]]:
        self.calls += 1
        return self.value, {"value": self.value}

    @staticmethod
    def parse(payload: dict[str, Any]) -> float:
        if set(payload) != {"value"} or not isinstance(payload["value"], float):
            raise ValueError("not a value")
        return payload["value"]


def _get(root: Path, counter: Counter, fmt: str = "test-1", name: str = NAME) -> tuple:
    return records.cached_record(root, name, fmt, counter.build, counter.parse)


def _rewrite(root: Path, change, *, sign: bool = True) -> None:
    """Change the record as its owner could: resealed manifest, and a valid HMAC."""
    entry = root / NAME
    doc = json.loads((entry / records.RECORD_FILE).read_text(encoding="ascii"))
    change(doc)
    if sign:
        doc["digest"] = records.record_digest(doc["key"], doc["payload"])
    data = json.dumps(doc).encode()
    (entry / records.RECORD_FILE).write_bytes(data)
    manifest = json.loads((entry / cache.COMPLETE_MARKER).read_text(encoding="utf-8"))
    manifest["files"][records.RECORD_FILE] = hashlib.sha256(data).hexdigest()
    (entry / cache.COMPLETE_MARKER).write_text(json.dumps(manifest), encoding="utf-8")


def test_a_record_is_built_once_then_read(tmp_path: Path) -> None:
    counter = Counter()
    assert _get(tmp_path, counter) == (1.5, False)
    assert _get(tmp_path, counter) == (1.5, True)
    assert counter.calls == 1
    doc = json.loads((tmp_path / NAME / records.RECORD_FILE).read_text(encoding="ascii"))
    assert set(doc) == {"format", "key", "payload", "digest"} and doc["key"] == NAME
    if os.name == "posix":
        assert stat.S_IMODE((tmp_path / NAME / records.RECORD_FILE).stat().st_mode) == 0o600


@pytest.mark.parametrize("change, sign, problem", [
    (lambda doc: doc["payload"].update(value=9.0), False, "HMAC does not match"),
    (lambda doc: doc.update(format="other-1"), True, "not one of this model"),
    (lambda doc: doc.update(key="test-" + "1" * 16), True, "not one of this model"),
    (lambda doc: doc["payload"].update(value="9"), True, "not a value"),
    (lambda doc: doc.update(extra=1), True, "not one of this model"),
])
def test_a_changed_record_is_discarded_and_built_again(tmp_path: Path, change, sign: bool,
                                                        problem: str) -> None:
    counter = Counter()
    _get(tmp_path, counter)
    _rewrite(tmp_path, change, sign=sign)
    with pytest.warns(cache.CacheEntryRebuiltWarning, match=problem):
        assert _get(tmp_path, counter) == (1.5, False)
    assert counter.calls == 2 and _get(tmp_path, counter) == (1.5, True)


def test_a_parse_refusing_with_an_sdkit_error_rebuilds(tmp_path: Path) -> None:
    counter = Counter()
    _get(tmp_path, counter)

    def refuse(payload: dict[str, Any]) -> float:
        raise SdkitError("refused by the audit")

    with pytest.warns(cache.CacheEntryRebuiltWarning, match="refused by the audit"):
        assert records.cached_record(tmp_path, NAME, "test-1", counter.build, refuse) == \
            (1.5, False)
    assert counter.calls == 2


def test_a_record_failing_again_after_its_rebuild_raises(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process wrote a bad record between the discard and the rebuild."""
    counter = Counter()
    _get(tmp_path, counter)
    _rewrite(tmp_path, lambda doc: doc["payload"].update(value="bad"))
    real = cache.discard_entry

    def replant(entry: Path) -> None:  # the entry is back, as bad, at once
        real(entry)
        monkeypatch.setattr(cache, "discard_entry", real)
        _get(tmp_path, Counter())
        _rewrite(tmp_path, lambda doc: doc["payload"].update(value="bad"))

    monkeypatch.setattr(cache, "discard_entry", replant)
    with pytest.warns(cache.CacheEntryRebuiltWarning), \
            pytest.raises(UnsafeCacheError, match="keeps failing verification"):
        _get(tmp_path, counter)


def test_bytes_changed_without_the_manifest_are_caught_by_the_digest(tmp_path: Path) -> None:
    counter = Counter()
    _get(tmp_path, counter)
    path = tmp_path / NAME / records.RECORD_FILE
    path.write_text(path.read_text(encoding="ascii").replace("1.5", "2.5"), encoding="ascii")
    with pytest.warns(cache.CacheEntryRebuiltWarning, match="record.json changed"):
        assert _get(tmp_path, counter) == (1.5, False)


def test_a_cache_folder_that_cannot_be_written_leaves_the_result_uncached(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(root: Path, key: str, build, **kwargs) -> Path:
        build(tmp_path / "staging")  # the build runs, the entry cannot be stored
        raise OSError(28, "No space left on device")

    (tmp_path / "staging").mkdir()
    monkeypatch.setattr(cache, "ensure_entry", full)
    counter = Counter()
    assert _get(tmp_path / "cache", counter) == (1.5, False)
    assert counter.calls == 1  # computed once, not again after the failed store


def test_the_digest_is_keyed_by_the_name_and_canonical() -> None:
    payload = {"b": [1, 2.5], "a": "x"}
    assert records.record_digest(NAME, payload) == \
        records.record_digest(NAME, dict(reversed(list(payload.items()))))
    assert records.record_digest(NAME, payload) != records.record_digest(NAME + "1", payload)

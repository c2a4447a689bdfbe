"""What makes writing a briefing fast keeps the pages the same.

* Font subsets are kept in the cache folder as verified data records: a second page with
  the same characters reuses the subset (no fontTools subsetting), a record that fails a
  check (corrupt bytes, a payload that is not a font) is discarded and made again, and
  ``use_cache=False`` stores nothing.
* The page's charts go into one Bokeh document whose models are collected once, with every
  chart a root in page order.
"""

from __future__ import annotations

import base64
import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from bokeh.plotting import figure

from sdkit.model.cache import CacheEntryRebuiltWarning
from sdkit.model.records import RECORD_FILE, cached_record
from sdkit.report import fonts
from sdkit.report.briefing.page import page_document

TEXT = "政策简报 Policy briefing"


def _entries(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.name.startswith("font-")) \
        if root.is_dir() else []


def _fresh(text: str) -> bytes:
    data = fonts.subset_font(text, use_cache=False)
    assert data is not None
    return data


def _no_subsetting(*_: Any) -> bytes:
    raise AssertionError("the subset was made again instead of read from the cache")


def test_a_subset_is_made_once_and_read_back_from_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = fonts.font_face_css(TEXT, cache_dir=tmp_path)
    assert first.startswith("@font-face") and len(_entries(tmp_path)) == 1
    monkeypatch.setattr(fonts, "_subset", _no_subsetting)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheEntryRebuiltWarning)
        assert fonts.font_face_css(TEXT, cache_dir=tmp_path) == first
    # other characters are another subset: made afresh (and refused here)
    with pytest.raises(AssertionError, match="made again"):
        fonts.font_face_css(TEXT + " 生态化", cache_dir=tmp_path)


def test_the_cached_subset_is_the_subset_made_without_the_cache(tmp_path: Path) -> None:
    cached = fonts.subset_font(TEXT, cache_dir=tmp_path)
    again = fonts.subset_font(TEXT, cache_dir=tmp_path)
    assert cached is not None and cached == again
    assert cached[:4] == b"OTTO" and len(cached) == len(_fresh(TEXT))
    assert fonts.subset_font("plain", cache_dir=tmp_path) is not None
    assert fonts.subset_font("\U00020000", cache_dir=tmp_path) is None  # not in the font


def test_no_cache_stores_nothing(tmp_path: Path) -> None:
    assert fonts.font_face_css(TEXT, cache_dir=tmp_path, use_cache=False).startswith(
        "@font-face")
    assert _entries(tmp_path) == []


def test_corrupt_subset_bytes_are_discarded_and_made_again(tmp_path: Path) -> None:
    expected = fonts.subset_font(TEXT, cache_dir=tmp_path)
    (entry,) = _entries(tmp_path)
    record = entry / RECORD_FILE
    record.chmod(0o600)
    record.write_text(record.read_text("ascii").replace('"font": "T1RUTw', '"font": "T1RUTx'),
                      encoding="ascii")
    with pytest.warns(CacheEntryRebuiltWarning):
        again = fonts.subset_font(TEXT, cache_dir=tmp_path)
    # made again (fontTools stamps each subset with the time it was made: same length)
    assert expected is not None and again is not None and len(again) == len(expected)


def test_a_sealed_record_that_is_not_a_font_is_refused(tmp_path: Path) -> None:
    source = fonts.font_path()
    wanted = frozenset(ord(c) for c in TEXT) & fonts._font_codepoints(source)
    name = fonts._SUBSET_PREFIX + fonts._subset_key(source, wanted)
    # a well-formed, correctly sealed record whose bytes are a script, not a font
    payload = {"font": "PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "codepoints": sorted(wanted)}
    cached_record(tmp_path, name, fonts._SUBSET_FORMAT, lambda: (b"", payload),
                  lambda p: p)
    stored = json.loads((tmp_path / name / RECORD_FILE).read_text("ascii"))
    assert stored["payload"] == payload
    with pytest.warns(CacheEntryRebuiltWarning, match="not an OpenType"):
        data = fonts.subset_font(TEXT, cache_dir=tmp_path)
    assert data is not None and data[:4] == b"OTTO"


def test_a_subset_of_other_characters_is_refused(tmp_path: Path) -> None:
    source = fonts.font_path()
    wanted = frozenset(ord(c) for c in TEXT) & fonts._font_codepoints(source)
    name = fonts._SUBSET_PREFIX + fonts._subset_key(source, wanted)
    good = _fresh("中")

    payload = {"font": base64.b64encode(good).decode("ascii"), "codepoints": [ord("中")]}
    cached_record(tmp_path, name, fonts._SUBSET_FORMAT, lambda: (b"", payload),
                  lambda p: p)
    with pytest.warns(CacheEntryRebuiltWarning, match="not a font subset of these"):
        data = fonts.subset_font(TEXT, cache_dir=tmp_path)
    assert data is not None and len(data) == len(_fresh(TEXT)) > len(good)


def test_the_page_document_has_every_chart_as_a_root_in_order() -> None:
    charts = [figure(name=f"chart_{i}") for i in range(5)]
    for chart in charts:
        chart.line([0, 1], [0, 1])
    doc = page_document(charts)
    assert [root.name for root in doc.roots] == [f"chart_{i}" for i in range(5)]
    every = set().union(*(chart.references() for chart in charts))
    assert {m.id for m in every} == set(doc.models._models)
    assert all(m.document is doc for m in every)

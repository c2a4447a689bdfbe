"""The loop-summary cache (sdkit.loops.summary, sdkit.model.records): hits, misses, tampering."""

from __future__ import annotations

import hashlib
import hmac
import json
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from test_loop_families import CARD, CROWDING, write

import sdkit
from sdkit.errors import UnsafeCacheError
from sdkit.loops import loop_dominance, ltm
from sdkit.loops.summary import ENTRY_PREFIX, loop_summary, summarize
from sdkit.model import cache
from sdkit.model.records import RECORD_FILE, frame_from_data, frame_to_data
from sdkit.report.briefing import inputs as briefing_inputs


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture()
def crowding(tmp_path: Path):
    path = write(tmp_path, "crowding", CROWDING, CARD)
    model = sdkit.load_model(path)
    return model, model.run()


@pytest.fixture()
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the loop-dominance computations (the summary's only expensive step)."""
    calls: list[int] = []
    real = ltm.loop_dominance

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(ltm, "loop_dominance", counting)
    return calls


def _entries(root: Path) -> list[Path]:
    return sorted(root.glob(ENTRY_PREFIX + "*"))


def _same(a, b) -> None:
    for name in ("relative", "families", "loops", "coverage"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    assert a.family_names == b.family_names
    assert (a.time_step, a.window, a.loop_count) == (b.time_step, b.window, b.loop_count)


def _rewrite(entry: Path, change, *, sign: bool = True) -> None:
    """Change the stored record as the cache's owner could: a resealed manifest and,
    with ``sign``, a valid HMAC (its key is no secret)."""
    doc = json.loads((entry / RECORD_FILE).read_text(encoding="ascii"))
    change(doc)
    if sign:
        text = json.dumps(doc["payload"], sort_keys=True, separators=(",", ":"),
                          ensure_ascii=True)
        doc["digest"] = hmac.new(doc["key"].encode(), text.encode(), hashlib.sha256).hexdigest()
    data = json.dumps(doc).encode()
    (entry / RECORD_FILE).write_bytes(data)
    manifest_path = entry / cache.COMPLETE_MARKER
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["files"][RECORD_FILE] = hashlib.sha256(data).hexdigest()
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")


def test_a_warm_call_returns_the_same_summary_from_the_cache(crowding, root, counted):
    model, run = crowding
    first = loop_summary(model, run, window=0, cache_dir=root)
    assert not first.cached and len(counted) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = loop_summary(model, run, window=0, cache_dir=root)
    assert second.cached and len(counted) == 1
    _same(first, second)
    _same(second, summarize(loop_dominance(model, run, window=0)))
    assert not second.families.empty and second.family_names["crowding"]["zh"] == "拥挤"
    assert len(_entries(root)) == 1
    assert not any(p.name.startswith(ENTRY_PREFIX) for p in Path(model.path).parent.iterdir())


def test_a_changed_model_misses_the_cache(crowding, root, counted, tmp_path):
    model, run = crowding
    loop_summary(model, run, cache_dir=root)
    path = Path(model.path)
    path.write_text(path.read_text(encoding="utf-8").replace("0.5", "0.6"), encoding="utf-8")
    changed = sdkit.load_model(path)
    summary = loop_summary(changed, changed.run(), cache_dir=root)
    assert not summary.cached and len(counted) == 2 and len(_entries(root)) == 2


@pytest.mark.parametrize("change", ["params", "window", "time_step", "results", "card"])
def test_changed_run_inputs_miss_the_cache(crowding, root, counted, change):
    model, run = crowding
    loop_summary(model, run, cache_dir=root)
    kwargs: dict = {"cache_dir": root}
    if change == "params":
        kwargs["params"] = {"growth": 0.6}
        run = model.run({"growth": 0.6})
    elif change == "window":
        kwargs["window"] = 2.0
    elif change == "time_step":
        kwargs["time_step"] = 0.125
        run = model.run(time_step=0.125, saveper=0.25)
    elif change == "results":
        run = run.copy()
        run.iloc[-1, 0] = np.nextafter(run.iloc[-1, 0], np.inf)  # saved every step: used
    else:
        from sdkit.model.card import load_card

        card = load_card(Path(model.path).with_suffix(".toml"))
        kwargs["card"] = type(card)(path=card.path, loops=card.loops)
    assert not loop_summary(model, run, **kwargs).cached
    assert len(counted) == 2 and len(_entries(root)) == 2


def test_a_tampered_file_is_recomputed_not_trusted(crowding, root, counted):
    model, run = crowding
    fresh = loop_summary(model, run, cache_dir=root)
    entry = _entries(root)[0]
    text = (entry / RECORD_FILE).read_text(encoding="ascii")
    (entry / RECORD_FILE).write_text(text.replace('"crowding"', '"planted"', 1), encoding="ascii")
    with pytest.warns(cache.CacheEntryRebuiltWarning, match="record.json changed"):
        again = loop_summary(model, run, cache_dir=root)
    assert not again.cached and len(counted) == 2
    _same(fresh, again)
    assert loop_summary(model, run, cache_dir=root).cached


def _planted_name(doc: dict) -> None:
    doc["payload"]["family_names"]["crowding"]["en"] = "planted"


def _object_scores(doc: dict) -> None:
    doc["payload"]["relative"]["values"][2] = {"dtype": "object", "values": [1.0]}


def _extra_field(doc: dict) -> None:
    doc["payload"]["code"] = "__import__('os').system('true')"


def _other_key(doc: dict) -> None:
    doc["key"] = ENTRY_PREFIX + "0" * 64


def _short_column(doc: dict) -> None:
    doc["payload"]["relative"]["values"][0]["values"].pop()


@pytest.mark.parametrize("change,sign", [
    (_planted_name, False), (_object_scores, True), (_extra_field, True), (_other_key, True),
    (_short_column, True)])
def test_a_resealed_tampered_record_is_refused(crowding, root, counted, change, sign):
    model, run = crowding
    fresh = loop_summary(model, run, cache_dir=root)
    _rewrite(_entries(root)[0], change, sign=sign)
    with pytest.warns(cache.CacheEntryRebuiltWarning, match="failed verification"):
        again = loop_summary(model, run, cache_dir=root)
    assert not again.cached and len(counted) == 2
    _same(fresh, again)


def test_a_record_that_keeps_failing_is_an_error(crowding, root, monkeypatch):
    """A bad record that comes back after it was discarded (another process writing it
    again) is not trusted either: an error, not a loop."""
    model, run = crowding
    loop_summary(model, run, cache_dir=root)
    _rewrite(_entries(root)[0], _planted_name, sign=False)
    monkeypatch.setattr(cache, "discard_entry", lambda entry: None)
    with pytest.raises(UnsafeCacheError, match="keeps failing"), \
            pytest.warns(cache.CacheEntryRebuiltWarning):
        loop_summary(model, run, cache_dir=root)


def test_an_unwritable_cache_computes_without_storing(crowding, root, monkeypatch, counted):
    model, run = crowding

    def refuse(*args, **kwargs):
        raise PermissionError("read-only")

    monkeypatch.setattr(cache, "ensure_entry", refuse)
    summary = loop_summary(model, run, cache_dir=root)
    assert not summary.cached and len(counted) == 1
    assert loop_summary(model, run, cache_results=False, cache_dir=root).loop_count == \
        summary.loop_count


def test_tables_round_trip_exactly_and_odd_tables_are_refused() -> None:
    frame = pd.DataFrame({"time": [0.1, np.nan, -0.0, np.inf], "loop": ["R1", "B1", "L2", "x"],
                          "sign": [1, -1, 0, 1], "flag": [True, False, True, True]},
                         index=pd.Index([2.5, 3.0, 4.0, 5.0], name="time"))
    data = json.loads(json.dumps(frame_to_data(frame)))
    pd.testing.assert_frame_equal(frame_from_data(data), frame, check_exact=True)
    wide = pd.DataFrame({1: [0.5], 2: [np.nan]})
    pd.testing.assert_frame_equal(frame_from_data(frame_to_data(wide)), wide)
    data["values"][2] = {"dtype": "int64", "values": [True, 0, 0, 1]}
    with pytest.raises(ValueError):
        frame_from_data(data)
    with pytest.raises(ValueError):
        frame_from_data({"index": {"name": None, "range": [0, 1, 0]}, "columns": {
            "name": None, "range": [0, 0, 1]}, "values": []})
    with pytest.raises(TypeError):
        frame_to_data(pd.DataFrame({"when": pd.to_datetime(["2020-01-01"])}))


LOOPS = """
[[loops]]
id = "B1"
polarity = "balancing"
name_en = "crowding"
name_zh = "拥挤"
cycle = ["Stock", "effect", "inflow"]
"""


def test_the_briefing_reads_its_loop_scores_from_the_cache(tmp_path, counted):
    from sdkit.model.card import load_card

    path = write(tmp_path, "crowding", CROWDING, CARD + LOOPS)
    model = sdkit.load_model(path)
    run = model.run()

    scenario = SimpleNamespace(name="base", params=lambda m: {}, run_settings={})
    plan = SimpleNamespace(card=load_card(Path(model.path).with_suffix(".toml")),
                           scenarios=[scenario], base="base", model=model)
    results = SimpleNamespace(wide=lambda name: run)
    said: list[str] = []
    first = briefing_inputs._loop_scores(plan, results, said.append)
    second = briefing_inputs._loop_scores(plan, results, said.append)
    assert len(counted) == 1 and said[-1].strip() == "loop dominance read from the cache"
    pd.testing.assert_frame_equal(first[0], second[0], check_exact=True)
    assert first[1] == second[1] and set(first[1]) == {"crowding", "growth"}
    assert set(first[0]["loop"]) >= {"crowding", "growth"}

"""Loading: the translation cache, and metadata available without running."""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY_MDL, write_model

import sdkit
from sdkit.model import cache
from sdkit.model import core as model_module


def test_translation_goes_to_the_cache_not_beside_the_model(
    tmp_path: Path, sdkit_cache: Path
) -> None:
    source = write_model(tmp_path, "tiny.mdl", TINY_MDL)
    loaded = sdkit.load_model(source)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.mdl"]
    translation = loaded._py_path
    assert translation.is_file()
    assert translation.parent.parent == sdkit_cache
    assert tmp_path not in translation.parents


def test_second_load_reuses_the_translation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_dir = tmp_path / "cache"
    source = write_model(tmp_path, "tiny.mdl", TINY_MDL)
    first = sdkit.load_model(source, cache_dir=cache_dir)
    stamp = first._py_path.stat().st_mtime_ns

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model was translated again")

    monkeypatch.setattr(model_module, "translate", fail)
    second = sdkit.load_model(source, cache_dir=cache_dir)
    assert second._py_path == first._py_path
    assert second._py_path.stat().st_mtime_ns == stamp
    assert len([p for p in cache_dir.iterdir() if not p.name.startswith(".")]) == 1


def test_editing_the_model_gives_a_new_cache_entry(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    source = write_model(tmp_path, "tiny.mdl", TINY_MDL)
    first = sdkit.load_model(source, cache_dir=cache_dir)
    source.write_text(TINY_MDL.replace("\t70\n", "\t75\n"), encoding="utf-8")
    second = sdkit.load_model(source, cache_dir=cache_dir)
    assert second._py_path != first._py_path
    assert second.run()["lifetime"].iloc[0] == 75


def test_cache_root_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDKIT_CACHE_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_root() == tmp_path / "explicit"
    assert cache.cache_root(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv("SDKIT_CACHE_DIR")
    assert cache.cache_root() == tmp_path / "xdg" / "sdkit"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.cache_root() == tmp_path / "home" / ".cache" / "sdkit"


def test_cache_key_depends_on_content_and_versions() -> None:
    key = cache.cache_key(b"model", "3.14.3", "0.1.0")
    assert key == cache.cache_key(b"model", "3.14.3", "0.1.0")
    assert key != cache.cache_key(b"model!", "3.14.3", "0.1.0")
    assert key != cache.cache_key(b"model", "3.14.4", "0.1.0")
    assert len(key) == 64


def test_concurrent_builders_leave_one_complete_entry(tmp_path: Path) -> None:
    barrier = threading.Barrier(4)
    results: list[Path] = []

    def build(folder: Path) -> None:
        barrier.wait(timeout=10)
        (folder / "model.py").write_text(f"# {threading.get_ident()}\n")

    def worker() -> None:
        results.append(cache.ensure_entry(tmp_path, "k" * 64, build))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and len(set(results)) == 1
    entry = results[0]
    assert (entry / cache.COMPLETE_MARKER).is_file() and (entry / "model.py").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k" * 64]


def test_failed_build_leaves_no_entry(tmp_path: Path) -> None:
    def build(folder: Path) -> None:
        (folder / "partial").write_text("x")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        cache.ensure_entry(tmp_path, "f" * 64, build)
    assert list(tmp_path.iterdir()) == []


def test_metadata_without_running(tiny_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pysd.py_backend.model as pysd_model

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model was run")

    monkeypatch.setattr(pysd_model.Model, "run", refuse)
    loaded = sdkit.load_model(tiny_path)
    kinds = {name: var.kind for name, var in loaded.variables.items()}
    assert kinds == {
        "Population": "stock", "births": "flow", "deaths": "flow", "net growth": "auxiliary",
        "birth rate": "constant", "lifetime": "constant", "policy level": "constant",
        "initial population": "constant", "policy effect": "lookup",
        "FINAL TIME": "control", "INITIAL TIME": "control", "SAVEPER": "control",
        "TIME STEP": "control",
    }
    policy = loaded.variable("policy level")
    assert policy.limits == (0.0, 10.0)
    assert policy.units == "dmnl"
    assert policy.comment == "Policy intensity on a scale from 0 to 10."
    assert loaded.variable("Population").limits == (0.0, None)
    assert loaded.variable("initial population").limits == (None, None)
    assert (loaded.initial_time, loaded.final_time, loaded.time_step, loaded.saveper) == (
        0.0, 20.0, 0.25, 0.25)


def test_variables_are_in_model_order(tiny: sdkit.model.core.Model) -> None:
    assert list(tiny.variables)[:4] == ["Population", "births", "deaths", "net growth"]
    assert [v.name for v in tiny.stocks()] == ["Population"]
    assert [v.name for v in tiny.constants()] == [
        "birth rate", "lifetime", "policy level", "initial population"]


def test_doc_table(tiny: sdkit.model.core.Model) -> None:
    doc = tiny.doc()
    assert list(doc.columns) == ["name", "py_name", "kind", "units", "min", "max", "comment"]
    row = doc.set_index("name").loc["birth rate"]
    assert (row["py_name"], row["kind"], row["min"], row["max"]) == (
        "birth_rate", "constant", 0.0, 0.1)
    assert pd.isna(doc.set_index("name").loc["Population", "max"])


@pytest.mark.parametrize("name", ["policy level", "Policy Level", "policy_level",
                                  "POLICY  LEVEL", " policy level "])
def test_variable_lookup_is_forgiving(tiny: sdkit.model.core.Model, name: str) -> None:
    assert tiny.variable(name).name == "policy level"


def test_teacup_metadata(teacup: sdkit.model.core.Model) -> None:
    assert teacup.format == "vensim"
    assert teacup.variable("Heat Loss to Room").kind == "flow"
    assert teacup.variable("Teacup Temperature").limits == (32.0, 212.0)
    assert teacup.variable("Room Temperature").limits == (-459.67, None)
    assert teacup.variable("Teacup Temperature").units == "Degrees Fahrenheit"


def test_xmile_teacup_metadata(conformance: Path) -> None:
    loaded = sdkit.load_model(conformance / "samples" / "teacup" / "teacup.xmile")
    assert loaded.format == "xmile"
    assert loaded.variable("Heat Loss to Room").kind == "flow"
    assert loaded.variable("Teacup Temperature").kind == "stock"
    assert loaded.variable("Room Temperature").comment == "Ambient Room Temperature"


def test_subscripts_are_read_once_and_held_by_the_model(tmp_path, monkeypatch) -> None:
    """No module-level table: a model holds its subscript ranges (read on first use)."""
    from sdkit.model import core
    from sdkit.sensitivity.study_spec import subscripted_variables

    text = ("{UTF-8}\nregion: north, south\n\t~\t\n\t~\t\n\t|\n\n"
            "demand[region]= 1, 2\n\t~\tunits\n\t~\tDemand per region.\n\t|\n\n"
            "total= SUM(demand[region!])\n\t~\tunits\n\t~\tAll demand.\n\t|\n\n"
            "FINAL TIME = 2\n\t~\tyear\n\t~\t\n\t|\nINITIAL TIME = 0\n\t~\tyear\n\t~\t\n\t|\n"
            "SAVEPER = 1\n\t~\tyear\n\t~\t\n\t|\nTIME STEP = 1\n\t~\tyear\n\t~\t\n\t|\n")
    path = tmp_path / "regions.mdl"
    path.write_text(text, encoding="utf-8")
    model = sdkit.load_model(path, cache_dir=tmp_path / "cache")
    calls = []
    real = core.load_translation
    monkeypatch.setattr(core, "load_translation", lambda *a: calls.append(a) or real(*a))
    assert subscripted_variables(model) == {"demand": ("region",)}
    assert subscripted_variables(model) == model.subscripts and len(calls) == 1
    other = sdkit.load_model(path, cache_dir=tmp_path / "cache")
    assert "subscripts" not in vars(other)  # each model its own, read when asked

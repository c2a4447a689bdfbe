"""The IR stored beside a translation: read back exactly, or not at all (one parse a model).

A model translated once and loaded again from the cache reads its IR from the entry's
``ir.json`` (:mod:`sdkit.ir.record`) instead of parsing the file a second time; what is
read is data checked field by field, never executed.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import EMPOWERMENT_MDL

import sdkit
from sdkit.ir.core import build_ir
from sdkit.ir.record import ir_from_data, ir_to_data, read_stored_ir
from sdkit.model.translation import IR_FILE

MODELS = ["tests/lookups/test_lookups.mdl", "tests/delays/test_delays.mdl",
          "tests/smooth/test_smooth.mdl", "tests/subscript_1d_arrays/test_subscript_1d_arrays.mdl",
          "tests/forecast/test_forecast.mdl", "tests/macro_stock/test_macro_stock.mdl",
          "tests/lookups_inline/test_lookups_inline.mdl"]


def _round_trip(ir):
    return ir_from_data(json.loads(json.dumps(ir_to_data(ir))), ir.path)


def test_the_empowerment_models_ir_reads_back_equal() -> None:
    ir = build_ir(EMPOWERMENT_MDL)
    assert _round_trip(ir) == ir


@pytest.mark.parametrize("name", MODELS)
def test_conformance_models_read_back_equal(conformance: Path, name: str) -> None:
    ir = build_ir(conformance / name)
    assert _round_trip(ir) == ir


def test_a_model_loaded_from_the_cache_is_not_parsed_again(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    cache = tmp_path / "cache"
    first = sdkit.load_model(EMPOWERMENT_MDL, cache_dir=cache)
    again = sdkit.load_model(EMPOWERMENT_MDL, cache_dir=cache)

    def no_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model file was parsed again")

    monkeypatch.setattr("sdkit.ir.convert.abstract_model", no_parse)
    monkeypatch.setattr("sdkit.model.translation.read_abstract", no_parse)
    assert replace(again.ir, path=None) == replace(first.ir, path=None)
    assert again.ir.path == again.path


@pytest.mark.parametrize("garble", [
    lambda d: {**d, "format": "sdkit-ir-0"},
    lambda d: {**d, "variables": [{**d["variables"][0], "equation": ["exec", "import os"]}]},
    lambda d: {**d, "variables": [{**d["variables"][0], "name": 3}]},
    lambda d: {**d, "variables": [{**d["variables"][0], "extra": 1}]},
    lambda d: {**d, "stocks": [{**d["stocks"][0], "rate": ["num", True]}]},
    lambda d: {**d, "stocks": [{**d["stocks"][0], "rate": ["bin", "+", ["ref", "a"]]}]},
    lambda d: {**d, "hidden": "all"},
])
def test_anything_but_a_stored_ir_is_refused_and_the_model_parsed(tmp_path: Path,
                                                                   garble) -> None:
    data = ir_to_data(build_ir(EMPOWERMENT_MDL))
    stored = tmp_path / IR_FILE
    stored.write_text(json.dumps(garble(data)), encoding="utf-8")
    assert read_stored_ir(stored, None) is None
    with pytest.raises(ValueError):
        ir_from_data(garble(data), None)
    stored.write_text(json.dumps(data), encoding="utf-8")
    ir = build_ir(EMPOWERMENT_MDL)
    assert read_stored_ir(stored, ir.path) == ir

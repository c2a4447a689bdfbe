"""The exception hierarchy, and that the library raises the typed errors."""

from __future__ import annotations

import inspect
import math
import warnings
from pathlib import Path

import pandas as pd
import pytest
from conftest import NAN_MDL, write_model

import sdkit
from sdkit import errors
from sdkit.errors import (
    ModelFileNotFoundError,
    ModelParseError,
    ParameterValueError,
    ScenarioError,
    SdkitError,
    SimulationError,
    UnknownVariableError,
)


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (ModelFileNotFoundError, FileNotFoundError),
        (ModelParseError, ValueError),
        (UnknownVariableError, KeyError),
        (ParameterValueError, ValueError),
        (SimulationError, ArithmeticError),
        (ScenarioError, ValueError),
    ],
)
def test_each_error_is_an_sdkit_error_and_a_builtin(error: type, builtin: type) -> None:
    assert issubclass(error, SdkitError)
    assert issubclass(error, builtin)


def test_errors_module_defines_only_the_hierarchy() -> None:
    classes = {name for name, obj in inspect.getmembers(errors, inspect.isclass)
               if obj.__module__ == "sdkit.errors"}
    assert classes == set(errors.__all__)
    assert all(issubclass(getattr(errors, name), SdkitError) for name in classes)


def test_unknown_variable_error_reads_as_a_sentence() -> None:
    err = UnknownVariableError("Room Temp", ["Room Temperature"])
    assert err.name == "Room Temp"
    assert err.suggestions == ("Room Temperature",)
    text = str(err)
    assert text.startswith("Unknown variable 'Room Temp'")
    assert text.endswith("?")
    assert not text.startswith('"')


def test_scenario_error_keeps_path_and_key() -> None:
    err = ScenarioError("Bad value.", path="s.toml", key="growth")
    assert (err.path, err.key, str(err)) == ("s.toml", "growth", "Bad value.")


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileNotFoundError, match="not found"):
        sdkit.load_model(tmp_path / "absent.mdl")


def test_unknown_suffix_lists_the_known_ones(tmp_path: Path) -> None:
    path = tmp_path / "model.txt"
    path.write_text("x = 1")
    with pytest.raises(ModelParseError) as info:
        sdkit.load_model(path)
    for suffix in (".mdl", ".xmile", ".xml", ".stmx"):
        assert suffix in str(info.value)


def test_untranslatable_model_names_the_file_and_keeps_the_cause(garbage_path: Path) -> None:
    with pytest.raises(ModelParseError) as info:
        sdkit.load_model(garbage_path)
    assert str(garbage_path) in str(info.value)
    assert info.value.__cause__ is not None


def test_missing_external_data_file(external_path: Path) -> None:
    with pytest.raises(ModelParseError, match="external data files are not supported"):
        sdkit.load_model(external_path)


def test_unknown_variable_suggests_close_matches(tiny: sdkit.model.core.Model) -> None:
    with pytest.raises(UnknownVariableError) as info:
        tiny.run({"birth rat": 0.02})
    assert info.value.name == "birth rat"
    assert "birth rate" in info.value.suggestions
    assert 0 < len(info.value.suggestions) <= 3
    with pytest.raises(UnknownVariableError):
        tiny.variable("zzzz")


@pytest.mark.parametrize(("name", "kind"), [("Population", "stock"), ("births", "flow"),
                                            ("net growth", "auxiliary"),
                                            ("policy effect", "lookup"),
                                            ("FINAL TIME", "control")])
def test_only_constants_can_be_overridden(tiny: sdkit.model.core.Model, name: str,
                                          kind: str) -> None:
    with pytest.raises(ParameterValueError, match=kind):
        tiny.run({name: 1.0})


@pytest.mark.parametrize("value", ["0.02", True, None, [0.02], complex(1, 0)])
def test_non_numeric_values_are_rejected(tiny: sdkit.model.core.Model, value: object) -> None:
    with pytest.raises(ParameterValueError, match="not a number") as info:
        tiny.run({"birth rate": value})
    assert repr(value) in str(info.value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_values_are_rejected(tiny: sdkit.model.core.Model, value: float) -> None:
    with pytest.raises(ParameterValueError, match="not finite"):
        tiny.run({"lifetime": value})


@pytest.mark.parametrize(("name", "value", "shown"), [("policy level", 11, "[0, 10]"),
                                                      ("policy level", -0.5, "[0, 10]"),
                                                      ("birth rate", 0.2, "[0, 0.1]")])
def test_values_outside_the_documented_range_are_rejected(
    tiny: sdkit.model.core.Model, name: str, value: float, shown: str
) -> None:
    with pytest.raises(ParameterValueError) as info:
        tiny.run({name: value})
    assert f"{value:g}" in str(info.value)
    assert shown in str(info.value)


def test_series_values_are_validated(tiny: sdkit.model.core.Model) -> None:
    series = pd.Series([5.0, 12.0], index=[0.0, 20.0])
    with pytest.raises(ParameterValueError, match=r"12.*\[0, 10\]"):
        tiny.run({"policy level": series})
    with pytest.raises(ParameterValueError, match="not finite"):
        tiny.run({"policy level": pd.Series([5.0, math.nan], index=[0.0, 20.0])})


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"final_time": -1}, "greater than the initial time"),
        ({"final_time": 0}, "greater than the initial time"),
        ({"time_step": 0}, "time_step must be positive"),
        ({"time_step": -0.25}, "time_step must be positive"),
        ({"saveper": 0.3}, "whole multiple"),
        ({"saveper": 0.125}, "whole multiple"),
        ({"final_time": "10"}, "not a number"),
        ({"time_step": math.nan}, "not finite"),
    ],
)
def test_invalid_time_settings(tiny: sdkit.model.core.Model, settings: dict, message: str) -> None:
    with pytest.raises(ParameterValueError, match=message):
        tiny.run(**settings)


def test_nan_results_raise_simulation_error_naming_time_and_variable(nan_path: Path) -> None:
    model = sdkit.load_model(nan_path)
    with warnings.catch_warnings(record=True) as caught, \
            pytest.raises(SimulationError) as info:
        warnings.simplefilter("always")
        model.run()
    assert "'bad'" in str(info.value)
    assert "time 5" in str(info.value)
    # numpy's "invalid value encountered in log" is not shown: the error says it all
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]


def test_division_by_zero_raises_simulation_error_naming_the_time(tmp_path: Path) -> None:
    text = NAN_MDL.replace("bad = LN(5 - Time)", "bad = 1 / (5 - Time)")
    model = sdkit.load_model(write_model(tmp_path, "zero.mdl", text))
    with pytest.raises(SimulationError, match="at time 5") as info:
        model.run()
    assert isinstance(info.value.__cause__, ZeroDivisionError)

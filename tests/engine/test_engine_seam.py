"""One backend seam: ``engine="auto" | "pysd" | "ensemble"`` for single runs and scenarios,
with what ran recorded in the results."""

from __future__ import annotations

import pandas as pd
import pytest

from sdkit.errors import ParameterValueError, UnsupportedConstructError
from sdkit.scenarios.runner import run_scenarios
from sdkit.scenarios.spec import load_scenarios

SETTINGS = {"talent budget share": 0.5, "talent push start": 2017.0}


def test_auto_equals_pysd_bit_for_bit_and_says_what_ran(empowerment):
    pysd = empowerment.run(SETTINGS, engine="pysd")
    auto = empowerment.run(SETTINGS, engine="auto")
    assert pysd.attrs["engine"] == "pysd" and auto.attrs["engine"] == "ensemble"
    # same columns, order, dtypes (integer columns included) and values
    pd.testing.assert_frame_equal(auto, pysd, check_exact=True)


def test_return_columns_and_time_settings_reach_the_engine(empowerment):
    auto = empowerment.run(SETTINGS, engine="ensemble", final_time=2020, saveper=0.5,
                           return_columns=["Transaction volume", "budget limit"])
    pysd = empowerment.run(SETTINGS, engine="pysd", final_time=2020, saveper=0.5,
                           return_columns=["Transaction volume", "budget limit"])
    pd.testing.assert_frame_equal(auto, pysd, check_exact=True)
    assert list(auto.columns) == ["Transaction volume", "budget limit"]


def test_auto_falls_back_to_pysd_where_the_engine_refuses(empowerment):
    ramp = pd.Series([0.45, 0.6], index=[empowerment.initial_time, empowerment.final_time])
    run = empowerment.run({"talent budget share": ramp}, engine="auto")
    assert run.attrs["engine"] == "pysd"
    with pytest.raises(UnsupportedConstructError, match="time-series"):
        empowerment.run({"talent budget share": ramp}, engine="ensemble")


def test_an_unknown_engine_names_the_valid_ones(empowerment):
    with pytest.raises(ParameterValueError, match=r"'numba' is not an engine.*'auto'"):
        empowerment.run(engine="numba")


def test_scenario_results_record_the_engine_of_each_run(tmp_path, empowerment):
    text = ('name = "{name}"\nmodel = "{model}"\ntitle = {{ en = "A", zh = "甲" }}\n'
            'description = {{ en = "A run.", zh = "一次运行。" }}\n{extra}[run]\n'
            'final_time = 2017\n')
    model = empowerment.path.as_posix()
    (tmp_path / "flat.toml").write_text(text.format(name="flat", model=model, extra=""),
                                        encoding="utf-8")
    ramp = ('[inputs."attrition rate"]\nform = "step"\nbefore = 0.18\nafter = 0.12\n'
            'time = 2016\n')
    (tmp_path / "step.toml").write_text(text.format(name="step", model=model, extra=ramp),
                                        encoding="utf-8")
    scenarios = load_scenarios(tmp_path)
    auto = run_scenarios(scenarios)
    assert auto.engines == {"flat": "ensemble", "step": "pysd"}
    pysd = run_scenarios(scenarios, engine="pysd")
    assert set(pysd.engines.values()) == {"pysd"}
    pd.testing.assert_frame_equal(auto.results, pysd.results, check_exact=True)

"""Scenario files: the shipped set, the schema, every kind of bad file, input forms."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import EMPOWERMENT_MDL, SCENARIOS_DIR

from sdkit.errors import ParameterValueError, ScenarioError
from sdkit.scenarios.inputs import FORMS, TimeInput, time_grid
from sdkit.scenarios.spec import load_scenario, load_scenarios, scenario_files

REQUIRED = {
    "baseline", "talent-light", "technology-light", "talent-first", "talent-push-stage-2",
    "talent-cut-stage-2", "no-embedded-representatives", "no-expert-confirmation",
    "never-ecologize", "early-ecologization", "competitor-entry", "steel-downturn-2022",
    "no-2020-push", "high-uncertainty-agrifood", "no-employee-share-scheme",
}
#: The budget shares a reallocation moves between; their sum stays the same.

VALID = """\
name = "probe"
model = "{model}"

[title]
en = "Probe"
zh = "探针"

[description]
en = "A probe."
zh = "探针。"

[constants]
"talent budget share" = 0.2

[inputs."attrition rate"]
form = "step"
before = 0.1
after = 0.05
time = 2018

[run]
final_time = 2020
"""

STEP = """form = "step"
before = 0.1
after = 0.05
time = 2018"""


def write(folder: Path, text: str, name: str = "probe.toml") -> Path:
    path = folder / name
    path.write_text(text.replace("{model}", EMPOWERMENT_MDL.as_posix()), encoding="utf-8")
    return path


# --- the shipped scenarios ------------------------------------------------------------


def test_shipped_scenarios_cover_the_required_set(shipped_scenarios):
    names = [s.name for s in shipped_scenarios]
    assert REQUIRED <= set(names)
    assert [s.path.stem for s in shipped_scenarios] == names
    for scenario in shipped_scenarios:
        for text in (scenario.title, scenario.description):
            assert set(text) == {"en", "zh"}
            assert re.search(r"[\u4e00-\u9fff]", text["zh"]), scenario.name
        # every description opens with the question the scenario answers
        assert scenario.description["en"].startswith("Question: "), scenario.name
        assert scenario.description["zh"].startswith("问题："), scenario.name
        assert len(scenario.description["en"]) > 200, scenario.name
        assert scenario.model_path.resolve() == EMPOWERMENT_MDL.resolve()
        # the bands run every scenario with the engine: constants only, one run setting
        assert not scenario.inputs and not scenario.run_settings, scenario.name


def test_shipped_scenarios_change_what_their_names_say(shipped_scenarios, baseline):
    by = {s.name: s.constants for s in shipped_scenarios}

    def base(name: str) -> float:
        return float(baseline[name].iloc[0])

    assert not by["baseline"]
    talent, tech = "talent budget share", "technology budget share"
    # reallocations: two thirds of one share taken, the other share raised (the spending
    # they give is checked in tests/scenarios/test_runner.py)
    for light, other in (("talent-light", tech), ("technology-light", talent)):
        cut = talent if other == tech else tech
        assert by[light][cut] <= base(cut) / 2 and by[light][other] > base(other)
        assert set(by[light]) == {talent, tech}, light
    # the timing question: the same money, in stage 1 and in stage 2 of the baseline
    first, second = by["talent-first"], by["talent-push-stage-2"]
    for key in ("talent push amount", "talent push duration"):
        assert first[key] == second[key]
    assert first["talent push amount"] > 0 and "talent cut fraction" not in first
    assert first["talent push start"] + first["talent push duration"] <= 2017
    assert 2017 <= second["talent push start"] < second["talent push start"] + \
        second["talent push duration"] <= 2020
    cut = by["talent-cut-stage-2"]
    assert cut["talent cut fraction"] > 0 and 2017 <= cut["talent push start"]
    assert "talent push amount" not in cut
    assert cut["talent push start"] + cut["talent push duration"] <= 2020.5
    assert by["no-embedded-representatives"] == {"embedded representative switch": 0}
    assert by["no-expert-confirmation"] == {"expert confirmation switch": 0}
    assert by["never-ecologize"] == {"never ecologize switch": 1}
    assert by["early-ecologization"] == {"early ecologization switch": 1,
                                         "early ecologization time": 2016}
    assert by["competitor-entry"]["competitor switch"] == 1
    assert by["steel-downturn-2022"]["downturn switch"] == 1
    assert by["steel-downturn-2022"]["downturn start"] == 2022
    assert by["no-2020-push"] == {"environmental push switch": 0}
    assert by["high-uncertainty-agrifood"] == {"industry uncertainty shift": 1}
    assert by["no-employee-share-scheme"] == {"employee share scheme switch": 0}
    # the assumptions a scenario depends on stay at the model's value, so the bands vary them
    for name in ("competitor utility gain", "downturn duration"):
        assert all(name not in constants for constants in by.values())


def test_params_sample_inputs_on_the_integration_grid(empowerment, tmp_path):
    scenario = load_scenario(write(tmp_path, VALID), model=empowerment)
    series = scenario.params(empowerment)["attrition rate"]
    grid = time_grid(empowerment.initial_time, 2020, empowerment.time_step)
    np.testing.assert_array_equal(series.index.to_numpy(), grid)
    switch = scenario.inputs["attrition rate"].settings["time"]
    assert (series[series.index < switch] == 0.1).all()
    assert (series[series.index >= switch] == 0.05).all()


def test_load_scenario_with_relative_model_path(tmp_path, empowerment):
    folder = tmp_path / "nested"
    folder.mkdir()
    (tmp_path / "model.mdl").write_bytes(EMPOWERMENT_MDL.read_bytes())
    path = folder / "probe.toml"
    path.write_text(VALID.replace("{model}", "../model.mdl"), encoding="utf-8")
    scenario = load_scenario(path)
    assert scenario.model_path == tmp_path / "model.mdl"
    assert scenario.constants == {"talent budget share": 0.2}
    assert scenario.run_settings == {"final_time": 2020.0}
    params = scenario.params(empowerment)
    assert params["attrition rate"].index[-1] == 2020.0


# --- bad files ------------------------------------------------------------------------

TABLE = 'form = "table"\ntimes = [{times}]\nvalues = [{values}]'
BAD = {
    "unknown top key": ("", 'colour = "red"\n', "colour", r"unknown key; valid keys"),
    "unknown run key": ("final_time = 2020", "final_tme = 2020", "run.final_tme",
                        r"Did you mean 'final_time'"),
    "unknown title key": ('zh = "探针"', 'zh = "探针"\nfr = "sonde"', "title.fr", "unknown key"),
    "unknown variable": ('"talent budget share" = 0.2', '"talent budget shar" = 0.2',
                         'constants."talent budget shar"', r"Did you mean 'talent budget share'"),
    "not a constant": ('"talent budget share" = 0.2', '"Buyers on platform" = 3',
                       'constants."Buyers on platform"', r"is a stock; only constants"),
    "string for number": ('"talent budget share" = 0.2', '"talent budget share" = "high"',
                          'constants."talent budget share"', r"must be a finite number.*str"),
    "bool for number": ('"talent budget share" = 0.2', '"talent budget share" = true',
                        'constants."talent budget share"', r"must be a finite number.*bool"),
    "constant out of range": ('"talent budget share" = 0.2', '"talent budget share" = 0.95',
                              'constants."talent budget share"',
                              r"0\.95 is outside the documented range \[0, 0\.9\]"),
    "input out of range": ("after = 0.05", "after = 3", 'inputs."attrition rate".after',
                           r"input reaches 3 is outside the documented range \[0, 2\]"),
    "unknown input variable": ('[inputs."attrition rate"]', '[inputs."atrition rate"]',
                               'inputs."atrition rate"', r"Did you mean 'attrition rate'"),
    "bad input form": ('form = "step"', 'form = "wave"', 'inputs."attrition rate".form',
                       r"'wave' is not an input form; valid forms: \['step', 'ramp'"),
    "missing input setting": ("time = 2018", "", 'inputs."attrition rate".time', "missing"),
    "setting of another form": ("time = 2018", "time = 2018\nheight = 1",
                                'inputs."attrition rate".height', "unknown key"),
    "table times not increasing": (STEP, TABLE.format(times="2016, 2018, 2017",
                                                      values="0.1, 0.05, 0.04"),
                                   'inputs."attrition rate".times', "strictly increasing"),
    "table lengths differ": (STEP, TABLE.format(times="2016, 2018", values="0.1"),
                             'inputs."attrition rate".values', "as many values as times"),
    "table not an array": (STEP, 'form = "table"\ntimes = 2016\nvalues = [0.1]',
                           'inputs."attrition rate".times', "must be an array"),
    "table value out of range": (STEP, TABLE.format(times="2016, 2018", values="0.1, -1"),
                                 'inputs."attrition rate".values', "outside the documented"),
    "ramp backwards": (STEP, 'form = "ramp"\nstart = 2020\nend = 2018\nfrom = 0.1\nto = 0.05',
                       'inputs."attrition rate".end', "must be after start"),
    "pulse without duration": (STEP, 'form = "pulse"\nbase = 0.1\nheight = 0.1\nstart = 2018\n'
                               'duration = 0', 'inputs."attrition rate".duration', "positive"),
    "set twice": ('"talent budget share" = 0.2', '"attrition rate" = 0.2',
                  'inputs."attrition rate"', r"also set in \[constants\]"),
    "missing title": ('[title]\nen = "Probe"\nzh = "探针"\n', "", "title", "missing required"),
    "missing zh": ('zh = "探针"\n', "", "title.zh", "missing"),
    "bad name": ('name = "probe"', 'name = "Probe Scenario"', "name", "lower-case slug"),
    "saveper not a multiple": ("final_time = 2020", "saveper = 0.1", "run.saveper",
                               "whole multiple of time_step"),
    "final time too early": ("final_time = 2020", "final_time = 2010", "run.final_time",
                             "greater than the initial time"),
    "input not a table": ('[inputs."attrition rate"]\n' + STEP, '[inputs]\n"attrition rate" = 3',
                          'inputs."attrition rate"', "must be a table"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_file_names_file_and_key(case, tmp_path, empowerment):
    old, new, key, pattern = BAD[case]
    assert old in VALID or old in STEP
    text = new + VALID if old == "" else VALID.replace(old, new, 1)
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, model=empowerment)
    err = info.value
    assert err.path == str(path) and err.key == key, (err.key, str(err))
    message = str(err)
    assert message.startswith(f"{path}: {key}: ")
    assert re.search(pattern, message), message
    assert "\n" not in message


def test_missing_model_file(tmp_path):
    path = write(tmp_path, VALID.replace("{model}", "../nowhere/model.mdl"))
    with pytest.raises(ScenarioError, match=r"model: model file '\.\./nowhere/model\.mdl'") as info:
        load_scenario(path)
    assert info.value.key == "model" and info.value.path == str(path)


def test_invalid_toml_and_missing_file(tmp_path):
    path = write(tmp_path, VALID.replace('name = "probe"', "name = probe"))
    with pytest.raises(ScenarioError, match=r"not valid TOML: .*line 1") as info:
        load_scenario(path)
    assert info.value.path == str(path) and info.value.key is None
    with pytest.raises(ScenarioError, match="does not exist") as info:
        load_scenario(tmp_path / "absent.toml")
    assert info.value.path == str(tmp_path / "absent.toml")


def test_load_scenarios_needs_unique_names_and_some_files(tmp_path):
    write(tmp_path, VALID, "a.toml")
    write(tmp_path, VALID, "b.toml")
    with pytest.raises(ScenarioError, match="already used by") as info:
        load_scenarios(tmp_path)
    assert info.value.key == "name" and info.value.path == str(tmp_path / "b.toml")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ScenarioError, match=r"No scenario files \(\*\.toml\)"):
        load_scenarios(empty)
    with pytest.raises(ScenarioError, match="No scenario files given"):
        load_scenarios([])


def test_scenario_files_accepts_folders_and_files(tmp_path):
    one = write(tmp_path, VALID, "one.toml")
    shipped = scenario_files(SCENARIOS_DIR)
    assert shipped == sorted(SCENARIOS_DIR.glob("*.toml"))
    assert scenario_files([one, SCENARIOS_DIR]) == [one, *shipped]


# --- every problem at once --------------------------------------------------------------

#: Independent mistakes (edits of VALID) and the key each is reported at.
SEVERAL = [
    ('name = "probe"', 'name = "Probe X"', "name"),
    ('zh = "探针"\n', "", "title.zh"),
    ("[constants]\n", '[constants]\n"hiring time" = "soon"\n', 'constants."hiring time"'),
    ('"talent budget share" = 0.2', '"talent budget shar" = 0.2', 'constants."talent budget shar"'),
    ("after = 0.05", "after = 3", 'inputs."attrition rate".after'),
    ("final_time = 2020", "saveper = 0.1", "run.saveper"),
]


def _edited(edits: list[tuple[str, str, str]]) -> str:
    text = VALID
    for old, new, _ in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def test_every_problem_of_a_file_is_reported_at_once(tmp_path, empowerment):
    """Six mistakes took six runs to find; now one error lists them all, each with the
    message it gets alone."""
    path = write(tmp_path, _edited(SEVERAL))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, model=empowerment)
    err = info.value
    keys = [key for _, _, key in SEVERAL]
    assert [p.key for p in err.problems] == keys
    assert err.path == str(path) and err.key is None and "\n" not in str(err)
    assert str(err) == f"{path}: 6 problems: " + "; ".join(
        str(p).removeprefix(f"{path}: ") for p in err.problems)
    for i, problem in enumerate(err.problems):
        assert isinstance(problem, ScenarioError) and problem.problems == (problem,)
        # alone, the mistake gives the error it gives among the others
        single = write(tmp_path, _edited([SEVERAL[i]]), f"single{i}.toml")
        with pytest.raises(ScenarioError) as alone:
            load_scenario(single, model=empowerment)
        assert str(alone.value) == str(problem).replace(str(path), str(single))
        assert alone.value.problems == (alone.value,) and alone.value.key == problem.key


def test_one_mistake_gives_the_message_it_always_gave(tmp_path, empowerment):
    path = write(tmp_path, VALID.replace("after = 0.05", "after = 3"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, model=empowerment)
    assert str(info.value) == (f"{path}: inputs.\"attrition rate\".after: the input reaches 3 "
                               "is outside the documented range [0, 2] of 'attrition rate'.")
    assert info.value.problems == (info.value,)


def test_a_problem_that_stops_the_check_comes_with_those_before_it(tmp_path, empowerment):
    """A missing model file leaves nothing to check the variables against: the
    problems found before it are reported with it, the variables are not checked."""
    text = _edited(SEVERAL).replace(EMPOWERMENT_MDL.as_posix(), "nowhere.mdl")
    path = tmp_path / "probe.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert [p.key for p in info.value.problems] == ["name", "title.zh", "model"]
    assert str(info.value).startswith(f"{path}: 3 problems: name: 'Probe X' is not")
    broken = write(tmp_path, _edited(SEVERAL).replace("[run]", "[run"), "broken.toml")
    with pytest.raises(ScenarioError, match=r"not valid TOML") as info:
        load_scenario(broken)
    assert info.value.problems == (info.value,)


def test_the_command_prints_every_problem_on_one_line(tmp_path):
    from click.testing import CliRunner

    from sdkit.cli.app import main

    path = write(tmp_path, _edited(SEVERAL))
    result = CliRunner().invoke(main, ["scenarios", "validate", str(path)])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"sdkit: error: {path}: 6 problems: name: ")
    for _, _, key in SEVERAL:
        assert f"; {key}: " in lines[0] or f"problems: {key}: " in lines[0]


# --- input forms ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "settings", "times", "expected"),
    [
        ("step", {"before": 1, "after": 3, "time": 2}, [0, 1.99, 2, 5], [1, 1, 3, 3]),
        ("ramp", {"start": 1, "end": 3, "from": 10, "to": 20}, [0, 1, 2, 3, 4],
         [10, 10, 15, 20, 20]),
        ("pulse", {"base": 1, "height": 2, "start": 1, "duration": 0.5}, [0.5, 1, 1.25, 1.5],
         [1, 3, 3, 1]),
        ("table", {"times": (0, 1, 3), "values": (5, 7, 3)}, [-1, 0, 0.5, 2, 3, 9],
         [5, 5, 6, 5, 3, 3]),
    ],
)
def test_input_forms_give_their_documented_values(form, settings, times, expected):
    spec = TimeInput("x", form, settings)
    np.testing.assert_allclose(spec.values_at(times), expected)
    series = spec.series(times)
    assert series.name == "x" and series.index.tolist() == [float(t) for t in times]


def test_every_form_is_documented_and_checked():
    assert set(FORMS) == {"step", "ramp", "pulse", "table"}
    with pytest.raises(ParameterValueError, match="valid forms"):
        TimeInput("x", "wave", {})
    with pytest.raises(ParameterValueError, match="'time' is missing"):
        TimeInput("x", "step", {"before": 1, "after": 2})
    with pytest.raises(ParameterValueError, match="at least one point"):
        TimeInput("x", "table", {"times": (), "values": ()})


def test_time_grid_covers_the_run():
    assert time_grid(2015, 2016, 0.25).tolist() == [2015, 2015.25, 2015.5, 2015.75, 2016]
    assert time_grid(0, 1, 0.3)[-1] == 1.0
    with pytest.raises(ParameterValueError, match="step must be positive"):
        time_grid(0, 1, 0)

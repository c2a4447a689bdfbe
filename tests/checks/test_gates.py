"""The gate binding report (``sdkit.checks.gates``, ``sdkit gates``).

Every expected number is counted by hand on the time grid: a gate's value at t
acts over [t, t + dt), so a run from 2000 to 2010 with dt 0.25 has 40 steps
(2000 ... 2009.75) and a gate bound at k of them binds k * 0.25 years.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import control, write_model

import sdkit
from sdkit.checks.gates import Gate, GateReport, gate_report
from sdkit.cli.app import main
from sdkit.errors import ModelFileNotFoundError, ScenarioError


def eq(name: str, text: str, units: str = "dmnl") -> str:
    return f"{name} = {text}\n\t~\t{units}\n\t~\t|\n"


GALLERY = "{UTF-8}\n" + "".join([
    eq("x", "MIN(1, Time - 2000)"),
    eq("floor", "MAX(0, 2005 - Time)"),
    eq("two", "MAX(0, 2005 - Time) + MIN(Time - 2000, 3)"),
    eq("a", "Time - 2000"),
    eq("b", "10 - a"),
    eq("ab", "MIN(a, b)"),
    eq("ba", "MIN(b, a)"),
    eq("cap", "3"),
    eq("cap2", "2"),
    eq("consts", "MIN(cap, cap2)"),
    eq("limit aux", "cap * 2"),
    eq("aux first", "MIN(limit aux, a)"),
    eq("switch", "1"),
    eq("sched", "IF THEN ELSE(switch = 1, a, 0)"),
    eq("event", "IF THEN ELSE(Time > 2004, 1, 0)"),
    eq("S", "INTEG(1, 0)"),
    eq("state if", "IF THEN ELSE(S > 6, 1, 0)"),
    eq("stock min", "MIN(S, 4)"),
    eq("nested", "IF THEN ELSE(S > 6, MIN(S, 4), 0)"),
    eq("f", "([(0,0)-(4,1)],(0,0),(4,1))").replace("f = (", "f(", 1),
    eq("above", "f(S)"),
    eq("w", "WITH LOOKUP(S, ([(1,0)-(3,1)],(1,0),(3,1)))"),
    eq("time lookup", "f(Time - 2000)"),
]) + control(dt=0.25, initial=2000, final=2010, saveper=1)


def find(report: GateReport, variable: str, text: str | None = None) -> Gate:
    found = [g for g in report.gates if g.variable == variable and text in (None, g.text)]
    assert len(found) == 1, [g.label() for g in report.gates]
    return found[0]


@pytest.fixture(scope="module")
def gallery_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gates") / "models"
    folder.mkdir()
    return write_model(folder, "gallery.mdl", GALLERY)


@pytest.fixture(scope="module")
def gallery(gallery_path: Path) -> GateReport:
    return gate_report(gallery_path)


def test_every_occurrence_is_reported_once_in_model_order(gallery: GateReport) -> None:
    assert [g.label() for g in gallery.gates[:4]] == [
        "x: MIN(1, Time - 2000)", "floor: MAX(0, 2005 - Time)",
        "two: MAX(0, 2005 - Time)", "two: MIN(Time - 2000, 3)"]
    assert len(gallery.gates) == 17
    assert all(g.steps == 40 for g in gallery.gates)  # every TIME STEP, though SAVEPER is 1
    assert (gallery.time_step, gallery.run_years, gallery.scenario) == (0.25, 10.0, "baseline")


def test_min_with_a_number_binds_after_the_tie(gallery: GateReport) -> None:
    x = find(gallery, "x")
    # Time - 2000 > 1 from 2001.25 on: 35 steps; 2001 itself is a tie
    assert (x.binding_steps, x.years, x.share, x.switches) == (35, 8.75, 0.875, 1)
    assert abs(x.years - 9) <= 0.25
    assert x.selected == {"1": 35, "Time - 2000": 4, "ties": 1}
    assert (x.kind, x.role, x.counted, x.rule) == ("MIN", "gate", True, "limit selected: 1")


def test_max_floor_and_several_gates_in_one_equation(gallery: GateReport) -> None:
    assert find(gallery, "floor").years == 4.75  # 2005.25 ... 2009.75
    assert find(gallery, "two", "MAX(0, 2005 - Time)").years == 4.75
    three = find(gallery, "two", "MIN(Time - 2000, 3)")  # 2003.25 ... 2009.75
    assert (three.binding_steps, three.years) == (27, 6.75)
    assert three.selected == {"Time - 2000": 12, "3": 27, "ties": 1}


def test_first_argument_is_the_quantity_when_no_argument_is_constant(
        gallery: GateReport) -> None:
    ab, ba = find(gallery, "ab"), find(gallery, "ba")
    assert (ab.years, ab.rule) == (4.75, "limit selected: b")  # b < a after 2005
    assert (ba.years, ba.rule) == (5.0, "limit selected: a")   # a < b before 2005
    assert find(gallery, "consts").years == 10.0   # both constant: cap2 < cap all the time
    # an auxiliary of constants is a limit even when written first
    aux = find(gallery, "aux first")
    assert (aux.years, aux.rule) == (3.75, "limit selected: limit aux")


def test_conditions_of_constants_and_time_are_schedules(gallery: GateReport) -> None:
    sched, event = find(gallery, "sched"), find(gallery, "event")
    assert (sched.role, sched.counted, sched.selected) == ("schedule", False,
                                                          {"then": 40, "else": 0})
    assert (event.role, event.years) == ("schedule", 5.75)
    assert sched not in gallery.binding_longer_than(0) and event not in \
        gallery.binding_longer_than(0)


def test_state_conditions_and_stock_driven_gates(gallery: GateReport) -> None:
    state = find(gallery, "state if")  # S = Time - 2000 > 6 from 2006.25
    assert (state.role, state.years, state.selected) == ("gate", 3.75, {"then": 15, "else": 25})
    assert find(gallery, "stock min").years == 5.75  # S > 4 from 2004.25
    # inside the THEN branch the MIN acts only while S > 6
    assert find(gallery, "nested", "MIN(S, 4)").years == 3.75
    assert find(gallery, "nested", "IF THEN ELSE(S > 6, MIN(S, 4), 0)").years == 3.75


def test_lookups_outside_their_range(gallery: GateReport) -> None:
    above = find(gallery, "above")
    assert (above.kind, above.role, above.years) == ("LOOKUP", "gate", 5.75)
    assert above.selected == {"below": 0, "above": 23}
    w = find(gallery, "w")  # S < 1 before 2001, S > 3 from 2003.25
    assert (w.years, w.switches, w.selected) == (7.75, 2, {"below": 4, "above": 27})
    assert w.rule == "input outside [1, 3]"
    assert find(gallery, "time lookup").role == "schedule"


def test_report_table_frame_and_threshold(gallery: GateReport) -> None:
    longer = gallery.binding_longer_than(8.75)
    assert [g.variable for g in longer] == ["consts"]  # 8.75 is not longer than 8.75
    assert [g.variable for g in gallery.binding_longer_than(8.5)] == ["consts", "x"]
    frame = gallery.to_frame()
    assert len(frame) == 17 and frame["counted"].sum() == 14  # 3 schedules
    assert frame.loc[0, "selected"] == "1 35; Time - 2000 4; ties 1"
    text = gallery.text(8.5)
    assert "2 gates bind longer than 8.5 years:" in text
    assert "  x: MIN(1, Time - 2000) binds 8.75 years (88%); limit selected: 1" in text


SUBSCRIPTED = "{UTF-8}\n" + "".join([
    "region : north, south\n\t~\t~\t|\n",
    eq("cap[region]", "{caps}"),
    eq("demand[region]", "(Time - 2000) * 0.5"),
    eq("served[region]", "MIN(cap[region], demand[region])"),
    eq("special[north]", "MAX(0, demand[north] - 1)"),
    eq("special[south]", "MIN(demand[south], 2)"),
    eq("sm[region]", "MIN(SMOOTH(demand[region], 1), 2)"),
]) + control(dt=0.5, initial=2000, final=2010, saveper=1)


@pytest.mark.parametrize(("caps", "worst", "years"), [("1, 3", "[north]", 7.5),
                                                      ("3, 1.5", "[south]", 6.5)])
def test_subscripted_gates_report_the_worst_element(tmp_path: Path, caps: str, worst: str,
                                                    years: float) -> None:
    path = write_model(tmp_path, "sub.mdl", SUBSCRIPTED.replace("{caps}", caps))
    report = gate_report(path)
    served = find(report, "served")
    # demand = (t - 2000) / 2 exceeds 1 after 2002 (15 steps of 0.5), 3 after 2006 (7 steps),
    # 1.5 after 2003 (13 steps)
    assert (served.element, served.years, served.text) == (
        worst, years, "MIN(cap[region], demand[region])")
    north, south = find(report, "special", "MAX(0, demand[north] - 1)"), \
        find(report, "special", "MIN(demand[south], 2)")
    assert (north.element, north.years) == ("[north]", 2.0)  # demand < 1 until 2002
    assert (south.element, south.years) == ("[south]", 5.5)  # demand > 2 after 2004
    # the ensemble engine gives no SMOOTH values for subscripted models: not evaluated
    smoothed = find(report, "sm")
    assert (smoothed.binding_steps, smoothed.note) == (0, "20 of 20 steps not evaluated")
    assert smoothed.text == "MIN(SMOOTH(demand[region], 1), 2)"


def test_months_are_converted_to_years(tmp_path: Path) -> None:
    text = "{UTF-8}\n" + eq("g", "MIN(Time, 6)") + control(dt=1, unit="Month", final=24)
    report = gate_report(write_model(tmp_path, "months.mdl", text))
    g = find(report, "g")  # Time > 6 at months 7 ... 23
    assert (g.binding_steps, report.run_years) == (17, 2.0)
    assert g.years == pytest.approx(17 / 12)


PLAIN = "{UTF-8}\n" + "".join([
    eq("S", "INTEG(growth, 1)"),
    eq("growth", "0.6 * S * (1 - S / 10)"),
    eq("ratio", "S / 5"),
    eq("use", "MIN(ratio, 1)"),
    eq("hiring", "MAX(0, 8 - S)"),
    eq("alarm", "IF THEN ELSE(S > 7, 1, 0)"),
    eq("smoothed", "MIN(SMOOTH(S, 2), 6)"),
]) + control(dt=0.125, initial=0, final=15, saveper=1)


def test_report_agrees_with_plain_pysd_output(tmp_path: Path) -> None:
    import pysd

    path = write_model(tmp_path, "plain.mdl", PLAIN)
    report = gate_report(path)
    copy = tmp_path / "copy" / "plain.mdl"
    copy.parent.mkdir()
    shutil.copy(path, copy)
    out = pysd.read_vensim(str(copy)).run(saveper=0.125)
    steps = out.iloc[:-1]  # the final time acts over no interval
    expected = {"use": steps["ratio"] > 1, "hiring": steps["S"] > 8,
                "alarm": steps["S"] > 7, "smoothed": steps["smoothed"] == 6}
    assert len(steps) == 120
    for name, bound in expected.items():
        gate = find(report, name)
        assert 0 < gate.binding_steps < 120, name  # the check is not trivial
        assert gate.binding_steps == int(bound.sum()), name
        assert gate.years == pytest.approx(bound.sum() * 0.125), name
        assert gate.switches == int(np.count_nonzero(np.diff(bound.to_numpy(dtype=int)))), name


SCENARIO = """name = "relaxed"
model = "../models/gallery.mdl"
title = {{ en = "Relaxed", zh = "放宽" }}
description = {{ en = "A larger second cap.", zh = "更大的上限。" }}
[constants]
cap2 = 5
{run}
"""


def test_scenario_by_file_and_by_name(gallery_path: Path) -> None:
    folder = gallery_path.parents[1] / "scenarios"
    folder.mkdir(exist_ok=True)
    (folder / "relaxed.toml").write_text(SCENARIO.format(run=""), encoding="utf-8")
    (folder / "coarse.toml").write_text(SCENARIO.format(run="[run]\ntime_step = 0.5").replace(
        "relaxed", "coarse"), encoding="utf-8")
    by_file = gate_report(gallery_path, scenario=folder / "relaxed.toml")
    assert by_file.scenario == "relaxed" and find(by_file, "consts").years == 0.0  # 3 < 5
    coarse = gate_report(sdkit.load_model(gallery_path), scenario="coarse")
    x = find(coarse, "x")  # dt 0.5: Time - 2000 > 1 from 2001.5, 17 steps
    assert (coarse.scenario, x.steps, x.years) == ("coarse", 20, 8.5)
    with pytest.raises(ScenarioError, match="No scenario named 'nope'.*coarse"):
        gate_report(gallery_path, scenario="nope")
    with pytest.raises(ModelFileNotFoundError):
        gate_report(gallery_path.parent / "absent.mdl")


def _invoke(*args: object) -> object:
    return CliRunner().invoke(main, ["gates", *map(str, args)])


def test_cli_exit_codes_and_offender_lines(gallery_path: Path) -> None:
    fail = _invoke(gallery_path, "--max-years", 8.5)
    assert fail.exit_code == 1
    lines = fail.stdout.splitlines()
    start = lines.index("2 gates bind longer than 8.5 years:")
    assert lines[start:start + 4] == [
        "2 gates bind longer than 8.5 years:",
        "  consts: MIN(cap, cap2) binds 10.00 years (100%); limit selected: cap2",
        "  x: MIN(1, Time - 2000) binds 8.75 years (88%); limit selected: 1",
        "Saturated factors (within 0.01 of 0 or 1; bounded: documented range [0, 1], or "
        "dimensionless with values in [0, 1]):"]
    assert "   5.75  57.5%      1  schedule      event: IF THEN ELSE(Time > 2004, 1, 0)" in lines
    # the saturated factors follow (tests/checks/test_saturation.py): the longest counted one
    # is w, 7 years at 1; x = MIN(1, Time - 2000) is at 1 from 2001 but a schedule
    assert lines[-1] == "No factor stays within 0.01 of 0 or 1 longer than 8.5 years."
    assert "   9.00  90.0%      1     1       2001    2009.75  schedule  x" in lines
    ok = _invoke(gallery_path, "--max-years", 10)
    assert ok.exit_code == 0 and "No gate binds longer than 10 years." in \
        ok.stdout.splitlines()
    assert _invoke(gallery_path).exit_code == 1  # default: one year


def test_cli_json(gallery_path: Path) -> None:
    result = _invoke(gallery_path, "--json", "--max-years", 9)
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["offenders"] == ["consts: MIN(cap, cap2)"]
    assert len(payload["gates"]) == 17 and payload["max_years"] == 9.0
    assert payload["gates"][0]["selected"] == {"1": 35, "Time - 2000": 4, "ties": 1}


@pytest.mark.parametrize(("args", "fragment"), [
    (["{model}", "--scenario", "nope"], "No scenario named 'nope'"),
    (["{missing}"], "not found"),
    (["{model}", "--max-years", "-1"], "--max-years"),
    (["{model}", "--scenario", "{bad}"], "cap3"),
])
def test_cli_errors_are_one_line(gallery_path: Path, tmp_path: Path, args: list[str],
                                 fragment: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(SCENARIO.format(run="").replace("cap2 = 5", "cap3 = 5"), encoding="utf-8")
    paths = {"model": gallery_path, "missing": tmp_path / "absent.mdl", "bad": bad}
    result = _invoke(*(a.format(**paths) for a in args))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("sdkit: error: ")
    assert fragment in result.stderr

"""Running scenarios: results, transitions, time-series inputs, storage, CLI and docs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import EMPOWERMENT_MDL, REPO, SCENARIOS_DIR

from sdkit import scenario_report
from sdkit.cli import main
from sdkit.errors import InputFileError, ParameterValueError, ScenarioError, UnknownVariableError
from sdkit.evidence import compare_with_reference, load_reference_modes
from sdkit.markers import begin_marker, end_marker, extract_block, replace_block
from sdkit.runner import RESULT_COLUMNS, TRANSITION_COLUMNS, run_scenarios
from sdkit.scenarios import load_scenarios
from sdkit.stages import detect_stages
from sdkit.store import (
    atomic_write,
    load_scenario_results,
    save_scenario_results,
    write_text_atomic,
)

DOCS = REPO / "docs" / "scenarios.md"

SHORT = """\
name = "{name}"
model = "{model}"
title = {{ en = "Short {name}", zh = "短 {name}" }}
description = {{ en = "A short run.", zh = "短期运行。" }}
[constants]
"talent budget share" = {share}
[run]
final_time = 2017
"""

TINY_SCENARIO = """\
name = "tiny-{form}"
model = "{model}"
title = {{ en = "Tiny", zh = "小" }}
description = {{ en = "Birth rate as a {form} input.", zh = "出生率输入。" }}
[inputs."birth rate"]
{settings}
"""
TINY_INPUTS = {
    "step": 'form = "step"\nbefore = 0.02\nafter = 0.05\ntime = 5.5',
    "ramp": 'form = "ramp"\nstart = 2\nend = 12\nfrom = 0.01\nto = 0.06',
    "pulse": 'form = "pulse"\nbase = 0.02\nheight = 0.03\nstart = 4\nduration = 2.25',
    "table": 'form = "table"\ntimes = [0, 5, 10, 15]\nvalues = [0.01, 0.08, 0.03, 0.03]',
}


def invoke(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sdkit: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def saved(scenario_results, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("scenario-results")
    save_scenario_results(scenario_results, folder)
    return folder


# --- runs -----------------------------------------------------------------------------


def test_every_shipped_scenario_runs_over_the_whole_period(scenario_results, shipped_scenarios,
                                                           empowerment, baseline):
    names = [s.name for s in shipped_scenarios]
    assert scenario_results.scenarios == names
    assert list(scenario_results.results.columns) == RESULT_COLUMNS
    assert list(scenario_results.transitions.columns) == TRANSITION_COLUMNS
    counts = scenario_results.results.groupby("scenario").size()
    assert (counts == baseline.size).all()
    for name in names:
        run = scenario_results.wide(name)
        assert run.index[0] == empowerment.initial_time
        assert run.index[-1] == empowerment.final_time
        assert set(run.columns) == set(baseline.columns)
    stages = scenario_results.transitions.groupby("scenario")
    assert (stages.size() == 3).all()
    assert np.allclose(stages["duration"].sum(), empowerment.final_time - empowerment.initial_time)


def test_baseline_scenario_equals_the_baseline_run(scenario_results, baseline, empowerment_card):
    pd.testing.assert_frame_equal(scenario_results.wide("baseline"), baseline, check_dtype=False)
    report = detect_stages(baseline, empowerment_card.transitions)
    rows = scenario_results.transitions.query("scenario == 'baseline'").set_index("stage")
    for transition in report.transitions:
        row = rows.loc[transition.to_stage]
        assert row["reached"] == transition.reached
        assert row["time"] == transition.time if transition.reached else math.isnan(row["time"])
        assert row["duration"] == report.durations[transition.to_stage]


def stage_time(results, scenario: str, stage: int) -> float:
    table = results.transitions
    time = table[(table["scenario"] == scenario) & (table["stage"] == stage)]["time"].item()
    return math.inf if math.isnan(time) else time


def test_talent_light_reaches_stage_two_later(scenario_results):
    assert stage_time(scenario_results, "talent-light", 2) > stage_time(
        scenario_results, "baseline", 2)


def test_small_platform_and_no_push_are_later(scenario_results):
    assert stage_time(scenario_results, "small-platform", 2) > stage_time(
        scenario_results, "baseline", 2)
    assert stage_time(scenario_results, "no-2020-push", 3) > stage_time(
        scenario_results, "baseline", 3)


def test_step_input_lowers_attrition_after_its_time(scenario_results, shipped_scenarios):
    spec = next(s for s in shipped_scenarios if s.name == "employee-share-scheme")
    step = spec.inputs["attrition rate"].settings
    run, base = scenario_results.wide("employee-share-scheme"), scenario_results.wide("baseline")
    rate = run["attrition"] / run["Talent headcount"]
    base_rate = base["attrition"] / base["Talent headcount"]
    before, after = rate.index < step["time"], rate.index >= step["time"]
    np.testing.assert_allclose(rate[before], step["before"])
    np.testing.assert_allclose(rate[after], step["after"])
    np.testing.assert_allclose(rate[before], base_rate[before])
    assert (rate[after] < base_rate[after]).all()
    pd.testing.assert_series_equal(run.loc[before, "Talent headcount"],
                                   base.loc[before, "Talent headcount"])


def test_every_input_form_reaches_the_model(tmp_path, tiny_path):
    for form, settings in TINY_INPUTS.items():
        text = TINY_SCENARIO.format(form=form, model=tiny_path.as_posix(), settings=settings)
        (tmp_path / f"tiny-{form}.toml").write_text(text, encoding="utf-8")
    scenarios = load_scenarios(tmp_path)
    results = run_scenarios(scenarios)
    assert results.transitions.empty  # the tiny model has no card
    for scenario in scenarios:
        run = results.wide(scenario.name)
        # births = Population * birth rate * policy effect(5), and policy effect(5) = 1
        observed = run["births"] / run["Population"]
        expected = scenario.inputs["birth rate"].values_at(run.index)
        np.testing.assert_allclose(observed, expected, rtol=1e-12, err_msg=scenario.name)


def test_progress_and_duplicate_names(tmp_path, shipped_scenarios):
    calls = []
    (tmp_path / "s.toml").write_text(
        SHORT.format(name="short", model=EMPOWERMENT_MDL.as_posix(), share=0.3), "utf-8")
    short = load_scenarios(tmp_path)
    run_scenarios(short, progress=lambda done, total, s: calls.append((done, total, s.name)))
    assert calls == [(1, 1, "short")]
    with pytest.raises(ScenarioError, match=r"repeated: \['short'\]"):
        run_scenarios(short * 2)


# --- storage and tables ---------------------------------------------------------------


def test_saved_results_read_back_equal(scenario_results, saved):
    back = load_scenario_results(saved)
    pd.testing.assert_frame_equal(back.results, scenario_results.results)
    pd.testing.assert_frame_equal(back.transitions, scenario_results.transitions,
                                  check_dtype=False)
    assert not list(saved.glob(".*.tmp"))


def test_atomic_write_leaves_the_old_file_on_failure(tmp_path):
    target = write_text_atomic(tmp_path / "a" / "f.txt", "old")

    def broken(path: Path) -> None:
        path.write_text("half", encoding="utf-8")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, broken)
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in target.parent.iterdir()) == ["f.txt"]


def test_missing_results_folder_is_an_input_file_error(tmp_path):
    with pytest.raises(InputFileError, match="results.parquet does not exist"):
        load_scenario_results(tmp_path)


def test_differences_compare_runs_with_the_base(scenario_results):
    years = [2020.0, 2030.0]
    table = scenario_report.differences(scenario_results, variables=["Buyers on platform"],
                                        years=years, base="baseline")
    light = table[table["scenario"] == "talent-light"].set_index("year")
    for year in years:
        value = scenario_results.wide("talent-light").loc[year, "Buyers on platform"]
        base = scenario_results.wide("baseline").loc[year, "Buyers on platform"]
        assert light.loc[year, "value"] == value
        assert light.loc[year, "difference"] == pytest.approx(value - base)
    with pytest.raises(UnknownVariableError, match="Did you mean 'Buyers on platform'"):
        scenario_report.differences(scenario_results, variables=["buyers on platfrom"],
                                    years=years, base="baseline")
    with pytest.raises(ParameterValueError, match="outside the run"):
        scenario_report.differences(scenario_results, variables=["Buyers on platform"],
                                    years=[2040.0], base="baseline")
    with pytest.raises(ParameterValueError, match="Did you mean 'baseline'"):
        scenario_report.differences(scenario_results, variables=[], years=years, base="basline")


def test_docs_table_is_the_generated_one(scenario_results):
    generated = scenario_report.transitions_text(scenario_results.transitions, markdown=True)
    documented = extract_block(DOCS.read_text(encoding="utf-8"), "transitions")
    assert documented == generated.strip(), (
        "docs/scenarios.md is out of date; regenerate it with:\n"
        "  sdkit scenarios run scenarios -o output/scenarios && "
        "sdkit scenarios table output/scenarios --update docs/scenarios.md")


def test_replace_block_needs_the_markers():
    text = f"a\n{begin_marker('transitions')}\nold\n{end_marker('transitions')}\nb\n"
    assert replace_block(text, "transitions", "new") == text.replace("old", "new")
    with pytest.raises(InputFileError, match="exactly one"):
        replace_block("no markers", "transitions", "new")


# --- CLI ------------------------------------------------------------------------------


def test_cli_run_writes_what_the_library_computes(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name, share in (("baseline", 0.3), ("lean", 0.1)):
        (folder / f"{name}.toml").write_text(
            SHORT.format(name=name, model=EMPOWERMENT_MDL.as_posix(), share=share), "utf-8")
    out = tmp_path / "out"
    result = invoke("scenarios", "run", folder, "-o", out)
    assert result.exit_code == 0, result.output
    assert "[2/2] lean" in result.stderr and "Wrote" in result.stdout
    expected = run_scenarios(load_scenarios(folder))
    written = load_scenario_results(out)
    pd.testing.assert_frame_equal(written.results, expected.results)
    compared = invoke("scenarios", "compare", out, "--variables", "Talent headcount",
                      "--years", "2016,2017")
    assert compared.exit_code == 0, compared.output
    assert "1->2 vs baseline" in compared.stdout and "Talent headcount" in compared.stdout
    assert compared.stdout.count("lean") == 2
    bad = invoke("scenarios", "compare", out, "--variables", "Talent headcont")
    one_line_error(bad, "Did you mean 'Talent headcount'")


def test_cli_table_and_update(saved, scenario_results, tmp_path):
    result = invoke("scenarios", "table", saved, "--markdown")
    assert result.exit_code == 0, result.output
    expected = scenario_report.transitions_text(scenario_results.transitions, markdown=True)
    assert result.stdout.strip() == expected.strip()
    doc = tmp_path / "doc.md"
    doc.write_text(f"# T\n{begin_marker('transitions')}\n{end_marker('transitions')}\n", "utf-8")
    assert invoke("scenarios", "table", saved, "--update", doc).exit_code == 0
    assert extract_block(doc.read_text("utf-8"), "transitions") == expected.strip()
    one_line_error(invoke("scenarios", "table", tmp_path / "nothing"), "does not exist")


def test_cli_compare_with_unknown_base(saved):
    one_line_error(invoke("scenarios", "compare", saved, "--base", "basline"),
                   "No scenario 'basline'", "Did you mean 'baseline'")


def test_cli_list_and_validate(tmp_path):
    listed = invoke("scenarios", "list", SCENARIOS_DIR)
    assert listed.exit_code == 0, listed.output
    for path in SCENARIOS_DIR.glob("*.toml"):
        assert path.stem in listed.stdout
    files = sorted(SCENARIOS_DIR.glob("*.toml"))
    checked = invoke("scenarios", "validate", *files)
    assert checked.exit_code == 0 and checked.stdout.count("ok: ") == len(files)
    bad = tmp_path / "bad.toml"
    text = (SCENARIOS_DIR / "talent-light.toml").read_text(encoding="utf-8")
    bad.write_text(text.replace('"talent budget share" = 0.1', '"talent budget share" = 7')
                   .replace("../models", str(EMPOWERMENT_MDL.parent)), encoding="utf-8")
    one_line_error(invoke("scenarios", "validate", bad), str(bad),
                   'constants."talent budget share"', "outside the documented range [0, 0.6]")


def test_cli_evidence(baseline, empowerment_card, reference_modes_path, tmp_path):
    expected = compare_with_reference(baseline, load_reference_modes(reference_modes_path),
                                      empowerment_card)
    result = invoke("evidence", EMPOWERMENT_MDL)
    assert result.exit_code == (0 if expected["within"].all() else 1), result.output
    assert result.stdout.count("OUTSIDE") == int((~expected["within"]).sum())
    moved = load_reference_modes(reference_modes_path)
    moved.loc[moved["metric"] == "partner warehouses", ["low", "high"]] = [1.0, 2.0]
    changed = tmp_path / "modes.csv"
    moved.to_csv(changed, index=False)
    result = invoke("evidence", EMPOWERMENT_MDL, "--reference", changed, "--markdown")
    assert result.exit_code == 1
    row = next(line for line in result.stdout.splitlines() if "partner warehouses" in line)
    assert row.startswith("| level | partner warehouses |") and "OUTSIDE" in row


def test_atomic_write_gives_the_file_the_usual_permissions(tmp_path):
    import os
    import stat

    from sdkit.store import write_text_atomic

    plain = tmp_path / "plain.txt"
    plain.write_text("x", encoding="utf-8")
    written = write_text_atomic(tmp_path / "atomic.txt", "x")
    assert stat.S_IMODE(os.stat(written).st_mode) == stat.S_IMODE(os.stat(plain).st_mode)

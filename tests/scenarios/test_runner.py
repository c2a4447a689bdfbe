"""Running scenarios: results, transitions, time-series inputs, storage, CLI and docs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import EMPOWERMENT_MDL, REPO, SCENARIOS_DIR

from sdkit.analysis.evidence import compare_with_reference, load_reference_modes
from sdkit.analysis.stages import detect_stages
from sdkit.cli.app import main
from sdkit.errors import InputFileError, ParameterValueError, ScenarioError, UnknownVariableError
from sdkit.report import scenarios as scenario_report
from sdkit.scenarios.runner import RESULT_COLUMNS, TRANSITION_COLUMNS, run_scenarios
from sdkit.scenarios.spec import load_scenarios
from sdkit.scenarios.store import load_scenario_results, save_scenario_results
from sdkit.sensitivity.metrics import integral_between
from sdkit.util.files import atomic_write, write_text_atomic
from sdkit.util.markers import begin_marker, end_marker, extract_block, replace_block

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

STEP = """\
[inputs."attrition rate"]
form = "step"
before = 0.18
after = 0.10
time = 2016
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


def value_at(results, scenario: str, variable: str, year: float) -> float:
    return float(results.wide(scenario).loc[year, variable])


def test_stage_scenarios_move_the_transitions_the_right_way(scenario_results):
    base = {stage: stage_time(scenario_results, "baseline", stage) for stage in (2, 3)}
    assert 2016.5 <= base[2] <= 2018 and 2019.5 <= base[3] <= 2021
    assert stage_time(scenario_results, "never-ecologize", 3) == math.inf
    assert stage_time(scenario_results, "early-ecologization", 3) < 2017
    assert stage_time(scenario_results, "no-2020-push", 3) > base[3]
    for name in ("no-embedded-representatives", "no-expert-confirmation", "technology-light"):
        assert stage_time(scenario_results, name, 3) > base[3], name
    assert stage_time(scenario_results, "high-uncertainty-agrifood", 2) > base[2]


def test_talent_push_windows_fall_in_the_stages_they_are_named_for(scenario_results,
                                                                   shipped_scenarios):
    base = {stage: stage_time(scenario_results, "baseline", stage) for stage in (2, 3)}
    by = {s.name: s.constants for s in shipped_scenarios}
    for name, (begin, end) in {"talent-first": (2015, base[2]),
                               "talent-push-stage-2": (base[2], base[3]),
                               "talent-cut-stage-2": (base[2] - 0.5, base[3] + 0.5)}.items():
        start = by[name]["talent push start"]
        assert begin <= start and start + by[name]["talent push duration"] <= end, name


def spent(results, scenario: str, variable: str = "total spending") -> float:
    """A scenario's integral of ``variable`` over 2015-2030 (CNY million)."""
    run = results.wide(scenario)
    values = run[variable].to_numpy(dtype=float)[None, :]
    return float(integral_between(values, run.index.to_numpy(dtype=float), 2015, 2030)[0])


def test_talent_light_reallocates_at_constant_total_spending(scenario_results):
    # the money talent-light saves on people goes to technology: same total to 1%
    base = spent(scenario_results, "baseline")
    assert spent(scenario_results, "talent-light") == pytest.approx(base, rel=0.01)
    assert spent(scenario_results, "talent-light", "technology spending") > 1.5 * spent(
        scenario_results, "baseline", "technology spending")
    # technology-light cannot: people are hired for their load, so its larger talent budget
    # is mostly not spent (docs: scenarios/technology-light.toml) and it spends less
    assert spent(scenario_results, "technology-light") < 0.9 * base
    assert spent(scenario_results, "technology-light", "talent budget") > 2 * spent(
        scenario_results, "technology-light", "people cost")


def test_market_shocks_lower_volume_only_from_their_start(scenario_results):
    volume = "Transaction volume"
    for name in ("competitor-entry", "steel-downturn-2022"):
        assert value_at(scenario_results, name, volume, 2021.75) == value_at(
            scenario_results, "baseline", volume, 2021.75), name
        assert value_at(scenario_results, name, volume, 2023) < value_at(
            scenario_results, "baseline", volume, 2023), name
    assert value_at(scenario_results, "never-ecologize", "SME financing access", 2030) == 0


def test_step_input_lowers_attrition_after_its_time(tmp_path):
    for name, extra in (("flat", ""), ("step", STEP)):
        (tmp_path / f"{name}.toml").write_text(SHORT.format(
            name=name, model=EMPOWERMENT_MDL.as_posix(), share=0.45) + extra, "utf-8")
    results = run_scenarios(load_scenarios(tmp_path))
    run, base = results.wide("step"), results.wide("flat")
    before, after = run.index < 2016, run.index >= 2016
    pd.testing.assert_frame_equal(run[before], base[before])
    # the tiny model's test checks the values; here: fewer leave from the step on
    assert (run.loc[after, "new representative attrition"]
            < base.loc[after, "new representative attrition"]).all()


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


def test_the_models_load_scenarios_loaded_run_the_scenarios(tmp_path, tiny_path, monkeypatch):
    """One load of a model file for checking and running its scenarios: run_scenarios
    takes the models load_scenarios filled (or the same file under another name), and
    loads a file no given model is of."""
    import sdkit.model.core
    import sdkit.scenarios.runner

    for form, settings in TINY_INPUTS.items():
        text = TINY_SCENARIO.format(form=form, model=tiny_path.as_posix(), settings=settings)
        (tmp_path / f"tiny-{form}.toml").write_text(text, encoding="utf-8")
    fresh = run_scenarios(load_scenarios(tmp_path))
    loads: list[Path] = []
    real = sdkit.model.core.load_model

    def counted(path, **kwargs):
        loads.append(Path(path))
        return real(path, **kwargs)

    monkeypatch.setattr(sdkit.model.core, "load_model", counted)
    monkeypatch.setattr(sdkit.scenarios.runner, "load_model", counted)
    models: dict = {}
    scenarios = load_scenarios(tmp_path, models=models)
    assert len(loads) == 1 and list(models) == [tiny_path]
    shared = run_scenarios(scenarios, models=models)
    link, copy = tmp_path / "link.mdl", tmp_path / "copy.mdl"
    link.symlink_to(tiny_path)
    copy.write_bytes(tiny_path.read_bytes())
    by_other_name = run_scenarios(scenarios, models={link: real(link)})
    assert len(loads) == 1
    pd.testing.assert_frame_equal(shared.results, fresh.results, check_exact=True)
    pd.testing.assert_frame_equal(by_other_name.results, fresh.results, check_exact=True)
    run_scenarios(scenarios, models={copy: real(copy)})  # another file, the same text
    assert loads == [tiny_path, tiny_path]  # no given model of that file: loaded


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
    compared = invoke("scenarios", "compare", out, "--variables", "total talent headcount",
                      "--years", "2016,2017")
    assert compared.exit_code == 0, compared.output
    assert "1->2 vs baseline" in compared.stdout and "total talent headcount" in compared.stdout
    assert compared.stdout.count("lean") == 2
    bad = invoke("scenarios", "compare", out, "--variables", "total talent headcont")
    one_line_error(bad, "Did you mean 'total talent headcount'")


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
    assert '"talent budget share" = 0.15' in text
    bad.write_text(text.replace('"talent budget share" = 0.15', '"talent budget share" = 7')
                   .replace("../models", str(EMPOWERMENT_MDL.parent)), encoding="utf-8")
    one_line_error(invoke("scenarios", "validate", bad), str(bad),
                   'constants."talent budget share"', "outside the documented range [0, 0.9]")


def test_cli_evidence(baseline, empowerment_card, reference_modes_path, tmp_path):
    expected = compare_with_reference(baseline, load_reference_modes(reference_modes_path),
                                      empowerment_card)
    fitted = expected["role"] == "fit"
    result = invoke("evidence", EMPOWERMENT_MDL)
    assert result.exit_code == (0 if expected.loc[fitted, "within"].all() else 1), result.output
    assert result.stdout.count("OUTSIDE") == int((~expected["within"]).sum())
    assert result.stdout.count("(hindcast)") == int((~fitted).sum())
    modes = load_reference_modes(reference_modes_path)
    # a fitted row (R&D in mid-2019, before the card's hindcast horizon) fails the command
    moved = modes.copy()
    moved.loc[(moved["metric"] == "R&D expense") & (moved["time"] == 2019.5),
              ["low", "high"]] = [1.0, 2.0]
    changed = tmp_path / "modes.csv"
    moved.to_csv(changed, index=False)
    result = invoke("evidence", EMPOWERMENT_MDL, "--reference", changed, "--markdown")
    assert result.exit_code == 1
    row = next(line for line in result.stdout.splitlines()
               if line.startswith("| level | R&D expense | 2019.5 |"))
    assert "OUTSIDE" in row and "hindcast" not in row
    # a hindcast row (2021) outside its band is reported, not failing
    moved = modes.copy()
    moved.loc[moved["metric"] == "partner warehouses", ["low", "high"]] = [1.0, 2.0]
    moved.to_csv(changed, index=False)
    result = invoke("evidence", EMPOWERMENT_MDL, "--reference", changed, "--markdown")
    row = next(line for line in result.stdout.splitlines() if "partner warehouses" in line)
    assert row.startswith("| level | partner warehouses |") and "OUTSIDE (hindcast)" in row
    assert result.exit_code == (0 if expected.loc[fitted, "within"].all() else 1)


def test_atomic_write_gives_the_file_the_usual_permissions(tmp_path):
    import os
    import stat

    from sdkit.util.files import write_text_atomic

    plain = tmp_path / "plain.txt"
    plain.write_text("x", encoding="utf-8")
    written = write_text_atomic(tmp_path / "atomic.txt", "x")
    assert stat.S_IMODE(os.stat(written).st_mode) == stat.S_IMODE(os.stat(plain).st_mode)

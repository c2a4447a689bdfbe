"""Monte Carlo bands of scenarios (sdkit.scenarios.bands): the band file, the sample, the
outcomes, the runs on a small model, the command, and the generated block of the docs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import REPO, SCENARIOS_DIR

from sdkit.analysis.stages import crossing_time
from sdkit.cli.app import main
from sdkit.cli.bands import bands_command
from sdkit.errors import ParameterValueError, ScenarioError
from sdkit.report.modeldoc import constant_values
from sdkit.report.scenarios import (
    BANDS_BLOCK,
    QUESTIONS_BLOCK,
    band_summary,
    bands_text,
    scenario_questions,
)
from sdkit.scenarios.bands import (
    DEFAULT_SPEC,
    BandSpecError,
    Outcome,
    compute_bands,
    design,
    load_band_spec,
    outcome_values,
)
from sdkit.scenarios.spec import load_scenarios
from sdkit.util.markers import begin_marker, end_marker, extract_block

DOCS = REPO / "docs" / "scenarios.md"

#: Symmetric ranges around the tiny model's values (birth rate 0.03, lifetime 70).
SPEC = """\
name = "tiny-bands"
title = "Tiny bands"
model = "{model}"

[method]
name = "lhs"
samples = 64
seed = 7

[assumptions."birth rate"]
low = 0.02
high = 0.04
source = "Symmetric around 0.03."

[assumptions."lifetime"]
low = 60
high = 80
source = "Symmetric around 70."

[assumptions."lifetime".tied."policy level"]
at = [60, 80]
values = [4, 6]

[not_varied]
"initial population" = "Kept at 1,000 for the test."

[[outcomes]]
name = "population 20"
kind = "value"
variable = "Population"
year = 20
change = "relative"

[[outcomes]]
name = "births 0-20"
kind = "integral"
variable = "births"
start = 0
end = 20
scale = 1000
unit = "thousand"

[[outcomes]]
name = "reach 1200"
kind = "transition"
variable = "Population"
level = 1200
unit = "year"
"""

SCENARIO = """\
name = "{name}"
model = "{model}"
title = {{ en = "{name}", zh = "情景 {name}" }}
description = {{ en = "Question: {name}?", zh = "问题：{name}？" }}
{constants}
"""
SCENARIOS = {
    "baseline": "",
    "fast-births": '[constants]\n"birth rate" = 0.035',
    "short-lives": '[constants]\n"initial population" = 900',
}


@pytest.fixture()
def tiny_set(tmp_path: Path, tiny_path: Path) -> tuple[Path, Path]:
    """A band file and a folder of scenarios of the tiny model."""
    spec = tmp_path / "bands.toml"
    spec.write_text(SPEC.format(model=tiny_path.as_posix()), encoding="utf-8")
    folder = tmp_path / "scenarios"
    folder.mkdir()
    for name, constants in SCENARIOS.items():
        (folder / f"{name}.toml").write_text(SCENARIO.format(
            name=name, model=tiny_path.as_posix(), constants=constants), encoding="utf-8")
    return spec, folder


@pytest.fixture()
def tiny_bands(tiny_set, tiny):
    spec, folder = tiny_set
    return compute_bands(load_band_spec(spec, model=tiny), load_scenarios(folder), model=tiny)


def edited(spec: Path, old: str, new: str) -> Path:
    text = spec.read_text(encoding="utf-8")
    assert old in text
    spec.write_text(text.replace(old, new, 1), encoding="utf-8")
    return spec


# --- the band file --------------------------------------------------------------------


def test_band_file_reads_assumptions_ties_and_outcomes(tiny_set, tiny):
    spec = load_band_spec(tiny_set[0], model=tiny)
    assert (spec.method, spec.samples, spec.seed) == ("lhs", 64, 7)
    assert [a.name for a in spec.assumptions] == ["birth rate", "lifetime"]
    assert spec.assumptions[1].tied == {"policy level": ((60.0, 80.0), (4.0, 6.0))}
    assert [o.kind for o in spec.outcomes] == ["value", "integral", "transition"]
    assert spec.not_varied == {"initial population": "Kept at 1,000 for the test."}


@pytest.mark.parametrize(("old", "new", "key", "pattern"), [
    ('[assumptions."birth rate"]', '[assumptions."birth rat"]', 'assumptions."birth rat"',
     r"unknown variable 'birth rat' .*Did you mean 'birth rate'"),
    ('[assumptions."lifetime"]\n', '[assumptions."Population"]\n', 'assumptions.Population',
     "is a stock; only constants"),
    ("high = 80", "high = 130", "assumptions.lifetime.high", r"outside the documented range"),
    ("at = [60, 80]", "at = [65, 80]", 'assumptions.lifetime.tied."policy level".at',
     r"cover the sampled range \[60, 80\]"),
    ("values = [4, 6]", "values = [4]", 'assumptions.lifetime.tied."policy level"',
     "of one length"),
    ('source = "Symmetric around 70."', "", "assumptions.lifetime.source", "non-empty string"),
    ('name = "lhs"', 'name = "grid"', "method.name", "not a method"),
    ("[method]\n", "[method]\nsize = 3\n", "method.size", "unknown key"),
    ('name = "lhs"\nsamples = 64', 'name = "sobol"\nsamples = 60', "method.samples",
     "power of two"),
    ('kind = "integral"', 'kind = "mean"', "outcomes[1].kind", "not an outcome kind"),
    ("year = 20", "", "outcomes[0].year", "missing; a value outcome needs"),
    ('change = "relative"', 'change = "ratio"', "outcomes[0].change", "difference"),
    ("end = 20", "end = 0", "outcomes[1].end", "must be after start"),
    ('variable = "births"', 'variable = "birth"', "outcomes[1].variable",
     "Did you mean 'births'"),
])
def test_bad_band_file_names_file_and_key(tiny_set, tiny, old, new, key, pattern):
    path = edited(tiny_set[0], old, new)
    with pytest.raises(BandSpecError) as info:
        load_band_spec(path, model=tiny)
    assert info.value.key == key, str(info.value)
    assert str(info.value).startswith(f"{path}: {key}: ")
    assert re.search(pattern, str(info.value)), str(info.value)


# --- sample and outcomes --------------------------------------------------------------


def test_design_is_reproducible_with_the_seed_and_ties_follow(tiny_set, tiny):
    spec = load_band_spec(tiny_set[0], model=tiny)
    one, two = design(spec), design(spec)
    pd.testing.assert_frame_equal(one, two)
    assert len(one) == 64 and one["birth rate"].between(0.02, 0.04).all()
    np.testing.assert_allclose(one["policy level"], 4 + (one["lifetime"] - 60) / 10)
    # a Latin hypercube: one point in each of the 64 strata of every assumption
    strata = np.floor((one["birth rate"] - 0.02) / 0.02 * 64).astype(int)
    assert sorted(strata) == list(range(64))
    other = load_band_spec(edited(tiny_set[0], "seed = 7", "seed = 8"), model=tiny)
    assert not design(other).equals(one)
    sobol = load_band_spec(edited(tiny_set[0], 'name = "lhs"', 'name = "sobol"'), model=tiny)
    pd.testing.assert_frame_equal(design(sobol), design(sobol))


def test_outcome_values_match_stages_and_the_trapezoid():
    times = np.linspace(0.0, 4.0, 9)
    runs = np.vstack([times ** 2, 0.1 * times])
    outcomes = [Outcome("cross", "transition", "x", level=2.0),
                Outcome("at", "value", "x", year=1.25),
                Outcome("area", "integral", "x", start=0.25, end=3.0)]
    found = outcome_values(outcomes, times, {"x": runs})
    assert found["cross"][0] == crossing_time(pd.Series(runs[0], index=times), 2.0)
    assert np.isnan(found["cross"][1])
    np.testing.assert_allclose(found["at"], [1.5 ** 2 / 2 + 1 / 2, 0.125])
    grid = np.linspace(0.25, 3.0, 12)  # the saved points and both ends: exact for a line
    np.testing.assert_allclose(found["area"][1], np.trapezoid(0.1 * grid, grid))
    with pytest.raises(ParameterValueError, match="outside the run"):
        outcome_values([Outcome("late", "value", "x", year=5.0)], times, {"x": runs})


# --- bands on the tiny model ----------------------------------------------------------


def test_bands_are_reproducible_and_contain_the_deterministic_run(tiny_set, tiny, tiny_bands):
    again = compute_bands(load_band_spec(tiny_set[0], model=tiny), load_scenarios(tiny_set[1]),
                          model=tiny)
    pd.testing.assert_frame_equal(again.samples, tiny_bands.samples)
    summary = band_summary(tiny_bands).set_index(["scenario", "outcome"])
    assert list(summary.columns) == ["value", "p5", "p50", "p95", "change", "change_p5",
                                     "change_p50", "change_p95", "reached"]
    for outcome in ("population 20", "births 0-20", "reach 1200"):
        row = summary.loc[("baseline", outcome)]
        assert row["p5"] < row["value"] < row["p95"], outcome
    base = tiny_bands.deterministic.loc["baseline"]
    assert base["population 20"] == pytest.approx(tiny.run()["Population"].iloc[-1], rel=1e-12)
    assert summary.loc[("baseline", "population 20"), "change_p95"] == 0.0


def test_never_reached_is_a_percentile_and_changes_are_paired(tiny_bands):
    summary = band_summary(tiny_bands).set_index(["scenario", "outcome"])
    reach = summary.loc[("baseline", "reach 1200")]
    assert 0 < reach["reached"] < 1 and reach["p95"] == np.inf
    runs, base = (tiny_bands.samples.loc[name, "population 20"] for name in ("fast-births",
                                                                          "baseline"))
    ratio = runs.to_numpy() / base.to_numpy() - 1  # run by run, on the same lifetimes
    change = summary.loc[("fast-births", "population 20")]
    assert change["change_p50"] in ratio and change["change_p5"] < 0 < change["change_p50"]
    faster = summary.loc[("fast-births", "reach 1200")]
    assert faster["reached"] > reach["reached"] and faster["change_p50"] < 0


def test_a_constant_the_scenario_sets_is_fixed_in_its_runs(tiny_bands, tiny):
    spec = tiny_bands.spec
    table = design(spec)
    fast = tiny_bands.samples.loc["fast-births"]
    # fast-births fixes the birth rate: its 64 runs differ only by the lifetime (and ties)
    again = compute_bands(spec, load_scenarios(spec.path.parent / "scenarios"), model=tiny)
    pd.testing.assert_frame_equal(again.samples.loc["fast-births"], fast)
    assert table["birth rate"].nunique() == 64
    longest = table["lifetime"].idxmax()
    assert fast.loc[longest, "population 20"] == fast["population 20"].max()


def test_scenarios_the_bands_cannot_run(tiny_set, tiny, tmp_path):
    spec = load_band_spec(tiny_set[0], model=tiny)
    scenarios = load_scenarios(tiny_set[1])
    with pytest.raises(ScenarioError, match="Did you mean 'baseline'"):
        compute_bands(spec, scenarios, base="basline", model=tiny)
    step = SCENARIO.format(name="stepped", model=Path(tiny.path).as_posix(), constants="") \
        + '[inputs."birth rate"]\nform = "step"\nbefore = 0.02\nafter = 0.03\ntime = 5\n'
    (tmp_path / "stepped.toml").write_text(step, encoding="utf-8")
    with pytest.raises(ScenarioError, match="stepped.*time-varying inputs"):
        compute_bands(spec, [*scenarios, *load_scenarios([tmp_path / "stepped.toml"])],
                      model=tiny)


def test_command_prints_writes_and_updates(tiny_set, tiny_bands, tmp_path):
    spec, folder = tiny_set
    page = tmp_path / "page.md"
    page.write_text("# P\n" + "".join(f"{begin_marker(b)}\n{end_marker(b)}\n"
                                       for b in (QUESTIONS_BLOCK, BANDS_BLOCK)), "utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(bands_command, [str(folder), "--spec", str(spec), "-o",
                                                str(out), "--update", str(page)])
    assert result.exit_code == 0, result.output
    written = page.read_text("utf-8")
    assert extract_block(written, BANDS_BLOCK) == bands_text(tiny_bands).strip()
    questions = extract_block(written, QUESTIONS_BLOCK)
    assert questions == scenario_questions(load_scenarios(folder)).strip()
    assert "| `fast-births` | Fast-births? | birth rate = 0.035 |" in questions
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 3 * 3 and set(summary["scenario"]) == set(SCENARIOS)
    assert len(pd.read_csv(out / "samples.csv")) == 3 * 64
    text = bands_text(tiny_bands)
    assert "| baseline |" in text and "initial population: Kept at 1,000" in text
    assert "never" in text and "lifetime" in text
    bad = CliRunner().invoke(main, ["scenarios", "bands", str(folder), "--spec", str(spec),
                                    "--base", "x"])
    assert bad.exit_code == 2 and bad.stderr.startswith("sdkit: error: No scenario 'x'")


# --- the shipped band file and the docs -----------------------------------------------


def test_shipped_band_file_matches_the_card_and_the_model(empowerment, empowerment_card):
    spec = load_band_spec(REPO / DEFAULT_SPEC, model=empowerment)
    assert 64 <= spec.samples <= 200 and spec.method in ("lhs", "sobol")
    rules = {(r.variable, r.threshold) for r in empowerment_card.transitions}
    crossings = {(o.variable, o.level) for o in spec.outcomes if o.kind == "transition"}
    assert rules <= crossings  # every stage transition; other crossings (breakeven) allowed
    assert ("net profit", 0.0) in crossings  # the breakeven year (issue 14, money)
    values = constant_values(empowerment)
    for assumption in spec.assumptions:
        comment = empowerment.variables[assumption.name].comment.lower()
        assert "assumption" in comment or "monte carlo" in comment, assumption.name
        assert assumption.source
        # the deterministic run lies inside the sampled range
        dist = assumption.distribution
        assert dist.low <= values[assumption.name] <= dist.high, assumption.name
        # a tie passes through the model's own values: the deterministic run is on it
        for name, (at, tied) in assumption.tied.items():
            at_model = np.interp(values[assumption.name], at, tied)
            assert at_model == pytest.approx(values[name], rel=1e-4), name
    assert {"maximum online penetration", "potential buyers", "warehouse pool",
            "imitation share", "imitation delay", "employee share retention effect",
            "competitor utility gain"} <= {a.name for a in spec.assumptions}


@pytest.mark.slow
def test_docs_bands_are_the_generated_ones(empowerment, shipped_scenarios):
    spec = load_band_spec(REPO / DEFAULT_SPEC, model=empowerment)
    results = compute_bands(spec, shipped_scenarios, model=empowerment)
    page = DOCS.read_text(encoding="utf-8")
    documented = extract_block(page, QUESTIONS_BLOCK) + "\n" + extract_block(page, BANDS_BLOCK)
    generated = scenario_questions(shipped_scenarios).strip() + "\n" + bands_text(results).strip()
    assert documented == generated, (
        "docs/scenarios.md is out of date; regenerate it with `make scenarios-docs` or\n"
        "  sdkit scenarios bands scenarios --update docs/scenarios.md")
    assert set(results.deterministic.index) == {p.stem for p in SCENARIOS_DIR.glob("*.toml")}

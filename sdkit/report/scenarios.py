"""Text and Markdown renderings of scenarios and their results, for the CLI and the docs.

Everything here takes plain tables (those of :class:`sdkit.scenarios.runner.ScenarioResults`)
and returns strings or data frames; nothing runs a model or touches files.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sdkit.errors import ParameterValueError, UnknownVariableError
from sdkit.report.text import render_table
from sdkit.scenarios.runner import ScenarioResults
from sdkit.scenarios.spec import Scenario
from sdkit.util.names import close_matches

if TYPE_CHECKING:
    from sdkit.scenarios.bands import BandResults, Outcome

__all__ = [
    "TABLE_BLOCK",
    "BANDS_BLOCK",
    "QUESTIONS_BLOCK",
    "scenario_questions",
    "band_summary",
    "bands_text",
    "scenario_list",
    "transitions_text",
    "default_years",
    "default_base",
    "differences",
    "differences_text", "save_bands"]

#: Name of the generated transitions block in a Markdown page (see :mod:`sdkit.util.markers`).
TABLE_BLOCK = "transitions"
#: Name of the generated block of Monte Carlo bands (see :mod:`sdkit.scenarios.bands`).
BANDS_BLOCK = "bands"
#: Name of the generated block listing each scenario's question and changes.
QUESTIONS_BLOCK = "scenario-questions"


def _time(value: float) -> str:
    return "never" if math.isnan(value) else f"{value:.2f}"


def scenario_list(scenarios: Sequence[Scenario]) -> str:
    """Two lines per scenario: name and titles; then its file and what it changes."""
    width = max((len(s.name) for s in scenarios), default=0) + 2
    lines = []
    for s in scenarios:
        changes = [*(f"{name} = {value:g}" for name, value in s.constants.items()),
                   *(f"{name} ({i.form} input)" for name, i in s.inputs.items())]
        lines.append(f"{s.name.ljust(width)}{s.title['en']} / {s.title['zh']}")
        lines.append(f"{'':{width}}{s.path}: {'; '.join(changes) or 'no changes'}")
    return "\n".join(lines)


def scenario_questions(scenarios: Sequence[Scenario]) -> str:
    """A Markdown table: each scenario's question (its description's first sentence after
    ``Question:``, else its title) and what it changes (constants and inputs)."""
    rows = []
    for s in scenarios:
        text = s.description["en"]
        question = text.removeprefix("Question: ").split("?")[0] + "?" \
            if text.startswith("Question: ") and "?" in text else s.title["en"]
        question = question[:1].upper() + question[1:]
        changes = [*(f"{name} = {value:g}" for name, value in s.constants.items()),
                   *(f"{name} ({i.form} input)" for name, i in s.inputs.items())]
        rows.append([f"`{s.name}`", question, "; ".join(changes) or "none"])
    return render_table(rows, ["scenario", "question", "changes"], markdown=True, left=3)


def transitions_text(transitions: pd.DataFrame, *, base: str | None = None,
                     markdown: bool = False) -> str:
    """Transition times and years in each stage, one row per scenario.

    Parameters
    ----------
    transitions : pandas.DataFrame
        :attr:`ScenarioResults.transitions`.
    base : str, optional
        A scenario to compare with: adds each transition's difference in years
        (``+1.25``; ``n/a`` when either run never reaches it).
    markdown : bool
        Markdown instead of aligned plain text.

    Returns
    -------
    str
        The table and a legend naming the stages.
    """
    if transitions.empty:
        return "No stage transitions (the model has no card with transition rules)."
    stages = transitions.drop_duplicates("stage").sort_values("stage")
    labels = [t for t in stages["transition"] if t != "start"]
    header = ["scenario", *labels]
    if base is not None:
        header += [f"{label} vs {base}" for label in labels]
    header += [f"years in {n}" for n in stages["stage"]]
    by = {(r.scenario, r.stage): r for r in transitions.itertuples()}
    into = {(r.scenario, r.transition): r.time for r in transitions.itertuples()}
    rows = []
    for name in dict.fromkeys(transitions["scenario"]):
        row = [name, *(_time(into[name, label]) for label in labels)]
        if base is not None:
            row += [_shift(into[name, label], into[base, label]) for label in labels]
        row += [f"{by[name, n].duration:.2f}" for n in stages["stage"]]
        rows.append(row)
    names = ", ".join(f"{r.stage} {r.stage_en} {r.stage_zh}".strip() for r in stages.itertuples())
    legend = (f"Stages: {names}. Transition times are years; never = not reached by the end "
              "of the run.")
    return render_table(rows, header, markdown=markdown) + "\n\n" + legend


def _shift(time: float, base: float) -> str:
    if math.isnan(time) or math.isnan(base):
        return "n/a"
    return f"{time - base:+.2f}"


def default_base(results: ScenarioResults, given: str | None = None) -> tuple[str, str]:
    """The scenario the others are compared with, and a line saying which and why.

    ``given`` when there is one (it must be among the results), else the scenario named
    ``baseline``, else the first scenario run (the results do not record a model card).

    Returns
    -------
    tuple of (str, str)
        The base's name and, when it is the first scenario for want of one named
        ``baseline``, the line that says so ("" otherwise).

    Raises
    ------
    ParameterValueError
        If ``given`` is not among the results (naming the valid scenarios).
    """
    if given is not None:
        results.check_scenario(given)
        return given, ""
    names = results.scenarios
    if not names:
        raise ParameterValueError("The results hold no scenario to compare.")
    if "baseline" in names:
        return "baseline", ""
    return names[0], (f"Compared with the first scenario, {names[0]!r} (none is named "
                      "'baseline'; choose another with --base).")


def default_years(results: ScenarioResults) -> list[float]:
    """Every fifth whole year inside the runs, and the end of the shortest run."""
    ends = results.results.groupby("scenario")["time"].agg(["min", "max"])
    start, end = float(ends["min"].max()), float(ends["max"].min())
    years = [float(y) for y in range(math.ceil(start / 5) * 5, math.floor(end) + 1, 5)]
    return sorted({*years, end})


def differences(results: ScenarioResults, *, variables: Sequence[str],
                years: Sequence[float], base: str) -> pd.DataFrame:
    """Chosen outputs at chosen years, and their differences from a base scenario.

    Values between saved times are interpolated linearly.

    Returns
    -------
    pandas.DataFrame
        Columns ``variable, scenario, year, value, base, difference, relative``
        (``relative`` is NaN where the base value is 0).

    Raises
    ------
    ParameterValueError
        Unknown base scenario, or a year outside a run.
    UnknownVariableError
        A variable not in the results (with close matches).
    """
    results.check_scenario(base)
    known = [str(name) for name in pd.unique(results.results["variable"])]
    for name in variables:
        if name not in known:
            raise UnknownVariableError(name, close_matches(name, known), "the scenario results")
    rows = []
    for scenario in results.scenarios:
        run = results.wide(scenario)
        times = run.index.to_numpy(dtype=float)
        for year in years:
            if not times[0] <= year <= times[-1]:
                raise ParameterValueError(
                    f"Year {year:g} is outside the run of {scenario!r} "
                    f"[{times[0]:g}, {times[-1]:g}].")
        for name in variables:
            values = np.interp(years, times, run[name].to_numpy(dtype=float))
            rows += [{"variable": name, "scenario": scenario, "year": float(y), "value": float(v)}
                     for y, v in zip(years, values, strict=True)]
    table = pd.DataFrame(rows, columns=["variable", "scenario", "year", "value"])
    reference = table[table["scenario"] == base].set_index(["variable", "year"])["value"]
    table["base"] = [reference[v, y] for v, y in zip(table["variable"], table["year"], strict=True)]
    table["difference"] = table["value"] - table["base"]
    with np.errstate(divide="ignore", invalid="ignore"):
        table["relative"] = np.where(table["base"] != 0, table["difference"] / table["base"],
                                     np.nan)
    return table


def differences_text(table: pd.DataFrame, *, base: str, markdown: bool = False) -> str:
    """Render :func:`differences`: one block per variable, scenarios as rows, years as columns.

    Each cell is the value, and for other scenarios than ``base`` the difference
    from it (absolute, relative).
    """
    blocks = []
    for variable, part in table.groupby("variable", sort=False):
        years = list(dict.fromkeys(part["year"]))
        rows = []
        for scenario, runs in part.groupby("scenario", sort=False):
            cells = [scenario]
            for r in runs.itertuples():
                cell = f"{r.value:.4g}"
                if scenario != base:
                    relative = "n/a" if math.isnan(r.relative) else f"{r.relative:+.1%}"
                    cell += f" ({r.difference:+.3g}, {relative})"
                cells.append(cell)
            rows.append(cells)
        title = f"{variable}: value (difference from {base}, relative)"
        header = ["scenario", *(f"{y:g}" for y in years)]
        blocks.append(title + "\n" + render_table(rows, header, markdown=markdown))
    return "\n\n".join(blocks)


def _change(outcome: Outcome, runs: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Paired change; a transition never reached counts as +inf (both never: no change)."""
    if outcome.kind == "transition":
        runs, base = (np.where(np.isnan(x), np.inf, x) for x in (runs, base))
        with np.errstate(invalid="ignore"):
            return np.where(np.isinf(runs) & np.isinf(base), 0.0, runs - base)
    if outcome.change == "relative":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(base != 0, runs / base - 1.0, np.nan)
    return runs - base


def _percentiles(prefix: str, values: np.ndarray) -> dict[str, float]:
    """Type-1 percentiles (each a sampled value) of the values that are not NaN."""
    from sdkit.scenarios.bands import PERCENTILES

    kept = values[~np.isnan(values)]
    found = np.quantile(kept, [p / 100 for p in PERCENTILES], method="inverted_cdf") \
        if kept.size else np.full(len(PERCENTILES), np.nan)
    return {f"{prefix}{p}": float(v) for p, v in zip(PERCENTILES, found, strict=True)}


def band_summary(results: BandResults) -> pd.DataFrame:
    """Deterministic values, bands and changes of :func:`sdkit.scenarios.bands.compute_bands`.

    Returns
    -------
    pandas.DataFrame
        One row per scenario and outcome: ``scenario, outcome, value, p5, p50, p95,
        change, change_p5, change_p50, change_p95, reached``: the deterministic
        value and its band over the sample, the change from the base scenario
        (paired run by run: a difference, or a ratio minus one for a relative
        outcome; a transition never reached counts as later than any year, and
        never in both runs as no change) and its band, and the share of runs with a
        value (a transition is NaN, "never", in the others).
    """
    rows = []
    for name, det in results.deterministic.iterrows():
        for o in results.spec.outcomes:
            runs = results.samples.loc[name, o.name].to_numpy(dtype=float)
            base = results.samples.loc[results.base, o.name].to_numpy(dtype=float)
            never = np.inf if o.kind == "transition" else np.nan
            base_det = results.deterministic.loc[results.base, o.name]
            rows.append({"scenario": name, "outcome": o.name, "value": det[o.name],
                         **_percentiles("p", np.where(np.isnan(runs), never, runs)),
                         "change": _change(o, np.array([det[o.name]]), np.array([base_det]))[0],
                         **_percentiles("change_p", _change(o, runs, base)),
                         "reached": float(np.mean(~np.isnan(runs)))})
    return pd.DataFrame(rows)


def _outcome_cell(outcome: Outcome, value: float, change: bool = False) -> str:
    """One number of an outcome: scaled, rounded; ``never`` for a transition not reached."""
    if math.isnan(value):
        return "never" if outcome.kind == "transition" and not change else "n/a"
    if math.isinf(value):
        return ("never" if value > 0 else "(base never)") if outcome.kind == "transition" \
            else f"{value:+}"
    if change and outcome.change == "relative" and outcome.kind != "transition":
        return f"{value:+.1%}"
    scaled = value if outcome.kind == "transition" else value / outcome.scale
    return f"{scaled:+.{outcome.decimals}f}" if change else f"{scaled:.{outcome.decimals}f}"


def _band_table(results: BandResults, summary: pd.DataFrame, change: bool) -> str:
    outcomes = results.spec.outcomes
    prefix = "change_p" if change else "p"
    by = summary.set_index(["scenario", "outcome"])
    rows = []
    for name in results.deterministic.index:
        if change and name == results.base:
            continue
        cells = [str(name)]
        for o in outcomes:
            row = by.loc[(name, o.name)]
            band = ", ".join(_outcome_cell(o, float(row[f"{prefix}{p}"]), change)
                             for p in (5, 50, 95))
            cells.append(f"{_outcome_cell(o, float(row['change' if change else 'value']), change)}"
                         f" [{band}]")
        rows.append(cells)
    header = ["scenario"]
    for o in outcomes:
        unit = "%" if change and o.change == "relative" and o.kind != "transition" else o.unit
        header.append(f"{o.name} ({unit})" if unit else o.name)
    return render_table(rows, header, markdown=True)


def bands_text(results: BandResults) -> str:
    """The Markdown block of Monte Carlo bands: outcomes, changes from the base scenario,
    the assumptions varied (with their model values, ranges and sources) and those not
    varied.

    Parameters
    ----------
    results : sdkit.scenarios.bands.BandResults

    Returns
    -------
    str
    """
    spec = results.spec
    summary = band_summary(results)
    method = {"lhs": "Latin hypercube", "sobol": "scrambled Sobol points",
              "montecarlo": "independent draws"}[spec.method]
    lines = [
        f"Sample: {spec.samples} runs per scenario ({method}, seed {spec.seed}), the same runs "
        f"for every scenario, over the {len(spec.assumptions)} assumptions below. Each cell is "
        "the deterministic run (every assumption at the model's value) and, in brackets, the "
        "5th, 50th and 95th percentiles over the sample; never = the transition is not "
        "reached by the end of the run.", "",
        "**Outcomes**", "", _band_table(results, summary, change=False), "",
        f"**Change from {results.base}**, run by run on the same sample (in the outcome's "
        "unit; % for relative changes):", "",
        _band_table(results, summary, change=True), "",
        "**Assumptions varied** (uniform unless stated; tied constants follow by "
        "interpolation):", ""]
    rows = []
    for a in spec.assumptions:
        d = a.distribution
        kind = "" if d.kind == "uniform" else f", {d.kind}"
        tied = f"; tied: {', '.join(a.tied)}" if a.tied else ""
        rows.append([a.name, f"{results.defaults[a.name]:g}", f"{d.low:g} to {d.high:g}{kind}"
                     f"{tied}", a.source])
    lines.append(render_table(rows, ["assumption", "model", "range", "source"], markdown=True,
                              left=4))
    if spec.not_varied:
        lines += ["", "**Not varied** (no constant of the model can vary them):", ""]
        lines += [f"- {name}: {why}" for name, why in spec.not_varied.items()]
    return "\n".join(lines)


def save_bands(results: BandResults, folder: str | os.PathLike[str]) -> list[Path]:
    """Write ``summary.csv`` (:func:`band_summary`, one row per
    scenario and outcome) and ``samples.csv`` (every run's outcomes beside its
    assumptions) into ``folder``, atomically; return the two paths."""
    from sdkit.util.files import atomic_write

    out = Path(folder)
    summary = band_summary(results).set_index("scenario")
    samples = results.samples.join(results.design)
    return [atomic_write(out / "summary.csv", lambda path: summary.to_csv(path)),
            atomic_write(out / "samples.csv", lambda path: samples.to_csv(path))]

"""Text and Markdown renderings of scenarios and their results, for the CLI and the docs.

Everything here takes plain tables (those of :class:`sdkit.runner.ScenarioResults`)
and returns strings or data frames; nothing runs a model or touches files.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sdkit.errors import ParameterValueError, UnknownVariableError
from sdkit.names import close_matches
from sdkit.report import render_table
from sdkit.runner import ScenarioResults
from sdkit.scenarios import Scenario

__all__ = [
    "TABLE_BLOCK",
    "scenario_list",
    "transitions_text",
    "default_years",
    "differences",
    "differences_text",
]

#: Name of the generated transitions block in a Markdown page (see :mod:`sdkit.markers`).
TABLE_BLOCK = "transitions"


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

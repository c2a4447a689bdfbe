"""Run scenarios and collect their results and stage transitions.

Each scenario is run from a fresh model state (:meth:`sdkit.model.core.Model.run`
with ``engine="auto"`` by default: the ensemble engine where it accepts the run,
else a fresh PySD model); a model file is translated and loaded
once however many scenarios use it, and not at all when the caller passes the
loaded model (``models``, e.g. the one :func:`sdkit.scenarios.spec.load_scenarios`
loaded to check the scenarios). The stage transitions of each run are found
with :func:`sdkit.analysis.stages.detect_stages` and the rules of the model's card
(:mod:`sdkit.model.card`), when the model has one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sdkit.analysis.stages import detect_stages
from sdkit.errors import ParameterValueError, ScenarioError
from sdkit.model.card import ModelCard, card_path, load_card
from sdkit.model.core import Model, load_model
from sdkit.scenarios.spec import Scenario
from sdkit.util.names import close_matches

__all__ = ["ScenarioResults", "run_scenarios", "RESULT_COLUMNS", "TRANSITION_COLUMNS"]

#: Columns of :attr:`ScenarioResults.results`.
RESULT_COLUMNS = ["scenario", "time", "variable", "value"]
#: Columns of :attr:`ScenarioResults.transitions`.
TRANSITION_COLUMNS = ["scenario", "stage", "stage_en", "stage_zh", "transition", "variable",
                      "threshold", "time", "reached", "duration"]
# PySD warns each time a constant becomes a time series, which is what inputs are for.


@dataclass(frozen=True)
class ScenarioResults:
    """Results of several scenario runs, as tidy tables.

    Attributes
    ----------
    results : pandas.DataFrame
        Long table with columns ``scenario, time, variable, value``: one row per
        scenario, saved time and variable.
    transitions : pandas.DataFrame
        One row per scenario and stage, with the columns of
        :meth:`sdkit.analysis.stages.StageReport.stage_frame` after ``scenario``: how and
        when (``time``, NaN if never; ``reached``) the run entered the stage, and
        the years it spent there (``duration``). Empty when the model has no card.
    engines : dict of str to str
        What ran each scenario: ``"ensemble"`` or ``"pysd"`` (``Model.run``'s
        ``attrs["engine"]``); empty for results read back from files.
    """

    results: pd.DataFrame
    transitions: pd.DataFrame
    engines: dict[str, str] = field(default_factory=dict)

    @property
    def scenarios(self) -> list[str]:
        """Scenario names, in run order."""
        return [str(name) for name in pd.unique(self.results["scenario"])]

    def wide(self, scenario: str) -> pd.DataFrame:
        """One scenario's run as :meth:`Model.run` returns it: indexed by time, a column per
        variable.

        Raises
        ------
        ParameterValueError
            If there is no such scenario (the message lists close matches).
        """
        self.check_scenario(scenario)
        rows = self.results[self.results["scenario"] == scenario]
        order = list(pd.unique(rows["variable"]))
        table = rows.pivot(index="time", columns="variable", values="value")[order]
        table.columns.name = None
        return table

    def check_scenario(self, name: str) -> None:
        """Raise ParameterValueError unless ``name`` is one of :attr:`scenarios`."""
        if name not in self.scenarios:
            hint = close_matches(name, self.scenarios)
            raise ParameterValueError(
                f"No scenario {name!r} in the results; valid scenarios: {self.scenarios}."
                + (f" Did you mean {hint[0]!r}?" if hint else ""))


def run_scenarios(
    scenarios: Sequence[Scenario], *,
    progress: Callable[[int, int, Scenario], None] | None = None,
    card: ModelCard | None = None, engine: str = "auto",
    models: Mapping[Path | None, Model] | None = None,
) -> ScenarioResults:
    """Run each scenario from a fresh model and collect the results.

    Parameters
    ----------
    scenarios : sequence of Scenario
        With unique names (see :func:`sdkit.scenarios.spec.load_scenarios`).
    progress : callable, optional
        Called as ``progress(done, total, scenario)`` after each run.
    card : ModelCard, optional
        Stage rules and names for every scenario; default each model's own card
        (no transitions for a model without one).
    engine : {"auto", "pysd", "ensemble"}, default "auto"
        What runs each scenario (:meth:`sdkit.model.core.Model.run`): ``"auto"`` is the
        ensemble engine (bitwise equal to PySD, compiled programs cached) and PySD
        where the engine refuses a scenario (e.g. one with time-varying inputs).
    models : mapping, optional
        Models already loaded (the ``models`` :func:`sdkit.scenarios.spec.load_scenarios`
        filled, or ``{model.path: model}``); a scenario of a model's file (by
        :attr:`Model.path <sdkit.model.core.Model.path>`, the same file under another name
        too) runs on it instead of loading the file again.

    Returns
    -------
    ScenarioResults

    Raises
    ------
    ScenarioError
        If two scenarios have the same name.
    SdkitError
        Whatever loading a model, its card, or running it raises.
    """
    names = [s.name for s in scenarios]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ScenarioError(f"Scenario names must be unique; repeated: {duplicates}.",
                            key="name")
    loaded: dict[Path, Model] = {}
    cards: dict[Path, ModelCard | None] = {}
    long_tables, stage_tables = [], []
    engines: dict[str, str] = {}
    for done, scenario in enumerate(scenarios, start=1):
        path = scenario.model_path
        if path not in loaded:
            loaded[path] = _given(path, models or {}) or load_model(path)
            cards[path] = card if card is not None else _card_of(path)
        model = loaded[path]
        settings: dict[str, Any] = dict(scenario.run_settings)
        run = model.run(scenario.params(model), engine=engine, **settings)
        engines[scenario.name] = str(run.attrs.get("engine", "pysd"))
        long_tables.append(_long(scenario.name, run))
        scenario_card = cards[path]
        if scenario_card is not None and scenario_card.transitions:
            report = detect_stages(run, scenario_card.transitions)
            stages = report.stage_frame(scenario_card.stages)
            stages.insert(0, "scenario", scenario.name)
            stage_tables.append(stages)
        if progress is not None:
            progress(done, len(scenarios), scenario)
    results = (pd.concat(long_tables, ignore_index=True) if long_tables
               else pd.DataFrame(columns=RESULT_COLUMNS))
    transitions = (pd.concat(stage_tables, ignore_index=True) if stage_tables
                   else pd.DataFrame(columns=TRANSITION_COLUMNS))
    return ScenarioResults(results, transitions, engines)


def _given(path: Path, models: Mapping[Path | None, Model]) -> Model | None:
    """The given model of the file ``path`` (the same file under another name too)."""
    for model in models.values():
        if model.path == path:
            return model
    for model in models.values():
        try:
            if os.path.samefile(model.path, path):
                return model
        except OSError:
            continue
    return None


def _card_of(model_path: Path) -> ModelCard | None:
    return load_card(model_path) if card_path(model_path).is_file() else None


def _long(name: str, run: pd.DataFrame) -> pd.DataFrame:
    long = run.melt(ignore_index=False, var_name="variable", value_name="value").reset_index()
    long.insert(0, "scenario", name)
    long["time"] = long["time"].astype(float)
    long["value"] = long["value"].astype(float)
    return long[RESULT_COLUMNS]

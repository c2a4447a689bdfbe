"""What a briefing of a model shows: the model card's ``[briefing]`` table, flags, defaults.

:func:`plan_briefing` resolves, before anything runs, the model, its card, the
scenarios, the base scenario, the sensitivity spec and the variables to chart:

* the **model** is the one given, else the model of the given scenarios, else the
  example shipped with sdkit (:mod:`sdkit.examples`);
* the **scenarios** are the given folder or file, else the card's
  ``[briefing] scenarios``, else the model alone, run as written ("Baseline");
* the **base** is the given name (which must exist), else the card's
  ``[briefing] base`` when it is among the scenarios, else the first scenario named
  ``baseline``, else the first scenario;
* the **sensitivity spec** is the given file, else the card's ``[briefing]
  sensitivity``, else none (the page then has no sensitivity section);
* the **variables** are those given (``--show``), else the card's ``[briefing]
  show`` panels, else the model's stocks that change most in the base run
  (:func:`default_variables`: at most :data:`MAX_DEFAULT`, in model order).

No model is run here except by :func:`default_variables`, after the scenarios ran, and
by :func:`study_base_run`, the sensitivity study's own base run (for the fan charts'
dashed line when no briefing scenario is the study's base).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sdkit.errors import (
    InputFileError,
    MissingComponentError,
    ParameterValueError,
    ScenarioError,
)
from sdkit.model.card import ModelCard, card_path, load_card
from sdkit.model.card_briefing import Panel, check_card_names
from sdkit.model.core import Model, load_model
from sdkit.report.modeltext import model_sectors
from sdkit.scenarios.spec import Scenario, load_scenarios
from sdkit.util.names import close_matches
from sdkit.util.validation import run_warnings

__all__ = ["BriefingPlan", "plan_briefing", "default_variables", "model_time_unit",
           "model_scenario", "study_base_run", "MAX_DEFAULT"]

#: Stocks charted at most when neither the card nor ``--show`` names variables.
MAX_DEFAULT = 8


@dataclass(frozen=True)
class BriefingPlan:
    """The resolved inputs of a briefing.

    Attributes
    ----------
    model : Model
    card : ModelCard or None
    scenarios : list of Scenario
    base : str
    spec : Path or None
        The sensitivity spec (None: no sensitivity section).
    panels : tuple of Panel
        Variables to chart, grouped; empty: :func:`default_variables` after the runs.
    sectors : dict of str to str
        Variable -> the model file's sector (group).
    """

    model: Model
    card: ModelCard | None
    scenarios: list[Scenario]
    base: str
    spec: Path | None
    panels: tuple[Panel, ...]
    sectors: dict[str, str]

    def card_spec(self) -> bool:
        """Whether the spec is the one the card names (so its titles apply)."""
        briefing = self.card.briefing if self.card is not None else None
        return briefing is not None and briefing.sensitivity is not None \
            and self.spec is not None and Path(self.spec).resolve() == briefing.sensitivity


def model_time_unit(model: Model) -> str:
    """The model's time unit: the units of ``INITIAL TIME`` (else of the time step)."""
    for py_name in ("initial_time", "time_step", "final_time"):
        for variable in model.variables.values():
            if variable.py_name == py_name and variable.units.strip():
                return variable.units.strip()
    return ""


def model_scenario(model: Model) -> Scenario:
    """The model run as written, as a scenario named ``baseline``."""
    return Scenario(name="baseline", title={"en": "Baseline", "zh": "基准"},
                    description={"en": "The model as written.", "zh": "模型原样运行。"},
                    path=model.path, model_path=model.path)


def _base(scenarios: Sequence[Scenario], given: str | None, card: ModelCard | None,
          where: Path | None) -> str:
    names = [s.name for s in scenarios]
    if given:
        if given not in names and where is None:
            raise ScenarioError(
                f"No scenario named {given!r}: without scenarios (--scenarios DIR, or the "
                f"card's [briefing] scenarios) the model runs alone as {names[0]!r}; valid: "
                f"{names}.", key="base")
        if given not in names:
            hint = close_matches(given, names)
            raise ScenarioError(f"No scenario named {given!r} in {where}; scenarios: {names}."
                                + (f" Did you mean {hint[0]!r}?" if hint else ""), key="base")
        return given
    wanted = card.briefing.base if card is not None and card.briefing is not None else ""
    for name in (wanted, "baseline"):
        if name and name in names:
            return name
    return names[0]


def _show(model: Model, show: Sequence[str]) -> tuple[Panel, ...]:
    """``--show`` names, as the model spells them (close matches for unknown ones); the
    control variables (INITIAL TIME, TIME STEP...) cannot be charted."""
    found = [model.variable(name) for name in show]
    control = [v.name for v in found if v.kind == "control"]
    if control:
        raise ParameterValueError(f"--show {control[0]!r} is a simulation control, not a "
                                  "result to chart; give a stock, flow or auxiliary.")
    return (Panel(tuple(v.name for v in found)),) if show else ()


def _check_spec(spec: str | Path | None, model: Model) -> None:
    """A sensitivity spec must exist and study the briefing's model (read before anything
    runs)."""
    if spec is None:
        return
    if not Path(spec).is_file():
        raise InputFileError(f"No sensitivity spec file {spec}; give an existing spec "
                             "(--sensitivity SPEC), or --no-sensitivity.", path=str(spec))
    try:
        from sdkit.sensitivity.spec import load_spec

        studied = load_spec(spec)
    except ImportError as err:  # sdkit.sensitivity (or a part of it) cannot be imported
        raise MissingComponentError(f"The sensitivity study needs sdkit.sensitivity ({err}); "
                                    "reinstall sdkit, or pass --no-sensitivity.") from err
    if Path(studied.model_path).resolve() != model.path.resolve():
        raise ScenarioError(
            f"{spec}: the study runs {studied.model_path}, not the briefing's model "
            f"{model.path}; give a study of the same model.", path=str(spec), key="scenario")


def _check_models(scenarios: Sequence[Scenario], model: Model) -> None:
    for scenario in scenarios:
        if Path(scenario.model_path).resolve() != model.path.resolve():
            raise ScenarioError(
                f"{scenario.path}: the scenario runs {scenario.model_path}, not the briefing's "
                f"model {model.path}; give scenarios of the same model.", path=str(
                    scenario.path), key="model")


def plan_briefing(model: str | Path | None = None, scenarios: str | Path | None = None,
                  spec: str | Path | None = None, *, base: str | None = None,
                  show: Sequence[str] = (), sensitivity: bool = True) -> BriefingPlan:
    """Resolve what a briefing shows (see the module docstring).

    Parameters
    ----------
    model : path, optional
        The model file.
    scenarios : path, optional
        Folder (or file) of scenario files.
    spec : path, optional
        Sensitivity spec.
    base : str, optional
        The scenario the others are compared with.
    show : sequence of str
        Variables to chart (replaces the card's panels).
    sensitivity : bool
        False: no sensitivity section, whatever the card says.

    Raises
    ------
    ScenarioError
        For an unknown base, or scenarios of another model than ``model``.
    UnknownVariableError
        For an unknown ``show`` name.
    InputFileError
        For a card whose ``[briefing]`` or ``[names]`` names unknown variables, or a
        sensitivity spec file that does not exist.
    """
    models: dict[Path | None, Model] = {}  # each model file loaded once for the plan
    loaded = load_scenarios(scenarios, models=models) if scenarios is not None else None
    if model is None:
        from sdkit import examples

        model = loaded[0].model_path if loaded else examples.model_path()
    the_model = next((m for m in models.values() if m.path.resolve() == Path(model).resolve()),
                     None) or load_model(model)
    models.setdefault(the_model.path, the_model)
    card = load_card(the_model.path) if card_path(the_model.path).is_file() else None
    sectors = model_sectors(the_model.path, the_model.variables)
    if card is not None:
        check_card_names(card.path, card.briefing, card.names, the_model.variables,
                         set(sectors.values()))
    briefing = card.briefing if card is not None else None
    if loaded is None and briefing is not None and briefing.scenarios is not None:
        scenarios = briefing.scenarios
        loaded = load_scenarios(scenarios, models=models)
    chosen = loaded if loaded else [model_scenario(the_model)]
    _check_models(chosen, the_model)
    if spec is None and sensitivity and briefing is not None:
        spec = briefing.sensitivity
    _check_spec(spec if sensitivity else None, the_model)
    panels = _show(the_model, show) or (briefing.show if briefing is not None else ())
    return BriefingPlan(the_model, card, chosen,
                        _base(chosen, base, card, Path(scenarios) if scenarios else None),
                        Path(spec) if spec is not None and sensitivity else None,
                        tuple(panels), sectors)


def default_variables(model: Model, run: pd.DataFrame, limit: int = MAX_DEFAULT) -> list[str]:
    """The stocks to chart when nothing names them: the ``limit`` stocks whose value
    changes most over ``run`` relative to their largest size, in model order.

    A stock that never changes is never chosen (unless all are constant, when the
    first stocks are); a model without stocks shows its first flows, then auxiliaries.
    """
    candidates = [v.name for v in model.stocks() if v.name in run.columns]
    if not candidates:
        candidates = [v.name for v in model.variables.values()
                      if v.kind in ("flow", "auxiliary") and v.name in run.columns]
    change = {}
    for name in candidates:
        values = run[name].to_numpy(float)
        size = float(np.nanmax(np.abs(values))) if values.size else 0.0
        change[name] = float(np.nanmax(values) - np.nanmin(values)) / size if size else 0.0
    ranked = sorted(candidates, key=lambda n: -change[n])[:limit]
    return [name for name in candidates if name in ranked]


def study_base_run(result: Any) -> pd.DataFrame | None:
    """Run a sensitivity study's own base: its base scenario's (or bare model's) parameters
    and run settings, returning its band variables.

    Parameters
    ----------
    result : SensitivityResult
        With its ``spec`` (:class:`sdkit.sensitivity.spec.SensitivitySpec`) and ``bands``.

    Returns
    -------
    pandas.DataFrame or None
        Time index, one column per band variable; None without a spec or band variables.
    """
    spec, bands = getattr(result, "spec", None), getattr(result, "bands", None)
    if spec is None or not isinstance(bands, pd.DataFrame) or bands.empty:
        return None
    variables = [str(v) for v in dict.fromkeys(bands["variable"])]
    with run_warnings():
        return load_model(spec.model_path).run(dict(spec.base_params),
                                               return_columns=variables,
                                               **dict(spec.run_settings))

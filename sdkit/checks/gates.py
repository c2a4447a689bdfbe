"""How long each MIN, MAX, IF THEN ELSE and lookup of a model binds during a run.

:func:`gate_report` runs the model once with PySD saved at every TIME STEP (its
baseline or a scenario) and evaluates every gate of every equation (stock rates
and SMOOTH/DELAY inputs included; initial values act once and are not gates) at
every step and subscript element, with a numpy evaluator over the IR and PySD's
functions (:mod:`sdkit.engine.runtime`); nothing read from the model is executed.
Hidden stocks in a gate's arguments come from the ensemble engine (steps it
cannot give are "not evaluated", as the gate's note says).

A gate *binds* (a tie ``a == b`` never does; inside an IF THEN ELSE branch, only
while that branch is selected): a ``MIN``/``MAX`` when a *limit*, an argument
that is a number or depends only on constants, is selected over every other
argument (when none or all are constant, the first argument is the quantity and
the others the limits: write ``MIN(quantity, limit)``); an ``IF THEN ELSE`` while
its condition is true (a condition of constants and Time only is a *schedule*,
listed, not counted); a lookup while its input is outside the x range, where the
table holds its end value (an input of constants and Time only is a schedule, an
extrapolating XMILE table an ``extrapolation``; neither is counted). The value at
``t`` acts over ``[t, t + dt)``: ``years = dt * steps bound`` in years (months,
weeks, days, quarters converted), ``share = years / run length``. A subscripted
gate is reported at the element bound longest. See docs/reliability.md.

The same run gives the *saturated factors* (:mod:`sdkit.checks.saturation`):
bounded factors (a documented range ``[0, 1]``, or dimensionless values in it) of
the state that sit within a tolerance of 0 or 1, which act like binding gates the
gate rules cannot see. The equations are read and evaluated by
:mod:`sdkit.checks.gate_eval`.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sdkit.checks import saturation as sat
from sdkit.checks.gate_eval import Evaluator, read_parts, render
from sdkit.checks.saturation import SaturatedFactor
from sdkit.errors import ParameterValueError, ScenarioError, SdkitError

if TYPE_CHECKING:
    import pandas as pd

    from sdkit.model.core import Model
    from sdkit.scenarios.spec import Scenario

__all__ = ["Gate", "GateReport", "SaturatedFactor", "gate_report", "render"]

_UNITS = {"year": 1.0, "yr": 1.0, "quarter": 0.25, "month": 1 / 12, "week": 7 / 365.25,
          "day": 1 / 365.25, "hour": 1 / 8766}
#: How close to 0 or 1 a bounded factor sits at its bound, by default.
TOLERANCE = 0.01


@dataclass
class Gate:
    """One MIN, MAX, IF THEN ELSE or LOOKUP occurrence (``kind``, ``text``) at its worst element.

    ``role`` is ``gate`` (counted), ``schedule`` or ``extrapolation``; ``rule`` says
    when it binds; ``selected`` counts the steps each argument (ties apart), branch
    or side of the range was selected; of ``steps`` integration steps it is bound
    ``binding_steps`` (``years``, ``share`` of the run) and switches ``switches``
    times; ``note`` counts steps that could not be evaluated.
    """

    variable: str
    element: str
    kind: str
    text: str
    role: str
    rule: str
    selected: dict[str, int]
    steps: int
    binding_steps: int
    switches: int
    years: float
    share: float
    note: str = ""

    @property
    def counted(self) -> bool:
        """Whether it counts as a gate (schedules and extrapolations do not)."""
        return self.role == "gate"

    def label(self) -> str:
        """``variable[element]: text``."""
        return f"{self.variable}{self.element}: {self.text}"

@dataclass
class GateReport:
    """The outcome of :func:`gate_report`: one :class:`Gate` per occurrence, in model order,
    and one :class:`SaturatedFactor` per bounded factor and bound it sits at within
    ``tolerance`` at some step."""

    model: str
    scenario: str
    time_step: float
    run_years: float
    gates: list[Gate] = field(default_factory=list)
    tolerance: float = TOLERANCE
    factors: list[SaturatedFactor] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """One row per gate occurrence (``selected`` written as ``name count`` pairs)."""
        import pandas as pd

        rows = [{**row, "selected": "; ".join(f"{k} {v}" for k, v in row["selected"].items())}
                for row in self.to_dict()["gates"]]
        return pd.DataFrame(rows, columns=[*Gate.__dataclass_fields__, "counted"])

    def binding_longer_than(self, years: float = 1.0) -> list[Gate]:
        """Counted gates bound for more than ``years`` years, longest first."""
        return sorted((g for g in self.gates if g.counted and g.years > years),
                      key=lambda g: -g.years)

    def saturated_longer_than(self, years: float = 1.0) -> list[SaturatedFactor]:
        """Counted factors within ``tolerance`` of a bound for more than ``years`` years,
        longest first."""
        return sat.saturated_longer_than(self.factors, years)

    def to_dict(self, max_years: float = 1.0) -> dict[str, Any]:
        """JSON-ready: the run, every gate, the gates bound longer than ``max_years``, every
        factor at a bound, and the factors saturated longer than ``max_years``."""
        return {"model": self.model, "scenario": self.scenario, "time_step": self.time_step,
                "run_years": self.run_years, "max_years": max_years,
                "gates": [{**asdict(g), "counted": g.counted} for g in self.gates],
                "offenders": [g.label() for g in self.binding_longer_than(max_years)],
                "tolerance": self.tolerance,
                "factors": [{**asdict(f), "counted": f.counted} for f in self.factors],
                "saturated": [f.label() for f in self.saturated_longer_than(max_years)]}

    def text(self, max_years: float = 1.0) -> str:
        """A table (counted gates first, longest first), one line per offender, then the
        saturated factors the same way."""
        lines = [f"Gates of {self.model} ({self.scenario}; {self.run_years:g} years, time step "
                 f"{self.time_step:g}):", "  years  share switch  role          variable: text"]
        for g in sorted(self.gates, key=lambda g: (not g.counted, -g.years)):
            text = g.label() if len(g.label()) <= 90 else g.label()[:87] + "..."
            lines.append(f"{g.years:7.2f} {g.share:6.1%} {g.switches:6d}  {g.role:<13} {text}"
                         + (f"  ({g.note})" if g.note else ""))
        offenders = self.binding_longer_than(max_years)
        limit = sat.years_text(max_years)
        if not offenders:
            lines.append(f"No gate binds longer than {limit}.")
        else:
            verb = "gate binds" if len(offenders) == 1 else "gates bind"
            lines += [f"{len(offenders)} {verb} longer than {limit}:"] + [
                f"  {g.label()} binds {g.years:.2f} years ({g.share:.0%}); {g.rule}"
                for g in offenders]
        return "\n".join(lines + sat.section(self.factors, tolerance=self.tolerance,
                                         max_years=max_years))

def _scenario(scenario: Scenario | str | os.PathLike[str] | None, model: Model
              ) -> Scenario | None:
    """A scenario object, ``.toml`` file, or name (in ``./scenarios`` or ``../scenarios``
    beside the model), validated against ``model``; ``ScenarioError`` if unknown."""
    from sdkit.scenarios.spec import Scenario, load_scenario
    from sdkit.util.limits import read_toml

    if scenario is None or isinstance(scenario, Scenario):
        return scenario
    path = Path(scenario)
    if path.suffix.lower() == ".toml" or path.is_file() or len(path.parts) > 1:
        return load_scenario(path, model=model)
    folders = dict.fromkeys(f.resolve() for f in (
        Path("scenarios"), Path(model.path).resolve().parent.parent / "scenarios") if f.is_dir())
    known: dict[str, Path] = {}
    for file in (f for folder in folders for f in sorted(folder.glob("*.toml"))):
        try:
            known.setdefault(str(read_toml(file, what="the scenario file").get("name")), file)
        except SdkitError:
            continue
    if str(scenario) in known:
        return load_scenario(known[str(scenario)], model=model)
    raise ScenarioError(f"No scenario named {str(scenario)!r} in {[str(f) for f in folders]}; "
                        f"known: {sorted(known)}.", key="name")


def _hidden_values(model: Model, params: Mapping[str, Any], final: float, dt: float
                   ) -> dict[str, np.ndarray]:
    """The hidden stocks at every step, from the ensemble engine ({} where it refuses)."""
    from sdkit.engine.assemble import build_program
    from sdkit.engine.compiler import time_grid

    if any(not np.isscalar(v) for v in params.values()):
        return {}  # time-series inputs: the engine runs constants only
    try:
        ir = model.ir
        given: dict[str, Any] = {model.variable(k).py_name: np.array([float(v)])
                                 for k, v in params.items()}
        program = build_program(ir, list(given), list(ir.hidden))
        grid = time_grid(model.initial_time, final, dt, dt)
        given.update(initial_time=grid.initial, final_time=grid.final, saveper=grid.saveper)
        rows: list[list[float]] = []
        with np.errstate(all="ignore"):
            program.function(given, 1, grid.times, grid.save, grid.dt,
                             lambda j, values: rows.append([np.ravel(v)[0] for v in values]))
    except SdkitError:
        return {}
    return dict(zip(ir.hidden, np.array(rows, dtype=float).reshape(-1, len(ir.hidden)).T,
                    strict=True))


def gate_report(model: Model | str | os.PathLike[str], *,
                scenario: Scenario | str | os.PathLike[str] | None = None,
                tolerance: float = TOLERANCE) -> GateReport:
    """Report how long every MIN, MAX, IF THEN ELSE and lookup binds in one run, and how
    long every bounded factor sits at 0 or 1.

    Parameters
    ----------
    model : Model or path-like
        A loaded model or a model file.
    scenario : Scenario, path-like or str, optional
        A scenario (object, ``.toml`` file, or name of a file in ``./scenarios`` or
        in ``scenarios`` beside the model's folder) whose constants, inputs and run
        settings apply; default the baseline.
    tolerance : float, optional
        A bounded factor within this distance of 0 or 1 sits at that bound
        (:mod:`sdkit.checks.saturation`); at least 0, below 0.5; default 0.01.

    Returns
    -------
    GateReport
        One :class:`Gate` per occurrence ("binds" is defined in the module
        docstring) and one :class:`SaturatedFactor` per factor and bound.

    Raises
    ------
    ModelFileNotFoundError, ModelParseError, ScenarioError
        The model or the scenario cannot be loaded.
    ParameterValueError
        The tolerance is not a number in ``[0, 0.5)``.
    SimulationError
        The run fails or produces NaN or infinity.
    """
    from sdkit.engine.compiler import time_grid
    from sdkit.model.core import Model, load_model

    if not (math.isfinite(tolerance) and 0 <= tolerance < 0.5):
        raise ParameterValueError(
            f"The saturation tolerance must be a number >= 0 and < 0.5, got {tolerance}.")
    loaded = model if isinstance(model, Model) else load_model(model)
    chosen = _scenario(scenario, loaded)
    params = chosen.params(loaded) if chosen else {}
    dt = chosen.run_settings.get("time_step", loaded.time_step) if chosen else loaded.time_step
    final = chosen.run_settings.get("final_time", loaded.final_time) if chosen \
        else loaded.final_time
    with warnings.catch_warnings():  # the report lists the lookups used out of range
        warnings.filterwarnings("ignore", "(?s).*extrapolating data", UserWarning)
        frame = loaded.run(params, final_time=final, time_step=dt, saveper=dt)
    time = np.array(time_grid(loaded.initial_time, final, dt, dt).times, dtype=float)
    parts = read_parts(loaded)
    evaluator = Evaluator(
        parts, {c: frame[c].to_numpy(dtype=float) for c in frame.columns},
        time if len(time) == len(frame) else frame.index.to_numpy(dtype=float),
        {"initial_time": loaded.initial_time, "final_time": final, "time_step": dt,
         "saveper": dt},
        {loaded.variable(k).py_name for k, v in params.items() if not np.isscalar(v)})
    if parts.hidden:
        evaluator.hidden_values = {k: v for k, v in _hidden_values(
            loaded, params, final, dt).items() if len(v) == len(evaluator.time)}
    evaluator.evaluate_all()
    units = next((v.units for v in loaded.variables.values() if v.py_name == "time_step"), "")
    per_year = _UNITS.get(units.strip().lower().removesuffix("s"), 1.0)
    step_years = float(dt * per_year)
    report = GateReport(str(loaded.path), chosen.name if chosen else "baseline", float(dt),
                        float((final - loaded.initial_time) * per_year), [], tolerance)
    report.gates = _gates(evaluator, step_years, report.run_years)
    report.factors = sat.find_factors(
        loaded, parts.names, evaluator.columns, evaluator.time, evaluator.var_level,
        tolerance=tolerance, step_years=step_years, run_years=report.run_years)
    return report


def _gates(evaluator: Evaluator, step_years: float, run_years: float) -> list[Gate]:
    """One :class:`Gate` per occurrence the evaluator found, at its element bound longest."""
    names = evaluator.parts.names
    order = {py: i for i, py in enumerate(evaluator.parts.defs)}
    gates: list[Gate] = []
    for key in sorted(evaluator.found, key=lambda key: (order[key[0]], *key[1:])):
        label, info = max(evaluator.found[key], key=lambda found: found[1]["bound"].sum())
        bound, steps = info["bound"], len(evaluator.time) - 1
        years = float(bound.sum() * step_years)
        gates.append(Gate(
            names[key[0]], label, info["kind"], info["text"], info["role"], info["rule"],
            info["selected"], steps, int(bound.sum()), int(np.count_nonzero(np.diff(bound))),
            years, years / run_years if run_years else 0.0,
            f"{info['unknown']} of {steps} steps not evaluated" if info["unknown"] else ""))
    return gates

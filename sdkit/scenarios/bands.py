"""Monte Carlo bands of scenarios over a model's unsourced assumptions.

A band file (``scenarios/bands/assumptions.toml``; docs/scenarios.md, "Bands") lists
the constants no source fixes, each with a range and the argument for it, the
sampling method and seed, and the outcomes to report. :func:`compute_bands` runs
every scenario on one sample of the assumptions, and once with the model's values
(its deterministic run), in one table of the vectorised engine
(:class:`sdkit.engine.batch.BatchRunner`). Every scenario sees the same sample, so its
change from the base scenario is paired run by run; a constant a scenario sets is
fixed in its runs. A tied constant (``[assumptions.X.tied.Y]``) follows the sampled
``X`` by linear interpolation in its table, e.g. a logistic curve's growth and
midpoint re-solved for each ceiling so that the curve still passes two observations.
Percentiles are empirical (type 1, each a sampled value), so "never" (a transition
not reached: NaN, ranked after every year) can be one. The command is
``sdkit scenarios bands`` (:mod:`sdkit.cli.bands`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sdkit.errors import ParameterValueError, ScenarioError
from sdkit.scenarios.spec import Scenario
from sdkit.sensitivity.metrics import crossing_times, integral_between, values_at
from sdkit.sensitivity.sampling import Distribution, make_sample, ppf
from sdkit.sensitivity.study_spec import StudyValidator
from sdkit.util.schema import toml_key

if TYPE_CHECKING:
    from sdkit.model.core import Model

__all__ = ["BandSpecError", "Assumption", "Outcome", "BandSpec", "BandResults", "PERCENTILES",
           "DEFAULT_SPEC", "load_band_spec", "design", "outcome_values", "compute_bands"]

#: The percentiles of a band.
PERCENTILES = (5, 50, 95)
#: The band file the command reads by default.
DEFAULT_SPEC = Path("scenarios/bands/assumptions.toml")
_SCHEMA: dict[str, tuple[str, bool]] = {
    "name": ("a lower-case slug such as 'unsourced-assumptions'", True),
    "title": ("a non-empty string", False), "description": ("a non-empty string", False),
    "model": ("the model file, relative to this file", True),
    "method": ("a table with name, samples and seed", True),
    "assumptions": ("a table of constant name = range table with a source", True),
    "outcomes": ("an array of outcome tables ([[outcomes]])", True),
    "not_varied": ("a table of name = why it is not varied", False)}
_METHODS = ("lhs", "sobol", "montecarlo")
_KINDS = {"transition": ("variable", "level"), "value": ("variable", "year"),
          "integral": ("variable", "start", "end")}
Tie = tuple[tuple[float, ...], tuple[float, ...]]


class BandSpecError(ScenarioError):
    """A band file is invalid (``path`` and ``key`` say where)."""


@dataclass(frozen=True)
class Assumption:
    """A sampled constant (real ``name``), its ``distribution``, the ``source`` of its range,
    and the constants ``tied`` to it (real name to the ``(at, values)`` table they follow)."""

    name: str
    distribution: Distribution
    source: str
    tied: Mapping[str, Tie] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """A number computed from each run of ``variable``.

    ``kind`` is ``"transition"`` (first upward crossing of ``level``, interpolated as
    :func:`sdkit.analysis.stages.crossing_time` does), ``"value"`` (at ``year``) or
    ``"integral"`` (trapezoid of the saved values from ``start`` to ``end``). It is
    shown in ``unit``, divided by ``scale``, with ``decimals``; ``change``
    (``"difference"`` or ``"relative"``) says how a scenario is compared with the base.
    """

    name: str
    kind: str
    variable: str
    level: float | None = None
    year: float | None = None
    start: float | None = None
    end: float | None = None
    unit: str = ""
    scale: float = 1.0
    decimals: int = 2
    change: str = "difference"


@dataclass(frozen=True)
class BandSpec:
    """A validated band file: its ``path``, ``name``, ``title``, ``model_path``,
    sampling ``method`` (``lhs``, ``sobol``, ``montecarlo``), ``samples`` and
    ``seed``, the ``assumptions`` and ``outcomes``, and ``not_varied`` (name to the
    reason an assumption the model names cannot be varied)."""

    path: Path
    name: str
    title: str
    model_path: Path
    method: str
    samples: int
    seed: int
    assumptions: tuple[Assumption, ...]
    outcomes: tuple[Outcome, ...]
    not_varied: Mapping[str, str] = field(default_factory=dict)


class _Validator(StudyValidator):
    what = "the band file"
    error_class = BandSpecError

    def spec(self) -> BandSpec:
        data, name, texts = self.header(_SCHEMA)
        model = self.model(self.string(data["model"], "model"))
        method = self.keys(data["method"], ["name", "samples", "seed"], "method")
        if (kind := method.get("name", "lhs")) not in _METHODS:
            raise self.error("method.name", f"{kind!r} is not a method; valid: {list(_METHODS)}.")
        samples = self.integer(method.get("samples", 128), "method.samples", 2)
        if kind == "sobol" and samples & (samples - 1):
            raise self.error("method.samples", f"must be a power of two, got {samples}.")
        if not (assumptions := self.assumptions(data["assumptions"], model)):
            raise self.error("assumptions", "needs at least one assumption.")
        if not isinstance(data["outcomes"], list) or not data["outcomes"]:
            raise self.error("outcomes", "must be a non-empty array of tables ([[outcomes]]).")
        outcomes = [self.outcome(o, f"outcomes[{i}]", model)
                    for i, o in enumerate(data["outcomes"])]
        if len({o.name for o in outcomes}) < len(outcomes):
            raise self.error("outcomes", "outcome names must be unique.")
        not_varied = {k: " ".join(self.string(v, toml_key("not_varied", k)).split())
                      for k, v in self.table(data.get("not_varied", {}), "not_varied").items()}
        return BandSpec(self.path, name, texts["title"], model.path, kind, samples,
                        self.integer(method.get("seed", 0), "method.seed", 0),
                        tuple(assumptions), tuple(outcomes), not_varied)

    def assumptions(self, value: Any, model: Model) -> list[Assumption]:
        found: list[Assumption] = []
        taken: set[str] = set()
        for name, spec in self.table(value, "assumptions").items():
            where = toml_key("assumptions", name)
            real = self.variable(name, where, model)
            body = {k: v for k, v in self.table(spec, where).items() if k not in ("source", "tied")}
            dist = self.distribution(body, where, real, model)
            source = " ".join(self.string(spec.get("source"), f"{where}.source").split())
            tied = {}
            for other, table in self.table(spec.get("tied", {}), f"{where}.tied").items():
                key = f"{where}.tied.{toml_key(other)}"
                tied_name = self.variable(other, key, model)
                tied[tied_name] = self.tie(table, key, dist, tied_name, model)
            if twice := taken & {real, *tied}:
                raise self.error(where, f"{sorted(twice)} sampled or tied twice.")
            taken |= {real, *tied}
            found.append(Assumption(real, dist, source, tied))
        return found

    def tie(self, value: Any, where: str, dist: Distribution, real: str, model: Model) -> Tie:
        table = self.keys(value, ["at", "values"], where)
        if not all(isinstance(table.get(k), list) for k in ("at", "values")) \
                or not 2 <= len(table["at"]) == len(table["values"]):
            raise self.error(where, "needs arrays at and values of one length, two or more.")
        at, values = (tuple(self.number(v, f"{where}.{k}") for v in table[k])
                      for k in ("at", "values"))
        if np.any(np.diff(at) <= 0) or at[0] > dist.low or at[-1] < dist.high:
            raise self.error(f"{where}.at", f"must increase strictly and cover the sampled "
                             f"range [{dist.low:g}, {dist.high:g}].")
        for v in values:
            self.in_range(v, f"{where}.values", real, model)
        return at, values

    def outcome(self, value: Any, where: str, model: Model) -> Outcome:
        kind = self.table(value, where).get("kind")
        if kind not in _KINDS:
            raise self.error(f"{where}.kind", f"{kind!r} is not an outcome kind; valid: "
                             f"{list(_KINDS)}.")
        needs = ["name", *_KINDS[kind]]
        self.keys(value, ["kind", *needs, "unit", "scale", "decimals", "change"], where)
        for key in needs:
            if key not in value:
                raise self.error(f"{where}.{key}", f"missing; a {kind} outcome needs {needs}.")
        numbers = {k: self.number(value[k], f"{where}.{k}") for k in _KINDS[kind][1:]}
        if kind == "integral" and not numbers["start"] < numbers["end"]:
            raise self.error(f"{where}.end", "must be after start.")
        if (change := value.get("change", "difference")) not in ("difference", "relative"):
            raise self.error(f"{where}.change", "must be 'difference' or 'relative'.")
        if (scale := self.number(value.get("scale", 1.0), f"{where}.scale")) <= 0:
            raise self.error(f"{where}.scale", "must be positive.")
        return Outcome(self.string(value["name"], f"{where}.name"), kind,
                       self.any_variable(value["variable"], f"{where}.variable", model),
                       **numbers, unit=str(value.get("unit", "")), scale=scale,
                       decimals=self.integer(value.get("decimals", 2), f"{where}.decimals", 0),
                       change=change)


def load_band_spec(path: str | os.PathLike[str], *, model: Model | None = None) -> BandSpec:
    """Read and validate a band file.

    Parameters
    ----------
    path : path-like
        The ``.toml`` file.
    model : Model, optional
        The already loaded model the file names.

    Returns
    -------
    BandSpec

    Raises
    ------
    BandSpecError
        Invalid TOML; an unknown or missing key; an unknown assumption (with close
        matches) or one that is not a constant; a range outside the constant's
        documented range; a tie table that does not cover the range; a bad outcome.
    """
    return _Validator(Path(path), {} if model is None else {None: model}).spec()


def design(spec: BandSpec) -> pd.DataFrame:
    """The sample of the assumptions and their tied constants: one row per run."""
    dists = {a.name: a.distribution for a in spec.assumptions}
    if spec.method == "sobol":
        from scipy.stats import qmc

        unit = qmc.Sobol(len(dists), scramble=True, seed=spec.seed).random(spec.samples)
        table = pd.DataFrame({n: ppf(d, unit[:, j]) for j, (n, d) in enumerate(dists.items())})
    else:
        table = make_sample(spec.method, dists, samples=spec.samples, seed=spec.seed).values
    for a in spec.assumptions:
        for name, (at, values) in a.tied.items():
            table[name] = np.interp(table[a.name].to_numpy(), at, values)
    table.index = pd.RangeIndex(len(table), name="run")
    return table


def outcome_values(outcomes: Sequence[Outcome], times: np.ndarray,
                   trajectories: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Each outcome (a column) of each run (a row of the ``(N, T)`` trajectories).

    Raises
    ------
    ParameterValueError
        A year, start or end outside the saved times.
    """
    times = np.asarray(times, dtype=float)
    columns: dict[str, np.ndarray] = {}
    for o in outcomes:
        values = np.atleast_2d(trajectories[o.variable])
        if any(t is not None and not times[0] <= t <= times[-1] for t in (o.year, o.start, o.end)):
            raise ParameterValueError(f"Outcome {o.name!r} needs a year outside the run "
                                      f"[{times[0]:g}, {times[-1]:g}].")
        if o.kind == "transition":
            columns[o.name] = crossing_times(values, times, float(o.level or 0.0))
        elif o.kind == "value":
            columns[o.name] = values_at(values, times, float(o.year or 0.0))
        else:
            columns[o.name] = integral_between(values, times, float(o.start or 0.0),
                                               float(o.end or 0.0))
    return pd.DataFrame(columns)


@dataclass(frozen=True)
class BandResults:
    """The outcomes of every scenario's ``deterministic`` run (index ``scenario``) and of
    its runs on the ``design`` sample (``samples``, index ``(scenario, run)``; NaN: a
    transition never reached), the ``base`` scenario, and the model's value of each
    sampled or tied constant (``defaults``). See :func:`sdkit.report.scenarios.band_summary`.
    """

    spec: BandSpec
    base: str
    defaults: dict[str, float]
    design: pd.DataFrame
    deterministic: pd.DataFrame
    samples: pd.DataFrame


def compute_bands(spec: BandSpec, scenarios: Sequence[Scenario], *, base: str = "baseline",
                  model: Model | None = None, engine: str = "ensemble") -> BandResults:
    """Run every scenario deterministically and on the sample of ``spec``.

    Parameters
    ----------
    spec : BandSpec
    scenarios : sequence of Scenario
        All of the spec's model, with constants only and the same run settings.
    base : str
        The scenario changes are measured from (one of ``scenarios``).
    model : Model, optional
        The loaded model (else loaded from the spec).
    engine : {"ensemble", "auto", "pysd"}
        As for :class:`~sdkit.engine.batch.BatchRunner` (PySD takes seconds per run).

    Returns
    -------
    BandResults

    Raises
    ------
    ScenarioError
        No scenario ``base``; a scenario of another model, with time-varying
        inputs, or with other run settings than the first.
    """
    from sdkit.engine.batch import BatchRunner
    from sdkit.model.constants import constant_values
    from sdkit.model.core import load_model
    from sdkit.util.names import close_matches

    names = [s.name for s in scenarios]
    if base not in names:
        hint = close_matches(base, names)
        raise ScenarioError(f"No scenario {base!r} among {names}."
                            + (f" Did you mean {hint[0]!r}?" if hint else ""))
    for s in scenarios:
        if problem := ("names another model" if not os.path.samefile(s.model_path, spec.model_path)
                       else "has time-varying inputs" if s.inputs else "has other run settings"
                       if s.run_settings != scenarios[0].run_settings else ""):
            raise ScenarioError(f"{s.path}: scenario {s.name!r} {problem}; the bands run every "
                                "scenario of one model in one table.", path=str(s.path))
    model = model or load_model(spec.model_path)
    sample = design(spec)
    params = list(dict.fromkeys([*sample.columns, *(k for s in scenarios for k in s.constants)]))
    defaults = {n: float(v) for n, v in constant_values(model).items() if n in params}
    blocks = []
    for s in scenarios:
        fixed = {**defaults, **s.constants}
        runs = sample.assign(**{k: v for k, v in fixed.items() if k not in sample.columns})
        for a in spec.assumptions:  # a constant the scenario sets is fixed, with its ties
            if any(k in s.constants for k in (a.name, *a.tied)):
                runs = runs.assign(**{k: fixed[k] for k in (a.name, *a.tied)})
        blocks += [pd.DataFrame([fixed])[params], runs[params]]
    variables = list(dict.fromkeys(o.variable for o in spec.outcomes))
    runner = BatchRunner(model, params, variables, settings=dict(scenarios[0].run_settings),
                         engine=engine)
    times, trajectories = runner.run(pd.concat(blocks, ignore_index=True))
    found = outcome_values(spec.outcomes, times, trajectories)
    size = len(sample) + 1
    det = found.iloc[::size].set_axis(pd.Index(names, name="scenario"))
    index = pd.MultiIndex.from_product([names, sample.index], names=["scenario", "run"])
    kept = found.drop(index=found.index[::size]).set_axis(index)
    return BandResults(spec, base, {n: defaults[n] for n in sample.columns}, sample, det, kept)

"""Calibration specs: TOML files validated like scenario and sensitivity specs.

A spec names a base (a model, or a scenario whose constants and run settings
apply), the observations file, the parameters to estimate (bounds and an
optional prior, written like a sensitivity parameter's distribution), the
payoff, ``train_until`` (observations after it are held out for the hindcast),
the seed, and options of the optimiser, the sampler and the report. Every
problem is a :class:`CalibrationSpecError` naming the file and the key. The
format is in docs/calibration.md.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdkit.batch import ENGINES
from sdkit.calibration.observations import Observation, load_observations
from sdkit.errors import InputFileError, ParameterValueError, ResourceLimitError, ScenarioError
from sdkit.limits import check_sample_size
from sdkit.scenarios import _key
from sdkit.sensitivity.sampling import Distribution
from sdkit.study_spec import StudyValidator, subscripted_variables

if TYPE_CHECKING:
    from sdkit.model import Model

__all__ = ["CalibrationSpecError", "CalibrationSpec", "Estimated", "Optimizer", "Sampler",
           "load_calibration_spec", "with_budget", "check_runs", "CALIBRATION_SCHEMA",
           "MAX_SEED"]

#: Top-level keys of a calibration spec: what each holds, and whether it is required.
CALIBRATION_SCHEMA: dict[str, tuple[str, bool]] = {
    "name": ("a lower-case slug such as 'empowerment-2019'", True),
    "title": ("a non-empty string", False),
    "description": ("a non-empty string", False),
    "model": ("the model file, relative to the spec (when there is no base scenario)", False),
    "scenario": ("the base scenario file, relative to the spec", False),
    "observations": ("the observations CSV, relative to the spec", True),
    "parameters": ("a table of constant name = {low, high[, distribution, ...]}", True),
    "train_until": ("a time; observations after it are held out", False),
    "seed": ("an integer from 0 to 4294967292 (2**32 - 4)", True),
    "payoff": ("a table with kind = 'gaussian' and optional weights", False),
    "optimizer": ("a table with popsize, maxiter, polish", False),
    "sampler": ("a table with walkers, steps, burn, checkpoint", False),
    "report": ("a table with bands (variables) and draws", False),
    "execution": ("a table with engine", False),
}
_PRIORS = ("uniform", "triangular", "normal")
#: The largest seed: the stages seed numpy generators with seed .. seed + 3, and numpy's
#: legacy RandomState takes seeds below 2**32.
MAX_SEED = 2**32 - 4


class CalibrationSpecError(ScenarioError):
    """A calibration spec is invalid (``path`` and ``key`` say where)."""


@dataclass(frozen=True)
class Estimated:
    """A parameter to estimate: real model name and prior (its bounds are low/high)."""

    name: str
    prior: Distribution


@dataclass(frozen=True)
class Optimizer:
    """Differential evolution: population ``popsize`` x parameters, ``maxiter``
    generations, then a local polish (``polish``)."""

    popsize: int = 10
    maxiter: int = 150
    polish: bool = True


@dataclass(frozen=True)
class Sampler:
    """The ensemble MCMC sampler: ``walkers`` (0: four per parameter, at least 16),
    ``steps`` per walker of which the first ``burn`` are discarded, saved every
    ``checkpoint`` steps."""

    walkers: int = 0
    steps: int = 1500
    burn: int = 750
    checkpoint: int = 100


@dataclass(frozen=True)
class CalibrationSpec:
    """A validated calibration spec (see :func:`load_calibration_spec`)."""

    name: str
    path: Path
    model_path: Path
    observations_path: Path
    observations: tuple[Observation, ...]
    parameters: tuple[Estimated, ...]
    seed: int
    train_until: float | None = None
    title: str = ""
    description: str = ""
    scenario_path: Path | None = None
    base_params: dict[str, Any] = field(default_factory=dict)
    run_settings: dict[str, float] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)
    optimizer: Optimizer = Optimizer()
    sampler: Sampler = Sampler()
    bands: tuple[str, ...] = ()
    draws: int = 400
    engine: str = "auto"

    @property
    def parameter_names(self) -> list[str]:
        return [p.name for p in self.parameters]

    @property
    def walkers(self) -> int:
        """Walkers of the sampler (an even number)."""
        n = self.sampler.walkers or max(16, 4 * len(self.parameters))
        return n + n % 2

    def settings(self) -> dict[str, Any]:
        """Everything but the base, as plain data (for the manifest and the fingerprint)."""
        return {
            "parameters": [{"name": p.name, **asdict(p.prior)} for p in self.parameters],
            "observation_rows": [asdict(o) for o in self.observations], "seed": self.seed,
            "train_until": self.train_until, "weights": dict(self.weights),
            "optimizer": asdict(self.optimizer), "sampler": asdict(self.sampler),
            "walkers": self.walkers, "bands": list(self.bands), "draws": self.draws,
            "run": dict(self.run_settings),
        }


def with_budget(spec: CalibrationSpec, *, steps: int | None = None,
                maxiter: int | None = None, walkers: int | None = None,
                popsize: int | None = None, polish: bool | None = None,
                draws: int | None = None, engine: str | None = None) -> CalibrationSpec:
    """``spec`` with another budget or engine (``None`` keeps the spec's value).

    ``steps`` also caps the burn-in at half the steps and the checkpoint interval at
    the steps. The new budget is checked as the spec's is (minimums, and the
    optimiser's and the sampler's runs against the ``max_runs`` limit).

    Raises
    ------
    CalibrationSpecError
        Naming the spec file and the key the new value replaces.
    """
    def fail(key: str, message: str) -> CalibrationSpecError:
        return CalibrationSpecError(f"{spec.path}: {key}: {message}", path=str(spec.path),
                                    key=key)

    k = len(spec.parameters)
    for key, value, low in (("sampler.steps", steps, 2), ("optimizer.maxiter", maxiter, 1),
                            ("optimizer.popsize", popsize, 2), ("report.draws", draws, 10)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < low):
            raise fail(key, f"must be an integer >= {low}, got {value!r}.")
    sampler, optimizer = spec.sampler, spec.optimizer
    if steps is not None:
        sampler = replace(sampler, steps=steps, burn=min(sampler.burn, steps // 2),
                          checkpoint=min(sampler.checkpoint, steps))
    if walkers is not None:
        if isinstance(walkers, bool) or not isinstance(walkers, int) or walkers < 2 * k:
            raise fail("sampler.walkers", f"{walkers!r} walkers: the sampler needs at least "
                       f"twice the {k} parameters ({2 * k}).")
        sampler = replace(sampler, walkers=walkers)
    changes: dict[str, Any] = {"maxiter": maxiter, "popsize": popsize, "polish": polish}
    optimizer = replace(optimizer, **{k: v for k, v in changes.items() if v is not None})
    if engine is not None and engine not in ENGINES:
        raise fail("execution.engine", f"{engine!r} is not an engine; valid engines: "
                   f"{list(ENGINES)}.")
    changed = replace(spec, sampler=sampler, optimizer=optimizer,
                      draws=spec.draws if draws is None else draws, engine=engine or spec.engine)
    check_runs(changed)
    return changed


def check_runs(spec: CalibrationSpec) -> None:
    """Refuse a spec whose optimiser or sampler needs more runs than the limits allow.

    The optimiser runs ``popsize x parameters`` sets per generation for ``maxiter + 1``
    generations (the first population included); the sampler runs
    ``walkers x steps`` sets (:attr:`CalibrationSpec.walkers`, the real count); the
    bands ``draws`` sets. Each is checked with :func:`sdkit.limits.check_sample_size`.

    Raises
    ------
    CalibrationSpecError
        Naming the spec file, the key and the limit (and how to raise it).
    """
    k = len(spec.parameters)
    opt, walkers, steps = spec.optimizer, spec.walkers, spec.sampler.steps
    checks = (
        ("optimizer.maxiter", opt.popsize * k * (opt.maxiter + 1),
         f"the optimiser's popsize x parameters x (maxiter + 1) = {opt.popsize} x {k} x "
         f"{opt.maxiter + 1}"),
        ("sampler.steps", walkers * steps, f"the sampler's walkers x steps = {walkers} x {steps}"),
        ("report.draws", spec.draws, "the report's draws"),
    )
    for key, runs, what in checks:
        try:
            check_sample_size(runs, k, what=what)
        except (ResourceLimitError, ParameterValueError) as err:
            raise CalibrationSpecError(f"{spec.path}: {key}: {err}", path=str(spec.path),
                                       key=key) from err


def load_calibration_spec(path: str | os.PathLike[str], *,
                          model: Model | None = None) -> CalibrationSpec:
    """Read a calibration spec and validate it against its model and observations.

    Parameters
    ----------
    path : path-like
        The ``.toml`` spec.
    model : Model, optional
        The already loaded model the spec (or its base scenario) names.

    Returns
    -------
    CalibrationSpec

    Raises
    ------
    CalibrationSpecError
        For an unreadable file or invalid TOML; an unknown, missing or mistyped
        key; an unknown or non-constant parameter; bounds or a prior outside the
        constant's documented range; an invalid observations file (its row and
        column are named); no observation left to train on.
    """
    return _CalibrationValidator(Path(path), {} if model is None else {None: model}).calibration()


class _CalibrationValidator(StudyValidator):
    """Checks a calibration spec with the scenario validator's accessors and messages."""

    what = "the calibration spec file"

    def error(self, key: str | None, message: str) -> CalibrationSpecError:
        where = f"{self.path}: {key}: " if key else f"{self.path}: "
        return CalibrationSpecError(where + message, path=str(self.path), key=key)

    def calibration(self) -> CalibrationSpec:
        data, name, texts = self.header(CALIBRATION_SCHEMA)
        model, scenario_path, base, settings = self.base(data)
        initial = float(model.initial_time)
        final = float(settings.get("final_time", model.final_time))
        dt = float(settings.get("time_step", model.time_step))
        observations_path, observations = self.observations(data["observations"], model)
        self.check_times(observations, observations_path, initial, final)
        parameters = self.estimated(data["parameters"], model, base, scenario_path)
        train_until = self.number(data["train_until"], "train_until") \
            if "train_until" in data else None
        train = self.check_training(observations, train_until, dt, initial)
        seed = self.integer(data["seed"], "seed", 0)
        if seed > MAX_SEED:
            raise self.error("seed", f"must be at most {MAX_SEED} (2**32 - 4: the stages use "
                             f"seed to seed + 3, and numpy takes seeds below 2**32), "
                             f"got {seed}.")
        execution = self.keys(data.get("execution", {}), ["engine"], "execution")
        engine = execution.get("engine", "auto")
        if engine not in ENGINES:
            raise self.error("execution.engine", f"{engine!r} is not an engine; "
                             f"valid engines: {list(ENGINES)}.")
        bands, draws = self.report(data.get("report", {}), model)
        spec = CalibrationSpec(
            name, self.path, model.path, observations_path, observations, parameters, seed,
            train_until, texts["title"], texts["description"], scenario_path, dict(base),
            dict(settings), self.weights(data.get("payoff", {}), observations, train),
            self.optimizer(data.get("optimizer", {})),
            self.sampler(data.get("sampler", {}), len(parameters)),
            bands, draws, engine)
        check_runs(spec)
        return spec

    def observations(self, value: Any, model: Model) -> tuple[Path, tuple[Observation, ...]]:
        text = self.string(value, "observations")
        path = Path(os.path.normpath(self.path.parent / text))
        try:
            return path, load_observations(path, model)
        except InputFileError as err:
            raise self.error("observations", str(err)) from err

    def check_times(self, observations: tuple[Observation, ...], path: Path, initial: float,
                    final: float) -> None:
        """Every observed time inside the run ``[initial, final]``; an event's date plus
        five standard errors too (so a missed event stays five standard errors off)."""
        run = f"the run [{initial:g}, {final:g}] (INITIAL TIME to the final time)"
        for o in observations:
            where = f"{path.name}: observation {o.id!r}"
            for column in ("time", "end", "base_time", "base_end"):
                t = getattr(o, column)
                if math.isfinite(t) and not initial <= t <= final:
                    raise self.error("observations", f"{where}: {column}: {t:g} is outside "
                                     f"{run}; observe within the run or change its final "
                                     "time.")
            if o.kind == "event":
                reach = o.value + 5 * o.sd
                if o.value < initial:
                    raise self.error("observations", f"{where}: value: the observed date "
                                     f"{o.value:g} is before {run}.")
                if reach > final:
                    raise self.error("observations", f"{where}: value: the run must reach the "
                                     "observed date plus five standard errors "
                                     f"({o.value:g} + 5 x {o.sd:g} = {reach:g}, so a missed "
                                     f"event stays five standard errors off), but it ends at "
                                     f"{final:g}; extend the run's final time or narrow "
                                     "the event's error.")

    def estimated(self, value: Any, model: Model, base: dict[str, Any] | None = None,
                  scenario_path: Path | None = None) -> tuple[Estimated, ...]:
        base = base or {}
        found: dict[str, Estimated] = {}
        for name, spec in self.table(value, "parameters").items():
            where = _key("parameters", name)
            real = self.variable(name, where, model)
            if real in found:
                raise self.error(where, f"{real!r} is estimated twice.")
            if real in base and not isinstance(base[real], int | float):
                scenario = "" if scenario_path is None else f" {scenario_path.name!r}"
                raise self.error(where, f"the base scenario{scenario} sets {real!r} as a "
                                 f"time-varying input (inputs.{_key(real)}); a calibration "
                                 "estimates constants: remove it from the scenario's inputs "
                                 "or from [parameters].")
            table = self.table(spec, where)
            kind = table.get("distribution", "uniform")
            if kind not in _PRIORS:
                raise self.error(f"{where}.distribution", f"{kind!r} is not a prior; "
                                 f"valid priors: {list(_PRIORS)}.")
            if "group" in table:
                raise self.error(f"{where}.group", "unknown key; a calibration parameter "
                                 "has low, high and optionally distribution, mode, mean, std.")
            found[real] = Estimated(real, self.distribution(table, where, real, model))
        if not found:
            raise self.error("parameters", "estimate at least one parameter.")
        return tuple(found.values())

    def check_training(self, observations: tuple[Observation, ...], train_until: float | None,
                       dt: float, initial: float) -> list[bool]:
        """Which observations are fitted (the rest are held out); at least one is."""
        if train_until is None:
            return [True] * len(observations)
        train = [o.last_time(dt, initial) <= train_until for o in observations]
        if not any(train):
            raise self.error("train_until", f"no observation is at or before {train_until:g}; "
                             "nothing would be left to calibrate on.")
        return train

    def weights(self, value: Any, observations: tuple[Observation, ...],
                train: list[bool]) -> dict[str, float]:
        table = self.keys(value, ["kind", "weights"], "payoff")
        if table.get("kind", "gaussian") != "gaussian":
            raise self.error("payoff.kind", f"{table['kind']!r} is not a payoff; "
                             "valid payoffs: ['gaussian'].")
        ids = [o.id for o in observations]
        found = {}
        for ident, weight in self.table(table.get("weights", {}), "payoff.weights").items():
            key = _key("payoff", "weights", ident)
            if ident not in ids:
                self.keys({ident: 0}, ids, "payoff.weights")
            found[ident] = self.number(weight, key)
            if found[ident] < 0:
                raise self.error(key, f"must be >= 0, got {found[ident]:g}.")
        fitted = [o.id for o, t in zip(observations, train, strict=True) if t]
        if not any(found.get(ident, 1.0) > 0 for ident in fitted):
            shown = ", ".join(map(repr, fitted[:5])) + (", ..." if len(fitted) > 5 else "")
            raise self.error("payoff.weights", f"every fitted observation ({shown}) has weight "
                             "0; give at least one a weight > 0, or nothing is calibrated on.")
        return found

    def optimizer(self, value: Any) -> Optimizer:
        table = self.keys(value, ["popsize", "maxiter", "polish"], "optimizer")
        polish = table.get("polish", True)
        if not isinstance(polish, bool):
            raise self.error("optimizer.polish", f"must be true or false, got {polish!r}.")
        return Optimizer(self.integer(table.get("popsize", 10), "optimizer.popsize", 2),
                         self.integer(table.get("maxiter", 150), "optimizer.maxiter", 1), polish)

    def sampler(self, value: Any, k: int) -> Sampler:
        table = self.keys(value, ["walkers", "steps", "burn", "checkpoint"], "sampler")
        steps = self.integer(table.get("steps", 1500), "sampler.steps", 2)
        burn = self.integer(table.get("burn", steps // 2), "sampler.burn", 0)
        if burn >= steps:
            raise self.error("sampler.burn", f"must be less than steps ({steps}), got {burn}.")
        walkers = self.integer(table.get("walkers", 0), "sampler.walkers", 0)
        if 0 < walkers < 2 * k:
            raise self.error("sampler.walkers", f"needs at least twice the {k} parameters "
                             f"({2 * k}), or 0 for the default; got {walkers}.")
        return Sampler(walkers, steps, burn,
                       self.integer(table.get("checkpoint", 100), "sampler.checkpoint", 1))

    def report(self, value: Any, model: Model) -> tuple[tuple[str, ...], int]:
        table = self.keys(value, ["bands", "draws"], "report")
        names = table.get("bands", [])
        if not isinstance(names, list):
            raise self.error("report.bands", f"must be an array of names, got {names!r}.")
        bands = tuple(dict.fromkeys(self.any_variable(n, "report.bands", model) for n in names))
        arrays = subscripted_variables(model)
        for band in bands:
            if band in arrays:
                raise self.error("report.bands", f"{band!r} is subscripted (over "
                                 f"{', '.join(arrays[band])}); bands are of scalar variables "
                                 "only.")
        return bands, self.integer(table.get("draws", 400), "report.draws", 10)

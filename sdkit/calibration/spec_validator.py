"""The validator of calibration specs (:func:`sdkit.calibration.spec.load_calibration_spec`).

It checks a spec against :data:`~sdkit.calibration.spec.CALIBRATION_SCHEMA`, its
model and its observations with the accessors of
:class:`~sdkit.sensitivity.study_spec.StudyValidator`, reporting every problem of the file
(each parameter, observation, weight, optimiser, sampler and report setting) in
one :class:`~sdkit.calibration.spec.CalibrationSpecError` (:mod:`sdkit.util.schema`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdkit.calibration.observations import Observation, load_observations
from sdkit.calibration.spec import (
    CALIBRATION_SCHEMA,
    MAX_SEED,
    CalibrationSpec,
    CalibrationSpecError,
    Estimated,
    Optimizer,
    Sampler,
    check_runs,
)
from sdkit.engine.batch import ENGINES
from sdkit.errors import InputFileError
from sdkit.sensitivity.study_spec import StudyValidator, subscripted_variables
from sdkit.util.schema import combine_problems, toml_key

if TYPE_CHECKING:
    from sdkit.model.core import Model

__all__ = ["CalibrationSpecValidator"]

_PRIORS = ("uniform", "triangular", "normal")


class CalibrationSpecValidator(StudyValidator):
    """Checks a calibration spec with the scenario validator's accessors and messages."""

    what = "the calibration spec file"

    error_class = CalibrationSpecError

    def calibration(self) -> CalibrationSpec:
        """The validated spec; every problem of the file in one error."""
        return self.checked(self._calibration)

    def _calibration(self) -> CalibrationSpec:
        data, name, texts = self.header(CALIBRATION_SCHEMA)
        model, scenario_path, base, settings = self.base(data)
        initial = float(model.initial_time)
        final = float(settings.get("final_time", model.final_time))
        dt = float(settings.get("time_step", model.time_step))
        observations_path, observations = Path(), None
        with self.collect():
            if "observations" in data:
                observations_path, observations = self.observations(data["observations"],
                                                                    model)
                self.check_times(observations, observations_path, initial, final)
        before = len(self.problems)
        parameters: tuple[Estimated, ...] = ()
        with self.collect():
            if "parameters" in data:
                parameters = self.estimated(data["parameters"], model, base, scenario_path)
        k = len(parameters) if len(self.problems) == before else None
        train_until, train = None, None
        with self.collect():
            if "train_until" in data:
                train_until = self.number(data["train_until"], "train_until")
            if observations is not None:
                train = self.check_training(observations, train_until, dt, initial)
        seed = self.seed(data.get("seed", 0))
        engine = self.engine(data.get("execution", {}))
        bands, draws = self.bands(data.get("report", {}), model)
        weights = self.weights(data.get("payoff", {}), observations, train)
        optimizer = self.optimizer(data.get("optimizer", {}))
        sampler = self.sampler(data.get("sampler", {}), k)
        self.raise_problems()
        if observations is None:  # reported above; kept explicit for readers and mypy
            raise self.error("observations", "no observations could be read.")
        spec = CalibrationSpec(
            name, self.path, model.path, observations_path, observations, parameters, seed,
            train_until, texts["title"], texts["description"], scenario_path, dict(base),
            dict(settings), weights, optimizer, sampler, bands, draws, engine)
        check_runs(spec)
        return spec

    def observations(self, value: Any, model: Model) -> tuple[Path, tuple[Observation, ...]]:
        """The observations file and its rows; a problem of each bad row."""
        text = self.string(value, "observations")
        path = Path(os.path.normpath(self.path.parent / text))
        try:
            return path, load_observations(path, model)
        except InputFileError as err:
            problems = [self.error("observations", str(p)) for p in err.problems]
            raise combine_problems(problems) from err

    def check_times(self, observations: tuple[Observation, ...], path: Path, initial: float,
                    final: float) -> None:
        """Every observed time inside the run ``[initial, final]``; an event's date plus
        five standard errors too (so a missed event stays five standard errors off)."""
        for o in observations:
            with self.collect():
                self.check_time(o, f"{path.name}: observation {o.id!r}", initial, final)

    def check_time(self, o: Observation, where: str, initial: float, final: float) -> None:
        run = f"the run [{initial:g}, {final:g}] (INITIAL TIME to the final time)"
        for column in ("time", "end", "base_time", "base_end"):
            t = getattr(o, column)
            if math.isfinite(t) and not initial <= t <= final:
                raise self.error("observations", f"{where}: {column}: {t:g} is outside "
                                 f"{run}; observe within the run or change its final time.")
        if o.kind != "event":
            return
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
        found: dict[str, Estimated] = {}
        before = len(self.problems)
        for name, spec in self.table(value, "parameters").items():
            where = toml_key("parameters", name)
            with self.collect():
                real = self.variable(name, where, model)
                if real in found:
                    raise self.error(where, f"{real!r} is estimated twice.")
                self.check_constant(real, where, base or {}, scenario_path)
                found[real] = Estimated(real, self.prior(spec, where, real, model))
        if not found and len(self.problems) == before:
            raise self.error("parameters", "estimate at least one parameter.")
        return tuple(found.values())

    def check_constant(self, real: str, where: str, base: dict[str, Any],
                       scenario_path: Path | None) -> None:
        """Refuse a parameter the base scenario varies in time."""
        if real in base and not isinstance(base[real], int | float):
            scenario = "" if scenario_path is None else f" {scenario_path.name!r}"
            raise self.error(where, f"the base scenario{scenario} sets {real!r} as a "
                             f"time-varying input (inputs.{toml_key(real)}); a calibration "
                             "estimates constants: remove it from the scenario's inputs "
                             "or from [parameters].")

    def prior(self, spec: Any, where: str, real: str, model: Model) -> Any:
        table = self.table(spec, where)
        kind = table.get("distribution", "uniform")
        if kind not in _PRIORS:
            raise self.error(f"{where}.distribution", f"{kind!r} is not a prior; "
                             f"valid priors: {list(_PRIORS)}.")
        if "group" in table:
            raise self.error(f"{where}.group", "unknown key; a calibration parameter "
                             "has low, high and optionally distribution, mode, mean, std.")
        return self.distribution(table, where, real, model)

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

    def seed(self, value: Any) -> int:
        with self.collect():
            seed = self.integer(value, "seed", 0)
            if seed > MAX_SEED:
                raise self.error("seed", f"must be at most {MAX_SEED} (2**32 - 4: the stages "
                                 "use seed to seed + 3, and numpy takes seeds below 2**32), "
                                 f"got {seed}.")
            return seed
        return 0

    def engine(self, value: Any) -> str:
        with self.collect():
            engine = self.keys(value, ["engine"], "execution").get("engine", "auto")
            if engine not in ENGINES:
                raise self.error("execution.engine", f"{engine!r} is not an engine; "
                                 f"valid engines: {list(ENGINES)}.")
            return str(engine)
        return "auto"

    def weights(self, value: Any, observations: tuple[Observation, ...] | None,
                train: list[bool] | None) -> dict[str, float]:
        """Weights by observation id; the ids are checked once the observations are
        read, and at least one fitted observation must weigh more than 0."""
        found: dict[str, float] = {}
        with self.collect():
            table = self.keys(value, ["kind", "weights"], "payoff")
            if table.get("kind", "gaussian") != "gaussian":
                self.add_problem("payoff.kind", f"{table['kind']!r} is not a payoff; "
                                 "valid payoffs: ['gaussian'].")
            ids = None if observations is None else [o.id for o in observations]
            for ident, weight in self.table(table.get("weights", {}), "payoff.weights").items():
                with self.collect():
                    if ids is not None and ident not in ids:
                        self.keys({ident: 0}, ids, "payoff.weights")
                        continue
                    found[ident] = self.number(weight, toml_key("payoff", "weights", ident))
                    if found[ident] < 0:
                        raise self.error(toml_key("payoff", "weights", ident),
                                         f"must be >= 0, got {found[ident]:g}.")
            if observations is not None and train is not None:
                self.check_fitted(found, observations, train)
        return found

    def check_fitted(self, weights: dict[str, float], observations: tuple[Observation, ...],
                     train: list[bool]) -> None:
        fitted = [o.id for o, t in zip(observations, train, strict=True) if t]
        if not any(weights.get(ident, 1.0) > 0 for ident in fitted):
            shown = ", ".join(map(repr, fitted[:5])) + (", ..." if len(fitted) > 5 else "")
            raise self.error("payoff.weights", f"every fitted observation ({shown}) has weight "
                             "0; give at least one a weight > 0, or nothing is calibrated on.")

    def optimizer(self, value: Any) -> Optimizer:
        got: dict[str, Any] = {}
        with self.collect():
            table = self.keys(value, ["popsize", "maxiter", "polish"], "optimizer")
            for key, low in (("popsize", 2), ("maxiter", 1)):
                with self.collect():
                    if key in table:
                        got[key] = self.integer(table[key], f"optimizer.{key}", low)
            polish = table.get("polish", True)
            if not isinstance(polish, bool):
                raise self.error("optimizer.polish", f"must be true or false, got {polish!r}.")
            got["polish"] = polish
        return Optimizer(**got)

    def sampler(self, value: Any, k: int | None) -> Sampler:
        """The sampler's settings; the walkers are checked against the ``k`` parameters
        (unless None: a parameter had a problem)."""
        got: dict[str, Any] = {}
        with self.collect():
            table = self.keys(value, ["walkers", "steps", "burn", "checkpoint"], "sampler")
            for key, low in (("steps", 2), ("walkers", 0), ("checkpoint", 1)):
                with self.collect():
                    got[key] = self.integer(table.get(key, getattr(Sampler, key)),
                                            f"sampler.{key}", low)
            walkers = got.get("walkers", 0)
            if k is not None and 0 < walkers < 2 * k:
                self.add_problem("sampler.walkers", f"needs at least twice the {k} parameters "
                                 f"({2 * k}), or 0 for the default; got {walkers}.")
            if "steps" in got:
                steps = got["steps"]
                burn = self.integer(table.get("burn", steps // 2), "sampler.burn", 0)
                if burn >= steps:
                    raise self.error("sampler.burn", f"must be less than steps ({steps}), "
                                     f"got {burn}.")
                got["burn"] = burn
        return Sampler(**got)

    def bands(self, value: Any, model: Model) -> tuple[tuple[str, ...], int]:
        """The ``[report]`` table: band variables (scalar ones) and draws."""
        bands: list[str] = []
        draws = 400
        with self.collect():
            table = self.keys(value, ["bands", "draws"], "report")
            with self.collect():
                names = table.get("bands", [])
                if not isinstance(names, list):
                    raise self.error("report.bands", f"must be an array of names, got "
                                     f"{names!r}.")
                arrays = subscripted_variables(model)
                for name in names:
                    with self.collect():
                        band = self.any_variable(name, "report.bands", model)
                        if band in arrays:
                            raise self.error("report.bands", f"{band!r} is subscripted (over "
                                             f"{', '.join(arrays[band])}); bands are of "
                                             "scalar variables only.")
                        bands.append(band)
            draws = self.integer(table.get("draws", 400), "report.draws", 10)
        return tuple(dict.fromkeys(bands)), draws

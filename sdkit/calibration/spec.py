"""Calibration specs: TOML files validated like scenario and sensitivity specs.

A spec names a base (a model, or a scenario whose constants and run settings
apply), the observations file, the parameters to estimate (bounds and an
optional prior, written like a sensitivity parameter's distribution), the
payoff, ``train_until`` (observations after it are held out for the hindcast),
the seed, and options of the optimiser, the sampler and the report. Every
problem is a :class:`CalibrationSpecError` naming the file and the key; all the
problems of a spec are reported at once
(:class:`~sdkit.calibration.spec_validator.CalibrationSpecValidator`). The format
is in docs/calibration.md.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdkit.calibration.observations import Observation
from sdkit.engine.batch import ENGINES
from sdkit.errors import ParameterValueError, ResourceLimitError, ScenarioError
from sdkit.sensitivity.sampling import Distribution
from sdkit.util.limits import check_sample_size

if TYPE_CHECKING:
    from sdkit.model.core import Model

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
    bands ``draws`` sets. Each is checked with :func:`sdkit.util.limits.check_sample_size`.

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
        column are named); no observation left to train on. Several problems are
        one error whose ``problems`` are the single ones.
    """
    from sdkit.calibration.spec_validator import CalibrationSpecValidator

    given: dict[Path | None, Model] = {} if model is None else {None: model}
    return CalibrationSpecValidator(Path(path), given).calibration()

"""Sensitivity specs: TOML files validated like scenarios.

A spec names a base (a scenario file, or a bare model), the parameters to vary
with their distributions, the outputs to analyse, the method, and how to run.
See ``docs/sensitivity.md`` for the format. Every problem is a
:class:`SensitivitySpecError` (a :class:`~sdkit.errors.ScenarioError`) naming the
file and the key; unknown keys and variables come with close-match suggestions,
and every value a parameter can take must lie within the constant's documented
range. All the problems of a spec are reported at once
(:class:`~sdkit.sensitivity.spec_validator.SensitivitySpecValidator`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdkit.errors import ScenarioError
from sdkit.sensitivity.sampling import Distribution, run_count

if TYPE_CHECKING:
    import pandas as pd

    from sdkit.model.core import Model

__all__ = ["SensitivitySpecError", "Parameter", "Output", "Method", "SensitivitySpec",
           "load_spec", "SPEC_SCHEMA", "OUTPUT_KINDS"]

#: Top-level keys of a spec: what each holds, and whether it is required.
SPEC_SCHEMA: dict[str, tuple[str, bool]] = {
    "name": ("a lower-case slug such as 'talent-investment'", True),
    "title": ("a non-empty string", False),
    "description": ("a non-empty string", False),
    "scenario": ("the base scenario file, relative to the spec", False),
    "model": ("the model file, relative to the spec (when there is no base scenario)", False),
    "method": ("a table with name, samples, seed and method options", True),
    "parameters": ("a table of constant name = distribution table", True),
    "outputs": ("an array of output tables ([[outputs]])", True),
    "bands": ("a table with variables = [...] for percentile bands", False),
    "execution": ("a table with chunk_size and engine", False),
    "report": ("a table with block and group for the findings", False),
}
#: Output kinds and the keys each needs (besides ``kind`` and the optional ``name``).
OUTPUT_KINDS: dict[str, tuple[str, ...]] = {
    "value": ("variable", "year"),
    "transition": ("stage",),
    "reach": ("variable", "level"),
    "max": ("variable",),
    "final": ("variable",),
}
#: Default years added to the final time for a transition or level never reached.
DEFAULT_PENALTY = 1.0


class SensitivitySpecError(ScenarioError):
    """A sensitivity spec is invalid (``path`` and ``key`` say where)."""


@dataclass(frozen=True)
class Parameter:
    """A varied constant: real model name, distribution, optional group (e.g. ``"talent"``)."""

    name: str
    distribution: Distribution
    group: str = ""


@dataclass(frozen=True)
class Output:
    """An analysed output of each run.

    ``kind`` is ``"value"`` (``variable`` at ``year``, linearly interpolated),
    ``"transition"`` (time of the transition into ``stage``, by the model card's
    rule: ``variable`` crossing ``level``), ``"reach"`` (first time ``variable``
    reaches ``level``), ``"max"`` or ``"final"`` (of ``variable``). A transition
    or level never reached counts as the run's final time plus ``penalty``
    years when ``never`` is ``"penalty"`` (the default; Sobol and Morris need
    finite values), or as NaN when ``never`` is ``"nan"``.
    """

    name: str
    kind: str
    variable: str
    year: float | None = None
    level: float | None = None
    stage: int | None = None
    never: str = "penalty"
    penalty: float = DEFAULT_PENALTY


@dataclass(frozen=True)
class Method:
    """Method ``name``, sample size ``samples`` and ``seed``, and method options."""

    name: str
    samples: int
    seed: int | None = None
    levels: int = 4
    resamples: int = 100
    conf_level: float = 0.95


@dataclass(frozen=True)
class SensitivitySpec:
    """A validated sensitivity spec (see :func:`load_spec`).

    ``base_params`` are the base scenario's parameters for
    :meth:`Model.run <sdkit.model.core.Model.run>` (numbers, and ``pandas.Series`` for
    time-varying inputs); a varied parameter replaces the base's value.
    """

    name: str
    path: Path
    model_path: Path
    method: Method
    parameters: tuple[Parameter, ...]
    outputs: tuple[Output, ...]
    title: str = ""
    description: str = ""
    scenario_path: Path | None = None
    base_params: Mapping[str, Any] = field(default_factory=dict)
    run_settings: Mapping[str, float] = field(default_factory=dict)
    bands: tuple[str, ...] = ()
    chunk_size: int = 8
    engine: str = "auto"
    report_block: str = "sensitivity-findings"
    report_group: str = ""

    @property
    def parameter_names(self) -> list[str]:
        return [p.name for p in self.parameters]

    @property
    def distributions(self) -> dict[str, Distribution]:
        return {p.name: p.distribution for p in self.parameters}

    @property
    def runs(self) -> int:
        """Number of model runs the study needs."""
        return run_count(self.method.name, self.distributions, self.method.samples)

    def variables(self) -> list[str]:
        """Every model variable the outputs and bands read, without repeats."""
        return list(dict.fromkeys([o.variable for o in self.outputs] + list(self.bands)))

    def evaluation_hash(self) -> str:
        """Hash of everything that decides a run's outputs for given parameter values."""
        base = {name: (value.tolist(), list(value.index)) if hasattr(value, "tolist")
                else value for name, value in sorted(self.base_params.items())}
        return _hash({
            "model": hashlib.sha256(self.model_path.read_bytes()).hexdigest(),
            "base": base, "run": dict(self.run_settings), "bands": list(self.bands),
            "outputs": [asdict(o) for o in self.outputs],
        })

    def fingerprint(self) -> str:
        """Hash of the whole study: evaluation, parameters, method, seed, chunk size."""
        return _hash({"evaluation": self.evaluation_hash(),
                      "parameters": [asdict(p) for p in self.parameters],
                      "method": asdict(self.method), "chunk_size": self.chunk_size})


def _hash(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_spec(path: str | os.PathLike[str], *, model: Model | None = None) -> SensitivitySpec:
    """Read a sensitivity spec and validate it against its model.

    Parameters
    ----------
    path : path-like
        The ``.toml`` spec.
    model : Model, optional
        The already loaded model the spec (or its base scenario) names.

    Returns
    -------
    SensitivitySpec

    Raises
    ------
    SensitivitySpecError
        For an unreadable file or invalid TOML; an unknown, missing or mistyped
        key; an unknown or non-constant parameter; a distribution that is unknown,
        incomplete, inconsistent or outside the constant's documented range; an
        unknown method or a bad sample size; an output naming an unknown
        variable, stage or a year outside the run; an invalid base scenario.
        Several problems are one error whose ``problems`` are the single ones.
    """
    from sdkit.sensitivity.spec_validator import SensitivitySpecValidator

    return SensitivitySpecValidator(Path(path), {} if model is None else {None: model}).spec()


def base_values(spec: SensitivitySpec, model: Model) -> dict[str, float]:
    """Each varied constant's value in the base (scenario override, else the model's).

    Reads the model's own values from one run of a single time step.
    """
    values = {n: spec.base_params[n] for n in spec.parameter_names
              if isinstance(spec.base_params.get(n), int | float)}
    missing = [n for n in spec.parameter_names if n not in values]
    if missing:
        step = model.time_step
        run: pd.DataFrame = model.run(final_time=model.initial_time + step, time_step=step,
                                      saveper=step, return_columns=missing)
        for name in missing:
            value = float(run[name].iloc[0])
            values[name] = value if math.isfinite(value) else math.nan
    return {n: float(values[n]) for n in spec.parameter_names}

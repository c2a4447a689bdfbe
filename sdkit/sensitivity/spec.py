"""Sensitivity specs: TOML files validated like scenarios.

A spec names a base (a scenario file, or a bare model), the parameters to vary
with their distributions, the outputs to analyse, the method, and how to run.
See ``docs/sensitivity.md`` for the format. Every problem is a
:class:`SensitivitySpecError` (a :class:`~sdkit.errors.ScenarioError`) naming the
file and the key; unknown keys and variables come with close-match suggestions,
and every value a parameter can take must lie within the constant's documented
range.
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

from sdkit.errors import ParameterValueError, ResourceLimitError, ScenarioError
from sdkit.limits import check_limit, check_run_size, check_sample_size
from sdkit.scenarios import _key
from sdkit.sensitivity.sampling import METHODS, Distribution, run_count
from sdkit.study_spec import StudyValidator
from sdkit.validation import effective_times

if TYPE_CHECKING:
    import pandas as pd

    from sdkit.model import Model

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
_NEVER_KEYS = ("never", "penalty")
_METHOD_KEYS = ("name", "samples", "seed", "levels", "resamples", "conf_level")
_ENGINES = ("auto", "pysd", "ensemble")
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
    :meth:`Model.run <sdkit.model.Model.run>` (numbers, and ``pandas.Series`` for
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
    """
    return _SpecValidator(Path(path), {} if model is None else {None: model}).spec()


class _SpecValidator(StudyValidator):
    """Checks a spec; reuses the scenario validator's typed accessors and messages."""

    def error(self, key: str | None, message: str) -> SensitivitySpecError:
        where = f"{self.path}: {key}: " if key else f"{self.path}: "
        return SensitivitySpecError(where + message, path=str(self.path), key=key)

    what = "the sensitivity spec file"

    def spec(self) -> SensitivitySpec:
        data, name, texts = self.header(SPEC_SCHEMA)
        model, scenario_path, base, settings = self.base(data)
        method = self.method(data["method"])
        parameters = self.parameters(data["parameters"], model)
        outputs = self.outputs(data["outputs"], model, settings)
        bands = self.bands(data.get("bands", {}), model)
        execution = self.keys(data.get("execution", {}), ["chunk_size", "engine"], "execution")
        chunk = self.integer(execution.get("chunk_size", 8), "execution.chunk_size", 1)
        engine = execution.get("engine", "auto")
        if engine not in _ENGINES:
            raise self.error("execution.engine", f"{engine!r} is not an engine; "
                             f"valid engines: {list(_ENGINES)}.")
        report = self.keys(data.get("report", {}), ["block", "group"], "report")
        block = self.string(report.get("block", "sensitivity-findings"), "report.block")
        group = report.get("group", "")
        if group and group not in {p.group for p in parameters}:
            raise self.error("report.group", f"no parameter is in group {group!r}.")
        if method.name == "oat":
            method = Method("oat", method.samples, None, method.levels, method.resamples,
                            method.conf_level)
        self.check_size(method, parameters, model, settings,
                        "model" if scenario_path is None else "scenario", chunk,
                        len({o.variable for o in outputs} | set(bands)))
        return SensitivitySpec(
            name, self.path, model.path, method, parameters, outputs, texts["title"],
            texts["description"], scenario_path, base, settings, bands, chunk, engine,
            block, str(group))

    def check_size(self, method: Method, parameters: tuple[Parameter, ...], model: Model,
                   settings: dict, base_key: str, chunk: int, n_vars: int) -> None:
        """Refuse a sample, bootstrap, run or chunk of runs larger than the limits."""
        runs = run_count(method.name, {p.name: p.distribution for p in parameters},
                         method.samples)
        times = (model.initial_time, *effective_times(model, settings))
        checks = [
            ("method.samples", lambda: check_sample_size(
                runs, len(parameters), what=f"the {method.name} sample")),
            ("method.resamples", lambda: check_limit(
                "max_values", method.samples * method.resamples,
                "the bootstrap values (samples x resamples)")),
            (base_key, lambda: check_run_size(*times, n_vars=n_vars, what="each run")),
            ("execution.chunk_size", lambda: check_run_size(
                *times, n_sets=chunk, n_vars=n_vars, what="a chunk of runs")),
        ]
        for key, check in checks:
            try:
                check()
            except ResourceLimitError as err:
                raise ResourceLimitError(f"{self.path}: {key}: {err}") from err
            except ParameterValueError as err:
                raise self.error(key, str(err)) from err

    def method(self, value: Any) -> Method:
        table = self.keys(value, list(_METHOD_KEYS), "method")
        name = table.get("name")
        if name not in METHODS:
            raise self.error("method.name", f"{name!r} is not a method; "
                             f"valid methods: {list(METHODS)}.")
        if "samples" not in table:
            raise self.error("method.samples", "missing; the sample size is required.")
        samples = self.integer(table["samples"], "method.samples", 2 if name == "oat" else 1)
        if name == "sobol" and samples & (samples - 1):
            raise self.error("method.samples", f"Sobol needs a power of two, got {samples}.")
        seed = table.get("seed")
        if name != "oat" and seed is None:
            raise self.error("method.seed", f"missing; the {name} method needs a seed.")
        if seed is not None:
            seed = self.integer(seed, "method.seed", 0)
        levels = self.integer(table.get("levels", 4), "method.levels", 2)
        resamples = self.integer(table.get("resamples", 100), "method.resamples", 1)
        conf = self.number(table.get("conf_level", 0.95), "method.conf_level")
        if not 0 < conf < 1:
            raise self.error("method.conf_level", f"must be between 0 and 1, got {conf:g}.")
        return Method(name, samples, seed, levels, resamples, conf)

    def parameters(self, value: Any, model: Model) -> tuple[Parameter, ...]:
        found: dict[str, Parameter] = {}
        for name, spec in self.table(value, "parameters").items():
            where = _key("parameters", name)
            real = self.variable(name, where, model)
            if real in found:
                raise self.error(where, f"{real!r} is varied twice.")
            group = self.table(spec, where).get("group", "")
            if not isinstance(group, str):
                raise self.error(f"{where}.group", f"must be a string, got {group!r}.")
            found[real] = Parameter(real, self.distribution(spec, where, real, model), group)
        if not found:
            raise self.error("parameters", "vary at least one parameter.")
        return tuple(found.values())

    def outputs(self, value: Any, model: Model, settings: dict) -> tuple[Output, ...]:
        if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
            raise self.error("outputs", "must be a non-empty array of tables ([[outputs]]).")
        start = model.initial_time
        end = settings.get("final_time", model.final_time)
        found: dict[str, Output] = {}
        for i, table in enumerate(value):
            where = f"outputs[{i}]"
            kind = table.get("kind")
            if kind not in OUTPUT_KINDS:
                raise self.error(f"{where}.kind", f"{kind!r} is not an output kind; "
                                 f"valid kinds: {list(OUTPUT_KINDS)}.")
            extra = list(_NEVER_KEYS) if kind in ("transition", "reach") else []
            self.keys(table, ["kind", "name", *OUTPUT_KINDS[kind], *extra], where)
            for key in OUTPUT_KINDS[kind]:
                if key not in table:
                    raise self.error(f"{where}.{key}", f"missing; a {kind} output needs "
                                     f"{list(OUTPUT_KINDS[kind])}.")
            output = self.output(table, kind, where, model, (start, end))
            if output.name in found:
                raise self.error(f"{where}.name", f"output name {output.name!r} is used twice.")
            found[output.name] = output
        return tuple(found.values())

    def output(self, table: dict, kind: str, where: str, model: Model,
               span: tuple[float, float]) -> Output:
        never = table.get("never", "penalty")
        if never not in ("penalty", "nan"):
            raise self.error(f"{where}.never", f"{never!r} is not valid; use 'penalty' or 'nan'.")
        penalty = self.number(table.get("penalty", DEFAULT_PENALTY), f"{where}.penalty")
        if penalty < 0:
            raise self.error(f"{where}.penalty", f"must be >= 0, got {penalty:g}.")
        if kind == "transition":
            stage = self.integer(table["stage"], f"{where}.stage", 1)
            rule = self.rule(stage, f"{where}.stage", model)
            auto = f"stage {stage} transition"
            out = Output(auto, kind, rule.variable, level=rule.threshold, stage=stage,
                         never=never, penalty=penalty)
        else:
            variable = self.any_variable(table["variable"], f"{where}.variable", model)
            year = level = None
            if kind == "value":
                year = self.number(table["year"], f"{where}.year")
                if not span[0] <= year <= span[1]:
                    raise self.error(f"{where}.year", f"{year:g} is outside the run "
                                     f"({span[0]:g} to {span[1]:g}).")
                auto = f"{variable} {year:g}"
            elif kind == "reach":
                level = self.number(table["level"], f"{where}.level")
                auto = f"{variable} reaches {level:g}"
            else:
                auto = f"{kind} {variable}"
            out = Output(auto, kind, variable, year, level, None, never, penalty)
        if "name" in table:
            name = self.string(table["name"], f"{where}.name")
            out = Output(name, *list(asdict(out).values())[1:])
        return out

    def rule(self, stage: int, key: str, model: Model) -> Any:
        from sdkit.card import card_path, load_card

        if not card_path(model.path).is_file():
            raise self.error(key, f"model {model.path.name!r} has no card "
                             f"({card_path(model.path).name}), so no stage transitions.")
        rules = {r.to_stage: r for r in load_card(model.path).transitions}
        if stage not in rules:
            raise self.error(key, f"no transition into stage {stage}; "
                             f"valid stages: {sorted(rules)}.")
        return rules[stage]

    def bands(self, value: Any, model: Model) -> tuple[str, ...]:
        table = self.keys(value, ["variables"], "bands")
        names = table.get("variables", [])
        if not isinstance(names, list):
            raise self.error("bands.variables", f"must be an array of names, got {names!r}.")
        return tuple(dict.fromkeys(self.any_variable(n, "bands.variables", model)
                                   for n in names))


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

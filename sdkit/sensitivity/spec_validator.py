"""The validator of sensitivity specs (:func:`sdkit.sensitivity.spec.load_spec`).

It checks the spec against :data:`~sdkit.sensitivity.spec.SPEC_SCHEMA` and the
model with the accessors of :class:`~sdkit.sensitivity.study_spec.StudyValidator`, reporting
every problem of the file in one :class:`~sdkit.sensitivity.spec.SensitivitySpecError`
(:mod:`sdkit.util.schema`).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from sdkit.engine.batch import ENGINES
from sdkit.errors import ParameterValueError, ResourceLimitError
from sdkit.sensitivity.sampling import METHODS, run_count
from sdkit.sensitivity.spec import (
    DEFAULT_PENALTY,
    OUTPUT_KINDS,
    SPEC_SCHEMA,
    Method,
    Output,
    Parameter,
    SensitivitySpec,
    SensitivitySpecError,
)
from sdkit.sensitivity.study_spec import StudyValidator
from sdkit.util.limits import check_limit, check_run_size, check_sample_size
from sdkit.util.schema import toml_key
from sdkit.util.validation import effective_times

if TYPE_CHECKING:
    from sdkit.model.core import Model

__all__ = ["SensitivitySpecValidator"]

_NEVER_KEYS = ("never", "penalty")
_METHOD_KEYS = ("name", "samples", "seed", "levels", "resamples", "conf_level")


class SensitivitySpecValidator(StudyValidator):
    """Checks a sensitivity spec with the scenario validator's accessors and messages.

    Each method option, parameter, output, band variable, execution and report setting
    is checked on its own; the sizes (runs, bootstrap, chunks) once all are valid.
    """

    what = "the sensitivity spec file"

    error_class = SensitivitySpecError

    def spec(self) -> SensitivitySpec:
        """The validated spec; every problem of the file in one error."""
        return self.checked(self._spec)

    def _spec(self) -> SensitivitySpec:
        data, name, texts = self.header(SPEC_SCHEMA)
        model, scenario_path, base, settings = self.base(data)
        method = Method("oat", 2)  # a stand-in while the method has a problem
        with self.collect():
            method = self.method(data["method"]) if "method" in data else method
        before = len(self.problems)
        parameters: tuple[Parameter, ...] = ()
        with self.collect():
            if "parameters" in data:
                parameters = self.parameters(data["parameters"], model)
        # the report's group is checked against the parameters once they are all valid
        groups = {p.group for p in parameters} if len(self.problems) == before else None
        outputs: tuple[Output, ...] = ()
        bands: tuple[str, ...] = ()
        with self.collect():
            if "outputs" in data:
                outputs = self.outputs(data["outputs"], model, settings)
        with self.collect():
            bands = self.bands(data.get("bands", {}), model)
        chunk, engine = self.execution(data.get("execution", {}))
        block, group = self.report(data.get("report", {}), groups)
        self.raise_problems()
        self.check_size(method, parameters, model, settings,
                        "model" if scenario_path is None else "scenario", chunk,
                        len({o.variable for o in outputs} | set(bands)))
        return SensitivitySpec(
            name, self.path, model.path, method, parameters, outputs, texts["title"],
            texts["description"], scenario_path, base, settings, bands, chunk, engine,
            block, group)

    def execution(self, value: Any) -> tuple[int, str]:
        """Chunk size and engine (the defaults after a problem)."""
        chunk, engine = 8, "auto"
        with self.collect():
            table = self.keys(value, ["chunk_size", "engine"], "execution")
            with self.collect():
                chunk = self.integer(table.get("chunk_size", 8), "execution.chunk_size", 1)
            if table.get("engine", "auto") not in ENGINES:
                raise self.error("execution.engine", f"{table['engine']!r} is not an engine; "
                                 f"valid engines: {list(ENGINES)}.")
            engine = table.get("engine", "auto")
        return chunk, engine

    def report(self, value: Any, groups: set[str] | None) -> tuple[str, str]:
        """Marker name and group of the findings; the group must be one of ``groups``
        (unless None: a parameter had a problem)."""
        block, group = "sensitivity-findings", ""
        with self.collect():
            table = self.keys(value, ["block", "group"], "report")
            with self.collect():
                block = self.string(table.get("block", block), "report.block")
            group = table.get("group", "")
            if not isinstance(group, str):
                raise self.error("report.group", f"must be a string, got {group!r}.")
            if group and groups is not None and group not in groups:
                raise self.error("report.group", f"no parameter is in group {group!r}.")
        return block, group

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
            self.add_problem("method.name", f"{name!r} is not a method; "
                             f"valid methods: {list(METHODS)}.")
        got: dict[str, Any] = {"name": name, "samples": 2}
        with self.collect():
            if "samples" not in table:
                raise self.error("method.samples", "missing; the sample size is required.")
            got["samples"] = self.integer(table["samples"], "method.samples",
                                          2 if name == "oat" else 1)
            if name == "sobol" and got["samples"] & (got["samples"] - 1):
                raise self.error("method.samples", "Sobol needs a power of two, got "
                                 f"{got['samples']}.")
        with self.collect():
            seed = table.get("seed")
            if name in METHODS and name != "oat" and seed is None:
                raise self.error("method.seed", f"missing; the {name} method needs a seed.")
            seed = None if seed is None else self.integer(seed, "method.seed", 0)
            got["seed"] = None if name == "oat" else seed  # OAT draws nothing at random
        for key, default, low in (("levels", 4, 2), ("resamples", 100, 1)):
            with self.collect():
                got[key] = self.integer(table.get(key, default), f"method.{key}", low)
        with self.collect():
            conf = self.number(table.get("conf_level", 0.95), "method.conf_level")
            if not 0 < conf < 1:
                raise self.error("method.conf_level", f"must be between 0 and 1, got {conf:g}.")
            got["conf_level"] = conf
        return Method(**got)

    def parameters(self, value: Any, model: Model) -> tuple[Parameter, ...]:
        found: dict[str, Parameter] = {}
        before = len(self.problems)
        for name, spec in self.table(value, "parameters").items():
            where = toml_key("parameters", name)
            with self.collect():
                real = self.variable(name, where, model)
                if real in found:
                    raise self.error(where, f"{real!r} is varied twice.")
                group = self.table(spec, where).get("group", "")
                if not isinstance(group, str):
                    raise self.error(f"{where}.group", f"must be a string, got {group!r}.")
                found[real] = Parameter(real, self.distribution(spec, where, real, model), group)
        if not found and len(self.problems) == before:
            raise self.error("parameters", "vary at least one parameter.")
        return tuple(found.values())

    def outputs(self, value: Any, model: Model, settings: dict) -> tuple[Output, ...]:
        if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
            raise self.error("outputs", "must be a non-empty array of tables ([[outputs]]).")
        span = (model.initial_time, settings.get("final_time", model.final_time))
        found: dict[str, Output] = {}
        for i, table in enumerate(value):
            with self.collect():
                where = f"outputs[{i}]"
                kind = table.get("kind")
                if not isinstance(kind, str) or kind not in OUTPUT_KINDS:
                    raise self.error(f"{where}.kind", f"{kind!r} is not an output kind; "
                                     f"valid kinds: {list(OUTPUT_KINDS)}.")
                extra = list(_NEVER_KEYS) if kind in ("transition", "reach") else []
                self.keys(table, ["kind", "name", *OUTPUT_KINDS[kind], *extra], where)
                for key in OUTPUT_KINDS[kind]:
                    if key not in table:
                        raise self.error(f"{where}.{key}", f"missing; a {kind} output needs "
                                         f"{list(OUTPUT_KINDS[kind])}.")
                output = self.output(table, kind, where, model, span)
                if output.name in found:
                    raise self.error(f"{where}.name", f"output name {output.name!r} is used "
                                     "twice.")
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
        from sdkit.model.card import card_path, load_card

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
        found = []
        for name in names:
            with self.collect():
                found.append(self.any_variable(name, "bands.variables", model))
        return tuple(dict.fromkeys(found))

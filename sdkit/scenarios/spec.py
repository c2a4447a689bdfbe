"""Scenario files: schema, validation, and conversion to run inputs.

A scenario is a TOML file (see ``docs/scenarios.md``)::

    name = "talent-light"
    title = { en = "...", zh = "..." }
    description = { en = "...", zh = "..." }
    model = "../models/empowerment.mdl"      # relative to the scenario file

    [constants]
    "talent budget share" = 0.1

    [inputs."attrition rate"]                # a time-varying input, as data
    form = "step"                            # step | ramp | pulse | table
    before = 0.10
    after = 0.04
    time = 2017.5

    [run]                                    # each optional
    final_time = 2030
    time_step = 0.03125
    saveper = 0.25

The schema is checked by hand (:data:`SCHEMA`); the variables are checked
against the model: they must exist (close matches are suggested), be constants,
and every value an override or input can take must lie within the variable's
documented range. Every problem is a :class:`~sdkit.errors.ScenarioError`
naming the file and the key, except a file, run or input grid larger than the
limits of :mod:`sdkit.util.limits` (a :class:`~sdkit.errors.ResourceLimitError`
naming the file). All the problems of a file are reported at once, as one error
whose ``problems`` are the single ones (:mod:`sdkit.util.schema`). Nothing read from a
file is executed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from sdkit.errors import (
    ParameterValueError,
    ResourceLimitError,
    ScenarioError,
    SdkitError,
    UnknownVariableError,
)
from sdkit.scenarios.inputs import FORMS, TimeInput, input_problem, time_grid
from sdkit.util.schema import SchemaValidator, toml_key
from sdkit.util.validation import check_number, check_time_settings, format_range

if TYPE_CHECKING:
    import pandas as pd

    from sdkit.model.core import Model

__all__ = ["SCHEMA", "Scenario", "ScenarioValidator", "load_scenario", "load_scenarios",
           "scenario_files"]

#: Top-level keys: what each holds, and whether it is required.
SCHEMA: dict[str, tuple[str, bool]] = {
    "name": ("a lower-case slug such as 'talent-light'", True),
    "title": ("a table with non-empty strings en and zh", True),
    "description": ("a table with non-empty strings en and zh", True),
    "model": ("the model file, relative to the scenario file", True),
    "constants": ("a table of constant name = number", False),
    "inputs": ("a table of constant name = time-varying input table", False),
    "run": ("a table with final_time, time_step, saveper (each optional)", False),
}
_LANGUAGES = ("en", "zh")
_RUN_KEYS = ("final_time", "time_step", "saveper")


@dataclass(frozen=True)
class Scenario:
    """A validated scenario.

    Attributes
    ----------
    name : str
        Short identifier (a slug), unique within a set of scenarios.
    title, description : mapping of str to str
        Texts keyed by language, ``"en"`` and ``"zh"``.
    path : Path
        The scenario file.
    model_path : Path
        The model file, resolved against the scenario file's folder.
    constants : mapping of str to float
        Constant overrides, keyed by the model's real variable names.
    inputs : mapping of str to TimeInput
        Time-varying inputs, keyed by real variable name.
    run_settings : mapping of str to float
        The given ones of ``final_time``, ``time_step``, ``saveper``.

    The mappings of a loaded scenario are read-only views.
    """

    name: str
    title: Mapping[str, str]
    description: Mapping[str, str]
    path: Path
    model_path: Path
    constants: Mapping[str, float] = field(default_factory=dict)
    inputs: Mapping[str, TimeInput] = field(default_factory=dict)
    run_settings: Mapping[str, float] = field(default_factory=dict)

    def params(self, model: Model) -> dict[str, float | pd.Series]:
        """Parameters for :meth:`Model.run <sdkit.model.core.Model.run>`.

        Constants map to numbers; each time-varying input to a ``pandas.Series``
        sampled on the run's integration grid (``INITIAL TIME`` to the final
        time by the time step, this scenario's settings taking precedence).

        Raises
        ------
        ResourceLimitError
            A grid with more points than the ``max_steps`` limit.
        """
        final = self.run_settings.get("final_time", model.final_time)
        step = self.run_settings.get("time_step", model.time_step)
        try:
            grid = time_grid(model.initial_time, final, step) if self.inputs else ()
        except ResourceLimitError as err:
            raise ResourceLimitError(f"{self.path}: inputs: {err}") from err
        params: dict[str, float | pd.Series] = dict(self.constants)
        for name, spec in self.inputs.items():
            params[name] = spec.series(grid)
        return params


def load_scenario(path: str | os.PathLike[str], *, model: Model | None = None) -> Scenario:
    """Read a scenario file and validate it against its model.

    Parameters
    ----------
    path : path-like
        The ``.toml`` file.
    model : Model, optional
        The already loaded model the file names (saves loading it again).

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        For a missing or unreadable file, invalid TOML, an unknown or missing
        key, a value of the wrong type, an unknown or non-constant variable, a
        value outside a variable's documented range, a bad input form or table,
        inconsistent run settings, or a model file that is missing or unusable;
        several problems are one error whose ``problems`` are the single ones.
    """
    return ScenarioValidator(Path(path), {} if model is None else {None: model}).scenario()


def scenario_files(dir_or_files: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]
                   ) -> list[Path]:
    """Scenario files named by a folder (its ``*.toml``, sorted), a file, or several of both.

    Raises
    ------
    ScenarioError
        If a folder holds no ``*.toml`` file or nothing is given.
    """
    items = [dir_or_files] if isinstance(dir_or_files, str | os.PathLike) else list(dir_or_files)
    files: list[Path] = []
    for item in map(Path, items):
        if item.is_dir():
            found = sorted(item.glob("*.toml"))
            if not found:
                raise ScenarioError(f"No scenario files (*.toml) in {item}.", path=str(item))
            files += found
        else:
            files.append(item)
    if not files:
        raise ScenarioError("No scenario files given.")
    return files


def load_scenarios(dir_or_files: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
                   *, models: dict[Path | None, Model] | None = None) -> list[Scenario]:
    """Read and validate several scenarios (see :func:`scenario_files`).

    Each model is loaded once. Names must be unique.

    Parameters
    ----------
    dir_or_files : path-like or iterable of path-like
        A folder of ``.toml`` files, or files.
    models : dict, optional
        Models already loaded, by path; the models loaded here are added, so the
        caller can run the scenarios on them (``run_scenarios(..., models=models)``,
        :func:`sdkit.scenarios.runner.run_scenarios`) without loading them again.

    Returns
    -------
    list of Scenario
        In file order.

    Raises
    ------
    ScenarioError
        As :func:`load_scenario`, or for two files with the same name.
    """
    models = {} if models is None else models
    scenarios: list[Scenario] = []
    seen: dict[str, Path] = {}
    for path in scenario_files(dir_or_files):
        scenario = ScenarioValidator(path, models).scenario()
        if scenario.name in seen:
            raise ScenarioError(
                f"{path}: name {scenario.name!r} is already used by {seen[scenario.name]}; "
                "scenario names must be unique.", path=str(path), key="name")
        seen[scenario.name] = path
        scenarios.append(scenario)
    return scenarios


class ScenarioValidator(SchemaValidator):
    """Checks one file against :data:`SCHEMA` and its model; errors name file and key.

    Each title and description language, constant, input and run setting is checked
    on its own, so one error lists the problems of all of them
    (:meth:`~sdkit.util.schema.SchemaValidator.checked`). The study specs'
    :class:`~sdkit.sensitivity.study_spec.StudyValidator` builds on it.

    Parameters
    ----------
    path : Path
        The file.
    models : dict
        Models already loaded, by path; under ``None`` the model the caller gave.
    """

    what = "the scenario file"

    def __init__(self, path: Path, models: dict[Path | None, Model]) -> None:
        super().__init__(path)
        self.models = models

    def scenario(self) -> Scenario:
        """The validated scenario; every problem of the file in one error."""
        return self.checked(self._scenario)

    def _scenario(self) -> Scenario:
        data = self.read()
        name = self.top(data, SCHEMA)
        texts = {key: self.texts(data[key], key) for key in ("title", "description")
                 if key in data}
        if "model" not in data:
            self.raise_problems()  # the missing key is one: nothing else can be checked
        model = self.model(self.string(data["model"], "model"))
        constants: dict[str, float] = {}
        inputs: dict[str, TimeInput] = {}
        settings: dict[str, float] = {}
        with self.collect():
            constants = self.constants(data.get("constants", {}), model)
        with self.collect():
            inputs = self.inputs(data.get("inputs", {}), model)
        for both in sorted(inputs.keys() & constants.keys()):
            self.add_problem(toml_key("inputs", both),
                             "this variable is also set in [constants]; set it in one place.")
        with self.collect():
            settings = self.run_settings(data.get("run", {}), model)
        self.raise_problems()
        title, description = (MappingProxyType(texts[key]) for key in ("title", "description"))
        return Scenario(name, title, description, self.path, model.path,
                        MappingProxyType(constants), MappingProxyType(inputs),
                        MappingProxyType(settings))

    def texts(self, value: Any, key: str) -> dict[str, str]:
        """The ``en`` and ``zh`` texts of table ``key``, whitespace folded."""
        found: dict[str, str] = {}
        with self.collect():
            table = self.keys(value, list(_LANGUAGES), key)
            for lang in _LANGUAGES:
                with self.collect():
                    if lang not in table:
                        raise self.error(toml_key(key, lang),
                                         f"missing; {key} needs {list(_LANGUAGES)}.")
                    found[lang] = " ".join(self.string(table[lang], toml_key(key, lang)).split())
        return found

    def model(self, text: str) -> Model:
        from sdkit.model.core import load_model

        if None in self.models:
            return self.models[None]
        path = Path(os.path.normpath(self.path.parent / text))
        if path not in self.models:
            try:
                found = path.is_file()
            except OSError as err:  # e.g. a file name too long for the file system
                raise self.error("model", f"model file {text!r} cannot be opened: {err}") from err
            if not found:
                raise self.error("model", f"model file {text!r} ({path}) does not exist.")
            try:
                self.models[path] = load_model(path)
            except SdkitError as err:
                raise self.error("model", f"cannot load {text!r}: {err}") from err
        return self.models[path]

    def variable(self, name: str, key: str, model: Model) -> str:
        try:
            var = model.variable(name)
        except UnknownVariableError as err:
            did = f" Did you mean {', '.join(map(repr, err.suggestions))}?" if err.suggestions \
                else " No variable has a similar name."
            raise self.error(
                key, f"unknown variable {name!r} in model {model.path.name!r}.{did}") from err
        if var.kind != "constant":
            raise self.error(key, f"{var.name!r} is a {var.kind}; only constants can be set.")
        return var.name

    def in_range(self, value: float, key: str, real: str, model: Model, what: str = "") -> None:
        limits = model.variables[real].limits
        try:
            check_number(value, key, limits)
        except ParameterValueError as err:
            raise self.error(key, f"{what}{value:g} is outside the documented range "
                             f"{format_range(limits)} of {real!r}.") from err

    def constants(self, value: Any, model: Model) -> dict[str, float]:
        found: dict[str, float] = {}
        for name, number in self.table(value, "constants").items():
            key = toml_key("constants", name)
            with self.collect():
                real = self.variable(name, key, model)
                if real in found:
                    raise self.error(key, f"{real!r} is set twice.")
                got = self.number(number, key)
                self.in_range(got, key, real, model)
                found[real] = got
        return found

    def inputs(self, value: Any, model: Model) -> dict[str, TimeInput]:
        found: dict[str, TimeInput] = {}
        for name, spec in self.table(value, "inputs").items():
            where = toml_key("inputs", name)
            with self.collect():
                real = self.variable(name, where, model)
                if real in found:
                    raise self.error(where, f"{real!r} has two inputs.")
                found[real] = self.time_input(spec, where, real, model)
        return found

    def time_input(self, spec: Any, where: str, real: str, model: Model) -> TimeInput:
        form = self.table(spec, where).get("form")
        if not isinstance(form, str) or form not in FORMS:
            raise self.error(f"{where}.form",
                             f"{form!r} is not an input form; valid forms: {list(FORMS)}.")
        self.keys(spec, ["form", *FORMS[form]], where)
        settings: dict[str, Any] = {}
        for name in FORMS[form]:
            key = f"{where}.{name}"
            if name not in spec:
                raise self.error(key, f"missing; a {form} input needs {list(FORMS[form])}.")
            if form != "table":
                settings[name] = self.number(spec[name], key)
            elif isinstance(spec[name], list):
                settings[name] = tuple(self.number(v, key) for v in spec[name])
            else:
                raise self.error(key, f"must be an array of numbers, got {spec[name]!r}.")
        problem = input_problem(form, settings)
        if problem is not None:
            raise self.error(f"{where}.{problem[0]}", problem[1] + ".")
        made = TimeInput(real, form, settings)
        for name, level in made.levels():
            self.in_range(level, f"{where}.{name}", real, model, "the input reaches ")
        return made

    def run_settings(self, value: Any, model: Model) -> dict[str, float]:
        given: dict[str, float] = {}
        before = len(self.problems)
        for key, number in self.keys(value, list(_RUN_KEYS), "run").items():
            if key in _RUN_KEYS:
                with self.collect():
                    given[key] = self.number(number, toml_key("run", key))
        if len(self.problems) > before:
            return given  # the settings are checked together once each is a number
        try:
            check_time_settings(model, *(given.get(key) for key in _RUN_KEYS))
        except ParameterValueError as err:
            first = str(err).split()[0]
            key = toml_key("run", first) if first in _RUN_KEYS else "run"
            raise self.error(key, str(err)) from err
        except ResourceLimitError as err:
            raise ResourceLimitError(f"{self.path}: run: {err}") from err
        return given

"""The validator shared by study specs (sensitivity and calibration).

Both kinds of spec name a base (a model, or a scenario whose constants and run
settings apply), parameters with distributions within the constants' documented
ranges, and result variables; :class:`StudyValidator` checks those parts with
the scenario validator's accessors and messages (every error names the file
and the key). Each spec module subclasses it with its own error type.

A model given by the caller (``load_spec(path, model=...)``, the MODEL argument
of the commands) must be the file the spec's ``model`` key, or its base
scenario's, names: a spec is never silently validated against another model.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdkit.errors import ScenarioError, UnknownVariableError
from sdkit.scenarios.spec import ScenarioValidator
from sdkit.sensitivity.sampling import DISTRIBUTIONS, Distribution

if TYPE_CHECKING:
    from sdkit.model.core import Model

__all__ = ["StudyValidator", "subscripted_variables"]

def subscripted_variables(model: Model) -> dict[str, tuple[str, ...]]:
    """Real name -> subscript ranges of each subscripted (array) variable of ``model``
    (:attr:`sdkit.model.core.Model.subscripts`, read once per model); a stand-in without
    a translation has none."""
    return dict(getattr(model, "subscripts", {}))


def _same_file(one: Path, other: Path) -> bool:
    try:
        return os.path.samefile(one, other)
    except OSError:
        return one.resolve() == other.resolve()


class _GivenModel(ScenarioValidator):
    """A scenario validator that checks the scenario's ``model`` is the given one."""

    def model(self, text: str) -> Model:
        return _given_model(self, text)


def _given_model(validator: ScenarioValidator, text: str) -> Model:
    """The caller's model (``validator.models[None]``), or the one ``text`` names; an
    error (at ``model``) when both are there and are different files."""
    given = validator.models.get(None)
    if given is None:
        return ScenarioValidator.model(validator, text)
    path = Path(os.path.normpath(validator.path.parent / text))
    if not _same_file(path, given.path):
        shown = repr(text) if str(path) == text else f"{text!r} ({path})"
        raise validator.error("model", f"{shown} is not the model given "
                              f"({given.path}); the file must name the model it is run "
                              "with.")
    return given


class StudyValidator(ScenarioValidator):
    """Checks the parts sensitivity and calibration specs share.

    Inside :meth:`~sdkit.util.schema.SchemaValidator.checked` each unknown or missing
    top-level key, the name and each text of the header is a problem of its own.
    """

    def header(self, schema: dict[str, tuple[str, bool]]) -> tuple[dict[str, Any], str,
                                                                     dict[str, str]]:
        """Read the file; check its top-level keys against ``schema`` (what each holds,
        whether it is required), its ``name`` slug and its ``title`` and ``description``.

        Returns the data, the name and the two texts (whitespace folded, ``""`` if absent).
        """
        data = self.read()
        name = self.top(data, schema)
        texts = dict.fromkeys(("title", "description"), "")
        for key in texts:
            if key in data:
                with self.collect():
                    texts[key] = " ".join(self.string(data[key], key).split())
        return data, name, texts

    def model(self, text: str) -> Model:
        return _given_model(self, text)

    def base(self, data: dict[str, Any]) -> tuple[Model, Path | None, dict, dict]:
        if "scenario" not in data and "model" not in data and None in self.models:
            return self.models[None], None, {}, {}  # the model the caller gave
        if ("scenario" in data) == ("model" in data):
            raise self.error("scenario", "give exactly one of 'scenario' (a base scenario "
                             "file) and 'model' (a model file).")
        if "model" in data:
            return self.model(self.string(data["model"], "model")), None, {}, {}
        text = self.string(data["scenario"], "scenario")
        path = Path(os.path.normpath(self.path.parent / text))
        if not path.is_file():
            raise self.error("scenario", f"base scenario {text!r} ({path}) does not exist.")
        given = self.models.get(None)
        try:
            scenario = _GivenModel(path, {} if given is None else {None: given}).scenario()
        except ScenarioError as err:
            raise self.error("scenario", f"invalid base scenario: {err}") from err
        model = self.models.get(None)
        if model is None:
            from sdkit.model.core import load_model

            model = self.models.setdefault(scenario.model_path, load_model(scenario.model_path))
        return model, path, scenario.params(model), dict(scenario.run_settings)

    def distribution(self, spec: dict, where: str, real: str, model: Model) -> Distribution:
        kind = spec.get("distribution", "uniform")
        if not isinstance(kind, str) or kind not in DISTRIBUTIONS:
            raise self.error(f"{where}.distribution", f"{kind!r} is not a distribution; "
                             f"valid distributions: {list(DISTRIBUTIONS)}.")
        self.keys(spec, ["distribution", "group", *DISTRIBUTIONS[kind]], where)
        for key in DISTRIBUTIONS[kind]:
            if key not in spec:
                needs = list(DISTRIBUTIONS[kind])
                raise self.error(f"{where}.{key}", f"missing; a {kind} distribution needs {needs}.")
        if kind == "levels":
            levels = spec["levels"]
            if not isinstance(levels, list) or len(levels) < 2:
                raise self.error(f"{where}.levels", f"must be an array of at least two "
                                 f"numbers, got {levels!r}.")
            values = tuple(self.number(v, f"{where}.levels") for v in levels)
            if len(set(values)) != len(values):
                raise self.error(f"{where}.levels", "levels must be distinct.")
            for v in values:
                self.in_range(v, f"{where}.levels", real, model, "the level ")
            return Distribution("levels", min(values), max(values), levels=values)
        got = {key: self.number(spec[key], f"{where}.{key}") for key in DISTRIBUTIONS[kind]}
        if not got["low"] < got["high"]:
            raise self.error(f"{where}.high", f"high ({got['high']:g}) must be greater than "
                             f"low ({got['low']:g}).")
        for key in ("low", "high", "mode", "mean"):
            if key in got:
                self.in_range(got[key], f"{where}.{key}", real, model, f"{key} ")
        if kind == "triangular" and not got["low"] <= got["mode"] <= got["high"]:
            raise self.error(f"{where}.mode", "mode must lie between low and high.")
        if kind == "normal" and not got["std"] > 0:
            raise self.error(f"{where}.std", f"must be positive, got {got['std']:g}.")
        return Distribution(kind, got["low"], got["high"], got.get("mode"), got.get("mean"),
                            got.get("std"))

    def any_variable(self, name: Any, key: str, model: Model) -> str:
        if not isinstance(name, str):
            raise self.error(key, f"must be a variable name, got {name!r}.")
        try:
            var = model.variable(name)
        except UnknownVariableError as err:
            did = f" Did you mean {', '.join(map(repr, err.suggestions))}?" \
                if err.suggestions else ""
            raise self.error(key, f"unknown variable {name!r} in model "
                             f"{model.path.name!r}.{did}") from err
        if var.kind in ("lookup", "control"):
            raise self.error(key, f"{var.name!r} is a {var.kind}, not a result variable.")
        return var.name

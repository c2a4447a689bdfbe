"""The validator shared by study specs (sensitivity and calibration).

Both kinds of spec name a base (a model, or a scenario whose constants and run
settings apply), parameters with distributions within the constants' documented
ranges, and result variables; :class:`StudyValidator` checks those parts with
the scenario validator's accessors and messages (every error names the file
and the key). Each spec module subclasses it with its own error type.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdkit.errors import ScenarioError, UnknownVariableError
from sdkit.scenarios import _Validator, load_scenario
from sdkit.sensitivity.sampling import DISTRIBUTIONS, Distribution

if TYPE_CHECKING:
    from sdkit.model import Model

__all__ = ["StudyValidator"]


class StudyValidator(_Validator):
    """Checks the parts sensitivity and calibration specs share."""

    def integer(self, value: Any, key: str, low: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise self.error(key, f"must be an integer >= {low}, got {value!r}.")
        return value

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
        try:
            scenario = load_scenario(path, model=self.models.get(None))
        except ScenarioError as err:
            raise self.error("scenario", f"invalid base scenario: {err}") from err
        model = self.models.get(None)
        if model is None:
            from sdkit.model import load_model

            model = self.models.setdefault(scenario.model_path, load_model(scenario.model_path))
        return model, path, scenario.params(model), dict(scenario.run_settings)

    def distribution(self, spec: dict, where: str, real: str, model: Model) -> Distribution:
        kind = spec.get("distribution", "uniform")
        if kind not in DISTRIBUTIONS:
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

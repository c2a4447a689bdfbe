"""Evaluation backends: a chunk of parameter rows in, a table of outputs out.

An evaluator is anything with ``evaluate(params) -> DataFrame`` (the
:class:`Evaluator` protocol): ``params`` has one row per run and one column per
varied constant; the result has the same index, one column per output, and the
band columns of :func:`~sdkit.sensitivity.metrics.series_column`. Evaluators must
be picklable (they travel to worker processes and Dask workers) and
deterministic.

* :class:`PysdEvaluator` runs :meth:`sdkit.model.Model.run` once per row (about
  two seconds per run of the empowerment model).
* :class:`EnsembleEvaluator` hands the whole chunk to the vectorised engine,
  ``sdkit.engine.run_ensemble``, and falls back to PySD (with a logged warning)
  when the engine is missing or rejects the model.

:func:`make_evaluator` picks one for a spec (its ``execution.engine``).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from sdkit.sensitivity.metrics import compute_outputs
from sdkit.sensitivity.spec import SensitivitySpec

__all__ = ["Evaluator", "PysdEvaluator", "EnsembleEvaluator", "make_evaluator"]

log = logging.getLogger("sdkit.sensitivity")
_SERIES_WARNING = "Replacing a constant value with a time-dependent value"


@runtime_checkable
class Evaluator(Protocol):
    """Computes the outputs of a chunk of runs."""

    #: Short name recorded in the manifest (part of each chunk's hash).
    name: str

    def evaluate(self, params: pd.DataFrame) -> pd.DataFrame:
        """Outputs of each row of ``params`` (same index)."""
        ...


class PysdEvaluator:
    """Runs the model with PySD, one fresh run per parameter row.

    Parameters
    ----------
    spec : SensitivitySpec
        Gives the model, the base parameters and run settings, the outputs and
        the band variables.
    """

    name = "pysd"

    def __init__(self, spec: SensitivitySpec) -> None:
        self.model_path = spec.model_path
        self.base_params = dict(spec.base_params)
        self.run_settings = dict(spec.run_settings)
        self.outputs = spec.outputs
        self.bands = spec.bands
        self.variables = spec.variables()
        self._model: Any = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_model"] = None
        return state

    def model(self) -> Any:
        if self._model is None:
            from sdkit.model import load_model

            self._model = load_model(self.model_path)
        return self._model

    def evaluate(self, params: pd.DataFrame) -> pd.DataFrame:
        model = self.model()
        runs = []
        for _, row in params.iterrows():
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=_SERIES_WARNING)
                runs.append(model.run({**self.base_params, **row.to_dict()},
                                      return_columns=self.variables, **self.run_settings))
        times = runs[0].index.to_numpy(dtype=float)
        trajectories = {v: np.vstack([r[v].to_numpy(dtype=float) for r in runs])
                        for v in self.variables}
        return compute_outputs(trajectories, times, self.outputs, self.bands, params.index)


class EnsembleEvaluator(PysdEvaluator):
    """Runs a whole chunk at once with ``sdkit.engine.run_ensemble``.

    Falls back to :class:`PysdEvaluator` (logging a warning, once) when the engine
    cannot be imported or raises ``UnsupportedConstructError`` for the model.
    Time-varying base inputs are passed as they are; an engine that cannot take
    them is expected to raise ``UnsupportedConstructError`` too.
    """

    name = "ensemble"

    def __init__(self, spec: SensitivitySpec) -> None:
        super().__init__(spec)
        self._fallback = False

    def evaluate(self, params: pd.DataFrame) -> pd.DataFrame:
        if self._fallback:
            return super().evaluate(params)
        try:
            from sdkit import engine
        except ImportError as err:
            return self._fall_back(params, f"sdkit.engine is not available ({err})")
        base = {k: v for k, v in self.base_params.items() if k not in params.columns}
        if any(isinstance(v, pd.Series) for v in base.values()):
            return self._fall_back(params, "the base scenario has time-varying inputs")
        table = params.assign(**{k: [v] * len(params) for k, v in base.items()})
        try:
            # run_settings holds only final_time, time_step and saveper (see Scenario).
            settings = self.run_settings
            result = engine.run_ensemble(self.model(), table, outputs=self.variables,
                                         final_time=settings.get("final_time"),
                                         time_step=settings.get("time_step"),
                                         saveper=settings.get("saveper"))
        except Exception as err:
            if type(err).__name__ != "UnsupportedConstructError":
                raise
            return self._fall_back(params, str(err))
        times, trajectories = _unpack(result, self.variables)
        return compute_outputs(trajectories, times, self.outputs, self.bands, params.index)

    def _fall_back(self, params: pd.DataFrame, why: str) -> pd.DataFrame:
        log.warning("Falling back to PySD runs: %s", why)
        self._fallback = True
        return super().evaluate(params)


def _unpack(result: Any, variables: list[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Time vector and ``(N, T)`` arrays from the engine's result, whatever it calls them."""
    times = next((getattr(result, a) for a in ("time", "times", "t") if hasattr(result, a)),
                 None)
    if times is None and isinstance(result, Mapping):
        times = result.get("time")
    store = next((getattr(result, a) for a in ("arrays", "values", "variables", "data", "outputs")
                  if isinstance(getattr(result, a, None), Mapping)), result)
    trajectories = {v: np.asarray(store[v], dtype=float) for v in variables}
    return np.asarray(times, dtype=float), trajectories


def make_evaluator(spec: SensitivitySpec) -> PysdEvaluator:
    """The evaluator for ``spec.engine``: ``"pysd"``, ``"ensemble"``, or ``"auto"``
    (the engine when ``sdkit.engine`` can be imported, else PySD)."""
    if spec.engine == "pysd":
        return PysdEvaluator(spec)
    if spec.engine == "auto":
        try:
            import sdkit.engine  # noqa: F401
        except ImportError:
            log.info("sdkit.engine is not available; using PySD runs.")
            return PysdEvaluator(spec)
    return EnsembleEvaluator(spec)

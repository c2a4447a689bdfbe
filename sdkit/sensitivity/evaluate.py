"""Evaluation backends: a chunk of parameter rows in, a table of outputs out.

An evaluator is anything with ``evaluate(params) -> DataFrame`` (the
:class:`Evaluator` protocol): ``params`` has one row per run and one column per
varied constant; the result has the same index, one column per output, and the
band columns of :func:`~sdkit.sensitivity.metrics.series_column`. Evaluators must
be picklable (they travel to worker processes and Dask workers) and
deterministic.

Both evaluators run the chunk through :class:`sdkit.engine.batch.BatchRunner`, the one
seam between analyses and the run engines:

* :class:`PysdEvaluator` runs :meth:`sdkit.model.core.Model.run` once per row (about
  two seconds per run of the empowerment model).
* :class:`EnsembleEvaluator` integrates the whole chunk in one call of the
  vectorised engine (``sdkit.engine``), falling back to PySD (with a logged
  warning) when the engine is missing or rejects the model.

:func:`make_evaluator` picks one for a spec (its ``execution.engine``).
"""

from __future__ import annotations

import logging
from typing import Protocol, runtime_checkable

import pandas as pd

from sdkit.engine.batch import BatchRunner
from sdkit.sensitivity.metrics import compute_outputs
from sdkit.sensitivity.spec import SensitivitySpec

__all__ = ["Evaluator", "PysdEvaluator", "EnsembleEvaluator", "make_evaluator"]

log = logging.getLogger("sdkit.sensitivity")


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
    #: The :class:`~sdkit.engine.batch.BatchRunner` engine.
    engine = "pysd"

    def __init__(self, spec: SensitivitySpec) -> None:
        self.outputs = spec.outputs
        self.bands = spec.bands
        self.runner = BatchRunner(spec.model_path, spec.parameter_names, spec.variables(),
                                  base_params=spec.base_params, settings=spec.run_settings,
                                  engine=self.engine)

    def evaluate(self, params: pd.DataFrame) -> pd.DataFrame:
        times, trajectories = self.runner.run(params)
        return compute_outputs(trajectories, times, self.outputs, self.bands, params.index)


class EnsembleEvaluator(PysdEvaluator):
    """Runs a whole chunk at once on the ensemble engine.

    Falls back to PySD runs (logging a warning, once) when the engine cannot be
    imported, refuses the model (``UnsupportedConstructError``) or the base has
    time-varying inputs (:class:`~sdkit.engine.batch.BatchRunner`).
    """

    name = "ensemble"
    engine = "auto"

    def __init__(self, spec: SensitivitySpec) -> None:
        super().__init__(spec)
        # decided before any chunk runs (in this process, so the manifest and every
        # chunk's hash name what really runs, whichever executor runs the chunks)
        if self.runner.resolve() == "pysd":
            self.name = "pysd"


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

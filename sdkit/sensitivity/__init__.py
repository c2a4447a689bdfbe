"""Sensitivity studies of system-dynamics models (see ``docs/sensitivity.md``).

A study is described by a TOML spec (:func:`load_spec`) and run by
:func:`run_sensitivity`, which samples the parameters (one at a time, Monte
Carlo, Latin hypercube, Morris, Sobol), runs the model chunk by chunk (serially,
in local processes or on Dask; resumable), and returns a
:class:`SensitivityResult` with the indices and percentile bands.

Modules: :mod:`.spec` (format and validation), :mod:`.sampling`,
:mod:`.metrics` (outputs of each run), :mod:`.evaluate` (PySD or engine
backends), :mod:`.execute` (executors, chunks, resume), :mod:`.analyze`
(indices, bands), :mod:`.result` (files, Markdown), :mod:`.study`.
"""

from __future__ import annotations

from sdkit.sensitivity.result import SensitivityResult, load_result
from sdkit.sensitivity.spec import SensitivitySpec, SensitivitySpecError, load_spec
from sdkit.sensitivity.study import run_sensitivity

__all__ = ["run_sensitivity", "load_spec", "load_result", "SensitivityResult",
           "SensitivitySpec", "SensitivitySpecError"]

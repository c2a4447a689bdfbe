"""Calibration and hindcast of system-dynamics models (see ``docs/calibration.md``).

A calibration is described by a TOML spec (:func:`load_calibration_spec`) naming
the model, an observations file (:func:`load_observations`: levels, flows
compared as period integrals, events and ratios, each with its uncertainty),
the parameters to estimate with bounds and priors, and ``train_until``.
:func:`calibrate` finds the posterior mode with differential evolution (one
batch run per population, on the ensemble engine) and samples the posterior
with emcee's ensemble sampler, then reports estimates with 90% intervals,
parameters the data do not identify, correlations, posterior bands and the
hindcast of held-out observations (:class:`CalibrationResult`).

Modules: :mod:`.observations`, :mod:`.spec`, :mod:`.likelihood`, :mod:`.fit`
(optimiser and sampler), :mod:`.summary`, :mod:`.checkpoint`, :mod:`.study`,
:mod:`.result` (files and reports).
"""

from __future__ import annotations

from sdkit.calibration.observations import Observation, load_observations
from sdkit.calibration.result import CalibrationResult, load_result
from sdkit.calibration.spec import CalibrationSpec, CalibrationSpecError, load_calibration_spec
from sdkit.calibration.study import run_calibration

__all__ = ["calibrate", "run_calibration", "load_calibration_spec", "load_observations",
           "load_result", "CalibrationResult", "CalibrationSpec", "CalibrationSpecError",
           "Observation"]

#: ``sdkit.calibrate(spec, output_dir=...)``: the same as :func:`run_calibration`.
calibrate = run_calibration

"""From trajectories to predictions, and from predictions to a log posterior.

:class:`Predictor` turns the ``(N, T)`` trajectories of a run saved at every
time step into an ``(N, M)`` array of predicted observations; the
:func:`log_likelihood` of the observed values is Gaussian on each observation's
scale with its standard error, optionally weighted; :func:`log_prior` adds the
parameters' prior log densities. Plain functions over numpy arrays: every
quantity is computed for the N parameter sets at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from sdkit.calibration.observations import Observation
from sdkit.sensitivity.sampling import Distribution, logpdf

__all__ = ["Predictor", "crossing_times", "log_likelihood", "log_prior", "transform"]

_LOG_2PI = math.log(2 * math.pi)


class Predictor:
    """Predicted observations from trajectories saved at every time step.

    Parameters
    ----------
    observations : sequence of Observation
    times : numpy.ndarray
        The saved times (equally spaced by the time step).
    """

    def __init__(self, observations: Sequence[Observation], times: np.ndarray) -> None:
        self.observations = tuple(observations)
        self.times = np.asarray(times, dtype=float)
        self._weights = {o.id: o.weights(self.times) for o in self.observations
                         if o.kind != "event"}
        self._base = {o.id: o.weights(self.times, base=True) for o in self.observations
                      if o.kind == "ratio"}

    @property
    def variables(self) -> list[str]:
        """The variables the observations read, without repeats."""
        return list(dict.fromkeys(o.variable for o in self.observations))

    def predict(self, trajectories: Mapping[str, np.ndarray]) -> np.ndarray:
        """The ``(N, M)`` predictions, in the order of the observations.

        An event never reached counts as happening at the end of the run (which
        overstates its likelihood: runs reach ``value + 5 sd``, so a missed
        event is at least five standard errors off either way). A ratio over a
        zero denominator is NaN.
        """
        columns = []
        for o in self.observations:
            values = np.asarray(trajectories[o.variable], dtype=float)
            if o.kind == "event":
                columns.append(crossing_times(values, self.times, o.threshold))
            elif o.kind == "ratio":
                with np.errstate(all="ignore"):
                    columns.append(_weighted(values, self._weights[o.id]) /
                                   _weighted(values, self._base[o.id]))
            else:
                columns.append(_weighted(values, self._weights[o.id]))
        return np.column_stack(columns) if columns else np.empty((0, 0))


def _weighted(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``values @ weights`` summed the same way for every row, whatever the array's memory
    layout or row count (BLAS's order, and so the last bit, depends on both; the engine
    and PySD lay out their results differently and must give the same predictions)."""
    used = np.flatnonzero(weights)
    return (np.ascontiguousarray(values[:, used]) * weights[used]).sum(axis=1)


def crossing_times(values: np.ndarray, times: np.ndarray, level: float) -> np.ndarray:
    """First upward crossing of ``level`` by each row, interpolated linearly.

    The rule of :func:`sdkit.analysis.stages.crossing_time`, for ``(N, T)`` rows at once:
    the first time if a row starts at or above the level, the end of the run if
    it never reaches it (see :meth:`Predictor.predict`).
    """
    above = values >= level
    first = np.argmax(above, axis=1)
    reached = above[np.arange(len(values)), first]
    out = np.full(len(values), float(times[-1]))
    inner = reached & (first > 0)
    out[reached & (first == 0)] = times[0]
    j = first[inner]
    rows = np.flatnonzero(inner)
    v0, v1 = values[rows, j - 1], values[rows, j]
    t0, t1 = times[j - 1], times[j]
    out[rows] = t0 + (level - v0) * (t1 - t0) / (v1 - v0)
    return out


def transform(values: np.ndarray, scales: Sequence[str]) -> np.ndarray:
    """Values on each column's scale (``log`` columns: the log; NaN where not positive)."""
    out = np.array(values, dtype=float, copy=True)
    for j, scale in enumerate(scales):
        if scale == "log":
            column = out[..., j]
            with np.errstate(all="ignore"):
                out[..., j] = np.where(column > 0, np.log(column), np.nan)
    return out


def log_likelihood(predictions: np.ndarray, observations: Sequence[Observation],
                   weights: Sequence[float] | None = None) -> np.ndarray:
    """Gaussian log-likelihood of the observed values, one per row of ``predictions``.

    Each observation contributes ``w * log N(f(y); f(pred), sd)`` with ``f`` its
    scale (identity or log), ``sd`` its standard error and ``w`` its weight
    (default 1; weight 0 leaves the observation out). A prediction that is NaN,
    infinite or (on the log scale) not positive makes the row's likelihood ``-inf``.
    """
    w = np.ones(len(observations)) if weights is None else np.asarray(weights, dtype=float)
    used = w > 0  # a zero weight removes the observation (even an impossible prediction)
    observations = [o for o, keep in zip(observations, used, strict=True) if keep]
    predictions, w = predictions[:, used], w[used]
    if not observations:
        return np.zeros(len(predictions))
    scales = [o.scale for o in observations]
    predicted = transform(predictions, scales)
    observed = transform(np.array([[o.value for o in observations]]), scales)[0]
    sd = np.array([o.sd for o in observations])
    z = (predicted - observed) / sd
    terms = -0.5 * z * z - np.log(sd) - 0.5 * _LOG_2PI
    total = (terms * w).sum(axis=1)
    return np.where(np.isfinite(total), total, -np.inf)


def log_prior(values: np.ndarray, priors: Sequence[Distribution]) -> np.ndarray:
    """Sum of the parameters' prior log densities, one per row of ``values``."""
    values = np.atleast_2d(values)
    total = np.zeros(len(values))
    for j, prior in enumerate(priors):
        total = total + logpdf(prior, values[:, j])
    return total

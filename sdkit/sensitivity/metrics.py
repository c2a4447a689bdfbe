"""Outputs of an ensemble of runs: trajectories in, one number per run and output out.

Trajectories are plain arrays: for each variable an array of shape ``(N, T)``
(one row per run) on a shared time vector of length ``T``. This is the shape the
vectorised engine returns, and what :class:`~sdkit.sensitivity.evaluate.PysdEvaluator`
assembles from separate runs, so both share these functions.

Never reached
-------------
A transition or level that a run never reaches inside its time span is recorded
as the run's final time plus the output's ``penalty`` (default one year) when
its ``never`` is ``"penalty"``, and as NaN when it is ``"nan"``. The penalty keeps
Sobol and Morris indices computable (they need finite values) and ranks "never"
after "at the very end"; a value greater than the final time therefore always
means "not reached".

Crossing times are interpolated linearly between saved points, exactly as
:func:`sdkit.analysis.stages.crossing_time` does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import cast

import numpy as np
import pandas as pd

from sdkit.sensitivity.spec import Output

__all__ = ["crossing_times", "values_at", "integral_between", "compute_outputs", "series_column",
           "BAND_SEP"]

#: Separator of the band columns of an evaluator's output: ``"band|<variable>|<time>"``.
BAND_SEP = "|"


def series_column(variable: str, time: float) -> str:
    """Name of the output column holding ``variable`` at ``time`` (for percentile bands)."""
    return f"band{BAND_SEP}{variable}{BAND_SEP}{time!r}"


def crossing_times(values: np.ndarray, times: np.ndarray, level: float) -> np.ndarray:
    """First upward crossing of ``level`` in each row, interpolated; NaN where never.

    A row that starts at or above the level crosses at the first time.
    """
    values = np.atleast_2d(np.asarray(values, dtype=float))
    times = np.asarray(times, dtype=float)
    above = values >= level
    reached = above.any(axis=1)
    first = np.argmax(above, axis=1)
    result = np.full(values.shape[0], math.nan)
    at_start = reached & (first == 0)
    result[at_start] = times[0]
    inner = reached & (first > 0)
    rows = np.nonzero(inner)[0]
    if rows.size:
        i1 = first[rows]
        i0 = i1 - 1
        t0, t1 = times[i0], times[i1]
        v0, v1 = values[rows, i0], values[rows, i1]
        result[rows] = t0 + (level - v0) * (t1 - t0) / (v1 - v0)
    return result


def values_at(values: np.ndarray, times: np.ndarray, year: float) -> np.ndarray:
    """Each row's value at ``year``, linearly interpolated between saved times."""
    values = np.atleast_2d(np.asarray(values, dtype=float))
    times = np.asarray(times, dtype=float)
    j = int(np.clip(np.searchsorted(times, year, side="right") - 1, 0, len(times) - 1))
    if j == len(times) - 1 or times[j] == year:
        return values[:, j].copy()
    w = (year - times[j]) / (times[j + 1] - times[j])
    return (1 - w) * values[:, j] + w * values[:, j + 1]


def integral_between(values: np.ndarray, times: np.ndarray, start: float,
                     end: float) -> np.ndarray:
    """Each row's integral over ``[start, end]``: trapezoids over the saved times inside,
    the values at the ends interpolated linearly (:func:`values_at`)."""
    values = np.atleast_2d(np.asarray(values, dtype=float))
    times = np.asarray(times, dtype=float)
    at = np.array([start, *times[(times > start) & (times < end)], end])
    points = np.stack([values_at(values, times, t) for t in at], axis=1)
    return ((points[:, 1:] + points[:, :-1]) / 2 * np.diff(at)).sum(axis=1)


def _output(output: Output, values: np.ndarray, times: np.ndarray) -> np.ndarray:
    if output.kind == "value":
        # The spec reader requires a year for a "value" output.
        return values_at(values, times, cast(float, output.year))
    if output.kind == "max":
        return values.max(axis=1)
    if output.kind == "final":
        return values[:, -1].copy()
    # The spec reader requires a level for "transition" and "reach" outputs.
    crossing = crossing_times(values, times, cast(float, output.level))
    if output.never == "penalty":
        crossing = np.where(np.isnan(crossing), times[-1] + output.penalty, crossing)
    return crossing


def compute_outputs(trajectories: Mapping[str, np.ndarray], times: Sequence[float] | np.ndarray,
                    outputs: Sequence[Output], bands: Sequence[str] = (),
                    index: pd.Index | None = None) -> pd.DataFrame:
    """The outputs of every run, plus the band variables at every saved time.

    Parameters
    ----------
    trajectories : mapping of str to numpy.ndarray
        Variable (real name) to an ``(N, T)`` array.
    times : sequence of float or numpy.ndarray
        The ``T`` saved times.
    outputs : sequence of Output
        What to compute.
    bands : sequence of str
        Variables whose whole trajectories are kept, as columns
        :func:`series_column` ``(variable, time)``.
    index : pandas.Index, optional
        Row labels (default ``0..N-1``).

    Returns
    -------
    pandas.DataFrame
        One row per run; a column per output (by name), then the band columns.
    """
    times = np.asarray(times, dtype=float)
    columns: dict[str, np.ndarray] = {}
    for output in outputs:
        columns[output.name] = _output(output, np.atleast_2d(trajectories[output.variable]),
                                       times)
    for variable in bands:
        values = np.atleast_2d(np.asarray(trajectories[variable], dtype=float))
        for j, t in enumerate(times):
            columns[series_column(variable, float(t))] = values[:, j]
    return pd.DataFrame(columns, index=index)


def split_bands(outputs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split evaluator outputs into the output columns and a long band table.

    Returns
    -------
    tuple of pandas.DataFrame
        The outputs without band columns; and ``run, variable, time, value``.
    """
    band_cols = [c for c in outputs.columns if str(c).startswith("band" + BAND_SEP)]
    plain = outputs.drop(columns=band_cols)
    if not band_cols:
        return plain, pd.DataFrame(columns=["run", "variable", "time", "value"])
    long = outputs[band_cols].melt(ignore_index=False, var_name="column", value_name="value")
    parts = long["column"].str.split(BAND_SEP, n=2, expand=True, regex=False)
    long = pd.DataFrame({"run": long.index.to_numpy(), "variable": parts[1].to_numpy(),
                         "time": parts[2].astype(float).to_numpy(),
                         "value": long["value"].astype(float).to_numpy()})
    return plain, long

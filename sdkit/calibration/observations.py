"""Observations: what a calibration compares the model with.

An observations file is a CSV with one row per observation (docs/calibration.md):

``id``
    A unique name, e.g. ``mills-2021``.
``kind``
    ``level`` (a variable's value at ``time``), ``flow`` (the integral of a rate
    over the half-open period ``[time, end)``, e.g. a calendar year's traded
    volume), ``event`` (the first time ``variable`` crosses ``threshold`` upwards;
    ``value`` is the observed date) or ``ratio`` (the variable over the period
    ``[time, end)`` divided by the same over ``[base_time, base_end)``; a period
    without an end is the level at its start).
``variable``
    The model variable (its real name, or a close enough one: see the errors).
``time``, ``end``, ``base_time``, ``base_end``, ``threshold``
    As the kind needs; empty otherwise.
``value``
    The observed value (for an event, the observed time).
``sd`` or ``low`` and ``high``
    The uncertainty: a standard error, or a 90% interval around ``value``.
``scale``
    ``linear`` (default) or ``log``: the error model is Gaussian on this scale
    (``log`` for counts known to a factor; ``value``, ``low`` and ``high`` > 0).
``unit``, ``source``
    Text; every observation needs a source.

A flow is compared with its integral computed the way the model integrates:
the sum of the rate times the time step over the Euler steps inside the period
(so a flow over ``[a, b)`` equals the change of a stock that accumulates it).
Levels, flows and ratios are linear in the saved trajectory at every time step,
so each is a weight vector (:meth:`Observation.weights`); events interpolate the
first upward crossing linearly, like :func:`sdkit.stages.crossing_time`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sdkit.errors import InputFileError, UnknownVariableError

__all__ = ["KINDS", "Z90", "Observation", "load_observations", "read_observations_csv"]

#: Observation kinds and the columns each needs (besides id, kind, variable, value).
KINDS: dict[str, tuple[str, ...]] = {
    "level": ("time",),
    "flow": ("time", "end"),
    "event": ("threshold",),
    "ratio": ("time", "base_time"),
}
#: The standard normal's 95% quantile: a 90% interval is value +- Z90 sd.
Z90 = 1.6448536269514722
_NUMERIC = ("time", "end", "base_time", "base_end", "threshold", "value", "sd", "low", "high")
_REQUIRED = ("id", "kind", "variable", "value", "source")
COLUMNS = ("id", "kind", "variable", "time", "end", "base_time", "base_end", "threshold",
           "value", "sd", "low", "high", "scale", "unit", "source")


@dataclass(frozen=True)
class Observation:
    """One validated observation (see the module docstring for the fields)."""

    id: str
    kind: str
    variable: str
    value: float
    sd: float
    scale: str = "linear"
    time: float = math.nan
    end: float = math.nan
    base_time: float = math.nan
    base_end: float = math.nan
    threshold: float = math.nan
    low: float = math.nan
    high: float = math.nan
    unit: str = ""
    source: str = ""

    def last_time(self, dt: float) -> float:
        """The last model time this observation depends on.

        A level's time, an event's observed date, and for a period ``[a, b)``
        the last Euler step inside it (``b - dt``). An observation is held out
        of a calibration when this is after ``train_until``.
        """
        if self.kind == "level":
            return self.time
        if self.kind == "event":
            return self.value
        ends = [self.end - dt if math.isfinite(self.end) else self.time]
        if self.kind == "ratio":
            ends.append(self.base_end - dt if math.isfinite(self.base_end) else self.base_time)
        return max(ends)

    def horizon(self) -> float:
        """The time a run must reach to predict this observation."""
        if self.kind == "event":
            return self.value + 5 * self.sd
        times = [self.time, self.end, self.base_time, self.base_end]
        return max(t for t in times if math.isfinite(t))

    def weights(self, times: np.ndarray, *, base: bool = False) -> np.ndarray:
        """Weights ``w`` with ``trajectory @ w`` = the level or period integral.

        ``times`` are the saved times of a run that saves every time step.
        ``base`` gives the ratio's denominator.
        """
        start, end = (self.base_time, self.base_end) if base else (self.time, self.end)
        if not math.isfinite(end):
            return _interpolation(times, start)
        dt = float(times[1] - times[0])
        lows = times[:-1]
        overlap = np.clip(np.minimum(lows + dt, end) - np.maximum(lows, start), 0.0, None)
        return np.append(overlap, 0.0)


def _interpolation(times: np.ndarray, at: float) -> np.ndarray:
    weights = np.zeros(len(times))
    j = int(np.searchsorted(times, at, side="right"))
    if j >= len(times):
        weights[-1] = 1.0
    elif j == 0:
        weights[0] = 1.0
    else:
        share = (at - times[j - 1]) / (times[j] - times[j - 1])
        weights[j - 1], weights[j] = 1.0 - share, share
    return weights


def read_observations_csv(path: str | Path) -> pd.DataFrame:
    """Read an observations CSV as text; missing file or bad CSV is an ``InputFileError``."""
    path = Path(path)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError as err:
        raise InputFileError(f"Observations file {str(path)!r} does not exist.",
                             path=str(path)) from err
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError,
            UnicodeDecodeError) as err:
        raise InputFileError(f"Observations file {str(path)!r} cannot be read as CSV: "
                             f"{str(err).splitlines()[0] if str(err) else type(err).__name__}",
                             path=str(path)) from err
    unknown = [c for c in table.columns if c not in COLUMNS]
    missing = [c for c in _REQUIRED if c not in table.columns]
    if unknown or missing:
        what = f"unknown columns {unknown}" if unknown else f"missing columns {missing}"
        raise InputFileError(f"{path}: {what}; valid columns: {list(COLUMNS)}.",
                             path=str(path), key=(unknown or missing)[0])
    if table.empty:
        raise InputFileError(f"{path}: the file has no observations.", path=str(path))
    for column in COLUMNS:
        if column not in table.columns:
            table[column] = ""
    return table[list(COLUMNS)]


def load_observations(path: str | Path, model: Any = None) -> tuple[Observation, ...]:
    """Read and validate an observations file.

    Parameters
    ----------
    path : path-like
        The CSV file (schema in the module docstring).
    model : sdkit.model.Model, optional
        When given, every ``variable`` must be one of its variables (an unknown
        name is an error that lists close matches), and names are made real.

    Returns
    -------
    tuple of Observation

    Raises
    ------
    InputFileError
        Naming the file, the row (as numbered in a spreadsheet, header = 1) and
        the column of the first problem.
    """
    path = Path(path)
    table = read_observations_csv(path)
    seen: set[str] = set()
    found = []
    for i, row in enumerate(table.to_dict("records")):
        observation = _RowReader(path, i + 2, row, model).observation()
        if observation.id in seen:
            raise InputFileError(f"{path}: row {i + 2}: id {observation.id!r} is used twice.",
                                 path=str(path), key="id")
        seen.add(observation.id)
        found.append(observation)
    return tuple(found)


class _RowReader:
    """Validates one row; every error names the file, the row and the column."""

    def __init__(self, path: Path, line: int, row: dict[str, str], model: Any) -> None:
        self.path, self.line, self.row, self.model = path, line, row, model

    def error(self, column: str, message: str) -> InputFileError:
        ident = self.row.get("id", "").strip()
        label = f"row {self.line} ({ident!r})" if ident else f"row {self.line}"
        return InputFileError(f"{self.path}: {label}: {column}: {message}",
                              path=str(self.path), key=column)

    def number(self, column: str) -> float:
        text = self.row[column].strip()
        if not text:
            return math.nan
        try:
            value = float(text)
        except ValueError as err:
            raise self.error(column, f"{text!r} is not a number.") from err
        if not math.isfinite(value):
            raise self.error(column, f"must be a finite number, got {text!r}.")
        return value

    def observation(self) -> Observation:
        for column in _REQUIRED:
            if not self.row[column].strip():
                raise self.error(column, "missing; every observation needs "
                                 f"{list(_REQUIRED)}.")
        kind = self.row["kind"].strip()
        if kind not in KINDS:
            raise self.error("kind", f"{kind!r} is not a kind; valid kinds: {list(KINDS)}.")
        got = {c: self.number(c) for c in _NUMERIC}
        for column in KINDS[kind]:
            if math.isnan(got[column]):
                raise self.error(column, f"missing; a {kind} observation needs "
                                 f"{list(KINDS[kind])}.")
        self.check_periods(kind, got)
        scale = self.row["scale"].strip() or "linear"
        if scale not in ("linear", "log"):
            raise self.error("scale", f"{scale!r} is not a scale; valid scales: "
                             "['linear', 'log'].")
        if kind == "event" and scale == "log":
            raise self.error("scale", "an event's date is on the linear scale.")
        sd = self.uncertainty(got, scale)
        return Observation(
            self.row["id"].strip(), kind, self.variable(), got["value"], sd, scale,
            got["time"], got["end"], got["base_time"], got["base_end"], got["threshold"],
            got["low"], got["high"], self.row["unit"].strip(), self.row["source"].strip())

    def check_periods(self, kind: str, got: dict[str, float]) -> None:
        pairs = (("time", "end"), ("base_time", "base_end"))
        for start, end in pairs:
            if math.isfinite(got[end]) and not got[end] > got[start]:
                raise self.error(end, f"must be after {start} ({got[start]:g}), "
                                 f"got {got[end]:g}.")
        used = set(KINDS[kind]) | ({"end"} if kind == "flow" else set()) | \
            ({"end", "base_end"} if kind == "ratio" else set())
        for column in ("time", "end", "base_time", "base_end", "threshold"):
            if column not in used and math.isfinite(got[column]):
                raise self.error(column, f"a {kind} observation does not use {column}; "
                                 "leave it empty.")

    def uncertainty(self, got: dict[str, float], scale: str) -> float:
        value, sd, low, high = got["value"], got["sd"], got["low"], got["high"]
        band = math.isfinite(low) or math.isfinite(high)
        if math.isfinite(sd) == band:
            raise self.error("sd", "give either sd (a standard error) or low and high "
                             "(a 90% interval), not both and not neither.")
        if scale == "log" and min(v for v in (value, low, high) if math.isfinite(v)) <= 0:
            raise self.error("scale", "a log-scale observation needs value, low and high > 0.")
        if not band:
            if not sd > 0:
                raise self.error("sd", f"must be positive, got {sd:g}.")
            return sd
        if not (math.isfinite(low) and math.isfinite(high)):
            raise self.error("high" if math.isfinite(low) else "low",
                             "a band needs both low and high.")
        if not low <= value <= high or not low < high:
            raise self.error("low", f"the band [{low:g}, {high:g}] must contain value "
                             f"{value:g} and have low < high.")
        to = math.log if scale == "log" else float
        return (to(high) - to(low)) / (2 * Z90)

    def variable(self) -> str:
        name = self.row["variable"].strip()
        if self.model is None:
            return name
        try:
            return str(self.model.variable(name).name)
        except UnknownVariableError as err:
            hint = f" Did you mean {', '.join(map(repr, err.suggestions))}?" \
                if err.suggestions else ""
            raise self.error("variable", f"unknown variable {name!r} in model "
                             f"{self.model.path.name!r}.{hint}") from err

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
    On the log scale ``sd`` is in log units, a relative error (0.1: about 10%);
    more than :data:`MAX_LOG_SD` is refused as a standard error in the value's units.
``unit``, ``source``
    Text; every observation needs a source.

A flow is compared with its integral computed the way the model integrates:
the sum of the rate times the time step over the Euler steps inside the period
(so a flow over ``[a, b)`` equals the change of a stock that accumulates it).
A ratio divides like by like: two period integrals (``end`` and ``base_end``
both given) or two levels (neither).
Levels, flows and ratios are linear in the saved trajectory at every time step,
so each is a weight vector (:meth:`Observation.weights`); events interpolate the
first upward crossing linearly, like :func:`sdkit.analysis.stages.crossing_time`.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sdkit.errors import InputFileError, UnknownVariableError
from sdkit.sensitivity.study_spec import subscripted_variables
from sdkit.util.names import close_matches
from sdkit.util.schema import combine_problems

__all__ = ["KINDS", "Z90", "MAX_LOG_SD", "Observation", "load_observations",
           "read_observations_csv"]

#: Observation kinds and the columns each needs (besides id, kind, variable, value).
KINDS: dict[str, tuple[str, ...]] = {
    "level": ("time",),
    "flow": ("time", "end"),
    "event": ("threshold",),
    "ratio": ("time", "base_time"),
}
#: The standard normal's 95% quantile: a 90% interval is value +- Z90 sd.
Z90 = 1.6448536269514722
#: The largest standard error on the log scale: ``sd`` 2 is a factor of e^2 (7.4) either
#: way; a larger one is almost surely a standard error in the value's own units.
MAX_LOG_SD = 2.0
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

    def last_time(self, dt: float, initial: float = 0.0) -> float:
        """The last model time this observation depends on.

        A level's time, an event's observed date, and for a period ``[a, b)``
        the start of the last Euler step that overlaps it: the largest
        ``initial + j * dt`` before ``b`` (``b - dt`` when ``b`` is on the time
        grid). ``initial`` is the run's initial time, where the Euler steps
        start. An observation is held out of a calibration when this is after
        ``train_until``.
        """
        if self.kind == "level":
            return self.time
        if self.kind == "event":
            return self.value
        ends = [_last_step(self.time, self.end, dt, initial)]
        if self.kind == "ratio":
            ends.append(_last_step(self.base_time, self.base_end, dt, initial))
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


def _last_step(start: float, end: float, dt: float, initial: float) -> float:
    """The start of the last Euler step (``initial + j * dt``) overlapping ``[start, end)``;
    ``start`` for a level (no ``end``)."""
    if not math.isfinite(end):
        return start
    j = math.ceil((end - initial) / dt - 1e-9) - 1  # the last step starting before end
    return initial + max(j, 0) * dt


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
    """Read an observations CSV as text: one row per observation, every column of
    :data:`COLUMNS` (a missing optional one is empty).

    The index is each row's line in the file, as a spreadsheet numbers it (the
    header is line 1 when it is the first; blank lines count). Blank rows (empty or
    only commas) are skipped.

    Raises
    ------
    InputFileError
        A missing or unreadable file (not UTF-8, not CSV); a header with an empty,
        repeated, unknown (with close matches) or missing required column; a row
        with more fields than the header; no observation.
    """
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            records = list(_records(handle))
    except FileNotFoundError as err:
        raise InputFileError(f"Observations file {str(path)!r} does not exist.",
                             path=str(path)) from err
    except UnicodeDecodeError as err:
        raise InputFileError(f"Observations file {str(path)!r} is not UTF-8 text "
                             f"({err.reason} at byte {err.start}); save it as a UTF-8 CSV.",
                             path=str(path)) from err
    except (OSError, csv.Error) as err:
        raise InputFileError(f"Observations file {str(path)!r} cannot be read as CSV: "
                             f"{str(err).splitlines()[0] if str(err) else type(err).__name__}",
                             path=str(path)) from err
    if not records:
        raise InputFileError(f"{path}: the file is empty; the first row must name the "
                             f"columns, e.g. {','.join(_REQUIRED)}.", path=str(path))
    (header_line, header), rows = records[0], records[1:]
    _check_header(path, header_line, header)
    lines, values = [], []
    for line, fields in rows:
        if len(fields) > len(header):
            ident = fields[0].strip() if fields else ""
            label = f"row {line} ({ident!r})" if ident else f"row {line}"
            raise InputFileError(
                f"{path}: {label}: {len(fields)} fields, but the header has {len(header)} "
                "columns (a trailing comma, or a comma in a value that is not in quotes?).",
                path=str(path))
        lines.append(line)
        values.append(fields + [""] * (len(header) - len(fields)))
    if not values:
        raise InputFileError(f"{path}: the file has no observations.", path=str(path))
    table = pd.DataFrame(values, columns=header, index=pd.Index(lines, name="line"),
                         dtype=object)
    for column in COLUMNS:
        if column not in table.columns:
            table[column] = ""
    return table[list(COLUMNS)]


def _records(handle: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """``(line, fields)`` of each CSV record that is not blank; ``line`` is where it starts."""
    reader = csv.reader(handle, skipinitialspace=True)
    line = 1
    for fields in reader:
        start, line = line, reader.line_num + 1
        if any(field.strip() for field in fields):
            yield start, fields


def _check_header(path: Path, line: int, header: list[str]) -> None:
    where = f"{path}: row {line} (the header)"
    for i, name in enumerate(header):
        if not name.strip():
            raise InputFileError(f"{where}: column {i + 1} has no name (a trailing comma?); "
                                 f"valid columns: {list(COLUMNS)}.", path=str(path))
        if name in header[:i]:
            raise InputFileError(f"{where}: column {name!r} appears twice (columns "
                                 f"{header.index(name) + 1} and {i + 1}); give each once.",
                                 path=str(path), key=name)
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        hints = [f"{c!r}: did you mean {close_matches(c, COLUMNS, n=1)[0]!r}?"
                 for c in unknown if close_matches(c, COLUMNS, n=1)]
        if len(header) == 1 and ";" in header[0]:
            hints.append("the columns must be separated by commas, not semicolons")
        hint = f" ({'; '.join(hints)})" if hints else ""
        raise InputFileError(f"{path}: unknown columns {unknown}; valid columns: "
                             f"{list(COLUMNS)}.{hint}", path=str(path), key=unknown[0])
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        raise InputFileError(f"{path}: missing columns {missing}; valid columns: "
                             f"{list(COLUMNS)}.", path=str(path), key=missing[0])


def load_observations(path: str | Path, model: Any = None) -> tuple[Observation, ...]:
    """Read and validate an observations file.

    Parameters
    ----------
    path : path-like
        The CSV file (schema in the module docstring).
    model : sdkit.model.core.Model, optional
        When given, every ``variable`` must be one of its variables (an unknown
        name is an error that lists close matches), and names are made real.

    Returns
    -------
    tuple of Observation

    Raises
    ------
    InputFileError
        Naming the file, the row (its line in the file, as a spreadsheet numbers
        it) and the column of the first problem of each bad row (all in one error).
    """
    path = Path(path)
    table = read_observations_csv(path)
    arrays = {} if model is None else subscripted_variables(model)
    found: dict[str, Observation] = {}
    problems = []
    for line, row in zip(table.index, table.to_dict("records"), strict=True):
        try:
            observation = _RowReader(path, int(line), row, model, arrays).observation()
            if observation.id in found:
                raise InputFileError(f"{path}: row {line}: id {observation.id!r} is used "
                                     "twice.", path=str(path), key="id")
            found[observation.id] = observation
        except InputFileError as err:  # the other rows are checked too
            problems.append(err)
    if problems:
        raise combine_problems(problems)
    return tuple(found.values())


class _RowReader:
    """Validates one row; every error names the file, the row and the column."""

    def __init__(self, path: Path, line: int, row: dict[str, str], model: Any,
                 arrays: dict[str, tuple[str, ...]] | None = None) -> None:
        self.path, self.line, self.row, self.model = path, line, row, model
        self.arrays = arrays or {}

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
        for start, end in (("time", "end"), ("base_time", "base_end")):
            if math.isfinite(got[end]) and not got[end] > got[start]:
                raise self.error(end, f"must be after {start} ({got[start]:g}), "
                                 f"got {got[end]:g}.")
        used = set(KINDS[kind]) | ({"end"} if kind == "flow" else set()) | \
            ({"end", "base_end"} if kind == "ratio" else set())
        for column in ("time", "end", "base_time", "base_end", "threshold"):
            if column not in used and math.isfinite(got[column]):
                raise self.error(column, f"a {kind} observation does not use {column}; "
                                 "leave it empty.")
        if kind == "ratio" and math.isfinite(got["end"]) != math.isfinite(got["base_end"]):
            column = "base_end" if math.isfinite(got["end"]) else "end"
            raise self.error(column, "a ratio divides like by like: give both end and "
                             "base_end (two period integrals) or neither (two levels).")

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
            if scale == "log" and sd > MAX_LOG_SD:
                raise self.error("sd", f"{sd:g} is more than {MAX_LOG_SD:g}: on the log scale "
                                 "sd is in log units, a relative error (0.1 is about 10%), not "
                                 "in the value's units; give low and high for a wide band.")
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
            real = str(self.model.variable(name).name)
        except UnknownVariableError as err:
            hint = f" Did you mean {', '.join(map(repr, err.suggestions))}?" \
                if err.suggestions else ""
            raise self.error("variable", f"unknown variable {name!r} in model "
                             f"{self.model.path.name!r}.{hint}") from err
        if real in self.arrays:
            raise self.error("variable", f"{real!r} is subscripted (over "
                             f"{', '.join(self.arrays[real])}); a calibration compares "
                             "scalar variables only.")
        return real

"""Time-varying inputs given as data: step, ramp, pulse and table forms.

A scenario file describes a time-varying input with a few numbers (see
:data:`FORMS`); this module turns them into values on a time grid and into the
``pandas.Series`` that :meth:`sdkit.model.core.Model.run` passes to PySD. Nothing is
ever evaluated as code.

Forms (``t`` is model time):

``step``
    ``before`` while ``t < time``, ``after`` from ``time`` on (Vensim ``STEP``).
``ramp``
    ``from`` until ``start``, linear to ``to`` at ``end``, ``to`` afterwards.
``pulse``
    ``base``, plus ``height`` while ``start <= t < start + duration``
    (Vensim ``PULSE``).
``table``
    Linear interpolation of ``values`` over strictly increasing ``times``, held
    at the first and last value outside them.

This module does no I/O and does not import PySD.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sdkit.errors import ParameterValueError
from sdkit.util.limits import check_run_size

__all__ = ["FORMS", "TimeInput", "input_problem", "time_grid"]

#: The settings each form needs, in the order they are documented.
FORMS: dict[str, tuple[str, ...]] = {
    "step": ("before", "after", "time"),
    "ramp": ("start", "end", "from", "to"),
    "pulse": ("base", "height", "start", "duration"),
    "table": ("times", "values"),
}


def input_problem(form: str, settings: Mapping[str, Any]) -> tuple[str, str] | None:
    """The first structural problem of an input, or ``None`` if there is none.

    Types are assumed checked (numbers, and tuples of numbers for ``table``);
    this checks what the numbers must satisfy together.

    Parameters
    ----------
    form : str
        One of :data:`FORMS`.
    settings : mapping
        The form's settings.

    Returns
    -------
    tuple of (str, str) or None
        The offending setting and a sentence describing the problem.
    """
    if form not in FORMS:
        return "form", f"unknown input form {form!r}; valid forms: {list(FORMS)}"
    missing = [key for key in FORMS[form] if key not in settings]
    if missing:
        return missing[0], f"a {form} input needs {list(FORMS[form])}; {missing[0]!r} is missing"
    if form == "ramp" and not settings["end"] > settings["start"]:
        return "end", f"ramp end {settings['end']:g} must be after start {settings['start']:g}"
    if form == "pulse" and not settings["duration"] > 0:
        return "duration", f"pulse duration must be positive, got {settings['duration']:g}"
    if form == "table":
        times, values = settings["times"], settings["values"]
        if len(times) == 0:
            return "times", "a table needs at least one point"
        if len(times) != len(values):
            return "values", (f"a table needs as many values as times; got {len(times)} "
                              f"times and {len(values)} values")
        for i in range(1, len(times)):
            if not times[i] > times[i - 1]:
                return "times", (f"table times must be strictly increasing; "
                                 f"{times[i]:g} follows {times[i - 1]:g}")
    return None


@dataclass(frozen=True)
class TimeInput:
    """A time-varying input of one constant, given as data.

    Attributes
    ----------
    variable : str
        The constant it replaces (real name).
    form : str
        ``"step"``, ``"ramp"``, ``"pulse"`` or ``"table"``.
    settings : mapping of str to float or tuple of float
        The form's settings (see :data:`FORMS`); ``times`` and ``values`` of a
        table are tuples.

    Raises
    ------
    ParameterValueError
        On construction, if the settings do not fit the form.
    """

    variable: str
    form: str
    settings: Mapping[str, Any]

    def __post_init__(self) -> None:
        problem = input_problem(self.form, self.settings)
        if problem is not None:
            raise ParameterValueError(f"Input for {self.variable!r}: {problem[1]}.")

    def levels(self) -> list[tuple[str, float]]:
        """Every extreme value the input takes, with the setting it comes from.

        All other values lie between these, so checking them against a range
        checks the whole input.
        """
        s = self.settings
        if self.form == "step":
            return [("before", s["before"]), ("after", s["after"])]
        if self.form == "ramp":
            return [("from", s["from"]), ("to", s["to"])]
        if self.form == "pulse":
            return [("base", s["base"]), ("height", s["base"] + s["height"])]
        return [("values", float(v)) for v in s["values"]]

    def values_at(self, times: Any) -> np.ndarray:
        """Values of the input at ``times`` (array-like of float)."""
        t = np.asarray(times, dtype=float)
        s = self.settings
        if self.form == "step":
            return np.where(t < s["time"], float(s["before"]), float(s["after"]))
        if self.form == "ramp":
            return np.interp(t, [s["start"], s["end"]], [s["from"], s["to"]])
        if self.form == "pulse":
            on = (t >= s["start"]) & (t < s["start"] + s["duration"])
            return float(s["base"]) + float(s["height"]) * on
        return np.interp(t, np.asarray(s["times"], float), np.asarray(s["values"], float))

    def series(self, times: Any) -> pd.Series:
        """The input sampled at ``times``, as the Series PySD interpolates over time."""
        index = pd.Index(np.asarray(times, dtype=float), name="time")
        return pd.Series(self.values_at(index), index=index, name=self.variable, dtype=float)


def time_grid(initial_time: float, final_time: float, time_step: float) -> np.ndarray:
    """The integration grid of a run: ``initial_time`` to ``final_time`` by ``time_step``.

    The last point is ``final_time`` even when the span is not a whole number of
    steps.

    Raises
    ------
    ParameterValueError
        A step that is not positive, or an empty span.
    ResourceLimitError
        More points than the ``max_steps`` limit (see :mod:`sdkit.util.limits`),
        checked before the grid is allocated.

    Examples
    --------
    >>> time_grid(0.0, 1.0, 0.25).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    if not (math.isfinite(time_step) and time_step > 0 and final_time > initial_time):
        raise ParameterValueError(
            f"Cannot build a time grid from {initial_time:g} to {final_time:g} "
            f"by {time_step:g}; the step must be positive and the span non-empty."
        )
    # one series of steps + 1 points (saving once: no saved rows to count)
    check_run_size(initial_time, final_time, time_step, final_time - initial_time,
                   what="the integration grid of the time-varying inputs")
    steps = math.ceil((final_time - initial_time) / time_step - 1e-9)
    grid = initial_time + time_step * np.arange(steps + 1, dtype=float)
    grid[-1] = min(grid[-1], final_time)
    return grid

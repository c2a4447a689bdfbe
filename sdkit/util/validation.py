"""Validation of run inputs and results.

Parameters are checked before PySD sees them, so a mistake is reported in the
model's own terms (names, kinds, documented ranges) instead of as a PySD
traceback; results are checked after the run so that NaN or infinite values
never pass silently. The warnings of a run are told in the model's words
(:func:`run_warnings`): PySD's internal object names become the model's, repeats are
counted, and numpy's floating-point warnings, which :func:`check_finite_results` turns
into an error, are not shown at all.
"""

from __future__ import annotations

import math
import numbers
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sdkit.errors import ParameterValueError, SimulationError
from sdkit.util.limits import check_run_size

if TYPE_CHECKING:
    from sdkit.model.core import Model, Variable

__all__ = [
    "check_number",
    "check_params",
    "check_time_settings",
    "check_finite_results",
    "effective_times",
    "check_saved_rows",
    "format_range",
    "plain_warning",
    "run_warnings",
    "warning_counts",
    "ModelWarning",
    "SERIES_WARNING",
    "PYSD_OBJECTS",
]

#: PySD's warning each time a constant becomes a time series, which is what inputs are for.
SERIES_WARNING = "Replacing a constant value with a time-dependent value"
#: PySD's names of the objects behind Vensim's stateful functions and external data:
#: the kind in ``_<kind>_<variable>`` (``_delayn_outflow``) -> how a reader calls it.
PYSD_OBJECTS = {"delayn": "DELAY N", "delayfixed": "DELAY FIXED", "delay": "DELAY3/DELAY1",
                "smoothn": "SMOOTH N", "smooth": "SMOOTH", "trend": "TREND",
                "forecast": "FORECAST", "integ": "INTEG", "initial": "INITIAL",
                "sampleiftrue": "SAMPLE IF TRUE", "hardcodedlookup": "the lookup",
                "ext_lookup": "the lookup", "ext_data": "the data",
                "ext_constant": "the constant"}
#: PySD's names of those objects, e.g. ``_delayn_outflow`` (longer kinds first, so
#: ``delayn`` wins over ``delay``).
_PYSD_OBJECT = re.compile(
    r"\b_(" + "|".join(sorted(PYSD_OBJECTS, key=len, reverse=True)) + r")_([a-z0-9_]+)")
#: Categories passed on unchanged (they concern the libraries, not the model).
_PASSED_ON = (DeprecationWarning, PendingDeprecationWarning, FutureWarning, ImportWarning,
              ResourceWarning)
_TIMES = re.compile(r"(.*) \((\d+) times\)")
#: Where the passed-on warnings were seen ("default" filters show each once).
_PASSED_ON_SEEN: dict[Any, Any] = {}

_TIME_SETTINGS = "final_time=, time_step= or saveper="


def format_range(limits: tuple[float | None, float | None]) -> str:
    """Format documented limits as ``[min, max]`` with ``?`` for an open side."""
    low, high = ("?" if x is None else f"{x:g}" for x in limits)
    return f"[{low}, {high}]"


def check_number(
    value: Any, label: str, limits: tuple[float | None, float | None] = (None, None)
) -> float:
    """Return ``value`` as a float after checking it is a usable real number.

    Parameters
    ----------
    value : object
        Candidate value.
    label : str
        What the value is for, used in messages (e.g. ``"'Room Temperature'"``).
    limits : tuple of (float or None, float or None)
        Inclusive range; ``None`` for an open side.

    Returns
    -------
    float

    Raises
    ------
    ParameterValueError
        ``value`` is a bool, not a real number, NaN, infinite or out of range.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise ParameterValueError(
            f"Value {value!r} for {label} is not a number; expected a finite real number."
        )
    number = float(value)
    if not math.isfinite(number):
        raise ParameterValueError(
            f"Value {value!r} for {label} is not finite; expected a finite real number."
        )
    low, high = limits
    if (low is not None and number < low) or (high is not None and number > high):
        raise ParameterValueError(
            f"Value {number:g} for {label} is outside its documented range "
            f"{format_range(limits)}."
        )
    return number


def _check_series(series: pd.Series, var: Variable) -> pd.Series:
    label = f"{var.name!r}"
    times = [check_number(t, f"the time index of {label}") for t in series.index]
    if not times:
        raise ParameterValueError(f"The time series for {label} is empty.")
    if any(b <= a for a, b in zip(times, times[1:], strict=False)):
        raise ParameterValueError(f"The time index of the series for {label} must be increasing.")
    values = [check_number(v, f"{label} at time {t:g}", var.limits)
              for t, v in zip(times, series.tolist(), strict=True)]
    return pd.Series(values, index=pd.Index(times, dtype=float), name=series.name, dtype=float)


def check_params(model: Model, params: Mapping[str, Any]) -> dict[str, Any]:
    """Validate constant overrides and key them by PySD name.

    Parameters
    ----------
    model : Model
        The model the overrides are for.
    params : mapping
        Variable name (real or py) to a number or a ``pandas.Series`` indexed by time.

    Returns
    -------
    dict
        PySD name to float or float Series.

    Raises
    ------
    UnknownVariableError
        A name the model does not define.
    ParameterValueError
        A variable that is not a constant, or an unusable value.
    """
    if not isinstance(params, Mapping):
        raise ParameterValueError(
            f"params must be a mapping of variable names to values, not {type(params).__name__}."
        )
    checked: dict[str, Any] = {}
    for name, value in params.items():
        var = model.variable(name)
        if var.kind != "constant":
            hint = f" Use {_TIME_SETTINGS} instead." if var.kind == "control" else ""
            raise ParameterValueError(
                f"Cannot set {var.name!r}: it is a {var.kind}, and only constants can be "
                f"overridden.{hint}"
            )
        if isinstance(value, pd.Series):
            checked[var.py_name] = _check_series(value, var)
        else:
            checked[var.py_name] = check_number(value, repr(var.name), var.limits)
    return checked


def _is_multiple(value: float, step: float) -> bool:
    ratio = value / step
    return abs(ratio - round(ratio)) <= 1e-9 * max(1.0, ratio)


def effective_times(model: Model, given: Mapping[str, float]) -> tuple[float, float, float]:
    """Final time, time step and saving interval of a run: given, else the model's."""
    final = given.get("final_time", model.final_time)
    step = given.get("time_step", model.time_step)
    if "saveper" in given:
        return final, step, given["saveper"]
    return final, step, step if model.saveper_follows_time_step else model.saveper


def _check_given(model: Model, final: float, step: float, save: float) -> None:
    if step <= 0:
        raise ParameterValueError(f"time_step must be positive, got {step:g}.")
    if save <= 0:
        raise ParameterValueError(f"saveper must be positive, got {save:g}.")
    if final <= model.initial_time:
        raise ParameterValueError(
            f"final_time must be greater than the initial time {model.initial_time:g}, "
            f"got {final:g}."
        )
    if save < step or not _is_multiple(save, step):
        raise ParameterValueError(
            f"saveper must be a whole multiple of time_step ({step:g}) and at least "
            f"time_step, got {save:g}."
        )


def check_time_settings(
    model: Model, final_time: Any, time_step: Any, saveper: Any
) -> dict[str, float]:
    """Validate time settings given for one run, and the size of the run.

    The rules for given settings (below) apply only when at least one setting
    is given: a model's own settings are the modeller's choice. The size of the
    run is always checked, before anything is run, with
    :func:`sdkit.util.limits.check_run_size` (steps, saved rows, and saved rows x
    the model's variables), so a model whose own TIME STEP is 0 or negative, or
    whose FINAL TIME is before INITIAL TIME, is refused too.

    Returns
    -------
    dict
        The given settings only, as floats, ready for ``pysd`` ``run()``.

    Raises
    ------
    ParameterValueError
        Non-numeric or non-finite values, ``time_step`` or ``saveper`` not
        positive, ``final_time`` not after the initial time, or ``saveper`` not a
        whole multiple of ``time_step``.
    ResourceLimitError
        A run with more steps, saved rows or saved values than the limits of
        :mod:`sdkit.util.limits` (environment variables ``SDKIT_MAX_STEPS``,
        ``SDKIT_MAX_ROWS``, ``SDKIT_MAX_VALUES``).
    """
    given = {
        name: check_number(value, name)
        for name, value in (("final_time", final_time), ("time_step", time_step),
                            ("saveper", saveper))
        if value is not None
    }
    final, step, save = effective_times(model, given)
    if given:
        _check_given(model, final, step, save)
    check_run_size(model.initial_time, final, step, save, n_vars=len(model.variables),
                   what=f"model {model.path.name!r}")
    return given


def check_finite_results(result: pd.DataFrame) -> None:
    """Raise if simulation results contain NaN or infinite values.

    Raises
    ------
    SimulationError
        Naming the first time (then the first column at that time) that is
        NaN or infinite.
    """
    numeric = result.select_dtypes(include="number")
    values = numeric.to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    row = int(np.argmax(bad.any(axis=1)))
    col = int(np.argmax(bad[row]))
    value = values[row, col]
    what = "NaN" if math.isnan(value) else f"{value} (infinity)"
    raise SimulationError(
        f"The simulation produced {what} for {numeric.columns[col]!r} at time "
        f"{numeric.index[row]:g}; check the equations feeding this variable."
    )


def check_saved_rows(name: str, initial: float, final: float, saveper: float,
                     saved: int, last: float) -> None:
    """Refuse a run whose saved rows stop short of FINAL TIME.

    PySD (and the engine, which reproduces it) advances the clock as ``t + dt``
    and saves when ``t - initial`` is within ``dt * 1e-5`` of a multiple of
    SAVEPER. Over very many steps the rounding of ``t + dt`` accumulates past that
    tolerance and later saves are silently skipped (e.g. TIME STEP = SAVEPER = 0.01
    up to 10,000 stops saving at 6708.01). A short result is never returned.

    Parameters
    ----------
    name : str
        The model, for the message.
    initial, final, saveper : float
        The run's time settings.
    saved : int
        Rows actually saved; ``last`` the last saved time.

    Raises
    ------
    SimulationError
        Fewer rows than ``floor((final - initial) / saveper) + 1``.
    """
    expected = math.floor((final - initial) / saveper * (1 + 1e-12)) + 1
    if saved < expected:
        raise SimulationError(
            f"{name}: the run saved {saved:,} of {expected:,} rows (last at t = {last:.12g}, "
            f"FINAL TIME {final:.12g}): the clock t + TIME STEP accumulated rounding error and "
            "missed the save times; use a TIME STEP that is a power of two (e.g. 1/128) or a "
            "shorter run."
        )



class ModelWarning(UserWarning):
    """A warning of a model run in the model's words (``sdkit.util.validation.run_warnings``)."""


def plain_warning(text: str) -> str:
    """A warning in the model's words: PySD's ``_delayn_outflow`` becomes
    ``DELAY N in 'outflow':``, and the text is put on one line."""
    text = " ".join(text.split())
    return _PYSD_OBJECT.sub(lambda m: f"{PYSD_OBJECTS[m.group(1)]} in "
                            f"'{m.group(2).replace('_', ' ')}':", text)


def warning_counts(caught: Iterable[warnings.WarningMessage]) -> Counter[str]:
    """Each warning's text in the model's words (:func:`plain_warning`) and how often it
    came; a :class:`ModelWarning` brings its own count ("... (12 times)")."""
    counts: Counter[str] = Counter()
    for found in caught:
        message = str(found.message)
        times = _TIMES.fullmatch(message) if issubclass(found.category, ModelWarning) else None
        if times:
            counts[times.group(1)] += int(times.group(2))
        else:
            counts[plain_warning(message)] += 1
    return counts


@contextmanager
def run_warnings() -> Iterator[None]:
    """Within the block (a model run), warnings are told in the model's words.

    numpy's floating-point warnings (overflow, invalid value, division by zero) are not
    raised: an infinite or NaN result is reported by :func:`check_finite_results`.
    PySD's warning that a constant becomes a time series (:data:`SERIES_WARNING`, what a
    time-varying input does) is dropped, and so is any ``RuntimeWarning`` of numpy. The
    others are issued again after the block: deprecation and resource warnings unchanged
    (they concern the libraries), every other one once per text as a :class:`ModelWarning`
    with PySD's internal names in the model's words (:func:`plain_warning`) and, when it
    came several times, its count ("(12 times)"). Blocks nest: an inner block's counts add
    up in the outer one.
    """
    with warnings.catch_warnings(record=True) as caught, \
            np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        warnings.simplefilter("always")
        yield
    kept = []
    for found in caught:
        if issubclass(found.category, _PASSED_ON):
            warnings.warn_explicit(found.message, found.category, found.filename,
                                   found.lineno, registry=_PASSED_ON_SEEN)
        elif not (SERIES_WARNING in str(found.message) or (
                issubclass(found.category, RuntimeWarning) and "numpy" in found.filename)):
            kept.append(found)
    counts = warning_counts(kept)
    for text, count in counts.items():
        warnings.warn(ModelWarning(text + (f" ({count} times)" if count > 1 else "")),
                      stacklevel=3)

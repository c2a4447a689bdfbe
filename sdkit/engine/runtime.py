"""Array versions of PySD's run-time functions, with PySD's arithmetic.

Every function here takes numpy arrays of shape ``(N,)`` (or scalars) and
performs, element by element, the same floating-point operations in the same
order as the function of :mod:`pysd.py_backend.functions`,
:mod:`pysd.py_backend.lookups` or :mod:`pysd.py_backend.statefuls` it mirrors,
so the results are bitwise equal to PySD's for every element.
"""

from __future__ import annotations

import ast
import bisect
from typing import Any

import numpy as np

from sdkit.errors import UnsupportedConstructError

SMALL_VENSIM = 1e-6  # pysd.py_backend.functions.SMALL_VENSIM


def ite(condition: Any, if_true: Any, if_false: Any) -> Any:
    """IF THEN ELSE (both branches are evaluated; errors are silenced by the caller)."""
    if isinstance(condition, bool | np.bool_):
        return if_true if condition else if_false
    return np.where(condition, if_true, if_false)


def step(t: float, dt: float, value: Any, tstep: Any) -> Any:
    return value * (t + dt / 2 > tstep)


def ramp(t: float, slope: Any, start: Any, finish: Any = None) -> Any:
    final = t if finish is None else np.minimum(finish, t)
    return (t + SMALL_VENSIM > start) * slope * (final - start)


def pulse(t: float, dt: float, start: Any, repeat_time: Any = 0, width: Any = None,
          magnitude: Any = None, end: Any = None) -> Any:
    width = .5 * dt if width is None else width
    out = magnitude / dt if magnitude is not None else 1
    single = np.where((start - SMALL_VENSIM <= t) & (t < start + width), out, 0)
    if np.all(np.asarray(repeat_time) == 0):
        return single
    active = start <= t
    if end is not None:
        active = active & (t < end)
    with np.errstate(all="ignore"):
        train = np.where(np.remainder(t - start + SMALL_VENSIM, repeat_time) < width, out, 0)
    return np.where(np.asarray(repeat_time) == 0, single, np.where(active, train, 0))


def _divide(numerator: Any, denominator: Any) -> Any:
    """``numerator / denominator`` evaluated by numpy even for Python scalars (so a zero
    divisor gives inf/nan, discarded by the caller's ``where``, not ZeroDivisionError)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.true_divide(numerator, denominator)


def xidz(numerator: Any, denominator: Any, x: Any) -> Any:
    return np.where(np.abs(denominator) < SMALL_VENSIM, x, _divide(numerator, denominator))


def zidz(numerator: Any, denominator: Any) -> Any:
    return np.where(np.abs(denominator) < SMALL_VENSIM, 0, _divide(numerator, denominator))


def integer(x: Any) -> Any:
    return np.trunc(x)


def quantum(a: Any, b: Any) -> Any:
    return np.where(b < SMALL_VENSIM, a, b * np.trunc(_divide(a, b)))


def modulo(x: Any, m: Any) -> Any:
    return x - quantum(x, m)


def pysd_points(values: tuple[float, ...]) -> np.ndarray:
    """The points as PySD's generated code holds them (printed by ``np.array2string``)."""
    array = np.array(values, dtype=float)
    text = np.array2string(array, separator=",", threshold=len(values))
    try:
        return np.array(ast.literal_eval(text.replace("\n", "")), dtype=float)
    except (ValueError, SyntaxError):
        return array


class Lookup:
    """A hardcoded lookup with PySD's ``Lookups._call`` semantics, vectorised."""

    def __init__(self, name: str, x: tuple[float, ...], y: tuple[float, ...], interp: str):
        xs, ys = pysd_points(x), pysd_points(y)
        if len(xs) != len(set(xs.tolist())) or len(xs) != len(ys) or len(xs) < 2:
            raise UnsupportedConstructError(
                f"lookup {name!r} has repeated or too few x points", construct="lookup",
                variable=name)
        order = np.argsort(xs, kind="stable")
        self.x, self.y, self.interp = xs[order], ys[order], interp
        self._points = (self.x.tolist(), self.y.tolist())
        if interp not in ("interpolate", "extrapolate", "hold_backward"):
            raise UnsupportedConstructError(
                f"lookup {name!r} uses the {interp!r} interpolation", construct=f"lookup {interp}",
                variable=name)

    def __call__(self, value: Any) -> Any:
        xp, yp = self.x, self.y
        x = np.asarray(value, dtype=float)
        j = np.clip(np.searchsorted(xp, x, side="right") - 1, 0, len(xp) - 2)
        x0, x1, y0, y1 = xp[j], xp[j + 1], yp[j], yp[j + 1]
        if self.interp == "hold_backward":
            out = y0
        else:
            out = (y1 - y0) / (x1 - x0) * (x - x0) + y0
        out = np.where(x == x0, y0, np.where(x == x1, y1, out))
        if self.interp == "extrapolate":
            k_hi = (yp[-1] - yp[-2]) / (xp[-1] - xp[-2])
            k_lo = (yp[1] - yp[0]) / (xp[1] - xp[0])
            above = yp[-1] + k_hi * (x - xp[-1])
            below = yp[0] + k_lo * (x - xp[0])
        else:
            above, below = yp[-1], yp[0]
        out = np.where(x > xp[-1], above, np.where(x < xp[0], below, out))
        return out

    def at(self, value: Any) -> Any:
        """The value at one point as a Python float: :meth:`__call__` for one element.

        The same operations in the same order on Python floats (IEEE-754 doubles, as
        numpy's), with :func:`bisect.bisect_right` for ``searchsorted``; an array
        argument goes to :meth:`__call__`.
        """
        if isinstance(value, np.ndarray) or not isinstance(value, int | float | np.number):
            return self(value)
        x = float(value)
        xp, yp = self._points
        last = len(xp) - 1
        if x > xp[last]:
            if self.interp == "extrapolate":
                return yp[last] + (yp[last] - yp[last - 1]) / (xp[last] - xp[last - 1]) \
                    * (x - xp[last])
            return yp[last]
        if x < xp[0]:
            if self.interp == "extrapolate":
                return yp[0] + (yp[1] - yp[0]) / (xp[1] - xp[0]) * (x - xp[0])
            return yp[0]
        j = min(max(bisect.bisect_right(xp, x) - 1, 0), last - 1)
        x0, x1, y0, y1 = xp[j], xp[j + 1], yp[j], yp[j + 1]
        if x == x0:
            return y0
        if x == x1:
            return y1
        if self.interp == "hold_backward":
            return y0
        return (y1 - y0) / (x1 - x0) * (x - x0) + y0


def inline_lookup(x: Any, xp: np.ndarray, yp: np.ndarray) -> Any:
    """``np.interp`` as PySD calls it for WITH LOOKUP (clamped at the ends)."""
    return np.interp(x, xp, yp)


def uniform(value: Any, what: str, variable: str) -> Any:
    """A value that must be the same for every parameter set (e.g. a delay order)."""
    array = np.asarray(value)
    if array.ndim and array.size and not np.all(array == array.flat[0]):
        raise UnsupportedConstructError(
            f"{what} of {variable!r} differs between parameter sets; the ensemble "
            "engine needs one value for all", construct=what, variable=variable)
    return array.flat[0].item() if array.ndim else value


def delay_order(order: Any, tstep: float, delay_time: Any, variable: str) -> int:
    """PySD's Delay/DelayN order, reduced while order * time step > delay time."""
    order = int(uniform(order, "delay order", variable))
    found = set()
    for value in np.unique(np.asarray(delay_time, dtype=float)):
        reduced = order
        while reduced * tstep > value:
            reduced -= 1
        found.add(reduced)
    if len(found) > 1:
        raise UnsupportedConstructError(
            f"the delay order of {variable!r} is reduced for some parameter sets only "
            "(delay time close to the time step)", construct="DELAY order reduction",
            variable=variable)
    return found.pop() if found else order


def delay_fixed_order(delay_time: Any, tstep: float, variable: str) -> int:
    order = np.maximum(np.asarray(delay_time) / tstep, 1)
    rounded = np.vectorize(lambda o: round(float(o) + SMALL_VENSIM))(order)
    return int(uniform(rounded, "DELAY FIXED length", variable))


def full(value: Any, n: int) -> np.ndarray:
    """A fresh float array of shape (n,) holding ``value``."""
    out = np.empty(n, dtype=float)
    out[...] = value
    return out

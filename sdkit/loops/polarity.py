"""Link and loop polarity.

The polarity of a link ``x -> z`` is the sign of the partial derivative of z's
equation (a stock's net rate for a stock) by x, over the operating points of a
run:

* **symbolic** where the equation converts to sympy (:func:`~sdkit.loops.evaluate.to_sympy`):
  the derivative is taken symbolically and evaluated at every saved time;
* **numerical** otherwise (lookups, unsupported functions): x is moved by a
  small relative step at every saved time and the equation re-evaluated.

A link is ``"+"`` when the derivative is never negative and somewhere
positive, ``"-"`` in the mirror case, ``"0"`` when it is zero over the whole
run, and ``"±"`` when it changes sign.  A flow into a stock is ``+`` and a flow
out of it ``-`` (the derivative of ``inflow - outflow``).  A loop's polarity is
the product of its links' signs: reinforcing (``+``), balancing (``-``), or
undetermined when a link is ``0`` or ``±``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from sdkit.errors import UnsupportedConstructError
from sdkit.ir.core import Expr, ModelIR
from sdkit.loops.evaluate import SYMPY_MODULES, evaluate, to_sympy

__all__ = ["link_polarity", "loop_polarity", "sign_of", "POLARITY_NAMES"]

#: Loop polarity names by the sign of the product of link signs.
POLARITY_NAMES = {"+": "reinforcing", "-": "balancing"}
_REL_STEP = 1e-6


def sign_of(values: Any) -> str:
    """Classify derivative values: ``"+"``, ``"-"``, ``"±"`` or ``"0"`` (NaN ignored)."""
    array = np.atleast_1d(np.asarray(values, dtype=float))
    array = array[np.isfinite(array)]
    positive, negative = bool((array > 0).any()), bool((array < 0).any())
    if positive and negative:
        return "±"
    return "+" if positive else "-" if negative else "0"


def link_polarity(expr: Expr, source: str, env: Mapping[str, Any], ir: ModelIR,
                  cache: dict[int, Any] | None = None) -> tuple[str, str]:
    """Polarity of the link from py name ``source`` into the variable computed by ``expr``.

    Parameters
    ----------
    expr : Expr
        The target's equation (a stock's net rate for a stock).
    source : str
        py name of the input.
    env : mapping
        Values at the saved times by py name (see :func:`~sdkit.loops.evaluate.environment`).
    ir : ModelIR
    cache : dict, optional
        Sympy conversions by ``id(expr)``, shared between the links into one target.

    Returns
    -------
    (str, str)
        The polarity (``"+"``, ``"-"``, ``"±"``, ``"0"``) and the method used,
        ``"symbolic"`` or ``"numerical"``.
    """
    try:
        return _symbolic(expr, source, env, {} if cache is None else cache), "symbolic"
    except (UnsupportedConstructError, TypeError, ValueError, NameError, ZeroDivisionError):
        return _numerical(expr, source, env, ir), "numerical"


def _symbolic(expr: Expr, source: str, env: Mapping[str, Any], cache: dict[int, Any]) -> str:
    import sympy as sp

    if id(expr) not in cache:
        symbols: dict[str, Any] = {}
        try:
            cache[id(expr)] = (to_sympy(expr, symbols), symbols)
        except UnsupportedConstructError as err:
            cache[id(expr)] = err
    converted = cache[id(expr)]
    if isinstance(converted, Exception):
        raise converted
    function, symbols = converted
    if source not in symbols:
        return "0"
    derivative = sp.diff(function, symbols[source])
    if derivative == 0:
        return "0"
    if derivative.is_number:
        return sign_of(float(derivative))
    if derivative.has(sp.Derivative, sp.Subs):
        raise UnsupportedConstructError("derivative not closed-form", construct="derivative")
    names = sorted(str(s) for s in derivative.free_symbols)
    missing = [n for n in names if n not in env]
    if missing:
        raise UnsupportedConstructError(f"no values for {missing}", construct="reference")
    # The plain-Python printer is much faster than numpy's for Piecewise; the
    # derivative is then evaluated point by point at the saved times.
    compiled = sp.lambdify([symbols[n] for n in names], derivative, modules=SYMPY_MODULES)
    size = len(np.atleast_1d(env["time"]))
    columns = [np.broadcast_to(np.asarray(env[n], dtype=float), (size,)) for n in names]
    values = np.full(size, np.nan)
    for i in range(size):
        try:
            values[i] = float(compiled(*(float(c[i]) for c in columns)))
        except (ArithmeticError, ValueError, TypeError):
            continue
    return sign_of(values)


def _numerical(expr: Expr, source: str, env: Mapping[str, Any], ir: ModelIR) -> str:
    if source not in env:
        raise UnsupportedConstructError(
            f"Loop analysis has no values for {source!r}.", construct="reference")
    x = np.asarray(env[source], dtype=float)
    step = _REL_STEP * np.maximum(np.abs(x), 1e-3)
    moved = dict(env)
    moved[source] = x + step
    with np.errstate(all="ignore"):
        base = np.asarray(evaluate(expr, env, ir), dtype=float)
        change = np.asarray(evaluate(expr, moved, ir), dtype=float) - base
        tolerance = 1e-9 * np.maximum(np.abs(base), 1e-12)
        change = np.where(np.abs(change) <= tolerance, 0.0, change)
    return sign_of(change / step)


def loop_polarity(signs: Iterable[str]) -> str:
    """``"reinforcing"``, ``"balancing"`` or ``"undetermined"`` from the link signs."""
    product = 1
    for sign in signs:
        if sign not in ("+", "-"):
            return "undetermined"
        product *= 1 if sign == "+" else -1
    return POLARITY_NAMES["+" if product > 0 else "-"]

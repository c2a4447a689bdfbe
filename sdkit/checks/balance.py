"""Numerical checks on a run: mass balance of the stocks, and the time-step test.

Mass balance
    With Euler integration every saved step of a run at ``saveper = time_step``
    must satisfy ``S(t + dt) - S(t) = dt * (inflows(t) - outflows(t))``. The
    rate of each stock is recomputed from the saved flows (or, when the rate is
    an expression rather than a sum of flows, from the saved variables it
    references) and compared with the change of the stock. A mismatch means
    the stock is changed by something other than its flows (a non-negative
    stock being clipped, a flow that is not what it appears to be).

Time step
    The model is run again with half the time step; the largest relative change
    of any variable at the saved times is reported. A large change means the
    results depend on the integration step rather than on the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sdkit.ir.core import BinOp, Call, Expr, ModelIR, Num, Ref, UnaryOp

if TYPE_CHECKING:
    from sdkit.model.core import Model

__all__ = ["BalanceResult", "DtResult", "check_balance", "check_time_step", "fine_run"]

#: Largest tolerated mismatch of a stock's change, relative to its scale.
BALANCE_TOLERANCE = 1e-6
#: Largest tolerated relative change of any variable when the time step is halved.
DT_TOLERANCE = 0.05


@dataclass
class BalanceResult:
    """Outcome of :func:`check_balance`.

    Attributes
    ----------
    errors : dict of str to tuple of (float, float)
        Per checked stock: the largest relative mismatch and the time it occurs.
    failures, notes : list of str
        Stocks out of balance; stocks that could not be checked.
    """

    errors: dict[str, tuple[float, float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class DtResult:
    """Outcome of :func:`check_time_step`.

    Attributes
    ----------
    time_step : float
        The model's time step (the test ran at half of it as well).
    largest : float
        Largest relative change of any variable (0 when nothing changed).
    variable : str
        The variable with the largest change ("" when none).
    time : float
        When the largest change occurs.
    passed : bool
        ``largest <= tolerance``.
    """

    time_step: float
    largest: float
    variable: str
    time: float
    tolerance: float
    passed: bool


def fine_run(model: Model) -> pd.DataFrame:
    """Run the model at its own time step, saving every step."""
    return model.run(saveper=model.time_step)


class _Unsupported(Exception):
    """An expression the balance check cannot recompute from saved results."""


_FUNCTIONS = {"min": np.minimum, "max": np.maximum, "abs": np.abs, "exp": np.exp,
              "ln": np.log, "sqrt": np.sqrt}


def _evaluate(expr: Expr, ir: ModelIR, results: pd.DataFrame) -> np.ndarray:
    """Evaluate an expression on saved results (one value per saved time)."""
    if isinstance(expr, Num):
        return np.full(len(results), float(expr.value))
    if isinstance(expr, Ref):
        if expr.name == "time":
            return results.index.to_numpy(dtype=float)
        var = ir.variables.get(expr.name)
        if var is None or var.name not in results.columns:
            raise _Unsupported(expr.name)
        return results[var.name].to_numpy(dtype=float)
    if isinstance(expr, UnaryOp) and expr.op == "-":
        return -_evaluate(expr.operand, ir, results)
    if isinstance(expr, BinOp) and expr.op in ("+", "-", "*", "/", "^"):
        a, b = _evaluate(expr.left, ir, results), _evaluate(expr.right, ir, results)
        with np.errstate(all="ignore"):
            return {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide,
                    "^": np.power}[expr.op](a, b)
    if isinstance(expr, Call) and expr.fn in _FUNCTIONS:
        args = [_evaluate(a, ir, results) for a in expr.args]
        with np.errstate(all="ignore"):
            if expr.fn in ("min", "max"):
                out = args[0]
                for arg in args[1:]:
                    out = _FUNCTIONS[expr.fn](out, arg)
                return out
            return _FUNCTIONS[expr.fn](args[0])
    raise _Unsupported(type(expr).__name__)


def check_balance(model: Model, ir: ModelIR, results: pd.DataFrame, *,
                  tolerance: float = BALANCE_TOLERANCE) -> BalanceResult:
    """Compare each stock's change over every saved step with its flows.

    Parameters
    ----------
    model : Model
        The loaded model (for its time step).
    ir : ModelIR
        The model's IR (stocks and their rate expressions).
    results : pandas.DataFrame
        A run saved at every time step (see :func:`fine_run`).
    tolerance : float
        Largest tolerated mismatch relative to the stock's scale.

    Returns
    -------
    BalanceResult
    """
    out = BalanceResult()
    times = results.index.to_numpy(dtype=float)
    steps = np.diff(times)
    for stock in ir.stocks.values():
        if stock.name not in results.columns:
            out.notes.append(f"{stock.name!r}: not in the results (subscripted?); not checked.")
            continue
        try:
            rate = _evaluate(stock.rate, ir, results)
        except _Unsupported as err:
            out.notes.append(f"{stock.name!r}: its rate uses {err} which the check cannot "
                             "recompute from saved results; not checked.")
            continue
        level = results[stock.name].to_numpy(dtype=float)
        change, expected = np.diff(level), steps * rate[:-1]
        mismatch = np.abs(change - expected)
        scale = max(np.max(np.abs(level)), np.max(np.abs(expected)), 1e-12)
        worst = int(np.argmax(mismatch)) if len(mismatch) else 0
        error = float(mismatch[worst] / scale) if len(mismatch) else 0.0
        out.errors[stock.name] = (error, float(times[worst]))
        if not error <= tolerance:
            flows = (" - ".join([" + ".join(ir.variables[f].name for f in stock.inflows) or "0",
                                 *(ir.variables[f].name for f in stock.outflows)]))
            out.failures.append(
                f"{stock.name!r} changes by {change[worst]:.6g} over the step from "
                f"t={times[worst]:g}, but its flows ({flows}) give {expected[worst]:.6g} "
                f"(relative mismatch {error:.3g} > {tolerance:g}).")
    return out


def check_time_step(model: Model, results: pd.DataFrame, *,
                    tolerance: float = DT_TOLERANCE) -> DtResult:
    """Run again with half the time step and report the largest relative change.

    Parameters
    ----------
    model : Model
        The loaded model.
    results : pandas.DataFrame
        A run at the model's time step saved at least at every ``saveper``
        (:func:`fine_run` output is fine).
    tolerance : float
        Largest tolerated relative change.

    Returns
    -------
    DtResult
        The change of a variable is ``max |x_half - x| / max |x|`` over the saved
        times (its scale is its largest magnitude, so values crossing zero do
        not inflate it).
    """
    saveper = model.time_step if model.saveper_follows_time_step else model.saveper
    half = model.run(time_step=model.time_step / 2, saveper=saveper)
    base = results.reindex(half.index, method="nearest", tolerance=1e-9 * saveper)
    largest, variable, when = 0.0, "", float(half.index[0])
    for column in half.columns:
        if column not in base.columns or not pd.api.types.is_numeric_dtype(half[column]):
            continue
        a = base[column].to_numpy(dtype=float)
        b = half[column].to_numpy(dtype=float)
        scale = np.nanmax(np.abs(np.concatenate([a, b])))
        if not np.isfinite(scale) or scale <= 1e-12:
            continue
        diff = np.abs(b - a) / scale
        worst = int(np.nanargmax(diff))
        if diff[worst] > largest:
            largest, variable, when = float(diff[worst]), column, float(half.index[worst])
    return DtResult(model.time_step, largest, variable, when, tolerance, largest <= tolerance)

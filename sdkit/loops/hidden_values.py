"""The values of the stocks and outputs that :mod:`sdkit.loops.hidden` writes out.

:func:`reconstruct` integrates each stateful function's stocks over a run from
the run's saved values (its input, time and initial value), with PySD's
operations in PySD's order (Euler: ``state + ddt * dt``), so that on a run saved
every TIME STEP they are PySD's own states to rounding; it then checks that the
function's variable is reproduced (the owner's equation evaluated with them
equals the run's values, or a stock's change its rate) and records a problem
for each function where it is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from sdkit.errors import UnsupportedConstructError
from sdkit.ir.core import BinOp, Expr, ModelIR, Num, Ref, UnaryOp, references
from sdkit.loops.evaluate import evaluate
from sdkit.loops.hidden import AVERAGE, DELAY, SMOOTH, TIME, LoopIR, Structure

__all__ = ["reconstruct", "RTOL"]

_SMALL_VENSIM = 1e-6
#: Relative tolerance of the check that the reconstruction reproduces the owner's values.
RTOL = 1e-7


def _series(expr: Expr, env: Mapping[str, Any], ir: ModelIR, size: int) -> np.ndarray:
    with np.errstate(all="ignore"):
        value = evaluate(expr, env, ir)
    return np.broadcast_to(np.asarray(value, dtype=float), (size,)).copy()


def _integer(expr: Expr | None, ir: ModelIR) -> bool:
    """Whether PySD computes ``expr`` as a Python int (integer literals and constants)."""
    if isinstance(expr, Num):
        return isinstance(expr.value, int)
    if isinstance(expr, Ref):
        var = ir.variables.get(expr.name)
        return var is not None and var.kind == "constant" and _integer(var.equation, ir)
    if isinstance(expr, UnaryOp) and expr.op == "-":
        return _integer(expr.operand, ir)
    return isinstance(expr, BinOp) and expr.op in "+-*" and _integer(expr.left, ir) \
        and _integer(expr.right, ir)


def _run_chain(s: Structure, source: np.ndarray, time: np.ndarray, first: float,
               steps: np.ndarray, integer: bool = False) -> np.ndarray:
    """PySD's Euler integration of a SMOOTH's or DELAY's stocks (one row per time).

    ``integer``: the initial value is a Python int, so PySD's first SMOOTH state is
    an integer array and the input written into it at the first step is truncated.
    """
    n, size = s.order, len(source)
    states = np.empty((size, n))
    state = np.array([first * (1.0 if s.kind in SMOOTH else time[0])] * n)
    times = np.array([time[0]] * n)
    for k in range(size):
        states[k] = state
        if k == size - 1:
            break
        if s.kind in SMOOTH:
            targets = np.roll(state, 1)
            targets[0] = np.trunc(source[k]) if integer and k == 0 else source[k]
            ddt = (targets - state) * n / time[k]
        else:
            if s.kind == "delay_n":
                times = np.roll(times, 1)
                times[0] = time[k]
            outflows = state / (times if s.kind == "delay_n" else time[k])
            inflows = np.roll(outflows, 1)
            inflows[0] = source[k]
            ddt = (inflows - outflows) * n
        state = state + ddt * steps[k]
    return states


def _pysd_order(s: Structure, time: np.ndarray, step: float) -> int:
    """The order PySD runs a delay with: lowered while order * TIME STEP > delay time."""
    order = s.order
    while s.kind in DELAY and order > 0 and order * step > time[0]:
        order -= 1
    return order


def _chain_values(s: Structure, env: Mapping[str, Any], ir: ModelIR, steps: np.ndarray,
                  step: float) -> tuple[dict[str, np.ndarray], str]:
    size, args = len(steps) + 1, s.args
    source = _series(args["input"], env, ir, size)
    time = _series(args[TIME[s.kind]], env, ir, size)
    first = float(_series(args["initial"], env, ir, size)[0])
    order = int(_series(args["order"], env, ir, size)[0]) if "order" in args else s.order
    if order != s.order or _pysd_order(s, time, step) != s.order:
        return {}, (f"its order in this run ({min(order, _pysd_order(s, time, step))}; PySD "
                    "lowers a delay's order while order x TIME STEP exceeds the delay time) is "
                    f"not the model's ({s.order}), so its stocks are not the ones written out")
    states = _run_chain(s, source, time, first, steps, _integer(args["initial"], ir))
    values = {stock: states[:, i] for i, stock in enumerate(s.stocks)}
    values.update({flow: states[:, i] / time for i, flow in enumerate(s.flows)})
    problem = ""
    if s.kind == "delay_n":
        previous = np.concatenate([time[:1], time[:-1]])
        values[s.py_name] = states[:, -1] / previous
        if np.ptp(time) > 1e-12 * max(float(np.max(np.abs(time))), 1e-300):
            problem = ("its delay time changes during the run, and PySD's DELAY N then gives "
                       "each stage the delay time of when its material entered, which has no "
                       "stock-and-flow form; use DELAY3 or explicit stocks")
    return values, problem


def _average_values(s: Structure, env: Mapping[str, Any], ir: ModelIR,
                    steps: np.ndarray) -> dict[str, np.ndarray]:
    size, args = len(steps) + 1, s.args
    source = _series(args["input"], env, ir, size)
    time = _series(args["average_time"], env, ir, size)
    trend = float(_series(args["initial_trend"], env, ir, size)[0])
    if s.kind == "trend":
        state = source[0] / (1 + trend * time[0])
    else:
        state = source[0] / (1 + trend)
    average = np.empty(size)
    for k in range(size):
        average[k] = state
        if k < size - 1:
            state = state + (source[k] - state) / time[k] * steps[k]
    values = {s.stocks[0]: average}
    local = {**env, s.stocks[0]: average}
    values[s.py_name] = _series(ir.variables[s.py_name].equation or Num(0), local, ir, size)
    return values


def _held_values(s: Structure, env: Mapping[str, Any], ir: ModelIR, steps: np.ndarray,
                 step: float) -> np.ndarray:
    """INITIAL, DELAY FIXED and SAMPLE IF TRUE, as PySD updates them."""
    size, hidden = len(steps) + 1, s.args
    first = float(_series(hidden["initial"], env, ir, size)[0])
    if s.kind == "initial":
        return np.full(size, first)
    source = _series(hidden["input"], env, ir, size)
    out = np.full(size, first)
    if s.kind == "delay_fixed":
        time = float(_series(hidden["delay_time"], env, ir, size)[0])
        lag = round(max(time / step, 1) + _SMALL_VENSIM)
        out[lag:] = source[:size - lag] if lag < size else out[lag:]
        return out
    condition = _series(hidden["condition"], env, ir, size).astype(bool)
    held = first
    for k in range(size):
        held = out[k] = source[k] if condition[k] else held
    return out


def _order_of(ir: LoopIR) -> list[Structure]:
    """The functions, each after those whose outputs its arguments use."""
    done: list[Structure] = []
    pending = list(ir.structures.values())
    uses = {s.py_name: set().union(*(references(a) for a in s.args.values()))
            for s in pending}
    while pending:
        ready = [s for s in pending if not any(
            other.py_name in uses[s.py_name] for other in pending if other is not s)]
        ready = ready or pending[:1]
        done += ready
        pending = [s for s in pending if all(s is not r for r in ready)]
    return done


def reconstruct(ir: LoopIR, env: Mapping[str, Any], time_step: float | None
                ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The values of every function's stocks and output over a run.

    Parameters
    ----------
    ir : LoopIR
    env : mapping
        The run's values by py name (:func:`~sdkit.loops.evaluate.environment`).
    time_step : float or None
        The run's TIME STEP (default: the spacing of the saved times).

    Returns
    -------
    (dict of str to numpy.ndarray, dict of str to str)
        Values by py name, and, by function py name, why loop scores cannot
        pass through it in this run (a function whose values could not be
        computed has none and a reason).
    """
    times = np.asarray(env["time"], dtype=float)
    spacing = np.diff(times)
    step = float(time_step) if time_step is not None else \
        float(np.median(spacing)) if len(spacing) else 1.0
    steps = spacing if len(spacing) and not np.allclose(spacing, step, rtol=1e-9, atol=0) \
        else np.full(len(spacing), step)
    values: dict[str, np.ndarray] = {}
    problems: dict[str, str] = {}
    for s in _order_of(ir):
        local = {**env, **values}
        try:
            if s.kind in SMOOTH + DELAY and s.stocks:
                found, problem = _chain_values(s, local, ir, steps, step)
                values.update(found)
                if problem:
                    problems[s.py_name] = problem
            elif s.kind in AVERAGE:
                values.update(_average_values(s, local, ir, steps))
            elif s.kind in ("delay_fixed", "sample_if_true", "initial"):
                values[s.py_name] = _held_values(s, local, ir, steps, step)
        except (UnsupportedConstructError, KeyError, IndexError) as err:
            problems[s.py_name] = f"its values could not be computed from the run ({err})"
    _check(ir, {**env, **values}, problems, steps)
    return values, problems


def _check(ir: LoopIR, env: Mapping[str, Any], problems: dict[str, str],
           steps: np.ndarray) -> None:
    """Record a problem for the functions whose owner the values do not reproduce."""
    owners: dict[str, list[Structure]] = {}
    for s in ir.structures.values():
        if s.py_name in env and s.py_name not in problems:
            owners.setdefault(s.owner, []).append(s)
    for owner, members in owners.items():
        expected = env.get(owner)
        equation = ir.equation_of(owner) if owner in ir.variables else None
        if expected is None or equation is None or len(steps) == 0:
            continue
        try:
            value = _series(equation, env, ir, len(steps) + 1)
        except UnsupportedConstructError:
            continue
        given = np.asarray(expected, dtype=float)
        if owner in ir.stocks:  # the stock's next value from its rate, as PySD adds it
            given, value = given[1:], given[:-1] + value[:-1] * steps
        scale = max(float(np.nanmax(np.abs(given), initial=0.0)),
                    float(np.nanmax(np.abs(value), initial=0.0)), 1e-300)
        if not np.allclose(value, given, rtol=RTOL, atol=RTOL * scale, equal_nan=True):
            name = ir.variables[owner].name
            for s in members:
                problems[s.py_name] = (f"its stocks, integrated from the run, do not reproduce "
                                       f"{name!r} (is the run saved every TIME STEP?)")

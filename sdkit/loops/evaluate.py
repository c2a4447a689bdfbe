"""Evaluate IR expressions on a run's saved values, with numpy or sympy.

Loop analysis re-evaluates equations with one input moved (link scores) and
differentiates them (link polarity).  Both need the equations as something
other than PySD's generated code:

* :func:`evaluate` computes an IR expression element-wise over arrays, one
  element per saved time, from an environment mapping py names to arrays (or
  scalars).  It knows the constructs the empowerment model uses: arithmetic,
  comparisons and logic, ``MIN``, ``MAX``, ``ABS``, ``EXP``, ``LN``, ``SQRT``,
  ``SIN``, ``COS``, ``TAN``, ``ARCSIN``, ``ARCCOS``, ``ARCTAN``,
  ``IF THEN ELSE``, ``STEP`` (PySD's rule: on when ``time + dt/2 > start``),
  ``XIDZ`` / ``ZIDZ`` and lookups (linear interpolation holding the end values,
  or linear extrapolation for XMILE's ``extrapolate``).  Anything else raises
  :class:`~sdkit.errors.UnsupportedConstructError`.
* :func:`to_sympy` converts the same expressions to sympy, for symbolic partial
  derivatives; lookups and unknown constructs raise ``UnsupportedConstructError``
  so that the caller falls back to a numerical derivative.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from sdkit.errors import UnsupportedConstructError
from sdkit.ir.core import (
    BinOp,
    Call,
    Expr,
    InlineLookup,
    LookupCall,
    LookupTable,
    ModelIR,
    Num,
    Opaque,
    Ref,
    UnaryOp,
)
from sdkit.loops.hidden import LoopIR

__all__ = ["Environment", "evaluate", "lookup", "to_sympy", "environment", "SYMPY_MODULES"]

#: py name -> values at the saved times (array) or a scalar.
Environment = Mapping[str, Any]

_SMALL_VENSIM = 1e-6

_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "^": np.power,
    "=": np.equal, "<>": np.not_equal, "<": np.less, "<=": np.less_equal,
    ">": np.greater, ">=": np.greater_equal, "and": np.logical_and, "or": np.logical_or,
}
_UNARY_FN: dict[str, Callable[[Any], Any]] = {
    "abs": np.abs, "exp": np.exp, "ln": np.log, "sqrt": np.sqrt, "sin": np.sin, "cos": np.cos,
    "tan": np.tan, "arcsin": np.arcsin, "arccos": np.arccos, "arctan": np.arctan,
}


def lookup(table: LookupTable, x: Any) -> Any:
    """A graphical function at ``x``: linear interpolation, end values held outside.

    XMILE's ``extrapolate`` tables extrapolate linearly from the end segments;
    ``hold_backward`` and ``look_forward`` tables are refused.
    """
    xs, ys = np.asarray(table.x, dtype=float), np.asarray(table.y, dtype=float)
    order = np.argsort(xs, kind="stable")
    xs, ys = xs[order], ys[order]
    values = np.asarray(x, dtype=float)
    if table.interpolation == "interpolate":
        return np.interp(values, xs, ys)
    if table.interpolation == "extrapolate":
        out = np.interp(values, xs, ys)
        high = ys[-1] + (ys[-1] - ys[-2]) / (xs[-1] - xs[-2]) * (values - xs[-1])
        low = ys[0] + (ys[1] - ys[0]) / (xs[1] - xs[0]) * (values - xs[0])
        return np.where(values > xs[-1], high, np.where(values < xs[0], low, out))
    raise UnsupportedConstructError(
        f"Loop analysis cannot evaluate a lookup with {table.interpolation!r} interpolation.",
        construct=f"lookup {table.interpolation}")


def evaluate(expr: Expr, env: Environment, ir: ModelIR) -> Any:
    """Evaluate ``expr`` element-wise.

    Parameters
    ----------
    expr : Expr
        An IR expression.
    env : mapping of str to array or float
        Values by py name, including ``time`` and ``time_step``.
    ir : ModelIR
        The model, for its lookup tables.

    Returns
    -------
    numpy.ndarray or float

    Raises
    ------
    UnsupportedConstructError
        For a function or construct outside the supported set (see the module docstring).
    """
    if isinstance(expr, Num):
        return float(expr.value)
    if isinstance(expr, Ref):
        try:
            return env[expr.name]
        except KeyError:
            raise UnsupportedConstructError(
                f"Loop analysis has no values for {expr.name!r} (a hidden stock or a "
                "variable missing from the results).", construct="reference") from None
    if isinstance(expr, BinOp):
        left, right = evaluate(expr.left, env, ir), evaluate(expr.right, env, ir)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return _ARITHMETIC[expr.op](left, right)
    if isinstance(expr, UnaryOp):
        operand = evaluate(expr.operand, env, ir)
        return np.negative(operand) if expr.op == "-" else np.logical_not(operand)
    if isinstance(expr, LookupCall):
        table = ir.variables[expr.table].lookup
        if table is None:
            raise UnsupportedConstructError(
                f"{expr.table!r} is called like a lookup but has no table.", construct="lookup")
        return lookup(table, evaluate(expr.arg, env, ir))
    if isinstance(expr, InlineLookup):
        return lookup(expr.table, evaluate(expr.arg, env, ir))
    if isinstance(expr, Call):
        return _call(expr, env, ir)
    construct = expr.construct if isinstance(expr, Opaque) else type(expr).__name__
    raise UnsupportedConstructError(
        f"Loop analysis cannot evaluate the construct {construct!r}.", construct=construct)


def _call(expr: Call, env: Environment, ir: ModelIR) -> Any:
    args = [evaluate(a, env, ir) for a in expr.args]
    fn = expr.fn
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if fn in _UNARY_FN and len(args) == 1:
            return _UNARY_FN[fn](args[0])
        if fn in ("min", "max") and len(args) == 2:
            return (np.minimum if fn == "min" else np.maximum)(args[0], args[1])
        if fn == "if_then_else" and len(args) == 3:
            return np.where(np.asarray(args[0], dtype=bool), args[1], args[2])
        if fn == "step" and len(args) == 2:
            time, dt = env["time"], env.get("time_step", 0.0)
            return args[0] * (np.asarray(time) + dt / 2 > args[1])
        if fn == "zidz" and len(args) == 2:
            return np.where(np.abs(args[1]) < _SMALL_VENSIM, 0.0, args[0] / args[1])
        if fn == "xidz" and len(args) == 3:
            return np.where(np.abs(args[1]) < _SMALL_VENSIM, args[2], args[0] / args[1])
    raise UnsupportedConstructError(
        f"Loop analysis cannot evaluate the function {fn.upper()!r} with {len(args)} "
        "arguments.", construct=fn.upper())


def environment(ir: ModelIR, results: Any, time_step: float | None = None,
                problems: dict[str, str] | None = None) -> dict[str, Any]:
    """Values by py name from a run's DataFrame (columns by real name, index time).

    Control variables come from their IR equations when they are numbers;
    ``time_step`` overrides the model's TIME STEP (e.g. a run with another step).
    For an IR whose stateful functions are written out
    (:class:`~sdkit.loops.hidden.LoopIR`), the values of their stocks and outputs
    are computed from the run (:func:`~sdkit.loops.hidden_values.reconstruct`), and
    ``problems``, when given, receives by function py name why loop scores
    cannot pass through it in this run.
    """
    env: dict[str, Any] = {"time": np.asarray(results.index, dtype=float)}
    for py_name, var in ir.variables.items():
        if var.name in results.columns:
            env[py_name] = results[var.name].to_numpy(dtype=float)
        elif var.kind == "control" and isinstance(var.equation, Num):
            env[py_name] = float(var.equation.value)
    if time_step is not None:
        env["time_step"] = float(time_step)
    if isinstance(ir, LoopIR) and ir.structures:
        from sdkit.loops.hidden_values import reconstruct

        step = time_step if time_step is not None else env.get("time_step")
        values, found = reconstruct(ir, env, step)
        env.update(values)
        if problems is not None:
            problems.update(found)
    return env


# --------------------------------------------------------------------------- sympy
def to_sympy(expr: Expr, symbols: dict[str, Any]) -> Any:
    """Convert ``expr`` to a sympy expression; symbols are created on demand.

    Parameters
    ----------
    expr : Expr
        An IR expression.
    symbols : dict of str to sympy.Symbol
        py name -> symbol; filled in as references are met (``time`` included).

    Raises
    ------
    UnsupportedConstructError
        For lookups and functions without a sympy counterpart here.
    """
    import sympy as sp

    def conv(node: Expr) -> Any:
        if isinstance(node, Num):
            return sp.Float(node.value) if isinstance(node.value, float) else \
                sp.Integer(node.value)
        if isinstance(node, Ref):
            if node.name not in symbols:
                symbols[node.name] = sp.Symbol(node.name)
            return symbols[node.name]
        if isinstance(node, UnaryOp) and node.op == "-":
            return -conv(node.operand)
        if isinstance(node, BinOp) and node.op in "+-*/^":
            a, b = conv(node.left), conv(node.right)
            return {"+": a + b, "-": a - b, "*": a * b, "/": a / b, "^": a ** b}[node.op]
        if isinstance(node, BinOp) and node.op in ("<", "<=", ">", ">="):
            a, b = conv(node.left), conv(node.right)
            return {"<": sp.Lt, "<=": sp.Le, ">": sp.Gt, ">=": sp.Ge}[node.op](a, b)
        if isinstance(node, Call):
            args = [conv(a) for a in node.args]
            simple = {"abs": sp.Abs, "exp": sp.exp, "ln": sp.log, "sqrt": sp.sqrt,
                      "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "arcsin": sp.asin,
                      "arccos": sp.acos, "arctan": sp.atan}
            if node.fn in simple and len(args) == 1:
                return simple[node.fn](args[0])
            if node.fn in ("min", "max") and len(args) == 2:
                return _sympy_functions()[node.fn](*args)
            if node.fn == "if_then_else" and len(args) == 3:
                return sp.Piecewise((args[1], args[0]), (args[2], True))
            if node.fn == "step" and len(args) == 2:
                # The step's timing does not matter for a derivative by a model variable.
                return sp.Piecewise((args[0], symbols_time() >= args[1]), (0, True))
        construct = getattr(node, "fn", None) or type(node).__name__
        raise UnsupportedConstructError(
            f"No symbolic form for {construct!r}.", construct=str(construct))

    def symbols_time() -> Any:
        if "time" not in symbols:
            symbols["time"] = sp.Symbol("time")
        return symbols["time"]

    return conv(expr)


_FUNCTIONS: dict[str, Any] = {}


def _sympy_functions() -> dict[str, Any]:
    """Unevaluated MIN and MAX with a cheap derivative (sympy's Min/Max differentiate
    through Heaviside and its assumption system, which is slow on large equations)."""
    if _FUNCTIONS:
        return _FUNCTIONS
    import sympy as sp

    class sd_above(sp.Function):  # noqa: N801 - printed name in lambdified code
        """1 where the argument is positive, 1/2 at zero, 0 where negative."""

        nargs = 1

    class sd_min(sp.Function):  # noqa: N801
        nargs = 2

        def fdiff(self, argindex: int = 1) -> Any:
            a, b = self.args
            return sd_above(b - a) if argindex == 1 else sd_above(a - b)

    class sd_max(sp.Function):  # noqa: N801
        nargs = 2

        def fdiff(self, argindex: int = 1) -> Any:
            a, b = self.args
            return sd_above(a - b) if argindex == 1 else sd_above(b - a)

    _FUNCTIONS.update({"min": sd_min, "max": sd_max, "above": sd_above})
    return _FUNCTIONS


def _above(x: float) -> float:
    return 1.0 if x > 0 else 0.5 if x == 0 else 0.0


#: ``modules`` for :func:`sympy.lambdify` of expressions made by :func:`to_sympy`.
SYMPY_MODULES = [{"sd_min": min, "sd_max": max, "sd_above": _above}, "math"]

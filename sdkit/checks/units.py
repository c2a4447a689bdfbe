"""Units consistency of every equation, from the units declared in the model.

Units are parsed and combined with :mod:`sdkit.checks.algebra` (synonyms such
as ``Year``/``years`` and ``people``/``person`` folded, ``Dmnl``/``1``
dimensionless, ``Mt`` = 10^6 ``tonne``); the expressions are the IR's trees
(:mod:`sdkit.ir`), so nothing re-parses model text. Only dimensions are
compared: a scale difference (``tonnes/Year / 1e6`` declared ``Mt/Year``) is a
conversion, not an inconsistency.

Rules: ``+ - MIN MAX IF THEN ELSE`` and comparisons need equal units on their
operands; ``* /`` combine; ``^`` needs a dimensionless exponent, and a numeric
one when the base has units; ``EXP LN LOG`` need dimensionless arguments,
``SQRT`` halves powers; time arguments (``STEP``, ``PULSE``, ``RAMP``, delay
and smoothing times) need the model's time unit (the units of ``TIME STEP``).
Numeric literals take whatever units make their expression consistent, and so
does a literal combined only with dimensionless quantities (``1.5 / (1 + share)``).
A stock's rate must have the stock's units per time unit, and its initial value
the stock's units. Variables without declared units, lookups' inputs, and
constructs the IR keeps only by name are not checked (they are listed as notes).
Each inconsistency is reported once, at the innermost expression where it
appears, naming the variable and both sides' units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from sdkit.checks.algebra import DMNL, Unit, parse_units
from sdkit.ir import (
    BinOp,
    Call,
    Expr,
    InlineLookup,
    LookupCall,
    ModelIR,
    Num,
    Opaque,
    Ref,
    UnaryOp,
)

__all__ = ["UnitsResult", "check_units", "LITERAL"]


#: A numeric literal: takes whatever units its context needs.
LITERAL = "literal"
Units = Unit | str | None  # Unit, LITERAL, or None (unknown: not checked)


@dataclass
class UnitsResult:
    """Outcome of :func:`check_units`.

    Attributes
    ----------
    failures : list of str
        One sentence per inconsistency, naming the variable and both sides' units.
    notes : list of str
        What was not checked (no declared units, unparsable units, opaque constructs).
    checked : int
        Number of equations checked.
    """

    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checked: int = 0


_SAME_UNITS = {"min", "max", "abs", "integer", "quantum", "modulo", "active_initial"}
_DIMENSIONLESS_FNS = {"exp", "ln", "log", "sin", "cos", "tan", "arcsin", "arccos", "arctan"}
_TIME_ARGS = {"step": (1,), "pulse": (0, 1), "ramp": (1, 2), "pulse_train": (0, 1, 2, 3)}
_HIDDEN_TIME = ("smooth_time", "delay_time", "average_time", "horizon")


class _Checker:
    def __init__(self, ir: ModelIR, result: UnitsResult) -> None:
        self.ir = ir
        self.result = result
        self.names = {k: v.name for k, v in ir.variables.items()}
        self.declared: dict[str, Unit | None] = {}
        for py_name, var in ir.variables.items():
            try:
                self.declared[py_name] = parse_units(var.units)
            except ValueError:
                self.declared[py_name] = None
                result.notes.append(f"{var.name!r}: units {var.units!r} cannot be parsed; "
                                    "not checked.")
        self.time = self.declared.get("time_step") or self.declared.get("initial_time")
        self.hidden: dict[str, Units] = {}
        self.owner = ""

    # ----------------------------------------------------------------- reporting
    def text(self, expr: Expr) -> str:
        return _format(expr, self.names)

    def show(self, units: Units) -> str:
        return str(units) if isinstance(units, Unit) else "unknown"

    def fail(self, message: str) -> None:
        self.result.failures.append(f"{self.names.get(self.owner, self.owner)!r}: {message}")

    def expect(self, units: Units, wanted: Unit | None, what: str, expr: Expr) -> None:
        if isinstance(units, Unit) and wanted is not None and not units.same(wanted):
            self.fail(f"{what} `{self.text(expr)}` has units {units} but must have {wanted}.")

    # ----------------------------------------------------------------- inference
    def infer(self, expr: Expr) -> Units:
        if isinstance(expr, Num):
            return LITERAL
        if isinstance(expr, Ref):
            return self.ref(expr.name)
        if isinstance(expr, UnaryOp):
            operand = self.infer(expr.operand)
            return operand if expr.op == "-" else DMNL
        if isinstance(expr, BinOp):
            return self.binop(expr)
        if isinstance(expr, Call):
            return self.call(expr)
        if isinstance(expr, LookupCall):
            self.infer(expr.arg)
            return self.declared.get(expr.table)
        if isinstance(expr, InlineLookup):
            self.infer(expr.arg)
            return None
        if isinstance(expr, Opaque):
            for arg in expr.args:
                self.infer(arg)
            self.result.notes.append(f"{self.names.get(self.owner, self.owner)!r}: "
                                     f"{expr.construct} {expr.detail!r} is not checked.")
            return None
        return None

    def ref(self, name: str) -> Units:
        if name == "time":
            return self.time
        if name in self.ir.hidden:
            if name not in self.hidden:
                self.hidden[name] = None
                self.hidden[name] = self.stateful(name)
            return self.hidden[name]
        return self.declared.get(name)

    def stateful(self, name: str) -> Units:
        hidden = self.ir.hidden[name]
        args = {key: (expr, self.infer(expr)) for key, expr in hidden.args.items()}
        for key in _HIDDEN_TIME:
            if key in args:
                self.expect(args[key][1], self.time, f"the {key.replace('_', ' ')}", args[key][0])
        if hidden.kind == "initial":
            return args["initial"][1]
        if hidden.kind == "trend":
            return DMNL if self.time is None else DMNL / self.time
        value = args["input"][1]
        if "initial" in args:
            self.same("the input and initial value", [args["input"], args["initial"]])
        return value

    def same(self, what: str, items: list[tuple[Expr, Units]]) -> Units:
        """Check that every operand with units has the same units; return them."""
        concrete = [(e, u) for e, u in items if isinstance(u, Unit)]
        for expr, units in concrete[1:]:
            first_expr, first = concrete[0]
            if not units.same(first):
                self.fail(f"{what} need equal units: `{self.text(first_expr)}` has {first}, "
                          f"`{self.text(expr)}` has {units}.")
                return None  # reported once, not again by the enclosing expression
        if concrete:
            return concrete[0][1]
        return None if any(u is None for _, u in items) else LITERAL

    def binop(self, expr: BinOp) -> Units:
        left, right = self.infer(expr.left), self.infer(expr.right)
        op = expr.op
        if op in ("+", "-"):
            return self.same(f"the operands of {op}", [(expr.left, left), (expr.right, right)])
        if op in ("=", "<>", "<", "<=", ">", ">="):
            self.same(f"the operands of {op}", [(expr.left, left), (expr.right, right)])
            return DMNL
        if op in ("and", "or"):
            return DMNL
        if op in ("*", "/"):
            if left is None or right is None:
                return None
            if LITERAL in (left, right) and _free(left) and _free(right):
                return LITERAL
            a: Unit = DMNL if left == LITERAL else left  # type: ignore[assignment]
            b: Unit = DMNL if right == LITERAL else right  # type: ignore[assignment]
            return a * b if op == "*" else a / b
        if op == "^":
            return self.power(expr.left, left, expr.right, right)
        return None

    def power(self, base_expr: Expr, base: Units, exp_expr: Expr, exponent: Units) -> Units:
        if isinstance(exponent, Unit) and exponent.dims:
            self.fail(f"the exponent `{self.text(exp_expr)}` must be dimensionless, "
                      f"it has units {exponent}.")
        if not isinstance(base, Unit):
            return base if exponent == LITERAL else (None if base is None else DMNL)
        if not base.dims:
            return base
        value = _number(exp_expr)
        if value is None:
            self.fail(f"`{self.text(base_expr)}` has units {base}, so its exponent "
                      f"`{self.text(exp_expr)}` must be a number.")
            return None
        return base ** Fraction(value).limit_denominator(1000)

    def call(self, expr: Call) -> Units:
        fn, args = expr.fn, expr.args
        units = [self.infer(a) for a in args]
        pairs = list(zip(args, units, strict=True))
        for i in _TIME_ARGS.get(fn, ()):
            if i < len(pairs):
                self.expect(units[i], self.time, f"the time argument of {fn.upper()}", args[i])
        if fn in _SAME_UNITS:
            return self.same(f"the arguments of {fn.upper()}", pairs)
        if fn == "if_then_else" and len(pairs) == 3:
            return self.same("the branches of IF THEN ELSE", pairs[1:])
        if fn in _DIMENSIONLESS_FNS:
            for arg, unit in pairs[:1]:
                self.expect(unit, DMNL, f"the argument of {fn.upper()}", arg)
            return DMNL
        if fn == "sqrt" and pairs:
            return self.power(args[0], units[0], Num(0.5), LITERAL)
        if fn == "power" and len(pairs) == 2:
            return self.power(args[0], units[0], args[1], units[1])
        if fn == "step" and pairs:
            return units[0]
        if fn in ("pulse", "pulse_train"):
            return DMNL
        if fn == "ramp" and pairs:
            slope = units[0]
            if slope is None or self.time is None:
                return None
            return slope * self.time if isinstance(slope, Unit) else LITERAL
        if fn in ("xidz", "zidz") and len(pairs) >= 2:
            ratio = self.binop(BinOp("/", args[0], args[1]))
            if fn == "xidz" and len(pairs) == 3:
                return self.same("the ratio and fallback of XIDZ", [(expr, ratio), pairs[2]])
            return ratio
        return None

    # ----------------------------------------------------------------- equations
    def check(self) -> None:
        for py_name, var in self.ir.variables.items():
            self.owner = py_name
            declared = self.declared[py_name]
            if py_name in self.ir.stocks:
                stock = self.ir.stocks[py_name]
                self.result.checked += 1
                if declared is None or self.time is None:
                    self.unchecked(var.name, var.units)
                    self.infer(stock.rate)
                    self.infer(stock.initial)
                    continue
                wanted = declared / self.time
                rate = self.infer(stock.rate)
                if isinstance(rate, Unit) and not rate.same(wanted):
                    self.fail(f"its rate `{self.text(stock.rate)}` has units {rate} but a stock "
                              f"in {declared} needs a rate in {wanted}.")
                self.expect(self.infer(stock.initial), declared, "the initial value",
                            stock.initial)
            elif var.equation is not None and var.kind not in ("lookup", "data"):
                self.result.checked += 1
                units = self.infer(var.equation)
                if declared is None:
                    self.unchecked(var.name, var.units)
                elif isinstance(units, Unit) and not units.same(declared):
                    self.fail(f"the equation `{self.text(var.equation)}` has units {units} "
                              f"but the variable is declared in {declared} ({var.units!r}).")

    def unchecked(self, name: str, units: str) -> None:
        if not units:
            self.result.notes.append(f"{name!r} has no declared units; not checked.")


def _free(units: Units) -> bool:
    """A literal, or a combination of literals and dimensionless quantities.

    ``1.5 / (1 + share)`` takes whatever units its context needs, like ``1.5``.
    """
    return units == LITERAL or (isinstance(units, Unit) and not units.dims)


def _number(expr: Expr) -> float | None:
    """The value of a numeric-literal expression, or None."""
    if isinstance(expr, Num):
        return float(expr.value)
    if isinstance(expr, UnaryOp) and expr.op == "-":
        value = _number(expr.operand)
        return None if value is None else -value
    if isinstance(expr, BinOp) and expr.op in "+-*/":
        a, b = _number(expr.left), _number(expr.right)
        if a is None or b is None or (expr.op == "/" and b == 0):
            return None
        return {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else 0.0}[expr.op]
    return None


_PRECEDENCE = {"^": 4, "*": 3, "/": 3, "+": 2, "-": 2, "and": 0, "or": 0}


def _format(expr: Any, names: dict[str, str], limit: int = 90) -> str:
    """Short readable text of an expression, with the model's real names."""
    def go(node: Any, outer: int = -1, right: bool = False) -> str:
        if isinstance(node, Num):
            return f"{node.value:g}"
        if isinstance(node, Ref):
            return names.get(node.name, node.name)
        if isinstance(node, UnaryOp):
            return f"{'-' if node.op == '-' else 'NOT '}{go(node.operand, 5)}"
        if isinstance(node, BinOp):
            prec = _PRECEDENCE.get(node.op, 1)
            text = f"{go(node.left, prec)} {node.op} {go(node.right, prec, True)}"
            return f"({text})" if prec < outer or (right and prec == outer) else text
        if isinstance(node, Call):
            return f"{node.fn.upper()}({', '.join(go(a) for a in node.args)})"
        if isinstance(node, LookupCall):
            return f"{names.get(node.table, node.table)}({go(node.arg)})"
        return type(node).__name__.upper()

    text = go(expr)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_units(ir: ModelIR) -> UnitsResult:
    """Check the units of every equation of a model.

    Parameters
    ----------
    ir : ModelIR
        From :func:`sdkit.ir.build_ir`.

    Returns
    -------
    UnitsResult
        ``failures`` is empty when every checked equation is consistent.
    """
    result = UnitsResult()
    _Checker(ir, result).check()
    result.notes = list(dict.fromkeys(result.notes))
    return result

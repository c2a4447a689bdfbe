"""Units of IR expressions, for the units check (:mod:`sdkit.checks.units`).

:class:`UnitsInference` infers the units of an expression tree from the units
declared in the model and reports, once and at the innermost place, where an
operand, argument or time has other units than required; the module
docstring of :mod:`sdkit.checks.units` states the rules. The helpers below
read expressions: readable text, the value of a number-only expression, and
the number factors that may carry a scale conversion.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from sdkit.checks.algebra import DMNL, Unit, UnitTable, parse_units
from sdkit.ir.core import (
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

__all__ = ["LITERAL", "Units", "UnitsInference", "format_expr", "number_value",
           "literal_factors", "bridges"]

#: A bare number (or an expression of numbers only): takes the units its place fixes.
LITERAL = "literal"
Units = Unit | str | None  # Unit, LITERAL, or None (unknown: not checked)


_SAME_UNITS = {"min", "max", "abs", "integer", "quantum", "modulo", "active_initial"}
_DIMENSIONLESS_FNS = {"exp", "ln", "log", "sin", "cos", "tan", "arcsin", "arccos", "arctan"}
_TIME_ARGS = {"step": (1,), "pulse": (0, 1), "ramp": (1, 2), "pulse_train": (0, 1, 2, 3)}
_HIDDEN_TIME = ("smooth_time", "delay_time", "average_time", "horizon")


class UnitsInference:
    """Infer and check the units of a model's expressions.

    Parameters
    ----------
    ir : ModelIR
        The model.
    table : UnitTable
        Unit synonyms and scales.
    strict : bool
        Strict rules (see :mod:`sdkit.checks.units`).
    failures, notes : list of str
        Where failures and notes are appended.
    """

    def __init__(self, ir: ModelIR, table: UnitTable, *, strict: bool, failures: list[str],
                 notes: list[str]) -> None:
        self.ir = ir
        self.strict = strict
        self.failures, self.notes = failures, notes
        self.names = {k: v.name for k, v in ir.variables.items()}
        self.declared: dict[str, Unit | None] = {}
        for py_name, var in ir.variables.items():
            try:
                self.declared[py_name] = parse_units(var.units, table)
            except ValueError:
                self.declared[py_name] = None
                notes.append(f"{var.name!r}: units {var.units!r} cannot be parsed; "
                             "not checked.")
        self.time = self.declared.get("time_step") or self.declared.get("initial_time")
        self.hidden: dict[str, Units] = {}
        self.owner = ""

    # ----------------------------------------------------------------- reporting
    def text(self, expr: Expr) -> str:
        """Readable text of ``expr`` with the model's names."""
        return format_expr(expr, self.names)

    def fail(self, message: str) -> None:
        """Report a failure of the variable being checked (``self.owner``)."""
        self.failures.append(f"{self.names.get(self.owner, self.owner)!r}: {message}")

    def mismatch(self, expr: Expr, units: Units, wanted: Units) -> str | None:
        """Why ``expr`` (in ``units``) cannot stand where ``wanted`` is needed; None if it can.

        The reason is appended to the failure sentence: empty for other
        dimensions (plus a hint when a dimensionless number factor is the
        likely cause), the conversion factor for another scale.
        """
        if not isinstance(units, Unit) or not isinstance(wanted, Unit):
            return None
        if not units.same(wanted):
            if self.strict and not units.dims and literal_factors(expr):
                return (" (a number in * or / is dimensionless: name it as a constant "
                        "with units)")
            return ""
        if not self.strict or units.equal(wanted) or bridges(expr, wanted.scale / units.scale):
            return None
        return (f" (the same dimensions at another scale: multiply by "
                f"{units.factor(wanted):g} to convert)")

    def expect(self, units: Units, wanted: Unit | None, what: str, expr: Expr) -> None:
        """Report ``what`` (``expr``, in ``units``) unless it may stand where ``wanted`` is."""
        reason = self.mismatch(expr, units, wanted)
        if reason is not None:
            self.fail(f"{what} `{self.text(expr)}` has units {units} but must have "
                      f"{wanted}{reason}.")

    # ----------------------------------------------------------------- inference
    def infer(self, expr: Expr) -> Units:
        """Units of ``expr`` (a Unit, LITERAL, or None when unknown), reporting failures inside."""
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
            self.notes.append(f"{self.names.get(self.owner, self.owner)!r}: "
                                     f"{expr.construct} {expr.detail!r} is not checked.")
        return None

    def ref(self, name: str) -> Units:
        """Units of a variable, of ``time``, or of a hidden stock (inferred once)."""
        if name == "time":
            return self.time
        if name in self.ir.hidden:
            if name not in self.hidden:
                self.hidden[name] = None
                self.hidden[name] = self.stateful(name)
            return self.hidden[name]
        return self.declared.get(name)

    def stateful(self, name: str) -> Units:
        """Units of a SMOOTH, DELAY, TREND... object, checking its time and initial value."""
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
        """Check that every operand with units has the same units; return them.

        Numbers among the operands take those units. In strict mode a number
        factor of one operand may bridge the scales of the two.
        """
        concrete = [(e, u) for e, u in items if isinstance(u, Unit)]
        if not concrete:
            return None if any(u is None for _, u in items) else LITERAL
        first_expr, first = concrete[0]
        result = first
        for expr, units in concrete[1:]:
            reason = self.mismatch(expr, units, first)
            if reason is None:
                continue
            if reason and self.mismatch(first_expr, first, units) is None:
                result = units  # the first operand's number factor is the conversion
                continue
            self.fail(f"{what} need equal units: `{self.text(first_expr)}` has {first}, "
                      f"`{self.text(expr)}` has {units}{reason}.")
            return None  # reported once, not again by the enclosing expression
        return result

    def binop(self, expr: BinOp) -> Units:
        """Units of a binary operation."""
        left, right = self.infer(expr.left), self.infer(expr.right)
        op = expr.op
        if op in ("+", "-"):
            return self.same(f"the operands of {op}", [(expr.left, left), (expr.right, right)])
        if op in ("=", "<>", "<", "<=", ">", ">="):
            self.same(f"the operands of {op}", [(expr.left, left), (expr.right, right)])
            return DMNL
        if op in ("*", "/"):
            return self.product(op, left, right)
        if op == "^":
            return self.power(expr.left, left, expr.right, right)
        return DMNL if op in ("and", "or") else None

    def product(self, op: str, left: Units, right: Units) -> Units:
        """Units of ``left * right`` or ``left / right``; a number is dimensionless here."""
        if left is None or right is None:
            return None
        if left == LITERAL and right == LITERAL:
            return LITERAL
        if not self.strict and LITERAL in (left, right) and _free(left) and _free(right):
            return LITERAL
        # The only str a Units value holds is LITERAL.
        a = DMNL if isinstance(left, str) else left
        b = DMNL if isinstance(right, str) else right
        return a * b if op == "*" else a / b

    def power(self, base_expr: Expr, base: Units, exp_expr: Expr, exponent: Units) -> Units:
        """Units of ``base ^ exponent``: a dimensioned base needs a number as exponent."""
        if isinstance(exponent, Unit) and exponent.dims:
            self.fail(f"the exponent `{self.text(exp_expr)}` must be dimensionless, "
                      f"it has units {exponent}.")
        if not isinstance(base, Unit):
            return base if exponent == LITERAL else (None if base is None else DMNL)
        if not base.dims and (base.scale == 1.0 or not self.strict):
            return base
        value = number_value(exp_expr)
        if value is not None:
            return base ** Fraction(value).limit_denominator(1000)
        if base.dims:
            self.fail(f"`{self.text(base_expr)}` has units {base}, so its exponent "
                      f"`{self.text(exp_expr)}` must be a number.")
        return None  # a scaled dimensionless base (percent) to a variable power: unknown

    def call(self, expr: Call) -> Units:
        """Units of a built-in function call, checking its arguments."""
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
        return self.call_result(expr, units)

    def call_result(self, expr: Call, units: list[Units]) -> Units:
        """Units of the functions whose result is not simply one of their arguments'."""
        fn, args = expr.fn, expr.args
        if fn == "sqrt" and args:
            return self.power(args[0], units[0], Num(0.5), LITERAL)
        if fn == "power" and len(args) == 2:
            return self.power(args[0], units[0], args[1], units[1])
        if fn == "step" and args:
            return units[0]
        if fn in ("pulse", "pulse_train"):
            return DMNL
        if fn == "ramp" and args:
            slope = units[0]
            if slope is None or self.time is None:
                return None
            return slope * self.time if isinstance(slope, Unit) else LITERAL
        if fn in ("xidz", "zidz") and len(args) >= 2:
            ratio = self.binop(BinOp("/", args[0], args[1]))
            if fn == "xidz" and len(args) == 3:
                return self.same("the ratio and fallback of XIDZ",
                                 [(expr, ratio), (args[2], units[2])])
            return ratio
        return None


def _free(units: Units) -> bool:
    """Lenient mode: a number, or a combination of numbers and dimensionless quantities.

    ``1.5 / (1 + share)`` takes whatever units its context needs, like ``1.5``.
    """
    return units == LITERAL or (isinstance(units, Unit) and not units.dims)


_PRECEDENCE = {"^": 4, "*": 3, "/": 3, "+": 2, "-": 2, "and": 0, "or": 0}


def format_expr(expr: Any, names: dict[str, str], limit: int = 90) -> str:
    """Short readable text of an expression, with the model's real names.

    Parameters
    ----------
    expr : Expr
        An IR expression.
    names : dict of str to str
        Python name to real name.
    limit : int, optional
        Longer text is cut with ``...``.

    Returns
    -------
    str
    """
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


def number_value(expr: Expr) -> float | None:
    """The value of an expression made of numbers only (``-0.5``, ``1 / 3``), or None."""
    if isinstance(expr, Num):
        return float(expr.value)
    if isinstance(expr, UnaryOp) and expr.op == "-":
        value = number_value(expr.operand)
        return None if value is None else -value
    if isinstance(expr, BinOp) and expr.op in ("+", "-", "*", "/"):
        a, b = number_value(expr.left), number_value(expr.right)
        if a is None or b is None or (expr.op == "/" and b == 0):
            return None
        return {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else 0.0}[expr.op]
    return None


def literal_factors(expr: Expr) -> list[float]:
    """How the scale of ``expr`` changes if one of its number factors is a unit conversion.

    A number ``k`` multiplying the rest of a product is dimensionless; read as
    a conversion factor between two scales of one unit it has the pure scale
    ``1/k`` (``1e6`` tonnes per Mt is the scale 10^-6). So each number found
    along the products and quotients at the top of ``expr`` (not inside a
    sum or a function) gives one factor: ``1/k`` for a multiplying number,
    ``k`` for a dividing one. ``y * 1e6`` gives ``[1e-6]``, ``x / 1e6``
    gives ``[1e6]``.
    """
    if isinstance(expr, Num):
        return [1.0 / float(expr.value)] if expr.value else []
    if isinstance(expr, UnaryOp) and expr.op == "-":
        return literal_factors(expr.operand)
    if isinstance(expr, BinOp) and expr.op == "*":
        return literal_factors(expr.left) + literal_factors(expr.right)
    if isinstance(expr, BinOp) and expr.op == "/":
        return literal_factors(expr.left) + [1.0 / f for f in literal_factors(expr.right)]
    return []


def bridges(expr: Expr, factor: float) -> bool:
    """Whether one number factor of ``expr``, read as a conversion, scales it by ``factor``.

    ``factor`` is the wanted scale over the computed one: ``y * 1e6`` with ``y``
    in Mt wanted in tonnes computes 10^6 tonne (the number taken as
    dimensionless) and wants 1 tonne, so ``factor`` is 10^-6, which the number
    ``1e6`` read as tonnes per Mt gives.
    """
    return any(math.isclose(f, factor, rel_tol=1e-9) for f in literal_factors(expr))

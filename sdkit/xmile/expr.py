"""Render sdkit IR expressions as XMILE 1.0 equation text.

One job: turn an expression tree of :mod:`sdkit.ir.core` into the text of an XMILE
``<eqn>``, with Vensim's built-ins mapped to XMILE's names (see
:data:`BUILTINS` and ``docs/formats.md``).  Anything without an exact XMILE 1.0
form raises :class:`~sdkit.errors.UnsupportedConstructError` naming the
construct and the variable; nothing is ever written approximately.

The text is parenthesised so that PySD's XMILE reader rebuilds the same tree:
the operations happen in the same order as in PySD's translation of the
original model (``a - b + c`` stays ``(a - b) + c``).

Calls of graphical functions are written in XMILE 1.0's embedded form, which
Stella writes and PySD and pysimlin read (pysimlin refuses a ``<gf>`` called by name):
:class:`LookupPlan` gives every distinct call its auxiliary (``<eqn>`` the
input, ``<gf>`` the table) and the equation refers to that auxiliary.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import cast

from sdkit.errors import UnsupportedConstructError
from sdkit.ir.core import (
    BinOp,
    Call,
    Expr,
    HiddenStock,
    InlineLookup,
    LookupCall,
    LookupTable,
    ModelIR,
    Num,
    Opaque,
    Ref,
    UnaryOp,
    walk,
)

__all__ = ["BUILTINS", "EXPANDED", "GF_TYPES", "HIDDEN", "SMALL_VENSIM", "EmbeddedLookup",
           "EquationWriter", "LookupPlan", "quote_name", "format_number"]

#: PySD's lookup interpolation -> XMILE 1.0 graphical function type.
GF_TYPES = {"interpolate": "continuous", "extrapolate": "extrapolate",
            "hold_backward": "discrete"}

#: PySD's call name -> XMILE 1.0 builtin, for calls whose arguments keep their order.
BUILTINS = {
    "abs": "ABS", "min": "MIN", "max": "MAX", "sqrt": "SQRT", "exp": "EXP", "ln": "LN",
    "sin": "SIN", "cos": "COS", "tan": "TAN", "arcsin": "ARCSIN", "arccos": "ARCCOS",
    "arctan": "ARCTAN", "integer": "INT", "xidz": "SAFEDIV", "zidz": "SAFEDIV",
    "step": "STEP", "ramp": "RAMP",
}
#: Vensim functions written as an equivalent XMILE expression (documented forms).
EXPANDED = {
    "if_then_else": "IF c THEN a ELSE b",
    "power": "a ^ b",
    "log": "LN(x) / LN(base)",
    "modulo": "a MOD b",
    "quantum": "IF q < 1e-06 THEN x ELSE q * INT(x / q)",
    "pulse": "IF TIME >= start - 1e-06 AND TIME < start + width THEN 1 ELSE 0",
    "pulse_train": "IF repeat = 0 THEN <PULSE> ELSE IF TIME >= start AND TIME < end "
                   "AND (TIME - start + 1e-06) MOD repeat < width THEN 1 ELSE 0",
    "pi": "3.141592653589793",
}
#: Hidden-stock kind (and order) -> (XMILE builtin, argument names in XMILE's order).
HIDDEN: dict[tuple[str, float | None], tuple[str, tuple[str, ...]]] = {
    ("smooth", 1): ("SMTH1", ("input", "smooth_time", "initial")),
    ("smooth", 3): ("SMTH3", ("input", "smooth_time", "initial")),
    ("smooth_n", None): ("SMTHN", ("input", "smooth_time", "order", "initial")),
    ("delay", 1): ("DELAY1", ("input", "delay_time", "initial")),
    ("delay", 3): ("DELAY3", ("input", "delay_time", "initial")),
    ("delay_n", None): ("DELAYN", ("input", "delay_time", "order", "initial")),
    ("delay_fixed", None): ("DELAY", ("input", "delay_time", "initial")),
    ("trend", None): ("TREND", ("input", "average_time", "initial_trend")),
    ("forecast", None): ("FORCST", ("input", "average_time", "horizon", "initial_trend")),
    ("initial", None): ("INIT", ("initial",)),
}
#: PySD's tolerance for time comparisons in PULSE, PULSE TRAIN and QUANTUM.
SMALL_VENSIM = 1e-06

_WHY = {
    "ACTIVE INITIAL": "XMILE 1.0 has no ACTIVE INITIAL",
    "SAMPLE IF TRUE": "XMILE 1.0 has no SAMPLE IF TRUE",
    "subscripts": "the exporter writes scalar models only",
    "macro": "PySD's XMILE reader does not read macros",
    "LOOKUP EXTRAPOLATE": "PySD does not run it, and PySD and pysimlin read an embedded "
                          "graphical function of type extrapolate as continuous",
    "LOOKUP BACKWARD": "PySD does not run it, and PySD and pysimlin read an embedded "
                       "graphical function of type discrete as continuous",
}
_KEYWORDS = {"if", "then", "else", "and", "or", "not", "mod", "time"}
_PLAIN = re.compile(r"[^\W\d]\w*")
_COMPARE = ("=", "<>", "<", "<=", ">", ">=")
# Binding strength of each operator (higher binds tighter); atoms are 9.  Unary
# operators (and negative numbers) rank below every binary operator, so they are
# parenthesised wherever they are an operand; ``mod`` ranks with ``+`` because PySD's
# grammar binds it more loosely than ``*`` and ``/``.
_LEVEL: dict[str, float] = {"or": 1, "and": 2, **{op: 3 for op in _COMPARE}, "+": 4, "-": 4,
                            "*": 5, "/": 5, "^": 6}
_UNARY = 3.5
_MOD = 4
_ATOM = 9


def quote_name(name: str) -> str:
    """Write a variable name as an XMILE identifier (quoted when it must be)."""
    plain = name.replace(" ", "_")
    lowered = plain.lower()
    if _PLAIN.fullmatch(plain) and lowered not in _KEYWORDS and not lowered.startswith("not"):
        return plain
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_number(value: float | int, variable: str = "") -> str:
    """Write a number exactly (``repr`` of the float, or the integer)."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int) or type(value).__name__.startswith(("int", "uint")):
        return str(int(value))
    number = float(value)
    if not math.isfinite(number):
        raise UnsupportedConstructError(
            f"Cannot export the number {number!r} in {variable!r}: XMILE 1.0 has no literal "
            "for it.", construct=repr(number), variable=variable)
    return repr(number)


@dataclass(frozen=True)
class EmbeddedLookup:
    """An auxiliary embedding a graphical function: ``name`` is ``table`` at ``arg``."""

    name: str
    table: LookupTable
    arg: Expr
    doc: str
    units: str


class LookupPlan:
    """The auxiliaries that embed a model's graphical functions, one per distinct call.

    A lookup called with one input only becomes one auxiliary with the lookup's
    name, documentation and units; one called with several inputs becomes
    ``<lookup> lookup 1``, ``2``... in the order of first use (skipping names the
    model has).  A ``WITH LOOKUP`` inside a larger expression becomes ``<variable>
    lookup`` (a whole-equation one is embedded already).  A lookup no equation
    calls stays a standalone ``<gf>``.

    Parameters
    ----------
    ir : ModelIR
        The model.
    new_name : callable
        ``new_name(base, number)``: a name no variable has yet, ``base number``
        or the next free number (``base`` itself when ``number`` is 0).

    Attributes
    ----------
    tables : set of str
        py names of the model's lookups.
    calls : dict
        ``(lookup py name or inline table, input)`` -> auxiliary name.
    embedded : dict of str to list of EmbeddedLookup
        py name of a variable -> the auxiliaries written after it.

    Raises
    ------
    sdkit.errors.UnsupportedConstructError
        A called lookup is not continuous (PySD and pysimlin ignore an embedded one's type).
    """

    def __init__(self, ir: ModelIR, new_name: Callable[[str, int], str]) -> None:
        self.ir = ir
        self.new_name = new_name
        self.tables = {py for py, var in ir.variables.items() if var.lookup is not None}
        self.calls: dict[tuple[object, Expr], str] = {}
        self.embedded: dict[str, list[EmbeddedLookup]] = {}
        for key, (at, args) in self._uses().items():
            for number, arg in enumerate(args, 1):
                self._plan(key, at, arg, number if len(args) > 1 else 0)

    def _uses(self) -> dict[object, tuple[str, list[Expr]]]:
        """What is called -> (py name of the variable its auxiliaries follow, inputs)."""
        uses: dict[object, tuple[str, list[Expr]]] = {}
        seen: set[str] = set()
        for owner, expr in self._rendered():
            for node in self._nodes(expr, seen):
                key: LookupTable | str
                if isinstance(node, InlineLookup):
                    key, at = node.table, owner
                elif isinstance(node, LookupCall) and node.table in self.tables:
                    key, at = node.table, node.table
                else:
                    continue
                args = uses.setdefault(key, (at, []))[1]
                if node.arg not in args:
                    args.append(node.arg)
        return uses

    def _rendered(self) -> Iterator[tuple[str, Expr]]:
        """Every expression the document renders, with its variable's py name."""
        for py_name, var in self.ir.variables.items():
            stock = self.ir.stocks.get(py_name)
            if stock is not None:
                yield py_name, stock.initial
                yield py_name, stock.rate
            elif isinstance(var.equation, InlineLookup):  # a whole equation: embedded already
                yield py_name, var.equation.arg
            elif var.equation is not None:
                yield py_name, var.equation

    def _nodes(self, expr: Expr, seen: set[str]) -> Iterator[Expr]:
        """The sub-expressions of ``expr``, with those of the hidden stocks it uses."""
        for node in walk(expr):
            yield node
            if isinstance(node, Ref) and node.name in self.ir.hidden and node.name not in seen:
                seen.add(node.name)
                for arg in self.ir.hidden[node.name].args.values():
                    yield from self._nodes(arg, seen)

    def _plan(self, key: object, at: str, arg: Expr, number: int) -> None:
        """Plan the auxiliary of one input (``number`` is 0 for a lookup's only input)."""
        var = self.ir.variables[at]
        if isinstance(key, LookupTable):
            table, name = key, self.new_name(f"{var.name} lookup", 0)
            doc, units = f"WITH LOOKUP of {var.name} (written by the exporter).", ""
        else:
            # ``key`` names a lookup variable (one of ``self.tables``), so it has a table.
            table, units = cast(LookupTable, var.lookup), var.units
            name = self.new_name(f"{var.name} lookup", number) if number else var.name
            doc = var.comment if not number else (
                f"{var.name} at one of its inputs (written by the exporter: one auxiliary "
                f"per input of the graphical function). {var.comment}".strip())
        if table.interpolation != "interpolate":
            kind = GF_TYPES.get(table.interpolation, table.interpolation)
            raise UnsupportedConstructError(
                f"Cannot export the {kind} graphical function {var.name!r} where it is "
                "called: the portable XMILE form embeds it in an auxiliary, and PySD and "
                "pysimlin read an embedded graphical function as continuous whatever its "
                "type.", construct=table.interpolation, variable=var.name)
        self.calls[key, arg] = name
        self.embedded.setdefault(at, []).append(EmbeddedLookup(name, table, arg, doc, units))


class EquationWriter:
    """Render expressions of one model.

    Parameters
    ----------
    names : mapping of str to str
        Python name -> real name of every variable (and control variable).
    hidden : mapping of str to HiddenStock
        The model's hidden stocks (SMOOTH, DELAY... inside equations).
    lookups : set of str
        Python names of the graphical functions.
    calls : mapping, optional
        ``(lookup py name or inline table, input)`` -> the auxiliary embedding it
        (:attr:`LookupPlan.calls`); a call is written as a reference to it, or refused.
    """

    def __init__(self, names: Mapping[str, str], hidden: Mapping[str, HiddenStock],
                 lookups: set[str], calls: Mapping[tuple[object, Expr], str] | None = None) -> None:
        self.names = names
        self.hidden = hidden
        self.lookups = lookups
        self.calls = calls or {}
        self.variable = ""

    def equation(self, expr: Expr, variable: str) -> str:
        """The XMILE text of ``expr``, the equation of ``variable`` (for messages)."""
        self.variable = variable
        return self._render(expr)[0]

    # ----------------------------------------------------------------- helpers
    def refuse(self, construct: str, why: str = "") -> UnsupportedConstructError:
        reason = why or _WHY.get(construct, "it has no exact XMILE 1.0 form")
        return UnsupportedConstructError(
            f"Cannot export {construct} in {self.variable!r}: {reason}.",
            construct=construct, variable=self.variable)

    def _child(self, expr: Expr, minimum: float) -> str:
        text, level = self._render(expr)
        return text if level >= minimum else f"({text})"

    def _call(self, fn: str, args: tuple[Expr, ...]) -> str:
        return fn + "(" + ", ".join(self._child(a, 1) for a in args) + ")"

    def _if(self, cond: str, then: str, other: str) -> tuple[str, float]:
        return f"IF {cond} THEN {then} ELSE {other}", 0

    # ----------------------------------------------------------------- nodes
    def _render(self, expr: Expr) -> tuple[str, float]:
        if isinstance(expr, Num):
            text = format_number(expr.value, self.variable)
            return (text, _ATOM) if not text.startswith("-") else (text, _UNARY)
        if isinstance(expr, Ref):
            return self._ref(expr.name), _ATOM
        if isinstance(expr, BinOp):
            return self._binop(expr)
        if isinstance(expr, UnaryOp):
            if expr.op == "-":
                return "-" + self._child(expr.operand, _ATOM), _UNARY
            return "NOT " + self._child(expr.operand, _ATOM), _UNARY
        if isinstance(expr, Call):
            return self._function(expr)
        if isinstance(expr, LookupCall | InlineLookup):
            return self._lookup(expr), _ATOM
        if isinstance(expr, Opaque):
            raise self.refuse(expr.construct)
        raise self.refuse(type(expr).__name__)

    def _lookup(self, expr: LookupCall | InlineLookup) -> str:
        """A call of a graphical function: the name of the auxiliary embedding it."""
        name = self.calls.get((expr.table, expr.arg))
        if name is not None:
            return quote_name(name)
        if isinstance(expr, InlineLookup):
            raise self.refuse("WITH LOOKUP inside a larger expression",
                              "it has no embedded auxiliary")
        if expr.table not in self.lookups:
            raise self.refuse(f"a call of {expr.table!r}", "it is not a graphical function")
        raise self.refuse(f"a call of graphical function {self.names[expr.table]!r}",
                          "it has no embedded auxiliary")

    def _ref(self, name: str) -> str:
        if name == "time":
            return "TIME"
        if name in self.hidden:
            return self._hidden(self.hidden[name])
        if name in self.lookups:
            raise self.refuse(f"a reference to graphical function {self.names[name]!r}",
                              "a graphical function can only be called")
        if name not in self.names:
            raise self.refuse(f"a reference to {name!r}", "the model does not define it")
        return quote_name(self.names[name])

    def _hidden(self, stock: HiddenStock) -> str:
        order = stock.args.get("order")
        exact = order.value if isinstance(order, Num) else None
        spec = HIDDEN.get((stock.kind, exact)) or HIDDEN.get((stock.kind, None))
        if spec is None:
            label = stock.kind.upper().replace("_", " ")
            raise self.refuse(label if exact is None else f"{label} of order {exact}")
        fn, order_names = spec
        return self._call(fn, tuple(stock.args[key] for key in order_names))

    def _binop(self, expr: BinOp) -> tuple[str, float]:
        op = expr.op
        level = _LEVEL[op]
        word = op.upper() if op in ("and", "or") else op
        if op in ("and", "or"):
            left, right = self._child(expr.left, 4), self._child(expr.right, 4)
        elif op in _COMPARE:
            left, right = self._child(expr.left, 4), self._child(expr.right, 4)
        elif op == "^":
            left, right = self._child(expr.left, _ATOM), self._child(expr.right, _ATOM)
        else:
            left, right = self._child(expr.left, level), self._child(expr.right, level + 1)
        return f"{left} {word} {right}", level

    def _function(self, expr: Call) -> tuple[str, float]:
        fn, args = expr.fn, expr.args
        special: dict[str, Callable[[], tuple[str, float]]] = {
            "if_then_else": lambda: self._if(self._child(args[0], 1),
                                             self._child(args[1], 1), self._child(args[2], 1)),
            "power": lambda: self._binop(BinOp("^", args[0], args[1])),
            "log": lambda: (f"LN({self._render(args[0])[0]}) / LN({self._render(args[1])[0]})",
                            5),
            "modulo": lambda: (f"{self._child(args[0], 6)} mod {self._child(args[1], 6)}",
                               _MOD),
            "quantum": lambda: self._quantum(args),
            "pulse": lambda: self._pulse(args[0], args[1]),
            "pulse_train": lambda: self._pulse_train(args),
            "pi": lambda: (repr(math.pi), _ATOM),
        }
        if fn in special and (fn != "pulse" or len(args) == 2):
            return special[fn]()
        if fn in BUILTINS and not (fn == "ramp" and len(args) != 3):
            return self._call(BUILTINS[fn], args), _ATOM
        raise self.refuse(fn.upper().replace("_", " "))

    def _quantum(self, args: tuple[Expr, ...]) -> tuple[str, float]:
        x, q = self._child(args[0], 6), self._child(args[1], 6)
        return self._if(f"{q} < {SMALL_VENSIM!r}", x, f"{q} * INT({x} / {q})")

    def _pulse(self, start: Expr, width: Expr) -> tuple[str, float]:
        s, w = self._child(start, 5), self._child(width, 5)
        return self._if(f"(TIME >= {s} - {SMALL_VENSIM!r}) AND (TIME < {s} + {w})", "1", "0")

    def _pulse_train(self, args: tuple[Expr, ...]) -> tuple[str, float]:
        start, repeat, width, end = args
        s, r = self._child(start, 5), self._child(repeat, 6)
        w, e = self._child(width, 4), self._child(end, 4)
        single = self._pulse(start, width)[0]
        phase = f"(TIME - {s} + {SMALL_VENSIM!r}) mod {r}"
        train = f"(TIME >= {s}) AND (TIME < {e}) AND ({phase} < {w})"
        return self._if(f"{r} = 0", f"({single})", f"(IF {train} THEN 1 ELSE 0)")

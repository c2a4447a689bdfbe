"""The sdkit intermediate representation (IR) of a system-dynamics model.

One representation, built once from PySD's ``AbstractModel`` (the parse tree
PySD's Vensim and XMILE translators produce), for every tool that needs to read
a model's structure: the ensemble engine (:mod:`sdkit.engine`), and later the
XMILE writer, loop analysis and units check.  Nothing here runs a model.

Contents of a :class:`ModelIR`
------------------------------
* :class:`IRVariable` for every model element: real name, Python name (exactly
  the identifier PySD's generated code uses), kind, units, documented limits,
  comment, and the equation as an expression tree (``None`` for stocks, whose
  equation lives in :class:`Stock`, and for lookups, whose table lives in
  :attr:`IRVariable.lookup`).
* :class:`Stock` for every ``INTEG``: initial-value expression, net-rate
  expression, and the inflow / outflow terms of the net rate.
* :class:`HiddenStock` for every stateful function nested in an equation
  (``SMOOTH``, ``SMOOTH3``, ``SMOOTH N``, ``DELAY1``, ``DELAY3``, ``DELAY N``,
  ``DELAY FIXED``, ``TREND``, ``FORECAST``, ``SAMPLE IF TRUE``, ``INITIAL``):
  the equation that uses one refers to it as ``Ref(hidden.py_name)``, named as
  PySD names the object (``_smooth_x``, ``_delay_x``...).
* :class:`LookupTable` for graphical functions (x, y points, ranges and the
  extrapolation behaviour).

Expressions are small frozen dataclasses: :class:`Num`, :class:`Ref`,
:class:`BinOp`, :class:`UnaryOp`, :class:`Call`, :class:`LookupCall`,
:class:`InlineLookup` and :class:`Opaque` (a construct the IR keeps only by
name, e.g. subscript operations or macros; consumers refuse it or ignore it).
Binary operations follow the evaluation order of PySD's generated Python code
(Python's precedence and associativity: ``a - b + c`` is ``(a - b) + c``,
``a ^ b ^ c`` is ``a ^ (b ^ c)``), so a backend that evaluates the tree node
by node performs the same floating-point operations as PySD.
"""

from __future__ import annotations

import ast as pyast
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sdkit.errors import ModelFileNotFoundError, ModelParseError
from sdkit.ir.structure import Variable, doc_text, element_doc

__all__ = [
    "Num", "Ref", "BinOp", "UnaryOp", "Call", "LookupCall", "InlineLookup", "Opaque",
    "Expr", "LookupTable", "IRVariable", "Stock", "HiddenStock", "ModelIR", "build_ir",
    "walk", "references", "CONTROL",
]

#: Python names of the control variables.
CONTROL = ("initial_time", "final_time", "time_step", "saveper")


# --------------------------------------------------------------------------- expressions
@dataclass(frozen=True)
class Num:
    """A numeric literal (``int`` or ``float``, as PySD writes it)."""

    value: float | int


@dataclass(frozen=True)
class Ref:
    """A reference to a variable, hidden stock, control variable or ``time``, by py name."""

    name: str


@dataclass(frozen=True)
class BinOp:
    """A binary operation.

    ``op`` is one of ``+ - * / ^`` (arithmetic), ``= <> < <= > >=`` (comparison),
    ``and or`` (logic).
    """

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class UnaryOp:
    """A unary operation: ``op`` is ``-`` (negation) or ``not``."""

    op: str
    operand: Expr


@dataclass(frozen=True)
class Call:
    """A built-in function call, named as in PySD's function table.

    Examples: ``min``, ``max``, ``abs``, ``exp``, ``ln``, ``log``, ``sqrt``,
    ``power``, ``integer``, ``modulo``, ``quantum``, ``if_then_else``, ``step``,
    ``pulse``, ``pulse_train``, ``ramp``, ``xidz``, ``zidz``, ``active_initial``,
    ``random_uniform``...
    """

    fn: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class LookupCall:
    """Call of a named lookup (graphical function) variable ``table`` at ``arg``."""

    table: str
    arg: Expr


@dataclass(frozen=True)
class LookupTable:
    """A graphical function.

    Attributes
    ----------
    x, y : tuple of float
        The points, in model order.
    x_limits, y_limits : tuple
        Declared ranges (``(None, None)`` when absent).
    interpolation : str
        PySD's keyword: ``"interpolate"`` (hold the end values outside the
        range), ``"extrapolate"`` (linear extrapolation, XMILE), ``"hold_backward"``
        or ``"look_forward"``.
    """

    x: tuple[float, ...]
    y: tuple[float, ...]
    x_limits: tuple[Any, Any] = (None, None)
    y_limits: tuple[Any, Any] = (None, None)
    interpolation: str = "interpolate"


@dataclass(frozen=True)
class InlineLookup:
    """A lookup written inside an equation (``WITH LOOKUP``): ``table`` at ``arg``."""

    table: LookupTable
    arg: Expr


@dataclass(frozen=True)
class Opaque:
    """A construct kept only by name (``construct``) with its arguments, e.g. ``macro``."""

    construct: str
    detail: str = ""
    args: tuple[Expr, ...] = ()


Expr = Num | Ref | BinOp | UnaryOp | Call | LookupCall | InlineLookup | Opaque


def walk(expr: Expr) -> Iterator[Expr]:
    """Yield ``expr`` and every sub-expression (pre-order)."""
    yield expr
    if isinstance(expr, BinOp):
        yield from walk(expr.left)
        yield from walk(expr.right)
    elif isinstance(expr, UnaryOp):
        yield from walk(expr.operand)
    elif isinstance(expr, Call | Opaque):
        for arg in expr.args:
            yield from walk(arg)
    elif isinstance(expr, LookupCall | InlineLookup):
        yield from walk(expr.arg)


def references(expr: Expr | None) -> set[str]:
    """Names referenced by ``expr`` (variables, hidden stocks, lookups, ``time``)."""
    if expr is None:
        return set()
    found: set[str] = set()
    for node in walk(expr):
        if isinstance(node, Ref):
            found.add(node.name)
        elif isinstance(node, LookupCall):
            found.add(node.table)
    return found


# --------------------------------------------------------------------------- model parts
@dataclass(frozen=True)
class IRVariable(Variable):
    """One model element: its :class:`~sdkit.ir.structure.Variable` metadata (the class
    :attr:`sdkit.model.core.Model.variables` holds, read from the same parsed fields by
    :func:`sdkit.ir.structure.element_doc`) and its equation.

    ``kind`` is one of ``stock``, ``flow``, ``auxiliary``, ``constant``,
    ``lookup``, ``data``, ``control`` (as :attr:`sdkit.model.core.Variable.kind`).
    ``equation`` is ``None`` for stocks (see :class:`Stock`) and lookups (see
    ``lookup``).  ``subscripts`` lists the subscript ranges of the definition
    (empty for scalar variables; the IR keeps subscripted equations as they are
    but the engine refuses them).
    """

    equation: Expr | None = None
    lookup: LookupTable | None = None
    subscripts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Stock:
    """An ``INTEG`` stock: ``d(py_name)/dt = rate`` from ``initial``.

    ``inflows`` and ``outflows`` are the py names of the variables that are
    direct additive terms of the rate (``rate = in1 + in2 - out1``); a rate
    that is a more general expression may have terms not listed there.
    """

    name: str
    py_name: str
    initial: Expr
    rate: Expr
    inflows: tuple[str, ...] = ()
    outflows: tuple[str, ...] = ()
    non_negative: bool = False


@dataclass(frozen=True)
class HiddenStock:
    """State created by a stateful function inside an equation.

    Attributes
    ----------
    py_name : str
        PySD's object name (``_smooth_x``); equations refer to it with ``Ref``.
    kind : str
        ``smooth``, ``smooth_n``, ``delay``, ``delay_n``, ``delay_fixed``,
        ``trend``, ``forecast``, ``sample_if_true`` or ``initial``.
    owner : str
        py name of the variable whose equation contains the function.
    args : dict of str to Expr
        The function's arguments by PySD's names: ``input``, ``delay_time`` /
        ``smooth_time`` / ``average_time``, ``initial``, ``order``, ``horizon``,
        ``condition``, ``initial_trend``.
    """

    py_name: str
    kind: str
    owner: str
    args: dict[str, Expr] = field(default_factory=dict)


@dataclass
class ModelIR:
    """The intermediate representation of one model (see the module docstring)."""

    path: Path | None
    format: str
    variables: dict[str, IRVariable]
    stocks: dict[str, Stock]
    hidden: dict[str, HiddenStock]
    macros: tuple[str, ...] = ()

    def variable(self, name: str) -> IRVariable:
        """Return a variable by py name or real name."""
        if name in self.variables:
            return self.variables[name]
        for var in self.variables.values():
            if var.name == name:
                return var
        raise KeyError(name)

    @property
    def by_name(self) -> dict[str, IRVariable]:
        """Variables keyed by real name."""
        return {v.name: v for v in self.variables.values()}

    def equation_of(self, py_name: str) -> Expr | None:
        """The expression computing ``py_name`` (a stock's rate for stocks)."""
        if py_name in self.stocks:
            return self.stocks[py_name].rate
        return self.variables[py_name].equation

    def dependencies(self, *, hidden: bool = False) -> dict[str, set[str]]:
        """The model's dependency graph: py name -> the py names it directly references.

        Every variable's equation (a stock's: its rate); with ``hidden``, also every
        hidden stock's arguments.  The one dependency graph of the IR: the causal
        graph of loop analysis (:func:`sdkit.loops.graph.causal_graph`) is built from it.
        """
        found = {name: references(self.equation_of(name)) for name in self.variables}
        if hidden:
            for name, stock in self.hidden.items():
                found[name] = set().union(*(references(e) for e in stock.args.values()))
        return found


# --------------------------------------------------------------------------- builder
_PY_OPS = {"^": "**", "*": "*", "/": "/", "+": "+", "-": "-", "=": "==", "<>": "!=",
           ">=": ">=", ">": ">", "<=": "<=", "<": "<"}
_AST_OPS = {pyast.Pow: "^", pyast.Mult: "*", pyast.Div: "/", pyast.Add: "+", pyast.Sub: "-",
            pyast.Eq: "=", pyast.NotEq: "<>", pyast.GtE: ">=", pyast.Gt: ">", pyast.LtE: "<=",
            pyast.Lt: "<"}
_LOGIC = {":AND:": "and", ":OR:": "or"}
_STATEFUL = {
    "SmoothStructure": ("smooth", "_smooth", {"input": "input", "smooth_time": "smooth_time",
                                              "initial": "initial", "order": "order"}),
    "SmoothNStructure": ("smooth_n", "_smooth", {"input": "input", "smooth_time": "smooth_time",
                                                 "initial": "initial", "order": "order"}),
    "DelayStructure": ("delay", "_delay", {"input": "input", "delay_time": "delay_time",
                                           "initial": "initial", "order": "order"}),
    "DelayNStructure": ("delay_n", "_delayn", {"input": "input", "delay_time": "delay_time",
                                               "initial": "initial", "order": "order"}),
    "DelayFixedStructure": ("delay_fixed", "_delayfixed", {
        "input": "input", "delay_time": "delay_time", "initial": "initial"}),
    "TrendStructure": ("trend", "_trend", {"input": "input", "average_time": "average_time",
                                           "initial_trend": "initial_trend"}),
    "ForecastStructure": ("forecast", "_forecast", {
        "input": "input", "average_time": "average_time", "horizon": "horizon",
        "initial_trend": "initial_trend"}),
    "SampleIfTrueStructure": ("sample_if_true", "_sampleiftrue", {
        "condition": "condition", "input": "input", "initial": "initial"}),
    "InitialStructure": ("initial", "_initial", {"initial": "initial"}),
}


class _Builder:
    """Convert one section of a PySD AbstractModel."""

    def __init__(self, section: Any, macros: tuple[str, ...]) -> None:
        from pysd.builders.python.namespace import NamespaceManager

        self.section = section
        self.macros = set(macros)
        self.namespace = NamespaceManager(section.params)
        for element in section.elements:
            self.namespace.add_to_namespace(element.name)
        self.lookups = {self.namespace.namespace[e.name] for e in section.elements
                        if any(type(c.ast).__name__ in ("LookupsStructure", "GetLookupsStructure")
                               for c in e.components)}
        self.hidden: dict[str, HiddenStock] = {}
        self.owner = ""

    def ref_name(self, reference: str) -> str:
        return self.namespace.cleanspace.get(reference, reference)

    def convert(self, node: Any) -> Expr:
        if isinstance(node, bool):
            return Num(int(node))
        if isinstance(node, int | float):
            return Num(node)
        kind = type(node).__name__
        method = getattr(self, "_" + kind, None)
        if method is not None:
            return method(node)
        if kind in _STATEFUL:
            return self._stateful(node, *_STATEFUL[kind])
        return Opaque(kind.removesuffix("Structure").lower(), doc_text(node)[:200])

    def _ReferenceStructure(self, node: Any) -> Expr:
        if getattr(node, "subscripts", None):
            return Opaque("subscripts", node.reference,
                          (Ref(self.ref_name(node.reference)),))
        return Ref(self.ref_name(node.reference))

    def _ParenthesesStructure(self, node: Any) -> Expr:
        return self.convert(node.argument)

    def _GameStructure(self, node: Any) -> Expr:
        return self.convert(node.expression)

    def _ArithmeticStructure(self, node: Any) -> Expr:
        ops, args = list(node.operators), [self.convert(a) for a in node.arguments]
        if len(args) == 1:
            if ops[0] == "negative":
                return UnaryOp("-", args[0])
            if ops[0] == "positive":
                return args[0]
            return Opaque("operator", ops[0], tuple(args))
        if any(op not in _PY_OPS for op in ops):
            return Opaque("operator", " ".join(ops), tuple(args))
        # Parse the expression text PySD generates, with placeholders for the
        # arguments, so the tree has Python's precedence and associativity.
        # Numbers are written as PySD writes them (repr), because a negative
        # literal binds like a unary minus: PySD's ``-2^2`` is Python's ``-2**2``.
        texts = [repr(a.value) if isinstance(a, Num) and isinstance(a.value, int | float)
                 and math.isfinite(a.value) else f"_{i}" for i, a in enumerate(args)]
        text = texts[0] + "".join(f" {_PY_OPS[op]} {texts[i + 1]}" for i, op in enumerate(ops))
        return self._from_python(pyast.parse(text, mode="eval").body, args)

    def _from_python(self, node: pyast.AST, args: list[Expr]) -> Expr:
        if isinstance(node, pyast.Name):
            return args[int(node.id[1:])]
        if isinstance(node, pyast.Constant) and isinstance(node.value, int | float):
            return Num(node.value)
        if isinstance(node, pyast.UnaryOp) and isinstance(node.op, pyast.USub):
            return UnaryOp("-", self._from_python(node.operand, args))
        if isinstance(node, pyast.BinOp):
            return BinOp(_AST_OPS[type(node.op)], self._from_python(node.left, args),
                         self._from_python(node.right, args))
        if isinstance(node, pyast.Compare):
            parts = [node.left, *node.comparators]
            pairs = [BinOp(_AST_OPS[type(op)], self._from_python(parts[i], args),
                           self._from_python(parts[i + 1], args))
                     for i, op in enumerate(node.ops)]
            result = pairs[0]
            for pair in pairs[1:]:
                result = BinOp("and", result, pair)
            return result
        raise ModelParseError(f"Unexpected operator structure {pyast.dump(node)}")

    def _LogicStructure(self, node: Any) -> Expr:
        ops, args = list(node.operators), [self.convert(a) for a in node.arguments]
        if len(args) == 1:
            return UnaryOp("not", args[0]) if ops[0] == ":NOT:" else \
                Opaque("operator", ops[0], tuple(args))
        # PySD nests the logical calls from the right: a AND (b AND c).
        result = args[-1]
        for op, arg in zip(reversed(ops), reversed(args[:-1]), strict=True):
            if op in _LOGIC:
                result = BinOp(_LOGIC[op], arg, result)
            elif op in _PY_OPS:
                result = BinOp(op, arg, result)
            else:
                return Opaque("operator", op, tuple(args))
        return result

    def _CallStructure(self, node: Any) -> Expr:
        name = node.function.reference
        args = tuple(self.convert(a) for a in node.arguments)
        if name in self.macros:
            return Opaque("macro", name, args)
        if name in self.namespace.cleanspace:
            target = self.namespace.cleanspace[name]
            if len(args) == 1:
                return LookupCall(target, args[0])
            return Opaque("call", target, args)
        return Call(name, args)

    def _InlineLookupsStructure(self, node: Any) -> Expr:
        return InlineLookup(self.table(node.lookups), self.convert(node.argument))

    def table(self, node: Any) -> LookupTable:
        return LookupTable(tuple(node.x), tuple(node.y), tuple(node.x_limits),
                           tuple(node.y_limits), str(getattr(node, "type", "interpolate")))

    def _stateful(self, node: Any, kind: str, prefix: str, fields: dict[str, str]) -> Expr:
        args = {}
        for attr, key in fields.items():
            if attr == "smooth_time" and not hasattr(node, attr):
                attr = "delay_time"
            args[key] = self.convert(getattr(node, attr))
        py_name = self.namespace.make_python_identifier(self.owner, prefix=prefix)
        self.hidden[py_name] = HiddenStock(py_name, kind, self.owner, args)
        return Ref(py_name)


def _abstract_model(path: Path, fmt: str) -> Any:
    from sdkit.model.translation import read_abstract

    return read_abstract(path, fmt)


def build_ir(model: Any) -> ModelIR:
    """Build the IR of a model.

    Parameters
    ----------
    model : path-like or sdkit.model.core.Model or AbstractModel
        A model file (``.mdl``, ``.xmile``...), a loaded :class:`sdkit.model.core.Model`
        (its file is parsed again; :attr:`sdkit.model.core.Model.ir` keeps one IR per
        model), or PySD's abstract model.

    Returns
    -------
    ModelIR
    """
    from sdkit.model.core import SUFFIXES

    if hasattr(model, "sections"):
        abstract, path, fmt = model, None, "abstract"
    else:
        path = Path(getattr(model, "path", model) if not isinstance(model, str | os.PathLike)
                    else model)
        if not path.is_file():
            raise ModelFileNotFoundError(f"Model file not found: {path}")
        fmt = SUFFIXES.get(path.suffix.lower(), "")
        if not fmt:
            raise ModelParseError(f"Cannot read {path}: unknown model file suffix.")
        abstract = _abstract_model(path, fmt)
    from sdkit.ir import structure

    section = abstract.sections[0]
    macros = tuple(s.name for s in abstract.sections[1:])
    builder = _Builder(section, macros)
    variables: dict[str, IRVariable] = {}
    stocks: dict[str, Stock] = {}
    rates = []
    for element in section.elements:
        py_name = builder.namespace.namespace[element.name]
        builder.owner = py_name
        components = list(element.components)
        subscripts = tuple(s for c in components for s in (c.subscripts[0] or []))
        kind = "auxiliary"
        equation: Expr | None = None
        lookup: LookupTable | None = None
        if len(components) != 1:
            equation = Opaque("subscripts", f"{len(components)} definitions")
        else:
            comp = components[0]
            node = comp.ast
            name = type(node).__name__
            if name == "IntegStructure":
                kind = "stock"
                rates.append(node.flow)
                stocks[py_name] = Stock(element.name, py_name, builder.convert(node.initial),
                                        builder.convert(node.flow),
                                        non_negative=bool(getattr(node, "non_negative", False)))
            elif name == "LookupsStructure":
                kind, lookup = "lookup", builder.table(node)
            elif name in ("DataStructure", "GetDataStructure"):
                kind, equation = "data", builder.convert(node)
            else:
                equation = builder.convert(node)
                if isinstance(node, int | float) or type(comp).__name__ == \
                        "AbstractUnchangeableConstant" or name == "GetConstantsStructure":
                    kind = "constant"
        if py_name in CONTROL:
            kind = "control"
        doc = element_doc(element)
        variables[py_name] = IRVariable(
            name=element.name, py_name=py_name, kind=kind, units=doc["units"],
            limits=tuple(doc["limits"]), comment=doc["comment"], equation=equation,
            lookup=lookup, subscripts=subscripts)
    terms = {structure.normalize_reference(t) for rate in rates
             for t in structure.flow_terms(rate)}
    for py_name, var in list(variables.items()):
        if var.kind == "auxiliary" and structure.normalize_reference(var.name) in terms:
            variables[py_name] = _replace_kind(var, "flow")
    for py_name, stock in list(stocks.items()):
        inflows, outflows = _split_terms(stock.rate)
        stocks[py_name] = Stock(stock.name, py_name, stock.initial, stock.rate,
                                tuple(inflows), tuple(outflows), stock.non_negative)
    return ModelIR(path, fmt, variables, stocks, builder.hidden, macros)


def _replace_kind(var: IRVariable, kind: str) -> IRVariable:
    from dataclasses import replace

    return replace(var, kind=kind)


def _split_terms(expr: Expr, sign: int = 1) -> tuple[list[str], list[str]]:
    """Direct additive terms of a rate: (inflows, outflows) py names."""
    ins: list[str] = []
    outs: list[str] = []
    if isinstance(expr, Ref):
        (ins if sign > 0 else outs).append(expr.name)
    elif isinstance(expr, UnaryOp) and expr.op == "-":
        a, b = _split_terms(expr.operand, -sign)
        ins += a
        outs += b
    elif isinstance(expr, BinOp) and expr.op in "+-":
        a, b = _split_terms(expr.left, sign)
        c, d = _split_terms(expr.right, sign if expr.op == "+" else -sign)
        ins += a + c
        outs += b + d
    return ins, outs

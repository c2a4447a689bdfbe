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

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sdkit.errors import ModelFileNotFoundError, ModelParseError
from sdkit.ir.expr import (
    BinOp,
    Call,
    Expr,
    InlineLookup,
    LookupCall,
    LookupTable,
    Num,
    Opaque,
    Ref,
    UnaryOp,
    references,
    walk,
)
from sdkit.ir.structure import Variable, element_doc

__all__ = [
    "Num", "Ref", "BinOp", "UnaryOp", "Call", "LookupCall", "InlineLookup", "Opaque",
    "Expr", "LookupTable", "IRVariable", "Stock", "HiddenStock", "ModelIR", "build_ir",
    "walk", "references", "CONTROL",
]

#: Python names of the control variables.
CONTROL = ("initial_time", "final_time", "time_step", "saveper")


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
    from sdkit.ir.convert import Converter, abstract_model
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
        abstract = abstract_model(path, fmt)
    from sdkit.ir import structure

    section = abstract.sections[0]
    macros = tuple(s.name for s in abstract.sections[1:])
    builder = Converter(section, macros)
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

"""Export a model to XMILE 1.0 from its parsed form (the sdkit IR).

:func:`export_xmile` reads the model the way PySD parses it (through
:func:`sdkit.ir.core.build_ir`, never by rewriting model text) and writes an OASIS
XMILE 1.0 document: the header, ``sim_specs`` with the model's times and Euler
integration, and one element per variable with its units, documentation and
range: ``<stock>`` with its ``<inflow>`` and ``<outflow>`` flows, ``<flow>`` and
``<aux>``.  Graphical functions are written in XMILE 1.0's embedded form, which
Stella writes and PySD and pysimlin read: each distinct input of a lookup becomes
an ``<aux>`` whose ``<eqn>`` is the input and whose ``<gf>`` is the table, and
the equations that called the lookup refer to that auxiliary (see
:class:`sdkit.xmile.expr.LookupPlan`).  Equations are written by
:mod:`sdkit.xmile.expr`, which maps Vensim's built-ins to XMILE's names.  What
XMILE 1.0 cannot express exactly raises
:class:`~sdkit.errors.UnsupportedConstructError` naming the construct and the
variable.  ``docs/formats.md`` lists the mapping and the limits.
"""

from __future__ import annotations

import math
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np

from sdkit import __version__
from sdkit.errors import UnsupportedConstructError
from sdkit.ir.core import (
    CONTROL,
    BinOp,
    Expr,
    InlineLookup,
    LookupTable,
    ModelIR,
    Num,
    Opaque,
    Ref,
    Stock,
    UnaryOp,
    build_ir,
)
from sdkit.xmile.expr import (
    GF_TYPES,
    EmbeddedLookup,
    EquationWriter,
    LookupPlan,
    format_number,
    quote_name,
)

__all__ = ["NAMESPACE", "export_xmile", "xmile_document"]

#: The OASIS XMILE 1.0 namespace.
NAMESPACE = "http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"
_NOT_FLOWS = ("stock", "lookup", "data", "control")
_XML_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def export_xmile(model_or_path: Any, out_path: str | os.PathLike[str] | None = None) -> str:
    """Export a model to XMILE 1.0.

    Parameters
    ----------
    model_or_path : path-like, sdkit.model.core.Model or sdkit.ir.core.ModelIR
        The model: a file PySD reads (``.mdl``, ``.xmile``...), a loaded model,
        or its IR.
    out_path : path-like, optional
        Where to write the document (UTF-8, replaced atomically).

    Returns
    -------
    str
        The XMILE document.

    Raises
    ------
    sdkit.errors.UnsupportedConstructError
        The model uses a construct XMILE 1.0 cannot express exactly (the message
        names it and the variable).
    sdkit.errors.ModelParseError
        PySD cannot parse the model.
    sdkit.errors.OutputWriteError
        ``out_path`` could not be written (its previous version is left intact).
    """
    if isinstance(model_or_path, ModelIR):
        ir = model_or_path
    else:  # a loaded Model holds its IR; a path is parsed here
        held = getattr(model_or_path, "ir", None)
        ir = held if isinstance(held, ModelIR) else build_ir(model_or_path)
    text = xmile_document(ir)
    if out_path is not None:
        from sdkit.util.files import write_text_atomic

        write_text_atomic(Path(out_path), text)
    return text


def xmile_document(ir: ModelIR) -> str:
    """The XMILE 1.0 text of a model's IR (see :func:`export_xmile`)."""
    return _Writer(ir).document()


def _clean(text: str) -> str:
    return _XML_INVALID.sub("", text)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    child = ET.SubElement(parent, tag, {k: _clean(v) for k, v in attrib.items()})
    if text is not None:
        child.text = _clean(text)
    return child


def _flow_terms(expr: Expr, sign: int = 1) -> list[tuple[int, Expr]]:
    """The additive terms of a rate, with their signs."""
    if isinstance(expr, UnaryOp) and expr.op == "-":
        return _flow_terms(expr.operand, -sign)
    if isinstance(expr, BinOp) and expr.op in ("+", "-"):
        return _flow_terms(expr.left, sign) + _flow_terms(
            expr.right, sign if expr.op == "+" else -sign)
    return [(sign, expr)]


class _Writer:
    """Build the document of one model."""

    def __init__(self, ir: ModelIR) -> None:
        self.ir = ir
        self._refuse_model_constructs()
        self.names = {py: var.name for py, var in ir.variables.items()}
        self.taken = {self._key(name) for name in self.names.values()}
        self.flows: dict[str, tuple[list[str], list[str]]] = {}
        self.synthetic: dict[str, str] = {}
        self._plan_flows()
        self.lookups = LookupPlan(ir, self._new_name)
        self.equations = EquationWriter(self.names, ir.hidden, self.lookups.tables,
                                        self.lookups.calls)

    @staticmethod
    def _key(name: str) -> str:
        return name.lower().replace(" ", "_")

    # ------------------------------------------------------------- checks
    def _refuse_model_constructs(self) -> None:
        for var in self.ir.variables.values():
            if var.subscripts or isinstance(var.equation, Opaque) and \
                    var.equation.construct == "subscripts":
                raise UnsupportedConstructError(
                    f"Cannot export subscripts in {var.name!r}: the exporter writes scalar "
                    "models only.", construct="subscripts", variable=var.name)
            if var.kind == "data":
                raise UnsupportedConstructError(
                    f"Cannot export data variable {var.name!r}: XMILE 1.0 data import is not "
                    "written by the exporter.", construct="data", variable=var.name)
            if var.lookup is not None and var.lookup.interpolation not in GF_TYPES:
                raise UnsupportedConstructError(
                    f"Cannot export lookup interpolation {var.lookup.interpolation!r} in "
                    f"{var.name!r}: XMILE 1.0 has no such graphical function type.",
                    construct=var.lookup.interpolation, variable=var.name)

    def _fold(self, expr: Expr | None, variable: str, depth: int = 0) -> float | int | None:
        """The value of a constant expression, or None when it is not constant."""
        if isinstance(expr, Num):
            return expr.value
        if isinstance(expr, Ref) and expr.name in self.ir.variables and depth < 50:
            var = self.ir.variables[expr.name]
            if var.kind in ("constant", "control", "auxiliary"):
                return self._fold(var.equation, variable, depth + 1)
            return None
        if isinstance(expr, UnaryOp) and expr.op == "-":
            value = self._fold(expr.operand, variable, depth)
            return None if value is None else -value
        if isinstance(expr, BinOp) and expr.op in ("+", "-", "*", "/", "^"):
            left = self._fold(expr.left, variable, depth)
            right = self._fold(expr.right, variable, depth)
            if left is None or right is None:
                return None
            ops = {"+": lambda: left + right, "-": lambda: left - right,
                   "*": lambda: left * right, "/": lambda: left / right,
                   "^": lambda: left ** right}
            try:
                return ops[expr.op]()
            except (ArithmeticError, ValueError):
                return None
        return None

    def _control(self, py_name: str) -> str:
        var = self.ir.variables.get(py_name)
        if var is None:
            raise UnsupportedConstructError(
                f"Cannot export a model without {py_name.upper().replace('_', ' ')}.",
                construct="missing control variable", variable=py_name)
        value = self._fold(var.equation, var.name)
        if value is None:
            raise UnsupportedConstructError(
                f"Cannot export the dynamic control variable {var.name!r}: XMILE sim_specs "
                "need constant times.", construct="dynamic control variable", variable=var.name)
        return format_number(value, var.name)

    # ------------------------------------------------------------- flows
    def _flowable(self, name: str) -> bool:
        var = self.ir.variables.get(name)
        return var is not None and var.kind not in _NOT_FLOWS

    def _plan_flows(self) -> None:
        """Choose each stock's flows: its rate's terms, or one synthetic net flow."""
        inflows: set[str] = set()
        outflows: set[str] = set()
        for py_name, stock in self.ir.stocks.items():
            if isinstance(stock.rate, Num) and stock.rate.value == 0:
                self.flows[py_name] = ([], [])
                continue
            terms = _flow_terms(stock.rate)
            ins = [e.name for s, e in terms if s > 0 and isinstance(e, Ref)]
            outs = [e.name for s, e in terms if s < 0 and isinstance(e, Ref)]
            names = ins + outs
            if (len(names) == len(terms) and len(set(names)) == len(names)
                    and all(self._flowable(n) for n in names)
                    and not inflows & set(ins) and not outflows & set(outs)):
                inflows.update(ins)
                outflows.update(outs)
                self.flows[py_name] = (ins, outs)
            else:
                self.synthetic[py_name] = self._new_name(f"{stock.name} net flow")

    def _new_name(self, base: str, number: int = 0) -> str:
        """A name no variable has: ``base``, or ``base 2``, ``base 3``... (from ``number``)."""
        name, i = (f"{base} {number}" if number else base), max(number, 1)
        while self._key(name) in self.taken:
            i += 1
            name = f"{base} {i}"
        self.taken.add(self._key(name))
        return name

    # ------------------------------------------------------------- document
    def document(self) -> str:
        root = ET.Element("xmile", {"version": "1.0", "xmlns": NAMESPACE})
        header = _sub(root, "header")
        _sub(header, "vendor", "sdkit")
        _sub(header, "product", "sdkit", version=__version__, lang="en")
        if self.ir.path is not None:
            _sub(header, "name", Path(self.ir.path).stem)
        self._sim_specs(root)
        variables = _sub(_sub(root, "model"), "variables")
        flow_names = {n for ins, outs in self.flows.values() for n in ins + outs}
        for py_name, var in self.ir.variables.items():
            if py_name in self.ir.stocks:
                self._stock(variables, self.ir.stocks[py_name])
            elif var.lookup is None:
                tag = "flow" if py_name in flow_names else "aux"
                node = _sub(variables, tag, name=var.name)
                self._describe(node, var.comment)
                self._equation(node, var.equation, var.name)
                self._units(node, var.units, var.limits)
            elif py_name not in self.lookups.embedded:  # never called: a standalone table
                node = _sub(variables, "gf", name=var.name)
                self._describe(node, var.comment)
                self._table(node, var.lookup)
                self._units(node, var.units, (None, None))
            for embedded in self.lookups.embedded.get(py_name, ()):
                self._embedded(variables, embedded)
        ET.indent(root, space="  ")
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(
            root, encoding="unicode") + "\n"

    def _sim_specs(self, root: ET.Element) -> None:
        start, stop, dt = (self._control(name) for name in CONTROL[:3])
        units = self.ir.variables[CONTROL[0]].units
        specs = _sub(root, "sim_specs", method="Euler", **({"time_units": units} if units else {}))
        _sub(specs, "start", start)
        _sub(specs, "stop", stop)
        _sub(specs, "dt", dt)
        if CONTROL[3] in self.ir.variables:
            self._control(CONTROL[3])  # refuse a dynamic SAVEPER too

    def _stock(self, variables: ET.Element, stock: Stock) -> None:
        var = self.ir.variables[stock.py_name]
        node = _sub(variables, "stock", name=var.name)
        self._describe(node, var.comment)
        _sub(node, "eqn", self.equations.equation(stock.initial, var.name))
        if stock.py_name in self.synthetic:
            ins, outs = [self.synthetic[stock.py_name]], []
        else:
            ins = [self.names[n] for n in self.flows[stock.py_name][0]]
            outs = [self.names[n] for n in self.flows[stock.py_name][1]]
        for name in ins:
            _sub(node, "inflow", quote_name(name))
        for name in outs:
            _sub(node, "outflow", quote_name(name))
        if stock.non_negative:
            _sub(node, "non_negative")
        self._units(node, var.units, var.limits)
        if stock.py_name in self.synthetic:
            flow = _sub(variables, "flow", name=self.synthetic[stock.py_name])
            _sub(flow, "doc", f"Net flow of {var.name} (written by the exporter: the stock's "
                              "rate is not a sum of flow variables).")
            _sub(flow, "eqn", self.equations.equation(stock.rate, var.name))

    def _embedded(self, variables: ET.Element, embedded: EmbeddedLookup) -> None:
        """An auxiliary embedding a graphical function: ``<eqn>`` the input, ``<gf>`` the table."""
        node = _sub(variables, "aux", name=embedded.name)
        self._describe(node, embedded.doc)
        _sub(node, "eqn", self.equations.equation(embedded.arg, embedded.name))
        self._table(_sub(node, "gf"), embedded.table)
        self._units(node, embedded.units, (None, None))

    def _equation(self, node: ET.Element, expr: Expr | None, name: str) -> None:
        if expr is None:
            raise UnsupportedConstructError(f"Cannot export {name!r}: it has no equation.",
                                            construct="missing equation", variable=name)
        if isinstance(expr, InlineLookup):
            _sub(node, "eqn", self.equations.equation(expr.arg, name))
            self._table(_sub(node, "gf"), expr.table)
        else:
            _sub(node, "eqn", self.equations.equation(expr, name))

    @staticmethod
    def _describe(node: ET.Element, comment: str) -> None:
        if comment:
            _sub(node, "doc", comment)

    @staticmethod
    def _units(node: ET.Element, units: str, limits: tuple[Any, Any]) -> None:
        if units:
            _sub(node, "units", units)
        low, high = (None if v is None or not math.isfinite(v) else v for v in limits)
        if low is not None or high is not None:
            # An open side is written as xs:double's infinity (PySD needs both sides).
            _sub(node, "range", min="-INF" if low is None else format_number(low),
                 max="INF" if high is None else format_number(high))

    @staticmethod
    def _table(node: ET.Element, table: LookupTable) -> None:
        """Write a graphical function: its type, scales and points."""
        if table.interpolation != "interpolate":
            node.set("type", GF_TYPES[table.interpolation])
        xs = [float(x) for x in table.x]
        ys = [float(y) for y in table.y]
        x_limits = tuple(float(v) for v in table.x_limits
                         if v is not None and math.isfinite(float(v)))
        y_limits = tuple(float(v) for v in table.y_limits
                         if v is not None and math.isfinite(float(v)))
        # PySD's reader rebuilds the x points from <xscale> when it is present, so
        # it is written only when it describes the points exactly.
        if len(xs) > 1 and x_limits == (xs[0], xs[-1]) and \
                xs == np.linspace(xs[0], xs[-1], len(xs)).tolist():
            _sub(node, "xscale", min=format_number(xs[0]), max=format_number(xs[-1]))
        low, high = y_limits if len(y_limits) == 2 else (min(ys), max(ys))
        _sub(node, "yscale", min=format_number(low), max=format_number(high))
        _sub(node, "xpts", ",".join(format_number(x) for x in xs))
        _sub(node, "ypts", ",".join(format_number(y) for y in ys))

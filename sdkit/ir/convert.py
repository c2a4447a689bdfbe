"""From PySD's abstract model to IR expressions: the converter :func:`sdkit.ir.core.build_ir`
uses for every equation (operators, functions, lookups, and the hidden stocks of SMOOTH,
DELAY, TREND, FORECAST, SAMPLE IF TRUE and INITIAL, named as PySD names them).
"""

from __future__ import annotations

import ast as pyast
import math
from pathlib import Path
from typing import Any

from sdkit.errors import ModelParseError
from sdkit.ir.core import HiddenStock
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
)
from sdkit.ir.structure import doc_text

__all__ = ["Converter", "abstract_model"]


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


class Converter:
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


def abstract_model(path: Path, fmt: str) -> Any:
    from sdkit.model.translation import read_abstract

    return read_abstract(path, fmt)

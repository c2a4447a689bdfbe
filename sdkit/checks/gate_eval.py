"""A model's equations as IR, evaluated at every time step of a run (numpy, no model text run).

:func:`read_parts` reads every definition of a model (subscripts of references kept,
hidden stocks named as :func:`sdkit.ir.core.build_ir` names them); :class:`Evaluator`
re-evaluates a definition at every step from a run's saved values with numpy and
PySD's function semantics (:mod:`sdkit.engine.runtime`), recording what each
``MIN``, ``MAX``, ``IF THEN ELSE`` and lookup selects, and tells how an expression
depends on time (:meth:`Evaluator.level`). :func:`render` writes an expression back
as Vensim-like text. The gate report (:mod:`sdkit.checks.gates`) and the saturated
factors (:mod:`sdkit.checks.saturation`) are built on them; nothing read from the
model is executed.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sdkit.engine import runtime
from sdkit.errors import SdkitError
from sdkit.ir import core as I
from sdkit.ir.convert import Converter

if TYPE_CHECKING:
    from sdkit.model.core import Model

__all__ = ["Evaluator", "Parts", "expand_elements", "read_parts", "render"]

_KIND = {"min": "MIN", "max": "MAX", "if_then_else": "IF THEN ELSE"}
_TIME_FNS = {"step", "ramp", "Xramp", "pulse", "Xpulse", "pulse_train", "Xpulse_train",
             "get_time_value"}
_HIDDEN_ARGS = ("input", "smooth_time", "delay_time", "average_time", "horizon", "condition")
_PREC = {"or": 1, "and": 2, "=": 3, "<>": 3, "<": 3, "<=": 3, ">": 3, ">=": 3, "+": 4,
         "-": 4, "*": 5, "/": 5, "^": 7}
_BIN = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "^": np.power,
        "=": np.equal, "<>": np.not_equal, "<": np.less, "<=": np.less_equal,
        ">": np.greater, ">=": np.greater_equal, "and": np.logical_and, "or": np.logical_or}
_FN: dict[str, Any] = {
    "abs": np.abs, "exp": np.exp, "ln": np.log, "sqrt": np.sqrt, "sin": np.sin, "cos": np.cos,
    "tan": np.tan, "power": np.power, "integer": runtime.integer, "modulo": runtime.modulo,
    "quantum": runtime.quantum, "xidz": runtime.xidz, "zidz": runtime.zidz}


# --------------------------------------------------------------------------- equations
class _SubscriptBuilder(Converter):
    """The IR builder, keeping the subscripts of references as ``Opaque("subscript_ref")``."""

    def _ReferenceStructure(self, node: Any) -> I.Expr:
        subs = getattr(node, "subscripts", None)
        ref = I.Ref(self.ref_name(node.reference))
        return I.Opaque("subscript_ref", ",".join(subs.subscripts), (ref,)) if subs else ref


@dataclass
class Parts:
    """Every definition of a model, keyed by PySD name; see :func:`read_parts`."""

    names: dict[str, str]  # py name -> real name
    defs: dict[str, list[tuple[list[str], list[list[str]], I.Expr]]]  # subscripts, except, eq
    kinds: dict[str, str]
    tables: dict[str, I.LookupTable]
    hidden: dict[str, I.HiddenStock]
    ranges: dict[str, list[str]]


def read_parts(model: Model) -> Parts:
    """The definitions of ``model`` as IR (a stock's rate stands for the stock), its kinds
    (``auxiliary``, ``stock``, ``lookup``, ``data``), tables, hidden stocks and ranges."""
    from sdkit.model.translation import read_abstract

    abstract = read_abstract(Path(model.path), model.format)
    section = abstract.sections[0]
    builder = _SubscriptBuilder(section, tuple(s.name for s in abstract.sections[1:]))
    parts = Parts({}, {}, {}, {}, builder.hidden, {
        r.name: list(r.subscripts) for r in section.subscripts if isinstance(r.subscripts, list)})
    for element in section.elements:
        py = builder.owner = builder.namespace.namespace[element.name]
        parts.names[py], parts.defs[py], parts.kinds[py] = element.name, [], "auxiliary"
        for comp in element.components:
            node, kind = comp.ast, type(comp.ast).__name__
            if kind == "LookupsStructure":
                parts.tables[py], parts.kinds[py] = builder.table(node), "lookup"
                continue
            if kind == "IntegStructure":
                builder.convert(node.initial)  # names the hidden stocks in build_ir's order
                expr, parts.kinds[py] = builder.convert(node.flow), "stock"
            else:
                expr = builder.convert(node)
                parts.kinds[py] = "data" if "Data" in kind else parts.kinds[py]
            parts.defs[py].append((list(comp.subscripts[0] or []),
                                   [list(e) for e in comp.subscripts[1] or []], expr))
    return parts


def expand_elements(subs: list[str], excepted: list[list[str]],
                    ranges: Mapping[str, list[str]]) -> list[dict[str, str]]:
    """Every element of a definition, as {dimension (or position): element}."""
    def expand(names: list[str]) -> list[tuple[tuple[str, str], ...]]:
        return list(itertools.product(*[[(s, e) for e in ranges[s]] if s in ranges
                                         else [(f"#{i}", s)] for i, s in enumerate(names)]))

    skip = {tuple(e for _, e in combo) for names in excepted for combo in expand(names)}
    return [dict(c) for c in expand(subs) if tuple(e for _, e in c) not in skip]


def render(e: I.Expr, names: Mapping[str, str], hidden: Mapping[str, I.HiddenStock] | None = None,
           prec: int = 0) -> str:
    """Vensim-like text of an IR expression, with real names and the needed parentheses."""
    def sub(x: I.Expr, p: int = 0) -> str:
        return render(x, names, hidden, p)

    if isinstance(e, I.Num):
        return f"{e.value:.10g}"
    if isinstance(e, I.Ref) and hidden and e.name in hidden:
        h = hidden[e.name]
        keys = (*_HIDDEN_ARGS, "order") if h.kind.endswith("_n") else _HIDDEN_ARGS
        args = ", ".join(sub(h.args[k]) for k in keys if k in h.args)
        return f"{h.kind.upper().replace('_', ' ')}({args})"
    if isinstance(e, I.Ref):
        return "Time" if e.name == "time" else names.get(e.name, e.name)
    if isinstance(e, I.BinOp):
        p, op = _PREC[e.op], {"and": ":AND:", "or": ":OR:"}.get(e.op, e.op)
        text = f"{sub(e.left, p + (e.op == '^'))} {op} {sub(e.right, p + (e.op != '^'))}"
        return f"({text})" if p < prec else text
    if isinstance(e, I.UnaryOp):
        return ("-" if e.op == "-" else ":NOT: ") + sub(e.operand, 6)
    if isinstance(e, I.Call):
        return f"{_KIND.get(e.fn, e.fn.upper().replace('_', ' '))}(" \
               f"{', '.join(sub(a) for a in e.args)})"
    if isinstance(e, I.LookupCall):
        return f"{names.get(e.table, e.table)}({sub(e.arg)})"
    if isinstance(e, I.InlineLookup):
        return f"WITH LOOKUP({sub(e.arg)}, [{min(e.table.x):g}..{max(e.table.x):g}])"
    if e.construct == "subscript_ref" and e.args:
        return f"{sub(e.args[0])}[{e.detail}]"
    return f"{e.construct.upper()}({e.detail})"


# --------------------------------------------------------------------------- evaluation
class Evaluator:
    """Evaluates definitions at every step; records what each gate selects.

    ``columns`` are a run's values saved at every step (``name`` or ``name[element]``),
    ``scalars`` the control values, ``series`` the PySD names of constants given as
    time series; :attr:`found` collects one outcome per gate and element.
    """

    def __init__(self, parts: Parts, columns: dict[str, np.ndarray], time: np.ndarray,
                 scalars: dict[str, float], series: set[str]) -> None:
        self.parts, self.columns, self.time, self.scalars = parts, columns, time, scalars
        self.series = series  # constants given as time series: they depend on Time
        self.hidden_values: dict[str, np.ndarray] = {}
        self.levels: dict[str, int] = {}
        self.found: dict[tuple[str, int, int], list[tuple[str, dict[str, Any]]]] = {}
        self.binding: dict[str, str] = {}
        self.key, self.counter = ("", 0), 0
        self.nan = np.full(len(time), np.nan)

    def level(self, e: I.Expr) -> int:
        """0: depends only on constants; 1: on constants and Time; 2: on the state."""
        return max(self.node_level(node) for node in I.walk(e))

    def node_level(self, e: I.Expr) -> int:
        """:meth:`level` of one node (a reference: of its variable)."""
        if isinstance(e, I.Ref) and e.name in self.parts.hidden:
            return 0 if self.parts.hidden[e.name].kind == "initial" else 2
        if isinstance(e, I.Ref):
            return 1 if e.name == "time" else 0 if e.name in I.CONTROL else self.var_level(e.name)
        if isinstance(e, I.Call) and e.fn.startswith("random") or \
                isinstance(e, I.Opaque) and e.construct not in ("subscript_ref", "ndarray"):
            return 2
        return int(isinstance(e, I.Call) and e.fn in _TIME_FNS)

    def var_level(self, name: str) -> int:
        """:meth:`level` of the variable ``name`` (PySD name): 2 for a stock, 1 for data."""
        if name not in self.levels:
            self.levels[name] = 2  # guards cycles
            kind = self.parts.kinds.get(name, "stock")
            self.levels[name] = 2 if kind == "stock" else 1 if kind == "data" or \
                name in self.series else max([0, *(self.level(d[2])
                                                   for d in self.parts.defs.get(name, []))])
        return self.levels[name]

    def evaluate_all(self) -> None:
        """Evaluate every definition at every element; the gates land in :attr:`found`."""
        with np.errstate(all="ignore"):
            for py, definitions in self.parts.defs.items():
                for k, (subs, excepted, expr) in enumerate(definitions):
                    for binding in expand_elements(subs, excepted, self.parts.ranges):
                        self.key, self.binding, self.counter = (py, k), binding, 0
                        self.value(expr, np.ones(len(self.time), dtype=bool))

    def full(self, value: Any) -> np.ndarray:
        return np.broadcast_to(np.asarray(value, dtype=float), self.time.shape)

    def column(self, name: str, subs: str | None) -> np.ndarray:
        real, label = self.parts.names.get(name, name), ",".join(self.binding.values())
        if subs is not None:
            label = ",".join(self.element(s) or "?" for s in subs.split(","))
        keys = (f"{real}[{label}]",) if subs is not None else (real, f"{real}[{label}]")
        return next((self.columns[k] for k in keys if k in self.columns), self.nan)

    def element(self, sub: str) -> str | None:
        if sub in self.binding:
            return self.binding[sub]
        if sub not in self.parts.ranges:
            return sub
        return next((e for e in self.binding.values() if e in self.parts.ranges[sub]), None)

    def value(self, e: I.Expr, active: np.ndarray) -> Any:
        """``e`` at every step (gates in it are recorded where ``active``)."""
        if isinstance(e, I.Num):
            return float(e.value)
        if isinstance(e, I.Ref):
            return self.ref(e.name, active)
        if isinstance(e, I.BinOp):
            return _BIN[e.op](self.value(e.left, active), self.value(e.right, active))
        if isinstance(e, I.UnaryOp):
            x = self.value(e.operand, active)
            return np.negative(x) if e.op == "-" else np.logical_not(x)
        if isinstance(e, I.Call):
            return self.call(e, active)
        if isinstance(e, I.LookupCall | I.InlineLookup):
            return self.lookup(e, active)
        if e.construct == "subscript_ref" and isinstance(e.args[0], I.Ref):
            return self.column(e.args[0].name, e.detail)
        return self.nan

    def ref(self, name: str, active: np.ndarray) -> Any:
        if name == "time":
            return self.time
        if name in self.scalars:
            return self.scalars[name]
        if name in self.parts.hidden:
            args = self.parts.hidden[name].args
            for key in _HIDDEN_ARGS:  # gates in a SMOOTH's input act at every step too
                if key in args:
                    self.value(args[key], active)
            return self.hidden_values.get(name, self.nan)
        return self.column(name, None)

    def call(self, e: I.Call, active: np.ndarray) -> Any:
        if e.fn == "active_initial":
            return self.value(e.args[0], active)
        if e.fn not in _KIND:
            args = [self.value(a, active) for a in e.args]
            return _apply(e.fn, args, self.time, self.scalars["time_step"], self.nan)
        index, self.counter = self.counter, self.counter + 1
        if e.fn == "if_then_else":
            cond = self.full(self.value(e.args[0], active))
            truth = cond != 0
            then, other = (self.value(e.args[1], active & truth),
                           self.value(e.args[2], active & ~truth))
            self.record(index, e, e.args[0], active, np.isnan(cond), truth,
                        {"then": truth, "else": ~truth}, "condition true")
            return np.where(truth, then, other)
        values = np.array([self.full(self.value(a, active)) for a in e.args])
        pick = np.minimum if e.fn == "min" else np.maximum
        levels = [self.level(a) for a in e.args]
        limits = [i for i, level in enumerate(levels) if level == 0]
        if not limits or len(limits) == len(levels):
            limits = list(range(1, len(levels)))  # the first argument is the quantity
        if limits:
            free = [i for i in range(len(levels)) if i not in limits]
            limit, quantity = pick.reduce(values[limits]), pick.reduce(values[free])
            hits = values == pick.reduce(values)
            tie = hits.sum(axis=0) > 1
            texts = [render(a, self.parts.names, self.parts.hidden) for a in e.args]
            self.record(index, e, None, active, np.isnan(values).any(axis=0),
                        limit < quantity if e.fn == "min" else limit > quantity,
                        {**{t: h & ~tie for t, h in zip(texts, hits, strict=True)}, "ties": tie},
                        "limit selected: " + ", ".join(texts[i] for i in limits))
        return pick.reduce(values)

    def lookup(self, e: I.LookupCall | I.InlineLookup, active: np.ndarray) -> Any:
        table = e.table if isinstance(e, I.InlineLookup) else self.parts.tables.get(e.table)
        index, self.counter = self.counter, self.counter + 1
        x = self.full(self.value(e.arg, active))
        if table is None:
            return self.nan
        lo, hi = min(table.x), max(table.x)
        self.record(index, e, e.arg, active, np.isnan(x), (x < lo) | (x > hi),
                    {"below": x < lo, "above": x > hi}, f"input outside [{lo:g}, {hi:g}]",
                    "extrapolation" if table.interpolation == "extrapolate" else "gate")
        try:
            return runtime.Lookup("lookup", table.x, table.y, table.interpolation)(x)
        except SdkitError:
            return self.nan

    def record(self, index: int, e: I.Expr, condition: I.Expr | None, active: np.ndarray,
               unknown: np.ndarray, bound: np.ndarray, masks: dict[str, np.ndarray],
               rule: str, role: str = "gate") -> None:
        """Keep one element's outcome; the final time acts over no interval (``[:-1]``)."""
        if condition is not None and self.level(condition) < 2:
            role = "schedule"
        known = (active & ~unknown)[:-1]
        label = "[" + ",".join(self.binding.values()) + "]" if self.binding else ""
        self.found.setdefault((*self.key, index), []).append((label, {
            "kind": _KIND.get(getattr(e, "fn", ""), "LOOKUP"), "role": role, "rule": rule,
            "text": render(e, self.parts.names, self.parts.hidden),
            "selected": {k: int((m[:-1] & known).sum()) for k, m in masks.items()},
            "bound": np.asarray(bound, dtype=bool)[:-1] & known,
            "unknown": int((active & unknown)[:-1].sum())}))


def _apply(fn: str, args: list[Any], t: Any, dt: float, nan: np.ndarray) -> Any:
    """A function that is not a gate, as PySD computes it (an unknown one gives NaN)."""
    timed: dict[str, Any] = {
        "step": lambda: runtime.step(t, dt, args[0], args[1]),
        "ramp": lambda: runtime.ramp(t, *args), "Xramp": lambda: runtime.ramp(t, *args),
        "pulse": lambda: runtime.pulse(t, dt, args[0], width=args[1]),
        "pulse_train": lambda: runtime.pulse(t, dt, args[0], repeat_time=args[1],
                                             width=args[2], end=args[3]),
        "log": lambda: np.log(args[0]) / np.log(args[1]), "pi": lambda: np.pi}
    return _FN[fn](*args) if fn in _FN else timed[fn]() if fn in timed else nan

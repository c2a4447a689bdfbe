"""Compile a :class:`sdkit.ir.core.ModelIR` to one Python function over numpy arrays.

The generated function integrates ``N`` parameter sets at once.  Every value is
a numpy array of shape ``(N,)`` (or a Python scalar when it is the same for all
sets), and every equation is written as the same sequence of floating-point
operations PySD's generated code performs for one set, so each element is
bitwise equal to PySD's run.  The semantics mirrored from PySD 3.14:

* time starts at INITIAL TIME and grows by ``t = t + dt`` while
  ``t + dt * 1e-5 < FINAL TIME``; a time is saved when
  ``(t - t0) % saveper`` (or its negative) is below ``dt * 1e-5``; the
  saved index is ``np.round(t, -int(log10(dt * 1e-5)))``;
* stocks are initialised in dependency order at the initial time (ACTIVE
  INITIAL takes its initial branch), then each step evaluates the auxiliaries,
  saves, computes every derivative, and updates ``state + ddt * dt``
  (``max(., 0)`` for non-negative stocks; DELAY FIXED and SAMPLE IF TRUE
  replace their state instead);
* SMOOTH / DELAY / DELAY N / TREND / FORECAST are hidden stocks with the exact
  expressions of :mod:`pysd.py_backend.statefuls`; DELAY FIXED is a ring buffer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sdkit.engine import runtime
from sdkit.errors import UnsupportedConstructError
from sdkit.ir import core as I
from sdkit.util.validation import check_saved_rows

_FUNCS = {
    "abs": "np.abs", "exp": "np.exp", "sin": "np.sin", "cos": "np.cos", "tan": "np.tan",
    "arcsin": "np.arcsin", "arccos": "np.arccos", "arctan": "np.arctan", "sinh": "np.sinh",
    "cosh": "np.cosh", "tanh": "np.tanh", "sqrt": "np.sqrt", "ln": "np.log",
    "power": "np.power", "min": "np.minimum", "max": "np.maximum", "integer": "_rt.integer",
    "modulo": "_rt.modulo", "quantum": "_rt.quantum", "xidz": "_rt.xidz", "zidz": "_rt.zidz",
}
_COMPARE = {"=": "==", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_ARITH = {"+": "+", "-": "-", "*": "*", "/": "/"}


def refuse(construct: str, variable: str, detail: str = "") -> UnsupportedConstructError:
    extra = f" ({detail})" if detail else ""
    return UnsupportedConstructError(
        f"The ensemble engine cannot run {construct}{extra} in {variable!r}; "
        "run this model with PySD instead.", construct=construct, variable=variable)


@dataclass
class TimeGrid:
    """The time steps of one run, computed with PySD's scalar arithmetic."""

    initial: float
    final: float
    dt: float
    saveper: float
    times: list[float]
    save: list[bool]

    @property
    def saved_times(self) -> np.ndarray:
        digits = -int(np.log10(self.dt * 1e-5))
        return np.array([np.round(t, digits) for t, s in zip(self.times, self.save,
                                                             strict=True) if s], dtype=float)


def time_grid(initial: Any, final: Any, dt: Any, saveper: Any) -> TimeGrid:
    """Replicate ``pysd.py_backend.components.Time`` for one run."""
    prec = dt * 1e-5
    t = initial
    times, save = [], []

    def in_return(t: Any) -> bool:
        delay = t - initial
        return delay % saveper < prec or -delay % saveper < prec

    while t + dt * 1e-5 < final:
        times.append(t)
        save.append(in_return(t))
        t = t + dt
    times.append(t)
    save.append(in_return(t))
    check_saved_rows("the ensemble run", initial, final, saveper, sum(save),
                     max((x for x, s in zip(times, save, strict=True) if s), default=initial))
    return TimeGrid(initial, final, dt, saveper, times, save)


class ExprGenerator:
    """Python source generation for one compiled model."""

    def __init__(self, model: I.ModelIR, params: set[str]) -> None:
        self.ir = model
        self.params = params
        self.lookups: dict[str, Any] = {}
        #: The lookups' points as data (``sdkit.engine.program.TableSpec``), by name.
        self.tables: dict[str, tuple[Any, ...]] = {}
        self.consts: dict[str, Any] = {}
        self.owner = ""
        self.init_phase = False

    # ----------------------------------------------------------------- expressions
    def name(self, ref: str) -> str:
        if ref == "time":
            return "t"
        if ref == "time_step":
            return "dt"
        return "h" + ref if ref.startswith("_") else "v_" + ref

    def expr(self, e: I.Expr | None) -> str:
        # ``None`` (a variable without an equation) is refused like any unknown node.
        if isinstance(e, I.Num):
            value = e.value
            if isinstance(value, float) and not math.isfinite(value):
                key = f"_c{len(self.consts)}"
                self.consts[key] = value
                return key
            return repr(value)
        if isinstance(e, I.Ref):
            return self.ref(e)
        if isinstance(e, I.BinOp):
            return self.binop(e)
        if isinstance(e, I.UnaryOp):
            if e.op == "-":
                return f"(-{self.expr(e.operand)})"
            if e.op == "not":
                return f"np.logical_not({self.expr(e.operand)})"
            raise refuse(f"the operator {e.op!r}", self.owner)
        if isinstance(e, I.Call):
            return self.call(e)
        if isinstance(e, I.LookupCall | I.InlineLookup):
            return self.lookup(e)
        if isinstance(e, I.Opaque):
            names = {"subscripts": "subscripts", "macro": "macros", "data": "data",
                     "getdata": "GET DATA", "getlookups": "GET LOOKUPS"}
            raise refuse(names.get(e.construct, e.construct), self.owner, e.detail[:80])
        raise refuse(type(e).__name__, self.owner)

    def ref(self, e: I.Ref) -> str:
        if e.name not in self.ir.variables and e.name not in self.ir.hidden \
                and e.name != "time":
            raise refuse("a reference to an unknown element", self.owner, e.name)
        var = self.ir.variables.get(e.name)
        if var is not None and var.kind == "lookup":
            raise refuse("a lookup used as a value", self.owner, e.name)
        return self.name(e.name)

    def binop(self, e: I.BinOp) -> str:
        left, right = self.expr(e.left), self.expr(e.right)
        if e.op in _ARITH:
            return f"({left} {_ARITH[e.op]} {right})"
        if e.op == "^":
            return f"_pow({left}, {right})"
        if e.op in _COMPARE:
            return f"({left} {_COMPARE[e.op]} {right})"
        if e.op == "and":
            return f"np.logical_and({left}, {right})"
        if e.op == "or":
            return f"np.logical_or({left}, {right})"
        raise refuse(f"the operator {e.op!r}", self.owner)

    def lookup(self, e: I.LookupCall | I.InlineLookup) -> str:
        """A named or inline lookup: its object in ``lookups``, its points in ``tables``."""
        if isinstance(e, I.InlineLookup):
            key = f"_il{len(self.lookups)}"
            xs, ys = runtime.pysd_points(e.table.x), runtime.pysd_points(e.table.y)
            self.lookups[key] = lambda x, xs=xs, ys=ys: runtime.inline_lookup(x, xs, ys)
            self.tables[key] = ("inline", _floats(e.table.x), _floats(e.table.y))
            return f"{key}({self.expr(e.arg)})"
        var = self.ir.variables.get(e.table)
        if var is None or var.kind != "lookup" or var.lookup is None:
            raise refuse("a call of a non-lookup variable", self.owner, e.table)
        key = "_lk_" + e.table
        if key not in self.lookups:
            table = var.lookup
            self.lookups[key] = runtime.Lookup(var.name, table.x, table.y,
                                               table.interpolation)
            self.tables[key] = ("lookup", var.name, _floats(table.x), _floats(table.y),
                                table.interpolation)
        return f"{key}({self.expr(e.arg)})"

    def call(self, e: I.Call) -> str:
        fn, args = e.fn, [self.expr(a) for a in e.args]
        if fn in _FUNCS:
            if fn in ("min", "max") and len(args) != 2:
                raise refuse(f"{fn.upper()} with {len(args)} arguments", self.owner)
            return f"{_FUNCS[fn]}({', '.join(args)})"
        if fn == "log":
            return f"(np.log({args[0]})/np.log({args[1]}))"
        if fn == "pi":
            return "np.pi"
        if fn == "if_then_else":
            return f"_rt.ite({', '.join(args)})"
        if fn == "step":
            return f"_rt.step(t, dt, {args[0]}, {args[1]})"
        if fn == "ramp":
            return f"_rt.ramp(t, {', '.join(args)})"
        if fn == "Xramp":
            return f"_rt.ramp(t, {args[0]}, {args[1]})"
        if fn == "pulse":
            return f"_rt.pulse(t, dt, {args[0]}, width={args[1]})"
        if fn == "Xpulse":
            return f"_rt.pulse(t, dt, {args[0]}, magnitude={args[1]})"
        if fn == "pulse_train":
            return (f"_rt.pulse(t, dt, {args[0]}, repeat_time={args[1]}, width={args[2]}, "
                    f"end={args[3]})")
        if fn == "Xpulse_train":
            return f"_rt.pulse(t, dt, {args[0]}, repeat_time={args[1]}, magnitude={args[2]})"
        if fn == "active_initial":
            return args[1] if self.init_phase else args[0]
        raise refuse(fn.upper().replace("_", " "), self.owner)

    # ----------------------------------------------------------------- hidden stocks
    def hidden_value(self, h: I.HiddenStock) -> str:
        s = "s" + h.py_name
        a = {k: self.expr(v) for k, v in h.args.items() if k != "order"}
        if h.kind in ("smooth", "smooth_n"):
            return f"{s}[-1]"
        if h.kind == "delay":
            return f"({s}[-1] / {a['delay_time']})"
        if h.kind == "delay_n":
            return f"({s}[-1] / {s}__times[0])"
        if h.kind in ("delay_fixed", "initial"):
            return s
        if h.kind == "trend":
            return f"_rt.zidz({a['input']} - {s}, {a['average_time']} * np.abs({s}))"
        if h.kind == "forecast":
            return (f"({a['input']} * (1 + _rt.zidz({a['input']} - {s}, "
                    f"{a['average_time']} * {s}) * {a['horizon']}))")
        if h.kind == "sample_if_true":
            return f"_rt.ite({a['condition']}, {a['input']}, {s})"
        raise refuse(h.kind.upper(), h.owner)

    def hidden_init(self, h: I.HiddenStock) -> list[str]:
        s = "s" + h.py_name
        self.owner = h.owner
        a = {k: self.expr(v) for k, v in h.args.items()}
        own = repr(h.owner)
        if h.kind in ("smooth", "smooth_n"):
            return [f"{s}__order = _rt.uniform({a['order']}, 'SMOOTH order', {own})",
                    f"{s} = np.array([_rt.full({a['initial']}, N)] * int({s}__order))"]
        if h.kind in ("delay", "delay_n"):
            lines = [f"{s}__order = _rt.delay_order({a['order']}, dt, {a['delay_time']}, {own})",
                     f"{s} = np.array([_rt.full({a['initial']} * {a['delay_time']}, N)]"
                     f" * {s}__order)"]
            if h.kind == "delay_n":
                lines.append(f"{s}__times = np.array([_rt.full({a['delay_time']}, N)]"
                             f" * {s}__order)")
            return lines
        if h.kind == "delay_fixed":
            return [f"{s}__order = _rt.delay_fixed_order({a['delay_time']}, dt, {own})",
                    f"{s} = _rt.full({a['initial']}, N)",
                    f"{s}__pipe = [{s}] * {s}__order", f"{s}__ptr = 0"]
        if h.kind == "trend":
            return [f"{s} = _rt.full({a['input']} / (1 + {a['initial_trend']} * "
                    f"{a['average_time']}), N)"]
        if h.kind == "forecast":
            return [f"{s} = _rt.full({a['input']} / (1 + {a['initial_trend']}), N)"]
        if h.kind in ("sample_if_true", "initial"):
            return [f"{s} = _rt.full({a['initial']}, N)"]
        raise refuse(h.kind.upper(), h.owner)

    def hidden_ddt(self, h: I.HiddenStock) -> list[str]:
        s = "s" + h.py_name
        self.owner = h.owner
        a = {k: self.expr(v) for k, v in h.args.items() if k != "order"}
        if h.kind in ("smooth", "smooth_n"):
            return [f"_tg = np.roll({s}, 1, axis=0)", f"_tg[0] = {a['input']}",
                    f"d{s} = (_tg - {s}) * {s}__order / {a['smooth_time']}"]
        if h.kind == "delay":
            return [f"_of = {s} / {a['delay_time']}", "_if = np.roll(_of, 1, axis=0)",
                    f"_if[0] = {a['input']}", f"d{s} = (_if - _of) * {s}__order"]
        if h.kind == "delay_n":
            return [f"{s}__times = np.roll({s}__times, 1, axis=0)",
                    f"{s}__times[0] = {a['delay_time']}",
                    f"_of = {s} / {s}__times", "_if = np.roll(_of, 1, axis=0)",
                    f"_if[0] = {a['input']}", f"d{s} = (_if - _of) * {s}__order"]
        if h.kind in ("trend", "forecast"):
            return [f"d{s} = ({a['input']} - {s}) / {a['average_time']}"]
        if h.kind == "delay_fixed":
            return [f"n{s} = {a['input']}"]
        if h.kind == "sample_if_true":
            return [f"n{s} = {s} * 0 + _rt.ite({a['condition']}, {a['input']}, {s})"]
        return []

    def hidden_update(self, h: I.HiddenStock) -> list[str]:
        s = "s" + h.py_name
        if h.kind in ("smooth", "smooth_n", "delay", "delay_n", "trend", "forecast"):
            return [f"{s} = {s} + d{s} * dt"]
        if h.kind == "delay_fixed":
            return [f"{s}__pipe[{s}__ptr] = n{s}", f"{s}__ptr = ({s}__ptr + 1) % {s}__order",
                    f"{s} = {s}__pipe[{s}__ptr]"]
        if h.kind == "sample_if_true":
            return [f"{s} = n{s}"]
        return []


def _floats(values: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def hidden_inputs(h: I.HiddenStock, phase: str) -> set[str]:
    """References a hidden stock needs in a phase: ``init``, ``value`` or ``ddt``."""
    args = h.args
    pick = {
        "init": {"smooth": ["initial", "order"], "smooth_n": ["initial", "order"],
                 "delay": ["initial", "delay_time", "order"],
                 "delay_n": ["initial", "delay_time", "order"],
                 "delay_fixed": ["initial", "delay_time"],
                 "trend": ["input", "initial_trend", "average_time"],
                 "forecast": ["input", "initial_trend"],
                 "sample_if_true": ["initial"], "initial": ["initial"]},
        "value": {"delay": ["delay_time"], "trend": ["input", "average_time"],
                  "forecast": ["input", "average_time", "horizon"],
                  "sample_if_true": ["condition", "input"]},
        "ddt": {"smooth": ["input", "smooth_time"], "smooth_n": ["input", "smooth_time"],
                "delay": ["input", "delay_time"], "delay_n": ["input", "delay_time"],
                "trend": ["input", "average_time"], "forecast": ["input", "average_time"],
                "delay_fixed": ["input"], "sample_if_true": ["condition", "input"]},
    }[phase].get(h.kind, [])
    found: set[str] = set()
    for key in pick:
        found |= I.references(args.get(key))
    return found

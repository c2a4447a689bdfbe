"""How long each MIN, MAX, IF THEN ELSE and lookup of a model binds during a run.

:func:`gate_report` runs the model once with PySD saved at every TIME STEP (its
baseline or a scenario) and evaluates every gate of every equation (stock rates
and SMOOTH/DELAY inputs included; initial values act once and are not gates) at
every step and subscript element, with a numpy evaluator over the IR and PySD's
functions (:mod:`sdkit.engine.runtime`); nothing read from the model is executed.
Hidden stocks in a gate's arguments come from the ensemble engine (steps it
cannot give are "not evaluated", as the gate's note says).

A gate *binds* (a tie ``a == b`` never does; inside an IF THEN ELSE branch, only
while that branch is selected): a ``MIN``/``MAX`` when a *limit*, an argument
that is a number or depends only on constants, is selected over every other
argument (when none or all are constant, the first argument is the quantity and
the others the limits: write ``MIN(quantity, limit)``); an ``IF THEN ELSE`` while
its condition is true (a condition of constants and Time only is a *schedule*,
listed, not counted); a lookup while its input is outside the x range, where the
table holds its end value (an input of constants and Time only is a schedule, an
extrapolating XMILE table an ``extrapolation``; neither is counted). The value at
``t`` acts over ``[t, t + dt)``: ``years = dt * steps bound`` in years (months,
weeks, days, quarters converted), ``share = years / run length``. A subscripted
gate is reported at the element bound longest. See docs/reliability.md.
"""

from __future__ import annotations

import itertools
import os
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sdkit import ir as I
from sdkit.engine import runtime
from sdkit.errors import ScenarioError, SdkitError

if TYPE_CHECKING:
    import pandas as pd

    from sdkit.model import Model
    from sdkit.scenarios import Scenario

__all__ = ["Gate", "GateReport", "gate_report", "render"]

_KIND = {"min": "MIN", "max": "MAX", "if_then_else": "IF THEN ELSE"}
_TIME_FNS = {"step", "ramp", "Xramp", "pulse", "Xpulse", "pulse_train", "Xpulse_train",
             "get_time_value"}
_HIDDEN_ARGS = ("input", "smooth_time", "delay_time", "average_time", "horizon", "condition")
_UNITS = {"year": 1.0, "yr": 1.0, "quarter": 0.25, "month": 1 / 12, "week": 7 / 365.25,
          "day": 1 / 365.25, "hour": 1 / 8766}
_PREC = {"or": 1, "and": 2, "=": 3, "<>": 3, "<": 3, "<=": 3, ">": 3, ">=": 3, "+": 4,
         "-": 4, "*": 5, "/": 5, "^": 7}
_BIN = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "^": np.power,
        "=": np.equal, "<>": np.not_equal, "<": np.less, "<=": np.less_equal,
        ">": np.greater, ">=": np.greater_equal, "and": np.logical_and, "or": np.logical_or}
_FN: dict[str, Any] = {
    "abs": np.abs, "exp": np.exp, "ln": np.log, "sqrt": np.sqrt, "sin": np.sin, "cos": np.cos,
    "tan": np.tan, "power": np.power, "integer": runtime.integer, "modulo": runtime.modulo,
    "quantum": runtime.quantum, "xidz": runtime.xidz, "zidz": runtime.zidz}


@dataclass
class Gate:
    """One MIN, MAX, IF THEN ELSE or LOOKUP occurrence (``kind``, ``text``) at its worst element.

    ``role`` is ``gate`` (counted), ``schedule`` or ``extrapolation``; ``rule`` says
    when it binds; ``selected`` counts the steps each argument (ties apart), branch
    or side of the range was selected; of ``steps`` integration steps it is bound
    ``binding_steps`` (``years``, ``share`` of the run) and switches ``switches``
    times; ``note`` counts steps that could not be evaluated.
    """

    variable: str
    element: str
    kind: str
    text: str
    role: str
    rule: str
    selected: dict[str, int]
    steps: int
    binding_steps: int
    switches: int
    years: float
    share: float
    note: str = ""

    @property
    def counted(self) -> bool:
        """Whether it counts as a gate (schedules and extrapolations do not)."""
        return self.role == "gate"

    def label(self) -> str:
        """``variable[element]: text``."""
        return f"{self.variable}{self.element}: {self.text}"


@dataclass
class GateReport:
    """The outcome of :func:`gate_report`: one :class:`Gate` per occurrence, in model order."""

    model: str
    scenario: str
    time_step: float
    run_years: float
    gates: list[Gate] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """One row per occurrence (``selected`` written as ``name count`` pairs)."""
        import pandas as pd

        rows = [{**row, "selected": "; ".join(f"{k} {v}" for k, v in row["selected"].items())}
                for row in self.to_dict()["gates"]]
        return pd.DataFrame(rows, columns=[*Gate.__dataclass_fields__, "counted"])

    def binding_longer_than(self, years: float = 1.0) -> list[Gate]:
        """Counted gates bound for more than ``years`` years, longest first."""
        return sorted((g for g in self.gates if g.counted and g.years > years),
                      key=lambda g: -g.years)

    def to_dict(self, max_years: float = 1.0) -> dict[str, Any]:
        """JSON-ready: the run, every gate, and the gates bound longer than ``max_years``."""
        return {"model": self.model, "scenario": self.scenario, "time_step": self.time_step,
                "run_years": self.run_years, "max_years": max_years,
                "gates": [{**asdict(g), "counted": g.counted} for g in self.gates],
                "offenders": [g.label() for g in self.binding_longer_than(max_years)]}

    def text(self, max_years: float = 1.0) -> str:
        """A table (counted gates first, longest first), then one line per offender."""
        lines = [f"Gates of {self.model} ({self.scenario}; {self.run_years:g} years, time step "
                 f"{self.time_step:g}):", "  years  share switch  role          variable: text"]
        for g in sorted(self.gates, key=lambda g: (not g.counted, -g.years)):
            text = g.label() if len(g.label()) <= 90 else g.label()[:87] + "..."
            lines.append(f"{g.years:7.2f} {g.share:6.1%} {g.switches:6d}  {g.role:<13} {text}"
                         + (f"  ({g.note})" if g.note else ""))
        offenders = self.binding_longer_than(max_years)
        limit = f"{max_years:g} year" + ("" if max_years == 1 else "s")
        if not offenders:
            return "\n".join([*lines, f"No gate binds longer than {limit}."])
        verb = "gate binds" if len(offenders) == 1 else "gates bind"
        return "\n".join([*lines, f"{len(offenders)} {verb} longer than {limit}:"] + [
            f"  {g.label()} binds {g.years:.2f} years ({g.share:.0%}); {g.rule}"
            for g in offenders])


# --------------------------------------------------------------------------- equations
class _SubscriptBuilder(I._Builder):
    """The IR builder, keeping the subscripts of references as ``Opaque("subscript_ref")``."""

    def _ReferenceStructure(self, node: Any) -> I.Expr:
        subs = getattr(node, "subscripts", None)
        ref = I.Ref(self.ref_name(node.reference))
        return I.Opaque("subscript_ref", ",".join(subs.subscripts), (ref,)) if subs else ref


@dataclass
class _Parts:
    names: dict[str, str]  # py name -> real name
    defs: dict[str, list[tuple[list[str], list[list[str]], I.Expr]]]  # subscripts, except, eq
    kinds: dict[str, str]
    tables: dict[str, I.LookupTable]
    hidden: dict[str, I.HiddenStock]
    ranges: dict[str, list[str]]


def _parts(model: Model) -> _Parts:
    from sdkit.translation import read_abstract

    abstract = read_abstract(Path(model.path), model.format)
    section = abstract.sections[0]
    builder = _SubscriptBuilder(section, tuple(s.name for s in abstract.sections[1:]))
    parts = _Parts({}, {}, {}, {}, builder.hidden, {
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


def _elements(subs: list[str], excepted: list[list[str]], ranges: Mapping[str, list[str]]
              ) -> list[dict[str, str]]:
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
class _Evaluator:
    """Evaluates definitions at every step; records what each gate selects."""

    def __init__(self, parts: _Parts, columns: dict[str, np.ndarray], time: np.ndarray,
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
        if isinstance(e, I.Ref) and e.name in self.parts.hidden:
            return 0 if self.parts.hidden[e.name].kind == "initial" else 2
        if isinstance(e, I.Ref):
            return 1 if e.name == "time" else 0 if e.name in I.CONTROL else self.var_level(e.name)
        if isinstance(e, I.Call) and e.fn.startswith("random") or \
                isinstance(e, I.Opaque) and e.construct not in ("subscript_ref", "ndarray"):
            return 2
        return int(isinstance(e, I.Call) and e.fn in _TIME_FNS)

    def var_level(self, name: str) -> int:
        if name not in self.levels:
            self.levels[name] = 2  # guards cycles
            kind = self.parts.kinds.get(name, "stock")
            self.levels[name] = 2 if kind == "stock" else 1 if kind == "data" or \
                name in self.series else max([0, *(self.level(d[2])
                                                   for d in self.parts.defs.get(name, []))])
        return self.levels[name]

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


# --------------------------------------------------------------------------- the report
def _scenario(scenario: Scenario | str | os.PathLike[str] | None, model: Model
              ) -> Scenario | None:
    """A scenario object, ``.toml`` file, or name (in ``./scenarios`` or ``../scenarios``
    beside the model), validated against ``model``; ``ScenarioError`` if unknown."""
    from sdkit.limits import read_toml
    from sdkit.scenarios import Scenario, load_scenario

    if scenario is None or isinstance(scenario, Scenario):
        return scenario
    path = Path(scenario)
    if path.suffix.lower() == ".toml" or path.is_file() or len(path.parts) > 1:
        return load_scenario(path, model=model)
    folders = dict.fromkeys(f.resolve() for f in (
        Path("scenarios"), Path(model.path).resolve().parent.parent / "scenarios") if f.is_dir())
    known: dict[str, Path] = {}
    for file in (f for folder in folders for f in sorted(folder.glob("*.toml"))):
        try:
            known.setdefault(str(read_toml(file, what="the scenario file").get("name")), file)
        except SdkitError:
            continue
    if str(scenario) in known:
        return load_scenario(known[str(scenario)], model=model)
    raise ScenarioError(f"No scenario named {str(scenario)!r} in {[str(f) for f in folders]}; "
                        f"known: {sorted(known)}.", key="name")


def _hidden_values(model: Model, params: Mapping[str, Any], final: float, dt: float
                   ) -> dict[str, np.ndarray]:
    """The hidden stocks at every step, from the ensemble engine ({} where it refuses)."""
    from sdkit.engine.assemble import build_program
    from sdkit.engine.compiler import time_grid

    if any(not np.isscalar(v) for v in params.values()):
        return {}  # time-series inputs: the engine runs constants only
    try:
        ir = I.build_ir(model)
        given: dict[str, Any] = {model.variable(k).py_name: np.array([float(v)])
                                 for k, v in params.items()}
        program = build_program(ir, list(given), list(ir.hidden))
        grid = time_grid(model.initial_time, final, dt, dt)
        given.update(initial_time=grid.initial, final_time=grid.final, saveper=grid.saveper)
        rows: list[list[float]] = []
        with np.errstate(all="ignore"):
            program.function(given, 1, grid.times, grid.save, grid.dt,
                             lambda j, values: rows.append([np.ravel(v)[0] for v in values]))
    except SdkitError:
        return {}
    return dict(zip(ir.hidden, np.array(rows, dtype=float).reshape(-1, len(ir.hidden)).T,
                    strict=True))


def gate_report(model: Model | str | os.PathLike[str], *,
                scenario: Scenario | str | os.PathLike[str] | None = None) -> GateReport:
    """Report how long every MIN, MAX, IF THEN ELSE and lookup binds in one run.

    Parameters
    ----------
    model : Model or path-like
        A loaded model or a model file.
    scenario : Scenario, path-like or str, optional
        A scenario (object, ``.toml`` file, or name of a file in ``./scenarios`` or
        in ``scenarios`` beside the model's folder) whose constants, inputs and run
        settings apply; default the baseline.

    Returns
    -------
    GateReport
        One :class:`Gate` per occurrence; "binds" is defined in the module docstring.

    Raises
    ------
    ModelFileNotFoundError, ModelParseError, ScenarioError
        The model or the scenario cannot be loaded.
    SimulationError
        The run fails or produces NaN or infinity.
    """
    from sdkit.engine.compiler import time_grid
    from sdkit.model import Model, load_model

    loaded = model if isinstance(model, Model) else load_model(model)
    chosen = _scenario(scenario, loaded)
    params = chosen.params(loaded) if chosen else {}
    dt = chosen.run_settings.get("time_step", loaded.time_step) if chosen else loaded.time_step
    final = chosen.run_settings.get("final_time", loaded.final_time) if chosen \
        else loaded.final_time
    with warnings.catch_warnings():  # the report lists the lookups used out of range
        warnings.filterwarnings("ignore", "(?s).*extrapolating data", UserWarning)
        frame = loaded.run(params, final_time=final, time_step=dt, saveper=dt)
    time = np.array(time_grid(loaded.initial_time, final, dt, dt).times, dtype=float)
    parts = _parts(loaded)
    evaluator = _Evaluator(
        parts, {c: frame[c].to_numpy(dtype=float) for c in frame.columns},
        time if len(time) == len(frame) else frame.index.to_numpy(dtype=float),
        {"initial_time": loaded.initial_time, "final_time": final, "time_step": dt,
         "saveper": dt},
        {loaded.variable(k).py_name for k, v in params.items() if not np.isscalar(v)})
    if parts.hidden:
        evaluator.hidden_values = {k: v for k, v in _hidden_values(
            loaded, params, final, dt).items() if len(v) == len(evaluator.time)}
    with np.errstate(all="ignore"):
        for py, definitions in parts.defs.items():
            for k, (subs, excepted, expr) in enumerate(definitions):
                for binding in _elements(subs, excepted, parts.ranges):
                    evaluator.key, evaluator.binding, evaluator.counter = (py, k), binding, 0
                    evaluator.value(expr, np.ones(len(evaluator.time), dtype=bool))
    units = next((v.units for v in loaded.variables.values() if v.py_name == "time_step"), "")
    per_year = _UNITS.get(units.strip().lower().removesuffix("s"), 1.0)
    report = GateReport(str(loaded.path), chosen.name if chosen else "baseline", float(dt),
                        float((final - loaded.initial_time) * per_year))
    order = {py: i for i, py in enumerate(parts.defs)}
    for key in sorted(evaluator.found, key=lambda key: (order[key[0]], *key[1:])):
        label, info = max(evaluator.found[key], key=lambda found: found[1]["bound"].sum())
        bound, steps = info["bound"], len(evaluator.time) - 1
        years = float(bound.sum() * dt * per_year)
        report.gates.append(Gate(
            parts.names[key[0]], label, info["kind"], info["text"], info["role"], info["rule"],
            info["selected"], steps, int(bound.sum()), int(np.count_nonzero(np.diff(bound))),
            years, years / report.run_years if report.run_years else 0.0,
            f"{info['unknown']} of {steps} steps not evaluated" if info["unknown"] else ""))
    return report

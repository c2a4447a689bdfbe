"""Channel decomposition: the share of an output's growth due to named channels, per stage.

The method is documented with the card's ``[channels]`` section in docs/formats.md. In
short: the output is inlined from the IR down to **leaves** (channel variables, stocks,
constants, data, ``Time``, and what is not plain algebra: lookups, ``MIN``, ``IF THEN
ELSE``, delays...), so ``Y = f(leaves)``; sympy differentiates ``f``
(:func:`sdkit.loops.evaluate.to_sympy`; :func:`sympy.lambdify` compiles sympy's printer
output with dummy argument names, so nothing read from a file is run); over each TIME STEP
leaf ``x`` contributes ``0.5 * (g(t_k) + g(t_k+1)) * (x(t_k+1) - x(t_k))`` with ``g =
df/dx``, or ``(df/dx) / f`` for ``ln Y``. A leaf counts in a channel when it is one of the
channel's variables or is computed within the step from them only (``effect(Buyers)``);
other leaves count as ``"other"``, and the **residual** is the actual change minus the
contributions, per stage (:func:`sdkit.analysis.stages.detect_stages`) or given time window.
"""
from __future__ import annotations

import contextlib
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

import sdkit.ir.core as sir
from sdkit.errors import ParameterValueError, ResourceLimitError, UnknownVariableError
from sdkit.model.card import ModelCard, card_path, load_card
from sdkit.util.names import close_matches, normalize_name
from sdkit.util.validation import run_warnings

__all__ = ["ChannelError", "NoChannelsError", "ChannelWindow", "ChannelDecomposition",
           "decompose", "OTHER", "RESIDUAL"]

#: The channel of leaves in no group, and the name of the unexplained part.
OTHER, RESIDUAL = "other", "residual"
_STOP_KINDS = ("stock", "constant", "control", "data", "lookup")
_FUNCTIONS = {("exp", 1), ("ln", 1), ("sqrt", 1), ("power", 2), ("log", 2)}


class ChannelError(ParameterValueError):
    """A channel decomposition that cannot be made as asked (the message says why)."""


class NoChannelsError(ChannelError):
    """Neither the arguments nor the model card name the output and the channels."""


class _Opaque(Exception):
    """Internal: an equation that cannot be inlined."""


def _ratio(value: float, total: float) -> float:
    return value / total if total != 0 and math.isfinite(total) else math.nan


@dataclass(frozen=True)
class ChannelWindow:
    """The decomposition over one stage or time window.

    Attributes
    ----------
    label : str
        ``"stage 2 intelligentization"``, ``"2015-2020"`` or ``"run"``.
    start, end, change, residual : float
        The window, the actual change of ``ln Y`` (or ``Y``) over it, and the change
        minus the sum of the contributions.
    contributions, leaves : dict of str to float
        Contribution by channel (the groups in order, then ``"other"``), and by leaf.
    stage : int or None
        The stage number of a stage window.
    """

    label: str
    start: float
    end: float
    change: float
    contributions: dict[str, float]
    residual: float
    leaves: dict[str, float]
    stage: int | None = None

    @property
    def shares(self) -> dict[str, float]:
        """Contribution / change by channel (NaN when the change is 0)."""
        return {k: _ratio(v, self.change) for k, v in self.contributions.items()}

    @property
    def relative_residual(self) -> float:
        """Residual / change."""
        return _ratio(self.residual, self.change)


@dataclass(frozen=True)
class ChannelDecomposition:
    """Result of :func:`decompose`.

    Attributes
    ----------
    output, log, scenario : str, bool, str or None
    groups, leaves : dict
        Channel -> its variables (real names); leaf -> the channel it counts in.
    windows : tuple of ChannelWindow
    time_step, fit_error : float
        Spacing of the run's points, and the largest ``|f(leaves) - Y|`` over the run
        relative to the largest ``|Y|``.
    """

    output: str
    log: bool
    groups: dict[str, tuple[str, ...]]
    leaves: dict[str, str]
    windows: tuple[ChannelWindow, ...]
    time_step: float
    fit_error: float
    scenario: str | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per window and channel (``"residual"`` last): columns ``window, stage,
        start, end, change, channel, contribution, share``."""
        rows = [(w.label, w.stage, w.start, w.end, w.change, name, value,
                 _ratio(value, w.change)) for w in self.windows
                for name, value in [*w.contributions.items(), (RESIDUAL, w.residual)]]
        return pd.DataFrame(rows, columns=["window", "stage", "start", "end", "change",
                                           "channel", "contribution", "share"])


class _Inliner:
    """Builds ``Y = f(leaves)`` in sympy, and the leaves' values on the run."""

    def __init__(self, ir: sir.ModelIR, channel_of: dict[str, str], env: Mapping[str, Any],
                 size: int) -> None:
        self.ir, self.channel_of, self.env, self.size = ir, channel_of, env, size
        self.symbols: dict[str, Any] = {}
        self.exprs: dict[str, Any] = {}
        #: leaf symbol name -> (label, values, the names it is computed from)
        self.leaves: dict[str, tuple[str, np.ndarray, set[str]]] = {}
        self.parts: dict[sir.Expr, str] = {}
        self.owner = ""

    def leaf(self, name: str, label: str, values: Any, refs: set[str]) -> Any:
        import sympy as sp

        array = np.broadcast_to(np.asarray(values, dtype=float), (self.size,))
        self.leaves[name] = (label, array, refs)
        return self.symbols.setdefault(name, sp.Symbol(name))

    def variable(self, py: str, output: bool = False) -> Any:
        """The inlined expression of variable ``py`` (a leaf symbol where it stops)."""
        if py in self.exprs:
            return self.exprs[py]
        var = self.ir.variables.get(py)
        equation = None if var is None or py in self.channel_of or var.kind in _STOP_KINDS \
            else var.equation
        expr = None
        with contextlib.suppress(_Opaque):
            expr = None if equation is None else self.inline(equation, py)
        if expr is None:
            if output and var is not None:
                raise ChannelError(f"The output {var.name!r} ({var.kind}) is not an algebraic "
                                   "expression of model variables: name an auxiliary that is.")
            refs = {py} if equation is None else sir.references(equation)
            expr = self.leaf(py, var.name if var else "Time", self.env[py], refs)
        self.exprs[py] = expr
        return expr

    def inline(self, equation: sir.Expr, owner: str) -> Any:
        from sdkit.loops.evaluate import to_sympy

        self.owner = owner
        rewritten = self.rewrite(equation, whole=True)
        expr = to_sympy(rewritten, self.symbols)
        return expr.xreplace({self.symbols[n]: self.variable(n)
                              for n in sir.references(rewritten) if n not in self.leaves})

    def rewrite(self, node: sir.Expr, whole: bool = False) -> sir.Expr:
        """``node`` with each non-algebraic part replaced by a reference to a leaf."""
        if isinstance(node, sir.Num):
            return node
        if isinstance(node, sir.Ref):
            if node.name not in self.env:  # a hidden stock: no values
                raise _Opaque(node.name)
            return node
        if isinstance(node, sir.BinOp) and node.op in ("+", "-", "*", "/", "^"):
            return sir.BinOp(node.op, self.rewrite(node.left), self.rewrite(node.right))
        if isinstance(node, sir.UnaryOp) and node.op == "-":
            return sir.UnaryOp("-", self.rewrite(node.operand))
        if isinstance(node, sir.Call) and (node.fn, len(node.args)) in _FUNCTIONS:
            x = tuple(self.rewrite(a) for a in node.args)
            if node.fn == "log":  # LOG(x, base)
                return sir.BinOp("/", sir.Call("ln", x[:1]), sir.Call("ln", x[1:]))
            return sir.BinOp("^", x[0], x[1]) if node.fn == "power" else sir.Call(node.fn, x)
        if whole:
            raise _Opaque(self.owner)
        return sir.Ref(self.part(node))

    def part(self, node: sir.Expr) -> str:
        """A leaf for a non-algebraic part of an equation, evaluated on the run."""
        from sdkit.errors import UnsupportedConstructError
        from sdkit.loops.evaluate import evaluate

        if node not in self.parts:
            try:
                values = evaluate(node, self.env, self.ir)
            except UnsupportedConstructError:
                raise _Opaque(self.owner) from None
            what = (self.ir.variables[node.table].name if isinstance(node, sir.LookupCall)
                    else node.fn.upper() if isinstance(node, sir.Call)
                    else getattr(node, "construct", type(node).__name__))
            label = f"{what}(…) in {self.ir.variables[self.owner].name}"
            same = sum(leaf[0].startswith(label) for leaf in self.leaves.values())
            label += f" #{same + 1}" if same else ""
            self.parts[node] = f"_channel_part_{len(self.parts) + 1}"
            self.leaf(self.parts[node], label, values, sir.references(node))
        return self.parts[node]

    def trace(self, names: set[str], stop: set[str]) -> set[str]:
        """The ``stop`` names, stocks, data and Time that ``names`` are computed from within
        a step, through auxiliaries and delays (constants ignored)."""
        found, seen, todo = set[str](), set[str](), list(names)
        while todo:
            name = todo.pop()
            var = self.ir.variables.get(name)
            if name in seen:
                continue
            seen.add(name)
            if name in self.ir.hidden:
                todo += [r for a in self.ir.hidden[name].args.values()
                         for r in sir.references(a)]
            elif name in stop or var is None or var.kind in ("stock", "data"):
                found.add(name)
            elif var.kind not in _STOP_KINDS and var.equation is not None:
                todo += sir.references(var.equation)
        return found

    def channel(self, name: str) -> str:
        """The channel a leaf counts in."""
        if name in self.channel_of:
            return self.channel_of[name]
        found = {self.channel_of.get(d, OTHER)
                 for d in self.trace(self.leaves[name][2], set(self.channel_of))}
        return found.pop() if len(found) == 1 else OTHER


def _resolve(ir: sir.ModelIR, name: str, where: str) -> str:
    for py, var in ir.variables.items():
        if normalize_name(var.name) == normalize_name(name) or py == name:
            return py
    raise UnknownVariableError(name, close_matches(name, [v.name for v in ir.variables.values()]),
                               where)


def _run(model: Any, scenario: Any) -> tuple[pd.DataFrame, str | None]:
    """The run, saved every TIME STEP unless the run-size limits refuse that."""
    params, settings, name = None, {}, None
    if scenario is not None:
        from sdkit.scenarios.spec import Scenario, load_scenario

        chosen = scenario if isinstance(scenario, Scenario) else \
            load_scenario(scenario, model=model)
        params, settings, name = chosen.params(model), dict(chosen.run_settings), chosen.name
    step = settings.get("time_step", model.time_step)
    with run_warnings():  # PySD's warnings in the model's words
        try:
            run = model.run(params, final_time=settings.get("final_time"), time_step=step,
                            saveper=step)
        except ResourceLimitError:
            run = model.run(params, **settings)
    return run, name


def _spans(card: ModelCard | None, run: pd.DataFrame,
           windows: Sequence[tuple[float, float]] | None
           ) -> list[tuple[str, float, float, int | None]]:
    """(label, start, end, stage) of every window: given, the stages, or the whole run."""
    t0, t1 = float(run.index[0]), float(run.index[-1])
    if windows is not None:
        for start, end in windows:
            if not t0 - 1e-9 <= start < end <= t1 + 1e-9:
                raise ChannelError(f"Window ({start:g}, {end:g}) must have start < end within "
                                   f"the run, {t0:g} to {t1:g}.")
        return [(f"{a:g}-{b:g}", max(a, t0), min(b, t1), None) for a, b in windows]
    if card is None or not card.transitions:
        return [("run", t0, t1, None)]
    from sdkit.analysis.stages import detect_stages

    report = detect_stages(run, card.transitions)
    names = {s.number: s.name_en for s in card.stages}
    cuts, stage, start = [], 1, t0
    for time, to_stage in sorted((t.time, t.to_stage) for t in report.transitions
                                 if t.time is not None):
        if to_stage > stage:
            cuts.append((stage, start, time))
            start, stage = time, to_stage
    cuts.append((stage, start, t1))
    return [(f"stage {n} {names.get(n, '')}".strip(), a, b, n) for n, a, b in cuts if b > a]


def decompose(model: Any, *, scenario: Any = None, output: str | None = None,
              groups: Mapping[str, Sequence[str]] | None = None, log: bool | None = None,
              windows: Sequence[tuple[float, float]] | None = None,
              card: ModelCard | None = None) -> ChannelDecomposition:
    """Decompose the growth of an output into channels, per stage or time window.

    Parameters
    ----------
    model : Model or path-like
    scenario : Scenario or path-like, optional
        Decompose this scenario's run instead of the baseline.
    output, groups, log : optional
        The output, channel -> variables, and whether to decompose ``ln(output)``;
        default the card's ``[channels]`` section (``log`` True).
    windows : sequence of (float, float), optional
        Time windows instead of the stages of the card's transitions.
    card : ModelCard, optional
        Default the card beside the model file, if any.

    Returns
    -------
    ChannelDecomposition

    Raises
    ------
    UnknownVariableError
        An output or channel variable the model lacks (with close matches).
    ChannelError
        No output or channels; a reserved, overlapping or empty channel; an output that
        is not algebraic; a channel variable the output does not depend on within a time
        step; ``log`` and an output ever <= 0; a bad window.
    """
    import sympy as sp

    from sdkit.loops.evaluate import environment
    from sdkit.model.core import Model, load_model

    loaded = model if isinstance(model, Model) else load_model(os.fspath(model))
    if card is None and card_path(loaded.path).is_file():
        card = load_card(loaded.path)
    spec = card.channels if card is not None else None
    output = output if output is not None else spec.output if spec else None
    groups = groups if groups is not None else spec.groups if spec else None
    log = log if log is not None else spec.log if spec else True
    if output is None or not groups:
        raise NoChannelsError("No output or channels: pass output= and groups=, or add a "
                              "[channels] section to the model card (docs/formats.md).")
    ir = sir.build_ir(loaded)
    out, channel_of = _resolve(ir, output, "the channel output"), {}
    for group, members in groups.items():
        if group in (OTHER, RESIDUAL) or not members:
            raise ChannelError(f"Channel {group!r} must list a variable and not be named "
                               f"{OTHER!r} or {RESIDUAL!r}.")
        for member in members:
            py = _resolve(ir, member, f"channel {group!r}")
            if py in channel_of or py == out or ir.variables[py].kind == "lookup":
                raise ChannelError(f"{member!r} (channel {group!r}) is in another channel, is "
                                   "the output, or is a lookup table.")
            channel_of[py] = group
    run, scenario_name = _run(loaded, scenario)
    times = np.asarray(run.index, dtype=float)
    step = float(np.median(np.diff(times))) if len(times) > 1 else math.nan
    inliner = _Inliner(ir, channel_of, environment(ir, run, step), len(times))
    f = inliner.variable(out, output=True)
    names = [n for n in inliner.leaves if inliner.symbols[n] in f.free_symbols]
    _check_reached(inliner, out, names)
    actual = run[ir.variables[out].name].to_numpy(dtype=float)
    if log and np.any(actual <= 0):
        i = int(np.argmax(actual <= 0))
        raise ChannelError(f"A log decomposition needs {output!r} > 0, but it is "
                           f"{actual[i]:g} at time {times[i]:g}; use log = false.")
    symbols, values = [inliner.symbols[n] for n in names], [inliner.leaves[n][1] for n in names]

    def compiled(expr: Any) -> np.ndarray:
        with np.errstate(all="ignore"):
            result = sp.lambdify(symbols, expr, modules="numpy", dummify=True)(*values)
            return np.broadcast_to(np.asarray(result, dtype=float), times.shape)

    fitted = compiled(f)
    with np.errstate(all="ignore"):
        grads = [compiled(sp.diff(f, s)) / (fitted if log else 1.0) for s in symbols]
    labels = [inliner.leaves[n][0] for n in names]
    leaves = {label: inliner.channel(n) for n, label in zip(names, labels, strict=True)}
    found = []
    for label, start, end, stage in _spans(card, run, windows):
        grid = np.concatenate([[start], times[(times > start) & (times < end)], [end]])
        per_leaf, sums = {}, dict.fromkeys([*groups, OTHER], 0.0)
        for leaf, x, g in zip(labels, values, grads, strict=True):
            dx, g = np.diff(np.interp(grid, times, x)), np.interp(grid, times, g)
            with np.errstate(all="ignore"):
                per_leaf[leaf] = float(np.where(dx == 0, 0.0, 0.5 * (g[:-1] + g[1:]) * dx).sum())
            sums[leaves[leaf]] += per_leaf[leaf]
        ends = np.interp([start, end], times, actual)
        change = float(np.diff(np.log(ends) if log else ends)[0])
        found.append(ChannelWindow(label, float(start), float(end), change, sums,
                                   change - sum(sums.values()), per_leaf, stage))
    named = {g: tuple(ir.variables[p].name for p, c in channel_of.items() if c == g)
             for g in groups}
    fit = float(np.max(np.abs(fitted - actual)) / max(float(np.max(np.abs(actual))), 1e-300))
    return ChannelDecomposition(ir.variables[out].name, bool(log), named, leaves,
                                tuple(found), step, fit, scenario_name)


def _check_reached(inliner: _Inliner, out: str, leaves: list[str]) -> None:
    """Every channel variable must be a leaf or drive a leaf counted in its channel."""
    counted, mixed = set[str](), set[str]()
    for name in leaves:
        drivers = inliner.trace(inliner.leaves[name][2], set(inliner.channel_of))
        (mixed if inliner.channel(name) == OTHER else counted).update(drivers | {name})
    for py, group in inliner.channel_of.items():
        name = inliner.ir.variables[py].name
        if py in mixed - counted:
            warnings.warn(f"Channel variable {name!r} ({group}) reaches the output only through "
                          "parts that depend on other channels too; they count as 'other'.",
                          stacklevel=3)
        elif py not in counted:
            raise ChannelError(
                f"The output {inliner.ir.variables[out].name!r} does not depend on {name!r} "
                f"(channel {group!r}) within a time step, except through stocks or other "
                "channel variables, which count its change as theirs; remove it.")

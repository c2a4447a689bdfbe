"""Order the equations of a model and generate the ensemble simulation function."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sdkit import ir as I
from sdkit.engine import runtime
from sdkit.engine.compiler import _Gen, hidden_inputs, refuse

_SKIP_KINDS = ("lookup",)
#: Functions that read the model time (PySD passes them ``__data['time']``).
_TIME_FUNCTIONS = frozenset({"step", "ramp", "Xramp", "pulse", "Xpulse", "pulse_train",
                             "Xpulse_train", "active_initial", "get_time_value"})


def _scalar_pow(a: float, b: float) -> float:
    try:
        return math.pow(a, b)  # the C library's pow, as Python's ** on floats
    except (ValueError, OverflowError):
        return float(np.power(a, b))  # nan / inf where ** would raise or go complex


_exact_pow = np.frompyfunc(_scalar_pow, 2, 1)


@functools.cache
def simd_power_is_exact() -> bool:
    """Whether ``np.power`` gives the C library's ``pow`` bit for bit on this CPU.

    numpy dispatches ``np.power`` on float64 arrays to SIMD code where the CPU has
    it (AVX-512 with SVML); there it differs from the scalar ``**`` that PySD
    evaluates in the last bit for about 5% of inputs. Checked once per process on
    20,000 seeded inputs spanning the model ranges (bases 1e-6..1e6, exponents
    -4..4, and the common 0.25/0.5/2/3).
    """
    rng = np.random.default_rng(20261202)
    base = np.exp(rng.uniform(np.log(1e-6), np.log(1e6), 20_000))
    expo = np.concatenate([rng.uniform(-4.0, 4.0, 16_000),
                           np.repeat([0.25, 0.5, 2.0, 3.0], 1_000)])
    vector = np.power(base, expo)
    scalar = np.array([math.pow(x, y) for x, y in zip(base.tolist(), expo.tolist(), strict=True)])
    return bool(np.array_equal(vector, scalar))


def _pow(a: Any, b: Any) -> Any:
    """Vensim ``^`` exactly as PySD evaluates it: the C library's ``pow``.

    Scalars use ``**``. Arrays use ``np.power`` (never with a scalar exponent, which
    numpy special-cases) where it is bit-identical on this
    CPU (:func:`simd_power_is_exact`), else an element-wise call of ``math.pow``
    (slower; the benchmark prints the cost), so results do not depend on the CPU.
    """
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not isinstance(b, np.ndarray):
            # numpy computes an array to a scalar power of 0.5, 2 or -1 as sqrt, square or
            # reciprocal, which differ from pow in the last bit for about 0.1% of bases
            b = np.full(np.shape(a), b, dtype=np.float64)
        if simd_power_is_exact():
            return np.power(a, b)
        return _exact_pow(a, b).astype(np.float64)
    return a ** b


@dataclass
class Program:
    """A compiled model: the generated source and its entry point."""

    source: str
    function: Any
    outputs: list[str]          # py names, in output order
    params: list[str]
    needs_time_step: bool = True
    static: list[str] = field(default_factory=list)


class _Orderer:
    """Dependency analysis: static / dynamic nodes and evaluation orders."""

    def __init__(self, model: I.ModelIR, params: set[str]) -> None:
        self.ir = model
        self.params = params
        self._static: dict[str, bool] = {}

    def deps(self, node: str, phase: str = "run") -> set[str]:
        """Direct dependencies of a node's value (``run``) or of its initial value (``init``)."""
        if node == "time" or node in self.params:
            return set()
        if node in self.ir.hidden:
            h = self.ir.hidden[node]
            found = hidden_inputs(h, "value")
            if phase == "init":
                found |= hidden_inputs(h, "init")
            return found
        if node in self.ir.stocks:
            return I.references(self.ir.stocks[node].initial) if phase == "init" else set()
        var = self.ir.variables[node]
        if var.kind == "control" or var.kind == "lookup":
            return set()
        found = {r for r in I.references(var.equation)
                 if not (r in self.ir.variables and self.ir.variables[r].kind == "lookup")}
        if var.equation is not None and any(
                isinstance(e, I.Call) and e.fn in _TIME_FUNCTIONS for e in I.walk(var.equation)):
            found.add("time")
        return found

    def is_static(self, node: str) -> bool:
        """Whether a node's value is the same at every step (PySD's "run" cache)."""
        if node in self._static:
            return self._static[node]
        self._static[node] = False  # guards cycles
        if node == "time" or node in self.ir.stocks or node in self.ir.hidden:
            result = False
        elif node in self.params:
            result = True
        else:
            var = self.ir.variables[node]
            uses_initial = var.equation is not None and any(
                isinstance(e, I.Call) and e.fn in ("active_initial",)
                for e in I.walk(var.equation))
            result = not uses_initial and all(self.is_static(d) for d in self.deps(node))
        self._static[node] = result
        return result

    def order(self, roots: set[str], phase: str, owner: str = "") -> list[str]:
        """Topological order of the non-static nodes needed by ``roots``."""
        done: list[str] = []
        state: dict[str, int] = {}

        def visit(node: str, chain: list[str]) -> None:
            if node == "time" or self.is_static(node):
                return
            mark = state.get(node)
            if mark == 2:
                return
            if mark == 1:
                loop = " -> ".join(chain[chain.index(node):] + [node])
                what = "a circular initialisation" if phase == "init" else "an algebraic loop"
                raise refuse(what, node, loop)
            state[node] = 1
            if not (phase == "run" and node in self.ir.stocks):
                for dep in sorted(self.deps(node, phase)):
                    if dep not in self.ir.variables and dep not in self.ir.hidden \
                            and dep != "time":
                        raise refuse("a reference to an unknown element", node, dep)
                    visit(dep, chain + [node])
            state[node] = 2
            done.append(node)

        for root in sorted(roots):
            visit(root, [])
        return done


def build_program(model: I.ModelIR, params: list[str], outputs: list[str]) -> Program:
    """Generate the simulation function for ``model``.

    Parameters
    ----------
    model : ModelIR
    params : list of str
        py names of the constants given per parameter set.
    outputs : list of str
        py names of the variables to save.
    """
    pset = set(params)
    gen = _Gen(model, pset)
    order = _Orderer(model, pset)
    for var in model.variables.values():
        if var.subscripts:
            raise refuse("subscripts", var.name)
        if var.kind == "data":
            raise refuse("data", var.name)
    if model.macros:
        raise refuse("macros", ", ".join(model.macros))
    nodes = [n for n in model.variables if model.variables[n].kind not in _SKIP_KINDS]

    lines = ["def _simulate(P, N, times, save, dt, record):"]
    body: list[str] = []

    def emit(text: str, indent: int = 1) -> None:
        body.append("    " * indent + text)

    # control variables and parameters
    for name in ("initial_time", "final_time", "saveper"):
        if name in model.variables:
            emit(f"v_{name} = P[{name!r}]")
    for name in params:
        emit(f"v_{name} = P[{name!r}]")
    # static nodes, once
    static_nodes = [n for n in nodes if order.is_static(n) and n not in pset
                    and model.variables[n].kind != "control"]
    static_sorted = _static_order(order, static_nodes)
    emit("t = times[0]")
    for node in static_sorted:
        gen.owner = model.variables[node].name
        emit(f"v_{node} = {gen.expr(model.variables[node].equation)}")

    # initialisation
    init_roots = set(model.stocks) | set(model.hidden)
    gen.init_phase = True
    for node in order.order(init_roots, "init"):
        if node in model.stocks:
            gen.owner = model.stocks[node].name
            emit(f"v_{node} = _rt.full({gen.expr(model.stocks[node].initial)}, N)")
        elif node in model.hidden:
            h = model.hidden[node]
            for line in gen.hidden_init(h):
                emit(line)
            gen.owner = h.owner
            emit(f"h{node} = {gen.hidden_value(h)}")
        else:
            var = model.variables[node]
            gen.owner = var.name
            emit(f"v_{node} = {gen.expr(var.equation)}")
    gen.init_phase = False

    # per-step evaluation
    rate_roots: set[str] = set()
    for stock in model.stocks.values():
        rate_roots |= I.references(stock.rate)
    for h in model.hidden.values():
        rate_roots |= hidden_inputs(h, "ddt")
    rate_roots = {r for r in rate_roots if r in model.variables or r in model.hidden}
    out_roots = set(outputs) | rate_roots
    step_all = order.order(out_roots, "run")
    step_rates = order.order(rate_roots, "run")

    def eval_lines(seq: list[str], indent: int) -> None:
        for node in seq:
            if node in model.stocks:
                continue
            if node in model.hidden:
                h = model.hidden[node]
                gen.owner = h.owner
                emit(f"h{node} = {gen.hidden_value(h)}", indent)
            else:
                var = model.variables[node]
                gen.owner = var.name
                emit(f"v_{node} = {gen.expr(var.equation)}", indent)

    emit("last = len(times) - 1")
    emit("j = 0")
    emit("for k in range(len(times)):")
    emit("t = times[k]", 2)
    emit("if save[k]:", 2)
    eval_lines(step_all, 3)
    emit("record(j, (" + "".join(f"{gen.name(o)}, " for o in outputs) + "))", 3)
    emit("j += 1", 3)
    emit("else:", 2)
    eval_lines(step_rates, 3)
    emit("pass", 3)
    emit("if k == last:", 2)
    emit("break", 3)
    for stock in model.stocks.values():
        gen.owner = stock.name
        emit(f"d_{stock.py_name} = {gen.expr(stock.rate)}", 2)
    for h in model.hidden.values():
        for line in gen.hidden_ddt(h):
            emit(line, 2)
    for stock in model.stocks.values():
        s = stock.py_name
        if stock.non_negative:
            emit(f"v_{s} = np.maximum(v_{s} + d_{s} * dt, 0)", 2)
        else:
            emit(f"v_{s} = v_{s} + d_{s} * dt", 2)
    for h in model.hidden.values():
        for line in gen.hidden_update(h):
            emit(line, 2)
    source = "\n".join(lines + body) + "\n"
    namespace: dict[str, Any] = {"np": np, "_rt": runtime, "_pow": _pow, **gen.lookups,
                                 **gen.consts}
    exec(compile(source, "<sdkit-ensemble>", "exec"), namespace)  # noqa: S102 - our own code
    return Program(source, namespace["_simulate"], outputs, params, static=static_sorted)


def _static_order(order: _Orderer, nodes: list[str]) -> list[str]:
    done: list[str] = []
    seen: set[str] = set()

    def visit(node: str) -> None:
        if node in seen or node in order.params or node == "time":
            return
        seen.add(node)
        if node in order.ir.variables and order.ir.variables[node].kind == "control":
            return
        for dep in sorted(order.deps(node)):
            visit(dep)
        done.append(node)

    for node in nodes:
        visit(node)
    return done

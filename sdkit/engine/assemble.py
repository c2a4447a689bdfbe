"""Order the equations of a model and generate the ensemble simulation function."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from sdkit.engine.audit import ProgramAuditError
from sdkit.engine.compiler import ExprGenerator, hidden_inputs, refuse
from sdkit.engine.program import CompiledProgram, Program, link
from sdkit.ir import core as I

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


def array_pow(a: Any, b: Any) -> Any:
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


class Orderer:
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
    """Generate, audit and link the simulation function for ``model``.

    Parameters
    ----------
    model : ModelIR
    params : list of str
        py names of the constants given per parameter set.
    outputs : list of str
        py names of the variables to save.

    Raises
    ------
    UnsupportedConstructError
        The model uses a construct the engine cannot run exactly.
    """
    return link_program(generate(model, params, outputs))


def link_program(compiled: CompiledProgram, *, refuse_unsafe: bool = True) -> Program:
    """:func:`sdkit.engine.program.link` with the array ``^`` of this module.

    Generated code outside the allow-list (:mod:`sdkit.engine.audit`) is refused
    like an unsupported construct, so callers fall back to PySD; with
    ``refuse_unsafe=False`` the :class:`~sdkit.engine.audit.ProgramAuditError` is
    raised as it is (the program cache's check of a stored program).
    """
    try:
        return link(compiled, array_pow)
    except ProgramAuditError as err:
        if not refuse_unsafe:
            raise
        raise refuse("code outside the engine's allow-list", "the model", str(err)) from err


def generate(model: I.ModelIR, params: list[str], outputs: list[str]) -> CompiledProgram:
    """The source of the simulation function and the data of its namespace.

    Parameters are those of :func:`build_program`; nothing is compiled or run.
    """
    _check_supported(model)
    writer = _Writer(model, params)
    writer.header()
    static_sorted = writer.static()
    writer.initialisation()
    writer.loop(outputs)
    gen = writer.gen
    return CompiledProgram(writer.source(), tuple(params), tuple(outputs), tuple(static_sorted),
                           dict(gen.tables), dict(gen.consts))


def _check_supported(model: I.ModelIR) -> None:
    for var in model.variables.values():
        if var.subscripts:
            raise refuse("subscripts", var.name)
        if var.kind == "data":
            raise refuse("data", var.name)
    if model.macros:
        raise refuse("macros", ", ".join(model.macros))


class _Writer:
    """The lines of ``_simulate``, section by section (see the module docstring of
    :mod:`sdkit.engine.compiler` for the semantics)."""

    def __init__(self, model: I.ModelIR, params: list[str]) -> None:
        self.ir = model
        self.params = params
        self.gen = ExprGenerator(model, set(params))
        self.order = Orderer(model, set(params))
        self.body: list[str] = []

    def emit(self, text: str, indent: int = 1) -> None:
        self.body.append("    " * indent + text)

    def source(self) -> str:
        return "\n".join(["def _simulate(P, N, times, save, dt, record):"] + self.body) + "\n"

    def header(self) -> None:
        """Control variables and parameters from ``P``."""
        for name in ("initial_time", "final_time", "saveper"):
            if name in self.ir.variables:
                self.emit(f"v_{name} = P[{name!r}]")
        for name in self.params:
            self.emit(f"v_{name} = P[{name!r}]")

    def static(self) -> list[str]:
        """Constants and expressions of constants, once; returns their order."""
        model, order, pset = self.ir, self.order, set(self.params)
        nodes = [n for n in model.variables if model.variables[n].kind not in _SKIP_KINDS]
        static_nodes = [n for n in nodes if order.is_static(n) and n not in pset
                        and model.variables[n].kind != "control"]
        static_sorted = static_order(order, static_nodes)
        self.emit("t = times[0]")
        for node in static_sorted:
            self.gen.owner = model.variables[node].name
            self.emit(f"v_{node} = {self.gen.expr(model.variables[node].equation)}")
        return static_sorted

    def initialisation(self) -> None:
        """Stocks and hidden stocks in dependency order (ACTIVE INITIAL's initial branch)."""
        model, gen = self.ir, self.gen
        gen.init_phase = True
        for node in self.order.order(set(model.stocks) | set(model.hidden), "init"):
            if node in model.stocks:
                gen.owner = model.stocks[node].name
                self.emit(f"v_{node} = _rt.full({gen.expr(model.stocks[node].initial)}, N)")
            elif node in model.hidden:
                h = model.hidden[node]
                for line in gen.hidden_init(h):
                    self.emit(line)
                gen.owner = h.owner
                self.emit(f"h{node} = {gen.hidden_value(h)}")
            else:
                var = model.variables[node]
                gen.owner = var.name
                self.emit(f"v_{node} = {gen.expr(var.equation)}")
        gen.init_phase = False

    def evaluate(self, seq: list[str], indent: int) -> None:
        model, gen = self.ir, self.gen
        for node in seq:
            if node in model.stocks:
                continue
            if node in model.hidden:
                h = model.hidden[node]
                gen.owner = h.owner
                self.emit(f"h{node} = {gen.hidden_value(h)}", indent)
            else:
                var = model.variables[node]
                gen.owner = var.name
                self.emit(f"v_{node} = {gen.expr(var.equation)}", indent)

    def loop(self, outputs: list[str]) -> None:
        """The time loop: evaluate and save, or evaluate the rates only; then update."""
        model, gen = self.ir, self.gen
        rate_roots: set[str] = set()
        for stock in model.stocks.values():
            rate_roots |= I.references(stock.rate)
        for h in model.hidden.values():
            rate_roots |= hidden_inputs(h, "ddt")
        rate_roots = {r for r in rate_roots if r in model.variables or r in model.hidden}
        step_all = self.order.order(set(outputs) | rate_roots, "run")
        step_rates = self.order.order(rate_roots, "run")
        self.emit("last = len(times) - 1")
        self.emit("j = 0")
        self.emit("for k in range(len(times)):")
        self.emit("t = times[k]", 2)
        self.emit("if save[k]:", 2)
        self.evaluate(step_all, 3)
        self.emit("record(j, (" + "".join(f"{gen.name(o)}, " for o in outputs) + "))", 3)
        self.emit("j += 1", 3)
        self.emit("else:", 2)
        self.evaluate(step_rates, 3)
        self.emit("pass", 3)
        self.emit("if k == last:", 2)
        self.emit("break", 3)
        self.update()

    def update(self) -> None:
        """Derivatives of every stock and hidden stock, then the Euler step."""
        model, gen = self.ir, self.gen
        for stock in model.stocks.values():
            gen.owner = stock.name
            self.emit(f"d_{stock.py_name} = {gen.expr(stock.rate)}", 2)
        for h in model.hidden.values():
            for line in gen.hidden_ddt(h):
                self.emit(line, 2)
        for stock in model.stocks.values():
            s = stock.py_name
            if stock.non_negative:
                self.emit(f"v_{s} = np.maximum(v_{s} + d_{s} * dt, 0)", 2)
            else:
                self.emit(f"v_{s} = v_{s} + d_{s} * dt", 2)
        for h in model.hidden.values():
            for line in gen.hidden_update(h):
                self.emit(line, 2)


def static_order(order: Orderer, nodes: list[str]) -> list[str]:
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

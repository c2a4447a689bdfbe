"""Optional numba backend: a compiled scalar kernel of the same equations.

It compiles, from the same IR and the same expression generator as the numpy
backend, one loop over parameter sets that integrates each set with scalar
arithmetic.  It serves as the speed floor in ``benchmarks/bench_engine.py``.
It covers stocks, auxiliaries, hardcoded lookups and the time functions; a
model with hidden stocks (SMOOTH, DELAY...) or other functions raises
:class:`~sdkit.errors.UnsupportedConstructError`.  Needs ``numba`` (extra
``fast``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sdkit.engine.assemble import Orderer, static_order
from sdkit.engine.compiler import ExprGenerator, refuse
from sdkit.ir import core as I

__all__ = ["NumbaKernel"]

_HELPERS = '''
@njit(cache=False, inline="always")
def _mn(a, b):
    return a if (a <= b or a != a) else b

@njit(cache=False, inline="always")
def _mx(a, b):
    return a if (a >= b or a != a) else b

@njit(cache=False, inline="always")
def _step(t, dt, value, tstep):
    return value * (1.0 if t + dt / 2 > tstep else 0.0)

@njit(cache=False, inline="always")
def _ite(c, a, b):
    return a if c else b

@njit(cache=False, inline="always")
def _zidz(n, d):
    return 0.0 if abs(d) < 1e-6 else n / d

@njit(cache=False, inline="always")
def _xidz(n, d, x):
    return x if abs(d) < 1e-6 else n / d

@njit(cache=False)
def _lookup(x, xp, yp):
    n = len(xp)
    if x > xp[n - 1]:
        return yp[n - 1]
    if x < xp[0]:
        return yp[0]
    j = np.searchsorted(xp, x, side="right") - 1
    if j > n - 2:
        j = n - 2
    if x == xp[j]:
        return yp[j]
    if x == xp[j + 1]:
        return yp[j + 1]
    return (yp[j + 1] - yp[j]) / (xp[j + 1] - xp[j]) * (x - xp[j]) + yp[j]
'''

_SCALAR = {"min": "_mn", "max": "_mx", "abs": "abs", "exp": "math.exp", "sqrt": "math.sqrt",
           "ln": "math.log", "sin": "math.sin", "cos": "math.cos", "tan": "math.tan",
           "zidz": "_zidz", "xidz": "_xidz", "power": "_pw"}


class _ScalarGen(ExprGenerator):
    def call(self, e: I.Call) -> str:
        args = [self.expr(a) for a in e.args]
        if e.fn in _SCALAR:
            return f"{_SCALAR[e.fn]}({', '.join(args)})"
        if e.fn == "step":
            return f"_step(t, dt, {args[0]}, {args[1]})"
        if e.fn == "if_then_else":
            return f"_ite({', '.join(args)})"
        raise refuse(f"{e.fn.upper()} (numba backend)", self.owner)

    def expr(self, e: I.Expr | None) -> str:
        if isinstance(e, I.LookupCall):
            var = self.ir.variables[e.table]
            if var.lookup is None:
                raise refuse("a call to a variable that is not a lookup table", self.owner)
            key = "_lk_" + e.table
            if key not in self.lookups:
                from sdkit.engine.runtime import Lookup

                table = Lookup(var.name, var.lookup.x, var.lookup.y, var.lookup.interpolation)
                if table.interp != "interpolate":
                    raise refuse(f"lookup {table.interp} (numba backend)", self.owner)
                self.lookups[key] = table
            return f"_lookup({self.expr(e.arg)}, {key}_x, {key}_y)"
        if isinstance(e, I.BinOp) and e.op == "^":
            return f"({self.expr(e.left)} ** {self.expr(e.right)})"
        if isinstance(e, I.BinOp) and e.op in ("and", "or"):
            return f"({self.expr(e.left)} {e.op} {self.expr(e.right)})"
        if isinstance(e, I.UnaryOp) and e.op == "not":
            return f"(not {self.expr(e.operand)})"
        return super().expr(e)


class NumbaKernel:
    """A compiled kernel for an :class:`~sdkit.engine.Ensemble`'s model, params and outputs."""

    def __init__(self, model: I.ModelIR, params: list[str], outputs: list[str]) -> None:
        if model.hidden:
            h = next(iter(model.hidden.values()))
            raise refuse(f"{h.kind.upper()} (numba backend)", h.owner)
        import numba  # noqa: F401 - fail early when the extra is missing

        gen = _ScalarGen(model, set(params))
        order = Orderer(model, set(params))
        body: list[str] = []

        def emit(text: str, indent: int) -> None:
            body.append("    " * indent + text)

        emit("for i in range(P.shape[1]):", 1)
        emit("t = times[0]", 2)
        for k, name in enumerate(params):
            emit(f"v_{name} = P[{k}, i]", 2)
        for name in ("initial_time", "final_time", "saveper"):
            emit(f"v_{name} = {name}", 2)
        nodes = [n for n in model.variables if model.variables[n].kind != "lookup"]
        static = [n for n in nodes if order.is_static(n) and n not in params
                  and model.variables[n].kind != "control"]
        for node in static_order(order, static):
            gen.owner = node
            emit(f"v_{node} = {gen.expr(model.variables[node].equation)}", 2)
        gen.init_phase = True
        for node in order.order(set(model.stocks), "init"):
            gen.owner = node
            if node in model.stocks:
                emit(f"v_{node} = float({gen.expr(model.stocks[node].initial)})", 2)
            else:
                emit(f"v_{node} = {gen.expr(model.variables[node].equation)}", 2)
        gen.init_phase = False
        rate_roots = set().union(*(I.references(s.rate) for s in model.stocks.values()))
        step_all = order.order(set(outputs) | rate_roots, "run")
        step_rates = order.order(rate_roots, "run")
        emit("j = 0", 2)
        emit("last = len(times) - 1", 2)
        emit("for k in range(len(times)):", 2)
        emit("t = times[k]", 3)
        emit("if save[k]:", 3)
        for node in step_all:
            if node not in model.stocks:
                gen.owner = node
                emit(f"v_{node} = {gen.expr(model.variables[node].equation)}", 4)
        for o, name in enumerate(outputs):
            emit(f"out[i, {o}, j] = {gen.name(name)}", 4)
        emit("j += 1", 4)
        emit("else:", 3)
        for node in step_rates:
            if node not in model.stocks:
                gen.owner = node
                emit(f"v_{node} = {gen.expr(model.variables[node].equation)}", 4)
        emit("pass", 4)
        emit("if k == last:", 3)
        emit("break", 4)
        for s in model.stocks.values():
            gen.owner = s.name
            emit(f"d_{s.py_name} = {gen.expr(s.rate)}", 3)
        for s in model.stocks.values():
            p = s.py_name
            update = f"v_{p} + d_{p} * dt"
            emit(f"v_{p} = {f'_mx({update}, 0.0)' if s.non_negative else update}", 3)
        lookups = sorted(gen.lookups)
        header = ("def _kernel(P, out, times, save, dt, initial_time, final_time, saveper"
                  + "".join(f", {k}_x, {k}_y" for k in lookups) + "):")
        source = ("import math\nimport numpy as np\nfrom numba import njit\n" + _HELPERS
                  + "\n@njit(cache=False, inline='always')\ndef _pw(a, b):\n    return a ** b\n"
                  + "\n@njit(cache=False, fastmath=False)\n" + header + "\n"
                  + "\n".join(body) + "\n")
        namespace: dict[str, Any] = {}
        exec(compile(source, "<sdkit-numba>", "exec"), namespace)  # noqa: S102 - our own code
        self.source = source
        self.kernel = namespace["_kernel"]
        self.tables = [arr for k in lookups for arr in (gen.lookups[k].x, gen.lookups[k].y)]
        self.params, self.outputs = params, outputs

    def run(self, params: np.ndarray, grid: Any) -> np.ndarray:
        """Integrate ``params`` (shape (len(params), N)); return (N, outputs, T)."""
        n = params.shape[1]
        out = np.empty((n, len(self.outputs), sum(grid.save)))
        self.kernel(np.ascontiguousarray(params, dtype=float), out,
                    np.array(grid.times, dtype=float), np.array(grid.save), float(grid.dt),
                    float(grid.initial), float(grid.final), float(grid.saveper), *self.tables)
        return out

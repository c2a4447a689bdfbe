"""The ensemble engine: integrate N parameter sets of a model at once.

The engine compiles the model's IR (:mod:`sdkit.ir`) to one Python function over
numpy arrays of shape ``(N,)`` and integrates with PySD's Euler semantics, so
that for every parameter set the saved values are bitwise equal
(``np.array_equal``) to ``Model.run`` of that set.  A construct it cannot run
exactly raises :class:`~sdkit.errors.UnsupportedConstructError` naming the
construct and the variable; callers then fall back to PySD.

>>> import pandas as pd, sdkit
>>> from sdkit.engine import run_ensemble
>>> model = sdkit.load_model("models/empowerment.mdl")            # doctest: +SKIP
>>> params = pd.DataFrame({"theme shift time": [0.3, 0.4, 0.5]})   # doctest: +SKIP
>>> result = run_ensemble(model, params)                           # doctest: +SKIP
>>> result["Buyers on platform"].shape                             # (3, 61)  # doctest: +SKIP

See docs/engine.md.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sdkit import ir as I
from sdkit.engine.assemble import Program, build_program
from sdkit.engine.compiler import TimeGrid, refuse, time_grid
from sdkit.errors import ParameterValueError, SdkitError, SimulationError, UnknownVariableError
from sdkit.faults import one_line
from sdkit.limits import check_run_size
from sdkit.names import close_matches, normalize_name

__all__ = ["Ensemble", "EnsembleResult", "run_ensemble", "run_model"]

Reducer = Callable[[str, float, np.ndarray], Any]


@dataclass
class EnsembleResult:
    """Saved values of an ensemble run.

    Attributes
    ----------
    times : numpy.ndarray
        Saved times (as PySD's output index).
    values : dict of str to numpy.ndarray
        Real variable name to an ``(N, T)`` array (empty when a reducer was given).
    reduced : dict of str to list
        Real variable name to the reducer's results, one per saved time.
    n : int
        Number of parameter sets.
    """

    times: np.ndarray
    values: dict[str, np.ndarray] = field(default_factory=dict)
    reduced: dict[str, list[Any]] = field(default_factory=dict)
    n: int = 0
    #: Outputs that are Python integers in PySD too (constants written as integers).
    integer: set[str] = field(default_factory=set)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[name]

    def frame(self, i: int = 0) -> pd.DataFrame:
        """The results of parameter set ``i`` as a table shaped like ``Model.run``."""
        data = {name: array[i].astype(np.int64) if name in self.integer else array[i]
                for name, array in self.values.items()}
        frame = pd.DataFrame(data, index=pd.Index(self.times, name="time"))
        return frame


class Ensemble:
    """A model compiled for a fixed set of parameter columns and outputs.

    Parameters
    ----------
    model : sdkit.model.Model or path-like or ModelIR
    params : sequence of str
        Constants that vary between parameter sets (real or py names).
    outputs : sequence of str, optional
        Variables to save (default: every variable but lookups and control variables).
    """

    def __init__(self, model: Any, params: Sequence[str] = (),
                 outputs: Sequence[str] | None = None) -> None:
        from sdkit.model import Model, load_model

        if isinstance(model, str | os.PathLike):
            model = load_model(model)
        self.model = model if isinstance(model, Model) else None
        self.ir = model if isinstance(model, I.ModelIR) else I.build_ir(model)
        self._keys: dict[str, str] = {}
        for var in self.ir.variables.values():
            self._keys.setdefault(normalize_name(var.name), var.py_name)
            self._keys.setdefault(var.py_name, var.py_name)
        self.param_names = [self._py(p) for p in params]
        for name in self.param_names:
            var = self.ir.variables[name]
            if var.kind != "constant":
                raise ParameterValueError(
                    f"Cannot set {var.name!r}: it is a {var.kind}, and only constants can be "
                    "overridden.")
        if outputs is None:
            out = [v.py_name for v in self._ordered() if v.kind not in ("lookup", "control")]
        else:
            out = [self._py(o) for o in outputs]
        self.outputs = out
        self.program: Program = build_program(self.ir, self.param_names, out)
        #: Parameter sets integrated together (cache-sized blocks); None: all at once.
        self.chunk: int | None = 2048

    def _ordered(self) -> list[I.IRVariable]:
        if self.model is None:
            return list(self.ir.variables.values())
        by_name = self.ir.by_name
        return [by_name[n] for n in self.model.variables if n in by_name]

    def _py(self, name: str) -> str:
        key = self._keys.get(name) or self._keys.get(normalize_name(name))
        if key is None:
            raise UnknownVariableError(name, close_matches(name, [v.name for v in
                                                                  self.ir.variables.values()]))
        return key

    # ------------------------------------------------------------------ time settings
    def _scalar(self, expr: I.Expr | None, dt: Any = None, seen: tuple[str, ...] = ()) -> Any:
        if isinstance(expr, I.Num):
            return expr.value
        if isinstance(expr, I.Ref):
            name = expr.name
            if name == "time_step" and dt is not None:
                return dt
            if name in self.param_names:
                raise refuse("a control variable set by a varying parameter", name)
            var = self.ir.variables.get(name)
            if var is None or name in seen or var.kind == "stock":
                raise refuse("a dynamic control variable", name)
            return self._scalar(var.equation, dt, seen + (name,))
        if isinstance(expr, I.BinOp) and expr.op in "+-*/":
            a, b = self._scalar(expr.left, dt, seen), self._scalar(expr.right, dt, seen)
            if expr.op == "/" and b == 0:
                raise ParameterValueError(
                    f"A control variable of {getattr(self.ir.path, 'name', 'the model')!r} "
                    f"divides by zero: {str(expr)[:60]}")
            return _ARITHMETIC[expr.op](a, b)
        raise refuse("a dynamic control variable", "control", str(expr)[:60])

    def grid(self, final_time: float | None = None, time_step: float | None = None,
             saveper: float | None = None, *, n_sets: int = 1) -> TimeGrid:
        """The time grid of a run saving ``n_sets`` parameter sets, with PySD's arithmetic.

        Raises ``ParameterValueError`` (unusable settings) or ``ResourceLimitError``
        (a run larger than the limits of :mod:`sdkit.limits`) before building it.
        """
        if self.model is not None and (final_time, time_step, saveper) != (None, None, None):
            from sdkit.validation import check_time_settings

            check_time_settings(self.model, final_time, time_step, saveper)
        eq = {n: (self.ir.variables[n].equation if n in self.ir.variables else None)
              for n in I.CONTROL}
        dt = time_step if time_step is not None else self._scalar(eq["time_step"])
        initial = self._scalar(eq["initial_time"], dt)
        final = final_time if final_time is not None else self._scalar(eq["final_time"], dt)
        save = saveper if saveper is not None else self._scalar(eq["saveper"], dt)
        what = f"model {self.model.path.name!r}" if self.model is not None else "the model"
        check_run_size(initial, final, dt, save, n_sets=n_sets, n_vars=len(self.outputs),
                       what=what)
        return time_grid(initial, final, dt, save)

    # ------------------------------------------------------------------ run
    def _param_arrays(self, params: pd.DataFrame | None) -> tuple[dict[str, Any], int]:
        if params is None or len(params.columns) == 0:
            n = 1 if params is None or len(params) == 0 else len(params)
            return {}, n
        columns = {self._py(str(c)): c for c in params.columns}
        if set(columns) != set(self.param_names):
            raise ParameterValueError(
                "The parameter columns differ from those the ensemble was compiled for: "
                f"{sorted(columns)} != {sorted(self.param_names)}.")
        arrays = {}
        for py_name, column in columns.items():
            var = self.ir.variables[py_name]
            values = pd.to_numeric(params[column], errors="coerce").to_numpy(dtype=float)
            if not np.all(np.isfinite(values)):
                raise ParameterValueError(f"Values for {var.name!r} must be finite numbers.")
            low, high = var.limits
            if (low is not None and np.any(values < low)) or \
                    (high is not None and np.any(values > high)):
                raise ParameterValueError(
                    f"Values for {var.name!r} fall outside its documented range "
                    f"[{'?' if low is None else f'{low:g}'}, "
                    f"{'?' if high is None else f'{high:g}'}].")
            arrays[py_name] = np.ascontiguousarray(values)
        return arrays, len(params)

    def run(self, params: pd.DataFrame | None = None, *, final_time: float | None = None,
            time_step: float | None = None, saveper: float | None = None,
            reducer: Reducer | None = None) -> EnsembleResult:
        """Run every row of ``params`` (see :func:`run_ensemble`)."""
        arrays, n = self._param_arrays(params)
        grid = self.grid(final_time, time_step, saveper, n_sets=1 if reducer else n)
        arrays.update(initial_time=grid.initial, final_time=grid.final, saveper=grid.saveper)
        times = grid.saved_times
        names = [self.ir.variables[o].name for o in self.outputs]
        result = EnsembleResult(times=times, n=n)
        chunk = self.chunk if self.chunk else n
        bounds = [(lo, min(lo + chunk, n)) for lo in range(0, n, chunk)] or [(0, 0)]
        if reducer is None:
            # (T, N) blocks: each saved time is one contiguous row
            blocks = [np.empty((len(times), n)) for _ in names]
            result.values = {name: block.T for name, block in zip(names, blocks, strict=True)}
            for lo, hi in bounds:
                def record(j: int, values: tuple[Any, ...], lo: int = lo, hi: int = hi) -> None:
                    if j == 0 and lo == 0:
                        result.integer = {name for name, v in zip(names, values, strict=True)
                                          if type(v) is int}
                    for block, value in zip(blocks, values, strict=True):
                        block[j, lo:hi] = value

                self._call(arrays, lo, hi, n, grid, record)
        else:
            # streamed: every saved time of all N sets is reduced at once, so the
            # sets are integrated in one block and only the reductions are kept
            lists: list[list[Any]] = [[] for _ in names]
            result.reduced = dict(zip(names, lists, strict=True))

            def record_reduced(j: int, values: tuple[Any, ...]) -> None:
                time = float(times[j])
                for name, store, value in zip(names, lists, values, strict=True):
                    store.append(reducer(name, time, np.broadcast_to(value, (n,))))

            self._call(arrays, 0, n, n, grid, record_reduced)
        return result

    def _call(self, arrays: dict[str, Any], lo: int, hi: int, n: int, grid: TimeGrid,
              record: Callable[[int, tuple[Any, ...]], None]) -> None:
        part = {k: (v[lo:hi] if isinstance(v, np.ndarray) and v.shape == (n,) else v)
                for k, v in arrays.items()}
        with np.errstate(all="ignore"):
            try:
                self.program.function(part, hi - lo, grid.times, grid.save, grid.dt, record)
            except SdkitError:
                raise
            except Exception as err:  # e.g. a DELAY N whose order evaluates to 0
                name = getattr(self.ir.path, "name", "the model")
                raise SimulationError(
                    f"The ensemble run of {name!r} failed: {one_line(err)}"
                ) from err


_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
}


def run_ensemble(model: Any, params: pd.DataFrame | None = None, *,
                 final_time: float | None = None, time_step: float | None = None,
                 saveper: float | None = None, outputs: Sequence[str] | None = None,
                 reducer: Reducer | None = None) -> EnsembleResult:
    """Integrate N parameter sets of a model at once.

    Parameters
    ----------
    model : sdkit.model.Model or path-like
    params : pandas.DataFrame, optional
        N rows, one column per constant (real or py name); ``None`` runs the
        model's own values once.
    final_time, time_step, saveper : float, optional
        Time settings for this run, as in :meth:`sdkit.model.Model.run`.
    outputs : sequence of str, optional
        Variables to save (default: all but lookups and control variables).
    reducer : callable, optional
        ``reducer(variable, time, values)`` called at every saved time with the
        ``(N,)`` values; its results are kept in ``EnsembleResult.reduced``
        instead of the full ``(N, T)`` arrays (for large N).

    Returns
    -------
    EnsembleResult

    Raises
    ------
    UnsupportedConstructError
        The model uses a construct the engine cannot run exactly.
    """
    columns = [] if params is None else [str(c) for c in params.columns]
    ensemble = Ensemble(model, columns, outputs)
    return ensemble.run(params, final_time=final_time, time_step=time_step, saveper=saveper,
                        reducer=reducer)


def run_model(model: Any, params: dict[str, Any] | None = None, **times: Any) -> pd.DataFrame:
    """Run one parameter set through the engine: a table shaped like ``Model.run``.

    ``params`` maps constant names to numbers (time series are not supported);
    ``times`` are ``final_time``, ``time_step`` and ``saveper``.  Raises
    :class:`~sdkit.errors.SimulationError` on NaN or infinite results, like
    ``Model.run``.
    """
    from sdkit.model import Model, load_model
    from sdkit.validation import check_finite_results, check_params

    if not isinstance(model, Model):
        model = load_model(model)
    checked = check_params(model, params or {})
    if any(isinstance(v, pd.Series) for v in checked.values()):
        raise refuse("a time-series input", "params")
    frame = pd.DataFrame({k: [v] for k, v in checked.items()}) if checked else None
    result = run_ensemble(model, frame, **times).frame(0)
    check_finite_results(result)
    return result

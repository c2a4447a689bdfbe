"""The ensemble engine: integrate N parameter sets of a model at once.

The engine compiles the model's IR (:mod:`sdkit.ir.core`) to one Python function over
numpy arrays of shape ``(N,)`` and integrates with PySD's Euler semantics, so
that for every parameter set the saved values are bitwise equal
(``np.array_equal``) to ``Model.run`` of that set.  A construct it cannot run
exactly raises :class:`~sdkit.errors.UnsupportedConstructError` naming the
construct and the variable; callers then fall back to PySD.

Compiled programs are cached in memory and on disk beside the translation cache
(:mod:`sdkit.engine.progcache`; every stored program is checked against the
allow-list of :mod:`sdkit.engine.audit` before it runs), and one parameter set runs
on scalars (:func:`sdkit.engine.program.run_single`), so after the first compile of
a model an engine run of one set takes milliseconds.

>>> import pandas as pd, sdkit
>>> from sdkit.engine import run_ensemble
>>> model = sdkit.load_model("models/empowerment.mdl")            # doctest: +SKIP
>>> params = pd.DataFrame({"theme shift time": [0.3, 0.4, 0.5]})   # doctest: +SKIP
>>> result = run_ensemble(model, params)                           # doctest: +SKIP
>>> result["Buyers on platform"].shape                             # (3, 61)  # doctest: +SKIP

See docs/engine.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sdkit.engine import progcache
from sdkit.engine.compiler import TimeGrid, refuse, time_grid
from sdkit.engine.faults import one_line
from sdkit.engine.program import Program, run_single
from sdkit.errors import ParameterValueError, SdkitError, SimulationError
from sdkit.ir import core as I
from sdkit.util.limits import check_run_size

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

    The compilation is cached (:mod:`sdkit.engine.progcache`): in memory for the
    process and on disk beside the translation cache, keyed by the model's bytes and
    the compile inputs, so only the first ``Ensemble`` of a model parses it.

    Parameters
    ----------
    model : sdkit.model.core.Model or path-like or ModelIR
    params : sequence of str
        Constants that vary between parameter sets (real or py names).
    outputs : sequence of str, optional
        Variables to save (default: every variable but lookups and control variables).
    cache : bool, optional
        Use the program cache (default); ``False`` compiles the model afresh.  A
        ``ModelIR`` is always compiled afresh.
    cache_dir : path-like, optional
        Cache root (default ``$SDKIT_CACHE_DIR``, as :func:`sdkit.load_model`).
    """

    def __init__(self, model: Any, params: Sequence[str] = (),
                 outputs: Sequence[str] | None = None, *, cache: bool = True,
                 cache_dir: str | os.PathLike[str] | None = None) -> None:
        from sdkit.model.core import Model, load_model

        if isinstance(model, str | os.PathLike):
            model = load_model(model, cache_dir=cache_dir)
        self.model = model if isinstance(model, Model) else None
        self._ir = model if isinstance(model, I.ModelIR) else None
        if self.model is None and self._ir is None:
            self._ir = I.build_ir(model)
        if self.model is not None and cache:
            compiled = progcache.compiled_for(self.model, list(params), outputs,
                                              cache_dir=cache_dir)
        else:
            order = list(self.model.variables) if self.model is not None else None
            compiled = progcache.compile_ir(self.ir, list(params), outputs, order)
        #: Names, kinds, ranges and control equations (:class:`sdkit.engine.meta.ModelMeta`).
        self.meta = compiled.meta
        self.program: Program = compiled.program
        self.param_names = list(self.program.params)
        self.outputs = list(self.program.outputs)
        #: Parameter sets integrated together (cache-sized blocks); None: all at once.
        self.chunk: int | None = 2048
        #: Run a single parameter set on scalars (:func:`sdkit.engine.program.run_single`).
        self.scalar_single = True

    @property
    def ir(self) -> I.ModelIR:
        """The model's IR (built on first use when the program came from the cache)."""
        if self._ir is None:
            self._ir = self.model.ir if self.model is not None else None
        if self._ir is None:  # pragma: no cover - __init__ sets a model or an IR
            raise ValueError("an Ensemble without a model or an IR")
        return self._ir

    def _label(self) -> str:
        if self.model is not None:
            return str(self.model.path.name)
        return str(getattr(self.ir.path, "name", "the model"))

    # ------------------------------------------------------------------ time settings
    def grid(self, final_time: float | None = None, time_step: float | None = None,
             saveper: float | None = None, *, n_sets: int = 1) -> TimeGrid:
        """The time grid of a run saving ``n_sets`` parameter sets, with PySD's arithmetic.

        Raises ``ParameterValueError`` (unusable settings) or ``ResourceLimitError``
        (a run larger than the limits of :mod:`sdkit.util.limits`) before building it.
        """
        if self.model is not None and (final_time, time_step, saveper) != (None, None, None):
            from sdkit.util.validation import check_time_settings

            check_time_settings(self.model, final_time, time_step, saveper)
        label, params, setting = self._label(), self.param_names, self.meta.setting
        dt = time_step if time_step is not None else setting("time_step", params, None, label)
        initial = setting("initial_time", params, dt, label)
        final = final_time if final_time is not None else \
            setting("final_time", params, dt, label)
        save = saveper if saveper is not None else setting("saveper", params, dt, label)
        what = f"model {self.model.path.name!r}" if self.model is not None else "the model"
        check_run_size(initial, final, dt, save, n_sets=n_sets, n_vars=len(self.outputs),
                       what=what)
        return time_grid(initial, final, dt, save)

    # ------------------------------------------------------------------ run
    def _param_arrays(self, params: pd.DataFrame | None) -> tuple[dict[str, Any], int]:
        if params is None or len(params.columns) == 0:
            if self.param_names:
                raise ParameterValueError(
                    "The ensemble was compiled for the parameter columns "
                    f"{sorted(self.param_names)}; give a table with them.")
            n = 1 if params is None or len(params) == 0 else len(params)
            return {}, n
        columns = {self.meta.py(str(c)): c for c in params.columns}
        if set(columns) != set(self.param_names):
            raise ParameterValueError(
                "The parameter columns differ from those the ensemble was compiled for: "
                f"{sorted(columns)} != {sorted(self.param_names)}.")
        # few rows of numpy numbers: one conversion (pd.to_numeric costs ~30 us a column)
        numeric = len(params) <= 2048 and all(
            isinstance(t, np.dtype) and t.kind in "biuf" for t in params.dtypes)
        matrix = params.to_numpy(dtype=float) if numeric else None
        position = {column: k for k, column in enumerate(params.columns)}
        arrays = {}
        for py_name, column in columns.items():
            var = self.meta.variables[py_name]
            values = matrix[:, position[column]] if matrix is not None else \
                pd.to_numeric(params[column], errors="coerce").to_numpy(dtype=float)
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
        names = [self.meta.variables[o].name for o in self.outputs]
        result = EnsembleResult(times=times, n=n)
        if reducer is None and n == 1 and self.scalar_single:
            with np.errstate(all="ignore"):
                single = run_single(self.program, arrays, grid, names)
            if single is not None:
                result.values, result.integer = single
                return result
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
                raise SimulationError(
                    f"The ensemble run of {self._label()!r} failed: {one_line(err)}"
                ) from err


def run_ensemble(model: Any, params: pd.DataFrame | None = None, *,
                 final_time: float | None = None, time_step: float | None = None,
                 saveper: float | None = None, outputs: Sequence[str] | None = None,
                 reducer: Reducer | None = None) -> EnsembleResult:
    """Integrate N parameter sets of a model at once.

    Parameters
    ----------
    model : sdkit.model.core.Model or path-like
    params : pandas.DataFrame, optional
        N rows, one column per constant (real or py name); ``None`` runs the
        model's own values once.
    final_time, time_step, saveper : float, optional
        Time settings for this run, as in :meth:`sdkit.model.core.Model.run`.
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
    from sdkit.model.core import Model, load_model
    from sdkit.util.validation import check_finite_results, check_params

    if not isinstance(model, Model):
        model = load_model(model)
    checked = check_params(model, params or {})
    if any(isinstance(v, pd.Series) for v in checked.values()):
        raise refuse("a time-series input", "params")
    frame = pd.DataFrame({k: [v] for k, v in checked.items()}) if checked else None
    result = run_ensemble(model, frame, **times).frame(0)
    check_finite_results(result)
    return result

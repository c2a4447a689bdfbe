"""Run a table of parameter sets: the one seam between analyses and the run engines.

:class:`BatchRunner` takes a table (one row per parameter set, one column per
varied constant) and returns the saved times and an ``(N, T)`` array per
requested variable. With ``engine="auto"`` or ``"ensemble"`` the whole table
is integrated in one call of the ensemble engine (:mod:`sdkit.engine`, compiled
once per runner); with ``"auto"``, when the engine cannot be imported or refuses
the model (``UnsupportedConstructError``), or the base has time-varying inputs,
the runner logs one warning and runs each row with PySD
(:meth:`sdkit.model.core.Model.run`). ``engine="ensemble"`` raises instead of falling
back (a calibration on PySD can take days); ``engine="pysd"`` always uses PySD.
Both give bitwise-equal results where the engine runs (docs/engine.md).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sdkit.errors import (
    MissingComponentError,
    ParameterValueError,
    SimulationError,
    UnsupportedConstructError,
)

__all__ = ["ENGINES", "BatchRunner", "check_engine", "run_on_engine", "try_engine"]

log = logging.getLogger("sdkit")
#: Engine choices: ``auto`` (the engine, PySD when it refuses), ``ensemble``, ``pysd``.
ENGINES = ("auto", "ensemble", "pysd")


def check_engine(engine: str) -> str:
    """``engine`` if it is one of :data:`ENGINES`, else a one-line ``ParameterValueError``."""
    if engine not in ENGINES:
        raise ParameterValueError(f"{engine!r} is not an engine; valid engines: "
                                  f"{list(ENGINES)}.")
    return engine


def try_engine(engine: str, step: Callable[[], Any],
               also: tuple[type[Exception], ...] = ()) -> tuple[Any, str | None]:
    """``(step(), None)``, or ``(None, why)`` where ``auto`` falls back to PySD.

    The one fallback rule of the seam: the engine missing (``ImportError``), refusing
    the model (``UnsupportedConstructError``) or raising one of ``also`` gives the
    reason to fall back with ``engine="auto"``, and raises with ``"ensemble"``.
    """
    refusals: tuple[type[Exception], ...] = (UnsupportedConstructError, *also)
    try:
        return step(), None
    except ImportError as err:
        if engine == "ensemble":
            raise MissingComponentError(
                f"engine 'ensemble' was asked for, but sdkit.engine is not available ({err}); "
                "use engine 'auto' to fall back to PySD.") from err
        return None, f"sdkit.engine is not available ({err})"
    except refusals as err:
        if engine == "ensemble":
            raise
        return None, str(err)


def run_on_engine(model: Any, params: Mapping[str, Any], engine: str,
                  times: Mapping[str, float | None],
                  wanted: Sequence[str] | None) -> pd.DataFrame | None:
    """One run of ``model`` on the ensemble engine, or None where ``auto`` falls back.

    The single-run side of the seam (:meth:`sdkit.model.core.Model.run` with
    ``engine="auto"`` or ``"ensemble"``): the engine's compiled program is cached
    (docs/engine.md), so after the first compile a run takes milliseconds, and its
    results equal PySD's bit for bit. With ``"auto"`` a model the engine refuses
    (``UnsupportedConstructError``, e.g. a time-series input) or a missing engine
    gives None (logged at info level) and the caller runs PySD, as does a failed
    engine run (PySD then reports the failure in the model's words); with
    ``"ensemble"`` they raise.

    Returns
    -------
    pandas.DataFrame or None
        Shaped like ``Model.run``'s result, with ``attrs["engine"] == "ensemble"``.
    """

    def step() -> pd.DataFrame:
        from sdkit.engine import run_model

        return run_model(model, dict(params), **{k: v for k, v in times.items()
                                                 if v is not None})

    # a failed engine run is rerun by PySD, the reference, which says it in the
    # model's words (e.g. a DELAY N of order 0)
    result, why = try_engine(engine, step, also=(SimulationError,))
    if why is not None:
        log.info("The ensemble engine does not run %s (%s); running PySD.", model.path.name, why)
        return None
    if wanted is not None:
        result = result[list(wanted)]
    result.attrs["engine"] = "ensemble"
    return result


class BatchRunner:
    """Runs tables of parameter sets of one model.

    Parameters
    ----------
    model : sdkit.model.core.Model or path-like
    params : sequence of str
        The constants the tables vary (real names).
    variables : sequence of str
        The variables to save.
    base_params : mapping, optional
        Values of other constants (numbers, or ``pandas.Series`` time inputs).
    settings : mapping, optional
        ``final_time``, ``time_step`` and ``saveper`` of every run.
    engine : {"auto", "ensemble", "pysd"}
    allow_nan : bool
        ``False`` (default): a run with NaN or infinite results raises
        ``SimulationError`` naming the variable and time, whichever engine ran it.
        ``True``: such runs come back as NaN rows (a calibration scores them as
        impossible).
    """

    def __init__(self, model: Any, params: Sequence[str], variables: Sequence[str], *,
                 base_params: Mapping[str, Any] | None = None,
                 settings: Mapping[str, float] | None = None, engine: str = "auto",
                 allow_nan: bool = False) -> None:
        check_engine(engine)
        self.model_path = Path(model) if isinstance(model, str | os.PathLike) else model.path
        self._model = None if isinstance(model, str | os.PathLike) else model
        self.params = list(params)
        self.variables = list(dict.fromkeys(variables))
        self.base_params = {k: v for k, v in (base_params or {}).items() if k not in params}
        self.settings = {k: v for k, v in (settings or {}).items() if v is not None}
        self.engine = engine
        self.allow_nan = allow_nan
        self._ensemble: Any = None
        self._fallback = engine == "pysd"

    @property
    def name(self) -> str:
        """``"pysd"`` or ``"ensemble"``: what runs the next table."""
        return "pysd" if self._fallback else "ensemble"

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_model"] = state["_ensemble"] = None
        return state

    def model(self) -> Any:
        """The loaded model (loaded on first use)."""
        if self._model is None:
            from sdkit.model.core import load_model

            self._model = load_model(self.model_path)
        return self._model

    def resolve(self) -> str:
        """Decide now which engine runs the tables (compiling the model once): ``"ensemble"``
        or, with ``auto`` where the engine refuses the model, ``"pysd"``.

        So a caller can record what will run before any table does (a sensitivity study
        names it in its manifest); :meth:`run` would decide the same on its first table.
        """
        if not self._fallback:
            self._try(self._ensemble_for_tables)
        return self.name

    def run(self, table: pd.DataFrame) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Saved times and ``{variable: (N, T) array}`` for the rows of ``table``."""
        if not self._fallback:
            done = self._try(lambda: self._run_engine(table))
            if done is not None:
                return done
        return self._run_pysd(table)

    def _try(self, step: Any) -> Any:
        """``step()``, or None after falling back to PySD where ``auto`` allows it."""
        result, why = try_engine(self.engine, step)
        if why is not None:
            self._fall_back(why)
        return result

    def _fall_back(self, why: str) -> None:
        log.warning("Falling back to PySD runs: %s", why)
        self._fallback = True

    def _ensemble_for_tables(self) -> Any:
        if any(isinstance(v, pd.Series) for v in self.base_params.values()):
            raise UnsupportedConstructError(
                "The engine cannot take the base's time-varying inputs.",
                construct="a time-series input")
        if self._ensemble is None:
            from sdkit.engine import Ensemble

            self._ensemble = Ensemble(self.model(), [*self.params, *self.base_params],
                                      self.variables)
        return self._ensemble

    def _run_engine(self, table: pd.DataFrame) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        self._ensemble_for_tables()
        full = table[self.params].assign(
            **{k: np.full(len(table), float(v)) for k, v in self.base_params.items()})
        result = self._ensemble.run(full, **self.settings)
        if not self.allow_nan:
            bad = [np.flatnonzero(~np.isfinite(result.values[v]).all(axis=1))
                   for v in self.variables]
            rows = np.concatenate(bad) if bad else np.empty(0, int)
            if rows.size:  # the message of Model.run for the first such set
                from sdkit.util.validation import check_finite_results

                check_finite_results(result.frame(int(rows.min()))[self.variables])
        return np.asarray(result.times, dtype=float), \
            {v: np.asarray(result.values[v], dtype=float) for v in self.variables}

    def _times(self, model: Any) -> np.ndarray:
        """The saved times of a run (when no run of a table finished)."""
        from sdkit.util.validation import effective_times

        final, _, save = effective_times(model, self.settings)
        count = int(round((final - model.initial_time) / save)) + 1
        return model.initial_time + save * np.arange(count)

    def _run_pysd(self, table: pd.DataFrame) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        model = self.model()
        runs: list[pd.DataFrame | None] = []
        for row in table[self.params].to_dict("records"):
            try:
                runs.append(model.run({**self.base_params, **row},
                                      return_columns=self.variables, **self.settings))
            except SimulationError:  # NaN or infinite results
                if not self.allow_nan:
                    raise
                runs.append(None)
        done = next((r for r in runs if r is not None), None)
        times = done.index.to_numpy(dtype=float) if done is not None else self._times(model)
        missing = np.full(len(times), np.nan)
        return times, {v: np.vstack([missing if r is None else r[v].to_numpy(dtype=float)
                                     for r in runs]).reshape(len(runs), len(times))
                       for v in self.variables}

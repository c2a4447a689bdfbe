"""Load system-dynamics models with PySD and run them.

This is the only sdkit module that imports PySD, and it does so inside functions
so that importing sdkit (or running ``sdkit --version``) stays fast.

A model is translated once into the cache (see :mod:`sdkit.model.cache`); every run
then loads a fresh PySD model object from that translation, so parameter
overrides and PySD's remembered run settings never leak from one run into the
next.
"""

from __future__ import annotations

import functools
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdkit import __version__
from sdkit.engine.batch import check_engine, run_on_engine
from sdkit.errors import (
    ModelFileNotFoundError,
    ModelParseError,
    SdkitError,
    SimulationError,
    UnknownVariableError,
)
from sdkit.ir import structure
from sdkit.ir.structure import Variable
from sdkit.model import cache, guard
from sdkit.model.translation import (
    IR_FILE,
    PY_FILE,
    STRUCTURE_FILE,
    delay_problem,
    load_translation,
    translate,
)
from sdkit.model.translation import one_line as _one_line
from sdkit.util.names import close_matches, normalize_name
from sdkit.util.validation import (
    check_finite_results,
    check_params,
    check_saved_rows,
    check_time_settings,
    effective_times,
    run_warnings,
)

if TYPE_CHECKING:
    import pandas as pd

    from sdkit.engine.progcache import ProgramCache
    from sdkit.ir.core import ModelIR

__all__ = ["Variable", "Model", "load_model", "run", "KINDS", "SUFFIXES"]

#: Possible values of :attr:`Variable.kind`.
KINDS = ("stock", "flow", "auxiliary", "constant", "lookup", "data", "control")
#: Model file suffixes understood by :func:`load_model`, with their format.
SUFFIXES = {".mdl": "vensim", ".xmile": "xmile", ".xml": "xmile", ".stmx": "xmile"}
_CONTROL = ("initial_time", "final_time", "time_step", "saveper")


def _time_of(pysd_model: Any) -> str:
    """The model time a failed PySD run stopped at, or "initialisation"."""
    try:
        return f"{float(pysd_model.time()):g}"
    except Exception:  # noqa: BLE001 - the time object may not exist yet
        return "initialisation"


class Model:
    """A translated model: metadata without running, and fresh runs on demand.

    Use :func:`load_model` to create one.

    Attributes
    ----------
    path : pathlib.Path
        The model file given to :func:`load_model`.
    format : str
        ``"vensim"`` or ``"xmile"``.
    variables : dict of str to Variable
        Every variable keyed by real name, in model-file order.
    initial_time, final_time, time_step, saveper : float
        The model's own time settings.
    saveper_follows_time_step : bool
        Whether the model defines SAVEPER as TIME STEP (so it follows a new time step).
    dependencies : dict of str to frozenset of str
        The causal graph: for each variable, the variables it directly depends on
        during a run (a stock depends on its flows).
    ir : ModelIR
        The model's IR (:func:`sdkit.ir.core.build_ir`), built from the file on first use
        and kept: loops, checks and the engine read the model's structure from it.
        When :func:`load_model` translated the file, it is built from the same parse.
    key : str
        The translation key (:func:`translation_key`) of the bytes the model was
        loaded from.
    programs : ProgramCache
        The engine programs compiled for this model (:mod:`sdkit.engine.progcache`).
    """

    def __init__(
        self, path: Path, fmt: str, py_path: Path, variables: dict[str, Variable],
        times: dict[str, float], saveper_follows_time_step: bool,
        dependencies: dict[str, frozenset[str]] | None = None, *,
        ir: ModelIR | None = None,
    ) -> None:
        self.path = path
        self.format = fmt
        self.variables = variables
        self.initial_time = times["initial_time"]
        self.final_time = times["final_time"]
        self.time_step = times["time_step"]
        self.saveper = times["saveper"]
        self._py_path = py_path
        self.saveper_follows_time_step = saveper_follows_time_step
        self.dependencies = dependencies or {}
        self._ir = ir
        self._programs: ProgramCache | None = None
        self._by_key: dict[str, str] = {}
        for var in variables.values():
            self._by_key.setdefault(normalize_name(var.name), var.name)
            self._by_key.setdefault(var.py_name, var.name)

    def __repr__(self) -> str:
        return f"<sdkit.Model {self.path.name!r}: {len(self.variables)} variables>"

    @property
    def key(self) -> str:
        """The translation key of the bytes this model was loaded from."""
        return self._py_path.parent.name

    @property
    def ir(self) -> ModelIR:
        """The model's IR, parsed from the model file once, on first use."""
        if self._ir is None:  # the IR the translation stored beside it, else a parse
            from sdkit.ir.record import read_stored_ir

            self._ir = read_stored_ir(self._py_path.with_name(IR_FILE), self.path)
        if self._ir is None:
            from sdkit.ir.core import build_ir

            self._ir = build_ir(self.path)
        return self._ir


    @property
    def programs(self) -> ProgramCache:
        """The in-memory table of this model's compiled engine programs."""
        if self._programs is None:
            from sdkit.engine.progcache import ProgramCache

            self._programs = ProgramCache()
        return self._programs

    @functools.cached_property
    def subscripts(self) -> dict[str, tuple[str, ...]]:
        """Real name -> subscript ranges of each subscripted (array) variable, read once
        from PySD's documentation of the translated model."""
        doc = load_translation(self._py_path, self.path).doc
        if "Subscripts" not in doc.columns:
            return {}
        return {str(name): tuple(map(str, subscripts))
                for name, subscripts in zip(doc["Real Name"], doc["Subscripts"], strict=True)
                if isinstance(subscripts, list | tuple) and subscripts}

    def variable(self, name: str) -> Variable:
        """Return a variable by real name (ignoring case, spaces, underscores) or py name.

        Raises
        ------
        UnknownVariableError
            When no variable matches; carries up to three close matches.
        """
        if isinstance(name, str):
            if name in self.variables:
                return self.variables[name]
            real = self._by_key.get(name) or self._by_key.get(normalize_name(name))
            if real is not None:
                return self.variables[real]
            suggestions = close_matches(name, self.variables)
        else:
            suggestions = []
        raise UnknownVariableError(str(name), suggestions, context=f"model {self.path.name!r}")

    def stocks(self) -> list[Variable]:
        """Return the stocks, in model order."""
        return [v for v in self.variables.values() if v.kind == "stock"]

    def constants(self) -> list[Variable]:
        """Return the constants (the variables that ``params`` may override)."""
        return [v for v in self.variables.values() if v.kind == "constant"]

    def doc(self) -> pd.DataFrame:
        """Return the variables as a table.

        Returns
        -------
        pandas.DataFrame
            Columns ``name, py_name, kind, units, min, max, comment``; one row per
            variable in model order; ``min``/``max`` are NaN when unbounded.
        """
        import pandas as pd

        rows = [
            {"name": v.name, "py_name": v.py_name, "kind": v.kind, "units": v.units,
             "min": math.nan if v.limits[0] is None else v.limits[0],
             "max": math.nan if v.limits[1] is None else v.limits[1], "comment": v.comment}
            for v in self.variables.values()
        ]
        columns = ["name", "py_name", "kind", "units", "min", "max", "comment"]
        return pd.DataFrame(rows, columns=columns)

    def run(
        self, params: Mapping[str, Any] | None = None, *, final_time: float | None = None,
        time_step: float | None = None, saveper: float | None = None,
        return_columns: Sequence[str] | None = None, engine: str = "pysd",
    ) -> pd.DataFrame:
        """Run the model from a fresh state.

        Parameters
        ----------
        params : mapping, optional
            Constant overrides: variable name (real or py) to a number, or to a
            ``pandas.Series`` indexed by time for a time-varying input.
        final_time, time_step, saveper : float, optional
            Time settings replacing the model's own for this run only.
        return_columns : sequence of str, optional
            Variables to return (real or py names); default every variable
            except the control variables.
        engine : {"pysd", "auto", "ensemble"}, default "pysd"
            What runs the model: PySD; the ensemble engine (:mod:`sdkit.engine`,
            bitwise equal to PySD, milliseconds a run once its program is cached),
            falling back to PySD where it refuses the model (``"auto"``) or raising
            (``"ensemble"``). ``result.attrs["engine"]`` says which ran.

        Returns
        -------
        pandas.DataFrame
            Indexed by time (index name ``"time"``), one column per variable,
            named by real name (``name[subscript]`` for subscripted ones).

        Raises
        ------
        UnknownVariableError, ParameterValueError
            Invalid ``params``, time settings or ``return_columns``.
        SimulationError
            The results contain NaN or infinite values.
        """
        overrides = check_params(self, {} if params is None else params)
        times = check_time_settings(self, final_time, time_step, saveper)
        if return_columns is None:
            wanted = None
        else:
            if isinstance(return_columns, str):
                return_columns = [return_columns]
            wanted = [self.variable(name).name for name in return_columns]
        with run_warnings():  # PySD's and numpy's warnings in the model's words, counted
            if check_engine(engine) != "pysd":
                done = run_on_engine(self, overrides, engine, times, wanted)
                if done is not None:
                    return done
            fresh = load_translation(self._py_path, self.path)
            try:
                result = fresh.run(params=overrides, return_columns=wanted, **times)
            except SdkitError:
                raise
            except Exception as err:  # PySD raises many types mid-run (a DELAY N of order 0)
                reason = delay_problem(fresh, self._name_of_py) or _one_line(err)
                raise SimulationError(
                    f"The simulation of {self.path.name!r} failed at time "
                    f"{_time_of(fresh)}: {reason}") from err
        result = self._tidy(result, wanted)
        final, _, save = effective_times(self, times)
        check_saved_rows(repr(self.path.name), self.initial_time, final, save, len(result),
                         float(result.index[-1]) if len(result) else self.initial_time)
        check_finite_results(result)
        result.attrs["engine"] = "pysd"
        return result

    def _name_of_py(self, py_name: str) -> str:
        """The model's name of a PySD name, or the PySD name when there is none."""
        try:
            return self.variable(py_name).name
        except SdkitError:
            return py_name

    def _tidy(self, result: pd.DataFrame, wanted: list[str] | None) -> pd.DataFrame:
        if wanted is None:
            rank = {name: i for i, name in enumerate(self.variables)}
            control = {v.name for v in self.variables.values() if v.kind == "control"}

            def base(column: str) -> str:
                return column.split("[", 1)[0]

            columns = [c for c in result.columns if base(c) not in control]
            columns.sort(key=lambda c: rank.get(base(c), len(rank)))
            result = result[columns]
        result = result.copy()
        result.index = result.index.astype(float)
        result.index.name = "time"
        result.columns.name = None
        return result


def load_model(path: str | os.PathLike[str], *, cache_dir: str | os.PathLike[str] | None = None
               ) -> Model:
    """Translate (or reuse the cached translation of) a Vensim or XMILE model.

    Parameters
    ----------
    path : path-like
        A ``.mdl`` (Vensim) or ``.xmile``/``.xml``/``.stmx`` (XMILE) file.
    cache_dir : path-like, optional
        Cache root; default ``$SDKIT_CACHE_DIR``, ``$XDG_CACHE_HOME/sdkit`` or
        ``~/.cache/sdkit``.  The translation is never written beside the model.

    Returns
    -------
    Model

    Raises
    ------
    ModelFileNotFoundError
        ``path`` does not exist.
    ModelParseError
        Unknown suffix, or PySD cannot translate or load the model.
    """
    source = Path(path)
    try:
        found = source.is_file()
    except OSError as err:  # e.g. a file name too long for the file system
        raise ModelFileNotFoundError(f"Model file not found: {source} ({_one_line(err)})"
                                     ) from err
    if not found:
        raise ModelFileNotFoundError(f"Model file not found: {source}")
    fmt = SUFFIXES.get(source.suffix.lower())
    if fmt is None:
        known = ", ".join(SUFFIXES)
        raise ModelParseError(
            f"Cannot read {source}: unknown model file suffix {source.suffix!r}; "
            f"expected one of {known}."
        )

    try:
        data = source.read_bytes()
    except OSError as err:
        raise ModelParseError(f"Cannot read {source}: {_one_line(err)}") from err
    fresh: list[ModelIR | None] = []  # the IR of the parse, when translated here
    entry = cache.ensure_entry(
        cache.cache_root(cache_dir), translation_key(data),
        lambda workdir: fresh.append(translate(data, source, fmt, workdir)))
    summary = json.loads((entry / STRUCTURE_FILE).read_text(encoding="utf-8"))
    pysd_model = load_translation(entry / PY_FILE, source)
    variables = {f['name']: Variable(**f)
                 for f in structure.variable_fields(pysd_model.doc, summary)}
    times = {}
    for name in _CONTROL:
        try:
            times[name] = float(getattr(pysd_model.components, name)())
        except Exception as err:  # a time setting PySD cannot evaluate before running
            raise ModelParseError(
                f"Cannot evaluate {name.upper().replace('_', ' ')} of {source}: {_one_line(err)}"
            ) from err
    real_names = {v.py_name: v.name for v in variables.values()}
    dependencies = structure.causal_dependencies(pysd_model.dependencies, real_names)
    return Model(source, fmt, entry / PY_FILE, variables, times,
                 summary["saveper_follows_time_step"], dependencies,
                 ir=fresh[0] if fresh else None)


def translation_key(data: bytes) -> str:
    """The cache key of a model file's translation: its bytes, PySD's and sdkit's versions."""
    import pysd

    return cache.cache_key(data, pysd.__version__, f"{__version__}+guard{guard.REVISION}")


def run(model_or_path: Model | str | os.PathLike[str], params: Mapping[str, Any] | None = None,
        **kwargs: Any) -> pd.DataFrame:
    """Load a model if given a path, then run it.

    ``params`` and the keyword arguments (``final_time``, ``time_step``,
    ``saveper``, ``return_columns``) are those of :meth:`Model.run`.

    Returns
    -------
    pandas.DataFrame
    """
    model = model_or_path if isinstance(model_or_path, Model) else load_model(model_or_path)
    return model.run(params, **kwargs)

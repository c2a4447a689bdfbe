"""From a model file to importable Python: PySD's translation under sdkit's guard.

The three steps of :mod:`sdkit.model.guard`'s design, in order: :func:`read_abstract`
(PySD parses with an explicit encoding, no DTD and literal-only ``eval``),
:func:`translate` (the parsed model is summarised, made inert, built and every
module audited, inside a cache staging folder) and :func:`load_translation`
(the cache entry's digest and the audit are checked again right before each
import). This is the only module that imports generated code.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdkit.errors import ModelParseError, UnsafeCacheError, UnsafeModelError
from sdkit.ir import structure
from sdkit.model import cache, guard
from sdkit.util.validation import PYSD_OBJECTS as _PYSD_OBJECTS

if TYPE_CHECKING:
    from sdkit.ir.core import ModelIR

__all__ = ["read_abstract", "translate", "load_translation", "PY_FILE", "STRUCTURE_FILE", "IR_FILE",
           "one_line", "delay_problem", "PYSD_OBJECTS"]

#: The generated main module and sdkit's structure summary in a cache entry.
PY_FILE = "model.py"
STRUCTURE_FILE = "structure.json"
#: The IR of the translated parse, as data (:mod:`sdkit.ir.record`).
IR_FILE = "ir.json"


def one_line(err: BaseException) -> str:
    """An exception as one line of text (type name added where the text alone is unclear)."""
    text = " ".join(str(err).split())
    if isinstance(err, LookupError) or text in ("", "None"):  # e.g. PySD's KeyError: 'y'
        return f"{type(err).__name__}: {text}" if text else type(err).__name__
    return text


#: PySD's names of the objects behind Vensim's functions (one table, in
#: :mod:`sdkit.util.validation`, which words warnings with it).
PYSD_OBJECTS = _PYSD_OBJECTS
#: The delays among them that have an order.
_ORDERED_DELAYS = {f"_{kind}_": PYSD_OBJECTS[kind] for kind in ("delayn", "delay", "smooth")}


def _delay_state(obj: Any) -> tuple[float, float, float] | None:
    """(order, shortest delay time, time step) of a PySD delay object, if it has an order."""
    order_func = getattr(obj, "order_func", None)
    delay_func = getattr(obj, "delay_time_func", None) or getattr(obj, "smooth_time_func", None)
    step = getattr(obj, "tstep", None)
    if not (callable(order_func) and callable(delay_func) and callable(step)):
        return None
    try:
        import numpy as np

        return float(order_func()), float(np.min(delay_func())), float(step())
    except Exception:  # noqa: BLE001 - a diagnosis only; the run's own error is reported
        return None


def delay_problem(pysd_model: Any, name_of: Any = str) -> str | None:
    """Why a PySD run failed in a delay of order 0, in the model's words, if it did.

    PySD lowers a delay's order until order x time step fits in the delay time, so an
    order below 1, or a delay time shorter than one time step, leaves a delay with no
    stages and the run stops with an ``IndexError``. Returns e.g. ``"DELAY N in
    'outflow' has order 0 and delay time 3: the order must be at least 1 and the delay
    time at least one time step (0.25)"``, or None when no delay is at fault.

    Parameters
    ----------
    pysd_model : pysd.py_backend.model.Model
        The model whose run failed.
    name_of : callable, default str
        Maps PySD's name of the variable holding the delay to the model's name.
    """
    elements = getattr(pysd_model, "_stateful_elements", {}) or {}
    for key, obj in dict(elements).items():
        prefix = next((p for p in _ORDERED_DELAYS if str(key).startswith(p)), "")
        state = _delay_state(obj) if prefix else None
        if state is None:
            continue
        order, delay, step = state
        if int(order) >= 1 and delay >= step:
            continue
        owner = name_of(str(key)[len(prefix):])
        return (f"{_ORDERED_DELAYS[prefix]} in {owner!r} has order {order:g} and delay time "
                f"{delay:g}: the order must be at least 1 and the delay time at least one "
                f"time step ({step:g})")
    return None


def load_translation(py_path: Path, source: Path) -> Any:
    """Load a fresh PySD model object from a cached translation.

    This is sdkit's only import of generated code: the translation's modules are
    audited (:func:`sdkit.model.guard.audit_translation`) right before every import.
    """
    import pysd

    problem = cache.verify_entry(py_path.parent)
    if problem is not None:
        raise UnsafeCacheError(
            f"The cached translation of {source} changed after it was built ({problem}); "
            "refused. Load the model again to rebuild it."
        )
    guard.audit_translation(py_path.parent)
    writes_bytecode = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # no __pycache__ in the entry (it would fail its digest)
    try:
        return pysd.load(str(py_path))
    except FileNotFoundError as err:
        raise ModelParseError(
            f"{source} reads an external data file ({one_line(err)}); "
            "external data files are not supported yet."
        ) from err
    except Exception as err:  # PySD raises many exception types while loading
        raise ModelParseError(f"PySD could not load {source}: {one_line(err)}") from err
    finally:
        sys.dont_write_bytecode = writes_bytecode


def read_abstract(path: Path, fmt: str, *, data: bytes | None = None,
                  source: Path | None = None) -> Any:
    """Parse a model file into PySD's abstract model, after sdkit's reading checks.

    The encoding PySD uses is decided here from an allow-list (Vensim) and XMILE
    files with a DTD or entities are refused, and PySD's parsers evaluate
    literals only (see :mod:`sdkit.model.guard`): parsing runs no model code.

    Parameters
    ----------
    path : pathlib.Path
        The file PySD reads.
    fmt : str
        ``"vensim"`` or ``"xmile"``.
    data : bytes, optional
        The file's bytes, if already read.
    source : pathlib.Path, optional
        The user's file, for messages (default ``path``).

    Returns
    -------
    pysd AbstractModel

    Raises
    ------
    ModelParseError
        The file cannot be read or parsed; :class:`UnsafeModelError` for a
        refused encoding declaration or DTD.
    """
    source = source or path
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as err:
            raise ModelParseError(f"Cannot read {source}: {one_line(err)}") from err
    if fmt == "vensim":
        from pysd.translators.vensim.vensim_file import VensimFile

        encoding = guard.vensim_encoding(data, source)
        make_reader = lambda: VensimFile(path, encoding=encoding)  # noqa: E731
    else:
        from pysd.translators.xmile.xmile_file import XmileFile

        guard.check_xmile_bytes(data, source)
        make_reader = lambda: XmileFile(path)  # noqa: E731
    guard.safe_translators()
    try:
        reader = make_reader()
        reader.parse()
        return reader.get_abstract_model()
    except Exception as err:  # parsimonious, lxml and PySD raise many types
        unsafe = _unsafe_cause(err)
        if unsafe is not None:  # raised inside a parser visitor and wrapped by parsimonious
            raise UnsafeModelError(f"{source}: {unsafe}") from err
        raise ModelParseError(f"PySD could not translate {source}: {one_line(err)}") from err


def _unsafe_cause(err: BaseException | None) -> UnsafeModelError | None:
    seen = 0
    while err is not None and seen < 20:
        if isinstance(err, UnsafeModelError):
            return err
        err, seen = err.__cause__ or err.__context__, seen + 1
    return None


def translate(data: bytes, source: Path, fmt: str, workdir: Path) -> ModelIR | None:
    """Translate model bytes with PySD inside ``workdir`` (a cache staging dir).

    The abstract model is summarised (keeping comments and units verbatim), its IR
    built (:func:`sdkit.ir.core.build_ir`, from the same parse), made inert, built, and
    every generated module is audited before anything imports it.

    Returns
    -------
    ModelIR or None
        The IR of the model (None if it cannot be built: :attr:`Model.ir
        <sdkit.model.core.Model.ir>` then builds it again and raises the error).
    """
    from pysd.builders.python.python_model_builder import ModelBuilder

    copy = workdir / ("model" + source.suffix.lower())
    copy.write_bytes(data)
    abstract = read_abstract(copy, fmt, data=data, source=source)
    summary = structure.summarize(abstract)
    ir = _ir_of(abstract, source, fmt)
    guard.make_inert(abstract)
    try:
        py_file = Path(ModelBuilder(abstract).build_model())
    except FileNotFoundError as err:
        raise ModelParseError(
            f"{source} refers to an external file ({one_line(err)}); "
            "external data files are not supported yet."
        ) from err
    except Exception as err:  # PySD and black raise many types
        raise ModelParseError(f"PySD could not translate {source}: {one_line(err)}") from err
    guard.audit_translation(workdir)
    if py_file.name != PY_FILE:
        os.replace(py_file, workdir / PY_FILE)
    (workdir / STRUCTURE_FILE).write_text(json.dumps(summary, indent=1), encoding="utf-8")
    if ir is not None:  # sealed with the entry: a later load reads it instead of parsing
        from sdkit.ir.record import ir_to_data

        (workdir / IR_FILE).write_text(json.dumps(ir_to_data(ir)), encoding="utf-8")
    return ir


def _ir_of(abstract: Any, source: Path, fmt: str) -> ModelIR | None:
    """The IR of the abstract model before :func:`sdkit.model.guard.make_inert` changes it."""
    from dataclasses import replace

    from sdkit.ir.core import build_ir

    try:
        return replace(build_ir(abstract), path=source, format=fmt)
    except Exception:  # noqa: BLE001 - raised again where the IR is used
        return None

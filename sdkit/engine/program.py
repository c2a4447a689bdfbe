"""A compiled model: the generated source, the data of its namespace, and its runs.

:func:`sdkit.engine.assemble.generate` turns a model's IR into a
:class:`CompiledProgram`: plain data (the source text, the lookup tables' points, the
non-finite constants, the parameter and output names) that can be written to the
program cache (:mod:`sdkit.engine.progcache`) and read back exactly.  :func:`link`
turns it into a runnable :class:`Program`: the source is checked against the
allow-list (:func:`sdkit.engine.audit.audit_program`), the checked tree is compiled,
and the namespace is built from the data only (numpy, :mod:`sdkit.engine.runtime`,
lookup objects), so a fresh and a cached program run the same code on the same data.
Every float that reaches a result (lookup points, constants) is stored as the 16
hexadecimal digits of its IEEE-754 bits, so the round trip is exact, NaN and
negative zero included.

One set on scalars
------------------
An array of shape ``(1,)`` costs about a microsecond per numpy call, so one set of
the empowerment model took ~150 ms on the array path.  The same code object is
also bound to a scalar namespace (``Program.scalar_function``) where the parameters
and the stocks are Python floats: ``+ - * /`` and comparisons are the same IEEE-754
operations as numpy's; ``np.exp``, ``np.maximum`` and the other numpy functions are
numpy's own (the same inner loops on one element), their ``np.float64`` results
handed on as Python floats (an exact conversion); ``^`` is Python's ``**`` (the C
library's ``pow``, as the array path and PySD); lookups use
:meth:`sdkit.engine.runtime.Lookup.at`, the array formula on one element; a DELAY or
SMOOTH state stays a small array (one element per order).  Python floats raise where
numpy returns ``inf`` or ``nan`` (division by zero, ``**`` overflow) and ``**`` of a
negative base goes complex; and an ``IF THEN ELSE`` may return a plain integer where
the array path returns an array.  So :func:`run_single` gives up, and the caller runs
the array path, on any exception, on a complex power and on any saved value that is
not a finite number (it first runs the array path up to the first saved time, to
find a failure there). An output is saved as Python integers when every saved value
of the scalar run is a Python ``int``, PySD's rule (e.g. ``STEP(1, a varied time)``).
"""

from __future__ import annotations

import functools
import re
import struct
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sdkit.engine import runtime
from sdkit.engine.audit import (
    NUMPY_FUNCTIONS,
    RUNTIME_FUNCTIONS,
    ProgramAuditError,
    audit_program,
)

if TYPE_CHECKING:
    from sdkit.engine.compiler import TimeGrid

__all__ = ["CompiledProgram", "Program", "link", "run_single", "scalar_power",
           "program_to_data", "program_from_data", "float_to_bits", "bits_to_float"]

#: A lookup table: ``("lookup", name, xs, ys, interpolation)`` for a lookup variable,
#: ``("inline", xs, ys)`` for ``WITH LOOKUP``.
TableSpec = tuple[Any, ...]

_TABLE_KEY = re.compile(r"_lk_\w+|_il\d+")
_CONST_KEY = re.compile(r"_c\d+")
_BITS = re.compile(r"[0-9a-f]{16}")


@dataclass(frozen=True)
class CompiledProgram:
    """The output of the code generator, as data (see the module docstring)."""

    source: str
    params: tuple[str, ...]
    outputs: tuple[str, ...]
    static: tuple[str, ...] = ()
    tables: dict[str, TableSpec] = field(default_factory=dict)
    consts: dict[str, float] = field(default_factory=dict)


@dataclass
class Program:
    """A linked program: ``function`` integrates arrays of N sets, ``scalar_function``
    (the same code on numpy scalars) one set; ``compiled`` is what it was linked from."""

    source: str
    function: Any
    outputs: list[str]          # py names, in output order
    params: list[str]
    needs_time_step: bool = True
    static: list[str] = field(default_factory=list)
    scalar_function: Any = None
    compiled: CompiledProgram | None = None


def link(compiled: CompiledProgram, power: Callable[[Any, Any], Any]) -> Program:
    """Audit, compile and bind a compiled program.

    Parameters
    ----------
    compiled : CompiledProgram
    power : callable
        The array version of Vensim ``^`` (:func:`sdkit.engine.assemble.array_pow`).

    Returns
    -------
    Program

    Raises
    ------
    ProgramAuditError
        The source or a namespace name is outside the allow-list.
    """
    tree = audit_program(compiled.source)
    code = compile(tree, "<sdkit-ensemble>", "exec")
    tables = _tables(compiled)
    consts = _consts(compiled)
    array_ns: dict[str, Any] = {"np": np, "_rt": runtime, "_pow": power, **tables, **consts}
    scalar_ns: dict[str, Any] = {"np": _SCALAR_NUMPY, "_rt": _SCALAR_RUNTIME, "_pow": scalar_power,
                                 **{k: _scalar_table(v) for k, v in tables.items()}, **consts}
    exec(code, array_ns)  # noqa: S102 - audited generator output (sdkit.engine.audit)
    exec(code, scalar_ns)  # noqa: S102 - the same code object
    return Program(compiled.source, array_ns["_simulate"], list(compiled.outputs),
                   list(compiled.params), static=list(compiled.static),
                   scalar_function=scalar_ns["_simulate"], compiled=compiled)


def _tables(compiled: CompiledProgram) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, spec in compiled.tables.items():
        if not _TABLE_KEY.fullmatch(key):
            raise ProgramAuditError(f"the table name {key!r} is outside the allow-list")
        if spec[0] == "lookup":
            _, name, xs, ys, interpolation = spec
            found[key] = runtime.Lookup(name, xs, ys, interpolation)
        else:
            _, xs, ys = spec
            found[key] = functools.partial(runtime.inline_lookup, xp=runtime.pysd_points(xs),
                                           yp=runtime.pysd_points(ys))
    return found


def _consts(compiled: CompiledProgram) -> dict[str, float]:
    for key in compiled.consts:
        if not _CONST_KEY.fullmatch(key):
            raise ProgramAuditError(f"the constant name {key!r} is outside the allow-list")
    return dict(compiled.consts)


# ------------------------------------------------------------------ one set on scalars
def _scalar_full(value: Any, n: int) -> Any:
    """The scalar twin of :func:`sdkit.engine.runtime.full`: ``value`` as a float."""
    return float(value)


class _Diverged(Exception):
    """The scalar path met a value the array path represents differently."""


def scalar_power(a: Any, b: Any) -> Any:
    """Vensim ``^`` on scalars: ``**`` (the C library's ``pow``); complex results refused."""
    out = a ** b
    if type(out) is complex:
        raise _Diverged("a negative number to a fractional power")
    return out


def _float_result(function: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        out = function(*args)
        return float(out) if type(out) is np.float64 else out

    call.__name__ = getattr(function, "__name__", "call")
    return call


def _scalar_table(obj: Any) -> Any:
    """The scalar entry point of a lookup object of the program's namespace."""
    return obj.at if isinstance(obj, runtime.Lookup) else _float_result(obj)


#: numpy functions whose ``np.float64`` results the scalar path takes as Python floats.
_FLOAT_FUNCTIONS = frozenset({
    "abs", "exp", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh",
    "tanh", "sqrt", "log", "power", "minimum", "maximum",
})
#: ``np`` and ``_rt`` of the scalar namespace.
_SCALAR_NUMPY = types.SimpleNamespace(**{
    name: _float_result(getattr(np, name)) if name in _FLOAT_FUNCTIONS else getattr(np, name)
    for name in sorted(NUMPY_FUNCTIONS)})
_SCALAR_RUNTIME = types.SimpleNamespace(
    **{name: getattr(runtime, name) for name in sorted(RUNTIME_FUNCTIONS - {"full"})},
    full=_scalar_full)


class _FirstRow(Exception):
    """Raised by the probe's ``record`` to stop the array path at the first saved time."""


def _integer_outputs(function: Any, part: dict[str, Any], grid: TimeGrid,
                     names: list[str]) -> set[str] | None:
    """The outputs the array path saves as Python integers (it decides at its first row).

    Returns ``None`` when the array path fails before its first saved time.
    """
    found: set[str] | None = None

    def probe(j: int, values: tuple[Any, ...]) -> None:
        nonlocal found
        found = {name for name, v in zip(names, values, strict=True) if type(v) is int}
        raise _FirstRow

    try:
        function(part, 1, grid.times, grid.save, grid.dt, probe)
    except _FirstRow:
        return found
    except Exception:  # the array path reports it when it runs
        return None
    return found


def run_single(program: Program, part: dict[str, Any], grid: TimeGrid,
               names: list[str]) -> tuple[dict[str, np.ndarray], set[str]] | None:
    """Run one parameter set on scalars; ``None`` where the array path must run instead.

    Parameters
    ----------
    program : Program
    part : dict
        The arguments of the array path (parameters as arrays of shape ``(1,)``).
    grid : sdkit.engine.compiler.TimeGrid
    names : list of str
        Real names of the outputs, in output order.

    Returns
    -------
    tuple or None
        Real name to an array of shape ``(1, T)``, and the outputs saved as integers.
    """
    if _integer_outputs(program.function, part, grid, names) is None or \
            program.scalar_function is None:
        return None
    values = {k: (float(v[0]) if isinstance(v, np.ndarray) and v.shape == (1,) else v)
              for k, v in part.items()}
    rows: list[tuple[Any, ...]] = []
    try:
        program.scalar_function(values, 1, grid.times, grid.save, grid.dt,
                                lambda j, row: rows.append(row))
        saved = np.array(rows, dtype=float)
    except Exception:  # e.g. a Python division by zero, _Diverged: the array path decides
        return None
    if saved.shape != (len(grid.saved_times), len(names)) or not np.isfinite(saved).all():
        return None
    # PySD saves a column as integers when every saved value is a Python int; the scalar
    # path computes the same Python values (e.g. STEP(1, a varied time) gives 0 and 1), so
    # its rows decide, as the array path's first row decides for the array path
    integer = {name for k, name in enumerate(names) if all(type(row[k]) is int for row in rows)}
    columns = np.ascontiguousarray(saved.T)
    return {name: columns[k:k + 1] for k, name in enumerate(names)}, integer


# ------------------------------------------------------------------ data round trip
def float_to_bits(value: float) -> str:
    """The 16 hexadecimal digits of a float's IEEE-754 bits (little-endian)."""
    return struct.pack("<d", value).hex()


def bits_to_float(text: object) -> float:
    """The float written by :func:`float_to_bits`; ``ValueError`` for anything else."""
    if not isinstance(text, str) or not _BITS.fullmatch(text):
        raise ValueError("a float is not 16 hexadecimal digits")
    value: float = struct.unpack("<d", bytes.fromhex(text))[0]
    return value


def _names(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("expected a list of names")
    return tuple(value)


def _points(value: object) -> tuple[float, ...]:
    if not isinstance(value, list):
        raise ValueError("expected a list of points")
    return tuple(bits_to_float(v) for v in value)


def program_to_data(compiled: CompiledProgram) -> dict[str, Any]:
    """The program as JSON-ready data (floats as their IEEE-754 bits)."""
    tables: dict[str, list[Any]] = {}
    for key, spec in compiled.tables.items():
        if spec[0] == "lookup":
            tables[key] = ["lookup", spec[1], _bit_list(spec[2]), _bit_list(spec[3]), spec[4]]
        else:
            tables[key] = ["inline", _bit_list(spec[1]), _bit_list(spec[2])]
    return {"source": compiled.source, "params": list(compiled.params),
            "outputs": list(compiled.outputs), "static": list(compiled.static),
            "tables": tables, "consts": {k: float_to_bits(v) for k, v in compiled.consts.items()}}


def _bit_list(values: tuple[float, ...]) -> list[str]:
    return [float_to_bits(v) for v in values]


def program_from_data(data: object) -> CompiledProgram:
    """Read :func:`program_to_data`'s output back, checking every type.

    Raises
    ------
    ValueError
        The data does not have the shape :func:`program_to_data` writes.
    """
    if not isinstance(data, dict) or set(data) != {"source", "params", "outputs", "static",
                                                   "tables", "consts"}:
        raise ValueError("the program record does not have the expected fields")
    source, tables, consts = data["source"], data["tables"], data["consts"]
    if not isinstance(source, str) or not isinstance(tables, dict) \
            or not isinstance(consts, dict):
        raise ValueError("the program record has fields of the wrong type")
    specs: dict[str, TableSpec] = {}
    for key, spec in tables.items():
        if not isinstance(spec, list) or not spec:
            raise ValueError(f"table {key!r} is not a list")
        if spec[0] == "lookup" and len(spec) == 5 and isinstance(spec[1], str) \
                and isinstance(spec[4], str):
            specs[key] = ("lookup", spec[1], _points(spec[2]), _points(spec[3]), spec[4])
        elif spec[0] == "inline" and len(spec) == 3:
            specs[key] = ("inline", _points(spec[1]), _points(spec[2]))
        else:
            raise ValueError(f"table {key!r} has an unknown shape")
    values = {key: bits_to_float(value) for key, value in consts.items()}
    if not all(isinstance(k, str) for k in (*specs, *values)):
        raise ValueError("a table or constant name is not a string")
    return CompiledProgram(source, _names(data["params"]), _names(data["outputs"]),
                           _names(data["static"]), specs, values)

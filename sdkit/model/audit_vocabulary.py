"""The vocabulary that :mod:`sdkit.model.audit` allows in PySD-generated modules.

Collected from PySD 3.14's builder (``builders/python``: the function table
``python_functions.functionspace``, the import manager's ``imports.add`` calls and
the code templates in its string literals) and from translating every model of
the SDXorg test-models suite and the shipped model. Each entry is a name PySD
emits; nothing here reads files, runs programs, imports modules or reaches
Python's internals. Adding a name is a security decision: check that it cannot
read or write files, run code or reach builtins, and add a model that needs it
to ``tests/model/test_audit.py``.
"""

from __future__ import annotations

__all__ = [
    "ALLOWED_IMPORTS",
    "ALLOWED_FROM",
    "ALLOWED_ATTRIBUTES",
    "ALLOWED_BUILTINS",
    "ALLOWED_DUNDERS",
]

#: ``import MODULE as ALIAS``: the only two plain imports PySD writes.
ALLOWED_IMPORTS: dict[str, str] = {"numpy": "np", "xarray": "xr"}

#: ``from MODULE import NAME``.
ALLOWED_FROM: dict[str, frozenset[str]] = {
    "pathlib": frozenset({"Path"}),
    "pysd": frozenset({"Component"}),
    "scipy": frozenset({"stats"}),
    "pysd.py_backend.allocation": frozenset({"allocate_available", "allocate_by_priority"}),
    "pysd.py_backend.data": frozenset({"TabData"}),
    # External data objects read spreadsheet/CSV cells; they never run code.
    "pysd.py_backend.external": frozenset({"ExtConstant", "ExtData", "ExtLookup"}),
    "pysd.py_backend.functions": frozenset({
        "active_initial", "get_time_value", "if_then_else", "incomplete", "integer",
        "invert_matrix", "modulo", "not_implemented_function", "prod", "pulse", "quantum",
        "ramp", "step", "sum", "vector_rank", "vector_reorder", "vector_select",
        "vector_sort_order", "vmax", "vmin", "xidz", "zidz",
    }),
    "pysd.py_backend.lookups": frozenset({"HardcodedLookups"}),
    "pysd.py_backend.model": frozenset({"Macro"}),
    "pysd.py_backend.statefuls": frozenset({
        "Delay", "DelayFixed", "DelayN", "Forecast", "Initial", "Integ", "NonNegativeInteg",
        "SampleIfTrue", "Smooth", "Trend",
    }),
    "pysd.py_backend.utils": frozenset(),  # load_modules (split views) feeds exec: refused
}

#: Attribute names: numpy/xarray/scipy.stats functions of PySD's function table
#: (none does I/O), xarray methods its subscript code calls, pathlib's
#: ``Path(__file__).parent.joinpath``, PySD's ``component.add`` and time object.
ALLOWED_ATTRIBUTES: frozenset[str] = frozenset({
    # numpy / scipy.stats functions and constants
    "abs", "arange", "arccos", "arcsin", "arctan", "array", "cos", "cosh", "exp", "inf",
    "interp", "log", "logical_and", "logical_not", "logical_or", "maximum", "minimum", "nan",
    "ones_like", "pi", "power", "random", "rvs", "sin", "sinh", "sqrt", "tan", "tanh",
    "truncexpon", "truncnorm", "uniform", "zeros_like",
    # xarray
    "DataArray", "expand_dims", "loc", "rename", "reset_coords", "transpose", "values",
    # pathlib (the model folder; the argument of joinpath is checked to stay inside it)
    "parent", "joinpath",
    # PySD: the component registry, the time object, ACTIVE INITIAL's stage
    "add", "final_time", "initial_time", "saveper", "stage", "time_step",
})

#: Builtins PySD's templates call.
ALLOWED_BUILTINS: frozenset[str] = frozenset({"bool", "float", "int", "len"})

#: Dunder names the module header uses.
ALLOWED_DUNDERS: frozenset[str] = frozenset({"__data", "__file__", "__pysd_version__"})

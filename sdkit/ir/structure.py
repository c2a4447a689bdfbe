"""Model structure read from PySD's abstract model.

PySD's documentation table (``model.doc``) tells constants, lookups, data and
stocks apart, but it cannot tell a flow from any other auxiliary.  This module
walks the abstract syntax tree that PySD's translators build (for Vensim and
XMILE alike) and reports:

* the order in which variables appear in the model file,
* the variables that appear directly as a term of some stock's net rate
  (``INTEG(inflow - outflow, ...)`` in Vensim; XMILE stocks list their inflows
  and outflows, which PySD turns into the same expression),
* whether ``SAVEPER`` is defined as ``TIME STEP``,
* every variable's documentation (units, comment, limits) as written in the
  model file (:func:`element_doc`), the one reading of those fields behind both
  :attr:`sdkit.model.core.Model.variables` and :attr:`sdkit.model.core.Model.ir`; and
  :class:`Variable`, the metadata both hold (:class:`sdkit.ir.core.IRVariable` is a
  :class:`Variable` with its equation).

Nothing here imports PySD: the functions only read attributes of the objects
PySD produced, so the result can be stored as plain JSON next to the translation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Variable",
    "element_doc",
    "normalize_reference",
    "summarize",
    "flow_terms",
    "causal_dependencies",
    "doc_text",
    "doc_limit",
    "variable_fields",
]

_CONTROL = ("initial_time", "final_time", "time_step", "saveper")


@dataclass(frozen=True)
class Variable:
    """Metadata of one model variable, as documented in the model file.

    Attributes
    ----------
    name : str
        Real name, as written in the model file.
    py_name : str
        Python identifier PySD uses for the variable.
    kind : str
        One of ``"stock"``, ``"flow"``, ``"auxiliary"``, ``"constant"``,
        ``"lookup"``, ``"data"``, ``"control"``.
    units : str
        Units, or ``""`` when none are given.
    limits : tuple of (float or None, float or None)
        Documented ``[min, max]`` range; ``None`` for an unbounded side or ``?``.
    comment : str
        Documentation comment, or ``""``.
    """

    name: str
    py_name: str
    kind: str
    units: str
    limits: tuple[float | None, float | None]
    comment: str
#: Arithmetic operators that keep a reference a *direct* term of the net rate.
_ADDITIVE = frozenset({"+", "-", "negative", "positive"})


def normalize_reference(name: str) -> str:
    """Return the form PySD uses for references in the abstract syntax tree.

    Parameters
    ----------
    name : str
        A variable name as written in the model file, or a reference.

    Returns
    -------
    str
        Lower-case name with runs of spaces and underscores folded into one
        underscore and surrounding quotes removed.
    """
    return re.sub(r"[\s_]+", "_", name.strip().strip('"').strip().lower())


def flow_terms(ast: Any) -> Iterator[str]:
    """Yield the references that are direct additive terms of an expression.

    Parameters
    ----------
    ast : object
        An expression node from PySD's abstract model (or a number).

    Yields
    ------
    str
        Normalized names of variables referenced as whole terms: ``a`` and ``b``
        in ``a - b`` or ``-(a + b)``, but not in ``a * b``.
    """
    kind = type(ast).__name__
    if kind == "ReferenceStructure":
        reference = getattr(ast, "reference", None)
        if isinstance(reference, str):
            yield normalize_reference(reference)
    elif kind == "ArithmeticStructure":
        operators = set(getattr(ast, "operators", ()))
        if operators <= _ADDITIVE:
            for argument in getattr(ast, "arguments", ()):
                yield from flow_terms(argument)
    elif kind == "ParenthesesStructure":
        yield from flow_terms(getattr(ast, "argument", None))


def _stock_rates(section: Any) -> Iterator[Any]:
    """Yield the net-rate expression of every INTEG component of a section."""
    for element in section.elements:
        for component in element.components:
            ast = component.ast
            if type(ast).__name__ == "IntegStructure":
                yield ast.flow


def _is_reference_to(ast: Any, name: str) -> bool:
    return (
        type(ast).__name__ == "ReferenceStructure"
        and normalize_reference(str(getattr(ast, "reference", ""))) == name
    )


def summarize(abstract_model: Any) -> dict[str, Any]:
    """Summarize the structure of a PySD abstract model as plain data.

    Only the main section is considered; macros are internal to PySD.

    Parameters
    ----------
    abstract_model : pysd.translators.structures.abstract_model.AbstractModel
        The result of ``VensimFile.get_abstract_model()`` or
        ``XmileFile.get_abstract_model()``.

    Returns
    -------
    dict
        ``order``: real names in model-file order (first definition wins);
        ``flows``: real names of variables that are direct terms of a stock's
        net rate, in model order; ``saveper_follows_time_step``: whether
        ``SAVEPER`` is defined as ``TIME STEP``; ``docs``: real name to the
        :func:`element_doc` of each element (verbatim: PySD only ever sees a
        made-inert copy of the comments).
    """
    section = abstract_model.sections[0]
    order: list[str] = []
    for element in section.elements:
        if element.name not in order:
            order.append(element.name)

    terms: set[str] = set()
    for rate in _stock_rates(section):
        terms.update(flow_terms(rate))
    flows = [name for name in order if normalize_reference(name) in terms]

    follows = False
    for element in section.elements:
        if normalize_reference(element.name) == "saveper":
            follows = any(_is_reference_to(c.ast, "time_step") for c in element.components)
    docs: dict[str, dict[str, Any]] = {}
    for element in section.elements:
        docs.setdefault(element.name, element_doc(element))
    return {"order": order, "flows": flows, "saveper_follows_time_step": follows,
            "docs": docs}


def causal_dependencies(
    pysd_dependencies: dict[str, Any], real_names: dict[str, str]
) -> dict[str, frozenset[str]]:
    """Direct causes of each variable, by real name, from PySD's dependency map.

    Parameters
    ----------
    pysd_dependencies : dict
        ``model.dependencies`` of a loaded PySD model: Python name to a dict of
        the Python names it uses; stateful objects (``_integ_x``, ``_smooth_x``,
        ...) map to ``{"initial": {...}, "step": {...}}``.
    real_names : dict of str to str
        Python name to real name, for the model's variables.

    Returns
    -------
    dict of str to frozenset of str
        For every variable, the variables its value depends on during the run
        (a stock depends on its flows; initial-value dependencies are left out,
        as they do not act during the run).
    """

    def causes(py_name: str, seen: set[str]) -> set[str]:
        found: set[str] = set()
        entry = pysd_dependencies.get(py_name) or {}
        if "step" in entry or "initial" in entry:
            entry = entry.get("step") or {}
        for dep in entry:
            if dep in real_names:
                found.add(real_names[dep])
            elif dep.startswith("_") and dep not in seen:
                seen.add(dep)
                found |= causes(dep, seen)
        return found

    return {real: frozenset(causes(py_name, {py_name})) for py_name, real in real_names.items()}


def element_doc(element: Any) -> dict[str, Any]:
    """The documentation of one element of PySD's abstract model, as JSON-ready data.

    ``units`` and ``comment`` one line each (:func:`doc_text`) and ``limits`` as
    ``[low, high]`` (:func:`doc_limit`; ``None`` for an open or ``?`` side), read
    from the element as parsed, before :func:`sdkit.model.guard.make_inert` touches the
    comment.  :func:`summarize` stores it for :attr:`sdkit.model.core.Model.variables`
    and :func:`sdkit.ir.core.build_ir` reads it for the IR, so both show the same text.
    """
    limits = tuple(element.limits) if element.limits else (None, None)
    return {"units": doc_text(element.units), "comment": doc_text(element.documentation),
            "limits": [doc_limit(limits[0]), doc_limit(limits[1])]}


def doc_text(value: Any) -> str:
    """A documentation field (units, comment) as one line; ``""`` for None or NaN."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return " ".join(str(value).split())


def doc_limit(value: Any) -> float | None:
    """One side of a documented range as a float; None for a missing, NaN or non-numeric side."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number


def _kind(py_name: str, kind: Any, subtype: Any, is_flow: bool) -> str:
    if py_name in _CONTROL:
        return "control"
    if kind == "Stateful" and subtype == "Integ":
        return "stock"
    simple = {"Constant": "constant", "Lookup": "lookup", "Data": "data"}
    if kind in simple:
        return simple[kind]
    return "flow" if is_flow else "auxiliary"


def variable_fields(doc: Any, summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The fields of every :class:`sdkit.model.core.Variable`, in model-file order.

    Parameters
    ----------
    doc : pandas.DataFrame
        ``model.doc`` of a loaded PySD model.
    summary : dict
        :func:`summarize` of its abstract model (order, flows, verbatim docs).

    Returns
    -------
    list of dict
        ``name, py_name, kind, units, limits, comment`` of every variable but ``time``.
    """
    order = {normalize_reference(n): i for i, n in enumerate(summary["order"])}
    flows = {normalize_reference(n) for n in summary["flows"]}
    docs = summary.get("docs", {})
    found = []
    for row in doc.to_dict("records"):
        py_name = str(row["Py Name"])
        if py_name == "time":
            continue
        name = str(row["Real Name"])
        key = normalize_reference(name)
        known = docs.get(name, {})
        limits = known.get("limits") or (
            tuple(row["Limits"]) if isinstance(row["Limits"], tuple) else (None, None))
        fields = {"name": name, "py_name": py_name,
                  "kind": _kind(py_name, row["Type"], row["Subtype"], key in flows),
                  "units": doc_text(known.get("units", row["Units"])),
                  "limits": (doc_limit(limits[0]), doc_limit(limits[1])),
                  "comment": doc_text(known.get("comment", row["Comment"]))}
        found.append((order.get(key, len(order)), name.lower(), fields))
    found.sort(key=lambda item: item[:2])
    return [fields for _, _, fields in found]

"""The IR as plain data: stored beside a model's translation, so a model is parsed once.

:func:`sdkit.model.translation.translate` builds the IR from the parse it translates and
writes it as JSON (``ir.json``) into the translation's cache entry, which the cache seals
and verifies with the rest of the entry (:mod:`sdkit.model.cache`). A model loaded from
that entry later reads its IR back with :func:`ir_from_data` instead of parsing the file
again. Nothing read is executed: the reader accepts only the node kinds below, each field
of the type it must have, and raises ``ValueError`` for anything else (the caller then
parses the file, as without a record).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sdkit.ir.core import HiddenStock, IRVariable, ModelIR, Stock
from sdkit.ir.expr import (
    BinOp,
    Call,
    InlineLookup,
    LookupCall,
    LookupTable,
    Num,
    Opaque,
    Ref,
    UnaryOp,
)

__all__ = ["IR_FORMAT", "ir_to_data", "ir_from_data", "read_stored_ir"]

#: The format name of a stored IR; a change of the layout below changes it.
IR_FORMAT = "sdkit-ir-1"

#: Node kind -> its class and its fields with their types (the allow-list of the reader).
NODES: dict[str, tuple[type, tuple[tuple[str, str], ...]]] = {
    "num": (Num, (("value", "number"),)),
    "ref": (Ref, (("name", "str"),)),
    "bin": (BinOp, (("op", "str"), ("left", "expr"), ("right", "expr"))),
    "un": (UnaryOp, (("op", "str"), ("operand", "expr"))),
    "call": (Call, (("fn", "str"), ("args", "exprs"))),
    "lcall": (LookupCall, (("table", "str"), ("arg", "expr"))),
    "inline": (InlineLookup, (("table", "table"), ("arg", "expr"))),
    "opaque": (Opaque, (("construct", "str"), ("detail", "str"), ("args", "exprs"))),
}
_KIND = {cls: kind for kind, (cls, _) in NODES.items()}
_TABLE = (("x", "numbers"), ("y", "numbers"), ("x_limits", "limits"), ("y_limits", "limits"),
          ("interpolation", "str"))
_VARIABLE = (("name", "str"), ("py_name", "str"), ("kind", "str"), ("units", "str"),
             ("limits", "limits"), ("comment", "str"), ("equation", "expr?"),
             ("lookup", "table?"), ("subscripts", "strs"))
_STOCK = (("name", "str"), ("py_name", "str"), ("initial", "expr"), ("rate", "expr"),
          ("inflows", "strs"), ("outflows", "strs"), ("non_negative", "bool"))
_HIDDEN = (("py_name", "str"), ("kind", "str"), ("owner", "str"), ("args", "exprmap"))


def ir_to_data(ir: ModelIR) -> dict[str, Any]:
    """The IR as JSON-ready data (its path is not stored: the reader is given it)."""
    return {"format": IR_FORMAT, "model_format": ir.format, "macros": list(ir.macros),
            "variables": [_encode_fields(v, _VARIABLE) for v in ir.variables.values()],
            "stocks": [_encode_fields(s, _STOCK) for s in ir.stocks.values()],
            "hidden": [_encode_fields(h, _HIDDEN) for h in ir.hidden.values()]}


def ir_from_data(data: Any, path: Path | None) -> ModelIR:
    """The IR :func:`ir_to_data` stored, checked field by field.

    Raises
    ------
    ValueError
        Anything that is not exactly what :func:`ir_to_data` writes.
    """
    if not isinstance(data, dict) or data.get("format") != IR_FORMAT:
        raise ValueError("not a stored sdkit IR")
    variables = [_fields(item, _VARIABLE, IRVariable) for item in _list(data, "variables")]
    stocks = [_fields(item, _STOCK, Stock) for item in _list(data, "stocks")]
    hidden = [_fields(item, _HIDDEN, HiddenStock) for item in _list(data, "hidden")]
    return ModelIR(path, _check("str", data.get("model_format")),
                   {v.py_name: v for v in variables}, {s.py_name: s for s in stocks},
                   {h.py_name: h for h in hidden}, tuple(_check("strs", data.get("macros"))))


def read_stored_ir(stored: Path, path: Path | None) -> ModelIR | None:
    """The IR stored in the file ``stored`` (an ``ir.json`` of a sealed translation
    entry); None without one, or for one that does not read back exactly (the caller
    then parses the model)."""
    try:
        return ir_from_data(json.loads(stored.read_text(encoding="utf-8")), path)
    except (OSError, ValueError, TypeError, RecursionError):
        return None


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list):
        raise ValueError(f"{key}: not a list")
    return value


# --- writing ------------------------------------------------------------------------------

def _encode(kind: str, value: Any) -> Any:
    if kind in ("expr", "expr?", "table", "table?") and value is None:
        return None
    if kind in ("expr", "expr?"):
        cls_kind = _KIND[type(value)]
        return [cls_kind, *_encode_fields(value, NODES[cls_kind][1]).values()]
    if kind in ("table", "table?"):
        return _encode_fields(value, _TABLE)
    if kind == "exprs":
        return [_encode("expr", v) for v in value]
    if kind == "exprmap":
        return {k: _encode("expr", v) for k, v in value.items()}
    if kind == "strs":
        return list(value)
    if kind in ("numbers", "limits"):
        return [_plain(v) for v in value]
    return _plain(value) if kind == "number" else value


def _plain(value: Any) -> Any:
    """A number as JSON writes it: numpy's scalars (PySD's parse has some) as Python's."""
    return value.item() if hasattr(value, "item") and not isinstance(value, bool) else value


def _encode_fields(obj: Any, fields: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    return {name: _encode(kind, getattr(obj, name)) for name, kind in fields}


# --- reading ------------------------------------------------------------------------------

def _fields(data: Any, fields: tuple[tuple[str, str], ...], cls: type) -> Any:
    if not isinstance(data, dict) or set(data) != {name for name, _ in fields}:
        raise ValueError(f"{cls.__name__}: not the fields {[n for n, _ in fields]}")
    return cls(**{name: _check(kind, data[name]) for name, kind in fields})


def _number(value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"not a number: {value!r}")
    return value


def _check(kind: str, value: Any) -> Any:  # noqa: C901 - one branch per field type
    if kind.endswith("?"):
        return None if value is None else _check(kind[:-1], value)
    if kind == "str":
        if not isinstance(value, str):
            raise ValueError(f"not a string: {value!r}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"not a boolean: {value!r}")
        return value
    if kind == "number":
        return _number(value)
    if kind in ("strs", "numbers", "limits", "exprs") and not isinstance(value, list):
        raise ValueError(f"not a list: {value!r}")
    if kind == "strs":
        return tuple(_check("str", v) for v in value)
    if kind == "numbers":
        return tuple(_number(v) for v in value)
    if kind == "limits":
        if len(value) != 2:
            raise ValueError(f"not a pair of limits: {value!r}")
        return tuple(None if v is None else _number(v) for v in value)
    if kind == "exprs":
        return tuple(_check("expr", v) for v in value)
    if kind == "exprmap":
        if not isinstance(value, dict):
            raise ValueError(f"not a table of expressions: {value!r}")
        return {_check("str", k): _check("expr", v) for k, v in value.items()}
    if kind == "table":
        return _fields(value, _TABLE, LookupTable)
    if kind == "expr":
        return _node(value)
    raise ValueError(f"unknown field type {kind!r}")


def _node(value: Any) -> Any:
    if not isinstance(value, list) or not value or value[0] not in NODES:
        raise ValueError(f"not an IR expression: {value!r}"[:200])
    cls, fields = NODES[value[0]]
    if len(value) != len(fields) + 1:
        raise ValueError(f"{cls.__name__}: {len(value) - 1} fields, not {len(fields)}")
    return cls(*(_check(kind, v) for (_, kind), v in zip(fields, value[1:], strict=True)))

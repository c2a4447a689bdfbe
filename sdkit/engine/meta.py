"""What a compiled ensemble needs of its model besides the program.

An :class:`~sdkit.engine.Ensemble` checks parameter columns, resolves names and
computes the time grid at every run.  :class:`ModelMeta` keeps exactly what that
takes from the IR (every variable's py name, real name, kind and documented
range, and the equations of the control variables with the constants they read),
so a program read from the cache (:mod:`sdkit.engine.progcache`) runs without
parsing the model again.  :meth:`ModelMeta.to_data` and :meth:`ModelMeta.from_data`
write and read it as JSON-ready data (numbers of equations as IEEE-754 bits).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sdkit.engine.compiler import refuse
from sdkit.engine.program import bits_to_float, float_to_bits
from sdkit.errors import ParameterValueError, UnknownVariableError
from sdkit.ir import core as I
from sdkit.util.names import close_matches, normalize_name

__all__ = ["VarInfo", "ModelMeta"]

#: A control equation as data: ``["i", int]``, ``["f", bits]``, ``["ref", name]``,
#: ``["op", op, left, right, text]`` or ``["other", text]`` (refused when evaluated).
Control = list[Any]

_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
}


@dataclass(frozen=True)
class VarInfo:
    """One variable: py name, real name, kind and documented range."""

    py_name: str
    name: str
    kind: str
    limits: tuple[float | None, float | None] = (None, None)


@dataclass
class ModelMeta:
    """Names, kinds, ranges and control equations of a model (see the module docstring)."""

    variables: dict[str, VarInfo]
    control: dict[str, Control] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._keys: dict[str, str] = {}
        for var in self.variables.values():
            self._keys.setdefault(normalize_name(var.name), var.py_name)
            self._keys.setdefault(var.py_name, var.py_name)

    @classmethod
    def from_ir(cls, model: I.ModelIR) -> ModelMeta:
        """The metadata of an IR (control equations and the variables they read)."""
        variables = {py: VarInfo(py, v.name, v.kind, v.limits)
                     for py, v in model.variables.items()}
        control: dict[str, Control] = {}
        pending = [name for name in I.CONTROL if name in model.variables]
        while pending:
            name = pending.pop()
            var = model.variables.get(name)
            if name in control or var is None or var.kind == "stock":
                continue
            control[name] = _encode(var.equation)
            pending.extend(sorted(I.references(var.equation)))
        return cls(variables, control)

    def py(self, name: str) -> str:
        """The py name of a variable given by real or py name.

        Raises
        ------
        UnknownVariableError
            No variable has that name (the error lists close matches).
        """
        key = self._keys.get(name) or self._keys.get(normalize_name(name))
        if key is None:
            raise UnknownVariableError(
                name, close_matches(name, [v.name for v in self.variables.values()]))
        return key

    def setting(self, name: str, params: list[str], dt: Any, label: str) -> Any:
        """A control variable's value with PySD's scalar arithmetic (``dt``: TIME STEP).

        Raises
        ------
        UnsupportedConstructError
            The setting depends on a varying parameter, a stock or itself.
        ParameterValueError
            It divides by zero (``label`` names the model in the message).
        """
        return self._value(self.control.get(name, ["other", "None"]), params, dt, (), label)

    def _value(self, expr: Control, params: list[str], dt: Any, seen: tuple[str, ...],
               label: str) -> Any:
        tag = expr[0]
        if tag == "i":
            return expr[1]
        if tag == "f":
            return bits_to_float(expr[1])
        if tag == "ref":
            name = expr[1]
            if name == "time_step" and dt is not None:
                return dt
            if name in params:
                raise refuse("a control variable set by a varying parameter", name)
            var = self.variables.get(name)
            if var is None or name in seen or var.kind == "stock" or name not in self.control:
                raise refuse("a dynamic control variable", name)
            return self._value(self.control[name], params, dt, seen + (name,), label)
        if tag == "op":
            a = self._value(expr[2], params, dt, seen, label)
            b = self._value(expr[3], params, dt, seen, label)
            if expr[1] == "/" and b == 0:
                raise ParameterValueError(
                    f"A control variable of {label!r} divides by zero: {expr[4]}")
            return _ARITHMETIC[expr[1]](a, b)
        raise refuse("a dynamic control variable", "control", expr[1])

    def to_data(self) -> dict[str, Any]:
        """JSON-ready data (see :meth:`from_data`)."""
        return {"variables": [[v.py_name, v.name, v.kind, list(v.limits)]
                              for v in self.variables.values()],
                "control": dict(self.control)}

    @classmethod
    def from_data(cls, data: object) -> ModelMeta:
        """Read :meth:`to_data`'s output back, checking every type.

        Raises
        ------
        ValueError
            The data does not have the shape :meth:`to_data` writes.
        """
        if not isinstance(data, dict) or set(data) != {"variables", "control"} \
                or not isinstance(data["variables"], list) \
                or not isinstance(data["control"], dict):
            raise ValueError("the model record does not have the expected fields")
        variables: dict[str, VarInfo] = {}
        for row in data["variables"]:
            if not (isinstance(row, list) and len(row) == 4
                    and all(isinstance(v, str) for v in row[:3])
                    and isinstance(row[3], list) and len(row[3]) == 2
                    and all(_is_limit(v) for v in row[3])):
                raise ValueError("a variable record has the wrong shape")
            variables[row[0]] = VarInfo(row[0], row[1], row[2], (row[3][0], row[3][1]))
        for name, expr in data["control"].items():
            if not isinstance(name, str) or name not in variables:
                raise ValueError("a control equation of an unknown variable")
            _check(expr)
        return cls(variables, dict(data["control"]))


def _is_limit(value: object) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _encode(expr: I.Expr | None) -> Control:
    if isinstance(expr, I.Num):
        value = expr.value
        return ["i", value] if isinstance(value, int) else ["f", float_to_bits(float(value))]
    if isinstance(expr, I.Ref):
        return ["ref", expr.name]
    if isinstance(expr, I.BinOp) and expr.op in _ARITHMETIC:
        return ["op", expr.op, _encode(expr.left), _encode(expr.right), str(expr)[:60]]
    return ["other", str(expr)[:60]]


def _check(expr: object) -> None:
    """Raise ``ValueError`` unless ``expr`` is a well-formed :data:`Control`."""
    if not isinstance(expr, list) or not expr:
        raise ValueError("a control equation is not a list")
    tag, rest = expr[0], expr[1:]
    if tag == "i" and len(rest) == 1 and type(rest[0]) is int:
        return
    if tag == "f" and len(rest) == 1:
        bits_to_float(rest[0])
        return
    if tag in ("ref", "other") and len(rest) == 1 and isinstance(rest[0], str):
        return
    if tag == "op" and len(rest) == 4 and rest[0] in _ARITHMETIC and isinstance(rest[3], str):
        _check(rest[1])
        _check(rest[2])
        return
    raise ValueError("a control equation has the wrong shape")

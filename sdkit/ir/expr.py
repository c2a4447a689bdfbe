"""Expressions of the sdkit IR: small frozen dataclasses, one per kind of node.

:class:`Num`, :class:`Ref`, :class:`BinOp`, :class:`UnaryOp`, :class:`Call`,
:class:`LookupCall`, :class:`InlineLookup` and :class:`Opaque` (a construct the IR keeps
only by name), the lookup tables they call (:class:`LookupTable`), and the two walks every
consumer uses (:func:`walk`, :func:`references`). See :mod:`sdkit.ir.core`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["Num", "Ref", "BinOp", "UnaryOp", "Call", "LookupCall", "InlineLookup", "Opaque",
           "Expr", "LookupTable", "walk", "references"]


@dataclass(frozen=True)
class Num:
    """A numeric literal (``int`` or ``float``, as PySD writes it)."""

    value: float | int


@dataclass(frozen=True)
class Ref:
    """A reference to a variable, hidden stock, control variable or ``time``, by py name."""

    name: str


@dataclass(frozen=True)
class BinOp:
    """A binary operation.

    ``op`` is one of ``+ - * / ^`` (arithmetic), ``= <> < <= > >=`` (comparison),
    ``and or`` (logic).
    """

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class UnaryOp:
    """A unary operation: ``op`` is ``-`` (negation) or ``not``."""

    op: str
    operand: Expr


@dataclass(frozen=True)
class Call:
    """A built-in function call, named as in PySD's function table.

    Examples: ``min``, ``max``, ``abs``, ``exp``, ``ln``, ``log``, ``sqrt``,
    ``power``, ``integer``, ``modulo``, ``quantum``, ``if_then_else``, ``step``,
    ``pulse``, ``pulse_train``, ``ramp``, ``xidz``, ``zidz``, ``active_initial``,
    ``random_uniform``...
    """

    fn: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class LookupCall:
    """Call of a named lookup (graphical function) variable ``table`` at ``arg``."""

    table: str
    arg: Expr


@dataclass(frozen=True)
class LookupTable:
    """A graphical function.

    Attributes
    ----------
    x, y : tuple of float
        The points, in model order.
    x_limits, y_limits : tuple
        Declared ranges (``(None, None)`` when absent).
    interpolation : str
        PySD's keyword: ``"interpolate"`` (hold the end values outside the
        range), ``"extrapolate"`` (linear extrapolation, XMILE), ``"hold_backward"``
        or ``"look_forward"``.
    """

    x: tuple[float, ...]
    y: tuple[float, ...]
    x_limits: tuple[Any, Any] = (None, None)
    y_limits: tuple[Any, Any] = (None, None)
    interpolation: str = "interpolate"


@dataclass(frozen=True)
class InlineLookup:
    """A lookup written inside an equation (``WITH LOOKUP``): ``table`` at ``arg``."""

    table: LookupTable
    arg: Expr


@dataclass(frozen=True)
class Opaque:
    """A construct kept only by name (``construct``) with its arguments, e.g. ``macro``."""

    construct: str
    detail: str = ""
    args: tuple[Expr, ...] = ()


Expr = Num | Ref | BinOp | UnaryOp | Call | LookupCall | InlineLookup | Opaque


def walk(expr: Expr) -> Iterator[Expr]:
    """Yield ``expr`` and every sub-expression (pre-order)."""
    yield expr
    if isinstance(expr, BinOp):
        yield from walk(expr.left)
        yield from walk(expr.right)
    elif isinstance(expr, UnaryOp):
        yield from walk(expr.operand)
    elif isinstance(expr, Call | Opaque):
        for arg in expr.args:
            yield from walk(arg)
    elif isinstance(expr, LookupCall | InlineLookup):
        yield from walk(expr.arg)


def references(expr: Expr | None) -> set[str]:
    """Names referenced by ``expr`` (variables, hidden stocks, lookups, ``time``)."""
    if expr is None:
        return set()
    found: set[str] = set()
    for node in walk(expr):
        if isinstance(node, Ref):
            found.add(node.name)
        elif isinstance(node, LookupCall):
            found.add(node.table)
    return found

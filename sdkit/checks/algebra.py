"""Units as algebra: parse declared units and combine them.

A :class:`Unit` is a product of named base units with rational powers
(``person/year``, ``m^2``) times a scale factor. :func:`parse_units` reads
Vensim/XMILE unit text, folding synonyms together (``Year``/``years``/``yr``,
``people``/``person``, ``tonnes``/``tonne``; ``Dmnl``, ``dimensionless`` and ``1``
are dimensionless) and reducing scaled units to their base (``Mt`` is 10^6
``tonne``, ``CNY_million`` and ``million_CNY`` are 10^6 ``CNY``). Base names are
compared case-insensitively, and a trailing plural ``s`` is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

__all__ = ["Unit", "DMNL", "parse_units"]


@dataclass(frozen=True)
class Unit:
    """A product of base units with rational powers, times a scale factor."""

    dims: tuple[tuple[str, Fraction], ...] = ()
    scale: float = 1.0

    @staticmethod
    def of(dims: dict[str, Fraction], scale: float = 1.0) -> Unit:
        return Unit(tuple(sorted((k, v) for k, v in dims.items() if v != 0)), scale)

    def __mul__(self, other: Unit) -> Unit:
        dims = dict(self.dims)
        for name, power in other.dims:
            dims[name] = dims.get(name, Fraction(0)) + power
        return Unit.of(dims, self.scale * other.scale)

    def __pow__(self, power: Fraction) -> Unit:
        return Unit.of({k: v * power for k, v in self.dims}, self.scale ** float(power))

    def __truediv__(self, other: Unit) -> Unit:
        return self * other ** Fraction(-1)

    def same(self, other: Unit) -> bool:
        """Whether the dimensions are equal (scale factors are conversions)."""
        return self.dims == other.dims

    def __str__(self) -> str:
        def power(name: str, p: Fraction) -> str:
            return name if p == 1 else f"{name}^{p}" if p.denominator == 1 else f"{name}^({p})"

        top = [power(n, p) for n, p in self.dims if p > 0]
        bottom = [power(n, -p) for n, p in self.dims if p < 0]
        text = "*".join(top) or ("1" if bottom else "dimensionless")
        if bottom:
            text += "/" + (bottom[0] if len(bottom) == 1 else "(" + "*".join(bottom) + ")")
        if self.scale != 1.0:
            text = f"{self.scale:g} {text}"
        return text


DMNL = Unit()
_DIMENSIONLESS = {"dmnl", "dimensionless", "unitless", "1", "nondimensional", "dmnl."}
_SYNONYMS = {
    "years": "year", "yr": "year", "yrs": "year", "months": "month", "weeks": "week",
    "days": "day", "hours": "hour", "hr": "hour", "minutes": "minute", "seconds": "second",
    "sec": "second", "people": "person", "persons": "person", "tonnes": "tonne",
    "tons": "tonne", "ton": "tonne", "t": "tonne",
}
_SCALED = {"mt": (1e6, "tonne"), "kt": (1e3, "tonne")}
_MULTIPLIERS = {"thousand": 1e3, "million": 1e6, "billion": 1e9}
_NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def _base(word: str) -> tuple[float, str]:
    """Scale and canonical base name of one unit word."""
    key = "_".join(word.lower().split())
    if key in _DIMENSIONLESS:
        return 1.0, ""
    parts = key.split("_")
    scale = 1.0
    if len(parts) > 1 and parts[0] in _MULTIPLIERS:
        scale, parts = _MULTIPLIERS[parts[0]], parts[1:]
    elif len(parts) > 1 and parts[-1] in _MULTIPLIERS:
        scale, parts = _MULTIPLIERS[parts[-1]], parts[:-1]
    key = "_".join(parts)
    if key in _SCALED:
        factor, key = _SCALED[key]
        return scale * factor, key
    if key in _SYNONYMS:
        return scale, _SYNONYMS[key]
    if len(key) > 3 and key.endswith("s") and not key.endswith("ss"):
        key = key[:-1]
    return scale, key


def parse_units(text: str) -> Unit | None:
    """Parse declared units such as ``people/Year`` or ``CNY_million/(people*Year)``.

    Returns
    -------
    Unit or None
        ``None`` for empty text.

    Raises
    ------
    ValueError
        Text that is not a product/quotient of unit names, numbers and powers.
    """
    text = text.strip()
    if not text:
        return None
    tokens: list[tuple[str, str]] = []
    for piece in re.split(r"([*/()^])", text):
        piece = piece.strip()
        if piece in ("*", "/", "(", ")", "^"):
            tokens.append(("op", piece))
        elif piece:
            tokens.append(("num" if _NUMBER.fullmatch(piece) else "name", piece))
    parser = _UnitParser(tokens, text)
    unit = parser.product()
    if parser.pos != len(tokens):
        raise ValueError(f"cannot parse units {text!r}")
    return unit


class _UnitParser:
    def __init__(self, tokens: list[tuple[str, str]], text: str) -> None:
        self.tokens, self.text, self.pos = tokens, text, 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token[0] == "end":
            raise ValueError(f"cannot parse units {self.text!r}")
        self.pos += 1
        return token

    def product(self) -> Unit:
        unit = self.power()
        while self.peek() in (("op", "*"), ("op", "/")):
            op = self.take()[1]
            right = self.power()
            unit = unit * right if op == "*" else unit / right
        return unit

    def power(self) -> Unit:
        unit = self.atom()
        if self.peek() == ("op", "^"):
            self.take()
            kind, value = self.take()
            if kind != "num":
                raise ValueError(f"cannot parse the power in units {self.text!r}")
            unit = unit ** Fraction(value).limit_denominator(100)
        return unit

    def atom(self) -> Unit:
        kind, value = self.take()
        if (kind, value) == ("op", "("):
            unit = self.product()
            if self.take() != ("op", ")"):
                raise ValueError(f"unbalanced parentheses in units {self.text!r}")
            return unit
        if kind == "num":
            return Unit((), float(value))
        if kind != "name":
            raise ValueError(f"cannot parse units {self.text!r}")
        scale, base = _base(value)
        return Unit((), scale) if not base else Unit(((base, Fraction(1)),), scale)

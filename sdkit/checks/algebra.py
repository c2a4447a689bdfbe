"""Units as algebra: parse declared units and combine them.

A :class:`Unit` is a product of named base units with rational powers
(``person/year``, ``m^2``) times a scale factor. :func:`parse_units` reads
Vensim/XMILE unit text with a :class:`UnitTable`, which says which words are
the same unit and which are a multiple of another:

* synonyms fold together (``Year``/``years``/``yr``, ``people``/``person``,
  ``tonnes``/``tonne``/``t``); ``Dmnl``, ``dimensionless`` and ``1`` are
  dimensionless; otherwise a trailing plural ``s`` is ignored and names are
  compared case-insensitively;
* scale words multiply (``thousand`` 10^3, ``million`` 10^6, ``billion``
  10^9, before or after the unit: ``CNY_million`` and ``million_CNY`` are
  10^6 ``CNY``); ``%`` and ``percent`` are the dimensionless 0.01;
* the SI prefixes ``k M G T`` (case-sensitive) multiply the units listed as
  prefixable (``Mt`` and ``megatonnes`` are 10^6 ``tonne``, ``kt`` 10^3,
  ``kg`` 10^3 ``g``, ``MW`` 10^6 ``W``); a word that is not a prefix plus a
  prefixable unit is left alone (``Mills`` is not mega-ills).

:data:`DEFAULT_TABLE` is the table the units check uses;
:meth:`UnitTable.extended` adds a model's own synonyms and scales.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import TypeVar

__all__ = ["Unit", "DMNL", "UnitTable", "DEFAULT_TABLE", "parse_units"]

_V = TypeVar("_V")


@dataclass(frozen=True)
class Unit:
    """A product of base units with rational powers, times a scale factor.

    ``Unit((("tonne", Fraction(1)),), 1e6)`` is a megatonne: a quantity of 2
    in these units is 2 x 10^6 tonnes.
    """

    dims: tuple[tuple[str, Fraction], ...] = ()
    scale: float = 1.0

    @staticmethod
    def of(dims: dict[str, Fraction], scale: float = 1.0) -> Unit:
        """The unit with these powers (zero powers dropped) and scale."""
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
        """Whether the dimensions are equal, whatever the scales."""
        return self.dims == other.dims

    def equal(self, other: Unit) -> bool:
        """Whether the dimensions and the scales are equal (scales to 1e-9)."""
        return self.dims == other.dims and math.isclose(self.scale, other.scale, rel_tol=1e-9)

    def factor(self, other: Unit) -> float:
        """What a value in these units is multiplied by to be in ``other`` units."""
        return self.scale / other.scale

    def __str__(self) -> str:
        def power(name: str, p: Fraction) -> str:
            return name if p == 1 else f"{name}^{p}" if p.denominator == 1 else f"{name}^({p})"

        top = [power(n, p) for n, p in self.dims if p > 0]
        bottom = [power(n, -p) for n, p in self.dims if p < 0]
        text = "*".join(top) or ("1" if bottom else "dimensionless")
        if bottom:
            text += "/" + (bottom[0] if len(bottom) == 1 else "(" + "*".join(bottom) + ")")
        if not math.isclose(self.scale, 1.0, rel_tol=1e-12):
            text = f"{self.scale:g} {text}" if self.dims else f"{self.scale:g}"
        return text


DMNL = Unit()


@dataclass(frozen=True, eq=False)
class UnitTable:
    """Which unit words are the same unit, and which are a multiple of another.

    Keys are lower case (the prefixes excepted); values name canonical base
    units (``""`` for a dimensionless one).

    Attributes
    ----------
    synonyms : mapping of str to str
        Word to canonical base name (``"people": "person"``).
    scaled : mapping of str to (float, str)
        Word to (factor, canonical base name): ``"mt": (1e6, "tonne")``,
        ``"%": (0.01, "")``.
    multipliers : mapping of str to float
        Scale words before or after a unit (``"million": 1e6``).
    prefixes : mapping of str to float
        Case-sensitive SI prefixes (``"M": 1e6``) ...
    prefixable : frozenset of str
        ... applied only to these canonical base names (``"tonne"``, ``"g"``).
    dimensionless : frozenset of str
        Words meaning "no units" (``"dmnl"``, ``"1"``).
    """

    synonyms: Mapping[str, str] = field(default_factory=dict)
    scaled: Mapping[str, tuple[float, str]] = field(default_factory=dict)
    multipliers: Mapping[str, float] = field(default_factory=dict)
    prefixes: Mapping[str, float] = field(default_factory=dict)
    prefixable: frozenset[str] = frozenset()
    dimensionless: frozenset[str] = frozenset()

    def extended(self, *, synonyms: Mapping[str, str] | None = None,
                 scaled: Mapping[str, tuple[float, str]] | None = None,
                 multipliers: Mapping[str, float] | None = None,
                 prefixable: frozenset[str] | set[str] | None = None) -> UnitTable:
        """A copy with more synonyms, scaled units, scale words or prefixable units.

        Keys are folded to lower case, so ``{"Boxes": "box"}`` works as written.
        """
        def low(mapping: Mapping[str, _V] | None) -> dict[str, _V]:
            return {k.lower(): v for k, v in (mapping or {}).items()}

        return replace(
            self,
            synonyms={**self.synonyms, **low(synonyms)},
            scaled={**self.scaled, **low(scaled)},
            multipliers={**self.multipliers, **low(multipliers)},
            prefixable=self.prefixable | frozenset(p.lower() for p in (prefixable or ())))

    def word(self, word: str) -> tuple[float, str]:
        """Scale and canonical base name (``""``: dimensionless) of one unit word."""
        parts = "_".join(word.split()).split("_")
        whole = "_".join(parts).lower()
        if whole in self.dimensionless:
            return 1.0, ""
        if whole in self.multipliers:  # "thousand" alone: a pure number
            return self.multipliers[whole], ""
        scale = 1.0
        while len(parts) > 1 and parts[0].lower() in self.multipliers:
            scale, parts = scale * self.multipliers[parts[0].lower()], parts[1:]
        while len(parts) > 1 and parts[-1].lower() in self.multipliers:
            scale, parts = scale * self.multipliers[parts[-1].lower()], parts[:-1]
        factor, base = self._single("_".join(parts))
        return scale * factor, base

    def _single(self, name: str) -> tuple[float, str]:
        key = name.lower()
        if key in self.dimensionless:
            return 1.0, ""
        canonical = self._canonical(name)
        for scaled in (key, canonical):  # "Mt", or a plural or synonym of a scaled unit
            if scaled in self.scaled:
                return self.scaled[scaled]
        if key in self.synonyms:
            return 1.0, self.synonyms[key]
        for prefix, factor in self.prefixes.items():
            rest = name[len(prefix):]
            if name.startswith(prefix) and rest and self._canonical(rest) in self.prefixable:
                return factor, self._canonical(rest)
        return 1.0, canonical

    def _canonical(self, name: str) -> str:
        key = name.lower()
        if key in self.synonyms:
            return self.synonyms[key]
        if len(key) > 3 and key.endswith("s") and not key.endswith("ss"):
            key = key[:-1]
        return self.synonyms.get(key, key)


DEFAULT_TABLE = UnitTable(
    synonyms={
        "years": "year", "yr": "year", "yrs": "year", "months": "month", "weeks": "week",
        "days": "day", "hours": "hour", "hr": "hour", "minutes": "minute", "seconds": "second",
        "sec": "second", "people": "person", "persons": "person", "tonnes": "tonne",
        "tons": "tonne", "ton": "tonne", "t": "tonne", "grams": "g", "gram": "g",
        "metres": "m", "metre": "m", "meters": "m", "meter": "m", "watts": "w", "watt": "w",
        "joules": "j", "joule": "j", "litres": "l", "litre": "l", "liters": "l", "liter": "l",
        "yuan": "cny", "rmb": "cny",
    },
    scaled={"mt": (1e6, "tonne"), "kt": (1e3, "tonne"), "gt": (1e9, "tonne"),
            "megatonne": (1e6, "tonne"), "megatonnes": (1e6, "tonne"),
            "kilotonne": (1e3, "tonne"), "kilotonnes": (1e3, "tonne"),
            "%": (0.01, ""), "percent": (0.01, "")},
    multipliers={"hundred": 1e2, "thousand": 1e3, "million": 1e6, "billion": 1e9,
                 "trillion": 1e12},
    prefixes={"k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12},
    prefixable=frozenset({"tonne", "g", "m", "w", "wh", "j", "l"}),
    dimensionless=frozenset({"dmnl", "dimensionless", "unitless", "1", "nondimensional",
                             "dmnl."}),
)

_NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def parse_units(text: str, table: UnitTable = DEFAULT_TABLE) -> Unit | None:
    """Parse declared units such as ``people/Year`` or ``CNY_million/(people*Year)``.

    Parameters
    ----------
    text : str
        The units text of a variable.
    table : UnitTable, optional
        Synonyms and scales (default :data:`DEFAULT_TABLE`).

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
    parser = _UnitParser(tokens, text, table)
    unit = parser.product()
    if parser.pos != len(tokens):
        raise ValueError(f"cannot parse units {text!r}")
    return unit


class _UnitParser:
    def __init__(self, tokens: list[tuple[str, str]], text: str, table: UnitTable) -> None:
        self.tokens, self.text, self.table, self.pos = tokens, text, table, 0

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
        scale, base = self.table.word(value)
        return Unit((), scale) if not base else Unit(((base, Fraction(1)),), scale)

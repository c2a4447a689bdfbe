"""The loop families of a model card: ``[[loop_families]]``.

A loop family names one mechanism by the variables its loops pass, so that loop
dominance can be reported for a few mechanisms instead of thousands of loops
(:mod:`sdkit.loops.families`; :mod:`sdkit.model.card` reads the card and calls the
parser here)::

    [[loop_families]]
    id = "network"                        # unique; not "other" (the loops of no family)
    name_en = "connection: mills and buyers attract each other"
    name_zh = "连接：钢厂与买家相互吸引"
    polarity = "reinforcing"              # optional: what the theory expects
    through = ["supply coverage", "buyer reach", "mill adoption"]   # at least one

The names in ``through`` are checked against the model where the families are
used (:func:`sdkit.loops.families.resolve_families`).  Nothing is executed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sdkit.errors import InputFileError

__all__ = ["FamilySpec", "parse_families", "check_polarity", "POLARITIES"]

#: The polarities a card may state for a loop or a family.
POLARITIES = ("reinforcing", "balancing")


class _Reader(Protocol):
    path: Path

    def keys(self, table: Any, allowed: set[str], where: str) -> Any: ...

    def error(self, key: str | None, message: str) -> InputFileError: ...

    def table_list(self, data: dict[str, Any], key: str) -> list[dict[str, Any]]: ...

    def get(self, table: dict[str, Any], key: str, kind: type | tuple[type, ...],
            where: str) -> Any: ...

    def typed(self, value: Any, kind: type | tuple[type, ...], key: str) -> Any: ...


@dataclass(frozen=True)
class FamilySpec:
    """A loop family: the many loops that run through one mechanism.

    Attributes
    ----------
    id : str
        Short name, e.g. ``"network"`` (never ``"other"``: the loops of no family).
    name_en, name_zh : str
        Descriptions in English and Chinese.
    through : tuple of str
        Variables every loop of the family passes (at least one); a loop belongs
        to the first family, in card order, whose variables it all passes.
    polarity : str
        The polarity the theory expects (``"reinforcing"`` or ``"balancing"``),
        or ``""`` when the card does not say.
    """

    id: str
    name_en: str
    name_zh: str
    through: tuple[str, ...]
    polarity: str = ""


def check_polarity(reader: _Reader, value: Any, where: str) -> str:
    """A loop's or family's ``polarity``: one of :data:`POLARITIES`.

    Raises
    ------
    InputFileError
        Naming the file, the key and the valid values.
    """
    if value not in POLARITIES:
        raise reader.error(f"{where}.polarity",
                           f"is {value!r}; valid values: {list(POLARITIES)}.")
    return str(value)


def parse_families(reader: _Reader, data: Mapping[str, Any]) -> tuple[FamilySpec, ...]:
    """The optional ``[[loop_families]]`` tables, in card order.

    Raises
    ------
    InputFileError
        An unknown or missing key, a value of the wrong type, an empty, repeated
        or reserved (``"other"``) id, an unknown polarity or an empty ``through``,
        naming the file and the key.
    """
    families: list[FamilySpec] = []
    for i, item in enumerate(reader.table_list(dict(data), "loop_families")):
        where = f"loop_families[{i}]"
        reader.keys(item, {"id", "name_en", "name_zh", "polarity", "through"}, where)
        family_id = reader.get(item, "id", str, where)
        if not family_id.strip() or family_id.strip().lower() == "other" \
                or family_id in {f.id for f in families}:
            raise reader.error(f"{where}.id", f"{family_id!r} must be unique, not empty and "
                               "not 'other' (the loops of no family).")
        polarity = check_polarity(reader, item["polarity"], where) if "polarity" in item else ""
        through = reader.get(item, "through", list, where)
        if not through:
            raise reader.error(f"{where}.through", "must list at least one variable.")
        families.append(FamilySpec(
            family_id, reader.get(item, "name_en", str, where),
            reader.get(item, "name_zh", str, where),
            tuple(reader.typed(v, str, f"{where}.through") for v in through), polarity))
    return tuple(families)

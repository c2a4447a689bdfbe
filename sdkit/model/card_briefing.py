"""The briefing sections of a model card: ``[briefing]`` and ``[names]``.

What a policy briefing of a model shows by default is case knowledge, so it lives
in the model's card (:mod:`sdkit.model.card` reads the card and calls the parsers here),
never in code::

    [briefing]
    base = "baseline"                     # the scenario the others are compared with
    scenarios = "../scenarios"            # default scenario folder, relative to the card
    sensitivity = "../scenarios/sensitivity/talent-investment-morris.toml"
    sensitivity_title = { en = "Talent investment", zh = "人才投入" }

    [[briefing.show]]                     # or show = ["Buyers on platform", ...]
    title_en = "Market"
    title_zh = "市场"
    variables = ["Transaction volume", "platform market share"]

    [briefing.sectors]                    # names of the model's sectors (Vensim groups)
    Talent = { zh = "人才" }

    [names]                               # display names of variables
    "Buyers on platform" = { zh = "平台买家数" }

Every key is optional. :func:`check_card_names` checks the variables named here
against a model (close matches are suggested). Nothing is executed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sdkit.errors import InputFileError
from sdkit.util.names import close_matches

__all__ = ["Panel", "BriefingSpec", "parse_briefing", "parse_names", "check_card_names",
           "BRIEFING_KEYS"]

#: Keys of the ``[briefing]`` table.
BRIEFING_KEYS = {"base", "scenarios", "sensitivity", "sensitivity_title", "show", "sectors",
                 "levers", "explore"}
_LANGS = {"en", "zh"}


class CardReader(Protocol):
    """The typed accessors of the card reader (:mod:`sdkit.model.card`)."""

    path: Path

    def keys(self, table: Any, allowed: set[str], where: str) -> Any:
        """Raise for a non-table or an unknown key."""

    def error(self, key: str | None, message: str) -> InputFileError:
        """The error for a problem at ``key``."""

    def get(self, table: dict[str, Any], key: str, kind: type | tuple[type, ...],
            where: str) -> Any:
        """``table[key]``, which must exist and be of ``kind``."""

    def typed(self, value: Any, kind: type | tuple[type, ...], key: str) -> Any:
        """``value``, which must be of ``kind``."""


@dataclass(frozen=True)
class Panel:
    """A group of charted variables, with a heading in each language (may be empty).

    Attributes
    ----------
    variables : tuple of str
        Model variables, one chart each, in order.
    title_en, title_zh : str
        The group's heading.
    """

    variables: tuple[str, ...]
    title_en: str = ""
    title_zh: str = ""

    def title(self, lang: str) -> str:
        """The heading in ``lang`` (the other language's when only that one is given)."""
        return (self.title_zh or self.title_en) if lang == "zh" else \
            (self.title_en or self.title_zh)


@dataclass(frozen=True)
class BriefingSpec:
    """The card's ``[briefing]`` table.

    Attributes
    ----------
    show : tuple of Panel
        Variables to chart, grouped (empty: the briefing's default rule).
    base : str
        Scenario the others are compared with (``""``: the default rule).
    scenarios, sensitivity : Path or None
        Default scenario folder (or file) and sensitivity spec, resolved against the
        card's folder.
    sensitivity_title : dict of str to str
        Title of the sensitivity section by language (``"en"``, ``"zh"``).
    sectors : dict of str to dict of str to str
        Sector (model group) name -> language -> display name.
    levers : tuple of str
        Constants the explorer (``sdkit explore``) offers as sliders, each over its
        documented range (empty: none unless ``--lever`` names some).
    explore : tuple of str
        Variables the explorer plots (empty: the first four charted variables).
    """

    show: tuple[Panel, ...] = ()
    base: str = ""
    scenarios: Path | None = None
    sensitivity: Path | None = None
    sensitivity_title: dict[str, str] = field(default_factory=dict)
    sectors: dict[str, dict[str, str]] = field(default_factory=dict)
    levers: tuple[str, ...] = ()
    explore: tuple[str, ...] = ()

    def variables(self) -> list[str]:
        """Every variable the panels show, in order."""
        return [name for panel in self.show for name in panel.variables]

    def named(self) -> list[tuple[str, str]]:
        """(card key, variable) of every variable the table names."""
        return [*((f"briefing.show[{i}].variables", n)
                  for i, panel in enumerate(self.show) for n in panel.variables),
                *(("briefing.levers", n) for n in self.levers),
                *(("briefing.explore", n) for n in self.explore)]


def _error(reader: CardReader, key: str, message: str) -> InputFileError:
    return reader.error(key, message)


def _texts(reader: CardReader, value: Any, key: str) -> dict[str, str]:
    """A table of ``en`` and/or ``zh`` non-empty strings."""
    reader.keys(value, _LANGS, key)
    texts = {lang: reader.typed(text, str, f"{key}.{lang}") for lang, text in value.items()}
    if not texts or not all(t.strip() for t in texts.values()):
        raise _error(reader, key, "must give a non-empty en or zh text.")
    return texts


def _path(reader: CardReader, value: Any, key: str) -> Path:
    """A path relative to the card's folder (absolute paths are refused)."""
    text = reader.typed(value, str, key)
    if not text.strip() or Path(text).is_absolute():
        raise _error(reader, key, f"must be a path relative to the card, got {text!r}.")
    return (reader.path.parent / text).resolve()


def _panel(reader: CardReader, item: Any, where: str) -> Panel:
    reader.keys(item, {"title_en", "title_zh", "variables"}, where)
    names = reader.get(item, "variables", list, where)
    if not names:
        raise _error(reader, f"{where}.variables", "must list at least one variable.")
    return Panel(tuple(reader.typed(n, str, f"{where}.variables") for n in names),
                 reader.typed(item.get("title_en", ""), str, f"{where}.title_en"),
                 reader.typed(item.get("title_zh", ""), str, f"{where}.title_zh"))


def _show(reader: CardReader, value: Any) -> tuple[Panel, ...]:
    """``show``: a list of variable names (one panel) or an array of panel tables."""
    items = reader.typed(value, list, "briefing.show")
    if items and all(isinstance(v, str) for v in items):
        return (Panel(tuple(items)),)
    panels = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise _error(reader, f"briefing.show[{i}]", "must be a table with variables = "
                         "[...] (and title_en, title_zh), or every item a variable name.")
        panels.append(_panel(reader, item, f"briefing.show[{i}]"))
    return tuple(panels)


def parse_briefing(reader: CardReader, data: Mapping[str, Any]) -> BriefingSpec | None:
    """The optional ``[briefing]`` table (``None`` when the card has none).

    Raises
    ------
    InputFileError
        For an unknown key or a value of the wrong type, naming the file and key.
    """
    if "briefing" not in data:
        return None
    section = data["briefing"]
    reader.keys(section, BRIEFING_KEYS, "briefing")
    sectors = reader.typed(section.get("sectors", {}), dict, "briefing.sectors")
    return BriefingSpec(
        show=_show(reader, section["show"]) if "show" in section else (),
        base=reader.typed(section.get("base", ""), str, "briefing.base"),
        scenarios=_path(reader, section["scenarios"], "briefing.scenarios")
        if "scenarios" in section else None,
        sensitivity=_path(reader, section["sensitivity"], "briefing.sensitivity")
        if "sensitivity" in section else None,
        sensitivity_title=_texts(reader, section["sensitivity_title"],
                                 "briefing.sensitivity_title")
        if "sensitivity_title" in section else {},
        sectors={str(k): _texts(reader, v, f"briefing.sectors.{k}")
                 for k, v in sectors.items()},
        levers=_names(reader, section.get("levers", []), "briefing.levers"),
        explore=_names(reader, section.get("explore", []), "briefing.explore"),
    )


def _names(reader: CardReader, value: Any, key: str) -> tuple[str, ...]:
    """A list of variable names (strings)."""
    items = reader.typed(value, list, key)
    return tuple(reader.typed(item, str, key) for item in items)


def parse_names(reader: CardReader, data: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """The optional ``[names]`` table: variable -> ``{"en": ..., "zh": ...}`` (either may
    be missing)."""
    table = reader.typed(data.get("names", {}), dict, "names")
    return {str(name): _texts(reader, value, f"names.{name}") for name, value in table.items()}


def check_card_names(path: Path, briefing: BriefingSpec | None,
                     names: Mapping[str, Mapping[str, str]], variables: Iterable[str],
                     sectors: Iterable[str] = ()) -> None:
    """Check that the card's briefing and names name variables (and sectors) of a model.

    Parameters
    ----------
    path : Path
        The card (for the message).
    briefing, names
        :attr:`sdkit.model.card.ModelCard.briefing` and :attr:`~sdkit.model.card.ModelCard.names`.
    variables : iterable of str
        The model's variable names.
    sectors : iterable of str
        The model's sector (group) names.

    Raises
    ------
    InputFileError
        For the first unknown name, with close matches.
    """
    known = list(variables)
    named: list[tuple[str, str]] = [(f"names.{n}", n) for n in names]
    if briefing is not None:
        named += briefing.named()
    for key, name in named:
        if name not in known:
            hint = close_matches(name, known)
            raise InputFileError(
                f"{path}: {key} names {name!r}, which is not a variable of the model"
                + (f"; did you mean {', '.join(repr(h) for h in hint)}?" if hint else "."),
                path=str(path), key=key)
    groups = list(sectors)
    for sector in (briefing.sectors if briefing is not None else {}):
        if sector not in groups:
            hint = close_matches(sector, groups)
            raise InputFileError(
                f"{path}: briefing.sectors.{sector} is not a sector of the model"
                + (f"; did you mean {hint[0]!r}?" if hint else f"; sectors: {groups}."),
                path=str(path), key=f"briefing.sectors.{sector}")

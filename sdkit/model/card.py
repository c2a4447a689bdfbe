"""Model cards: what sdkit knows about a model beyond its equations.

A model card is a TOML file beside the model with the same stem
(``models/empowerment.toml`` for ``models/empowerment.mdl``). It names the
model's stages and how their transitions are detected, maps rows of a
reference-modes table to model variables, lists the named feedback loops as
cycles of variables, may group the loops into loop families
(:mod:`sdkit.model.card_families`), and may name an output and the
channels (groups of variables) its growth is decomposed into
(:mod:`sdkit.analysis.channels`); its ``[briefing]`` and ``[names]`` tables say what a
briefing shows and how variables are called in each language
(:mod:`sdkit.model.card_briefing`). Everything in it is data: nothing is executed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sdkit.analysis.stages import Stage, TransitionRule
from sdkit.errors import InputFileError
from sdkit.model.card_briefing import BriefingSpec, parse_briefing, parse_names
from sdkit.model.card_families import FamilySpec, check_polarity, parse_families
from sdkit.util.schema import SchemaValidator

__all__ = ["CardReader", "ChannelSpec", "FamilySpec", "LoopSpec", "ModelCard", "load_card",
           "card_path"]

T = TypeVar("T")

_TOP_KEYS = {"model", "stages", "transitions", "evidence", "loops", "loop_families", "channels",
             "briefing", "names"}


@dataclass(frozen=True)
class LoopSpec:
    """A named feedback loop.

    Attributes
    ----------
    id : str
        Short name, e.g. ``"R1"``.
    polarity : str
        ``"reinforcing"`` or ``"balancing"``.
    name_en, name_zh : str
        Descriptions in English and Chinese.
    cycle : tuple of str
        Variables the loop runs through, in causal order; the last links back to
        the first.
    dominant_in : tuple of int
        Stages in which the theory expects the loop to dominate (optional key
        ``dominant_in``: a list of stage numbers or ``"all"``; empty when not stated).
    """

    id: str
    polarity: str
    name_en: str
    name_zh: str
    cycle: tuple[str, ...]
    dominant_in: tuple[int, ...] = ()


@dataclass(frozen=True)
class ChannelSpec:
    """The ``[channels]`` section: an output and the channels of its growth.

    Attributes
    ----------
    output : str
        The variable whose growth is decomposed.
    log : bool
        Decompose the growth of ``ln(output)`` (default) rather than of the output.
    groups : dict of str to tuple of str
        Channel name -> the model variables that make up the channel, in card order.
    """

    output: str
    log: bool = True
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelCard:
    """Parsed model card.

    Attributes
    ----------
    path : Path
        The card file.
    title_en, title_zh : str
        Model title.
    stages : tuple of Stage
    transitions : tuple of TransitionRule
    evidence_levels : dict of str to str
        Reference metric -> model variable.
    evidence_transitions : dict of str to int
        Reference metric -> stage number entered by the transition.
    evidence_flows : dict of str to str
        Reference metric of kind ``flow`` (a total over a period) -> model variable
        (the flow whose integral answers it).
    hindcast_after : float or None
        Key ``evidence.hindcast_after``: rows whose period ends after this time are a
        hindcast (the model was fitted on earlier data): reported, never failing.
    loops : tuple of LoopSpec
    loop_families : tuple of FamilySpec
        The optional ``[[loop_families]]`` tables, in card order.
    briefing : BriefingSpec or None
        The optional ``[briefing]`` table: what ``sdkit brief`` shows by default
        (:mod:`sdkit.model.card_briefing`).
    names : dict of str to dict of str to str
        The optional ``[names]`` table: variable -> language -> display name.
    reference : Path or None
        The model's reference-modes table (evidence with sources), from the key
        ``evidence.reference`` (a CSV path relative to the card); ``None`` when
        the card names none.
    channels : ChannelSpec or None
        The optional ``[channels]`` section; ``None`` when the card has none.
    """

    path: Path
    title_en: str = ""
    title_zh: str = ""
    stages: tuple[Stage, ...] = ()
    transitions: tuple[TransitionRule, ...] = ()
    evidence_levels: dict[str, str] = field(default_factory=dict)
    evidence_transitions: dict[str, int] = field(default_factory=dict)
    evidence_flows: dict[str, str] = field(default_factory=dict)
    loops: tuple[LoopSpec, ...] = ()
    reference: Path | None = None
    channels: ChannelSpec | None = None
    hindcast_after: float | None = None
    loop_families: tuple[FamilySpec, ...] = ()
    briefing: BriefingSpec | None = None
    names: dict[str, dict[str, str]] = field(default_factory=dict)

    def display_name(self, name: str, lang: str) -> str:
        """A variable's name for readers of ``lang`` (``[names]``; else the model's name)."""
        return self.names.get(name, {}).get(lang) or name

    def variables(self) -> set[str]:
        """Every model variable the card refers to."""
        names = {rule.variable for rule in self.transitions}
        names |= set(self.evidence_levels.values()) | set(self.evidence_flows.values())
        for loop in self.loops:
            names |= set(loop.cycle)
        for family in self.loop_families:
            names |= set(family.through)
        names |= set(self.names)
        if self.briefing is not None:
            names |= {name for _, name in self.briefing.named()}
        if self.channels is not None:
            names.add(self.channels.output)
            for members in self.channels.groups.values():
                names |= set(members)
        return names


def card_path(model_path: str | Path) -> Path:
    """Where the card of ``model_path`` lives: same folder and stem, ``.toml``."""
    return Path(model_path).with_suffix(".toml")


def load_card(path: str | Path) -> ModelCard:
    """Read and validate a model card, reporting every problem of the file at once.

    Parameters
    ----------
    path : str or Path
        The card (``.toml``), or the model file whose card to read.

    Returns
    -------
    ModelCard

    Raises
    ------
    InputFileError
        If the file is missing or is not valid TOML, or for each unknown key, missing
        key or value of the wrong type: one error listing all of them
        (:func:`sdkit.util.schema.combine_problems`; ``err.problems`` holds the single ones).
    ResourceLimitError
        If the file is larger or more deeply nested than :mod:`sdkit.util.limits` allows.
    """
    path = Path(path)
    if path.suffix != ".toml":
        path = card_path(path)
    reader = CardReader(path)
    data = reader.read()
    return reader.checked(lambda: _card(reader, data))


def _card(reader: CardReader, data: dict[str, Any]) -> ModelCard:
    """The card from its TOML data; each section's problems are collected."""
    reader.keys(data, _TOP_KEYS, "")
    model: dict[str, Any] = {}
    with reader.collect():
        model = reader.table(data.get("model", {}), "model")
        reader.keys(model, {"file", "title_en", "title_zh"}, "model")
    stages = tuple(reader.each(data, "stages", lambda s, where: Stage(
        reader.get(s, "number", int, where), reader.get(s, "name_en", str, where),
        reader.get(s, "name_zh", str, where))))
    transitions = tuple(reader.each(data, "transitions", lambda t, where: TransitionRule(
        reader.get(t, "to_stage", int, where), reader.get(t, "variable", str, where),
        float(reader.get(t, "threshold", (int, float), where)))))
    evidence = _Evidence()
    with reader.collect():
        evidence = _evidence(reader, data.get("evidence", {}))
    loops = tuple(reader.each(data, "loops", lambda item, where: _loop(reader, item, stages,
                                                                       where)))
    sections: dict[str, Any] = {}
    for key, parse in (("channels", _channels), ("loop_families", parse_families),
                       ("briefing", parse_briefing), ("names", parse_names)):
        with reader.collect():
            sections[key] = parse(reader, data)
    return ModelCard(
        reader.path, str(model.get("title_en", "")), str(model.get("title_zh", "")),
        stages, transitions, evidence.levels, evidence.transitions, evidence.flows, loops,
        evidence.reference, sections.get("channels"), hindcast_after=evidence.hindcast_after,
        loop_families=sections.get("loop_families", ()), briefing=sections.get("briefing"),
        names=sections.get("names", {}))


@dataclass
class _Evidence:
    """The ``[evidence]`` section, parsed."""

    levels: dict[str, str] = field(default_factory=dict)
    transitions: dict[str, int] = field(default_factory=dict)
    flows: dict[str, str] = field(default_factory=dict)
    reference: Path | None = None
    hindcast_after: float | None = None


def _evidence(reader: CardReader, evidence: Any) -> _Evidence:
    reader.keys(evidence, {"levels", "transitions", "flows", "reference", "hindcast_after"},
                "evidence")
    found = _Evidence()
    if "hindcast_after" in evidence:
        found.hindcast_after = float(reader.typed(evidence["hindcast_after"], (int, float),
                                                  "evidence.hindcast_after"))
    found.reference = _reference(reader, evidence, reader.path)
    for key, kind, into in (("levels", str, found.levels), ("flows", str, found.flows),
                            ("transitions", int, found.transitions)):
        table = reader.typed(evidence.get(key, {}), dict, f"evidence.{key}")
        for name, value in table.items():
            with reader.collect():
                into[str(name)] = reader.typed(value, kind, f"evidence.{key}.{name}")
    return found


def _loop(reader: CardReader, item: dict[str, Any], stages: tuple[Stage, ...], where: str
          ) -> LoopSpec:
    reader.keys(item, {"id", "polarity", "name_en", "name_zh", "cycle", "dominant_in"}, where)
    polarity = check_polarity(reader, reader.get(item, "polarity", str, where), where)
    cycle = reader.get(item, "cycle", list, where)
    return LoopSpec(reader.get(item, "id", str, where), polarity,
                    reader.get(item, "name_en", str, where),
                    reader.get(item, "name_zh", str, where),
                    tuple(reader.typed(v, str, f"{where}.cycle") for v in cycle),
                    _dominant_in(reader, item.get("dominant_in", []), stages, where))


def _reference(reader: CardReader, evidence: dict[str, Any], path: Path) -> Path | None:
    """``evidence.reference``: a CSV file beside the card (no absolute path, no ``..``)."""
    if "reference" not in evidence:
        return None
    name = reader.typed(evidence["reference"], str, "evidence.reference")
    relative = Path(name)
    if relative.is_absolute() or ".." in relative.parts or relative.suffix.lower() != ".csv":
        raise reader.error("evidence.reference",
                           f"must be a .csv file inside the card's folder, got {name!r}.")
    return path.parent / relative


def _channels(reader: CardReader, data: dict[str, Any]) -> ChannelSpec | None:
    """The optional ``[channels]`` section: ``output``, ``log``, ``[channels.groups]``."""
    if "channels" not in data:
        return None
    section = data["channels"]
    reader.keys(section, {"output", "log", "groups"}, "channels")
    log = section.get("log", True)
    if not isinstance(log, bool):
        raise reader.error("channels.log", f"must be true or false, got {log!r}.")
    groups = reader.get(section, "groups", dict, "channels")
    if not groups:
        raise reader.error("channels.groups", "must name at least one channel.")
    members: dict[str, tuple[str, ...]] = {}
    for name, value in groups.items():
        where = f"channels.groups.{name}"
        items = reader.typed(value, list, where)
        if not items:
            raise reader.error(where, "must list at least one variable.")
        members[str(name)] = tuple(reader.typed(v, str, where) for v in items)
    return ChannelSpec(reader.get(section, "output", str, "channels"), log, members)


def _dominant_in(reader: CardReader, value: Any, stages: tuple[Stage, ...], where: str
                 ) -> tuple[int, ...]:
    """A loop's ``dominant_in``: stage numbers, or every stage for ``"all"``."""
    if value == "all":
        return tuple(s.number for s in stages)
    items = reader.typed(value, list, f"{where}.dominant_in")
    return tuple(reader.typed(v, int, f"{where}.dominant_in") for v in items)


class CardReader(SchemaValidator):
    """The model card's reader: :class:`~sdkit.util.schema.SchemaValidator` with the typed
    accessors the card's sections use (:mod:`sdkit.model.card_briefing`,
    :mod:`sdkit.model.card_families`). Its errors are :class:`~sdkit.errors.InputFileError`."""

    what = "the model card"
    error_class = InputFileError

    def keys(self, value: Any, allowed: Iterable[str], where: str | None) -> dict[str, Any]:
        """``value`` as a table; each key not in ``allowed`` is a problem."""
        return super().keys(value, sorted(allowed), where or None)

    def table(self, value: Any, key: str | None) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(key, "must be a table.")
        return value

    def table_list(self, data: dict[str, Any], key: str) -> list[dict[str, Any]]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.error(key, f"must be an array of tables ([[{key}]]).")
        return value

    def each(self, data: dict[str, Any], key: str,
             parse: Callable[[dict[str, Any], str], T]) -> list[T]:
        """``parse(item, "key[i]")`` of each table of the array ``key``; the problems of
        each item are collected, and a failed item is left out."""
        found: list[T] = []
        with self.collect():
            for i, item in enumerate(self.table_list(data, key)):
                with self.collect():
                    found.append(parse(item, f"{key}[{i}]"))
        return found

    def get(self, table: dict[str, Any], key: str, kind: type | tuple[type, ...],
            where: str) -> Any:
        """``table[key]``, which must exist and be of ``kind``."""
        if key not in table:
            raise self.error(f"{where}.{key}", "missing required key.")
        return self.typed(table[key], kind, f"{where}.{key}")

    def typed(self, value: Any, kind: type | tuple[type, ...], key: str) -> Any:
        """``value``, which must be of ``kind``."""
        if isinstance(value, bool) or not isinstance(value, kind):
            names = (kind.__name__ if isinstance(kind, type)
                     else " or ".join(k.__name__ for k in kind))
            raise self.error(key, f"must be {names}, got {value!r}.")
        return value

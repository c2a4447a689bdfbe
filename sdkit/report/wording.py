"""Plain words for times, durations, quantities and study outputs, in the model's time unit.

The briefing speaks to readers who have not run the model: a transition at model
time 2017.44 in a model counted in years is "early 2017" ("2017 年初"), 1.2 years
is "about 14 months", an effect of 6,000,000 t/Year reads with its unit and
thousands separators. A model counted in days says "day 42" and "about 3 days".
Every fixed word comes from the message catalogue (:mod:`sdkit.report.i18n`); the model's
time unit comes from its control variables (``INITIAL TIME``'s units).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sdkit.report.i18n import number, text, variable_label

__all__ = ["TIME_UNITS", "time_kind", "is_calendar", "time_label", "unit_word", "when",
           "span", "shift", "relative", "quantity", "time_value", "tick_format",
           "output_words", "output_unit"]

#: Time unit -> (singular, plural) English words and the Chinese word.
TIME_UNITS: dict[str, tuple[str, str, str]] = {
    "year": ("year", "years", "年"), "quarter": ("quarter", "quarters", "季度"),
    "month": ("month", "months", "个月"), "week": ("week", "weeks", "周"),
    "day": ("day", "days", "天"), "hour": ("hour", "hours", "小时"),
    "minute": ("minute", "minutes", "分钟"), "second": ("second", "seconds", "秒"),
}
_ALIASES = {"yr": "year", "a": "year", "mo": "month", "wk": "week", "d": "day", "hr": "hour",
            "h": "hour", "min": "minute", "s": "second", "sec": "second"}
_DIMENSIONLESS = {"", "dmnl", "dimensionless", "1", "unitless", "fraction"}


def time_kind(unit: str) -> str:
    """The canonical time unit (``"year"``, ``"day"``...) of a model's unit, or ``""``."""
    key = unit.strip().lower().rstrip(".")
    key = _ALIASES.get(key, key)
    if key.endswith("s") and key[:-1] in TIME_UNITS:
        key = key[:-1]
    return key if key in TIME_UNITS else ""


def is_calendar(unit: str, time: float) -> bool:
    """Whether ``time`` reads as a calendar year (a model in years, 1000 <= time < 10000)."""
    return time_kind(unit) == "year" and 1000 <= time < 10000


def unit_word(unit: str, lang: str, *, plural: bool = False) -> str:
    """The word for the time unit in ``lang`` (the model's own word when it is not known)."""
    kind = time_kind(unit)
    if not kind:
        return unit.strip() or "time"
    singular, many, zh = TIME_UNITS[kind]
    return zh if lang == "zh" else (many if plural else singular)


def time_label(unit: str, lang: str, *, calendar: bool = False) -> str:
    """The time axis' title: the unit ("Year", "Day"; "年份" for calendar years)."""
    if calendar and time_kind(unit) == "year":
        return text("axis.year", lang)
    word = unit_word(unit, lang)
    return word[:1].upper() + word[1:] if lang == "en" else word


def time_value(time: float) -> str:
    """A model time as a reader would write it: ``2017.44``, ``42``, ``3.5`` (no grouping)."""
    if time != time:
        return "n/a"
    return f"{time:.2f}" if abs(time - round(time)) > 1e-9 else f"{time:.0f}"


def when(time: float, unit: str, lang: str) -> str:
    """A point in time in plain words: "early 2017", "mid-2020", "day 42" (never for NaN)."""
    if time != time:
        return text("never", lang)
    if is_calendar(unit, time):
        year = math.floor(time)
        part = time - year
        key = "when.early" if part < 1 / 3 else "when.mid" if part < 2 / 3 else "when.late"
        return text(key, lang, year=year)
    shown = f"{time:.0f}" if abs(time) >= 10 or abs(time - round(time)) < 0.05 \
        else f"{time:.1f}"
    return text("when.point", lang, unit=unit_word(unit, lang), time=shown)


def span(duration: float, unit: str, lang: str) -> str:
    """A length of time in plain words: "about 14 months", "about 2.5 years", "about 3 days".

    Durations under two years are said in months.
    """
    length = abs(duration)
    count: float = length
    kind = time_kind(unit) or unit
    if time_kind(unit) == "year" and length < 2:
        count, kind = length * 12, "month"
    if round(count, 1) == 0 or (kind == "month" and round(count) == 0):
        return text("span.less", lang, unit=unit_word(kind, lang))
    shown = f"{count:.0f}" if count >= 10 or kind == "month" else f"{count:.1f}".rstrip(
        "0").rstrip(".")
    plural = shown != "1"
    return text("span.about", lang, count=shown, unit=unit_word(kind, lang, plural=plural))


def shift(delta: float, unit: str, base: str, lang: str) -> str:
    """``delta`` (a time minus the base's) as "about 14 months before Baseline"."""
    if delta != delta:
        return ""
    words = span(delta, unit, lang)
    if words == text("span.less", lang, unit=unit_word(unit, lang)) or abs(delta) < 1e-9:
        return text("shift.same", lang, base=base)
    return text("shift.before" if delta < 0 else "shift.after", lang, span=words, base=base)


def relative(value: float, reference: float, base: str, lang: str) -> str:
    """``value`` against ``reference`` as "12 % above Baseline" (or below, or the same)."""
    if reference == 0 or value != value or reference != reference:
        return base
    change = (value - reference) / abs(reference) * 100
    share = f"{abs(change):.1f} %" if abs(change) < 10 else f"{abs(change):.0f} %"
    if lang == "zh":
        share = share.replace(" %", "%")
    if share in ("0.0 %", "0.0%"):
        return text("rel.same", lang, base=base)
    return text("rel.above" if change > 0 else "rel.below", lang, share=share, base=base)


def quantity(value: float, units: str, lang: str = "en") -> str:
    """A value with its unit: "6,000,000 t/Year", "0.452" (no unit word for Dmnl)."""
    shown = number(value)
    if units.strip().lower() in _DIMENSIONLESS:
        return shown
    return f"{shown} {units.strip()}"


def tick_format(values: Sequence[float]) -> str | None:
    """A Bokeh ``NumeralTickFormatter`` format with thousands separators for ``values``
    (``None`` for very small numbers, better left to Bokeh's default)."""
    finite = [abs(v) for v in values if v == v and math.isfinite(v)]
    top = max(finite, default=0.0)
    if top >= 1000:
        return "0,0"
    if top >= 10:
        return "0,0.[0]"
    if top >= 0.1:
        return "0.[00]"
    return None if top and top < 0.01 else "0.[000]"


def output_words(name: str, lang: str, *, info: Mapping[str, Any] | None = None,
                 stages: Mapping[int, str] | None = None, unit: str = "Year",
                 names: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """A sensitivity output in plain words: "the move into intelligentization",
    "Transaction volume in 2025".

    Parameters
    ----------
    name : str
        The output's name in the study.
    info : mapping, optional
        The output as the study's manifest records it (``kind, variable, year, level,
        stage``); without it the name is read (``stage N transition``, ``VARIABLE YEAR``).
    stages : mapping, optional
        Stage number -> name in ``lang``.
    unit : str
        The model's time unit.
    names : mapping, optional
        Display names of variables (:func:`sdkit.report.i18n.variable_label`).
    """
    info = dict(info or {})
    kind = str(info.get("kind") or "")
    if not kind:
        stage = re.fullmatch(r"stage (\d+) transition", name)
        dated = re.fullmatch(r"(.+) (\d+(?:\.\d+)?)", name)
        if stage:
            kind, info["stage"] = "transition", int(stage.group(1))
        elif dated:
            kind, info["variable"], info["year"] = "value", dated.group(1), \
                float(dated.group(2))
    label = variable_label(str(info.get("variable") or name), lang, names)
    if kind == "transition":
        number_ = int(info["stage"])
        stage_name = (stages or {}).get(number_) or f"stage {number_}"
        return text("output.move_into", lang, stage=stage_name)
    if kind == "value":
        year = float(info["year"])
        at = (time_value(year) + (" 年" if lang == "zh" else "")) if is_calendar(unit, year) \
            else when(year, unit, lang)
        return text("output.value_at", lang, variable=label, time=at)
    if kind in ("max", "final"):
        return text(f"output.{kind}", lang, variable=label)
    if kind == "reach":
        return text("output.reach", lang, variable=label, level=number(float(info["level"])))
    return variable_label(name, lang, names)


def output_unit(name: str, info: Mapping[str, Any] | None, units: Mapping[str, str],
                time_unit: str) -> tuple[str, bool]:
    """The unit of a sensitivity output and whether it is a time (a transition, a reach).

    Returns
    -------
    tuple of (str, bool)
        The unit (the time unit, or the variable's units; ``""`` when unknown) and
        whether the output is a time, whose effects read as durations.
    """
    info = dict(info or {})
    kind = str(info.get("kind") or "")
    if kind in ("transition", "reach") or (not kind and re.fullmatch(r"stage \d+ transition",
                                                                      name)):
        return time_unit, True
    variable = str(info.get("variable") or "")
    if not variable:
        dated = re.fullmatch(r"(.+) (\d+(?:\.\d+)?)", name)
        variable = dated.group(1) if dated else name
    return units.get(variable, ""), False

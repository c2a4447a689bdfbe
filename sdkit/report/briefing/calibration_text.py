"""A calibration in words for the briefing: observation labels, the fit table, the summary.

Pure functions over the tables of a calibration result
(:class:`sdkit.calibration.CalibrationResult`, or anything shaped like it,
:class:`CalibrationLike`); every fixed word comes from :mod:`sdkit.report.i18n`. An
observation row is read as a mapping with the columns of
:func:`sdkit.calibration.summary.observation_table`; without its numeric times
(``time, end, base_time, base_end, threshold``) the ``period`` text is shown. Times are
said in the model's time unit (``time_unit``): calendar years as ``2019``, other units as
``day 20`` or ``days 20-30``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Protocol

import pandas as pd

from sdkit.report.i18n import number, text, variable_label
from sdkit.report.wording import time_kind, unit_word, when

__all__ = ["CalibrationLike", "MAX_LISTED", "observation_label", "observation_title",
           "when_text", "value_text", "until_text", "fit_rows", "summary_sentence",
           "not_identified", "calibration_context"]

#: Parameters the data cannot pin down are named up to this many, else counted.
MAX_LISTED = 6
_UNITLESS = {"", "dmnl", "1", "dimensionless"}


class CalibrationLike(Protocol):
    """What the briefing reads from a calibration result (``sdkit.calibration``)."""

    @property
    def estimates(self) -> pd.DataFrame:
        """One row per parameter (``parameter, identified`` are read)."""

    @property
    def observations(self) -> pd.DataFrame:
        """One row per observation (the columns of ``observation_table``)."""

    @property
    def bands(self) -> pd.DataFrame:
        """Posterior bands, ``variable, time, q05, q25, q50, q75, q95``."""

    @property
    def manifest(self) -> Mapping[str, Any]:
        """What was run (``title``, ``name``, ``train_until``, ``draws`` are read)."""


def _num(row: Mapping[str, Any], key: str) -> float:
    value = row.get(key, math.nan)
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _calendar(time_unit: str, time: float) -> bool:
    """Whether a time reads as a bare number: a calendar year (or any time of a model whose
    time unit is not known)."""
    kind = time_kind(time_unit)
    return not kind or (kind == "year" and 1000 <= time < 10000)


def _span(start: float, end: float, time_unit: str = "Year", lang: str = "en") -> str:
    """``2019`` for a calendar year or an instant, else ``2019-2020.5``; in another time
    unit ``day 20`` or ``days 20-30``."""
    one = math.isnan(end) or (end - start == 1 and start == int(start))
    if _calendar(time_unit, start):
        return f"{start:g}" if one else f"{start:g}-{end:g}"
    if one:
        return text("when.point", lang, unit=unit_word(time_unit, lang), time=f"{start:g}")
    return text("calibration.span", lang, unit=unit_word(time_unit, lang, plural=True),
                start=f"{start:g}", end=f"{end:g}")


def observation_label(row: Mapping[str, Any], lang: str) -> str:
    """What was observed, without when: ``Mills on platform``, ``... (total over the period)``."""
    variable = variable_label(str(row["variable"]), lang)
    kind = row["kind"]
    if kind == "flow":
        return text("calibration.flow", lang, variable=variable)
    if kind == "event":
        return text("calibration.event", lang, variable=variable,
                    threshold=f"{_num(row, 'threshold'):g}")
    if kind == "ratio":
        return text("calibration.ratio", lang, variable=variable)
    return variable


def when_text(row: Mapping[str, Any], lang: str, time_unit: str = "Year") -> str:
    """When an observation is: a year, a period, two periods of a ratio, or "observed date"
    (in ``time_unit``, the model's)."""
    if row["kind"] == "event":
        return text("calibration.event_when", lang)
    time = _num(row, "time")
    if math.isnan(time):
        return str(row.get("period", ""))
    at = _span(time, _num(row, "end"), time_unit, lang)
    if row["kind"] == "ratio":
        base = _span(_num(row, "base_time"), _num(row, "base_end"), time_unit, lang)
        return text("calibration.ratio_when", lang, time=at, base=base)
    return at


def observation_title(row: Mapping[str, Any], lang: str, time_unit: str = "Year") -> str:
    """A one-line name with its time, for chart rows and findings (no commas)."""
    if row["kind"] == "event":
        return observation_label(row, lang)
    variable = variable_label(str(row["variable"]), lang)
    at = when_text(row, lang, time_unit)
    if row["kind"] == "flow":
        key = "calibration.flow_title" if time_kind(time_unit) in ("year", "") \
            else "calibration.flow_title_any"
        return text(key, lang, variable=variable, when=at)
    return f"{variable} {at}"


def value_text(value: float, kind: str) -> str:
    """A number as the table shows it: dates with two decimals, else three significant
    digits (``343 316`` -> ``343 000``: a model's range is not known to the unit)."""
    value = float(value)
    if kind == "event":
        return f"{value:.2f}"
    if math.isfinite(value) and abs(value) >= 1000:
        value = round(value, 2 - math.floor(math.log10(abs(value))))
    return number(value)


def _unit(row: Mapping[str, Any]) -> str:
    """The unit shown after a range (none for a ratio or a date)."""
    unit = str(row.get("unit") or "")
    return "" if row["kind"] == "event" or unit.strip().lower() in _UNITLESS else unit


def until_text(until: float | None, lang: str, time_unit: str = "Year") -> str:
    """``train_until`` for readers: ``the end of 2019`` for 2019.99, else the number; in
    another time unit than years ``day 50``."""
    if until is None or math.isnan(float(until)):
        return ""
    value = float(until)
    if not _calendar(time_unit, value):
        return text("calibration.until", lang, time=when(value, time_unit, lang))
    if 0 < math.ceil(value) - value <= 0.05:
        return text("calibration.until_end", lang, year=math.ceil(value) - 1)
    return text("calibration.until", lang, time=f"{value:g}")


def fit_rows(observations: pd.DataFrame, lang: str, time_unit: str = "Year"
             ) -> list[dict[str, Any]]:
    """The fit and hindcast table: ``cells`` (observation, when, role, observed, model at
    the best fit, the model's 90 % range, inside) with ``holdout`` and ``inside`` flags."""
    rows = []
    for row in observations.to_dict("records"):
        kind, holdout, inside = str(row["kind"]), row["role"] == "holdout", bool(row["inside"])
        band = f"{value_text(row['predictive_q05'], kind)} - " \
               f"{value_text(row['predictive_q95'], kind)} {_unit(row)}".strip()
        role = "calibration.holdout_role" if holdout else "calibration.fitted_role"
        rows.append({"cells": [observation_label(row, lang), when_text(row, lang, time_unit),
                               text(role, lang), value_text(row["value"], kind),
                               value_text(row["at_mode"], kind), band,
                               text("yes" if inside else "no", lang)],
                     "holdout": holdout, "inside": inside})
    return rows


def not_identified(estimates: pd.DataFrame) -> list[str]:
    """Parameters whose 90 % interval still covers most of the prior's."""
    return estimates.loc[~estimates["identified"].astype(bool), "parameter"].astype(str).tolist()


def _identified_sentence(estimates: pd.DataFrame, lang: str) -> str:
    names = [variable_label(name, lang) for name in not_identified(estimates)]
    if not names:
        return text("calibration.all_identified", lang, total=len(estimates))
    if len(names) <= MAX_LISTED:
        return text("calibration.unidentified_list", lang,
                    names=text("list.sep", lang).join(names))
    return text("calibration.unidentified_count", lang, count=len(names), total=len(estimates))


def summary_sentence(result: CalibrationLike, lang: str, time_unit: str = "Year") -> str:
    """Fitted to N observations up to ``train_until``; K of M held out inside their range;
    the parameters the data could not pin down (named, or counted when many)."""
    observations = result.observations
    fitted = int((observations["role"] == "train").sum())
    held = observations[observations["role"] == "holdout"]
    until = until_text(result.manifest.get("train_until"), lang, time_unit)
    if held.empty or not until:
        sentence = text("calibration.fitted_all", lang, count=fitted)
    else:
        sentence = text("calibration.fitted", lang, count=fitted, until=until)
        sentence += text("calibration.hindcast", lang, inside=int(held["inside"].sum()),
                         total=len(held))
    return sentence + _identified_sentence(result.estimates, lang)


def calibration_context(result: CalibrationLike, lang: str, time_unit: str = "Year"
                        ) -> dict[str, Any]:
    """What the page template shows of a calibration (title, sentences, table), with times
    in ``time_unit`` (the model's)."""
    manifest = result.manifest
    names = not_identified(result.estimates)
    header = [text(key, lang) for key in ("col.observation", "col.when", "col.role",
                                          "col.observed", "col.best_fit", "col.model_range",
                                          "col.inside")]
    title = str(manifest.get("title") or manifest.get("name") or "")
    until = until_text(manifest.get("train_until"), lang, time_unit)
    held = bool((result.observations["role"] == "holdout").any())
    intro = text("intro.calibration", lang, title=title, count=len(result.estimates),
                 until=until) if until and held else \
        text("intro.calibration_all", lang, title=title, count=len(result.estimates))
    return {
        "intro": intro, "draws": manifest.get("draws") or "",
        "summary": summary_sentence(result, lang, time_unit),
        "unidentified": [variable_label(n, lang) for n in names] if len(names) > MAX_LISTED
        else [],
        "header": header, "rows": fit_rows(result.observations, lang, time_unit),
    }

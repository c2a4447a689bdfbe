"""The tables and words of a policy briefing (:mod:`sdkit.report.briefing.page`), in the page's
language.

Transition times and durations in the model's time unit; what each scenario
changes; the model's constants sector by sector (the model file's groups, named
by the card's ``[briefing] sectors``), each comment in the page's language only
(:func:`sdkit.report.modeltext.comment_in`); the evidence rows; the sensitivity section's
title. Numbers have thousands separators, years never. No I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from sdkit.report.briefing.charts import scenario_labels
from sdkit.report.i18n import number, text, variable_label
from sdkit.report.modeltext import comment_in, english_part, has_cjk
from sdkit.report.wording import time_kind, time_value, unit_word

if TYPE_CHECKING:
    from sdkit.report.briefing.page import BriefingData

__all__ = ["transition_table", "transition_rules", "scenario_rows", "parameter_groups",
           "evidence_rows", "sensitivity_title", "value_text"]


def transition_table(data: BriefingData, lang: str) -> dict[str, Any]:
    """Header and rows: each scenario's transition times and time in each stage."""
    transitions = data.results.transitions
    if transitions.empty:
        return {"header": [], "rows": []}
    key = "stage_zh" if lang == "zh" else "stage_en"
    stages = transitions.drop_duplicates("stage").sort_values("stage")
    names = {int(r.stage): getattr(r, key) or str(r.stage) for r in stages.itertuples()}
    later = [s for s in names if s > 1]
    unit = unit_word(data.time_unit, lang, plural=True)
    header = [text("col.scenario", lang)]
    header += [text("col.stage_into", lang, stage=names[s]) for s in later]
    header += [text("col.years_in", lang, stage=names[s], unit=unit) for s in names]
    labels = scenario_labels(data.scenarios, lang)
    by = {(r.scenario, int(r.stage)): r for r in transitions.itertuples()}
    rows = []
    for scenario in dict.fromkeys(transitions["scenario"]):
        row = [labels.get(scenario, scenario)]
        row += [text("never", lang) if pd.isna(by[scenario, s].time)
                else time_value(float(by[scenario, s].time)) for s in later]
        row += [f"{by[scenario, s].duration:.2f}" for s in names]
        rows.append(row)
    return {"header": header, "rows": rows}


def transition_rules(transitions: pd.DataFrame, lang: str) -> str:
    """How each stage begins: "intelligentization when Intelligentization theme weight
    crosses 0.5", joined."""
    if transitions.empty:
        return ""
    key = "stage_zh" if lang == "zh" else "stage_en"
    rows = transitions[transitions["stage"] > 1].drop_duplicates("stage").sort_values("stage")
    return text("list.sep", lang).join(
        text("rule.item", lang, stage=getattr(r, key) or str(r.stage),
             variable=variable_label(str(r.variable), lang), threshold=f"{r.threshold:g}")
        for r in rows.itertuples())


def scenario_rows(data: BriefingData, lang: str) -> list[dict[str, str]]:
    """Title, what each scenario changes, and why."""
    rows = []
    for s in data.scenarios:
        changes = [f"{variable_label(name, lang)} = "
                   f"{value_text(value, data.units.get(name, ''), data.time_unit)}"
                   for name, value in s.constants.items()]
        changes += [text("input_form", lang, name=variable_label(name, lang), form=spec.form)
                    for name, spec in s.inputs.items()]
        # English texts of scenario files may quote Chinese terms: the English page drops them
        rows.append({"title": comment_in(s.title[lang], lang) if lang == "en" else s.title[lang],
                     "description": comment_in(s.description[lang], lang) if lang == "en"
                     else s.description[lang],
                     "changes": "; ".join(changes) or text("no_changes", lang)})
    return rows


def value_text(value: Any, units: str, time_unit: str) -> str:
    """A constant's value: a time in the model's years without grouping (``2018``),
    other numbers with thousands separators (``6,000,000``)."""
    if isinstance(value, str):
        return value
    if value is None or pd.isna(value):
        return "?"
    value = float(value)
    if time_kind(units) and time_kind(units) == time_kind(time_unit) and 1000 <= abs(value) \
            < 10000:
        return time_value(value)
    return number(value)


def _sector_title(sector: str, data: BriefingData, lang: str) -> str:
    if not sector:
        return text("parameters.other", lang)
    names = data.sector_names.get(sector, {})
    if names.get(lang):
        return names[lang]
    return (english_part(sector) or sector) if lang == "en" else sector


def _name_and_comment(name: str, comment: str, lang: str) -> tuple[str, str]:
    """A constant's name and comment for the page: on the Chinese page a constant the card
    does not name is called by the Chinese construct its comment starts with."""
    label = variable_label(name, lang)
    said = comment_in(comment, lang)
    if lang != "zh" or label != name or not has_cjk(comment):
        return label, said
    first, _, rest = said.partition("；")
    return first, rest


def parameter_groups(data: BriefingData, lang: str) -> list[dict[str, Any]]:
    """The constants sector by sector (in model order of the sectors; "Other" last), each
    with its rows: ``name`` (as the page calls it), ``id`` (the model's name, used in
    scenario files) and ``cells`` (value, units, range, comment in the page's language)."""
    table = data.parameters
    sectors = table["sector"].fillna("") if "sector" in table else pd.Series("", table.index)
    order = list(dict.fromkeys(s for s in sectors if s)) + [""]
    groups = []
    for sector in order:
        part = table[sectors == sector]
        if part.empty:
            continue
        rows = []
        for r in part.sort_values("name", key=lambda c: c.str.lower()).itertuples():
            units = str(r.units)
            low = value_text(r.low, units, data.time_unit)
            high = value_text(r.high, units, data.time_unit)
            bounds = "" if pd.isna(r.low) and pd.isna(r.high) else f"[{low}, {high}]"
            label, comment = _name_and_comment(str(r.name), str(r.comment), lang)
            rows.append({"name": label, "id": str(r.name),
                         "cells": [value_text(r.value, units, data.time_unit), units, bounds,
                                   comment]})
        title = _sector_title(sector, data, lang)
        groups.append({"title": title, "rows": rows,
                       "summary": text("parameters.summary", lang, sector=title,
                                       count=len(rows))})
    return groups


def evidence_rows(comparison: pd.DataFrame | None, lang: str) -> list[list[str]]:
    """The evidence table: metric, time, band, model, check."""
    if comparison is None:
        return []

    def fmt(value: float, kind: str) -> str:
        # transition times are times: two decimals, no digit grouping
        return f"{value:.2f}" if kind == "transition" else number(value)

    return [[r.metric, time_value(float(r.time)),
             f"{fmt(r.low, r.kind)} - {fmt(r.high, r.kind)} {r.unit}",
             text("never", lang) if pd.isna(r.model) else fmt(float(r.model), r.kind),
             text("ok", lang) if r.within else text("outside", lang)]
            for r in comparison.itertuples()]


def sensitivity_title(data: BriefingData, lang: str) -> str:
    """The sensitivity section's title: the card's title in ``lang``, else the study's own
    title (English pages), else a plain "Sensitivity analysis"."""
    given: Mapping[str, str] = data.sensitivity_title
    manifest = getattr(data.sensitivity, "manifest", None) or {}
    title = given.get(lang) or (english_part(str(manifest.get("title") or ""))
                                if lang == "en" else "")
    return text("section.sensitivity_titled", lang, title=title) if title else \
        text("section.sensitivity", lang)

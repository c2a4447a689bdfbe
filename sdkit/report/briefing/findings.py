"""Key findings: sentences generated from the numbers of a briefing, never typed by hand.

Each function reads one table (stage transitions, scenario results, sensitivity
indices or bands, evidence comparison) and returns :class:`Finding` s: a sentence in
plain words from the message catalogue (:mod:`sdkit.report.i18n`, :mod:`sdkit.report.wording`),
"intelligentization begins in early 2017", with the technical measure in its
footnote, "2017.44 (Intelligentization theme weight crosses 0.5)"; or nothing when
the table has nothing to say. A :class:`Voice` carries the language, the model's
time unit, units and display names. No I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sdkit.report.briefing.calibration_text import observation_title, value_text
from sdkit.report.briefing.findings_study import (
    INDEX_BY_METHOD,
    StudyRuns,
    Words,
    ranked_effects,
    study_sentence,
)
from sdkit.report.i18n import text, variable_label
from sdkit.report.wording import (
    is_calendar,
    output_unit,
    output_words,
    quantity,
    relative,
    shift,
    time_value,
    unit_word,
    when,
)

__all__ = ["Finding", "Voice", "StudyRuns", "stage_findings", "level_finding",
           "sensitivity_finding", "band_finding", "evidence_finding", "hindcast_finding",
           "INDEX_BY_METHOD"]

@dataclass(frozen=True)
class Finding:
    """One key finding: a sentence in plain words and its technical footnote."""

    text: str
    note: str = ""

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Voice:
    """How findings speak: language, the model's time unit, units and display names.

    Attributes
    ----------
    lang : str
        ``"en"`` or ``"zh"``.
    time_unit : str
        The model's time unit (``"Year"``, ``"Day"``...).
    units : mapping of str to str
        Variable -> units.
    names : mapping
        Variable -> language -> display name (a model card's ``[names]``).
    stages : mapping of int to str
        Stage number -> name in ``lang``.
    """

    lang: str = "en"
    time_unit: str = "Year"
    units: Mapping[str, str] = field(default_factory=dict)
    names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    stages: Mapping[int, str] = field(default_factory=dict)

    def label(self, variable: str) -> str:
        """A variable's display name."""
        return variable_label(variable, self.lang, self.names)

    def when(self, time: float) -> str:
        """A time in plain words."""
        return when(time, self.time_unit, self.lang)

    def unit(self) -> str:
        """The time unit's word (for footnotes)."""
        return unit_word(self.time_unit, self.lang, plural=True)

    def end(self, time: float) -> str:
        """The end of a run ("2030", "day 100")."""
        if is_calendar(self.time_unit, time):
            return time_value(time) + (" 年" if self.lang == "zh" else "")
        return when(time, self.time_unit, self.lang)


def _stage_names(transitions: pd.DataFrame, voice: Voice) -> dict[int, str]:
    key = "stage_zh" if voice.lang == "zh" else "stage_en"
    first = transitions.drop_duplicates("stage")
    return {int(r.stage): (voice.stages.get(int(r.stage)) or getattr(r, key)
                           or f"stage {r.stage}") for r in first.itertuples()}


def _join(names: list[str], lang: str, key: str = "list.sep") -> str:
    return text(key, lang).join(names)


def _base_stages(transitions: pd.DataFrame, names: dict[int, str], base: str, label: str,
                 voice: Voice) -> list[Finding]:
    rows = transitions[(transitions["scenario"] == base) & (transitions["stage"] > 1)]
    rows = rows.dropna(subset=["time"]).sort_values("time")
    if rows.empty:
        return []
    items = [text("finding.stage_item", voice.lang, stage=names[int(r.stage)],
                  when=voice.when(float(r.time))) for r in rows.itertuples()]
    notes = [text("note.stage_item", voice.lang, stage=names[int(r.stage)],
                  time=time_value(float(r.time)), variable=voice.label(str(r.variable)),
                  threshold=f"{float(r.threshold):g}") for r in rows.itertuples()]
    return [Finding(text("finding.base_stages", voice.lang, base=label,
                         items=_join(items, voice.lang, "list.and")),
                    text("note.base_stages", voice.lang, unit=voice.unit(),
                         items=_join(notes, voice.lang)))]


def stage_findings(transitions: pd.DataFrame, labels: Mapping[str, str], ends: Mapping[str, float],
                   *, base: str, voice: Voice) -> list[Finding]:
    """When the base scenario changes stage, and which scenario reaches the last stage first.

    Parameters
    ----------
    transitions : pandas.DataFrame
        :attr:`sdkit.scenarios.runner.ScenarioResults.transitions` (empty: no findings).
    labels : mapping
        Scenario name -> label used in the sentences.
    ends : mapping
        Scenario name -> last time of its run.
    base : str
        The scenario the others are compared with.
    voice : Voice
    """
    if transitions.empty:
        return []
    names = _stage_names(transitions, voice)
    label = labels.get(base, base)
    found = _base_stages(transitions, names, base, label, voice)
    later = sorted(s for s in names if s > 1)
    if not later:
        return found
    last = later[-1]
    into = {(r.scenario, int(r.stage)): float(r.time) for r in transitions.itertuples()}
    times = {name: into.get((name, last), np.nan) for name in ends}
    reached = {name: t for name, t in times.items() if not np.isnan(t)}
    lang = voice.lang
    if len(reached) == 1 and len(times) > 1:
        (only, t), = reached.items()
        found.append(Finding(text("finding.first_only", lang, scenario=labels.get(only, only),
                                  stage=names[last], when=voice.when(t)),
                             text("note.times", lang, stage=names[last], unit=voice.unit(),
                                  items=f"{labels.get(only, only)} {time_value(t)}")))
    elif len(reached) > 1:
        early = min(reached, key=reached.__getitem__)
        late = max(reached, key=reached.__getitem__)
        moved = "" if early == base or np.isnan(times.get(base, np.nan)) else \
            text("finding.shift_sep", lang) + shift(reached[early] - times[base],
                                                     voice.time_unit, label, lang)
        shown = dict.fromkeys([early, base, late])
        items = [f"{labels.get(n, n)} {time_value(times[n])}" for n in shown
                 if n in times and not np.isnan(times[n])]
        found.append(Finding(
            text("finding.first_last", lang, scenario=labels.get(early, early),
                 stage=names[last], when=voice.when(reached[early]), shift=moved,
                 late=labels.get(late, late), late_when=voice.when(reached[late])),
            text("note.times", lang, stage=names[last], unit=voice.unit(),
                 items=_join(items, lang))))
    never = [labels.get(n, n) for n, t in times.items() if np.isnan(t)]
    if never and len(times) > 1:
        found.append(Finding(text("finding.never", lang, count=len(never), total=len(times),
                                  stage=names[last], end=voice.end(min(ends.values())),
                                  names=_join(never, lang))))
    return found


def level_finding(results: pd.DataFrame, variable: str, labels: Mapping[str, str], *,
                  base: str, voice: Voice) -> list[Finding]:
    """Which scenarios end highest and lowest in ``variable``, against ``base``.

    The comparison is at the last time all runs share, among every scenario, the base
    included (so "lowest" is never above the base); nothing when they all end equal.
    """
    rows = results[results["variable"] == variable]
    if rows.empty or base not in set(rows["scenario"]):
        return []
    end = float(rows.groupby("scenario")["time"].max().min())
    final = {}
    for name, one in rows.groupby("scenario", sort=False):
        one = one.sort_values("time")
        final[str(name)] = float(np.interp(end, one["time"], one["value"]))
    best, worst = max(final, key=final.__getitem__), min(final, key=final.__getitem__)
    if len(final) < 2 or final[best] == final[worst]:
        return []
    units = voice.units.get(variable, "")
    base_label = labels.get(base, base)
    lang = voice.lang
    return [Finding(
        text("finding.level_rel", lang, end=voice.end(end), variable=voice.label(variable),
             best=labels.get(best, best), best_value=quantity(final[best], units),
             best_rel=relative(final[best], final[base], base_label, lang),
             worst=labels.get(worst, worst), worst_value=quantity(final[worst], units),
             worst_rel=relative(final[worst], final[base], base_label, lang)),
        text("note.level", lang, end=time_value(end)))]


def sensitivity_finding(indices: pd.DataFrame, output: str, *, voice: Voice,
                        info: Mapping[str, Any] | None = None,
                        runs: StudyRuns | None = None) -> list[Finding]:
    """The parameter that moves ``output`` most, and the next one, in plain words.

    Morris: the mean absolute effect across a parameter's range, in the output's unit
    (a duration for a transition time); Sobol: the share of the output's variance;
    one-at-a-time: the change from low to high; Latin hypercube and Monte Carlo: the
    parameter most closely tied to the output (rank correlation), the direction and,
    with the study's runs, the typical change from the lowest to the highest third of
    its sampled values. A study of one parameter says how much it moves the output.

    Runs that never reach a transition or a level (the study records them as the final
    time plus a penalty) are left out of the effects, which are then recomputed from
    ``runs`` (:func:`sdkit.report.briefing.findings_study.effects`), and the finding says how many.

    Parameters
    ----------
    indices : pandas.DataFrame
        The study's index table (``method, output, parameter`` and the indices).
    output : str
        The output.
    voice : Voice
    info : mapping, optional
        The output as the study's manifest records it (``kind, variable, year``...).
    runs : StudyRuns, optional
        The study's samples and outputs (:meth:`StudyRuns.of`).
    """
    if runs is not None and output not in runs.outputs:
        runs = None
    never = runs.never(output, info) if runs is not None else np.zeros(0, dtype=bool)
    lang = voice.lang
    unit, is_time = output_unit(output, info, voice.units, voice.time_unit)
    said = Words(output_words(output, lang, info=info, stages=voice.stages,
                              unit=voice.time_unit, names=voice.names), unit, is_time,
                 voice.unit() if is_time else (unit or text("axis.no_unit", lang)), voice)
    final = runs.final_time if runs is not None else np.nan
    end = voice.end(final) if np.isfinite(final) else text("run.end", lang)
    if len(never) and never.all():
        return [Finding(text("finding.never_all", lang, total=len(never), output=said.output,
                             end=end))]
    kind, column, ranked = ranked_effects(indices, output, runs, never)
    if ranked.empty:
        return []
    sentence, note = study_sentence(kind, column, ranked, said)
    if not never.any():
        return [Finding(sentence, note)]
    count = int(never.sum())
    method = indices.loc[indices["output"] == output, "method"]
    sobol = bool(len(method)) and str(method.iloc[0]) == "sobol"
    key = "never_run" if count == 1 else "never_runs"
    return [Finding(sentence + text(f"finding.{key}", lang, count=count, total=len(never),
                                    end=end),
                    note + text(f"note.{key}", lang, count=count, end=end)
                    + (text("note.sobol_never", lang) if sobol else ""))]


def band_finding(bands: pd.DataFrame, variable: str, *, voice: Voice) -> list[Finding]:
    """The spread of ``variable`` over a study's sample at the last band time."""
    rows = bands[bands["variable"] == variable].sort_values("time")
    if rows.empty:
        return []
    last = rows.iloc[-1]
    units = voice.units.get(variable, "")
    time = float(last["time"])
    return [Finding(
        text("finding.band", voice.lang, variable=voice.label(variable), when=voice.end(time),
             low=quantity(float(last["p5"]), units), high=quantity(float(last["p95"]), units),
             median=quantity(float(last["p50"]), units)),
        text("note.band", voice.lang, time=time_value(time)))]


def evidence_finding(comparison: pd.DataFrame | None, *, lang: str) -> list[Finding]:
    """How many reference modes lie inside their band, naming those outside."""
    if comparison is None or comparison.empty:
        return []
    within = comparison["within"].astype(bool)
    sentence = text("finding.evidence", lang, within=int(within.sum()), total=len(comparison))
    outside = [str(m) for m in comparison.loc[~within, "metric"]]
    if outside:
        sentence += text("finding.evidence_outside", lang, names=_join(outside, lang))
    return [Finding(sentence)]


def _misses(rows: pd.DataFrame, lang: str, time_unit: str) -> str:
    items = [text("finding.hindcast_item", lang, name=observation_title(row, lang, time_unit),
                  low=value_text(row["predictive_q05"], str(row["kind"])),
                  high=value_text(row["predictive_q95"], str(row["kind"])),
                  value=value_text(row["value"], str(row["kind"])))
             for row in rows.to_dict("records")]
    return text("list.sep", lang).join(items)


def hindcast_finding(observations: pd.DataFrame | None, *, until: str, lang: str,
                     time_unit: str = "Year") -> list[Finding]:
    """A calibration's hindcast: how many held-out observations fall inside the calibrated
    model's 90 % range, and which it overshoots or undershoots.

    Parameters
    ----------
    observations : pandas.DataFrame or None
        :attr:`sdkit.calibration.CalibrationResult.observations` (``role, inside,
        value, predictive_q05, predictive_q95`` and the labels' columns).
    until : str
        The end of the fitting period as the sentence says it
        (:func:`sdkit.report.briefing.calibration_text.until_text`).
    lang : str
        Language of the sentence.
    time_unit : str
        The model's time unit (the observations' times).
    """
    if observations is None or observations.empty:
        return []
    held = observations[observations["role"] == "holdout"]
    if held.empty:
        return []
    sentence = text("finding.hindcast", lang, total=len(held), until=until,
                    inside=int(held["inside"].astype(bool).sum()))
    over = held[held["value"] < held["predictive_q05"]]
    under = held[held["value"] > held["predictive_q95"]]
    if not over.empty:
        sentence += text("finding.hindcast_over", lang, names=_misses(over, lang, time_unit))
    if not under.empty:
        sentence += text("finding.hindcast_under", lang, names=_misses(under, lang, time_unit))
    return [Finding(sentence)]

"""Sensitivity findings: the runs that never got there, effects without them, the sentence.

A sensitivity study records a transition or a level that a run never reaches within its
time span as the run's final time plus a penalty, or as NaN (see
:mod:`sdkit.sensitivity.metrics`); its indices count that stand-in as if it were a time.
The briefing's findings (:mod:`sdkit.report.briefing.findings`) instead measure each
parameter's effect
over the runs that did get there, from the study's own samples and outputs
(:class:`StudyRuns`), and say how many did not. :func:`effects` recomputes the method's
index over the kept runs (Morris ``mu_star`` from the elementary effects of the
trajectories, one-at-a-time ``delta``, and Spearman's ``rho`` for the others);
:func:`third_effect` gives the typical change of the output from the lowest to the highest
third of a parameter's sampled values, the number behind "the higher X, the lower Y".
:func:`study_sentence` says the one or two parameters on top in plain words, with the
technical measure for the footnote. Pure functions of tables; no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from sdkit.report.i18n import number, text
from sdkit.report.wording import quantity, span

__all__ = ["StudyRuns", "Words", "is_time_output", "effects", "third_effect", "ranked_effects",
           "study_sentence", "EFFECT_COLUMN", "INDEX_BY_METHOD"]

#: The index that ranks parameters for each method (``sdkit.sensitivity`` methods).
INDEX_BY_METHOD = {"morris": "mu_star", "sobol": "ST", "oat": "delta", "delta": "delta",
                   "lhs": "rho", "montecarlo": "rho"}

#: The index each method's effects are recomputed as (Sobol's variance shares need every
#: run of Saltelli's scheme, so its runs are ranked by rank correlation instead).
EFFECT_COLUMN = {"morris": "mu_star", "oat": "delta", "delta": "delta", "lhs": "rho",
                 "montecarlo": "rho", "sobol": "rho"}
_STAGE_OUTPUT = re.compile(r"stage \d+ transition")


def is_time_output(output: str, info: Mapping[str, Any] | None) -> bool:
    """Whether a study output is the time a level is reached (a transition or a reach)."""
    kind = str((info or {}).get("kind") or "")
    return kind in ("transition", "reach") or (not kind and bool(_STAGE_OUTPUT.fullmatch(output)))


@dataclass(frozen=True)
class StudyRuns:
    """The per-run tables of a sensitivity study.

    Attributes
    ----------
    samples : pandas.DataFrame
        One row per run, one column per parameter (the sampled values).
    outputs : pandas.DataFrame
        The same rows, one column per output.
    method : str
        The study's method (``morris``, ``sobol``, ``oat``, ``lhs``, ``montecarlo``).
    final_time : float
        The runs' final time (NaN when unknown: then only NaN outputs count as never).
    levels : int
        The Morris grid's levels.
    """

    samples: pd.DataFrame
    outputs: pd.DataFrame
    method: str
    final_time: float = math.nan
    levels: int = 4

    @classmethod
    def of(cls, result: Any) -> StudyRuns | None:
        """The runs of a sensitivity result (``samples``, ``outputs`` and its ``manifest``),
        or None when it does not keep them."""
        samples, outputs = getattr(result, "samples", None), getattr(result, "outputs", None)
        if not isinstance(samples, pd.DataFrame) or not isinstance(outputs, pd.DataFrame) \
                or samples.empty or len(samples) != len(outputs):
            return None
        manifest = getattr(result, "manifest", None) or {}
        method = str(manifest.get("method") or "")
        if not method:
            indices = getattr(result, "indices", None)
            if not isinstance(indices, pd.DataFrame) or indices.empty:
                return None
            method = str(indices["method"].iloc[0])
        options = manifest.get("method_options") or {}
        final = manifest.get("final_time")
        return cls(samples.reset_index(drop=True), outputs.reset_index(drop=True), method,
                   math.nan if final is None else float(final), int(options.get("levels", 4)))

    def never(self, output: str, info: Mapping[str, Any] | None = None) -> np.ndarray:
        """Which runs never reached ``output`` (all False for an output that is not a time).

        A run never reached it when its value is NaN or lies after the final time (the
        study's penalty).
        """
        if output not in self.outputs or not is_time_output(output, info):
            return np.zeros(len(self.outputs), dtype=bool)
        values = self.outputs[output].to_numpy(float)
        late = values > self.final_time + 1e-9 if not math.isnan(self.final_time) \
            else np.zeros(len(values), dtype=bool)
        return np.isnan(values) | late


def _rho(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(pd.Series(x).rank().corr(pd.Series(y).rank()))


def third_effect(x: np.ndarray, y: np.ndarray) -> float:
    """The median of ``y`` over the runs in the highest third of ``x`` minus that over the
    runs in its lowest third (NaN when ``x`` does not vary)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 3 or np.ptp(x) == 0:
        return math.nan
    low, high = np.quantile(x, [1 / 3, 2 / 3])
    return float(np.median(y[x >= high]) - np.median(y[x <= low]))


def _morris(runs: StudyRuns, y: np.ndarray, keep: np.ndarray) -> dict[str, float]:
    """``mu_star`` over the elementary effects whose two runs are both kept.

    Each trajectory is ``k + 1`` runs, each step moving one parameter by the grid's
    ``levels / (2 (levels - 1))`` of its unit range (as SALib's Morris method), so an
    effect is the output's change across the parameter's whole range.
    """
    names = list(runs.samples.columns)
    k, values = len(names), runs.samples.to_numpy(float)
    step = runs.levels / (2 * (runs.levels - 1))
    found: dict[str, list[float]] = {name: [] for name in names}
    for start in range(0, len(values) - k, k + 1):
        moved: list[int | None] = []
        for i in range(start, start + k):
            changed = np.nonzero(values[i + 1] != values[i])[0]
            moved.append(int(changed[0]) if len(changed) == 1 else None)
        missing = set(range(k)) - {j for j in moved if j is not None}
        if moved.count(None) == 1 and len(missing) == 1:  # a discrete level did not change
            moved[moved.index(None)] = missing.pop()
        for offset, j in enumerate(moved):
            i = start + offset
            if j is not None and keep[i] and keep[i + 1]:
                found[names[j]].append(abs(y[i + 1] - y[i]) / step)
    return {name: float(np.mean(ee)) if ee else math.nan for name, ee in found.items()}


def _oat(runs: StudyRuns, y: np.ndarray, keep: np.ndarray) -> dict[str, float]:
    """Each parameter's change from its lowest to its highest kept value, the others at
    the base (the first run)."""
    values = runs.samples.to_numpy(float)
    base = values[0]
    found = {}
    for j, name in enumerate(runs.samples.columns):
        others = np.delete(values, j, axis=1) == np.delete(base, j)
        rows = np.nonzero(others.all(axis=1) & keep)[0]
        if len(rows) < 2 or np.ptp(values[rows, j]) == 0:
            found[name] = math.nan
            continue
        x = values[rows, j]
        found[name] = float(y[rows[np.argmax(x)]] - y[rows[np.argmin(x)]])
    return found


def effects(runs: StudyRuns, output: str, keep: np.ndarray) -> pd.DataFrame:
    """Each parameter's effect on ``output`` over the kept runs.

    Parameters
    ----------
    runs : StudyRuns
    output : str
        A column of :attr:`StudyRuns.outputs`.
    keep : numpy.ndarray of bool
        The runs to count (one per run).

    Returns
    -------
    pandas.DataFrame
        Columns ``parameter``, the method's :data:`EFFECT_COLUMN` and ``thirds`` (the
        :func:`third_effect` of each parameter, NaN for one-at-a-time and Morris samples,
        whose runs are not a sample of the whole space).
    """
    y = runs.outputs[output].to_numpy(float)
    keep = np.asarray(keep, dtype=bool) & ~np.isnan(y)
    column = EFFECT_COLUMN.get(runs.method, "rho")
    if column == "mu_star":
        found = _morris(runs, y, keep)
    elif column == "delta":
        found = _oat(runs, y, keep)
    else:
        found = {name: _rho(runs.samples[name].to_numpy(float)[keep], y[keep])
                 for name in runs.samples.columns}
    spread = runs.method in ("lhs", "montecarlo", "sobol")
    return pd.DataFrame({
        "parameter": list(found), column: list(found.values()),
        "thirds": [third_effect(runs.samples[name].to_numpy(float)[keep], y[keep])
                   if spread else math.nan for name in found]})


class _Voice(Protocol):
    @property
    def lang(self) -> str: ...

    def label(self, variable: str) -> str: ...


@dataclass(frozen=True)
class Words:
    """How one sensitivity output is spoken of: its words, unit, and whether it is a time.

    Attributes
    ----------
    output : str
        The output in plain words ("the peak of Infected").
    unit : str
        Its unit (the time unit for a time).
    is_time : bool
        Whether it is a time, whose effects read as durations.
    shown_unit : str
        The unit as the footnote says it.
    voice : Voice
        The findings' :class:`sdkit.report.briefing.findings.Voice`.
    """

    output: str
    unit: str
    is_time: bool
    shown_unit: str
    voice: _Voice

    def effect(self, value: float) -> str:
        """An effect in the output's unit: a duration for times, a quantity otherwise."""
        if self.is_time:
            return span(value, self.unit, self.voice.lang)
        return quantity(value, self.unit)

    def direction(self, sign: float) -> str:
        """"higher"/"lower" ("later"/"earlier" for a time) for the sign of an effect."""
        up, down = ("finding.later", "finding.earlier") if self.is_time else \
            ("finding.higher", "finding.lower")
        return text(up if sign > 0 else down, self.voice.lang)


def _percent(share: float, lang: str) -> str:
    """A share as a percentage ("60 %"; "60%" in Chinese), at most 100."""
    shown = f"{min(share, 1.0) * 100:.0f}"
    return f"{shown}%" if lang == "zh" else f"{shown} %"


def _items(rows: list[pd.Series], column: str, voice: _Voice, fmt: Any = number) -> str:
    return text("list.sep", voice.lang).join(
        f"{voice.label(str(r['parameter']))} {fmt(float(r[column]))}" for r in rows)


def ranked_effects(indices: pd.DataFrame, output: str, runs: StudyRuns | None,
                   never: np.ndarray) -> tuple[str, str, pd.DataFrame]:
    """The sentence's kind (``morris, oat, sobol, rho``), the ranking column and the table of
    one output, most influential parameter first.

    The study's indices, unless some runs never got there (``never``) or the method ranks
    by rank correlation: then :func:`effects` over the kept ``runs``.
    """
    rows = indices[indices["output"] == output]
    method = str(rows["method"].iloc[0]) if not rows.empty else ""
    column = INDEX_BY_METHOD.get(method, "")
    kind = {"morris": "morris", "oat": "oat", "delta": "oat", "sobol": "sobol"}.get(method, "rho")
    table = rows[rows["method"] == method] if column in rows else rows.iloc[:0]
    if runs is not None and (never.any() or kind == "rho"):
        table, column = effects(runs, output, ~never), EFFECT_COLUMN.get(runs.method, "rho")
        kind = "rho" if kind == "sobol" else kind
    if column not in table:
        return kind, column, table.iloc[:0]
    table = table.dropna(subset=[column])
    return kind, column, table.reindex(table[column].abs().sort_values(ascending=False).index)


def _rho_sentence(first: pd.Series, second: pd.Series | None, said: Words,
                  names: dict[str, str]) -> str:
    lang = said.voice.lang
    value, thirds = float(first["rho"]), float(first.get("thirds", np.nan))
    if np.isnan(thirds) or thirds == 0:
        sentence = text("finding.rho_index", lang, output=said.output, value=f"{value:+.2f}",
                        direction=said.direction(value), **names)
        return sentence + (text("finding.next_plain", lang, **names) if second is not None
                           else "")
    key = "finding.rho" if second is not None else "finding.rho_one"
    sentence = text(key, lang, output=said.output, direction=said.direction(thirds),
                    effect=said.effect(abs(thirds)), **names)
    if second is None:
        return sentence
    other = float(second.get("thirds", np.nan))
    return sentence + (text("finding.next_plain", lang, **names) if np.isnan(other) else
                       text("finding.next", lang, second_effect=said.effect(abs(other)),
                            **names))


def study_sentence(kind: str, column: str, ranked: pd.DataFrame, said: Words
                   ) -> tuple[str, str]:
    """The finding of the one or two parameters on top of ``ranked`` and its footnote.

    Parameters
    ----------
    kind, column, ranked
        What :func:`ranked_effects` returns (``ranked`` not empty).
    said : Words
        How the output is spoken of.

    Returns
    -------
    tuple of (str, str)
        The sentence in plain words and the technical measure.
    """
    voice, lang = said.voice, said.voice.lang
    first = ranked.iloc[0]
    second = ranked.iloc[1] if len(ranked) > 1 else None
    names = {"first": voice.label(str(first["parameter"]))}
    if second is not None:
        names["second"] = voice.label(str(second["parameter"]))
    top = [first] if second is None else [first, second]
    value = float(first[column])
    one = "" if second is not None else "_one"
    if kind == "rho":
        thirds = float(first.get("thirds", np.nan))
        return (_rho_sentence(first, second, said, names),
                text("note.rho", lang, items=_items(top, column, voice, lambda v: f"{v:+.2f}"))
                + ("" if np.isnan(thirds) else text("note.thirds", lang)))
    if kind == "sobol":
        sentence = text(f"finding.sobol{one}", lang, output=said.output,
                        share=_percent(value, lang), **names)
        later = _percent(float(second[column]), lang) if second is not None else ""
        note = text("note.sobol", lang, items=_items(top, column, voice, lambda v: f"{v:.2f}"),
                    conf=f"{float(first.get('ST_conf', np.nan)):.2f}",
                    s1=f"{float(first.get('S1', np.nan)):.2f}", **names)
    else:
        sentence = text(f"finding.{kind}{one}", lang, output=said.output,
                        effect=said.effect(abs(value)), **names)
        later = said.effect(abs(float(second[column]))) if second is not None else ""
        note = text(f"note.{kind}", lang, items=_items(top, column, voice),
                    unit=said.shown_unit)
        sigma = float(first.get("sigma", np.nan))
        if kind == "morris" and not np.isnan(sigma):
            note += text("note.sigma", lang, first=names["first"], sigma=number(sigma))
    if second is not None:
        sentence += text("finding.next", lang, second_effect=later, **names)
    return sentence, note

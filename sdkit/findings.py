"""Key findings: sentences generated from the numbers of a briefing, never typed by hand.

Each function reads one table (stage transitions, scenario results, sensitivity
indices, evidence comparison) and returns sentences from the message catalogue
(:mod:`sdkit.i18n`) with the numbers filled in, or nothing when the table has
nothing to say. No I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from sdkit.calibration_text import observation_title, value_text
from sdkit.i18n import number, output_label, text, variable_label, year

__all__ = ["stage_findings", "level_finding", "sensitivity_finding", "evidence_finding",
           "hindcast_finding", "INDEX_BY_METHOD"]

#: The index that ranks parameters for each method.
INDEX_BY_METHOD = {"morris": "mu_star", "sobol": "ST", "delta": "delta"}


def _stage_names(transitions: pd.DataFrame, lang: str) -> dict[int, str]:
    key = "stage_zh" if lang == "zh" else "stage_en"
    first = transitions.drop_duplicates("stage")
    return {int(r.stage): (getattr(r, key) or f"stage {r.stage}") for r in first.itertuples()}


def _join(names: list[str], lang: str) -> str:
    return text("list.sep", lang).join(names)


def stage_findings(transitions: pd.DataFrame, labels: Mapping[str, str], ends: Mapping[str, float],
                   *, base: str, lang: str) -> list[str]:
    """Sentences on when the base scenario changes stage and which scenario is earliest or late.

    Parameters
    ----------
    transitions : pandas.DataFrame
        :attr:`sdkit.runner.ScenarioResults.transitions`.
    labels : mapping
        Scenario name -> label used in the sentences.
    ends : mapping
        Scenario name -> last time of its run.
    base : str
        The scenario the others are compared with.
    lang : str
        Language of the sentences.
    """
    if transitions.empty:
        return []
    names = _stage_names(transitions, lang)
    stages = sorted(s for s in names if s > 1)
    into = {(r.scenario, int(r.stage)): r.time for r in transitions.itertuples()}
    found = []
    base_label = labels.get(base, base)
    if len(stages) >= 2 and (base, stages[0]) in into:
        found.append(text("finding.base_stages", lang, base=base_label, stage2=names[stages[0]],
                          t2=year(into[base, stages[0]], lang), stage3=names[stages[1]],
                          t3=year(into[base, stages[1]], lang)))
    last = stages[-1] if stages else None
    if last is None:
        return found
    times = {name: into.get((name, last), np.nan) for name in ends}
    reached = {name: t for name, t in times.items() if not np.isnan(t)}
    if reached:
        early = min(reached, key=reached.__getitem__)
        late = max(reached, key=reached.__getitem__)
        shift = reached[early] - times.get(base, np.nan)
        found.append(text("finding.earliest", lang, scenario=labels.get(early, early),
                          stage=names[last], time=year(reached[early], lang),
                          shift="n/a" if np.isnan(shift) else f"{shift:+.2f}", base=base_label,
                          late=labels.get(late, late), late_time=year(reached[late], lang)))
    never = [labels.get(n, n) for n, t in times.items() if np.isnan(t)]
    if never:
        found.append(text("finding.not_reached", lang, count=len(never), total=len(times),
                          stage=names[last], end=f"{min(ends.values()):g}",
                          names=_join(never, lang)))
    return found


def level_finding(results: pd.DataFrame, variable: str, labels: Mapping[str, str], *,
                  base: str, lang: str) -> list[str]:
    """A sentence on which scenarios end highest and lowest in ``variable``, against ``base``.

    The comparison is at the last time all runs share.
    """
    rows = results[results["variable"] == variable]
    if rows.empty or base not in set(rows["scenario"]):
        return []
    end = float(rows.groupby("scenario")["time"].max().min())
    final = {}
    for name, one in rows.groupby("scenario", sort=False):
        one = one.sort_values("time")
        final[str(name)] = float(np.interp(end, one["time"], one["value"]))
    others = {n: v for n, v in final.items() if n != base}
    if not others:
        return []
    best, worst = max(others, key=others.__getitem__), min(others, key=others.__getitem__)

    def relative(value: float) -> str:
        ref = final[base]
        if ref == 0:
            return "n/a"
        change = (value - ref) / abs(ref) * 100
        return f"{change:+.1f} %" if abs(change) < 10 else f"{change:+.0f} %"

    return [text("finding.level", lang, end=f"{end:g}", variable=variable_label(variable, lang),
                 best=labels.get(best, best), best_value=number(final[best]),
                 best_rel=relative(final[best]), base=labels.get(base, base),
                 worst=labels.get(worst, worst), worst_value=number(final[worst]),
                 worst_rel=relative(final[worst]))]


def sensitivity_finding(indices: pd.DataFrame, output: str, *, lang: str) -> list[str]:
    """A sentence naming the two most influential parameters on ``output``."""
    rows = indices[indices["output"] == output]
    if rows.empty:
        return []
    method = str(rows["method"].iloc[0])
    column = INDEX_BY_METHOD.get(method)
    if column is None or column not in rows:
        return []
    ranked = rows[rows["method"] == method].dropna(subset=[column])
    ranked = ranked.sort_values(column, ascending=False)
    if len(ranked) < 2:
        return []
    first, second = ranked.iloc[0], ranked.iloc[1]
    return [text("finding.sensitivity", lang, first=variable_label(first["parameter"], lang),
                 output=output_label(output, lang), index=column,
                 value=number(float(first[column])),
                 second=variable_label(second["parameter"], lang),
                 second_value=number(float(second[column])))]


def evidence_finding(comparison: pd.DataFrame | None, *, lang: str) -> list[str]:
    """A sentence counting the reference modes inside their band, naming those outside."""
    if comparison is None or comparison.empty:
        return []
    within = comparison["within"].astype(bool)
    sentence = text("finding.evidence", lang, within=int(within.sum()), total=len(comparison))
    outside = [str(m) for m in comparison.loc[~within, "metric"]]
    if outside:
        sentence += text("finding.evidence_outside", lang, names=_join(outside, lang))
    return [sentence]


def _misses(rows: pd.DataFrame, lang: str) -> str:
    items = [text("finding.hindcast_item", lang, name=observation_title(row, lang),
                  low=value_text(row["predictive_q05"], str(row["kind"])),
                  high=value_text(row["predictive_q95"], str(row["kind"])),
                  value=value_text(row["value"], str(row["kind"])))
             for row in rows.to_dict("records")]
    return text("list.sep", lang).join(items)


def hindcast_finding(observations: pd.DataFrame | None, *, until: str, lang: str) -> list[str]:
    """A sentence on a calibration's hindcast: how many held-out observations fall inside
    the calibrated model's 90 % range, and which it overshoots or undershoots.

    Parameters
    ----------
    observations : pandas.DataFrame or None
        :attr:`sdkit.calibration.CalibrationResult.observations` (``role, inside,
        value, predictive_q05, predictive_q95`` and the labels' columns).
    until : str
        The end of the fitting period as the sentence says it
        (:func:`sdkit.calibration_text.until_text`).
    lang : str
        Language of the sentence.
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
        sentence += text("finding.hindcast_over", lang, names=_misses(over, lang))
    if not under.empty:
        sentence += text("finding.hindcast_under", lang, names=_misses(under, lang))
    return [sentence]

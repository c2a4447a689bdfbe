"""Loop scores per stage, or per period of a run without stages: the report's tables.

A model card's transitions cut a run into stages (:meth:`LoopDominance.stage_spans`);
a run without them is cut into equal periods (:func:`spans`), so that a change of
dominance over the run shows.  Each table gives, per stage or period, a mean over
its time steps: the loops' absolute relative scores (:func:`stage_table`), the
coverage of the total ``|loop score|`` (:func:`coverage_table`, or a lower bound
of it, :func:`coverage_bound_table`) and the loop families' shares
(:func:`families_table`).  The ``stage`` column numbers the stages, or the
periods from 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sdkit.loops.families import family_table, passing, resolve_families
from sdkit.loops.graph import FOUND_ENUMERATED
from sdkit.loops.ltm import LoopDominance

__all__ = ["staged", "spans", "time_unit", "when", "span_label", "stage_table",
           "coverage_table", "coverage_bound_table", "families_table"]


def main_ids(dom: LoopDominance) -> list[str]:
    """Ids of the loops of the main partition (the largest strongly connected one)."""
    return [lp.id for lp in dom.loops.loops if lp.partition == 1]


def staged(dom: LoopDominance) -> bool:
    """Whether the run has stages (a model card's transitions); else it has periods."""
    return not dom.stage_spans().empty


def spans(dom: LoopDominance, periods: int = 1) -> pd.DataFrame:
    """``stage, start, end``: the run's stages, or ``periods`` equal periods of the run.

    Parameters
    ----------
    dom : LoopDominance
    periods : int, default 1
        Without stages, the number of equal periods the run is cut into (at
        most one per time step; 1: the whole run), numbered from 1.

    Returns
    -------
    pandas.DataFrame
        Empty when the run has no time step.
    """
    found = dom.stage_spans()
    index = np.asarray(dom.scores.index, dtype=float)
    if not found.empty or not len(index):
        return found
    step = dom.time_step if np.isfinite(dom.time_step) else 0.0
    edges = np.linspace(float(index[0]) - step, float(index[-1]),
                        max(1, min(int(periods), len(index))) + 1)
    return pd.DataFrame({"stage": np.arange(1, len(edges)), "start": edges[:-1],
                         "end": edges[1:]})


def time_unit(dom: LoopDominance) -> str:
    """The model's time unit: the units of INITIAL TIME (else TIME STEP, FINAL TIME)."""
    for py_name in ("initial_time", "time_step", "final_time"):
        var = dom.loops.ir.variables.get(py_name)
        if var is not None and var.units.strip():
            return var.units.strip()
    return "time units"


def when(value: float) -> str:
    """A time for a table: at most two decimals, no trailing zeros (``2015.5``, ``25``)."""
    return f"{round(float(value), 2):g}"


def span_label(dom: LoopDominance, span: Any, long: bool = False) -> str:
    """A stage (``"1"``, long ``"Stage 1 (2015.00-2017.08)"``) or a period (``"0-25"``,
    long ``"From 0 to 25 Day"``); ``span`` is a row of :func:`spans` or of a table."""
    if staged(dom):
        return f"Stage {span.stage} ({span.start:.2f}-{span.end:.2f})" if long \
            else str(span.stage)
    if long:
        return f"From {when(span.start)} to {when(span.end)} {time_unit(dom)}"
    return f"{when(span.start)}-{when(span.end)}"


def _inside(times: pd.Index, found: pd.DataFrame, span: Any) -> np.ndarray:
    # ``span`` is a row of ``found.itertuples()``: a namedtuple with fields
    # stage, start and end, which pandas (untyped here) does not describe.
    inside = (times > span.start) & (times <= span.end)
    if span.stage == found["stage"].iloc[0]:
        inside |= times == span.start
    return np.asarray(inside)


def stage_table(dom: LoopDominance, periods: int = 1) -> pd.DataFrame:
    """Mean relative scores of the main partition's loops in every stage.

    Parameters
    ----------
    dom : LoopDominance
    periods : int, default 1
        Without stages: the number of equal periods of the run (:func:`spans`).

    Returns
    -------
    pandas.DataFrame
        ``stage, start, end, loop, mean_abs, mean, dominant_share``: the mean
        absolute and the mean signed relative score over the stage's time
        steps, and the share of those steps the loop is in the dominant set;
        sorted by stage and decreasing ``mean_abs``.
    """
    columns = ["stage", "start", "end", "loop", "mean_abs", "mean", "dominant_share"]
    found, ids = spans(dom, periods), main_ids(dom)
    if found.empty or not ids:
        return pd.DataFrame(columns=columns)
    dominant = dom.dominant[dom.dominant["partition"] == 1]["loops"].to_numpy()
    times = dom.relative_all.index
    rows = []
    for span in found.itertuples(index=False):
        inside = _inside(times, found, span)
        values = dom.relative_all.loc[inside, ids]
        counts = pd.Series([i for g in dominant[inside] for i in g], dtype=object).value_counts()
        share = counts.reindex(ids, fill_value=0) / max(int(inside.sum()), 1)
        rows.append(pd.DataFrame({
            "stage": int(span.stage), "start": float(span.start), "end": float(span.end),
            "loop": ids, "mean_abs": values.abs().mean().reindex(ids).fillna(0.0).to_numpy(),
            "mean": values.mean().reindex(ids).fillna(0.0).to_numpy(),
            "dominant_share": share.to_numpy(dtype=float)}))
    table = pd.concat(rows, ignore_index=True)
    return table.sort_values(["stage", "mean_abs"], ascending=[True, False], kind="stable",
                             ignore_index=True)


def coverage_table(dom: LoopDominance, partition: int = 1, periods: int = 1) -> pd.DataFrame:
    """Share of the total ``|loop score|`` of all loops of a partition, per stage.

    Returns
    -------
    pandas.DataFrame
        ``stage, start, end, analysed, enumerated, active_steps``: the mean over
        the stage's (or period's, :func:`spans`) time steps with loop activity of
        the share carried by the analysed loops and by the enumerated ones alone
        (loops within the length bound); NaN when the exact total was not computed.
    """
    columns = ["stage", "start", "end", "analysed", "enumerated", "active_steps"]
    found, total = spans(dom, periods), dom.totals.get(partition)
    if found.empty or total is None:
        return pd.DataFrame(columns=columns)
    members = [lp for lp in dom.loops.loops if lp.partition == partition]
    enumerated = [lp.id for lp in members if lp.found == FOUND_ENUMERATED]
    short = dom.scores[enumerated].abs().sum(axis=1).to_numpy()
    analysed = dom.scores[[lp.id for lp in members]].abs().sum(axis=1).to_numpy()
    active = total.total > 0
    safe = np.where(active, total.total, 1.0)
    rows = []
    for span in found.itertuples(index=False):
        inside = _inside(dom.scores.index, found, span) & active
        rows.append({"stage": int(span.stage), "start": float(span.start),
                     "end": float(span.end),
                     "analysed": float(np.minimum(analysed / safe, 1.0)[inside].mean())
                     if inside.any() else np.nan,
                     "enumerated": float(np.minimum(short / safe, 1.0)[inside].mean())
                     if inside.any() else np.nan,
                     "active_steps": int(inside.sum())})
    return pd.DataFrame(rows, columns=columns)


def coverage_bound_table(dom: LoopDominance, partition: int = 1, periods: int = 1
                         ) -> pd.DataFrame:
    """A lower bound of the coverage per stage, where the exact total was not computed.

    Returns
    -------
    pandas.DataFrame
        ``stage, start, end, at_least, median, active_steps``: the mean (and
        the median) over the stage's (or period's) time steps with loop activity
        of ``analysed / bound`` (at most 1), where ``bound`` is
        :attr:`LoopDominance.bounds`; empty when there is no bound.
    """
    columns = ["stage", "start", "end", "at_least", "median", "active_steps"]
    found, bound = spans(dom, periods), dom.bounds.get(partition)
    if found.empty or bound is None:
        return pd.DataFrame(columns=columns)
    ids = [lp.id for lp in dom.loops.loops if lp.partition == partition]
    analysed = dom.scores[ids].abs().sum(axis=1).to_numpy()
    active = (bound > 0) & (analysed > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(active, np.minimum(analysed / np.where(active, bound, 1.0), 1.0), 0.0)
    rows = []
    for span in found.itertuples(index=False):
        inside = _inside(dom.scores.index, found, span) & active
        rows.append({"stage": int(span.stage), "start": float(span.start),
                     "end": float(span.end),
                     "at_least": float(share[inside].mean()) if inside.any() else np.nan,
                     "median": float(np.median(share[inside])) if inside.any() else np.nan,
                     "active_steps": int(inside.sum())})
    return pd.DataFrame(rows, columns=columns)


def families_table(dom: LoopDominance, table: pd.DataFrame | None = None, periods: int = 1
                   ) -> pd.DataFrame:
    """Each loop family's share per stage (:func:`sdkit.loops.families.family_table`).

    Empty (with the columns) when the card has no loop families.  ``table`` is
    :func:`stage_table` (default: computed with ``periods``).
    """
    table = stage_table(dom, periods) if table is None else table
    resolved = resolve_families(dom.loops, dom.family_specs) if dom.family_specs else {}
    polarity = {lp.id: lp.polarity for lp in dom.loops.loops}
    return family_table(table, dom.family_of, list(resolved), polarity,
                        passing(dom.loops, resolved))

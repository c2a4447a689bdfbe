"""Loop dominance per stage, coverage, and a verdict generated from the numbers.

The verdict compares the loops that dominate in each stage of a run with the
stages a model card says each named loop should dominate in (``dominant_in``).
Only the main partition (the largest strongly connected component) is read:
relative scores are shares within a partition, so a loop alone in its own
partition (such as a stock drained by its own outflow) is trivially 100% there
and says nothing about the sequence.

A loop's strength in a stage is the mean of its absolute relative score over
the stage's time steps.  A stage *matches* when, among the named loops
expected to dominate in exactly one stage, the strongest in that stage is one
expected there.  The verdict is "matches" when every stage matches, "partly
matches" when some do, and "does not match" otherwise; it names the strongest
loops and, for each expected loop that is weak, its weakest link in that stage.

Coverage (:func:`coverage_table`) says how much of the behaviour the analysed
loops describe: the mean over the stage's time steps of their share of the
exact total ``|loop score|`` of every loop of the main partition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sdkit.loops.graph import FOUND_ENUMERATED
from sdkit.loops.ltm import LoopDominance

if TYPE_CHECKING:
    from sdkit.card import ModelCard

__all__ = ["stage_table", "coverage_table", "verdict", "loops_markdown", "BLOCK",
           "NO_LOOPS"]

#: Name of the generated block in docs/model.md.
BLOCK = "loops"
#: The result for a model without feedback loops.
NO_LOOPS = "The model has no feedback loops: there is no loop dominance to report."
_TOP = 3


def _short(variables: tuple[str, ...], limit: int = 80) -> str:
    text = " -> ".join(variables)
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _main(dom: LoopDominance) -> list[str]:
    return [lp.id for lp in dom.loops.loops if lp.partition == 1]


def _spans(dom: LoopDominance) -> pd.DataFrame:
    spans = dom.stage_spans()
    if spans.empty and len(dom.scores.index):
        index = dom.scores.index
        spans = pd.DataFrame([{"stage": 1, "start": float(index[0]), "end": float(index[-1])}])
    return spans


def _inside(times: pd.Index, spans: pd.DataFrame, span: Any) -> np.ndarray:
    # ``span`` is a row of ``spans.itertuples()``: a namedtuple with fields
    # stage, start and end, which pandas (untyped here) does not describe.
    inside = (times > span.start) & (times <= span.end)
    if span.stage == spans["stage"].iloc[0]:
        inside |= times == span.start
    return np.asarray(inside)


def stage_table(dom: LoopDominance) -> pd.DataFrame:
    """Mean relative scores of the main partition's loops in every stage.

    Returns
    -------
    pandas.DataFrame
        ``stage, start, end, loop, mean_abs, mean, dominant_share``: the mean
        absolute and the mean signed relative score over the stage's time
        steps, and the share of those steps the loop is in the dominant set;
        sorted by stage and decreasing ``mean_abs``.  Without stages, one
        stage 1 spans the run.
    """
    columns = ["stage", "start", "end", "loop", "mean_abs", "mean", "dominant_share"]
    spans, ids = _spans(dom), _main(dom)
    if spans.empty or not ids:
        return pd.DataFrame(columns=columns)
    dominant = dom.dominant[dom.dominant["partition"] == 1]["loops"].to_numpy()
    times = dom.relative_all.index
    rows = []
    for span in spans.itertuples(index=False):
        inside = _inside(times, spans, span)
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


def coverage_table(dom: LoopDominance, partition: int = 1) -> pd.DataFrame:
    """Share of the total ``|loop score|`` of all loops of a partition, per stage.

    Returns
    -------
    pandas.DataFrame
        ``stage, start, end, analysed, enumerated, active_steps``: the mean over
        the stage's time steps with loop activity of the share carried by the
        analysed loops and by the enumerated ones alone (loops within the length
        bound); NaN when the exact total was not computed.
    """
    columns = ["stage", "start", "end", "analysed", "enumerated", "active_steps"]
    spans, total = _spans(dom), dom.totals.get(partition)
    if spans.empty or total is None:
        return pd.DataFrame(columns=columns)
    members = [lp for lp in dom.loops.loops if lp.partition == partition]
    enumerated = [lp.id for lp in members if lp.found == FOUND_ENUMERATED]
    short = dom.scores[enumerated].abs().sum(axis=1).to_numpy()
    analysed = dom.scores[[lp.id for lp in members]].abs().sum(axis=1).to_numpy()
    active = total.total > 0
    safe = np.where(active, total.total, 1.0)
    rows = []
    for span in spans.itertuples(index=False):
        inside = _inside(dom.scores.index, spans, span) & active
        rows.append({"stage": int(span.stage), "start": float(span.start),
                     "end": float(span.end),
                     "analysed": float(np.minimum(analysed / safe, 1.0)[inside].mean())
                     if inside.any() else np.nan,
                     "enumerated": float(np.minimum(short / safe, 1.0)[inside].mean())
                     if inside.any() else np.nan,
                     "active_steps": int(inside.sum())})
    return pd.DataFrame(rows, columns=columns)


def _weakest_link(dom: LoopDominance, loop_id: str, start: float, end: float,
                  links: dict) -> tuple[str, str, float]:
    times = np.asarray(dom.scores.index, dtype=float)
    inside = (times > start) & (times <= end)
    best = ("", "", np.inf)
    for pair in dom.loops[loop_id].links:
        value = float(np.abs(links[pair][inside]).mean()) if inside.any() else 0.0
        if value < best[2]:
            best = (pair[0], pair[1], value)
    return best


def _stage_sentence(dom: LoopDominance, stage: int, rows: pd.DataFrame,
                    staged: dict[str, int]) -> tuple[bool, str]:
    candidates = rows.loc[[i for i in staged if i in rows.index]]
    leader = str(candidates["mean_abs"].idxmax())
    expected = [i for i, s in staged.items() if s == stage]
    ok = leader in expected
    strongest = ", ".join(f"{i} ({dom.loops[i].polarity}, {100 * r.mean_abs:.1f}%)"
                          for i, r in rows.head(_TOP).iterrows())
    named_share = 100 * rows.loc[[i for i in rows.index if dom.loops[i].name], "mean_abs"].sum()
    start, end = rows["start"].iloc[0], rows["end"].iloc[0]
    text = (f"Stage {stage} ({start:.2f}-{end:.2f}): the strongest loops are {strongest}; the "
            f"named loops together hold {named_share:.1f}%. Among the stage-specific named "
            f"loops {leader} leads ({100 * candidates.loc[leader, 'mean_abs']:.2f}%)")
    if expected:
        text += ("; the concept expects " + ", ".join(expected)
                 + (" - as expected." if ok else " - not as expected."))
    else:
        text += "."
    for loop_id in expected:
        if loop_id != leader:
            a, b, value = _weakest_link(dom, loop_id, start, end, dom.links)
            text += (f" {loop_id} ({100 * rows.loc[loop_id, 'mean_abs']:.2f}%) is held back by "
                     f"its weakest link {a} -> {b} (mean |link score| {value:.3g}).")
    return ok, text


def verdict(dom: LoopDominance, card: ModelCard | None, table: pd.DataFrame | None = None
            ) -> str:
    """Paragraphs: does the run's loop dominance follow the card's expected stages?"""
    specs = {spec.id: spec for spec in card.loops} if card is not None else {}
    table = stage_table(dom) if table is None else table
    main = set(_main(dom))
    staged = {i: s.dominant_in[0] for i, s in specs.items()
              if len(s.dominant_in) == 1 and i in main}
    if not staged or table.empty:
        return "**Verdict:** the model card states no stage-specific loops to compare with."
    matched, sentences = [], []
    for stage, rows in table.groupby("stage", sort=True):
        ok, text = _stage_sentence(dom, int(stage), rows.set_index("loop"), staged)
        matched.append(ok)
        sentences.append(text)
    word = "matches" if all(matched) else "partly matches" if any(matched) else "does not match"
    head = (f"**Verdict:** the baseline's loop dominance {word} the paper's connection -> "
            f"collaboration -> ecology sequence ({sum(matched)} of {len(matched)} stages led "
            "by the named loop the concept expects).")
    return "\n\n".join([head, *sentences])


def _found_text(dom: LoopDominance, found: pd.Series) -> str:
    bound = dom.loops.max_length
    if bound == 0:
        parts = ["no enumerated loops (more loops within the length bound than the "
                 "enumeration limit)"]
    else:
        length = "any length" if bound is None else f"at most {bound} links"
        parts = [f"{found.get('enumerated', 0):,} enumerated loops of {length}"]
    parts.append(f"{found.get('strongest path', 0):,} further loops found by the strongest-path "
                 "search (Eberlein and Schoenberg 2020) at the time steps")
    if found.get("card", 0):
        parts.append(f"{found.get('card', 0)} named loops beyond the bound")
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _summary(dom: LoopDominance) -> str:
    frame = dom.loops.to_frame()
    counts = frame["polarity"].value_counts()
    total = dom.totals.get(1)
    main = int((frame["partition"] == 1).sum())
    everything = (f"The main partition has {total.loops:,} feedback loops in all (counted "
                  f"exactly); {main:,} of them are analysed" if total is not None
                  else f"The main partition has {main:,} analysed loops")
    return (
        f"{len(frame):,} feedback loops analysed in {len(dom.loops.partitions)} partitions "
        f"({counts.get('reinforcing', 0)} reinforcing, {counts.get('balancing', 0)} balancing, "
        f"{counts.get('undetermined', 0)} undetermined): "
        f"{_found_text(dom, frame['found'].value_counts())}. {everything}. Scores are "
        f"computed at every time step ({dom.time_step:g} year) whatever SAVEPER is; relative "
        "loop scores (Loops That Matter) are shares of the analysed loops of a partition, and "
        f"their absolute values are averaged over {dom.window:g} year for the dominant sets.")


def _coverage_lines(dom: LoopDominance) -> list[str]:
    table = coverage_table(dom)
    if table.empty:
        return ["Coverage of the total |loop score| was not computed (too many loops after "
                "reduction).", ""]
    bound = dom.loops.max_length
    short = "any length" if bound is None else f"at most {bound} links"
    lines = ["Coverage: share of the total |loop score| of all loops of the main partition "
             "carried by the analysed loops, and by the enumerated loops of "
             f"{short} alone (mean over the stage's time steps with loop activity):", "",
             "| stage | analysed loops | enumerated loops only |", "|---|---|---|"]
    for row in table.itertuples(index=False):
        lines.append(f"| {row.stage} | {100 * row.analysed:.1f}% | {100 * row.enumerated:.1f}% |")
    return [*lines, ""]


def loops_markdown(dom: LoopDominance, card: ModelCard | None) -> str:
    """The Markdown block for docs/model.md (and ``sdkit loops`` output)."""
    if not dom.loops.loops:
        return NO_LOOPS
    lines = [_summary(dom), "", *_coverage_lines(dom)]
    table = stage_table(dom)
    stages = sorted(table["stage"].unique())
    specs = {spec.id: spec for spec in card.loops} if card is not None else {}
    header = "| id | card | computed | links | partition | " + " | ".join(
        f"stage {s}" for s in stages) + " | expected |"
    lines += [header, "|" + "---|" * (6 + len(stages))]
    by = table.set_index(["stage", "loop"])
    for loop in (lp for lp in dom.loops.loops if lp.name):
        cells = [f"{100 * by.loc[(s, loop.id), 'mean_abs']:.2f}%" if (s, loop.id) in by.index
                 else "own partition" for s in stages]
        spec = specs.get(loop.id)
        expected = ", ".join(str(s) for s in spec.dominant_in) if spec else ""
        lines.append(f"| {loop.id} | {spec.polarity if spec else ''} | {loop.polarity} | "
                     f"{len(loop)} | {loop.partition} | " + " | ".join(cells)
                     + f" | {expected} |")
    lines += ["", "Strongest loops per stage (main partition, mean |relative score|):", "",
              "| stage | loop | polarity | links | found by | score | in dominant set | cycle |",
              "|---|---|---|---|---|---|---|---|"]
    for stage, rows in table.groupby("stage", sort=True):
        for row in rows.head(_TOP).itertuples(index=False):
            loop = dom.loops[row.loop]
            lines.append(f"| {stage} | {row.loop} | {loop.polarity} | {len(loop)} | "
                         f"{loop.found} | {100 * row.mean_abs:.1f}% | "
                         f"{100 * row.dominant_share:.0f}% | {_short(loop.variables)} |")
    lines += ["", verdict(dom, card, table)]
    return "\n".join(lines)

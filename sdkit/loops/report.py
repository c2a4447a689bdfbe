"""Loop dominance per stage, and a verdict generated from the numbers.

The verdict compares the loops that dominate in each stage of a run with the
stages a model card says each named loop should dominate in (``dominant_in``).
Only the main partition (the largest strongly connected component) is read:
relative scores are shares within a partition, so a loop alone in its own
partition (such as a stock drained by its own outflow) is trivially 100% there
and says nothing about the sequence.

A stage *matches* when, among the named loops expected to dominate in exactly
one stage, the strongest in that stage (mean absolute relative score) is one
expected there.  The verdict is "matches" when every stage matches, "partly
matches" when some do, and "does not match" otherwise; it names the strongest
loops and, for each expected loop that is weak, its weakest link in that stage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sdkit.loops.ltm import LoopDominance

if TYPE_CHECKING:
    from sdkit.card import ModelCard

__all__ = ["stage_table", "verdict", "loops_markdown", "BLOCK"]

#: Name of the generated block in docs/model.md.
BLOCK = "loops"
_TOP = 3


def _short(variables: tuple[str, ...], limit: int = 80) -> str:
    text = " -> ".join(variables)
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _main(dom: LoopDominance) -> list[str]:
    return [lp.id for lp in dom.loops.loops if lp.partition == 1]


def stage_table(dom: LoopDominance) -> pd.DataFrame:
    """Mean relative scores of the main partition's loops in every stage.

    Returns
    -------
    pandas.DataFrame
        ``stage, start, end, loop, mean_abs, mean, dominant_share`` (share of
        the stage's saved times the loop is in the dominant set); sorted by
        stage and decreasing ``mean_abs``.  Without stages, one stage 1 spans the run.
    """
    spans = dom.stage_spans()
    if spans.empty:
        index = dom.smoothed.index
        spans = pd.DataFrame([{"stage": 1, "start": float(index[0]), "end": float(index[-1])}])
    ids = _main(dom)
    dominant = dom.dominant[dom.dominant["partition"] == 1].set_index("time")["loops"]
    rows = []
    for span in spans.itertuples(index=False):
        times = dom.smoothed.index
        inside = (times > span.start) & (times <= span.end)
        if span.stage == spans["stage"].iloc[0]:
            inside |= times == span.start
        values = dom.smoothed.loc[inside, ids]
        groups = list(dominant.loc[values.index])
        counts = pd.Series([i for g in groups for i in g], dtype=object).value_counts()
        share = counts.reindex(ids, fill_value=0) / max(len(groups), 1)
        rows.append(pd.DataFrame({
            "stage": int(span.stage), "start": float(span.start), "end": float(span.end),
            "loop": ids, "mean_abs": values.abs().mean().reindex(ids).fillna(0.0).to_numpy(),
            "mean": values.mean().reindex(ids).fillna(0.0).to_numpy(),
            "dominant_share": share.to_numpy(dtype=float)}))
    table = pd.concat(rows, ignore_index=True)
    return table.sort_values(["stage", "mean_abs"], ascending=[True, False], kind="stable",
                             ignore_index=True)


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


def verdict(dom: LoopDominance, card: ModelCard | None, table: pd.DataFrame | None = None
            ) -> str:
    """Paragraphs: does the run's loop dominance follow the card's expected stages?"""
    specs = {spec.id: spec for spec in card.loops} if card is not None else {}
    table = stage_table(dom) if table is None else table
    main = set(_main(dom))
    staged = {i: s.dominant_in[0] for i, s in specs.items()
              if len(s.dominant_in) == 1 and i in main}
    if not staged:
        return "**Verdict:** the model card states no stage-specific loops to compare with."
    links = dom.links
    matched, sentences = [], []
    for stage, rows in table.groupby("stage", sort=True):
        rows = rows.set_index("loop")
        candidates = rows.loc[[i for i in staged if i in rows.index]]
        leader = str(candidates["mean_abs"].idxmax())
        expected = [i for i, s in staged.items() if s == stage]
        ok = leader in expected
        matched.append(ok)
        top = rows.head(_TOP)
        strongest = ", ".join(
            f"{i} ({dom.loops[i].polarity}, {100 * r.mean_abs:.1f}%)" for i, r in top.iterrows())
        named_share = 100 * rows.loc[[i for i in rows.index if dom.loops[i].name],
                                     "mean_abs"].sum()
        text = (f"Stage {stage} ({rows['start'].iloc[0]:.2f}-{rows['end'].iloc[0]:.2f}): "
                f"the strongest loops are {strongest}; the named loops together hold "
                f"{named_share:.1f}%. Among the stage-specific named loops "
                f"{leader} leads ({100 * candidates.loc[leader, 'mean_abs']:.2f}%)")
        if expected:
            text += ("; the concept expects " + ", ".join(expected)
                     + (" - as expected." if ok else " - not as expected."))
        else:
            text += "."
        for loop_id in expected:
            if loop_id == leader:
                continue
            a, b, value = _weakest_link(dom, loop_id, rows["start"].iloc[0],
                                        rows["end"].iloc[0], links)
            text += (f" {loop_id} ({100 * rows.loc[loop_id, 'mean_abs']:.2f}%) is held back by "
                     f"its weakest link {a} -> {b} (mean |link score| {value:.3g}).")
        sentences.append(text)
    if all(matched):
        word = "matches"
    elif any(matched):
        word = "partly matches"
    else:
        word = "does not match"
    head = (f"**Verdict:** the baseline's loop dominance {word} the paper's connection -> "
            f"collaboration -> ecology sequence ({sum(matched)} of {len(matched)} stages led "
            "by the named loop the concept expects).")
    return "\n\n".join([head, *sentences])


def loops_markdown(dom: LoopDominance, card: ModelCard | None) -> str:
    """The Markdown block for docs/model.md (and ``sdkit loops`` output)."""
    frame = dom.loops.to_frame()
    counts = frame["polarity"].value_counts()
    bound = dom.loops.max_length
    length = "any length" if bound is None else f"at most {bound} links"
    lines = [
        f"{len(frame)} feedback loops of {length}"
        f" ({counts.get('reinforcing', 0)} reinforcing, {counts.get('balancing', 0)} balancing, "
        f"{counts.get('undetermined', 0)} undetermined) in {len(dom.loops.partitions)} "
        f"partitions; the main partition has {int((frame['partition'] == 1).sum())} loops. "
        f"Relative loop scores (Loops That Matter) averaged over {dom.window:g} year.",
        "",
    ]
    table = stage_table(dom)
    stages = sorted(table["stage"].unique())
    specs = {spec.id: spec for spec in card.loops} if card is not None else {}
    header = "| id | card | computed | links | partition | " + " | ".join(
        f"stage {s}" for s in stages) + " | expected |"
    lines += [header, "|" + "---|" * (6 + len(stages))]
    by = table.set_index(["stage", "loop"])
    for loop in dom.loops.loops:
        if not loop.name:
            continue
        cells = []
        for s in stages:
            cells.append(f"{100 * by.loc[(s, loop.id), 'mean_abs']:.2f}%"
                         if (s, loop.id) in by.index else "own partition")
        spec = specs.get(loop.id)
        expected = ", ".join(str(s) for s in spec.dominant_in) if spec else ""
        lines.append(f"| {loop.id} | {spec.polarity if spec else ''} | {loop.polarity} | "
                     f"{len(loop)} | {loop.partition} | " + " | ".join(cells)
                     + f" | {expected} |")
    lines += ["", "Strongest loops per stage (main partition, mean |relative score|):", "",
              "| stage | loop | polarity | score | in dominant set | cycle |",
              "|---|---|---|---|---|---|"]
    for stage, rows in table.groupby("stage", sort=True):
        for row in rows.head(_TOP).itertuples(index=False):
            loop = dom.loops[row.loop]
            lines.append(f"| {stage} | {row.loop} | {loop.polarity} | "
                         f"{100 * row.mean_abs:.1f}% | {100 * row.dominant_share:.0f}% | "
                         f"{_short(loop.variables)} |")
    lines += ["", verdict(dom, card, table)]
    return "\n".join(lines)

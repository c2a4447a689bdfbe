"""Loop dominance per stage (or period), coverage, and a verdict generated from the numbers.

A run with stages (a model card's transitions) is reported per stage; a run
without is reported in equal periods (:data:`DEFAULT_PERIODS`, see
:mod:`sdkit.loops.tables`), and times are in the model's time unit.

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
There is no verdict without a card, without stage-specific named loops or
without stages.

Coverage (:func:`coverage_table`) says how much of the behaviour the analysed
loops describe: the mean over the stage's time steps of their share of the
exact total ``|loop score|`` of every loop of the main partition.  Where that
total was not computed, :func:`coverage_bound_table` gives a lower bound of the
coverage from an upper bound of the total (:mod:`sdkit.loops.coverage`); the
report quotes it only when it says something (at least 1% in some stage).

Loop families (:mod:`sdkit.loops.families`, when the card has them) come first:
each family's share of the analysed loop score per stage, and a sentence per
stage naming the leading family; the strongest single loops are then described
by their family.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sdkit.loops.families import OTHER, family_markdown
from sdkit.loops.hidden import LoopIR
from sdkit.loops.ltm import LoopDominance
from sdkit.loops.tables import (
    coverage_bound_table,
    coverage_table,
    families_table,
    main_ids,
    span_label,
    spans,
    stage_table,
    staged,
    time_unit,
)

if TYPE_CHECKING:
    from sdkit.model.card import ModelCard

__all__ = ["stage_table", "coverage_table", "coverage_bound_table", "families_table",
           "verdict", "loops_markdown", "BLOCK", "NO_LOOPS", "NO_ANALYSED", "DEFAULT_PERIODS"]

#: Name of the generated block in docs/model.md.
BLOCK = "loops"
#: The result for a model without feedback loops.
NO_LOOPS = "The model has no feedback loops: there is no loop dominance to report."
#: The result when the model has loops but none was analysed (no enumeration, no search).
NO_ANALYSED = ("The model has feedback loops, but none was analysed (no loop within the "
               "length bound and no search): there is no loop dominance to report.")
#: Equal periods a run without stages is reported in.
DEFAULT_PERIODS = 4
_TOP = 3
#: Smallest lower bound of the coverage (in some stage) that the report quotes.
INFORMATIVE = 0.01


def _short(variables: tuple[str, ...], limit: int = 80) -> str:
    text = " -> ".join(variables)
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


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
                    expect: dict[str, int]) -> tuple[bool, str]:
    candidates = rows.loc[[i for i in expect if i in rows.index]]
    leader = str(candidates["mean_abs"].idxmax())
    expected = [i for i, s in expect.items() if s == stage]
    ok = leader in expected
    strongest = ", ".join(f"{i} ({dom.loops[i].polarity}, {100 * r.mean_abs:.1f}%)"
                          for i, r in rows.head(_TOP).iterrows())
    named_share = 100 * rows.loc[[i for i in rows.index if dom.loops[i].name], "mean_abs"].sum()
    start, end = rows["start"].iloc[0], rows["end"].iloc[0]
    # With loop families the strongest loops are in the families' sentences and table.
    text = f"Stage {stage} ({start:.2f}-{end:.2f}): " + (
        "the" if dom.family_of else f"the strongest loops are {strongest}; the")
    text += (f" named loops together hold {named_share:.1f}%. Among the stage-specific named "
             f"loops {leader} leads ({100 * candidates.loc[leader, 'mean_abs']:.2f}%)")
    if expected:
        text += ("; the card expects " + ", ".join(expected)
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
    """Paragraphs: does the run's loop dominance follow the stages the card expects?

    Returns
    -------
    str
        Empty when there is nothing to compare: no card, no named loop expected
        to dominate in exactly one stage, or a run without stages.
    """
    specs = {spec.id: spec for spec in card.loops} if card is not None else {}
    table = stage_table(dom) if table is None else table
    main = set(main_ids(dom))
    expect = {i: s.dominant_in[0] for i, s in specs.items()
              if len(s.dominant_in) == 1 and i in main}
    if not expect or table.empty or not staged(dom):
        return ""
    matched, sentences = [], []
    for stage, rows in table.groupby("stage", sort=True):
        ok, text = _stage_sentence(dom, int(stage), rows.set_index("loop"), expect)
        matched.append(ok)
        sentences.append(text)
    word = "matches" if all(matched) else "partly matches" if any(matched) else "does not match"
    names = " -> ".join(stage.name_en for stage in card.stages) if card is not None else ""
    head = (f"**Verdict:** the run's loop dominance {word} the sequence the model card "
            f"expects{f' ({names})' if names else ''}: {sum(matched)} of {len(matched)} "
            f"stages {'is' if sum(matched) == 1 else 'are'} led by a named loop the card "
            "expects there.")
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


def _count(number: int, word: str) -> str:
    return f"{number:,} {word}" + ("" if number == 1 else "s")


def _summary(dom: LoopDominance, periods: int) -> str:
    frame = dom.loops.to_frame()
    counts = frame["polarity"].value_counts()
    total = dom.totals.get(1)
    main = int((frame["partition"] == 1).sum())
    unit = time_unit(dom)
    everything = (f"The main partition has {_count(total.loops, 'feedback loop')} in all "
                  f"(counted exactly); {main:,} of them analysed" if total is not None
                  else f"The main partition has {_count(main, 'analysed loop')}")
    text = (
        f"{_count(len(frame), 'feedback loop')} analysed in "
        f"{_count(len(dom.loops.partitions), 'partition')} "
        f"({counts.get('reinforcing', 0)} reinforcing, {counts.get('balancing', 0)} balancing, "
        f"{counts.get('undetermined', 0)} undetermined): "
        f"{_found_text(dom, frame['found'].value_counts())}. {everything}. Scores are "
        f"computed at every time step ({dom.time_step:g} {unit}) whatever SAVEPER is; relative "
        "loop scores (Loops That Matter) are shares of the analysed loops of a partition, and "
        f"their absolute values are averaged over {dom.window:g} {unit} for the dominant sets.")
    inside = _internal(dom)
    if inside:
        text += (f" Of these, {inside:,} {'runs' if inside == 1 else 'run'} only inside a "
                 "SMOOTH, DELAY, TREND or FORECAST (its stocks adjusting to their input), as "
                 "in the same model written with explicit stocks.")
    if not staged(dom):
        count = len(spans(dom, periods))
        text += " The run is reported " + ("as a whole." if count == 1
                                           else f"in {count} equal periods.")
    return text


def _internal(dom: LoopDominance) -> int:
    """The number of loops that run only inside one SMOOTH, DELAY, TREND or FORECAST."""
    ir, nodes = dom.loops.ir, dom.loops.graph.nodes
    if not isinstance(ir, LoopIR) or not ir.structures:
        return 0
    count = 0
    for loop in dom.loops.loops:
        owners = {ir.structure_of(nodes[v].get("py", "")) for v in loop.variables}
        count += len(owners) == 1 and None not in owners
    return count


def _small(value: float) -> str:
    return f"{100 * value:.1f}%" if value >= 1e-3 else f"{100 * value:.1g}%"


def _word(dom: LoopDominance) -> str:
    return "stage" if staged(dom) else "period"


def _bound_lines(dom: LoopDominance, periods: int) -> list[str]:
    """Coverage where the exact total was not computed: the bound, or why not."""
    table, word = coverage_bound_table(dom, periods=periods), _word(dom)
    if table.empty:
        return ["Coverage of the total |loop score| was not computed.", ""]
    if (table["at_least"] >= INFORMATIVE).any():
        lines = ["Coverage: the main partition has too many loops after reduction to sum "
                 "their |loop score| exactly; an upper bound of that total "
                 "(`sdkit.loops.coverage`) shows that the analysed loops carry at least "
                 f"(mean over the {word}'s time steps with loop activity):", "",
                 f"| {word} | at least |", "|---|---|"]
        lines += [f"| {span_label(dom, row)} | {_small(row.at_least)} |"
                  for row in table.itertuples(index=False)]
        return [*lines, ""]
    means = ", ".join(f"{_small(r.at_least)} in {word} {span_label(dom, r)}"
                      for r in table.itertuples(index=False))
    medians = ", ".join(_small(r.median) for r in table.itertuples(index=False))
    return [
        "Coverage of the total |loop score| is not computable: the main partition still has "
        "too many loops after reduction to sum them, and the sound upper bound of their "
        "total (closed walks, and the permanent of the reduced graph's link scores; "
        "`sdkit.loops.coverage`) is useless here: it shows only that the analysed loops "
        f"carry at least {means} (mean over the {word}'s time steps; medians {medians}). "
        "Every share below is a share of the analysed loops, not of all loops.", ""]


def _coverage_lines(dom: LoopDominance, periods: int) -> list[str]:
    table, word = coverage_table(dom, periods=periods), _word(dom)
    if table.empty:
        return _bound_lines(dom, periods)
    bound = dom.loops.max_length
    short = "any length" if bound is None else f"at most {bound} links"
    lines = ["Coverage: share of the total |loop score| of all loops of the main partition "
             "carried by the analysed loops, and by the enumerated loops of "
             f"{short} alone (mean over the {word}'s time steps with loop activity):", "",
             f"| {word} | analysed loops | enumerated loops only |", "|---|---|---|"]
    for row in table.itertuples(index=False):
        lines.append(f"| {span_label(dom, row)} | {100 * row.analysed:.1f}% | "
                     f"{100 * row.enumerated:.1f}% |")
    return [*lines, ""]


def _family_name(dom: LoopDominance, loop_id: str) -> str:
    names = {spec.id: spec.name_en for spec in dom.family_specs}
    return names.get(dom.family_of.get(loop_id, OTHER), "other (no family)")


def _heads(dom: LoopDominance, table: pd.DataFrame) -> dict[int, str]:
    """Column header of each stage (``"stage 1"``) or period (``"0-25"``) of ``table``."""
    first = table.drop_duplicates("stage")
    return {int(r.stage): (f"stage {r.stage}" if staged(dom) else span_label(dom, r))
            for r in first.itertuples(index=False)}


def _named_lines(dom: LoopDominance, table: pd.DataFrame, card: ModelCard | None
                 ) -> list[str]:
    """The card's named loops: mean |relative score| per stage (none: no table)."""
    if not any(lp.name for lp in dom.loops.loops) or table.empty:
        return []
    heads = _heads(dom, table)
    stages = sorted(heads)
    specs = {spec.id: spec for spec in card.loops} if card is not None else {}
    expected = " expected |" if staged(dom) else ""
    family = " family |" if dom.family_of else ""
    lines = ["| id | card | computed | links | partition | " + " | ".join(
        heads[s] for s in stages) + f" |{expected}{family}",
        "|" + "---|" * (5 + len(stages) + bool(expected) + bool(family))]
    by = table.set_index(["stage", "loop"])
    for loop in (lp for lp in dom.loops.loops if lp.name):
        cells = [f"{100 * by.loc[(s, loop.id), 'mean_abs']:.2f}%" if (s, loop.id) in by.index
                 else "own partition" for s in stages]
        spec = specs.get(loop.id)
        stated = ", ".join(str(s) for s in spec.dominant_in) if spec else ""
        lines.append(f"| {loop.id} | {spec.polarity if spec else ''} | {loop.polarity} | "
                     f"{len(loop)} | {loop.partition} | " + " | ".join(cells) + " |"
                     + (f" {stated} |" if expected else "")
                     + (f" {_family_name(dom, loop.id)} |" if family else ""))
    return lines


def _strongest_lines(dom: LoopDominance, table: pd.DataFrame) -> list[str]:
    """The strongest loops of each stage, described by their family when there are families."""
    last, word = "family" if dom.family_of else "cycle", _word(dom)
    lines = [f"Strongest single loops per {word} (main partition, mean |relative score|):", "",
             f"| {word} | loop | polarity | links | found by | score | in dominant set | "
             f"{last} |", "|---|---|---|---|---|---|---|---|"]
    for _, rows in table.groupby("stage", sort=True):
        for row in rows.head(_TOP).itertuples(index=False):
            loop = dom.loops[row.loop]
            what = _family_name(dom, loop.id) if dom.family_of else _short(loop.variables)
            lines.append(f"| {span_label(dom, row)} | {row.loop} | {loop.polarity} | "
                         f"{len(loop)} | {loop.found} | {100 * row.mean_abs:.1f}% | "
                         f"{100 * row.dominant_share:.0f}% | {what} |")
    return lines


def _family_lines(dom: LoopDominance, table: pd.DataFrame, card: ModelCard | None
                  ) -> list[str]:
    if not dom.family_specs:
        return []
    names = {stage.number: stage.name_en for stage in card.stages} if card else {}
    heads, sentences = _heads(dom, table), {}
    for row in table.drop_duplicates("stage").itertuples(index=False):
        name = names.get(int(row.stage), "")
        sentences[int(row.stage)] = (
            f"Stage {row.stage} ({name + ', ' if name else ''}{row.start:.2f}-{row.end:.2f})"
            if staged(dom) else span_label(dom, row, long=True))
    return family_markdown(families_table(dom, table), dom.family_specs, heads, sentences,
                           _word(dom))


def loops_markdown(dom: LoopDominance, card: ModelCard | None,
                   periods: int = DEFAULT_PERIODS) -> str:
    """The Markdown block for docs/model.md (and ``sdkit loops`` output).

    Parameters
    ----------
    dom : LoopDominance
    card : ModelCard or None
        Named loops, stage names and the stages each named loop is expected in.
    periods : int, default 4
        Without stages (no transitions in a card): the number of equal periods the
        run is reported in (1: the run as a whole).

    Returns
    -------
    str
        :data:`NO_LOOPS` for a model without feedback loops, :data:`NO_ANALYSED`
        when it has some but none was analysed.
    """
    if not dom.loops.loops:
        return NO_ANALYSED if dom.loops.partitions else NO_LOOPS
    lines = [_summary(dom, periods), "", *_coverage_lines(dom, periods)]
    table = stage_table(dom, periods)
    lines += _family_lines(dom, table, card)
    named = _named_lines(dom, table, card)
    lines += [*named, ""] if named else []
    lines += _strongest_lines(dom, table)
    said = verdict(dom, card, table)
    return "\n".join([*lines, "", said] if said else lines)

"""Loops That Matter: loop dominance over a run, per integration time step.

:func:`loop_dominance` puts the pieces together:

1. a run saved every TIME STEP (:func:`~sdkit.loops.scores.step_results`:
   the given run, or a re-run checked against it), so that nothing depends on
   SAVEPER;
2. the loops analysed: every loop of at most ``max_length`` links
   (:func:`~sdkit.loops.graph.find_loops`), the model card's named loops, and
   the loops the strongest-path search finds at the time steps
   (:mod:`sdkit.loops.discovery`), whatever their length;
3. link, loop and relative loop scores at every time step
   (:mod:`sdkit.loops.scores`; relative scores are shares of the analysed
   loops of a partition);
4. coverage: the share of the total absolute loop score of *every* loop of the
   partition that the analysed loops carry, computed exactly without listing
   the loops (:mod:`sdkit.loops.discovery`), or, when the reduced graph has
   too many loops, an upper bound of that total (:mod:`sdkit.loops.coverage`);
5. window averages and dominant sets: the mean of the *absolute* relative
   score over a centred window of ``window`` time units (so a loop whose score
   changes sign in the window keeps its weight; the sign of the window's mean
   signed score is reported separately), and the dominant set of a partition
   at each step: the fewest loops, strongest first, whose averaged shares add
   up to at least half of the partition's sum.  Where a whole window has no
   loop activity (every loop score 0) the nearest active step's set is used,
   and every loop of the partition when none is active, so the set is never
   empty;
6. loop families: each loop's family from the model card's ``[[loop_families]]``
   (:mod:`sdkit.loops.families`) and the families' summed shares over time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sdkit.errors import LoopLimitError
from sdkit.loops.coverage import coverage_frame, is_complete, partition_bounds, partition_totals
from sdkit.loops.discovery import (
    DEFAULT_LIMIT,
    DEFAULT_MAX_STEPS,
    LoopTotal,
    search_steps,
    strongest_path_loops,
)
from sdkit.loops.families import assign_families, family_frame, resolve_families
from sdkit.loops.graph import DEFAULT_MAX_LENGTH, DEFAULT_MAX_LOOPS, LoopSet, add_loops, find_loops
from sdkit.loops.scores import (
    link_scores,
    loop_scores,
    partition_links,
    relative_scores,
    saved_rows,
    step_results,
)

if TYPE_CHECKING:
    from sdkit.analysis.stages import StageReport
    from sdkit.model.card import FamilySpec, ModelCard

__all__ = ["LoopDominance", "link_scores", "loop_scores", "relative_scores",
           "dominant_sets", "window_average", "loop_dominance"]


@dataclass
class LoopDominance:
    """Loop scores of one run, per integration time step (see the module docstring).

    Attributes
    ----------
    loops : LoopSet
        The loops analysed (:attr:`~sdkit.loops.graph.Loop.found` says how).
    scores : pandas.DataFrame
        Loop scores: index time (every TIME STEP after the first; the score at
        t is the change over ``(t - dt, t]``), one column per loop id.
    relative_all : pandas.DataFrame
        Relative loop scores (signed shares of the partition's analysed loops),
        same shape.
    smoothed : pandas.DataFrame
        Mean of ``|relative_all|`` over ``window`` time units (centred), same shape.
    relative : pandas.DataFrame
        Tidy ``time, loop, score, sign`` at the saved times of the given run:
        ``smoothed`` (``score``, never negative) and ``sign`` of the loops that
        matter (named loops and every loop ever in a dominant set), for charts.
    dominant : pandas.DataFrame
        ``time, partition, loops``: the dominant set of each partition at each
        time step, a tuple of loop ids strongest first, never empty.
    stages : StageReport or None
        The run's stage transitions, when a model card gives the rules
        (detected on the run saved every time step, so independent of SAVEPER).
    window : float
        Averaging window in the model's time unit.
    links : dict of (str, str) to numpy.ndarray
        Link scores by (source, target), aligned with ``scores.index``.
    sign : pandas.DataFrame or None
        Sign (-1, 0, 1) of the window's mean signed relative score, like ``smoothed``.
    coverage : pandas.DataFrame or None
        Index like ``scores``, one column per partition number: the share of
        the total ``|loop score|`` of every loop of the partition that the
        analysed loops carry (exact; NaN where no loop is active or the
        total was not computed).
    totals : dict of int to LoopTotal or None
        The exact totals and loop counts by partition (None: more loops than
        the reduction limit).
    time_step : float
        The integration time step of the scores.
    bounds : dict of int to numpy.ndarray
        For the partitions whose exact total was not computed: an upper bound
        of the total ``|loop score|`` of every loop, aligned with
        ``scores.index`` (:func:`~sdkit.loops.coverage.loop_score_bound`).
    family_specs : tuple of FamilySpec
        The model card's loop families (empty without a card or families).
    family_of : dict of str to str
        Loop id -> family id (``"other"`` for no family); empty without families.
    families : pandas.DataFrame
        Tidy ``time, family, score`` at the saved times of the given run: the
        summed ``smoothed`` shares of each family's loops of the main
        partition, families in card order then ``"other"`` (empty, with these
        columns, without families); for charts.
    """

    loops: LoopSet
    scores: pd.DataFrame
    relative_all: pd.DataFrame
    smoothed: pd.DataFrame
    relative: pd.DataFrame
    dominant: pd.DataFrame
    stages: StageReport | None
    window: float
    links: dict[tuple[str, str], np.ndarray]
    sign: pd.DataFrame | None = None
    coverage: pd.DataFrame | None = None
    totals: dict[int, LoopTotal | None] = field(default_factory=dict)
    time_step: float = float("nan")
    bounds: dict[int, np.ndarray] = field(default_factory=dict)
    family_specs: tuple[FamilySpec, ...] = ()
    family_of: dict[str, str] = field(default_factory=dict)
    families: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["time", "family", "score"]))

    def stage_spans(self) -> pd.DataFrame:
        """``stage, start, end`` of every stage entered (empty without stages)."""
        if self.stages is None:
            return pd.DataFrame(columns=["stage", "start", "end"])
        rows, bounds = [], sorted(
            (t.time, t.to_stage) for t in self.stages.transitions if t.time is not None)
        start, stage = self.stages.start, 1
        for time, to_stage in bounds:
            if to_stage > stage:
                if time > start:
                    rows.append({"stage": stage, "start": start, "end": time})
                start, stage = time, to_stage
        rows.append({"stage": stage, "start": start, "end": self.stages.end})
        return pd.DataFrame(rows, columns=["stage", "start", "end"])


def _samples(index: pd.Index, window: float) -> int:
    if window <= 0 or len(index) < 2:
        return 1
    step = float(np.median(np.diff(np.asarray(index, dtype=float))))
    return max(1, int(round(window / step)))


def window_average(relative: pd.DataFrame, window: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Window averages of relative loop scores.

    Parameters
    ----------
    relative : pandas.DataFrame
        Relative loop scores, index time (evenly spaced).
    window : float
        Width of the centred window in time units (0: no averaging).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The mean of ``|relative|`` over the window (a loop whose score changes
        sign keeps its weight) and the sign (-1, 0, 1) of the mean signed score.
    """
    samples = _samples(relative.index, window)
    if samples <= 1:
        return relative.abs(), np.sign(relative)
    rolling = {"window": samples, "center": True, "min_periods": 1}
    return relative.abs().rolling(**rolling).mean(), np.sign(relative.rolling(**rolling).mean())


def dominant_sets(loops: LoopSet, smoothed: pd.DataFrame, threshold: float = 0.5
                  ) -> pd.DataFrame:
    """The dominant set of each partition at each time.

    Parameters
    ----------
    loops : LoopSet
    smoothed : pandas.DataFrame
        Non-negative shares (window means of ``|relative score|``), one column per loop.
    threshold : float, default 0.5
        Share of the partition's sum the dominant set must reach.

    Returns
    -------
    pandas.DataFrame
        ``time, partition, loops``: the fewest loops, strongest first, whose
        shares add up to ``threshold`` of the partition's sum.  Times without
        activity take the set of the nearest earlier (else later) active time,
        or every loop of the partition if none is active: never empty.
    """
    frames = []
    for part in sorted({loop.partition for loop in loops.loops}):
        ids = np.asarray([lp.id for lp in loops.loops if lp.partition == part])
        values = np.abs(smoothed[list(ids)].to_numpy(dtype=float))
        order = np.argsort(-values, axis=1, kind="stable")
        ranked = np.take_along_axis(values, order, axis=1)
        total = ranked.sum(axis=1)
        count = (np.cumsum(ranked, axis=1) < threshold * total[:, None]).sum(axis=1) + 1
        groups = pd.Series([tuple(str(i) for i in ids[row[:k]]) if t > 0 else None
                            for row, k, t in zip(order, count, total, strict=True)],
                           dtype=object)
        groups = groups.ffill().bfill()
        groups = groups.where(groups.notna(), pd.Series([tuple(ids)] * len(groups),
                                                        dtype=object))
        frames.append(pd.DataFrame({"time": np.asarray(smoothed.index, dtype=float),
                                    "partition": part, "loops": groups.to_numpy()}))
    if not frames:
        return pd.DataFrame(columns=["time", "partition", "loops"])
    return pd.concat(frames, ignore_index=True)


def _discover(loops: LoopSet, links: Mapping[tuple[str, str], np.ndarray],
              results: pd.DataFrame, time_step: float, max_steps: int | None) -> LoopSet:
    ir = loops.ir
    stocks = [ir.variables[py].name for py in ir.stocks] + list(ir.hidden)
    size = len(next(iter(links.values()))) if links else 0
    cycles = strongest_path_loops(links, stocks, search_steps(size, max_steps))
    return add_loops(loops, cycles, results, time_step=time_step)


def _find(model: Any, results: pd.DataFrame, card: ModelCard | None,
          max_length: int | None, max_loops: int, discover: bool) -> LoopSet:
    try:
        return find_loops(model, results, card=card, max_length=max_length,
                          max_loops=max_loops)
    except LoopLimitError:
        if not discover:
            raise
        return find_loops(model, results, card=card, max_length=0)


def _empty(loops: LoopSet, window: float, time_step: float,
           stages: StageReport | None) -> LoopDominance:
    frame = pd.DataFrame(index=pd.Index([], dtype=float, name="time"))
    tidy = pd.DataFrame(columns=["time", "loop", "score", "sign"])
    return LoopDominance(loops, frame, frame, frame, tidy, dominant_sets(loops, frame), stages,
                         window, {}, frame, frame, {}, time_step)


def loop_dominance(model: Any, results: pd.DataFrame, *, card: ModelCard | None = None,
                   window: float = 1.0, loops: LoopSet | None = None,
                   max_length: int | None = DEFAULT_MAX_LENGTH,
                   max_loops: int = DEFAULT_MAX_LOOPS,
                   params: Mapping[str, Any] | None = None, time_step: float | None = None,
                   discover: bool = True, max_steps: int | None = DEFAULT_MAX_STEPS,
                   coverage_limit: int = DEFAULT_LIMIT) -> LoopDominance:
    """Loops That Matter scores and dominant loops over a run, per time step.

    Parameters
    ----------
    model : Model or path-like
        The model (its equations are read through the IR).
    results : pandas.DataFrame
        A run of the model with every variable (``Model.run()``), saved at any
        SAVEPER: a run saved less often is re-run saved every time step.
    card : ModelCard, optional
        Named loops and stage rules; default the card beside the model file, if any.
    window : float, default 1.0
        Time (model time unit) over which absolute relative scores are averaged.
    loops : LoopSet, optional
        Reuse loops already found (else :func:`find_loops`).
    max_length : int or None, default 20
        Longest loop enumerated when ``loops`` is not given.
    max_loops : int, default 20000
        Most loops enumerated; beyond, with ``discover``, none are enumerated
        and the analysed loops are the card's and those the search finds.
    params : mapping, optional
        The parameters ``results`` was run with, for the re-run.
    time_step : float, optional
        The TIME STEP ``results`` was run with, when not the model's.
    discover : bool, default True
        Add the loops found by the strongest-path search (skipped when the
        loops already analysed are every loop of the model).
    max_steps : int or None, default 250
        Most time steps searched (evenly spaced; None: all).
    coverage_limit : int, default 300000
        Most loops of the reduced graph summed for the exact coverage; beyond,
        the total is bounded instead (0: neither).

    Returns
    -------
    LoopDominance

    Raises
    ------
    UnsupportedConstructError
        An equation on a loop uses a construct the evaluator does not know, or a
        loop passes through a stateful function loop scores cannot pass through
        (DELAY FIXED, SAMPLE IF TRUE; :mod:`sdkit.loops.hidden`).
    UnknownVariableError, InputFileError
        A loop family of the card names an unknown variable or one on no loop.
    LoopLimitError
        More than ``max_loops`` loops within ``max_length`` and ``discover`` is False.
    ParameterValueError
        A re-run saved every step does not reproduce ``results``.
    """
    from sdkit.analysis.stages import detect_stages
    from sdkit.loops.graph import card_for
    from sdkit.model.core import Model, load_model

    model = model if isinstance(model, Model) else load_model(model)
    card = card_for(model, card)
    fine, step = step_results(model, results, params=params, time_step=time_step)
    if loops is None:
        loops = _find(model, fine, card, max_length, max_loops, discover)
    specs = card.loop_families if card is not None else ()
    resolved = resolve_families(loops, specs, str(card.path)) if card is not None else {}
    stages = None
    if card is not None and card.transitions:
        stages = detect_stages(fine, card.transitions)
    if not loops.partitions:
        return _empty(loops, window, step, stages)
    pairs = set(partition_links(loops)) | {p for lp in loops.loops for p in lp.links}
    links = link_scores(loops, fine, step, pairs=pairs)
    totals = partition_totals(loops, links, coverage_limit)
    if discover and not is_complete(loops, totals):
        loops = _discover(loops, links, fine, step, max_steps)
    times = np.asarray(fine.index, dtype=float)[1:]
    scores = loop_scores(loops, links, times)
    relative = relative_scores(loops, scores)
    smoothed, sign = window_average(relative, window)
    dominant = dominant_sets(loops, smoothed)
    coverage = coverage_frame(loops, scores, totals)
    bounds = partition_bounds(loops, links, totals) if coverage_limit > 0 else {}
    rows = saved_rows(smoothed.index, results.index[1:], step)
    rows = np.arange(len(smoothed.index)) if rows is None else rows
    tidy = _tidy(loops, smoothed, sign, dominant, rows)
    family_of = assign_families(loops, resolved) if resolved else {}
    families = family_frame(family_of, list(resolved), smoothed, rows,
                            [lp.id for lp in loops.loops if lp.partition == 1])
    return LoopDominance(loops, scores, relative, smoothed, tidy, dominant, stages, window,
                         links, sign, coverage, totals, step, bounds=bounds,
                         family_specs=tuple(specs), family_of=family_of, families=families)


def _tidy(loops: LoopSet, smoothed: pd.DataFrame, sign: pd.DataFrame, dominant: pd.DataFrame,
          rows: np.ndarray) -> pd.DataFrame:
    """``time, loop, score, sign`` of the loops that matter at the saved times (``rows``)."""
    matter = [lp.id for lp in loops.loops if lp.name]
    ever = {i for group in dominant["loops"] for i in group}
    matter += [lp.id for lp in loops.loops if lp.id in ever and lp.id not in matter]
    score = smoothed.iloc[rows][matter].rename_axis("time").reset_index().melt(
        id_vars="time", var_name="loop", value_name="score")
    signs = sign.iloc[rows][matter].to_numpy().T.ravel()
    score["sign"] = signs.astype(int) if len(signs) else signs
    return score

"""Loops That Matter: link, loop and relative loop scores over a run, and dominance.

Formulas (Schoenberg, Davidsen and Eberlein 2020; flow-to-stock links as in
Schoenberg, Hayward and Eberlein 2023), with ``Δ`` the change between two
consecutive saved times ``t-1`` and ``t``, attributed to ``t``:

* auxiliary link ``x -> z`` (x in z's equation ``z = f(x, y...)``)::

      LS(x -> z) = |Δ_x z / Δz| * sign(Δ_x z / Δx),
      Δ_x z = f(x_t, y_{t-1}, ...) - f(x_{t-1}, y_{t-1}, ...)

  (z re-evaluated with only x moved; 0 where Δz or Δx is 0);
* flow-to-stock link, change-based: for a stock S with net rate
  ``r = Σ inflows - Σ outflows``::

      LS(i -> S) = + |Δi / Δr|       (inflow)
      LS(o -> S) = - |Δo / Δr|       (outflow)

  "the change in the flow relative to the change in the net flow".  A stock
  whose net rate is an expression rather than a sum of flow variables gets the
  same formula for every variable x in it, ``LS(x -> S) = |Δ_x r / Δr| *
  sign(Δ_x r / Δx)``, which reduces to the two lines above for flow terms;
* loop score: the product of the loop's link scores at each time;
* relative loop score: the loop score divided by the sum of the absolute loop
  scores of the loops in the same strongly connected partition, so the
  absolute relative scores of a partition sum to 1 (their sign is the loop's
  polarity at that time);
* the dominant set at a time: the fewest loops of a partition, strongest
  first, whose absolute relative scores, averaged over ``window`` years
  (centred rolling mean), add up to at least one half.

With bounded loop enumeration (:func:`~sdkit.loops.graph.find_loops`'s
``max_length``) the denominators only count the enumerated loops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sdkit.errors import UnsupportedConstructError
from sdkit.loops.evaluate import environment, evaluate
from sdkit.loops.graph import DEFAULT_MAX_LENGTH, LoopSet, find_loops

if TYPE_CHECKING:
    from sdkit.card import ModelCard
    from sdkit.stages import StageReport

__all__ = ["LoopDominance", "link_scores", "loop_scores", "relative_scores",
           "dominant_sets", "loop_dominance"]


@dataclass
class LoopDominance:
    """Loop scores of one run (see the module docstring for the formulas).

    Attributes
    ----------
    loops : LoopSet
        The loops analysed.
    scores : pandas.DataFrame
        Loop scores: index time (the second saved time onwards), one column per loop id.
    relative_all : pandas.DataFrame
        Relative loop scores, same shape, not averaged.
    smoothed : pandas.DataFrame
        ``relative_all`` averaged over ``window`` years (centred rolling mean).
    relative : pandas.DataFrame
        Tidy ``time, loop, score``: the smoothed relative scores of the loops
        that matter (named loops and every loop ever in a dominant set), for charts.
    dominant : pandas.DataFrame
        ``time, partition, loops``: the dominant set of each partition at each
        time, a tuple of loop ids strongest first.
    stages : StageReport or None
        The run's stage transitions, when a model card gives the rules.
    window : float
        Averaging window in years.
    links : dict of (str, str) to numpy.ndarray
        Link scores by (source, target), aligned with ``scores.index``.
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


def _shifted(env: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    prev, cur = {}, {}
    for key, value in env.items():
        if isinstance(value, np.ndarray) and value.ndim == 1 and value.size > 1:
            prev[key], cur[key] = value[:-1], value[1:]
        else:
            prev[key] = cur[key] = value
    return prev, cur


def _ratio(numerator: np.ndarray, denominator: np.ndarray, scale: np.ndarray) -> np.ndarray:
    small = np.abs(denominator) <= 1e-12 * np.maximum(scale, 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = numerator / np.where(small, 1.0, denominator)
    return np.where(small | ~np.isfinite(out), 0.0, out)


def link_scores(loops: LoopSet, results: pd.DataFrame, time_step: float | None = None
                ) -> dict[tuple[str, str], np.ndarray]:
    """Link scores of every link of ``loops``, one value per saved time after the first."""
    ir, graph = loops.ir, loops.graph
    prev, cur = _shifted(environment(ir, results, time_step))
    size = len(results.index) - 1
    out: dict[tuple[str, str], np.ndarray] = {}
    for pair in {p for loop in loops.loops for p in loop.links}:
        data = graph.edges[pair]
        source, target = data["source_py"], data["target_py"]
        if target in ir.hidden or source in ir.hidden:
            raise UnsupportedConstructError(
                f"Loop scores through the stateful function of {pair[1]!r} are not supported "
                "yet; write the delay or smooth as explicit stocks.", construct="hidden stock")
        expr = ir.equation_of(target)
        z_prev = np.broadcast_to(evaluate(expr, prev, ir), (size,))
        z_cur = np.broadcast_to(evaluate(expr, cur, ir), (size,))
        moved = dict(prev)
        moved[source] = cur[source]
        with np.errstate(all="ignore"):
            dz_x = np.broadcast_to(evaluate(expr, moved, ir), (size,)) - z_prev
        dz, dx = z_cur - z_prev, np.asarray(cur[source]) - np.asarray(prev[source])
        scale = np.abs(z_prev) + np.abs(z_cur)
        magnitude = np.abs(_ratio(dz_x, dz, scale))
        sign = np.sign(_ratio(dz_x, dx, np.abs(np.asarray(prev[source])) + 1.0))
        out[pair] = magnitude * sign
    return out


def loop_scores(loops: LoopSet, links: dict[tuple[str, str], np.ndarray],
                times: Any) -> pd.DataFrame:
    """Loop scores (products of link scores): index time, one column per loop id."""
    columns = {}
    for loop in loops.loops:
        score = np.ones(len(times))
        for pair in loop.links:
            score = score * links[pair]
        columns[loop.id] = score
    frame = pd.DataFrame(columns, index=pd.Index(times, name="time"))
    return frame


def relative_scores(loops: LoopSet, scores: pd.DataFrame) -> pd.DataFrame:
    """Loop scores over the sum of absolute loop scores of their partition (0 where 0)."""
    out = scores.copy()
    for part in {loop.partition for loop in loops.loops}:
        ids = [loop.id for loop in loops.loops if loop.partition == part]
        total = scores[ids].abs().sum(axis=1).to_numpy()
        safe = np.where(total > 0, total, 1.0)
        out[ids] = scores[ids].to_numpy() / safe[:, None] * (total > 0)[:, None]
    return out


def _smooth(frame: pd.DataFrame, window: float) -> pd.DataFrame:
    if window <= 0 or len(frame.index) < 2:
        return frame.copy()
    step = float(np.median(np.diff(np.asarray(frame.index, dtype=float))))
    samples = max(1, int(round(window / step)))
    if samples <= 1:
        return frame.copy()
    return frame.rolling(samples, center=True, min_periods=1).mean()


def dominant_sets(loops: LoopSet, smoothed: pd.DataFrame, threshold: float = 0.5
                  ) -> pd.DataFrame:
    """``time, partition, loops``: the fewest loops covering ``threshold`` of each partition."""
    rows = []
    parts = sorted({loop.partition for loop in loops.loops})
    members = {p: [lp.id for lp in loops.loops if lp.partition == p] for p in parts}
    for part in parts:
        values = smoothed[members[part]].abs()
        ids = np.asarray(members[part])
        for time, row in zip(values.index, values.to_numpy(), strict=True):
            order = np.argsort(-row, kind="stable")
            total = row.sum()
            chosen: list[str] = []
            covered = 0.0
            for i in order:
                if total <= 0 or covered >= threshold * total:
                    break
                chosen.append(str(ids[i]))
                covered += row[i]
            rows.append({"time": float(time), "partition": part, "loops": tuple(chosen)})
    return pd.DataFrame(rows, columns=["time", "partition", "loops"])


def loop_dominance(model: Any, results: pd.DataFrame, *, card: ModelCard | None = None,
                   window: float = 1.0, loops: LoopSet | None = None,
                   max_length: int | None = DEFAULT_MAX_LENGTH) -> LoopDominance:
    """Loops That Matter scores and dominant loops over a run.

    Parameters
    ----------
    model : Model or path-like
        The model (its equations are read through the IR).
    results : pandas.DataFrame
        A run of the model with every variable (``Model.run()``).
    card : ModelCard, optional
        Named loops and stage rules; default the card beside the model file, if any.
    window : float, default 1.0
        Years over which relative scores are averaged before dominance is read.
    loops : LoopSet, optional
        Reuse loops already found (else :func:`find_loops` on ``results``).
    max_length : int or None, default 20
        Longest loop enumerated when ``loops`` is not given.

    Returns
    -------
    LoopDominance

    Raises
    ------
    UnsupportedConstructError
        An equation on a loop uses a construct the evaluator does not know.
    """
    from sdkit.loops.graph import _card
    from sdkit.stages import detect_stages

    card = _card(model, card)
    if loops is None:
        loops = find_loops(model, results, card=card, max_length=max_length)
    times = np.asarray(results.index, dtype=float)[1:]
    links = link_scores(loops, results, getattr(model, "time_step", None))
    scores = loop_scores(loops, links, times)
    relative = relative_scores(loops, scores)
    smoothed = _smooth(relative, window)
    dominant = dominant_sets(loops, smoothed)
    matter = [lp.id for lp in loops.loops if lp.name]
    ever = {i for group in dominant["loops"] for i in group}
    matter += [lp.id for lp in loops.loops if lp.id in ever and lp.id not in matter]
    tidy = smoothed[matter].rename_axis("time").reset_index().melt(
        id_vars="time", var_name="loop", value_name="score")
    stages = None
    if card is not None and card.transitions:
        stages = detect_stages(results, card.transitions)
    return LoopDominance(loops, scores, relative, smoothed, tidy, dominant, stages, window,
                         links)

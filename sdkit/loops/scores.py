"""Link, loop and relative loop scores, one value per integration TIME STEP.

Loops That Matter (Schoenberg, Davidsen and Eberlein 2020; flow-to-stock links
as in Schoenberg, Hayward and Eberlein 2023) measures a link by the change of
its variables over **one time step**: ``Δ`` below is the change from ``t - dt``
to ``t`` and the score is attributed to ``t``.  A run saved less often than
every time step does not carry those changes, so :func:`step_results` re-runs
the model saved every TIME STEP (and checks that the re-run reproduces the
given run); every score here is then independent of SAVEPER.

* auxiliary link ``x -> z`` (x in z's equation ``z = f(x, y...)``)::

      LS(x -> z) = |Δ_x z / Δz| * sign(Δ_x z / Δx),
      Δ_x z = f(x_t, y_{t-dt}, ...) - f(x_{t-dt}, y_{t-dt}, ...)

  (z re-evaluated with only x moved; 0 where Δz or Δx is 0);
* flow-to-stock link, change-based: for a stock S with net rate
  ``r = Σ inflows - Σ outflows``, ``LS(i -> S) = +|Δi / Δr|`` for an inflow and
  ``LS(o -> S) = -|Δo / Δr|`` for an outflow, "the change in the flow relative
  to the change in the net flow".  A stock whose net rate is an expression gets
  ``LS(x -> S) = |Δ_x r / Δr| * sign(Δ_x r / Δx)`` for every variable x in it,
  which reduces to the two formulas above for flow terms;
* loop score: the product of the loop's link scores at each time step;
* relative loop score: the loop score over the sum of the absolute loop scores
  of the analysed loops of its strongly connected partition.

These are the formulas and the time labelling of pysimlin (Simlin's LTM): on
the same run saved every step both give the same scores to rounding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from sdkit.errors import ParameterValueError, UnsupportedConstructError
from sdkit.loops.evaluate import environment, evaluate
from sdkit.loops.graph import LoopSet
from sdkit.loops.hidden import LoopIR, refusal

__all__ = ["step_results", "link_scores", "loop_scores", "relative_scores",
           "partition_links"]

#: Relative tolerance of the check that a re-run saved every step reproduces a run.
RERUN_RTOL = 1e-7


def _time_step(model: Any, time_step: float | None) -> float:
    step = time_step if time_step is not None else getattr(model, "time_step", None)
    if step is None or not np.isfinite(step) or step <= 0:
        raise ParameterValueError(
            f"Loop scores need the run's TIME STEP; got {step!r}. Pass time_step=.")
    return float(step)


def step_results(model: Any, results: pd.DataFrame, *,
                 params: Mapping[str, Any] | None = None,
                 time_step: float | None = None) -> tuple[pd.DataFrame, float]:
    """A run saved every TIME STEP that agrees with ``results``.

    Parameters
    ----------
    model : Model
        The model that produced ``results``.
    results : pandas.DataFrame
        A run of the model (every variable), saved at any SAVEPER.
    params : mapping, optional
        The constant overrides ``results`` was run with (needed only when it is
        not saved every step and does not use the model's own constants).
    time_step : float, optional
        The run's TIME STEP when it is not the model's.

    Returns
    -------
    (pandas.DataFrame, float)
        ``results`` itself when it is saved every step, else a re-run saved every
        step up to the same final time; and the time step.

    Raises
    ------
    ParameterValueError
        The re-run does not reproduce ``results`` at its saved times (other
        parameters or time settings): pass ``params``/``time_step`` or a run
        saved every time step.
    """
    step = _time_step(model, time_step)
    index = np.asarray(results.index, dtype=float)
    if len(index) < 2 or np.allclose(np.diff(index), step, rtol=1e-9, atol=0.0):
        return results, step
    fine = model.run(params, time_step=step, saveper=step, final_time=float(index[-1]))
    _check_rerun(fine, results, step)
    return fine, step


def _check_rerun(fine: pd.DataFrame, results: pd.DataFrame, step: float) -> None:
    rows = saved_rows(fine.index, results.index, step)
    if rows is None:
        raise ParameterValueError(
            "The saved times of the results are not times of a run saved every TIME STEP "
            f"({step:g}); pass a run saved every time step (Model.run(..., saveper=time_step)).")
    common = [c for c in results.columns if c in fine.columns]
    given = results[common].to_numpy(dtype=float)
    rerun = fine[common].to_numpy(dtype=float)[rows]
    scale = np.nanmax(np.abs(given), axis=0, initial=0.0)
    bad = ~np.isclose(rerun, given, rtol=RERUN_RTOL, atol=1e-12 * np.maximum(scale, 1.0))
    if bad.any():
        column = common[int(np.argwhere(bad)[0][1])]
        raise ParameterValueError(
            f"Re-running the model saved every TIME STEP does not reproduce {column!r} of "
            "the given results: pass the run's params= and time_step=, or a run saved every "
            "time step (Model.run(..., saveper=time_step)).")


def saved_rows(steps: Any, saved: Any, step: float) -> np.ndarray | None:
    """Row numbers of the times ``saved`` in the step times ``steps`` (None if one is missing)."""
    steps, saved = np.asarray(steps, dtype=float), np.asarray(saved, dtype=float)
    if len(steps) == 0:
        return None if len(saved) else np.zeros(0, dtype=int)
    rows = np.clip(np.searchsorted(steps, saved - 1e-6 * step), 0, len(steps) - 1)
    if not np.allclose(steps[rows], saved, rtol=0.0, atol=1e-6 * step):
        return None
    return rows


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


def partition_links(loops: LoopSet) -> list[tuple[str, str]]:
    """Every link inside a partition (both ends in the same strongly connected component)."""
    where = {node: i for i, part in enumerate(loops.partitions) for node in part}
    return sorted((a, b) for a, b in loops.graph.edges
                  if a in where and where[a] == where.get(b))


def link_scores(loops: LoopSet, results: pd.DataFrame, time_step: float | None = None, *,
                pairs: Iterable[tuple[str, str]] | None = None
                ) -> dict[tuple[str, str], np.ndarray]:
    """Link scores, one value per row of ``results`` after the first.

    Parameters
    ----------
    loops : LoopSet
    results : pandas.DataFrame
        A run saved every TIME STEP (:func:`step_results`).
    time_step : float, optional
        The run's TIME STEP (for ``STEP`` in equations).
    pairs : iterable of (str, str), optional
        Links to score; default every link of ``loops.loops``.

    Returns
    -------
    dict of (str, str) to numpy.ndarray
        The score of each link at every row after the first (the change from
        the previous row), 0 where the link's variables do not change.

    Raises
    ------
    UnsupportedConstructError
        A link into or out of a stateful function that loop scores cannot pass
        through (:mod:`sdkit.loops.hidden`: DELAY FIXED, SAMPLE IF TRUE, a DELAY N
        whose delay time changes), or an equation the evaluator does not know.
    """
    ir, graph = loops.ir, loops.graph
    problems: dict[str, str] = {}
    prev, cur = _shifted(environment(ir, results, time_step, problems))
    size = max(len(results.index) - 1, 0)
    wanted = {p for loop in loops.loops for p in loop.links} if pairs is None else set(pairs)
    out: dict[tuple[str, str], np.ndarray] = {}
    for pair in sorted(wanted):
        data = graph.edges[pair]
        source, target = data["source_py"], data["target_py"]
        _refuse(ir, (source, target), problems)
        out[pair] = _link_score(ir.equation_of(target), source, prev, cur, ir, size)
    return out


def _refuse(ir: Any, names: tuple[str, str], problems: Mapping[str, str]) -> None:
    """Raise when a link touches a stateful function loop scores cannot pass through."""
    hidden = [n for n in names if n in ir.hidden]
    if hidden:  # an IR whose functions are not written out (not from find_loops)
        raise UnsupportedConstructError(
            f"Loop scores cannot pass through the stateful function {hidden[0]!r}: pass "
            "loops from find_loops.", construct="hidden stock")
    for name in names:
        structure = ir.structure_of(name) if isinstance(ir, LoopIR) else None
        reason = "" if structure is None else \
            structure.refused or problems.get(structure.py_name, "")
        if structure is not None and reason:
            owner = ir.variables.get(structure.owner)
            raise UnsupportedConstructError(
                refusal(structure, reason), construct=structure.construct,
                variable=owner.name if owner is not None else None)


def _link_score(expr: Any, source: str, prev: dict[str, Any], cur: dict[str, Any], ir: Any,
                size: int) -> np.ndarray:
    if size == 0:
        return np.zeros(0)
    z_prev = np.broadcast_to(evaluate(expr, prev, ir), (size,))
    z_cur = np.broadcast_to(evaluate(expr, cur, ir), (size,))
    moved = dict(prev)
    moved[source] = cur[source]
    with np.errstate(all="ignore"):
        dz_x = np.broadcast_to(evaluate(expr, moved, ir), (size,)) - z_prev
    dz, dx = z_cur - z_prev, np.asarray(cur[source]) - np.asarray(prev[source])
    magnitude = np.abs(_ratio(dz_x, dz, np.abs(z_prev) + np.abs(z_cur)))
    sign = np.sign(_ratio(dz_x, dx, np.abs(np.asarray(prev[source])) + 1.0))
    return magnitude * sign


def loop_scores(loops: LoopSet, links: Mapping[tuple[str, str], np.ndarray],
                times: Any) -> pd.DataFrame:
    """Loop scores (products of link scores): index time, one column per loop id."""
    matrix = np.ones((len(times), len(loops.loops)))
    for column, loop in enumerate(loops.loops):
        for pair in loop.links:
            matrix[:, column] *= links[pair]
    return pd.DataFrame(matrix, index=pd.Index(np.asarray(times, dtype=float), name="time"),
                        columns=[lp.id for lp in loops.loops])


def relative_scores(loops: LoopSet, scores: pd.DataFrame) -> pd.DataFrame:
    """Loop scores over the sum of absolute loop scores of their partition (0 where 0)."""
    values = scores[[lp.id for lp in loops.loops]].to_numpy(dtype=float)
    out = np.zeros_like(values)
    parts = np.array([lp.partition for lp in loops.loops])
    for part in np.unique(parts):
        columns = parts == part
        total = np.abs(values[:, columns]).sum(axis=1)
        safe = np.where(total > 0, total, 1.0)
        out[:, columns] = values[:, columns] / safe[:, None] * (total > 0)[:, None]
    return pd.DataFrame(out, index=scores.index, columns=[lp.id for lp in loops.loops])

"""Coverage: how much of the total ``|loop score|`` of every loop the analysed loops carry.

The exact total over every simple cycle of a partition comes from
:func:`~sdkit.loops.discovery.total_loop_score` (series reduction, then the few
loops left are enumerated).  When the reduced graph still has too many loops to
enumerate, :func:`loop_score_bound` gives a sound *upper* bound of the total, so
``analysed / bound`` is a lower bound of the coverage.  Two bounds are computed
on the reduced graph, whose link weights ``W`` (absolute link scores of one time
step, ``n`` variables) keep the loops' products, and the smaller is used:

* **closed walks**: a simple cycle of length ``k`` is ``k`` of the closed walks
  of length ``k`` (one per starting variable) and every closed walk has a
  non-negative weight, so ``sum over simple cycles <= sum_{k=1}^{n} trace(W^k) / k``;
* **permanent**: every simple cycle is a term of the permanent of ``I + W`` (the
  permutation that runs the cycle and fixes every other variable), as is the
  identity (1), so ``sum over simple cycles <= perm(I + W) - 1``; and for any
  positive vector ``x``, ``perm(A) <= prod_i (A x)_i / prod_i x_i`` (scale the
  columns by ``x``: a permanent is at most the product of the row sums), with
  ``x`` from Sinkhorn scaling of ``A`` (Gurvits' capacity; any ``x`` is sound,
  the scaling only makes it small).

Both are exact for a graph whose closed walks are all simple cycles and both
count the same repeated walks as loops, so they are far too large when strong
short loops can be walked again and again: on the empowerment model (53
variables after reduction, link scores well above 1) they exceed the analysed
loops' score by 10^15 or more at most time steps, and the report then says that
the coverage is not known rather than quoting the bound.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sdkit.loops.discovery import LoopTotal, reduce_graph, total_loop_score

if TYPE_CHECKING:
    from sdkit.loops.graph import LoopSet

__all__ = ["walk_bound", "permanent_bound", "loop_score_bound", "partition_totals",
           "partition_bounds", "coverage_frame", "is_complete", "MAX_BOUND_NODES"]

Pair = tuple[str, str]
#: Most variables of a reduced graph that the bound is computed for (else none).
MAX_BOUND_NODES = 200
#: Most variables for the closed-walk bound (n matrix products of n x n per step).
_MAX_WALK_NODES = 100
_CHUNK = 2_000_000  # matrix entries per block of time steps


def walk_bound(matrices: np.ndarray) -> np.ndarray:
    """``sum_{k=1}^{n} trace(W^k) / k`` for each matrix of a stack.

    Parameters
    ----------
    matrices : numpy.ndarray
        Shape ``(steps, n, n)``: non-negative link weights, ``W[t, a, b]`` the
        weight of ``a -> b`` at step t.

    Returns
    -------
    numpy.ndarray
        One value per step, at least the sum of the products of every simple
        cycle (``inf`` where it overflows).
    """
    matrices = np.asarray(matrices, dtype=float)
    n = matrices.shape[-1]
    with np.errstate(over="ignore", invalid="ignore"):
        power = matrices.copy()
        bound = np.trace(power, axis1=1, axis2=2).copy()
        for k in range(2, n + 1):
            power = power @ matrices
            bound += np.trace(power, axis1=1, axis2=2) / k
    return np.where(np.isnan(bound), np.inf, bound)


def permanent_bound(matrices: np.ndarray, iterations: int = 200) -> np.ndarray:
    """An upper bound of ``perm(I + W) - 1`` for each matrix of a stack.

    Parameters
    ----------
    matrices : numpy.ndarray
        Shape ``(steps, n, n)``, non-negative.
    iterations : int, default 200
        Sinkhorn iterations for the column scaling ``x`` (the bound holds for
        any positive ``x``; more iterations only tighten it).

    Returns
    -------
    numpy.ndarray
        ``prod_i (A x)_i / prod_i x_i - 1`` with ``A = I + W``: at least the sum
        of the products of every simple cycle (``inf`` where it overflows).
    """
    a = np.asarray(matrices, dtype=float) + np.eye(matrices.shape[-1])
    x = np.ones(a.shape[:2])
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(iterations):
            rows = np.einsum("tij,tj->ti", a, x)
            x = 1.0 / np.einsum("tij,ti->tj", a, 1.0 / rows)
            x = np.maximum(x / x.max(axis=1, keepdims=True), 1e-300)
        rows = np.einsum("tij,tj->ti", a, x)
        log_capacity = np.log(rows).sum(axis=1) - np.log(x).sum(axis=1)
        bound = np.expm1(log_capacity)
    return np.where(np.isfinite(bound), np.maximum(bound, 0.0), np.inf)


def loop_score_bound(scores: Mapping[Pair, np.ndarray], nodes: Iterable[str]
                     ) -> np.ndarray | None:
    """An upper bound of the sum of ``|loop score|`` over every simple cycle among ``nodes``.

    Parameters
    ----------
    scores : mapping of (str, str) to numpy.ndarray
        Link scores (any sign) of at least every link among ``nodes``.
    nodes : iterable of str
        The variables of one strongly connected partition.

    Returns
    -------
    numpy.ndarray or None
        Per time step: the loops closed by the series reduction (exact) plus the
        smaller of :func:`walk_bound` and :func:`permanent_bound` of the reduced
        graph; None when the reduced graph has more than :data:`MAX_BOUND_NODES`.
    """
    pairs = list(scores)
    size = len(np.atleast_1d(scores[pairs[0]])) if pairs else 0
    weights = {p: np.abs(np.asarray(scores[p], dtype=float)) for p in pairs}
    succ, total = reduce_graph(weights, nodes, size)
    names = sorted(succ)
    n = len(names)
    if n > MAX_BOUND_NODES:
        return None
    if n == 0:
        return total
    number = {name: i for i, name in enumerate(names)}
    chunk = max(1, _CHUNK // (n * n))
    for start in range(0, size, chunk):
        block = np.zeros((min(chunk, size - start), n, n))
        for a, targets in succ.items():
            for b, weight in targets.items():
                block[:, number[a], number[b]] = weight[start:start + chunk]
        bound = permanent_bound(block)
        if n <= _MAX_WALK_NODES:
            bound = np.fmin(bound, walk_bound(block))
        total[start:start + chunk] += bound
    return total


def partition_totals(loops: LoopSet, links: Mapping[Pair, np.ndarray], limit: int
                     ) -> dict[int, LoopTotal | None]:
    """The exact total ``|loop score|`` of every loop, by partition number (None: not computed)."""
    totals = {}
    for number, part in enumerate(loops.partitions, start=1):
        inside = {p: v for p, v in links.items() if p[0] in part and p[1] in part}
        totals[number] = total_loop_score(inside, part, limit=limit) if limit > 0 else None
    return totals


def partition_bounds(loops: LoopSet, links: Mapping[Pair, np.ndarray],
                     totals: Mapping[int, LoopTotal | None]) -> dict[int, np.ndarray]:
    """:func:`loop_score_bound` of each partition whose exact total was not computed."""
    bounds = {}
    for number, part in enumerate(loops.partitions, start=1):
        if totals.get(number) is None:
            inside = {p: v for p, v in links.items() if p[0] in part and p[1] in part}
            bound = loop_score_bound(inside, part)
            if bound is not None:
                bounds[number] = bound
    return bounds


def is_complete(loops: LoopSet, totals: Mapping[int, LoopTotal | None]) -> bool:
    """Whether every loop of every partition is already in ``loops``."""
    counts = pd.Series([lp.partition for lp in loops.loops], dtype=int).value_counts()
    return all(total is not None and total.loops == counts.get(number, 0)
               for number, total in totals.items())


def coverage_frame(loops: LoopSet, scores: pd.DataFrame,
                   totals: Mapping[int, LoopTotal | None]) -> pd.DataFrame:
    """Share of each partition's total ``|loop score|`` carried by the analysed loops."""
    columns = {}
    for number, total in totals.items():
        ids = [lp.id for lp in loops.loops if lp.partition == number]
        analysed = scores[ids].abs().sum(axis=1).to_numpy()
        denominator = total.total if total is not None else np.zeros(len(analysed))
        with np.errstate(divide="ignore", invalid="ignore"):
            columns[number] = np.where(denominator > 0,
                                       np.minimum(analysed / denominator, 1.0), np.nan)
    return pd.DataFrame(columns, index=scores.index)

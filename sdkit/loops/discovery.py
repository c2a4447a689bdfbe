"""Loops beyond enumeration: the strongest-path search, and the total over every loop.

Enumerating every feedback loop is infeasible for large models (the
empowerment model has more than 100 million), and a bound on loop length
silently leaves out long loops that can be strong.  This module finds the strong loops directly
(:func:`strongest_path_loops`) and measures how much of the behaviour any set
of loops describes (:func:`total_loop_score`, the exact sum over all loops).

Strongest-path search (Eberlein and Schoenberg 2020, "Finding the loops that matter")
------------------------------------------------------------------------------------

* at each time step, every link gets the absolute value of its link score
  (links scoring 0 are left out: a loop through them scores 0), and the links
  out of each variable are tried strongest first;
* from each stock (every loop contains one), a depth-first search follows
  links while multiplying their scores; it abandons a path at a variable
  already reached at a *higher* score from the same stock (``best_score``,
  strict less-than, reset for every stock) and records a loop whenever the
  path returns to the stock;
* the loops found are united over the time steps searched.

It is a heuristic: a loop can be missed when its path to a variable is weaker
than another path that reaches the same variable first (the paper's Figure 7),
which the searches from the other stocks and time steps mostly recover.  This
is the algorithm of the paper and of pysimlin's discovery mode; sdkit runs it
on the link scores of the time steps (at most ``max_steps`` of them, evenly
spaced over the run, so the result never depends on SAVEPER).

Total absolute loop score of every loop
---------------------------------------
Relative loop scores are shares of the loops analysed (those enumerated up to
a length bound, those found by the strongest-path search and the model card's
named loops).  How much of the model's behaviour those loops describe is the
share of the total absolute loop score, summed over every simple cycle of the
partition, that they carry.  The total is computed exactly, without
enumerating every loop, by series reduction of the causal graph with the
absolute link scores of each time step as weights:

* a variable with a single incoming link ``u -> v`` (or a single outgoing link
  ``v -> w``) is removed and every path through it replaced by one link whose
  weight is the product ``|LS(u -> v)| * |LS(v -> w)|`` (every loop through v
  passes through that one link, so the loops of the two graphs correspond one
  to one and keep their products);
* parallel links that arise are merged by adding their weights (a loop of the
  reduced graph through the merged link stands for the loops through each of
  them, and the product distributes over the sum);
* a link back to its own source (a loop ``u -> v -> u`` reduced) is a complete
  loop: its weight is added to the total and the link removed;
* variables without incoming or outgoing links are dropped (they are on no loop).

The few loops of what is left are enumerated (:func:`networkx.simple_cycles`)
and their products added.  A weight column of ones carried along counts the
loops (the number of simple cycles).  In a stock-and-flow model most variables
have one input or one use, so the reduction is drastic: the 180-variable main
partition of the empowerment model reduces to 53 variables (182 links).  The
result is exact up to floating-point rounding (a relative 1e-12); when the
reduced graph still has more than ``limit`` loops the total is not computed (the
empowerment model's still has more than 100 million), and
:mod:`sdkit.loops.coverage` bounds it instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import networkx as nx
import numpy as np

__all__ = ["strongest_path_loops", "search_steps", "total_loop_score", "reduce_graph",
           "LoopTotal", "DEFAULT_MAX_STEPS", "DEFAULT_LIMIT"]

#: Most time steps searched by default (evenly spaced over the run).
DEFAULT_MAX_STEPS = 250
#: Most loops of the reduced graph summed (beyond it the total is not computed).
DEFAULT_LIMIT = 300_000

Pair = tuple[str, str]


def canonical(cycle: Sequence[str]) -> tuple[str, ...]:
    """A cycle rotated to start at its alphabetically first variable."""
    start = min(range(len(cycle)), key=lambda i: cycle[i])
    return tuple(cycle[start:]) + tuple(cycle[:start])


def search_steps(n_steps: int, max_steps: int | None = DEFAULT_MAX_STEPS) -> np.ndarray:
    """Indices of the time steps searched: all, or ``max_steps`` evenly spaced ones."""
    if max_steps is None or n_steps <= max_steps:
        return np.arange(n_steps)
    return np.unique(np.linspace(0, n_steps - 1, max(max_steps, 1)).round().astype(int))


def _adjacency(sources: np.ndarray, targets: np.ndarray, weights: np.ndarray,
               size: int) -> list[list[tuple[int, float]]]:
    """Outgoing links with a positive weight by variable number, strongest first."""
    adj: list[list[tuple[int, float]]] = [[] for _ in range(size)]
    usable = np.flatnonzero((weights > 0) & np.isfinite(weights))
    for k in usable[np.argsort(-weights[usable], kind="stable")]:
        adj[sources[k]].append((int(targets[k]), float(weights[k])))
    return adj


def _search(adj: list[list[tuple[int, float]]], target: int,
            found: set[tuple[int, ...]]) -> None:
    """One strongest-path search from the stock ``target`` (iterative depth-first)."""
    best = [0.0] * len(adj)
    on_path = [False] * len(adj)
    best[target], on_path[target] = 1.0, True
    path = [target]
    stack = [(iter(adj[target]), 1.0)]
    while stack:
        links, score = stack[-1]
        for node, weight in links:
            reached = score * weight
            if on_path[node]:
                if node == target:
                    found.add(tuple(path))
                continue
            if reached < best[node]:
                continue
            best[node], on_path[node] = reached, True
            path.append(node)
            stack.append((iter(adj[node]), reached))
            break
        else:
            stack.pop()
            on_path[path.pop()] = False


def strongest_path_loops(scores: Mapping[Pair, np.ndarray], stocks: Iterable[str],
                         steps: Iterable[int] | None = None) -> list[tuple[str, ...]]:
    """Loops found by the strongest-path search at the given time steps.

    Parameters
    ----------
    scores : mapping of (str, str) to numpy.ndarray
        Link scores by (source, target), one value per time step; the links
        searched (typically every link inside a strongly connected partition).
    stocks : iterable of str
        The variables each search starts from (the stocks).
    steps : iterable of int, optional
        Indices of the time steps searched; default all.

    Returns
    -------
    list of tuple of str
        The loops found, each rotated to start at its alphabetically first
        variable, sorted by length and then by name.
    """
    pairs = sorted(scores)
    if not pairs:
        return []
    names = sorted({v for pair in pairs for v in pair})
    number = {name: i for i, name in enumerate(names)}
    sources = np.array([number[a] for a, _ in pairs])
    targets = np.array([number[b] for _, b in pairs])
    matrix = np.abs(np.vstack([np.asarray(scores[p], dtype=float) for p in pairs]))
    starts = sorted(number[s] for s in set(stocks) & {a for a, _ in pairs})
    found: set[tuple[int, ...]] = set()
    for column in range(matrix.shape[1]) if steps is None else steps:
        adj = _adjacency(sources, targets, matrix[:, column], len(names))
        for stock in starts:
            if adj[stock]:
                _search(adj, stock, found)
    cycles = {canonical([names[i] for i in path]) for path in found}
    return sorted(cycles, key=lambda cycle: (len(cycle), cycle))


# ------------------------------------------------------------------ total over every loop
class LoopTotal:
    """Total absolute loop score of one partition.

    Attributes
    ----------
    total : numpy.ndarray
        Sum of ``|loop score|`` over every loop of the partition, per time step.
    loops : int
        Number of loops (simple cycles) in the partition.
    reduced : int
        Number of loops of the reduced graph that were summed.
    """

    def __init__(self, total: np.ndarray, loops: int, reduced: int) -> None:
        self.total, self.loops, self.reduced = total, loops, reduced


def _graph(weights: Mapping[Pair, np.ndarray], nodes: Iterable[str]
           ) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, dict[str, np.ndarray]]]:
    keep = set(nodes)
    succ: dict[str, dict[str, np.ndarray]] = {n: {} for n in sorted(keep)}
    pred: dict[str, dict[str, np.ndarray]] = {n: {} for n in sorted(keep)}
    for (a, b), w in weights.items():
        if a in keep and b in keep:
            succ[a][b] = pred[b][a] = w
    return succ, pred


def _remove(node: str, succ: dict, pred: dict) -> None:
    for u in pred.pop(node):
        succ[u].pop(node, None)
    for w in succ.pop(node):
        pred[w].pop(node, None)


def _bypass(node: str, succ: dict, pred: dict, total: np.ndarray) -> set[str]:
    """Replace every path ``u -> node -> w`` by a link ``u -> w``; return the neighbours."""
    ins, outs = dict(pred[node]), dict(succ[node])
    _remove(node, succ, pred)
    for u, w_in in ins.items():
        for w, w_out in outs.items():
            weight = w_in * w_out
            if u == w:
                total += weight
            elif w in succ[u]:
                succ[u][w] = pred[w][u] = succ[u][w] + weight
            else:
                succ[u][w] = pred[w][u] = weight
    return set(ins) | set(outs)


def _reduce(succ: dict, pred: dict, total: np.ndarray) -> None:
    queue = sorted(succ)
    pending = set(queue)
    while queue:
        node = queue.pop()
        pending.discard(node)
        if node not in succ:
            continue
        if node in succ[node]:
            total += succ[node].pop(node)
            pred[node].pop(node)
        touched: set[str] = set()
        if not succ[node] or not pred[node]:
            touched = set(succ[node]) | set(pred[node])
            _remove(node, succ, pred)
        elif len(succ[node]) == 1 or len(pred[node]) == 1:
            touched = _bypass(node, succ, pred, total)
        for other in sorted(touched - pending, reverse=True):
            if other in succ:
                queue.append(other)
                pending.add(other)


def reduce_graph(weights: Mapping[Pair, np.ndarray], nodes: Iterable[str], size: int
                 ) -> tuple[dict[str, dict[str, np.ndarray]], np.ndarray]:
    """Series reduction of the graph among ``nodes`` (see the module docstring).

    Parameters
    ----------
    weights : mapping of (str, str) to numpy.ndarray
        Non-negative link weights, ``size`` values each.
    nodes : iterable of str
        The variables of one strongly connected partition.
    size : int
        Number of values per weight.

    Returns
    -------
    (dict, numpy.ndarray)
        The reduced graph (``succ[a][b]`` is the weight of the link ``a -> b``;
        its simple cycles correspond one to one to the loops not yet summed),
        and the summed weights of the loops closed during the reduction.
    """
    succ, pred = _graph(weights, nodes)
    total = np.zeros(size)
    _reduce(succ, pred, total)
    return succ, total


def _cycle_sum(succ: dict, total: np.ndarray, limit: int) -> int | None:
    """Add the products of the reduced graph's cycles to ``total``; their number or None.

    Consecutive cycles of Johnson's algorithm share a prefix: the products
    along the previous cycle are kept and only the new part is multiplied.
    """
    graph = nx.DiGraph([(a, b) for a, targets in succ.items() for b in targets])
    count = 0
    previous: list[str] = []
    products = [np.ones_like(total)]
    for cycle in nx.simple_cycles(graph):
        count += 1
        if count > limit:
            return None
        shared = 0
        for a, b in zip(cycle, previous, strict=False):
            if a != b:
                break
            shared += 1
        del products[max(shared, 1):]
        for i in range(len(products), len(cycle)):
            products.append(products[-1] * succ[cycle[i - 1]][cycle[i]])
        total += products[-1] * succ[cycle[-1]][cycle[0]]
        previous = cycle
    return count


def total_loop_score(scores: Mapping[Pair, np.ndarray], nodes: Iterable[str], *,
                     limit: int = DEFAULT_LIMIT) -> LoopTotal | None:
    """Sum of ``|loop score|`` over every simple cycle among ``nodes``, per time step.

    Parameters
    ----------
    scores : mapping of (str, str) to numpy.ndarray
        Link scores (any sign) of at least every link among ``nodes``.
    nodes : iterable of str
        The variables of one strongly connected partition.
    limit : int, default 300000
        Most loops of the reduced graph summed.

    Returns
    -------
    LoopTotal or None
        None when the reduced graph has more than ``limit`` loops.
    """
    pairs = list(scores)
    size = len(np.atleast_1d(scores[pairs[0]])) if pairs else 0
    weights = {p: np.append(np.abs(np.asarray(scores[p], dtype=float)), 1.0) for p in pairs}
    succ, total = reduce_graph(weights, nodes, size + 1)
    reduced = _cycle_sum(succ, total, limit)
    if reduced is None:
        return None
    return LoopTotal(total[:size], int(round(total[size])), reduced)

"""The causal graph of a model, its feedback loops, their polarity and names.

The graph is read from the IR (:mod:`sdkit.ir.core`), never from model text: an
edge ``x -> z`` for every variable x referenced in z's equation (for a stock,
in its net rate).  :func:`find_loops` first writes out the stocks of SMOOTH,
DELAY, TREND and FORECAST (:mod:`sdkit.loops.hidden`), so loops pass through them.
Constants, lookups, control variables and ``Time`` are left out: they cannot
be part of a loop.  Nodes are real variable names.

Loops are enumerated with :func:`networkx.simple_cycles` up to ``max_length``
links and at most ``max_loops`` loops (:class:`~sdkit.errors.LoopLimitError`
beyond).  A model card's named loops are matched to the enumerated cycles: a
named cycle equal to an enumerated one up to rotation gets its id (and is added
when longer than ``max_length``); a named cycle that is not a cycle of the
graph names the enumerated loop with the largest variable overlap (Jaccard).
Loops found otherwise (by the strongest-path search of
:mod:`sdkit.loops.discovery`) are added with :func:`add_loops`; every loop
records how it was found (:attr:`Loop.found`).
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx
import pandas as pd

from sdkit.errors import LoopLimitError
from sdkit.ir.core import ModelIR, build_ir
from sdkit.loops.hidden import expand
from sdkit.loops.polarity import link_polarity, loop_polarity

if TYPE_CHECKING:
    from sdkit.model.card import ModelCard
    from sdkit.model.core import Model

__all__ = ["Link", "Loop", "LoopSet", "causal_graph", "find_loops", "add_loops", "model_ir",
           "DEFAULT_MAX_LENGTH", "DEFAULT_MAX_LOOPS", "FOUND_ENUMERATED", "FOUND_CARD",
           "FOUND_SEARCH"]

DEFAULT_MAX_LENGTH = 20
DEFAULT_MAX_LOOPS = 20_000
_SKIP_KINDS = ("constant", "lookup", "control")
#: How a loop was found (:attr:`Loop.found`).
FOUND_ENUMERATED, FOUND_CARD, FOUND_SEARCH = "enumerated", "card", "strongest path"


@dataclass(frozen=True)
class Link:
    """A causal link ``source -> target`` (real names).

    ``kind`` is ``"auxiliary"`` (source in target's equation), ``"inflow"``,
    ``"outflow"`` (a flow term of the target stock's net rate) or ``"rate"``
    (another reference in a stock's net rate).  ``polarity`` is ``+ - ± 0``,
    ``method`` ``"symbolic"`` or ``"numerical"``.
    """

    source: str
    target: str
    kind: str
    polarity: str = "?"
    method: str = ""


@dataclass(frozen=True)
class Loop:
    """A feedback loop.

    Attributes
    ----------
    id : str
        The card's id (``"R1"``) for a named loop, else ``"L<n>"``.
    variables : tuple of str
        Real names in causal order, starting at the alphabetically first; the
        last links back to the first.
    polarity : str
        ``"reinforcing"``, ``"balancing"`` or ``"undetermined"``.
    partition : int
        1-based index of the strongly connected component holding the loop
        (1 is the largest).
    name : str
        The card's description of a named loop, else ``""``.
    match : float
        1.0 when the card's cycle is this loop; the variable overlap (Jaccard)
        when it is the best match; 0.0 for unnamed loops.
    found : str
        ``"enumerated"`` (within the length bound), ``"card"`` (a named loop
        longer than the bound) or ``"strongest path"`` (found by the search of
        :mod:`sdkit.loops.discovery`).
    """

    id: str
    variables: tuple[str, ...]
    polarity: str
    partition: int
    name: str = ""
    match: float = 0.0
    found: str = FOUND_ENUMERATED

    @property
    def links(self) -> list[tuple[str, str]]:
        """The loop's links as (source, target) pairs."""
        nodes = self.variables
        return list(zip(nodes, nodes[1:] + nodes[:1], strict=True))

    def __len__(self) -> int:
        return len(self.variables)


@dataclass
class LoopSet:
    """The result of :func:`find_loops`.

    Attributes
    ----------
    ir : ModelIR
    graph : networkx.DiGraph
        The causal graph (real names).
    links : dict of (str, str) to Link
    loops : tuple of Loop
        Named loops first (in card order), then the others by partition and length.
    partitions : list of frozenset of str
        Strongly connected components with at least one loop, largest first.
    max_length : int or None
        The enumeration bound (``None``: every loop).
    """

    ir: ModelIR
    graph: nx.DiGraph
    links: dict[tuple[str, str], Link]
    loops: tuple[Loop, ...]
    partitions: list[frozenset[str]] = field(default_factory=list)
    max_length: int | None = None

    def __getitem__(self, loop_id: str) -> Loop:
        index = self.__dict__.get("_index")
        if index is None or len(index) != len(self.loops):
            index = self.__dict__["_index"] = {loop.id: loop for loop in self.loops}
        return index[loop_id]

    def named(self) -> dict[str, Loop]:
        """Named loops by id."""
        return {loop.id: loop for loop in self.loops if loop.name}

    def to_frame(self) -> pd.DataFrame:
        """One row per loop: id, polarity, length, partition, name, match, found, variables."""
        rows = [{"id": lp.id, "polarity": lp.polarity, "length": len(lp),
                 "partition": lp.partition, "name": lp.name, "match": lp.match,
                 "found": lp.found, "variables": " -> ".join(lp.variables)}
                for lp in self.loops]
        return pd.DataFrame(rows, columns=["id", "polarity", "length", "partition", "name",
                                           "match", "found", "variables"])


def model_ir(model: Any) -> ModelIR:
    """The IR of a model (the :class:`~sdkit.model.core.Model`'s own, built once) or model file."""
    found = getattr(model, "ir", None)
    return found if isinstance(found, ModelIR) else build_ir(model)


def _label(ir: ModelIR, py_name: str) -> str:
    var = ir.variables.get(py_name)
    return var.name if var is not None else py_name


def causal_graph(ir: ModelIR) -> nx.DiGraph:
    """The causal graph: real names as nodes; edges carry ``kind`` and ``py`` names.

    The edges are :meth:`sdkit.ir.core.ModelIR.dependencies` (hidden stocks included)
    without constants, lookups, control variables and ``time``."""
    graph = nx.DiGraph()
    skip = {py for py, v in ir.variables.items() if v.kind in _SKIP_KINDS} | {"time"}
    for py_name, sources in ir.dependencies(hidden=True).items():
        var = ir.variables.get(py_name)
        if var is not None and var.kind in _SKIP_KINDS:
            continue
        target = var.name if var is not None else py_name
        graph.add_node(target, py=py_name)
        stock = ir.stocks.get(py_name)
        for source in sorted(sources - skip):
            if stock is None:
                kind = "auxiliary"
            else:
                kind = "inflow" if source in stock.inflows else \
                    "outflow" if source in stock.outflows else "rate"
            graph.add_edge(_label(ir, source), target, kind=kind, source_py=source,
                           target_py=py_name)
    return graph


def _canonical(cycle: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    start = min(range(len(cycle)), key=lambda i: cycle[i])
    return tuple(cycle[start:]) + tuple(cycle[:start])


def _enumerate(graph: nx.DiGraph, max_length: int | None, max_loops: int) -> list[tuple]:
    if max_length is not None and max_length < 1:
        return []
    cycles = nx.simple_cycles(graph, length_bound=max_length)
    found = [_canonical(c) for c in itertools.islice(cycles, max_loops + 1)]
    if len(found) > max_loops:
        bound = "any length" if max_length is None else f"at most {max_length} links"
        raise LoopLimitError(
            f"The model has more than {max_loops} feedback loops of {bound}; pass a smaller "
            "max_length (--max-length) or a larger max_loops (--max-loops).")
    return found


def _results(model: Any, results: pd.DataFrame | None) -> pd.DataFrame:
    if results is not None:
        return results
    from sdkit.model.core import Model, load_model

    loaded = model if isinstance(model, Model) else load_model(model)
    return loaded.run()


def find_loops(model: Model | str | os.PathLike[str], results: pd.DataFrame | None = None, *,
               card: ModelCard | None = None, max_length: int | None = DEFAULT_MAX_LENGTH,
               max_loops: int = DEFAULT_MAX_LOOPS) -> LoopSet:
    """Causal graph, feedback loops and their polarity.

    Parameters
    ----------
    model : Model or path-like
        A loaded model or a model file.
    results : pandas.DataFrame, optional
        A run of the model (every variable); the operating points at which link
        polarities are evaluated.  Default: the model's baseline run.
    card : ModelCard, optional
        Named loops to match; default the card beside the model file, if any.
    max_length : int or None, default 20
        Longest loop enumerated (links); ``None`` for no bound, 0 to enumerate
        none (only the card's named loops).
    max_loops : int, default 20000
        Most loops enumerated.

    Returns
    -------
    LoopSet

    Raises
    ------
    LoopLimitError
        More than ``max_loops`` loops within ``max_length``.
    """
    ir = expand(model_ir(model))
    graph = causal_graph(ir)
    card = card_for(model, card)
    cycles = _enumerate(graph, max_length, max_loops)
    named, extra = _named_cycles(graph, card, cycles)
    partitions = sorted((frozenset(c) for c in nx.strongly_connected_components(graph)
                         if len(c) > 1 or graph.has_edge(next(iter(c)), next(iter(c)))),
                        key=lambda c: (-len(c), min(c)))
    loops = LoopSet(ir, graph, {}, (), partitions, max_length)
    if cycles or extra:
        _polarities(loops, cycles + extra, _results(model, results),
                    getattr(model, "time_step", None))
    where = {node: i + 1 for i, part in enumerate(partitions) for node in part}
    order = {spec.id: i for i, spec in enumerate(card.loops)} if card is not None else {}
    loops_named, others = [], []
    for cycle in cycles + extra:
        polarity = loop_polarity(loops.links[p].polarity for p in _pairs(cycle))
        if cycle in named:
            loop_id, name, score = named[cycle]
            found = FOUND_CARD if cycle in extra else FOUND_ENUMERATED
            loops_named.append(Loop(loop_id, cycle, polarity, where[cycle[0]], name, score,
                                    found))
        else:
            others.append(Loop("", cycle, polarity, where[cycle[0]]))
    loops_named.sort(key=lambda lp: order.get(lp.id, len(order)))
    loops.loops = tuple(loops_named) + _numbered(others, 1)
    return loops


def _named_cycles(graph: nx.DiGraph, card: ModelCard | None, cycles: list[tuple[str, ...]]
                  ) -> tuple[dict[tuple[str, ...], tuple[str, str, float]], list[tuple]]:
    """The card's loops by cycle (id, name, match) and the named cycles not enumerated."""
    known = set(cycles)
    named: dict[tuple[str, ...], tuple[str, str, float]] = {}
    extra: list[tuple[str, ...]] = []
    for spec in card.loops if card is not None else ():
        cycle, score = _match(graph, spec.cycle, cycles)
        if cycle is None or cycle in named:
            continue
        named[cycle] = (spec.id, spec.name_en, score)
        if cycle not in known:
            extra.append(cycle)
            known.add(cycle)
    return named, extra


def _numbered(loops: list[Loop], first: int) -> tuple[Loop, ...]:
    """Unnamed loops sorted by partition, length and variables, numbered L<first>...."""
    loops = sorted(loops, key=lambda lp: (lp.partition, len(lp), lp.variables))
    return tuple(Loop(f"L{first + i}", lp.variables, lp.polarity, lp.partition,
                      found=lp.found) for i, lp in enumerate(loops))


def _polarities(loops: LoopSet, cycles: list[tuple[str, ...]], results: pd.DataFrame,
                time_step: float | None) -> None:
    """Add the polarity of every link of ``cycles`` not yet in ``loops.links``."""
    from sdkit.loops.evaluate import environment

    ir, graph = loops.ir, loops.graph
    pending = [p for cycle in cycles for p in _pairs(cycle) if p not in loops.links]
    if not pending:
        return
    env = environment(ir, results, time_step)
    cache: dict[int, Any] = {}
    for pair in dict.fromkeys(pending):
        data = graph.edges[pair]
        target = data["target_py"]
        expr = ir.hidden[target].args.get("input") if target in ir.hidden else \
            ir.equation_of(target)
        sign, method = link_polarity(expr, data["source_py"], env, ir, cache) \
            if expr is not None else ("?", "")
        loops.links[pair] = Link(pair[0], pair[1], data["kind"], sign, method)


def add_loops(loops: LoopSet, cycles: list[tuple[str, ...]], results: pd.DataFrame, *,
              time_step: float | None = None, found: str = FOUND_SEARCH) -> LoopSet:
    """A copy of ``loops`` with the cycles not yet in it added as unnamed loops.

    The new loops get the ids after the last ``L<n>`` (sorted by partition,
    length and variables), so the ids of the loops already there do not change;
    the polarity of their new links is evaluated on ``results``.

    Parameters
    ----------
    loops : LoopSet
    cycles : list of tuple of str
        Cycles of ``loops.graph`` (any rotation).
    results : pandas.DataFrame
        A run of the model, for the polarity of new links.
    time_step : float, optional
    found : str, default ``"strongest path"``
        Recorded as the new loops' :attr:`Loop.found`.

    Returns
    -------
    LoopSet
        A new set; ``loops`` is not changed.
    """
    known = {lp.variables for lp in loops.loops}
    new = [c for c in dict.fromkeys(_canonical(c) for c in cycles) if c not in known]
    out = LoopSet(loops.ir, loops.graph, dict(loops.links), loops.loops, loops.partitions,
                  loops.max_length)
    if not new:
        return out
    _polarities(out, new, results, time_step)
    where = {node: i + 1 for i, part in enumerate(loops.partitions) for node in part}
    numbers = [int(lp.id[1:]) for lp in loops.loops
               if lp.id.startswith("L") and lp.id[1:].isdigit()]
    added = [Loop("", c, loop_polarity(out.links[p].polarity for p in _pairs(c)),
                  where[c[0]], found=found) for c in new]
    out.loops = loops.loops + _numbered(added, max(numbers, default=0) + 1)
    return out


def _pairs(cycle: tuple[str, ...]) -> list[tuple[str, str]]:
    return list(zip(cycle, cycle[1:] + cycle[:1], strict=True))


def card_for(model: Any, card: ModelCard | None) -> ModelCard | None:
    if card is not None:
        return card
    from sdkit.model.card import card_path, load_card

    path = card_path(Path(getattr(model, "path", model)))
    return load_card(path) if path.is_file() else None


def _match(graph: nx.DiGraph, spec: tuple[str, ...], cycles: list[tuple[str, ...]]
           ) -> tuple[tuple[str, ...] | None, float]:
    """The enumerated (or the card's own) cycle a named loop refers to, and the match."""
    if spec and all(graph.has_edge(a, b) for a, b in _pairs(tuple(spec))) \
            and len(set(spec)) == len(spec):
        return _canonical(tuple(spec)), 1.0
    wanted = set(spec)
    best, score = None, 0.0
    for cycle in cycles:
        overlap = len(wanted & set(cycle)) / len(wanted | set(cycle))
        if overlap > score or (overlap == score and best is not None and len(cycle) < len(best)):
            best, score = cycle, overlap
    return best, round(score, 3)

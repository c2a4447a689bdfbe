"""What charts and briefings show of a loop dominance, cached between calls.

:func:`sdkit.loops.ltm.loop_dominance` of the empowerment model takes about 20 s
(the strongest-path search over 41,000 loops, the coverage bound) and its full
result holds four (time steps x loops) tables, about 160 MB each, too large to
store.  A :class:`LoopSummary` keeps what a chart of the run needs: the tidy
shares of the loops that matter, the families' summed shares, those loops'
descriptions and the coverage.  :func:`loop_summary` returns it from the cache when
it can: a record (:mod:`sdkit.model.records`, data only, verified on read) keyed by

* the model file's bytes, PySD's and sdkit's versions (with the guard's revision),
  the versions of numpy, pandas, networkx and sympy, and a digest of the source of
  the analysis (``sdkit/loops/``, :mod:`sdkit.ir.core`, :mod:`sdkit.analysis.stages`,
  :mod:`sdkit.model.card`, :mod:`sdkit.model.records`), so an edited analysis never reuses an
  old result;
* the run: a digest of ``results`` (columns, times and values), the parameters and
  the TIME STEP it was run with, and the window;
* the card's named loops, loop families and stage rules.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sdkit.errors import ModelFileNotFoundError
from sdkit.model import cache
from sdkit.model.records import cached_record, frame_from_data, frame_to_data

if TYPE_CHECKING:
    from sdkit.loops.ltm import LoopDominance
    from sdkit.model.card import ModelCard

__all__ = ["LoopSummary", "summarize", "loop_summary", "summary_key", "ENTRY_PREFIX"]

#: Prefix of loop-summary entries in the cache folder.
ENTRY_PREFIX = "loops-"
#: Raise when the content of a record changes meaning; part of every key.
REVISION = 1
_FORMAT = "sdkit-loops-summary-1"
_ANALYSIS = ("sdkit.ir.core", "sdkit.analysis.stages", "sdkit.model.card", "sdkit.model.records",
             "sdkit.loops.summary")
_PACKAGES = ("numpy", "pandas", "networkx", "sympy")
_FRAMES = ("relative", "families", "loops")


@dataclass(frozen=True)
class LoopSummary:
    """The chartable part of a :class:`~sdkit.loops.ltm.LoopDominance`.

    Attributes
    ----------
    relative : pandas.DataFrame
        ``LoopDominance.relative``: tidy ``time, loop, score, sign`` of the loops
        that matter at the saved times of the run.
    families : pandas.DataFrame
        ``LoopDominance.families``: tidy ``time, family, score`` (empty without families).
    family_names : dict of str to dict of str to str
        Family id -> ``{"en": ..., "zh": ...}``, in card order.
    loops : pandas.DataFrame
        ``LoopSet.to_frame()`` rows of the loops in ``relative``.
    coverage : pandas.DataFrame or None
        ``LoopDominance.coverage``.
    time_step, window : float
        The integration time step of the scores and the averaging window.
    loop_count : int
        Number of loops analysed.
    cached : bool
        Whether this summary was read from the cache (not part of the record).
    """

    relative: pd.DataFrame
    families: pd.DataFrame
    family_names: dict[str, dict[str, str]]
    loops: pd.DataFrame
    coverage: pd.DataFrame | None
    time_step: float
    window: float
    loop_count: int
    cached: bool = False


def summarize(dominance: LoopDominance) -> LoopSummary:
    """The :class:`LoopSummary` of a loop dominance."""
    table = dominance.loops.to_frame()
    shown = set(dominance.relative["loop"])
    return LoopSummary(
        relative=dominance.relative, families=dominance.families,
        family_names={f.id: {"en": f.name_en, "zh": f.name_zh}
                      for f in dominance.family_specs},
        loops=table[table["id"].isin(shown)].reset_index(drop=True),
        coverage=dominance.coverage, time_step=float(dominance.time_step),
        window=float(dominance.window), loop_count=len(dominance.loops.loops))


def _to_data(summary: LoopSummary) -> dict[str, Any]:
    data: dict[str, Any] = {name: frame_to_data(getattr(summary, name)) for name in _FRAMES}
    data["coverage"] = None if summary.coverage is None else frame_to_data(summary.coverage)
    data["family_names"] = summary.family_names
    data["numbers"] = [summary.time_step, summary.window, summary.loop_count]
    return data


def _from_data(data: dict[str, Any]) -> LoopSummary:
    if set(data) != {*_FRAMES, "coverage", "family_names", "numbers"}:
        raise ValueError("the summary's fields are not the expected ones")
    names = data["family_names"]
    if not isinstance(names, dict) or not all(
            isinstance(k, str) and isinstance(v, dict)
            and all(isinstance(a, str) and isinstance(b, str) for a, b in v.items())
            for k, v in names.items()):
        raise ValueError("family names are not text by family and language")
    numbers = data["numbers"]
    if not isinstance(numbers, list) or len(numbers) != 3 \
            or not all(isinstance(n, int | float) and not isinstance(n, bool) for n in numbers) \
            or not isinstance(numbers[2], int):
        raise ValueError("time step, window and loop count are not numbers")
    frames = {name: frame_from_data(data[name]) for name in _FRAMES}
    coverage = None if data["coverage"] is None else frame_from_data(data["coverage"])
    return LoopSummary(**frames, family_names=names, coverage=coverage,
                       time_step=float(numbers[0]), window=float(numbers[1]),
                       loop_count=numbers[2])


@functools.cache
def _analysis_digest() -> str:
    """Digest of the analysis' source and of the numeric packages' versions."""
    import importlib

    digest = hashlib.sha256()
    folder = Path(__file__).resolve().parent
    paths = sorted(folder.glob("*.py")) + [
        Path(str(importlib.import_module(name).__file__)) for name in _ANALYSIS[:4]]
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    for package in _PACKAGES:
        try:
            digest.update(f"\0{package}={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"\0{package}=-".encode())
    return digest.hexdigest()[:16]


def _value(value: Any) -> Any:
    """A parameter value as canonical JSON data (``repr`` for anything unusual)."""
    if isinstance(value, bool | int | float | str) or value is None:
        return [type(value).__name__, value if not isinstance(value, float) else value.hex()]
    if isinstance(value, np.generic):
        return _value(value.item())
    if isinstance(value, pd.Series):
        return ["series", [_value(v) for v in value.index], [_value(v) for v in value]]
    return ["repr", repr(value)]


def _results_digest(results: pd.DataFrame) -> str:
    digest = hashlib.sha256(json.dumps([str(c) for c in results.columns]).encode())
    digest.update(np.ascontiguousarray(np.asarray(results.index, dtype=float)).tobytes())
    try:
        digest.update(np.ascontiguousarray(results.to_numpy(dtype=float)).tobytes())
    except (TypeError, ValueError):
        digest.update(pd.util.hash_pandas_object(results).to_numpy().tobytes())
    return digest.hexdigest()


def summary_key(data: bytes, suffix: str, results: pd.DataFrame, *,
                card: ModelCard | None, params: Mapping[str, Any] | None,
                time_step: float | None, window: float) -> str:
    """The cache key of a loop summary (see the module docstring)."""
    import pysd

    from sdkit import __version__
    from sdkit.model import guard

    card_part = None if card is None else repr((card.loops, card.loop_families,
                                                card.transitions))
    inputs = json.dumps({
        "suffix": suffix.lower(), "results": _results_digest(results),
        "params": None if params is None else sorted(
            [str(k), _value(v)] for k, v in params.items()),
        "time_step": _value(time_step), "window": _value(window), "card": card_part,
    }, sort_keys=True, ensure_ascii=True)
    return cache.cache_key(data, pysd.__version__, f"{__version__}+guard{guard.REVISION}",
                           f"loops{REVISION}+{_analysis_digest()}", inputs)


def loop_summary(model: Any, results: pd.DataFrame, *, card: ModelCard | None = None,
                 params: Mapping[str, Any] | None = None, time_step: float | None = None,
                 window: float = 1.0, cache_results: bool = True,
                 cache_dir: str | os.PathLike[str] | None = None) -> LoopSummary:
    """The loop dominance of a run, summarized, from the cache when it is there.

    Parameters
    ----------
    model : Model or path-like
    results, card, params, time_step, window
        As :func:`sdkit.loops.ltm.loop_dominance` (the other options at their defaults).
    cache_results : bool, default True
        False: compute afresh and store nothing.
    cache_dir : path-like, optional
        Cache root (default :func:`sdkit.model.cache.cache_root`).

    Returns
    -------
    LoopSummary
        ``cached`` says whether it was read from the cache.

    Raises
    ------
    UnsafeCacheError
        The cache folder or entry belongs to another user or is open to others.
    Whatever :func:`~sdkit.loops.ltm.loop_dominance` raises.

    Warns
    -----
    CacheEntryRebuiltWarning
        A stored summary failed verification; it was discarded and computed again.
    """
    from sdkit.loops.graph import card_for
    from sdkit.loops.ltm import loop_dominance
    from sdkit.model.core import Model, load_model

    model = model if isinstance(model, Model) else load_model(model)
    card = card_for(model, card)

    def build() -> tuple[LoopSummary, dict[str, Any]]:
        summary = summarize(loop_dominance(model, results, card=card, window=window,
                                           params=params, time_step=time_step))
        return summary, _to_data(summary)

    if not cache_results:
        return build()[0]
    path = Path(model.path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ModelFileNotFoundError(f"Model file not found: {path} ({err.strerror})") from err
    key = summary_key(data, path.suffix, results, card=card, params=params,
                      time_step=time_step, window=window)
    summary, hit = cached_record(cache.cache_root(cache_dir), ENTRY_PREFIX + key, _FORMAT,
                                 build, _from_data, what="loop summary", stacklevel=2)
    return replace(summary, cached=hit)

"""Samples for sensitivity studies: plain functions over plain data.

Every method first draws points in the unit hypercube ``[0, 1]^k`` (with SALib
for Latin hypercube, Morris and Sobol, with NumPy for plain Monte Carlo), and
each column is then mapped to its parameter's distribution by the inverse
cumulative distribution function (what SALib does internally for its ``dists``;
doing it here treats every method and every distribution the same way, including
discrete levels, which SALib does not know). The unit points are kept: Morris
elementary effects are computed on them, so an effect is the change of the
output when a parameter moves across its whole range.

Every function takes an explicit ``seed``; the same seed gives the same sample.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

from sdkit.util.limits import check_sample_size

__all__ = ["DISTRIBUTIONS", "METHODS", "Distribution", "Sample", "ppf", "logpdf", "unit_problem",
           "make_sample", "run_count"]

#: Distribution kinds and the keys each needs.
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "uniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
    "normal": ("mean", "std", "low", "high"),
    "levels": ("levels",),
}
#: Sampling methods.
METHODS = ("oat", "montecarlo", "lhs", "morris", "sobol")


@dataclass(frozen=True)
class Distribution:
    """A parameter's distribution.

    ``uniform`` on ``[low, high]``; ``triangular`` on ``[low, high]`` peaking at
    ``mode``; ``normal`` with ``mean`` and ``std`` truncated to ``[low, high]``;
    ``levels``: each of the discrete ``levels`` equally likely (``low``/``high``
    are their minimum and maximum).
    """

    kind: str
    low: float
    high: float
    mode: float | None = None
    mean: float | None = None
    std: float | None = None
    levels: tuple[float, ...] = ()


@dataclass(frozen=True)
class Sample:
    """A sample of parameter values.

    Attributes
    ----------
    method : str
        One of :data:`METHODS`.
    values : pandas.DataFrame
        One row per run (index ``0..n-1``, name ``"run"``), one column per parameter.
    unit : numpy.ndarray
        The same points in the unit hypercube, shape ``(n, k)`` (NaN for the
        base-value entries of a one-at-a-time sample).
    """

    method: str
    values: pd.DataFrame
    unit: np.ndarray


def ppf(dist: Distribution, u: np.ndarray) -> np.ndarray:
    """Map unit values ``u`` (in ``[0, 1]``) to ``dist`` by its inverse CDF."""
    u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
    if dist.kind == "uniform":
        return dist.low + u * (dist.high - dist.low)
    if dist.kind == "levels":
        levels = np.asarray(dist.levels, dtype=float)
        index = np.minimum(np.floor(u * len(levels)).astype(int), len(levels) - 1)
        return levels[index]
    from scipy import stats

    if dist.kind == "triangular":
        # The spec reader requires a mode for a triangular distribution.
        mode = cast(float, dist.mode)
        width = dist.high - dist.low
        return stats.triang.ppf(u, (mode - dist.low) / width, loc=dist.low, scale=width)
    if dist.kind == "normal":
        # The spec reader requires a mean and a std for a normal distribution.
        mean, std = cast(float, dist.mean), cast(float, dist.std)
        a = (dist.low - mean) / std
        b = (dist.high - mean) / std
        return stats.truncnorm.ppf(u, a, b, loc=mean, scale=std)
    raise ValueError(f"Unknown distribution {dist.kind!r}; valid: {list(DISTRIBUTIONS)}.")


def logpdf(dist: Distribution, x: np.ndarray) -> np.ndarray:
    """Log density of ``dist`` at ``x`` (``-inf`` outside ``[low, high]``).

    For ``levels`` every level has log probability ``-log(len(levels))`` and any
    other value ``-inf``.
    """
    x = np.asarray(x, dtype=float)
    inside = (x >= dist.low) & (x <= dist.high)
    if dist.kind == "uniform":
        density = np.full(x.shape, -math.log(dist.high - dist.low))
    elif dist.kind == "levels":
        density = np.where(np.isin(x, dist.levels), -math.log(len(dist.levels)), -np.inf)
    else:
        from scipy import stats

        width = dist.high - dist.low
        if dist.kind == "triangular":
            mode = cast(float, dist.mode)
            density = stats.triang.logpdf(x, (mode - dist.low) / width, loc=dist.low,
                                          scale=width)
        elif dist.kind == "normal":
            mean, std = cast(float, dist.mean), cast(float, dist.std)
            density = stats.truncnorm.logpdf(x, (dist.low - mean) / std,
                                             (dist.high - mean) / std, loc=mean, scale=std)
        else:
            raise ValueError(f"Unknown distribution {dist.kind!r}; valid: {list(DISTRIBUTIONS)}.")
    return np.where(inside, density, -np.inf)


def unit_problem(names: Sequence[str]) -> dict:
    """The SALib problem of ``names`` on the unit hypercube."""
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


def run_count(method: str, distributions: Mapping[str, Distribution], samples: int) -> int:
    """Number of runs :func:`make_sample` draws for these arguments."""
    k = len(distributions)
    if method == "oat":
        return 1 + sum(len(d.levels) if d.kind == "levels" else samples
                       for d in distributions.values())
    return {"montecarlo": samples, "lhs": samples, "morris": samples * (k + 1),
            "sobol": samples * (k + 2)}[method]


def make_sample(method: str, distributions: Mapping[str, Distribution], *, samples: int,
                seed: int | None = None, levels: int = 4,
                base: Mapping[str, float] | None = None) -> Sample:
    """Draw a sample.

    Parameters
    ----------
    method : str
        ``"oat"``: the base point, then each parameter alone at ``samples``
        evenly spaced quantiles from 0 to 1 (its low and high ends included; each
        level once for discrete levels), the others at ``base``;
        ``"montecarlo"``: ``samples`` independent draws; ``"lhs"``: a Latin
        hypercube of ``samples`` rows; ``"morris"``: ``samples`` trajectories on a
        ``levels``-level grid; ``"sobol"``: Saltelli's scheme with base size
        ``samples`` (a power of two), ``samples * (k + 2)`` rows, first order and
        total indices only.
    distributions : mapping of str to Distribution
        Parameter name to distribution, in column order.
    samples : int
        Sample size (see ``method``).
    seed : int, optional
        Random seed (unused by ``"oat"``).
    levels : int
        Grid levels of the Morris method.
    base : mapping of str to float, optional
        Base values for ``"oat"`` (required there).

    Returns
    -------
    Sample

    Raises
    ------
    ResourceLimitError
        More runs (or runs x parameters values) than the limits of
        :mod:`sdkit.util.limits`, checked before anything is drawn.
    """
    names = list(distributions)
    k = len(names)
    if method in METHODS:
        check_sample_size(run_count(method, distributions, samples), k,
                          what=f"the {method} sample")
    if method == "oat":
        return _oat(distributions, samples, base or {})
    if method == "montecarlo":
        unit = np.random.default_rng(seed).random((samples, k))
    elif method == "lhs":
        from SALib.sample import latin

        unit = latin.sample(unit_problem(names), samples, seed=seed)
    elif method == "morris":
        from SALib.sample import morris

        unit = morris.sample(unit_problem(names), samples, num_levels=levels, seed=seed)
    elif method == "sobol":
        from SALib.sample import sobol

        unit = sobol.sample(unit_problem(names), samples, calc_second_order=False, seed=seed)
    else:
        raise ValueError(f"Unknown method {method!r}; valid: {list(METHODS)}.")
    unit = np.asarray(unit, dtype=float)
    values = {name: ppf(distributions[name], unit[:, j]) for j, name in enumerate(names)}
    return Sample(method, _frame(values, names, len(unit)), unit)


def _oat(distributions: Mapping[str, Distribution], points: int, base: Mapping[str, float]
         ) -> Sample:
    names = list(distributions)
    missing = [n for n in names if n not in base]
    if missing:
        raise ValueError(f"One-at-a-time sampling needs base values for {missing}.")
    rows = [dict(base)]
    unit_rows = [[math.nan] * len(names)]
    for j, name in enumerate(names):
        dist = distributions[name]
        if dist.kind == "levels":
            quantiles = (np.arange(len(dist.levels)) + 0.5) / len(dist.levels)
        else:
            quantiles = np.linspace(0.0, 1.0, points)
        for q, value in zip(quantiles, ppf(dist, quantiles), strict=True):
            rows.append({**base, name: float(value)})
            unit = [math.nan] * len(names)
            unit[j] = float(q)
            unit_rows.append(unit)
    values = {name: np.array([float(r[name]) for r in rows]) for name in names}
    return Sample("oat", _frame(values, names, len(rows)), np.array(unit_rows, dtype=float))


def _frame(values: Mapping[str, np.ndarray], names: list[str], n: int) -> pd.DataFrame:
    frame = pd.DataFrame({name: np.asarray(values[name], dtype=float) for name in names},
                         index=pd.RangeIndex(n, name="run"))
    return frame

"""Sensitivity indices and percentile bands from a sample and its outputs.

* Sobol (``SALib.analyze.sobol``, first order and total): ``S1``, ``ST`` with
  bootstrap confidence half-widths ``S1_conf``, ``ST_conf``.
* Morris (``SALib.analyze.morris``): ``mu_star`` (with ``mu_star_conf``) and
  ``sigma`` of the elementary effects, computed on the unit-scaled sample, so an
  effect is the output's change when a parameter moves across its whole range
  (in the output's units, e.g. years for a transition time).
* One at a time: ``delta``, the output at the parameter's high end minus at its
  low end, the others at their base values.
* Monte Carlo and Latin hypercube: ``rho``, Spearman's rank correlation of the
  parameter with the output.

Percentile bands (p5, p25, p50, p75, p95) are taken over every run of the sample
at each saved time.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd

from sdkit.sensitivity.sampling import Sample, unit_problem
from sdkit.sensitivity.spec import Method

__all__ = ["INDEX_COLUMNS", "BAND_COLUMNS", "PERCENTILES", "indices", "bands"]

log = logging.getLogger("sdkit.sensitivity")
#: Columns of :attr:`SensitivityResult.indices`.
INDEX_COLUMNS = ["method", "output", "parameter", "S1", "S1_conf", "ST", "ST_conf", "mu_star",
                 "mu_star_conf", "sigma", "delta", "rho"]
#: Percentiles of the bands.
PERCENTILES = (5, 25, 50, 75, 95)
#: Columns of :attr:`SensitivityResult.bands`.
BAND_COLUMNS = ["variable", "time"] + [f"p{p}" for p in PERCENTILES]


def indices(method: Method, sample: Sample, outputs: pd.DataFrame) -> pd.DataFrame:
    """One row per output and parameter with the method's indices (NaN elsewhere).

    An output with NaN values (a ``never = "nan"`` output that some run never
    reached) gets NaN Sobol and Morris indices, with a logged warning.
    """
    names = list(sample.values.columns)
    rows = []
    for output in outputs.columns:
        y = outputs[output].to_numpy(dtype=float)
        found = _one(method, sample, names, y, str(output))
        for j, name in enumerate(names):
            row: dict[str, float | str] = dict.fromkeys(INDEX_COLUMNS, math.nan)
            row.update(method=method.name, output=str(output), parameter=name)
            row.update({key: float(values[j]) for key, values in found.items()})
            rows.append(row)
    return pd.DataFrame(rows, columns=INDEX_COLUMNS)


def _one(method: Method, sample: Sample, names: list[str], y: np.ndarray, output: str
         ) -> dict[str, np.ndarray]:
    if method.name in ("sobol", "morris") and not np.isfinite(y).all():
        log.warning("Output %r has non-finite values; no %s indices.", output, method.name)
        return {}
    if method.name == "sobol":
        from SALib.analyze import sobol

        if np.ptp(y) == 0:
            return {k: np.zeros(len(names)) for k in ("S1", "S1_conf", "ST", "ST_conf")}
        found = sobol.analyze(unit_problem(names), y, calc_second_order=False,
                              num_resamples=method.resamples, conf_level=method.conf_level,
                              seed=method.seed)
        return {k: np.asarray(found[k]) for k in ("S1", "S1_conf", "ST", "ST_conf")}
    if method.name == "morris":
        from SALib.analyze import morris

        found = morris.analyze(unit_problem(names), sample.unit, y,
                               num_resamples=method.resamples, conf_level=method.conf_level,
                               num_levels=method.levels, seed=method.seed)
        return {k: np.asarray(found[k], dtype=float) for k in ("mu_star", "mu_star_conf",
                                                               "sigma")}
    if method.name == "oat":
        delta = np.full(len(names), math.nan)
        for j in range(len(names)):
            rows = np.nonzero(~np.isnan(sample.unit[:, j]))[0]
            if rows.size:
                q = sample.unit[rows, j]
                delta[j] = y[rows[np.argmax(q)]] - y[rows[np.argmin(q)]]
        return {"delta": delta}
    ranks = pd.DataFrame(sample.values.to_numpy(), columns=names).rank()
    target = pd.Series(y).rank()
    rho = np.array([ranks[n].corr(target) if ranks[n].nunique() > 1 else math.nan
                    for n in names])
    return {"rho": rho}


def bands(long: pd.DataFrame) -> pd.DataFrame:
    """Percentiles over runs of each band variable at each time.

    Parameters
    ----------
    long : pandas.DataFrame
        Columns ``run, variable, time, value``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`BAND_COLUMNS`, sorted by variable (first-seen order) and time.
    """
    if long.empty:
        return pd.DataFrame(columns=BAND_COLUMNS)
    grouped = long.groupby(["variable", "time"], sort=False)["value"]
    table = pd.concat({f"p{p}": grouped.quantile(p / 100) for p in PERCENTILES}, axis=1)
    table = table.reset_index()
    order = {v: i for i, v in enumerate(pd.unique(long["variable"]))}
    table = table.sort_values(["variable", "time"], key=lambda s: s.map(order)
                              if s.name == "variable" else s, kind="stable")
    return table.reset_index(drop=True)[BAND_COLUMNS]

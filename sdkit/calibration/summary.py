"""What a posterior sample says: estimates, identification, correlations, fit, hindcast.

Plain functions over numpy arrays and tables; :mod:`sdkit.calibration.study`
calls them after sampling.

*Identified.* A parameter is reported as **not identified** when its posterior
90% interval still covers at least :data:`NOT_IDENTIFIED` (three quarters) of
its prior 90% interval: the data have barely narrowed what was assumed.

*Bands.* For every observation the table gives the model's posterior band (5%
and 95% quantiles of the prediction over posterior draws) and the *predictive*
band, which adds the observation's own error (a Gaussian on its scale with its
standard error) to each draw: an observation is ``inside`` when it lies within
the predictive 90% band. Held-out observations (after ``train_until``) are the
hindcast.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from sdkit.calibration.likelihood import transform
from sdkit.calibration.observations import Observation
from sdkit.sensitivity.sampling import Distribution, ppf

__all__ = ["NOT_IDENTIFIED", "QUANTILES", "TIMES", "posterior_frame", "estimates",
           "correlations", "diagnostics", "observation_table", "band_table"]

#: Posterior/prior 90% interval width ratio from which a parameter is "not identified".
NOT_IDENTIFIED = 0.75
#: Quantiles of the band tables.
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
#: The observations' numeric times, the last columns of :func:`observation_table`.
TIMES = ("time", "end", "base_time", "base_end", "threshold")


@contextlib.contextmanager
def _nan_is_the_answer() -> Iterator[None]:
    """Silence numpy's warnings where NaN is the honest result (no finite draw, no spread)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def posterior_frame(chain: np.ndarray, log_prob: np.ndarray, names: Sequence[str],
                    burn: int) -> pd.DataFrame:
    """The kept draws ``(step, walker, parameters..., log_prob)`` after ``burn`` steps."""
    kept, lp = chain[burn:], log_prob[burn:]
    steps, walkers, k = kept.shape
    frame = pd.DataFrame(kept.reshape(-1, k), columns=list(names))
    frame.insert(0, "walker", np.tile(np.arange(walkers), steps))
    frame.insert(0, "step", np.repeat(np.arange(burn, burn + steps), walkers))
    frame["log_prob"] = lp.reshape(-1)
    return frame


def estimates(sample: pd.DataFrame, priors: Sequence[Distribution], names: Sequence[str],
              mode: np.ndarray) -> pd.DataFrame:
    """One row per parameter: mode, posterior median and 90% interval, prior interval,
    the width ratio, whether the data identify it, and ``at_bound`` (``"low"``,
    ``"high"`` or ``""``: the interval reaches that bound, so the bound, not the
    data, limits the estimate)."""
    rows = []
    for j, (name, prior) in enumerate(zip(names, priors, strict=True)):
        values = sample[name].to_numpy()
        q05, q50, q95 = np.quantile(values, [0.05, 0.5, 0.95])
        p05, p95 = (float(v) for v in ppf(prior, np.array([0.05, 0.95])))
        ratio = (q95 - q05) / (p95 - p05)
        rows.append({"parameter": name, "mode": float(mode[j]), "median": q50,
                     "q05": q05, "q95": q95, "mean": values.mean(), "sd": values.std(ddof=1),
                     "low": prior.low, "high": prior.high, "prior": prior.kind,
                     "prior_q05": p05, "prior_q95": p95, "width_ratio": ratio,
                     "identified": bool(ratio < NOT_IDENTIFIED),
                     "at_bound": _at_bound(q05, q95, prior)})
    return pd.DataFrame(rows)


def _at_bound(q05: float, q95: float, prior: Distribution) -> str:
    """``"low"`` or ``"high"`` when the 90% interval reaches within 1% of the prior's width
    of that bound (the data push the parameter against it), else ``""``."""
    near = 0.01 * (prior.high - prior.low)
    if q05 - prior.low <= near:
        return "low"
    return "high" if prior.high - q95 <= near else ""


def correlations(sample: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """Pairwise posterior correlations (Pearson), one row per pair (NaN for a parameter
    whose draws do not vary)."""
    with _nan_is_the_answer():
        matrix = np.corrcoef(sample[list(names)].to_numpy().T) if len(names) > 1 \
            else np.ones((1, 1))
    rows = [{"parameter": a, "other": b, "correlation": float(matrix[i, j])}
            for i, a in enumerate(names) for j, b in enumerate(names) if i < j]
    return pd.DataFrame(rows, columns=["parameter", "other", "correlation"])


def diagnostics(kept: np.ndarray, accepted: int, proposed: int) -> dict[str, object]:
    """Acceptance fraction, integrated autocorrelation times and effective sample size.

    ``kept`` is the chain after burn-in, ``(steps, walkers, k)``. emcee's rule of
    thumb asks for a chain at least 50 autocorrelation times long
    (``long_enough``).
    """
    import emcee

    steps, walkers, _ = kept.shape
    quiet = logging.getLogger("emcee.autocorr")
    level, quiet.disabled = quiet.disabled, True  # the report says it (long_enough)
    try:
        with _nan_is_the_answer():
            tau = emcee.autocorr.integrated_time(kept, quiet=True) if steps > 1 \
                else np.full(kept.shape[2], np.nan)
    finally:
        quiet.disabled = level
    tau = np.where(np.isfinite(tau), tau, np.nan)
    worst = float(np.nanmax(tau)) if np.isfinite(tau).any() else float("nan")
    return {"acceptance": accepted / proposed if proposed else float("nan"),
            "tau": [float(t) for t in tau], "tau_max": worst,
            "effective_samples": float(steps * walkers / worst) if worst > 0 else float("nan"),
            "long_enough": bool(steps >= 50 * worst)}


def observation_table(observations: Sequence[Observation], train: Sequence[bool],
                      at_mode: np.ndarray, draws: np.ndarray, *, seed: int) -> pd.DataFrame:
    """Each observation next to the model: at the mode, posterior and predictive bands.

    ``at_mode`` is ``(M,)``, ``draws`` is ``(D, M)`` (predictions over posterior
    draws). ``role`` is ``train`` or ``holdout``; ``inside`` says whether the
    observed value lies in the predictive 90% band; ``z`` is the standardised
    error at the mode on the observation's scale. The last columns are the
    observation's numeric times (:data:`TIMES`, NaN where its kind has none),
    which ``period`` states as text.
    """
    scales = [o.scale for o in observations]
    sd = np.array([o.sd for o in observations])
    rng = np.random.default_rng(seed)
    noisy = transform(draws, scales) + rng.standard_normal(draws.shape) * sd
    with _nan_is_the_answer():
        predictive = _back(np.nanquantile(noisy, [0.05, 0.95], axis=0), scales)
        credible = np.nanquantile(draws, [0.05, 0.5, 0.95], axis=0)
        observed = transform(np.array([[o.value for o in observations]]), scales)[0]
        z = (observed - transform(at_mode[None, :], scales)[0]) / sd
    rows = []
    for m, o in enumerate(observations):
        low, high = predictive[0, m], predictive[1, m]
        rows.append({
            "id": o.id, "kind": o.kind, "variable": o.variable, "period": period_text(o),
            "role": "train" if train[m] else "holdout", "value": o.value, "sd": o.sd,
            "scale": o.scale, "unit": o.unit, "source": o.source, "at_mode": at_mode[m],
            "median": credible[1, m], "q05": credible[0, m], "q95": credible[2, m],
            "predictive_q05": low, "predictive_q95": high, "z": z[m],
            "inside": bool(low <= o.value <= high), **{key: getattr(o, key) for key in TIMES}})
    return pd.DataFrame(rows)


def _back(values: np.ndarray, scales: Sequence[str]) -> np.ndarray:
    out = np.array(values, dtype=float, copy=True)
    for j, scale in enumerate(scales):
        if scale == "log":
            out[..., j] = np.exp(out[..., j])
    return out


def period_text(o: Observation) -> str:
    """When an observation is: ``2021``, ``[2019, 2020)``, ``crossing 0.5``, ``A / B``."""
    def span(start: float, end: float) -> str:
        return f"{start:g}" if np.isnan(end) else f"[{start:g}, {end:g})"

    if o.kind == "event":
        return f"crossing {o.threshold:g}"
    if o.kind == "ratio":
        return f"{span(o.time, o.end)} / {span(o.base_time, o.base_end)}"
    return span(o.time, o.end)


def band_table(times: np.ndarray, trajectories: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Long table ``variable, time, q05, q25, q50, q75, q95`` over posterior draws."""
    frames = []
    for variable, values in trajectories.items():
        with _nan_is_the_answer():
            q = np.nanquantile(values, QUANTILES, axis=0)
        frame = pd.DataFrame({"variable": variable, "time": times})
        for level, row in zip(QUANTILES, q, strict=True):
            frame[f"q{round(level * 100):02d}"] = row
        frames.append(frame)
    columns = ["variable", "time", *(f"q{round(v * 100):02d}" for v in QUANTILES)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)

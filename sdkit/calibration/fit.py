"""Find the posterior's mode, then sample the posterior.

Both steps evaluate whole populations: ``log_prob(values)`` takes an ``(N, k)``
array and returns ``(N,)`` log posterior densities, which :class:`Posterior`
computes with one batch run of the model (one engine call) per population.

* :func:`maximize`: scipy's differential evolution with ``vectorized=True``
  (one call per generation), then an L-BFGS-B polish whose forward-difference
  gradient is one call of ``k + 1`` parameter sets per iteration.
* :func:`sample_chunk`: ``steps`` steps of emcee's ensemble sampler with
  ``vectorize=True`` (one call per half of the walkers per step) from a saved
  :class:`ChainState`, so a sampling run can stop and resume bitwise identically.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from sdkit.calibration.likelihood import Predictor, log_likelihood, log_prior, transform
from sdkit.calibration.observations import Observation
from sdkit.engine.batch import BatchRunner
from sdkit.errors import SdkitError, SimulationError
from sdkit.sensitivity.sampling import Distribution

__all__ = ["Posterior", "Optimum", "ChainState", "Unbounded", "maximize", "start_walkers",
           "sample_chunk"]

LogProb = Callable[[np.ndarray], np.ndarray]
#: Finite stand-in for an impossible point in the optimiser (its statistics need finite values).
_WORST = 1e20


class Posterior:
    """The log posterior of a calibration, evaluated a population at a time.

    Parameters
    ----------
    runner : BatchRunner
        Runs the model saving every time step up to the observations' horizon.
    priors : sequence of Distribution
        One per estimated parameter, in the runner's parameter order.
    observations : sequence of Observation
        Every observation; the likelihood uses those in ``train``.
    train : sequence of bool
        Which observations the likelihood uses.
    weights : sequence of float, optional
        Each observation's weight (default 1).
    """

    def __init__(self, runner: BatchRunner, priors: Sequence[Distribution],
                 observations: Sequence[Observation], train: Sequence[bool],
                 weights: Sequence[float] | None = None) -> None:
        self.runner = runner
        self.priors = tuple(priors)
        self.observations = tuple(observations)
        self.train = np.asarray(train, dtype=bool)
        w = np.ones(len(observations)) if weights is None else np.asarray(weights, float)
        self.weights = w[self.train]
        self._train = [o for o, t in zip(self.observations, self.train, strict=True) if t]
        self.predictor: Predictor | None = None
        #: Parameter sets run so far (for reports and benchmarks).
        self.evaluations = 0

    def predictions(self, values: np.ndarray) -> np.ndarray:
        """``(N, M)`` predicted observations for ``(N, k)`` parameter values."""
        values = np.atleast_2d(np.asarray(values, dtype=float))
        table = pd.DataFrame(values, columns=self.runner.params)
        times, trajectories = self.runner.run(table)
        self.evaluations += len(values)
        if self.predictor is None or len(self.predictor.times) != len(times):
            self.predictor = Predictor(self.observations, times)
        return self.predictor.predict(trajectories)

    def impossible(self, values: np.ndarray) -> list[str]:
        """Training observations whose prediction is unusable (NaN, infinite, or not
        positive on a log scale) for every one of ``values``."""
        predicted = self.predictions(values)[:, self.train]
        scales = [o.scale for o in self._train]
        usable = np.isfinite(transform(predicted, scales))
        return [o.id for o, ok in zip(self._train, usable.any(axis=0), strict=True) if not ok]

    def __call__(self, values: np.ndarray) -> np.ndarray:
        values = np.atleast_2d(np.asarray(values, dtype=float))
        prior = log_prior(values, self.priors)
        out = np.full(len(values), -np.inf)
        inside = np.isfinite(prior)
        if inside.any():
            predicted = self.predictions(values[inside])[:, self.train]
            out[inside] = prior[inside] + log_likelihood(predicted, self._train, self.weights)
        return out


@dataclass(frozen=True)
class Optimum:
    """The posterior mode found by :func:`maximize`."""

    x: np.ndarray
    log_prob: float
    generations: int
    evaluations: int
    polished: bool


def maximize(log_prob: LogProb, priors: Sequence[Distribution], *, popsize: int,
             maxiter: int, polish: bool, seed: int,
             callback: Callable[[int], None] | None = None) -> Optimum:
    """The maximum of ``log_prob`` within the priors' bounds.

    Differential evolution (population ``popsize * k``, ``maxiter`` generations
    at most, Latin hypercube start, seeded), then an L-BFGS-B polish kept only
    when it improves the point.
    """
    from scipy.optimize import differential_evolution

    bounds = [(p.low, p.high) for p in priors]
    count = {"n": 0, "generation": 0}

    def energy(x: np.ndarray) -> np.ndarray:  # x: (k, S), as vectorized=True passes it
        values = np.atleast_2d(x.T)
        count["n"] += len(values)
        lp = log_prob(values)
        return np.where(np.isfinite(lp), -lp, _WORST)

    def step(*_: Any) -> None:
        count["generation"] += 1
        if callback is not None:
            callback(count["generation"])

    try:
        with np.errstate(all="ignore"):
            result = differential_evolution(
                energy, bounds, popsize=popsize, maxiter=maxiter, seed=seed, polish=False,
                vectorized=True, updating="deferred", init="latinhypercube", callback=step,
                tol=1e-6)
    except RuntimeError as err:  # scipy wraps what the objective raised
        if isinstance(err.__cause__, SdkitError):
            raise err.__cause__ from err
        raise
    x, best = np.asarray(result.x, dtype=float), float(-result.fun)
    if not best > -_WORST:
        raise SimulationError(
            "No parameter set the optimiser tried has a finite likelihood: some observation "
            "is NaN, infinite or (on a log scale) not positive for all of them.")
    polished = False
    if polish:
        px, value, n = _polish(log_prob, x, bounds)
        count["n"] += n
        if value > best:
            x, best, polished = px, value, True
    return Optimum(x, best, count["generation"], count["n"], polished)


def _polish(log_prob: LogProb, x0: np.ndarray, bounds: list[tuple[float, float]]
            ) -> tuple[np.ndarray, float, int]:
    """L-BFGS-B from ``x0`` with a batched forward-difference gradient."""
    from scipy.optimize import minimize

    low, high = np.array(bounds).T
    steps = 1e-7 * (high - low)
    calls = {"n": 0}

    def value_and_gradient(x: np.ndarray) -> tuple[float, np.ndarray]:
        h = np.where(x + steps <= high, steps, -steps)
        points = np.vstack([x, x + np.diag(h)])
        calls["n"] += len(points)
        f = -log_prob(points)
        if not np.all(np.isfinite(f)):
            return _WORST, np.zeros(len(x))
        return float(f[0]), (f[1:] - f[0]) / h

    result = minimize(value_and_gradient, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                      options={"maxiter": 100})
    x = np.clip(np.asarray(result.x, dtype=float), low, high)
    return x, float(log_prob(x[None, :])[0]), calls["n"] + 1


@dataclass
class ChainState:
    """Where a sampler stands: walker positions (:class:`Unbounded` coordinates), their
    log densities there, the RNG state."""

    coords: np.ndarray
    log_prob: np.ndarray
    random_state: tuple[Any, ...]


def start_walkers(log_prob: LogProb, mode: np.ndarray, priors: Sequence[Distribution],
                  walkers: int, seed: int) -> ChainState:
    """Walkers scattered around the mode (a tenth of each prior's width, inside the bounds),
    in :class:`Unbounded` coordinates, with their log posteriors."""
    rng = np.random.RandomState(seed)
    unbounded = Unbounded(log_prob, priors)
    low, width = unbounded.low, unbounded.width
    spread = 0.1
    coords = np.clip(mode + spread * width * rng.standard_normal((walkers, len(mode))),
                     low + 1e-6 * width, low + (1 - 1e-6) * width)
    y = unbounded.to_unbounded(coords)
    lp = unbounded(y)
    for _ in range(20):  # redraw walkers that landed on an impossible point, closer in
        bad = ~np.isfinite(lp)
        if not bad.any():
            break
        spread /= 2
        redrawn = mode + spread * width * rng.standard_normal((int(bad.sum()), len(mode)))
        y[bad] = unbounded.to_unbounded(np.clip(redrawn, low + 1e-6 * width,
                                                low + (1 - 1e-6) * width))
        lp[bad] = unbounded(y[bad])
    if not np.all(np.isfinite(lp)):
        raise SimulationError(
            f"{int((~np.isfinite(lp)).sum())} of {walkers} sampler walkers start on parameter "
            "sets without a finite likelihood even next to the mode; the posterior is too "
            "narrow or broken there (check the observations' predictions at the mode).")
    return ChainState(y, lp, tuple(rng.get_state(legacy=True)))


class Unbounded:
    """The log posterior over unbounded coordinates ``y = logit((x - low) / (high - low))``.

    A sampler proposing in these coordinates never leaves the bounds (in 19
    dimensions most proposals in the bounded box would), and the density
    includes the transform's Jacobian so the sample is of the same posterior.
    """

    def __init__(self, log_prob: LogProb, priors: Sequence[Distribution]) -> None:
        self.log_prob = log_prob
        self.low = np.array([p.low for p in priors])
        self.width = np.array([p.high - p.low for p in priors])

    def to_bounded(self, y: np.ndarray) -> np.ndarray:
        from scipy.special import expit

        return self.low + self.width * expit(y)

    def to_unbounded(self, x: np.ndarray) -> np.ndarray:
        share = np.clip((x - self.low) / self.width, 1e-12, 1 - 1e-12)
        return np.log(share) - np.log1p(-share)

    def __call__(self, y: np.ndarray) -> np.ndarray:
        y = np.atleast_2d(y)
        return self.log_prob(self.to_bounded(y)) + _log_jacobian(self, y)


def sample_chunk(log_prob: LogProb, state: ChainState, steps: int,
                 priors: Sequence[Distribution]) -> tuple[np.ndarray, np.ndarray, int, ChainState]:
    """Advance the walkers ``steps`` steps.

    The sampler works in :class:`Unbounded` coordinates (``state.coords``, with
    ``state.log_prob`` including the Jacobian). Returns the chain ``(steps,
    walkers, k)`` in the parameters' own units, its log posteriors ``(steps,
    walkers)`` (of the parameters, without the Jacobian), the number of accepted
    moves, and the state to continue from. Moves: differential evolution (80%)
    and its snooker variant (20%), which adapt to correlated posteriors (emcee
    documentation, "Moves").
    """
    import emcee

    walkers, k = state.coords.shape
    unbounded = Unbounded(log_prob, priors)
    moves = [(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)]
    sampler = emcee.EnsembleSampler(walkers, k, unbounded, vectorize=True, moves=moves)
    start = emcee.State(state.coords, log_prob=state.log_prob, random_state=state.random_state)
    # emcee prints the walkers' parameters and a traceback when the density raises (an
    # interrupt, a failed run); the exception itself still propagates
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
            np.errstate(all="ignore"):
        last = sampler.run_mcmc(start, steps, progress=False, skip_initial_state_check=True)
    accepted = int(sampler.backend.accepted.sum())
    y = sampler.get_chain()
    lp = sampler.get_log_prob() - _log_jacobian(unbounded, y)
    return (unbounded.to_bounded(y), lp, accepted,
            ChainState(np.array(last.coords), np.array(last.log_prob),
                       tuple(cast(tuple, sampler.random_state))))


def _log_jacobian(unbounded: Unbounded, y: np.ndarray) -> np.ndarray:
    """log dx/dy = log(width) + log s + log(1 - s) with s = sigmoid(y), written stably."""
    return np.sum(np.log(unbounded.width) - np.logaddexp(0, -y) - np.logaddexp(0, y), axis=-1)

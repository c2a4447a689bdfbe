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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from sdkit.batch import BatchRunner
from sdkit.calibration.likelihood import Predictor, log_likelihood, log_prior
from sdkit.calibration.observations import Observation
from sdkit.sensitivity.sampling import Distribution

__all__ = ["Posterior", "Optimum", "ChainState", "maximize", "start_walkers", "sample_chunk"]

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

    result = differential_evolution(
        energy, bounds, popsize=popsize, maxiter=maxiter, seed=seed, polish=False,
        vectorized=True, updating="deferred", init="latinhypercube", callback=step, tol=1e-6)
    x, best = np.asarray(result.x, dtype=float), float(-result.fun)
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
    """Where a sampler stands: walker positions, their log posteriors, the RNG state."""

    coords: np.ndarray
    log_prob: np.ndarray
    random_state: tuple[Any, ...]


def start_walkers(log_prob: LogProb, mode: np.ndarray, priors: Sequence[Distribution],
                  walkers: int, seed: int) -> ChainState:
    """Walkers scattered around the mode (a tenth of each prior's width, inside the bounds)."""
    rng = np.random.RandomState(seed)
    low = np.array([p.low for p in priors])
    high = np.array([p.high for p in priors])
    coords = mode + 0.1 * (high - low) * rng.standard_normal((walkers, len(mode)))
    coords = np.clip(coords, low + 1e-9 * (high - low), high - 1e-9 * (high - low))
    lp = log_prob(coords)
    for _ in range(20):  # redraw walkers that landed on an impossible point
        bad = ~np.isfinite(lp)
        if not bad.any():
            break
        coords[bad] = mode + 0.01 * (high - low) * rng.standard_normal((int(bad.sum()), len(mode)))
        coords[bad] = np.clip(coords[bad], low, high)
        lp[bad] = log_prob(coords[bad])
    return ChainState(coords, lp, tuple(rng.get_state(legacy=True)))


def sample_chunk(log_prob: LogProb, state: ChainState, steps: int
                 ) -> tuple[np.ndarray, np.ndarray, int, ChainState]:
    """Advance the walkers ``steps`` steps.

    Returns the chain ``(steps, walkers, k)``, its log posteriors ``(steps,
    walkers)``, the number of accepted moves, and the state to continue from.
    Moves: differential evolution (80%) and its snooker variant (20%), which
    adapt to correlated posteriors (emcee documentation, "Moves").
    """
    import emcee

    walkers, k = state.coords.shape
    moves = [(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)]
    sampler = emcee.EnsembleSampler(walkers, k, log_prob, vectorize=True, moves=moves)
    start = emcee.State(state.coords, log_prob=state.log_prob, random_state=state.random_state)
    last = sampler.run_mcmc(start, steps, progress=False, skip_initial_state_check=True)
    accepted = int(sampler.backend.accepted.sum())
    return (sampler.get_chain(), sampler.get_log_prob(), accepted,
            ChainState(np.array(last.coords), np.array(last.log_prob),
                       tuple(cast(tuple, sampler.random_state))))

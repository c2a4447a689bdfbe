"""The log posterior against hand calculations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sdkit.calibration.likelihood import log_likelihood, log_prior
from sdkit.calibration.observations import Observation
from sdkit.sensitivity.sampling import Distribution


def test_gaussian_terms_by_hand() -> None:
    linear = Observation("a", "level", "v", 10.0, 2.0, time=1.0)
    logged = Observation("b", "level", "v", 100.0, 0.1, "log", time=1.0)
    predictions = np.array([[13.0, 110.0], [10.0, 100.0]])
    z_log = (math.log(100) - math.log(110)) / 0.1
    first = (-0.5 * 1.5 ** 2 - math.log(2.0) - 0.5 * math.log(2 * math.pi)
             - 0.5 * z_log ** 2 - math.log(0.1) - 0.5 * math.log(2 * math.pi))
    got = log_likelihood(predictions, [linear, logged])
    assert got[0] == pytest.approx(first, rel=1e-12)
    assert got[1] == pytest.approx(-math.log(2.0) - math.log(0.1) - math.log(2 * math.pi))
    weighted = log_likelihood(predictions, [linear, logged], weights=[2.0, 0.0])
    assert weighted[1] == pytest.approx(2 * (-math.log(2.0) - 0.5 * math.log(2 * math.pi)))


def test_impossible_predictions_have_no_likelihood() -> None:
    logged = Observation("b", "level", "v", 100.0, 0.1, "log", time=1.0)
    got = log_likelihood(np.array([[np.nan], [-5.0], [np.inf], [100.0]]), [logged])
    assert list(np.isneginf(got)) == [True, True, True, False]


def test_priors_by_hand() -> None:
    uniform = Distribution("uniform", 1.0, 5.0)
    normal = Distribution("normal", 0.0, 10.0, mean=2.0, std=1.0)
    values = np.array([[2.0, 3.0], [0.5, 3.0], [2.0, 11.0]])
    got = log_prior(values, [uniform, normal])
    from scipy import stats

    mass = stats.norm.cdf(8.0) - stats.norm.cdf(-2.0)
    assert got[0] == pytest.approx(-math.log(4.0) + stats.norm.logpdf(1.0) - math.log(mass))
    assert np.isneginf(got[1]) and np.isneginf(got[2])
    triangular = Distribution("triangular", 0.0, 2.0, mode=1.0)
    assert log_prior(np.array([[0.5]]), [triangular])[0] == pytest.approx(math.log(0.5))

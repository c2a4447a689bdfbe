"""Model hygiene: time-step sensitivity and extreme conditions."""

from __future__ import annotations

import numpy as np
import pytest

from sdkit.analysis.stages import detect_stages

ZERO_BUDGETS = {
    "initial angel resources": 0,
    "first equity round": 0,
    "second equity round": 0,
    "technology budget share": 0,
    "talent budget share": 0,
}
TEN_X_BUDGETS = {  # ten times the founding capital and the first round
    "initial angel resources": 20000,
    "first equity round": 10000,
    "second equity round": 10000,  # the top of its documented range (five times 2,020)
    "technology budget share": 0.6,
    "talent budget share": 0.6,
}
EXTREMES = {
    "zero budgets": ZERO_BUDGETS,
    "ten times budgets": TEN_X_BUDGETS,
    "zero potential users": {"potential mills": 0, "potential buyers": 0},
    "zero attrition": {"attrition rate": 0},
    "attrition of 2 a year": {"attrition rate": 2},
}


@pytest.fixture(scope="module")
def half_step(empowerment):
    return empowerment.run(time_step=empowerment.time_step / 2)


def test_time_step_is_a_power_of_two_no_larger_than_a_sixteenth(empowerment):
    exponent = np.log2(empowerment.time_step)
    assert exponent == int(exponent) and empowerment.time_step <= 1 / 16
    assert empowerment.saveper == 0.25
    assert (empowerment.initial_time, empowerment.final_time) == (2015, 2030)


def test_halving_time_step_moves_transitions_less_than_a_tenth_of_a_year(
    baseline, half_step, empowerment_card
):
    full = detect_stages(baseline, empowerment_card.transitions)
    half = detect_stages(half_step, empowerment_card.transitions)
    for a, b in zip(full.transitions, half.transitions, strict=True):
        assert a.time is not None and b.time is not None
        assert abs(a.time - b.time) < 0.1, (a.label, a.time, b.time)


def test_halving_time_step_changes_stocks_at_2025_less_than_one_percent(
    empowerment, baseline, half_step
):
    for stock in empowerment.stocks():
        full, half = baseline.loc[2025, stock.name], half_step.loc[2025, stock.name]
        assert abs(full - half) <= 0.01 * max(abs(full), 1e-9), (stock.name, full, half)


@pytest.mark.parametrize("case", sorted(EXTREMES))
def test_extreme_conditions(empowerment, case):
    # Model.run raises SimulationError on NaN or infinity and lets a division
    # error surface as an exception, so reaching the checks means neither happened.
    results = empowerment.run(EXTREMES[case])
    stocks = [s.name for s in empowerment.stocks()]
    lowest = results[stocks].min()
    assert (lowest >= 0).all(), lowest[lowest < 0].to_dict()
    shares = ["platformization share", "intelligentization share", "ecologization share"]
    assert np.allclose(results[shares].sum(axis=1), 1.0)
    assert results["service quality"].between(0, 1).all()
    assert results["Platform trust"].between(0, 1).all()


def test_zero_potential_users_means_no_adoption(empowerment):
    results = empowerment.run(EXTREMES["zero potential users"])
    assert (results["mill adoption"] == 0).all() and (results["buyer adoption"] == 0).all()
    assert results["Buyers on platform"].iloc[-1] < results["Buyers on platform"].iloc[0]

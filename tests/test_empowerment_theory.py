"""Theory tests: behaviour the paper predicts (model-concept.md, 'Theory tests').

Each test runs the model with one change from the baseline and asserts a stated
quantitative difference. Thresholds are the claims, not fitted values: they say
how much worse a run must be for the theory to hold.
"""

from __future__ import annotations

import math

import pytest

from sdkit.stages import detect_stages

#: No angel resources at all: no committed capital or equity rounds, none of the
#: parent group's mills, users or platform to start from (a typical small platform).
NO_ANGEL = {
    "initial angel resources": 0,
    "first equity round": 0,
    "second equity round": 0,
    "initial mills on platform": 2,
    "initial buyers on platform": 300,
    "initial platform technology": 10,
}


@pytest.fixture(scope="module")
def run_variant(empowerment):
    cache = {}

    def run(**params):
        key = tuple(sorted(params.items()))
        if key not in cache:
            cache[key] = empowerment.run(params)
        return cache[key]

    return run


def stage_time(results, card, stage):
    time = detect_stages(results, card.transitions).time_of(stage)
    return math.inf if time is None else time


def test_no_talent_investment_stalls_empowerment(run_variant, baseline, empowerment_card):
    """No talent budget: stage 2 at least 1.5 years late (or never); connection
    empowerment in 2020 and overall empowerment in 2030 below half the baseline's."""
    run = run_variant(**{"talent budget share": 0})
    assert stage_time(run, empowerment_card, 2) >= stage_time(baseline, empowerment_card, 2) + 1.5
    for variable, year in [("connection empowerment", 2020), ("platform empowerment", 2030)]:
        assert run.loc[year, variable] < 0.5 * baseline.loc[year, variable], variable


def test_no_technology_investment_caps_growth(run_variant, baseline, empowerment_card):
    """No technology budget: no ecological stage; transaction volume in 2030 below
    60% and overall empowerment below 20% of the baseline's; the talent there is
    is more loaded than the baseline's over 2022-2030 (growth is capped by what
    talent alone can handle)."""
    run = run_variant(**{"technology budget share": 0})
    assert stage_time(run, empowerment_card, 3) == math.inf
    assert run.loc[2030, "Transaction volume"] < 0.6 * baseline.loc[2030, "Transaction volume"]
    assert run.loc[2030, "platform empowerment"] < 0.2 * baseline.loc[2030, "platform empowerment"]
    later = slice(2022, 2030)
    load = "talent load ratio"
    assert run.loc[later, load].mean() > baseline.loc[later, load].mean()


def test_no_angel_resources_gives_slow_small_platform(run_variant, baseline, empowerment_card):
    """No angel resources: buyers in 2021 below a quarter and mills below half of
    the baseline's, and stage 2 at least 2 years late (or never)."""
    run = run_variant(**NO_ANGEL)
    assert run.loc[2021, "Buyers on platform"] < 0.25 * baseline.loc[2021, "Buyers on platform"]
    assert run.loc[2021, "Mills on platform"] < 0.5 * baseline.loc[2021, "Mills on platform"]
    assert stage_time(run, empowerment_card, 2) >= stage_time(baseline, empowerment_card, 2) + 2


def test_early_ecologization_does_worse_than_staged_path(run_variant, baseline):
    """Ecological theme imposed in 2016, before data and partners exist: at least
    20% fewer mills in 2021, connection empowerment at least 25% lower on average
    over 2017-2021, and at least 3% less cumulative service revenue to 2030 than
    the staged path."""
    run = run_variant(**{"early ecologization switch": 1, "early ecologization time": 2016})
    assert run.loc[2016.5, "Ecologization theme weight"] > 0.5
    assert run.loc[2021, "Mills on platform"] < 0.8 * baseline.loc[2021, "Mills on platform"]
    window = slice(2017, 2021)
    connection = "connection empowerment"
    assert run.loc[window, connection].mean() < 0.75 * baseline.loc[window, connection].mean()
    assert run["service revenue"].sum() < 0.97 * baseline["service revenue"].sum()


def test_without_2020_push_stage_three_comes_later(run_variant, baseline, empowerment_card):
    """Without the 2020 epidemic and policy push the ecological stage starts at
    least a quarter of a year later."""
    run = run_variant(**{"environmental push switch": 0})
    assert stage_time(run, empowerment_card, 3) >= stage_time(baseline, empowerment_card, 3) + 0.25

"""Theory tests: behaviour the paper predicts (model-concept.md, 'Theory tests').

Each test runs the model with one change from the baseline and asserts a stated
quantitative difference. Thresholds are the claims, not fitted values: they say
how much worse a run must be for the theory to hold.
"""

from __future__ import annotations

import math

import pytest

from sdkit.stages import detect_stages

NO_ANGEL = {"initial angel resources": 0, "first equity round": 0, "second equity round": 0}


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
    """No talent budget: stage 2 at least 2 years late (or never); connection
    empowerment in 2020 below half the baseline's."""
    run = run_variant(**{"talent budget share": 0})
    assert stage_time(run, empowerment_card, 2) >= stage_time(baseline, empowerment_card, 2) + 2
    assert (
        run.loc[2020, "connection empowerment"] < 0.5 * baseline.loc[2020, "connection empowerment"]
    )
    assert run.loc[2030, "platform empowerment"] < 0.5 * baseline.loc[2030, "platform empowerment"]


def test_no_technology_investment_caps_growth(run_variant, baseline):
    """No technology budget: buyers in 2030 below half the baseline's, and the
    talent that is there is more loaded than the baseline's (growth is capped by
    what talent alone can handle)."""
    run = run_variant(**{"technology budget share": 0})
    assert run.loc[2030, "Buyers on platform"] < 0.5 * baseline.loc[2030, "Buyers on platform"]
    assert run.loc[2030, "Transaction volume"] < 0.5 * baseline.loc[2030, "Transaction volume"]
    later = slice(2022, 2030)
    assert (
        run.loc[later, "talent load ratio"].mean() > baseline.loc[later, "talent load ratio"].mean()
    )


def test_no_angel_resources_gives_slow_small_platform(run_variant, baseline, empowerment_card):
    """No angel resources and no equity rounds: buyers in 2021 below a quarter of
    the baseline's, and stage 2 at least 2 years late (or never)."""
    run = run_variant(**NO_ANGEL)
    assert run.loc[2021, "Buyers on platform"] < 0.25 * baseline.loc[2021, "Buyers on platform"]
    assert run.loc[2021, "Mills on platform"] < 0.5 * baseline.loc[2021, "Mills on platform"]
    assert stage_time(run, empowerment_card, 2) >= stage_time(baseline, empowerment_card, 2) + 2


def test_early_ecologization_does_worse_than_staged_path(run_variant, baseline):
    """Ecological theme imposed in 2016: at least 30% fewer buyers in 2025 and at
    least 20% less cumulative service revenue to 2030 than the staged path."""
    run = run_variant(**{"early ecologization switch": 1, "early ecologization time": 2016})
    assert run.loc[2016.5, "Ecologization theme weight"] > 0.5
    assert run.loc[2025, "Buyers on platform"] < 0.7 * baseline.loc[2025, "Buyers on platform"]
    assert run["service revenue"].sum() < 0.8 * baseline["service revenue"].sum()


def test_without_2020_push_stage_three_comes_later(run_variant, baseline, empowerment_card):
    """Without the 2020 epidemic and policy push the ecological stage starts at
    least half a year later."""
    run = run_variant(**{"environmental push switch": 0})
    assert stage_time(run, empowerment_card, 3) >= stage_time(baseline, empowerment_card, 3) + 0.5

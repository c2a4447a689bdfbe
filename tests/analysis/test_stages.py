"""Stage-transition detection on synthetic series with known crossing times."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdkit.analysis.stages import Stage, TransitionRule, crossing_time, detect_stages
from sdkit.errors import ParameterValueError, UnknownVariableError

RULES = (TransitionRule(2, "w2", 0.5), TransitionRule(3, "w3", 0.5))
STAGES = (Stage(1, "one", "一"), Stage(2, "two", "二"), Stage(3, "three", "三"))
TIMES = np.arange(0.0, 10.25, 0.25)


def run(w2: np.ndarray, w3: np.ndarray, times: np.ndarray = TIMES) -> pd.DataFrame:
    return pd.DataFrame({"w2": w2, "w3": w3}, index=pd.Index(times, name="time"))


def ramp(times: np.ndarray, crossing: float, slope: float = 0.1) -> np.ndarray:
    """A line through 0.5 at ``crossing``."""
    return 0.5 + slope * (times - crossing)


def test_linear_ramps_cross_where_the_lines_do():
    report = detect_stages(run(ramp(TIMES, 2.3), ramp(TIMES, 6.1)), RULES)
    assert report.time_of(2) == pytest.approx(2.3, abs=1e-12)
    assert report.time_of(3) == pytest.approx(6.1, abs=1e-12)
    assert report.durations[1] == pytest.approx(2.3)
    assert report.durations[2] == pytest.approx(6.1 - 2.3)
    assert report.durations[3] == pytest.approx(10.0 - 6.1)


def test_crossing_exactly_at_a_saved_point():
    report = detect_stages(run(ramp(TIMES, 3.0), ramp(TIMES, 7.25)), RULES)
    assert report.time_of(2) == 3.0
    assert report.time_of(3) == 7.25
    assert report.stage_at(2.99) == 1 and report.stage_at(3.0) == 2 and report.stage_at(7.25) == 3


def test_starting_above_the_threshold_is_a_transition_at_the_start():
    report = detect_stages(run(np.full(TIMES.size, 0.9), ramp(TIMES, 4.0)), RULES)
    assert report.time_of(2) == 0.0
    assert report.durations == {1: 0.0, 2: pytest.approx(4.0), 3: pytest.approx(6.0)}


def test_never_crossing_is_not_reached():
    report = detect_stages(run(ramp(TIMES, 5.0), np.full(TIMES.size, 0.4999)), RULES)
    transition = report.transitions[1]
    assert transition.time is None and not transition.reached
    assert report.time_of(3) is None
    assert report.durations == {1: pytest.approx(5.0), 2: pytest.approx(5.0), 3: 0.0}
    frame = report.to_frame()
    assert frame["reached"].tolist() == [True, False]


def test_skipped_stage_has_no_duration():
    # Stage 3's weight crosses first: the run jumps from stage 1 to stage 3.
    report = detect_stages(run(ramp(TIMES, 6.0), ramp(TIMES, 1.5)), RULES)
    assert report.time_of(3) == pytest.approx(1.5) and report.time_of(2) == pytest.approx(6.0)
    assert report.durations == {1: pytest.approx(1.5), 2: 0.0, 3: pytest.approx(8.5)}
    assert report.stage_at(7.0) == 3


def test_stage_frame_has_one_row_per_stage():
    report = detect_stages(run(ramp(TIMES, 2.0), np.zeros(TIMES.size)), RULES)
    frame = report.stage_frame(STAGES)
    assert frame["stage"].tolist() == [1, 2, 3]
    assert frame["stage_zh"].tolist() == ["一", "二", "三"]
    assert frame["transition"].tolist() == ["start", "1->2", "2->3"]
    assert frame["time"].iloc[0] == 0.0 and frame["time"].iloc[1] == pytest.approx(2.0)
    assert math.isnan(frame["time"].iloc[2]) and not frame["reached"].iloc[2]
    assert frame["duration"].sum() == pytest.approx(10.0)
    unnamed = report.stage_frame()
    assert unnamed["stage_en"].tolist() == ["", "", ""]


def test_first_crossing_counts_when_a_series_falls_back():
    values = np.where(TIMES < 5, ramp(TIMES, 2.0), 0.0)
    assert crossing_time(pd.Series(values, index=TIMES), 0.5) == pytest.approx(2.0)


@given(
    crossing=st.floats(min_value=0.01, max_value=9.99),
    slope=st.floats(min_value=0.01, max_value=10.0),
)
def test_crossing_of_any_rising_line_is_exact(crossing: float, slope: float):
    series = pd.Series(ramp(TIMES, crossing, slope), index=TIMES)
    assert crossing_time(series, 0.5) == pytest.approx(crossing, abs=1e-9)


@given(st.lists(st.floats(min_value=0, max_value=1), min_size=2, max_size=30))
def test_durations_always_cover_the_run(values: list[float]):
    times = np.arange(len(values), dtype=float)
    report = detect_stages(run(np.array(values), np.array(values[::-1]), times), RULES)
    assert sum(report.durations.values()) == pytest.approx(times[-1])
    assert all(d >= 0 for d in report.durations.values())


def test_bad_inputs_raise_typed_errors():
    with pytest.raises(UnknownVariableError, match="Did you mean 'w2'"):
        detect_stages(run(ramp(TIMES, 2.0), ramp(TIMES, 3.0)), [TransitionRule(2, "w 2x")])
    with pytest.raises(ParameterValueError, match="empty run"):
        detect_stages(run(np.array([]), np.array([]), np.array([])), RULES)
    with pytest.raises(ParameterValueError, match="strictly increasing"):
        crossing_time(pd.Series([0.0, 1.0], index=[1.0, 1.0]), 0.5)
    with pytest.raises(ParameterValueError, match="finite"):
        crossing_time(pd.Series([0.0, 1.0], index=[0.0, 1.0]), math.nan)
    report = detect_stages(run(ramp(TIMES, 2.0), ramp(TIMES, 3.0)), RULES)
    with pytest.raises(ParameterValueError, match=r"valid stages: \[2, 3\]"):
        report.time_of(4)

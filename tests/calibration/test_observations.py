"""Observations files: the schema's errors, and how each kind is computed from a run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sdkit
from sdkit.analysis.stages import crossing_time
from sdkit.calibration import load_observations
from sdkit.calibration.likelihood import Predictor, crossing_times
from sdkit.calibration.observations import Z90, Observation
from sdkit.engine import run_ensemble
from sdkit.errors import InputFileError

from .helpers import HEADER, write_observations

GOOD = "g,flow,growth,2,3,,,,100,,60,160,linear,animals,synthetic"


@pytest.mark.parametrize(("row", "message"), [
    ("a,volume,growth,2,,,,,1,1,,,,,s", "'volume' is not a kind; valid kinds: ['level', 'flow'"),
    ("a,level,growth,,,,,,1,1,,,,,s", "time: missing; a level observation needs ['time']"),
    ("a,flow,growth,2,,,,,1,1,,,,,s", "end: missing; a flow observation needs ['time', 'end']"),
    ("a,flow,growth,3,2,,,,1,1,,,,,s", "end: must be after time (3), got 2"),
    ("a,event,Population,,,,,,5,1,,,,,s", "threshold: missing"),
    ("a,level,growth,2,,,,0.5,1,1,,,,,s", "does not use threshold; leave it empty"),
    ("a,level,growth,2,,,,,1,,,,,,s", "give either sd (a standard error) or low and high"),
    ("a,level,growth,2,,,,,1,1,0,2,,,s", "not both and not neither"),
    ("a,level,growth,2,,,,,1,,0,,,,s", "high: a band needs both low and high"),
    ("a,level,growth,2,,,,,5,,0,2,,,s", "the band [0, 2] must contain value 5"),
    ("a,level,growth,2,,,,,1,-1,,,,,s", "sd: must be positive, got -1"),
    ("a,level,growth,2,,,,,0,1,,,log,,s", "needs value, low and high > 0"),
    ("a,level,growth,2,,,,,1,1,,,cubic,,s", "'cubic' is not a scale"),
    ("a,event,Population,,,,,500,5,1,,,log,,s", "an event's date is on the linear scale"),
    ("a,level,growth,two,,,,,1,1,,,,,s", "time: 'two' is not a number"),
    ("a,level,growth,2,,,,,inf,1,,,,,s", "value: must be a finite number"),
    ("a,level,growth,2,,,,,1,1,,,,,", "source: missing; every observation needs"),
    ("a,level,growht,2,,,,,1,1,,,,,s", "unknown variable 'growht' in model 'logistic.mdl'. "
     "Did you mean 'growth'"),
])
def test_a_bad_row_names_file_row_and_column(folder: Path, logistic: sdkit.model.core.Model,
                                             row: str, message: str) -> None:
    path = write_observations(folder, [GOOD, row])
    with pytest.raises(InputFileError) as info:
        load_observations(path, logistic)
    text = str(info.value)
    assert str(path) in text and "row 3 ('a')" in text
    assert message in text
    assert len(text.splitlines()) == 1


def test_file_level_errors(folder: Path) -> None:
    with pytest.raises(InputFileError, match="does not exist"):
        load_observations(folder / "missing.csv")
    (folder / "cols.csv").write_text("id,kind,variable,value,source,colour\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"unknown columns \['colour'\]; valid columns"):
        load_observations(folder / "cols.csv")
    (folder / "few.csv").write_text("id,kind,value\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"missing columns \['variable', 'source'\]"):
        load_observations(folder / "few.csv")
    (folder / "empty.csv").write_text(HEADER + "\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="has no observations"):
        load_observations(folder / "empty.csv")
    twice = write_observations(folder, [GOOD, GOOD])
    with pytest.raises(InputFileError, match="row 3: id 'g' is used twice"):
        load_observations(twice)


def test_every_bad_row_is_reported_at_once(folder: Path, logistic: sdkit.model.core.Model) -> None:
    """Each row is checked on its own: one error lists the first problem of each bad row."""
    rows = [GOOD, "a,level,growht,2,,,,,1,1,,,,,s", "b,level,growth,2,,,,,1,,,,,,s", GOOD]
    path = write_observations(folder, rows)
    with pytest.raises(InputFileError) as info:
        load_observations(path, logistic)
    err = info.value
    assert [(p.key, str(p).split(": ")[1]) for p in err.problems] == [
        ("variable", "row 3 ('a')"), ("sd", "row 4 ('b')"), ("id", "row 5")]
    assert str(err) == f"{path}: 3 problems: " + "; ".join(
        str(p).removeprefix(f"{path}: ") for p in err.problems)
    assert err.key is None and len(str(err).splitlines()) == 1


def test_a_band_is_a_90_percent_interval_on_its_scale(folder: Path) -> None:
    path = write_observations(folder, [GOOD, "b,level,growth,2,,,,,100,,50,200,log,,s"])
    flow, level = load_observations(path)
    assert flow.sd == pytest.approx(100 / (2 * Z90))
    assert level.sd == pytest.approx((np.log(200) - np.log(50)) / (2 * Z90))


def _stock_and_rate(model: sdkit.model.core.Model) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    params = pd.DataFrame({"growth rate": [0.8]})
    result = run_ensemble(model, params, saveper=0.125, outputs=["Population", "growth"])
    return result.times, {"Population": result["Population"], "growth": result["growth"]}


def test_a_flow_is_compared_with_its_period_integral(logistic: sdkit.model.core.Model) -> None:
    """A year's flow equals the change of the stock it feeds over that year (Euler), and
    differs from the rate at either end of the year (the instantaneous reading)."""
    times, runs = _stock_and_rate(logistic)
    flow = Observation("g", "flow", "growth", 1.0, 1.0, time=3.0, end=4.0)
    predicted = Predictor([flow], times).predict(runs)[0, 0]
    stock = runs["Population"][0]
    change = stock[times == 4.0][0] - stock[times == 3.0][0]
    assert predicted == pytest.approx(change, rel=1e-12)
    rate = runs["growth"][0]
    assert predicted == pytest.approx(rate[(times >= 3) & (times < 4)].sum() * 0.125, rel=1e-12)
    for instant in (3.0, 3.5, 4.0):
        assert abs(rate[times == instant][0] - predicted) > 0.02 * predicted


def test_a_period_off_the_grid_takes_partial_steps(logistic: sdkit.model.core.Model) -> None:
    times, runs = _stock_and_rate(logistic)
    rate = runs["growth"][0]
    flow = Observation("g", "flow", "growth", 1.0, 1.0, time=3.05, end=3.3)
    by_hand = rate[times == 3.0][0] * 0.075 + rate[times == 3.125][0] * 0.125 + \
        rate[times == 3.25][0] * 0.05
    assert Predictor([flow], times).predict(runs)[0, 0] == pytest.approx(by_hand, rel=1e-12)


def test_levels_ratios_and_events(logistic: sdkit.model.core.Model) -> None:
    times, runs = _stock_and_rate(logistic)
    stock = pd.Series(runs["Population"][0], index=times)
    observations = [
        Observation("l", "level", "Population", 1.0, 1.0, time=4.3),
        Observation("r", "ratio", "Population", 1.0, 1.0, time=6.0, base_time=3.0),
        Observation("q", "ratio", "growth", 1.0, 1.0, time=4, end=5, base_time=3, base_end=4),
        Observation("e", "event", "Population", 5.0, 1.0, threshold=500.0),
    ]
    level, ratio, flows, event = Predictor(observations, times).predict(runs)[0]
    assert level == pytest.approx(np.interp(4.3, times, stock.to_numpy()), rel=1e-12)
    assert ratio == pytest.approx(stock[6.0] / stock[3.0], rel=1e-12)
    assert flows == pytest.approx((stock[5.0] - stock[4.0]) / (stock[4.0] - stock[3.0]))
    assert event == pytest.approx(crossing_time(stock, 500.0), abs=1e-12)


def test_vectorised_crossings_follow_the_stage_rule() -> None:
    rng = np.random.default_rng(4)
    times = np.arange(0, 5.01, 0.25)
    values = np.cumsum(rng.uniform(-0.2, 0.5, (200, len(times))), axis=1)
    values[0] = 2.0  # starts above: the first time
    values[1] = -1.0  # never: the end of the run
    found = crossing_times(values, times, 1.0)
    expected = [crossing_time(pd.Series(row, index=times), 1.0) for row in values]
    assert found[0] == 0.0 and found[1] == times[-1]
    for got, want in zip(found[2:], expected[2:], strict=True):
        assert got == pytest.approx(times[-1] if want is None else want, abs=1e-12)


def test_the_last_time_decides_training_and_holdout() -> None:
    dt = 1 / 32
    year_2019 = Observation("a", "flow", "v", 1, 1, time=2019, end=2020)
    year_2020 = Observation("b", "flow", "v", 1, 1, time=2020, end=2021)
    growth = Observation("c", "ratio", "v", 1, 1, time=2020, end=2021, base_time=2019,
                         base_end=2020)
    level = Observation("d", "level", "v", 1, 1, time=2020.0)
    event = Observation("e", "event", "v", 2017.4, 0.3, threshold=0.5)
    assert year_2019.last_time(dt) <= 2019.99 < year_2020.last_time(dt)
    assert growth.last_time(dt) > 2019.99 and level.last_time(dt) > 2019.99
    assert event.last_time(dt) == 2017.4


def test_last_time_is_the_start_of_the_last_euler_step_in_the_period() -> None:
    """A period whose end is off the time grid still depends on the step that starts
    before its end: [5, 5.1) with dt 0.125 reads the rate of the step starting at 5."""
    short = Observation("f", "flow", "v", 1, 1, time=5.0, end=5.1)
    assert short.last_time(0.125) == 5.0 > 4.99
    assert short.last_time(0.125, initial=0.05) == pytest.approx(5.05)  # steps 0.05 + j/8
    on_grid = Observation("g", "flow", "v", 1, 1, time=2019, end=2020)
    assert on_grid.last_time(1 / 32, initial=2015.0) == 2020 - 1 / 32
    inside_one_step = Observation("h", "flow", "v", 1, 1, time=5.01, end=5.02)
    assert inside_one_step.last_time(0.125) == 5.0
    ratio = Observation("r", "ratio", "v", 1, 1, time=3, end=3.3, base_time=5, base_end=5.1)
    assert ratio.last_time(0.125) == 5.0
    levels = Observation("q", "ratio", "v", 1, 1, time=3.3, base_time=2.2)
    assert levels.last_time(0.125) == 3.3


def _write_text(folder: Path, text: str) -> Path:
    path = folder / "obs.csv"
    path.write_text(text, encoding="utf-8")
    return path


def _one_line_error(path: Path, model: sdkit.model.core.Model | None = None) -> str:
    with pytest.raises(InputFileError) as info:
        load_observations(path, model)
    text = str(info.value)
    assert str(path) in text and "\n" not in text, text
    return text


@pytest.mark.parametrize(("rows", "message"), [
    ([GOOD + ",", GOOD.replace("g,", "h,", 1) + ","],
     "row 2 ('g'): 16 fields, but the header has 15 columns"),  # trailing commas
    ([GOOD, "h,flow,growth,2,3,,,,100,,60,160,linear,animals,synthetic,extra"],
     "row 3 ('h'): 16 fields, but the header has 15 columns"),
])
def test_a_row_with_more_fields_than_the_header_is_an_error(folder: Path, rows: list[str],
                                                            message: str) -> None:
    """pandas took a trailing comma's extra field as an index column and shifted the
    row silently (kind read from the variable column)."""
    assert message in _one_line_error(write_observations(folder, rows))


def test_the_header_names_each_column_once(folder: Path) -> None:
    path = _write_text(folder, f"{HEADER},value\n{GOOD},3\n")
    assert "row 1 (the header): column 'value' appears twice (columns 9 and 16)" in \
        _one_line_error(path)
    path = _write_text(folder, f"{HEADER},\n{GOOD},\n")
    assert "row 1 (the header): column 16 has no name (a trailing comma?)" in \
        _one_line_error(path)


@pytest.mark.parametrize(("wrong", "right"), [("Value ", "value"), ("valeu", "value"),
                                              ("base time", "base_time"), ("SD", "sd")])
def test_an_unknown_column_suggests_the_close_match(folder: Path, wrong: str,
                                                    right: str) -> None:
    path = _write_text(folder, HEADER.replace(right, wrong, 1) + "\n" + GOOD + "\n")
    text = _one_line_error(path)
    assert f"unknown columns [{wrong!r}]" in text
    assert f"{wrong!r}: did you mean {right!r}?" in text


def test_rows_are_numbered_as_lines_of_the_file_after_blank_lines(folder: Path) -> None:
    bad = "a,level,growth,two,,,,,1,1,,,,,s"
    path = _write_text(folder, f"{HEADER}\n\n{GOOD}\n\n,,,,\n{bad}\n")
    assert "row 6 ('a'): time: 'two' is not a number" in _one_line_error(path)
    path = _write_text(folder, f"{HEADER}\n\n{GOOD}\n{GOOD}\n")
    assert "row 4: id 'g' is used twice" in _one_line_error(path)
    quoted = GOOD.replace("synthetic", '"two\nlines"')
    path = _write_text(folder, f"{HEADER}\n{quoted}\n{bad}\n")
    assert "row 4 ('a')" in _one_line_error(path)  # the line the row starts on


def test_a_file_that_is_not_utf8_is_one_line(folder: Path) -> None:
    path = folder / "obs.csv"
    path.write_bytes((HEADER + "\n" + GOOD + "\n").encode("utf-16"))
    assert "is not UTF-8 text" in _one_line_error(path)


@pytest.mark.parametrize("row", ["a,ratio,growth,2,3,1,,,1,1,,,,,s",
                                 "a,ratio,growth,2,,1,2,,1,1,,,,,s"])
def test_a_ratio_divides_like_by_like(folder: Path, row: str) -> None:
    """A period integral over a level (or the reverse) has units of time or its inverse:
    never what was observed."""
    text = _one_line_error(write_observations(folder, [GOOD, row]))
    assert "row 3 ('a')" in text
    assert "a ratio divides like by like: give both end and base_end (two period " \
        "integrals) or neither (two levels)" in text
    ok = write_observations(folder, [GOOD, "a,ratio,growth,2,3,1,2,,1,1,,,,,s",
                                     "b,ratio,growth,2,,1,,,1,1,,,,,s"])
    assert len(load_observations(ok)) == 3


def test_a_log_scale_sd_is_in_log_units(folder: Path) -> None:
    path = write_observations(folder, [GOOD, "a,level,Population,2,,,,,300,50,,,log,,s"])
    text = _one_line_error(path)
    assert "row 3 ('a'): sd: 50 is more than 2: on the log scale sd is in log units, a " \
        "relative error (0.1 is about 10%)" in text
    fine = write_observations(folder, [GOOD, "a,level,Population,2,,,,,300,0.3,,,log,,s",
                                       "b,level,Population,2,,,,,300,50,,,linear,,s"])
    assert [o.sd for o in load_observations(fine)][1:] == [0.3, 50]


SUBSCRIPTED_MDL = """{UTF-8}
region: north, south
\t~\t
\t~\t|

Population[region] = INTEG(growth[region], 10)
\t~\tanimals
\t~\tAnimals by region.
\t|

growth[region] = growth rate * Population[region]
\t~\tanimals/year
\t~\tGrowth by region.
\t|

total = SUM(Population[region!])
\t~\tanimals
\t~\tAll animals.
\t|

growth rate = 0.1
\t~\t1/year [0, 5]
\t~\tGrowth rate.
\t|

FINAL TIME = 20
\t~\tyear
\t~\t|
INITIAL TIME = 0
\t~\tyear
\t~\t|
SAVEPER = 1
\t~\tyear
\t~\t|
TIME STEP = 0.125
\t~\tyear
\t~\t|
"""


@pytest.fixture(scope="module")
def subscripted(tmp_path_factory: pytest.TempPathFactory) -> sdkit.model.core.Model:
    """A model with array variables (``Population[region]``) and a scalar ``total``."""
    path = tmp_path_factory.mktemp("subscripted") / "regions.mdl"
    path.write_text(SUBSCRIPTED_MDL, encoding="utf-8")
    return sdkit.load_model(path)


def test_a_subscripted_variable_is_refused(folder: Path,
                                           subscripted: sdkit.model.core.Model) -> None:
    """The predictions read one column per variable: an array variable has one per
    element (``Population[north]``...), so it cannot be observed as a whole."""
    path = write_observations(folder, ["a,level,total,2,,,,,30,1,,,,,s",
                                       "b,level,population,2,,,,,15,1,,,,,s"])
    text = _one_line_error(path, subscripted)
    assert "row 3 ('b'): variable: 'Population' is subscripted (over region); a " \
        "calibration compares scalar variables only" in text
    scalar = write_observations(folder, ["a,level,total,2,,,,,30,1,,,,,s"])
    assert load_observations(scalar, subscripted)[0].variable == "total"


def test_predictions_do_not_depend_on_memory_layout_or_batch_size() -> None:
    """The engine saves (T, N) blocks, PySD stacks (N, T) rows: a weighted sum must come out
    bit for bit the same either way, and for one row as for many."""
    rng = np.random.default_rng(3)
    times = np.arange(0, 10.01, 0.125)
    values = rng.lognormal(3, 1, (37, len(times)))
    observations = [Observation("f", "flow", "v", 1.0, 1.0, time=2.05, end=7.3),
                    Observation("l", "level", "v", 1.0, 1.0, time=4.4),
                    Observation("r", "ratio", "v", 1.0, 1.0, time=5, end=6, base_time=1,
                                base_end=3)]
    predictor = Predictor(observations, times)
    rows = predictor.predict({"v": values})
    blocks = predictor.predict({"v": np.asfortranarray(values)})
    assert np.array_equal(rows, blocks)
    for i in (0, 17, 36):
        assert np.array_equal(predictor.predict({"v": values[i:i + 1]})[0], rows[i])

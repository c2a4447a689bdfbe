"""Saturated factors (``sdkit.checks.saturation``, in ``sdkit gates``).

Every expected number is worked out by hand on the time grid. The stock ``S`` grows
at 1 a year from 0, so ``S = t`` exactly at every step (Euler on a constant rate), and
a run from 0 to 10 with dt 0.25 has 40 steps (0 ... 9.75; the final time acts over no
interval). ``1 - EXP(-k * S)`` is within a tolerance ``tol`` of 1 once
``EXP(-k t) <= tol``, i.e. from ``t = ln(1 / tol) / k`` on:

* k = 2, tol 0.01: ln(100) / 2 = 2.303, first step 2.5, 30 steps to 9.75: 7.5 years;
* k = 0.5, tol 0.01: ln(100) / 0.5 = 9.21, first step 9.25: 3 steps, 0.75 years;
* k = 2, tol 0.001: ln(1000) / 2 = 3.454, first step 3.5: 26 steps, 6.5 years;
* k = 2, tol 0.05: ln(20) / 2 = 1.498, first step 1.5: 34 steps, 8.5 years.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import control, write_model

from sdkit.checks.gates import GateReport, SaturatedFactor, gate_report
from sdkit.cli.app import main


def eq(name: str, text: str, units: str = "Dmnl") -> str:
    return f"{name} = {text}\n\t~\t{units}\n\t~\t|\n"


MODEL = "{UTF-8}\n" + "".join([
    eq("S", "INTEG(1, 0)", "widget"),
    eq("fast k", "2", "1/widget"),
    eq("slow k", "0.5", "1/widget"),
    eq("fast adequacy", "1 - EXP(-fast k * S)"),
    eq("slow adequacy", "1 - EXP(-slow k * S)", "Dmnl [0,1]"),
    eq("moving share", "S / (S + 5)"),               # 0 ... 0.66: moves all the run
    eq("pinned low", "0.001 * S / (1 + 0.01 * S)"),  # always below 0.01: at 0 all the run
    eq("switch", "1"),
    eq("constant factor", "1 - EXP(-10 * switch)"),  # 0.99995, but constants only
    eq("time factor", "1 - EXP(-Time)"),             # Time only: a schedule
    eq("small rate", "0.0001 * S", "1/year"),         # in [0, 1], not dimensionless
    eq("documented rate", "0.0001 * S", "1/year [0,1]"),  # documented [0, 1]
    eq("wide", "2 * fast adequacy", "Dmnl [0,2]"),  # leaves [0, 1]: not a factor
]) + control(dt=0.25, initial=0, final=10, saveper=1)


def factor(report: GateReport, variable: str, bound: float) -> SaturatedFactor:
    found = [f for f in report.factors if f.variable == variable and f.bound == bound]
    assert len(found) == 1, [f.label() for f in report.factors]
    return found[0]


@pytest.fixture(scope="module")
def path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_model(tmp_path_factory.mktemp("saturation"), "sat.mdl", MODEL)


@pytest.fixture(scope="module")
def report(path: Path) -> GateReport:
    return gate_report(path)


def test_exponential_factor_saturates_at_the_computed_time(report: GateReport) -> None:
    fast = factor(report, "fast adequacy", 1.0)
    assert math.log(100) / 2 == pytest.approx(2.303, abs=1e-3)
    assert (fast.first, fast.last) == (2.5, 9.75)
    assert (fast.steps, fast.saturated_steps, fast.years, fast.share) == (40, 30, 7.5, 0.75)
    assert (fast.role, fast.counted, fast.bounded_by, fast.switches) == (
        "factor", True, "values", 1)
    assert fast.low == 0.0 and 1 - math.exp(-20) == pytest.approx(fast.high)
    assert fast.label() == "fast adequacy at 1"
    # at 0 only at t = 0 (1 - exp(-2 t) <= 0.01 for t <= 0.005): one step, not saturated
    assert factor(report, "fast adequacy", 0.0).years == 0.25
    assert [f.label() for f in report.saturated_longer_than(1.0)] == [
        "pinned low at 0", "documented rate at 0", "fast adequacy at 1"]  # longest first


def test_slow_factor_and_moving_factor_are_not_saturated(report: GateReport) -> None:
    slow = factor(report, "slow adequacy", 1.0)  # from 9.25: 3 steps
    assert (slow.first, slow.saturated_steps, slow.years) == (9.25, 3, 0.75)
    assert slow.bounded_by == "documented range"
    assert slow not in report.saturated_longer_than(1.0)
    assert slow not in report.saturated_longer_than(0.75)  # 0.75 is not longer than 0.75
    assert slow in report.saturated_longer_than(0.5)
    # S / (S + 5) <= 0.01 only at t = 0; never near 1
    assert [(f.bound, f.years) for f in report.factors if f.variable == "moving share"] == [
        (0.0, 0.25)]


def test_a_factor_pinned_near_zero_is_saturated_at_zero(report: GateReport) -> None:
    low = factor(report, "pinned low", 0.0)  # 0.001 t / (1 + 0.01 t) <= 0.0091
    assert (low.first, low.last, low.years, low.share) == (0.0, 9.75, 10.0, 1.0)
    assert [f.bound for f in report.factors if f.variable == "pinned low"] == [0.0]


def test_constants_schedules_rates_and_wide_factors(report: GateReport) -> None:
    variables = {f.variable for f in report.factors}
    # constants and switches are not factors; a rate is not dimensionless; 2 x adequacy
    # leaves [0, 1] and is documented [0, 2]
    assert variables.isdisjoint({"switch", "constant factor", "small rate", "wide",
                                 "fast k", "S"})
    timed = factor(report, "time factor", 1.0)  # exp(-t) <= 0.01 from 4.75: 21 steps
    assert (timed.role, timed.counted, timed.first, timed.years) == (
        "schedule", False, 4.75, 5.25)
    assert timed not in report.saturated_longer_than(1.0)
    documented = factor(report, "documented rate", 0.0)  # 0.0001 t <= 0.01 all the run
    assert (documented.bounded_by, documented.years) == ("documented range", 10.0)


@pytest.mark.parametrize(("tolerance", "first", "years"), [
    (0.001, 3.5, 6.5), (0.05, 1.5, 8.5), (0.0, None, 0.0)])
def test_tolerance_is_respected(path: Path, tolerance: float, first: float | None,
                                years: float) -> None:
    report = gate_report(path, tolerance=tolerance)
    assert report.tolerance == tolerance
    found = [f for f in report.factors if f.variable == "fast adequacy" and f.bound == 1]
    if first is None:  # 1 - exp(-2 t) never equals 1 exactly
        assert not found
        return
    assert (found[0].first, found[0].years) == (first, years)


def test_tolerance_must_be_below_a_half(path: Path) -> None:
    from sdkit.errors import ParameterValueError

    for bad in (-0.1, 0.5, math.nan):
        with pytest.raises(ParameterValueError, match="saturation tolerance"):
            gate_report(path, tolerance=bad)


def _invoke(*args: object) -> object:
    return CliRunner().invoke(main, ["gates", *map(str, args)])


def test_cli_text_lists_saturated_factors(path: Path) -> None:
    result = _invoke(path, "--max-years", 5)
    assert result.exit_code == 0  # no gate; saturation alone does not fail by default
    lines = result.stdout.splitlines()
    start = lines.index("Saturated factors (within 0.01 of 0 or 1; bounded: documented "
                        "range [0, 1], or dimensionless with values in [0, 1]):")
    assert lines[start - 1] == "No gate binds longer than 5 years."
    assert lines[start + 1:start + 3] == [
        "  years  share switch bound      first       last  role      variable",
        "  10.00 100.0%      0     0          0       9.75  factor    pinned low"]
    assert "   7.50  75.0%      1     1        2.5       9.75  factor    fast adequacy" in lines
    assert "   5.25  52.5%      1     1       4.75       9.75  schedule  time factor" in lines
    assert lines[-4:] == [
        "3 factors stay within 0.01 of a bound longer than 5 years:",
        "  pinned low at 0 for 10.00 years (100%), 0 to 9.75; values 0 to 0.009091 (values)",
        "  documented rate at 0 for 10.00 years (100%), 0 to 9.75; values 0 to 0.001 "
        "(documented range)",
        "  fast adequacy at 1 for 7.50 years (75%), 2.5 to 9.75; values 0 to 1 (values)"]
    strict = _invoke(path, "--max-years", 5, "--saturation-tolerance", 0.001)
    assert strict.stdout.splitlines()[-1].startswith("  fast adequacy at 1 for 6.50 years")
    assert _invoke(path, "--max-years", 8, "--fail-on-saturation").exit_code == 1
    calm = _invoke(path, "--max-years", 10, "--fail-on-saturation")
    assert calm.exit_code == 0
    assert calm.stdout.splitlines()[-1] == \
        "No factor stays within 0.01 of 0 or 1 longer than 10 years."


def test_cli_json_has_factors(path: Path) -> None:
    result = _invoke(path, "--json", "--max-years", 5, "--saturation-tolerance", 0.05)
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert payload["tolerance"] == 0.05
    assert payload["saturated"] == ["pinned low at 0", "documented rate at 0",
                                    "fast adequacy at 1"]
    fast = next(f for f in payload["factors"] if f["variable"] == "fast adequacy"
                and f["bound"] == 1)
    assert (fast["first"], fast["years"], fast["counted"]) == (1.5, 8.5, True)


@pytest.mark.parametrize("value", ["-0.01", "0.5", "nan"])
def test_cli_bad_tolerance_is_a_one_line_error(path: Path, value: str) -> None:
    result = _invoke(path, "--saturation-tolerance", value)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "--saturation-tolerance" in result.stderr

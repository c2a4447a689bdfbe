"""Model checks (issue 8): units, mass balance, time step, extreme conditions.

Each check is shown to pass on a clean model and to catch a planted error.
The empowerment model passes all of them, including the full extreme battery
(about 190 cases, run at once by the ensemble engine).
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from click.testing import CliRunner
from conftest import EMPOWERMENT_MDL, control, write_model

from sdkit.checks import check_model
from sdkit.checks.algebra import DMNL, parse_units
from sdkit.checks.balance import check_balance, fine_run
from sdkit.checks.units import check_units
from sdkit.cli.app import main
from sdkit.errors import ParameterValueError
from sdkit.ir.core import build_ir
from sdkit.model.core import load_model


def mdl(body: str, dt: float = 0.5) -> str:
    return "{UTF-8}\n" + body + control(dt=dt, unit="Year")


def var(name: str, equation: str, units: str) -> str:
    return f"{name} = {equation}\n\t~\t{units}\n\t~\t|\n"


#: Every planted units error, with the variable the failure must name.
UNITS_BODY = "".join([
    var("a", "3", "people"),
    var("b", "2", "Year"),
    var("rate", "0.1", "1/years"),
    var("ok product", "a * rate", "persons/yr"),
    var("literal factor", "1.5 / (1 + a / a)", "Year"),
    var("ok sqrt", "SQRT(a * a)", "people"),
    var("ok power", "(a * a) ^ 0.5", "people"),
    var("ok dmnl", "EXP(rate * b) + 1", "dimensionless"),
    var("ok if", "IF THEN ELSE(Time > b, a, 0)", "people"),
    var("ok step", "STEP(a, 2)", "people"),
    var("bad sum", "a + b", "people"),
    var("bad declared", "a * rate", "people"),
    var("bad exp", "EXP(a)", "Dmnl"),
    var("bad min", "MIN(a, b)", "people"),
    var("bad if", "IF THEN ELSE(Time > 1, a, b)", "people"),
    var("bad power", "a ^ rate", "people"),
    var("bad step", "STEP(a, a)", "people"),
    "Stock = INTEG(wrong flow, 0)\n\t~\tpeople\n\t~\t|\n",
    var("wrong flow", "a", "people"),
])
BAD = ["bad sum", "bad declared", "bad exp", "bad min", "bad if", "bad power", "bad step",
       "Stock"]
#: Errors only under the strict rules: a number in * or / is dimensionless.
STRICT_ONLY = ["literal factor"]


@pytest.mark.parametrize(("text", "expected"), [
    ("Dmnl", DMNL), ("1", DMNL), ("dimensionless", DMNL),
    ("people/Year", parse_units("person/years")),
    ("people*Year/Year", parse_units("persons")),
    ("CNY_million/(people*Year)", parse_units("CNY/(person*yr)")),
    ("Mt/Year", parse_units("tonnes/Year")),
])
def test_unit_synonyms_and_scales_have_equal_dimensions(text, expected):
    assert parse_units(text).same(expected)


def test_unit_algebra():
    area = parse_units("m^2")
    assert (area ** Fraction(1, 2)).same(parse_units("m"))
    assert not parse_units("people").same(parse_units("Year"))
    assert str(parse_units("people/(Year*Year)")) == "person/year^2"
    with pytest.raises(ValueError):
        parse_units("people/(Year")


@pytest.mark.parametrize("strict", [True, False])
def test_units_check_finds_each_planted_error_and_only_those(tmp_path, strict):
    path = write_model(tmp_path, "units.mdl", mdl(UNITS_BODY))
    result = check_units(build_ir(path), strict=strict)
    named = {f.split("'")[1] for f in result.failures}
    assert named == set(BAD + (STRICT_ONLY if strict else [])), result.failures
    assert result.strict is strict
    by_name = {f.split("'")[1]: f for f in result.failures}
    assert "person" in by_name["bad sum"] and "year" in by_name["bad sum"]
    assert "person/year" in by_name["Stock"] and "needs a rate in" in by_name["Stock"]
    assert "declared in person" in by_name["bad declared"]


@pytest.mark.parametrize("strict", [True, False])
def test_empowerment_units(strict):
    """The empowerment model's units are consistent under both rule sets."""
    result = check_units(build_ir(EMPOWERMENT_MDL), strict=strict)
    assert result.checked > 150
    assert result.failures == [], result.failures
    assert result.notes == [], result.notes


GROWTH = (
    "Population = INTEG(births - deaths, 100)\n\t~\tpeople [0,?]\n\t~\t|\n"
    + var("births", "Population * birth rate", "people/Year")
    + var("deaths", "Population / lifetime", "people/Year")
    + "birth rate = 0.02\n\t~\t1/Year [0,0.1]\n\t~\t|\n"
    + "lifetime = 40\n\t~\tYear [1,100]\n\t~\t|\n"
)


@pytest.fixture(scope="module")
def growth_path(tmp_path_factory):
    return write_model(tmp_path_factory.mktemp("growth"), "growth.mdl", mdl(GROWTH))


def test_clean_model_passes_every_check(growth_path):
    report = check_model(growth_path)
    assert report.passed, report.text(notes=True)
    assert [r.name for r in report.results] == ["units", "balance", "dt", "extremes"]
    # 0 and 10x of two constants; lifetime 0 and 400 clipped to [1, 100],
    # birth rate 0.2 clipped to 0.1.
    assert report.result("extremes").summary.startswith("4 runs, 0 failing, 3 values clipped")
    assert any("clipped to its documented minimum 1" in n
               for n in report.result("extremes").notes)


def test_balance_detects_a_stock_changed_outside_its_flows(growth_path):
    model = load_model(growth_path)
    results = fine_run(model)
    assert not check_balance(model, build_ir(growth_path), results).failures
    doctored = results.copy()
    doctored.loc[doctored.index[5]:, "Population"] += 1.0  # a jump no flow explains
    failures = check_balance(model, build_ir(growth_path), doctored).failures
    assert len(failures) == 1 and "'Population' changes by" in failures[0]
    assert "births - deaths" in failures[0]


NEGATIVE = (
    "Water = INTEG(refill - use, 10)\n\t~\tlitres\n\t~\t|\n"
    + var("refill", "refill rate", "litres/Year")
    + var("use", "use rate", "litres/Year")
    + "refill rate = 1\n\t~\tlitres/Year\n\t~\t|\n"
    + "use rate = 1.5\n\t~\tlitres/Year\n\t~\t|\n"
)
STIFF = (
    "Level = INTEG(-outflow, 100)\n\t~\tunits\n\t~\t|\n"
    + var("outflow", "Level / adjustment time", "units/Year")
    + "adjustment time = 1.5\n\t~\tYear [1,2]\n\t~\t|\n"
)


def test_battery_reports_a_stock_going_negative_at_zero(tmp_path):
    path = write_model(tmp_path, "negative.mdl", mdl(NEGATIVE))
    report = check_model(path, units=False, balance=False, dt=False)
    failures = report.result("extremes").failures
    assert not report.passed
    assert any(f.startswith("'refill rate' at 0 = 0: stock 'Water' goes negative")
               for f in failures), failures
    assert any(f.startswith("'use rate' at 10x = 15") for f in failures)


def test_battery_reports_infinity_with_time_and_variable(tmp_path):
    body = var("y", "LN(k)", "Dmnl") + "k = 1\n\t~\tDmnl [0,?]\n\t~\t|\n"
    path = write_model(tmp_path, "log.mdl", mdl(body))
    failures = check_model(path, units=False, balance=False, dt=False).result("extremes").failures
    assert len(failures) == 1, failures
    assert failures[0].startswith("'k' at 0 = 0: The simulation produced -inf (infinity) for 'y'")
    assert "at time 0" in failures[0]


def test_dt_test_flags_a_step_dependent_model(tmp_path):
    path = write_model(tmp_path, "stiff.mdl", mdl(STIFF, dt=1))
    report = check_model(path, units=False, balance=False, extremes=False)
    dt = report.result("dt")
    assert not dt.passed
    assert "'outflow'" in dt.failures[0] or "'Level'" in dt.failures[0]
    largest = float(dt.summary.split("largest relative change ")[1].split()[0])
    assert largest > 0.05


def test_cli_check_exit_status(growth_path, tmp_path):
    runner = CliRunner()
    ok = runner.invoke(main, ["check", str(growth_path), "--no-extremes"])
    assert ok.exit_code == 0, ok.output
    assert "PASS units" in ok.output and "All checks passed." in ok.output
    bad = write_model(tmp_path, "units.mdl", mdl(UNITS_BODY))
    failed = runner.invoke(main, ["check", str(bad), "--no-extremes", "--no-dt",
                                  "--no-balance"])
    assert failed.exit_code == 1
    assert "FAIL units" in failed.output and "'bad sum'" in failed.output
    assert "(strict)" in failed.output and "'literal factor'" in failed.output
    lenient = runner.invoke(main, ["check", str(bad), "--no-extremes", "--no-dt",
                                   "--no-balance", "--lenient"])
    assert lenient.exit_code == 1
    assert "(lenient)" in lenient.output and "'literal factor'" not in lenient.output


@pytest.mark.slow
def test_empowerment_passes_every_check():
    """Units, balance, dt and the whole extreme battery (about 190 cases, run at
    once by the ensemble engine) on the empowerment model."""
    report = check_model(EMPOWERMENT_MDL)
    assert report.passed, report.text()
    assert int(report.result("extremes").summary.split()[0]) > 150


def test_battery_engine_and_pysd_agree_on_a_planted_failure(tmp_path):
    """The ensemble path reports the same failing cases as one PySD run per case."""
    from sdkit.checks.battery import run_battery

    model = load_model(write_model(tmp_path, "tank.mdl", mdl(NEGATIVE)))
    baseline = model.run()
    fast, slow = run_battery(model, baseline), run_battery(model, baseline, engine="pysd")
    assert (fast.engine, slow.engine) == ("ensemble", "pysd")
    assert fast.failures and [f.split(":")[0] for f in fast.failures] == [
        f.split(":")[0] for f in slow.failures]


def test_check_model_takes_the_engine_of_the_backend_seam(tmp_path):
    """``engine=`` reaches the extreme battery; the verdicts are the same either way."""
    path = write_model(tmp_path, "tank.mdl", mdl(NEGATIVE))
    auto = check_model(path, units=False, balance=False, dt=False)
    pysd = check_model(path, units=False, balance=False, dt=False, engine="pysd")
    assert not auto.passed and not pysd.passed
    assert auto.result("extremes").failures == pysd.result("extremes").failures
    with pytest.raises(ParameterValueError, match="valid engines"):
        check_model(path, engine="numba")
    done = CliRunner().invoke(main, ["check", str(path), "--no-units", "--no-balance",
                                     "--no-dt", "--engine", "pysd"])
    assert done.exit_code == 1 and "extremes" in done.output

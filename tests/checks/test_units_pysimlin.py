"""sdkit's strict units check against pysimlin's on the same model files.

pysimlin (PyPI ``pysimlin``, the Python binding of the Simlin engine, whose
units check follows Vensim's) reads the same ``.mdl`` and XMILE files. On the
shipped model and on models with planted errors, sdkit's strict check must
report every variable pysimlin reports, except where the two disagree on
purpose (``DISAGREE``): a number factor that exactly bridges two scales of one
unit (``y * 1e6`` from Mt to tonnes). pysimlin has no scale algebra: ``Mt`` and
``tonnes`` are unrelated names to it, so it reports the correct conversion as it
reports a missing one; sdkit reads the number as the conversion and checks its
value (a missing or wrong factor is reported by both).

Where sdkit reports more (``SDKIT_ONLY``): a dimensioned base with a
non-numeric exponent, a comparison of people with years, a STEP time in
people, and a stock whose flow has the stock's units (pysimlin reports that
one on the flow; sdkit on the stock, which the comparison maps back).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from conftest import EMPOWERMENT_MDL, control, write_model

from sdkit.checks.units import check_units
from sdkit.ir.core import build_ir

try:
    import simlin
except ImportError:  # a test dependency (pyproject [test]); required in CI
    if os.environ.get("SDKIT_REQUIRE_ALL") == "1":
        raise
    pytest.skip("pysimlin is not installed (pip install -e '.[test]')", allow_module_level=True)

EMPOWERMENT_XMILE = EMPOWERMENT_MDL.with_suffix(".xmile")
_USED_BY = re.compile(r"used by variable '([^']+)'")


def _key(name: str) -> str:
    return "_".join(name.lower().split())


def simlin_findings(path: Path) -> tuple[set[str], bool]:
    """Variables pysimlin reports a units problem for, and whether it reports any at all.

    Its consistency errors name the variable; its inference summaries list
    related variables (not necessarily the wrong one), except "used by
    variable 'x'", which names it.
    """
    model = simlin.load(str(path))
    named: set[str] = set()
    errors = [e for e in model.project.get_errors()
              if e.unit_error_kind != simlin.errors.UnitErrorKind.NOT_APPLICABLE]
    for error in errors:
        if error.variable_name:
            named.add(_key(error.variable_name))
        named.update(_key(n) for n in _USED_BY.findall(error.details or error.message))
    return named, bool(errors)


def sdkit_findings(path: Path) -> set[str]:
    """Variables sdkit's strict check reports; a stock also stands for its flows."""
    ir = build_ir(path)
    named = {f.split("'")[1] for f in check_units(ir).failures}
    by_name = {v.name: k for k, v in ir.variables.items()}
    for stock in [ir.stocks[by_name[n]] for n in named if by_name.get(n) in ir.stocks]:
        named.update(ir.variables[f].name for f in stock.inflows + stock.outflows)
    return {_key(n) for n in named}


def var(name: str, equation: str, units: str) -> str:
    return f"{name} = {equation}\n\t~\t{units}\n\t~\t|\n"


PLANTED = "{UTF-8}\n" + "".join([
    var("a", "3", "people"), var("b", "2", "Year"), var("rate", "0.1", "1/years"),
    var("fraction", "0.1", "Dmnl"), var("ymt", "2", "Mt"), var("xt", "5", "tonnes"),
    var("ok product", "a * rate", "persons/yr"),
    var("ok literals", "IF THEN ELSE(Time > b, MAX(0, a + 1), 0)", "people"),
    var("literal factor", "1.5 / (1 + a / a)", "Year"),
    var("bad sum", "a + b", "people"),
    var("bad declared", "a * rate", "people"),
    var("bad exp", "EXP(a)", "Dmnl"),
    var("bad ln", "LN(b)", "Dmnl"),
    var("bad min", "MIN(a, b)", "people"),
    var("bad if", "IF THEN ELSE(Time > 1, a, b)", "people"),
    var("bad power", "a ^ rate", "people"),
    var("bad step", "STEP(a, a)", "people"),
    var("bad cmp", "IF THEN ELSE(a > b, 1, 0)", "Dmnl"),
    var("bad smooth", "SMOOTH(a, a)", "people"),
    var("births", "2 * fraction", "people/Year"),
    var("births per year", "2 * rate", "people/Year"),
    var("mt bare", "ymt", "tonnes"),
    var("mt wrong", "ymt * 1000", "tonnes"),
    var("mt scaled", "ymt * 1e+06", "tonnes"),
    var("t to mt", "xt / 1e+06", "Mt"),
    var("sum scales", "xt + ymt", "tonnes"),
    "Stock = INTEG(wrong flow, 0)\n\t~\tpeople\n\t~\t|\n",
    var("wrong flow", "a", "people"),
]) + control(dt=0.5, unit="Year")
DISAGREE = {"mt_scaled", "t_to_mt"}
SDKIT_ONLY = {"bad_power", "bad_step", "bad_cmp"}


def test_planted_errors_sdkit_finds_every_one_pysimlin_finds(tmp_path):
    path = write_model(tmp_path, "planted.mdl", PLANTED)
    theirs, _ = simlin_findings(path)
    ours = sdkit_findings(path)
    assert theirs - ours == DISAGREE, (theirs, ours)
    assert ours - theirs == SDKIT_ONLY | {"stock"}, (theirs, ours)
    assert not {"ok_product", "ok_literals"} & (theirs | ours)


@pytest.mark.parametrize("path", [EMPOWERMENT_MDL, EMPOWERMENT_XMILE], ids=["mdl", "xmile"])
def test_shipped_model_is_clean_for_both(path):
    theirs, any_error = simlin_findings(path)
    assert not any_error and theirs == set()
    assert sdkit_findings(path) == set()


# The truck payload declared in tonnes (its name's unit) instead of Mt: the
# capacity equation must then carry the conversion to Mt/Year.
IN_TONNES = ("tonnes carried per vehicle=\n\t0.0015\n\t~\tMt/(vehicles*Year)",
             "tonnes carried per vehicle=\n\t1500\n\t~\ttonnes/(vehicles*Year)")
CAPACITY = "Carrier vehicles * tonnes carried per vehicle\n"


def _capacity(factor: str) -> tuple[str, str]:
    return CAPACITY, CAPACITY.replace("vehicle\n", f"vehicle{factor}\n")


@pytest.mark.parametrize(("replacements", "disagree"), [
    ([("(intelligentization theme target - Intelligentization theme weight) / theme shift time",
       "(intelligentization theme target - Intelligentization theme weight) / 0.5")], set()),
    ([IN_TONNES], set()),
    ([IN_TONNES, _capacity(" / 1000")], set()),
    ([IN_TONNES, _capacity(" / 1e+06")], {"transport_capacity"}),
], ids=["number-in-years", "no-conversion", "wrong-conversion", "number-conversion"])
def test_shipped_model_with_the_old_equations(tmp_path, replacements, disagree):
    """A time constant written as a number, and conversions gone wrong."""
    text = EMPOWERMENT_MDL.read_text(encoding="utf-8")
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = write_model(tmp_path, "variant.mdl", text)
    theirs, _ = simlin_findings(path)
    ours = sdkit_findings(path)
    assert theirs and theirs - ours == disagree, (theirs, ours)
    assert ours - theirs == set()

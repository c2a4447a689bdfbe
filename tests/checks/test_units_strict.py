"""Strict units rules and unit scales (issue: "Units check is lenient").

Strict (the default, Vensim's rules): a number in ``*`` or ``/`` is
dimensionless; a number takes the units its place fixes (the whole right-hand
side, a sum, a comparison, MIN/MAX, IF THEN ELSE branches, a time argument);
scales are compared, a number factor may carry exactly the scale conversion.
Lenient (``strict=False``, ``--lenient``): the rules before the issue.
"""

from __future__ import annotations

import inspect
from fractions import Fraction

import pytest
from conftest import EMPOWERMENT_MDL, control, write_model

from sdkit.checks import check_model
from sdkit.checks.algebra import DEFAULT_TABLE, DMNL, Unit, parse_units
from sdkit.checks.units import check_units
from sdkit.ir.core import build_ir

BASE = (
    ("pop", "100", "people"), ("fraction", "0.1", "Dmnl"), ("rate", "0.02", "1/Year"),
    ("share", "0.5", "Dmnl"), ("t", "3", "Year"), ("y", "2", "Mt"), ("x", "5", "tonnes"),
    ("pct", "40", "%"), ("flow mt", "1", "Mt/Year"), ("tonnes per Mt", "1e+06", "tonnes/Mt"),
)


def mdl(*variables: tuple[str, str, str]) -> str:
    body = "".join(f"{n} = {e}\n\t~\t{u}\n\t~\t|\n" for n, e, u in variables)
    return "{UTF-8}\n" + body + control(dt=0.5, unit="Year")


STRICT_ONLY = [
    ("2 * fraction", "people/Year"),       # the example
    ("1.5 / (1 + share)", "Year"),         # the first edition's partner onboarding time
    ("3 * share", "people"),
    ("y", "tonnes"),                       # Mt where tonnes are declared
    ("x", "Mt"),
    ("y * 1000", "tonnes"),                # a wrong conversion factor
    ("x + y", "tonnes"),                   # a sum of two scales
    ("MAX(x, y)", "tonnes"),
    ("pct", "Dmnl"),                       # 40 % is 0.4, not 40
    ("EXP(pct)", "Dmnl"),
]
BOTH = [
    ("2 * rate", "people/Year"),
    ("pop * 2", "people/Year"),
    ("pop + t", "people"),
]
NEITHER = [
    ("5", "people"),                       # a constant's own equation
    ("-2 * 3", "people"),
    ("pop + 1", "people"),                 # a number beside an operand with units
    ("MAX(0, pop)", "people"),
    ("IF THEN ELSE(pop > 5, pop, 0)", "people"),
    ("IF THEN ELSE(Time > 5, 1, 0) * pop", "people"),
    ("STEP(pop, 5)", "people"),            # a number as a time argument
    ("SMOOTH(pop, 2)", "people"),
    ("Time + 1", "Year"),
    ("pop / 2", "people"),
    ("x / 1e+06", "tonnes"),               # a pure number does not change units
    ("pop * (1 - 0.5)", "people"),
    ("(1 - share) * pop", "people"),
    ("fraction * pop * rate", "people/Year"),
    ("EXP(-share * 2)", "Dmnl"),
    ("y * 1e+06", "tonnes"),               # exact scaled conversions
    ("x / 1e+06", "Mt"),
    ("-y * 1e+06 * share", "tonnes"),
    ("x + y * 1e+06", "tonnes"),
    ("y * 1e+06 + x", "tonnes"),
    ("MIN(x, y * 1e+06)", "tonnes"),
    ("y * tonnes per Mt", "tonnes"),       # or a named conversion constant
    ("x / tonnes per Mt", "Mt"),
    ("pct / 100", "Dmnl"),
    ("share * 100", "%"),
    ("y * 1000", "kt"),
]


CASES = {f"case {i}": case for i, case in enumerate(STRICT_ONLY + BOTH + NEITHER)}


@pytest.fixture(scope="module")
def found(tmp_path_factory) -> dict[tuple[bool, str], list[str]]:
    """Failures by (strict, case): every case is one variable of one model."""
    cases = [(name, equation, units) for name, (equation, units) in CASES.items()]
    path = write_model(tmp_path_factory.mktemp("cases"), "cases.mdl", mdl(*BASE, *cases))
    ir = build_ir(path)
    by_case: dict[tuple[bool, str], list[str]] = {}
    for strict in (True, False):
        for failure in check_units(ir, strict=strict).failures:
            by_case.setdefault((strict, failure.split("'")[1]), []).append(failure)
    assert {name for _, name in by_case} <= set(CASES), by_case
    return by_case


def _case(equation: str, units: str) -> str:
    return next(name for name, case in CASES.items() if case == (equation, units))


@pytest.mark.parametrize(("equation", "units"), STRICT_ONLY)
def test_strict_flags_what_lenient_accepts(found, equation, units):
    name = _case(equation, units)
    assert len(found.get((True, name), [])) == 1
    assert (False, name) not in found, found[False, name]


@pytest.mark.parametrize(("equation", "units"), BOTH)
def test_both_modes_flag(found, equation, units):
    name = _case(equation, units)
    assert len(found.get((True, name), [])) == len(found.get((False, name), [])) == 1


@pytest.mark.parametrize(("equation", "units"), NEITHER)
def test_both_modes_accept(found, equation, units):
    name = _case(equation, units)
    assert (True, name) not in found and (False, name) not in found, found


def test_messages_name_the_scale_factor_and_the_dimensionless_number(found):
    (mt,) = found[True, _case("y", "tonnes")]
    assert "1e+06 tonne" in mt and "declared in tonne ('tonnes')" in mt
    assert "the same dimensions at another scale: multiply by 1e+06" in mt
    (to_mt,) = found[True, _case("x", "Mt")]
    assert "multiply by 1e-06" in to_mt
    (births,) = found[True, _case("2 * fraction", "people/Year")]
    assert "has units dimensionless" in births and "person/year" in births
    assert "a number in * or / is dimensionless" in births
    (sum_,) = found[True, _case("x + y", "tonnes")]
    assert "`x` has tonne, `y` has 1e+06 tonne" in sum_


def test_stock_rates_and_initial_values_are_compared_with_scales(tmp_path):
    body = [("Stock", "INTEG(flow mt, 0)", "tonnes"), ("Converted", "INTEG(flow mt * 1e+06, 50)",
            "tonnes"), ("Named", "INTEG(flow mt * tonnes per Mt, y)", "tonnes")]
    path = write_model(tmp_path, "stocks.mdl", mdl(*BASE, *body))
    failures = check_units(build_ir(path)).failures
    assert len(failures) == 2, failures
    assert failures[0].startswith("'Stock': its rate `flow mt` has units 1e+06 tonne/year")
    assert failures[1].startswith("'Named': the initial value `y` has units 1e+06 tonne")
    assert check_units(build_ir(path), strict=False).failures == []


def test_strict_is_a_keyword_only_argument_defaulting_to_true():
    parameter = inspect.signature(check_units).parameters["strict"]
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY and parameter.default is True
    assert inspect.signature(check_model).parameters["strict_units"].default is True


# --------------------------------------------------------------------------- algebra
@pytest.mark.parametrize(("text", "scale", "base"), [
    ("Mt", 1e6, "tonne"), ("mt", 1e6, "tonne"), ("kt", 1e3, "tonne"), ("Gt", 1e9, "tonne"),
    ("megatonnes", 1e6, "tonne"), ("t", 1, "tonne"), ("Tonnes", 1, "tonne"),
    ("kg", 1e3, "g"), ("km", 1e3, "m"), ("MW", 1e6, "w"),
    ("CNY_million", 1e6, "cny"), ("million CNY", 1e6, "cny"), ("million_CNY", 1e6, "cny"),
    ("thousand people", 1e3, "person"), ("billion_yuan", 1e9, "cny"),
    ("Mills", 1, "mill"), ("Gadgets", 1, "gadget"), ("kids", 1, "kid"),
])
def test_prefixes_and_scale_words(text, scale, base):
    unit = parse_units(text)
    assert unit.dims == ((base, Fraction(1)),) and unit.scale == pytest.approx(scale)


@pytest.mark.parametrize(("text", "scale"), [
    ("%", 0.01), ("percent", 0.01), ("thousand", 1e3), ("tonnes/Mt", 1e-6), ("Dmnl", 1),
    ("1", 1), ("Mt/kt", 1e3),
])
def test_pure_scales(text, scale):
    unit = parse_units(text)
    assert unit.dims == () and unit.scale == pytest.approx(scale)


def test_scaled_units_compare_by_dimension_and_by_scale():
    mt, tonnes = parse_units("Mt/Year"), parse_units("tonnes/Year")
    assert mt.same(tonnes) and not mt.equal(tonnes)
    assert mt.factor(tonnes) == pytest.approx(1e6)
    assert parse_units("CNY_million/Mt").equal(parse_units("yuan/t"))
    assert parse_units("warehouses*Year/Mt") * parse_units("Mt/Year") == parse_units("warehouse")
    assert str(mt) == "1e+06 tonne/year" and str(parse_units("%")) == "0.01"
    assert DMNL.equal(Unit((), 1.0 + 1e-12))


def test_the_table_takes_a_model_s_own_synonyms_and_scales():
    table = DEFAULT_TABLE.extended(synonyms={"Boxes": "box"}, scaled={"crate": (12.0, "box")},
                                   prefixable={"Box"})
    assert parse_units("crates/Boxes", table).equal(Unit((), 12.0))
    assert parse_units("kbox", table).scale == 1e3
    assert parse_units("crates") != parse_units("crates", table)  # the default is unchanged


# --------------------------------------------------------------------------- shipped model
def _variant(tmp_path, replacements: list[tuple[str, str]]):
    text = EMPOWERMENT_MDL.read_text(encoding="utf-8")
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return build_ir(write_model(tmp_path, "variant.mdl", text))


# The truck payload declared in tonnes (its name's unit) instead of Mt: the
# capacity equation must then carry the conversion to Mt/Year.
IN_TONNES = ("tonnes carried per vehicle=\n\t0.0015\n\t~\tMt/(vehicles*Year)",
             "tonnes carried per vehicle=\n\t1500\n\t~\ttonnes/(vehicles*Year)")
CAPACITY = "Carrier vehicles * tonnes carried per vehicle\n"


def _capacity(factor: str) -> tuple[str, str]:
    return CAPACITY, CAPACITY.replace("vehicle\n", f"vehicle{factor}\n")


@pytest.mark.parametrize(("replacements", "strict", "lenient"), [
    # a time constant written as a number: 0.5 is dimensionless, the drift is 1/Year
    ([("(intelligentization theme target - Intelligentization theme weight) / theme shift time",
       "(intelligentization theme target - Intelligentization theme weight) / 0.5")],
     ["intelligentization theme shift"], []),
    # the conversion as a bare number is exact: accepted (pysimlin reports it)
    ([IN_TONNES, _capacity(" / 1e+06")], [], []),
    # no conversion, or a wrong one: tonnes/Year declared Mt/Year
    ([IN_TONNES], ["transport capacity"], []),
    ([IN_TONNES, _capacity(" / 1000")], ["transport capacity"], []),
], ids=["number-in-years", "number-conversion", "no-conversion", "wrong-conversion"])
def test_the_shipped_model_s_fixes_are_what_the_check_wants(tmp_path, replacements, strict,
                                                             lenient):
    ir = _variant(tmp_path, replacements)
    for mode, expected in ((True, strict), (False, lenient)):
        result = check_units(ir, strict=mode)
        assert [f.split("'")[1] for f in result.failures] == expected, result.failures

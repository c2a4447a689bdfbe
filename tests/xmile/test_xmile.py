"""The XMILE exporter: the checked-in file, equal results, structure, mapping, refusals."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import control

import sdkit
from sdkit.cli.app import main
from sdkit.errors import UnsupportedConstructError
from sdkit.ir.core import BinOp, Call, HiddenStock, LookupCall, Num, Ref, UnaryOp
from sdkit.xmile.check import xmile_problems
from sdkit.xmile.expr import EquationWriter, quote_name
from sdkit.xmile.writer import NAMESPACE, export_xmile

REPO = Path(__file__).resolve().parents[2]
EMPOWERMENT_MDL = REPO / "models" / "empowerment.mdl"
EMPOWERMENT_XMILE = REPO / "models" / "empowerment.xmile"
NS = {"x": NAMESPACE}

CONTROL = control()


def _key(name: str) -> str:
    return " ".join(name.replace("_", " ").split()).lower()


def test_checked_in_xmile_is_up_to_date(tmp_path: Path) -> None:
    target = tmp_path / "empowerment.xmile"
    result = CliRunner().invoke(main, ["export", str(EMPOWERMENT_MDL), "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == EMPOWERMENT_XMILE.read_bytes(), (
        "models/empowerment.xmile is out of date; regenerate it with "
        "`sdkit export models/empowerment.mdl -o models/empowerment.xmile`")


def test_pysd_runs_mdl_and_xmile_to_the_same_results(baseline) -> None:
    exported = sdkit.load_model(EMPOWERMENT_XMILE).run()
    columns = {_key(c): c for c in exported.columns}
    missing = [c for c in baseline.columns if _key(c) not in columns]
    assert not missing
    # XMILE saves every time step (PySD ignores SAVEPER there): compare at the
    # .mdl's saved times, which are all among them.
    assert np.isin(baseline.index, exported.index).all()
    ours = exported.loc[baseline.index, [columns[_key(c)] for c in baseline.columns]]
    a, b = baseline.to_numpy(float), ours.to_numpy(float)
    np.testing.assert_allclose(b, a, rtol=1e-9, atol=0)


def test_exported_file_is_well_formed_xmile_10(empowerment) -> None:
    root = ET.parse(EMPOWERMENT_XMILE).getroot()
    assert root.tag == f"{{{NAMESPACE}}}xmile" and root.get("version") == "1.0"
    assert xmile_problems(EMPOWERMENT_XMILE) == []
    specs = root.find("x:sim_specs", NS)
    assert specs.get("method") == "Euler" and specs.get("time_units") == "Year"
    assert float(specs.find("x:start", NS).text) == empowerment.initial_time
    assert float(specs.find("x:stop", NS).text) == empowerment.final_time
    assert float(specs.find("x:dt", NS).text) == empowerment.time_step
    names = {_key(n.get("name")) for n in root.find("x:model/x:variables", NS)}
    assert {_key(v) for v in empowerment.variables} <= names
    stocks = root.findall("x:model/x:variables/x:stock", NS)
    assert len(stocks) == len(empowerment.stocks())
    assert all(s.find("x:inflow", NS) is not None or s.find("x:outflow", NS) is not None
               for s in stocks)


def test_tiny_model_parts(tiny_path: Path, tiny) -> None:
    text = export_xmile(tiny_path)
    root = ET.fromstring(text.encode())
    variables = root.find("x:model/x:variables", NS)
    population = variables.find("x:stock[@name='Population']", NS)
    assert population.find("x:eqn", NS).text == "initial_population"
    assert [n.text for n in population.findall("x:inflow", NS)] == ["births"]
    assert [n.text for n in population.findall("x:outflow", NS)] == ["deaths"]
    assert population.find("x:units", NS).text == "people"
    assert population.find("x:doc", NS).text == "Number of people alive."
    assert population.find("x:range", NS).attrib == {"min": "0.0", "max": "INF"}
    assert variables.find("x:flow[@name='births']/x:eqn", NS).text == \
        "Population * birth_rate * policy_effect"
    assert variables.find("x:aux[@name='net growth']", NS) is not None
    # The lookup, called with one input, is embedded in an auxiliary of its name.
    assert variables.find("x:gf", NS) is None
    embedded = variables.find("x:aux[@name='policy effect']", NS)
    assert embedded.find("x:eqn", NS).text == "policy_level"
    assert embedded.find("x:doc", NS).text == "Effect of the policy level on births."
    assert embedded.find("x:units", NS).text == "dmnl"
    gf = embedded.find("x:gf", NS)
    assert gf.find("x:xpts", NS).text == "0.0,10.0"
    assert gf.find("x:ypts", NS).text == "0.5,1.5"
    assert gf.find("x:yscale", NS).attrib == {"min": "0.0", "max": "2.0"}
    assert xmile_problems(text) == []


def _writer(**hidden: HiddenStock) -> EquationWriter:
    names = {n: n.replace("_", " ") for n in ("a", "b", "c", "initial_time", "nothing")}
    return EquationWriter(names, hidden, set())


@pytest.mark.parametrize("expr, text", [
    (BinOp("-", Ref("a"), BinOp("+", Ref("b"), Ref("c"))), "a - (b + c)"),
    (BinOp("+", BinOp("-", Ref("a"), Ref("b")), Ref("c")), "a - b + c"),
    (BinOp("*", Call("modulo", (Ref("a"), Ref("b"))), Ref("c")), "(a mod b) * c"),
    (BinOp("^", UnaryOp("-", Ref("a")), Num(2)), "(-a) ^ 2"),
    (BinOp("*", Ref("a"), Num(-2.5)), "a * (-2.5)"),
    (UnaryOp("not", BinOp(">", Ref("a"), Ref("b"))), "NOT (a > b)"),
    (BinOp("or", BinOp("and", Ref("a"), Ref("b")), Ref("c")), "(a AND b) OR c"),
    (Call("if_then_else", (Ref("a"), Call("if_then_else", (Ref("b"), Num(1), Num(2))), Num(3))),
     "IF a THEN (IF b THEN 1 ELSE 2) ELSE 3"),
    (Call("xidz", (Ref("a"), Ref("b"), Num(1))), "SAFEDIV(a, b, 1)"),
    (Call("zidz", (Ref("a"), Ref("b"))), "SAFEDIV(a, b)"),
    (Call("log", (Ref("a"), Num(10))), "LN(a) / LN(10)"),
    (Call("integer", (Ref("time"),)), "INT(TIME)"),
    (Call("pulse", (Num(3), Num(2))),
     "IF (TIME >= 3 - 1e-06) AND (TIME < 3 + 2) THEN 1 ELSE 0"),
    (Ref("initial_time"), "initial_time"),
    (Ref("nothing"), '"nothing"'),
])
def test_expressions_map_to_xmile(expr, text) -> None:
    assert _writer().equation(expr, "v") == text


def test_lookup_calls_are_references_to_their_embedded_auxiliary() -> None:
    call = LookupCall("table", BinOp("*", Ref("a"), Num(2)))
    writer = EquationWriter({"table": "table", "a": "a"}, {}, {"table"},
                            {("table", call.arg): "table lookup 1"})
    assert writer.equation(BinOp("+", call, Num(1)), "v") == "table_lookup_1 + 1"
    for unplanned, construct in ((LookupCall("table", Ref("a")), "graphical function 'table'"),
                                 (LookupCall("a", Ref("a")), "a call of 'a'")):
        with pytest.raises(UnsupportedConstructError, match=construct):
            writer.equation(unplanned, "v")
    with pytest.raises(UnsupportedConstructError, match="reference to graphical function"):
        writer.equation(Ref("table"), "v")


def test_hidden_stocks_map_to_xmile_builtins() -> None:
    smooth = HiddenStock("_smooth_v", "smooth", "v",
                         {"input": Ref("a"), "smooth_time": Num(2), "initial": Ref("a"),
                          "order": Num(3)})
    delay = HiddenStock("_delayn_v", "delay_n", "v",
                        {"input": Ref("a"), "delay_time": Num(2), "initial": Num(0),
                         "order": Ref("b")})
    writer = _writer(_smooth_v=smooth, _delayn_v=delay)
    assert writer.equation(Ref("_smooth_v"), "v") == "SMTH3(a, 2, a)"
    assert writer.equation(Ref("_delayn_v"), "v") == "DELAYN(a, 2, b, 0)"


def test_names_are_quoted_when_needed() -> None:
    assert quote_name("Teacup Temperature") == "Teacup_Temperature"
    assert quote_name("1st stage") == '"1st stage"'
    assert quote_name("notice") == '"notice"'
    assert quote_name('say "hi"') == '"say \\"hi\\""'
    assert quote_name("智慧化 weight") == "智慧化_weight"


@pytest.mark.parametrize("equation, construct, variable", [
    ("out = ACTIVE INITIAL(2 * Time, 1)", "ACTIVE INITIAL", "out"),
    ("out = RANDOM UNIFORM(0, 1, 3)", "RANDOM UNIFORM", "out"),
    ("out = SAMPLE IF TRUE(Time > 2, Time, 0)", "SAMPLE IF TRUE", "out"),
    ("out = SINH(Time)", "SINH", "out"),
    ("dims: one, two ~~|\nout[dims] = 1, 2", "subscripts", "out"),
])
def test_unsupported_constructs_are_refused(tmp_path: Path, equation: str, construct: str,
                                            variable: str) -> None:
    path = tmp_path / "model.mdl"
    path.write_text("{UTF-8}\n" + equation + "\n\t~\tdmnl\n\t~\t|\n" + CONTROL, encoding="utf-8")
    with pytest.raises(UnsupportedConstructError) as caught:
        export_xmile(path)
    assert caught.value.construct == construct and caught.value.variable == variable
    assert construct in str(caught.value) and repr(variable) in str(caught.value)


def test_dynamic_times_are_refused_by_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "model.mdl"
    text = CONTROL.replace("FINAL TIME = 10", "FINAL TIME = IF THEN ELSE(Time < 5, 10, 20)")
    path.write_text("{UTF-8}\nout = 1\n\t~\tdmnl\n\t~\t|\n" + text, encoding="utf-8")
    result = CliRunner().invoke(main, ["export", str(path), "-o", str(tmp_path / "m.xmile")])
    assert result.exit_code == 2
    assert "dynamic control variable 'FINAL TIME'" in result.output
    assert not (tmp_path / "m.xmile").exists()


def test_structure_check_finds_problems() -> None:
    text = EMPOWERMENT_XMILE.read_text(encoding="utf-8")
    broken = text.replace("<inflow>intelligentization_theme_shift</inflow>",
                          "<inflow>no_such_flow</inflow>", 1)
    broken = broken.replace("MAX(0, potential_buyers",
                            "MAXX(0, undefined_thing", 1)
    problems = xmile_problems(broken)
    assert any("'no_such_flow' of stock" in p for p in problems)
    assert any("'undefined thing', which is not defined" in p for p in problems)
    assert any("calls 'maxx'" in p for p in problems)
    assert xmile_problems("<xmile><header/>")[0].startswith("not well-formed XML")

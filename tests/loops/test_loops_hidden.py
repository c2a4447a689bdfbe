"""Loop scores through SMOOTH, DELAY, TREND and FORECAST (sdkit.loops.hidden).

A model written with DELAY3 (or SMOOTH, SMOOTH3, DELAY1, DELAY N) must give the loop
scores of the same model written out with explicit stocks, as Vensim defines the
functions (DELAY3: stocks LV1..LV3 and their outflows; SMOOTH3: three stocks each
adjusting to the one before).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from test_loops import eq

import sdkit
from sdkit.cli.app import main
from sdkit.errors import UnsupportedConstructError
from sdkit.loops import find_loops, loop_dominance
from sdkit.loops.evaluate import environment, evaluate
from sdkit.loops.graph import model_ir
from sdkit.loops.hidden import STATUS, expand

#: Largest relative difference allowed between the loop scores of the two versions.
RTOL = 1e-9


def control(final: float, dt: float, unit: str = "Week") -> str:
    return "".join(eq(name, str(value)).replace("\t~\t\n", f"\t~\t{unit}\n", 1)
                   for name, value in [("INITIAL TIME", 0), ("FINAL TIME", final),
                                       ("TIME STEP", dt), ("SAVEPER", dt)])


def write(folder: Path, name: str, body: str, final: float = 40, dt: float = 0.125) -> Path:
    path = folder / f"{name}.mdl"
    path.write_text("{UTF-8}\n" + body + control(final, dt), encoding="utf-8")
    return path


#: Goal-seeking inventory: orders refill the inventory towards its goal through a supply
#: line (the ARRIVALS equation); shipments swing so that every loop stays active.
INVENTORY = (eq("Inventory", "INTEG(arrivals - shipments, 100)")
             + eq("shipments", "20 + 5 * SIN(Time / 3)")
             + eq("orders", "shipments + (desired inventory - Inventory) / adjustment time")
             + eq("desired inventory", "150") + eq("adjustment time", "4")
             + eq("delay time", "{delay}"))


def delay_chain(order: int) -> str:
    """DELAY n written out (Vensim's definition: stocks and their outflows)."""
    text = ""
    for i in range(1, order + 1):
        inflow = "orders" if i == 1 else f"flow {i - 1}"
        outflow = "arrivals" if i == order else f"flow {i}"
        text += eq(f"Line {i}", f"INTEG({inflow} - {outflow}, orders * delay time / {order})")
        text += eq(outflow, f"Line {i} / (delay time / {order})")
    return text


def smooth_chain(order: int) -> str:
    """SMOOTH n written out (each stock adjusts to the one before, the first to orders)."""
    text = ""
    for i in range(1, order + 1):
        target = "orders" if i == 1 else f"Line {i - 1}"
        text += eq(f"Line {i}", f"INTEG(({target} - Line {i}) / (delay time / {order}), orders)")
    return text + eq("arrivals", f"Line {order}")


CASES = {  # construct -> (ARRIVALS equation, the explicit version, its stocks' labels)
    "DELAY3": ("DELAY3(orders, delay time)", delay_chain(3), ["stock 1", "stock 2", "stock 3"]),
    "DELAY1": ("DELAY1(orders, delay time)", delay_chain(1), ["stock"]),
    "DELAY N": ("DELAY N(orders, delay time, orders, 4)", delay_chain(4),
                ["stock 1", "stock 2", "stock 3", "stock 4"]),
    "SMOOTH": ("SMOOTH(orders, delay time)", smooth_chain(1), [""]),
    "SMOOTH3": ("SMOOTH3(orders, delay time)", smooth_chain(3), ["stock 1", "stock 2", ""]),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hidden")


def _pair(folder: Path, construct: str, delay: str) -> tuple:
    function, chain, stages = CASES[construct]
    body = INVENTORY.format(delay=delay)
    hidden = sdkit.load_model(write(folder, f"f{len(stages)}{construct[0]}",
                                    body + eq("arrivals", function)))
    explicit = sdkit.load_model(write(folder, f"x{len(stages)}{construct[0]}", body + chain))
    label = f"{construct} in 'arrivals'"
    names = {(f"{label} {s}" if s else label): f"Line {i + 1}" for i, s in enumerate(stages)}
    names |= {f"{label} flow {i}": f"flow {i}" for i in range(1, len(stages))}
    names |= {"Inventory": "Inventory", "delay time": "delay time"}
    return hidden, explicit, names


def _by_stocks(dom, names: dict[str, str]) -> dict[frozenset, str]:
    """Loop id by the set of (explicit) stocks and flows it passes."""
    keep = set(names.values())
    return {frozenset(names.get(v, v) for v in lp.variables if names.get(v, v) in keep): lp.id
            for lp in dom.loops.loops}


# A delay time that changes with the inventory puts it on loops through every stage (DELAY
# N is then refused: PySD ages its delay time stage by stage, see below).
@pytest.mark.parametrize(("construct", "delay"), [
    *((construct, "6") for construct in CASES),
    *((construct, "4 + Inventory / 50") for construct in CASES if construct != "DELAY N")])
def test_a_function_scores_like_its_explicit_stocks(folder, construct, delay):
    hidden, explicit, names = _pair(folder, construct, delay)
    a = loop_dominance(hidden, hidden.run(), window=0)
    b = loop_dominance(explicit, explicit.run(), window=0)
    mine, theirs = _by_stocks(a, names), _by_stocks(b, names)
    assert set(mine) == set(theirs) and len(mine) == len(a.loops.loops) == len(b.loops.loops)
    assert len(mine) >= 2
    for key, loop_id in mine.items():
        ours, expected = a.scores[loop_id].to_numpy(), b.scores[theirs[key]].to_numpy()
        scale = np.abs(expected).max()
        np.testing.assert_allclose(ours, expected, rtol=RTOL, atol=RTOL * scale,
                                   err_msg=f"{construct} {sorted(key)}")
        np.testing.assert_allclose(a.relative_all[loop_id], b.relative_all[theirs[key]],
                                   rtol=0, atol=1e-9)
        assert a.loops[loop_id].polarity == b.loops[theirs[key]].polarity


def test_delay3_loops_pass_its_stocks_and_flows(folder):
    hidden, _, _ = _pair(folder, "DELAY3", "6")
    loops = find_loops(hidden)
    major = next(lp for lp in loops.loops if "Inventory" in lp.variables)
    assert set(major.variables) == {
        "Inventory", "orders", "arrivals", "DELAY3 in 'arrivals'",
        *(f"DELAY3 in 'arrivals' {part}" for part in
          ("stock 1", "flow 1", "stock 2", "flow 2", "stock 3"))}
    assert major.polarity == "balancing"
    assert loops.links[("orders", "DELAY3 in 'arrivals' stock 1")].polarity == "+"
    assert loops.links[("DELAY3 in 'arrivals' flow 1", "DELAY3 in 'arrivals' stock 1")
                       ].polarity == "-"
    text = CliRunner().invoke(main, ["loops", str(hidden.path)]).output
    assert "4 feedback loops analysed" in text and "Week" in text and "year" not in text


#: Two stocks: a stock drained in proportion to its smoothed (perceived) value.
PERCEIVED = (eq("Stock", "INTEG(inflow - outflow, 100)") + eq("inflow", "10")
             + eq("outflow", "Perceived stock / 5") + eq("Perceived stock", "SMOOTH(Stock, 2)"))


def test_link_score_into_a_smooth_by_hand(folder):
    # dt = 1: S = 100, 90, 80, 71; the smooth P = 100, 100, 95, 87.5 (P += (S - P) / 2).
    # P's net rate is (S - P) / 2, so LS(S -> P) = |dS / (dS - dP)| = 10/10, 10/5, 9/1.5,
    # and its own link LS(P -> P) = -|dP / (dS - dP)| = 0, -1, -5.
    model = sdkit.load_model(write(folder, "perceived", PERCEIVED, final=3, dt=1))
    results = model.run()
    np.testing.assert_allclose(results["Stock"], [100, 90, 80, 71])
    np.testing.assert_allclose(results["Perceived stock"], [100, 100, 95, 87.5])
    dom = loop_dominance(model, results, window=0)
    smooth = "SMOOTH in 'Perceived stock'"
    np.testing.assert_allclose(dom.links[("Stock", smooth)], [1.0, 2.0, 6.0], rtol=1e-12)
    np.testing.assert_allclose(dom.links[(smooth, smooth)], [0.0, -1.0, -5.0], rtol=1e-12)
    # Perceived stock is the smooth's value (1 once it changes; 0 while it does not).
    np.testing.assert_allclose(dom.links[(smooth, "Perceived stock")], [0.0, 1.0, 1.0])
    # The loop through both stocks: the outflow is the only change of the net flow (-1).
    major = next(lp for lp in dom.loops.loops if "Stock" in lp.variables)
    np.testing.assert_allclose(dom.scores[major.id], [0.0, -2.0, -6.0], rtol=1e-12)


#: Every construct, each inside a loop through Stock.
EVERY = (eq("Stock", "INTEG(inflow - outflow, 10)")
         + eq("a", "SMOOTH(Stock * 0.1, 2)") + eq("b", "SMOOTH3(Stock * 0.1, 3)")
         + eq("c", "SMOOTHI(Stock * 0.01, 2, 1)")
         + eq("d", "SMOOTH3I(Stock * 0.01, 2, 1) + SMOOTH N(Stock * 0.01, 2, 1, 4)")
         + eq("inflow", "a + b + c + d + 1 + 0.5 * SIN(Time)")
         + eq("e", "DELAY1(inflow, tau)")
         + eq("f", "DELAY3(inflow * 0.1, 3) + DELAY1I(inflow * 0.01, 2, 1)")
         + eq("g", "DELAY3I(inflow * 0.01, 2, 1) + DELAY N(inflow * 0.01, 2, 1, order)")
         + eq("h", "TREND(Stock, 2, 0) + FORECAST(Stock, 2, 1) + INITIAL(Stock)")
         + eq("k", "DELAY FIXED(Stock, 2, 0) + SAMPLE IF TRUE(Time > 3, Stock, 0)")
         + eq("outflow", "e + f + g + h * 0.001 + k * 0.001 + Stock * 0.05")
         + eq("tau", "2 + Stock / 100") + eq("order", "4"))


def test_every_function_is_reproduced_from_the_run(folder):
    model = sdkit.load_model(write(folder, "every", EVERY, final=20, dt=0.25))
    results = model.run()
    ir = expand(model_ir(model))
    problems: dict[str, str] = {}
    env = environment(ir, results, model.time_step, problems)
    assert {s.construct for s in ir.structures.values()} == set(STATUS)
    for name in "abcdefghk":  # the functions' values, integrated from the run, are PySD's
        np.testing.assert_allclose(evaluate(ir.equation_of(name), env, ir), results[name],
                                   rtol=1e-13, atol=1e-13, err_msg=name)
    assert problems == {}
    refused = {s.construct for s in ir.structures.values() if s.refused}
    assert refused == {"DELAY FIXED", "SAMPLE IF TRUE"}
    # INITIAL is a constant: no link leads into it, so no loop passes through it.
    assert not any("INITIAL" in v for lp in find_loops(model, results).loops
                   for v in lp.variables)


@pytest.mark.filterwarnings("ignore::UserWarning")  # PySD lowers the DELAY3's order
@pytest.mark.parametrize(("function", "message"), [
    ("DELAY FIXED(inflow, 2, 1)", "DELAY FIXED in 'outflow': a pipeline delay has no stock"),
    ("SAMPLE IF TRUE(Time > 3, inflow, 1)", "SAMPLE IF TRUE in 'outflow': a held sample"),
    ("DELAY N(inflow, 2 + Stock / 100, 1, 3)", "DELAY N in 'outflow': its delay time changes"),
    ("DELAY N(inflow, 2, 1, Stock / 10)", "DELAY N in 'outflow': its order is not a positive"),
    ("DELAY3(inflow, 0.6)", "DELAY3 in 'outflow': its order in this run (2;"),
])
def test_a_loop_through_an_unsupported_function_is_one_line(folder, function, message):
    body = (eq("Stock", "INTEG(inflow - outflow, 10)") + eq("inflow", "1 + Stock * 0.01")
            + eq("outflow", f"{function} + Stock * 0.01"))
    path = write(folder, "refused", body, final=10, dt=0.25)
    model = sdkit.load_model(path)
    with pytest.raises(UnsupportedConstructError, match="Loop scores cannot pass through"):
        loop_dominance(model, model.run())
    out = CliRunner().invoke(main, ["loops", str(path)])
    lines = [line for line in out.stderr.splitlines() if "warning" not in line]
    assert out.exit_code != 0 and len(lines) == 1 and message in lines[0], out.stderr
    assert "Traceback" not in out.output

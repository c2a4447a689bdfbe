"""Feedback-loop analysis on small models with known answers (sdkit.loops)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import sdkit
from sdkit.cli.app import main
from sdkit.errors import LoopLimitError, UnsupportedConstructError
from sdkit.ir.core import Call, Num
from sdkit.loops import find_loops, loop_dominance
from sdkit.loops.evaluate import evaluate
from sdkit.model.card import LoopSpec, ModelCard

CONTROL = """
FINAL TIME = {final}
\t~\tyear
\t~\t|
INITIAL TIME = 0
\t~\tyear
\t~\t|
SAVEPER = {saveper}
\t~\tyear
\t~\t|
TIME STEP = {dt}
\t~\tyear
\t~\t|
"""


def eq(name: str, text: str) -> str:
    return f"{name} = {text}\n\t~\t\n\t~\t|\n"


def mdl(body: str, final: float, saveper: float, dt: float) -> str:
    return "{UTF-8}\n" + body + CONTROL.format(final=final, saveper=saveper, dt=dt)


R, K, N0, SAVEPER, DT = 0.5, 1000.0, 10.0, 0.25, 1 / 256
LOGISTIC = mdl(
    eq("Population", f"INTEG(births - deaths, {N0})") + eq("births", "growth rate * Population")
    + eq("deaths", "growth rate * Population * Population / carrying capacity")
    + eq("growth rate", str(R)) + eq("carrying capacity", str(K)),
    final=25, saveper=SAVEPER, dt=DT)

#: Goal seeking with the net rate written inline in the stock (no flow variable).
GOAL = mdl(eq("Level", "INTEG((goal - Level) / adjustment time, 0)")
           + eq("goal", "100") + eq("adjustment time", "4"), final=20, saveper=0.5, dt=0.125)

#: Damped oscillator: the major loop (Position -> acceleration -> Velocity -> position
#: change -> Position) and the minor damping loop (Velocity -> acceleration -> Velocity)
#: are both balancing and take turns dominating as the energy moves between position
#: and velocity.  (An undamped mass-spring has a single loop, so it cannot alternate.)
OSCILLATOR = mdl(
    eq("Position", "INTEG(position change, 1)") + eq("position change", "Velocity")
    + eq("Velocity", "INTEG(acceleration, 0)")
    + eq("acceleration", "-stiffness * Position - damping * Velocity")
    + eq("stiffness", "1") + eq("damping", "0.3"), final=30, saveper=0.125, dt=1 / 64)

#: A lookup in a loop (numerical polarity) and MIN, MAX, EXP, SQRT, IF THEN ELSE, STEP.
FUNCTIONS = mdl(
    eq("Stock", "INTEG(inflow - outflow, 10)")
    + eq("inflow", "MIN(effect(Stock / 20), 5) * SQRT(MAX(Stock, 0)) * EXP(0)")
    + eq("outflow", "IF THEN ELSE(Stock > 15, Stock / 5, Stock / 10) + STEP(1, 3)")
    + "effect(\n\t[(0,0)-(2,2)],(0,1),(1,0.5),(2,0.2))\n\t~\t\n\t~\t|\n",
    final=10, saveper=0.5, dt=0.125)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("loops")
    paths = {}
    for name, text in [("logistic", LOGISTIC), ("goal", GOAL), ("oscillator", OSCILLATOR),
                       ("functions", FUNCTIONS)]:
        paths[name] = folder / f"{name}.mdl"
        paths[name].write_text(text, encoding="utf-8")
    return paths


def test_logistic_loops_polarity_and_switch_time(models):
    model = sdkit.load_model(models["logistic"])
    results = model.run()
    loops = find_loops(model, results)
    by_flow = {lp.variables[1]: lp for lp in loops.loops}
    assert set(by_flow) == {"births", "deaths"}
    assert by_flow["births"].polarity == "reinforcing"
    assert by_flow["deaths"].polarity == "balancing"
    assert loops.links[("births", "Population")].kind == "inflow"
    assert loops.links[("deaths", "Population")].polarity == "-"
    assert {lk.method for lk in loops.links.values()} == {"symbolic"}

    dominance = loop_dominance(model, results, window=0, loops=loops)
    rel = dominance.relative_all
    growth, limit = rel[by_flow["births"].id], rel[by_flow["deaths"].id]
    assert np.allclose(growth.abs() + limit.abs(), 1.0)
    assert (growth >= 0).all() and (limit <= 0).all()
    gap = (growth.abs() - limit.abs()).to_numpy()
    i = int(np.argmax(gap < 0))
    t0, t1 = rel.index[i - 1], rel.index[i]
    crossing = t0 + gap[i - 1] / (gap[i - 1] - gap[i]) * (t1 - t0)
    # Scores are per TIME STEP whatever SAVEPER is; a score at t measures the change
    # over (t - dt, t]: centre it.
    assert len(rel) == 25 * 256
    switch = crossing - DT / 2
    analytic = math.log((K - N0) / N0) / R
    # (Euler integration moves the inflection by about 1.6 time steps.)
    assert abs(switch - analytic) <= 4 * DT
    assert (gap[: i - 1] > 0).all() and (gap[i + 1:] < 0).all()
    # The smoothed dominant set switches from the growth loop to the limit once.
    smoothed = loop_dominance(model, results, window=1.0, loops=loops).dominant
    leaders = [group[0] for group in smoothed["loops"]]
    changes = [k for k in range(1, len(leaders)) if leaders[k] != leaders[k - 1]]
    assert len(changes) == 1
    assert abs(smoothed["time"].iloc[changes[0]] - analytic) <= 2 * SAVEPER


def test_goal_seeking_has_one_balancing_loop_with_relative_score_minus_one(models):
    model = sdkit.load_model(models["goal"])
    results = model.run()
    dominance = loop_dominance(model, results)
    assert [lp.variables for lp in dominance.loops.loops] == [("Level",)]
    assert dominance.loops.loops[0].polarity == "balancing"
    assert dominance.loops.links[("Level", "Level")].kind == "rate"
    assert np.allclose(dominance.relative_all["L1"], -1.0)
    assert set(dominance.relative["loop"]) == {"L1"}
    assert dominance.dominant["loops"].map(len).eq(1).all()


def test_oscillator_loops_alternate(models):
    model = sdkit.load_model(models["oscillator"])
    results = model.run()
    dominance = loop_dominance(model, results, window=0)
    loops = {len(lp): lp for lp in dominance.loops.loops}
    assert sorted(loops) == [2, 4]
    assert {lp.polarity for lp in loops.values()} == {"balancing"}
    rel = dominance.relative_all
    major = rel[loops[4].id].abs() > rel[loops[2].id].abs()
    switches = int((major.astype(int).diff().abs() > 0).sum())
    assert switches >= 6
    assert 0.1 < major.mean() < 0.9


def test_functions_lookup_polarity_is_numerical_and_evaluator_matches(models):
    model = sdkit.load_model(models["functions"])
    results = model.run()
    loops = find_loops(model, results)
    link = loops.links[("Stock", "inflow")]
    assert link.method == "numerical"
    assert loops.links[("Stock", "outflow")].polarity == "+"
    ir = loops.ir
    from sdkit.loops.evaluate import environment

    env = environment(ir, results)
    for name in ("inflow", "outflow"):
        value = evaluate(ir.variable(name).equation, env, ir)
        np.testing.assert_allclose(value, results[name], rtol=1e-12)
    with pytest.raises(UnsupportedConstructError, match="RANDOM_UNIFORM"):
        evaluate(Call("random_uniform", (Num(0), Num(1), Num(0))), env, ir)


def test_loop_limit_and_card_names(models):
    model = sdkit.load_model(models["oscillator"])
    results = model.run()
    with pytest.raises(LoopLimitError, match="more than 1 feedback loops"):
        find_loops(model, results, max_loops=1)
    card = ModelCard(Path("x.toml"), loops=(
        LoopSpec("B1", "balancing", "damping", "", ("acceleration", "Velocity")),
        LoopSpec("B2", "balancing", "spring", "", ("Position", "acceleration", "Velocity")),
    ))
    loops = find_loops(model, results, card=card)
    assert loops["B1"].match == 1.0 and loops["B1"].variables == ("Velocity", "acceleration")
    assert loops["B2"].match == 0.75 and len(loops["B2"]) == 4
    assert [lp.id for lp in loops.loops] == ["B1", "B2"]


def test_cli_prints_loops_and_updates_a_page(models, tmp_path):
    runner = CliRunner()
    out = runner.invoke(main, ["loops", str(models["logistic"]), "--window", "0.5"])
    assert out.exit_code == 0, out.output
    assert "2 feedback loops analysed" in out.output and "reinforcing" in out.output
    page = tmp_path / "page.md"
    page.write_text("# x\n<!-- loops:begin -->\nold\n<!-- loops:end -->\n", encoding="utf-8")
    out = runner.invoke(main, ["loops", str(models["goal"]), "--update", str(page)])
    assert out.exit_code == 0, out.output
    assert "old" not in page.read_text(encoding="utf-8")
    assert "1 feedback loop analysed in 1 partition" in page.read_text(encoding="utf-8")
    bad = runner.invoke(main, ["loops", str(models["goal"]), "--window", "-1"])
    assert bad.exit_code == 2 and "--window" in bad.output

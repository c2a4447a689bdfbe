"""Cross-check of sdkit's loop scores with pysimlin (Simlin's Loops That Matter), per time step.

pysimlin 0.8.5 computes link scores over every TIME STEP and reports them at
the saved times; it reads Vensim .mdl files.  Both tools use the same link
score formulas (flow-to-stock: change in the flow over change in the net flow)
and label the score over ``(t - dt, t]`` with ``t``, so they agree to rounding.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from test_loops import eq, mdl
from test_loops_steps import THREE

import sdkit
from sdkit.loops import loop_dominance

try:
    import simlin
except ImportError:  # a test dependency (pyproject [test]); required in CI
    if os.environ.get("SDKIT_REQUIRE_ALL") == "1":
        raise
    pytest.skip("pysimlin is not installed (pip install -e '.[test]')", allow_module_level=True)

DT = 0.125

#: Two stocks, four loops: adoption by word of mouth (R), saturation of the
#: potential adopters (B), discards (B), and discarded products returning the
#: adopters to the potential ones (R).
BASS = (eq("Potential", "INTEG(discards - adoption, 990)")
        + eq("Adopters", "INTEG(adoption - discards, 10)")
        + eq("adoption", "Potential * Adopters * contact")
        + eq("discards", "Adopters / product life")
        + eq("contact", "0.0005") + eq("product life", "8"))

#: Largest difference allowed between relative loop scores (shares in [-1, 1]).
TOLERANCE = 1e-9


def _pysimlin(path: Path) -> tuple[np.ndarray, dict, dict]:
    model = simlin.load(path)
    with model.simulate(enable_ltm=True) as sim:
        sim.run_to_end()
        times = sim.get_series("time")
        loops = sim.get_loops_runtime()
        relative = {frozenset(lp.variables): sim.get_relative_loop_score(lp.id) for lp in loops}
        raw = {frozenset(lp.variables): sim.get_loop_score(lp.id) for lp in loops}
    return times, relative, raw


def _key(variables: tuple[str, ...]) -> frozenset[str]:
    return frozenset(v.lower().replace(" ", "_") for v in variables)


@pytest.mark.parametrize("name, body, final", [("three", THREE, 20), ("bass", BASS, 30)])
@pytest.mark.parametrize("saveper", [DT, 4 * DT])
def test_relative_loop_scores_agree_with_pysimlin(tmp_path, name, body, final, saveper):
    path = tmp_path / f"{name}.mdl"
    path.write_text(mdl(body, final=final, saveper=saveper, dt=DT), encoding="utf-8")
    times, relative, raw = _pysimlin(path)
    model = sdkit.load_model(path)
    dom = loop_dominance(model, model.run(), window=0)
    assert {_key(lp.variables) for lp in dom.loops.loops} == set(relative)
    assert len(relative) in (3, 4)
    # pysimlin reports at the saved times (0 at the start); sdkit at every step.
    saved = np.asarray(times)[1:]
    rows = [dom.scores.index.get_loc(t) for t in saved]
    for loop in dom.loops.loops:
        key = _key(loop.variables)
        ours = dom.relative_all[loop.id].to_numpy()[rows]
        np.testing.assert_allclose(ours, relative[key][1:], rtol=0, atol=TOLERANCE,
                                   err_msg=f"{name} {loop.variables}")
        np.testing.assert_allclose(dom.scores[loop.id].to_numpy()[rows], raw[key][1:],
                                   rtol=1e-8, atol=1e-10)


#: Goal-seeking inventory refilled through a supply line written with a SMOOTH or DELAY.
SUPPLY = (eq("Inventory", "INTEG(arrivals - shipments, 100)")
          + eq("shipments", "20 + 5 * SIN(Time / 3)")
          + eq("orders", "shipments + (desired inventory - Inventory) / adjustment time")
          + eq("desired inventory", "150") + eq("adjustment time", "4") + eq("delay time", "6"))


@pytest.mark.parametrize("function", ["DELAY3(orders, delay time)", "SMOOTH(orders, delay time)",
                                      "SMOOTH3(orders, delay time)"])
def test_the_loop_through_a_delay_agrees_with_pysimlin(tmp_path, function):
    # pysimlin treats a SMOOTH or DELAY as a module: it reports the loop through it (its
    # link score through the module is the product along the module's chain) but not the
    # loops inside it, so its relative scores are shares of fewer loops; the loop scores of
    # the loop through the function agree.
    path = tmp_path / "supply.mdl"
    path.write_text(mdl(SUPPLY + eq("arrivals", function), final=40, saveper=DT, dt=DT),
                    encoding="utf-8")
    times, _, raw = _pysimlin(path)
    (key,) = [k for k in raw if "inventory" in k]
    model = sdkit.load_model(path)
    dom = loop_dominance(model, model.run(), window=0)
    (loop,) = [lp for lp in dom.loops.loops if "Inventory" in lp.variables]
    assert {v for v in _key(loop.variables) if "in_'arrivals'" not in v} == {
        v for v in key if not v.startswith("$")}
    rows = [dom.scores.index.get_loc(t) for t in np.asarray(times)[1:]]
    np.testing.assert_allclose(dom.scores[loop.id].to_numpy()[rows], raw[key][1:], rtol=1e-8,
                               atol=1e-10)

"""Loop scores per TIME STEP, window averages, coverage, strongest-path discovery, no loops."""

from __future__ import annotations

import itertools
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from test_loops import eq, mdl

import sdkit
from sdkit.cli.app import main
from sdkit.errors import LoopLimitError, ParameterValueError
from sdkit.loops import find_loops, loop_dominance
from sdkit.loops.discovery import search_steps, strongest_path_loops, total_loop_score
from sdkit.loops.report import NO_LOOPS, coverage_table, loops_markdown, stage_table

DT = 0.25

#: One stock, three loops: births (R), deaths (B) and crowding deaths (B); the
#: crowding loop takes over from the growth loop as the population grows.
THREE = (eq("Population", "INTEG(births - deaths - crowding deaths, 100)")
         + eq("births", "Population * birth fraction")
         + eq("deaths", "Population / lifetime")
         + eq("crowding deaths", "Population * Population / crowding scale")
         + eq("birth fraction", "0.3") + eq("lifetime", "20") + eq("crowding scale", "8000"))

#: A lone loop whose polarity flips at t = 5 and is inactive before t = 1.
FLIP = (eq("Stock", "INTEG(change, 1)")
        + eq("change", "STEP(1, 1) * Stock * 0.2 * (1 - Time / 5)"))

#: No feedback loop at all.
OPEN = eq("Stock", "INTEG(inflow, 0)") + eq("inflow", "rate") + eq("rate", "2")

#: Damped oscillator (a 2-link and a 4-link loop, both balancing).
OSCILLATOR = (eq("Position", "INTEG(position change, 1)") + eq("position change", "Velocity")
              + eq("Velocity", "INTEG(acceleration, 0)")
              + eq("acceleration", "-stiffness * Position - damping * Velocity")
              + eq("stiffness", "1") + eq("damping", "0.3"))


def write(folder: Path, name: str, body: str, saveper: float, final: float = 20,
          dt: float = DT) -> Path:
    path = folder / f"{name}.mdl"
    path.write_text(mdl(body, final=final, saveper=saveper, dt=dt), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("loop_steps")


def test_scores_do_not_depend_on_saveper(folder):
    fine = sdkit.load_model(write(folder, "fine", THREE, saveper=DT))
    coarse = sdkit.load_model(write(folder, "coarse", THREE, saveper=4 * DT))
    a = loop_dominance(fine, fine.run(), window=1.0)
    b = loop_dominance(coarse, coarse.run(), window=1.0)
    assert len(b.scores) == 20 / DT  # every step, not every saved time
    common = a.scores.index.intersection(b.scores.index)
    assert len(common) == len(a.scores)
    for frame in ("scores", "relative_all", "smoothed"):
        np.testing.assert_allclose(getattr(b, frame).loc[common].to_numpy(),
                                   getattr(a, frame).loc[common].to_numpy(),
                                   rtol=1e-12, atol=1e-12, err_msg=frame)
    assert list(a.dominant["loops"]) == list(b.dominant["loops"])
    pd.testing.assert_frame_equal(stage_table(a), stage_table(b))
    # The tidy frame for charts is at each run's saved times, and agrees where both are.
    saved = a.relative.merge(b.relative, on=["time", "loop"])
    assert len(saved) == len(b.relative) == 20 * b.relative["loop"].nunique()
    np.testing.assert_allclose(saved["score_x"], saved["score_y"], rtol=1e-12, atol=1e-12)


def test_a_coarse_run_must_be_reproducible(folder):
    coarse = sdkit.load_model(write(folder, "coarse", THREE, saveper=4 * DT))
    other = coarse.run({"lifetime": 10})
    with pytest.raises(ParameterValueError, match="does not reproduce"):
        loop_dominance(coarse, other)
    dom = loop_dominance(coarse, other, params={"lifetime": 10})
    assert len(dom.scores) == 20 / DT


def test_window_averages_magnitudes_and_dominant_set_is_never_empty(folder):
    model = sdkit.load_model(write(folder, "flip", FLIP, saveper=DT, final=10))
    dom = loop_dominance(model, model.run(), window=2.0)
    (loop,) = dom.loops.loops
    assert loop.polarity == "undetermined"
    rel = dom.relative_all[loop.id]
    assert (rel[rel.index < 1] == 0).all()
    assert np.allclose(rel[(rel.index > 1.3) & (rel.index < 5)], 1.0)
    assert np.allclose(rel[rel.index > 5.3], -1.0)
    # The mean of |relative score|: a polarity flip inside the window changes nothing.
    expected = rel.abs().rolling(8, center=True, min_periods=1).mean()
    np.testing.assert_allclose(dom.smoothed[loop.id], expected)
    # Only the step where the link's sign changes (t = 5.25, no change) scores 0.
    assert list(rel.index[(rel == 0) & (rel.index > 1)]) == [5.25]
    around = (dom.smoothed.index > 3.5) & (dom.smoothed.index < 6.5)
    assert (dom.smoothed.loc[around, loop.id] >= 7 / 8).all()
    signed = rel.rolling(8, center=True, min_periods=1).mean()
    assert abs(signed.loc[5.25]) < 0.2  # what averaging signed scores gave
    signs = dom.sign.loc[around, loop.id]
    assert {1, -1} <= set(signs)
    assert set(dom.relative["sign"]) >= {1, -1} and (dom.relative["score"] >= 0).all()
    # The signed mean would have been near 0 at the flip; the dominant set holds the loop
    # everywhere, also at the start where no loop is active (nearest active window).
    assert dom.dominant["loops"].map(len).eq(1).all()
    assert set(dom.dominant["loops"]) == {(loop.id,)}


def test_two_loops_window_shares_and_zero_activity(folder):
    body = FLIP + eq("drain", "Stock / 10")
    body = body.replace("INTEG(change, 1)", "INTEG(change - drain, 1)")
    model = sdkit.load_model(write(folder, "flip2", body, saveper=DT, final=10))
    dom = loop_dominance(model, model.run(), window=1.0)
    rel = dom.relative_all
    # Shares add up to 1 where any loop is active; at t = 2.75 the stock stands still
    # (net flow 0 at t = 2.5), so no loop is active there.
    sums = rel.abs().sum(axis=1)[rel.index > 1.3]
    assert np.allclose(sums[sums.index != 2.75], 1.0) and sums.loc[2.75] == 0
    np.testing.assert_allclose(dom.smoothed, rel.abs().rolling(4, center=True,
                                                               min_periods=1).mean())
    assert dom.dominant["loops"].map(len).ge(1).all()


def test_total_loop_score_is_exact_on_random_graphs():
    rng = np.random.default_rng(7)
    for seed in range(4):
        graph = nx.gnp_random_graph(9, 0.35, seed=seed, directed=True)
        graph.add_edge(3, 3)
        graph = nx.relabel_nodes(graph, {i: f"v{i}" for i in graph})
        scores = {e: rng.normal(size=5) for e in graph.edges}
        scores[("v1", "v2")] = np.array([0.0, 1.0, 0.0, 2.0, 0.0])
        graph.add_edge("v1", "v2")
        brute, count = np.zeros(5), 0
        for cycle in nx.simple_cycles(graph):
            count += 1
            brute += np.abs(np.prod([scores[p] for p in zip(cycle, cycle[1:] + cycle[:1],
                                                            strict=True)], axis=0))
        total = np.zeros(5)
        loops = 0
        for part in nx.strongly_connected_components(graph):
            result = total_loop_score(scores, part)
            total, loops = total + result.total, loops + result.loops
        assert loops == count
        np.testing.assert_allclose(total, brute, rtol=1e-12)
    complete = {(a, b): np.ones(2) for a in "abcd" for b in "abcd" if a != b}
    assert total_loop_score(complete, "abcd").loops == 20  # 6 + 8 + 6 cycles of 2, 3, 4
    assert total_loop_score(complete, "abcd", limit=5) is None


def test_coverage_is_one_with_every_loop_and_exact_share_otherwise(folder):
    model = sdkit.load_model(write(folder, "osc", OSCILLATOR, saveper=DT, final=30,
                                   dt=1 / 16))
    results = model.run()
    full = loop_dominance(model, results, window=0)
    assert full.totals[1].loops == 2
    active = full.coverage[1].notna()
    assert active.mean() > 0.9 and np.allclose(full.coverage[1][active], 1.0)
    short = loop_dominance(model, results, window=0, max_length=2, discover=False)
    assert [len(lp) for lp in short.loops.loops] == [2]
    minor = full.scores[full.loops.loops[0].id].abs()
    expected = minor / full.scores.abs().sum(axis=1)
    np.testing.assert_allclose(short.coverage[1][active], expected[active], rtol=1e-9)
    table = coverage_table(short)
    assert (table["analysed"] < 0.9).all() and np.allclose(table["enumerated"],
                                                            table["analysed"])
    assert "Coverage" in loops_markdown(short, None)


def test_strongest_path_search_finds_long_loops(folder):
    model = sdkit.load_model(write(folder, "osc", OSCILLATOR, saveper=DT, final=30,
                                   dt=1 / 16))
    results = model.run()
    dom = loop_dominance(model, results, window=0, max_length=2)
    found = {lp.found: lp for lp in dom.loops.loops}
    assert len(found["strongest path"]) == 4 and found["strongest path"].polarity == "balancing"
    assert np.allclose(dom.coverage[1].dropna(), 1.0)
    # Beyond the enumeration limit the search alone provides the loops.
    limited = loop_dominance(model, results, window=0, max_loops=1)
    assert {lp.found for lp in limited.loops.loops} == {"strongest path"}
    assert len(limited.loops.loops) == 2 and limited.loops.max_length == 0
    assert "no enumerated loops" in loops_markdown(limited, None)
    with pytest.raises(LoopLimitError):
        loop_dominance(model, results, max_loops=1, discover=False)


def test_strongest_path_search_on_a_small_graph():
    # a -> b -> c -> a is strong, a -> d -> c -> a weak, a -> a inactive.
    scores = {("a", "b"): np.array([10.0, 0.0]), ("b", "c"): np.array([10.0, 0.0]),
              ("c", "a"): np.array([1.0, 1.0]), ("a", "d"): np.array([1.0, 1.0]),
              ("d", "c"): np.array([1.0, 1.0]), ("a", "a"): np.array([0.0, 0.0])}
    assert strongest_path_loops(scores, ["a"]) == [("a", "b", "c"), ("a", "d", "c")]
    assert strongest_path_loops(scores, ["a"], steps=[1]) == [("a", "d", "c")]
    assert list(search_steps(10, 4)) == [0, 3, 6, 9]
    assert list(search_steps(3, 4)) == [0, 1, 2]


def test_no_feedback_loops_is_a_clear_result(folder):
    path = write(folder, "open", OPEN, saveper=1)
    model = sdkit.load_model(path)
    dom = loop_dominance(model, model.run())
    assert dom.loops.loops == () and dom.scores.empty and dom.dominant.empty
    assert loops_markdown(dom, None) == NO_LOOPS
    assert find_loops(model).loops == ()
    out = CliRunner().invoke(main, ["loops", str(path)])
    assert out.exit_code == 0, out.output
    assert out.output.strip() == NO_LOOPS and "Traceback" not in out.output


def test_exact_loop_count_matches_enumeration(folder):
    model = sdkit.load_model(write(folder, "three", THREE, saveper=DT))
    dom = loop_dominance(model, model.run())
    every = find_loops(model, max_length=None)
    assert dom.totals[1].loops == len(every.loops) == 3
    assert all(a.variables == b.variables for a, b in itertools.zip_longest(
        dom.loops.loops, every.loops))

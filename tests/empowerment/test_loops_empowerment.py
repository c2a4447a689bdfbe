"""Loop analysis of the empowerment model: named loops, families, evaluator, the docs block."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import REPO

from sdkit.loops import loop_dominance
from sdkit.loops.evaluate import environment, evaluate
from sdkit.loops.report import (
    BLOCK,
    coverage_bound_table,
    coverage_table,
    families_table,
    loops_markdown,
    stage_table,
)
from sdkit.util.markers import extract_block


@pytest.fixture(scope="module")
def dominance(empowerment, baseline, empowerment_card):
    return loop_dominance(empowerment, baseline, card=empowerment_card)


def test_named_loops_are_enumerated_with_their_polarity(dominance, empowerment_card):
    named = dominance.loops.named()
    assert list(named) == [spec.id for spec in empowerment_card.loops]
    for spec in empowerment_card.loops:
        loop = named[spec.id]
        assert loop.match == 1.0, spec.id
        assert set(loop.variables) == set(spec.cycle)
        assert loop.polarity == spec.polarity, spec.id
    # Buyers raise adoption by word of mouth and lower it by saturation; the two
    # effects run through separate links (reach, remaining buyers), so B1 has a
    # determined polarity and no link of the two changes sign over the run.
    links = dominance.loops.links
    assert ("Buyers on platform", "buyer adoption") not in links
    assert links[("Buyers on platform", "remaining buyers")].polarity == "-"
    assert links[("remaining buyers", "buyer adoption")].polarity == "+"
    assert links[("Buyers on platform", "buyer reach")].polarity == "+"


def test_evaluator_reproduces_every_equation_of_the_baseline(dominance, baseline):
    ir = dominance.loops.ir
    env = environment(ir, baseline)
    checked = 0
    for var in ir.variables.values():
        if var.kind in ("auxiliary", "flow") and var.name in baseline.columns:
            value = np.broadcast_to(evaluate(var.equation, env, ir), (len(baseline),))
            np.testing.assert_allclose(value, baseline[var.name], rtol=1e-9, atol=1e-12,
                                       err_msg=var.name)
            checked += 1
    assert checked > 80


def test_relative_scores_are_shares_of_each_partition(dominance):
    for part in {lp.partition for lp in dominance.loops.loops}:
        ids = [lp.id for lp in dominance.loops.loops if lp.partition == part]
        total = dominance.relative_all[ids].abs().sum(axis=1)
        assert np.allclose(total[total > 0], 1.0)
    assert list(dominance.relative.columns) == ["time", "loop", "score", "sign"]
    assert (dominance.relative["score"] >= 0).all()
    assert {"R1", "R5", "B4"} <= set(dominance.relative["loop"])
    table = stage_table(dominance)
    assert sorted(table["stage"].unique()) == [1, 2, 3]


def test_saveper_does_not_change_the_analysis(dominance, empowerment, empowerment_card):
    # The baseline is saved every 0.25 year; a run saved every step gives the same
    # loops, scores and stage table (before, the stage-1 leader changed with SAVEPER).
    fine = empowerment.run(saveper=empowerment.time_step)
    again = loop_dominance(empowerment, fine, card=empowerment_card, loops=dominance.loops,
                           discover=False, coverage_limit=0)
    assert len(dominance.scores) == len(fine) - 1 == 480
    np.testing.assert_allclose(again.scores.to_numpy(), dominance.scores.to_numpy(),
                               rtol=1e-12, atol=1e-12)
    first, second = stage_table(dominance), stage_table(again)
    assert list(first["loop"]) == list(second["loop"])
    np.testing.assert_allclose(first["mean_abs"], second["mean_abs"], rtol=1e-12, atol=1e-15)


def test_coverage_of_every_loop(dominance, empowerment_card):
    # The main partition has more than 100 million loops after reduction (a count
    # with a limit of 1e8 stopped at the limit after 20 minutes), so its exact total
    # |loop score| is not computed. The other partition's one loop is counted.
    assert dominance.totals[1] is None
    assert sum(t.loops for t in dominance.totals.values() if t is not None) == 1
    assert coverage_table(dominance).empty
    main = [lp for lp in dominance.loops.loops if lp.partition == 1]
    assert len(main) > 20_000
    found = {lp.found for lp in dominance.loops.loops}
    assert found == {"enumerated", "strongest path"}
    longest = max(len(lp) for lp in dominance.loops.loops)
    assert longest > 20
    # The upper bound of the total is sound (at least the analysed loops' score) but
    # useless: at most steps it is 1e15 times or more the analysed loops' score, so the
    # report says the coverage is not computable instead of quoting it.
    bound = dominance.bounds[1]
    analysed = dominance.scores[[lp.id for lp in main]].abs().sum(axis=1).to_numpy()
    assert np.all(bound >= analysed * (1 - 1e-9))
    assert np.median(analysed / bound) < 1e-10
    table = coverage_bound_table(dominance)
    assert list(table["stage"]) == [1, 2, 3] and (table["at_least"] < 0.01).all()
    text = loops_markdown(dominance, empowerment_card)
    assert "Coverage of the total |loop score| is not computable" in text
    assert "| stage | at least |" not in text


def test_every_family_of_the_card_has_loops(dominance, empowerment_card):
    ids = [spec.id for spec in empowerment_card.loop_families]
    assert [spec.id for spec in dominance.family_specs] == ids and len(ids) >= 5
    members = pd.Series(dominance.family_of).value_counts()
    assert all(members.get(i, 0) > 0 for i in ids), members
    # The named loops fall in the family of their mechanism.
    assert {loop: dominance.family_of[loop] for loop in
            ("R1", "R2", "R3", "R4", "R5", "B1", "B3", "B6")} == {
        "R1": "network", "R2": "talent", "R3": "data", "R4": "experts", "R5": "finance",
        "B1": "saturation", "B3": "overload", "B6": "codification"}
    table = families_table(dominance)
    assert sorted(table["stage"].unique()) == [1, 2, 3]
    np.testing.assert_allclose(table.groupby("stage")["share"].sum(), 1.0, atol=1e-9)
    assert (table.groupby("family", sort=False)["share"].max().drop("other") > 0).all()
    frame = dominance.families
    assert list(frame["family"].unique()) == [*ids, "other"]
    assert frame["time"].nunique() == len(dominance.relative["time"].unique())


def test_docs_block_is_current(dominance, empowerment_card):
    page = (REPO / "docs" / "model.md").read_text(encoding="utf-8")
    expected = loops_markdown(dominance, empowerment_card)
    assert extract_block(page, BLOCK) == expected.strip(), (
        "docs/model.md is out of date: run "
        "`sdkit loops models/empowerment.mdl --update docs/model.md`")

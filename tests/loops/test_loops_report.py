"""`sdkit loops` on models of one's own: no card, no stages, no loops, a time unit of days."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from test_loops import eq
from test_loops_hidden import control

import sdkit
from sdkit.cli.app import main
from sdkit.loops import find_loops, loop_dominance
from sdkit.loops.report import NO_ANALYSED, NO_LOOPS, loops_markdown, verdict
from sdkit.loops.tables import spans, stage_table
from sdkit.model.card import LoopSpec, ModelCard

SIR = (eq("Susceptible", "INTEG(-infection, 990)")
       + eq("Infected", "INTEG(infection - recovery, 10)") + eq("Recovered", "INTEG(recovery, 0)")
       + eq("infection", "Susceptible * Infected * contact rate / total population")
       + eq("recovery", "Infected / illness duration") + eq("contact rate", "0.3")
       + eq("total population", "1000") + eq("illness duration", "5"))

BASS = (eq("Potential adopters", "INTEG(-adoption, 9990)") + eq("Adopters", "INTEG(adoption, 10)")
        + eq("adoption", "Potential adopters * (advertising + word of mouth * Adopters / 10000)")
        + eq("advertising", "0.01") + eq("word of mouth", "0.5"))

#: Models without a feedback loop, in the shapes a newcomer writes them.
OPEN = {
    "inflow only": eq("Stock", "INTEG(inflow, 0)") + eq("inflow", "2 + Time"),
    "no flow": eq("Stock", "INTEG(0, 10)"),
    "no stock": eq("y", "2 * x") + eq("x", "3 + Time"),
    "constants only": eq("a", "3"),
    "a chain": eq("First", "INTEG(inflow - transfer, 5)") + eq("inflow", "1")
    + eq("transfer", "2") + eq("Second", "INTEG(transfer, 0) + 0 * First"),
    "initial of a stock": eq("Stock", "INTEG(inflow, 10)") + eq("inflow", "start * 0.1")
    + eq("start", "INITIAL(Stock)"),
}


def write(folder: Path, name: str, body: str, final: float = 100, dt: float = 0.25,
          unit: str = "Day") -> Path:
    path = folder / f"{name.replace(' ', '_')}.mdl"
    path.write_text("{UTF-8}\n" + body + control(final, dt, unit), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("loops_report")


@pytest.mark.parametrize("name", list(OPEN))
def test_a_model_without_feedback_loops_says_so(folder, name):
    path = write(folder, name, OPEN[name], final=10)
    model = sdkit.load_model(path)
    assert find_loops(model).loops == ()
    dom = sdkit.loop_dominance(model, model.run())
    assert dom.loops.loops == () and dom.scores.empty and dom.dominant.empty
    assert loops_markdown(dom, None) == NO_LOOPS
    out = CliRunner().invoke(main, ["loops", str(path)])
    assert out.exit_code == 0, out.output
    assert out.output.strip() == NO_LOOPS and "Traceback" not in out.output + out.stderr


def test_the_loops_inside_a_smooth_or_delay_are_the_only_ones(folder):
    # Written with explicit stocks, a SMOOTH is a stock adjusting to its input (one loop)
    # and a DELAY3 three stocks each drained by its outflow (three loops).
    body = (eq("Stock", "INTEG(inflow - outflow, 0)") + eq("inflow", "SMOOTH(2 + STEP(1, 3), 2)")
            + eq("outflow", "DELAY3(inflow, 3)"))
    model = sdkit.load_model(write(folder, "smooth_delay", body, final=10))
    dom = loop_dominance(model, model.run())
    assert sorted(len(lp) for lp in dom.loops.loops) == [1, 2, 2, 2]
    assert len(dom.loops.partitions) == 4
    text = loops_markdown(dom, None)
    assert "Of these, 4 run only inside a SMOOTH, DELAY" in text


def test_loops_that_none_analyses_are_not_no_loops(folder):
    path = write(folder, "sir_none", SIR)
    out = CliRunner().invoke(main, ["loops", str(path), "--max-length", "0", "--no-discover"])
    assert out.exit_code == 0 and out.output.strip() == NO_ANALYSED


@pytest.mark.parametrize(("name", "body", "unit"), [("sir", SIR, "Day"), ("bass", BASS, "Month")])
def test_without_a_card_the_run_is_reported_in_periods_of_its_time_unit(folder, name, body,
                                                                         unit):
    path = write(folder, name, body, unit=unit)
    out = CliRunner().invoke(main, ["loops", str(path)])
    assert out.exit_code == 0, out.output
    text = out.output
    assert f"every time step (0.25 {unit})" in text and f"averaged over 1 {unit}" in text
    assert "year" not in text.lower() and "stage" not in text.lower()
    assert "Verdict" not in text and "card" not in text
    assert "| period | analysed loops | enumerated loops only |" in text
    for period in ("| 0-25 |", "| 25-50 |", "| 50-75 |", "| 75-100 |"):
        assert period in text
    assert "| id | card |" not in text  # no named loops: no table of them
    assert "in 4 equal periods" in text and "1 partition (" in text
    whole = CliRunner().invoke(main, ["loops", str(path), "--periods", "1"]).output
    assert "| 0-100 |" in whole and "| 0-25 |" not in whole and "as a whole" in whole
    bad = CliRunner().invoke(main, ["loops", str(path), "--periods", "0"])
    assert bad.exit_code == 2 and "--periods" in bad.output


def test_sir_dominance_moves_from_infection_to_recovery(folder):
    model = sdkit.load_model(write(folder, "sir", SIR))
    dom = loop_dominance(model, model.run())
    table = stage_table(dom, periods=4)
    leaders = table.groupby("stage")["loop"].first()
    by_id = {lp.id: lp.variables for lp in dom.loops.loops}
    assert "infection" in by_id[leaders[1]] and dom.loops[leaders[1]].polarity == "reinforcing"
    assert "recovery" in by_id[leaders[4]] and dom.loops[leaders[4]].polarity == "balancing"
    found = spans(dom, periods=4)
    assert list(found["start"]) == [0, 25, 50, 75] and list(found["end"]) == [25, 50, 75, 100]
    assert len(spans(dom, periods=10 ** 6)) == len(dom.scores)  # at most one per step


def test_a_card_without_stages_names_loops_but_gives_no_verdict(folder):
    model = sdkit.load_model(write(folder, "sir_card", SIR))
    card = ModelCard(Path("x.toml"), loops=(
        LoopSpec("R1", "reinforcing", "contagion", "", ("Infected", "infection"), (1,)),
        LoopSpec("B1", "balancing", "recovery", "", ("Infected", "recovery"), (2,))))
    dom = loop_dominance(model, model.run(), card=card)
    text = loops_markdown(dom, card, periods=2)
    assert "| id | card | computed | links | partition | 0-50 | 50-100 |" in text
    assert "expected" not in text and "Verdict" not in text and verdict(dom, card) == ""
    assert "| R1 | reinforcing | reinforcing | 2 | 1 |" in text


def test_the_loop_study_runs_through_the_backend_seam(folder):
    """``auto`` (the engine, bitwise equal to PySD) and ``pysd`` give the same report."""
    from sdkit.loops.study import loop_study

    path = write(folder, "sir", SIR)
    assert loop_study(path, engine="auto") == loop_study(path, engine="pysd")
    with pytest.raises(sdkit.errors.ParameterValueError, match="valid engines"):
        loop_study(path, engine="fast")

"""The explorer works for any model: levers and plots from the card or the options."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from generic_model import write_sir

import sdkit
from sdkit.errors import ParameterValueError, UnknownVariableError
from sdkit.report.explore import Runner, explorer_choice, levers
from sdkit.report.modeldoc import constant_values


@pytest.fixture(scope="module")
def sir(tmp_path_factory: pytest.TempPathFactory) -> sdkit.model.core.Model:
    files = write_sir(tmp_path_factory.mktemp("sir"))
    return sdkit.load_model(files["model"])


def test_the_cards_levers_and_plots(empowerment):
    chosen, shown = explorer_choice(empowerment)
    card = sdkit.model.card.load_card(empowerment.path).briefing
    assert chosen == list(card.levers) and shown == list(card.explore)
    chosen, shown = explorer_choice(empowerment, levers=["attrition rate"],
                                    show=["Transaction volume"])
    assert chosen == ["attrition rate"] and shown == ["Transaction volume"]


def test_a_model_without_a_card_needs_levers_and_shows_its_moving_stocks(sir):
    with pytest.raises(ParameterValueError, match=r"--lever NAME.*'contact rate'"):
        explorer_choice(sir)
    chosen, shown = explorer_choice(sir, levers=["contact rate", "illness duration"])
    assert chosen == ["contact rate", "illness duration"]
    assert set(shown) == {"Susceptible", "Infected", "Recovered"}


def test_levers_span_the_documented_range_and_refuse_non_constants(sir):
    values = constant_values(sir)
    (contact,) = levers(sir, values, ["contact rate"])
    assert (contact.start, contact.end, contact.value) == (0, 20, 8)
    with pytest.raises(ParameterValueError, match="'Infected' is a stock"):
        levers(sir, values, ["Infected"])
    with pytest.raises(UnknownVariableError, match="contact rate"):
        levers(sir, values, ["contact rat"])


def test_a_rerun_moves_the_lines_and_says_what_ran(sir):
    runner = Runner(sir, {"contact rate": 8.0}, ["Infected"])
    assert runner.engine == "sdkit.engine"
    base, slower = runner({}), runner({"contact rate": 6.0})  # R0 2 -> 1.5: a later peak
    assert base.index.name == "time" and list(base.columns) == ["Infected"]
    assert slower["Infected"].idxmax() > base["Infected"].idxmax()
    # the engine's run equals PySD's at the model's own time step
    pysd = Runner(sir, {"contact rate": 8.0}, ["Infected"], time_step=None, use_engine=False)
    assert pysd.engine == "PySD"
    assert (pysd({})["Infected"].to_numpy() == base["Infected"].to_numpy()).all()


def test_old_constants_warn_and_come_from_the_card():
    import sdkit.report.explore as explore

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert "talent budget share" in explore.LEVERS
        assert "Buyers on platform" in explore.SHOWN
    assert [w.category for w in caught] == [DeprecationWarning] * 2


def test_help_names_the_new_options():
    from click.testing import CliRunner

    from sdkit.cli.app import main

    result = CliRunner().invoke(main, ["explore", "--help"])
    assert "--lever NAME" in result.output and "--show VAR" in result.output
    assert "--open" in result.output and Path("x").name == "x"


def test_the_explorer_draws_the_briefings_chart_parts_with_the_font(sir) -> None:
    from bokeh.document import Document
    from bokeh.models import Legend, NumeralTickFormatter
    from bokeh.plotting import figure
    from test_fonts import range_points

    from sdkit.report.explore import make_app
    from sdkit.report.fonts import CANVAS_FONT, FONT_WAIT_SCRIPT

    doc = Document()
    make_app(sir, Runner(sir, {"contact rate": 8.0}, ["Infected", "Recovered"]), lang="zh")(doc)
    plots = [f for f in doc.select({"type": figure}) if f.name != "legend"]
    assert sorted(f.title.text for f in plots) == ["Infected", "Recovered"]
    for fig in plots:
        assert fig.xaxis[0].axis_label == "天" and fig.yaxis[0].axis_label == "people"
        assert isinstance(fig.yaxis[0].formatter, NumeralTickFormatter)
        assert fig.yaxis[0].formatter.format == "0,0"  # thousands separators
        assert not fig.legend and fig.title.text_font == CANVAS_FONT
    # one legend, outside the plots; a click hides a line in both
    (legend,) = doc.select({"type": Legend})
    assert [item.label["value"] for item in legend.items] == ["基准", "当前"]
    assert [len(item.renderers) for item in legend.items] == [3, 3]
    # the page embeds the font, with what the status line shows later
    css = doc.template_variables["sdkit_css"]
    assert {ord(c) for c in "天基准当前运行中"} <= range_points(css)
    assert doc.template_variables["sdkit_script"] == FONT_WAIT_SCRIPT

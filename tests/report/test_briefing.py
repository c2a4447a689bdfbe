"""The briefing page: sections, languages, findings from the numbers, escaping, the command.

The page's data come from the shipped scenarios and the model card (panels, display names,
sector names), with a stand-in sensitivity result; a generic model's briefing is in
tests/report/test_briefing_generic.py.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

import pandas as pd
import pytest
import synthetic
from click.testing import CliRunner

from sdkit import examples
from sdkit.cli.app import main
from sdkit.cli.brief import language_paths
from sdkit.errors import MissingComponentError, ParameterValueError
from sdkit.model.card import load_card
from sdkit.report.briefing import inputs as briefing_inputs
from sdkit.report.briefing.page import BriefingData, briefing_charts, findings, render_briefing
from sdkit.report.i18n import MESSAGES, output_label, text
from sdkit.report.wording import when

XSS = "<script>alert('xss')</script>"

PARAMETERS = pd.DataFrame({
    "name": ["talent budget share", "attrition rate", "talent push start"],
    "value": [0.3, 0.1, 2018.0], "units": ["Dmnl", "1/Year", "Year"], "low": [0.0, 0.0, 2015.0],
    "high": [0.6, None, 2030.0],
    "comment": ["人才预算比例 Share of spending on talent <b>(assumed)</b>.", "Leavers a year.",
                "When the push starts."],
    "sector": ["Talent", "Talent", "Money"]})
CARD = load_card(examples.card_path())


def make_data(scenario_results, scenarios, **changes) -> BriefingData:
    assert CARD.briefing is not None
    data = BriefingData(
        results=scenario_results, scenarios=scenarios, sensitivity=synthetic.sensitivity(),
        sensitivity_name="talent-investment-morris", evidence=synthetic.evidence(),
        parameters=PARAMETERS, model_title={"en": "Empowerment", "zh": "动态赋能"},
        command="make briefing", versions={"sdkit": "0.1.0", "bokeh": "3.9.2"},
        generated="2025-01-01", panels=CARD.briefing.show, names=CARD.names,
        units={"Buyers on platform": "enterprises", "Transaction volume": "Mt/Year",
               "talent push start": "Year"},
        sensitivity_title=CARD.briefing.sensitivity_title, stages=CARD.stages,
        sector_names=CARD.briefing.sectors)
    return dataclasses.replace(data, **changes)


@pytest.fixture(scope="module")
def data(scenario_results, shipped_scenarios) -> BriefingData:
    return make_data(scenario_results, shipped_scenarios)


@pytest.fixture(scope="module")
def pages(data: BriefingData) -> dict[str, str]:
    return {lang: render_briefing(data, lang=lang) for lang in ("en", "zh")}


SECTIONS = ["findings", "comparison", "transitions", "sensitivity", "evidence", "assumptions",
            "reproduce"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_page_has_every_section_in_its_language(pages: dict[str, str], lang: str) -> None:
    page = pages[lang]
    for section in SECTIONS:
        assert f'<section id="{section}">' in page
        heading = text("section.sensitivity_titled", lang,
                       title=CARD.briefing.sensitivity_title[lang]) \
            if section == "sensitivity" else text("section." + section, lang)
        assert f"<h2>{heading}</h2>" in page
    other = "zh" if lang == "en" else "en"
    assert text("section.findings", other) not in page
    assert f'<html lang="{"zh-CN" if lang == "zh" else "en"}">' in page
    assert "Talent" not in text("section.sensitivity", lang)  # a generic model's title


def test_each_page_is_in_its_own_language_only(pages: dict[str, str]) -> None:
    english = re.sub(r"<script.*?</script>", "", pages["en"], flags=re.S)
    english = english.replace(text("page.lang_other", "en"), "")  # the link to 中文版
    assert not re.search("[\u4e00-\u9fff]", english)
    assert "人才预算比例" in pages["zh"] and "Share of spending" not in pages["zh"]
    assert "Share of spending on talent" in pages["en"]


def test_parameters_are_grouped_by_sector_and_folded(pages: dict[str, str]) -> None:
    en, zh = pages["en"], pages["zh"]
    assert '<details class="sector"><summary>Talent (2 parameters)</summary>' in en
    assert '<details class="sector"><summary>人才（2 个参数）</summary>' in zh
    assert ">2018<" in en and "2,018" not in en and "2 018" not in en  # a year, not a number


def test_page_is_self_contained(pages: dict[str, str]) -> None:
    page = pages["en"]
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?:", page)
    assert "Bokeh" in page and len(page) > 500_000  # BokehJS inline
    # seven panels of the card, timeline, bars, fan, evidence
    assert page.count('class="chart-box"') == 11
    assert '@font-face { font-family: "Sdkit Sans SC"' in pages["zh"]  # the CJK font inline
    from sdkit.report.fonts import FONT_WAIT_SCRIPT

    for html_page in pages.values():  # the charts wait for the font: a script, never page text
        assert re.search(r"<script>\s*" + re.escape(FONT_WAIT_SCRIPT.strip()), html_page)


def test_findings_are_generated_from_the_numbers(data: BriefingData,
                                                 scenario_results) -> None:
    found = findings(data, "en")
    rows = scenario_results.transitions.set_index(["scenario", "stage"])
    t2, t3 = rows.loc[("baseline", 2), "time"], rows.loc[("baseline", 3), "time"]
    assert found[0].text == (f"In the Baseline scenario, intelligentization begins in "
                             f"{when(t2, 'Year', 'en')} and ecologization begins in "
                             f"{when(t3, 'Year', 'en')}.")
    assert f"intelligentization {t2:.2f}" in found[0].note  # the measure in the footnote
    assert any(f.text.startswith("Of the parameters studied, talent budget share moves "
                                 "Buyers on platform most") for f in found)
    assert not any("mu_star" in f.text or "mu*" in f.text for f in found)
    assert found[-1].text == ("2 of 3 reference modes lie within their tolerance band. "
                              "Outside: mills.")
    zh = findings(data, "zh")
    assert len(zh) == len(found) and zh[-1].text.startswith("3 个参考模式中有 2 个")
    assert "人才预算占比" in " ".join(f.text for f in zh)  # the card's display names


def test_findings_follow_changed_numbers(data: BriefingData, scenario_results) -> None:
    transitions = scenario_results.transitions.copy()
    transitions.loc[(transitions["scenario"] == "baseline") & (transitions["stage"] == 2),
                    "time"] = 2016.25
    moved = dataclasses.replace(data, results=dataclasses.replace(scenario_results,
                                                                  transitions=transitions))
    assert "intelligentization begins in early 2016" in findings(moved, "en")[0].text
    assert "2016.25" in findings(moved, "en")[0].note


def test_scenario_text_is_escaped(scenario_results, shipped_scenarios) -> None:
    first = dataclasses.replace(shipped_scenarios[0], title={"en": XSS, "zh": XSS},
                                description={"en": "a <img src=x onerror=alert(1)>", "zh": "b"})
    page = render_briefing(make_data(scenario_results, [first, *shipped_scenarios[1:]]))
    assert "<script>alert(" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;" in page
    assert "&lt;b&gt;(assumed)&lt;/b&gt;" in page  # parameter comments too


def test_every_message_has_both_languages() -> None:
    for key, texts in MESSAGES.items():
        assert set(texts) == {"en", "zh"}, key
    assert output_label("stage 2 transition", "zh") == "进入第 2 阶段的年份"
    assert output_label("Buyers on platform 2025", "zh") == "Buyers on platform 2025"
    with pytest.raises(ParameterValueError, match="valid languages"):
        text("section.findings", "fr")


def test_charts_are_named_and_new_on_every_call(data: BriefingData) -> None:
    first, second = briefing_charts(data, "en"), briefing_charts(data, "en")
    assert list(first) == ["scenario_comparison", *(f"scenario_comparison_{k}"
                                                    for k in range(2, 8)),
                           "stage_timeline", "indices_morris_0", "fan_Buyers on platform",
                           "evidence_fit"]
    assert all(chart.name == name for name, chart in first.items())
    assert first["stage_timeline"] is not second["stage_timeline"]


def test_language_paths() -> None:
    assert language_paths(Path("o/b.html"), ("zh",)) == {"zh": Path("o/b.html")}
    assert language_paths(Path("o/b.html"), ("en", "zh")) == {
        "en": Path("o/b.en.html"), "zh": Path("o/b.zh.html")}


def test_brief_fails_clearly_without_the_sensitivity_package(monkeypatch, tmp_path) -> None:
    monkeypatch.setitem(sys.modules, "sdkit.sensitivity", None)
    with pytest.raises(MissingComponentError, match="sensitivity"):
        briefing_inputs.load_run_sensitivity()
    result = CliRunner().invoke(main, ["brief", "-o", str(tmp_path / "b.html")])
    assert result.exit_code == 2
    assert "sdkit: error:" in result.stderr and "sensitivity" in result.stderr
    assert not (tmp_path / "b.html").exists()


@pytest.mark.slow
def test_brief_command_writes_pages_and_embeddable_pieces(monkeypatch, tmp_path: Path,
                                                          empowerment) -> None:
    calls = []

    def fake_run_sensitivity(spec, *, output_dir, executor):
        calls.append((Path(spec).name, Path(output_dir).name, executor))
        return synthetic.sensitivity()

    monkeypatch.setattr(briefing_inputs, "load_run_sensitivity", lambda: fake_run_sensitivity)
    out = tmp_path / "out" / "briefing.html"
    result = CliRunner().invoke(main, [
        "brief", "-o", str(out), "--lang", "en", "--lang", "zh", "--scenarios",
        "scenarios/baseline.toml", "--embed", str(tmp_path / "embed"), "--no-images"])
    assert result.exit_code == 0, result.output + result.stderr
    assert "scenario 1/1 baseline" in result.stderr  # progress of the long steps
    assert "running the sensitivity study" in result.stderr
    assert calls == [("talent-investment-morris.toml", "sensitivity-talent-investment-morris",
                      "processes")]
    en, zh = (out.with_name(f"briefing.{lang}.html").read_text("utf-8") for lang in ("en", "zh"))
    assert "Key findings" in en and "主要发现" in zh and 'href="briefing.zh.html"' in en
    assert "sdkit brief -o" in en and "pysd" in en  # the command and the versions
    pieces = sorted(p.name for p in (tmp_path / "embed" / "en").iterdir())
    assert "scenario-comparison.html" in pieces and "scenario-comparison.json" in pieces
    snippet = (tmp_path / "embed" / "en" / "stage-timeline.html").read_text("utf-8")
    assert snippet.startswith("<div") and "<script>" in snippet


def test_loop_dominance_section_appears_with_loop_scores(data: BriefingData) -> None:
    times = [2015.25 + 0.25 * i for i in range(40)]
    loops = pd.DataFrame([{"time": t, "loop": name, "score": score}
                          for t in times for name, score in (("R1", 0.6), ("B3", -0.4))])
    with_loops = dataclasses.replace(data, loops=loops)
    assert "loop_dominance" in briefing_charts(with_loops)
    page = render_briefing(with_loops, lang="zh")
    assert '<section id="loops">' in page and text("section.loops", "zh") in page
    assert '<section id="loops">' not in render_briefing(data, lang="en")

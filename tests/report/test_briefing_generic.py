"""A briefing of any model: card sections and their validation, defaults, plain words.

The generic model is a small SIR model in days (tests/generic_model.py): no card, no
stages, no reference modes, a Latin hypercube study. Its page has no empty section and
speaks of days; the wording and formatting helpers are checked on their own.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import synthetic
from click.testing import CliRunner
from conftest import REPO
from generic_model import write_sir

from sdkit.cli.app import main
from sdkit.errors import InputFileError, ScenarioError, UnknownVariableError
from sdkit.model.card import load_card
from sdkit.model.core import load_model
from sdkit.report.briefing.findings import Voice, band_finding, sensitivity_finding
from sdkit.report.briefing.inputs import collect_briefing, with_study_base
from sdkit.report.briefing.page import BriefingData, briefing_charts, findings, render_briefing
from sdkit.report.briefing.plan import default_variables, plan_briefing
from sdkit.report.fonts import FONT_FAMILY, embed_in_svg, font_chars, font_face_css
from sdkit.report.i18n import number, text, variable_label
from sdkit.report.modeltext import comment_in, english_part, vensim_sectors
from sdkit.report.wording import quantity, relative, shift, span, time_label, when


@pytest.fixture(scope="module")
def sir(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_sir(tmp_path_factory.mktemp("sir"))


@pytest.fixture(scope="module")
def sir_data(sir: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> BriefingData:
    return collect_briefing(sir["scenarios"], sir["spec"], model=sir["model"],
                            work_dir=tmp_path_factory.mktemp("work"), command="sdkit brief",
                            executor="serial")


@pytest.fixture(scope="module")
def sir_pages(sir_data: BriefingData) -> dict[str, str]:
    return {lang: render_briefing(sir_data, lang=lang) for lang in ("en", "zh")}


# -- plain words and numbers -------------------------------------------------------------

def test_times_in_plain_words() -> None:
    assert when(2017.2, "Year", "en") == "early 2017"
    assert when(2017.44, "Year", "en") == "mid-2017"  # June: thirds of the year
    assert when(2023.9, "Year", "zh") == "2023 年末"
    assert when(42.2, "Day", "en") == "day 42" and when(42.0, "Days", "zh") == "第 42 天"
    assert when(float("nan"), "Year", "en") == "never"
    assert span(1.2, "Year", "en") == "about 14 months"
    assert span(2.5, "Years", "en") == "about 2.5 years"
    assert span(3.0, "Day", "zh") == "约 3 天"
    assert span(0.01, "Year", "en") == "less than one month"
    assert shift(-1.2, "Year", "Baseline", "en") == "about 14 months before Baseline"
    assert shift(0.25, "Year", "基准", "zh") == "比基准晚约 3 个月"
    assert time_label("Day", "en") == "Day" and time_label("Year", "zh", calendar=True) == "年份"


def test_numbers_have_thousands_separators_and_units() -> None:
    assert number(6000000) == "6,000,000" and number(12345.6) == "12,346"
    assert number(999.7) == "1,000" and number(0.4523) == "0.452" and number(45.23) == "45.2"
    assert number(0.00001234) == "1.23e-05" and number(-0.0) == "0"
    assert quantity(6e6, "t/Year") == "6,000,000 t/Year" and quantity(0.45, "Dmnl") == "0.45"
    assert relative(112.0, 100.0, "Baseline", "en") == "12 % above Baseline"
    assert relative(95.0, 100.0, "基准", "zh") == "比基准低 5.0%"


def test_morris_finding_says_months_across_the_range_with_the_index_in_a_note() -> None:
    indices = synthetic.sensitivity().indices.assign(output="stage 2 transition",
                                                     mu_star=[0.524, 0.2, 0.05, 0.01])
    voice = Voice("en", "Year", stages={2: "intelligentization"})
    [found] = sensitivity_finding(indices, "stage 2 transition", voice=voice)
    assert found.text == ("Of the parameters studied, talent budget share moves the start of "
                          "intelligentization most: by about 6 months across its range. Next "
                          "comes attrition rate (about 2 months).")
    assert "mu*" in found.note and "0.524" in found.note and "0.524" not in found.text


@pytest.mark.parametrize(("method", "column", "values", "expected"), [
    ("sobol", "ST", [0.6, 0.3, 0.08, 0.02], "Most of the spread in Buyers on platform in 2030 "
                                            "comes from talent budget share: about 60 %"),
    ("lhs", "rho", [-0.7, 0.5, 0.1, 0.0], "the higher talent budget share, the lower Buyers on "
                                          "platform in 2030 tends to be"),
    ("oat", "delta", [-40.0, 25.0, 5.0, 1.0], "talent budget share changes Buyers on platform "
                                              "in 2030 most: by 40 enterprises"),
])
def test_every_method_gives_a_finding(method: str, column: str, values: list, expected: str
                                      ) -> None:
    indices = synthetic.sensitivity().indices.assign(method=method, output="Buyers on platform "
                                                     "2030", rho=np.nan)
    indices[column] = values
    voice = Voice("en", "Year", units={"Buyers on platform": "enterprises"})
    [found] = sensitivity_finding(indices, "Buyers on platform 2030", voice=voice)
    assert expected in found.text
    assert found.note


def test_band_finding_gives_the_spread_at_the_end() -> None:
    [found] = band_finding(synthetic.sensitivity().bands, "Buyers on platform",
                           voice=Voice("en", "Year"))
    assert found.text.startswith("Across the sampled parameter sets, Buyers on platform at the "
                                 "end of the run (2030) lies between 60 and 140")


# -- model text ------------------------------------------------------------------------

def test_bilingual_comments_split_by_language() -> None:
    comment = ("智慧化运营主题权重 Weight of the theme (stage 2.0 智慧化) on the agenda "
               "(用户与交易数据 users and data).")
    assert comment_in(comment, "en") == "Weight of the theme (stage 2.0) on the agenda " \
                                        "(users and data)."
    assert comment_in(comment, "zh") == "智慧化运营主题权重；智慧化；用户与交易数据"
    assert comment_in("Only English.", "zh") == "Only English."


@pytest.mark.parametrize(("comment", "english"), [
    ("人才预算比例 / Share of the budget for people.", "Share of the budget for people."),
    ("Share of the budget (人才预算比例, the talent share).", "Share of the budget (the talent "
                                                          "share)."),
    ("Talent budget; 人才预算.", "Talent budget."),
    ("Weight [智慧化] of the theme", "Weight of the theme"),
    ("“智慧化” theme weight", "theme weight"),
    ("Share of budget - 人才预算比例", "Share of budget"),
    ("平台化 (platformization), 智慧化 (intelligentization)", "platformization, "
                                                       "intelligentization"),
    ("Platform trust (平台信任; trust in the platform)", "Platform trust (trust in the "
                                                       "platform)"),
    ("X (中文 or 中文)", "X"),
    ("平台：Platform trust (0-1)", "Platform trust (0-1)"),
])
def test_english_part_leaves_no_broken_fragments(comment: str, english: str) -> None:
    said = comment_in(comment, "en")
    assert said == english
    assert not re.search(r"\(\s*\)|\[\s*\]|^[\s,.;:/|)]|[\s,;:/|(]$|\s[,.;:)]|[,;:]\.", said)


def test_bilingual_names_read_in_english() -> None:
    assert variable_label("人才预算 talent budget", "en") == "talent budget"
    assert variable_label("人才预算 talent budget", "zh") == "人才预算 talent budget"
    assert variable_label("人才预算", "en") == "人才预算"  # nothing else to show
    assert variable_label("x 人才", "en", {"x 人才": {"en": "X"}}) == "X"
    assert english_part("Talent 人才 / ") == "Talent"


def test_vensim_groups_are_sectors(sir: dict[str, Path]) -> None:
    sectors = vensim_sectors(sir["model"].read_text(encoding="utf-8"))
    assert sectors["Infected"] == "Epidemic" and sectors["contact rate"] == "Policy"
    assert sectors["FINAL TIME"] == "Control"


# -- the model card's [briefing] and [names] --------------------------------------------

CARD_ERRORS = {
    "unknown key": ('[briefing]\ncolour = "red"\n', "briefing.colour", "unknown key"),
    "show type": ("[briefing]\nshow = 3\n", "briefing.show", "must be list"),
    "panel key": ('[[briefing.show]]\nvariables = ["Infected"]\ntitle = "x"\n',
                  "briefing.show[0].title", "unknown key"),
    "empty panel": ("[[briefing.show]]\nvariables = []\n", "briefing.show[0].variables",
                    "at least one"),
    "names language": ('[names]\nInfected = { fr = "Infectés" }\n', "names.Infected.fr",
                       "unknown key"),
    "absolute path": ('[briefing]\nscenarios = "/etc"\n', "briefing.scenarios", "relative"),
}


@pytest.mark.parametrize("case", list(CARD_ERRORS))
def test_card_briefing_errors_name_the_file_and_key(tmp_path: Path, case: str) -> None:
    body, key, message = CARD_ERRORS[case]
    card = tmp_path / "m.toml"
    card.write_text(body, encoding="utf-8")
    with pytest.raises(InputFileError, match=re.escape(message)) as caught:
        load_card(card)
    assert caught.value.key == key and str(card) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_card_names_unknown_variables_with_close_matches(sir: dict[str, Path]) -> None:
    card = sir["model"].with_suffix(".toml")
    card.write_text('[briefing]\nshow = ["Infectd"]\n', encoding="utf-8")
    try:
        with pytest.raises(InputFileError, match="did you mean 'Infected'") as caught:
            plan_briefing(sir["model"], sir["scenarios"])
        assert caught.value.key == "briefing.show[0].variables"
        card.write_text('[briefing.sectors]\nPolicey = { zh = "政策" }\n', encoding="utf-8")
        with pytest.raises(InputFileError, match="did you mean 'Policy'"):
            plan_briefing(sir["model"], sir["scenarios"])
    finally:
        card.unlink()


def test_card_drives_the_briefing(sir: dict[str, Path]) -> None:
    card = sir["model"].with_suffix(".toml")
    card.write_text(
        '[briefing]\nbase = "distancing"\nscenarios = "../scenarios"\n'
        'sensitivity = "../scenarios/sensitivity/epidemic-lhs.toml"\n'
        'sensitivity_title = { en = "What drives the peak", zh = "什么决定了峰值" }\n'
        '[[briefing.show]]\ntitle_en = "The epidemic"\ntitle_zh = "疫情"\n'
        'variables = ["Infected", "Recovered"]\n[names]\nInfected = { zh = "感染者" }\n',
        encoding="utf-8")
    try:
        plan = plan_briefing(sir["model"])
        assert plan.base == "distancing" and len(plan.scenarios) == 3
        assert plan.spec == sir["spec"].resolve() and plan.card_spec()
        assert plan.panels[0].variables == ("Infected", "Recovered")
        assert plan.panels[0].title("zh") == "疫情"
        assert plan_briefing(sir["model"], sensitivity=False).spec is None
        assert plan_briefing(sir["model"], show=["infected"]).panels[0].variables == (
            "Infected",)
    finally:
        card.unlink()


# -- defaults without a card ------------------------------------------------------------

def test_defaults_without_a_card(sir: dict[str, Path]) -> None:
    alone = plan_briefing(sir["model"])
    assert [s.name for s in alone.scenarios] == ["baseline"] and alone.spec is None
    assert plan_briefing(sir["model"], sir["scenarios"]).base == "baseline"
    assert plan_briefing(sir["model"], sir["scenarios"], base="distancing").base == "distancing"
    with pytest.raises(ScenarioError, match="Did you mean 'distancing'"):
        plan_briefing(sir["model"], sir["scenarios"], base="distancng")
    with pytest.raises(UnknownVariableError, match="Infected"):
        plan_briefing(sir["model"], show=["Infectd"])
    model = load_model(sir["model"])
    run = model.run()
    assert default_variables(model, run) == ["Susceptible", "Infected", "Recovered"]
    # the two that change most relative to their size, in model order
    assert default_variables(model, run, limit=2) == ["Infected", "Recovered"]


def test_scenarios_of_another_model_are_refused(sir: dict[str, Path], tmp_path: Path) -> None:
    other = tmp_path / "other.mdl"
    other.write_text(sir["model"].read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(ScenarioError, match="not the briefing's model"):
        plan_briefing(other, sir["scenarios"])


# -- the generic model's page ------------------------------------------------------------

def _sections(page: str) -> dict[str, str]:
    return dict(re.findall(r'<section id="([a-z_]+)">(.*?)</section>', page, flags=re.S))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_generic_page_has_no_empty_section(sir_pages: dict[str, str], lang: str) -> None:
    sections = _sections(sir_pages[lang])
    assert list(sections) == ["findings", "comparison", "sensitivity", "assumptions",
                              "reproduce"]  # no stages, evidence or loops
    for name, body in sections.items():
        assert re.search(r'class="chart-box"|<li>|<td>', body), name
    assert "Talent" not in sir_pages[lang] and "talent" not in sir_pages[lang].lower()[:50_000]
    assert "theme weight" not in sir_pages[lang]


def test_generic_page_speaks_of_days(sir_data: BriefingData, sir_pages: dict[str, str]
                                     ) -> None:
    assert sir_data.time_unit == "Day"
    assert '"axis_label":"Day"' in sir_pages["en"].replace(" ", "")
    assert '"axis_label":"\\u5929"' in sir_pages["zh"].replace(" ", "") or \
        '"axis_label":"天"' in sir_pages["zh"].replace(" ", "")
    heading = text("section.sensitivity_titled", "en",
                   title="Contacts, infectivity and illness duration (Latin hypercube)")
    assert f"<h2>{heading}</h2>" in sir_pages["en"]
    assert f"<h2>{text('section.sensitivity', 'zh')}</h2>" in sir_pages["zh"]


def test_generic_findings_in_plain_words(sir_data: BriefingData) -> None:
    found = findings(sir_data, "en")
    said = " ".join(f.text for f in found)
    assert "By day 100," in said
    assert "the peak of Infected is most closely tied to" in said
    assert "Spearman rank correlation" in " ".join(f.note for f in found)
    assert "rho" not in said and "2 016" not in said
    assert sir_data.variables == ("Susceptible", "Infected", "Recovered")


def _study_base_line(data: BriefingData) -> tuple[str, np.ndarray]:
    """The fan chart's dashed line: its legend and its values."""
    fan = briefing_charts(data, "en")["fan_Infected"]
    items = [i for i in fan.legend[0].items if i.label["value"].startswith("the study's")]
    assert len(items) == 1
    return items[0].label["value"], np.asarray(items[0].renderers[0].data_source.data["y"])


def test_fan_chart_dashes_the_studys_own_base_run(sir_data: BriefingData) -> None:
    runs = sir_data.results
    study_base = runs.wide("baseline")["Infected"].to_numpy()  # the spec's scenario
    other = runs.wide("distancing")["Infected"].to_numpy()
    compared = dataclasses.replace(sir_data, base="distancing")  # the page's --base
    label, line = _study_base_line(compared)
    assert label == "the study's base run (Baseline)"
    np.testing.assert_allclose(line, study_base)
    assert not np.allclose(line, other)
    # a study of the model as written: the scenario that changes nothing
    bare = dataclasses.replace(compared, sensitivity=dataclasses.replace(
        sir_data.sensitivity, manifest={**sir_data.sensitivity.manifest, "scenario": None}))
    assert _study_base_line(bare)[0] == "the study's base run (Baseline)"
    # no briefing scenario is the study's base: the command runs it once
    others = [s for s in sir_data.scenarios if s.name != "baseline"]
    alone = dataclasses.replace(compared, scenarios=others)
    assert "fan_Infected" in briefing_charts(alone, "en")
    assert not [i for i in briefing_charts(alone, "en")["fan_Infected"].legend[0].items
                if i.label["value"].startswith("the study's")]
    said: list[str] = []
    label, line = _study_base_line(with_study_base(alone, said.append))
    assert label == "the study's base run (baseline)" and said
    np.testing.assert_allclose(line, study_base)


def test_brief_checks_the_spec_and_the_base_before_any_run(sir: dict[str, Path],
                                                           tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    result = CliRunner().invoke(main, ["brief", str(sir["model"]), "-o", str(tmp_path / "b.html"),
                                       "--scenarios", str(sir["scenarios"]),
                                       "--sensitivity", str(missing)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"sdkit: error: No sensitivity spec file {missing}; give an existing spec "
        "(--sensitivity SPEC), or --no-sensitivity."]  # before any scenario ran
    with pytest.raises(ScenarioError) as caught:
        plan_briefing(sir["model"], base="distancing")
    message = str(caught.value)
    assert "None" not in message and "'distancing'" in message and "['baseline']" in message
    assert "--scenarios" in message and "\n" not in message
    bad = CliRunner().invoke(main, ["brief", "-o", str(tmp_path / "c.html"), "--lang", "fr"])
    assert bad.exit_code == 2 and bad.stderr.splitlines() == [
        "sdkit: error: Unknown language 'fr' for --lang; valid languages: en, zh."]


def test_brief_command_on_a_generic_model(sir: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "b.html"
    result = CliRunner().invoke(main, ["brief", str(sir["model"]), "-o", str(out),
                                       "--scenarios", str(sir["scenarios"]), "--show",
                                       "Infected", "--base", "distancing"])
    assert result.exit_code == 0, result.output + result.stderr
    assert "scenario 3/3 late-distancing" in result.stderr
    page = out.read_text(encoding="utf-8")
    assert '<section id="sensitivity">' not in page and '<section id="comparison">' in page
    bad = CliRunner().invoke(main, ["brief", str(sir["model"]), "-o", str(tmp_path / "c.html"),
                                    "--scenarios", str(sir["scenarios"]), "--base", "nope"])
    assert bad.exit_code != 0 and "sdkit: error:" in bad.stderr
    assert not (tmp_path / "c.html").exists()


# -- the embedded font -------------------------------------------------------------------

def test_font_is_embedded_only_for_chinese_text() -> None:
    assert font_chars("plain English") == set() and font_face_css("plain English") == ""
    css = font_face_css("政策简报 Policy")
    assert css.startswith(f'@font-face {{ font-family: "{FONT_FAMILY}"')
    assert "base64," in css and len(css) < 60_000  # a subset, not the whole font
    svg = embed_in_svg('<svg xmlns="http://www.w3.org/2000/svg"><text>中</text></svg>', css)
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"><defs><style>@font-face')


def test_parameter_table_keeps_years_ungrouped() -> None:
    from sdkit.report.briefing.tables import value_text

    assert value_text(2018.0, "Year", "Year") == "2018"
    assert value_text(6e6, "t", "Year") == "6,000,000"
    assert value_text(float("nan"), "t", "Year") == "?"
    assert pd.isna(np.nan)


def test_a_study_of_another_model_or_a_control_variable_is_refused_before_any_run(
        sir: dict[str, Path], tmp_path: Path) -> None:
    other = REPO / "scenarios" / "sensitivity" / "talent-investment-morris.toml"
    cases = {"another model's study": (["--sensitivity", str(other)],
                                       "not the briefing's model"),
             "a control variable": (["--show", "TIME STEP"], "simulation control")}
    for name, (extra, fragment) in cases.items():
        result = CliRunner().invoke(main, ["brief", str(sir["model"]), "-o",
                                           str(tmp_path / "b.html"), *extra])
        assert result.exit_code == 2, name
        lines = result.stderr.splitlines()
        assert lines[-1].startswith("sdkit: error: ") and fragment in lines[-1], name
        assert "Traceback" not in result.output and not any(
            line.startswith("[") for line in lines), name  # no scenario ran
        assert not (tmp_path / "b.html").exists()


def test_the_lowest_scenario_is_never_above_the_base() -> None:
    from sdkit.report.briefing.findings import level_finding

    rows = [{"scenario": s, "time": t, "variable": "Stock", "value": v * t}
            for s, v in (("base", 1.0), ("masks", 3.0), ("distancing", 2.0)) for t in (0.0, 10.0)]
    voice = Voice("en", "Day")
    labels = {"base": "No measures", "masks": "Masks", "distancing": "Distancing"}
    (finding,) = level_finding(pd.DataFrame(rows), "Stock", labels, base="base", voice=voice)
    assert "highest in Masks" in finding.text and "lowest in No measures" in finding.text
    # two runs that end equal say nothing
    same = pd.DataFrame([{**r, "value": 1.0} for r in rows if r["scenario"] != "masks"])
    assert level_finding(same, "Stock", labels, base="base", voice=voice) == []

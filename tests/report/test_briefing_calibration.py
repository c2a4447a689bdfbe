"""The briefing's calibration: fit and hindcast chart, posterior bands, table, sentence, finding.

A small calibration result is built from tables (no model runs, no sampling), shaped like
the empowerment calibration of 2015-2019 with 2020-2021 held out.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import synthetic
from bokeh.models import GlyphRenderer, Span, Whisker
from click.testing import CliRunner

from sdkit import examples
from sdkit.calibration import CalibrationResult
from sdkit.cli.app import main
from sdkit.model.card import load_card
from sdkit.report import plots_calibration
from sdkit.report.briefing import inputs as briefing_inputs
from sdkit.report.briefing.calibration_messages import CALIBRATION_MESSAGES
from sdkit.report.briefing.calibration_text import summary_sentence, until_text
from sdkit.report.briefing.page import BriefingData, briefing_charts, findings, render_briefing
from sdkit.report.embed import write_embeds
from sdkit.report.i18n import MESSAGES, display_names, text
from sdkit.scenarios.runner import ScenarioResults

NAN = float("nan")
#: Display names of the example model's variables (its card's [names]).
NAMES = load_card(examples.card_path()).names
#: id, kind, variable, role, value, sd, scale, unit, at_mode, q05, q95, time, end, threshold
ROWS = [
    ("stage-2-start", "event", "Intelligentization theme weight", "train", 2017.4, 0.3,
     "linear", "year", 2017.4, 2016.8, 2018.1, NAN, NAN, 0.5),
    ("rd-2019", "flow", "technology spending", "train", 129.0, 18.2, "linear", "CNY million",
     129.0, 87.6, 171.0, 2019.0, 2020.0, NAN),
    ("growth-2019", "ratio", "service revenue", "train", 1.28, 0.15, "linear", "dmnl", 1.28,
     0.94, 1.52, 2019.0, 2020.0, NAN),
    ("rd-2020", "flow", "technology spending", "holdout", 174.0, 21.3, "linear",
     "CNY million", 172.0, 118.0, 213.0, 2020.0, 2021.0, NAN),
    ("volume-2020", "flow", "Transaction volume", "holdout", 47.6, 0.14, "log", "Mt", 216.0,
     59.3, 351.0, 2020.0, 2021.0, NAN),
    ("mills-2021", "level", "Mills on platform", "holdout", 300.0, 0.18, "log", "mills", 679.0,
     355.0, 887.0, 2021.0, NAN, NAN),
    ("knowledge-2021", "level", "Steel knowledge records", "holdout", 9e8, 0.28, "log",
     "records", 891_000.0, 776_000.0, 5_790_000.0, 2021.5, NAN, NAN),
]
PARAMETERS = ["mills needed", "technology budget share", "fee half volume", "matching gain",
              "finance gain", "angel drawdown time", "warehouses per Mt", "hiring delay"]


def observations() -> pd.DataFrame:
    frame = pd.DataFrame(ROWS, columns=["id", "kind", "variable", "role", "value", "sd",
                                        "scale", "unit", "at_mode", "predictive_q05",
                                        "predictive_q95", "time", "end", "threshold"])
    frame["inside"] = (frame["predictive_q05"] <= frame["value"]) & \
        (frame["value"] <= frame["predictive_q95"])
    frame["period"] = frame["id"]
    frame["source"] = "test"
    frame["base_time"] = np.where(frame["kind"] == "ratio", 2018.0, NAN)
    frame["base_end"] = np.where(frame["kind"] == "ratio", 2019.0, NAN)
    for column in ("median", "q05", "q95", "z"):
        frame[column] = frame["at_mode"] if column != "z" else 0.0
    return frame


def estimates() -> pd.DataFrame:
    k = len(PARAMETERS)
    return pd.DataFrame({
        "parameter": PARAMETERS, "mode": 1.0, "median": 1.0, "q05": 0.5, "q95": 1.5,
        "mean": 1.0, "sd": 0.3, "low": 0.0, "high": 2.0, "prior": "uniform",
        "prior_q05": 0.1, "prior_q95": 1.9, "width_ratio": [0.9, 0.3] + [0.9] * (k - 2),
        "identified": [False, True] + [False] * (k - 2)}, index=range(k))


def bands() -> pd.DataFrame:
    times = np.arange(2015.0, 2025.01, 0.5)
    frames = []
    for variable, scale in (("Mills on platform", 1000.0), ("Transaction volume", 300.0),
                            ("technology spending", 200.0), ("Platform trust", 1.0)):
        mid = scale / (1 + np.exp(-(times - 2020)))
        frames.append(pd.DataFrame({"variable": variable, "time": times, "q05": mid * 0.6,
                                    "q25": mid * 0.8, "q50": mid, "q75": mid * 1.2,
                                    "q95": mid * 1.5}))
    return pd.concat(frames, ignore_index=True)


XSS = "<script>alert('x')</script>"


def calibration(title: str = f"Empowerment fitted to 2015-2019 {XSS}") -> CalibrationResult:
    return CalibrationResult(
        estimates=estimates(), observations=observations(), bands=bands(),
        correlations=pd.DataFrame({"parameter": ["mills needed"], "other": ["matching gain"],
                                   "correlation": [0.2]}),
        posterior=pd.DataFrame({"step": [0], "walker": [0], "log_prob": [0.0]}),
        draws=pd.DataFrame({name: [1.0] for name in PARAMETERS}),
        manifest={"name": "empowerment-2019", "title": title, "train_until": 2019.99,
                  "draws": 400, "model": "models/empowerment.mdl", "complete": True,
                  "seed": 1, "evaluations": 10, "walkers": 16,
                  "sampler": {"steps": 10, "burn": 5}, "diagnostics": {}})


@pytest.fixture(scope="module")
def data() -> BriefingData:
    results = ScenarioResults(synthetic.long_results(), synthetic.transitions())
    return BriefingData(
        results=results, scenarios=[], sensitivity=synthetic.sensitivity(),
        sensitivity_name="talent-investment-morris", evidence=synthetic.evidence(),
        parameters=pd.DataFrame(columns=["name", "value", "units", "low", "high", "comment"]),
        model_title={"en": "Empowerment", "zh": "动态赋能"}, command="make briefing",
        versions={"sdkit": "0.1.0"}, generated="2025-01-01", calibration=calibration(),
        variables=("Buyers on platform", "Mills on platform"), names=NAMES)


@pytest.fixture(scope="module")
def pages(data: BriefingData) -> dict[str, str]:
    return {lang: render_briefing(data, lang=lang) for lang in ("en", "zh")}


BAND_CHARTS = ["calibration_band_Mills on platform", "calibration_band_Transaction volume",
               "calibration_band_technology spending"]


def test_calibration_charts_follow_the_evidence_chart(data: BriefingData) -> None:
    charts = briefing_charts(data, "en")
    names = list(charts)
    assert names[names.index("evidence_fit") + 1:] == ["calibration_fit", *BAND_CHARTS]
    assert all(chart.name == name for name, chart in charts.items())
    without = briefing_charts(dataclasses.replace(data, calibration=None), "en")
    assert list(without) == names[:names.index("evidence_fit") + 1]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_page_shows_the_calibration_in_the_evidence_section(pages: dict[str, str],
                                                            lang: str) -> None:
    page = pages[lang]
    evidence = page[page.index('<section id="evidence">'):page.index('<section id="assumptions"')]
    assert f"<h3 id=\"calibration\">{text('section.calibration', lang)}</h3>" in evidence
    for name in ["evidence_fit", "calibration_fit", *BAND_CHARTS]:
        assert f'data-chart="{name}"' in evidence
    assert '<table class="evidence">' in evidence  # the reference modes stay
    rows = re.findall(r'<tr class="(holdout|fitted)( outside)?">(.*?)</tr>', evidence)
    assert [(r[0], bool(r[1])) for r in rows] == [
        ("fitted", False), ("fitted", False), ("fitted", False), ("holdout", False),
        ("holdout", True), ("holdout", True), ("holdout", True)]
    held = text("calibration.holdout_role", lang)
    assert all(f"<td>{held}</td>" in r[2] for r in rows if r[0] == "holdout")
    assert all(f"<td>{text('calibration.fitted_role', lang)}</td>" in r[2]
               for r in rows if r[0] == "fitted")
    assert f"<td>{text('no', lang)}</td>" in rows[5][2]
    other = "zh" if lang == "en" else "en"
    assert text("section.calibration", other) not in page


def test_table_cells_say_what_when_and_how_far(pages: dict[str, str]) -> None:
    page = pages["en"]
    assert ("<td>Mills on platform</td><td>2021</td><td>held out (hindcast)</td><td>300</td>"
            "<td>679</td><td>355 - 887 mills</td><td>NO</td>") in page
    assert "<td>technology spending (total over the period)</td><td>2019</td>" in page
    assert "<td>service revenue: one period over another</td><td>2019 over 2018</td>" in page
    assert ("<td>Intelligentization theme weight: date it first reaches 0.5</td>"
            "<td>observed date</td><td>fitted</td><td>2017.40</td>") in page
    assert "776,000 - 5,790,000 records" in page  # three significant digits


def test_summary_sentence_counts(data: BriefingData, pages: dict[str, str]) -> None:
    result = data.calibration
    assert result is not None
    en = summary_sentence(result, "en")
    assert en == ("The calibrated model was fitted to 3 observations up to the end of 2019. "
                  "Held-out observations inside their range: 1 of 4. The data could not pin "
                  "down 7 of the 8 estimated parameters: their plausible range barely narrowed.")
    assert f'<p class="calibration-summary">{en}</p>' in pages["en"]
    zh = summary_sentence(result, "zh")
    assert "截至 2019 年底的 3 个观测值" in zh and "4 个留出的观测值中有 1 个" in zh
    assert "在 8 个被估计的参数中，数据无法确定其中 7 个" in zh and zh in pages["zh"]
    # many are counted in the sentence and listed apart
    assert "<summary>Parameters not pinned down (7)</summary>" in pages["en"]
    assert "mills needed, fee half volume, matching gain, finance gain" in pages["en"]
    assert "<summary>未能确定的参数 (7)</summary>" in pages["zh"]


def test_a_few_unidentified_parameters_are_named(data: BriefingData) -> None:
    assert data.calibration is not None
    few = pd.DataFrame({"parameter": ["a", "b", "c"], "identified": [False, True, False]})
    result = dataclasses.replace(data.calibration, estimates=few)
    assert summary_sentence(result, "en").endswith(
        "Parameters the data could not pin down: a, c.")
    none = few.assign(identified=True)
    assert summary_sentence(dataclasses.replace(result, estimates=none), "zh").endswith(
        "数据缩小了全部 3 个被估计参数的范围。")


def test_no_holdout_says_so(data: BriefingData) -> None:
    assert data.calibration is not None
    fitted = data.calibration.observations.assign(role="train")
    result = dataclasses.replace(data.calibration, observations=fitted,
                                 manifest={**data.calibration.manifest, "train_until": None})
    assert summary_sentence(result, "en").startswith(
        "The calibrated model was fitted to all 7 observations; none was held out.")
    assert findings(dataclasses.replace(data, calibration=result), "en") == \
        findings(dataclasses.replace(data, calibration=None), "en")


def test_hindcast_finding_names_what_the_model_overshoots(data: BriefingData) -> None:
    en = [f.text for f in findings(data, "en")]
    zh = [f.text for f in findings(data, "zh")]
    assert en[-1] == (
        "Tested on 4 observations after the end of 2019 that the calibration never saw, the "
        "calibrated model's 90 % range contains 1. It overshoots Transaction volume 2020 total "
        "(model's range 59.3 - 351, observed 47.6), Mills on platform 2021 (model's range "
        "355 - 887, observed 300). It undershoots Steel knowledge records 2021.5 (model's "
        "range 776,000 - 5,790,000, observed 900,000,000).")
    assert zh[-1].startswith("用校准未使用的 2019 年底之后的 4 个观测值检验")
    assert "高估了交易量 2020 年合计" in zh[-1]
    assert len(en) == len(findings(dataclasses.replace(data, calibration=None), "en")) + 1


def test_fit_chart_marks_held_out_rows_and_misses() -> None:
    fig = plots_calibration.fit_chart(observations(), lang="en")
    labels = [item.label["value"] for item in fig.legend[0].items]
    assert labels == ["model's 90 % range", "observed, used for fitting",
                      "observed, held out (hindcast)", "outside its range", "model, best fit"]
    renderers = {item.label["value"]: item.renderers[0] for item in fig.legend[0].items}
    held = renderers["observed, held out (hindcast)"].data_source.data
    assert held["row"] == ["technology spending 2020 total", "Transaction volume 2020 total",
                           "Mills on platform 2021", "Steel knowledge records 2021.5"]
    assert renderers["observed, held out (hindcast)"].glyph.marker == "diamond"
    assert len(renderers["outside its range"].data_source.data["y"]) == 3
    # log-scale rows are placed on a log scale: 300 in [355, 887] is below -1
    mills = held["observed"][2]
    expected = (np.log(300) - np.log(355 * 887) / 2) / ((np.log(887) - np.log(355)) / 2)
    assert mills == pytest.approx(expected) and mills < -1
    assert held["observed"][3] == 3.0  # clipped at the edge
    shaded = [r for r in fig.renderers if isinstance(r, GlyphRenderer)][0]
    assert list(shaded.data_source.data["y"]) == held["row"]  # held-out rows shaded


def test_band_chart_draws_flows_as_average_rates() -> None:
    obs = observations()
    obs.loc[obs["id"] == "rd-2020", ["time", "end"]] = [2020.0, 2022.0]  # a two-year total
    fig = plots_calibration.band_chart(bands(), obs, "technology spending", train_until=2019.99,
                                       lang="en")
    labels = [item.label["value"] for item in fig.legend[0].items]
    assert labels[:3] == ["model's 90 % range", "50 % range", "median"]
    assert labels[3:] == ["observed total as yearly average, fitted",
                          "observed total as yearly average, held out (hindcast)"]
    held = fig.legend[0].items[4].renderers[0].data_source.data
    assert held["y"][0] == pytest.approx(174.0 / 2)
    assert (held["x0"][0], held["x1"][0]) == (2020.0, 2022.0)
    whisker = [w for w in fig.center if isinstance(w, Whisker) and w.dimension == "height"]
    assert whisker and fig.yaxis[0].axis_label == "CNY million per year"
    assert [s.location for s in fig.center if isinstance(s, Span)] == [2019.99]
    assert fig.name == "calibration_band_technology spending"


def test_band_chart_levels_and_events_in_chinese() -> None:
    with display_names(NAMES):  # as in a briefing of the example model
        fig = plots_calibration.band_chart(bands(), observations(), "Mills on platform",
                                           train_until=2019.99, lang="zh")
    assert fig.title.text == "平台钢厂数：校准后的模型" and fig.yaxis[0].axis_label == "mills"
    held = fig.legend[0].items[3]
    assert held.label["value"] == "观测值，留出（回测）"
    assert held.renderers[0].data_source.data["x"].tolist() == [2021.0]


def test_embeds_name_the_calibration_charts(data: BriefingData, tmp_path: Path) -> None:
    charts = briefing_charts(data, "en")
    write_embeds({k: v for k, v in charts.items() if k.startswith("calibration_")}, tmp_path,
                 images=False)
    names = {p.name for p in tmp_path.iterdir()}
    for base in ("calibration-fit", "calibration-band-mills-on-platform",
                 "calibration-band-transaction-volume",
                 "calibration-band-technology-spending"):
        assert {f"{base}.html", f"{base}.json"} <= names
    item = json.loads((tmp_path / "calibration-fit.json").read_text("utf-8"))
    assert item["target_id"] == "calibration-fit"


def test_calibration_title_is_escaped(pages: dict[str, str]) -> None:
    for page in pages.values():
        assert XSS not in page and "fitted to 2015-2019 &lt;script&gt;alert(" in page


def test_page_without_calibration_keeps_its_structure(data: BriefingData,
                                                      pages: dict[str, str]) -> None:
    page = render_briefing(dataclasses.replace(data, calibration=None), lang="en")
    assert 'id="calibration"' not in page and "calibration_" not in page
    assert page.count('class="chart-box"') == 5
    assert pages["en"].count('class="chart-box"') == 5 + 1 + len(BAND_CHARTS)
    sections = re.findall(r'<section id="(\w+)">', page)
    assert sections == re.findall(r'<section id="(\w+)">', pages["en"])


def test_messages_are_bilingual_and_new() -> None:
    for key, texts in CALIBRATION_MESSAGES.items():
        assert set(texts) == {"en", "zh"}, key
        assert MESSAGES[key] is texts, f"{key} is already a message of sdkit.report.i18n"
    assert until_text(2019.99, "en") == "the end of 2019"
    assert until_text(2020.5, "en") == "2020.5" and until_text(None, "en") == ""


def _no_sensitivity() -> None:
    raise AssertionError("the calibration is read before anything runs")


@pytest.mark.parametrize("state", ["missing", "unfinished"])
def test_brief_rejects_a_missing_or_unfinished_calibration(monkeypatch, tmp_path: Path,
                                                           state: str) -> None:
    monkeypatch.setattr(briefing_inputs, "load_run_sensitivity", _no_sensitivity)
    folder = tmp_path / "calibration"
    if state == "unfinished":
        folder.mkdir()
        (folder / "manifest.json").write_text(json.dumps({"complete": False}), "utf-8")
    out = tmp_path / "b.html"
    result = CliRunner().invoke(main, ["brief", "-o", str(out), "--calibration", str(folder)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sdkit: error:")
    assert ("did not finish" if state == "unfinished" else "No calibration folder") in lines[0]
    assert not out.exists()


def _in_days(result: CalibrationResult) -> CalibrationResult:
    """The same calibration for a model counted in days from 0 (2015 -> day 15)."""
    obs = result.observations.copy()
    for column in ("time", "end", "base_time", "base_end"):
        obs[column] = obs[column] - 2000
    events = obs["kind"] == "event"
    for column in ("value", "at_mode", "predictive_q05", "predictive_q95"):
        obs.loc[events, column] = obs.loc[events, column] - 2000
    obs.loc[events, "unit"] = "day"
    bands = result.bands.assign(time=result.bands["time"] - 2000)
    return dataclasses.replace(result, observations=obs, bands=bands,
                               manifest={**result.manifest, "train_until": 19.99})


def _chart_words(chart) -> list[str]:
    words = [chart.title.text, *(a.axis_label or "" for a in chart.xaxis + chart.yaxis)]
    words += [item.label["value"] for legend in chart.legend for item in legend.items]
    return words


def test_a_model_in_days_never_says_year(data: BriefingData) -> None:
    assert data.calibration is not None
    days = dataclasses.replace(data, calibration=_in_days(data.calibration), time_unit="Day")
    charts = briefing_charts(days, "en")
    band = charts["calibration_band_technology spending"]
    assert band.xaxis[0].axis_label == "Day"
    assert band.yaxis[0].axis_label == "CNY million per day"
    assert "observed total as average per day, fitted" in _chart_words(band)
    for name in ["calibration_fit", *BAND_CHARTS]:
        assert not [w for w in _chart_words(charts[name]) if re.search("year", w, re.I)], name
    page = render_briefing(days, lang="en")
    section = page[page.index('<h3 id="calibration">'):page.index('<section id="assumptions"')]
    assert not re.search(r"\byear", section, re.I)
    assert "up to day 20" in section  # 19.99, not "the end of 19"
    assert "<td>technology spending (total over the period)</td><td>day 19</td>" in section
    assert "<td>day 19 over day 18</td>" in section
    hindcast = findings(days, "en")[-1].text
    assert hindcast.startswith("Tested on 4 observations after day 20")
    assert "Mills on platform day 21 " in hindcast and "records day 21.5 " in hindcast
    assert "year" not in hindcast.lower()
    zh = findings(days, "zh")[-1].text
    assert "第 20 天" in zh and "钢材知识记录 第 21.5 天" in zh and "年" not in zh
    assert until_text(19.99, "en", "Day") == "day 20" and until_text(19.99, "zh", "Days") == \
        " 第 20 天 "

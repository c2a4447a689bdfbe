"""Text from files never becomes markup, script or TeX in the briefing or the explorer.

Every text field of the briefing's data and of the explorer's model card carries
the payloads of :mod:`planted`. In the briefing's HTML they appear only escaped;
in the Bokeh documents of both, no model that Bokeh renders as HTML or TeX gets
them (see :func:`live_text`). The real-browser check is in ``test_browser.py``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from pathlib import Path

import markupsafe
import pandas as pd
import planted
import pytest
import synthetic
from bokeh.document import Document
from bokeh.embed.util import contains_tex_string
from bokeh.models import (
    Axis,
    Div,
    HoverTool,
    HTMLTemplateFormatter,
    Markup,
    Model,
    Paragraph,
    TextAnnotation,
)
from bokeh.models.widgets.sliders import AbstractSlider

from sdkit.report.briefing.page import BriefingData, briefing_charts, render_briefing
from sdkit.report.i18n import no_math, text
from sdkit.scenarios.runner import ScenarioResults
from sdkit.scenarios.spec import Scenario

#: The payloads' fragments that are markup (the last of planted.LIVE is TeX).
MARKUP = planted.LIVE[:3]


def _tex_text(model: Model) -> list[str]:
    """The strings of ``model`` that Bokeh would render as TeX if they had delimiters."""
    if isinstance(model, TextAnnotation | AbstractSlider):
        value = model.text if isinstance(model, TextAnnotation) else model.title
        return [value] if isinstance(value, str) else []
    if isinstance(model, Axis):
        return [v for v in (model.axis_label, *model.major_label_overrides.values())
                if isinstance(v, str)]
    if isinstance(model, Div | Paragraph) and not model.disable_math:
        return [] if isinstance(model, Div) and model.render_as_text else [model.text]
    return []


def live_text(roots: Iterable[Model]) -> list[str]:
    """Where text could run as markup or TeX in these Bokeh models (empty when nowhere).

    Flags an HTML ``Div`` or other markup model with any payload, TeX in any
    property Bokeh reads as TeX (titles, labels, axis labels, slider titles, math
    in markup models), a hover template with a payload or the ``{safe}`` format
    (placeholders' values are escaped by BokehJS, the template is HTML), and any
    HTML cell template of a table.
    """
    found = []
    for model in {m for root in roots for m in root.references()}:
        where = f"{type(model).__name__}({model.name or model.id})"
        if isinstance(model, Markup) and not (isinstance(model, Div) and model.render_as_text) \
                and not isinstance(model, Paragraph):
            found += [f"{where}: HTML {f!r}" for f in MARKUP if f in model.text]
        found += [f"{where}: TeX {t!r}" for t in _tex_text(model) if contains_tex_string(t)]
        if isinstance(model, HoverTool) and isinstance(model.tooltips, str | list):
            templates = [model.tooltips] if isinstance(model.tooltips, str) else \
                [template for _, template in model.tooltips]
            found += [f"{where}: template {t!r}" for t in templates
                      if "{safe}" in t or any(f in t for f in planted.LIVE)]
        if isinstance(model, HTMLTemplateFormatter):
            found.append(f"{where}: HTML template")
    return found


def test_live_text_flags_every_sink() -> None:
    from bokeh.models import Label, Slider
    from bokeh.plotting import figure

    fig = figure(title=planted.PAYLOAD, x_axis_label=planted.PAYLOAD,
                 tooltips=[("x", "@x{safe}")])
    fig.add_layout(Label(x=0, y=0, text=planted.PAYLOAD))
    roots = [fig, Div(text=planted.PAYLOAD), Slider(title=planted.PAYLOAD, start=0, end=1,
                                                    value=0)]
    found = live_text(roots)
    assert len([f for f in found if ": TeX " in f]) == 5  # title, axis, label, div, slider
    assert len([f for f in found if ": HTML " in f]) == 3
    assert any("{safe}" in f for f in found)
    assert live_text([Div(text=planted.PAYLOAD, render_as_text=True),
                      figure(title=no_math(planted.PAYLOAD))]) == []


@pytest.mark.parametrize("value", [planted.PAYLOADS[3], planted.PAYLOAD, "\\[a\\]", "\\(b\\)",
                                   "$$$ c $$$$", "a \\(b\\) $$c$$ \\[d\\]"])
def test_no_math_leaves_no_tex_and_only_adds_invisible_spaces(value: str) -> None:
    assert contains_tex_string(value)
    assert not contains_tex_string(no_math(value))
    assert no_math(value).replace("\u200b", "") == value


@pytest.mark.parametrize("value", ["Buyers on platform", "平台买家数", "cost $5 \\ year", ""])
def test_no_math_keeps_ordinary_text(value: str) -> None:
    assert no_math(value) == value


def _planted_data() -> BriefingData:
    """Briefing data whose every text from a file carries the payloads."""
    names = ("baseline", planted.planted("other"))
    variables = (planted.planted("variable A"), planted.planted("variable B"))
    transitions = synthetic.transitions(names).assign(
        stage_en=lambda t: [planted.planted(s) for s in t["stage_en"]],
        stage_zh=lambda t: [planted.planted(s) for s in t["stage_zh"]])
    results = ScenarioResults(synthetic.long_results(names, variables), transitions)
    scenarios = [Scenario(name, {"en": planted.planted(f"title {i}"),
                                 "zh": planted.planted(f"标题 {i}")},
                          {"en": planted.planted("why"), "zh": planted.planted("依据")},
                          Path("s.toml"), Path("m.mdl"), {planted.planted("constant"): 1.0})
                 for i, name in enumerate(names)]
    evidence = synthetic.evidence().assign(
        metric=lambda t: [planted.planted(f"metric {i}") for i in range(len(t))],
        unit=planted.planted("unit"))
    loops = synthetic.loop_scores().assign(loop=lambda t: [planted.planted(x) for x in t["loop"]])
    parameters = pd.DataFrame({
        "name": [planted.planted("parameter")], "value": [0.3], "units": [planted.planted("u")],
        "low": [0.0], "high": [1.0], "comment": [planted.planted("comment")]})
    return BriefingData(
        results=results, scenarios=scenarios, sensitivity=planted.sensitivity(),
        sensitivity_name=planted.planted("spec"), evidence=evidence, parameters=parameters,
        model_title={"en": planted.planted("model"), "zh": planted.planted("模型")},
        command=planted.planted("sdkit brief"), versions={"sdkit": planted.planted("0.1")},
        generated=planted.planted("today"), variables=variables, loops=loops)


@pytest.fixture(scope="module")
def planted_data() -> BriefingData:
    return _planted_data()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_briefing_shows_planted_text_only_escaped(planted_data: BriefingData, lang: str) -> None:
    page = render_briefing(planted_data, lang=lang)
    for fragment in MARKUP:
        assert fragment not in page
    # escaped by the template (markupsafe) and in Bokeh's document JSON (html.escape)
    title = text("page.title", lang, model=planted_data.model_title[lang])
    assert f"<title>{markupsafe.escape(title)}</title>" in page
    assert html.escape(json.dumps(planted.PAYLOADS[0])[1:-1], quote=False) in page
    assert 'data-chart="fan_variable &lt;img src=x onerror=&#34;' in page
    charts = briefing_charts(planted_data, lang)
    assert set(charts) >= {"scenario_comparison", "stage_timeline", "loop_dominance",
                           "evidence_fit", "indices_morris_0"}
    assert live_text(charts.values()) == []


def test_briefing_charts_draw_planted_tex_as_text(planted_data: BriefingData) -> None:
    loops = briefing_charts(planted_data)["loop_dominance"]
    labels = [m.text for m in loops.center if isinstance(m, TextAnnotation)]
    assert labels and all(planted.PAYLOADS[3] in t.replace("\u200b", "") for t in labels)
    assert not any(contains_tex_string(t) for t in labels)


@pytest.fixture(scope="module")
def planted_model(tmp_path_factory: pytest.TempPathFactory):
    from sdkit.model.core import load_model

    return load_model(planted.plant_model(tmp_path_factory.mktemp("planted")))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_explorer_shows_planted_card_text_as_text(planted_model, lang: str) -> None:
    from sdkit.report.explore import Runner, explorer_choice, levers, make_app
    from sdkit.report.modeldoc import constant_values

    chosen, shown = explorer_choice(planted_model, levers=["talent budget share"])
    defaults = {lever.name: lever.value
                for lever in levers(planted_model, constant_values(planted_model), chosen)}
    doc = Document()
    make_app(planted_model, Runner(planted_model, defaults, shown), lang=lang)(doc)
    stages, status = doc.get_model_by_name("stages"), doc.get_model_by_name("status")
    stage = planted.planted("intelligentization" if lang == "en" else "智慧化")
    assert stage in stages.text  # the card's stage name reached the page ...
    assert stages.render_as_text and status.render_as_text  # ... as text
    assert live_text(doc.roots) == []

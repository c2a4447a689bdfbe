"""Chart factories on synthetic tables: structure, links, hover tools, labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import synthetic
from bokeh.models import BoxAnnotation, HoverTool, LabelSet, NumeralTickFormatter, Whisker

from sdkit.errors import ParameterValueError, UnknownVariableError
from sdkit.report import plots, plots_sensitivity
from sdkit.report.fonts import CANVAS_FONT

NAMES = {"Buyers on platform": {"zh": "平台买家数"}}


def _figures(layout):
    """The panels of a scenario comparison (a grid of figures, then the legend)."""
    return [child[0] for child in layout.children[0].children]


def _legend(layout):
    return layout.children[1].legend[0]


def test_scenario_comparison_links_time_axes_and_has_hover() -> None:
    layout = plots.scenario_comparison(synthetic.long_results(),
                                       ["Buyers on platform", "Mills on platform"],
                                       labels={"baseline": "Base", "fast": "Fast"},
                                       units={"Buyers on platform": "enterprises"})
    figures = _figures(layout)
    assert layout.name == "scenario_comparison" and len(figures) == 2
    assert figures[0].x_range is figures[1].x_range
    for fig in figures:
        hovers = [t for t in fig.tools if isinstance(t, HoverTool)]
        assert len(hovers) == 1 and len(hovers[0].renderers) == 2
        assert not fig.legend  # the legend is outside every plotting area
    legend = _legend(layout)
    assert [item.label["value"] for item in legend.items] == ["Base", "Fast"]
    # one click hides a scenario in every panel
    assert [len(item.renderers) for item in legend.items] == [3, 3]
    source = figures[0].renderers[0].data_source  # the base is drawn last, on top
    assert set(source.data["label"]) == {"Fast"}
    assert figures[0].yaxis[0].axis_label == "enterprises"
    assert figures[1].yaxis[0].axis_label == "no unit"
    assert figures[0].title.text_font == CANVAS_FONT


def test_scenario_comparison_labels_in_chinese_and_rejects_unknown_variables() -> None:
    layout = plots.scenario_comparison(synthetic.long_results(), ["Buyers on platform"],
                                       lang="zh", names=NAMES)
    fig = _figures(layout)[0]
    assert fig.title.text == "平台买家数" and fig.xaxis[0].axis_label == "年份"
    with pytest.raises(UnknownVariableError, match="Buyers on platfrom"):
        plots.scenario_comparison(synthetic.long_results(), ["Buyers on platfrom"])


def test_stage_spans_follow_the_highest_stage_reached() -> None:
    table = synthetic.transitions(("baseline",))
    spans = plots.stage_spans(table, "baseline", 2030.0)
    assert spans["stage"].tolist() == [1, 2, 3]
    assert spans["start"].tolist() == [2015.0, 2017.4, 2020.0]
    assert spans["end"].tolist() == [2017.4, 2020.0, 2030.0]
    # stage 3 forced before stage 2: stage 2 is never the current stage
    table.loc[table["stage"] == 3, "time"] = 2016.0
    spans = plots.stage_spans(table, "baseline", 2030.0)
    assert spans["stage"].tolist() == [1, 3]
    assert spans["end"].tolist() == [2016.0, 2030.0]


def test_stage_timeline_has_a_row_per_scenario_and_labelled_transitions() -> None:
    names = ("baseline", "fast", "slow")
    fig = plots.stage_timeline(synthetic.transitions(names), dict.fromkeys(names, 2030.0),
                               labels={"slow": "Slow"})
    assert fig.name == "stage_timeline"
    assert list(fig.y_range.factors) == ["Slow", "fast", "baseline"]
    bars = fig.renderers[0].data_source.data
    assert bars["row"].count("Slow") == 2  # the third scenario never reaches stage 3
    labels = [m for m in fig.center + fig.renderers if isinstance(m, LabelSet)]
    texts = labels[0].source.data["text"]
    assert texts == ["2017.4", "2020.0", "2016.4", "2019.0", "2015.4"]


def test_evidence_fit_scales_each_band_to_minus_one_plus_one() -> None:
    table = synthetic.evidence()
    table.loc[0, "model"] = np.nan  # a transition never reached
    table.loc[0, "within"] = False
    fig = plots.evidence_fit(table)
    data = fig.renderers[1].data_source.data
    assert list(data["position"]) == [-3.0, 0.0, 3.0]  # never, middle, clipped
    assert data["color"] == ["#d62728", "#2ca02c", "#d62728"]
    assert data["marker"] == ["x", "circle", "circle"]
    assert data["model"][0] == "never"


def test_loop_dominance_stacks_shares_and_shades_stages() -> None:
    spans = plots.stage_spans(synthetic.transitions(("baseline",)), "baseline", 2030.0)
    fig = plots.loop_dominance(synthetic.loop_scores(), spans, labels={"R1": "R1 connection"})
    source = fig.renderers[0].data_source.data
    total = source["l0"] + source["l1"] + source["l2"]
    np.testing.assert_allclose(total, 1.0)
    boxes = [m for m in fig.center if isinstance(m, BoxAnnotation)]
    assert [(b.left, b.right) for b in boxes] == [(2015.0, 2017.4), (2017.4, 2020.0),
                                                  (2020.0, 2030.0)]
    assert "R1 connection" in [item.label["value"] for item in fig.legend[0].items]
    with pytest.raises(ParameterValueError, match="loop scores"):
        plots.loop_dominance(pd.DataFrame({"time": [1.0], "score": [1.0]}))


def test_fan_chart_draws_bands_median_and_baseline() -> None:
    bands = synthetic.sensitivity().bands
    baseline = pd.Series(bands["p50"].to_numpy(), index=bands["time"].to_numpy())
    fig = plots_sensitivity.fan_chart(bands, "Buyers on platform", baseline=baseline, lang="zh",
                                      names=NAMES, units="enterprises")
    kinds = [type(r.glyph).__name__ for r in fig.renderers]
    assert kinds == ["VArea", "VArea", "Line", "Line"]
    assert fig.title.text.startswith("平台买家数")
    assert fig.yaxis[0].axis_label == "enterprises" and fig.below[-1] is fig.legend[0]
    with pytest.raises(UnknownVariableError):
        plots_sensitivity.fan_chart(bands, "Mills on platform")


@pytest.mark.parametrize(("method", "columns"), [("morris", ["mu_star", "sigma"]),
                                                 ("sobol", ["S1", "ST"])])
def test_index_bars_rank_parameters_with_confidence_whiskers(method: str, columns: list) -> None:
    indices = synthetic.sensitivity(method).indices
    fig = plots_sensitivity.index_bars(indices, "Buyers on platform")
    assert fig.name == f"indices_{method}"
    assert list(fig.y_range.factors) == list(reversed(synthetic.PARAMETERS))  # largest on top
    assert [r.glyph.right for r in fig.renderers] == columns
    assert fig.xaxis[0].axis_label and fig.yaxis[0].axis_label == "Parameter"
    assert len([m for m in fig.center if isinstance(m, Whisker)]) == (2 if method == "sobol"
                                                                      else 1)
    with pytest.raises(ParameterValueError, match="valid methods"):
        plots_sensitivity.index_bars(indices, "Buyers on platform", method="fast")


def test_tornado_puts_the_widest_swing_on_top() -> None:
    swings = pd.DataFrame({"parameter": ["a", "b", "c"], "low": [9.0, 5.0, 9.5],
                           "high": [11.0, 20.0, 10.2]})
    fig = plots_sensitivity.tornado_chart(swings, 10.0, output="Buyers on platform")
    assert list(fig.y_range.factors) == ["c", "a", "b"]
    assert fig.renderers[0].glyph.left == 10.0


def test_index_bars_of_a_latin_hypercube_show_rank_correlations() -> None:
    indices = synthetic.sensitivity().indices.assign(method="lhs", rho=[-0.7, 0.5, 0.1, 0.0])
    fig = plots_sensitivity.index_bars(indices, "Buyers on platform")
    assert fig.name == "indices_lhs" and (fig.x_range.start, fig.x_range.end) == (-1, 1)
    assert list(fig.y_range.factors)[-1] == "talent budget share"  # |rho| largest on top
    assert "Rank correlation" in fig.xaxis[0].axis_label


def test_time_axes_use_the_model_time_unit_and_thousands_separators() -> None:
    results = synthetic.long_results()
    results["time"] = results["time"] - 2015.0  # a model counted in days from 0
    results["value"] *= 1e5
    layout = plots.scenario_comparison(results, ["Buyers on platform"], time_unit="Day")
    fig = _figures(layout)[0]
    assert fig.xaxis[0].axis_label == "Day"
    assert isinstance(fig.yaxis[0].formatter, NumeralTickFormatter)
    assert fig.yaxis[0].formatter.format == "0,0"
    zh = _figures(plots.scenario_comparison(results, ["Buyers on platform"], time_unit="Day",
                                            lang="zh"))[0]
    assert zh.xaxis[0].axis_label == "天"


def test_loop_dominance_sums_small_loops_as_other() -> None:
    times = synthetic.TIMES
    scores = pd.DataFrame([{"time": t, "loop": f"L{k}", "score": 1.0 / (k + 1)}
                           for t in times for k in range(40)])
    fig = plots.loop_dominance(scores)
    names = [item.label["value"] for item in fig.legend[0].items]
    assert len(names) == plots.MAX_LOOPS and names[-1] == "other loops"
    assert fig.below[-1] is fig.legend[0]  # outside the plotting area


def test_every_chart_text_names_the_embedded_font_first() -> None:
    from sdkit.report.fonts import FONT_FAMILY
    from sdkit.report.plot_parts import FONT_PROPERTIES

    spans = plots.stage_spans(synthetic.transitions(("baseline",)), "baseline", 2030.0)
    bands = synthetic.sensitivity().bands
    charts = [
        plots.scenario_comparison(synthetic.long_results(), ["Buyers on platform"], lang="zh"),
        plots.stage_timeline(synthetic.transitions(("baseline",)), {"baseline": 2030.0},
                             lang="zh"),
        plots.evidence_fit(synthetic.evidence(), lang="zh"),
        plots.loop_dominance(synthetic.loop_scores(), spans, lang="zh"),
        plots_sensitivity.fan_chart(bands, "Buyers on platform", lang="zh", names=NAMES),
    ]
    checked = 0
    for chart in charts:
        for model in chart.references():
            for prop in FONT_PROPERTIES:
                if prop in model.properties():
                    font = getattr(model, prop)
                    font = str(getattr(font, "value", font))  # a data spec holds a Value
                    assert font.startswith(f'"{FONT_FAMILY}"'), (chart.name, model, prop)
                    checked += 1
    assert checked > 40  # titles, axes, tick labels, legends, labels

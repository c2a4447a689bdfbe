"""Bokeh figure factories: tables in, figures out, no I/O.

Every function takes plain pandas tables (those of :mod:`sdkit.scenarios.runner`,
:mod:`sdkit.analysis.evidence` and the sensitivity and loop analyses), returns a Bokeh
model, and takes ``lang`` for its fixed labels (see :mod:`sdkit.report.i18n`). The
sensitivity charts (fan charts, index bars, tornado) are in
:mod:`sdkit.report.plots_sensitivity`. Each returned model has a ``name`` so a page
template can place it. Text from files (scenario labels, stage and variable
names) goes into text-only places: legends, axis factors, tooltip fields (which
BokehJS escapes) and titles and labels passed through :func:`sdkit.report.i18n.no_math`,
never into a tooltip template or other HTML.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import cycle, islice

import numpy as np
import pandas as pd
from bokeh.layouts import gridplot
from bokeh.layouts import row as row_layout
from bokeh.models import (
    BoxAnnotation,
    ColumnDataSource,
    GlyphRenderer,
    HoverTool,
    Label,
    LabelSet,
    LayoutDOM,
    Range1d,
    Span,
)
from bokeh.palettes import Category20_20, Set2_8
from bokeh.plotting import figure

from sdkit.errors import UnknownVariableError
from sdkit.report.i18n import no_math, text, variable_label
from sdkit.report.plot_parts import (
    STAGE_COLORS,
    TOOLS,
    check_columns,
    colors,
    format_y,
    percentile_fan,
    shared_legend,
    time_axis_label,
    units_label,
    use_font,
    whiskers,
)
from sdkit.util.names import close_matches

__all__ = ["colors", "stage_spans", "scenario_comparison", "stage_timeline", "evidence_fit",
           "loop_dominance", "percentile_fan", "whiskers", "TOOLS", "STAGE_COLORS"]

def stage_spans(transitions: pd.DataFrame, scenario: str, end: float) -> pd.DataFrame:
    """The stages one scenario's run passes through, as time spans.

    Parameters
    ----------
    transitions : pandas.DataFrame
        :attr:`sdkit.scenarios.runner.ScenarioResults.transitions` (``scenario, stage,
        stage_en, stage_zh, time, reached`` are used).
    scenario : str
        The scenario.
    end : float
        Last time of the run.

    Returns
    -------
    pandas.DataFrame
        Columns ``stage, stage_en, stage_zh, start, end``: one row per stage
        entered, in time order; a skipped stage (or one crossed after a higher one) has
        no row.
    """
    check_columns(transitions, ["scenario", "stage", "stage_en", "stage_zh", "time",
                                 "reached"], "transitions")
    rows = transitions[(transitions["scenario"] == scenario) & transitions["reached"]]
    rows = rows.dropna(subset=["time"]).sort_values(["time", "stage"])
    # the run is in the highest stage reached so far (as sdkit.analysis.stages counts durations):
    # a stage entered after a higher one, or at the same time as one, adds no span
    kept: list[pd.Series] = []
    for _, row in rows.iterrows():
        if kept and row["time"] == kept[-1]["time"]:
            kept[-1] = row if row["stage"] > kept[-1]["stage"] else kept[-1]
        elif not kept or row["stage"] > kept[-1]["stage"]:
            kept.append(row)
    starts = np.array([row["time"] for row in kept], dtype=float)
    ends = np.append(starts[1:], end)
    return pd.DataFrame({"stage": [int(row["stage"]) for row in kept],
                         "stage_en": [row["stage_en"] for row in kept],
                         "stage_zh": [row["stage_zh"] for row in kept],
                         "start": starts, "end": ends})


def scenario_comparison(
    results: pd.DataFrame, variables: Sequence[str], *, labels: Mapping[str, str] | None = None,
    lang: str = "en", width: int = 380, height: int = 280, ncols: int = 2,
    time_unit: str = "Year", units: Mapping[str, str] | None = None,
    names: Mapping[str, Mapping[str, str]] | None = None, name: str = "scenario_comparison",
) -> LayoutDOM:
    """One panel per variable, one line per scenario; linked time axes and hover tools.

    Parameters
    ----------
    results : pandas.DataFrame
        Long table ``scenario, time, variable, value``.
    variables : sequence of str
        Variables to show, one panel each.
    labels : mapping, optional
        Scenario name -> label shown in the legend and tooltips (default the name).
    lang : str
        Language of the fixed labels.
    time_unit : str
        The model's time unit (the time axis' title).
    units : mapping, optional
        Variable -> units (each y axis' title).
    names : mapping, optional
        Variable -> language -> display name (panel titles).
    name : str
        Name of the returned layout.

    Returns
    -------
    bokeh.models.LayoutDOM
        A row named ``name``: a grid of figures sharing one x range, then the legend
        (outside the plots; clicking a scenario hides it in every panel).

    Raises
    ------
    UnknownVariableError
        If a variable is not in ``results``.
    """
    check_columns(results, ["scenario", "time", "variable", "value"], "results")
    present = set(results["variable"].unique())
    for variable in variables:
        if variable not in present:
            raise UnknownVariableError(variable, close_matches(variable, present),
                                       "the results")
    results = results[results["variable"].isin(variables)]
    scenarios = [str(s) for s in results["scenario"].unique()]  # in order of appearance
    labels = dict(labels or {})
    units = dict(units or {})
    palette = dict(zip(scenarios, colors(len(scenarios)), strict=True))
    x_range = Range1d(float(results["time"].min()), float(results["time"].max()))
    x_label = time_axis_label(time_unit, results["time"].to_numpy(float), lang)
    figures = []
    lines: dict[str, list[GlyphRenderer]] = {s: [] for s in scenarios}
    for variable in variables:
        fig = figure(title=no_math(variable_label(variable, lang, names)), width=width,
                     height=height, x_range=x_range, tools=TOOLS, x_axis_label=x_label,
                     y_axis_label=units_label(units.get(variable, ""), lang))
        rows = {key: one for key, one in
                results[results["variable"] == variable].groupby("scenario", sort=False)}
        renderers = []
        for scenario in [*scenarios[1:], *scenarios[:1]]:  # the first (base) on top
            one = rows.get(scenario, results.iloc[:0]).sort_values("time")
            source = ColumnDataSource({"time": one["time"].to_numpy(float),
                                       "value": one["value"].to_numpy(float),
                                       "label": [labels.get(scenario, scenario)] * len(one)})
            line = fig.line("time", "value", source=source, color=palette[scenario],
                            line_width=3 if scenario == scenarios[0] else 2, alpha=0.85)
            renderers.append(line)
            lines[scenario].append(line)
        fig.add_tools(HoverTool(renderers=renderers, tooltips=[
            (text("col.scenario", lang), "@label"), (x_label, "@time{0.00}"),
            (text("axis.value", lang), "@value{0,0.[000]}")]))
        format_y(fig, np.concatenate([one["value"].to_numpy(float) for one in rows.values()])
                 if rows else np.zeros(1))
        figures.append(fig)
    grid = gridplot(figures, ncols=ncols, toolbar_location="right")
    legend = shared_legend([(labels.get(s, s), palette[s], lines[s]) for s in scenarios],
                           height=height)
    layout = row_layout(grid, legend, name=name)
    use_font(layout)
    return layout


def stage_timeline(
    transitions: pd.DataFrame, ends: Mapping[str, float], *,
    labels: Mapping[str, str] | None = None, lang: str = "en", width: int = 900,
    time_unit: str = "Year",
) -> LayoutDOM:
    """One row per scenario with its stages as coloured spans and transition times labelled.

    Parameters
    ----------
    transitions : pandas.DataFrame
        :attr:`sdkit.scenarios.runner.ScenarioResults.transitions`.
    ends : mapping of str to float
        Last time of each scenario's run (the scenarios shown, in order).
    labels : mapping, optional
        Scenario name -> row label.
    time_unit : str
        The model's time unit (the time axis' title).

    Returns
    -------
    bokeh.plotting.figure
        Named ``stage_timeline``.
    """
    labels = dict(labels or {})
    names = list(ends)
    rows: dict[str, list] = {k: [] for k in ("row", "left", "right", "color", "stage", "label")}
    marks: dict[str, list] = {"row": [], "time": [], "text": []}
    stage_key = "stage_zh" if lang == "zh" else "stage_en"
    for name in names:
        row = labels.get(name, name)
        spans = stage_spans(transitions, name, ends[name])
        for k, span in enumerate(spans.itertuples()):
            rows["row"].append(row)
            rows["left"].append(span.start)
            rows["right"].append(span.end)
            rows["color"].append(STAGE_COLORS[(int(span.stage) - 1) % len(STAGE_COLORS)])
            rows["stage"].append(f"{span.stage} {getattr(span, stage_key)}".strip())
            rows["label"].append(row)
            if k > 0:
                marks["row"].append(row)
                marks["time"].append(span.start)
                marks["text"].append(f"{span.start:.1f}")
    y_range = list(reversed([labels.get(n, n) for n in names]))
    start = min(rows["left"], default=0.0)
    end = max(ends.values(), default=1.0)
    x_label = time_axis_label(time_unit, [start], lang)
    fig = figure(y_range=y_range, x_range=(start, end), width=width,
                 height=130 + 34 * max(len(names), 1), tools=TOOLS,
                 title=text("chart.timeline", lang), x_axis_label=x_label)
    source = ColumnDataSource(rows)
    bars = fig.hbar(y="row", left="left", right="right", height=0.7, color="color",
                    line_color="white", source=source, legend_field="stage")
    fig.add_tools(HoverTool(renderers=[bars], tooltips=[
        (text("col.scenario", lang), "@label"), ("", "@stage"),
        (x_label, "@left{0.00} - @right{0.00}")]))
    fig.scatter("time", "row", source=ColumnDataSource(marks), marker="triangle", size=8,
                color="#333333", angle=np.pi)
    fig.add_layout(LabelSet(x="time", y="row", text="text", source=ColumnDataSource(marks),
                            x_offset=3, y_offset=-4, text_font_size="8pt"))
    fig.legend.orientation = "horizontal"
    fig.legend.location = "top_left"
    fig.add_layout(fig.legend[0], "above")
    fig.ygrid.grid_line_color = None
    fig.name = "stage_timeline"
    use_font(fig)
    return fig


def evidence_fit(comparison: pd.DataFrame, *, lang: str = "en", width: int = 900) -> LayoutDOM:
    """The model against each reference row, every tolerance band scaled to [-1, 1].

    Parameters
    ----------
    comparison : pandas.DataFrame
        Output of :func:`sdkit.analysis.evidence.compare_with_reference` (``metric, time,
        low, high, unit, model, within``).

    Returns
    -------
    bokeh.plotting.figure
        Named ``evidence_fit``: a grey bar from -1 to 1 per row, the model as a
        dot (green within, red outside; clipped to [-3, 3]; a never-reached
        transition at -3 as a cross). Hover shows the real numbers.
    """
    check_columns(comparison, ["metric", "time", "low", "high", "unit", "model", "within"],
                   "evidence")
    low = comparison["low"].to_numpy(float)
    high = comparison["high"].to_numpy(float)
    model = comparison["model"].to_numpy(float)
    mid, half = (low + high) / 2, np.maximum((high - low) / 2, 1e-12)
    position = np.clip(np.nan_to_num((model - mid) / half, nan=-3.0), -3.0, 3.0)
    metrics = [f"{m} ({t:g})" for m, t in zip(comparison["metric"], comparison["time"],
                                              strict=True)]
    within = comparison["within"].astype(bool).to_numpy()
    source = ColumnDataSource({
        "metric": metrics, "position": position, "low": low, "high": high,
        "model": [text("never", lang) if np.isnan(v) else f"{v:,.4g}" for v in model],
        "unit": comparison["unit"].astype(str).to_list(),
        "color": np.where(within, "#2ca02c", "#d62728").tolist(),
        "marker": ["circle" if np.isfinite(v) else "x" for v in model],
    })
    fig = figure(y_range=list(reversed(metrics)), x_range=(-3.2, 3.2), width=width,
                 height=70 + 26 * max(len(metrics), 1), tools=TOOLS,
                 title=text("chart.evidence", lang), x_axis_label=text("axis.band", lang))
    fig.hbar(y="metric", left=-1, right=1, height=0.5, color="#dddddd", source=source,
             legend_label=text("legend.band", lang))
    dots = fig.scatter("position", "metric", source=source, size=11, color="color",
                       marker="marker", legend_label=text("legend.model", lang))
    fig.add_layout(Span(location=0, dimension="height", line_color="#888888", line_dash="dashed"))
    fig.add_tools(HoverTool(renderers=[dots], tooltips=[
        (text("col.metric", lang), "@metric"), (text("col.band", lang), "@low{0,0.[00]} - "
                                                                         "@high{0,0.[00]} @unit"),
        (text("col.model", lang), "@model")]))
    fig.legend.orientation = "horizontal"
    fig.add_layout(fig.legend[0], "above")
    fig.name = "evidence_fit"
    use_font(fig)
    return fig


#: Loops (or families) a loop chart shows at most; the others are summed as "other".
MAX_LOOPS = 10


def _largest(wide: pd.DataFrame, labels: dict[str, str], lang: str) -> pd.DataFrame:
    """The :data:`MAX_LOOPS` - 1 columns of largest mean share, the rest summed as "other"."""
    if wide.shape[1] <= MAX_LOOPS:
        return wide
    keep = list(wide.mean().sort_values(ascending=False).index[:MAX_LOOPS - 1])
    rest = wide.drop(columns=keep).sum(axis=1)
    out = wide[keep].copy()
    out["other"] = rest + (out.pop("other") if "other" in out else 0.0)
    labels.setdefault("other", text("loops.other", lang))
    return out


def loop_dominance(
    scores: pd.DataFrame, spans: pd.DataFrame | None = None, *, lang: str = "en",
    labels: Mapping[str, str] | None = None, width: int = 900, height: int = 320,
    time_unit: str = "Year",
) -> LayoutDOM:
    """Relative loop scores over time as stacked areas, with the stages shaded behind.

    Parameters
    ----------
    scores : pandas.DataFrame
        Long table ``time, loop, score``: each loop's (or loop family's) relative
        score (for instance a loops-that-matter score divided by the sum of absolute
        scores at that time). Negative scores (balancing loops) are stacked by
        absolute value so the areas show each loop's share. Beyond
        :data:`MAX_LOOPS` loops, the smaller ones are summed as "other".
    spans : pandas.DataFrame, optional
        Stage spans as from :func:`stage_spans` (``stage, stage_en, stage_zh,
        start, end``).
    labels : mapping, optional
        Loop id -> legend label.
    time_unit : str
        The model's time unit (the time axis' title).

    Returns
    -------
    bokeh.plotting.figure
        Named ``loop_dominance``; the legend is below the plot.
    """
    check_columns(scores, ["time", "loop", "score"], "loop scores")
    labels = dict(labels or {})
    wide = scores.pivot_table(index="time", columns="loop", values="score", aggfunc="mean")
    wide = _largest(wide.sort_index().fillna(0.0).abs(), labels, lang)
    totals = wide.sum(axis=1).replace(0.0, 1.0)
    shares = wide.div(totals, axis=0)
    loops = [str(c) for c in shares.columns]
    data = {f"l{i}": shares[c].to_numpy(float) for i, c in enumerate(shares.columns)}
    data["time"] = shares.index.to_numpy(float)
    fig = figure(width=width, height=height, tools=TOOLS, y_range=(0, 1),
                 title=text("chart.loops", lang),
                 x_axis_label=time_axis_label(time_unit, data["time"], lang),
                 y_axis_label=text("axis.share", lang))
    stage_key = "stage_zh" if lang == "zh" else "stage_en"
    for span in ([] if spans is None else spans.itertuples()):
        fig.add_layout(BoxAnnotation(left=span.start, right=span.end, fill_alpha=0.25,
                                     fill_color=STAGE_COLORS[(int(span.stage) - 1) % 5],
                                     level="underlay"))
        fig.add_layout(Label(x=span.start, y=1.0, y_offset=-16, x_offset=3, text_font_size="8pt",
                             text=no_math(f"{span.stage} {getattr(span, stage_key)}".strip())))
    palette = list(islice(cycle(Set2_8 if len(loops) <= 8 else Category20_20), len(loops)))
    areas = fig.varea_stack([f"l{i}" for i in range(len(loops))], x="time", color=palette,
                            alpha=0.75, source=ColumnDataSource(data),
                            legend_label=[labels.get(name, name) for name in loops])
    fig.add_tools(HoverTool(renderers=areas, tooltips=[("", "$name")]))
    for area, name in zip(areas, loops, strict=True):
        area.name = labels.get(name, name)
    fig.legend.label_text_font_size = "8pt"
    fig.legend.ncols = 2
    fig.legend.spacing = 2
    fig.add_layout(fig.legend[0], "below")
    fig.height = height + 12 * len(loops)
    fig.name = "loop_dominance"
    use_font(fig)
    return fig

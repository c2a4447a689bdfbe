"""Bokeh figure factories: tables in, figures out, no I/O.

Every function takes plain pandas tables (those of :mod:`sdkit.runner`,
:mod:`sdkit.evidence` and the sensitivity and loop analyses), returns a Bokeh
model, and takes ``lang`` for its fixed labels (see :mod:`sdkit.i18n`). The
sensitivity charts (fan charts, index bars, tornado) are in
:mod:`sdkit.plots_sensitivity`. Each returned model has a ``name`` so a page
template can place it. Text from files (scenario labels, stage and variable
names) goes into text-only places: legends, axis factors, tooltip fields (which
BokehJS escapes) and titles and labels passed through :func:`sdkit.i18n.no_math`,
never into a tooltip template or other HTML.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import cycle, islice

import numpy as np
import pandas as pd
from bokeh.layouts import gridplot
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
    Whisker,
)
from bokeh.palettes import Category10_10, Set2_8
from bokeh.plotting import figure

from sdkit.errors import ParameterValueError, UnknownVariableError
from sdkit.i18n import no_math, text, variable_label
from sdkit.names import close_matches

__all__ = ["colors", "stage_spans", "scenario_comparison", "stage_timeline", "evidence_fit",
           "loop_dominance", "percentile_fan", "TOOLS"]

#: Tools of every figure (hover tools are added per chart).
TOOLS = "pan,wheel_zoom,box_zoom,reset,save"
#: Stage colours (stage 1, 2, 3, ...).
STAGE_COLORS = ("#9ecae1", "#fdae6b", "#a1d99b", "#bcbddc", "#fdd0a2")


def colors(count: int) -> list[str]:
    """``count`` distinct colours (Category10, repeated if needed)."""
    return list(islice(cycle(Category10_10), count))


def _check_columns(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ParameterValueError(f"The {what} table lacks columns {missing}; "
                                  f"expected {list(columns)}.")


def stage_spans(transitions: pd.DataFrame, scenario: str, end: float) -> pd.DataFrame:
    """The stages one scenario's run passes through, as time spans.

    Parameters
    ----------
    transitions : pandas.DataFrame
        :attr:`sdkit.runner.ScenarioResults.transitions` (``scenario, stage,
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
    _check_columns(transitions, ["scenario", "stage", "stage_en", "stage_zh", "time",
                                 "reached"], "transitions")
    rows = transitions[(transitions["scenario"] == scenario) & transitions["reached"]]
    rows = rows.dropna(subset=["time"]).sort_values(["time", "stage"])
    # the run is in the highest stage reached so far (as sdkit.stages counts durations):
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
    lang: str = "en", width: int = 460, height: int = 280, ncols: int = 2,
) -> LayoutDOM:
    """One panel per variable, one line per scenario; linked time axes and hover tools.

    Parameters
    ----------
    results : pandas.DataFrame
        Long table ``scenario, time, variable, value``.
    variables : sequence of str
        Variables to show, one panel each.
    labels : mapping, optional
        Scenario name -> label shown in legends and tooltips (default the name).
    lang : str
        Language of the fixed labels.

    Returns
    -------
    bokeh.models.LayoutDOM
        A grid of figures named ``scenario_comparison``; every figure shares one
        x range.

    Raises
    ------
    UnknownVariableError
        If a variable is not in ``results``.
    """
    _check_columns(results, ["scenario", "time", "variable", "value"], "results")
    present = set(results["variable"])
    for name in variables:
        if name not in present:
            raise UnknownVariableError(name, close_matches(name, present), "the results")
    results = results[results["variable"].isin(variables)]
    names = list(dict.fromkeys(results["scenario"]))
    labels = dict(labels or {})
    palette = dict(zip(names, colors(len(names)), strict=True))
    x_range = Range1d(float(results["time"].min()), float(results["time"].max()))
    figures = []
    for i, variable in enumerate(variables):
        fig = figure(title=no_math(variable_label(variable, lang)), width=width, height=height,
                     x_range=x_range, tools=TOOLS, x_axis_label=text("axis.year", lang))
        rows = {name: one for name, one in
                results[results["variable"] == variable].groupby("scenario", sort=False)}
        renderers = []
        for name in names:
            one = rows.get(name, results.iloc[:0]).sort_values("time")
            source = ColumnDataSource({"time": one["time"].to_numpy(float),
                                       "value": one["value"].to_numpy(float),
                                       "label": [labels.get(name, name)] * len(one)})
            width_px = 3 if i == 0 and name == names[0] else 2
            legend = {"legend_label": labels.get(name, name)} if i == 0 else {}
            line = fig.line("time", "value", source=source, color=palette[name],
                            line_width=width_px, alpha=0.85, **legend)
            renderers.append(line)
        fig.add_tools(HoverTool(renderers=renderers, tooltips=[
            (text("col.scenario", lang), "@label"), (text("axis.year", lang), "@time{0.00}"),
            (text("axis.value", lang), "@value{0,0.[000]}")]))
        fig.yaxis.formatter.use_scientific = False
        if i == 0:
            fig.legend.label_text_font_size = "8pt"
            fig.legend.location = "top_left"
            fig.legend.click_policy = "hide"
            fig.legend.background_fill_alpha = 0.6
        figures.append(fig)
    grid = gridplot(figures, ncols=ncols, toolbar_location="right")
    grid.name = "scenario_comparison"
    return grid


def stage_timeline(
    transitions: pd.DataFrame, ends: Mapping[str, float], *,
    labels: Mapping[str, str] | None = None, lang: str = "en", width: int = 900,
) -> LayoutDOM:
    """One row per scenario with its stages as coloured spans and transition years labelled.

    Parameters
    ----------
    transitions : pandas.DataFrame
        :attr:`sdkit.runner.ScenarioResults.transitions`.
    ends : mapping of str to float
        Last time of each scenario's run (the scenarios shown, in order).
    labels : mapping, optional
        Scenario name -> row label.

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
    fig = figure(y_range=y_range, x_range=(start, end), width=width,
                 height=60 + 34 * max(len(names), 1), tools=TOOLS,
                 title=text("chart.timeline", lang), x_axis_label=text("axis.year", lang))
    source = ColumnDataSource(rows)
    bars = fig.hbar(y="row", left="left", right="right", height=0.7, color="color",
                    line_color="white", source=source, legend_field="stage")
    fig.add_tools(HoverTool(renderers=[bars], tooltips=[
        (text("col.scenario", lang), "@label"), ("", "@stage"),
        (text("axis.year", lang), "@left{0.00} - @right{0.00}")]))
    fig.scatter("time", "row", source=ColumnDataSource(marks), marker="triangle", size=8,
                color="#333333", angle=np.pi)
    fig.add_layout(LabelSet(x="time", y="row", text="text", source=ColumnDataSource(marks),
                            x_offset=3, y_offset=-4, text_font_size="8pt"))
    fig.legend.orientation = "horizontal"
    fig.legend.location = "top_left"
    fig.add_layout(fig.legend[0], "above")
    fig.ygrid.grid_line_color = None
    fig.name = "stage_timeline"
    return fig


def evidence_fit(comparison: pd.DataFrame, *, lang: str = "en", width: int = 900) -> LayoutDOM:
    """The model against each reference row, every tolerance band scaled to [-1, 1].

    Parameters
    ----------
    comparison : pandas.DataFrame
        Output of :func:`sdkit.evidence.compare_with_reference` (``metric, time,
        low, high, unit, model, within``).

    Returns
    -------
    bokeh.plotting.figure
        Named ``evidence_fit``: a grey bar from -1 to 1 per row, the model as a
        dot (green within, red outside; clipped to [-3, 3]; a never-reached
        transition at -3 as a cross). Hover shows the real numbers.
    """
    _check_columns(comparison, ["metric", "time", "low", "high", "unit", "model", "within"],
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
    return fig


def loop_dominance(
    scores: pd.DataFrame, spans: pd.DataFrame | None = None, *, lang: str = "en",
    labels: Mapping[str, str] | None = None, width: int = 900, height: int = 320,
) -> LayoutDOM:
    """Relative loop scores over time as stacked areas, with the stages shaded behind.

    Parameters
    ----------
    scores : pandas.DataFrame
        Long table ``time, loop, score``: each loop's relative score (for
        instance a loops-that-matter score divided by the sum of absolute
        scores at that time). Negative scores (balancing loops) are stacked by
        absolute value so the areas show each loop's share.
    spans : pandas.DataFrame, optional
        Stage spans as from :func:`stage_spans` (``stage, stage_en, stage_zh,
        start, end``).
    labels : mapping, optional
        Loop id -> legend label.

    Returns
    -------
    bokeh.plotting.figure
        Named ``loop_dominance``.
    """
    _check_columns(scores, ["time", "loop", "score"], "loop scores")
    labels = dict(labels or {})
    wide = scores.pivot_table(index="time", columns="loop", values="score", aggfunc="mean")
    wide = wide.sort_index().fillna(0.0).abs()
    totals = wide.sum(axis=1).replace(0.0, 1.0)
    shares = wide.div(totals, axis=0)
    loops = [str(c) for c in shares.columns]
    data = {f"l{i}": shares[c].to_numpy(float) for i, c in enumerate(shares.columns)}
    data["time"] = shares.index.to_numpy(float)
    fig = figure(width=width, height=height, tools=TOOLS, y_range=(0, 1),
                 title=text("chart.loops", lang), x_axis_label=text("axis.year", lang),
                 y_axis_label=text("axis.share", lang))
    stage_key = "stage_zh" if lang == "zh" else "stage_en"
    for span in ([] if spans is None else spans.itertuples()):
        fig.add_layout(BoxAnnotation(left=span.start, right=span.end, fill_alpha=0.25,
                                     fill_color=STAGE_COLORS[(int(span.stage) - 1) % 5],
                                     level="underlay"))
        fig.add_layout(Label(x=span.start, y=1.0, y_offset=-16, x_offset=3, text_font_size="8pt",
                             text=no_math(f"{span.stage} {getattr(span, stage_key)}".strip())))
    palette = list(islice(cycle(Set2_8), len(loops)))
    areas = fig.varea_stack([f"l{i}" for i in range(len(loops))], x="time", color=palette,
                            alpha=0.75, source=ColumnDataSource(data),
                            legend_label=[labels.get(name, name) for name in loops])
    fig.add_tools(HoverTool(renderers=areas, tooltips=[("", "$name")]))
    for area, name in zip(areas, loops, strict=True):
        area.name = labels.get(name, name)
    fig.legend.location = "top_right"
    fig.legend.background_fill_alpha = 0.6
    fig.name = "loop_dominance"
    return fig


def whiskers(fig: figure, source: ColumnDataSource, base: str, lower: str, upper: str,
             *, dimension: str = "width") -> Whisker:
    """Add error whiskers from column ``lower`` to ``upper`` at positions ``base``."""
    whisker = Whisker(base=base, lower=lower, upper=upper, source=source, dimension=dimension,
                      line_color="#333333")
    fig.add_layout(whisker)
    return whisker


def percentile_fan(fig: figure, source: ColumnDataSource,
                   columns: tuple[str, str, str, str, str], *, color: str,
                   labels: tuple[str, str, str]) -> GlyphRenderer:
    """Draw a fan on ``fig``: the outer and inner ranges shaded, the median as a line.

    ``columns`` name the 5%, 25%, 50%, 75% and 95% columns of ``source`` (and
    ``time``); ``labels`` are the legend entries of the outer range, the inner
    range and the median. Returns the median's renderer (for hover tools).
    """
    low, q25, median, q75, high = columns
    outer, inner, middle = labels
    fig.varea("time", low, high, source=source, color=color, alpha=0.18, legend_label=outer)
    fig.varea("time", q25, q75, source=source, color=color, alpha=0.35, legend_label=inner)
    return fig.line("time", median, source=source, color=color, line_width=2,
                    legend_label=middle)

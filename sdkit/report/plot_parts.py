"""Parts shared by the chart factories: tools, colours, fonts, axis titles, legends.

:mod:`sdkit.report.plots`, :mod:`sdkit.report.plots_sensitivity` and
:mod:`sdkit.report.plots_calibration`
build their figures from these: every chart's text uses :data:`sdkit.report.fonts.CANVAS_FONT`
(:func:`use_font`), every time axis says the model's time unit
(:func:`time_axis_label`), every y axis its units (:func:`units_label`) with thousands
separators (:func:`format_y`), and legends sit outside the plotting area
(:func:`shared_legend`). :func:`explorer_figures` builds the explorer's plots from
them. No I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import cycle, islice
from typing import Any

import numpy as np
import pandas as pd
from bokeh.models import (
    ColumnDataSource,
    GlyphRenderer,
    Legend,
    LegendItem,
    NumeralTickFormatter,
    Range1d,
    Whisker,
)
from bokeh.palettes import Category10_10, Category20_20
from bokeh.plotting import figure

from sdkit.errors import ParameterValueError
from sdkit.report.fonts import CANVAS_FONT
from sdkit.report.i18n import no_math, text, variable_label
from sdkit.report.wording import is_calendar, tick_format, time_label

__all__ = ["TOOLS", "STAGE_COLORS", "FONT_PROPERTIES", "colors", "check_columns", "use_font",
           "units_label", "time_axis_label", "format_y", "shared_legend", "whiskers",
           "percentile_fan", "explorer_figures"]

#: Tools of every figure (hover tools are added per chart).
TOOLS = "pan,wheel_zoom,box_zoom,reset,save"
#: Stage colours (stage 1, 2, 3, ...).
STAGE_COLORS = ("#9ecae1", "#fdae6b", "#a1d99b", "#bcbddc", "#fdd0a2")


#: Text properties of Bokeh models that name a font.
FONT_PROPERTIES = ("text_font", "axis_label_text_font", "major_label_text_font",
                   "label_text_font", "title_text_font")
_NO_UNIT = {"", "dmnl", "dimensionless", "1", "unitless"}


def colors(count: int) -> list[str]:
    """``count`` distinct colours (Category10; Category20 beyond ten, repeated if needed)."""
    return list(islice(cycle(Category10_10 if count <= 10 else Category20_20), count))


def use_font(*charts: Any) -> None:
    """Set every text of ``charts`` (titles, axes, legends, labels) to :data:`CANVAS_FONT`,
    so Chinese text uses the embedded font (:mod:`sdkit.report.fonts`) when the reader has none."""
    from bokeh.core.properties import DataSpec, value

    for chart in charts:
        for model in chart.references():
            for prop in FONT_PROPERTIES:
                if prop in model.properties():
                    # a data spec (LabelSet, Text glyphs) takes a value, else a field name
                    spec = isinstance(model.lookup(prop).property, DataSpec)
                    setattr(model, prop, value(CANVAS_FONT) if spec else CANVAS_FONT)


def units_label(units: str, lang: str) -> str:
    """A y axis title from a variable's units ("no unit" for Dmnl or none)."""
    return text("axis.no_unit", lang) if units.strip().lower() in _NO_UNIT else no_math(units)


def time_axis_label(time_unit: str, times: Sequence[float] | np.ndarray, lang: str) -> str:
    """The time axis title in the model's unit ("Year", "Day"; "年份" for calendar years)."""
    first = float(np.nanmin(times)) if len(times) else 0.0
    return time_label(time_unit, lang, calendar=is_calendar(time_unit, first))


def format_y(fig: figure, values: Sequence[float] | np.ndarray) -> None:
    """Thousands separators on the y axis (never "6000000"), no scientific notation."""
    found = tick_format(list(np.asarray(values, dtype=float)))
    if found is not None:
        fig.yaxis.formatter = NumeralTickFormatter(format=found)
    else:
        fig.yaxis.formatter.use_scientific = False


def shared_legend(entries: Sequence[tuple[str, str, list[GlyphRenderer]]], *,
                  height: int = 0, name: str = "legend") -> figure:
    """A legend of its own, outside every plotting area (to the right of the charts): one
    entry per (label, colour, renderers); clicking an entry hides its renderers in every
    chart.

    Parameters
    ----------
    entries : sequence of (str, str, list of GlyphRenderer)
    height : int
        At least this tall (the charts' height), so it sits beside them.
    """
    longest = max((len(label) for label, _, _ in entries), default=8)
    fig = figure(width=min(60 + 7 * longest, 280), height=max(height, 40 + 21 * len(entries)),
                 toolbar_location=None, x_range=Range1d(0, 1), y_range=Range1d(0, 1),
                 outline_line_color=None, min_border=0, name=name)
    fig.axis.visible = False
    fig.grid.visible = False
    items = []
    for label, color, renderers in entries:
        swatch = fig.line([-5.0, -4.0], [-5.0, -4.0], color=color, line_width=3)
        items.append(LegendItem(label=label, renderers=[*renderers, swatch]))
    legend = Legend(items=items, location="top_left", click_policy="hide",
                    border_line_color=None, label_text_font_size="9pt", margin=0, padding=4,
                    spacing=2)
    fig.add_layout(legend, "center")
    return fig


def check_columns(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise ParameterValueError naming the columns ``table`` lacks (``what`` names it)."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ParameterValueError(f"The {what} table lacks columns {missing}; "
                                  f"expected {list(columns)}.")


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


def explorer_figures(columns: Sequence[str], baseline: pd.DataFrame, base: ColumnDataSource,
                     current: ColumnDataSource, *, time_unit: str, lang: str,
                     units: Mapping[str, str] | None = None) -> tuple[list[figure], figure]:
    """The explorer's plots (:mod:`sdkit.report.explore`): one per variable of ``columns``, the
    baseline as a grey dashed line and the current run in red, and their legend.

    Parameters
    ----------
    columns : sequence of str
        Variables shown, in order; column ``v{i}`` of ``base`` and ``current`` is the i-th.
    baseline : pandas.DataFrame
        The baseline run (indexed by time; one column per variable): axis ranges, formats.
    base, current : ColumnDataSource
        The baseline's and the current run's data (``time``, ``v0``, ``v1``...).
    time_unit : str
        The model's time unit (the time axis' title).
    units : mapping, optional
        Variable -> units (each y axis' title).

    Returns
    -------
    (list of figure, figure)
        The plots (linked time axes, hover tools, thousands separators, the embedded font)
        and a legend of their own, outside every plot (a click hides a line in every plot).
    """
    times = baseline.index.to_numpy(float)
    x_label = time_axis_label(time_unit, times, lang)
    x_range = Range1d(float(times[0]), float(times[-1]))
    figures, base_lines, current_lines = [], [], []
    for i, name in enumerate(columns):
        fig = figure(title=no_math(variable_label(name, lang)), width=420, height=250,
                     x_range=x_range, tools="pan,wheel_zoom,box_zoom,reset,hover",
                     x_axis_label=x_label,
                     y_axis_label=units_label((units or {}).get(name, ""), lang),
                     tooltips=[(x_label, "@time{0.00}"),
                               (text("axis.value", lang), f"@v{i}{{0,0.[000]}}")])
        base_lines.append(fig.line("time", f"v{i}", source=base, color="#999999",
                                   line_dash="dashed"))
        current_lines.append(fig.line("time", f"v{i}", source=current, color="#d62728",
                                      line_width=2))
        format_y(fig, baseline[name].to_numpy(float))
        figures.append(fig)
    legend = shared_legend([(text("legend.baseline", lang), "#999999", base_lines),
                            (text("explore.current", lang), "#d62728", current_lines)],
                           height=250)
    use_font(*figures, legend)
    return figures, legend

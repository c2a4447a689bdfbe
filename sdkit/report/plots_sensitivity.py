"""Bokeh charts of a sensitivity analysis: fan charts, index bars and tornado bars.

Tables in, figures out, no I/O. The tables are those of a sensitivity result:
``bands`` with columns ``variable, time, p5, p25, p50, p75, p95`` and
``indices`` with columns ``method, output, parameter, S1, S1_conf, ST, ST_conf,
mu_star, mu_star_conf, sigma, delta`` (NaN where an index does not apply).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from bokeh.models import ColumnDataSource, HoverTool, LayoutDOM, Span
from bokeh.plotting import figure
from bokeh.transform import dodge

from sdkit.errors import ParameterValueError, UnknownVariableError
from sdkit.report.i18n import no_math, output_label, text, variable_label
from sdkit.report.plot_parts import (
    TOOLS,
    check_columns,
    format_y,
    percentile_fan,
    time_axis_label,
    units_label,
    use_font,
    whiskers,
)
from sdkit.util.names import close_matches

__all__ = ["BAND_COLUMNS", "INDEX_COLUMNS", "fan_chart", "index_bars", "tornado_chart"]

BAND_COLUMNS = ["variable", "time", "p5", "p25", "p50", "p75", "p95"]
INDEX_COLUMNS = ["method", "output", "parameter", "S1", "S1_conf", "ST", "ST_conf", "mu_star",
                 "mu_star_conf", "sigma", "delta"]
#: Which index columns a method's bars show, with their confidence column (or None).
METHOD_INDICES: dict[str, list[tuple[str, str | None]]] = {
    "morris": [("mu_star", "mu_star_conf"), ("sigma", None)],
    "sobol": [("S1", "S1_conf"), ("ST", "ST_conf")],
    "delta": [("delta", None)],
    "oat": [("delta", None)],
    "lhs": [("rho", None)],
    "montecarlo": [("rho", None)],
}
#: The x axis title of each method's bars (``{unit}``: the output's unit).
_AXIS = {"morris": "axis.morris", "sobol": "axis.sobol", "delta": "axis.oat", "oat": "axis.oat",
         "lhs": "axis.rho", "montecarlo": "axis.rho"}
_FAN = "#1f77b4"


def fan_chart(
    bands: pd.DataFrame, variable: str, *, baseline: pd.Series | None = None, lang: str = "en",
    width: int = 460, height: int = 320, time_unit: str = "Year", units: str = "",
    names: Mapping[str, Mapping[str, str]] | None = None, baseline_label: str | None = None,
) -> LayoutDOM:
    """Percentile bands of one output over time: 5-95 %, 25-75 % and the median.

    Parameters
    ----------
    bands : pandas.DataFrame
        Columns ``variable, time, p5, p25, p50, p75, p95``.
    variable : str
        The output to draw.
    baseline : pandas.Series, optional
        A reference run of the output, indexed by time, drawn as a dashed line (in a
        briefing, the study's own base run).
    time_unit, units : str
        The model's time unit and the variable's units (the axes' titles).
    names : mapping, optional
        Display names of variables.
    baseline_label : str, optional
        The dashed line's legend (default "baseline").

    Returns
    -------
    bokeh.plotting.figure
        Named ``fan_<variable>``; the legend is below the plot.

    Raises
    ------
    UnknownVariableError
        If ``bands`` has no rows for ``variable``.
    """
    check_columns(bands, BAND_COLUMNS, "bands")
    rows = bands[bands["variable"] == variable].sort_values("time")
    if rows.empty:
        raise UnknownVariableError(variable, close_matches(variable, set(bands["variable"])),
                                   "the sensitivity bands")
    source = ColumnDataSource({c: rows[c].to_numpy(float) for c in BAND_COLUMNS[1:]})
    label = variable_label(variable, lang, names)
    x_label = time_axis_label(time_unit, rows["time"].to_numpy(float), lang)
    fig = figure(width=width, height=height, tools=TOOLS,
                 title=no_math(text("chart.fan", lang, variable=label)),
                 x_axis_label=x_label, y_axis_label=units_label(units, lang))
    median = percentile_fan(fig, source, ("p5", "p25", "p50", "p75", "p95"), color=_FAN,
                            labels=(text("legend.p5_p95", lang), text("legend.p25_p75", lang),
                                    text("legend.median", lang)))
    if baseline is not None:
        fig.line(baseline.index.to_numpy(float), baseline.to_numpy(float), color="#333333",
                 line_dash="dashed",
                 legend_label=no_math(baseline_label or text("legend.baseline", lang)))
    fig.add_tools(HoverTool(renderers=[median], mode="vline", tooltips=[
        (x_label, "@time{0.00}"), ("p5", "@p5{0,0.[00]}"),
        ("p25", "@p25{0,0.[00]}"), ("p50", "@p50{0,0.[00]}"), ("p75", "@p75{0,0.[00]}"),
        ("p95", "@p95{0,0.[00]}")]))
    format_y(fig, np.concatenate([rows["p5"].to_numpy(float), rows["p95"].to_numpy(float)]))
    fig.legend.label_text_font_size = "8pt"
    fig.legend.orientation = "horizontal"
    fig.legend.padding = 2
    fig.add_layout(fig.legend[0], "below")
    fig.name = f"fan_{variable}"
    use_font(fig)
    return fig


def index_bars(
    indices: pd.DataFrame, output: str, *, method: str | None = None, lang: str = "en",
    labels: Mapping[str, str] | None = None, width: int = 460, unit: str = "",
    title: str | None = None, names: Mapping[str, Mapping[str, str]] | None = None,
) -> LayoutDOM:
    """Horizontal bars of one method's indices for one output, parameters ranked.

    Morris shows ``mu_star`` (with its confidence whisker) and ``sigma``; Sobol
    shows ``S1`` and ``ST`` with their confidence whiskers; one-at-a-time shows
    ``delta``; Latin hypercube and Monte Carlo the rank correlation ``rho`` (-1 to 1).
    The x axis says what the bars measure, in the output's unit.

    Parameters
    ----------
    indices : pandas.DataFrame
        The index table (see the module docstring).
    output : str
        The output whose indices to show.
    method : str, optional
        One of :data:`METHOD_INDICES`; default the first method of the table with
        rows for ``output``.
    labels : mapping, optional
        Parameter name -> label.
    unit : str
        The output's unit (the x axis' title of Morris and one-at-a-time bars).
    title : str, optional
        The output as the title says it (default :func:`sdkit.report.i18n.output_label`).
    names : mapping, optional
        Display names of variables.

    Returns
    -------
    bokeh.plotting.figure
        Named ``indices_<method>``; the largest bar on top, the legend below.
    """
    check_columns(indices, ["method", "output", "parameter"], "indices")
    rows = indices[indices["output"] == output]
    if rows.empty:
        raise UnknownVariableError(output, close_matches(output, set(indices["output"])),
                                   "the sensitivity indices")
    method = method or str(rows["method"].iloc[0])
    if method not in METHOD_INDICES:
        raise ParameterValueError(f"No bar chart for method {method!r}; "
                                  f"valid methods: {list(METHOD_INDICES)}.")
    rows = rows[rows["method"] == method]
    shown = METHOD_INDICES[method]
    check_columns(rows, [c for pair in shown for c in pair if c], "indices")
    key = shown[-1][0] if method == "sobol" else shown[0][0]
    rows = rows.reindex(rows[key].abs().sort_values(na_position="first").index)
    labels = dict(labels or {})
    factors = [labels.get(p, variable_label(p, lang, names)) for p in rows["parameter"]]
    source = ColumnDataSource(_bar_data(rows, shown, factors))
    out = title or output_label(output, lang)
    out = out[:1].upper() + out[1:] if lang == "en" else out
    fig = figure(y_range=factors, width=width, height=130 + 30 * max(len(factors), 1),
                 tools=TOOLS, title=no_math(text(f"chart.{method}", lang, output=out)),
                 x_axis_label=no_math(text(_AXIS[method], lang,
                                           unit=unit or text("axis.no_unit", lang))),
                 y_axis_label=text("axis.parameter", lang))
    step = 0.8 / len(shown)
    for k, (column, conf) in enumerate(shown):
        offset = (k - (len(shown) - 1) / 2) * step
        y = dodge("parameter", -offset, range=fig.y_range)
        fig.hbar(y=y, right=column, height=step * 0.9, source=source,
                 color=("#1f77b4", "#ff7f0e")[k % 2], legend_label=text(f"index.{column}", lang))
        if conf:
            whiskers(fig, source, "parameter", f"{column}_lo", f"{column}_hi")
    fig.add_tools(HoverTool(tooltips=[("", "@parameter")] + [
        (column, f"@{column}{{0.[000]}}") for column, _ in shown]))
    if key == "rho":
        fig.x_range.start, fig.x_range.end = -1, 1
    elif key != "delta":
        fig.x_range.start = 0
    fig.legend.orientation = "horizontal"
    fig.legend.label_text_font_size = "8pt"
    fig.add_layout(fig.legend[0], "below")
    fig.ygrid.grid_line_color = None
    fig.name = f"indices_{method}"
    use_font(fig)
    return fig


def _bar_data(rows: pd.DataFrame, shown: Sequence[tuple[str, str | None]],
              factors: list[str]) -> dict[str, list | np.ndarray]:
    """The bars' columns: each index with its whisker ends (index +- confidence)."""
    data: dict[str, list | np.ndarray] = {"parameter": factors}
    for column, conf in shown:
        values = rows[column].to_numpy(float)
        data[column] = values
        spread = rows[conf].to_numpy(float) if conf else np.zeros(len(values))
        data[f"{column}_lo"] = values - np.nan_to_num(spread)
        data[f"{column}_hi"] = values + np.nan_to_num(spread)
    return data


def tornado_chart(
    swings: pd.DataFrame, base: float, *, output: str, lang: str = "en",
    labels: Mapping[str, str] | None = None, width: int = 460,
) -> LayoutDOM:
    """Tornado bars: an output at each parameter's low and high value around a base value.

    Parameters
    ----------
    swings : pandas.DataFrame
        Columns ``parameter, low, high``: the output with the parameter at its
        low and at its high value, all others at base.
    base : float
        The output at the base parameter set (the bars' common edge).
    output : str
        Name of the output (for the title).

    Returns
    -------
    bokeh.plotting.figure
        Named ``tornado``; the widest swing on top.
    """
    check_columns(swings, ["parameter", "low", "high"], "swings")
    table = swings.assign(width=(swings["high"] - swings["low"]).abs()).sort_values("width")
    labels = dict(labels or {})
    names = [labels.get(p, variable_label(p, lang)) for p in table["parameter"]]
    source = ColumnDataSource({"parameter": names, "low": table["low"].to_numpy(float),
                               "high": table["high"].to_numpy(float)})
    fig = figure(y_range=names, width=width, height=80 + 30 * max(len(names), 1), tools=TOOLS,
                 title=no_math(text("chart.tornado", lang, output=variable_label(output, lang))))
    fig.hbar(y="parameter", left=base, right="low", height=0.7, source=source, color="#6baed6",
             legend_label=text("legend.low", lang))
    fig.hbar(y="parameter", left=base, right="high", height=0.7, source=source, color="#fd8d3c",
             legend_label=text("legend.high", lang))
    fig.add_layout(Span(location=base, dimension="height", line_color="#333333"))
    fig.add_tools(HoverTool(tooltips=[("", "@parameter"),
                                      (text("legend.low", lang), "@low{0,0.[00]}"),
                                      (text("legend.high", lang), "@high{0,0.[00]}")]))
    fig.legend.orientation = "horizontal"
    fig.add_layout(fig.legend[0], "below")
    fig.ygrid.grid_line_color = None
    fig.name = "tornado"
    use_font(fig)
    return fig

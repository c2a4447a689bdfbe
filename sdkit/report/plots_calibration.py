"""Bokeh charts of a calibration: the fit and hindcast rows, and posterior bands over time.

Tables in, figures out, no I/O. The tables are those of
:class:`sdkit.calibration.CalibrationResult`: ``observations`` (one row per
observation with ``role``, ``value``, ``at_mode``, the predictive 90 % band
``predictive_q05, predictive_q95``, ``inside``, ``scale``, ``sd`` and the
numeric times ``time, end, threshold``) and ``bands`` (``variable, time, q05,
q25, q50, q75, q95``). Held-out observations (``role == "holdout"``, the
hindcast) are drawn as orange diamonds, the fitted ones as dark circles. Times
and rates are in the model's time unit (``time_unit``: "Year", "Day"...). Text from
files goes only into text-only places (see :mod:`sdkit.report.plots`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from bokeh.models import ColumnDataSource, HoverTool, Label, LayoutDOM, Span, Whisker
from bokeh.plotting import figure

from sdkit.report.briefing.calibration_text import CalibrationLike, observation_title, value_text
from sdkit.report.i18n import no_math, text, variable_label
from sdkit.report.plot_parts import (
    TOOLS,
    check_columns,
    format_y,
    percentile_fan,
    time_axis_label,
    use_font,
)
from sdkit.report.wording import time_kind, unit_word

__all__ = ["OBSERVATION_COLUMNS", "BAND_COLUMNS", "ROLE_STYLE", "fit_chart", "band_chart",
           "band_variables", "calibration_charts", "range_position", "observed_interval"]

OBSERVATION_COLUMNS = ["id", "kind", "variable", "role", "value", "sd", "scale", "at_mode",
                       "predictive_q05", "predictive_q95", "inside"]
BAND_COLUMNS = ["variable", "time", "q05", "q25", "q50", "q75", "q95"]
#: Role -> (marker, colour, legend message).
ROLE_STYLE = {"train": ("circle", "#253494", "legend.fitted"),
              "holdout": ("diamond", "#e6550d", "legend.holdout")}
#: The observation's own 90 % interval: value +- Z90 standard errors (on its scale).
Z90 = 1.6448536269514722
_EDGE = 3.0
_BAND = "#756bb1"
_HELD_SHADE = "#fdebd7"
_MAX_BANDS = 4


def _scaled(values: np.ndarray, log: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(log, np.log(np.where(values > 0, values, np.nan)), values)


def range_position(values: Any, low: Any, high: Any, log: Any) -> np.ndarray:
    """Where ``values`` lie in ``[low, high]`` scaled to ``[-1, 1]`` (on a log scale where
    ``log``), clipped to ``[-3, 3]``; NaN is drawn at -3."""
    log = np.asarray(log, dtype=bool)
    x = _scaled(np.asarray(values, float), log)
    lo, hi = _scaled(np.asarray(low, float), log), _scaled(np.asarray(high, float), log)
    mid, half = (lo + hi) / 2, np.maximum((hi - lo) / 2, 1e-12)
    return np.clip(np.nan_to_num((x - mid) / half, nan=-_EDGE), -_EDGE, _EDGE)


def observed_interval(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each observation's own 90 % interval (``sd`` on its ``scale``)."""
    value, sd = rows["value"].to_numpy(float), rows["sd"].to_numpy(float)
    log = (rows["scale"] == "log").to_numpy()
    return (np.where(log, value * np.exp(-Z90 * sd), value - Z90 * sd),
            np.where(log, value * np.exp(Z90 * sd), value + Z90 * sd))


def _in_years(time_unit: str) -> bool:
    """Whether rates read "per year" (a model in years, or of an unknown time unit)."""
    return time_kind(time_unit) in ("year", "")


def _titles(observations: pd.DataFrame, lang: str, time_unit: str = "Year") -> list[str]:
    titles = [observation_title(row, lang, time_unit)
              for row in observations.to_dict("records")]
    seen: dict[str, int] = {}
    for title in titles:
        seen[title] = seen.get(title, 0) + 1
    return [f"{t} [{i}]" if seen[t] > 1 else t
            for t, i in zip(titles, observations["id"].astype(str), strict=True)]


def _fit_source(rows: pd.DataFrame, titles: list[str], lang: str) -> dict[str, list]:
    log = (rows["scale"] == "log").to_numpy()
    low, high = rows["predictive_q05"].to_numpy(float), rows["predictive_q95"].to_numpy(float)
    kinds = rows["kind"].astype(str).tolist()
    role = ["calibration.holdout_role" if r == "holdout" else "calibration.fitted_role"
            for r in rows["role"]]
    return {
        "row": titles, "role": [text(r, lang) for r in role],
        "observed": range_position(rows["value"], low, high, log).tolist(),
        "best": range_position(rows["at_mode"], low, high, log).tolist(),
        "value": [value_text(v, k) for v, k in zip(rows["value"], kinds, strict=True)],
        "at_mode": [value_text(v, k) for v, k in zip(rows["at_mode"], kinds, strict=True)],
        "range": [f"{value_text(a, k)} - {value_text(b, k)}"
                  for a, b, k in zip(low, high, kinds, strict=True)],
        "unit": rows["unit"].astype(str).tolist() if "unit" in rows else [""] * len(rows),
        "inside": rows["inside"].astype(bool).tolist()}


def fit_chart(observations: pd.DataFrame, *, lang: str = "en", width: int = 900,
              time_unit: str = "Year") -> LayoutDOM:
    """One row per observation: its predictive 90 % band scaled to [-1, 1], the observed value
    and the model at the best fit in that scale; held-out rows shaded and marked.

    Parameters
    ----------
    observations : pandas.DataFrame
        :attr:`sdkit.calibration.CalibrationResult.observations`.

    Returns
    -------
    bokeh.plotting.figure
        Named ``calibration_fit``: a grey bar from -1 to 1 per row (on a log scale for
        observations with ``scale == "log"``), the observed value (dark circle fitted,
        orange diamond held out, red ring outside its band; clipped to [-3, 3]) and the
        best fit as a black dash. Hover shows the real numbers.
    """
    check_columns(observations, OBSERVATION_COLUMNS, "calibration observations")
    titles = _titles(observations, lang, time_unit)
    fig = figure(y_range=list(reversed(titles)), x_range=(-_EDGE - 0.2, _EDGE + 0.2),
                 width=width, height=110 + 26 * max(len(titles), 1), tools=TOOLS,
                 title=text("chart.calibration_fit", lang),
                 x_axis_label=text("axis.range_position", lang))
    held = [t for t, r in zip(titles, observations["role"], strict=True) if r == "holdout"]
    if held:
        fig.hbar(y=held, left=-_EDGE - 0.2, right=_EDGE + 0.2, height=1.0, color=_HELD_SHADE,
                 level="underlay")
    source = ColumnDataSource(_fit_source(observations, titles, lang))
    fig.hbar(y="row", left=-1, right=1, height=0.5, color="#cccccc", source=source,
             legend_label=text("legend.range90", lang))
    fig.add_layout(Span(location=0, dimension="height", line_color="#888888",
                        line_dash="dashed"))
    dots = []
    for role, (marker, color, legend) in ROLE_STYLE.items():
        rows = observations["role"].to_numpy() == role
        if rows.any():
            part = ColumnDataSource({k: [v for v, keep in zip(values, rows, strict=True)
                                         if keep] for k, values in source.data.items()})
            dots.append(fig.scatter("observed", "row", source=part, marker=marker, size=11,
                                    color=color, legend_label=text(legend, lang)))
    outside = [not v for v in source.data["inside"]]
    if any(outside):
        fig.scatter([p for p, o in zip(source.data["observed"], outside, strict=True) if o],
                    [t for t, o in zip(titles, outside, strict=True) if o], marker="circle",
                    size=19, fill_alpha=0, line_color="#d62728", line_width=2,
                    legend_label=text("legend.outside", lang))
    fig.scatter("best", "row", source=source, marker="dash", angle=np.pi / 2, size=14,
                color="#111111", line_width=2, legend_label=text("legend.best_fit", lang))
    fig.add_tools(HoverTool(renderers=dots, tooltips=[
        (text("col.observation", lang), "@row"), (text("col.role", lang), "@role"),
        (text("col.observed", lang), "@value @unit"), (text("col.best_fit", lang), "@at_mode"),
        (text("col.model_range", lang), "@range")]))
    fig.legend.orientation = "horizontal"
    fig.legend.label_text_font_size = "8pt"
    fig.legend.nrows = 2
    fig.add_layout(fig.legend[0], "above")
    fig.ygrid.grid_line_color = None
    fig.name = "calibration_fit"
    use_font(fig)
    return fig


def _points(rows: pd.DataFrame, lang: str, time_unit: str) -> dict[str, Any]:
    """Where each observation goes on a band chart: levels at their time, a flow's total as
    its average rate over ``[time, end)``, an event at its date on the threshold."""
    kind = rows["kind"].to_numpy()
    time = rows["time"].to_numpy(float) if "time" in rows else np.full(len(rows), np.nan)
    end = rows["end"].to_numpy(float) if "end" in rows else np.full(len(rows), np.nan)
    flow, event = kind == "flow", kind == "event"
    length = np.where(flow, end - time, 1.0)
    low, high = observed_interval(rows)
    value = rows["value"].to_numpy(float)
    threshold = rows["threshold"].to_numpy(float) if "threshold" in rows \
        else np.full(len(rows), np.nan)
    return {
        "x": np.where(flow, (time + end) / 2, np.where(event, value, time)),
        "y": np.where(event, threshold, value / length),
        "x0": np.where(flow, time, np.nan), "x1": np.where(flow, end, np.nan),
        "low": np.where(event, np.nan, low / length),
        "high": np.where(event, np.nan, high / length),
        "date_low": np.where(event, low, np.nan), "date_high": np.where(event, high, np.nan),
        "title": [observation_title(r, lang, time_unit) for r in rows.to_dict("records")],
        "observed": [value_text(v, k) for v, k in zip(value, kind, strict=True)],
    }


def _draw_observations(fig: Any, rows: pd.DataFrame, lang: str, time_unit: str) -> list[Any]:
    """Each role's observations: a marker, a flow's period as a segment, whiskers."""
    dots = []
    for role, (marker, color, legend) in ROLE_STYLE.items():
        part = rows[rows["role"] == role]
        if part.empty:
            continue
        if (part["kind"] == "flow").all():  # totals drawn as average rates: say so
            legend += "_flow" if _in_years(time_unit) else "_flow_any"
        source = ColumnDataSource(_points(part, lang, time_unit))
        fig.segment("x0", "y", "x1", "y", source=source, color=color, line_width=3)
        for lower, upper, base, dimension in (("low", "high", "x", "height"),
                                              ("date_low", "date_high", "y", "width")):
            fig.add_layout(Whisker(base=base, lower=lower, upper=upper, source=source,
                                   dimension=dimension, line_color=color))
        dots.append(fig.scatter("x", "y", source=source, marker=marker, size=10, color=color,
                                legend_label=text(legend, lang,
                                                  time=unit_word(time_unit, lang))))
    return dots


def _y_label(rows: pd.DataFrame, lang: str, time_unit: str) -> str:
    units = [str(u) for u in dict.fromkeys(rows.get("unit", pd.Series(dtype=str)))]
    unit = units[0] if len(units) == 1 else ""
    if (rows["kind"] == "flow").any():
        if _in_years(time_unit):
            return text("axis.per_year", lang, unit=unit)
        return text("axis.per_time", lang, unit=unit, time=unit_word(time_unit, lang))
    return unit


def band_chart(bands: pd.DataFrame, observations: pd.DataFrame, variable: str, *,
               train_until: float | None = None, lang: str = "en", width: int = 460,
               height: int = 380, time_unit: str = "Year") -> LayoutDOM:
    """Posterior bands of one variable (90 % and 50 % shaded, median line) with its
    observations: levels as points, flows as their average rate over the period (a
    horizontal segment), events at their date on the threshold; whiskers are each
    observation's own 90 % interval; a dashed line at ``train_until``. The time axis and
    the flows' rates are in ``time_unit``, the model's.

    Returns
    -------
    bokeh.plotting.figure
        Named ``calibration_band_<variable>``.
    """
    check_columns(bands, BAND_COLUMNS, "calibration bands")
    rows = bands[bands["variable"] == variable].sort_values("time")
    source = ColumnDataSource({c: rows[c].to_numpy(float) for c in BAND_COLUMNS[1:]})
    label = variable_label(variable, lang)
    x_label = time_axis_label(time_unit, rows["time"].to_numpy(float), lang)
    fig = figure(width=width, height=height, tools=TOOLS,
                 title=no_math(text("chart.calibration_band", lang, variable=label)),
                 x_axis_label=x_label)
    median = percentile_fan(fig, source, ("q05", "q25", "q50", "q75", "q95"), color=_BAND,
                            labels=(text("legend.range90", lang), text("legend.range50", lang),
                                    text("legend.median", lang)))
    mine = observations[(observations["variable"] == variable)
                        & observations["kind"].isin(["level", "flow", "event"])]
    dots = _draw_observations(fig, mine, lang, time_unit)
    if train_until is not None and np.isfinite(train_until):
        fig.add_layout(Span(location=float(train_until), dimension="height",
                            line_color="#555555", line_dash="dashed"))
        fig.add_layout(Label(x=float(train_until), y=4, y_units="screen", x_offset=3,
                             text=text("label.fit_end", lang), text_font_size="8pt"))
    fig.add_tools(HoverTool(renderers=[median], mode="vline", tooltips=[
        (x_label, "@time{0.00}"), ("5 %", "@q05{0,0.[00]}"),
        (text("legend.median", lang), "@q50{0,0.[00]}"), ("95 %", "@q95{0,0.[00]}")]))
    fig.add_tools(HoverTool(renderers=dots, tooltips=[
        (text("col.observation", lang), "@title"), (text("col.observed", lang), "@observed")]))
    fig.yaxis.axis_label = no_math(_y_label(mine, lang, time_unit))
    format_y(fig, np.concatenate([source.data[c] for c in ("q05", "q95")]))
    fig.legend.label_text_font_size = "8pt"
    fig.legend.ncols = 2
    fig.legend.spacing = 0
    fig.legend.padding = 4
    fig.add_layout(fig.legend[0], "below")
    fig.name = f"calibration_band_{variable}"
    use_font(fig)
    return fig


def band_variables(bands: pd.DataFrame, observations: pd.DataFrame,
                   limit: int = _MAX_BANDS) -> list[str]:
    """The band variables with a level, flow or event observation, in the bands' order
    (at most ``limit``)."""
    observed = set(observations.loc[observations["kind"].isin(["level", "flow", "event"]),
                                    "variable"])
    return [str(v) for v in dict.fromkeys(bands["variable"]) if v in observed][:limit]


def calibration_charts(result: CalibrationLike, lang: str = "en", time_unit: str = "Year"
                       ) -> dict[str, LayoutDOM]:
    """The briefing's calibration charts: ``calibration_fit`` then one
    ``calibration_band_<variable>`` per :func:`band_variables`, in the model's
    ``time_unit``."""
    observations = result.observations
    charts: dict[str, LayoutDOM] = {"calibration_fit": fit_chart(observations, lang=lang,
                                                                 time_unit=time_unit)}
    until = result.manifest.get("train_until")
    for variable in band_variables(result.bands, observations):
        charts[f"calibration_band_{variable}"] = band_chart(
            result.bands, observations, variable, lang=lang, time_unit=time_unit,
            train_until=None if until is None else float(until))
    return charts


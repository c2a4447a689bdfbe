"""Plain-text, Markdown and JSON renderings of models and results for the CLI."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sdkit.errors import ParameterValueError
from sdkit.util.validation import format_range

if TYPE_CHECKING:
    from sdkit.model.core import Model

__all__ = [
    "format_number",
    "summary_times",
    "stock_summary",
    "short_table",
    "info_text",
    "info_json",
    "write_text",
    "write_csv",
    "render_table",
    "evidence_table",
    "doc_blocks",
]


def format_number(value: float) -> str:
    """Format a number compactly with six significant digits."""
    return f"{value:.6g}"


def summary_times(result: pd.DataFrame, years: Iterable[float] | None = None) -> list[float]:
    """Return the times for a stock summary.

    Parameters
    ----------
    result : pandas.DataFrame
        Simulation results; their first and last time bound the summary.
    years : iterable of float, optional
        Requested times; default every whole year from the initial to the final time.

    Returns
    -------
    list of float
        Sorted, without duplicates.

    Raises
    ------
    ParameterValueError
        A requested time lies outside the simulated period.
    """
    start, end = float(result.index.min()), float(result.index.max())
    if years is None:
        return [float(t) for t in range(math.ceil(start), math.floor(end) + 1)]
    times = sorted({float(t) for t in years})
    for t in times:
        if not (start <= t <= end):
            raise ParameterValueError(
                f"Summary time {t:g} is outside the simulated period [{start:g}, {end:g}]."
            )
    return times


def _stock_table(model: Model, result: pd.DataFrame, times: list[float]) -> pd.DataFrame:
    index = result.index.to_numpy(dtype=float)
    columns = [c for v in model.stocks() for c in result.columns
               if c == v.name or c.startswith(v.name + "[")]
    data = {c: np.interp(times, index, result[c].to_numpy(dtype=float)) for c in columns}
    return pd.DataFrame(data, index=pd.Index(times, name="time"))


def stock_summary(
    model: Model, result: pd.DataFrame, years: Iterable[float] | None = None,
    params: Mapping[str, float] | None = None,
) -> str:
    """Render every stock at the summary times as a Markdown document.

    Values between saved times are interpolated linearly.

    Parameters
    ----------
    model : Model
        The model that produced ``result``.
    result : pandas.DataFrame
        Output of :meth:`Model.run`, covering the summary times.
    years : iterable of float, optional
        Times to show; see :func:`summary_times`.
    params : mapping, optional
        Parameter overrides of the run, listed above the table.

    Returns
    -------
    str
        Markdown text ending with a newline.
    """
    table = _stock_table(model, result, summary_times(result, years))
    lines = [f"# Stocks of {model.path.name}", ""]
    if params:
        settings = ", ".join(f"{name} = {format_number(v)}" for name, v in params.items())
        lines += [f"Parameters set for this run: {settings}.", ""]
    if table.columns.empty:
        return "\n".join(lines + ["The model has no stocks.", ""])
    units = {v.name: v.units for v in model.stocks()}
    headers = ["Time"] + [
        f"{c} ({units[c.split('[')[0]]})" if units.get(c.split("[")[0]) else c
        for c in table.columns
    ]
    lines.append("| " + " | ".join(headers) + " |")
    lines.append("|" + "---:|" * len(headers))
    for time, row in table.iterrows():
        cells = [format_number(time)] + [format_number(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def short_table(model: Model, result: pd.DataFrame, max_rows: int = 11) -> str:
    """Render a few evenly spaced rows of the stocks (or all columns if none)."""
    columns = [c for v in model.stocks() for c in result.columns
               if c == v.name or c.startswith(v.name + "[")] or list(result.columns)
    positions = np.unique(np.linspace(0, len(result) - 1, num=min(max_rows, len(result))).round())
    shown = result[columns].iloc[positions.astype(int)]
    return shown.to_string(float_format=format_number)


def info_text(model: Model) -> str:
    """Render the time settings and every variable's kind, units, range and comment."""
    lines = [
        f"Model: {model.path} ({model.format})",
        f"Time: {format_number(model.initial_time)} to {format_number(model.final_time)}, "
        f"time step {format_number(model.time_step)}, saveper {format_number(model.saveper)}",
        "",
    ]
    header = ("name", "kind", "units", "range", "comment")
    rows = [header] + [
        (v.name, v.kind, v.units, format_range(v.limits) if v.limits != (None, None) else "",
         v.comment if len(v.comment) <= 70 else v.comment[:67] + "...")
        for v in model.variables.values()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def info_json(model: Model) -> str:
    """Render the model's metadata as JSON (open limits are ``null``)."""
    payload = {
        "path": str(model.path),
        "format": model.format,
        "time": {
            "initial_time": model.initial_time, "final_time": model.final_time,
            "time_step": model.time_step, "saveper": model.saveper,
        },
        "variables": [
            {"name": v.name, "py_name": v.py_name, "kind": v.kind, "units": v.units,
             "min": v.limits[0], "max": v.limits[1], "comment": v.comment}
            for v in model.variables.values()
        ],
    }
    return json.dumps(payload, indent=2)


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 text to ``path`` atomically, creating parent directories; return the path.

    Raises
    ------
    OutputWriteError
        The file could not be written; its previous version is left intact
        (see :func:`sdkit.util.files.atomic_write`).
    """
    from sdkit.util.files import write_text_atomic

    return write_text_atomic(path, text)


def write_csv(path: str | os.PathLike[str], result: pd.DataFrame) -> Path:
    """Write results as CSV (first column ``time``) atomically, creating parent directories.

    Raises
    ------
    OutputWriteError
        The file could not be written; its previous version is left intact
        (see :func:`sdkit.util.files.atomic_write`).
    """
    from sdkit.util.files import atomic_write

    return atomic_write(path, lambda tmp: result.to_csv(tmp, index_label="time"))


def render_table(rows: list[list[str]], header: list[str], *, markdown: bool = False,
                 left: int = 1) -> str:
    """Render string cells as an aligned plain-text table or a Markdown table.

    The first ``left`` columns are left-aligned, the others right-aligned.
    """
    if markdown:
        def line(cells: list[str]) -> str:
            return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

        rule = "|" + "---|" * left + "---:|" * (len(header) - left)
        return "\n".join([line(header), rule, *(line(r) for r in rows)])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def aligned(cells: list[str]) -> str:
        parts = [c.ljust(w) if i < left else c.rjust(w)
                 for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return "  ".join(parts).rstrip()

    return "\n".join([aligned(header), *(aligned(r) for r in rows)])


def _check(row: pd.Series) -> str:
    check = "ok" if row["within"] else "OUTSIDE"
    return f"{check} (hindcast)" if row.get("role") == "hindcast" else check


def evidence_table(comparison: pd.DataFrame, *, markdown: bool = False) -> str:
    """Render :func:`sdkit.analysis.evidence.compare_with_reference` output, one row per
    reference row.

    Never-reached transitions show as ``never``; rows outside their band are
    marked ``OUTSIDE``; hindcast rows (``role`` column) say so in the check column
    and are counted apart in the summary.
    """
    header = ["kind", "metric", "time", "low", "high", "model", "unit", "check"]
    rows = [
        [row["kind"], row["metric"], format_number(row["time"]), format_number(row["low"]),
         format_number(row["high"]),
         "never" if math.isnan(row["model"]) else format_number(row["model"]),
         str(row["unit"]), _check(row)]
        for _, row in comparison.iterrows()
    ]
    outside = int((~comparison["within"].astype(bool)).sum())
    summary = f"{len(rows) - outside} of {len(rows)} reference rows within their band."
    if "role" in comparison and (comparison["role"] == "hindcast").any():
        late = comparison[comparison["role"] == "hindcast"]
        fit = comparison[comparison["role"] != "hindcast"]
        summary += (f" Fitted period: {int(fit['within'].sum())} of {len(fit)}; hindcast: "
                    f"{int(late['within'].sum())} of {len(late)}.")
    return render_table(rows, header, markdown=markdown, left=2) + "\n\n" + summary


def doc_blocks(model_path: str | Path, reference: str | Path | None = None) -> dict[str, str]:
    """The generated blocks of a model's documentation page (``sdkit doc``).

    Returns
    -------
    dict of str to str
        ``parameters`` (:func:`sdkit.report.modeldoc.parameter_table` with the baseline's
        values) and, when the model has reference modes, ``evidence``
        (:func:`evidence_table` of :func:`sdkit.analysis.evidence.evidence_of`).
    """
    from sdkit.analysis.evidence import evidence_of, reference_for
    from sdkit.model.core import load_model
    from sdkit.report.modeldoc import constant_values, parameter_table

    loaded = load_model(model_path)
    baseline = loaded.run()
    blocks = {"parameters": parameter_table(loaded, constant_values(loaded, baseline))}
    table = reference_for(model_path, reference)  # resolved once: the card is read once
    if table is not None:
        comparison = evidence_of(model_path, table, baseline=baseline)
        blocks["evidence"] = evidence_table(comparison, markdown=True)
    return blocks


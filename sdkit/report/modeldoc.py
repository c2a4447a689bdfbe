"""Markdown tables that document a model, generated from the model itself.

Documentation that repeats numbers drifts from the model. :func:`parameter_table`
makes the table of every constant with its value, units, range and the source or
argument its comment gives; ``sdkit doc`` writes it (and the evidence table of
:func:`sdkit.report.text.evidence_table`) into marked blocks of a page
(:mod:`sdkit.util.markers`), and a test checks the page is current.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from sdkit.model.core import Model

__all__ = ["constant_values", "parameter_table"]


def constant_values(model: Model, baseline: pd.DataFrame | None = None
                    ) -> dict[str, float | str]:
    """The value of every constant in the model file.

    Parameters
    ----------
    model : sdkit.model.core.Model
    baseline : pandas.DataFrame, optional
        A run of the model to read the values from (default: a one-step run).

    Returns
    -------
    dict of str to float or str
        Constant name to its value; a subscripted constant (columns
        ``name[a]``, ``name[b]``...) to the text ``"min to max (N elements)"``.
    """
    names = [v.name for v in model.constants()]
    if not names:
        return {}
    if baseline is None:
        baseline = model.run(
            return_columns=names, engine="auto",
            final_time=model.initial_time + model.time_step,
            saveper=model.time_step,
            time_step=model.time_step,
        )
    values: dict[str, float | str] = {}
    for name in names:
        if name in baseline.columns:
            values[name] = float(baseline[name].iloc[0])
            continue
        elements = [float(baseline[c].iloc[0]) for c in baseline.columns
                    if c.startswith(name + "[")]
        values[name] = (f"{_number(min(elements))} to {_number(max(elements))} "
                        f"({len(elements)} elements)") if elements else "-"
    return values


def _number(value: float | str) -> str:
    if isinstance(value, str):
        return value
    if not math.isfinite(value):
        return str(value)
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}".replace(",", " ")
    return f"{value:.6g}"


def _bound(value: float | None) -> str:
    return "?" if value is None else _number(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").strip()


def parameter_table(model: Model, values: dict[str, float | str] | None = None) -> str:
    """Markdown table of the model's constants.

    Parameters
    ----------
    model : sdkit.model.core.Model
    values : dict, optional
        Constant values (default: :func:`constant_values`).

    Returns
    -------
    str
        Columns: parameter, value, units, range, construct / source or argument.
    """
    values = constant_values(model) if values is None else values
    lines = [
        "| parameter | value | units | range | construct; source or argument |",
        "|---|---|---|---|---|",
    ]
    for var in sorted(model.constants(), key=lambda v: v.name.lower()):
        low, high = var.limits
        bounds = "" if low is None and high is None else f"[{_bound(low)}, {_bound(high)}]"
        lines.append(
            f"| {_cell(var.name)} | {_number(values[var.name])} | {_cell(var.units)} | "
            f"{bounds} | {_cell(var.comment)} |"
        )
    return "\n".join(lines)

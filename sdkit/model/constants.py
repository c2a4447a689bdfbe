"""The values of a model's constants, read from a short run of the model itself.

Used to document a model (:mod:`sdkit.report.modeldoc`), to centre the explorer's
sliders and the Monte Carlo bands' assumptions (:mod:`sdkit.scenarios.bands`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from sdkit.model.core import Model

__all__ = ["constant_values", "format_value"]


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
        values[name] = (f"{format_value(min(elements))} to {format_value(max(elements))} "
                        f"({len(elements)} elements)") if elements else "-"
    return values


def format_value(value: float | str) -> str:
    """A constant's value for a table: whole numbers with spaces between thousands."""
    if isinstance(value, str):
        return value
    if not math.isfinite(value):
        return str(value)
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}".replace(",", " ")
    return f"{value:.6g}"

"""Markdown tables that document a model, generated from the model itself.

Documentation that repeats numbers drifts from the model. :func:`parameter_table`
makes the table of every constant with its value, units, range and the source or
argument its comment gives; ``sdkit doc`` writes it (and the evidence table of
:func:`sdkit.report.text.evidence_table`) into marked blocks of a page
(:mod:`sdkit.util.markers`), and a test checks the page is current.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sdkit.model.constants import constant_values, format_value

if TYPE_CHECKING:
    from sdkit.model.core import Model

__all__ = ["constant_values", "parameter_table"]


def _bound(value: float | None) -> str:
    return "?" if value is None else format_value(value)


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
            f"| {_cell(var.name)} | {format_value(values[var.name])} | {_cell(var.units)} | "
            f"{bounds} | {_cell(var.comment)} |"
        )
    return "\n".join(lines)

"""Markdown tables that document a model, generated from the model itself.

Documentation that repeats numbers drifts from the model. :func:`parameter_table`
makes the table of every constant with its value, units, range and the source or
argument its comment gives; ``sdkit doc`` writes it (and the evidence table of
:func:`sdkit.report.evidence_table`) into marked blocks of a page
(:mod:`sdkit.markers`), and a test checks the page is current.
"""

from __future__ import annotations

__all__ = ["constant_values", "parameter_table"]


def constant_values(model) -> dict[str, float]:
    """Value of every constant of ``model`` (one short run from a fresh model).

    Parameters
    ----------
    model : sdkit.model.Model

    Returns
    -------
    dict of str to float
        Constant name to its value in the model file.
    """
    names = [v.name for v in model.constants()]
    if not names:
        return {}
    first = model.run(
        return_columns=names,
        final_time=model.initial_time + model.time_step,
        saveper=model.time_step,
        time_step=model.time_step,
    )
    return {name: float(first[name].iloc[0]) for name in names}


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}".replace(",", " ")
    return f"{value:.6g}"


def _bound(value: float | None) -> str:
    return "?" if value is None else _number(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").strip()


def parameter_table(model, values: dict[str, float] | None = None) -> str:
    """Markdown table of the model's constants.

    Parameters
    ----------
    model : sdkit.model.Model
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

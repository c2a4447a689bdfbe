"""Reference modes: the evidence a baseline run must reproduce.

A reference-modes table (CSV) has one row per piece of evidence with the columns
``kind, metric, time, value, low, high, unit, source``. Rows of kind
``transition`` give the time a stage transition happened; rows of kind ``level``
give the value a variable had at a time; rows of kind ``flow`` give a total over the
year that starts at ``time`` (a calendar year's revenue, spending or volume), compared
with the integral of the model's flow over that year (like with like); all carry a
tolerance band ``[low, high]``. Other kinds (``input``, ``pool``, ``rate``) document model inputs
and are not checked.

:func:`compare_with_reference` puts a run next to each checked row, using a
model card (:mod:`sdkit.model.card`) to know which variable or transition answers it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sdkit.analysis.stages import detect_stages
from sdkit.errors import InputFileError, UnknownVariableError
from sdkit.model.card import ModelCard
from sdkit.sensitivity.metrics import integral_between
from sdkit.util.names import close_matches

__all__ = ["CHECKED_KINDS", "load_reference_modes", "compare_with_reference", "reference_for",
           "evidence_of", "fits"]

#: Row kinds that a baseline must reproduce.
CHECKED_KINDS = ("transition", "level", "flow")
#: Card mapping that answers each checked kind.
_MAPPINGS = {"transition": "evidence_transitions", "level": "evidence_levels",
             "flow": "evidence_flows"}
_COLUMNS = ["kind", "metric", "time", "value", "low", "high", "unit", "source"]


def load_reference_modes(path: str | Path) -> pd.DataFrame:
    """Read and validate a reference-modes CSV.

    Parameters
    ----------
    path : str or Path
        The CSV file.

    Returns
    -------
    pandas.DataFrame
        One row per reference mode, with the columns above; ``time``, ``value``,
        ``low`` and ``high`` as floats (NaN where a row has no band).

    Raises
    ------
    InputFileError
        If the file is missing or unreadable, lacks a column, or a checked row
        has a missing or non-numeric time or band, or ``low > high``.
    """
    path = Path(path)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError as err:
        raise InputFileError(
            f"Reference modes file {str(path)!r} does not exist.", path=str(path)
        ) from err
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise InputFileError(
            f"Reference modes file {str(path)!r} is not valid CSV: {err}", path=str(path)
        ) from err
    missing = [c for c in _COLUMNS if c not in table.columns]
    if missing:
        raise InputFileError(
            f"{path}: missing columns {missing}; expected {_COLUMNS}.",
            path=str(path),
            key=missing[0],
        )
    for column in ("time", "value", "low", "high"):
        numbers = pd.to_numeric(table[column].replace("", np.nan), errors="coerce")
        bad = numbers.isna() & (table[column] != "")
        if bad.any():
            row = int(np.argmax(bad.to_numpy()))
            raise InputFileError(
                f"{path}: row {row + 2} has a non-numeric {column} {table[column].iloc[row]!r}.",
                path=str(path),
                key=column,
            )
        table[column] = numbers.astype(float)
    checked = table["kind"].isin(CHECKED_KINDS)
    for i in np.flatnonzero(checked.to_numpy()):
        row = table.iloc[i]
        if np.isnan([row["time"], row["low"], row["high"]]).any():
            raise InputFileError(
                f"{path}: row {i + 2} ({row['metric']!r}) needs time, low and high.",
                path=str(path),
                key="low",
            )
        if row["low"] > row["high"]:
            raise InputFileError(
                f"{path}: row {i + 2} ({row['metric']!r}) has low {row['low']} "
                f"> high {row['high']}.",
                path=str(path),
                key="low",
            )
    return table[_COLUMNS]


def compare_with_reference(
    results: pd.DataFrame, reference: pd.DataFrame, card: ModelCard
) -> pd.DataFrame:
    """Put a run next to every checked reference row.

    Parameters
    ----------
    results : pandas.DataFrame
        A run indexed by time (real variable names as columns).
    reference : pandas.DataFrame
        As returned by :func:`load_reference_modes`.
    card : ModelCard
        Maps each metric to a variable or a stage transition.

    Returns
    -------
    pandas.DataFrame
        Columns ``kind, metric, time, low, high, unit, variable, model, within, role``;
        ``role`` is ``hindcast`` for a row whose period ends after the card's
        ``evidence.hindcast_after`` (the model was fitted on earlier data), else ``fit``;
        ``model`` is the transition time (NaN if never reached), the variable's
        value at ``time`` (linear interpolation between saved points), or for a
        ``flow`` row the variable's integral over ``[time, time + 1)`` (trapezoids
        over the saved points, the ends interpolated).

    Raises
    ------
    InputFileError
        If a checked row's metric has no entry in the card (the message lists
        close matches among the card's metrics).
    UnknownVariableError
        If the card names a variable the run does not have.
    """
    stages = detect_stages(results, card.transitions) if card.transitions else None
    rows = []
    for _, row in reference[reference["kind"].isin(CHECKED_KINDS)].iterrows():
        metric = row["metric"]
        mapping = getattr(card, _MAPPINGS[row["kind"]])
        if metric not in mapping:
            raise InputFileError(
                f"{card.path}: no evidence entry for {row['kind']} metric {metric!r}; "
                f"close matches: {close_matches(metric, mapping) or 'none'}.",
                path=str(card.path),
                key=metric,
            )
        if row["kind"] == "transition":
            stage = card.evidence_transitions[metric]
            value = stages.time_of(stage) if stages is not None else None
            variable = f"transition into stage {stage}"
            model = np.nan if value is None else value
        elif row["kind"] == "flow":
            variable = mapping[metric]
            model = integral_over(results, variable, row["time"], row["time"] + 1.0)
        else:
            variable = mapping[metric]
            model = value_at(results, variable, row["time"])
        within = bool(row["low"] <= model <= row["high"]) if np.isfinite(model) else False
        hindcast = (card.hindcast_after is not None
                    and _last_time(results, row) > card.hindcast_after + 1e-9)
        rows.append(
            {
                "kind": row["kind"],
                "metric": metric,
                "time": row["time"],
                "low": row["low"],
                "high": row["high"],
                "unit": row["unit"],
                "variable": variable,
                "model": float(model),
                "within": within,
                "role": "hindcast" if hindcast else "fit",
            }
        )
    return pd.DataFrame(
        rows,
        columns=["kind", "metric", "time", "low", "high", "unit", "variable", "model", "within",
                 "role"],
    )


def _last_time(results: pd.DataFrame, row: pd.Series) -> float:
    """The last saved time a row depends on (a flow's year is half-open)."""
    if row["kind"] != "flow":
        return float(row["time"])
    times = results.index.to_numpy(dtype=float)
    end = float(row["time"]) + 1.0
    before = times[times < end - 1e-9]
    return float(before[-1]) if len(before) else end


def integral_over(results: pd.DataFrame, variable: str, start: float, end: float) -> float:
    """Integral of a saved flow over ``[start, end]`` (trapezoids, ends interpolated).

    NaN when the period is not inside the run.
    """
    times = results.index.to_numpy(dtype=float)
    if start < times[0] or end > times[-1]:
        return float("nan")
    value_at(results, variable, start)  # an unknown variable: the one error
    values = results[variable].to_numpy(dtype=float)
    return float(integral_between(values, times, start, end)[0])


def value_at(results: pd.DataFrame, variable: str, time: float) -> float:
    """Value of ``variable`` at ``time``, interpolating linearly between saved points.

    Raises
    ------
    UnknownVariableError
        If ``variable`` is not a column of ``results``.
    InputFileError
        If ``time`` is outside the run.
    """
    if variable not in results.columns:
        raise UnknownVariableError(
            variable, close_matches(variable, results.columns), "the run's results"
        )
    times = results.index.to_numpy(dtype=float)
    if not times[0] <= time <= times[-1]:
        raise InputFileError(
            f"Time {time} is outside the run [{times[0]}, {times[-1]}].", key="time"
        )
    return float(np.interp(time, times, results[variable].to_numpy(dtype=float)))


def reference_for(model_path: str | Path, reference: str | Path | None = None) -> Path | None:
    """The reference-modes table to compare a model with.

    Parameters
    ----------
    model_path : path-like
        The model file; its card (same stem, ``.toml``) may name a table with
        ``evidence.reference``.
    reference : path-like, optional
        An explicit table; wins over the card's.

    Returns
    -------
    pathlib.Path or None
        ``reference``, else the card's table, else None (no card, or a card
        without a reference). The shipped model's table ships beside it
        (``models/empowerment-reference-modes.csv``).
    """
    if reference is not None:
        return Path(reference)
    from sdkit.model.card import card_path, load_card

    card = card_path(model_path)
    return load_card(card).reference if card.is_file() else None


def evidence_of(model_path: str | Path, reference: str | Path | None = None, *,
                baseline: pd.DataFrame | None = None) -> pd.DataFrame:
    """A model's baseline run next to its reference modes: ``sdkit evidence`` and ``doc``.

    Parameters
    ----------
    model_path : path-like
        The model file; its card says which variable answers each row.
    reference : path-like, optional
        The reference-modes table (default: the one the card names, :func:`reference_for`).
    baseline : pandas.DataFrame, optional
        The model's baseline run, when the caller has it (default: run the model).

    Returns
    -------
    pandas.DataFrame
        :func:`compare_with_reference` of the baseline run.

    Raises
    ------
    InputFileError
        If neither ``reference`` nor the model's card names a table.
    """
    from sdkit.model.card import load_card
    from sdkit.model.core import load_model

    table = reference_for(model_path, reference)
    if table is None:
        raise InputFileError(f"No reference modes for {model_path}: its model card names none "
                             "(evidence.reference); pass --reference CSV.")
    card, modes = load_card(model_path), load_reference_modes(table)
    run = load_model(model_path).run() if baseline is None else baseline
    return compare_with_reference(run, modes, card)


def fits(comparison: pd.DataFrame) -> bool:
    """Whether every fitted row (role ``fit``, not a hindcast) is within its band."""
    return bool(comparison.loc[comparison["role"] == "fit", "within"].all())

"""Scenario results on disk: Parquet and CSV, written atomically.

A scenario-results folder holds ``results.parquet`` (the tidy long table of
:class:`sdkit.scenarios.runner.ScenarioResults`) and ``transitions.csv`` (one row per
scenario and stage; an empty ``time`` means never reached). Both are written through
:func:`sdkit.util.files.atomic_write`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from sdkit.errors import InputFileError
from sdkit.scenarios.runner import RESULT_COLUMNS, TRANSITION_COLUMNS, ScenarioResults
from sdkit.util.files import atomic_write

__all__ = ["save_scenario_results", "load_scenario_results", "RESULTS_FILE",
           "TRANSITIONS_FILE"]

RESULTS_FILE = "results.parquet"
TRANSITIONS_FILE = "transitions.csv"


def save_scenario_results(results: ScenarioResults, folder: str | os.PathLike[str]
                          ) -> list[Path]:
    """Write ``results.parquet`` and ``transitions.csv`` into ``folder``.

    Returns
    -------
    list of pathlib.Path
        The two files.

    Raises
    ------
    OutputWriteError
        A file could not be written (its previous version is left intact).
    """
    out = Path(folder)
    table = results.results[RESULT_COLUMNS]
    return [
        atomic_write(out / RESULTS_FILE, lambda tmp: table.to_parquet(tmp, index=False)),
        atomic_write(out / TRANSITIONS_FILE,
                     lambda tmp: results.transitions.to_csv(tmp, index=False)),
    ]


def load_scenario_results(folder: str | os.PathLike[str]) -> ScenarioResults:
    """Read what :func:`save_scenario_results` wrote.

    Raises
    ------
    InputFileError
        If a file is missing, unreadable, or lacks a column.
    """
    out = Path(folder)
    results = _read(out / RESULTS_FILE, pd.read_parquet, RESULT_COLUMNS)
    transitions = _read(out / TRANSITIONS_FILE,
                        lambda p: pd.read_csv(p, keep_default_na=False, na_values=[""]),
                        TRANSITION_COLUMNS)
    for column in ("stage_en", "stage_zh", "transition", "variable"):
        transitions[column] = transitions[column].fillna("").astype(str)
    transitions["reached"] = transitions["reached"].astype(str).str.lower() == "true"
    for column in ("threshold", "time", "duration"):
        transitions[column] = pd.to_numeric(transitions[column]).astype(float)
    return ScenarioResults(results[RESULT_COLUMNS], transitions[TRANSITION_COLUMNS])


def _read(path: Path, reader: Callable[[Path], pd.DataFrame], columns: list[str]
          ) -> pd.DataFrame:
    if not path.is_file():
        raise InputFileError(
            f"{path} does not exist; write it with `sdkit scenarios run ... -o {path.parent}`.",
            path=str(path))
    try:
        table = reader(path)
    except Exception as err:  # pyarrow and pandas raise many types for damaged files
        raise InputFileError(f"Cannot read {path}: {err}", path=str(path)) from err
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputFileError(f"{path}: missing columns {missing}; expected {columns}.",
                             path=str(path), key=missing[0])
    return table

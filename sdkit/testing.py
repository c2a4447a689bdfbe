"""Helpers for checking simulation results against reference output.

The SDXorg test-models suite ships, for every model, a reference output file
(``output.tab`` exported by Vensim, or ``output.csv``).  The suite's tolerance is
a relative difference of 1e-4 of the larger magnitude; values near zero pass
when ``|reference| <= 3e-6`` and ``|simulated| <= 1e-6``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sdkit.model.core import Model

__all__ = [
    "shared_root",
    "conformance_root",
    "reference_modes_path",
    "read_reference_output",
    "random_parameter_sets",
    "assert_matches_reference",
]

_CONTROL = {"initial time", "final time", "time step", "saveper"}


def shared_root() -> Path:
    """Return the project's shared folder (which may not exist).

    ``$SDKIT_SHARED`` if set, else the ``shared`` folder beside the repository.
    """
    env = os.environ.get("SDKIT_SHARED")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared"


def conformance_root() -> Path | None:
    """Return the root of the SDXorg test-models suite, or None if absent.

    The suite lives in ``<shared>/conformance/test-models`` (see :func:`shared_root`).

    Returns
    -------
    pathlib.Path or None
    """
    root = shared_root() / "conformance" / "test-models"
    return root if root.is_dir() else None


def reference_modes_path() -> Path | None:
    """Return the Ouyeel reference-modes CSV in the shared folder, or None if absent."""
    path = shared_root() / "reference" / "ouyeel-reference-modes.csv"
    return path if path.is_file() else None


def _key(name: str) -> str:
    return " ".join(str(name).replace("_", " ").split()).lower()


def read_reference_output(model_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a model folder's reference output.

    Parameters
    ----------
    model_dir : path-like
        Folder holding ``output.tab`` (tab-separated) or ``output.csv``.

    Returns
    -------
    pandas.DataFrame
        Indexed by time (index name ``"time"``), one float column per variable.
        Vensim exports write constants only in the first row; such columns are
        filled down.

    Raises
    ------
    FileNotFoundError
        The folder has neither file.
    """
    folder = Path(model_dir)
    candidates = [(folder / "output.tab", "\t"), (folder / "output.csv", ",")]
    found = [(path, sep) for path, sep in candidates if path.is_file()]
    if not found:
        raise FileNotFoundError(f"No output.tab or output.csv in {folder}")
    path, sep = found[0]
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    lines = [line for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
             if line.strip()]
    rows = [line.split(sep) for line in lines]
    header = [cell.strip().strip('"') for cell in rows[0]]
    width = len(header)
    body = [(row + [""] * width)[:width] for row in rows[1:]]
    frame = pd.DataFrame(body, columns=header).replace(r"^\s*$", np.nan, regex=True)
    frame = frame.loc[:, [bool(c) for c in frame.columns]]
    frame = frame.apply(pd.to_numeric, errors="coerce").astype(float)
    frame = frame.set_index(frame.columns[0])
    frame.index.name = "time"
    for column in frame.columns:
        values = frame[column]
        if len(values) > 1 and pd.notna(values.iloc[0]) and values.iloc[1:].isna().all():
            frame[column] = values.iloc[0]
    return frame


def assert_matches_reference(
    result: pd.DataFrame,
    reference: pd.DataFrame,
    *,
    rtol: float = 1e-4,
    atol_ref: float = 3e-6,
    atol_sim: float = 1e-6,
) -> None:
    """Assert simulated results match reference output within the suite's tolerance.

    Every reference column except the control variables (INITIAL TIME, FINAL
    TIME, TIME STEP, SAVEPER) must be in ``result`` (names compared ignoring
    case, spaces and underscores) and every reference time must be in its index.

    Parameters
    ----------
    result : pandas.DataFrame
        Simulated values, indexed by time.
    reference : pandas.DataFrame
        From :func:`read_reference_output`.
    rtol : float
        Allowed relative difference, of the larger magnitude.
    atol_ref, atol_sim : float
        A value passes when ``|reference| <= atol_ref`` and ``|sim| <= atol_sim``.

    Raises
    ------
    AssertionError
        Naming the first mismatching variable and time, or what is missing.
    """
    columns = {_key(c): c for c in result.columns}
    compared = [c for c in reference.columns if _key(c) not in _CONTROL]
    missing = [c for c in compared if _key(c) not in columns]
    # explicit raises, not assert: a helper that stops checking under ``python -O``
    # would pass every comparison
    if missing:
        raise AssertionError(f"Variables missing from the results: {missing}")
    if not compared:
        raise AssertionError("The reference output has no variables to compare.")
    sim_times = result.index.to_numpy(dtype=float)
    ref_times = reference.index.to_numpy(dtype=float)
    positions = np.clip(np.searchsorted(sim_times, ref_times - 1e-9), 0, len(sim_times) - 1)
    found = np.isclose(sim_times[positions], ref_times, rtol=0, atol=1e-9)
    if not found.all():
        raise AssertionError(
            f"Time {ref_times[np.argmin(found)]:g} of the reference output is not in the results."
        )
    ref = reference[compared].to_numpy(dtype=float)
    sim = result[[columns[_key(c)] for c in compared]].to_numpy(dtype=float)[positions]
    with np.errstate(invalid="ignore"):
        near_zero = (np.abs(ref) <= atol_ref) & (np.abs(sim) <= atol_sim)
        close = np.abs(sim - ref) <= rtol * np.maximum(np.abs(ref), np.abs(sim))
    bad = ~(np.isnan(ref) | near_zero | close)
    if bad.any():
        row = int(np.argmax(bad.any(axis=1)))
        col = int(np.argmax(bad[row]))
        got, want = float(sim[row, col]), float(ref[row, col])
        raise AssertionError(
            f"{compared[col]!r} at time {ref_times[row]:g}: simulated {got!r}, "
            f"reference {want!r} (relative tolerance {rtol:g})"
        )


def random_parameter_sets(model: Model, n: int, *, seed: int = 0) -> pd.DataFrame:
    """Random values of every constant with a documented range, inside the range.

    Constants whose name ends in ``switch`` get whole numbers; the others are
    uniform over their ``[min, max]``. Constants without a two-sided range are
    left out.

    Parameters
    ----------
    model : sdkit.model.core.Model
    n : int
        Number of parameter sets (rows).
    seed : int
        Seed of numpy's default generator.

    Returns
    -------
    pandas.DataFrame
        One row per set, one column per constant (real names).
    """
    rng = np.random.default_rng(seed)
    data = {}
    for var in model.constants():
        low, high = var.limits
        if low is None or high is None:
            continue
        if var.name.endswith("switch"):
            data[var.name] = rng.integers(int(low), int(high) + 1, n).astype(float)
        else:
            data[var.name] = rng.uniform(low, high, n)
    return pd.DataFrame(data)

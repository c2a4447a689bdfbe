"""Check the ensemble engine against PySD on the SDXorg test-models suite.

Used by ``tests/engine/test_engine.py`` and to regenerate the list in docs/engine.md::

    python -m sdkit.engine.conformance [--markdown]
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Outcome", "check_model", "suite_models", "check_suite", "markdown"]

PASSED, REFUSED, PYSD_FAILED, MISMATCH = "passed", "refused", "pysd failed", "MISMATCH"


@dataclass(frozen=True)
class Outcome:
    """Result for one model: ``status`` is passed, refused, pysd failed or MISMATCH."""

    model: str
    status: str
    detail: str = ""


def suite_models(root: Path) -> list[Path]:
    """The suite's Vensim models under ``tests/`` and ``samples/``, sorted."""
    found = [p for folder in ("tests", "samples") for p in (root / folder).rglob("*.mdl")]
    return sorted(found, key=lambda p: p.relative_to(root).as_posix().lower())


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    if "external" in text:
        return "reads an external data file"
    return type(err).__name__


def check_model(path: Path, root: Path) -> Outcome:
    """Compare the engine with a fresh PySD run of one model (model's own settings).

    Both engine paths are compared: numpy scalars (one set, the default) and arrays.
    """
    from sdkit.engine import Ensemble
    from sdkit.errors import UnsupportedConstructError
    from sdkit.model.core import load_model
    from sdkit.model.translation import load_translation

    name = path.relative_to(root).as_posix()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model = load_model(path)
        except Exception as err:  # PySD cannot translate or load it
            return Outcome(name, PYSD_FAILED, _one_line(err))
        try:
            ensemble = Ensemble(model)
        except UnsupportedConstructError as err:
            return Outcome(name, REFUSED, f"{err.construct} ({err.variable})")
        try:
            fresh = load_translation(model._py_path, path)
            reference = model._tidy(fresh.run(), None)
        except Exception as err:  # PySD fails to run it
            return Outcome(name, PYSD_FAILED, _one_line(err))
        runs = []
        for on_scalars in (True, False):
            ensemble.scalar_single = on_scalars
            try:
                runs.append(ensemble.run())
            except UnsupportedConstructError as err:
                return Outcome(name, REFUSED, f"{err.construct} ({err.variable})")
            except Exception as err:  # an engine bug: report as a mismatch
                return Outcome(name, MISMATCH, f"engine error: {_one_line(err)}")
    if runs[0].integer != runs[1].integer:
        return Outcome(name, MISMATCH, "the scalar and array paths save different int outputs")
    for got, path_name in zip(runs, ("scalar", "array"), strict=True):
        problem = _difference(reference, got)
        if problem:
            return Outcome(name, MISMATCH, f"{problem} ({path_name} path)")
    return Outcome(name, PASSED)


def _difference(reference: Any, got: Any) -> str:
    """How an engine result differs from PySD's table ("" if bitwise equal)."""
    if not np.array_equal(reference.index.to_numpy(dtype=float), got.times):
        return "saved times differ"
    for column in reference.columns:
        if column not in got.values:
            return f"missing output {column!r}"
        ref = reference[column].to_numpy(dtype=float)
        if not np.array_equal(ref, got.values[column][0], equal_nan=True):
            return f"{column!r} differs"
    return ""


def check_suite(root: Path) -> list[Outcome]:
    """Check every model of the suite."""
    return [check_model(path, root) for path in suite_models(root)]


def markdown(outcomes: list[Outcome]) -> str:
    """The Markdown table recorded in docs/engine.md."""
    lines = ["| model | result | detail |", "|---|---|---|"]
    lines += [f"| `{o.model}` | {o.status} | {o.detail.replace('|', '/')} |" for o in outcomes]
    counts = {s: sum(o.status == s for o in outcomes) for s in (PASSED, REFUSED, PYSD_FAILED,
                                                                 MISMATCH)}
    lines += ["", f"{len(outcomes)} models: " + ", ".join(f"{v} {k}" for k, v in counts.items())
              + "."]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - documentation helper
    from sdkit.testing import conformance_root

    suite = conformance_root()
    if suite is None:
        sys.exit("conformance suite not found (set SDKIT_SHARED)")
    results = check_suite(suite)
    sys.stdout.write(markdown(results) + "\n")

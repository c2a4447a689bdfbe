"""Extreme-condition battery: every constant at 0 and at ten times its value.

Each constant is set, one at a time, to 0 and to 10x its baseline value; a
value outside the constant's documented range is clipped to the range, and the
case says so. Every case is a fresh run; it fails when the run produces NaN or
an infinity (reported with the first time and variable, see
:func:`sdkit.util.validation.check_finite_results`), when a stock goes negative
(unless its documented minimum is negative), or when the run raises.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sdkit.engine.batch import check_engine
from sdkit.errors import SdkitError

if TYPE_CHECKING:
    import pandas as pd

    from sdkit.model.core import Model, Variable

__all__ = ["ExtremeCase", "BatteryResult", "extreme_cases", "run_battery"]

#: A stock below ``-NEGATIVE_TOLERANCE * max(1, its largest magnitude)`` is negative.
NEGATIVE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class ExtremeCase:
    """One run of the battery.

    Attributes
    ----------
    constant : str
        Real name of the constant.
    label : str
        ``"0"`` or ``"10x"``.
    value : float
        The value used (after clipping).
    note : str
        ``""``, or how the value was clipped to the documented range.
    """

    constant: str
    label: str
    value: float
    note: str = ""

    def describe(self) -> str:
        clipped = f" ({self.note})" if self.note else ""
        return f"{self.constant!r} at {self.label} = {self.value:g}{clipped}"


@dataclass
class BatteryResult:
    """Outcome of :func:`run_battery`.

    Attributes
    ----------
    cases : int
        Runs made.
    clipped : list of str
        Cases whose value was clipped to the documented range.
    failures : list of str
        One sentence per failing case.
    skipped : list of str
        Constants not tested, with the reason.
    engine : str
        ``"ensemble"`` or ``"pysd"``: what ran the cases.
    """

    cases: int = 0
    clipped: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    engine: str = "pysd"


def _clip(value: float, var: Variable) -> tuple[float, str]:
    low, high = var.limits
    if low is not None and value < low:
        return low, f"clipped to its documented minimum {low:g}"
    if high is not None and value > high:
        return high, f"clipped to its documented maximum {high:g}"
    return value, ""


def extreme_cases(model: Model, baseline: pd.DataFrame) -> tuple[list[ExtremeCase], list[str]]:
    """The cases for every constant, and the constants skipped (with reasons).

    Parameters
    ----------
    model : Model
        The loaded model.
    baseline : pandas.DataFrame
        A baseline run (the constants' values are read from its first row).
    """
    cases: list[ExtremeCase] = []
    skipped: list[str] = []
    for var in model.constants():
        if var.name not in baseline.columns:
            skipped.append(f"{var.name!r}: no single value in the results (subscripted?).")
            continue
        base = float(baseline[var.name].iloc[0])
        seen: set[float] = set()
        for label, raw in (("0", 0.0), ("10x", 10.0 * base)):
            value, note = _clip(raw, var)
            if value in seen:
                skipped.append(f"{var.name!r} at {label}: same value as the case before "
                               f"({value:g}); not run twice.")
                continue
            seen.add(value)
            cases.append(ExtremeCase(var.name, label, value, note))
    return cases, skipped


def _negative_stock(model: Model, result: pd.DataFrame) -> str | None:
    for stock in model.stocks():
        if stock.name not in result.columns:
            continue
        low = stock.limits[0]
        if low is not None and low < 0:
            continue
        values = result[stock.name].to_numpy(dtype=float)
        floor = -NEGATIVE_TOLERANCE * max(1.0, float(np.max(np.abs(values))))
        below = np.flatnonzero(values < floor)
        if below.size:
            i = int(below[0])
            return (f"stock {stock.name!r} goes negative ({values[i]:.4g}) at time "
                    f"{result.index[i]:g}")
    return None


def run_case(model: Model, case: ExtremeCase) -> str | None:
    """Run one case; return what went wrong, or None."""
    try:
        result = model.run({case.constant: case.value})
    except SdkitError as err:  # SimulationError names the first time and variable
        return " ".join(str(err).split())
    values = result.select_dtypes(include="number").to_numpy(dtype=float)
    if not np.isfinite(values).all():  # pragma: no cover - Model.run raises first
        return "the run produced NaN or an infinity"
    return _negative_stock(model, result)


def _ensemble_problems(model: Model, baseline: pd.DataFrame, cases: list[ExtremeCase],
                       engine: str) -> list[str | None] | None:
    """Every case in one ensemble run, or None where the backend seam falls back to PySD
    (:func:`sdkit.engine.batch.try_engine`: ``auto`` and a refused model or missing engine).

    The ensemble engine's output equals PySD's bit for bit (tests/engine/test_engine.py),
    so the battery's verdicts are the same; where PySD would raise on a division
    by zero the engine yields an infinity or NaN, which the check reports the same
    way (first time and variable).
    """
    import pandas as pd

    from sdkit.engine.batch import try_engine
    from sdkit.util.validation import check_finite_results

    names = sorted({case.constant for case in cases})
    if not names:
        return []
    base = {name: float(baseline[name].iloc[0]) for name in names}
    rows = [{**base, case.constant: case.value} for case in cases]

    def step() -> Any:
        from sdkit.engine import Ensemble

        return Ensemble(model, names).run(pd.DataFrame(rows, columns=names))

    result, why = try_engine(engine, step)
    if why is not None:
        return None
    problems: list[str | None] = []
    for i in range(len(cases)):
        frame = result.frame(i)
        try:
            check_finite_results(frame)
        except SdkitError as err:
            problems.append(" ".join(str(err).split()))
            continue
        problems.append(_negative_stock(model, frame))
    return problems


def run_battery(model: Model, baseline: pd.DataFrame, *,
                progress: Callable[[int, int, ExtremeCase], None] | None = None,
                engine: str = "auto") -> BatteryResult:
    """Run every extreme case of :func:`extreme_cases`.

    Parameters
    ----------
    model : Model
        The loaded model.
    baseline : pandas.DataFrame
        Its baseline run.
    progress : callable, optional
        Called as ``progress(done, total, case)`` after each case.
    engine : {"auto", "ensemble", "pysd"}, default "auto"
        The backend seam: run all cases at once with the ensemble engine (same results
        as PySD, seconds instead of minutes) when it accepts the model (``auto``) or
        always (``ensemble``); ``pysd``: one PySD run each.

    Returns
    -------
    BatteryResult
    """
    cases, skipped = extreme_cases(model, baseline)
    out = BatteryResult(cases=len(cases), skipped=skipped)
    problems = None if check_engine(engine) == "pysd" else \
        _ensemble_problems(model, baseline, cases, engine)
    out.engine = "ensemble" if problems is not None else "pysd"
    for number, case in enumerate(cases, start=1):
        if case.note:
            out.clipped.append(case.describe())
        problem = problems[number - 1] if problems is not None else run_case(model, case)
        if problem is not None:
            out.failures.append(f"{case.describe()}: {problem}")
        if progress is not None:
            progress(number, len(cases), case)
    return out


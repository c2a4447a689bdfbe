"""Checks that users run on their own models: units, mass balance, time step, extremes.

:func:`check_model` runs the four checks and returns a :class:`CheckReport`;
``sdkit check MODEL`` prints it and exits with status 1 when a check fails.

* units (:mod:`sdkit.checks.units`): every equation's units, from the units
  declared in the model, with a small dimensional algebra over the IR; strict
  by default (Vensim's rules: a number in ``*`` or ``/`` is dimensionless, and
  scales such as ``Mt`` against ``tonne`` are compared), lenient on request;
* balance (:mod:`sdkit.checks.balance`): every stock's change over each step
  against its inflows minus outflows;
* dt (:mod:`sdkit.checks.balance`): the largest relative change when the time
  step is halved;
* extremes (:mod:`sdkit.checks.battery`): each constant at 0 and at 10x.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["CheckResult", "CheckReport", "check_model"]


@dataclass
class CheckResult:
    """One check's outcome.

    Attributes
    ----------
    name : str
        ``units``, ``balance``, ``dt`` or ``extremes``.
    passed : bool
        Whether the check passed.
    summary : str
        One line with the check's numbers.
    failures : list of str
        One sentence per failure.
    notes : list of str
        What was not checked, clipped or skipped.
    """

    name: str
    passed: bool
    summary: str
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class CheckReport:
    """The outcome of :func:`check_model`: one :class:`CheckResult` per check run."""

    model: str
    results: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether every check that ran passed."""
        return all(r.passed for r in self.results)

    def result(self, name: str) -> CheckResult:
        """The result of the check ``name``."""
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "passed": self.passed,
                "checks": [asdict(r) for r in self.results]}

    def text(self, *, notes: bool = False) -> str:
        """Plain-text report: one line per check, then its failures (and notes)."""
        lines = [f"Checks of {self.model}:"]
        for r in self.results:
            lines.append(f"  {'PASS' if r.passed else 'FAIL'} {r.name}: {r.summary}")
            lines += [f"      - {f}" for f in r.failures]
            if notes:
                lines += [f"      note: {n}" for n in r.notes]
        failed = [r.name for r in self.results if not r.passed]
        lines.append("All checks passed." if not failed else f"Failed: {', '.join(failed)}.")
        return "\n".join(lines)


def check_model(path: str | os.PathLike[str], *, units: bool = True, balance: bool = True,
                dt: bool = True, extremes: bool = True, strict_units: bool = True,
                cache_dir: str | None = None,
                progress: Callable[[int, int, Any], None] | None = None,
                engine: str = "auto") -> CheckReport:
    """Run the model checks.

    Parameters
    ----------
    path : path-like
        A ``.mdl`` or XMILE model file.
    units, balance, dt, extremes : bool
        Which checks to run.
    strict_units : bool
        Strict units rules (default; see :mod:`sdkit.checks.units`); ``False``
        for the lenient ones (numbers take any units, scales are not compared).
    cache_dir : path-like, optional
        Translation cache (see :func:`sdkit.load_model`).
    progress : callable, optional
        Called as ``progress(done, total, case)`` during the extreme battery.
    engine : {"auto", "ensemble", "pysd"}, default "auto"
        What runs the extreme-conditions battery (the backend seam; the verdicts are the
        same, the engine runs every case at once). The time-step and balance checks run
        PySD, the reference.

    Returns
    -------
    CheckReport

    Raises
    ------
    ModelFileNotFoundError, ModelParseError
        The model cannot be loaded.
    SimulationError
        The baseline run produces NaN or infinity (nothing else can be checked).
    """
    from sdkit.checks import balance as bal
    from sdkit.checks import battery
    from sdkit.checks.units import check_units
    from sdkit.engine.batch import check_engine
    from sdkit.model.core import load_model

    check_engine(engine)
    model = load_model(path, cache_dir=cache_dir)
    report = CheckReport(str(path))
    ir = model.ir if units or balance else None
    if units and ir is not None:
        found = check_units(ir, strict=strict_units)
        report.results.append(CheckResult(
            "units", not found.failures,
            f"{found.checked} equations checked ({'strict' if strict_units else 'lenient'}), "
            f"{len(found.failures)} inconsistent, {len(found.notes)} notes",
            found.failures, found.notes))
    if not (balance or dt or extremes):
        return report
    fine = bal.fine_run(model)
    if balance and ir is not None:
        found_b = bal.check_balance(model, ir, fine)
        worst = max(found_b.errors.values(), default=(0.0, 0.0))
        report.results.append(CheckResult(
            "balance", not found_b.failures,
            f"{len(found_b.errors)} of {len(ir.stocks)} stocks checked over "
            f"{len(fine) - 1} steps, largest relative mismatch {worst[0]:.3g}",
            found_b.failures, found_b.notes))
    if dt:
        found_dt = bal.check_time_step(model, fine)
        where = f" ({found_dt.variable!r} at t={found_dt.time:g})" if found_dt.variable else ""
        failures = [] if found_dt.passed else [
            f"halving the time step {found_dt.time_step:g} changes {found_dt.variable!r} by "
            f"{found_dt.largest:.3g} of its scale at t={found_dt.time:g} "
            f"(tolerance {found_dt.tolerance:g})."]
        report.results.append(CheckResult(
            "dt", found_dt.passed,
            f"time step {found_dt.time_step:g} vs {found_dt.time_step / 2:g}: largest relative "
            f"change {found_dt.largest:.3g}{where}", failures))
    if extremes:
        baseline = fine if model.saveper_follows_time_step else model.run()
        found_x = battery.run_battery(model, baseline, progress=progress, engine=engine)
        report.results.append(CheckResult(
            "extremes", not found_x.failures,
            f"{found_x.cases} runs, {len(found_x.failures)} failing, "
            f"{len(found_x.clipped)} values clipped to the documented range",
            found_x.failures, [f"clipped: {c}" for c in found_x.clipped] + found_x.skipped))
    return report

"""Saturated factors: bounded factors that sit at 0 or 1 for long stretches of a run.

A smooth saturating factor (``1 - EXP(-x)``, ``x / (1 + x)``, a soft minimum) that
stays pinned near its bound acts like a binding gate although the gate report
(:mod:`sdkit.checks.gates`) cannot see it: the inputs feeding it no longer change
behaviour. :func:`find_factors` finds them in the same run the gate report
evaluates (saved at every TIME STEP); nothing is executed, the values are the
run's.

* A *bounded factor* is an auxiliary (not a stock, flow, constant, lookup or data
  variable) whose documented range is ``[0, 1]``, or which is dimensionless (units
  ``Dmnl``, ``1`` or none) and stays within ``[0, 1]`` over the whole run, every
  element.
* It *sits at* a bound ``b`` (0 or 1) at the steps where ``|value - b| <= tolerance``
  (default 0.01). As for gates, the value at ``t`` acts over ``[t, t + dt)``: ``years
  = dt * steps`` in years, ``share = years / run length``; ``first`` and ``last`` are
  the first and last such steps.
* It is counted (role ``factor``) when it depends on the state (a stock, a hidden
  stock of ``SMOOTH``/``DELAY``, a random function); a factor of constants and
  Time only is a ``schedule`` (a ramp, a window), listed, not counted; one of
  constants only (a switch) is not a factor. A subscripted factor is reported at
  the element that sits at the bound longest; a factor that sits at 0 at some
  steps and at 1 at others is reported once for each bound.

A factor is *saturated* when it sits at a bound longer than the gate limit
(``--max-years``, one year by default).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sdkit.model.core import Model, Variable

__all__ = ["SaturatedFactor", "find_factors", "saturated_longer_than", "section", "years_text"]

#: Units, besides the dimensionless ones, that mark a fraction.
_FRACTION_UNITS = {"fraction", "share", "probability"}


@dataclass
class SaturatedFactor:
    """A bounded factor at one bound (0 or 1), at its worst element.

    ``bounded_by`` is ``documented range`` or ``values``; of ``steps`` integration
    steps it sits within the tolerance of ``bound`` at ``saturated_steps``
    (``years``, ``share`` of the run), from ``first`` to ``last`` (model time), and
    enters or leaves it ``switches`` times; ``low`` and ``high`` are the element's
    smallest and largest values over the run.
    """

    variable: str
    element: str
    bound: float
    role: str
    bounded_by: str
    steps: int
    saturated_steps: int
    switches: int
    years: float
    share: float
    first: float
    last: float
    low: float
    high: float

    @property
    def counted(self) -> bool:
        """Whether it counts as a saturated factor (schedules do not)."""
        return self.role == "factor"

    def label(self) -> str:
        """``variable[element] at bound``."""
        return f"{self.variable}{self.element} at {self.bound:g}"


def _dimensionless(units: str) -> bool:
    from sdkit.checks.algebra import DMNL, parse_units

    try:
        unit = parse_units(units)
    except ValueError:
        return False
    return unit is None or unit.equal(DMNL) or units.strip().lower() in _FRACTION_UNITS


def _bounded_by(variable: Variable, values: list[np.ndarray]) -> str | None:
    """Why ``variable`` is a bounded factor, or ``None`` when it is not one."""
    if variable.limits == (0.0, 1.0):
        return "documented range"
    if _dimensionless(variable.units) and all(
            v.size and np.nanmin(v) >= 0 and np.nanmax(v) <= 1 for v in values):
        return "values"
    return None


def _columns(real: str, columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The run's values of ``real``, by element label (``""`` when not subscripted)."""
    if real in columns:
        return {"": columns[real]}
    return {key[len(real):]: values for key, values in columns.items()
            if key.startswith(real + "[")}


def find_factors(model: Model, names: Mapping[str, str], columns: Mapping[str, np.ndarray],
                 time: np.ndarray, level: Callable[[str], int], *, tolerance: float,
                 step_years: float, run_years: float) -> list[SaturatedFactor]:
    """Every bounded factor that sits within ``tolerance`` of 0 or 1 at some step.

    Parameters
    ----------
    model : Model
        The model (kinds, units and documented ranges of its variables).
    names : mapping
        PySD name -> real name of every variable, in model order.
    columns : mapping
        The run's values at every step of ``time``, by column name.
    time : numpy.ndarray
        The steps, the final time included.
    level : callable
        A variable's dependence on time (PySD name): 0 constants only, 1 constants
        and Time, 2 the state (:meth:`sdkit.checks.gate_eval.Evaluator.var_level`).
    tolerance : float
        How close to a bound counts as sitting at it.
    step_years, run_years : float
        The time step and the run's length, in years.

    Returns
    -------
    list of SaturatedFactor
        In model order, 0 before 1 for one variable.
    """
    found: list[SaturatedFactor] = []
    for py, real in names.items():
        variable = model.variables.get(real)
        if variable is None or variable.kind != "auxiliary" or level(py) == 0:
            continue
        elements = {k: np.asarray(v, dtype=float) for k, v in _columns(real, columns).items()}
        bounded_by = _bounded_by(variable, list(elements.values()))
        if not elements or bounded_by is None:
            continue
        for bound in (0.0, 1.0):
            longest = _longest(elements, bound, tolerance)
            if longest is None:
                continue
            element, near = longest
            values, at, years = elements[element], time[:-1][near], float(near.sum() * step_years)
            found.append(SaturatedFactor(
                real, element, bound, "factor" if level(py) == 2 else "schedule", bounded_by,
                len(near), int(near.sum()), int(np.count_nonzero(np.diff(near))), years,
                years / run_years if run_years else 0.0, float(at[0]), float(at[-1]),
                float(values.min()), float(values.max())))
    return found


def _longest(elements: Mapping[str, np.ndarray], bound: float, tolerance: float
             ) -> tuple[str, np.ndarray] | None:
    """The element that sits at ``bound`` longest and its steps there (``None``: none ever
    does). The final time acts over no interval and is left out, as for gates."""
    best: tuple[str, np.ndarray] | None = None
    for element, values in elements.items():
        near = np.abs(values[:-1] - bound) <= tolerance
        if near.any() and (best is None or near.sum() > best[1].sum()):
            best = (element, near)
    return best


def saturated_longer_than(factors: Iterable[SaturatedFactor], years: float = 1.0
                          ) -> list[SaturatedFactor]:
    """Counted factors that sit at a bound for more than ``years`` years, longest first."""
    return sorted((f for f in factors if f.counted and f.years > years), key=lambda f: -f.years)


def years_text(years: float) -> str:
    """``1 year``, ``2.5 years``."""
    return f"{years:g} year" + ("" if years == 1 else "s")


def section(factors: list[SaturatedFactor], *, tolerance: float, max_years: float) -> list[str]:
    """The text lines of the saturated factors: a table (counted first, longest first),
    then one line per factor saturated longer than ``max_years``."""
    lines = [f"Saturated factors (within {tolerance:g} of 0 or 1; bounded: documented range "
             "[0, 1], or dimensionless with values in [0, 1]):"]
    if factors:
        lines.append("  years  share switch bound      first       last  role      variable")
    for f in sorted(factors, key=lambda f: (not f.counted, -f.years)):
        lines.append(f"{f.years:7.2f} {f.share:6.1%} {f.switches:6d} {f.bound:5g} "
                     f"{f.first:10g} {f.last:10g}  {f.role:<9} {f.variable}{f.element}")
    saturated = saturated_longer_than(factors, max_years)
    limit = years_text(max_years)
    if not saturated:
        return [*lines, f"No factor stays within {tolerance:g} of 0 or 1 longer than {limit}."]
    verb = "factor stays" if len(saturated) == 1 else "factors stay"
    return [*lines, f"{len(saturated)} {verb} within {tolerance:g} of a bound longer than "
                    f"{limit}:"] + [
        f"  {f.label()} for {f.years:.2f} years ({f.share:.0%}), {f.first:g} to {f.last:g}; "
        f"values {f.low:.4g} to {f.high:.4g} ({f.bounded_by})" for f in saturated]

"""Units consistency of every equation, from the units declared in the model.

Units are parsed and combined with :mod:`sdkit.checks.algebra` (synonyms such
as ``Year``/``years`` and ``people``/``person`` folded, ``Dmnl``/``1``
dimensionless, ``Mt`` = 10^6 ``tonne``); the expressions are the IR's trees
(:mod:`sdkit.ir.core`), so nothing re-parses model text.

Rules in both modes: ``+ - MIN MAX IF THEN ELSE`` and comparisons need equal
units on their operands; ``* /`` combine; ``^`` needs a dimensionless
exponent, and a numeric one when the base has units; ``EXP LN LOG`` need
dimensionless arguments, ``SQRT`` halves powers; time arguments (``STEP``,
``PULSE``, ``RAMP``, delay and smoothing times) need the model's time unit
(the units of ``TIME STEP``). A stock's rate must have the stock's units per
time unit, and its initial value the stock's units. Variables without declared
units, lookups' inputs, and constructs the IR keeps only by name are not
checked (they are listed as notes). Each inconsistency is reported once, at
the innermost expression where it appears, naming the variable and both
sides' units.

Strict mode (the default; Vensim's semantics):

* a number in ``*`` or ``/`` is dimensionless: ``2 * fraction`` is
  dimensionless, ``1.5 / (1 + share)`` too;
* a number takes the units its place fixes, and nowhere else: the whole
  right-hand side (``x = 5``, a stock's initial value ``INTEG(..., 50)``), an
  operand of ``+ -``, comparisons, ``MIN MAX``, ``IF THEN ELSE`` branches
  beside an operand with units (``x + 1``, ``MAX(0, x)``), a time argument
  (``STEP(h, 2020)``, ``SMOOTH(x, 2)``);
* scales are compared: ``Mt`` where ``tonne`` is needed is an error naming the
  factor, except that a number factor exactly bridging the two scales is read
  as the conversion (``y * 1e6`` from Mt to tonnes, ``x / 1e6`` from tonnes to
  Mt): numbers may carry pure scale, never dimension.

Lenient mode (``strict=False``, ``sdkit check --lenient``): numbers take
whatever units make their expression consistent, and so does a number
combined only with dimensionless quantities (``1.5 / (1 + share)`` declared
``Year`` passes); only dimensions are compared (``Mt`` and ``tonne`` agree).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sdkit.checks.algebra import DEFAULT_TABLE, UnitTable
from sdkit.checks.units_infer import LITERAL, UnitsInference
from sdkit.ir.core import ModelIR

__all__ = ["UnitsResult", "check_units", "LITERAL"]


@dataclass
class UnitsResult:
    """Outcome of :func:`check_units`.

    Attributes
    ----------
    failures : list of str
        One sentence per inconsistency, naming the variable and both sides' units.
    notes : list of str
        What was not checked (no declared units, unparsable units, opaque constructs).
    checked : int
        Number of equations checked.
    strict : bool
        Whether the strict rules were applied (see the module docstring).
    """

    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checked: int = 0
    strict: bool = True


class _Checker(UnitsInference):
    """Check every equation, stock rate and initial value against the declared units."""

    def __init__(self, ir: ModelIR, result: UnitsResult, table: UnitTable) -> None:
        super().__init__(ir, table, strict=result.strict, failures=result.failures,
                         notes=result.notes)
        self.result = result

    def check(self) -> None:
        """Check every variable with an equation (a stock: its rate and initial value)."""
        for py_name, var in self.ir.variables.items():
            self.owner = py_name
            if py_name in self.ir.stocks:
                self.result.checked += 1
                self.check_stock(py_name)
            elif var.equation is not None and var.kind not in ("lookup", "data"):
                self.result.checked += 1
                self.check_equation(py_name)

    def check_stock(self, py_name: str) -> None:
        var, stock = self.ir.variables[py_name], self.ir.stocks[py_name]
        declared = self.declared[py_name]
        if declared is None or self.time is None:
            self.unchecked(var.name, var.units)
            self.infer(stock.rate)
            self.infer(stock.initial)
            return
        wanted = declared / self.time
        rate = self.infer(stock.rate)
        reason = self.mismatch(stock.rate, rate, wanted)
        if reason is not None:
            self.fail(f"its rate `{self.text(stock.rate)}` has units {rate} but a stock "
                      f"in {declared} needs a rate in {wanted}{reason}.")
        self.expect(self.infer(stock.initial), declared, "the initial value", stock.initial)

    def check_equation(self, py_name: str) -> None:
        var, declared = self.ir.variables[py_name], self.declared[py_name]
        equation = var.equation
        if equation is None:
            return
        units = self.infer(equation)
        if declared is None:
            self.unchecked(var.name, var.units)
            return
        reason = self.mismatch(equation, units, declared)
        if reason is not None:
            self.fail(f"the equation `{self.text(equation)}` has units {units} "
                      f"but the variable is declared in {declared} ({var.units!r}){reason}.")

    def unchecked(self, name: str, units: str) -> None:
        if not units:
            self.notes.append(f"{name!r} has no declared units; not checked.")


def check_units(ir: ModelIR, *, strict: bool = True,
                table: UnitTable | None = None) -> UnitsResult:
    """Check the units of every equation of a model.

    Parameters
    ----------
    ir : ModelIR
        From :func:`sdkit.ir.core.build_ir`.
    strict : bool, optional
        Vensim's rules (default): a number in ``*`` or ``/`` is dimensionless
        and scales are compared (a number factor may carry the exact scale
        conversion). ``False`` keeps the lenient rules: numbers take any units
        and only dimensions are compared. See the module docstring.
    table : UnitTable, optional
        Unit synonyms and scales (default :data:`sdkit.checks.algebra.DEFAULT_TABLE`).

    Returns
    -------
    UnitsResult
        ``failures`` is empty when every checked equation is consistent.
    """
    result = UnitsResult(strict=strict)
    _Checker(ir, result, table or DEFAULT_TABLE).check()
    result.notes = list(dict.fromkeys(result.notes))
    return result

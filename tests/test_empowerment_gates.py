"""No hard gate carries the empowerment model's behaviour (issue: "No binding gates").

Every MIN, MAX, IF THEN ELSE and lookup of ``models/empowerment.mdl`` is evaluated at
every time step of the baseline by :func:`sdkit.checks.gates.gate_report`. None may bind
for more than a year unless docs/model.md argues why; the argued ones are listed here
with the phrase of the docs that argues them, and a limit of their own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sdkit.checks.gates import gate_report

DOCS = Path(__file__).resolve().parents[1] / "docs" / "model.md"

#: variable -> (the docs' bold name of the gate, longest binding accepted in years)
ARGUED = {
    # layoffs are off (the MAX selects 0) whenever the budget pays for the staff
    "layoff rate": ("layoff rate", 15.0),
    # overstaffed experts are not replaced while the ecological theme moves the budget
    # towards industrial thinkers
    "expert hiring": ("hiring freeze", 2.0),
    "representative hiring": ("hiring freeze", 2.0),
}


@pytest.fixture(scope="module")
def report(empowerment):
    return gate_report(empowerment)


def test_no_unargued_gate_binds_longer_than_a_year(report):
    long = [g for g in report.binding_longer_than(1.0) if g.variable not in ARGUED]
    assert not long, "\n".join(f"{g.variable}: {g.text} binds {g.years:.2f} years"
                               for g in long)


def test_argued_gates_stay_within_their_limits_and_are_argued_in_the_docs(report):
    docs = DOCS.read_text(encoding="utf-8")
    for variable, (phrase, limit) in ARGUED.items():
        assert f"**{phrase}**" in docs, f"docs/model.md does not argue the {phrase}"
        gates = [g for g in report.gates if g.variable == variable]
        assert gates, f"{variable} has no gate any more: drop it from ARGUED"
        for gate in gates:
            assert gate.years <= limit, f"{variable}: {gate.years:.2f} > {limit} years"


def test_the_report_covers_every_gate_of_the_model(report, empowerment):
    """The model has MAX guards in adoption, onboarding, the budget, layoffs and hiring
    (docs/model.md, 'Time and numerics'); the report must find each of them."""
    found = {g.variable for g in report.gates}
    for variable in ["remaining buyers", "mill adoption", "warehouse onboarding",
                     "processing centre onboarding", "carrier onboarding", "total budget",
                     "layoff rate", "representative hiring", "expert hiring"]:
        assert variable in found, variable

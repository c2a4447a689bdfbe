"""No hard gate carries the empowerment model's behaviour (issue: "No binding gates").

Every MIN, MAX, IF THEN ELSE and lookup of ``models/empowerment.mdl`` is evaluated at
every time step of the baseline by :func:`sdkit.checks.gates.gate_report`. None may bind
for more than a year unless docs/model.md argues why; the argued ones are listed here
with the phrase of the docs that argues them, and a limit of their own.

The same report lists the saturated factors (:mod:`sdkit.checks.saturation`): bounded
factors of the state within 0.01 of 0 or 1 for more than a year. They must be exactly
the ones docs/model.md lists under "Saturated factors", each under its bold name (an
argument, or a known limitation).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sdkit.checks.gates import gate_report

DOCS = Path(__file__).resolve().parents[2] / "docs" / "model.md"

#: variable -> (the docs' bold name of the gate, longest binding accepted in years)
ARGUED = {
    # layoffs are off (the MAX selects 0) whenever the budget pays for the staff
    "layoff rate": ("layoff rate", 15.0),
    # overstaffed experts are not replaced while the ecological theme moves the budget
    # towards industrial thinkers
    "expert hiring": ("hiring freeze", 2.0),
    "representative hiring": ("hiring freeze", 2.0),
}


#: (factor, bound) -> the docs' bold name of the paragraph that lists it
SATURATED = {
    # known limitations
    ("expert labelling adequacy", 1.0): "labelling never short",
    ("data adequacy for models", 1.0): "data abundance",
    ("intelligent development productivity", 1.0): "data abundance",
    ("chain data adequacy", 1.0): "ecological resources in place",
    ("partner adequacy", 1.0): "ecological resources in place",
    ("knowledge adequacy", 1.0): "ecological resources in place",
    ("ecological development productivity", 1.0): "ecological resources in place",
    ("supply coverage", 1.0): "capacity caught up",
    ("budget limit", 1.0): "capacity caught up",
    ("ecology technology resolution", 1.0): "capacity caught up",
    ("IoT connected share", 1.0): "capacity caught up",
    # argued by the staged theory
    ("ecologization theme target", 0.0): "stage not yet begun",
    ("ecologization share", 0.0): "stage not yet begun",
    ("ecological technology allocation", 0.0): "stage not yet begun",
    ("ecology talent resolution", 0.0): "stage not yet begun",
    ("ecology technology resolution", 0.0): "stage not yet begun",
    ("ecological empowerment", 0.0): "stage not yet begun",
    ("IoT connected share", 0.0): "stage not yet begun",
    ("verified transaction share", 0.0): "stage not yet begun",
    ("SME financing access", 0.0): "stage not yet begun",
    ("collaborative empowerment", 0.0): "stage not yet begun",
    ("collaboration technology resolution", 0.0): "stage not yet begun",
    ("intelligentization share", 0.0): "stage not yet begun",
    ("platformization share", 0.0): "transition completed",
    ("intelligentization theme target", 1.0): "transition completed",
    ("ecologization theme target", 1.0): "transition completed",
    ("ecologization share", 1.0): "transition completed",
    ("collaboration attention", 1.0): "transition completed",
    ("buyer saving share", 0.0): "small share",
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


def _saturated_section(docs: str) -> str:
    start = docs.index("**Saturated factors.**")
    return docs[start:docs.index("\n## ", start)]


def test_saturated_factors_are_exactly_the_ones_the_docs_list(report):
    found = {(f.variable, f.bound): f for f in report.saturated_longer_than(1.0)}
    unlisted = sorted(set(found) - set(SATURATED))
    assert not unlisted, "saturated factors docs/model.md does not list:\n" + "\n".join(
        f"{name} at {bound:g}: {found[name, bound].years:.2f} years from "
        f"{found[name, bound].first:g}" for name, bound in unlisted)
    gone = sorted(set(SATURATED) - set(found))
    assert not gone, f"no longer saturated (drop them from the docs and SATURATED): {gone}"
    assert all(f.bounded_by == "documented range" for f in found.values())


def test_saturated_factors_are_argued_under_their_bold_names(report):
    """Each factor is named (in italics) in the bullet of docs/model.md that argues it."""
    bullets = [" ".join(b.split()) for b in _saturated_section(
        DOCS.read_text(encoding="utf-8")).split("\n* ")]
    for (variable, bound), phrase in SATURATED.items():
        bullet = [b for b in bullets if b.startswith(f"**{phrase}**")]
        assert bullet, f"docs/model.md does not argue the {phrase}"
        assert f"*{variable.lower()}*" in bullet[0].lower(), (
            f"{variable} at {bound:g} is not named under **{phrase}**")


def test_the_expert_labelling_adequacy_the_review_found_is_listed(report):
    """The review: expert labelling adequacy stays >= 0.997 for the whole run."""
    labelling = [f for f in report.factors if f.variable == "expert labelling adequacy"]
    assert len(labelling) == 1 and labelling[0].bound == 1
    assert labelling[0].share > 0.9 and labelling[0].low > 0.99

"""The XMILE exporter on the SDXorg conformance suite (about a minute and a half).

Every Vensim model of the suite is exported, the XMILE is run through PySD and
compared with the model's reference output under the suite's tolerance; the
outcome lists are printed and must match the block in docs/formats.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sdkit.util.markers import extract_block
from sdkit.xmile.conformance import BLOCK, ConformanceReport, check_suite, render_block

DOCS = Path(__file__).resolve().parents[2] / "docs" / "formats.md"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def xmile_report(conformance: Path, tmp_path_factory: pytest.TempPathFactory) -> ConformanceReport:
    """Check the whole suite once per session (PySD translates each model once)."""
    return check_suite(conformance, tmp_path_factory.mktemp("xmile-conformance"))


def test_exported_models_match_the_reference_output(xmile_report: ConformanceReport,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print("\n" + xmile_report.summary())
    assert not xmile_report.xmile_fails, xmile_report.xmile_fails
    assert len(xmile_report.passes) >= 38
    # Refusals are for constructs outside XMILE 1.0 or PySD's XMILE reader only.
    expected = {"subscripts", "macro", "ACTIVE INITIAL", "RANDOM UNIFORM", "data",
                "dynamic control variable", "nan"}
    odd = {m: xmile_report.refused[m] for m, construct in xmile_report.constructs.items()
           if construct not in expected}
    assert not odd


def test_documented_results_match(xmile_report: ConformanceReport) -> None:
    documented = extract_block(DOCS.read_text(encoding="utf-8"), BLOCK, source=str(DOCS))
    count = documented.split("**", 2)[1]
    assert count == f"{len(xmile_report.passes)} of {xmile_report.total}", (
        f"docs/formats.md says {count}; measured {len(xmile_report.passes)} of "
        f"{xmile_report.total}")
    assert documented.strip() == render_block(xmile_report).strip(), (
        "Update the xmile-conformance block of docs/formats.md to:\n"
        + render_block(xmile_report))

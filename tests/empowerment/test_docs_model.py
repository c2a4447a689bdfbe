"""docs/model.md is current: its generated tables equal what the tool makes now."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdkit.analysis.evidence import compare_with_reference, load_reference_modes
from sdkit.errors import InputFileError
from sdkit.report.modeldoc import parameter_table
from sdkit.report.text import evidence_table
from sdkit.util.markers import extract_block, replace_block

MODEL_MD = Path(__file__).resolve().parents[2] / "docs" / "model.md"


def test_parameter_table_is_current(empowerment, baseline):
    values = {v.name: float(baseline[v.name].iloc[0]) for v in empowerment.constants()}
    expected = parameter_table(empowerment, values)
    assert extract_block(MODEL_MD.read_text(encoding="utf-8"), "parameters") == expected, (
        "regenerate with: sdkit doc models/empowerment.mdl docs/model.md"
    )


def test_every_constant_has_units_range_and_a_bilingual_comment(empowerment):
    for var in empowerment.variables.values():
        if var.kind == "control":
            continue
        assert var.units, var.name
        assert any("\u4e00" <= ch <= "\u9fff" for ch in var.comment), var.name
        assert any("a" <= ch.lower() <= "z" for ch in var.comment), var.name
    for var in empowerment.constants():
        assert var.limits != (None, None), f"{var.name} has no documented range"


def test_evidence_table_is_current(baseline, empowerment_card, reference_modes_path):
    comparison = compare_with_reference(
        baseline, load_reference_modes(reference_modes_path), empowerment_card
    )
    documented = extract_block(MODEL_MD.read_text(encoding="utf-8"), "evidence")
    assert documented == evidence_table(comparison, markdown=True)


def test_replace_block_round_trip():
    text = "a\n<!-- t:begin -->\nold\n<!-- t:end -->\nb"
    new = replace_block(text, "t", "new\nlines")
    assert extract_block(new, "t") == "new\nlines"
    assert new.startswith("a\n") and new.endswith("\nb")
    with pytest.raises(InputFileError, match="exactly one"):
        replace_block("no markers", "t", "x")
    with pytest.raises(InputFileError, match="exactly one"):
        extract_block(text + text, "t")

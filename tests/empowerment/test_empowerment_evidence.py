"""The baseline reproduces the reference modes shipped beside the model.

``models/empowerment-reference-modes.csv`` (named by the card) is the project's copy of
the design team's table (../shared/reference), kept in sync by a test. The test reads
the reference file itself, so adding, removing or changing a row
changes what is checked; a checked row the model card does not map fails.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import REPO

from sdkit.analysis.evidence import CHECKED_KINDS, compare_with_reference, load_reference_modes
from sdkit.cli.app import main
from sdkit.errors import InputFileError
from sdkit.model.card import load_card


@pytest.fixture(scope="module")
def comparison(baseline, empowerment_card, reference_modes_path) -> pd.DataFrame:
    reference = load_reference_modes(reference_modes_path)
    return compare_with_reference(baseline, reference, empowerment_card)


def test_every_checked_row_is_compared(comparison, reference_modes_path):
    reference = load_reference_modes(reference_modes_path)
    checked = reference[reference["kind"].isin(CHECKED_KINDS)]
    assert len(checked) >= 10
    assert list(comparison["metric"]) == list(checked["metric"])


def test_hindcast_horizon_is_the_calibration_s(empowerment_card):
    """The card's hindcast horizon is the calibration's training horizon."""
    from sdkit.calibration.spec import load_calibration_spec
    spec = load_calibration_spec(REPO / "scenarios" / "calibration" / "empowerment-2019.toml")
    assert empowerment_card.hindcast_after == spec.train_until


def test_baseline_within_every_fitted_period_band(comparison):
    """Rows up to the calibration's horizon are what the parameters were estimated on
    (docs/calibration.md); the baseline must be inside each of their bands."""
    fitted = comparison[comparison["role"] == "fit"]
    assert len(fitted) >= 4
    outside = fitted[~fitted["within"]]
    assert outside.empty, "outside the reference band:\n" + outside.to_string()


def test_later_rows_are_a_hindcast_reported_not_fitted(comparison):
    """Rows after the horizon (2020-2021) are a hindcast: the evidence table reports
    each with its band, inside or not (docs/model.md); several exist and every one has a
    finite model value."""
    hindcast = comparison[comparison["role"] == "hindcast"]
    assert len(hindcast) >= 5
    assert hindcast["model"].notna().all(), hindcast.to_string()


def test_transitions_are_reached(comparison):
    transitions = comparison[comparison["kind"] == "transition"]
    assert len(transitions) == 2
    assert transitions["model"].notna().all()


def test_unmapped_metric_is_reported(baseline, empowerment_card, reference_modes_path, tmp_path):
    text = reference_modes_path.read_text(encoding="utf-8")
    extra = "level,partner ports,2021.0,10,5,20,ports,made up for the test\n"
    changed = tmp_path / "modes.csv"
    changed.write_text(text.rstrip("\n") + "\n" + extra, encoding="utf-8")
    with pytest.raises(InputFileError, match="partner ports"):
        compare_with_reference(baseline, load_reference_modes(changed), empowerment_card)


def test_moved_band_fails_the_row(baseline, empowerment_card, reference_modes_path, tmp_path):
    reference = load_reference_modes(reference_modes_path)
    row = reference.index[reference["metric"] == "partner warehouses"][0]
    reference.loc[row, ["low", "high"]] = [1.0, 2.0]
    result = compare_with_reference(baseline, reference, empowerment_card)
    assert not result.loc[result["metric"] == "partner warehouses", "within"].item()


def test_bad_reference_file(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "kind,metric,time,value,low,high,unit,source\nlevel,x,soon,1,0,2,u,s\n", encoding="utf-8"
    )
    with pytest.raises(InputFileError, match="non-numeric time 'soon'"):
        load_reference_modes(bad)
    with pytest.raises(InputFileError, match="does not exist"):
        load_reference_modes(tmp_path / "missing.csv")


def test_card_variables_exist_in_model(empowerment, empowerment_card):
    for name in empowerment_card.variables():
        assert empowerment.variable(name).name == name


def test_card_rejects_unknown_key(tmp_path, empowerment_card):
    text = empowerment_card.path.read_text(encoding="utf-8") + "\n[extra]\nx = 1\n"
    card = tmp_path / "m.toml"
    card.write_text(text, encoding="utf-8")
    with pytest.raises(InputFileError, match="extra: unknown key; valid keys: .*'briefing'"):
        load_card(card)


def test_named_loops_are_cycles_of_the_model(empowerment, empowerment_card):
    ids = [loop.id for loop in empowerment_card.loops]
    assert ids == ["R1", "R2", "R3", "R4", "R5", "B1", "B2", "B3", "B4", "B5", "B6"]
    for loop in empowerment_card.loops:
        cycle = loop.cycle
        for cause, effect in zip(cycle, cycle[1:] + cycle[:1], strict=True):
            assert cause in empowerment.dependencies[effect], (loop.id, cause, effect)


def test_shipped_reference_modes_keep_every_shared_row(reference_modes_path,
                                                       shared_reference_modes_path,
                                                       empowerment_card):
    """The project ships its evidence (with sources); it must not drift from the design
    team's table: every shared row is in the shipped one, with the same band and source."""
    assert empowerment_card.reference == reference_modes_path
    shipped = load_reference_modes(reference_modes_path)
    shared = load_reference_modes(shared_reference_modes_path)
    merged = shared.merge(shipped, how="left", indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    assert shipped["source"].astype(str).str.len().gt(5).all()


def test_evidence_from_outside_the_repository(tmp_path, monkeypatch):
    """No runtime path reads ../shared: from an empty folder, with SDKIT_SHARED pointing
    nowhere, `sdkit evidence` finds the model's own table through its card."""
    for name in ("empowerment.mdl", "empowerment.toml", "empowerment-reference-modes.csv"):
        shutil.copy(REPO / "models" / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SDKIT_SHARED", str(tmp_path / "nowhere"))
    result = CliRunner().invoke(main, ["evidence", "empowerment.mdl"])
    assert result.exit_code in (0, 1), result.output
    assert "steel mills served" in result.output


@pytest.mark.parametrize("value", ["../secret.csv", "/etc/passwd.csv", "table.xlsx", 3])
def test_card_reference_must_be_a_csv_beside_the_card(tmp_path, value):
    card = tmp_path / "m.toml"
    text = (REPO / "models" / "empowerment.toml").read_text(encoding="utf-8")
    card.write_text(text.replace('reference = "empowerment-reference-modes.csv"',
                                 f"reference = {value!r}".replace("'", '"')),
                    encoding="utf-8")
    with pytest.raises(InputFileError, match="evidence.reference"):
        load_card(card)

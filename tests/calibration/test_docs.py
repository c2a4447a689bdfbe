"""docs/calibration.md holds a report of the shipped calibration spec, with its
parameters, observations and held-out rows (regenerate: ``make calibration-docs``)."""

from __future__ import annotations

import re
from pathlib import Path

from sdkit.calibration import load_calibration_spec
from sdkit.calibration.study import training_mask
from sdkit.model.core import load_model
from sdkit.util.markers import extract_block

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "scenarios" / "calibration" / "empowerment-2019.toml"


def test_the_docs_report_matches_the_shipped_spec() -> None:
    spec = load_calibration_spec(SPEC)
    block = extract_block((REPO / "docs" / "calibration.md").read_text(encoding="utf-8"),
                          "calibration-report", source="docs/calibration.md")
    assert f"### Calibration: {spec.title}" in block
    assert f"seed {spec.seed}, train until {spec.train_until}" in block
    rows = dict(re.findall(r"^\| ([^|]+?) \| [^|]+ \| [^|]+ \| \[[^|]+\] \| \[[^|]+\] \| "
                           r"(yes|no) \(", block, flags=re.M))
    assert list(rows) == spec.parameter_names
    model = load_model(spec.model_path)
    train = training_mask(spec, model.time_step, model.initial_time)
    for observation, fitted in zip(spec.observations, train, strict=True):
        line = next(x for x in block.splitlines() if x.startswith(f"| {observation.id} |"))
        assert ("| train |" in line) == fitted and ("**held out**" in line) == (not fitted)
    held = len(train) - sum(train)
    assert re.search(rf"Hindcast: \d+ of {held} held-out observations", block)

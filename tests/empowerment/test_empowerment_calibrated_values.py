"""The model file's estimated constants lie inside their posterior 90% intervals.

docs/calibration.md holds the report of the last `make calibration-docs` run (a test
keeps it in step with the shipped spec). The model file keeps round values rather than
the posterior mode (docs/calibration.md, "What the model file carries"); each must lie
inside the interval the calibration reports, or the file and the evidence disagree.
"""

from __future__ import annotations

import re
from pathlib import Path

import sdkit.ir.core as sir
from sdkit.util.markers import extract_block

DOCS = Path(__file__).resolve().parents[2] / "docs" / "calibration.md"
_ROW = re.compile(r"^\| (?P<name>[^|]+?) \| [^|]+ \| [^|]+ \| \[(?P<low>.+?), (?P<high>.+?)\] \|")


def _slack(text: str) -> float:
    """Half a unit of the last digit shown (the report rounds its numbers)."""
    decimals = len(text.split(".", 1)[1]) if "." in text else 0
    return 0.5 * 10.0 ** -decimals


def _intervals() -> dict[str, tuple[float, float, float]]:
    block = extract_block(DOCS.read_text(encoding="utf-8"), "calibration-report")
    table = block.split("#### Estimates", 1)[1].split("####", 1)[0]
    found = {}
    for line in table.splitlines():
        match = _ROW.match(line)
        if match and match["name"] != "parameter":
            low, high = match["low"].replace(",", ""), match["high"].replace(",", "")
            found[match["name"]] = (float(low), float(high), max(_slack(low), _slack(high)))
    return found


def test_every_estimated_constant_of_the_model_is_inside_its_interval(empowerment):
    intervals = _intervals()
    assert len(intervals) >= 20, sorted(intervals)
    ir = sir.build_ir(empowerment)
    outside = []
    for name, (low, high, slack) in intervals.items():
        value = float(ir.by_name[name].equation.value)
        if not low - slack <= value <= high + slack:
            outside.append(f"{name} = {value:g}, interval [{low:g}, {high:g}]")
    assert not outside, "\n".join(outside)


def test_the_model_comments_say_calibrated_for_every_estimated_constant(empowerment):
    for name in _intervals():
        assert "Calibrated" in empowerment.variable(name).comment, name

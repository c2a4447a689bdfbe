"""Delays whose order or time becomes 0: a one-line error in the model's words, and PySD's
warnings about delays with the model's names instead of PySD's (``_delayn_outflow``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sdkit.cli.app import main, plain_warning

DELAY_MODEL = """{UTF-8}
Stock= INTEG (inflow-outflow, 100)
\t~\tpeople
\t~\tA stock.
\t|
inflow= 10
\t~\tpeople/Day
\t~\tIn.
\t|
outflow= DELAY N(inflow, delay time, 0, order)
\t~\tpeople/Day
\t~\tOut.
\t|
delay time= 3
\t~\tDay [0,10]
\t~\tDelay.
\t|
order= 3
\t~\tDmnl [0,5]
\t~\tOrder.
\t|
INITIAL TIME = 0
\t~\tDay
\t~\tStart.
\t|
FINAL TIME = 10
\t~\tDay
\t~\tEnd.
\t|
TIME STEP = 0.25
\t~\tDay [0,?]
\t~\tStep.
\t|
SAVEPER = TIME STEP
\t~\tDay [0,?]
\t~\tSave.
\t|
"""


@pytest.fixture()
def delay_model(tmp_path: Path) -> Path:
    path = tmp_path / "delay.mdl"
    path.write_text(DELAY_MODEL, encoding="utf-8")
    return path


@pytest.mark.parametrize(("setting", "fragment"), [
    ("order=0", "has order 0 and delay time 3"),
    ("delay time=0", "has order 3 and delay time 0"),
    ("delay time=0.1", "delay time 0.1"),
])
def test_a_delay_of_order_zero_is_one_line_in_the_models_words(delay_model: Path,
                                                                setting: str,
                                                                fragment: str) -> None:
    result = CliRunner().invoke(main, ["run", str(delay_model), "-s", setting])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("sdkit: error: "), result.stderr
    assert "DELAY N in 'outflow'" in lines[0] and fragment in lines[0]
    assert "IndexError" not in lines[0] and "Traceback" not in result.output


def test_check_reports_the_delay_in_its_extreme_runs(delay_model: Path) -> None:
    result = CliRunner().invoke(main, ["check", str(delay_model)])
    assert "DELAY N in 'outflow' has order 0" in result.output
    assert "IndexError" not in result.output + result.stderr


def test_pysd_warnings_name_the_models_variable(delay_model: Path) -> None:
    result = CliRunner().invoke(main, ["run", str(delay_model), "-s", "delay time=0.3",
                                       "--engine", "pysd"])
    assert result.exit_code == 0
    assert ("sdkit: warning: DELAY N in 'outflow': Delay time very small, casting delay order "
            "from 3 to 1") in result.stderr
    assert "_delayn_" not in result.stderr


def test_plain_warning_translates_every_stateful_name_and_counts_nothing_else() -> None:
    assert plain_warning("_smooth_perceived_price\nbad") == "SMOOTH in 'perceived price': bad"
    assert plain_warning("_integ_stock and _delayfixed_x_y") == (
        "INTEG in 'stock': and DELAY FIXED in 'x y':")
    assert plain_warning("my_delay_var stays") == "my_delay_var stays"

"""A model that fails mid-run gives the one-line error with exit status 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import control

from sdkit.cli.app import main

DELAY_N_ORDER_ZERO = (
    "{UTF-8}\norder = 0 ~ Dmnl ~ |\ninflow = 1 ~ widgets/Year ~ |\n"
    "out = DELAY N(inflow, 2, 0, order) ~ widgets/Year ~ |\n"
    "s = INTEG(out, 0) ~ widgets ~ |\n" + control(final=2, unit="Year")
)


@pytest.fixture()
def order_zero(tmp_path: Path) -> Path:
    path = tmp_path / "order_zero.mdl"
    path.write_text(DELAY_N_ORDER_ZERO, encoding="utf-8")
    return path


@pytest.mark.parametrize("args", [
    ["run"], ["run", "-s", "order=0"], ["run", "--engine", "ensemble"], ["check"],
], ids=["run", "run-set", "run-ensemble", "check"])
def test_delay_n_of_order_zero_is_a_one_line_error(order_zero: Path, tmp_path: Path,
                                                    args: list[str]) -> None:
    command = [args[0], str(order_zero), *args[1:]]
    if args[0] == "run":
        command += ["-o", str(tmp_path / "out.csv")]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("sdkit: error:") and "Traceback" not in result.output
    assert not (tmp_path / "out.csv").exists()


CLOCK_DRIFT = (
    "{UTF-8}\ns = INTEG(1, 0) ~ widgets ~ |\n"
    "INITIAL TIME = 1e+07 ~ Year ~|\nFINAL TIME = 1.000001e+07 ~ Year ~|\n"
    "TIME STEP = 0.01 ~ Year ~|\nSAVEPER = TIME STEP ~ Year ~|\n"
)


@pytest.mark.parametrize("engine", ["pysd", "ensemble"])
def test_a_run_whose_clock_drifts_is_refused_not_truncated(tmp_path: Path, engine: str) -> None:
    """PySD's t + dt drifts past its save tolerance after 447 steps here (at t = 1e7): the
    CSV would silently end at t = 10000004.47 of 10000010 with exit 0."""
    path = tmp_path / "drift.mdl"
    path.write_text(CLOCK_DRIFT, encoding="utf-8")
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(main, ["run", str(path), "--engine", engine, "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "saved 448 of 1,001 rows" in result.output
    assert not out.exists()

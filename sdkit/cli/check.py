"""``sdkit check MODEL``: units, mass balance, time step and extreme conditions.

Prints one line per check and the failures; exits with status 1 when a check
fails (status 2, as every command, when the model cannot be loaded). The units
check is strict unless ``--lenient`` is given (see :mod:`sdkit.checks.units`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from sdkit.cli.options import ENGINE, FILE
from sdkit.examples import help_epilog

__all__ = ["check_command"]


@click.command("check", epilog=help_epilog(
    "sdkit check models/empowerment.mdl --no-extremes",
    "sdkit check models/empowerment.mdl --no-extremes --no-dt --lenient --json"))
@click.argument("model", type=FILE)
@click.option("--no-units", is_flag=True, help="Skip the units check.")
@click.option("--no-balance", is_flag=True, help="Skip the mass-balance check.")
@click.option("--no-dt", is_flag=True, help="Skip the time-step test.")
@click.option("--no-extremes", is_flag=True,
              help="Skip the extreme-condition battery (two runs per constant).")
@click.option("--lenient", is_flag=True,
              help="Lenient units rules: numbers take any units and only dimensions are "
                   "compared (Mt and tonnes agree). Default: strict, as Vensim.")
@click.option("--notes", is_flag=True, help="Also list what was not checked or was clipped.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--engine", type=ENGINE, default="auto", show_default=True,
              help="What runs the extreme-conditions battery: auto = sdkit's ensemble engine, "
                   "all cases at once (the verdicts equal PySD's), PySD where it refuses the "
                   "model.")
def check_command(model: Path, no_units: bool, no_balance: bool, no_dt: bool,
                  no_extremes: bool, lenient: bool, notes: bool, as_json: bool,
                  engine: str = "auto") -> None:
    """Check MODEL: units, stock mass balance, time step, extreme conditions."""
    from sdkit.checks import check_model

    def progress(done: int, total: int, case: Any) -> None:
        if done % 10 == 0 or done == total:
            click.echo(f"[extremes {done}/{total}] {case.describe()}", err=True)

    report = check_model(model, units=not no_units, balance=not no_balance, dt=not no_dt,
                         extremes=not no_extremes, strict_units=not lenient,
                         progress=None if as_json else progress, engine=engine)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=1, ensure_ascii=False))
    else:
        click.echo(report.text(notes=notes))
    if not report.passed:
        raise click.exceptions.Exit(1)

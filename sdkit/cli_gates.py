"""``sdkit gates MODEL``: how long each MIN, MAX, IF THEN ELSE and lookup binds.

Prints one row per occurrence (see :mod:`sdkit.checks.gates` for when a gate
binds), longest first, then one line per counted gate bound longer than
``--max-years``; exits with status 1 when there is one (status 2, as every
command, when the model or the scenario cannot be loaded).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import click

from sdkit.examples import help_epilog

__all__ = ["gates_command"]


@click.command("gates", epilog=help_epilog(
    "sdkit gates models/empowerment.mdl --max-years 15",
    "sdkit gates models/empowerment.mdl --scenario talent-first --max-years 15 --json"))
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--scenario", metavar="FILE.toml|NAME",
              help="Run this scenario (a file, or the name of one in ./scenarios or in "
                   "scenarios beside the model's folder) instead of the baseline.")
@click.option("--max-years", type=float, default=1.0, show_default=True,
              help="Fail (status 1) when a counted gate binds longer than this many years.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def gates_command(model: Path, scenario: str | None, max_years: float, as_json: bool) -> None:
    """Report how long each MIN, MAX, IF THEN ELSE and lookup of MODEL binds."""
    from sdkit.checks.gates import gate_report
    from sdkit.errors import ParameterValueError

    if not (math.isfinite(max_years) and max_years >= 0):
        raise ParameterValueError(f"--max-years must be a finite number >= 0, got {max_years}.")
    report = gate_report(model, scenario=scenario)
    if as_json:
        click.echo(json.dumps(report.to_dict(max_years), indent=1, ensure_ascii=False))
    else:
        click.echo(report.text(max_years))
    if report.binding_longer_than(max_years):
        raise click.exceptions.Exit(1)

"""``sdkit gates MODEL``: how long each MIN, MAX, IF THEN ELSE and lookup binds.

Prints one row per occurrence (see :mod:`sdkit.checks.gates` for when a gate
binds), longest first, then one line per counted gate bound longer than
``--max-years``; then the saturated factors (:mod:`sdkit.checks.saturation`): the
bounded factors within ``--saturation-tolerance`` of 0 or 1, and one line per factor
saturated longer than ``--max-years``. Exits with status 1 when a gate binds longer
(or, with ``--fail-on-saturation``, a factor is saturated longer); status 2, as
every command, when the model or the scenario cannot be loaded.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import click

from sdkit.cli.options import FILE
from sdkit.examples import help_epilog

__all__ = ["gates_command"]


@click.command("gates", epilog=help_epilog(
    "sdkit gates models/empowerment.mdl --max-years 15",
    "sdkit gates models/empowerment.mdl --scenario talent-first --max-years 15 --json",
    "sdkit gates models/empowerment.mdl --max-years 15 --saturation-tolerance 0.001"))
@click.argument("model", type=FILE)
@click.option("--scenario", metavar="FILE.toml|NAME",
              help="Run this scenario (a file, or the name of one in ./scenarios or in "
                   "scenarios beside the model's folder) instead of the baseline.")
@click.option("--max-time", "--max-years", "max_years", type=float, default=1.0,
              show_default=True,
              help="Fail (status 1) when a counted gate binds longer than this many years "
                   "(a model in months, weeks, days or quarters is converted; --max-years is "
                   "the same option); factors at a bound longer than this are listed as "
                   "saturated.")
@click.option("--saturation-tolerance", type=float, default=0.01, show_default=True,
              help="A bounded factor (range [0, 1]) within this distance of 0 or 1 sits at "
                   "that bound.")
@click.option("--fail-on-saturation", is_flag=True,
              help="Also fail (status 1) when a factor is saturated longer than --max-time.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def gates_command(model: Path, scenario: str | None, max_years: float,
                  saturation_tolerance: float, fail_on_saturation: bool, as_json: bool) -> None:
    """Report how long each MIN, MAX, IF THEN ELSE and lookup of MODEL binds, and which
    bounded factors stay saturated at 0 or 1."""
    from sdkit.checks.gates import gate_report
    from sdkit.errors import ParameterValueError

    if not (math.isfinite(max_years) and max_years >= 0):
        raise ParameterValueError(f"--max-years must be a finite number >= 0, got {max_years}.")
    if not (math.isfinite(saturation_tolerance) and 0 <= saturation_tolerance < 0.5):
        raise ParameterValueError("--saturation-tolerance must be a number >= 0 and < 0.5, "
                                  f"got {saturation_tolerance}.")
    report = gate_report(model, scenario=scenario, tolerance=saturation_tolerance)
    if as_json:
        click.echo(json.dumps(report.to_dict(max_years), indent=1, ensure_ascii=False))
    else:
        click.echo(report.text(max_years))
    if report.binding_longer_than(max_years) or (
            fail_on_saturation and report.saturated_longer_than(max_years)):
        raise click.exceptions.Exit(1)

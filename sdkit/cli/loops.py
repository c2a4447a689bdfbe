"""``sdkit loops``: feedback loops, their polarity and the dominant loops per stage."""

from __future__ import annotations

from pathlib import Path

import click

from sdkit.cli.options import ENGINE, ENGINE_HELP, FILE, print_or_update
from sdkit.examples import help_epilog

__all__ = ["loops_command"]



@click.command("loops", epilog=help_epilog(
    "sdkit loops models/empowerment.mdl",
    "sdkit loops models/empowerment.mdl --scenario scenarios/talent-first.toml --no-discover"))
@click.argument("model", type=FILE)
@click.option("--scenario", type=FILE, metavar="FILE.toml",
              help="Analyse this scenario's run instead of the baseline.")
@click.option("--window", type=float, default=1.0, show_default=True,
              help="Time (in the model's time unit) over which absolute relative loop scores "
                   "are averaged.")
@click.option("--periods", type=int, default=4, show_default=True,
              help="A run without stages (no transitions in a model card) is reported in "
                   "this many equal periods (1: as a whole).")
@click.option("--max-length", type=int, default=20, show_default=True,
              help="Longest loop enumerated (links); longer strong loops are found by search.")
@click.option("--discover/--no-discover", default=True, show_default=True,
              help="Add the loops found by the strongest-path search.")
@click.option("--update", type=FILE, metavar="FILE.md",
              help="Write the result between the loops markers in FILE.md.")
@click.option("--engine", type=ENGINE, default="auto", show_default=True, help=ENGINE_HELP)
def loops_command(model: Path, scenario: Path | None, window: float, periods: int,
                  max_length: int, discover: bool, update: Path | None,
                  engine: str = "auto") -> None:
    """Print MODEL's loops, their polarity and the dominant loops per stage or period.

    Loop scores are computed at every TIME STEP of the run, whatever SAVEPER is,
    and pass through the stocks of SMOOTH, DELAY, TREND and FORECAST; a loop
    through DELAY FIXED or SAMPLE IF TRUE cannot be scored (a one-line error).
    """
    from sdkit.loops.report import BLOCK
    from sdkit.loops.study import loop_study

    text = loop_study(model, scenario=scenario, window=window, periods=periods,
                      max_length=max_length, discover=discover, engine=engine)
    print_or_update(text, update, BLOCK)

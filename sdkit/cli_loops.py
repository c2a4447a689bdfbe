"""``sdkit loops``: feedback loops, their polarity and the dominant loops per stage."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from sdkit.examples import help_epilog

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["loops_command"]

_PATH = click.Path(dir_okay=False, path_type=Path)


@click.command("loops", epilog=help_epilog(
    "sdkit loops models/empowerment.mdl",
    "sdkit loops models/empowerment.mdl --scenario scenarios/talent-first.toml --no-discover"))
@click.argument("model", type=_PATH)
@click.option("--scenario", type=_PATH, metavar="FILE.toml",
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
@click.option("--update", type=_PATH, metavar="FILE.md",
              help="Write the result between the loops markers in FILE.md.")
def loops_command(model: Path, scenario: Path | None, window: float, periods: int,
                  max_length: int, discover: bool, update: Path | None) -> None:
    """Print MODEL's loops, their polarity and the dominant loops per stage or period.

    Loop scores are computed at every TIME STEP of the run, whatever SAVEPER is,
    and pass through the stocks of SMOOTH, DELAY, TREND and FORECAST; a loop
    through DELAY FIXED or SAMPLE IF TRUE cannot be scored (a one-line error).
    """
    from sdkit.card import card_path, load_card
    from sdkit.errors import ParameterValueError
    from sdkit.loops import loop_dominance
    from sdkit.loops.report import BLOCK, loops_markdown
    from sdkit.markers import replace_block
    from sdkit.model import load_model
    from sdkit.store import write_text_atomic

    if window < 0:
        raise ParameterValueError(f"--window must be zero or positive, got {window}.")
    if periods < 1:
        raise ParameterValueError(f"--periods must be at least 1, got {periods}.")
    if max_length < 0:
        raise ParameterValueError(f"--max-length must be zero or positive, got {max_length}.")
    loaded = load_model(model)
    params: dict[str, float | pd.Series] | None = None
    settings: dict[str, float] = {}
    if scenario is not None:
        from sdkit.scenarios import load_scenario

        chosen = load_scenario(scenario, model=loaded)
        params, settings = chosen.params(loaded), dict(chosen.run_settings)
    step = settings.get("time_step", loaded.time_step)
    # A scenario's run settings are only final_time, time_step and saveper.
    results = loaded.run(params, final_time=settings.get("final_time"), time_step=step,
                         saveper=step)
    card = load_card(model) if card_path(model).is_file() else None
    dominance = loop_dominance(loaded, results, card=card, window=window, max_length=max_length,
                               params=params, time_step=step, discover=discover)
    text = loops_markdown(dominance, card, periods=periods)
    if update is None:
        click.echo(text)
        return
    try:
        page = update.read_text(encoding="utf-8")
    except OSError as err:
        from sdkit.errors import InputFileError

        raise InputFileError(f"Cannot read {update}: {err}", path=str(update)) from err
    updated = replace_block(page, BLOCK, text, source=str(update))
    click.echo(f"Updated {write_text_atomic(update, updated)}")

"""``sdkit scenarios bands``: Monte Carlo bands of the scenarios (:mod:`sdkit.scenarios.bands`).

Kept apart from the computation so that ``sdkit --help`` does not import pandas.
"""

from __future__ import annotations

from pathlib import Path

import click

from sdkit.cli.options import ANY_PATH, FILE, FOLDER, print_or_update
from sdkit.examples import help_epilog

__all__ = ["bands_command"]


@click.command("bands", epilog=help_epilog(
    "sdkit scenarios bands scenarios",
    "sdkit scenarios bands scenarios -o output/scenario-bands"))
@click.argument("sources", nargs=-1, type=ANY_PATH)
@click.option("--spec", type=FILE,
              default=Path("scenarios/bands/assumptions.toml"), show_default=True,
              help="The band file: assumptions, method, outcomes.")
@click.option("--base", default="baseline", show_default=True, help="Scenario to compare with.")
@click.option("-o", "--output", type=FOLDER,
              help="Also write summary.csv and samples.csv to this folder.")
@click.option("--update", type=FILE, metavar="FILE.md",
              help="Write the blocks scenario-questions and bands in FILE.md.")
def bands_command(sources: tuple[Path, ...], spec: Path, base: str, output: Path | None,
                  update: Path | None) -> None:
    """Monte Carlo bands of the scenarios in SOURCES (folders or files; default: scenarios)."""
    from sdkit.report import scenarios as sr
    from sdkit.scenarios.bands import compute_bands, load_band_spec
    from sdkit.scenarios.spec import load_scenarios

    scenarios = load_scenarios(sources or "scenarios")
    results = compute_bands(load_band_spec(spec), scenarios, base=base)
    for path in sr.save_bands(results, output) if output is not None else []:
        click.echo(f"Wrote {path}")
    text = sr.bands_text(results)
    print_or_update(text, update, {sr.QUESTIONS_BLOCK: sr.scenario_questions(scenarios),
                                   sr.BANDS_BLOCK: text})

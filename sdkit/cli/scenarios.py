"""``sdkit scenarios``: list, validate, run, compare and tabulate scenario files.

Thin commands over :mod:`sdkit.scenarios.spec`, :mod:`sdkit.scenarios.runner` and
:mod:`sdkit.report.scenarios`; ``sdkit scenarios bands`` is in :mod:`sdkit.cli.bands`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from sdkit.cli.options import (
    ANY_PATH,
    DEFAULT_SCENARIOS,
    ENGINE,
    ENGINE_HELP,
    FILE,
    FOLDER,
    parse_years,
    print_or_update,
)
from sdkit.examples import help_epilog

__all__ = ["scenarios_group"]


@click.group("scenarios", epilog=help_epilog(
    "sdkit scenarios list",
    "sdkit scenarios run scenarios/baseline.toml scenarios/talent-first.toml -o output/scenarios",
    "sdkit scenarios compare output/scenarios --variables \"Buyers on platform\""))
def scenarios_group() -> None:
    """List, validate, run and compare scenario files (TOML)."""


@scenarios_group.command("list", epilog=help_epilog(
    "sdkit scenarios list scenarios"))
@click.argument("folder", required=False, default=DEFAULT_SCENARIOS, type=ANY_PATH)
def scenarios_list(folder: Path) -> None:
    """List the scenarios in FOLDER (default: scenarios)."""
    from sdkit.report.scenarios import scenario_list
    from sdkit.scenarios.spec import load_scenarios

    click.echo(scenario_list(load_scenarios(folder)))


@scenarios_group.command("validate", epilog=help_epilog(
    "sdkit scenarios validate scenarios",
    "sdkit scenarios validate scenarios/talent-first.toml"))
@click.argument("files", nargs=-1, required=True, type=ANY_PATH)
def scenarios_validate(files: tuple[Path, ...]) -> None:
    """Check scenario FILES (or folders) against the schema and their models."""
    from sdkit.scenarios.spec import load_scenarios

    for scenario in load_scenarios(files):
        click.echo(f"ok: {scenario.name} ({scenario.path})")


@scenarios_group.command("run", epilog=help_epilog(
    "sdkit scenarios run scenarios/baseline.toml scenarios/talent-first.toml -o output/scenarios"))
@click.argument("sources", nargs=-1, type=ANY_PATH)
@click.option("-o", "--output", required=True, type=FOLDER,
              help="Folder for results.parquet and transitions.csv.")
@click.option("--engine", type=ENGINE, default="auto", show_default=True, help=ENGINE_HELP)
def scenarios_run(sources: tuple[Path, ...], output: Path, engine: str = "auto") -> None:
    """Run the scenarios in SOURCES (folders or files; default: scenarios)."""
    from sdkit.report.scenarios import transitions_text
    from sdkit.scenarios.runner import run_scenarios
    from sdkit.scenarios.spec import load_scenarios
    from sdkit.scenarios.store import save_scenario_results

    def progress(done: int, total: int, scenario: Any) -> None:
        click.echo(f"[{done}/{total}] {scenario.name}", err=True)

    models: dict[Path | None, Any] = {}  # each model loaded once, for reading and running
    scenarios = load_scenarios(sources or DEFAULT_SCENARIOS, models=models)
    results = run_scenarios(scenarios, progress=progress, engine=engine, models=models)
    for path in save_scenario_results(results, output):
        click.echo(f"Wrote {path}")
    click.echo(transitions_text(results.transitions))


@scenarios_group.command("compare", epilog=help_epilog(
    "sdkit scenarios compare output/scenarios --variables \"Buyers on platform\" --years 2020,2025",
    "sdkit scenarios compare output/scenarios --markdown"))
@click.argument("folder", type=FOLDER)
@click.option("--variables", multiple=True, metavar="A[,B...]",
              help="Outputs to compare at --years.")
@click.option("--years", multiple=True, metavar="T[,T...]",
              help="Times, in the model's time unit (default: every fifth unit and the end).")
@click.option("--base", default=None, metavar="NAME",
              help="Scenario to compare with (default: the one named baseline, else the "
                   "first).")
@click.option("--markdown", is_flag=True, help="Print Markdown tables.")
def scenarios_compare(folder: Path, variables: tuple[str, ...], years: tuple[str, ...],
                      base: str | None, markdown: bool) -> None:
    """Compare the scenario results in FOLDER with the base scenario."""
    from sdkit.report import scenarios as sr
    from sdkit.scenarios.store import load_scenario_results

    results = load_scenario_results(folder)
    base, said = sr.default_base(results, base)
    click.echo(sr.transitions_text(results.transitions, base=base, markdown=markdown))
    names = [n.strip() for item in variables for n in item.split(",") if n.strip()]
    if names:
        times = parse_years(years) or sr.default_years(results)
        table = sr.differences(results, variables=names, years=times, base=base)
        click.echo("\n" + sr.differences_text(table, base=base, markdown=markdown))
    if said:  # after the tables: an error stays the only line on stderr
        click.echo(said, err=True)


@scenarios_group.command("table", epilog=help_epilog(
    "sdkit scenarios table output/scenarios --markdown"))
@click.argument("folder", type=FOLDER)
@click.option("--markdown", is_flag=True, help="Print a Markdown table.")
@click.option("--update", type=FILE, metavar="FILE.md",
              help="Write the Markdown table between the transitions markers in FILE.md.")
def scenarios_table(folder: Path, markdown: bool, update: Path | None) -> None:
    """Print the transition times and stage durations of the results in FOLDER."""
    from sdkit.report.scenarios import TABLE_BLOCK, transitions_text
    from sdkit.scenarios.store import load_scenario_results

    transitions = load_scenario_results(folder).transitions
    text = transitions_text(transitions, markdown=markdown or update is not None)
    print_or_update(text, update, TABLE_BLOCK)

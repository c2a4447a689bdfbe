"""``sdkit sensitivity``: run a sensitivity study, validate a spec, report a study.

``sdkit sensitivity SPEC -o OUT`` is short for ``sdkit sensitivity run SPEC -o OUT``.
Registered on the main group by :mod:`sdkit.cli.app`; errors become one line there.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

from sdkit.cli.options import ENGINE, ENGINE_HELP, FILE, FOLDER, print_or_update
from sdkit.examples import help_epilog

__all__ = ["DefaultRunGroup", "sensitivity_group"]



class DefaultRunGroup(click.Group):
    """A group whose first argument, when not a subcommand, starts the arguments of its
    ``run`` command (``sdkit sensitivity SPEC``, ``sdkit calibrate MODEL SPEC``)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group("sensitivity", cls=DefaultRunGroup, epilog=help_epilog(
    "sdkit sensitivity scenarios/sensitivity/talent-investment-morris.toml -o "
    "output/sensitivity-talent-investment-morris --executor processes",
    "sdkit sensitivity report output/sensitivity-talent-investment-morris"))
def sensitivity_group() -> None:
    """Sensitivity studies: `sdkit sensitivity SPEC -o OUT` runs one (see docs/sensitivity.md)."""


@sensitivity_group.command("run", epilog=help_epilog(
    "sdkit sensitivity run scenarios/sensitivity/talent-investment-morris.toml -o "
    "output/sensitivity-talent-investment-morris --executor processes --workers 2 "
    "--no-progress"))
@click.argument("spec", type=FILE)
@click.option("-o", "--output", required=True, type=FOLDER,
              help="Study folder (chunks, indices.csv, bands.parquet, summary.md).")
@click.option("--executor", type=click.Choice(["serial", "processes", "dask"]),
              default="serial", show_default=True, help="Where the runs happen.")
@click.option("--workers", type=click.IntRange(min=1), help="Processes or Dask workers.")
@click.option("--scheduler", metavar="ADDR", help="Dask scheduler address (tcp://host:8786) "
              "or scheduler file (.json); implies --executor dask (default: "
              "DASK_SCHEDULER_ADDRESS, else a LocalCluster).")
@click.option("--engine", type=ENGINE, help="Run engine (overrides the spec's "
              "execution.engine). " + ENGINE_HELP)
@click.option("--no-progress", is_flag=True, help="Do not show a progress bar.")
def run_command(spec: Path, output: Path, executor: str, workers: int | None,
                scheduler: str | None, no_progress: bool, engine: str | None = None) -> None:
    """Run the study in SPEC; rerunning an interrupted study resumes it."""
    from sdkit.sensitivity import load_spec, run_sensitivity
    from sdkit.sensitivity.result import summary_markdown

    logging.basicConfig(level=logging.WARNING, format="sdkit: %(message)s")
    loaded = load_spec(spec)
    click.echo(f"{loaded.name}: {loaded.method.name}, {loaded.runs} runs in chunks of "
               f"{loaded.chunk_size}", err=True)
    if scheduler and executor != "dask":
        executor = "dask"
    result = run_sensitivity(loaded, output_dir=output, executor=executor, workers=workers,
                             scheduler=scheduler, progress=not no_progress, engine=engine)
    click.echo(f"Wrote {output}")
    click.echo(summary_markdown(result))


@sensitivity_group.command("validate", epilog=help_epilog(
    "sdkit sensitivity validate scenarios/sensitivity/talent-investment-morris.toml "
    "scenarios/sensitivity/talent-investment.toml"))
@click.argument("specs", nargs=-1, required=True, type=FILE)
def validate_command(specs: tuple[Path, ...]) -> None:
    """Check sensitivity SPECS against the schema and their models."""
    from sdkit.sensitivity import load_spec

    for path in specs:
        spec = load_spec(path)
        click.echo(f"ok: {spec.name} ({path}): {spec.method.name}, {spec.runs} runs")


@sensitivity_group.command("report", epilog=help_epilog(
    "sdkit sensitivity report output/sensitivity-talent-investment-morris",
    "sdkit sensitivity report output/sensitivity-talent-investment-morris --update "
    "docs/sensitivity.md"))
@click.argument("folder", type=FOLDER)
@click.option("--update", type=FILE, metavar="FILE.md",
              help="Write the findings between the study's markers in FILE.md.")
@click.option("--block", metavar="NAME", help="Marker name (default: the spec's report.block).")
def report_command(folder: Path, update: Path | None, block: str | None) -> None:
    """Print the findings of the study in FOLDER, or write them into a page."""
    from sdkit.sensitivity.result import findings_markdown, load_result

    result = load_result(folder)
    name = block or result.manifest.get("report_block") or "sensitivity-findings"
    print_or_update(findings_markdown(result), update, name)

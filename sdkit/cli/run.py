"""``sdkit run``, ``info``, ``evidence`` and ``doc``: one model, run or described.

Thin commands: each parses its options, calls the library (:mod:`sdkit.model.core`,
:mod:`sdkit.report.text`, :mod:`sdkit.analysis.evidence`) and prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from sdkit.cli.options import ENGINE, ENGINE_HELP, FILE, parse_float, parse_settings, parse_years
from sdkit.errors import ParameterValueError
from sdkit.examples import help_epilog

__all__ = ["run_command", "info_command", "evidence_command", "doc_command"]


@click.command("run", epilog=help_epilog(
    "sdkit run models/empowerment.mdl",
    "sdkit run models/empowerment.mdl -o output/baseline.csv --summary output/summary.md "
    "--years 2020,2025",
    "sdkit run models/empowerment.mdl --set \"talent budget share=0.4\" --final-time 2025 "
    "--engine ensemble"))
@click.argument("model", type=FILE)
@click.option("-s", "--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="Override a constant (repeatable).")
@click.option("-o", "--output", type=FILE, help="Write all results to this CSV file.")
@click.option("--final-time", metavar="X", help="Final time of the run.")
@click.option("--time-step", metavar="X", help="Integration time step.")
@click.option("--saveper", metavar="X", help="Interval between saved results.")
@click.option("--summary", type=FILE, help="Write a Markdown table of the stocks here.")
@click.option("--years", multiple=True, metavar="T[,T...]",
              help="Times for --summary, in the model's time unit (default: every whole "
                   "unit, e.g. every year).")
@click.option("--engine", type=ENGINE, default="auto", show_default=True, help=ENGINE_HELP)
def run_command(model: Path, settings: tuple[str, ...], output: Path | None,
                final_time: str | None, time_step: str | None, saveper: str | None,
                summary: Path | None, years: tuple[str, ...], engine: str = "auto") -> None:
    """Run MODEL and write or print the results."""
    from sdkit.model.core import load_model
    from sdkit.report import text as report
    from sdkit.util.files import write_text_atomic

    params = parse_settings(settings)
    summary_years = parse_years(years)
    if summary_years and summary is None:
        raise ParameterValueError("--years sets the times of --summary; give --summary FILE too.")
    times: dict[str, Any] = {"final_time": parse_float("--final-time", final_time),
             "time_step": parse_float("--time-step", time_step),
             "saveper": parse_float("--saveper", saveper)}
    loaded = load_model(model)
    result = loaded.run(params, engine=engine, **times)
    # the summary is made before anything is written, so a bad --years writes nothing
    text = None if summary is None else report.stock_summary(loaded, result, summary_years,
                                                              params)
    if output is not None:
        click.echo(f"Wrote {report.write_csv(output, result)}")
    else:
        click.echo(report.short_table(loaded, result))
    if summary is not None and text is not None:
        click.echo(f"Wrote {write_text_atomic(summary, text)}")


@click.command("info", epilog=help_epilog(
    "sdkit info models/empowerment.mdl",
    "sdkit info models/empowerment.xmile --json"))
@click.argument("model", type=FILE)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def info_command(model: Path, as_json: bool) -> None:
    """Describe MODEL's variables and time settings without running it."""
    from sdkit.model.core import load_model
    from sdkit.report import text as report

    loaded = load_model(model)
    click.echo(report.info_json(loaded) if as_json else report.info_text(loaded))


@click.command("evidence", epilog=help_epilog(
    "sdkit evidence models/empowerment.mdl",
    "sdkit evidence models/empowerment.mdl --markdown --reference "
    "models/empowerment-reference-modes.csv"))
@click.argument("model", type=FILE)
@click.option("--reference", type=FILE, metavar="CSV",
              help="Reference modes (default: the table the model card names).")
@click.option("--markdown", is_flag=True, help="Print a Markdown table.")
@click.pass_context
def evidence_command(ctx: click.Context, model: Path, reference: Path | None,
                     markdown: bool) -> None:
    """Compare MODEL's baseline run with the reference modes; exit 1 if a row is outside.

    Rows the model card marks as a hindcast (``evidence.hindcast_after``) are reported
    but do not fail.
    """
    from sdkit.analysis.evidence import evidence_of, fits
    from sdkit.report import text as report

    comparison = evidence_of(model, reference)
    click.echo(report.evidence_table(comparison, markdown=markdown))
    if not fits(comparison):
        ctx.exit(1)


@click.command("doc", epilog=help_epilog(
    "sdkit doc models/empowerment.mdl docs/model.md"))
@click.argument("model", type=FILE)
@click.argument("page", type=FILE)
@click.option("--reference", type=FILE, metavar="CSV",
              help="Reference modes (default: the table the model card names).")
def doc_command(model: Path, page: Path, reference: Path | None) -> None:
    """Rewrite the generated blocks of PAGE: MODEL's parameters and its evidence table."""
    from sdkit.report.text import doc_blocks
    from sdkit.util.markers import update_page

    click.echo(f"Updated {update_page(page, doc_blocks(model, reference))}")

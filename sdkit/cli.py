"""The ``sdkit`` command line.

Commands are thin wrappers around :mod:`sdkit.model` and :mod:`sdkit.report`,
which are imported inside the commands so that ``sdkit --version`` never loads
PySD, pandas or bokeh.  Every :class:`~sdkit.errors.SdkitError` is reported as a
single line ``sdkit: error: <message>`` on stderr with exit status 2.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, overload

import click

from sdkit import __version__
from sdkit.errors import InputFileError, ParameterValueError, SdkitError
from sdkit.examples import help_epilog

__all__ = ["main", "plain_warning"]

_PATH = click.Path(dir_okay=False, path_type=Path)
_ANY_PATH = click.Path(path_type=Path)
_DEFAULT_SCENARIOS = Path("scenarios")


@overload
def _parse_float(label: str, text: str) -> float: ...
@overload
def _parse_float(label: str, text: None) -> None: ...
@overload
def _parse_float(label: str, text: str | None) -> float | None: ...
def _parse_float(label: str, text: str | None) -> float | None:
    """Parse a command-line number with ``float()`` only (never ``eval``)."""
    if text is None:
        return None
    try:
        return float(text)
    except ValueError as err:
        raise ParameterValueError(f"Value {text!r} for {label} is not a number.") from err


def _parse_settings(settings: tuple[str, ...]) -> dict[str, float]:
    params: dict[str, float] = {}
    for item in settings:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ParameterValueError(f"Expected NAME=VALUE after --set, got {item!r}.")
        params[name.strip()] = _parse_float(repr(name.strip()), value.strip())
    return params


def _parse_years(years: tuple[str, ...]) -> list[float] | None:
    values = [_parse_float("--years", part) for item in years for part in item.split(",")
              if part.strip()]
    return [v for v in values if v is not None] or None


def plain_warning(text: str) -> str:
    """A warning in the model's words (:func:`sdkit.validation.plain_warning`): PySD's
    ``_delayn_outflow`` becomes ``DELAY N in 'outflow':``, on one line."""
    from sdkit.validation import plain_warning as plain

    return plain(text)


#: The ``--engine`` option of the commands that run a model.
_ENGINE = click.Choice(["auto", "pysd", "ensemble"])
_ENGINE_HELP = ("What runs the model: auto = sdkit's ensemble engine (bitwise equal to PySD, "
                "cached after the first compile), PySD where it refuses the model.")


class _Group(click.Group):
    """Click group that turns sdkit errors into one line and shows warnings briefly."""

    def invoke(self, ctx: click.Context) -> Any:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
                warnings.simplefilter("ignore", category)
            try:
                result = super().invoke(ctx)
            except SdkitError as err:
                message = " ".join(str(err).split())
                click.echo(f"sdkit: error: {message}", err=True)
                ctx.exit(2)
        if not caught:
            return result
        from sdkit.validation import warning_counts

        for text, count in warning_counts(caught).items():
            times = f" ({count} times)" if count > 1 else ""
            click.echo(f"sdkit: warning: {text}{times}", err=True)
        return result


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]},
             epilog=help_epilog(
    "sdkit info models/empowerment.mdl",
    "sdkit run models/empowerment.mdl -o output/baseline.csv",
    "sdkit --max-steps 100000 run models/empowerment.mdl --final-time 2025",
    "sdkit evidence models/empowerment.mdl",
    "sdkit run --help")
             + "\nThe example model and scenarios also ship with sdkit: see sdkit.examples.")
@click.version_option(__version__, "-V", "--version", prog_name="sdkit")
@click.option("--max-steps", type=click.IntRange(min=1), metavar="N",
              help="Most integration steps of a run (default 10,000,000; SDKIT_MAX_STEPS).")
@click.option("--max-rows", type=click.IntRange(min=1), metavar="N",
              help="Most saved rows of a run (default 1,000,000; SDKIT_MAX_ROWS).")
@click.option("--max-values", type=click.IntRange(min=1), metavar="N",
              help="Most values held at once (default 200,000,000; SDKIT_MAX_VALUES).")
@click.option("--max-runs", type=click.IntRange(min=1), metavar="N",
              help="Most runs of a sensitivity sample (default 1,000,000; SDKIT_MAX_RUNS).")
@click.pass_context
def main(ctx: click.Context, max_steps: int | None, max_rows: int | None,
         max_values: int | None, max_runs: int | None) -> None:
    """Run and inspect system-dynamics models (Vensim .mdl, XMILE)."""
    from sdkit.limits import override_limits

    ctx.with_resource(override_limits(max_steps=max_steps, max_rows=max_rows,
                                      max_values=max_values, max_runs=max_runs))


@main.command("run", epilog=help_epilog(
    "sdkit run models/empowerment.mdl",
    "sdkit run models/empowerment.mdl -o output/baseline.csv --summary output/summary.md "
    "--years 2020,2025",
    "sdkit run models/empowerment.mdl --set \"talent budget share=0.4\" --final-time 2025 "
    "--engine ensemble"))
@click.argument("model", type=_PATH)
@click.option("-s", "--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="Override a constant (repeatable).")
@click.option("-o", "--output", type=_PATH, help="Write all results to this CSV file.")
@click.option("--final-time", metavar="X", help="Final time of the run.")
@click.option("--time-step", metavar="X", help="Integration time step.")
@click.option("--saveper", metavar="X", help="Interval between saved results.")
@click.option("--summary", type=_PATH, help="Write a Markdown table of the stocks here.")
@click.option("--years", multiple=True, metavar="T[,T...]",
              help="Times for --summary, in the model's time unit (default: every whole "
                   "unit, e.g. every year).")
@click.option("--engine", type=_ENGINE, default="auto", show_default=True, help=_ENGINE_HELP)
def run_command(model: Path, settings: tuple[str, ...], output: Path | None,
                final_time: str | None, time_step: str | None, saveper: str | None,
                summary: Path | None, years: tuple[str, ...], engine: str = "auto") -> None:
    """Run MODEL and write or print the results."""
    from sdkit import report
    from sdkit.model import load_model
    from sdkit.store import write_text_atomic

    params = _parse_settings(settings)
    summary_years = _parse_years(years)
    if summary_years and summary is None:
        raise ParameterValueError("--years sets the times of --summary; give --summary FILE too.")
    times: dict[str, Any] = {"final_time": _parse_float("--final-time", final_time),
             "time_step": _parse_float("--time-step", time_step),
             "saveper": _parse_float("--saveper", saveper)}
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


@main.command("info", epilog=help_epilog(
    "sdkit info models/empowerment.mdl",
    "sdkit info models/empowerment.xmile --json"))
@click.argument("model", type=_PATH)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def info_command(model: Path, as_json: bool) -> None:
    """Describe MODEL's variables and time settings without running it."""
    from sdkit import report
    from sdkit.model import load_model

    loaded = load_model(model)
    click.echo(report.info_json(loaded) if as_json else report.info_text(loaded))


@main.command("evidence", epilog=help_epilog(
    "sdkit evidence models/empowerment.mdl",
    "sdkit evidence models/empowerment.mdl --markdown --reference "
    "models/empowerment-reference-modes.csv"))
@click.argument("model", type=_PATH)
@click.option("--reference", type=_PATH, metavar="CSV",
              help="Reference modes (default: the table the model card names).")
@click.option("--markdown", is_flag=True, help="Print a Markdown table.")
@click.pass_context
def evidence_command(ctx: click.Context, model: Path, reference: Path | None,
                     markdown: bool) -> None:
    """Compare MODEL's baseline run with the reference modes; exit 1 if a row is outside.

    Rows the model card marks as a hindcast (``evidence.hindcast_after``) are reported
    but do not fail.
    """
    from sdkit import report
    from sdkit.card import load_card
    from sdkit.evidence import compare_with_reference, load_reference_modes, reference_for
    from sdkit.model import load_model

    reference = reference_for(model, reference)
    if reference is None:
        raise InputFileError(f"No reference modes for {model}: its model card names none "
                             "(evidence.reference); pass --reference CSV.")
    card, modes = load_card(model), load_reference_modes(reference)
    comparison = compare_with_reference(load_model(model).run(), modes, card)
    click.echo(report.evidence_table(comparison, markdown=markdown))
    if not comparison.loc[comparison["role"] == "fit", "within"].all():
        ctx.exit(1)


@main.command("doc", epilog=help_epilog(
    "sdkit doc models/empowerment.mdl docs/model.md"))
@click.argument("model", type=_PATH)
@click.argument("page", type=_PATH)
@click.option("--reference", type=_PATH, metavar="CSV",
              help="Reference modes (default: the table the model card names).")
def doc_command(model: Path, page: Path, reference: Path | None) -> None:
    """Rewrite the generated blocks of PAGE: MODEL's parameters and its evidence table."""
    from sdkit import report
    from sdkit.card import load_card
    from sdkit.evidence import compare_with_reference, load_reference_modes, reference_for
    from sdkit.markers import update_page
    from sdkit.model import load_model
    from sdkit.modeldoc import constant_values, parameter_table

    loaded = load_model(model)
    baseline = loaded.run()
    blocks = {"parameters": parameter_table(loaded, constant_values(loaded, baseline))}
    if (reference := reference_for(model, reference)) is not None:
        comparison = compare_with_reference(baseline, load_reference_modes(reference),
                                            load_card(model))
        blocks["evidence"] = report.evidence_table(comparison, markdown=True)
    click.echo(f"Updated {update_page(page, blocks)}")


@main.group("scenarios", epilog=help_epilog(
    "sdkit scenarios list",
    "sdkit scenarios run scenarios/baseline.toml scenarios/talent-first.toml -o output/scenarios",
    "sdkit scenarios compare output/scenarios --variables \"Buyers on platform\""))
def scenarios_group() -> None:
    """List, validate, run and compare scenario files (TOML)."""


@scenarios_group.command("list", epilog=help_epilog(
    "sdkit scenarios list scenarios"))
@click.argument("folder", required=False, default=_DEFAULT_SCENARIOS, type=_ANY_PATH)
def scenarios_list(folder: Path) -> None:
    """List the scenarios in FOLDER (default: scenarios)."""
    from sdkit.scenario_report import scenario_list
    from sdkit.scenarios import load_scenarios

    click.echo(scenario_list(load_scenarios(folder)))


@scenarios_group.command("validate", epilog=help_epilog(
    "sdkit scenarios validate scenarios",
    "sdkit scenarios validate scenarios/talent-first.toml"))
@click.argument("files", nargs=-1, required=True, type=_ANY_PATH)
def scenarios_validate(files: tuple[Path, ...]) -> None:
    """Check scenario FILES (or folders) against the schema and their models."""
    from sdkit.scenarios import load_scenarios

    for scenario in load_scenarios(files):
        click.echo(f"ok: {scenario.name} ({scenario.path})")


@scenarios_group.command("run", epilog=help_epilog(
    "sdkit scenarios run scenarios/baseline.toml scenarios/talent-first.toml -o output/scenarios"))
@click.argument("sources", nargs=-1, type=_ANY_PATH)
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for results.parquet and transitions.csv.")
@click.option("--engine", type=_ENGINE, default="auto", show_default=True, help=_ENGINE_HELP)
def scenarios_run(sources: tuple[Path, ...], output: Path, engine: str = "auto") -> None:
    """Run the scenarios in SOURCES (folders or files; default: scenarios)."""
    from sdkit.runner import run_scenarios
    from sdkit.scenario_report import transitions_text
    from sdkit.scenarios import load_scenarios
    from sdkit.store import save_scenario_results

    def progress(done: int, total: int, scenario: Any) -> None:
        click.echo(f"[{done}/{total}] {scenario.name}", err=True)

    results = run_scenarios(load_scenarios(sources or _DEFAULT_SCENARIOS), progress=progress,
                            engine=engine)
    for path in save_scenario_results(results, output):
        click.echo(f"Wrote {path}")
    click.echo(transitions_text(results.transitions))


@scenarios_group.command("compare", epilog=help_epilog(
    "sdkit scenarios compare output/scenarios --variables \"Buyers on platform\" --years 2020,2025",
    "sdkit scenarios compare output/scenarios --markdown"))
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
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
    from sdkit import scenario_report as sr
    from sdkit.store import load_scenario_results

    results = load_scenario_results(folder)
    base, said = sr.default_base(results, base)
    click.echo(sr.transitions_text(results.transitions, base=base, markdown=markdown))
    names = [n.strip() for item in variables for n in item.split(",") if n.strip()]
    if names:
        times = _parse_years(years) or sr.default_years(results)
        table = sr.differences(results, variables=names, years=times, base=base)
        click.echo("\n" + sr.differences_text(table, base=base, markdown=markdown))
    if said:  # after the tables: an error stays the only line on stderr
        click.echo(said, err=True)


@scenarios_group.command("table", epilog=help_epilog(
    "sdkit scenarios table output/scenarios --markdown"))
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--markdown", is_flag=True, help="Print a Markdown table.")
@click.option("--update", type=_PATH, metavar="FILE.md",
              help="Write the Markdown table between the transitions markers in FILE.md.")
def scenarios_table(folder: Path, markdown: bool, update: Path | None) -> None:
    """Print the transition times and stage durations of the results in FOLDER."""
    from sdkit.markers import update_page
    from sdkit.scenario_report import TABLE_BLOCK, transitions_text
    from sdkit.store import load_scenario_results

    transitions = load_scenario_results(folder).transitions
    if update is None:
        click.echo(transitions_text(transitions, markdown=markdown))
        return
    table = transitions_text(transitions, markdown=True)
    click.echo(f"Updated {update_page(update, {TABLE_BLOCK: table})}")


from sdkit.cli_sensitivity import sensitivity_group  # noqa: E402

main.add_command(sensitivity_group)

from sdkit.cli_calibrate import calibrate_group  # noqa: E402

main.add_command(calibrate_group)

from sdkit.cli_brief import register as _register_brief  # noqa: E402  (brief, explore)

_register_brief(main)
from sdkit.cli_check import check_command  # noqa: E402

main.add_command(check_command)

from sdkit.cli_loops import loops_command  # noqa: E402

main.add_command(loops_command)
from sdkit.cli_export import export_command  # noqa: E402

main.add_command(export_command)
from sdkit.cli_channels import channels_command  # noqa: E402

main.add_command(channels_command)
from sdkit.cli_gates import gates_command  # noqa: E402

main.add_command(gates_command)
from sdkit.cli_bands import bands_command  # noqa: E402

scenarios_group.add_command(bands_command)

if __name__ == "__main__":
    main()

"""The ``sdkit`` command line.

Commands are thin wrappers around :mod:`sdkit.model` and :mod:`sdkit.report`,
which are imported inside the commands so that ``sdkit --version`` never loads
PySD, pandas or bokeh.  Every :class:`~sdkit.errors.SdkitError` is reported as a
single line ``sdkit: error: <message>`` on stderr with exit status 2.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import click

from sdkit import __version__
from sdkit.errors import ParameterValueError, SdkitError

__all__ = ["main"]

_PATH = click.Path(dir_okay=False, path_type=Path)


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
        for text in dict.fromkeys(" ".join(str(w.message).split()) for w in caught):
            click.echo(f"sdkit: warning: {text}", err=True)
        return result


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="sdkit")
def main() -> None:
    """Run and inspect system-dynamics models (Vensim .mdl, XMILE)."""


@main.command("run")
@click.argument("model", type=_PATH)
@click.option("-s", "--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="Override a constant (repeatable).")
@click.option("-o", "--output", type=_PATH, help="Write all results to this CSV file.")
@click.option("--final-time", metavar="X", help="Final time of the run.")
@click.option("--time-step", metavar="X", help="Integration time step.")
@click.option("--saveper", metavar="X", help="Interval between saved results.")
@click.option("--summary", type=_PATH, help="Write a Markdown table of the stocks here.")
@click.option("--years", multiple=True, metavar="T[,T...]",
              help="Times for --summary (default: every whole year).")
def run_command(model: Path, settings: tuple[str, ...], output: Path | None,
                final_time: str | None, time_step: str | None, saveper: str | None,
                summary: Path | None, years: tuple[str, ...]) -> None:
    """Run MODEL and write or print the results."""
    from sdkit import report
    from sdkit.model import load_model

    params = _parse_settings(settings)
    times = {"final_time": _parse_float("--final-time", final_time),
             "time_step": _parse_float("--time-step", time_step),
             "saveper": _parse_float("--saveper", saveper)}
    loaded = load_model(model)
    result = loaded.run(params, **times)
    if output is not None:
        click.echo(f"Wrote {report.write_csv(output, result)}")
    else:
        click.echo(report.short_table(loaded, result))
    if summary is not None:
        text = report.stock_summary(loaded, result, _parse_years(years), params)
        click.echo(f"Wrote {report.write_text(summary, text)}")


@main.command("info")
@click.argument("model", type=_PATH)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def info_command(model: Path, as_json: bool) -> None:
    """Describe MODEL's variables and time settings without running it."""
    from sdkit import report
    from sdkit.model import load_model

    loaded = load_model(model)
    click.echo(report.info_json(loaded) if as_json else report.info_text(loaded))


if __name__ == "__main__":
    main()

"""The ``sdkit`` command line: the ``sdkit`` group and the one registration block.

Every command lives in a module of its own group (:mod:`sdkit.cli.run`,
:mod:`sdkit.cli.scenarios`, :mod:`sdkit.cli.brief` ...), takes its option types from
:mod:`sdkit.cli.options`, parses, calls one library function and prints. The library is
imported inside the commands, so ``sdkit --version`` never loads PySD, pandas or bokeh.
Every :class:`~sdkit.errors.SdkitError` is reported here as a single line
``sdkit: error: <message>`` on stderr with exit status 2, and warnings are shown once
each, in the model's words, with a count.
"""

from __future__ import annotations

import warnings
from typing import Any

import click

from sdkit import __version__
from sdkit.cli.bands import bands_command
from sdkit.cli.brief import brief_command, explore_command
from sdkit.cli.calibrate import calibrate_group
from sdkit.cli.channels import channels_command
from sdkit.cli.check import check_command
from sdkit.cli.export import export_command
from sdkit.cli.gates import gates_command
from sdkit.cli.loops import loops_command
from sdkit.cli.run import doc_command, evidence_command, info_command, run_command
from sdkit.cli.scenarios import scenarios_group
from sdkit.cli.sensitivity import sensitivity_group
from sdkit.errors import SdkitError
from sdkit.examples import help_epilog

__all__ = ["main", "plain_warning", "COMMANDS"]


def plain_warning(text: str) -> str:
    """A warning in the model's words (:func:`sdkit.util.validation.plain_warning`): PySD's
    ``_delayn_outflow`` becomes ``DELAY N in 'outflow':``, on one line."""
    from sdkit.util.validation import plain_warning as plain

    return plain(text)


class _Group(click.Group):
    """Click group that turns sdkit errors into one line and shows warnings briefly."""

    def invoke(self, ctx: click.Context) -> Any:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
                warnings.simplefilter("ignore", category)
            try:
                result = super().invoke(ctx)
            except (SdkitError, OSError) as err:  # OSError: a file the OS would not give us
                message = " ".join(str(err).split())
                click.echo(f"sdkit: error: {message}", err=True)
                ctx.exit(2)
        if not caught:
            return result
        from sdkit.util.validation import warning_counts

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
    from sdkit.util.limits import override_limits

    ctx.with_resource(override_limits(max_steps=max_steps, max_rows=max_rows,
                                      max_values=max_values, max_runs=max_runs))


#: Every command of ``sdkit``, registered in this one block (``sdkit scenarios bands``
#: is a command of the scenarios group).
COMMANDS: tuple[click.Command, ...] = (
    run_command, info_command, evidence_command, doc_command, scenarios_group,
    sensitivity_group, calibrate_group, brief_command, explore_command, check_command,
    loops_command, export_command, channels_command, gates_command)
for _command in COMMANDS:
    main.add_command(_command)
scenarios_group.add_command(bands_command)

if __name__ == "__main__":
    main()

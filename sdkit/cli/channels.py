"""``sdkit channels``: the share of an output's growth due to each channel, per stage."""

from __future__ import annotations

from pathlib import Path

import click

from sdkit.cli.options import FILE
from sdkit.examples import help_epilog
from sdkit.report.channels import channels_json, channels_text  # kept here for 0.1's names

__all__ = ["channels_command", "channels_text", "channels_json"]


def _groups(items: tuple[str, ...]) -> dict[str, list[str]] | None:
    from sdkit.errors import ParameterValueError

    if not items:
        return None
    groups: dict[str, list[str]] = {}
    for item in items:
        name, sep, members = item.partition("=")
        names = [m.strip() for m in members.split(",") if m.strip()]
        if not sep or not name.strip() or not names:
            raise ParameterValueError(f"Expected NAME=VARIABLE[,VARIABLE...] after --group, "
                                      f"got {item!r}.")
        groups.setdefault(name.strip(), []).extend(names)
    return groups


def _windows(items: tuple[str, ...]) -> list[tuple[float, float]] | None:
    from sdkit.errors import ParameterValueError

    windows = []
    for item in items:
        parts = item.split(",")
        try:
            start, end = (float(p) for p in parts)
        except ValueError:
            raise ParameterValueError(f"Expected START,END after --window, got {item!r}."
                                      ) from None
        windows.append((start, end))
    return windows or None


@click.command("channels", epilog=help_epilog(
    "sdkit channels models/empowerment.mdl",
    "sdkit channels models/empowerment.mdl --scenario scenarios/talent-first.toml --json"))
@click.argument("model", type=FILE)
@click.option("--scenario", type=FILE, metavar="FILE.toml",
              help="Decompose this scenario's run instead of the baseline.")
@click.option("--output", "output_name", metavar="VARIABLE",
              help="Output to decompose (default the card's [channels] output).")
@click.option("--group", "groups", multiple=True, metavar="NAME=VAR[,VAR...]",
              help="A channel and its variables (repeat; replaces the card's groups).")
@click.option("--log/--linear", "log", default=None,
              help="Decompose ln(output) or the output itself (default the card's, else log).")
@click.option("--window", "windows", multiple=True, metavar="START,END",
              help="A time window instead of the card's stages (repeat).")
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
def channels_command(model: Path, scenario: Path | None, output_name: str | None,
                     groups: tuple[str, ...], log: bool | None, windows: tuple[str, ...],
                     as_json: bool) -> None:
    """Print the share of MODEL's output growth due to each channel, per stage.

    The output and the channels (groups of variables) come from the model card's
    [channels] section (docs/formats.md) unless given. Contributions are trapezoids of
    the output's partial derivatives times the leaves' changes, at every TIME STEP;
    the residual is the change they leave unexplained, relative to the change.
    """
    from sdkit.analysis.channels import ChannelError, NoChannelsError, decompose

    try:
        result = decompose(model, scenario=scenario, output=output_name,
                           groups=_groups(groups), log=log, windows=_windows(windows))
    except NoChannelsError:
        missing = [option for option, given in (("--output VARIABLE", output_name),
                                                ("--group NAME=VAR[,VAR...]", groups))
                   if not given]
        raise ChannelError(
            f"No output or channels for {model.name}: give {' and '.join(missing)}, or add "
            "a [channels] section to the model card (docs/formats.md).") from None
    if as_json:
        click.echo(channels_json(result))
    else:
        click.echo(channels_text(result))

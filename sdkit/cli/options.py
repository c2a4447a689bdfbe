"""Option types, parsers and output helpers shared by the commands of :mod:`sdkit.cli.app`.

Every command module takes its path types, ``--engine`` option and number parsers from
here, so a path or a number is read the same way by every command.
"""

from __future__ import annotations

from pathlib import Path
from typing import overload

import click

from sdkit.errors import ParameterValueError

__all__ = ["FILE", "FOLDER", "ANY_PATH", "DEFAULT_SCENARIOS", "ENGINE", "ENGINE_HELP",
           "parse_float", "parse_settings", "parse_years", "print_or_update"]

#: A file (not a folder).
FILE = click.Path(dir_okay=False, path_type=Path)
#: A folder (not a file).
FOLDER = click.Path(file_okay=False, path_type=Path)
#: A file or a folder.
ANY_PATH = click.Path(path_type=Path)
#: The scenario folder the commands read by default.
DEFAULT_SCENARIOS = Path("scenarios")
#: The ``--engine`` choice of the commands that run a model.
ENGINE = click.Choice(["auto", "pysd", "ensemble"])
ENGINE_HELP = ("What runs the model: auto = sdkit's ensemble engine (bitwise equal to PySD, "
               "cached after the first compile), PySD where it refuses the model.")


@overload
def parse_float(label: str, text: str) -> float: ...
@overload
def parse_float(label: str, text: None) -> None: ...
@overload
def parse_float(label: str, text: str | None) -> float | None: ...
def parse_float(label: str, text: str | None) -> float | None:
    """Parse a command-line number with ``float()`` only (never ``eval``)."""
    if text is None:
        return None
    try:
        return float(text)
    except ValueError as err:
        raise ParameterValueError(f"Value {text!r} for {label} is not a number.") from err


def parse_settings(settings: tuple[str, ...]) -> dict[str, float]:
    """``--set NAME=VALUE`` items as a table of constants."""
    params: dict[str, float] = {}
    for item in settings:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ParameterValueError(f"Expected NAME=VALUE after --set, got {item!r}.")
        params[name.strip()] = parse_float(repr(name.strip()), value.strip())
    return params


def parse_years(years: tuple[str, ...], label: str = "--years") -> list[float] | None:
    """``--years T[,T...]`` items as times (None when none is given)."""
    values = [parse_float(label, part) for item in years for part in item.split(",")
              if part.strip()]
    return [v for v in values if v is not None] or None


def print_or_update(text: str, update: Path | None, block: str | dict[str, str]) -> None:
    """Print ``text``; or, with ``--update FILE.md``, write it between the markers of
    ``block`` in the page (``block`` may also be a table of several blocks) and say so."""
    if update is None:
        click.echo(text)
        return
    from sdkit.util.markers import update_page

    blocks = block if isinstance(block, dict) else {block: text}
    click.echo(f"Updated {update_page(update, blocks)}")

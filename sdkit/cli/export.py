"""``sdkit export MODEL -o MODEL.xmile``: write a model as XMILE 1.0.

The document is built from the model as PySD parses it (:mod:`sdkit.xmile.writer`).
A construct XMILE 1.0 cannot express is reported as one error line naming it
and the variable (exit status 2, as every sdkit error).
"""

from __future__ import annotations

from pathlib import Path

import click

from sdkit.cli.options import FILE
from sdkit.examples import help_epilog

__all__ = ["export_command"]


@click.command("export", epilog=help_epilog(
    "sdkit export models/empowerment.mdl -o output/empowerment.xmile",
    "sdkit export models/empowerment.xmile"))
@click.argument("model", type=FILE)
@click.option("-o", "--output", type=FILE,
              metavar="FILE.xmile", help="Where to write the XMILE (default: print it).")
def export_command(model: Path, output: Path | None) -> None:
    """Export MODEL (Vensim .mdl or XMILE) to XMILE 1.0."""
    from sdkit.xmile.writer import export_xmile

    text = export_xmile(model, output)
    if output is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"Wrote {output}")

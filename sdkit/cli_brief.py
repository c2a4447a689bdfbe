"""``sdkit brief`` and ``sdkit explore``: thin commands over the briefing and the explorer.

Registered on the main group by one line in :mod:`sdkit.cli`. Everything heavy
(PySD, bokeh, selenium) is imported inside the commands.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

__all__ = ["brief_command", "explore_command", "register", "language_paths"]

_LANGS = click.Choice(["en", "zh"])


def language_paths(output: Path, langs: tuple[str, ...]) -> dict[str, Path]:
    """Where each language's page goes: ``output`` itself for one language, else
    ``output`` with ``.LANG`` before its suffix (``briefing.html`` -> ``briefing.zh.html``)."""
    if len(langs) == 1:
        return {langs[0]: output}
    return {lang: output.with_name(f"{output.stem}.{lang}{output.suffix or '.html'}")
            for lang in langs}


@click.command("brief")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The HTML file to write (with several --lang, one file per language).")
@click.option("--lang", "langs", multiple=True, type=_LANGS, default=("en",), show_default=True,
              help="Language of the page; repeat for several pages.")
@click.option("--embed", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Also write each chart as components, JSON, PNG and SVG into DIR.")
@click.option("--scenarios", type=click.Path(path_type=Path), default=Path("scenarios"),
              show_default=True, help="Folder (or file) of scenario files.")
@click.option("--sensitivity", "spec", type=click.Path(dir_okay=False, path_type=Path),
              metavar="SPEC", help="Sensitivity spec (default: "
              "scenarios/sensitivity/talent-investment-morris.toml).")
@click.option("--reference", type=click.Path(dir_okay=False, path_type=Path), metavar="CSV",
              help="Reference modes (default: the shared Ouyeel reference modes).")
@click.option("--no-images", is_flag=True, help="With --embed, skip the PNG and SVG images.")
def brief_command(output: Path, langs: tuple[str, ...], embed: Path | None, scenarios: Path,
                  spec: Path | None, reference: Path | None, no_images: bool) -> None:
    """Run the scenarios and the talent sensitivity and write the policy briefing (HTML)."""
    from sdkit.briefing import briefing_charts, render_briefing
    from sdkit.briefing_inputs import DEFAULT_SPEC, collect_briefing
    from sdkit.store import write_text_atomic

    langs = tuple(dict.fromkeys(langs))
    spec = spec or DEFAULT_SPEC
    command = "sdkit brief " + shlex.join(sys.argv[2:]) if sys.argv[1:2] == ["brief"] else \
        f"sdkit brief -o {shlex.quote(str(output))}"
    data = collect_briefing(scenarios, spec, work_dir=output.parent / f"sensitivity-{spec.stem}",
                            command=command, reference=reference,
                            progress=lambda message: click.echo(message, err=True))
    paths = language_paths(output, langs)
    for lang, path in paths.items():
        others = [p for other, p in paths.items() if other != lang]
        page = render_briefing(data, lang=lang, other_page=others[0].name if others else None)
        click.echo(f"Wrote {write_text_atomic(path, page)}")
    if embed is not None:
        from sdkit.embed import write_embeds

        for lang in langs:
            folder = embed / lang if len(langs) > 1 else embed
            files = write_embeds(briefing_charts(data, lang), folder, images=not no_images)
            click.echo(f"Wrote {len(files)} embeddable files to {folder}")


@click.command("explore")
@click.argument("model", required=False, default=Path("models/empowerment.mdl"),
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--port", default=5006, show_default=True, help="Port to listen on.")
@click.option("--address", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--lang", default="en", type=_LANGS, show_default=True, help="Language.")
@click.option("--time-step", type=float, default=None,
              help="Time step of re-runs with PySD (default 0.125 year; 0 for the model's own).")
@click.option("--show", is_flag=True, help="Open the explorer in a browser.")
def explore_command(model: Path, port: int, address: str, lang: str, time_step: float | None,
                    show: bool) -> None:
    """Start the explorer (a Bokeh server app with sliders for the main levers) on MODEL."""
    from sdkit.explore import PREVIEW_TIME_STEP, make_server

    step = PREVIEW_TIME_STEP if time_step is None else (time_step or None)
    server = make_server(model, port=port, address=address, lang=lang, time_step=step)
    server.start()
    url = f"http://{address}:{port}/"
    click.echo(f"sdkit explorer at {url} (Ctrl+C to stop)", err=True)
    if show:
        server.io_loop.add_callback(server.show, "/")
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        server.stop()


def register(group: click.Group) -> None:
    """Add ``brief`` and ``explore`` to the ``sdkit`` command group."""
    group.add_command(brief_command)
    group.add_command(explore_command)

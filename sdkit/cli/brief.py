"""``sdkit brief`` and ``sdkit explore``: thin commands over the briefing and the explorer.

Registered on the main group in :mod:`sdkit.cli.app`. Everything heavy
(PySD, bokeh, selenium) is imported inside the commands.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import click

from sdkit.cli.options import ANY_PATH, FILE, FOLDER
from sdkit.examples import help_epilog

__all__ = ["brief_command", "explore_command", "register", "language_paths",
           "default_scenarios", "default_spec", "default_model"]

_LANG_METAVAR = "[en|zh]"


def _check_langs(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """``--lang`` values, checked with the one-line error of the other options."""
    from sdkit.errors import ParameterValueError
    from sdkit.report.i18n import LANGUAGES

    for lang in (value,) if isinstance(value, str) else value:
        if lang not in LANGUAGES:
            raise ParameterValueError(f"Unknown language {lang!r} for --lang; valid languages: "
                                      f"{', '.join(LANGUAGES)}.")
    return value


_BRIEF_EXAMPLES = help_epilog(
    "sdkit brief -o output/briefing.html --lang en --lang zh",
    "sdkit brief models/empowerment.mdl -o output/briefing.html --scenarios "
    "scenarios/baseline.toml --sensitivity scenarios/sensitivity/talent-investment-morris.toml "
    "--embed output/embed --no-images",
    "sdkit brief models/empowerment.mdl -o output/buyers.html --scenarios "
    "scenarios/baseline.toml --no-sensitivity --show 'Buyers on platform'") + (
    "\nWhat is not given comes from the model card's [briefing] table (scenarios, base, "
    "sensitivity, show); without one: the model alone as its baseline, no sensitivity "
    "section, and the stocks that change most. Without MODEL: the scenarios' model, else "
    "the example shipped with sdkit (see sdkit.examples).")
_EXPLORE_EXAMPLES = help_epilog(
    "sdkit explore",
    "sdkit explore models/empowerment.mdl --port 5007 --lang zh --open",
    "sdkit explore sir.mdl --lever \"contact rate\" --lever \"recovery time\" --show Infected")


def default_scenarios() -> Path:
    """Deprecated: the default scenarios are the model card's ``[briefing] scenarios``.

    ``scenarios`` in the current folder when there is one, else the shipped scenarios.
    """
    import warnings

    warnings.warn("sdkit.cli.brief.default_scenarios is deprecated: the default scenarios "
                  "are the model card's ([briefing] scenarios).", DeprecationWarning,
                  stacklevel=2)
    local = Path("scenarios")
    if local.is_dir():
        return local
    from sdkit import examples

    return examples.scenarios_dir()


def default_spec() -> Path:
    """Deprecated: the default study is the model card's ``[briefing] sensitivity``.

    The Morris spec under the current folder when there is one, else the shipped one.
    """
    import warnings

    warnings.warn("sdkit.cli.brief.default_spec is deprecated: the default study is the "
                  "model card's ([briefing] sensitivity).", DeprecationWarning, stacklevel=2)
    local = Path("scenarios/sensitivity/talent-investment-morris.toml")
    if local.is_file():
        return local
    from sdkit import examples

    return examples.sensitivity_spec()


def default_model() -> Path:
    """``models/empowerment.mdl`` in the current folder when there is one, else the shipped
    model."""
    from sdkit import examples

    local = Path("models") / examples.MODEL_NAME
    return local if local.is_file() else examples.model_path()


def language_paths(output: Path, langs: tuple[str, ...]) -> dict[str, Path]:
    """Where each language's page goes: ``output`` itself for one language, else
    ``output`` with ``.LANG`` before its suffix (``briefing.html`` -> ``briefing.zh.html``)."""
    if len(langs) == 1:
        return {langs[0]: output}
    return {lang: output.with_name(f"{output.stem}.{lang}{output.suffix or '.html'}")
            for lang in langs}


@click.command("brief", epilog=_BRIEF_EXAMPLES)
@click.argument("model", required=False, default=None,
                type=FILE)
@click.option("-o", "--output", required=True, type=FILE,
              help="The HTML file to write (with several --lang, one file per language).")
@click.option("--lang", "langs", multiple=True, default=("en",), show_default=True,
              metavar=_LANG_METAVAR, callback=_check_langs,
              help="Language of the page (en or zh); repeat for several pages.")
@click.option("--embed", type=FOLDER, metavar="DIR",
              help="Also write each chart as components, JSON, PNG and SVG into DIR.")
@click.option("--scenarios", type=ANY_PATH, default=None,
              help="Folder (or file) of scenario files (default: the card's [briefing] "
                   "scenarios, else the model alone as its baseline).")
@click.option("--sensitivity", "spec", type=FILE,
              metavar="SPEC", help="Sensitivity spec (default: the card's [briefing] "
              "sensitivity, else no sensitivity section).")
@click.option("--no-sensitivity", is_flag=True,
              help="No sensitivity study, even if the card names one.")
@click.option("--show", "show", multiple=True, metavar="VAR",
              help="A variable to chart; repeat for several (default: the card's [briefing] "
                   "show, else the stocks that change most, at most 8).")
@click.option("--base", default=None, metavar="NAME",
              help="The scenario the others are compared with (default: the card's, else "
                   "the scenario named baseline, else the first).")
@click.option("--reference", type=FILE, metavar="CSV",
              help="Reference modes (default: the table the base model's card names).")
@click.option("--calibration", type=ANY_PATH, metavar="DIR",
              help="A finished calibration folder (sdkit calibrate ... -o DIR) of the base "
                   "model: the evidence section then shows its fit and hindcast.")
@click.option("--no-images", is_flag=True, help="With --embed, skip the PNG and SVG images.")
def brief_command(model: Path | None, output: Path, langs: tuple[str, ...], embed: Path | None,
                  scenarios: Path | None, spec: Path | None, no_sensitivity: bool,
                  show: tuple[str, ...], base: str | None, reference: Path | None,
                  calibration: Path | None, no_images: bool) -> None:
    """Run MODEL's scenarios (and its sensitivity study) and write the policy briefing (HTML).

    Progress of the long steps (scenario runs, the sensitivity study) goes to stderr.
    """
    from sdkit.report.briefing.inputs import collect_briefing
    from sdkit.report.briefing.page import briefing_charts, render_briefing
    from sdkit.util.files import write_text_atomic

    langs = tuple(dict.fromkeys(langs))
    command = "sdkit brief " + shlex.join(sys.argv[2:]) if sys.argv[1:2] == ["brief"] else \
        f"sdkit brief -o {shlex.quote(str(output))}"
    def say(message: str) -> None:
        click.echo(message, err=True)

    data = collect_briefing(scenarios, spec, model=model,
                            work_dir=output.parent / "sensitivity-{spec}", command=command,
                            reference=reference, calibration=calibration, base=base,
                            show=show, sensitivity=not no_sensitivity, progress=say)
    paths = language_paths(output, langs)
    for lang, path in paths.items():
        others = [p for other, p in paths.items() if other != lang]
        say(f"writing the {lang} page")
        page = render_briefing(data, lang=lang, other_page=others[0].name if others else None)
        click.echo(f"Wrote {write_text_atomic(path, page)}")
    if embed is not None:
        from sdkit.report.embed import write_embeds

        for lang in langs:
            folder = embed / lang if len(langs) > 1 else embed
            say(f"writing the {lang} charts to {folder}")
            files = write_embeds(briefing_charts(data, lang), folder, images=not no_images)
            click.echo(f"Wrote {len(files)} embeddable files to {folder}")


@click.command("explore", epilog=_EXPLORE_EXAMPLES)
@click.argument("model", required=False, default=None,
                type=FILE)
@click.option("--port", default=5006, show_default=True, help="Port to listen on.")
@click.option("--address", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--lang", default="en", metavar=_LANG_METAVAR, callback=_check_langs,
              show_default=True, help="Language (en or zh).")
@click.option("--time-step", type=float, default=None,
              help="Time step of re-runs with PySD, in the model's time unit (default "
                   "0.125; 0 for the model's own).")
@click.option("--lever", "levers", multiple=True, metavar="NAME",
              help="A constant to offer as a slider, over its documented range; repeat "
                   "(default: the card's [briefing] levers).")
@click.option("--show", "shown", multiple=True, metavar="VAR",
              help="A variable to plot; repeat (default: the card's [briefing] explore, "
                   "else the stocks that change most).")
@click.option("--open", "open_browser", is_flag=True, help="Open the explorer in a browser.")
def explore_command(model: Path | None, port: int, address: str, lang: str,
                    time_step: float | None, levers: tuple[str, ...], shown: tuple[str, ...],
                    open_browser: bool) -> None:
    """Start the explorer (a Bokeh server app with sliders for a model's levers) on MODEL.

    MODEL defaults to models/empowerment.mdl, else the model shipped with sdkit.
    """
    from sdkit.report.explore import PREVIEW_TIME_STEP, make_server

    model = model or default_model()
    step = PREVIEW_TIME_STEP if time_step is None else (time_step or None)
    try:
        server = make_server(model, port=port, address=address, lang=lang, time_step=step,
                             levers_=levers, show=shown)
        server.start()
    except OSError as err:  # the port is taken, the address is not this machine's...
        from sdkit.errors import ParameterValueError

        reason = err.strerror or str(err)
        raise ParameterValueError(f"Cannot serve the explorer on {address}:{port}: {reason}; "
                                  "choose another --port or --address.") from err
    url = f"http://{address}:{port}/"
    click.echo(f"sdkit explorer at {url} (Ctrl+C to stop)", err=True)
    if open_browser:
        server.io_loop.add_callback(server.show, "/")
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        server.stop()


def register(group: click.Group) -> None:
    """Deprecated: ``brief`` and ``explore`` are registered with every other command in
    :data:`sdkit.cli.app.COMMANDS`. Adds them to ``group``."""
    import warnings

    warnings.warn("sdkit.cli.brief.register is deprecated: the commands are registered in "
                  "sdkit.cli.app.COMMANDS.", DeprecationWarning, stacklevel=2)
    group.add_command(brief_command)
    group.add_command(explore_command)

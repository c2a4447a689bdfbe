"""``sdkit calibrate``: calibrate a model, validate a spec, report a calibration.

``sdkit calibrate MODEL SPEC -o OUT`` is short for ``sdkit calibrate run MODEL SPEC
-o OUT``. Registered on the main group by :mod:`sdkit.cli.app`; errors become one
line there.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

from sdkit.cli.options import ENGINE, FILE, FOLDER, print_or_update
from sdkit.cli.sensitivity import DefaultRunGroup
from sdkit.examples import help_epilog

__all__ = ["calibrate_group"]

_SPEC = "scenarios/calibration/empowerment-2019.toml"


@click.group("calibrate", cls=DefaultRunGroup, epilog=help_epilog(
    f"sdkit calibrate models/empowerment.mdl {_SPEC} -o output/calibration-quick "
    "--steps 20 --maxiter 3 --no-progress",
    "sdkit calibrate report output/calibration-quick"))
def calibrate_group() -> None:
    """Calibration: `sdkit calibrate MODEL SPEC -o OUT` fits one (see docs/calibration.md)."""


@calibrate_group.command("run", epilog=help_epilog(
    f"sdkit calibrate run models/empowerment.mdl {_SPEC} -o output/calibration-quick "
    "--steps 20 --maxiter 3 --no-progress"))
@click.argument("model", type=FILE)
@click.argument("spec", type=FILE)
@click.option("-o", "--output", required=True, type=FOLDER,
              help="Calibration folder (checkpoints, tables, report.json, report.md).")
@click.option("--steps", type=click.IntRange(min=2), help="Sampler steps per walker "
              "(overrides the spec's sampler.steps; burn-in at most half).")
@click.option("--walkers", type=click.IntRange(min=4), help="Sampler walkers (overrides "
              "the spec).")
@click.option("--maxiter", type=click.IntRange(min=1), help="Optimiser generations "
              "(overrides the spec).")
@click.option("--engine", type=ENGINE,
              help="Run engine (overrides the spec's execution.engine).")
@click.option("--no-progress", is_flag=True, help="Do not show a progress bar.")
@click.option("--replace", is_flag=True, help="Replace a finished calibration of another "
              "spec or model in OUTPUT (one of the same spec and model is always reused).")
def run_command(model: Path, spec: Path, output: Path, steps: int | None, walkers: int | None,
                maxiter: int | None, engine: str | None, no_progress: bool,
                replace: bool = False) -> None:
    """Calibrate MODEL as SPEC says; rerunning an interrupted calibration resumes it."""
    from sdkit.calibration import load_calibration_spec, run_calibration
    from sdkit.calibration.result import report_markdown
    from sdkit.calibration.spec import with_budget
    from sdkit.calibration.study import plan_text
    from sdkit.model.core import load_model

    logging.basicConfig(level=logging.WARNING, format="sdkit: %(message)s")
    loaded = load_model(model)
    checked = with_budget(load_calibration_spec(spec, model=loaded), steps=steps,
                          maxiter=maxiter, walkers=walkers, engine=engine)
    click.echo(plan_text(checked, loaded), err=True)
    try:
        result = run_calibration(checked, output_dir=output, progress=not no_progress,
                                 model=loaded, replace=replace)
    except KeyboardInterrupt:
        click.echo(f"sdkit: interrupted; the finished stages are saved in {output}: run the "
                   "same command again to resume.", err=True)
        raise SystemExit(130) from None
    click.echo(f"Wrote {output}")
    click.echo(report_markdown(result))


@calibrate_group.command("validate", epilog=help_epilog(
    f"sdkit calibrate validate models/empowerment.mdl {_SPEC}"))
@click.argument("model", type=FILE)
@click.argument("specs", nargs=-1, required=True, type=FILE)
def validate_command(model: Path, specs: tuple[Path, ...]) -> None:
    """Check calibration SPECS against the schema, MODEL and their observations."""
    from sdkit.calibration import load_calibration_spec
    from sdkit.model.core import load_model

    loaded = load_model(model)
    for path in specs:
        spec = load_calibration_spec(path, model=loaded)
        click.echo(f"ok: {spec.name} ({path}): {len(spec.parameters)} parameters, "
                   f"{len(spec.observations)} observations")


@calibrate_group.command("report", epilog=help_epilog(
    "sdkit calibrate report output/calibration-quick",
    "sdkit calibrate report output/calibration-quick --update docs/calibration.md"))
@click.argument("folder", type=FOLDER)
@click.option("--update", type=FILE, metavar="FILE.md",
              help="Write the report between the 'calibration-report' markers in FILE.md.")
def report_command(folder: Path, update: Path | None) -> None:
    """Print the report of the calibration in FOLDER, or write it into a page."""
    from sdkit.calibration.result import load_result, report_markdown

    text = report_markdown(load_result(folder), heading="#" if update is None else "###")
    print_or_update(text, update, "calibration-report")

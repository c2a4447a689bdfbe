"""Gather what a briefing shows: run the scenarios and the sensitivity analysis, check evidence.

This is the impure half of the briefing (:mod:`sdkit.report.briefing.page` is the pure
half): it resolves what to show from the model card and the caller's choices
(:mod:`sdkit.report.briefing.plan`), runs the scenarios, calls
``sdkit.sensitivity.run_sensitivity`` when there is a study, reads the reference
modes and a finished calibration (:func:`load_calibration`), collects package
versions, reports each long step to a ``progress`` callback, and returns a
:class:`sdkit.report.briefing.page.BriefingData`. It works for any scalar model: what is
specific to a model comes from its card.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import importlib
import os
import platform
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sdkit.errors import InputFileError, MissingComponentError
from sdkit.report.briefing.page import BriefingData
from sdkit.report.briefing.plan import (
    BriefingPlan,
    default_variables,
    model_time_unit,
    plan_briefing,
)

if TYPE_CHECKING:
    from sdkit.calibration.result import CalibrationResult

__all__ = ["load_run_sensitivity", "versions", "parameter_frame", "load_calibration",
           "collect_briefing", "with_study_base"]

_PACKAGES = ("sdkit", "pysd", "numpy", "pandas", "bokeh", "SALib", "jinja2")


def __getattr__(name: str) -> Any:
    """``DEFAULT_SPEC``: deprecated; the default study is the model card's."""
    if name == "DEFAULT_SPEC":
        import warnings

        warnings.warn("sdkit.report.briefing.inputs.DEFAULT_SPEC is deprecated: the default "
                      "sensitivity study is the model card's ([briefing] sensitivity).",
                      DeprecationWarning, stacklevel=2)
        return Path("scenarios/sensitivity/talent-investment-morris.toml")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_run_sensitivity() -> Callable[..., Any]:
    """Return ``sdkit.sensitivity.run_sensitivity``.

    Raises
    ------
    MissingComponentError
        If the sensitivity package is not installed or lacks ``run_sensitivity``;
        the briefing never silently drops its sensitivity section.
    """
    try:
        module = importlib.import_module("sdkit.sensitivity")
    except ModuleNotFoundError as err:
        if err.name not in ("sdkit.sensitivity",):
            raise MissingComponentError(
                f"sdkit.sensitivity needs the package {err.name!r}; install it "
                f"(pip install {err.name}) to write the briefing's sensitivity section."
            ) from err
        raise MissingComponentError(
            "The briefing needs the sensitivity analysis (sdkit.sensitivity.run_sensitivity), "
            "which is not available in this installation; it cannot be written without its "
            "sensitivity section (write it without one with --no-sensitivity)."
        ) from err
    run = getattr(module, "run_sensitivity", None)
    if run is None:
        raise MissingComponentError(
            "sdkit.sensitivity has no run_sensitivity(spec_path, output_dir=...); the briefing "
            "needs it for its sensitivity section.")
    return run


def versions() -> dict[str, str]:
    """Python and the versions of the packages the results depend on."""
    found = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def parameter_frame(model: Any, sectors: dict[str, str] | None = None) -> pd.DataFrame:
    """The model's constants: ``name, value, units, low, high, comment, sector``.

    ``sectors`` maps a variable to its sector (default the model file's groups,
    :func:`sdkit.report.modeltext.model_sectors`); ``""`` for a constant of none.
    """
    from sdkit.model.constants import constant_values
    from sdkit.report.modeltext import model_sectors

    values = constant_values(model)
    sectors = model_sectors(model.path, model.variables) if sectors is None else sectors
    rows = [{"name": v.name, "value": values[v.name], "units": v.units,
             "low": v.limits[0], "high": v.limits[1], "comment": v.comment,
             "sector": sectors.get(v.name, "")}
            for v in model.constants()]
    return pd.DataFrame(rows, columns=["name", "value", "units", "low", "high", "comment",
                                       "sector"])


def load_calibration(folder: str | os.PathLike[str]) -> CalibrationResult:
    """Read a finished calibration folder for the briefing.

    Returns
    -------
    sdkit.calibration.CalibrationResult

    Raises
    ------
    InputFileError
        If the folder is missing, lacks a file or the calibration did not finish.
    """
    from sdkit.calibration.result import load_result

    if not Path(folder).is_dir():
        raise InputFileError(f"No calibration folder {folder}; give the folder "
                             "`sdkit calibrate MODEL SPEC -o FOLDER` wrote.", path=str(folder))
    return load_result(folder)


def _check_calibrated_model(calibration: CalibrationResult | None, model_path: Path) -> None:
    """The calibration, if any, must be of the briefing's base model (the same file name)."""
    if calibration is None:
        return
    calibrated = Path(str(calibration.manifest.get("model") or "")).name
    if calibrated and calibrated != Path(model_path).name:
        raise InputFileError(
            f"The calibration is of {calibrated}, but the briefing's base scenario runs "
            f"{Path(model_path).name}; give a calibration of the same model.", key="model")


def _loop_scores(plan: BriefingPlan, results: Any, say: Callable[[str], None]
                 ) -> tuple[pd.DataFrame | None, dict[str, dict[str, str]]]:
    """Relative scores of the base run's loop families (the card's ``[[loop_families]]``
    and "other"), or of its main partition's loops without families; and the names of
    the families by language. Nothing for a card without loops.

    The scores come from :func:`sdkit.loops.summary.loop_summary`: from the cache when
    the model, the base run and the card are unchanged."""
    if plan.card is None or not plan.card.loops:
        return None, {}
    from sdkit.loops.summary import loop_summary

    say("scoring loop dominance of the base run")
    scenario = next(s for s in plan.scenarios if s.name == plan.base)
    summary = loop_summary(plan.model, results.wide(plan.base), card=plan.card,
                           params=scenario.params(plan.model),
                           time_step=scenario.run_settings.get("time_step"))
    if summary.cached:
        say("  loop dominance read from the cache")
    if not summary.families.empty:
        return summary.families.rename(columns={"family": "loop"}), summary.family_names
    # shares are relative within a partition: chart the largest one only
    # (a loop alone in its partition, like B4, would always show 100 %)
    main = set(summary.loops.loc[summary.loops["partition"] == 1, "id"])
    return summary.relative[summary.relative["loop"].isin(main)], {}


def _evidence(plan: BriefingPlan, results: Any, reference: Path | None) -> pd.DataFrame | None:
    from sdkit.analysis.evidence import compare_with_reference, load_reference_modes, reference_for

    found = reference_for(plan.model.path, reference)
    if plan.card is None or found is None:
        return None
    return compare_with_reference(results.wide(plan.base), load_reference_modes(found),
                                  plan.card)


def _sensitivity(plan: BriefingPlan, work_dir: Path, executor: str,
                 say: Callable[[str], None]) -> Any:
    if plan.spec is None:
        return None
    run_sensitivity = load_run_sensitivity()
    work_dir = Path(str(work_dir).replace("{spec}", Path(plan.spec).stem))
    say(f"running the sensitivity study {plan.spec} (finished chunks are kept in {work_dir})")
    start = time.monotonic()
    result = run_sensitivity(plan.spec, output_dir=work_dir, executor=executor)
    say(f"sensitivity study done in {time.monotonic() - start:.0f} s")
    return result


def collect_briefing(
    scenarios: Path | None = None, spec: Path | None = None, *, work_dir: Path, command: str,
    model: Path | None = None, reference: Path | None = None, base: str | None = None,
    show: Sequence[str] = (), sensitivity: bool = True, executor: str = "processes",
    progress: Callable[[str], None] | None = None, calibration: Path | None = None,
) -> BriefingData:
    """Run everything a briefing shows.

    What is not given comes from the model's card or a documented default
    (:func:`sdkit.report.briefing.plan.plan_briefing`).

    Parameters
    ----------
    scenarios : Path, optional
        Folder (or file) of scenario files (default the card's; else the model alone).
    spec : Path, optional
        Sensitivity spec (TOML) for ``run_sensitivity`` (default the card's; else none,
        and the page has no sensitivity section).
    work_dir : Path
        Folder for the sensitivity analysis' own output; ``{spec}`` in it is replaced by
        the spec's file stem.
    command : str
        The command line that reproduces the briefing.
    model : Path, optional
        The model (default the scenarios' model, else the example shipped with sdkit).
    reference : Path, optional
        Reference modes CSV (default: the table the card names, when present).
    base : str, optional
        The scenario the others are compared with.
    show : sequence of str
        Variables to chart (default the card's panels, else the stocks that change most).
    sensitivity : bool
        False: no sensitivity study, whatever the card names.
    executor : str
        How ``run_sensitivity`` runs the sample (``"serial"``, ``"processes"``);
        ``work_dir`` keeps finished chunks, so an interrupted briefing resumes.
    progress : callable, optional
        Called with a short message before and after each long step.
    calibration : Path, optional
        A finished calibration folder of the base model (:func:`load_calibration`),
        read before anything runs; the evidence section then shows its fit and hindcast.

    Raises
    ------
    MissingComponentError
        If there is a study and the sensitivity package is absent.
    ScenarioError
        For an unknown base, or scenarios of another model.
    InputFileError
        If ``calibration`` is not a finished calibration of the base model, or the card
        names unknown variables.
    """
    from sdkit.scenarios.runner import run_scenarios

    def say(message: str) -> None:
        if progress is not None:
            progress(message)

    calibrated = None if calibration is None else load_calibration(calibration)
    plan = plan_briefing(model, scenarios, spec, base=base, show=show,
                         sensitivity=sensitivity)
    if plan.spec is not None:
        load_run_sensitivity()  # fail before the long runs
    _check_calibrated_model(calibrated, plan.model.path)
    total = len(plan.scenarios)
    start = time.monotonic()
    say(f"running {total} scenario{'s' if total != 1 else ''} of {plan.model.path.name}")
    results = run_scenarios(plan.scenarios, models={plan.model.path: plan.model},
                            progress=lambda done, _, s: say(
                                f"  scenario {done}/{total} {s.name} "
                                f"({time.monotonic() - start:.0f} s)"))
    result = _sensitivity(plan, work_dir, executor, say)
    loops, loop_names = _loop_scores(plan, results, say)
    card = plan.card
    panels = plan.panels or ()
    variables = [v for p in panels for v in p.variables] or \
        default_variables(plan.model, results.wide(plan.base))
    title = {"en": plan.model.path.stem, "zh": plan.model.path.stem}
    if card is not None:
        title = {"en": card.title_en or title["en"], "zh": card.title_zh or title["zh"]}
    briefing = card.briefing if card is not None else None
    data = BriefingData(
        results=results, scenarios=plan.scenarios, sensitivity=result,
        sensitivity_name=Path(plan.spec).stem if plan.spec is not None else "",
        evidence=_evidence(plan, results, reference),
        parameters=parameter_frame(plan.model, plan.sectors), model_title=title,
        command=command, versions=versions(),
        generated=_dt.datetime.now().strftime("%Y-%m-%d %H:%M"), base=plan.base,
        variables=tuple(variables), stages=card.stages if card else (),
        loops=loops, loop_names=loop_names, calibration=calibrated, panels=tuple(panels),
        time_unit=model_time_unit(plan.model),
        units={v.name: v.units for v in plan.model.variables.values()},
        names=dict(card.names) if card else {},
        sensitivity_title=dict(briefing.sensitivity_title)
        if briefing is not None and plan.card_spec() else {},
        sector_names=dict(briefing.sectors) if briefing is not None else {},
    )
    return with_study_base(data, say)


def with_study_base(data: BriefingData, say: Callable[[str], None] | None = None
                    ) -> BriefingData:
    """The briefing's data with the sensitivity study's own base run, for the fan charts'
    dashed line, when none of the briefing's scenarios is the study's base (a study of the
    bare model, or of a scenario not shown)."""
    from sdkit.report.briefing.charts import study_base
    from sdkit.report.briefing.plan import study_base_run

    if data.sensitivity is None or study_base(data, "en")[0] is not None:
        return data
    if say is not None:
        say("running the sensitivity study's base")
    run = study_base_run(data.sensitivity)
    return data if run is None else dataclasses.replace(data, sensitivity_base=run)

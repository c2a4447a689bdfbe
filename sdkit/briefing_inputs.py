"""Gather what a briefing shows: run the scenarios and the sensitivity analysis, check evidence.

This is the impure half of the briefing (:mod:`sdkit.briefing` is the pure
half): it loads and runs models, calls ``sdkit.sensitivity.run_sensitivity``,
reads the reference modes and a finished calibration (:func:`load_calibration`)
and collects package versions, and returns a :class:`sdkit.briefing.BriefingData`.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import os
import platform
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sdkit.briefing import BriefingData
from sdkit.errors import InputFileError, MissingComponentError, ScenarioError

if TYPE_CHECKING:
    from sdkit.calibration.result import CalibrationResult

__all__ = ["DEFAULT_SPEC", "load_run_sensitivity", "versions", "parameter_frame",
           "load_calibration", "collect_briefing"]

#: The fast talent-investment sensitivity spec used by ``sdkit brief`` and ``make briefing``.
DEFAULT_SPEC = Path("scenarios/sensitivity/talent-investment-morris.toml")
_PACKAGES = ("sdkit", "pysd", "numpy", "pandas", "bokeh", "SALib", "jinja2")


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
            "talent-investment sensitivity section."
        ) from err
    run = getattr(module, "run_sensitivity", None)
    if run is None:
        raise MissingComponentError(
            "sdkit.sensitivity has no run_sensitivity(spec_path, output_dir=...); the briefing "
            "needs it for its talent-investment sensitivity section.")
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


def parameter_frame(model: Any) -> pd.DataFrame:
    """The model's constants: ``name, value, units, low, high, comment``."""
    from sdkit.modeldoc import constant_values

    values = constant_values(model)
    rows = [{"name": v.name, "value": values[v.name], "units": v.units,
             "low": v.limits[0], "high": v.limits[1], "comment": v.comment}
            for v in model.constants()]
    return pd.DataFrame(rows, columns=["name", "value", "units", "low", "high", "comment"])


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


def collect_briefing(
    scenarios: Path, spec: Path, *, work_dir: Path, command: str,
    reference: Path | None = None, base: str = "baseline", executor: str = "processes",
    progress: Callable[[str], None] | None = None, calibration: Path | None = None,
) -> BriefingData:
    """Run everything a briefing shows.

    Parameters
    ----------
    scenarios : Path
        Folder (or file) of scenario files; one must be named ``base``.
    spec : Path
        Sensitivity spec (TOML) for ``run_sensitivity``.
    work_dir : Path
        Folder for the sensitivity analysis' own output.
    command : str
        The command line that reproduces the briefing.
    reference : Path, optional
        Reference modes CSV (default: the shared Ouyeel reference modes, when present).
    executor : str
        How ``run_sensitivity`` runs the sample (``"serial"``, ``"processes"``);
        ``work_dir`` keeps finished chunks, so an interrupted briefing resumes.
    progress : callable, optional
        Called with a short message before each long step.
    calibration : Path, optional
        A finished calibration folder of the base model (:func:`load_calibration`),
        read before anything runs; the evidence section then shows its fit and hindcast.

    Raises
    ------
    MissingComponentError
        If the sensitivity package is absent.
    ScenarioError
        If no scenario is named ``base``.
    InputFileError
        If ``calibration`` is not a finished calibration of the base model.
    """
    from sdkit.card import card_path, load_card
    from sdkit.evidence import compare_with_reference, load_reference_modes, reference_for
    from sdkit.runner import run_scenarios
    from sdkit.scenarios import load_scenarios

    def say(message: str) -> None:
        if progress is not None:
            progress(message)

    calibrated = None if calibration is None else load_calibration(calibration)
    run_sensitivity = load_run_sensitivity()
    loaded = load_scenarios(scenarios)
    by_name = {s.name: s for s in loaded}
    if base not in by_name:
        raise ScenarioError(f"No scenario named {base!r} in {scenarios}; the briefing compares "
                            f"every scenario with it. Scenarios: {sorted(by_name)}.", key="name")
    _check_calibrated_model(calibrated, by_name[base].model_path)
    say(f"running {len(loaded)} scenarios")
    results = run_scenarios(loaded)
    say(f"running the sensitivity analysis {spec}")
    sensitivity = run_sensitivity(spec, output_dir=work_dir, executor=executor)
    from sdkit.model import load_model

    model = load_model(by_name[base].model_path)
    card = load_card(model.path) if card_path(model.path).is_file() else None
    reference = reference_for(model.path, reference)
    evidence = None
    if card is not None and reference is not None:
        evidence = compare_with_reference(results.wide(base), load_reference_modes(reference),
                                          card)
    loops = None
    if card is not None and card.loops:
        from sdkit.loops import loop_dominance

        say("scoring loop dominance of the base run")
        scenario = by_name[base]
        dominance = loop_dominance(model, results.wide(base), card=card,
                                   params=scenario.params(model),
                                   time_step=scenario.run_settings.get("time_step"))
        # shares are relative within a partition: chart the largest one only
        # (a loop alone in its partition, like B4, would always show 100 %)
        main = {loop.id for loop in dominance.loops.loops if loop.partition == 1}
        loops = dominance.relative[dominance.relative["loop"].isin(main)]
    title = {"en": model.path.stem, "zh": model.path.stem}
    if card is not None:
        title = {"en": card.title_en or title["en"], "zh": card.title_zh or title["zh"]}
    thresholds = {rule.threshold for rule in card.transitions} if card else set()
    return BriefingData(
        results=results, scenarios=loaded, sensitivity=sensitivity,
        sensitivity_name=Path(spec).stem, evidence=evidence, parameters=parameter_frame(model),
        model_title=title, command=command, versions=versions(),
        generated=_dt.datetime.now().strftime("%Y-%m-%d %H:%M"), base=base,
        threshold=thresholds.pop() if len(thresholds) == 1 else 0.5,
        stages=card.stages if card else (), loops=loops, calibration=calibrated,
    )

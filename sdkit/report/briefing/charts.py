"""The charts of a policy briefing (:mod:`sdkit.report.briefing.page`), built from its data.

:func:`briefing_charts` returns the page's charts in page order, each named by its
key: one scenario comparison per group of compared outputs
(``scenario_comparison``, ``scenario_comparison_2``...), the stage timeline when
the model's card has stages, the loop dominance when there are loop scores, the
index bars and fan charts of the sensitivity study when there is one, the
evidence fit when there are reference modes, and the calibration's charts. Every
time axis is in the model's time unit, every y axis says its units, and text uses
the embedded CJK font (:mod:`sdkit.report.fonts`). New Bokeh models on every call; no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sdkit.report.i18n import check_lang, short_title, text
from sdkit.scenarios.spec import Scenario

if TYPE_CHECKING:
    from sdkit.report.briefing.page import BriefingData

__all__ = ["briefing_charts", "scenario_labels", "study_base", "MAX_FANS"]

#: Fan charts shown at most (the study's first band variables).
MAX_FANS = 4


def scenario_labels(scenarios: Sequence[Scenario], lang: str) -> dict[str, str]:
    """Scenario name -> short title in ``lang`` (the part before the colon)."""
    return {s.name: short_title(s.title, lang) for s in scenarios}


def _same_file(a: Any, b: Any) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except (OSError, RuntimeError, TypeError):
        return False


def study_base(data: BriefingData, lang: str) -> tuple[pd.DataFrame | None, str]:
    """The sensitivity study's own base run and its name in ``lang``.

    The study's base is its base scenario file (the manifest's ``scenario``), else its
    model as written. The run is :attr:`BriefingData.sensitivity_base` when given, else
    the run of the briefing's scenario with that file (for a study of the bare model: a
    scenario of the same model that changes no constant or input); never the briefing's
    base scenario as such.

    Returns
    -------
    tuple of (pandas.DataFrame or None, str)
        The run (time index, one column per variable) and the name of the study's base;
        ``(None, "")`` when the run is not known.
    """
    manifest = getattr(data.sensitivity, "manifest", None) or {}
    scenario, model = manifest.get("scenario"), manifest.get("model")
    match = None
    for s in data.scenarios:
        if (_same_file(s.path, scenario) if scenario else
                bool(model) and _same_file(s.model_path, model) and not s.constants
                and not s.inputs):
            match = s
            break
    if match is not None:
        name = scenario_labels(data.scenarios, lang)[match.name]
    else:
        name = Path(str(scenario)).stem if scenario else text("legend.model_as_written", lang)
    if data.sensitivity_base is not None:
        return data.sensitivity_base, name
    if match is None:
        return None, ""
    long = data.results.results
    rows = long[long["scenario"] == match.name]
    return rows.pivot_table(index="time", columns="variable", values="value"), name


def _ends(data: BriefingData) -> dict[str, float]:
    results = data.results.results
    return {str(k): float(v) for k, v in
            results.groupby("scenario", sort=False)["time"].max().items()}


def _sensitivity_charts(data: BriefingData, lang: str) -> dict[str, Any]:
    """Index bars of the first outputs, then fan charts with the study's base run dashed."""
    from sdkit.report import plots_sensitivity
    from sdkit.report.wording import output_unit, output_words, unit_word

    if data.sensitivity is None:
        return {}
    charts: dict[str, Any] = {}
    indices, bands = data.sensitivity.indices, data.sensitivity.bands
    info = data.output_info()
    stages = data.voice(lang).stages
    for k, output in enumerate(data.outputs()):
        unit, is_time = output_unit(output, info.get(output), data.units, data.time_unit)
        shown_unit = unit_word(data.time_unit, lang, plural=True) if is_time else unit
        title = output_words(output, lang, info=info.get(output), stages=stages,
                             unit=data.time_unit, names=data.names)
        for method in dict.fromkeys(indices.loc[indices["output"] == output, "method"]):
            if method in plots_sensitivity.METHOD_INDICES:
                charts[f"indices_{method}_{k}"] = plots_sensitivity.index_bars(
                    indices, output, method=str(method), lang=lang, unit=shown_unit,
                    title=title, names=data.names)
    base_run, base_name = study_base(data, lang)
    label = text("legend.study_base", lang, name=base_name)
    for variable in list(dict.fromkeys(bands["variable"]))[:MAX_FANS]:
        baseline = None
        if base_run is not None and variable in base_run:
            column = base_run[variable].dropna()
            baseline = pd.Series(column.to_numpy(float), index=column.index.to_numpy(float))
        charts[f"fan_{variable}"] = plots_sensitivity.fan_chart(
            bands, variable, baseline=baseline, baseline_label=label, lang=lang,
            time_unit=data.time_unit, units=data.units.get(variable, ""), names=data.names)
    return charts


def _comparisons(data: BriefingData, lang: str) -> dict[str, Any]:
    from sdkit.report import plots

    labels = scenario_labels(data.scenarios, lang)
    long = data.results.results
    present = set(long["variable"].unique())
    charts: dict[str, Any] = {}
    for panel in data.shown_panels():
        variables = [v for v in panel.variables if v in present]
        if not variables:
            continue
        name = "scenario_comparison" if not charts else f"scenario_comparison_{len(charts) + 1}"
        charts[name] = plots.scenario_comparison(
            long, variables, labels=labels, lang=lang, time_unit=data.time_unit,
            units=data.units, names=data.names, name=name)
    return charts


def briefing_charts(data: BriefingData, lang: str = "en") -> dict[str, Any]:
    """Build the briefing's charts (new Bokeh models on every call).

    Returns
    -------
    dict of str to bokeh.models.LayoutDOM
        Chart name -> chart, in page order; each chart's ``name`` is its key.
    """
    from sdkit.report.i18n import display_names

    check_lang(lang)
    with display_names(data.names):
        charts = _charts(data, lang)
    for name, chart in charts.items():
        chart.name = name
    return charts


def _charts(data: BriefingData, lang: str) -> dict[str, Any]:
    from sdkit.report import plots, plots_calibration

    labels = scenario_labels(data.scenarios, lang)
    charts = _comparisons(data, lang)
    ends = _ends(data)
    if not data.results.transitions.empty:
        charts["stage_timeline"] = plots.stage_timeline(data.results.transitions, ends,
                                                        labels=labels, lang=lang,
                                                        time_unit=data.time_unit)
    if data.loops is not None and not data.loops.empty:
        spans = plots.stage_spans(data.results.transitions, data.base, ends[data.base]) \
            if not data.results.transitions.empty else None
        labels = {key: names.get(lang) or key for key, names in data.loop_names.items()}
        if data.loop_names:
            labels.setdefault("other", text("loops.other", lang))
        charts["loop_dominance"] = plots.loop_dominance(data.loops, spans, lang=lang,
                                                        labels=labels,
                                                        time_unit=data.time_unit)
    charts.update(_sensitivity_charts(data, lang))
    if data.evidence is not None and not data.evidence.empty:
        charts["evidence_fit"] = plots.evidence_fit(data.evidence, lang=lang)
    if data.calibration is not None:
        charts.update(plots_calibration.calibration_charts(data.calibration, lang,
                                                           data.time_unit))
    return charts

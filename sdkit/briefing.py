"""The policy briefing: one self-contained HTML page from scenario, sensitivity and evidence data.

With a finished calibration (:attr:`BriefingData.calibration`) the evidence section
also shows its fit, posterior bands and hindcast (:mod:`sdkit.plots_calibration`,
:mod:`sdkit.calibration_text`).

:func:`render_briefing` is pure: it takes a :class:`BriefingData` (everything
already computed) and a language and returns the page as a string. The page is
rendered by :func:`bokeh.embed.file_html` with BokehJS inline
(:data:`bokeh.resources.INLINE`), so it opens without a network, through the
Jinja2 template ``sdkit/templates/briefing.html`` with autoescaping always on:
text from files (scenario titles, the model card's names, the model's variable
names, units and comments, the sensitivity spec's name) is shown, never
interpreted; in the charts it is only drawn as text (see :mod:`sdkit.plots`).
:func:`briefing_charts` builds the page's charts (also used for the embeddable
pieces of :mod:`sdkit.embed`). Gathering the data (running models) is
:mod:`sdkit.briefing_inputs`' job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from sdkit.calibration_text import CalibrationLike, calibration_context, until_text
from sdkit.errors import ParameterValueError
from sdkit.findings import (
    evidence_finding,
    hindcast_finding,
    level_finding,
    sensitivity_finding,
    stage_findings,
)
from sdkit.i18n import check_lang, number, output_label, short_title, text, year
from sdkit.runner import ScenarioResults
from sdkit.scenarios import Scenario
from sdkit.stages import Stage

__all__ = ["SensitivityLike", "BriefingData", "DEFAULT_VARIABLES", "briefing_charts",
           "render_briefing", "scenario_labels"]

#: Outputs compared across scenarios unless a briefing names others (one panel each, in
#: this order; the first also gets a key finding): the platform's volume against the online
#: market, its two sides, the three empowerments, the three talent roles, what holds talent
#: back (the budget, the load), the platform's profit, and what its users gain.
DEFAULT_VARIABLES = ("Transaction volume", "platform market share",
                     "Buyers on platform", "Mills on platform",
                     "connection empowerment", "collaborative empowerment",
                     "ecological empowerment", "Experienced representatives",
                     "Experienced experts", "Industrial thinkers",
                     "budget limit", "talent load ratio",
                     "gross profit", "net profit",
                     "cumulative buyer saving", "mill inventory days",
                     "SME financing access")
_TEMPLATE = "briefing.html"
_MAX_FANS = 4
_MAX_OUTPUTS = 4
_FINDING_OUTPUTS = 2


class SensitivityLike(Protocol):
    """What the briefing reads from a sensitivity result (``sdkit.sensitivity``)."""

    indices: pd.DataFrame
    bands: pd.DataFrame


@dataclass(frozen=True)
class BriefingData:
    """Everything a briefing shows, already computed.

    Attributes
    ----------
    results : ScenarioResults
        The scenario runs and their stage transitions.
    scenarios : sequence of Scenario
        The scenarios run, for titles, descriptions and what each changes.
    sensitivity : SensitivityLike
        A sensitivity result (``indices`` and ``bands`` tables).
    sensitivity_name : str
        Name of the sensitivity spec (shown in the text).
    evidence : pandas.DataFrame or None
        :func:`sdkit.evidence.compare_with_reference` of the base run.
    parameters : pandas.DataFrame
        Columns ``name, value, units, low, high, comment``: the model's constants.
    model_title : mapping of str to str
        Model title by language.
    command : str
        The command that reproduces the page.
    versions : mapping of str to str
        Package -> version.
    generated : str
        Date (or date and time) the data were produced.
    base : str
        Scenario the others are compared with.
    variables : sequence of str
        Outputs compared across scenarios.
    threshold : float
        Theme-weight level that marks a stage transition (for the text).
    stages : sequence of Stage
        The model's stages (names in both languages).
    loops : pandas.DataFrame or None
        Relative loop scores of the base run, ``time, loop, score``
        (:attr:`sdkit.loops.LoopDominance.relative`); no loop section without it.
    calibration : CalibrationLike or None
        A finished calibration (:func:`sdkit.calibration.load_result`): the evidence
        section then also shows its fit, posterior bands and hindcast.
    """

    results: ScenarioResults
    scenarios: Sequence[Scenario]
    sensitivity: SensitivityLike
    sensitivity_name: str
    evidence: pd.DataFrame | None
    parameters: pd.DataFrame
    model_title: Mapping[str, str]
    command: str
    versions: Mapping[str, str]
    generated: str
    base: str = "baseline"
    variables: Sequence[str] = DEFAULT_VARIABLES
    threshold: float = 0.5
    stages: Sequence[Stage] = field(default_factory=tuple)
    loops: pd.DataFrame | None = None
    calibration: CalibrationLike | None = None

    def outputs(self) -> list[str]:
        """The sensitivity outputs shown as index bars (at most four, in the spec's order)."""
        outputs = [str(o) for o in dict.fromkeys(self.sensitivity.indices["output"])]
        if not outputs:
            raise ParameterValueError("The sensitivity result has no indices.")
        return outputs[:_MAX_OUTPUTS]


def scenario_labels(scenarios: Sequence[Scenario], lang: str) -> dict[str, str]:
    """Scenario name -> short title in ``lang`` (the part before the colon)."""
    return {s.name: short_title(s.title, lang) for s in scenarios}


def _ends(results: ScenarioResults) -> dict[str, float]:
    return {str(k): float(v) for k, v in
            results.results.groupby("scenario", sort=False)["time"].max().items()}


def _sensitivity_charts(data: BriefingData, lang: str) -> dict[str, Any]:
    """Index bars of the first outputs, then fan charts with the base run dashed."""
    from sdkit import plots_sensitivity

    charts: dict[str, Any] = {}
    indices, bands = data.sensitivity.indices, data.sensitivity.bands
    for k, output in enumerate(data.outputs()):
        for method in dict.fromkeys(indices.loc[indices["output"] == output, "method"]):
            if method in plots_sensitivity.METHOD_INDICES:
                charts[f"indices_{method}_{k}"] = plots_sensitivity.index_bars(
                    indices, output, method=str(method), lang=lang)
    long = data.results.results
    base_rows = long[long["scenario"] == data.base]
    for variable in list(dict.fromkeys(bands["variable"]))[:_MAX_FANS]:
        rows = base_rows[base_rows["variable"] == variable]
        baseline = pd.Series(rows["value"].to_numpy(float), index=rows["time"].to_numpy(float)) \
            if len(rows) else None
        charts[f"fan_{variable}"] = plots_sensitivity.fan_chart(bands, variable,
                                                                baseline=baseline, lang=lang)
    return charts


def briefing_charts(data: BriefingData, lang: str = "en") -> dict[str, Any]:
    """Build the briefing's charts (new Bokeh models on every call).

    Returns
    -------
    dict of str to bokeh.models.LayoutDOM
        Chart name -> chart, in page order; each chart's ``name`` is its key.
    """
    from sdkit import plots, plots_calibration

    check_lang(lang)
    labels = scenario_labels(data.scenarios, lang)
    long = data.results.results
    variables = [v for v in data.variables if v in set(long["variable"])]
    charts: dict[str, Any] = {
        "scenario_comparison": plots.scenario_comparison(long, variables, labels=labels,
                                                         lang=lang),
    }
    if not data.results.transitions.empty:
        charts["stage_timeline"] = plots.stage_timeline(data.results.transitions,
                                                        _ends(data.results), labels=labels,
                                                        lang=lang)
    charts.update(_sensitivity_charts(data, lang))
    if data.loops is not None and not data.loops.empty:
        spans = plots.stage_spans(data.results.transitions, data.base,
                                  _ends(data.results)[data.base])
        charts["loop_dominance"] = plots.loop_dominance(data.loops, spans, lang=lang)
    if data.evidence is not None and not data.evidence.empty:
        charts["evidence_fit"] = plots.evidence_fit(data.evidence, lang=lang)
    if data.calibration is not None:
        charts.update(plots_calibration.calibration_charts(data.calibration, lang))
    for name, chart in charts.items():
        chart.name = name
    return charts


def _transition_table(data: BriefingData, lang: str) -> dict[str, Any]:
    transitions = data.results.transitions
    if transitions.empty:
        return {"header": [], "rows": []}
    key = "stage_zh" if lang == "zh" else "stage_en"
    stages = transitions.drop_duplicates("stage").sort_values("stage")
    names = {int(r.stage): getattr(r, key) or str(r.stage) for r in stages.itertuples()}
    later = [s for s in names if s > 1]
    header = [text("col.scenario", lang)]
    header += [text("col.stage_into", lang, stage=names[s]) for s in later]
    header += [text("col.years_in", lang, stage=names[s]) for s in names]
    labels = scenario_labels(data.scenarios, lang)
    by = {(r.scenario, int(r.stage)): r for r in transitions.itertuples()}
    rows = []
    for scenario in dict.fromkeys(transitions["scenario"]):
        row = [labels.get(scenario, scenario)]
        row += [year(by[scenario, s].time, lang) for s in later]
        row += [f"{by[scenario, s].duration:.2f}" for s in names]
        rows.append(row)
    return {"header": header, "rows": rows}


def _scenario_rows(data: BriefingData, lang: str) -> list[dict[str, str]]:
    rows = []
    for s in data.scenarios:
        changes = [f"{name} = {value:g}" for name, value in s.constants.items()]
        changes += [text("input_form", lang, name=name, form=spec.form)
                    for name, spec in s.inputs.items()]
        rows.append({"title": s.title[lang], "description": s.description[lang],
                     "changes": "; ".join(changes) or text("no_changes", lang)})
    return rows


def _parameter_rows(parameters: pd.DataFrame) -> list[list[str]]:
    rows = []
    for r in parameters.sort_values("name", key=lambda c: c.str.lower()).itertuples():
        low = "?" if pd.isna(r.low) else number(float(r.low))
        high = "?" if pd.isna(r.high) else number(float(r.high))
        bounds = "" if pd.isna(r.low) and pd.isna(r.high) else f"[{low}, {high}]"
        value = r.value if isinstance(r.value, str) else number(float(r.value))
        rows.append([r.name, value, r.units, bounds, r.comment])
    return rows


def _evidence_rows(comparison: pd.DataFrame | None, lang: str) -> list[list[str]]:
    if comparison is None:
        return []
    def fmt(value: float, kind: str) -> str:
        # transition times are years: two decimals, no digit grouping
        return f"{value:.2f}" if kind == "transition" else number(value)

    return [[r.metric, f"{r.time:g}", f"{fmt(r.low, r.kind)} - {fmt(r.high, r.kind)} {r.unit}",
             text("never", lang) if pd.isna(r.model) else fmt(float(r.model), r.kind),
             text("ok", lang) if r.within else text("outside", lang)]
            for r in comparison.itertuples()]


def findings(data: BriefingData, lang: str = "en") -> list[str]:
    """The key-findings sentences of the page, generated from the data."""
    labels = scenario_labels(data.scenarios, lang)
    found = stage_findings(data.results.transitions, labels, _ends(data.results),
                           base=data.base, lang=lang)
    if data.variables:
        found += level_finding(data.results.results, data.variables[0], labels,
                               base=data.base, lang=lang)
    for output in data.outputs()[:_FINDING_OUTPUTS]:
        found += sensitivity_finding(data.sensitivity.indices, output, lang=lang)
    found += evidence_finding(data.evidence, lang=lang)
    if data.calibration is not None:
        until = until_text(data.calibration.manifest.get("train_until"), lang)
        found += hindcast_finding(data.calibration.observations, until=until, lang=lang)
    return found


def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader

    folder = Path(__file__).with_name("templates")
    # escape every value, whatever the template's file name (text from files is never markup)
    return Environment(loader=FileSystemLoader(folder), autoescape=True,
                       trim_blocks=True, lstrip_blocks=True)


def render_briefing(data: BriefingData, *, lang: str = "en", other_page: str | None = None
                    ) -> str:
    """Render the briefing page.

    Parameters
    ----------
    data : BriefingData
    lang : str
        ``"en"`` or ``"zh"``: the language of every label, heading and finding.
    other_page : str, optional
        Relative link to the same briefing in the other language.

    Returns
    -------
    str
        A complete HTML document with BokehJS inline.
    """
    from bokeh.embed import file_html
    from bokeh.resources import INLINE

    check_lang(lang)
    charts = briefing_charts(data, lang)
    title = text("page.title", lang, model=data.model_title.get(lang, ""))
    methods = ", ".join(dict.fromkeys(data.sensitivity.indices["method"]))
    sections = {
        "comparison": ["scenario_comparison"],
        "transitions": [n for n in charts if n == "stage_timeline"],
        "loops": [n for n in charts if n == "loop_dominance"],
        "sensitivity": [n for n in charts if n.startswith(("indices_", "fan_"))],
        "evidence": [n for n in charts if n == "evidence_fit"],
        "calibration_fit": [n for n in charts if n == "calibration_fit"],
        "calibration_bands": [n for n in charts if n.startswith("calibration_band_")],
    }
    variables = {
        "lang": lang, "t": lambda key, **kw: text(key, lang, **kw), "page_title": title,
        "findings": findings(data, lang), "sections": sections,
        "transitions": _transition_table(data, lang), "scenarios": _scenario_rows(data, lang),
        "parameters": _parameter_rows(data.parameters),
        "evidence_rows": _evidence_rows(data.evidence, lang),
        "calibration": None if data.calibration is None
        else calibration_context(data.calibration, lang),
        "threshold": f"{data.threshold:g}", "spec": data.sensitivity_name, "methods": methods,
        "output": text("list.sep", lang).join(output_label(o, lang) for o in data.outputs()),
        "command": data.command,
        "versions": dict(data.versions), "generated": data.generated,
        "other_page": other_page,
    }
    template = _environment().get_template(_TEMPLATE)
    return file_html(list(charts.values()), INLINE, title=title, template=template,
                     template_variables=variables)

"""The policy briefing: one self-contained HTML page from scenario, sensitivity and evidence data.

:func:`render_briefing` is pure: it takes a :class:`BriefingData` (everything
already computed; :mod:`sdkit.report.briefing.inputs` gathers it) and a language and
returns the page as a string. A section is shown only when its data exist: no
stage timeline without stages in the model card, no sensitivity section without a
study, no evidence section without reference modes (with a finished calibration,
:attr:`BriefingData.calibration`, the evidence section also shows its fit and
hindcast). Findings are plain sentences with their technical measure in a footnote
(:mod:`sdkit.report.briefing.findings`); times speak the model's time unit.

The page is rendered by :func:`bokeh.embed.file_html` with BokehJS inline
(:data:`bokeh.resources.INLINE`) and a subset of a CJK font embedded
(:mod:`sdkit.report.fonts`), so it opens without a network or a Chinese font, through the
Jinja2 template ``sdkit/report/briefing/templates/briefing.html`` with autoescaping always on:
text from files (scenario titles, the model card's names, the model's variable
names, units and comments, the sensitivity spec's name) is shown, never
interpreted; in the charts it is only drawn as text (see :mod:`sdkit.report.plots`).
:func:`briefing_charts` builds the page's charts (also used for the embeddable
pieces of :mod:`sdkit.report.embed`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from sdkit.analysis.stages import Stage
from sdkit.errors import ParameterValueError
from sdkit.model.card_briefing import Panel
from sdkit.report.briefing.calibration_text import CalibrationLike, calibration_context, until_text
from sdkit.report.briefing.charts import briefing_charts, scenario_labels
from sdkit.report.briefing.findings import (
    Finding,
    StudyRuns,
    Voice,
    band_finding,
    evidence_finding,
    hindcast_finding,
    level_finding,
    sensitivity_finding,
    stage_findings,
)
from sdkit.report.briefing.tables import (
    evidence_rows,
    parameter_groups,
    scenario_rows,
    sensitivity_title,
    transition_rules,
    transition_table,
)
from sdkit.report.i18n import check_lang, display_names, text
from sdkit.scenarios.runner import ScenarioResults
from sdkit.scenarios.spec import Scenario

__all__ = ["SensitivityLike", "BriefingData", "briefing_charts", "render_briefing",
           "scenario_labels", "findings", "page_document"]

_TEMPLATE = "briefing.html"
_MAX_OUTPUTS = 4
_FINDING_OUTPUTS = 2
#: Replaced by the page's ``@font-face`` rule once the page's text is known.
FONT_PLACEHOLDER = "/* sdkit: embedded font */"


def __getattr__(name: str) -> Any:
    """``DEFAULT_VARIABLES``: deprecated; the variables to show come from the model card."""
    if name == "DEFAULT_VARIABLES":
        import warnings

        from sdkit import examples
        from sdkit.model.card import load_card

        warnings.warn("sdkit.report.briefing.page.DEFAULT_VARIABLES is deprecated: the variables a "
                      "briefing shows come from the model card ([briefing] show) or --show.",
                      DeprecationWarning, stacklevel=2)
        spec = load_card(examples.card_path()).briefing
        return tuple(spec.variables()) if spec is not None else ()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    sensitivity : SensitivityLike or None
        A sensitivity result (``indices`` and ``bands`` tables; its ``manifest``, when
        it has one, names the study's title and outputs); no sensitivity section
        without it.
    sensitivity_name : str
        Name of the sensitivity spec (shown in the text).
    evidence : pandas.DataFrame or None
        :func:`sdkit.analysis.evidence.compare_with_reference` of the base run.
    parameters : pandas.DataFrame
        Columns ``name, value, units, low, high, comment`` (and optionally
        ``sector``): the model's constants.
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
        Outputs compared across scenarios (when ``panels`` is empty, one untitled panel).
    threshold : float
        Kept for compatibility; the transition rules come from the transitions table.
    stages : sequence of Stage
        The model's stages (names in both languages).
    loops : pandas.DataFrame or None
        Relative scores of the base run, ``time, loop, score``: of the card's loop
        families and "other" (:attr:`sdkit.loops.LoopDominance.families`), or of single
        loops (:attr:`~sdkit.loops.LoopDominance.relative`); no loop section without it.
    calibration : CalibrationLike or None
        A finished calibration (:func:`sdkit.calibration.load_result`): the evidence
        section then also shows its fit, posterior bands and hindcast.
    panels : sequence of Panel
        The compared outputs in titled groups (a model card's ``[briefing] show``).
    time_unit : str
        The model's time unit (axes, findings).
    units : mapping of str to str
        Variable -> units (y axes, findings).
    names : mapping
        Variable -> language -> display name (a model card's ``[names]``).
    sensitivity_title : mapping of str to str
        The sensitivity section's title by language (the card's, else the spec's title).
    sector_names : mapping
        Sector -> language -> display name (the card's ``[briefing] sectors``).
    loop_names : mapping
        Loop (or loop family) id in :attr:`loops` -> language -> name; with names,
        :attr:`loops` holds the card's loop families and ``"other"``.
    sensitivity_base : pandas.DataFrame or None
        The sensitivity study's own base run (time index, one column per variable;
        :func:`sdkit.report.briefing.plan.study_base_run`), dashed on the fan charts; without it,
        the run of the scenario whose file is the study's base
        (:func:`sdkit.report.briefing.charts.study_base`), else no dashed line.
    """

    results: ScenarioResults
    scenarios: Sequence[Scenario]
    sensitivity: SensitivityLike | None
    sensitivity_name: str
    evidence: pd.DataFrame | None
    parameters: pd.DataFrame
    model_title: Mapping[str, str]
    command: str
    versions: Mapping[str, str]
    generated: str
    base: str = "baseline"
    variables: Sequence[str] = ()
    threshold: float = 0.5
    stages: Sequence[Stage] = field(default_factory=tuple)
    loops: pd.DataFrame | None = None
    calibration: CalibrationLike | None = None
    panels: Sequence[Panel] = ()
    time_unit: str = "Year"
    units: Mapping[str, str] = field(default_factory=dict)
    names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    sensitivity_title: Mapping[str, str] = field(default_factory=dict)
    sector_names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    loop_names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    sensitivity_base: pd.DataFrame | None = None

    def outputs(self) -> list[str]:
        """The sensitivity outputs shown as index bars (at most four, in the spec's order).

        Raises
        ------
        ParameterValueError
            If the sensitivity result has no indices.
        """
        if self.sensitivity is None:
            return []
        outputs = [str(o) for o in dict.fromkeys(self.sensitivity.indices["output"])]
        if not outputs:
            raise ParameterValueError("The sensitivity result has no indices.")
        return outputs[:_MAX_OUTPUTS]

    def output_info(self) -> dict[str, Mapping[str, Any]]:
        """Output name -> the output as the study's manifest records it (may be empty)."""
        manifest = getattr(self.sensitivity, "manifest", None) or {}
        return {str(o.get("name")): o for o in manifest.get("outputs", []) or []
                if isinstance(o, Mapping)}

    def shown_panels(self) -> list[Panel]:
        """The compared outputs in groups: :attr:`panels`, else :attr:`variables` as one."""
        if self.panels:
            return list(self.panels)
        return [Panel(tuple(self.variables))] if self.variables else []

    def voice(self, lang: str) -> Voice:
        """How the findings of this briefing speak in ``lang``."""
        return Voice(lang, self.time_unit, dict(self.units), dict(self.names),
                     {s.number: (s.name_zh if lang == "zh" else s.name_en)
                      for s in self.stages})


def _ends(results: ScenarioResults) -> dict[str, float]:
    return {str(k): float(v) for k, v in
            results.results.groupby("scenario", sort=False)["time"].max().items()}


def findings(data: BriefingData, lang: str = "en") -> list[Finding]:
    """The key findings of the page (plain sentences and their footnotes), from the data."""
    with display_names(data.names):
        return _findings(data, lang)


def _findings(data: BriefingData, lang: str) -> list[Finding]:
    labels = scenario_labels(data.scenarios, lang)
    voice = data.voice(lang)
    found = stage_findings(data.results.transitions, labels, _ends(data.results),
                           base=data.base, voice=voice)
    shown = [v for panel in data.shown_panels() for v in panel.variables]
    if shown:
        found += level_finding(data.results.results, shown[0], labels, base=data.base,
                               voice=voice)
    if data.sensitivity is not None:
        info = data.output_info()
        runs = StudyRuns.of(data.sensitivity)
        for output in data.outputs()[:_FINDING_OUTPUTS]:
            found += sensitivity_finding(data.sensitivity.indices, output, voice=voice,
                                         info=info.get(output), runs=runs)
        bands = data.sensitivity.bands
        if not bands.empty:
            found += band_finding(bands, str(bands["variable"].iloc[0]), voice=voice)
    found += evidence_finding(data.evidence, lang=lang)
    if data.calibration is not None:
        until = until_text(data.calibration.manifest.get("train_until"), lang, data.time_unit)
        found += hindcast_finding(data.calibration.observations, until=until, lang=lang,
                                  time_unit=data.time_unit)
    return found


def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader

    folder = Path(__file__).with_name("templates")
    # escape every value, whatever the template's file name (text from files is never markup)
    return Environment(loader=FileSystemLoader(folder), autoescape=True,
                       trim_blocks=True, lstrip_blocks=True)


def _sections(data: BriefingData, charts: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """The charts of each section, and the comparison's panels with their headings."""
    panels = [{"title": panel.title(lang), "chart": name} for panel, name in
              zip(data.shown_panels(), [n for n in charts if n.startswith("scenario_comp")],
                  strict=False)]
    return {
        "panels": panels,
        "transitions": [n for n in charts if n == "stage_timeline"],
        "loops": [n for n in charts if n == "loop_dominance"],
        "sensitivity": [n for n in charts if n.startswith(("indices_", "fan_"))],
        "evidence": [n for n in charts if n == "evidence_fit"],
        "calibration_fit": [n for n in charts if n == "calibration_fit"],
        "calibration_bands": [n for n in charts if n.startswith("calibration_band_")],
    }


def _sensitivity_context(data: BriefingData, lang: str) -> dict[str, Any]:
    if data.sensitivity is None:
        return {"title": "", "methods": "", "output": ""}
    from sdkit.report.wording import output_words

    info = data.output_info()
    stages = data.voice(lang).stages
    outputs = [output_words(o, lang, info=info.get(o), stages=stages, unit=data.time_unit,
                            names=data.names) for o in data.outputs()]
    return {"title": sensitivity_title(data, lang),
            "methods": ", ".join(dict.fromkeys(data.sensitivity.indices["method"])),
            "output": text("list.sep", lang).join(outputs)}


def page_document(charts: Iterable[Any]) -> Any:
    """One Bokeh document with every chart as a root, its models collected once.

    ``file_html`` given a list of charts adds them one by one, collecting every model of
    every root again after each (quadratic: seconds for a page's 16 charts).
    """
    from bokeh.document import Document

    doc = Document()
    with doc.models.freeze():
        for chart in charts:
            doc.add_root(chart)
    return doc


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
        A complete HTML document with BokehJS and a CJK font subset inline.
    """
    from bokeh.embed import file_html
    from bokeh.resources import INLINE

    from sdkit.report.fonts import (
        FONT_WAIT_SCRIPT,
        PAGE_FONTS,
        font_face_css,
        page_chars_text,
    )

    check_lang(lang)
    with display_names(data.names):
        charts = briefing_charts(data, lang)
        title = text("page.title", lang, model=data.model_title.get(lang, ""))
        found = findings(data, lang)
        variables = {
            "lang": lang, "t": lambda key, **kw: text(key, lang, **kw), "page_title": title,
            "findings": found, "notes": [f.note for f in found if f.note],
            "sections": _sections(data, charts, lang),
            "transitions": transition_table(data, lang),
            "rules": transition_rules(data.results.transitions, lang),
            "scenarios": scenario_rows(data, lang),
            "parameter_groups": parameter_groups(data, lang),
            "evidence_rows": evidence_rows(data.evidence, lang),
            "calibration": None if data.calibration is None
            else calibration_context(data.calibration, lang, data.time_unit),
            "spec": data.sensitivity_name, "sensitivity": _sensitivity_context(data, lang),
            "command": data.command, "versions": dict(data.versions),
            "generated": data.generated, "other_page": other_page,
            "time_unit": data.time_unit, "fonts": PAGE_FONTS, "font_wait": FONT_WAIT_SCRIPT,
            "loop_families": bool(data.loop_names),
            "font_placeholder": FONT_PLACEHOLDER,
        }
        template = _environment().get_template(_TEMPLATE)
        page = file_html(page_document(charts.values()), INLINE, title=title, template=template,
                         template_variables=variables)
    return page.replace(FONT_PLACEHOLDER, font_face_css(page_chars_text(page)), 1)

"""The explorer: a Bokeh server app with sliders for a model's levers that re-runs it.

Works for any model: the sliders are the card's ``[briefing] levers`` or the
constants given with ``--lever`` (each over its documented range), the plots the
card's ``[briefing] explore`` variables, else its first four charted ones, else
``--show``, else the stocks that change most; the stage timeline appears where the
card has stages. Moving a slider (on release) re-runs the model with the sliders'
values in a worker thread and updates the plotted lines; the baseline stays as a grey
dashed line. Re-runs go through :class:`sdkit.engine.batch.BatchRunner` (``engine="auto"``):
the ensemble engine, compiled once for the levers (milliseconds a run, equal to PySD),
else PySD with a coarser time step (see :class:`Runner`).
``benchmarks/bench_explore.py`` measures it.

Text from the model and its card (variable and stage names) and error messages
are shown as text, never as HTML or TeX: the page's ``Div`` models render as
text and titles pass through :func:`sdkit.report.i18n.no_math`. The plots are the briefing's
(:func:`sdkit.report.plot_parts.explorer_figures`: time and units as axis titles, thousands
separators, the legend outside), and the page embeds the CJK font as the briefing does
(:mod:`sdkit.report.fonts`), so Chinese text shows where the reader has no Chinese font.

:func:`make_server` builds a :class:`bokeh.server.server.Server`
programmatically; ``sdkit explore`` starts it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from sdkit.errors import ParameterValueError
from sdkit.report.i18n import no_math, text, variable_label

__all__ = ["Lever", "levers", "explorer_choice", "Runner", "make_app", "make_server"]

log = logging.getLogger(__name__)

#: Time step of PySD re-runs (the model's own is 1/32 year; see docs/briefing.md).
PREVIEW_TIME_STEP = 0.125
#: Plots at most, when neither the card nor ``--show`` names them.
MAX_SHOWN = 4
_SPAN = 4.0  # an open-ended slider reaches this multiple of the model's value


def __getattr__(name: str) -> Any:
    """``LEVERS`` and ``SHOWN``: deprecated; they come from the model card."""
    if name in ("LEVERS", "SHOWN"):
        import warnings

        from sdkit import examples
        from sdkit.model.card import load_card

        warnings.warn(f"sdkit.report.explore.{name} is deprecated: the explorer's levers and plots "
                      "come from the model card ([briefing] levers, explore) or --lever and "
                      "--show.", DeprecationWarning, stacklevel=2)
        spec = load_card(examples.card_path()).briefing
        if spec is None:
            return ()
        return spec.levers if name == "LEVERS" else spec.explore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class Lever:
    """One slider: a model constant, its range, step and starting value."""

    name: str
    start: float
    end: float
    step: float
    value: float


def levers(model: Any, values: Mapping[str, float | str], names: Sequence[str]) -> list[Lever]:
    """Sliders for ``names``: the documented range, an open end at four times the value.

    Parameters
    ----------
    model : sdkit.model.core.Model
    values : mapping
        Each constant's value in the model (see :func:`sdkit.report.modeldoc.constant_values`).
    names : sequence of str
        The constants (real or py names).

    Raises
    ------
    UnknownVariableError
        For a name that is not a variable (with close matches).
    ParameterValueError
        For a variable that is not a scalar constant.
    """
    found = []
    for name in names:
        var = model.variable(name)
        if var.kind != "constant":
            raise ParameterValueError(f"The lever {var.name!r} is a {var.kind}, not a "
                                      "constant; the explorer moves constants only.")
        if isinstance(values[var.name], str):
            raise ParameterValueError(f"The lever {var.name!r} is subscripted; the explorer "
                                      "moves scalar constants only.")
        value = float(values[var.name])
        low = var.limits[0] if var.limits[0] is not None else 0.0
        high = value * _SPAN if value > low else low + 1.0
        if var.limits[1] is not None:
            high = min(var.limits[1], high) if value > 0 else var.limits[1]
        found.append(Lever(var.name, low, high, (high - low) / 200, value))
    return found


def explorer_choice(model: Any, *, levers: Sequence[str] = (), show: Sequence[str] = (),
                    baseline: pd.DataFrame | None = None) -> tuple[list[str], list[str]]:
    """The explorer's levers and plotted variables for ``model``.

    Levers: ``levers``, else the card's ``[briefing] levers``. Plots: ``show``, else the
    card's ``[briefing] explore``, else its first :data:`MAX_SHOWN` charted variables,
    else the stocks that change most in ``baseline``
    (:func:`sdkit.report.briefing.plan.default_variables`).

    Raises
    ------
    ParameterValueError
        When no lever is named (the card has none and ``--lever`` was not given).
    """
    from sdkit.model.card import card_path, load_card

    card = load_card(model.path) if card_path(model.path).is_file() else None
    spec = card.briefing if card is not None else None
    chosen = list(levers) or list(spec.levers if spec is not None else ())
    if not chosen:
        constants = [v.name for v in model.constants()][:5]
        raise ParameterValueError(
            f"No levers for {model.path.name}: name constants with --lever NAME (e.g. "
            f"{', '.join(repr(c) for c in constants)}) or list them in the card's "
            "[briefing] levers.")
    shown = list(show) or list(spec.explore if spec is not None else ())
    if not shown and spec is not None:
        shown = spec.variables()[:MAX_SHOWN]
    if not shown:
        from sdkit.report.briefing.plan import default_variables

        run = baseline if baseline is not None else model.run(engine="auto")
        shown = default_variables(model, run, MAX_SHOWN)
    return [model.variable(n).name for n in chosen], [model.variable(n).name for n in shown]


class Runner:
    """One model re-run with given lever values, returning the shown outputs.

    Runs go through :class:`sdkit.engine.batch.BatchRunner` with ``engine="auto"``: the
    ensemble engine compiled once for the levers and outputs, integrating one
    parameter set with the model's own time step (its results equal PySD's), or,
    where the engine refuses the model, :meth:`sdkit.model.core.Model.run` with
    ``time_step`` (default :data:`PREVIEW_TIME_STEP`; None for the model's own).

    Parameters
    ----------
    model : sdkit.model.core.Model
    defaults : mapping of str to float
        Every lever and its value when not given to :meth:`__call__`.
    columns : sequence of str
        Outputs to return.
    time_step : float or None
        Time step of PySD re-runs.
    use_engine : bool
        Use the ensemble engine where it accepts the model.
    """

    def __init__(self, model: Any, defaults: Mapping[str, float], columns: Sequence[str],
                 time_step: float | None = PREVIEW_TIME_STEP, use_engine: bool = True) -> None:
        from sdkit.engine.batch import BatchRunner

        self.model = model
        self.defaults = dict(defaults)
        self.columns = list(columns)
        self.time_step = time_step
        self._batch = BatchRunner(model, list(self.defaults), self.columns,
                                  engine="auto" if use_engine else "pysd")
        self._batch.resolve()

    @property
    def engine(self) -> str:
        """``"sdkit.engine"`` or ``"PySD"``: what runs the re-runs."""
        return "sdkit.engine" if self._batch.name == "ensemble" else "PySD"

    def __call__(self, params: Mapping[str, float]) -> pd.DataFrame:
        """Run once; a table indexed by time with one column per shown output."""
        values = {**self.defaults, **params}
        if self._batch.name == "ensemble":
            times, runs = self._batch.run(pd.DataFrame({k: [float(v)] for k, v in
                                                        values.items()}))
            frame = pd.DataFrame({c: runs[c][0] for c in self.columns},
                                 index=pd.Index(times, name="time"))
            return frame
        settings: dict[str, float] = {}
        if self.time_step is not None:
            settings["time_step"] = self.time_step
            saveper = max(self.time_step, self.model.saveper)
            settings["saveper"] = round(saveper / self.time_step) * self.time_step
        return self.model.run(values, return_columns=self.columns, engine="pysd", **settings)


def _transitions_text(model: Any, run: pd.DataFrame, lang: str) -> str:
    from sdkit.analysis.stages import detect_stages
    from sdkit.model.card import card_path, load_card
    from sdkit.report.i18n import year

    if not card_path(model.path).is_file():
        return ""
    card = load_card(model.path)
    rules = [r for r in card.transitions if r.variable in run.columns]
    if not rules:
        return ""
    report = detect_stages(run, rules)
    names = {s.number: (s.name_zh if lang == "zh" else s.name_en) for s in card.stages}
    parts = [text("col.stage_into", lang, stage=names.get(t.to_stage, t.to_stage)) + ": "
             + year(t.time, lang) for t in report.transitions]
    return " · ".join(parts)


def make_app(model: Any, runner: Runner, *, lang: str = "en") -> Callable[[Any], None]:
    """A Bokeh application function: sliders, linked plots with their legend, a status line.

    The baseline, the constants' values and the embedded font's subset (computed for the
    first session) are shared by every browser session.
    """
    from sdkit.model.card import card_path, load_card
    from sdkit.model.constants import constant_values
    from sdkit.report.i18n import display_names

    sliders_spec = levers(model, constant_values(model), list(runner.defaults))
    baseline = runner({})
    card = load_card(model.path) if card_path(model.path).is_file() else None
    names = card.names if card is not None else {}
    fonts: dict[str, str] = {}

    def build(doc: Any) -> None:
        with display_names(names):  # the card's names of variables, in the page's language
            _build_document(doc, model, runner, sliders_spec, baseline, lang)
        _embed_font(doc, fonts, card, runner, lang)

    return build


def _embed_font(doc: Any, fonts: dict[str, str], card: Any, runner: Runner,
                lang: str) -> None:
    """Give the page the embedded CJK font (:mod:`sdkit.report.fonts`): subset to the document's
    text and to the messages and stage names it may show later, computed once."""
    from sdkit.report.fonts import bokeh_template, document_text, font_face_css

    if "css" not in fonts:
        later = [text("explore.running", lang),
                 text("explore.status", lang, engine=runner.engine, seconds="0123456789.")]
        for stage in card.stages if card is not None else ():
            later.append(text("col.stage_into", lang,
                              stage=stage.name_zh if lang == "zh" else stage.name_en))
        fonts["css"] = font_face_css(" ".join([document_text(doc), *later]))
    template, variables = bokeh_template(fonts["css"])
    doc.template = template
    doc.template_variables.update(variables)


def _build_document(doc: Any, model: Any, runner: Runner, specs: list[Lever],
                    baseline: pd.DataFrame, lang: str) -> None:
    from bokeh.layouts import column, gridplot, row
    from bokeh.models import ColumnDataSource, Div, Slider

    def data(run: pd.DataFrame) -> dict[str, Any]:
        table = {"time": run.index.to_numpy(float)}
        table.update({f"v{i}": run[c].to_numpy(float) for i, c in enumerate(runner.columns)})
        return table

    current = ColumnDataSource(data(baseline), name="current")
    base = ColumnDataSource(data(baseline), name="baseline")
    from sdkit.report.briefing.plan import model_time_unit
    from sdkit.report.plot_parts import explorer_figures

    figures, legend = explorer_figures(
        runner.columns, baseline, base, current, time_unit=model_time_unit(model), lang=lang,
        units={c: model.variable(c).units for c in runner.columns})
    sliders = [Slider(title=no_math(variable_label(s.name, lang)), start=s.start, end=s.end,
                      step=s.step, value=s.value, name=s.name, width=280, format="0[.]000")
               for s in specs]
    # text-only Divs: stage names (from the model card) and error messages are never HTML
    status = Div(text="", name="status", width=280, render_as_text=True)
    stages = Div(text=_transitions_text(model, baseline, lang), name="stages", width=840,
                 render_as_text=True)
    executor = ThreadPoolExecutor(max_workers=1)
    state: dict[str, Any] = {"busy": False, "pending": None}

    def start() -> None:
        params, state["pending"] = state["pending"], None
        state["busy"] = True
        status.text = text("explore.running", lang)
        began = time.perf_counter()
        future = executor.submit(runner, params)
        future.add_done_callback(lambda f: doc.add_next_tick_callback(partial(done, f, began)))

    def done(future: Future, began: float) -> None:
        state["busy"] = False
        try:
            run = future.result()
        except Exception as err:  # show any model failure in the page, keep the app alive
            status.text = f"{type(err).__name__}: {err}"
        else:
            current.data = data(run)
            stages.text = _transitions_text(model, run, lang)
            status.text = text("explore.status", lang, engine=runner.engine,
                               seconds=f"{time.perf_counter() - began:.2f}")
        if state["pending"] is not None:
            start()

    def changed(attr: str, old: Any, new: Any) -> None:
        state["pending"] = {s.name: float(s.value) for s in sliders}
        if not state["busy"]:
            start()

    for slider in sliders:
        slider.on_change("value_throttled", changed)
    doc.on_session_destroyed(lambda context: executor.shutdown(wait=False))
    grid = gridplot(figures, ncols=2, toolbar_location="right")
    # the legend is a child of the outer row: nested in a row in a column, Bokeh 3.9
    # collapses the plots
    doc.add_root(row(column(*sliders, status), column(grid, stages), legend, name="explorer"))
    doc.title = text("explore.title", lang, model=model.path.name)


def make_server(model_path: str | Path, *, port: int = 5006, address: str = "127.0.0.1",
                lang: str = "en", time_step: float | None = PREVIEW_TIME_STEP,
                levers_: Sequence[str] = (), show: Sequence[str] = ()) -> Any:
    """A Bokeh server (not started) serving the explorer at ``/``.

    Parameters
    ----------
    model_path : path-like
        The model file.
    port, address : int, str
        Where to listen (localhost by default).
    lang : str
        ``"en"`` or ``"zh"``.
    time_step : float or None
        Time step of PySD re-runs; None for the model's own.
    levers_, show : sequence of str
        Sliders and plotted variables instead of the card's (:func:`explorer_choice`).

    Returns
    -------
    bokeh.server.server.Server
        Call ``start()`` and then ``io_loop.start()``.
    """
    from bokeh.application import Application
    from bokeh.application.handlers.function import FunctionHandler
    from bokeh.server.server import Server

    from sdkit.model.constants import constant_values
    from sdkit.model.core import load_model
    from sdkit.report.i18n import check_lang

    check_lang(lang)
    model = load_model(model_path)
    chosen, shown = explorer_choice(model, levers=levers_, show=show)
    defaults = {lever.name: lever.value for lever in levers(model, constant_values(model),
                                                               chosen)}
    app = make_app(model, Runner(model, defaults, shown, time_step=time_step), lang=lang)
    origins = [f"localhost:{port}", f"127.0.0.1:{port}", f"{address}:{port}"]
    return Server({"/": Application(FunctionHandler(app))}, port=port, address=address,
                  allow_websocket_origin=origins)

"""The explorer: a Bokeh server app with sliders for the main levers that re-runs the model.

Moving a slider (on release) re-runs the model with the sliders' values in a
worker thread and updates the plotted lines; the baseline stays as a grey dashed
line. One re-run uses ``sdkit.engine.run_ensemble`` with one parameter set when
that engine is installed, else PySD with a coarser time step (1/8 year by
default; see :class:`Runner`), which keeps a re-run near one second.
``benchmarks/bench_explore.py`` measures it.

Text from the model and its card (variable and stage names) and error messages
are shown as text, never as HTML or TeX: the page's ``Div`` models render as
text and titles pass through :func:`sdkit.i18n.no_math`.

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
from sdkit.i18n import no_math, text, variable_label

__all__ = ["LEVERS", "SHOWN", "Lever", "levers", "Runner", "make_app", "make_server"]

log = logging.getLogger(__name__)

#: Constants the explorer offers as sliders.
LEVERS = ("talent budget share", "technology budget share", "attrition rate",
          "initial angel resources", "base uncertainty of connection",
          "base uncertainty of collaboration", "base uncertainty of ecology")
#: Outputs the explorer plots.
SHOWN = ("Buyers on platform", "Mills on platform", "Intelligentization theme weight",
         "Ecologization theme weight")
#: Time step of PySD re-runs (the model's own is 1/32 year; see docs/briefing.md).
PREVIEW_TIME_STEP = 0.125
_SPAN = 4.0  # an open-ended slider reaches this multiple of the model's value


@dataclass(frozen=True)
class Lever:
    """One slider: a model constant, its range, step and starting value."""

    name: str
    start: float
    end: float
    step: float
    value: float


def levers(model: Any, values: Mapping[str, float | str], names: Sequence[str] = LEVERS
           ) -> list[Lever]:
    """Sliders for ``names``: the documented range, an open end at four times the value.

    Parameters
    ----------
    model : sdkit.model.Model
    values : mapping
        Each constant's value in the model (see :func:`sdkit.modeldoc.constant_values`).
    """
    found = []
    for name in names:
        var = model.variable(name)
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


def _ensemble(model: Any, levers: Sequence[str], columns: Sequence[str]) -> Any | None:
    """``sdkit.engine.Ensemble`` compiled for these levers and outputs, or None without it."""
    try:
        from sdkit.engine import Ensemble
    except ImportError:
        return None
    from sdkit.errors import SdkitError

    try:
        return Ensemble(model, list(levers), list(columns))
    except SdkitError as err:  # e.g. UnsupportedConstructError: PySD runs the model instead
        log.warning("The ensemble engine cannot run %s (%s); using PySD.", model.path.name, err)
        return None


class Runner:
    """One model re-run with given lever values, returning the shown outputs.

    With the ensemble engine (``sdkit.engine``) the model is compiled once for
    the levers and outputs and each re-run integrates one parameter set (N=1)
    with the model's own time step (its results equal PySD's). Without it,
    :meth:`sdkit.model.Model.run` runs with ``time_step`` (default
    :data:`PREVIEW_TIME_STEP`; None for the model's own).

    Parameters
    ----------
    model : sdkit.model.Model
    defaults : mapping of str to float
        Every lever and its value when not given to :meth:`__call__`.
    columns : sequence of str
        Outputs to return.
    use_engine : bool
        Use the ensemble engine when it is installed.
    """

    def __init__(self, model: Any, defaults: Mapping[str, float], columns: Sequence[str] = SHOWN,
                 time_step: float | None = PREVIEW_TIME_STEP, use_engine: bool = True) -> None:
        self.model = model
        self.defaults = dict(defaults)
        self.columns = list(columns)
        self.time_step = time_step
        self._ensemble = _ensemble(model, list(self.defaults), self.columns) if use_engine \
            else None

    @property
    def engine(self) -> str:
        """``"sdkit.engine"`` or ``"PySD"``."""
        return "sdkit.engine" if self._ensemble is not None else "PySD"

    def __call__(self, params: Mapping[str, float]) -> pd.DataFrame:
        """Run once; a table indexed by time with one column per shown output."""
        values = {**self.defaults, **params}
        if self._ensemble is not None:
            run = self._ensemble.run(pd.DataFrame({k: [float(v)] for k, v in values.items()}))
            return run.frame(0)[self.columns]
        settings: dict[str, float] = {}
        if self.time_step is not None:
            settings["time_step"] = self.time_step
            saveper = max(self.time_step, self.model.saveper)
            settings["saveper"] = round(saveper / self.time_step) * self.time_step
        return self.model.run(values, return_columns=self.columns, **settings)


def _transitions_text(model: Any, run: pd.DataFrame, lang: str) -> str:
    from sdkit.card import card_path, load_card
    from sdkit.i18n import year
    from sdkit.stages import detect_stages

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
    """A Bokeh application function: sliders, four linked plots, a status line.

    The baseline and the constants' values are computed once here and shared by
    every browser session.
    """
    sliders_spec = levers(model, runner.defaults, list(runner.defaults))
    baseline = runner({})

    def build(doc: Any) -> None:
        _build_document(doc, model, runner, sliders_spec, baseline, lang)

    return build


def _build_document(doc: Any, model: Any, runner: Runner, specs: list[Lever],
                    baseline: pd.DataFrame, lang: str) -> None:
    from bokeh.layouts import column, gridplot, row
    from bokeh.models import ColumnDataSource, Div, Range1d, Slider
    from bokeh.plotting import figure

    def data(run: pd.DataFrame) -> dict[str, Any]:
        table = {"time": run.index.to_numpy(float)}
        table.update({f"v{i}": run[c].to_numpy(float) for i, c in enumerate(runner.columns)})
        return table

    current = ColumnDataSource(data(baseline), name="current")
    base = ColumnDataSource(data(baseline), name="baseline")
    x_range = Range1d(float(baseline.index[0]), float(baseline.index[-1]))
    figures = []
    for i, name in enumerate(runner.columns):
        fig = figure(title=no_math(variable_label(name, lang)), width=420, height=250,
                     x_range=x_range, tools="pan,wheel_zoom,box_zoom,reset,hover",
                     tooltips=[(text("axis.year", lang), "@time{0.00}"),
                               (text("axis.value", lang), f"@v{i}{{0,0.[000]}}")])
        fig.line("time", f"v{i}", source=base, color="#999999", line_dash="dashed",
                 legend_label=text("legend.baseline", lang))
        fig.line("time", f"v{i}", source=current, color="#d62728", line_width=2,
                 legend_label=text("explore.current", lang))
        fig.legend.location = "top_left"
        fig.yaxis.formatter.use_scientific = False
        figures.append(fig)
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
    doc.add_root(row(column(*sliders, status), column(grid, stages), name="explorer"))
    doc.title = text("explore.title", lang, model=model.path.name)


def make_server(model_path: str | Path, *, port: int = 5006, address: str = "127.0.0.1",
                lang: str = "en", time_step: float | None = PREVIEW_TIME_STEP) -> Any:
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

    Returns
    -------
    bokeh.server.server.Server
        Call ``start()`` and then ``io_loop.start()``.
    """
    from bokeh.application import Application
    from bokeh.application.handlers.function import FunctionHandler
    from bokeh.server.server import Server

    from sdkit.i18n import check_lang
    from sdkit.model import load_model

    check_lang(lang)
    from sdkit.modeldoc import constant_values

    model = load_model(model_path)
    values = constant_values(model)
    defaults = {lever.name: lever.value for lever in levers(model, values)}
    app = make_app(model, Runner(model, defaults, time_step=time_step), lang=lang)
    origins = [f"localhost:{port}", f"127.0.0.1:{port}", f"{address}:{port}"]
    return Server({"/": Application(FunctionHandler(app))}, port=port, address=address,
                  allow_websocket_origin=origins)

"""What people read and look at: text, plots, the briefing, embeddable pieces, the explorer.

* :mod:`sdkit.report.text`: plain-text, Markdown and JSON renderings for the CLI.
* :mod:`sdkit.report.plots` (with ``plot_parts``, ``plots_sensitivity``,
  ``plots_calibration``): Bokeh figure factories, tables in, figures out.
* :mod:`sdkit.report.briefing`: the policy briefing page.
* :mod:`sdkit.report.embed`: components, JSON items, PNG and SVG of the charts.
* :mod:`sdkit.report.explore`: the explorer, a Bokeh server app.
* :mod:`sdkit.report.i18n`, :mod:`sdkit.report.wording`, :mod:`sdkit.report.fonts`:
  messages in two languages, plain words for numbers, the embedded CJK font.
* :mod:`sdkit.report.modeldoc`, :mod:`sdkit.report.modeltext`: a model documented in
  Markdown tables and in readers' words.

``sdkit.report`` was a module in sdkit 0.1; its public names are still here.
"""

from __future__ import annotations

from sdkit.util.moved import package_exports

__all__ = ["format_number", "summary_times", "stock_summary", "short_table", "info_text",
           "info_json", "write_text", "write_csv", "render_table", "evidence_table",
           "render_briefing"]

__getattr__, __dir__ = package_exports(__name__, {
    "sdkit.report.text": __all__[:-1], "sdkit.report.briefing.page": ["render_briefing"]},
    legacy="sdkit.report.text")

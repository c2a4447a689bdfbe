"""The policy briefing: one self-contained HTML page from a model's scenarios and studies.

* :mod:`sdkit.report.briefing.plan`: what a briefing shows (the card's ``[briefing]``).
* :mod:`sdkit.report.briefing.inputs`: run the scenarios and studies, check evidence.
* :mod:`sdkit.report.briefing.findings`: key findings generated from the numbers.
* :mod:`sdkit.report.briefing.charts`, :mod:`sdkit.report.briefing.tables`: its parts.
* :mod:`sdkit.report.briefing.page`: :func:`render_briefing`, the page itself.
* ``messages``, ``calibration_messages``, ``calibration_text``: its words.
"""

from __future__ import annotations

from sdkit.util.moved import package_exports

__all__ = ["BriefingData", "render_briefing"]

__getattr__, __dir__ = package_exports(__name__, {"sdkit.report.briefing.page": __all__})

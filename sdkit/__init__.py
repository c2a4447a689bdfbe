"""sdkit: run and explore system-dynamics models.

``import sdkit`` is cheap: the public functions are imported on first use, so
neither PySD nor plotting libraries are loaded until a model is.

Examples
--------
>>> import sdkit
>>> model = sdkit.load_model("models/empowerment.mdl")  # doctest: +SKIP
>>> results = model.run({"some constant": 2.0}, final_time=2040)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

from sdkit.util import moved as _moved

__version__ = "0.1.0"

__all__ = ["__version__", "errors", "load_model", "run", "Scenario", "load_scenarios",
           "run_scenarios", "detect_stages", "sensitivity", "find_loops", "loop_dominance",
           "check_model", "export_xmile", "render_briefing", "calibrate", "calibration"]

_LAZY = {"load_model": "sdkit.model.core", "run": "sdkit.model.core", "errors": None,
         "Scenario": "sdkit.scenarios.spec", "load_scenarios": "sdkit.scenarios.spec",
         "run_scenarios": "sdkit.scenarios.runner", "detect_stages": "sdkit.analysis.stages",
         "sensitivity": None,
         "find_loops": "sdkit.loops", "loop_dominance": "sdkit.loops",
         "check_model": "sdkit.checks", "export_xmile": "sdkit.xmile.writer",
         "render_briefing": "sdkit.report.briefing.page", "examples": None,
         "calibrate": "sdkit.calibration", "calibration": None}

_moved.install()


def __getattr__(name: str) -> Any:
    """Import public names on first access (PEP 562)."""
    if name not in _LAZY:
        raise AttributeError(f"module 'sdkit' has no attribute {name!r}")
    module_name = _LAZY[name]
    if module_name is None:
        value = importlib.import_module(f"sdkit.{name}")
    else:
        value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

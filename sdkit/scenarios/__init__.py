"""Scenarios: files, inputs, runs, Monte Carlo bands, results on disk and their reports.

* :mod:`sdkit.scenarios.spec`: scenario files, their schema and validation.
* :mod:`sdkit.scenarios.inputs`: time-varying inputs given as data.
* :mod:`sdkit.scenarios.runner`: run scenarios, collect results and stage transitions.
* :mod:`sdkit.scenarios.bands`: Monte Carlo bands over unsourced assumptions.
* :mod:`sdkit.scenarios.store`: scenario results as Parquet and CSV.
* :mod:`sdkit.report.scenarios`: text and Markdown renderings.

``sdkit.scenarios`` was a module in sdkit 0.1; its public names are still here.
"""

from __future__ import annotations

from sdkit.util.moved import package_exports

__all__ = ["SCHEMA", "Scenario", "ScenarioValidator", "load_scenario", "load_scenarios",
           "scenario_files"]

__getattr__, __dir__ = package_exports(__name__, {"sdkit.scenarios.spec": __all__},
                                       legacy="sdkit.scenarios.spec")

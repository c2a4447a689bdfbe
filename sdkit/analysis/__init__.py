"""Analyses of runs: stage transitions, evidence against reference modes, growth channels.

* :mod:`sdkit.analysis.stages`: series in, transition times and stage durations out.
* :mod:`sdkit.analysis.evidence`: the reference modes a baseline run must reproduce.
* :mod:`sdkit.analysis.channels`: the share of an output's growth due to named channels.
"""

from __future__ import annotations

from sdkit.util.moved import package_exports

__all__ = ["detect_stages", "compare_with_reference", "decompose"]

__getattr__, __dir__ = package_exports(__name__, {
    "sdkit.analysis.stages": ["detect_stages"],
    "sdkit.analysis.evidence": ["compare_with_reference"],
    "sdkit.analysis.channels": ["decompose"]})

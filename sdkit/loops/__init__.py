"""Feedback-loop analysis: causal graph, loops, polarity and loop dominance.

* :mod:`sdkit.loops.graph`: the causal graph from the IR, bounded loop
  enumeration, naming by a model card (:func:`find_loops`);
* :mod:`sdkit.loops.hidden`: the stocks of SMOOTH, DELAY, TREND and FORECAST
  written out, so that loops pass through them (which constructs are refused);
* :mod:`sdkit.loops.hidden_values`: their values, integrated from a run as PySD does;
* :mod:`sdkit.loops.polarity`: link polarity (sympy, else numerical) and loop polarity;
* :mod:`sdkit.loops.evaluate`: IR expressions evaluated with numpy, converted to sympy;
* :mod:`sdkit.loops.scores`: link, loop and relative loop scores per time step;
* :mod:`sdkit.loops.discovery`: strongest-path loop discovery, and the exact
  total absolute loop score of every loop (coverage);
* :mod:`sdkit.loops.coverage`: coverage of the total loop score, exact or bounded;
* :mod:`sdkit.loops.families`: loop families from the model card (mechanisms, not ids);
* :mod:`sdkit.loops.ltm`: Loops That Matter dominance over a run (:func:`loop_dominance`);
* :mod:`sdkit.loops.tables`: scores, coverage and families per stage, or per period
  of a run without stages;
* :mod:`sdkit.loops.report`: the Markdown report (in the model's time unit), the verdict.
* :mod:`sdkit.loops.study`: one study of a model file, the library side of ``sdkit loops``.
* :mod:`sdkit.loops.summary`: what a chart shows of a dominance, cached between calls
  (:func:`~sdkit.loops.summary.loop_summary`; records of :mod:`sdkit.model.records`).

Importing this package imports networkx, numpy and pandas, not PySD or sympy.
"""

from __future__ import annotations

from sdkit.loops.graph import Link, Loop, LoopSet, causal_graph, find_loops
from sdkit.loops.ltm import LoopDominance, loop_dominance

__all__ = ["Link", "Loop", "LoopSet", "LoopDominance", "causal_graph", "find_loops",
           "loop_dominance"]

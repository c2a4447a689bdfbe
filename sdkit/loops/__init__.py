"""Feedback-loop analysis: causal graph, loops, polarity and loop dominance.

* :mod:`sdkit.loops.graph`: the causal graph from the IR, bounded loop
  enumeration, naming by a model card (:func:`find_loops`);
* :mod:`sdkit.loops.polarity`: link polarity (sympy, else numerical) and loop polarity;
* :mod:`sdkit.loops.evaluate`: IR expressions evaluated with numpy, converted to sympy;
* :mod:`sdkit.loops.ltm`: Loops That Matter scores and dominant loops (:func:`loop_dominance`);
* :mod:`sdkit.loops.report`: dominance per stage and the generated verdict.

Importing this package imports networkx, numpy and pandas, not PySD or sympy.
"""

from __future__ import annotations

from sdkit.loops.graph import Link, Loop, LoopSet, causal_graph, find_loops
from sdkit.loops.ltm import LoopDominance, loop_dominance

__all__ = ["Link", "Loop", "LoopSet", "LoopDominance", "causal_graph", "find_loops",
           "loop_dominance"]

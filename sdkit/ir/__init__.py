"""The sdkit intermediate representation (IR): one representation of a model.

* :mod:`sdkit.ir.core`: variables, stocks, hidden stocks and the model's one dependency
  graph, built once from PySD's abstract model (:func:`build_ir`).
* :mod:`sdkit.ir.expr`: the expression trees of equations, and their walks.
* :mod:`sdkit.ir.convert`: PySD's abstract syntax -> IR expressions and hidden stocks.
* :mod:`sdkit.ir.structure`: the variable metadata (units, comments, limits) and flow terms
  read from PySD's abstract model, shared with :class:`sdkit.model.core.Model`.

The XMILE writer, the ensemble engine, loop analysis and the units check all read the IR.
``sdkit.ir`` was a module in sdkit 0.1; its public names are still here.
"""

from __future__ import annotations

from sdkit.util.moved import package_exports

__all__ = ["Num", "Ref", "BinOp", "UnaryOp", "Call", "LookupCall", "InlineLookup", "Opaque",
           "Expr", "LookupTable", "IRVariable", "Stock", "HiddenStock", "ModelIR",
           "build_ir", "walk", "references", "CONTROL"]

__getattr__, __dir__ = package_exports(__name__, {"sdkit.ir.core": __all__},
                                       legacy="sdkit.ir.core")

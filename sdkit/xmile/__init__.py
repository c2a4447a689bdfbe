"""XMILE 1.0: the writer, its expressions, a structural check and the conformance proof.

* :mod:`sdkit.xmile.writer`: :func:`export_xmile` from the sdkit IR.
* :mod:`sdkit.xmile.expr`: IR expressions as XMILE equation text.
* :mod:`sdkit.xmile.check`: structural checks of an XMILE document.
* :mod:`sdkit.xmile.conformance`: the exporter on the SDXorg conformance suite.

``sdkit.xmile`` was a module in sdkit 0.1; its public names are still here.
"""

from __future__ import annotations

from sdkit.util.moved import package_exports

__all__ = ["NAMESPACE", "export_xmile", "xmile_document"]

__getattr__, __dir__ = package_exports(__name__, {"sdkit.xmile.writer": __all__},
                                       legacy="sdkit.xmile.writer")

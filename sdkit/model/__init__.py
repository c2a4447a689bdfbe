"""From a model file to a safe, cached, loaded model.

* :mod:`sdkit.model.core`: :func:`load_model`, :class:`Model` and its runs.
* :mod:`sdkit.model.guard`, :mod:`sdkit.model.audit` (with ``audit_rules`` and
  ``audit_vocabulary``): what sdkit lets PySD read, build and import.
* :mod:`sdkit.model.translation`, :mod:`sdkit.model.cache`: PySD's translation under
  the guard, cached and verified before every use.
* :mod:`sdkit.model.card` (with ``card_briefing``, ``card_families``): the model card,
  what sdkit knows about a model beyond its equations.

``sdkit.model`` was a module in sdkit 0.1; its public names are still here.
"""

from __future__ import annotations

from sdkit.util.moved import package_exports

__all__ = ["Variable", "Model", "load_model", "run", "KINDS", "SUFFIXES"]

__getattr__, __dir__ = package_exports(__name__, {"sdkit.model.core": __all__},
                                       legacy="sdkit.model.core")

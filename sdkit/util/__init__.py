"""Shared plumbing: name matching, atomic files, the TOML schema reader, page blocks, limits.

Every other subpackage may use these modules; they use no other part of sdkit except
:mod:`sdkit.errors`.

* :mod:`sdkit.util.names`: name matching and close-match suggestions.
* :mod:`sdkit.util.files`: atomic writes and finished-run manifests.
* :mod:`sdkit.util.schema`, :mod:`sdkit.sensitivity.study_spec`: the one reader of sdkit's
  TOML files (scenarios, study specs, cards), reporting every problem at once.
* :mod:`sdkit.util.markers`: generated blocks inside hand-written Markdown pages.
* :mod:`sdkit.util.limits`, :mod:`sdkit.util.validation`: resource limits and checks of
  run inputs and results.
* :mod:`sdkit.util.moved`: the old import paths of the flat layout.
"""

__all__: list[str] = []

"""Old import paths of sdkit's first, flat layout, kept for one release.

sdkit 0.2 moved its modules into subpackages that follow the pipeline (model, ir,
engine, scenarios, analysis, loops, checks, sensitivity, calibration, xmile, report,
cli; see ``docs/architecture.md``). Code that imports an old path, such as
``import sdkit.briefing`` or ``from sdkit.store import write_text_atomic``, still works:
a finder on :data:`sys.meta_path` hands out the module at its new path and warns with a
:class:`DeprecationWarning` that names it. The old paths go in sdkit 0.3.

The packages that replaced a module of the same name (``sdkit.model``, ``sdkit.ir``,
``sdkit.scenarios``, ``sdkit.report``, ``sdkit.xmile``, ``sdkit.cli``) keep that
module's public names without a warning (:func:`package_exports`), and hand out its
other names with one.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import pkgutil
import sys
import warnings
from collections.abc import Callable, Iterable, Sequence
from types import ModuleType
from typing import Any

__all__ = ["MOVED", "REMOVED_IN", "install", "package_exports"]

#: The release in which the old paths stop working.
REMOVED_IN = "0.3"

#: Old module path -> new module path (modules whose old path is no longer a module).
MOVED: dict[str, str] = {
    "sdkit.audit": "sdkit.model.audit",
    "sdkit.audit_rules": "sdkit.model.audit_rules",
    "sdkit.audit_vocabulary": "sdkit.model.audit_vocabulary",
    "sdkit.batch": "sdkit.engine.batch",
    "sdkit.briefing": "sdkit.report.briefing.page",
    "sdkit.briefing_charts": "sdkit.report.briefing.charts",
    "sdkit.briefing_inputs": "sdkit.report.briefing.inputs",
    "sdkit.briefing_plan": "sdkit.report.briefing.plan",
    "sdkit.briefing_tables": "sdkit.report.briefing.tables",
    "sdkit.cache": "sdkit.model.cache",
    "sdkit.calibration_text": "sdkit.report.briefing.calibration_text",
    "sdkit.card": "sdkit.model.card",
    "sdkit.card_briefing": "sdkit.model.card_briefing",
    "sdkit.card_families": "sdkit.model.card_families",
    "sdkit.channels": "sdkit.analysis.channels",
    "sdkit.cli_bands": "sdkit.cli.bands",
    "sdkit.cli_brief": "sdkit.cli.brief",
    "sdkit.cli_calibrate": "sdkit.cli.calibrate",
    "sdkit.cli_channels": "sdkit.cli.channels",
    "sdkit.cli_check": "sdkit.cli.check",
    "sdkit.cli_export": "sdkit.cli.export",
    "sdkit.cli_gates": "sdkit.cli.gates",
    "sdkit.cli_loops": "sdkit.cli.loops",
    "sdkit.cli_sensitivity": "sdkit.cli.sensitivity",
    "sdkit.embed": "sdkit.report.embed",
    "sdkit.evidence": "sdkit.analysis.evidence",
    "sdkit.explore": "sdkit.report.explore",
    "sdkit.faults": "sdkit.engine.faults",
    "sdkit.findings": "sdkit.report.briefing.findings",
    "sdkit.fonts": "sdkit.report.fonts",
    "sdkit.guard": "sdkit.model.guard",
    "sdkit.i18n": "sdkit.report.i18n",
    "sdkit.i18n_briefing": "sdkit.report.briefing.messages",
    "sdkit.i18n_calibration": "sdkit.report.briefing.calibration_messages",
    "sdkit.inputs": "sdkit.scenarios.inputs",
    "sdkit.limits": "sdkit.util.limits",
    "sdkit.markers": "sdkit.util.markers",
    "sdkit.modeldoc": "sdkit.report.modeldoc",
    "sdkit.modeltext": "sdkit.report.modeltext",
    "sdkit.names": "sdkit.util.names",
    "sdkit.plot_parts": "sdkit.report.plot_parts",
    "sdkit.plots": "sdkit.report.plots",
    "sdkit.plots_calibration": "sdkit.report.plots_calibration",
    "sdkit.plots_sensitivity": "sdkit.report.plots_sensitivity",
    "sdkit.runner": "sdkit.scenarios.runner",
    "sdkit.scenario_bands": "sdkit.scenarios.bands",
    "sdkit.scenario_report": "sdkit.report.scenarios",
    "sdkit.schema": "sdkit.util.schema",
    "sdkit.stages": "sdkit.analysis.stages",
    "sdkit.store": "sdkit.util.files+sdkit.scenarios.store",
    "sdkit.structure": "sdkit.ir.structure",
    "sdkit.study_spec": "sdkit.sensitivity.study_spec",
    "sdkit.translation": "sdkit.model.translation",
    "sdkit.validation": "sdkit.util.validation",
    "sdkit.wording": "sdkit.report.wording",
    "sdkit.xmile_check": "sdkit.xmile.check",
    "sdkit.xmile_conformance": "sdkit.xmile.conformance",
    "sdkit.xmile_expr": "sdkit.xmile.expr",
}


def _warn(old: str, new: str, stacklevel: int) -> None:
    warnings.warn(f"{old} moved to {new}; import it from there ({old} goes in sdkit "
                  f"{REMOVED_IN})", DeprecationWarning, stacklevel=stacklevel)


class _AliasLoader(importlib.abc.Loader):
    """Load an old path as the module at its new path (the same module object); an old
    module split in two (``a+b``) as a module holding the public names of both."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        # stacklevel 3 (_warn, here, then the import statement: warnings skips importlib)
        _warn(spec.name, self.target.replace("+", " and "), stacklevel=3)
        if "+" not in self.target:
            module = importlib.import_module(self.target)
            self.spec = module.__spec__
            return module
        joined = ModuleType(spec.name, f"{spec.name} (moved to {self.target}).")
        names: list[str] = []
        for part in self.target.split("+"):
            home = importlib.import_module(part)
            for name in home.__all__:
                setattr(joined, name, getattr(home, name))
                names.append(name)
        joined.__all__ = names  # type: ignore[attr-defined]
        return joined

    def exec_module(self, module: ModuleType) -> None:
        """Give the module at the new path back its own spec (importing it under the old
        name set the old one); nothing is executed."""
        if self.spec is not None:
            module.__spec__ = self.spec


class _MovedFinder(importlib.abc.MetaPathFinder):
    """Find the old paths of :data:`MOVED`, and nothing else."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        new = MOVED.get(fullname)
        if new is None:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(new))


def install() -> None:
    """Put the finder of old paths on :data:`sys.meta_path` (once; after the others)."""
    if not any(isinstance(finder, _MovedFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedFinder())


def package_exports(package: str, exports: dict[str, Iterable[str]], *,
                    legacy: str | None = None
                    ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` of a package that imports its names on first use.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    exports : dict of str to iterable of str
        Module path -> the public names the package hands out from it, without a warning.
    legacy : str, optional
        The module that holds the package's names from the flat layout (``sdkit.model``
        was a module; now ``sdkit.model.core``): its other names are handed out with a
        :class:`DeprecationWarning`.

    Returns
    -------
    tuple
        ``(__getattr__, __dir__)`` for the package's module namespace (PEP 562).
    """
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        package_module = sys.modules[package]
        if name in where:
            value = getattr(importlib.import_module(where[name]), name)
            setattr(package_module, name, value)
            return value
        if name in _submodules(package_module):
            return importlib.import_module(f"{package}.{name}")
        if legacy is not None and not name.startswith("__"):
            module = importlib.import_module(legacy)
            if hasattr(module, name):
                _warn(f"{package}.{name}", f"{legacy}.{name}", stacklevel=3)
                return getattr(module, name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(where))

    return __getattr__, __dir__


def _submodules(package: ModuleType) -> set[str]:
    return {info.name for info in pkgutil.iter_modules(getattr(package, "__path__", []))}

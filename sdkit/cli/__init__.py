"""The ``sdkit`` command line: one module per command group, registered in one place.

:mod:`sdkit.cli.app` holds the ``sdkit`` group and the one registration block
(:data:`sdkit.cli.app.COMMANDS`); :mod:`sdkit.cli.options` the option types and parsers
every command shares; each other module one command group (``run``, ``scenarios``,
``brief``, ``loops``, ``sensitivity``, ``calibrate`` ...). Commands parse, call the
library, print.
"""

from __future__ import annotations

from sdkit.util.moved import package_exports

__all__ = ["main", "plain_warning"]  # sdkit.cli was a module in sdkit 0.1

__getattr__, __dir__ = package_exports(__name__, {"sdkit.cli.app": __all__},
                                       legacy="sdkit.cli.app")

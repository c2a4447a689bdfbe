"""The example shipped with sdkit: the empowerment model, its card, evidence and scenarios.

The files live at the top of the repository (``models/``, ``scenarios/``) and are
installed with the package as ``sdkit/examples/models`` and
``sdkit/examples/scenarios`` (see ``[tool.setuptools]`` in ``pyproject.toml``).
The functions here return their paths in either place, so code and notebooks can
use the example away from a checkout.  The scenario files name their model as
``../models/empowerment.mdl``, which resolves in both layouts.

Examples
--------
>>> from sdkit import examples
>>> examples.model_path().name
'empowerment.mdl'
>>> examples.scenarios_dir().name
'scenarios'
>>> model = sdkit.load_model(examples.model_path())  # doctest: +SKIP
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from sdkit.errors import InputFileError

__all__ = ["root", "model_path", "card_path", "reference_path", "scenarios_dir",
           "sensitivity_spec", "calibration_spec", "MODEL_NAME", "DEFAULT_SPEC_NAME",
           "CALIBRATION_SPEC_NAME"]

#: File name of the shipped model (Vensim); ``empowerment.xmile`` is its XMILE twin.
MODEL_NAME = "empowerment.mdl"
#: File name of the fast Morris sensitivity spec the briefing runs by default.
DEFAULT_SPEC_NAME = "talent-investment-morris.toml"

#: File name of the shipped calibration spec (2015-2019 fit, 2020-2021 hindcast).
CALIBRATION_SPEC_NAME = "empowerment-2019.toml"

_HERE = Path(__file__).resolve().parent


def root() -> Path:
    """Return the folder that holds ``models/`` and ``scenarios/``.

    Returns
    -------
    pathlib.Path
        ``sdkit/examples`` in an installed wheel, else the checkout's top folder
        (an editable install or a run from the source tree).

    Raises
    ------
    InputFileError
        If neither place holds the example model (a broken installation).
    """
    for candidate in (_HERE, _HERE.parents[1]):
        if (candidate / "models" / MODEL_NAME).is_file():
            return candidate
    raise InputFileError(f"The example model {MODEL_NAME} is not installed with sdkit "
                         f"(looked in {_HERE / 'models'} and {_HERE.parents[1] / 'models'}); "
                         "reinstall sdkit.")


def model_path(name: str = MODEL_NAME) -> Path:
    """Return the path of a shipped model file (default: ``empowerment.mdl``).

    Parameters
    ----------
    name : str
        File name in ``models/``, e.g. ``"empowerment.xmile"``.

    Returns
    -------
    pathlib.Path
        Absolute path of the file.

    Raises
    ------
    InputFileError
        If there is no such shipped file.
    """
    path = root() / "models" / name
    if not path.is_file():
        raise InputFileError(f"No shipped model file {name!r} in {path.parent}.", path=str(path))
    return path


def card_path() -> Path:
    """Return the path of the example model's card (``empowerment.toml``)."""
    return model_path(Path(MODEL_NAME).with_suffix(".toml").name)


def reference_path() -> Path:
    """Return the path of the example model's reference modes (the CSV its card names)."""
    return model_path("empowerment-reference-modes.csv")


def scenarios_dir() -> Path:
    """Return the folder of the shipped scenario files (``scenarios/``)."""
    return root() / "scenarios"


def sensitivity_spec(name: str = DEFAULT_SPEC_NAME) -> Path:
    """Return the path of a shipped sensitivity spec in ``scenarios/sensitivity``.

    Parameters
    ----------
    name : str
        File name, default the fast Morris screening the briefing uses.

    Raises
    ------
    InputFileError
        If there is no such shipped spec.
    """
    return _shipped_spec("sensitivity", name)


def calibration_spec(name: str = CALIBRATION_SPEC_NAME) -> Path:
    """Return the path of a shipped calibration spec in ``scenarios/calibration``.

    Raises
    ------
    InputFileError
        If there is no such shipped spec.
    """
    return _shipped_spec("calibration", name)


def _shipped_spec(kind: str, name: str) -> Path:
    path = scenarios_dir() / kind / name
    if not path.is_file():
        raise InputFileError(f"No shipped {kind} spec {name!r} in {path.parent}.",
                             path=str(path))
    return path


def help_epilog(*commands: str) -> str:
    """Format ``commands`` as the "Examples:" epilog of a command's ``--help``.

    The commands run as written from the top of the repository (where ``models/``
    and ``scenarios/`` are); ``tests/cli/test_help_examples.py`` runs every one.  A long
    command is wrapped with shell line continuations (`` \\``).
    """
    lines = []
    for command in commands:
        parts = textwrap.wrap(command, 74, break_long_words=False, break_on_hyphens=False)
        lines.append("  " + " \\\n      ".join(parts) + "\n")
    return "\b\nExamples:\n" + "".join(lines)

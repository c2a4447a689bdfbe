"""Exception hierarchy for sdkit.

Every error raised on purpose by sdkit derives from :class:`SdkitError`, and also
from the closest built-in exception so that callers who catch ``KeyError`` or
``ValueError`` keep working.
"""

from __future__ import annotations

__all__ = [
    "SdkitError",
    "ModelFileNotFoundError",
    "ModelParseError",
    "UnsafeModelError",
    "UnknownVariableError",
    "ParameterValueError",
    "SimulationError",
    "InputFileError",
    "ScenarioError",
]


class SdkitError(Exception):
    """Base class of every error raised by sdkit."""


class ModelFileNotFoundError(SdkitError, FileNotFoundError):
    """The model file does not exist."""


class ModelParseError(SdkitError, ValueError):
    """The model file cannot be parsed or translated by PySD."""


class UnsafeModelError(ModelParseError):
    """A model file crafted to run code (or PySD's translation of it would)."""


class UnknownVariableError(SdkitError, KeyError):
    """A variable name that the model does not define.

    Parameters
    ----------
    name : str
        The name that was asked for.
    suggestions : sequence of str, optional
        Close matches among the model's variable names (at most a few).
    context : str, optional
        Short description of where the name was used, e.g. ``"model 'teacup.mdl'"``.

    Attributes
    ----------
    name : str
        The unknown name.
    suggestions : tuple of str
        Close matches, best first; empty when nothing is close.
    """

    def __init__(
        self, name: str, suggestions: tuple[str, ...] | list[str] = (), context: str = ""
    ) -> None:
        self.name = name
        self.suggestions = tuple(suggestions)
        self.context = context
        super().__init__(name)

    def __str__(self) -> str:
        where = f" in {self.context}" if self.context else ""
        message = f"Unknown variable {self.name!r}{where}."
        if self.suggestions:
            quoted = ", ".join(repr(s) for s in self.suggestions)
            message += f" Did you mean {quoted}?"
        return message


class ParameterValueError(SdkitError, ValueError):
    """A parameter value or time setting that cannot be used.

    Raised for non-numeric, NaN or infinite values, values outside the documented
    range of a variable, and attempts to override a variable that is not a constant.
    """


class SimulationError(SdkitError, ArithmeticError):
    """The simulation produced NaN or infinite values."""


class InputFileError(SdkitError, ValueError):
    """An input file (scenario, model card, reference table, spec) is invalid.

    Parameters
    ----------
    message : str
        Plain-sentence description of the problem, naming the bad value and the
        valid set.
    path : str, optional
        Path of the file.
    key : str, optional
        The offending key or column inside the file.

    Attributes
    ----------
    path : str or None
        Path of the file.
    key : str or None
        The offending key.
    """

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None) -> None:
        self.path = path
        self.key = key
        super().__init__(message)


class ScenarioError(InputFileError):
    """A scenario file is invalid (see :class:`InputFileError` for the attributes)."""

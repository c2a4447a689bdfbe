"""Exception hierarchy for sdkit.

Every error raised on purpose by sdkit derives from :class:`SdkitError`, and also
from the closest built-in exception so that callers who catch ``KeyError`` or
``ValueError`` keep working.
"""

from __future__ import annotations

from collections.abc import Sequence

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
    "MissingComponentError",
    "UnsupportedConstructError",
    "LoopLimitError",
    "WorkerError",
    "UnsafeCacheError",
    "ResourceLimitError",
    "OutputWriteError",
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
    problems : sequence of InputFileError, optional
        For an error that lists several problems of the file, the single errors.

    Attributes
    ----------
    path : str or None
        Path of the file.
    key : str or None
        The offending key (None for an error listing several problems).
    problems : tuple of InputFileError
        The single problems this error lists, in the order found: ``(self,)`` for an
        error about one problem.
    """

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None,
                 problems: Sequence[InputFileError] = ()) -> None:
        self.path = path
        self.key = key
        self.problems: tuple[InputFileError, ...] = tuple(problems) or (self,)
        super().__init__(message)


class ScenarioError(InputFileError):
    """A scenario file is invalid (see :class:`InputFileError` for the attributes)."""


class MissingComponentError(SdkitError, RuntimeError):
    """An optional component is not available: an sdkit subpackage or an external program
    (such as a headless browser); the message says what to install."""


class UnsupportedConstructError(SdkitError, NotImplementedError):
    """A model construct that a backend cannot express exactly.

    Raised by the ensemble engine (use PySD instead) and by the XMILE exporter
    (the construct has no exact XMILE 1.0 form).

    Parameters
    ----------
    message : str
        Plain-sentence description.
    construct : str
        The construct, e.g. ``"subscripts"``, ``"RANDOM UNIFORM"``, ``"macro"``.
    variable : str, optional
        The variable whose equation uses it.

    Attributes
    ----------
    construct : str
    variable : str or None
    """

    def __init__(self, message: str, *, construct: str, variable: str | None = None) -> None:
        self.construct = construct
        self.variable = variable
        super().__init__(message)


class LoopLimitError(SdkitError, ValueError):
    """A model has more feedback loops than the enumeration limit allows."""


class WorkerError(SdkitError, RuntimeError):
    """A unit of work (a chunk of runs) failed in every attempt, or its worker died each time.

    Raised by :mod:`sdkit.engine.faults` after the retries are used up; ``__cause__`` is
    the last failure.
    """


class UnsafeCacheError(SdkitError, PermissionError):
    """A translation-cache directory or entry that cannot be trusted.

    Owned by another user, writable by others, or whose content no longer matches
    the digest recorded when it was built.
    """


class ResourceLimitError(SdkitError, ValueError):
    """A run, time grid, sample or input file larger than the set limit.

    The message names the value and the limit, and how to raise the limit.
    """


class OutputWriteError(SdkitError, OSError):
    """A result file could not be written (full disk, read-only folder...).

    The previous version of the file, if any, is left intact.
    """

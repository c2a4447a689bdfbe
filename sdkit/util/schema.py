"""The schema reader shared by sdkit's TOML files: every problem of a file at once.

Scenario files (:mod:`sdkit.scenarios.spec`), sensitivity specs
(:mod:`sdkit.sensitivity.spec`), calibration specs (:mod:`sdkit.calibration.spec`),
band files (:mod:`sdkit.scenarios.bands`) and model cards (:mod:`sdkit.model.card`) are read
by subclasses of
:class:`SchemaValidator`: it reads the TOML (:func:`sdkit.util.limits.read_toml`),
checks tables, keys (unknown ones with the closest valid key), strings, numbers
and integers, and makes every problem an error naming the file and the key::

    path/to/file.toml: run.saveper: must be a finite number, got 'x' (str).

A validator run through :meth:`SchemaValidator.checked` keeps going after a
problem wherever the later checks do not depend on the failed part (each
:meth:`~SchemaValidator.collect` block is one such part: a constant, an input, a
parameter, an output...) and raises one error listing them all
(:func:`combine_problems`)::

    path/to/file.toml: 2 problems: name: 'X' is not a lower-case slug ...; run.saveper: ...

Its ``problems`` attribute holds the single errors. Outside :meth:`~SchemaValidator.checked`
the first problem is raised at once (band files are still read that way). A problem
after which nothing more can be checked (invalid TOML, a missing model file) is raised
at once too, together with the problems found before it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sdkit.errors import InputFileError, ParameterValueError, ScenarioError
from sdkit.util.limits import read_toml
from sdkit.util.names import close_matches
from sdkit.util.validation import check_number

__all__ = ["SLUG", "SchemaValidator", "combine_problems", "toml_key"]

#: A lower-case slug such as ``talent-light``: the ``name`` of every file.
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
T = TypeVar("T")


def toml_key(*parts: str) -> str:
    """A TOML-style dotted key, quoting the parts that are not bare keys.

    >>> toml_key("constants", "talent budget share")
    'constants."talent budget share"'
    """
    return ".".join(p if _BARE_KEY.fullmatch(p) else '"' + p.replace('"', '\\"') + '"'
                    for p in parts)


def combine_problems(problems: Sequence[InputFileError]) -> InputFileError:
    """One error listing ``problems`` (single errors about one file, in the order found).

    One problem is returned as it is. Several make an error of the first one's class
    and file whose message is ``"<file>: N problems: <key>: <message>; ..."`` (each
    problem without its leading ``"<file>: "``), with ``key`` None and ``problems``
    the single errors (a combined error among them is replaced by its own problems).

    Raises
    ------
    ValueError
        If ``problems`` is empty.
    """
    singles = [single for problem in problems for single in problem.problems]
    if not singles:
        raise ValueError("no problems to combine")
    if len(singles) == 1:
        return singles[0]
    first = singles[0]
    prefix = f"{first.path}: " if first.path else ""
    parts = [str(p)[len(prefix):] if prefix and str(p).startswith(prefix) else str(p)
             for p in singles]
    message = f"{prefix}{len(singles)} problems: " + "; ".join(parts)
    return type(first)(message, path=first.path, problems=singles)


class SchemaValidator:
    """Reads one TOML file and checks its values; every error names the file and the key.

    Parameters
    ----------
    path : Path
        The file.

    Subclasses set :attr:`what` and override :meth:`error` to raise their own class
    (a :class:`~sdkit.errors.ScenarioError`).
    """

    #: The kind of file, for messages.
    what = "the file"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[InputFileError] = []
        self._collecting = False

    #: The class of the errors a problem raises (an InputFileError, by default a
    #: ScenarioError; the model card's reader raises InputFileError itself).
    error_class: type[InputFileError] = ScenarioError

    def error(self, key: str | None, message: str) -> InputFileError:
        """The error for a problem at ``key`` (None: the whole file)."""
        where = f"{self.path}: {key}: " if key else f"{self.path}: "
        return self.error_class(where + message, path=str(self.path), key=key)

    # --- all problems at once ---------------------------------------------------------

    def checked(self, build: Callable[[], T]) -> T:
        """``build()``, collecting the problems of its :meth:`collect` blocks; raise them
        all as one error (:func:`combine_problems`) at the end, or with the problem that
        stopped ``build``."""
        self.problems, self._collecting = [], True
        try:
            result = build()
        except InputFileError as err:
            found, self.problems = [*self.problems, err], []
            if len(found) == 1:
                raise
            raise combine_problems(found) from err
        finally:
            self._collecting = False
        self.raise_problems()
        return result

    @contextmanager
    def collect(self) -> Iterator[None]:
        """A block whose problem (an :class:`~sdkit.errors.InputFileError`) is recorded and
        skipped when collecting (inside :meth:`checked`), raised otherwise."""
        if not self._collecting:
            yield
            return
        try:
            yield
        except InputFileError as err:
            self.problems.extend(err.problems)

    def add_problem(self, key: str | None, message: str) -> None:
        """Record a problem at ``key`` (raise it when not collecting)."""
        with self.collect():
            raise self.error(key, message)

    def raise_problems(self) -> None:
        """Raise the problems recorded so far as one error, if there are any."""
        if self.problems:
            found, self.problems = self.problems, []
            raise combine_problems(found)

    # --- reading and typed accessors --------------------------------------------------

    def read(self) -> dict[str, Any]:
        """The file's TOML data (an error for a missing, unreadable or invalid file)."""
        return read_toml(self.path, what=self.what, error=lambda message: self.error(None, message))

    def top(self, data: dict[str, Any], schema: dict[str, tuple[str, bool]]) -> str:
        """Check the top-level keys against ``schema`` (what each holds, whether it is
        required) and the ``name`` slug; return the name (``""`` after a problem)."""
        self.keys(data, list(schema), None)
        for key, (meaning, required) in schema.items():
            if required and key not in data:
                self.add_problem(key, f"missing required key; it must be {meaning}.")
        name = ""
        if "name" in data:
            with self.collect():
                text = self.string(data["name"], "name")
                if not SLUG.fullmatch(text):
                    raise self.error("name", f"{text!r} is not {schema['name'][0]}.")
                name = text
        return name

    def table(self, value: Any, key: str | None) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(key, f"must be a table, got {value!r}.")
        return value

    def keys(self, value: Any, allowed: list[str], where: str | None) -> dict[str, Any]:
        """``value`` as a table; each key not in ``allowed`` is a problem."""
        table = self.table(value, where)
        for key in table:
            if key not in allowed:
                hint = close_matches(key, allowed)
                did = f" Did you mean {hint[0]!r}?" if hint else ""
                full = f"{where}.{toml_key(key)}" if where else toml_key(key)
                self.add_problem(full, f"unknown key; valid keys: {allowed}.{did}")
        return table

    def string(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"must be a non-empty string, got {value!r}.")
        return value

    def number(self, value: Any, key: str) -> float:
        try:
            return check_number(value, key)
        except ParameterValueError as err:
            kind = type(value).__name__
            raise self.error(key, f"must be a finite number, got {value!r} ({kind}).") from err

    def integer(self, value: Any, key: str, low: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise self.error(key, f"must be an integer >= {low}, got {value!r}.")
        return value

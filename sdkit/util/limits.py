"""Resource limits: refuse a run, time grid, sample or TOML file too large to handle.

Each check runs before anything is allocated or run and fails with a one-line
:class:`~sdkit.errors.ResourceLimitError` naming the value, the limit and how to
raise it (settings that can never work, such as a time step of 0, raise
:class:`~sdkit.errors.ParameterValueError`). One function per kind of input:
:func:`check_run_size` (called by :func:`sdkit.util.validation.check_time_settings`
for ``Model.run``, by the ensemble engine, by the integration grid of scenario
inputs and by sensitivity specs), :func:`check_sample_size` (sensitivity samples)
and :func:`read_toml`, the one TOML reader (scenarios, specs, model cards).

Limits, defaults and why (each is read from its environment variable at every
check, so worker processes inherit it; a check's keyword argument, or
:func:`set_limits` / :func:`override_limits`, overrides it):

``max_steps`` = 10,000,000 (``SDKIT_MAX_STEPS``)
    Integration steps of one run. PySD and the engine step in a Python loop
    (10^2 to 10^4 steps a second), so this is already hours of work, while
    FINAL TIME 1e9 or TIME STEP 1e-9 would never end; the engine's time grid
    is a Python list of this length (0.4 GB at the limit).
``max_rows`` = 1,000,000 (``SDKIT_MAX_ROWS``)
    Saved times of one run: more is no longer a table anyone reads.
``max_values`` = 200,000,000 (``SDKIT_MAX_VALUES``)
    Floats held at once (1.6 GB): saved rows x parameter sets x variables of a
    run, parameters x runs of a sample, runs x resamples of a bootstrap.
``max_runs`` = 1,000,000 (``SDKIT_MAX_RUNS``)
    Runs of a sensitivity sample (Sobol: N x (parameters + 2)); a million PySD
    runs of two seconds each take weeks.
``max_toml_bytes`` = 1,048,576 (``SDKIT_MAX_TOML_BYTES``)
    Size of a TOML file: ``tomllib`` reads 0.3 to 1 MB a second; sdkit's files
    are a few kilobytes.
``max_toml_depth`` = 32 (``SDKIT_MAX_TOML_DEPTH``)
    Nesting of arrays and inline tables, and parts of a dotted key: ``tomllib``
    recurses once per level (``RecursionError`` near 1000) and takes time
    quadratic in the parts of a key; sdkit's schemas need four levels.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sdkit.errors import InputFileError, ParameterValueError, ResourceLimitError

__all__ = ["DEFAULTS", "ENV", "RunSize", "get_limit", "set_limits", "override_limits",
           "check_limit", "check_run_size", "check_sample_size", "read_toml"]

#: Default of each limit.
DEFAULTS: dict[str, int] = {"max_steps": 10_000_000, "max_rows": 1_000_000,
                            "max_values": 200_000_000, "max_runs": 1_000_000,
                            "max_toml_bytes": 1 << 20, "max_toml_depth": 32}
#: Environment variable of each limit.
ENV: dict[str, str] = {name: "SDKIT_" + name.upper() for name in DEFAULTS}
_FLAGS = ("max_steps", "max_rows", "max_values", "max_runs")  # options of the ``sdkit`` command

# Strings and comments of a TOML text (removed before counting brackets and dots).
_SKIP = re.compile(r'"""(?:[^"\\]|\\[\s\S]|"(?!""))*"{3,5}|\'\'\'[\s\S]*?\'{3,5}'
                   r'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*')
_TOKEN = re.compile(r"[^\s=,\[\]{}]+")
_DOT = re.compile(r"[ \t]*\.[ \t]*")


def _whole(value: Any, label: str) -> int:
    try:
        number = float(value) if isinstance(value, str) else value
        whole = int(number)
        usable = not isinstance(number, bool) and whole == number and whole >= 1
    except (TypeError, ValueError, OverflowError):
        usable = False
    if not usable:
        raise ParameterValueError(f"{label} must be a positive whole number, got {value!r}.")
    return whole


def get_limit(name: str, override: int | None = None) -> int:
    """The limit ``name`` (a key of :data:`DEFAULTS`): ``override``, else its
    environment variable, else its default.

    Raises
    ------
    ParameterValueError
        ``override`` or the environment variable is not a positive whole number.
    """
    if override is not None:
        return _whole(override, name)
    text = os.environ.get(ENV[name], "").strip()
    return _whole(text.replace("_", ""), ENV[name]) if text else DEFAULTS[name]


def set_limits(**limits: int | None) -> dict[str, str | None]:
    """Set limits for this process and those it starts (through their environment
    variables; ``None`` leaves a limit as it is); return the variables' previous values."""
    previous: dict[str, str | None] = {}
    for name, value in limits.items():
        if name not in DEFAULTS:
            raise ParameterValueError(f"Unknown limit {name!r}; valid limits: {list(DEFAULTS)}.")
        if value is not None:
            previous[ENV[name]] = os.environ.get(ENV[name])
            os.environ[ENV[name]] = str(_whole(value, name))
    return previous


@contextmanager
def override_limits(**limits: int | None) -> Iterator[None]:
    """Set limits (as :func:`set_limits`) inside a ``with`` block only."""
    previous = set_limits(**limits)
    try:
        yield
    finally:
        for env, value in previous.items():
            if value is None:
                os.environ.pop(env, None)
            else:
                os.environ[env] = value


def check_limit(name: str, value: float, what: str, override: int | None = None) -> None:
    """Raise if ``value`` (described by ``what``) exceeds the limit ``name``.

    Raises
    ------
    ResourceLimitError
        Naming the value, the limit and how to raise it.
    """
    limit = get_limit(name, override)
    if value > limit:
        shown = f"{value:,.0f}" if value < 1e15 else f"{value:.3g}"
        flag = f" or the option sdkit --{name.replace('_', '-')} N" if name in _FLAGS else ""
        raise ResourceLimitError(
            f"{what} is {shown}, more than the limit {name} = {limit:,}; raise the limit "
            f"with the environment variable {ENV[name]}=N{flag}.")


@dataclass(frozen=True)
class RunSize:
    """Size of a run: integration ``steps``, saved ``rows`` and saved ``values``."""

    steps: int
    rows: int
    values: int


def _check_times(initial: float, final: float, time_step: float, saveper: float,
                 what: str) -> None:
    named = (("initial_time", initial), ("final_time", final), ("time_step", time_step),
             ("saveper", saveper))
    for name, value in named:
        try:
            finite = not isinstance(value, bool) and math.isfinite(value)
        except TypeError:
            finite = False
        if not finite:
            raise ParameterValueError(f"{what}: {name} must be a finite number, got {value!r}.")
    for name, value in named[2:]:
        if value <= 0:
            raise ParameterValueError(
                f"{what}: {name} must be positive, got {value:g}; the run would never end.")
    if final < initial:
        raise ParameterValueError(
            f"{what}: final_time {final:g} is before initial_time {initial:g}.")


def check_run_size(initial: float, final: float, time_step: float, saveper: float, *,
                   n_sets: int = 1, n_vars: int = 1, what: str = "the run",
                   max_steps: int | None = None, max_rows: int | None = None,
                   max_values: int | None = None) -> RunSize:
    """Check the size of a run before it is run or its time grid is built.

    Parameters
    ----------
    initial, final, time_step, saveper : float
        Effective time settings of the run.
    n_sets, n_vars : int
        Parameter sets integrated at once (the engine), variables saved.
    what : str
        The run, for messages (e.g. ``"model 'teacup.mdl'"``).
    max_steps, max_rows, max_values : int, optional
        Override the limits (see the module docstring).

    Raises
    ------
    ParameterValueError
        A time not finite, a time step or saving interval not positive, a
        final time before the initial time.
    ResourceLimitError
        More steps, saved rows or saved values than the limits.
    """
    _check_times(initial, final, time_step, saveper, what)
    span = final - initial
    ratio = span / time_step
    steps = math.ceil(ratio - 1e-5) if math.isfinite(ratio) else ratio
    check_limit("max_steps", steps, f"{what}: the number of integration steps from "
                f"{initial:g} to {final:g} by {time_step:g}", max_steps)
    rows = math.floor(span / max(saveper, time_step) + 1e-9) + 1
    check_limit("max_rows", rows, f"{what}: the number of saved rows "
                f"(every {max(saveper, time_step):g} from {initial:g} to {final:g})", max_rows)
    values = rows * max(n_sets, 1) * max(n_vars, 1)
    check_limit("max_values", values, f"{what}: the number of saved values ({rows:,} rows x "
                f"{n_sets:,} parameter sets x {n_vars:,} variables)", max_values)
    return RunSize(int(steps), rows, values)


def check_sample_size(runs: int, n_params: int = 1, *, what: str = "the sample",
                      max_runs: int | None = None, max_values: int | None = None) -> None:
    """Check the runs of a sample, and its ``runs x n_params`` values, before drawing it:
    a :class:`~sdkit.errors.ResourceLimitError` when over a limit."""
    check_limit("max_runs", runs, f"{what}: the number of runs", max_runs)
    check_limit("max_values", runs * max(n_params, 1),
                f"{what}: the number of sampled values ({runs:,} runs x {n_params} "
                "parameters)", max_values)


def _nesting(text: str, limit: int) -> tuple[int, int]:
    """Deepest nesting of arrays and inline tables, and most parts of a dotted key,
    in a TOML text (both at most ``limit`` when a quick count shows it)."""
    if text.count("[") + text.count("{") <= limit and text.count(".") < limit:
        return 0, 1
    import numpy as np

    bare = _SKIP.sub("s", text)
    codes = np.frombuffer(bare.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    steps = np.isin(codes, (91, 123)).astype(np.int64) - np.isin(codes, (93, 125))
    depth = int(np.cumsum(steps).max(initial=0))
    parts = max((t.count(".") + 1 for t in _TOKEN.findall(_DOT.sub(".", bare)) if "." in t),
                default=1)
    return depth, parts


def _read_bytes(path: Path, limit: int, fail: Callable[[str], Exception], what: str
                ) -> tuple[bytes, int]:
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
            size = max(os.fstat(handle.fileno()).st_size, len(data))
    except FileNotFoundError as err:
        raise fail(f"{what} does not exist.") from err
    except OSError as err:
        raise fail(f"cannot read {what}: {err}") from err
    return data, size


def read_toml(path: str | os.PathLike[str], *, what: str = "the file",
              error: Callable[[str], Exception] | None = None,
              max_bytes: int | None = None, max_depth: int | None = None) -> dict[str, Any]:
    """Read a TOML file after checking its size and nesting.

    Parameters
    ----------
    path : path-like
    what : str
        The file, for messages (e.g. ``"the scenario file"``).
    error : callable, optional
        Makes the exception for a missing, unreadable or invalid file from a message
        without the path; default an ``InputFileError`` prefixed with the path.
    max_bytes, max_depth : int, optional
        Override the limits ``max_toml_bytes`` and ``max_toml_depth``.

    Raises
    ------
    InputFileError
        (Or what ``error`` makes.) Missing or unreadable file, invalid UTF-8 or TOML.
    ResourceLimitError
        A file larger, or nested deeper, than the limits.
    """
    path = Path(path)

    def fail(message: str) -> Exception:
        if error is not None:
            return error(message)
        return InputFileError(f"{path}: {message}", path=str(path))

    data, size = _read_bytes(path, get_limit("max_toml_bytes", max_bytes), fail, what)
    check_limit("max_toml_bytes", size, f"{path}: the size of {what} in bytes", max_bytes)
    try:
        text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as err:
        raise fail(f"cannot read {what}: {err}") from err
    depth, parts = _nesting(text, get_limit("max_toml_depth", max_depth))
    check_limit("max_toml_depth", depth, f"{path}: the nesting depth of arrays and inline "
                f"tables in {what}", max_depth)
    check_limit("max_toml_depth", parts, f"{path}: the number of parts of a dotted key in "
                f"{what}", max_depth)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise fail(f"not valid TOML: {err}") from err
    except RecursionError as err:
        raise ResourceLimitError(f"{path}: {what} is nested too deeply for Python's parser; "
                                 f"lower {ENV['max_toml_depth']}.") from err

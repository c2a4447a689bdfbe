"""Stage transitions: series in, transition times and stage durations out.

A stage transition happens when a theme-weight variable crosses a threshold
(one half by default). The crossing time is found by linear interpolation between
the two saved points around it, so it does not depend on the integration time
step beyond the accuracy of the saved values themselves. A transition that never
happens inside the run is reported explicitly as not reached (``time is None``).

The stage a run is in at time ``t`` is the highest stage whose transition has
been reached by ``t`` (a stage can be skipped: a run that is forced into the
ecological theme before it reaches intelligent operation spends no time in
stage 2).

This module does no I/O and does not import PySD.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sdkit.errors import ParameterValueError, UnknownVariableError
from sdkit.util.names import close_matches

__all__ = [
    "Stage",
    "TransitionRule",
    "Transition",
    "StageReport",
    "crossing_time",
    "detect_stages",
]


@dataclass(frozen=True)
class Stage:
    """One stage of a staged model.

    Attributes
    ----------
    number : int
        1-based stage number.
    name_en, name_zh : str
        English and Chinese names, e.g. ``"platformization"``, ``"平台化"``.
    """

    number: int
    name_en: str
    name_zh: str


@dataclass(frozen=True)
class TransitionRule:
    """How to detect the transition into stage ``to_stage``.

    Attributes
    ----------
    to_stage : int
        Stage entered by the transition (the one before it is ``to_stage - 1``).
    variable : str
        Variable whose upward crossing of ``threshold`` marks the transition.
    threshold : float
        Level to cross, by default 0.5.
    """

    to_stage: int
    variable: str
    threshold: float = 0.5


@dataclass(frozen=True)
class Transition:
    """A detected transition.

    Attributes
    ----------
    from_stage, to_stage : int
        Stage numbers.
    variable : str
        Variable that was tested.
    threshold : float
        Level it had to cross.
    time : float or None
        Interpolated crossing time; ``None`` when the run never crosses.
    """

    from_stage: int
    to_stage: int
    variable: str
    threshold: float
    time: float | None

    @property
    def reached(self) -> bool:
        """Whether the transition happens inside the run."""
        return self.time is not None

    @property
    def label(self) -> str:
        """Short label such as ``"1->2"``."""
        return f"{self.from_stage}->{self.to_stage}"


@dataclass(frozen=True)
class StageReport:
    """Transitions of one run and the time spent in each stage.

    Attributes
    ----------
    transitions : tuple of Transition
        In the order of the rules given.
    durations : dict of int to float
        Years spent in each stage within the run (0.0 for a stage never entered
        or skipped).
    start, end : float
        First and last time of the run.
    """

    transitions: tuple[Transition, ...]
    durations: dict[int, float]
    start: float
    end: float

    def time_of(self, to_stage: int) -> float | None:
        """Time of the transition into ``to_stage``, or ``None`` if never reached."""
        for transition in self.transitions:
            if transition.to_stage == to_stage:
                return transition.time
        valid = sorted(t.to_stage for t in self.transitions)
        raise ParameterValueError(f"No transition into stage {to_stage}; valid stages: {valid}.")

    def stage_at(self, time: float) -> int:
        """Stage the run is in at ``time``."""
        reached = [t.to_stage for t in self.transitions if t.time is not None and t.time <= time]
        return max(reached, default=1)

    def to_frame(self) -> pd.DataFrame:
        """One row per transition: label, variable, threshold, time, reached."""
        return pd.DataFrame(
            {
                "transition": [t.label for t in self.transitions],
                "variable": [t.variable for t in self.transitions],
                "threshold": [t.threshold for t in self.transitions],
                "time": [t.time for t in self.transitions],
                "reached": [t.reached for t in self.transitions],
            }
        )

    def stage_frame(self, stages: Sequence[Stage] = ()) -> pd.DataFrame:
        """One row per stage: how and when the run entered it, and the years spent in it.

        Parameters
        ----------
        stages : sequence of Stage, optional
            Names for the stage numbers (e.g. a model card's); stages not named
            get empty names.

        Returns
        -------
        pandas.DataFrame
            Columns ``stage, stage_en, stage_zh, transition, variable, threshold,
            time, reached, duration``. Stage 1 is entered at the start of the run
            (``transition`` ``"start"``, no variable, NaN threshold); a stage
            never entered has NaN ``time``, ``reached`` False and ``duration`` 0.
        """
        names = {s.number: s for s in stages}
        into = {t.to_stage: t for t in self.transitions}
        rows = []
        for number, duration in sorted(self.durations.items()):
            stage = names.get(number, Stage(number, "", ""))
            t = into.get(number)
            rows.append({
                "stage": number, "stage_en": stage.name_en, "stage_zh": stage.name_zh,
                "transition": "start" if t is None else t.label,
                "variable": "" if t is None else t.variable,
                "threshold": math.nan if t is None else t.threshold,
                "time": self.start if t is None else (math.nan if t.time is None else t.time),
                "reached": True if t is None else t.reached,
                "duration": duration,
            })
        columns = ["stage", "stage_en", "stage_zh", "transition", "variable", "threshold",
                   "time", "reached", "duration"]
        return pd.DataFrame(rows, columns=columns)


def crossing_time(series: pd.Series, level: float) -> float | None:
    """First time a series crosses ``level`` upwards, interpolated linearly.

    Parameters
    ----------
    series : pandas.Series
        Values indexed by (increasing) time.
    level : float
        Level to cross.

    Returns
    -------
    float or None
        The time at which the linear interpolation of the series first reaches
        ``level`` coming from below; the first time if the series starts at or
        above the level; ``None`` if it never reaches it.

    Examples
    --------
    >>> import pandas as pd
    >>> crossing_time(pd.Series([0.0, 0.4, 0.8], index=[0.0, 1.0, 2.0]), 0.5)
    1.25
    """
    if not math.isfinite(level):
        raise ParameterValueError(f"Crossing level must be a finite number, got {level!r}.")
    times = np.asarray(series.index, dtype=float)
    values = np.asarray(series.to_numpy(), dtype=float)
    if times.size == 0:
        return None
    if np.any(np.diff(times) <= 0):
        raise ParameterValueError("Series index must be strictly increasing times.")
    above = values >= level
    if not above.any():
        return None
    first = int(np.argmax(above))
    if first == 0:
        return float(times[0])
    t0, t1 = times[first - 1], times[first]
    v0, v1 = values[first - 1], values[first]
    return float(t0 + (level - v0) * (t1 - t0) / (v1 - v0))


def detect_stages(results: pd.DataFrame, rules: Sequence[TransitionRule]) -> StageReport:
    """Transition times and stage durations of one run.

    Parameters
    ----------
    results : pandas.DataFrame
        A run, indexed by time, with the rules' variables as columns.
    rules : sequence of TransitionRule
        One rule per transition, e.g. into stage 2 and into stage 3.

    Returns
    -------
    StageReport

    Raises
    ------
    UnknownVariableError
        If a rule's variable is not a column of ``results``.
    """
    if len(results.index) == 0:
        raise ParameterValueError("Cannot detect stages in an empty run.")
    transitions = []
    for rule in rules:
        if rule.variable not in results.columns:
            raise UnknownVariableError(
                rule.variable, close_matches(rule.variable, results.columns), "the run's results"
            )
        time = crossing_time(results[rule.variable], rule.threshold)
        transitions.append(
            Transition(rule.to_stage - 1, rule.to_stage, rule.variable, rule.threshold, time)
        )
    start, end = float(results.index[0]), float(results.index[-1])
    return StageReport(tuple(transitions), _durations(transitions, start, end), start, end)


def _durations(transitions: Sequence[Transition], start: float, end: float) -> dict[int, float]:
    """Years spent in each stage, taking the highest stage reached at each time."""
    stages = {1} | {t.to_stage for t in transitions}
    events = sorted((t.time, t.to_stage) for t in transitions if t.time is not None)
    durations = dict.fromkeys(sorted(stages), 0.0)
    current, since = 1, start
    for time, stage in events:
        if stage > current:
            durations[current] += time - since
            current, since = stage, time
    durations[current] += end - since
    return durations

"""One loop study of a model file: run it (or a scenario of it), score its loops, report.

The library side of ``sdkit loops`` (the command only parses options and prints):
:func:`loop_study` loads the model and its card, runs the baseline or a scenario at its
TIME STEP, computes loop dominance (:func:`sdkit.loops.ltm.loop_dominance`) and returns
the Markdown report (:func:`sdkit.loops.report.loops_markdown`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sdkit.errors import ParameterValueError

__all__ = ["loop_study"]


def _check(window: float, periods: int, max_length: int) -> None:
    if window < 0:
        raise ParameterValueError(f"--window must be zero or positive, got {window}.")
    if periods < 1:
        raise ParameterValueError(f"--periods must be at least 1, got {periods}.")
    if max_length < 0:
        raise ParameterValueError(f"--max-length must be zero or positive, got {max_length}.")


def loop_study(model: str | os.PathLike[str], *, scenario: str | os.PathLike[str] | None = None,
               window: float = 1.0, periods: int = 4, max_length: int = 20,
               discover: bool = True, engine: str = "auto") -> str:
    """The loop report of ``model``'s baseline run, or of a scenario's run.

    Parameters
    ----------
    model : path-like
        The model file; its card (same stem, ``.toml``) is used when there is one.
    scenario : path-like, optional
        A scenario file whose constants, inputs and run settings replace the baseline's.
    window : float, default 1.0
        Time over which absolute relative loop scores are averaged (model time unit).
    periods : int, default 4
        Equal periods a run without stages is reported in.
    max_length : int, default 20
        Longest loop enumerated (links); longer strong loops are found by search.
    discover : bool, default True
        Add the loops found by the strongest-path search.
    engine : {"auto", "ensemble", "pysd"}, default "auto"
        What runs the model (the backend seam); loop scores are computed from the run.

    Returns
    -------
    str
        The Markdown report (the block ``sdkit loops --update`` writes).

    Raises
    ------
    ParameterValueError
        For a negative window or maximum length, or fewer than one period.
    """
    from sdkit.loops.ltm import loop_dominance
    from sdkit.loops.report import loops_markdown
    from sdkit.model.card import card_path, load_card
    from sdkit.model.core import load_model

    _check(window, periods, max_length)
    loaded = load_model(model)
    params: dict[str, Any] | None = None
    settings: dict[str, float] = {}
    if scenario is not None:
        from sdkit.scenarios.spec import load_scenario

        chosen = load_scenario(scenario, model=loaded)
        params, settings = chosen.params(loaded), dict(chosen.run_settings)
    step = settings.get("time_step", loaded.time_step)
    # A scenario's run settings are only final_time, time_step and saveper.
    results = loaded.run(params, final_time=settings.get("final_time"), time_step=step,
                         saveper=step, engine=engine)
    card = load_card(Path(model)) if card_path(Path(model)).is_file() else None
    dominance = loop_dominance(loaded, results, card=card, window=window, max_length=max_length,
                               params=params, time_step=step, discover=discover)
    return loops_markdown(dominance, card, periods=periods)

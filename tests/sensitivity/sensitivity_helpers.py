"""Shared pieces of the sensitivity tests: an analytic model, spec text, stub evaluators."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

WEIGHTS = {"a": 1.0, "b": 2.0, "c": 3.0}
FINAL_TIME = 2.0

#: ``Stock = INTEG(a*w1 + b*w2 + c*w3, 0)`` with a, b, c documented on [0, 1]:
#: the stock at time t is t * (a + 2 b + 3 c).
LINEAR_MDL = """{UTF-8}
Stock= INTEG (
\tinflow,
\t\t0)
\t~\tunits [0,?]
\t~\tAccumulates the inflow.
\t|

inflow=
\ta*w1 + b*w2 + c*w3
\t~\tunits/year
\t~\tWeighted sum of the parameters.
\t|
""" + "".join(
    f"\n{name}=\n\t0.5\n\t~\tDmnl [0,1]\n\t~\tParameter {name}.\n\t|\n" for name in "abc"
) + "".join(
    f"\nw{i}=\n\t{w:g}\n\t~\tunits/year\n\t~\tWeight.\n\t|\n"
    for i, w in enumerate(WEIGHTS.values(), start=1)
) + """
FINAL TIME  = 2
\t~\tyear
\t~\tThe final time.
\t|

INITIAL TIME  = 0
\t~\tyear
\t~\tThe initial time.
\t|

SAVEPER  = 0.5
\t~\tyear [0,?]
\t~\tSaved interval.
\t|

TIME STEP  = 0.25
\t~\tyear [0,?]
\t~\tTime step.
\t|
"""

OUTPUTS = """
[[outputs]]
kind = "final"
variable = "Stock"

[[outputs]]
kind = "value"
variable = "Stock"
year = 1.25

[[outputs]]
kind = "reach"
variable = "Stock"
level = 6
"""


def spec_text(method: str = "sobol", samples: int = 64, seed: int = 7, chunk_size: int = 16,
              extra: str = "", bands: bool = True) -> str:
    """A spec of the linear model (beside it as ``linear.mdl``)."""
    params = "".join(f'\n[parameters.{n}]\ndistribution = "uniform"\nlow = 0\nhigh = 1\n'
                     for n in "abc")
    band = '\n[bands]\nvariables = ["Stock"]\n' if bands else ""
    return (f'name = "linear-{method}"\nmodel = "linear.mdl"\n{extra}\n'
            f'[method]\nname = "{method}"\nsamples = {samples}\nseed = {seed}\n'
            f"\n[execution]\nchunk_size = {chunk_size}\n{params}{OUTPUTS}{band}")


def write_spec(folder: Path, text: str, name: str = "spec.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


class StubEvaluator:
    """Analytic outputs of the linear model, plus a nonlinear one; counts its calls.

    ``interrupt_at`` makes the chunk starting at that run raise KeyboardInterrupt.
    """

    name = "stub"

    def __init__(self, interrupt_at: int | None = None) -> None:
        self.calls: list[int] = []
        self.interrupt_at = interrupt_at

    def evaluate(self, params: pd.DataFrame) -> pd.DataFrame:
        first = int(params.index[0])
        if first == self.interrupt_at:
            raise KeyboardInterrupt
        self.calls.append(first)
        rate = sum(w * params[n] for n, w in WEIGHTS.items())
        reach = np.where(rate * FINAL_TIME >= 6, 6 / rate.where(rate > 0, 1), FINAL_TIME + 1)
        return pd.DataFrame({"final Stock": FINAL_TIME * rate, "Stock 1.25": 1.25 * rate,
                             "Stock reaches 6": reach}, index=params.index)

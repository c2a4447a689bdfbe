"""A small logistic model and writers of observation files and specs for calibration tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

import sdkit
from sdkit.engine import run_ensemble

LOGISTIC_MDL = """{UTF-8}
Population = INTEG(growth, initial population)
\t~\tanimals
\t~\tAnimals alive.
\t|

growth = growth rate * Population * (1 - Population / capacity)
\t~\tanimals/year
\t~\tNet growth.
\t|

growth rate = 0.8
\t~\t1/year [0, 5]
\t~\tIntrinsic growth rate.
\t|

capacity = 1000
\t~\tanimals [1, 10000]
\t~\tCarrying capacity.
\t|

initial population = 10
\t~\tanimals [1, 100]
\t~\tPopulation at the start.
\t|

unseen parameter = 1
\t~\tdmnl [0, 10]
\t~\tA constant no observed variable depends on.
\t|

side effect = unseen parameter * Time
\t~\tdmnl*year
\t~\tDepends on the unseen parameter only.
\t|

FINAL TIME = 20
\t~\tyear
\t~\t|
INITIAL TIME = 0
\t~\tyear
\t~\t|
SAVEPER = 1
\t~\tyear
\t~\t|
TIME STEP = 0.125
\t~\tyear
\t~\t|
"""
TRUTH = {"growth rate": 0.8, "capacity": 1000.0}
HEADER = ("id,kind,variable,time,end,base_time,base_end,threshold,value,sd,low,high,scale,"
          "unit,source")


def write_logistic(folder: Path) -> Path:
    path = folder / "logistic.mdl"
    path.write_text(LOGISTIC_MDL, encoding="utf-8")
    return path


def true_population(model: sdkit.model.core.Model, times: Sequence[float]) -> np.ndarray:
    """Population of the true parameters at ``times`` (engine run, saved every step)."""
    params = pd.DataFrame({k: [v] for k, v in TRUTH.items()})
    result = run_ensemble(model, params, saveper=0.125, outputs=["Population"])
    return np.interp(times, result.times, result["Population"][0])


def noisy_levels(model: sdkit.model.core.Model, seed: int,
                 times: Sequence[float] = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
                 sd: float = 0.1) -> list[str]:
    """Observation rows: Population at ``times`` with log-normal noise of ``sd``."""
    rng = np.random.default_rng(seed)
    truth = true_population(model, times)
    return [f"p{t:g},level,Population,{t},,,,,{v * np.exp(sd * rng.standard_normal()):.6g},"
            f"{sd},,,log,animals,synthetic" for t, v in zip(times, truth, strict=True)]


def write_observations(folder: Path, rows: Sequence[str], name: str = "obs.csv") -> Path:
    path = folder / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def write_spec(folder: Path, *, extra: str = "", seed: int = 1, steps: int = 300,
               maxiter: int = 40, train_until: float | None = None,
               observations: str = "obs.csv", name: str = "spec.toml",
               parameters: str | None = None) -> Path:
    parameters = parameters or (
        '"growth rate" = { low = 0.2, high = 2 }\n'
        'capacity = { low = 300, high = 3000 }\n'
        '"unseen parameter" = { low = 0, high = 10 }\n')
    until = "" if train_until is None else f"train_until = {train_until}\n"
    text = (f'name = "logistic"\nmodel = "logistic.mdl"\nobservations = "{observations}"\n'
            f"seed = {seed}\n{until}{extra}\n[parameters]\n{parameters}\n"
            f"[optimizer]\nmaxiter = {maxiter}\n\n[sampler]\nwalkers = 16\nsteps = {steps}\n"
            f"checkpoint = 100\n")
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path

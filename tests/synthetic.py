"""Synthetic tables for chart and briefing tests (no model runs)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

TIMES = np.arange(2015.0, 2030.01, 0.25)
PARAMETERS = ["talent budget share", "attrition rate", "hiring time", "novice productivity"]


@dataclass(frozen=True)
class FakeSensitivity:
    """Shaped like sdkit.sensitivity.SensitivityResult (indices and bands)."""

    indices: pd.DataFrame
    bands: pd.DataFrame


def long_results(scenarios: tuple[str, ...] = ("baseline", "fast"),
                 variables: tuple[str, ...] = ("Buyers on platform", "Mills on platform")
                 ) -> pd.DataFrame:
    frames = []
    for k, name in enumerate(scenarios):
        for j, variable in enumerate(variables):
            values = (1 + 0.3 * k) * (j + 1) * 100 / (1 + np.exp(-(TIMES - 2019)))
            frames.append(pd.DataFrame({"scenario": name, "time": TIMES, "variable": variable,
                                        "value": values}))
    return pd.concat(frames, ignore_index=True)


def transitions(scenarios: tuple[str, ...] = ("baseline", "fast")) -> pd.DataFrame:
    rows = []
    for k, name in enumerate(scenarios):
        t2, t3 = 2017.4 - k, (2020.0 - k if k < 2 else np.nan)
        for stage, en, zh, label, time in [(1, "platformization", "平台化", "start", 2015.0),
                                           (2, "intelligentization", "智慧化", "1->2", t2),
                                           (3, "ecologization", "生态化", "2->3", t3)]:
            rows.append({"scenario": name, "stage": stage, "stage_en": en, "stage_zh": zh,
                         "transition": label, "variable": "", "threshold": 0.5, "time": time,
                         "reached": not np.isnan(time), "duration": 1.0})
    return pd.DataFrame(rows)


def sensitivity(method: str = "morris", output: str = "Buyers on platform") -> FakeSensitivity:
    n = len(PARAMETERS)
    nan = np.full(n, np.nan)
    indices = pd.DataFrame({
        "method": method, "output": output, "parameter": PARAMETERS,
        "S1": nan, "S1_conf": nan, "ST": nan, "ST_conf": nan, "mu_star": nan,
        "mu_star_conf": nan, "sigma": nan, "delta": nan})
    if method == "morris":
        indices["mu_star"] = [40.0, 25.0, 5.0, 1.0]
        indices["mu_star_conf"] = [4.0, 3.0, 1.0, 0.5]
        indices["sigma"] = [10.0, 8.0, 2.0, 0.4]
    else:
        indices["S1"] = [0.5, 0.2, 0.05, 0.01]
        indices["S1_conf"] = 0.03
        indices["ST"] = [0.6, 0.3, 0.08, 0.02]
        indices["ST_conf"] = 0.04
    base = 100 / (1 + np.exp(-(TIMES - 2019)))
    bands = pd.DataFrame({"variable": output, "time": TIMES, "p5": base * 0.6,
                          "p25": base * 0.85, "p50": base, "p75": base * 1.1,
                          "p95": base * 1.4})
    return FakeSensitivity(indices, bands)


def loop_scores() -> pd.DataFrame:
    r1 = np.clip((2020 - TIMES) / 5, 0.05, 1)
    b1 = -(1 - r1) * 0.5
    r2 = 1 - r1
    return pd.DataFrame({"time": np.repeat(TIMES, 3), "loop": ["R1", "B1", "R2"] * len(TIMES),
                         "score": np.column_stack([r1, b1, r2]).ravel()})


def evidence() -> pd.DataFrame:
    return pd.DataFrame({
        "kind": ["transition", "level", "level"],
        "metric": ["stage 1 -> 2", "buyers", "mills"], "time": [2017.4, 2021.0, 2021.0],
        "low": [2017.0, 100.0, 10.0], "high": [2018.0, 200.0, 20.0],
        "unit": ["year", "enterprises", "mills"], "variable": ["t", "B", "M"],
        "model": [2017.4, 150.0, 35.0], "within": [True, True, False]})

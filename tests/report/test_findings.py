"""Sensitivity findings from a study's runs: never-reached runs left out, one-parameter
studies, and the number behind "the higher X, the lower Y".

The studies are built from real samples (sdkit.sensitivity.sampling) and outputs computed
by made-up functions, so each expected number is computed here from the runs, never typed.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from sdkit.report.briefing.findings import Voice, sensitivity_finding
from sdkit.report.briefing.findings_study import StudyRuns, effects, third_effect
from sdkit.sensitivity import analyze
from sdkit.sensitivity.sampling import Distribution, make_sample
from sdkit.sensitivity.spec import Method

FINAL = 100.0
PENALTY = 1.0
DISTRIBUTIONS = {"contact rate": Distribution("uniform", 4.0, 12.0),
                 "illness duration": Distribution("uniform", 3.0, 8.0),
                 "infectivity": Distribution("uniform", 0.03, 0.07)}
VOICE = Voice("en", "Day", units={"Infected": "people"})
REACH = {"name": "reach", "kind": "reach", "variable": "Infected", "level": 1000.0}


def _time_to_reach(values: pd.DataFrame) -> np.ndarray:
    """A made-up time the epidemic reaches its level: earlier with more contacts and a
    longer illness; after FINAL (never, recorded with the study's penalty) for the slowest."""
    time = 1200.0 / (values["contact rate"] * values["illness duration"] ** 0.5)
    time = time + 100.0 * values["infectivity"]
    return np.where(time > FINAL, FINAL + PENALTY, time)


def _study(method: str, samples: int, *, names: list[str] | None = None, seed: int = 3,
           levels: int = 4, reached: bool = False) -> SimpleNamespace:
    """A study result shaped like SensitivityResult: indices computed by the study's own
    analysis, with never-reached runs counted at the penalty (``reached``: every run
    reaches the level before the end)."""
    chosen = {n: DISTRIBUTIONS[n] for n in names or DISTRIBUTIONS}
    base = {n: (d.low + d.high) / 2 for n, d in DISTRIBUTIONS.items()}
    sample = make_sample(method, chosen, samples=samples, seed=seed, levels=levels,
                         base={n: base[n] for n in chosen})
    values = sample.values.assign(**{n: base[n] for n in DISTRIBUTIONS if n not in chosen})
    times = _time_to_reach(values)
    outputs = pd.DataFrame({"reach": np.minimum(times, FINAL - 1) if reached else times},
                           index=sample.values.index)
    indices = analyze.indices(Method(method, samples, seed=seed, levels=levels), sample,
                              outputs)
    manifest = {"method": method, "final_time": FINAL, "method_options": {"levels": levels},
                "outputs": [REACH]}
    return SimpleNamespace(indices=indices, bands=pd.DataFrame(), samples=sample.values,
                           outputs=outputs, manifest=manifest)


@pytest.fixture(scope="module")
def morris() -> SimpleNamespace:
    return _study("morris", 20)


def test_morris_effects_recomputed_from_the_runs_equal_the_study_indices(morris) -> None:
    runs = StudyRuns.of(morris)
    assert runs is not None and runs.final_time == FINAL and runs.levels == 4
    everything = effects(runs, "reach", np.ones(len(morris.samples), dtype=bool))
    study = morris.indices.set_index("parameter")["mu_star"]
    assert everything.set_index("parameter")["mu_star"].to_dict() == pytest.approx(
        study.to_dict(), rel=1e-9)


def test_never_reached_runs_are_left_out_and_counted(morris) -> None:
    runs = StudyRuns.of(morris)
    assert runs is not None
    never = runs.never("reach", REACH)
    count = int(never.sum())
    assert 0 < count < len(never)  # the made-up study has some of each
    [found] = sensitivity_finding(morris.indices, "reach", voice=VOICE, info=REACH, runs=runs)
    assert f"{count} of the {len(never)} sampled runs never get there by day 100" in found.text
    assert "left out" in found.text and f"the {count} such runs" in found.note
    kept = effects(runs, "reach", ~never).set_index("parameter")["mu_star"]
    with_penalty = morris.indices.set_index("parameter")["mu_star"]
    leader = str(kept.abs().idxmax())
    assert not math.isclose(kept[leader], with_penalty[leader])  # the penalty would count
    assert f"{leader} {kept[leader]:.3g}" in found.note or \
        f"{leader} {round(kept[leader], 2):g}" in found.note
    # without the runs, the study's indices (penalty included) are all there is to say
    [plain] = sensitivity_finding(morris.indices, "reach", voice=VOICE, info=REACH)
    assert "never get there" not in plain.text and plain.text != found.text


def test_an_output_no_run_reaches_says_so() -> None:
    study = _study("lhs", 12)
    study.outputs["reach"] = FINAL + PENALTY
    [found] = sensitivity_finding(study.indices, "reach", voice=VOICE, info=REACH,
                                  runs=StudyRuns.of(study))
    assert found.text.startswith("None of the 12 sampled runs gets to the moment Infected "
                                 "reaches 1,000 by day 100")


def test_rank_correlation_finding_gives_the_typical_change(morris) -> None:
    study = _study("lhs", 60)
    runs = StudyRuns.of(study)
    assert runs is not None
    keep = ~runs.never("reach", REACH)
    [found] = sensitivity_finding(study.indices, "reach", voice=VOICE, info=REACH, runs=runs)
    x = study.samples["contact rate"].to_numpy()[keep]
    y = study.outputs["reach"].to_numpy()[keep]
    change = third_effect(x, y)
    assert change < 0  # more contacts: reached earlier
    days = f"{abs(change):.0f}" if abs(change) >= 10 else f"{abs(change):.1f}".rstrip("0")
    assert ("the higher contact rate, the earlier the moment Infected reaches 1,000, "
            f"typically by about {days} days from the lowest to the highest third") in found.text
    assert "tends to be" not in found.text
    assert "Spearman rank correlation" in found.note and "highest third" in found.note


@pytest.mark.parametrize("method", ["morris", "oat", "sobol", "lhs"])
def test_a_one_parameter_study_gives_a_finding(method: str) -> None:
    samples = {"morris": 10, "oat": 5, "sobol": 16, "lhs": 30}[method]
    study = _study(method, samples, names=["contact rate"], reached=True)
    [found] = sensitivity_finding(study.indices, "reach", voice=VOICE, info=REACH,
                                  runs=StudyRuns.of(study))
    assert "contact rate" in found.text and "Next comes" not in found.text
    assert found.note and "contact rate" in found.note
    [alone] = sensitivity_finding(study.indices, "reach", voice=VOICE, info=REACH)
    assert "contact rate" in alone.text  # from the indices alone too
    if method == "morris":
        mu = float(study.indices["mu_star"].iloc[0])
        assert found.text.startswith("Across its range, contact rate moves the moment Infected "
                                     "reaches 1,000 by about ")
        assert f"{mu:.1f}".rstrip("0").rstrip(".") in found.text or f"{mu:.0f}" in found.text
    if method == "oat":
        values = study.samples["contact rate"].to_numpy()
        out = study.outputs["reach"].to_numpy()
        delta = out[np.argmax(values)] - out[np.argmin(values)]
        assert found.text.startswith("From its low to its high value, contact rate changes")
        assert f"{abs(delta):.0f}" in found.text or f"{abs(delta):.1f}".rstrip("0") in found.text


def test_chinese_one_parameter_finding_and_never_runs() -> None:
    study = _study("lhs", 30, names=["contact rate"])
    runs = StudyRuns.of(study)
    assert runs is not None
    count = int(runs.never("reach", REACH).sum())
    [found] = sensitivity_finding(study.indices, "reach", voice=Voice("zh", "Day"), info=REACH,
                                  runs=runs)
    assert "contact rate越高" in found.text and "其次" not in found.text
    if count:
        assert f"30 次抽样运行中有 {count} 次到第 100 天仍未达到" in found.text


def test_one_at_a_time_leaves_out_the_run_that_never_got_there() -> None:
    study = _study("oat", 5)
    runs = StudyRuns.of(study)
    assert runs is not None
    never = runs.never("reach", REACH)
    [found] = sensitivity_finding(study.indices, "reach", voice=VOICE, info=REACH, runs=runs)
    count, total = int(never.sum()), len(never)
    assert count >= 1
    said = (f"1 of the {total} sampled runs never gets there by day 100: it is left out"
            if count == 1 else f"{count} of the {total} sampled runs never get there")
    assert said in found.text
    # each parameter's change over its own reached runs, the others at the base
    values, out = study.samples.to_numpy(), study.outputs["reach"].to_numpy()
    kept = effects(runs, "reach", ~never).set_index("parameter")["delta"]
    for j, name in enumerate(study.samples.columns):
        rows = [i for i in range(total) if not never[i] and all(
            values[i, k] == values[0, k] for k in range(values.shape[1]) if k != j)]
        x = values[rows, j]
        assert kept[name] == pytest.approx(out[rows][np.argmax(x)] - out[rows][np.argmin(x)])

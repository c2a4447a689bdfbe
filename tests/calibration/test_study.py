"""A calibration's stages: what is reused on a rerun, what is refused, what is reported."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import sdkit
from sdkit.calibration import run_calibration
from sdkit.errors import InputFileError, SimulationError

from .helpers import noisy_levels, write_observations, write_spec


@pytest.fixture()
def spec(folder: Path, logistic: sdkit.model.core.Model) -> Path:
    write_observations(folder, noisy_levels(logistic, 4))
    return write_spec(folder, seed=4, steps=40, maxiter=4)


def _strict_json(path: Path) -> dict:
    def refuse(name: str) -> None:
        raise ValueError(f"{path.name} holds {name}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def test_longer_chains_and_report_options_reuse_the_work_done(folder: Path, spec: Path) -> None:
    out = folder / "out"
    first = run_calibration(spec, output_dir=out, progress=False)
    assert sorted(first.manifest["resumed"]) == []
    longer = spec.read_text().replace("steps = 40", "steps = 60") + \
        "\n[report]\ndraws = 50\nbands = ['Population']\n"
    spec.write_text(longer.replace("checkpoint = 100", "checkpoint = 20"))
    # the chunk size changed: the chain is recomputed, the optimum is reused
    second = run_calibration(spec, output_dir=out, progress=False)
    assert second.manifest["resumed"] == ["optimize"]
    kept = {p.name: p.stat().st_mtime_ns for p in (out / "chain").glob("chunk-*.npz")}
    assert sorted(kept) == [f"chunk-0000{i}.npz" for i in range(3)]
    spec.write_text(spec.read_text().replace("steps = 60", "steps = 80"))
    third = run_calibration(spec, output_dir=out, progress=False)
    assert third.manifest["resumed"] == ["optimize"]  # three chunks reused, one new
    now = {p.name: p.stat().st_mtime_ns for p in (out / "chain").glob("chunk-*.npz")}
    assert len(now) == 4 and all(now[name] == kept[name] for name in kept)
    assert third.manifest["evaluations"] > second.manifest["evaluations"]
    for name in ("manifest.json", "report.json"):
        _strict_json(out / name)  # no bare NaN


def test_a_finished_calibration_of_another_spec_is_not_overwritten(folder: Path,
                                                                   spec: Path) -> None:
    out = folder / "out"
    run_calibration(spec, output_dir=out, progress=False)
    spec.write_text(spec.read_text().replace("seed = 4", "seed = 5"))
    with pytest.raises(InputFileError, match="holds a finished calibration of another spec"):
        run_calibration(spec, output_dir=out, progress=False)
    assert json.loads((out / "manifest.json").read_text())["seed"] == 4
    # unless asked to (make calibration after the model changed)
    replaced = run_calibration(spec, output_dir=out, progress=False, replace=True)
    assert replaced.manifest["seed"] == 5
    assert json.loads((out / "manifest.json").read_text())["seed"] == 5


def test_a_checkpoint_of_the_wrong_shape_is_recomputed(folder: Path, spec: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    from sdkit.calibration.checkpoint import load_arrays, save_arrays

    out = folder / "out"
    whole = run_calibration(spec, output_dir=out, progress=False)
    record = json.loads((out / "optimum.json").read_text())
    saved = load_arrays(out / "optimum.npz", record["work"])
    save_arrays(out / "optimum.npz", {**saved, "x": saved["x"][:2]}, record["work"])
    (out / "manifest.json").write_text(json.dumps({**whole.manifest, "complete": False}))
    with caplog.at_level("WARNING"):
        again = run_calibration(spec, output_dir=out, progress=False)
    assert "does not hold a usable optimum" in caplog.text
    assert again.manifest["resumed"] == ["sample"]
    np.testing.assert_array_equal(again.posterior.to_numpy(), whole.posterior.to_numpy())


def test_no_usable_prediction_is_one_clear_error(folder: Path) -> None:
    # side effect = unseen parameter * Time is 0 at time 0: the ratio's denominator
    write_observations(folder, ["r,ratio,side effect,5,,0,,,3,0.5,,,,dmnl,synthetic"])
    with pytest.raises(SimulationError, match=r"No parameter set .* finite likelihood.*"
                       r"Unusable at the priors' 10%, 50% and 90% points: r\."):
        run_calibration(write_spec(folder, steps=4, maxiter=2), progress=False)


def test_a_zero_weight_leaves_an_observation_out(folder: Path,
                                                 logistic: sdkit.model.core.Model) -> None:
    write_observations(folder, noisy_levels(logistic, 4) + [
        "r,ratio,side effect,5,,0,,,3,0.5,,,,dmnl,synthetic"])
    result = run_calibration(write_spec(folder, steps=10, maxiter=3,
                                        extra="[payoff]\nweights = { r = 0 }\n"),
                             progress=False)
    assert not math.isfinite(result.observations.set_index("id").loc["r", "at_mode"])
    assert result.estimates["identified"].iloc[:2].all()


def test_an_estimate_pressed_against_a_bound_is_flagged(folder: Path,
                                                        logistic: sdkit.model.core.Model) -> None:
    write_observations(folder, noisy_levels(logistic, 4))
    tight = '"growth rate" = { low = 0.2, high = 0.5 }\ncapacity = { low = 300, high = 3000 }\n'
    result = run_calibration(write_spec(folder, parameters=tight, steps=40, maxiter=10),
                             progress=False)
    row = result.estimates.set_index("parameter").loc["growth rate"]
    assert row["at_bound"] == "high"
    from sdkit.calibration.result import report_markdown

    assert "at the upper bound" in report_markdown(result)


def test_a_level_at_the_initial_time_is_fitted(folder: Path) -> None:
    write_observations(folder, ["p0,level,Population,0,,,,,10,0.1,,,log,animals,synthetic"])
    result = run_calibration(write_spec(folder, steps=6, maxiter=2), progress=False)
    row = result.observations.iloc[0]
    assert row["at_mode"] == 10.0 and row["inside"]


def test_a_very_short_chain_still_reports_from_its_folder(folder: Path,
                                                          logistic: sdkit.model.core.Model) -> None:
    from sdkit.calibration import load_result
    from sdkit.calibration.result import report_markdown

    write_observations(folder, noisy_levels(logistic, 4))
    out = folder / "out"
    run_calibration(write_spec(folder, steps=3, maxiter=2), output_dir=out, progress=False)
    manifest = _strict_json(out / "manifest.json")
    assert manifest["diagnostics"]["tau_max"] is None  # no estimate from three steps
    text = report_markdown(load_result(out))
    assert "| growth rate |" in text and "effective draws" in text
    _strict_json(out / "report.json")

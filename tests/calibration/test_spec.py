"""Calibration specs: every problem is one line naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

import sdkit
from sdkit.calibration import CalibrationSpecError, load_calibration_spec

from .helpers import noisy_levels, write_observations, write_spec


@pytest.fixture()
def ready(folder: Path, logistic: sdkit.model.Model) -> Path:
    write_observations(folder, noisy_levels(logistic, 0))
    return folder


def test_a_good_spec_loads(ready: Path) -> None:
    spec = load_calibration_spec(write_spec(ready, train_until=4.5))
    assert spec.parameter_names == ["growth rate", "capacity", "unseen parameter"]
    assert [p.prior.kind for p in spec.parameters] == ["uniform"] * 3
    assert spec.train_until == 4.5 and spec.walkers == 16 and spec.sampler.burn == 150
    assert len(spec.observations) == 10


@pytest.mark.parametrize(("change", "key", "message"), [
    ({"extra": "seeds = 3\n"}, "seeds", "unknown key; valid keys: ['name'"),
    ({"extra": "train_until = 0.5\n"}, "train_until", "no observation is at or before 0.5"),
    ({"extra": "[payoff]\nkind = 'least squares'\n"}, "payoff.kind",
     "'least squares' is not a payoff; valid payoffs: ['gaussian']"),
    ({"extra": "[payoff]\nweights = { p99 = 1 }\n"}, "payoff.weights.p99", "unknown key"),
    ({"extra": "[payoff]\nweights = { p1 = -1 }\n"}, "payoff.weights.p1", "must be >= 0"),
    ({"extra": "[execution]\nengine = 'fast'\n"}, "execution.engine", "'fast' is not an engine"),
    ({"extra": "[report]\nbands = ['Populaton']\n"}, "report.bands",
     "unknown variable 'Populaton' in model 'logistic.mdl'. Did you mean 'Population'"),
    ({"parameters": '"growth rat" = { low = 0.2, high = 2 }\n'}, 'parameters."growth rat"',
     "Did you mean 'growth rate'"),
    ({"parameters": '"growth rate" = { low = 0.2, high = 9 }\n'}, 'parameters."growth rate".high',
     "high 9 is outside the documented range [0, 5] of 'growth rate'"),
    ({"parameters": '"growth rate" = { low = 2, high = 1 }\n'}, 'parameters."growth rate".high',
     "high (1) must be greater than low (2)"),
    ({"parameters": '"growth rate" = { distribution = "levels", levels = [1, 2] }\n'},
     'parameters."growth rate".distribution', "'levels' is not a prior; valid priors"),
    ({"parameters": '"growth rate" = { low = 0.2, high = 2, group = "g" }\n'},
     'parameters."growth rate".group', "unknown key"),
    ({"parameters": 'growth = { low = 0.2, high = 2 }\n'}, "parameters.growth",
     "'growth' is a flow; only constants can be set"),
    ({"observations": "nothing.csv"}, "observations", "does not exist"),
])
def test_problems_name_file_and_key(ready: Path, change: dict, key: str, message: str) -> None:
    path = write_spec(ready, **change)
    with pytest.raises(CalibrationSpecError) as info:
        load_calibration_spec(path)
    text = str(info.value)
    assert text.startswith(f"{path}: {key}: "), text
    assert message in text
    assert "\n" not in text


def test_sampler_and_seed_problems(ready: Path) -> None:
    path = write_spec(ready)
    path.write_text(path.read_text().replace("steps = 300", "steps = 10\nburn = 10"))
    with pytest.raises(CalibrationSpecError, match=r"sampler.burn: must be less than steps"):
        load_calibration_spec(path)
    path.write_text(path.read_text().replace("burn = 10", "").replace("walkers = 16",
                                                                      "walkers = 5"))
    with pytest.raises(CalibrationSpecError, match=r"sampler.walkers: needs at least twice the "
                       r"3 parameters \(6\), or 0 for the default; got 5"):
        load_calibration_spec(path)
    path.write_text(path.read_text().replace("seed = 1\n", ""))
    with pytest.raises(CalibrationSpecError, match="seed: missing required key"):
        load_calibration_spec(path)


def test_a_bad_observations_file_is_reported_under_its_key(ready: Path) -> None:
    write_observations(ready, ["p1,level,Population,1,,,,,5,,,,,,s"], name="bad.csv")
    with pytest.raises(CalibrationSpecError, match=r"observations: .*bad.csv: row 2 \('p1'\): "
                       r"sd: give either sd"):
        load_calibration_spec(write_spec(ready, observations="bad.csv"))


def test_the_model_can_come_from_the_caller(ready: Path, logistic: sdkit.model.Model) -> None:
    path = write_spec(ready)
    path.write_text(path.read_text().replace('model = "logistic.mdl"\n', ""))
    assert load_calibration_spec(path, model=logistic).model_path == logistic.path
    with pytest.raises(CalibrationSpecError, match="give exactly one of 'scenario'"):
        load_calibration_spec(path)

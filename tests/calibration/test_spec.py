"""Calibration specs: every problem is one line naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

import sdkit
from sdkit.calibration import CalibrationSpecError, load_calibration_spec

from .helpers import noisy_levels, write_observations, write_spec


@pytest.fixture()
def ready(folder: Path, logistic: sdkit.model.core.Model) -> Path:
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


def test_the_model_can_come_from_the_caller(ready: Path, logistic: sdkit.model.core.Model) -> None:
    path = write_spec(ready)
    path.write_text(path.read_text().replace('model = "logistic.mdl"\n', ""))
    assert load_calibration_spec(path, model=logistic).model_path == logistic.path
    with pytest.raises(CalibrationSpecError, match="give exactly one of 'scenario'"):
        load_calibration_spec(path)


def _error(path: Path, model: sdkit.model.core.Model | None = None) -> str:
    with pytest.raises(CalibrationSpecError) as info:
        load_calibration_spec(path, model=model)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and "\n" not in text, text
    return text


_LEVELS = ["p1,level,Population,1,,,,,21,0.1,,,log,,s",
           "p5,level,Population,5,,,,,290,0.1,,,log,,s"]


@pytest.mark.parametrize(("row", "column", "shown"), [
    ("x,level,Population,25,,,,,900,0.1,,,log,,s", "time", "25"),
    ("x,level,Population,-1,,,,,9,0.1,,,log,,s", "time", "-1"),
    ("x,flow,growth,19,21,,,,50,5,,,,,s", "end", "21"),
    ("x,ratio,Population,5,,-2,,,2,0.1,,,,,s", "base_time", "-2"),
    ("x,ratio,growth,5,6,19.5,20.5,,2,0.1,,,,,s", "base_end", "20.5"),
])
def test_an_observed_time_outside_the_run_is_refused(ready: Path, row: str, column: str,
                                                     shown: str) -> None:
    """The run is [INITIAL TIME, final time]: outside it a level was fitted to the final
    value, and a period before the start crashed the fit."""
    write_observations(ready, [*_LEVELS, row])
    text = _error(write_spec(ready))
    assert f"observations: obs.csv: observation 'x': {column}: {shown} is outside the run " \
        "[0, 20] (INITIAL TIME to the final time)" in text


def test_the_run_s_ends_are_inside_it(ready: Path) -> None:
    """A level at the initial time and a period ending at the final time are fine."""
    write_observations(ready, ["s,level,Population,0,,,,,10,0.1,,,log,,s",
                               "f,flow,growth,19,20,,,,1,0.5,,,,,s",
                               "e,event,Population,,,,,500,7,2.5,,,,,s"])
    assert len(load_calibration_spec(write_spec(ready)).observations) == 3


def test_an_event_needs_the_run_to_reach_its_date_plus_five_sd(ready: Path) -> None:
    """A missed event counts as happening at the end of the run: the run must end five
    standard errors after the observed date for the miss to cost that much."""
    write_observations(ready, ["e,event,Population,,,,,500,19.5,1,,,,,s"])
    text = _error(write_spec(ready))
    assert "observations: obs.csv: observation 'e': value: the run must reach the observed " \
        "date plus five standard errors (19.5 + 5 x 1 = 24.5" in text
    assert "but it ends at 20" in text


def test_the_final_time_of_the_base_scenario_bounds_the_observations(ready: Path) -> None:
    (ready / "short.toml").write_text(
        'name = "short"\nmodel = "logistic.mdl"\n[title]\nen = "Short"\nzh = "短"\n'
        '[description]\nen = "A short run."\nzh = "短"\n[run]\nfinal_time = 8\n',
        encoding="utf-8")
    path = write_spec(ready)
    path.write_text(path.read_text().replace('model = "logistic.mdl"', 'scenario = "short.toml"'))
    assert "observation 'p9': time: 9 is outside the run [0, 8]" in _error(path)


def test_the_model_given_must_be_the_one_the_spec_names(
        ready: Path, logistic: sdkit.model.core.Model) -> None:
    """``sdkit calibrate MODEL SPEC`` ignored the spec's model key: a spec written for
    one model was validated and fitted against another."""
    assert logistic.path.parent != ready  # the same text in another folder: another file
    text = _error(write_spec(ready), logistic)
    assert f"model: 'logistic.mdl' ({ready / 'logistic.mdl'}) is not the model given " \
        f"({logistic.path})" in text
    same = sdkit.load_model(ready / "logistic.mdl")
    assert load_calibration_spec(write_spec(ready), model=same).model_path == same.path
    # through a base scenario: the scenario's model must be the given one too
    (ready / "base.toml").write_text(
        'name = "base"\nmodel = "logistic.mdl"\n[title]\nen = "Base"\nzh = "基"\n'
        '[description]\nen = "The base."\nzh = "基"\n', encoding="utf-8")
    path = write_spec(ready)
    path.write_text(path.read_text().replace('model = "logistic.mdl"', 'scenario = "base.toml"'))
    text = _error(path, logistic)
    assert "scenario: invalid base scenario: " in text and "is not the model given" in text
    assert load_calibration_spec(path, model=same).scenario_path == ready / "base.toml"


def test_the_given_model_rule_holds_for_sensitivity_specs(
        ready: Path, logistic: sdkit.model.core.Model) -> None:
    from sdkit.sensitivity import SensitivitySpecError, load_spec

    path = ready / "sens.toml"
    path.write_text('name = "s"\nmodel = "logistic.mdl"\n[method]\nname = "morris"\n'
                    'samples = 2\nseed = 1\n[parameters]\n"growth rate" = { low = 0.2, '
                    'high = 2 }\n[[outputs]]\nkind = "final"\nvariable = "Population"\n',
                    encoding="utf-8")
    with pytest.raises(SensitivitySpecError, match="is not the model given"):
        load_spec(path, model=logistic)
    assert load_spec(path, model=sdkit.load_model(ready / "logistic.mdl")).runs == 4


def test_a_subscripted_variable_is_refused_in_bands_and_observations(folder: Path) -> None:
    from .test_observations import SUBSCRIPTED_MDL

    (folder / "regions.mdl").write_text(SUBSCRIPTED_MDL, encoding="utf-8")
    write_observations(folder, ["t,level,total,5,,,,,40,0.1,,,log,,s"])
    spec = write_spec(folder, parameters='"growth rate" = { low = 0.05, high = 1 }\n',
                      extra="[report]\nbands = ['total', 'Population']\n")
    spec.write_text(spec.read_text().replace("logistic.mdl", "regions.mdl"))
    assert "report.bands: 'Population' is subscripted (over region); bands are of scalar " \
        "variables only" in _error(spec)
    write_observations(folder, ["t,level,growth,5,,,,,4,0.1,,,log,,s"])
    spec.write_text(spec.read_text().replace(", 'Population'", ""))
    assert "observations: " in _error(spec)
    assert "variable: 'growth' is subscripted (over region)" in _error(spec)


@pytest.mark.parametrize(("seed", "ok"), [(0, True), (2**32 - 4, True), (2**32 - 3, False),
                                          (2**40, False)])
def test_the_seed_fits_numpy(ready: Path, seed: int, ok: bool) -> None:
    """The stages seed numpy with seed .. seed + 3; RandomState takes seeds below 2**32."""
    path = write_spec(ready, seed=seed)
    if ok:
        assert load_calibration_spec(path).seed == seed
    else:
        assert "seed: must be at most 4294967292 (2**32 - 4: the stages use seed to seed + 3" \
            in _error(path)


def test_a_fitted_observation_must_have_weight(ready: Path) -> None:
    zero = "[payoff]\nweights = { p1 = 0, p2 = 0, p3 = 0 }\n"
    text = _error(write_spec(ready, train_until=3.5, extra=zero))
    assert "payoff.weights: every fitted observation ('p1', 'p2', 'p3') has weight 0; give " \
        "at least one a weight > 0" in text
    assert load_calibration_spec(write_spec(ready, extra=zero)).weights["p1"] == 0


def test_runs_are_counted_with_the_real_walkers_and_the_optimiser(ready: Path) -> None:
    """17 walkers run as 18 (an even number); the optimiser runs popsize x parameters
    x (maxiter + 1) sets; both are held to max_runs, and so is a new budget."""
    from sdkit.calibration.spec import with_budget
    from sdkit.util.limits import override_limits

    path = write_spec(ready)  # 3 parameters, 16 walkers x 300 steps, maxiter 40
    path.write_text(path.read_text().replace("walkers = 16", "walkers = 17"))
    with override_limits(max_runs=17 * 300):
        assert "sampler.steps: the sampler's walkers x steps = 18 x 300: the number of runs " \
            "is 5,400, more than the limit max_runs = 5,100" in _error(path)
    path.write_text(path.read_text().replace("walkers = 17", "walkers = 0"))
    with override_limits(max_runs=16 * 300):
        spec = load_calibration_spec(path)
        assert spec.walkers == 16
        with pytest.raises(CalibrationSpecError, match=r"sampler.steps: .* = 16 x 301: "):
            with_budget(spec, steps=301)
        with pytest.raises(CalibrationSpecError, match=r"optimizer.maxiter: the optimiser's "
                           r"popsize x parameters x \(maxiter \+ 1\) = 10 x 3 x 161: the "
                           r"number of runs is 4,830"):
            with_budget(spec, maxiter=160)
        with pytest.raises(CalibrationSpecError, match=r"sampler.walkers: 4 walkers"):
            with_budget(spec, walkers=4)
        assert with_budget(spec, steps=100, maxiter=10).sampler.steps == 100
    path.write_text(path.read_text().replace("maxiter = 40", "maxiter = 1000"))
    with override_limits(max_runs=16 * 300):
        assert "optimizer.maxiter: the optimiser's popsize x parameters x (maxiter + 1) = " \
            "10 x 3 x 1001: the number of runs is 30,030" in _error(path)


def test_a_parameter_the_base_varies_in_time_is_not_estimated(ready: Path) -> None:
    """Estimating it silently replaced the scenario's time-varying input by a constant."""
    (ready / "ramp.toml").write_text(
        'name = "ramp"\nmodel = "logistic.mdl"\n[title]\nen = "Ramp"\nzh = "坡"\n'
        '[description]\nen = "A ramp."\nzh = "坡"\n[inputs]\n"growth rate" = { form = '
        '"ramp", start = 2, end = 6, from = 0.8, to = 1.2 }\n', encoding="utf-8")
    path = write_spec(ready)
    path.write_text(path.read_text().replace('model = "logistic.mdl"', 'scenario = "ramp.toml"'))
    assert "parameters.\"growth rate\": the base scenario 'ramp.toml' sets 'growth rate' as a " \
        "time-varying input (inputs.\"growth rate\")" in _error(path)
    path.write_text(path.read_text().replace('"growth rate" = { low = 0.2, high = 2 }\n', ""))
    assert load_calibration_spec(path).parameter_names == ["capacity", "unseen parameter"]


#: Independent mistakes (changes to the spec ``write_spec`` writes) and their keys, in the
#: order checked.
SEVERAL = {
    "parameters": '"growth rat" = { low = 0.2, high = 2 }\n'
                  'capacity = { low = 300, high = 30000 }\n',
    "seed": -1,
    "extra": "[execution]\nengine = 'fast'\n[report]\nbands = ['Populaton']\ndraws = 2\n"
             "[payoff]\nweights = { p1 = -1 }\n",
    "steps": 1,
}
KEYS = ['parameters."growth rat"', "parameters.capacity.high", "seed", "execution.engine",
        "report.bands", "report.draws", "payoff.weights.p1", "sampler.steps"]


def test_every_problem_of_a_spec_is_reported_at_once(ready: Path) -> None:
    path = write_spec(ready, **SEVERAL)
    with pytest.raises(CalibrationSpecError) as info:
        load_calibration_spec(path)
    err = info.value
    assert [p.key for p in err.problems] == KEYS
    assert str(err) == f"{path}: 8 problems: " + "; ".join(
        str(p).removeprefix(f"{path}: ") for p in err.problems)
    assert err.key is None and "\n" not in str(err)
    assert all(isinstance(p, CalibrationSpecError) and p.problems == (p,) for p in err.problems)
    # one mistake alone gives the message it gives among the others
    single = write_spec(ready, seed=-1, name="single.toml")
    assert _error(single) == str(err.problems[2]).replace(str(path), str(single))


def test_the_bad_rows_of_the_observations_are_problems_of_the_spec(ready: Path) -> None:
    """Each bad row of the observations file, and each observation outside the run, is
    a problem under the key observations, reported with the spec's other problems."""
    write_observations(ready, ["p1,level,Population,1,,,,,5,,,,,,s",
                               "p2,level,Populaton,2,,,,,5,1,,,,,s"], name="bad.csv")
    path = write_spec(ready, observations="bad.csv", seed=-1)
    with pytest.raises(CalibrationSpecError) as info:
        load_calibration_spec(path)
    problems = info.value.problems
    assert [p.key for p in problems] == ["observations", "observations", "seed"]
    assert "bad.csv: row 2 ('p1'): sd: give either sd" in str(problems[0])
    assert "bad.csv: row 3 ('p2'): variable: unknown variable 'Populaton'" in str(problems[1])
    write_observations(ready, ["x,level,Population,25,,,,,900,0.1,,,log,,s",
                               "p1,level,Population,1,,,,,21,0.1,,,log,,s",
                               "e,event,Population,,,,,500,19.5,1,,,,,s"], name="late.csv")
    text = _error(write_spec(ready, observations="late.csv"))
    assert text.startswith(f"{ready / 'spec.toml'}: 2 problems: observations: late.csv: "
                           "observation 'x': time: 25 is outside the run")
    assert "; observations: late.csv: observation 'e': value: the run must reach" in text


def test_validate_prints_every_problem_on_one_line(ready: Path) -> None:
    from click.testing import CliRunner

    from sdkit.cli.app import main

    path = write_spec(ready, **SEVERAL)
    result = CliRunner().invoke(main, ["calibrate", "validate", str(ready / "logistic.mdl"),
                                       str(path)])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"sdkit: error: {path}: 8 problems: ")
    assert all(f"{key}: " in lines[0] for key in KEYS)

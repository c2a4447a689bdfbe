"""Resource limits: runs, time grids, samples and TOML files too large are refused at once.

Every refusal is one line naming the value and the limit, raised before anything
is allocated or run: never a hang, a MemoryError, a RecursionError or a traceback.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import control
from sensitivity_helpers import LINEAR_MDL, spec_text, write_spec

import sdkit
from sdkit.cli.app import main
from sdkit.engine import run_ensemble
from sdkit.errors import ParameterValueError, ResourceLimitError, SdkitError
from sdkit.model.card import load_card
from sdkit.scenarios.inputs import TimeInput, time_grid
from sdkit.scenarios.spec import Scenario, load_scenario
from sdkit.sensitivity import load_spec
from sdkit.sensitivity.sampling import Distribution, make_sample
from sdkit.util.limits import (
    DEFAULTS,
    ENV,
    check_run_size,
    check_sample_size,
    get_limit,
    override_limits,
    read_toml,
)

#: A one-stock model; the control section is added per test.
BODY = ("{UTF-8}\nlevel = INTEG(rate, 0)\n\t~\tunits\n\t~\t|\n"
        "rate = 1\n\t~\tunits/year [0,10]\n\t~\t|\n")
SCENARIO = """name = "probe"
title = {{ en = "Probe", zh = "探针" }}
description = {{ en = "A probe.", zh = "探针" }}
model = "model.mdl"
{rest}"""
NESTED = {"arrays": lambda n: "x = " + "[" * n + "]" * n + "\n",
          "inline tables": lambda n: "x = " + "{ a = " * n + "1" + " }" * n + "\n",
          "dotted key": lambda n: "a" + ".a" * n + " = 1\n"}


@pytest.fixture(autouse=True)
def default_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts from the default limits, whatever the environment says."""
    for env in ENV.values():
        monkeypatch.delenv(env, raising=False)


@contextmanager
def refused(kind: type[Exception], *fragments: str, seconds: float = 5.0) -> Iterator[None]:
    """Expect ``kind`` quickly, with a one-line message holding each fragment."""
    start = time.monotonic()
    with pytest.raises(kind) as info:
        yield
    assert time.monotonic() - start < seconds
    message = str(info.value)
    assert "\n" not in message and message.strip() == message
    for fragment in fragments:
        assert fragment in message, message


def model_file(folder: Path, name: str = "model.mdl", **times: Any) -> Path:
    path = folder / name
    path.write_text(BODY + control(**times), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("limits")


@pytest.fixture(scope="module")
def small(folder: Path) -> sdkit.model.core.Model:
    """10 steps of 1 year, every step saved."""
    return sdkit.load_model(model_file(folder))


# --------------------------------------------------------------------------- runs
@pytest.mark.parametrize("dt", [0, -1])
def test_model_time_step_not_positive(folder: Path, dt: float) -> None:
    model = sdkit.load_model(model_file(folder, f"dt{dt}.mdl", dt=dt))
    for run in (model.run, lambda: run_ensemble(model)):
        with refused(ParameterValueError, f"dt{dt}.mdl", f"time_step must be positive, got {dt}"):
            run()


def test_model_final_time_huge(folder: Path) -> None:
    model = sdkit.load_model(model_file(folder, "long.mdl", final=1e9))
    for run in (model.run, lambda: run_ensemble(model)):
        with refused(ResourceLimitError, "long.mdl", "1,000,000,000", "max_steps = 10,000,000",
                     "SDKIT_MAX_STEPS"):
            run()


def test_model_tiny_saveper_and_time_step(folder: Path) -> None:
    model = sdkit.load_model(model_file(folder, "fine.mdl", dt=1e-9, saveper=1e-9))
    with refused(ResourceLimitError, "10,000,000,000", "max_steps"):
        model.run()


def test_model_final_time_nan(folder: Path) -> None:
    model = sdkit.load_model(model_file(folder, "nan.mdl", final="SQRT(-1)"))
    assert math.isnan(model.final_time)  # it used to run one row silently
    with refused(ParameterValueError, "nan.mdl", "final_time must be a finite number, got nan"):
        model.run()


def test_model_final_before_initial(folder: Path) -> None:
    model = sdkit.load_model(model_file(folder, "back.mdl", initial=10, final=0))
    for run in (model.run, lambda: run_ensemble(model)):
        with refused(ParameterValueError, "final_time 0 is before initial_time 10"):
            run()


@pytest.mark.parametrize(("settings", "kind", "fragment"), [
    ({"final_time": 1e9}, ResourceLimitError, "1,000,000,000"),
    ({"time_step": 1e-9, "saveper": 1e-9}, ResourceLimitError, "10,000,000,000"),
    ({"saveper": 1e-9}, ParameterValueError, "got 1e-09"),
    ({"time_step": 0}, ParameterValueError, "time_step must be positive"),
    ({"time_step": -0.5}, ParameterValueError, "time_step must be positive"),
    ({"final_time": -5}, ParameterValueError, "final_time must be greater"),
    ({"final_time": math.nan}, ParameterValueError, "not finite"),
    ({"time_step": math.inf}, ParameterValueError, "not finite"),
])
def test_override(small: sdkit.model.core.Model, settings: dict, kind: type, fragment: str) -> None:
    for run in (lambda: small.run(**settings), lambda: run_ensemble(small, **settings)):
        with refused(kind, fragment):
            run()


def test_cli_run_is_one_line(folder: Path) -> None:
    start = time.monotonic()
    result = CliRunner().invoke(main, ["run", str(model_file(folder)), "--final-time", "1e9"])
    assert time.monotonic() - start < 20
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sdkit: error: ")
    assert "max_steps = 10,000,000" in lines[0]


def test_cli_flags_lower_and_lift_the_limits(folder: Path, monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    path = str(model_file(folder))
    lowered = CliRunner().invoke(main, ["--max-steps", "3", "run", path])
    assert lowered.exit_code == 2 and "max_steps = 3" in lowered.stderr
    monkeypatch.setenv("SDKIT_MAX_STEPS", "3")
    lifted = CliRunner().invoke(main, ["--max-steps", "1000", "run", path,
                                       "-o", str(tmp_path / "out.csv")])
    assert lifted.exit_code == 0, lifted.output
    assert get_limit("max_steps") == 3  # the flag lasts for its command only


def test_lowered_limits_and_lifting_them(small: sdkit.model.core.Model,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDKIT_MAX_STEPS", "20")
    assert small.run(time_step=0.5).shape[0] == 21
    with refused(ResourceLimitError, "is 40, more than the limit max_steps = 20"):
        small.run(time_step=0.25)
    with refused(ResourceLimitError, "max_steps = 20"):
        run_ensemble(small, time_step=0.25)
    with override_limits(max_steps=40):
        assert small.run(time_step=0.25).shape[0] == 41
        assert len(run_ensemble(small, time_step=0.25).times) == 41
    assert get_limit("max_steps") == 20
    assert check_run_size(0, 10, 0.25, 0.25, max_steps=40).steps == 40
    monkeypatch.setenv("SDKIT_MAX_ROWS", "5")
    with refused(ResourceLimitError, "saved rows", "is 11, more than the limit max_rows = 5"):
        small.run()


def test_engine_saved_values_count_parameter_sets(small: sdkit.model.core.Model,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    params = pd.DataFrame({"rate": [1.0, 2.0, 3.0]})
    assert run_ensemble(small, params, outputs=["level"])["level"].shape == (3, 11)
    monkeypatch.setenv("SDKIT_MAX_VALUES", "32")
    with refused(ResourceLimitError, "11 rows x 3 parameter sets x 1 variables", "max_values"):
        run_ensemble(small, params, outputs=["level"])
    reduced = run_ensemble(small, params, outputs=["level"], reducer=lambda n, t, v: v.max())
    assert reduced.reduced["level"][-1] == 30


def test_bad_limit_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDKIT_MAX_STEPS", "lots")
    with refused(ParameterValueError, "SDKIT_MAX_STEPS", "'lots'"):
        check_run_size(0, 1, 1, 1)
    monkeypatch.setenv("SDKIT_MAX_STEPS", "1e3")
    assert get_limit("max_steps") == 1000
    with pytest.raises(ParameterValueError, match="positive whole number"):
        check_run_size(0, 1, 1, 1, max_steps=0)
    assert set(ENV) == set(DEFAULTS) and ENV["max_steps"] == "SDKIT_MAX_STEPS"


# --------------------------------------------------------------------------- time grids
def test_time_grid_is_checked_before_allocation() -> None:
    with refused(ResourceLimitError, "integration grid", "1,000,000,000,000", "max_steps"):
        time_grid(0.0, 1e9, 1e-3)
    assert len(time_grid(0.0, 10.0, 0.5)) == 21


def test_scenario_with_a_table_input_over_a_huge_horizon(folder: Path,
                                                         small: sdkit.model.core.Model) -> None:
    path = folder / "huge.toml"
    path.write_text(SCENARIO.format(rest='[inputs.rate]\nform = "table"\n'
                                    "times = [0, 1e9]\nvalues = [1, 2]\n"
                                    "[run]\nfinal_time = 1e9\ntime_step = 0.001\n"),
                    encoding="utf-8")
    with refused(ResourceLimitError, str(path), "1,000,000,000,000", "max_steps"):
        load_scenario(path)
    # a scenario made in code goes through the same check when its grid is built
    table = TimeInput("rate", "table", {"times": (0.0, 1e9), "values": (1.0, 2.0)})
    scenario = Scenario("probe", {}, {}, path, small.path, {},
                        MappingProxyType({"rate": table}),
                        MappingProxyType({"final_time": 1e9, "time_step": 0.001}))
    with refused(ResourceLimitError, str(path), "integration grid"):
        scenario.params(small)


# --------------------------------------------------------------------------- samples
@pytest.fixture(scope="module")
def spec_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spec")
    (path / "linear.mdl").write_text(LINEAR_MDL, encoding="utf-8")
    return path


@pytest.mark.parametrize(("method", "samples", "runs"), [
    ("montecarlo", 10**9, "1,000,000,000"), ("lhs", 10**9, "1,000,000,000"),
    ("morris", 10**9, "4,000,000,000"), ("sobol", 2**30, "5,368,709,120")])
def test_spec_with_a_huge_sample(spec_folder: Path, method: str, samples: int,
                                 runs: str) -> None:
    path = write_spec(spec_folder, spec_text(method, samples), f"{method}.toml")
    with refused(ResourceLimitError, str(path), "method.samples", runs,
                 "max_runs = 1,000,000", "SDKIT_MAX_RUNS"):
        load_spec(path)


def test_spec_limits(spec_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = spec_text("sobol", 64)
    assert load_spec(write_spec(spec_folder, text)).runs == 320
    path = write_spec(spec_folder, text.replace("seed = 7", "seed = 7\nresamples = 1000000000"),
                      "resamples.toml")
    with refused(ResourceLimitError, "method.resamples", "64,000,000,000"):
        load_spec(path)
    monkeypatch.setenv("SDKIT_MAX_RUNS", "100")
    with refused(ResourceLimitError, "is 320, more than the limit max_runs = 100"):
        load_spec(write_spec(spec_folder, text))
    monkeypatch.setenv("SDKIT_MAX_RUNS", "320")
    monkeypatch.setenv("SDKIT_MAX_VALUES", "10000")
    big_chunks = spec_text("sobol", 64, chunk_size=10_000)  # 5 rows x 10,000 runs x 1 variable
    with refused(ResourceLimitError, "execution.chunk_size", "is 50,000", "max_values = 10,000"):
        load_spec(write_spec(spec_folder, big_chunks))
    assert load_spec(write_spec(spec_folder, text)).runs == 320


def test_make_sample_checks_before_drawing() -> None:
    dists = {"a": Distribution("uniform", 0.0, 1.0), "b": Distribution("uniform", 0.0, 1.0)}
    with refused(ResourceLimitError, "the montecarlo sample", "1,000,000,000"):
        make_sample("montecarlo", dists, samples=10**9, seed=1)
    with refused(ResourceLimitError, "the sobol sample", "4,294,967,296"):
        make_sample("sobol", dists, samples=2**30, seed=1)
    assert len(make_sample("lhs", dists, samples=10, seed=1).values) == 10
    with refused(ResourceLimitError, "10,000 runs x 2 parameters", "max_values = 100"):
        check_sample_size(10_000, 2, max_values=100)


# --------------------------------------------------------------------------- TOML
@pytest.mark.parametrize("kind", list(NESTED))
def test_deeply_nested_toml(folder: Path, small: sdkit.model.core.Model, kind: str) -> None:
    text = NESTED[kind](100_000)
    path = folder / "deep.toml"
    path.write_text(SCENARIO.format(rest=text), encoding="utf-8")
    loaders: list[Callable[[], Any]] = [
        lambda: load_scenario(path, model=small), lambda: load_spec(path, model=small),
        lambda: load_card(path), lambda: read_toml(path)]
    for load in loaders:
        with refused(ResourceLimitError, str(path), "100,00", "max_toml_depth = 32",
                     "SDKIT_MAX_TOML_DEPTH", seconds=2.0):
            load()


def test_nesting_limit_can_be_lifted(folder: Path) -> None:
    path = folder / "forty.toml"
    path.write_text(NESTED["arrays"](40) + NESTED["dotted key"](40), encoding="utf-8")
    with refused(ResourceLimitError, "is 40, more than the limit max_toml_depth = 32"):
        read_toml(path)
    data = read_toml(path, max_depth=64)
    assert len(data["x"]) == 1 and "a" in data
    # brackets, dots and '#' inside strings and comments do not count
    path.write_text('x = "' + "[" * 100 + '"  # ' + "{" * 100 + "\ny = '" + "." * 100
                    + "'\nz = '''\n" + "[." * 100 + "'''\n", encoding="utf-8")
    assert read_toml(path)["x"] == "[" * 100


def test_huge_toml_file(folder: Path) -> None:
    path = folder / "huge.toml"
    line = 'key_{:08d} = "' + "x" * 80 + '"\n'
    with path.open("w", encoding="utf-8") as handle:
        handle.writelines(line.format(i) for i in range(20 * 2**20 // 100))
    assert path.stat().st_size > 20 * 10**6
    for load in (lambda: load_scenario(path), lambda: load_card(path), lambda: read_toml(path)):
        with refused(ResourceLimitError, str(path), "max_toml_bytes = 1,048,576",
                     "SDKIT_MAX_TOML_BYTES", seconds=2.0):
            load()
    with refused(ResourceLimitError, "more than the limit max_toml_bytes = 10;"):
        read_toml(path, max_bytes=10)


def test_read_toml_keeps_the_usual_errors(tmp_path: Path) -> None:
    with refused(SdkitError, str(tmp_path / "absent.toml"), "the file does not exist"):
        read_toml(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("x = [", encoding="utf-8")
    with refused(SdkitError, "not valid TOML"):
        read_toml(bad)
    bad.write_bytes(b"x = '\xff'")
    with refused(SdkitError, "cannot read"):
        read_toml(bad)
    good = tmp_path / "good.toml"
    good.write_bytes(b'a = 1\r\n[b]\r\nc = "d"\r\n')
    assert read_toml(good) == {"a": 1, "b": {"c": "d"}}

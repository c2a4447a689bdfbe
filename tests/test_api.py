"""The public API: names, conformance with reference output, fresh runs, inputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sdkit
from sdkit.errors import UnknownVariableError
from sdkit.testing import assert_matches_reference, read_reference_output

CONFORMANCE_MODELS = [
    "samples/teacup/teacup.mdl",
    "samples/teacup/teacup.xmile",
    "tests/lookups/test_lookups.mdl",
    "tests/lookups/test_lookups.xmile",
    "tests/delays/test_delays.mdl",
    "tests/smooth/test_smooth.mdl",
    "tests/limits/test_limits.mdl",
    "tests/euler_step_vs_saveper/test_euler_step_vs_saveper.mdl",
    "tests/subscript_1d_arrays/test_subscript_1d_arrays.mdl",
]


def test_public_names_are_pinned() -> None:
    assert sdkit.__all__ == ["__version__", "errors", "load_model", "run", "Scenario",
                             "load_scenarios", "run_scenarios", "detect_stages", "sensitivity",
                             "find_loops", "loop_dominance", "check_model",
                             "export_xmile", "render_briefing", "calibrate", "calibration"]
    assert sdkit.calibrate is sdkit.calibration.run_calibration
    assert callable(sdkit.calibration.load_calibration_spec)
    assert callable(sdkit.export_xmile)
    assert callable(sdkit.render_briefing)
    assert callable(sdkit.check_model)
    assert callable(sdkit.detect_stages)
    assert callable(sdkit.find_loops) and callable(sdkit.loop_dominance)
    assert callable(sdkit.sensitivity.run_sensitivity) and callable(sdkit.sensitivity.load_spec)
    assert sdkit.__version__ == "0.1.0"
    assert callable(sdkit.load_model) and callable(sdkit.run)
    assert callable(sdkit.load_scenarios) and callable(sdkit.run_scenarios)
    assert sdkit.Scenario.__name__ == "Scenario"
    assert sdkit.errors.SdkitError.__name__ == "SdkitError"
    with pytest.raises(AttributeError):
        _ = sdkit.not_a_name


def test_import_sdkit_does_not_import_pysd_or_bokeh() -> None:
    code = "import sys, sdkit; print('pysd' in sys.modules, 'bokeh' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]


@pytest.mark.parametrize("relative", CONFORMANCE_MODELS)
def test_results_match_reference_output(conformance: Path, relative: str) -> None:
    path = conformance / relative
    if not path.is_file():
        pytest.fail(f"conformance model missing: {path}")
    result = sdkit.run(path)
    assert_matches_reference(result, read_reference_output(path.parent))


def test_mismatch_is_reported_with_variable_and_time(teacup: sdkit.model.core.Model,
                                                     conformance: Path) -> None:
    reference = read_reference_output(conformance / "samples" / "teacup")
    result = teacup.run()
    result.loc[1.0, "Teacup Temperature"] *= 1.001
    with pytest.raises(AssertionError, match="'Teacup Temperature' at time 1:"):
        assert_matches_reference(result, reference)


def test_reference_reader_fills_constants_and_handles_cr_line_ends(tmp_path: Path) -> None:
    (tmp_path / "output.tab").write_bytes(
        b"Time\tFINAL TIME\tGrowth\tStock\r0\t2\t0.5\t1\r1\t\t\t1.5\r2\t\t\t2\r")
    reference = read_reference_output(tmp_path)
    assert reference.index.name == "time"
    assert list(reference.index) == [0.0, 1.0, 2.0]
    assert list(reference["Growth"]) == [0.5, 0.5, 0.5]
    assert list(reference["Stock"]) == [1.0, 1.5, 2.0]


def test_results_use_real_names_and_a_time_index(teacup: sdkit.model.core.Model) -> None:
    result = teacup.run()
    assert result.index.name == "time"
    assert list(result.columns) == [
        "Characteristic Time", "Heat Loss to Room", "Room Temperature", "Teacup Temperature"]
    assert result.index[0] == teacup.initial_time and result.index[-1] == teacup.final_time


def test_runs_start_from_a_fresh_model(teacup: sdkit.model.core.Model) -> None:
    first = teacup.run({"Room Temperature": 60})
    other = teacup.run({"characteristic_time": 5}, final_time=10)
    again = teacup.run({"Room Temperature": 60})
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)
    assert other.index[-1] == 10
    default = teacup.run()
    assert default.index[-1] == teacup.final_time
    assert (default["Room Temperature"] == 70).all()
    assert (default["Characteristic Time"] == 10).all()


def test_parameter_override_changes_results(tiny: sdkit.model.core.Model) -> None:
    base = tiny.run()
    more = tiny.run({"birth_rate": 0.05})
    assert (more["Population"].iloc[1:] > base["Population"].iloc[1:]).all()
    assert (more["birth rate"] == 0.05).all()


def test_time_varying_input(teacup: sdkit.model.core.Model) -> None:
    room = pd.Series([70.0, 90.0], index=[0.0, 30.0])
    result = teacup.run({"Room Temperature": room})
    base = teacup.run()
    expected_room = np.interp(result.index, room.index, room.to_numpy())
    np.testing.assert_allclose(result["Room Temperature"], expected_room)
    assert (result["Teacup Temperature"].iloc[2:] > base["Teacup Temperature"].iloc[2:]).all()
    heat_loss = (result["Teacup Temperature"] - result["Room Temperature"]) / 10
    np.testing.assert_allclose(result["Heat Loss to Room"], heat_loss)


def test_time_settings_apply_to_one_run(tiny: sdkit.model.core.Model) -> None:
    result = tiny.run(final_time=5, time_step=0.5, saveper=1)
    assert list(result.index) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert list(tiny.run(time_step=0.5).index[:3]) == [0.0, 0.5, 1.0]


def test_return_columns(tiny: sdkit.model.core.Model) -> None:
    result = tiny.run(return_columns=["population", "Births"])
    assert list(result.columns) == ["Population", "births"]
    with pytest.raises(UnknownVariableError):
        tiny.run(return_columns=["Populaton"])


def test_run_accepts_a_path(tiny_path: Path, tiny: sdkit.model.core.Model) -> None:
    pd.testing.assert_frame_equal(sdkit.run(tiny_path, {"lifetime": 50}),
                                  tiny.run({"lifetime": 50}))

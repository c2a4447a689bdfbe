"""The engine seam: auto falls back to PySD once with a warning, ensemble refuses to."""

from __future__ import annotations

import sys
import types

import numpy as np
import pandas as pd
import pytest

import sdkit
from sdkit.engine.batch import BatchRunner
from sdkit.errors import ParameterValueError, SimulationError, UnsupportedConstructError


@pytest.fixture()
def refusing_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    class Refusing:
        def __init__(self, *args: object, **kwargs: object) -> None:
            raise UnsupportedConstructError("DELAY FIXED is not vectorised",
                                            construct="DELAY FIXED")

    fake = types.ModuleType("sdkit.engine")
    fake.Ensemble = Refusing  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sdkit.engine", fake)


def test_engine_and_pysd_agree_bitwise(tiny: sdkit.model.core.Model) -> None:
    table = pd.DataFrame({"birth rate": [0.01, 0.03, 0.05]})
    engine = BatchRunner(tiny, ["birth rate"], ["Population"]).run(table)
    pysd = BatchRunner(tiny, ["birth rate"], ["Population"], engine="pysd").run(table)
    np.testing.assert_array_equal(engine[0], pysd[0])
    np.testing.assert_array_equal(engine[1]["Population"], pysd[1]["Population"])


def test_auto_falls_back_once_and_ensemble_refuses(tiny: sdkit.model.core.Model,
                                                   refusing_engine: None,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    table = pd.DataFrame({"birth rate": [0.01, 0.03]})
    auto = BatchRunner(tiny, ["birth rate"], ["Population"])
    with caplog.at_level("WARNING"):
        auto.run(table)
        auto.run(table)
    assert caplog.text.count("Falling back to PySD runs: DELAY FIXED") == 1
    assert auto.name == "pysd"
    strict = BatchRunner(tiny, ["birth rate"], ["Population"], engine="ensemble")
    with pytest.raises(UnsupportedConstructError, match="DELAY FIXED"):
        strict.run(table)
    with pytest.raises(ParameterValueError, match="'fast' is not an engine"):
        BatchRunner(tiny, ["birth rate"], ["Population"], engine="fast")


@pytest.mark.parametrize("engine", ["auto", "pysd"])
def test_nan_results_raise_unless_allowed(nan_path, engine: str) -> None:
    model = sdkit.load_model(nan_path)
    with pytest.raises(SimulationError, match="'bad' at time 5"):
        BatchRunner(model, [], ["bad"], engine=engine).run(pd.DataFrame(index=[0]))
    times, runs = BatchRunner(model, [], ["bad"], engine=engine,
                              allow_nan=True).run(pd.DataFrame(index=[0]))
    assert np.isnan(runs["bad"][0, -1]) and len(times) == runs["bad"].shape[1]

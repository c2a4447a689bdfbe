"""Sensitivity building blocks: distributions, metrics, the engine adapter, the docs block."""

from __future__ import annotations

import sys
import types

import numpy as np
import pandas as pd
import pytest
from conftest import REPO
from sensitivity_helpers import LINEAR_MDL, spec_text, write_spec

from sdkit.analysis.stages import crossing_time
from sdkit.sensitivity import load_spec
from sdkit.sensitivity.evaluate import EnsembleEvaluator, PysdEvaluator, make_evaluator
from sdkit.sensitivity.metrics import crossing_times, values_at
from sdkit.sensitivity.sampling import Distribution, make_sample, ppf
from sdkit.util.markers import extract_block


def test_distributions_map_the_unit_interval() -> None:
    u = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(ppf(Distribution("uniform", 2, 4), u), [2, 2.5, 3, 3.5, 4])
    tri = ppf(Distribution("triangular", 0, 2, mode=1), u)
    assert tri[0] == 0 and tri[2] == pytest.approx(1) and tri[-1] == 2
    normal = ppf(Distribution("normal", 0, 1, mean=0.5, std=10), u)
    assert normal[0] == pytest.approx(0) and normal[-1] == pytest.approx(1)
    assert normal[2] == pytest.approx(0.5)
    levels = ppf(Distribution("levels", 1, 3, levels=(1, 2, 3)), u)
    np.testing.assert_array_equal(levels, [1, 1, 2, 3, 3])


@pytest.mark.parametrize("method", ["montecarlo", "lhs", "morris", "sobol"])
def test_samples_are_reproducible_and_inside_the_ranges(method: str) -> None:
    dists = {"x": Distribution("uniform", 0, 1),
             "y": Distribution("normal", 0.1, 0.3, mean=0.2, std=0.1),
             "z": Distribution("levels", 1, 4, levels=(1, 2, 4))}
    first = make_sample(method, dists, samples=8, seed=3)
    again = make_sample(method, dists, samples=8, seed=3)
    other = make_sample(method, dists, samples=8, seed=4)
    pd.testing.assert_frame_equal(first.values, again.values)
    assert not first.values.equals(other.values)
    assert first.values["x"].between(0, 1).all() and first.values["y"].between(0.1, 0.3).all()
    assert set(first.values["z"]) <= {1, 2, 4}
    assert len(first.values) == {"montecarlo": 8, "lhs": 8, "morris": 32, "sobol": 40}[method]


def test_crossing_times_agree_with_stages() -> None:
    rng = np.random.default_rng(0)
    times = np.linspace(0, 10, 41)
    values = np.cumsum(rng.random((20, 41)) * 0.05, axis=1)
    values[3] = 0.9                                         # starts above
    values[5] = 0.1                                         # never reaches
    got = crossing_times(values, times, 0.5)
    for row, value in zip(values, got, strict=True):
        expected = crossing_time(pd.Series(row, index=times), 0.5)
        assert (np.isnan(value) and expected is None) or value == pytest.approx(expected)
    assert np.isnan(got).any() and got[3] == 0.0
    np.testing.assert_allclose(values_at(np.array([[0.0, 2.0, 4.0]]), np.array([0, 1, 2.0]),
                                         1.5), [3.0])


@pytest.fixture
def linear_spec(tmp_path):
    (tmp_path / "linear.mdl").write_text(LINEAR_MDL, encoding="utf-8")
    text = spec_text("morris", samples=2).replace("[execution]", '[execution]\nengine = "auto"')
    return load_spec(write_spec(tmp_path, text))


def test_engine_adapter_and_fallback(linear_spec, monkeypatch: pytest.MonkeyPatch,
                                     caplog: pytest.LogCaptureFixture) -> None:
    params = pd.DataFrame({"a": [0.0, 1.0], "b": [0.5, 0.5], "c": [1.0, 0.0]})
    expected = PysdEvaluator(linear_spec).evaluate(params)
    evaluator = make_evaluator(linear_spec)
    assert type(evaluator) is EnsembleEvaluator
    pd.testing.assert_frame_equal(evaluator.evaluate(params), expected)  # bitwise
    assert evaluator.runner.name == "ensemble"

    from sdkit.errors import UnsupportedConstructError

    class Refusing:
        def __init__(self, *args, **kwargs):
            raise UnsupportedConstructError("DELAY FIXED is not vectorised",
                                            construct="DELAY FIXED")

    fake = types.ModuleType("sdkit.engine")
    fake.Ensemble = Refusing
    monkeypatch.setitem(sys.modules, "sdkit.engine", fake)
    with caplog.at_level("WARNING"):
        fallback = EnsembleEvaluator(linear_spec)
        # decided before any chunk runs: the manifest and chunk hashes name what runs
        assert fallback.name == "pysd" and fallback.runner.name == "pysd"
        pd.testing.assert_frame_equal(fallback.evaluate(params), expected)
    assert "Falling back to PySD" in caplog.text and "DELAY FIXED" in caplog.text
    assert evaluator.name == "ensemble"

    monkeypatch.setitem(sys.modules, "sdkit.engine", None)          # not importable
    assert type(make_evaluator(linear_spec)) is PysdEvaluator
    caplog.clear()
    with caplog.at_level("WARNING"):
        missing = EnsembleEvaluator(linear_spec)
        assert missing.name == "pysd"
        pd.testing.assert_frame_equal(missing.evaluate(params), expected)
    assert "sdkit.engine is not available" in caplog.text


def test_docs_hold_generated_talent_findings() -> None:
    page = (REPO / "docs" / "sensitivity.md").read_text(encoding="utf-8")
    block = extract_block(page, "talent-findings", source="docs/sensitivity.md")
    assert block.startswith("Study `talent-investment")
    for lever in ("talent budget share", "talent push amount", "talent push start",
                  "talent push duration", "maximum promotion fraction",
                  "representative training time", "expert training time",
                  "thinker development time", "attrition rate",
                  "employee share retention effect", "cost per employee", "hiring time",
                  "novice productivity", "technology budget share"):
        assert f"| {lever} |" in block
    assert "**stage 2 transition**" in block and "**stage 3 transition**" in block
    assert "The talent lever that matters most is" in block

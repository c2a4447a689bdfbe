"""The README's and docs' Python examples run verbatim, in order; the library's runs tell
PySD's warnings in the model's words."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from sdkit.util.validation import ModelWarning, run_warnings

README = REPO / "README.md"
BRIEFING = REPO / "docs" / "briefing.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def _run_blocks(page: Path) -> dict[str, object]:
    namespace: dict[str, object] = {"__name__": "readme"}
    for number, code in enumerate(BLOCK.findall(page.read_text(encoding="utf-8")), 1):
        exec(compile(code, f"{page.name} python block {number}", "exec"), namespace)  # noqa: S102
    return namespace


def test_readme_has_python_examples():
    assert len(BLOCK.findall(README.read_text(encoding="utf-8"))) >= 3


def test_readme_python_examples_run_verbatim(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with run_warnings():
            namespace = _run_blocks(README)
    # what the examples say they give
    assert namespace["variant"].index[-1] == 2035  # type: ignore[attr-defined]
    assert np.shape(namespace["result"]["Buyers on platform"])[0] == 3  # type: ignore[index]
    assert set(namespace["results"].results.columns) >= {  # type: ignore[attr-defined]
        "scenario", "time", "variable", "value"}
    # PySD's warnings in the model's words, counted: no internal names, no numpy noise
    said = [str(w.message) for w in caught if issubclass(w.category, ModelWarning)]
    assert said and all("_hardcodedlookup_" not in s for s in said)
    assert any(s.startswith("the lookup in 'steel price path': extrapolating") and
               re.search(r"\(\d+ times\)$", s) for s in said)
    assert not [w for w in caught if issubclass(w.category, UserWarning)
                and not issubclass(w.category, ModelWarning)]
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]


def test_run_warnings_silence_numpy_and_pass_deprecations_on() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with run_warnings():
            np.exp(np.array([1000.0]))  # overflow: the result check reports an infinity
            warnings.warn("_delayn_outflow_stage\nhas order 0", UserWarning, stacklevel=1)
            warnings.warn("_delayn_outflow_stage\nhas order 0", UserWarning, stacklevel=1)
            warnings.warn("Replacing a constant value with a time-dependent value",
                          UserWarning, stacklevel=1)
            warnings.warn("old", DeprecationWarning, stacklevel=1)
    assert [(w.category, str(w.message)) for w in caught] == [
        (DeprecationWarning, "old"),
        (ModelWarning, "DELAY N in 'outflow stage': has order 0 (2 times)")]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with run_warnings():  # two runs, each in its own block, as a caller would nest them
            for _ in range(2):
                with run_warnings():
                    for _ in range(3):
                        warnings.warn("_smooth_price\nbad", UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["SMOOTH in 'price': bad (6 times)"]


@pytest.mark.slow
def test_briefing_docs_python_example_runs_verbatim_from_any_folder(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    blocks = BLOCK.findall(BRIEFING.read_text(encoding="utf-8"))
    assert blocks
    namespace = _run_blocks(BRIEFING)
    script, div = str(namespace["script"]), str(namespace["div"])
    assert div.startswith("<div") and script.lstrip().startswith("<script")
    assert not list(tmp_path.iterdir())  # nothing written where it runs

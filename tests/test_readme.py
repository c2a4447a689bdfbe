"""The README's Python examples run verbatim, in order, from the repository root."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import REPO

README = REPO / "README.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def test_readme_has_python_examples():
    assert len(BLOCK.findall(README.read_text(encoding="utf-8"))) >= 3


def test_readme_python_examples_run_verbatim(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    namespace: dict[str, object] = {"__name__": "readme"}
    for number, code in enumerate(BLOCK.findall(README.read_text(encoding="utf-8")), 1):
        exec(compile(code, f"README.md python block {number}", "exec"), namespace)  # noqa: S102
    # what the examples say they give
    assert namespace["variant"].index[-1] == 2035  # type: ignore[attr-defined]
    assert np.shape(namespace["result"]["Buyers on platform"])[0] == 3  # type: ignore[index]
    assert set(namespace["results"].results.columns) >= {  # type: ignore[attr-defined]
        "scenario", "time", "variable", "value"}

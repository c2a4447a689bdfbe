from __future__ import annotations

from pathlib import Path

import pytest

import sdkit

from .helpers import write_logistic


@pytest.fixture(scope="session")
def logistic_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("logistic")
    write_logistic(folder)
    return folder


@pytest.fixture(scope="session")
def logistic(logistic_folder: Path) -> sdkit.model.core.Model:
    return sdkit.load_model(logistic_folder / "logistic.mdl")


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    """A scratch folder holding the logistic model."""
    write_logistic(tmp_path)
    return tmp_path

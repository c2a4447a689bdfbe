"""``sdkit calibrate``: run, resume, report, validate; errors are one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import sdkit
from sdkit.cli.app import main

from .helpers import noisy_levels, write_observations, write_spec


def _invoke(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture()
def spec(folder: Path, logistic: sdkit.model.core.Model) -> Path:
    write_observations(folder, noisy_levels(logistic, 1) + [
        "late,level,Population,12,,,,,1000,0.1,,,log,animals,synthetic"])
    return write_spec(folder, seed=1, steps=40, maxiter=5, train_until=10.5)


def test_run_then_report_and_update_a_page(folder: Path, spec: Path) -> None:
    out = folder / "out"
    done = _invoke("calibrate", str(folder / "logistic.mdl"), str(spec), "-o", str(out),
                   "--no-progress")
    assert done.exit_code == 0, done.output
    assert "3 parameters, 11 observations (1 held out), 16 walkers x 40 steps" in done.stderr
    assert "| growth rate |" in done.stdout and "**held out**" in done.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["hindcast"] == {"held_out": 1, "inside": 1}
    assert [e["parameter"] for e in report["estimates"]] == ["growth rate", "capacity",
                                                            "unseen parameter"]
    for name in ("estimates", "observations", "posterior", "bands", "correlations", "draws"):
        assert (out / f"{name}.parquet").is_file()
    page = folder / "page.md"
    page.write_text("# P\n<!-- calibration-report:begin -->\n<!-- calibration-report:end -->\n")
    assert _invoke("calibrate", "report", str(out), "--update", str(page)).exit_code == 0
    assert "### Estimates" in page.read_text() and "Hindcast: 1 of 1" in page.read_text()
    again = _invoke("calibrate", "run", str(folder / "logistic.mdl"), str(spec), "-o",
                    str(out), "--no-progress")
    assert again.exit_code == 0
    assert json.loads((out / "manifest.json").read_text())["resumed"] == ["optimize", "sample"]


def test_budget_options_override_the_spec(folder: Path, spec: Path) -> None:
    out = folder / "small"
    done = _invoke("calibrate", str(folder / "logistic.mdl"), str(spec), "-o", str(out),
                   "--steps", "6", "--walkers", "8", "--maxiter", "2", "--engine", "pysd",
                   "--no-progress")
    assert done.exit_code == 0, done.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["walkers"] == 8 and manifest["sampler"]["steps"] == 6
    assert manifest["sampler"]["burn"] == 3 and manifest["engine"] == "pysd"


@pytest.mark.parametrize(("args", "fragment"), [
    (["calibrate", "{model}", "{folder}/missing.toml", "-o", "{folder}/o"], "does not exist"),
    (["calibrate", "{folder}/nope.mdl", "{spec}", "-o", "{folder}/o"], "nope.mdl"),
    (["calibrate", "report", "{folder}"], "manifest.json does not exist"),
    (["calibrate", "{model}", "{bad}", "-o", "{folder}/o"],
     "parameters.\"growth rat\": unknown variable 'growth rat'"),
])
def test_errors_are_one_line(folder: Path, spec: Path, args: list[str], fragment: str) -> None:
    bad = write_spec(folder, parameters='"growth rat" = { low = 0.2, high = 2 }\n',
                     name="bad.toml")
    values = {"model": str(folder / "logistic.mdl"), "folder": str(folder), "spec": str(spec),
              "bad": str(bad)}
    done = _invoke(*(a.format(**values) for a in args))
    assert done.exit_code == 2, done.output
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("sdkit: error: ")
    assert fragment in lines[0]


def test_validate(folder: Path, spec: Path) -> None:
    done = _invoke("calibrate", "validate", str(folder / "logistic.mdl"), str(spec))
    assert done.exit_code == 0
    assert "ok: logistic" in done.stdout and "11 observations" in done.stdout

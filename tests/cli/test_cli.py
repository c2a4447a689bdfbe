"""The command line: output files, summaries, info, fast --version, one-line errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import sdkit
from sdkit.cli.app import main


def _sdkit_command() -> list[str]:
    script = Path(sys.executable).with_name("sdkit")
    if script.is_file():
        return [str(script)]
    found = shutil.which("sdkit")
    return [found] if found else [sys.executable, "-m", "sdkit.cli.app"]


def _invoke(*args: str) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


def test_version_is_fast_and_does_not_import_pysd() -> None:
    start = time.perf_counter()
    done = subprocess.run([*_sdkit_command(), "--version"], capture_output=True, text=True,
                          check=True)
    elapsed = time.perf_counter() - start
    assert sdkit.__version__ in done.stdout
    assert elapsed < 1.0, f"sdkit --version took {elapsed:.2f} s"
    code = "import sdkit.cli.app, sys; print('pysd' in sys.modules, 'bokeh' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]


def test_run_writes_csv_equal_to_library_results(
    tiny_path: Path, tiny: sdkit.model.core.Model, tmp_path: Path
) -> None:
    out = tmp_path / "nested" / "dir" / "run.csv"
    result = _invoke("run", tiny_path, "-s", "birth rate=0.05", "--set", "lifetime = 60",
                     "-o", out)
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out, index_col="time")
    expected = tiny.run({"birth rate": 0.05, "lifetime": 60})
    pd.testing.assert_frame_equal(written, expected, check_dtype=False)


def test_run_without_output_prints_a_short_table(tiny_path: Path) -> None:
    result = _invoke("run", tiny_path, "--final-time", "10")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert "Population" in lines[0]
    assert 3 <= len(lines) <= 13
    assert lines[-1].split()[0] == "10.0"


def _table_rows(markdown: str) -> list[list[str]]:
    rows = [line.strip("|").split("|") for line in markdown.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row] for row in rows[2:]]


def test_summary_has_every_stock_at_every_whole_year(
    tiny_path: Path, tiny: sdkit.model.core.Model, tmp_path: Path
) -> None:
    summary = tmp_path / "deep" / "summary.md"
    result = _invoke("run", tiny_path, "-o", tmp_path / "r.csv", "--summary", summary)
    assert result.exit_code == 0, result.output
    text = summary.read_text()
    assert "Population (people)" in text
    rows = _table_rows(text)
    assert [float(r[0]) for r in rows] == [float(y) for y in range(0, 21)]
    expected = tiny.run()["Population"]
    for row in rows:
        assert float(row[1]) == pytest.approx(expected.loc[float(row[0])], rel=1e-5)


def test_summary_at_requested_years_follows_final_time(tiny_path: Path, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    result = _invoke("run", tiny_path, "--final-time", "8", "--summary", summary,
                     "--years", "2,4.5", "--years", "8")
    assert result.exit_code == 0, result.output
    assert [r[0] for r in _table_rows(summary.read_text())] == ["2", "4.5", "8"]


def test_info_lists_variables_and_time_settings(tiny_path: Path) -> None:
    result = _invoke("info", tiny_path)
    assert result.exit_code == 0, result.output
    assert "Time: 0 to 20, time step 0.25, saveper 0.25" in result.stdout
    line = next(x for x in result.stdout.splitlines() if x.startswith("policy level"))
    assert line.split()[2:6] == ["constant", "dmnl", "[0,", "10]"]
    assert "Policy intensity" in line


def test_info_json(tiny_path: Path) -> None:
    result = _invoke("info", tiny_path, "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["time"] == {"initial_time": 0.0, "final_time": 20.0, "time_step": 0.25,
                               "saveper": 0.25}
    by_name = {v["name"]: v for v in payload["variables"]}
    assert by_name["births"]["kind"] == "flow"
    assert (by_name["policy level"]["min"], by_name["policy level"]["max"]) == (0.0, 10.0)
    assert by_name["Population"]["max"] is None


ERROR_CASES = {
    "missing file": (["run", "{tmp}/absent.mdl"], "not found"),
    "bad suffix": (["info", "{tmp}/model.txt"], ".stmx"),
    "unparsable": (["run", "{garbage}"], "could not translate"),
    "unknown variable": (["run", "{tiny}", "-s", "birth rat=0.02"], "Did you mean 'birth rate'"),
    "non-numeric": (["run", "{tiny}", "-s", "birth rate=lots"], "'lots'"),
    "no equals sign": (["run", "{tiny}", "-s", "birth rate"], "NAME=VALUE"),
    "not a constant": (["run", "{tiny}", "-s", "Population=5"], "stock"),
    "out of range": (["run", "{tiny}", "-s", "policy level=11"], "[0, 10]"),
    "not finite": (["run", "{tiny}", "-s", "lifetime=nan"], "not finite"),
    "bad final time": (["run", "{tiny}", "--final-time", "-3"], "initial time"),
    "bad time step text": (["run", "{tiny}", "--time-step", "fast"], "'fast'"),
    "bad saveper": (["run", "{tiny}", "--saveper", "0.3"], "whole multiple"),
    "summary year": (["run", "{tiny}", "--summary", "{tmp}/s.md", "--years", "99"], "99"),
    "years without summary": (["run", "{tiny}", "--years", "5"], "--summary FILE"),
    "nan results": (["run", "{nan}"], "'bad' at time 5"),
    "external data": (["info", "{external}"], "external data files"),
}


def test_a_bad_summary_year_writes_nothing(tiny_path: Path, tmp_path: Path) -> None:
    result = _invoke("run", str(tiny_path), "-o", str(tmp_path / "out.csv"), "--summary",
                     str(tmp_path / "s.md"), "--years", "99")
    assert result.exit_code == 2 and "99" in result.stderr
    assert not list(tmp_path.iterdir())


@pytest.fixture()
def error_paths(tmp_path: Path, tiny_path: Path, garbage_path: Path, nan_path: Path,
                external_path: Path) -> dict[str, str]:
    (tmp_path / "model.txt").write_text("x = 1")
    return {"tmp": str(tmp_path), "tiny": str(tiny_path), "garbage": str(garbage_path),
            "nan": str(nan_path), "external": str(external_path)}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_errors_are_one_line_with_exit_status_2(case: str, error_paths: dict[str, str]) -> None:
    args, fragment = ERROR_CASES[case]
    result = _invoke(*(a.format(**error_paths) for a in args))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("sdkit: error: ")
    assert fragment in lines[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize("case", ["unknown variable", "unparsable"])
def test_errors_in_a_real_process(case: str, error_paths: dict[str, str]) -> None:
    args, fragment = ERROR_CASES[case]
    done = subprocess.run([*_sdkit_command(), *(a.format(**error_paths) for a in args)],
                          capture_output=True, text=True, env=os.environ.copy())
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("sdkit: error: ")
    assert fragment in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def _results(folder: Path, names: list[str]) -> Path:
    from sdkit.scenarios.runner import TRANSITION_COLUMNS, ScenarioResults
    from sdkit.scenarios.store import save_scenario_results

    rows = [{"scenario": name, "time": t, "variable": "Stock", "value": (k + 1) * t}
            for k, name in enumerate(names) for t in (0.0, 5.0, 10.0)]
    save_scenario_results(ScenarioResults(pd.DataFrame(rows),
                                          pd.DataFrame(columns=TRANSITION_COLUMNS)), folder)
    return folder


@pytest.mark.parametrize(("names", "base", "said"), [
    (["slow", "fast"], "slow", "Compared with the first scenario, 'slow' (none is named "
                               "'baseline'; choose another with --base)."),
    (["fast", "baseline"], "baseline", None),
])
def test_scenarios_compare_without_a_baseline_uses_the_first(tmp_path: Path, names: list[str],
                                                             base: str, said: str | None
                                                             ) -> None:
    folder = _results(tmp_path / "out", names)
    result = _invoke("scenarios", "compare", folder, "--variables", "Stock", "--years", "10")
    assert result.exit_code == 0, result.output + result.stderr
    assert result.stderr.splitlines() == ([said] if said else [])
    assert f"difference from {base}" in result.stdout
    other = next(n for n in names if n != base)
    chosen = _invoke("scenarios", "compare", folder, "--variables", "Stock", "--years", "10",
                     "--base", other)
    assert chosen.exit_code == 0 and chosen.stderr == ""
    assert f"difference from {other}" in chosen.stdout
    bad = _invoke("scenarios", "compare", folder, "--base", "nope")
    assert bad.exit_code == 2 and f"valid scenarios: {names}" in bad.stderr
    unknown = _invoke("scenarios", "compare", folder, "--variables", "Stok")
    assert unknown.exit_code == 2 and len(unknown.stderr.splitlines()) == 1


def test_an_os_error_is_one_line_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """An error of the operating system (a file it will not give us) is one line, status 2."""
    import sdkit.scenarios.spec

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", "scenarios/a.toml")

    monkeypatch.setattr(sdkit.scenarios.spec, "load_scenarios", refuse)
    done = CliRunner().invoke(main, ["scenarios", "validate", "scenarios"])
    assert done.exit_code == 2, done.output
    assert done.stderr == "sdkit: error: [Errno 13] Permission denied: 'scenarios/a.toml'\n"

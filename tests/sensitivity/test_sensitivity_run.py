"""Sensitivity studies end to end: analytic indices, executors, resume, files, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sensitivity_helpers import (
    FINAL_TIME,
    LINEAR_MDL,
    WEIGHTS,
    StubEvaluator,
    spec_text,
    write_spec,
)

import sdkit
from sdkit.cli.app import main
from sdkit.sensitivity import load_result, load_spec, run_sensitivity
from sdkit.sensitivity.execute import DaskExecutor

# Analytic answer: the final stock is T * sum(w_i x_i) with x_i ~ U(0, 1), so each
# first-order index is w_i^2 / sum(w^2), total = first order, and Morris mu* is
# T * w_i per full range with sigma 0.
TRUE_S = {n: w**2 / sum(v**2 for v in WEIGHTS.values()) for n, w in WEIGHTS.items()}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("study")
    (path / "linear.mdl").write_text(LINEAR_MDL, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def sobol_study(folder: Path):
    """The linear model's Sobol study with PySD runs (64 * 5 runs), saved to a folder."""
    spec = write_spec(folder, spec_text("sobol", samples=64, chunk_size=80), "sobol.toml")
    return run_sensitivity(spec, output_dir=folder / "sobol-out", progress=False)


def test_sobol_indices_match_the_analytic_answer(sobol_study) -> None:
    rows = sobol_study.indices[sobol_study.indices["output"] == "final Stock"]
    for row in rows.itertuples():
        true = TRUE_S[row.parameter]
        assert abs(row.S1 - true) <= max(row.S1_conf, 0.05), row
        assert abs(row.ST - true) <= max(row.ST_conf, 0.05), row
    ranked = sobol_study.ranking("final Stock")["parameter"].tolist()
    assert ranked == ["c", "b", "a"]
    # Value at a year between saved points is interpolated: the stock is linear in time.
    np.testing.assert_allclose(sobol_study.outputs["Stock 1.25"],
                               sobol_study.outputs["final Stock"] * 1.25 / FINAL_TIME)


def test_result_tables_and_files(sobol_study, folder: Path) -> None:
    result = sobol_study
    assert list(result.indices.columns) == [
        "method", "output", "parameter", "S1", "S1_conf", "ST", "ST_conf", "mu_star",
        "mu_star_conf", "sigma", "delta", "rho"]
    assert result.indices["mu_star"].isna().all()
    assert list(result.bands.columns) == ["variable", "time", "p5", "p25", "p50", "p75", "p95"]
    assert list(result.bands["time"]) == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert (result.bands["p5"] <= result.bands["p50"]).all()
    assert (result.bands["p50"] <= result.bands["p95"]).all()
    assert len(result.samples) == len(result.outputs) == 320
    # Never reached: final time + 1 year penalty.
    reach = result.outputs["Stock reaches 6"]
    rate = FINAL_TIME * sum(w * result.samples[n] for n, w in WEIGHTS.items())
    np.testing.assert_allclose(reach[rate < 6], FINAL_TIME + 1.0)
    assert (reach[rate >= 6.01] <= FINAL_TIME).all()
    out = folder / "sobol-out"
    for name in ("manifest.json", "indices.csv", "bands.parquet", "samples.parquet",
                 "outputs.parquet", "summary.md"):
        assert (out / name).is_file(), name
    assert len(list((out / "chunks").glob("chunk-*.parquet"))) == 4
    loaded = load_result(out)
    pd.testing.assert_frame_equal(loaded.indices, result.indices)
    pd.testing.assert_frame_equal(loaded.bands, result.bands)
    pd.testing.assert_frame_equal(loaded.outputs, result.outputs)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] and manifest["runs"] == 320 and manifest["seed"] == 7
    assert "| c |" in (out / "summary.md").read_text()


def test_sampling_is_reproducible_with_the_seed(folder: Path) -> None:
    from sdkit.sensitivity.study import build_sample

    spec = load_spec(write_spec(folder, spec_text("lhs", samples=20), "lhs.toml"))
    first, again = build_sample(spec), build_sample(spec)
    pd.testing.assert_frame_equal(first.values, again.values)
    other = load_spec(write_spec(folder, spec_text("lhs", samples=20, seed=8), "lhs8.toml"))
    assert not first.values.equals(build_sample(other).values)


def test_morris_on_the_linear_model(folder: Path) -> None:
    spec = write_spec(folder, spec_text("morris", samples=10, chunk_size=40), "morris.toml")
    result = run_sensitivity(spec, progress=False)
    rows = result.indices[result.indices["output"] == "final Stock"].set_index("parameter")
    for name, weight in WEIGHTS.items():
        assert rows.loc[name, "mu_star"] == pytest.approx(FINAL_TIME * weight)
        assert rows.loc[name, "sigma"] == pytest.approx(0.0, abs=1e-9)
    assert rows["S1"].isna().all()


def test_oat_and_montecarlo(folder: Path) -> None:
    oat = run_sensitivity(write_spec(folder, spec_text("oat", samples=3), "oat.toml"),
                          evaluator=StubEvaluator(), progress=False)
    assert len(oat.samples) == 1 + 3 * 3
    assert (oat.samples.iloc[0] == 0.5).all()          # the model's own values
    delta = oat.indices[oat.indices["output"] == "final Stock"].set_index("parameter")["delta"]
    for name, weight in WEIGHTS.items():
        assert delta[name] == pytest.approx(FINAL_TIME * weight)
    mc = run_sensitivity(write_spec(folder, spec_text("montecarlo", samples=200), "mc.toml"),
                         evaluator=StubEvaluator(), progress=False)
    rho = mc.indices[mc.indices["output"] == "final Stock"].set_index("parameter")["rho"]
    assert rho["c"] > rho["b"] > rho["a"] > 0


def _stub_spec(folder: Path, name: str) -> Path:
    return write_spec(folder, spec_text("sobol", samples=32, chunk_size=16, bands=False), name)


@pytest.mark.slow
def test_executors_give_identical_results(folder: Path) -> None:
    spec = _stub_spec(folder, "exec.toml")
    serial = run_sensitivity(spec, evaluator=StubEvaluator(), progress=False)
    processes = run_sensitivity(spec, executor="processes", workers=2,
                                evaluator=StubEvaluator(), progress=False)
    dask = run_sensitivity(spec, executor=DaskExecutor(workers=2, processes=False),
                           evaluator=StubEvaluator(), progress=False)
    for other in (processes, dask):
        pd.testing.assert_frame_equal(serial.outputs, other.outputs)
        pd.testing.assert_frame_equal(serial.indices, other.indices)
        pd.testing.assert_frame_equal(serial.samples, other.samples)


def test_processes_match_serial_with_pysd_runs(folder: Path) -> None:
    spec = write_spec(folder, spec_text("morris", samples=4, chunk_size=4), "proc.toml")
    serial = run_sensitivity(spec, progress=False)
    processes = run_sensitivity(spec, executor="processes", workers=2, progress=False)
    pd.testing.assert_frame_equal(serial.outputs, processes.outputs)
    pd.testing.assert_frame_equal(serial.bands, processes.bands)


def test_an_interrupted_study_resumes_without_recomputing(folder: Path) -> None:
    spec = _stub_spec(folder, "resume.toml")             # 160 runs in 10 chunks of 16
    out = folder / "resume-out"
    broken = StubEvaluator(interrupt_at=4 * 16)
    with pytest.raises(KeyboardInterrupt):
        run_sensitivity(spec, output_dir=out, evaluator=broken, progress=False)
    assert broken.calls == [0, 16, 32, 48]
    assert sorted(p.name for p in (out / "chunks").iterdir()) == sorted(
        f"chunk-0000{i}.{suffix}" for i in range(4) for suffix in ("parquet", "json"))
    assert not json.loads((out / "manifest.json").read_text())["complete"]
    with pytest.raises(sdkit.errors.InputFileError, match="did not finish"):
        load_result(out)
    resumed = StubEvaluator()
    result = run_sensitivity(spec, output_dir=out, evaluator=resumed, progress=False)
    assert resumed.calls == [i * 16 for i in range(4, 10)]
    whole = run_sensitivity(spec, output_dir=folder / "whole-out", evaluator=StubEvaluator(),
                            progress=False)
    pd.testing.assert_frame_equal(result.outputs, whole.outputs)
    pd.testing.assert_frame_equal(result.indices, whole.indices)
    again = StubEvaluator()
    run_sensitivity(spec, output_dir=out, evaluator=again, progress=False)
    assert again.calls == []


def test_a_changed_study_recomputes_changed_chunks(folder: Path) -> None:
    out = folder / "changed-out"
    run_sensitivity(_stub_spec(folder, "c1.toml"), output_dir=out, evaluator=StubEvaluator(),
                    progress=False)
    text = spec_text("sobol", samples=32, seed=99, chunk_size=16, bands=False)
    changed = StubEvaluator()
    run_sensitivity(write_spec(folder, text, "c2.toml"), output_dir=out, evaluator=changed,
                    progress=False)
    assert changed.calls == [i * 16 for i in range(10)]


def test_cli_end_to_end(folder: Path) -> None:
    spec = write_spec(folder, spec_text("morris", samples=4, chunk_size=8), "cli.toml")
    page = folder / "page.md"
    page.write_text("# Page\n\n<!-- findings:begin -->\nold\n<!-- findings:end -->\n")
    runner = CliRunner()
    out = folder / "cli-out"
    ran = runner.invoke(main, ["sensitivity", str(spec), "-o", str(out), "--no-progress"])
    assert ran.exit_code == 0, ran.output
    assert "Morris mu*" in ran.output and (out / "indices.csv").is_file()
    valid = runner.invoke(main, ["sensitivity", "validate", str(spec)])
    assert valid.exit_code == 0 and "ok: linear-morris" in valid.output
    report = runner.invoke(main, ["sensitivity", "report", str(out), "--update", str(page),
                                  "--block", "findings"])
    assert report.exit_code == 0, report.output
    text = page.read_text()
    assert "old" not in text and "| c |" in text and text.startswith("# Page")
    bad = write_spec(folder, spec_text().replace('"sobol"', '"fast"'), "bad-cli.toml")
    failed = runner.invoke(main, ["sensitivity", str(bad), "-o", str(folder / "x")])
    assert failed.exit_code == 2
    assert "sdkit: error:" in failed.output and "method.name" in failed.output


# --------------------------------------------------------------------------- damaged chunks
def _rewrite_chunk(path: Path, change) -> None:
    """Rewrite a chunk's Parquet file in place, keeping its metadata (and its work hash)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    frame = change(table.to_pandas())
    changed = pa.Table.from_pandas(frame, preserve_index=True)
    pq.write_table(changed.replace_schema_metadata(table.schema.metadata), path)


def _plant(frame: pd.DataFrame) -> pd.DataFrame:
    frame.iloc[1, 0] = 999999.0
    return frame


def _forge_record(path: Path) -> None:
    """Cut the chunk to 2 rows and give it a record matching the new bytes."""
    import hashlib

    _rewrite_chunk(path, lambda frame: frame.iloc[:2])
    record_file = path.with_suffix(".json")
    record = json.loads(record_file.read_text())
    record["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    record_file.write_text(json.dumps(record))


DAMAGE = {
    "planted value": (lambda p: _rewrite_chunk(p, _plant), "did not match its digest"),
    "cut to 2 rows": (lambda p: _rewrite_chunk(p, lambda f: f.iloc[:2]),
                      "did not match its digest"),
    "cut, record forged": (_forge_record, "has 2 rows, expected 16"),
    "garbage": (lambda p: p.write_bytes(b"PAR1 not a parquet file"), "did not match its digest"),
    "record lost": (lambda p: p.with_suffix(".json").unlink(), "has no digest record"),
    "record garbage": (lambda p: p.with_suffix(".json").write_text("{"),
                       "unreadable digest record"),
}


@pytest.fixture(scope="module")
def clean_study(folder: Path):
    """The stub Sobol study (160 runs in 10 chunks of 16), run once without damage."""
    return run_sensitivity(_stub_spec(folder, "clean.toml"), output_dir=folder / "clean-out",
                           evaluator=StubEvaluator(), progress=False)


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_chunk_is_recomputed(folder: Path, clean_study, damage: str, caplog) -> None:
    spec = _stub_spec(folder, f"damaged-{damage.replace(' ', '-')}.toml")
    out = folder / f"damaged-{damage.replace(' ', '-').replace(',', '')}"
    run_sensitivity(spec, output_dir=out, evaluator=StubEvaluator(), progress=False)
    harm, message = DAMAGE[damage]
    harm(out / "chunks" / "chunk-00003.parquet")
    again = StubEvaluator()
    with caplog.at_level("WARNING", logger="sdkit.sensitivity"):
        result = run_sensitivity(spec, output_dir=out, evaluator=again, progress=False)
    assert again.calls == [3 * 16]
    line = next(r.getMessage() for r in caplog.records if r.name == "sdkit.sensitivity"
                and "recomputed" in r.getMessage())
    assert line.startswith("chunk 3 (") and message in line and line.endswith("; recomputed.")
    pd.testing.assert_frame_equal(result.outputs, clean_study.outputs)
    pd.testing.assert_frame_equal(result.indices, clean_study.indices)
    saved = pd.read_parquet(out / "outputs.parquet")
    assert not (saved == 999999.0).any().any()
    pd.testing.assert_frame_equal(saved, pd.read_parquet(folder / "clean-out" / "outputs.parquet"))
    # The recomputed chunk is trusted again on the next run.
    caplog.clear()
    third = StubEvaluator()
    run_sensitivity(spec, output_dir=out, evaluator=third, progress=False)
    assert third.calls == [] and "recomputed" not in caplog.text


def test_cli_reports_a_recomputed_chunk_and_a_failed_write(folder: Path, monkeypatch) -> None:
    spec = write_spec(folder, spec_text("morris", samples=2, chunk_size=4, bands=False),
                      "cli-damage.toml")
    out = folder / "cli-damage-out"
    runner = CliRunner()
    assert runner.invoke(main, ["sensitivity", str(spec), "-o", str(out),
                                "--no-progress"]).exit_code == 0
    _rewrite_chunk(out / "chunks" / "chunk-00001.parquet", _plant)
    ran = runner.invoke(main, ["sensitivity", str(spec), "-o", str(out), "--no-progress"])
    assert ran.exit_code == 0, ran.output
    assert "999999" not in (out / "summary.md").read_text()
    before = {name: (out / name).read_bytes() for name in ("indices.csv", "summary.md")}
    import errno

    def full_disk(self, path, *args, **kwargs):
        Path(path).write_text("# half", encoding="utf-8")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full_disk)
    failed = runner.invoke(main, ["sensitivity", str(spec), "-o", str(out), "--no-progress"])
    assert failed.exit_code == 2, failed.output
    assert f"sdkit: error: Cannot write {out / 'indices.csv'}: No space left on device; " \
           "the previous file is unchanged." in failed.output
    assert "Traceback" not in failed.output
    assert {name: (out / name).read_bytes() for name in before} == before
    assert not list(out.glob(".*.tmp"))


@pytest.mark.parametrize("text", ["{", "[1, 2]"])
def test_a_damaged_manifest_is_an_input_file_error(tmp_path: Path, text: str) -> None:
    (tmp_path / "manifest.json").write_text(text, encoding="utf-8")
    with pytest.raises(sdkit.errors.InputFileError, match="manifest.json"):
        load_result(tmp_path)


def test_the_engine_argument_overrides_the_spec_and_gives_the_same_study(folder: Path) -> None:
    spec = write_spec(folder, spec_text("morris", samples=4, chunk_size=8), "engine.toml")
    assert load_spec(spec).engine == "auto"
    pysd = run_sensitivity(spec, engine="pysd", progress=False)
    auto = run_sensitivity(spec, progress=False)
    assert pysd.manifest["evaluator"] == "pysd" and auto.manifest["evaluator"] != "pysd"
    pd.testing.assert_frame_equal(pysd.outputs, auto.outputs)
    with pytest.raises(sdkit.errors.ParameterValueError, match="valid engines"):
        run_sensitivity(spec, engine="fast", progress=False)
    done = CliRunner().invoke(main, ["sensitivity", "run", str(spec), "-o",
                                     str(folder / "engine-out"), "--engine", "pysd",
                                     "--no-progress"])
    assert done.exit_code == 0, done.output
    manifest = json.loads((folder / "engine-out" / "manifest.json").read_text("utf-8"))
    assert manifest["evaluator"] == "pysd"

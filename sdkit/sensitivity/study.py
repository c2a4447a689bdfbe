"""Run a whole sensitivity study: spec -> sample -> chunked runs -> indices and bands."""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from sdkit import __version__
from sdkit.engine.batch import check_engine
from sdkit.sensitivity import analyze
from sdkit.sensitivity.evaluate import make_evaluator
from sdkit.sensitivity.execute import make_executor, run_chunks
from sdkit.sensitivity.metrics import split_bands
from sdkit.sensitivity.result import SensitivityResult, save_result, write_manifest
from sdkit.sensitivity.sampling import make_sample
from sdkit.sensitivity.spec import SensitivitySpec, base_values, load_spec
from sdkit.util.files import previous_manifest

__all__ = ["run_sensitivity", "build_sample"]

log = logging.getLogger("sdkit.sensitivity")


def build_sample(spec: SensitivitySpec, model: Any = None) -> Any:
    """The spec's sample (a :class:`~sdkit.sensitivity.sampling.Sample`)."""
    base = None
    if spec.method.name == "oat":
        from sdkit.model.core import load_model

        base = base_values(spec, model or load_model(spec.model_path))
    return make_sample(spec.method.name, spec.distributions, samples=spec.method.samples,
                       seed=spec.method.seed, levels=spec.method.levels, base=base)


def _manifest(spec: SensitivitySpec, evaluator: Any, runs: int, complete: bool) -> dict:
    from sdkit.model.core import load_model

    model = load_model(spec.model_path)
    return {
        "sdkit": __version__, "name": spec.name, "title": spec.title, "spec": str(spec.path),
        "scenario": None if spec.scenario_path is None else str(spec.scenario_path),
        "model": str(spec.model_path), "fingerprint": spec.fingerprint(),
        "method": spec.method.name, "samples": spec.method.samples, "seed": spec.method.seed,
        "method_options": asdict(spec.method), "runs": runs, "chunk_size": spec.chunk_size,
        "chunks": -(-runs // spec.chunk_size), "evaluator": evaluator.name,
        "parameters": [{"name": p.name, "group": p.group, **asdict(p.distribution)}
                       for p in spec.parameters],
        "outputs": [asdict(o) for o in spec.outputs], "bands": list(spec.bands),
        "final_time": spec.run_settings.get("final_time", model.final_time),
        "report_block": spec.report_block, "report_group": spec.report_group,
        "complete": complete,
    }


def run_sensitivity(spec_or_path: SensitivitySpec | str | os.PathLike[str], *,
                    output_dir: str | os.PathLike[str] | None = None,
                    executor: Any = "serial", workers: int | None = None,
                    scheduler: str | None = None, progress: bool = True,
                    evaluator: Any = None, engine: str | None = None) -> SensitivityResult:
    """Run a sensitivity study.

    Parameters
    ----------
    spec_or_path : SensitivitySpec or path-like
        A spec, or its TOML file (see :func:`~sdkit.sensitivity.load_spec`).
    output_dir : path-like, optional
        Study folder: chunks are saved there as they finish (an interrupted
        study resumes from them) and the result files written at the end.
        Without it nothing is saved.
    executor : str or executor object
        ``"serial"``, ``"processes"`` (local processes) or ``"dask"`` (Dask
        distributed), or an executor object (e.g. ``DaskExecutor(2, processes=False)``).
    workers : int, optional
        Processes or Dask workers (default: CPU count / 2 Dask workers).
    scheduler : str, optional
        Address of a running Dask scheduler (for ``executor="dask"``).
    progress : bool
        Show a progress bar on a terminal.
    evaluator : Evaluator, optional
        Replaces the spec's evaluator (see :mod:`~sdkit.sensitivity.evaluate`).
    engine : {"auto", "pysd", "ensemble"}, optional
        Replaces the spec's ``execution.engine`` (the backend seam: ``auto`` runs the
        ensemble engine where it accepts the model, PySD otherwise). The results are the
        same for every engine, so a study folder is resumed whichever ran it.

    Returns
    -------
    SensitivityResult
        Identical for every executor, given the same spec (and seed).

    Raises
    ------
    OutputWriteError
        A chunk or result file could not be written to ``output_dir`` (full disk,
        read-only folder); files already there are left intact and a rerun resumes.
    """
    spec = spec_or_path if isinstance(spec_or_path, SensitivitySpec) \
        else load_spec(spec_or_path)
    if engine is not None:
        spec = replace(spec, engine=check_engine(engine))
    runner = make_executor(executor, workers=workers, scheduler=scheduler)
    evaluator = evaluator or make_evaluator(spec)
    sample = build_sample(spec)
    folder = None if output_dir is None else Path(output_dir)
    manifest = _manifest(spec, evaluator, len(sample.values), complete=False)
    if folder is not None:
        _check_folder(folder, manifest)
        write_manifest(folder, manifest)
    raw = run_chunks(evaluator, sample.values, evaluation=spec.evaluation_hash(),
                     chunk_size=spec.chunk_size, executor=runner, folder=folder,
                     progress=progress)
    outputs, long = split_bands(raw)
    indices = analyze.indices(spec.method, sample, outputs)
    result = SensitivityResult(indices, analyze.bands(long), sample.values, outputs, spec,
                               {**manifest, "complete": True})
    if folder is not None:
        save_result(result, folder)
    return result


def _check_folder(folder: Path, manifest: dict) -> None:
    """Log whether ``folder`` holds the same study (resume) or another (recompute)."""
    old = previous_manifest(folder)
    if old is None:
        return
    if old.get("fingerprint") != manifest["fingerprint"]:
        log.warning("%s holds a different study (%s); its chunks are reused only where the "
                    "runs are the same.", folder, old.get("name"))

"""Run a calibration: spec -> posterior mode -> posterior sample -> summary and hindcast.

The study runs in stages, each saved in the output folder as it finishes so an
interrupted calibration resumes where it stopped (same spec, same seed, same
result): the posterior mode (``optimum.npz``), then the sampler's chain every
``sampler.checkpoint`` steps (``chain/chunk-NNNNN.npz``), then the result files
(:mod:`sdkit.calibration.result`). Every model evaluation is a batch run
(:class:`~sdkit.engine.batch.BatchRunner`): one engine call per population.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sdkit import __version__
from sdkit.calibration import summary
from sdkit.calibration.checkpoint import load_arrays, save_arrays, work_hash
from sdkit.calibration.fit import (
    ChainState,
    Optimum,
    Posterior,
    maximize,
    sample_chunk,
    start_walkers,
)
from sdkit.calibration.result import CalibrationResult, save_result, write_manifest
from sdkit.calibration.spec import CalibrationSpec, load_calibration_spec, with_budget
from sdkit.engine.batch import BatchRunner
from sdkit.errors import InputFileError, SimulationError
from sdkit.sensitivity.sampling import ppf
from sdkit.util.files import previous_manifest

__all__ = ["run_calibration", "training_mask", "calibration_horizon", "plan_text"]

log = logging.getLogger("sdkit.calibration")


def plan_text(spec: CalibrationSpec, model: Any) -> str:
    """One line that says what a calibration will do: parameters, observations (how many
    held out by ``train_until``), walkers and steps."""
    dt = float(spec.run_settings.get("time_step", model.time_step))
    held = training_mask(spec, dt, model.initial_time).count(False)
    return (f"{spec.name}: {len(spec.parameters)} parameters, {len(spec.observations)} "
            f"observations ({held} held out), {spec.walkers} walkers x {spec.sampler.steps} "
            "steps")


def training_mask(spec: CalibrationSpec, dt: float, initial: float = 0.0) -> list[bool]:
    """Which observations the fit uses: all, or those at or before ``train_until``
    (:meth:`~sdkit.calibration.observations.Observation.last_time`)."""
    if spec.train_until is None:
        return [True] * len(spec.observations)
    return [o.last_time(dt, initial) <= spec.train_until for o in spec.observations]


def calibration_horizon(spec: CalibrationSpec, initial: float, final: float, dt: float
                        ) -> float:
    """The final time of the fitting runs: the last observation's, on the time grid."""
    reach = max(o.horizon() for o in spec.observations)
    steps = max(1, math.ceil((reach - initial) / dt - 1e-9))  # at least one step
    return min(final, initial + steps * dt)


def _fingerprint(spec: CalibrationSpec, train: list[bool]) -> str:
    """Hash of everything that decides the posterior and the optimum (not the sampler's
    length, the burn-in or the report's options: changing those reuses the work done)."""
    base = {k: (v.tolist(), list(v.index)) if hasattr(v, "tolist") else v
            for k, v in sorted(spec.base_params.items())}
    settings = spec.settings()
    decisive = {k: settings[k] for k in ("parameters", "observation_rows", "seed", "weights",
                                         "optimizer", "run")}
    return work_hash(hashlib.sha256(spec.model_path.read_bytes()).hexdigest(), base,
                     decisive, train)


def _check_folder(folder: Path, fingerprint: str, replace: bool = False) -> None:
    """Refuse to overwrite a finished calibration of another spec (unless ``replace``);
    note a stale one."""
    old = previous_manifest(folder)
    if old is None or old.get("fingerprint") == fingerprint:
        return
    if old.get("complete") and not replace:
        raise InputFileError(
            f"{folder} holds a finished calibration of another spec or model "
            f"({old.get('name')!r}); give another output folder, delete it, or pass "
            "--replace.", path=str(folder))
    if old.get("complete"):
        log.warning("%s holds a finished calibration of another spec or model (%s); it is "
                    "replaced.", folder, old.get("name"))
        return
    log.warning("%s holds an unfinished calibration of another spec (%s); its checkpoints "
                "are not used.", folder, old.get("name"))


class Study:
    """One calibration run; the stages are its methods."""

    def __init__(self, spec: CalibrationSpec, model: Any, folder: Path | None,
                 progress: bool) -> None:
        self.spec, self.model, self.folder = spec, model, folder
        settings = spec.run_settings
        self.dt = float(settings.get("time_step", model.time_step))
        final = float(settings.get("final_time", model.final_time))
        self.horizon = calibration_horizon(spec, model.initial_time, final, self.dt)
        runner = BatchRunner(model, spec.parameter_names,
                             list(dict.fromkeys(o.variable for o in spec.observations)),
                             base_params=spec.base_params, engine=spec.engine,
                             settings={"final_time": self.horizon, "time_step": self.dt,
                                       "saveper": self.dt}, allow_nan=True)
        self.train = training_mask(spec, self.dt, model.initial_time)
        weights = [spec.weights.get(o.id, 1.0) for o in spec.observations]
        self.posterior = Posterior(runner, [p.prior for p in spec.parameters],
                                   spec.observations, self.train, weights)
        self.fingerprint = _fingerprint(spec, self.train)
        self.timings: dict[str, float] = {}
        self.chain_evaluations = 0
        from tqdm import tqdm

        self.bar = tqdm(total=spec.optimizer.maxiter + spec.sampler.steps, unit="step",
                        desc="calibrate", file=sys.stderr,
                        disable=not progress or not sys.stderr.isatty())

    def manifest(self, complete: bool) -> dict[str, Any]:
        spec = self.spec
        return {"sdkit": __version__, "name": spec.name, "title": spec.title,
                "spec": str(spec.path), "model": str(spec.model_path),
                "scenario": None if spec.scenario_path is None else str(spec.scenario_path),
                "observations": str(spec.observations_path), "fingerprint": self.fingerprint,
                "engine": self.posterior.runner.name, "horizon": self.horizon,
                "time_step": self.dt, **spec.settings(), "complete": complete}

    def optimum(self) -> Optimum:
        path = None if self.folder is None else self.folder / "optimum.npz"
        saved = None if path is None else load_arrays(path, self.fingerprint)
        if saved is not None and not _valid_optimum(saved, self.posterior.priors):
            log.warning("checkpoint %s does not hold a usable optimum; it is recomputed.", path)
            saved = None
        if saved is not None:
            self.bar.update(int(saved["generations"]))
            return Optimum(saved["x"], float(saved["log_prob"]), int(saved["generations"]),
                           int(saved["evaluations"]), bool(saved["polished"]))
        start = time.perf_counter()
        opt = self.spec.optimizer
        try:
            found = maximize(self.posterior, self.posterior.priors, popsize=opt.popsize,
                             maxiter=opt.maxiter, polish=opt.polish, seed=self.spec.seed,
                             callback=lambda _: self.bar.update(1))
        except SimulationError as err:
            raise SimulationError(f"{err} {self.unusable()}") from err
        self.timings["optimize"] = time.perf_counter() - start
        if path is not None:
            save_arrays(path, {"x": found.x, "log_prob": np.array(found.log_prob),
                               "generations": np.array(found.generations),
                               "evaluations": np.array(found.evaluations),
                               "polished": np.array(found.polished)}, self.fingerprint)
        return found

    def unusable(self) -> str:
        """Which training observations no probe set can predict (for an error message)."""
        probe = np.array([ppf(p.prior, np.array([0.1, 0.5, 0.9])) for p in
                          self.spec.parameters]).T
        ids = self.posterior.impossible(probe)
        return (f"Unusable at the priors' 10%, 50% and 90% points: {', '.join(ids)}."
                if ids else "")

    def chain(self, mode: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """The whole chain ``(steps, walkers, k)``, its log posteriors, accepted moves."""
        sampler, spec = self.spec.sampler, self.spec
        start = time.perf_counter()
        state = start_walkers(self.posterior, mode, self.posterior.priors, spec.walkers,
                              spec.seed + 1)
        chains: list[np.ndarray] = []
        probs: list[np.ndarray] = []
        accepted, done, computed = 0, 0, False
        while done < sampler.steps:
            steps = min(sampler.checkpoint, sampler.steps - done)
            number = len(chains)
            work = work_hash(self.fingerprint, spec.walkers, sampler.checkpoint, number, steps)
            path = None if self.folder is None else \
                self.folder / "chain" / f"chunk-{number:05d}.npz"
            saved = None if path is None else load_arrays(path, work)
            if saved is not None and not _valid_chunk(saved, steps, state.coords.shape):
                log.warning("checkpoint %s does not hold a usable chain; it is recomputed.",
                            path)
                saved = None
            if saved is None:
                before = self.posterior.evaluations
                chain, lp, accepts, state = sample_chunk(self.posterior, state, steps,
                                                         self.posterior.priors)
                saved = {**_chunk_arrays(chain, lp, accepts, state),
                         "evaluations": np.array(self.posterior.evaluations - before)}
                if path is not None:
                    save_arrays(path, saved, work)
                computed = True
            else:
                chain, lp, accepts = saved["chain"], saved["log_prob"], int(saved["accepted"])
                state = _state(saved)
            self.chain_evaluations += int(saved["evaluations"])
            chains.append(chain)
            probs.append(lp)
            accepted += accepts
            done += steps
            self.bar.update(steps)
        if computed:
            self.timings["sample"] = time.perf_counter() - start
        return np.concatenate(chains), np.concatenate(probs), accepted

    def summarise(self, found: Optimum, chain: np.ndarray, lp: np.ndarray,
                  accepted: int) -> CalibrationResult:
        spec, names = self.spec, self.spec.parameter_names
        start = time.perf_counter()
        sample = summary.posterior_frame(chain, lp, names, spec.sampler.burn)
        rng = np.random.default_rng(spec.seed + 2)
        picks = rng.choice(len(sample), size=min(spec.draws, len(sample)), replace=False)
        draws = sample.iloc[np.sort(picks)][names].reset_index(drop=True)
        predicted = self.posterior.predictions(draws.to_numpy())
        at_mode = self.posterior.predictions(found.x[None, :])[0]
        table = summary.observation_table(spec.observations, self.train, at_mode, predicted,
                                          seed=spec.seed + 3)
        bands = self.bands(draws)
        kept = chain[spec.sampler.burn:]
        diagnostics = summary.diagnostics(kept, accepted, chain.shape[0] * chain.shape[1])
        self.timings["summarise"] = time.perf_counter() - start
        evaluations = found.evaluations + self.chain_evaluations + len(draws) + 1
        manifest = {**self.manifest(True), "evaluations": evaluations,
                    "optimum": {"log_prob": found.log_prob, "generations": found.generations,
                                "evaluations": found.evaluations, "polished": found.polished,
                                "x": dict(zip(names, map(float, found.x), strict=True))},
                    "diagnostics": diagnostics, "timings": dict(self.timings),
                    "resumed": sorted({"optimize", "sample"} - set(self.timings))}
        return CalibrationResult(
            summary.estimates(sample, self.posterior.priors, names, found.x),
            summary.correlations(sample, names), table, bands, sample, draws, spec, manifest)

    def bands(self, draws: pd.DataFrame) -> pd.DataFrame:
        """Posterior bands of the spec's band variables over the whole run."""
        if not self.spec.bands:
            return summary.band_table(np.empty(0), {})
        runner = BatchRunner(self.model, self.spec.parameter_names, self.spec.bands,
                             base_params=self.spec.base_params,
                             settings=self.spec.run_settings, engine=self.spec.engine,
                             allow_nan=True)
        times, trajectories = runner.run(draws)
        return summary.band_table(times, trajectories)


def _valid_optimum(saved: dict[str, np.ndarray], priors: tuple[Any, ...]) -> bool:
    x = saved.get("x")
    if x is None or x.dtype.kind != "f" or x.shape != (len(priors),):
        return False
    low, high = np.array([[p.low, p.high] for p in priors]).T
    scalars = ("log_prob", "generations", "evaluations", "polished")
    return bool(np.all(np.isfinite(x)) and np.all((x >= low) & (x <= high))
                and all(k in saved and saved[k].shape == () and saved[k].dtype.kind in "fiub"
                        for k in scalars))


def _valid_chunk(saved: dict[str, np.ndarray], steps: int, shape: tuple[int, ...]) -> bool:
    walkers, k = shape
    shapes = {"chain": (steps, walkers, k), "log_prob": (steps, walkers), "accepted": (),
              "coords": (walkers, k), "coords_log_prob": (walkers,), "rng_keys": (624,),
              "rng": (3,), "evaluations": ()}
    return all(name in saved and saved[name].shape == want and saved[name].dtype.kind in "fiu"
               for name, want in shapes.items()) and bool(np.all(np.isfinite(saved["coords"])))


def _chunk_arrays(chain: np.ndarray, lp: np.ndarray, accepted: int, state: ChainState
                  ) -> dict[str, np.ndarray]:
    kind, keys, position, has_gauss, cached = state.random_state
    return {"chain": chain, "log_prob": lp, "accepted": np.array(accepted),
            "coords": state.coords, "coords_log_prob": state.log_prob, "rng_keys": keys,
            "rng": np.array([position, has_gauss, cached], dtype=float)}


def _state(saved: dict[str, np.ndarray]) -> ChainState:
    position, has_gauss, cached = saved["rng"].tolist()
    rng = ("MT19937", saved["rng_keys"], int(position), int(has_gauss), float(cached))
    return ChainState(saved["coords"], saved["coords_log_prob"], rng)


def run_calibration(spec_or_path: CalibrationSpec | str | os.PathLike[str], *,
                    output_dir: str | os.PathLike[str] | None = None, progress: bool = True,
                    model: Any = None, replace: bool = False,
                    engine: str | None = None) -> CalibrationResult:
    """Calibrate a model: the posterior mode, a posterior sample, bands and hindcast.

    Parameters
    ----------
    spec_or_path : CalibrationSpec or path-like
        A spec, or its TOML file (:func:`~sdkit.calibration.load_calibration_spec`).
    output_dir : path-like, optional
        Study folder: the stages are saved there as they finish (an interrupted
        calibration resumes) and the result files written at the end.
    progress : bool
        Show a progress bar on a terminal.
    model : sdkit.model.core.Model, optional
        The loaded model (saves loading it again).
    replace : bool, default False
        Replace a finished calibration of another spec or model in ``output_dir``
        (by default that is an error); a finished one of the same spec and model is
        always reused.
    engine : {"auto", "pysd", "ensemble"}, optional
        Replaces the spec's ``execution.engine`` (the backend seam).

    Returns
    -------
    CalibrationResult

    Raises
    ------
    CalibrationSpecError
        The spec is invalid.
    OutputWriteError
        A file could not be written to ``output_dir`` (files already there are left
        intact and a rerun resumes).
    """
    from sdkit.model.core import load_model

    spec = spec_or_path if isinstance(spec_or_path, CalibrationSpec) \
        else load_calibration_spec(spec_or_path, model=model)
    if engine is not None:
        spec = with_budget(spec, engine=engine)
    model = model if model is not None and model.path == spec.model_path \
        else load_model(spec.model_path)
    folder = None if output_dir is None else Path(output_dir)
    study = Study(spec, model, folder, progress)
    if folder is not None:
        _check_folder(folder, study.fingerprint, replace)
        write_manifest(folder, study.manifest(False))
    try:
        found = study.optimum()
        chain, lp, accepted = study.chain(found.x)
    finally:
        study.bar.close()
    result = study.summarise(found, chain, lp, accepted)
    if folder is not None:
        save_result(result, folder)
    return result

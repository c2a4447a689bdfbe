"""Benchmark: one calibration of the empowerment model, ensemble engine vs PySD.

Run with ``python benchmarks/bench_calibration.py`` or ``make bench``. Two parts,
both measured in this run on this machine:

1. **Engine vs PySD, same work.** The shipped calibration spec with a small
   budget (so PySD finishes in minutes), run twice with the same seed: once on
   the ensemble engine (one call per population), once with PySD (one run per
   parameter set). Both make the same number of model evaluations, and their
   posterior samples must be identical (the engine is bitwise equal to PySD). The
   ratio of wall times is printed (target: >= 100x). The engine's time includes
   compiling the model (about a second), which a small budget does not amortise;
   the PySD half takes about 8 minutes.
2. **The full calibration** (the spec's own budget: optimiser and posterior
   sample) on the engine: its wall time (target: < 10 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pandas as pd  # noqa: E402

import sdkit  # noqa: E402
from sdkit.calibration import load_calibration_spec, run_calibration  # noqa: E402
from sdkit.calibration.spec import with_budget  # noqa: E402


def timed(spec, model, folder: Path | None = None):
    start = time.perf_counter()
    result = run_calibration(spec, model=model, progress=False, output_dir=folder)
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spec", default=str(REPO / "scenarios" / "calibration" /
                                              "empowerment-2019.toml"))
    parser.add_argument("--steps", type=int, default=3, help="sampler steps of the "
                        "engine-vs-PySD comparison")
    parser.add_argument("--maxiter", type=int, default=1, help="optimiser generations of "
                        "the comparison")
    parser.add_argument("--skip-full", action="store_true", help="only the comparison")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    spec = load_calibration_spec(args.spec)
    model = sdkit.load_model(spec.model_path)
    k = len(spec.parameters)
    small = with_budget(spec, steps=args.steps, maxiter=args.maxiter, popsize=2,
                        polish=False, draws=10)
    print(f"spec {Path(args.spec).name}: {k} parameters, {len(spec.observations)} "
          f"observations; comparison budget: population {2 * k}, {args.maxiter + 1} "
          f"generation(s), the spec's {spec.walkers} walkers x {args.steps} steps")
    engine, engine_s = timed(with_budget(small, engine="ensemble"), model)
    pysd, pysd_s = timed(with_budget(small, engine="pysd"), model)
    same = pysd.posterior.equals(engine.posterior) and \
        pysd.estimates.equals(engine.estimates)
    n_engine, n_pysd = engine.manifest["evaluations"], pysd.manifest["evaluations"]
    print(f"engine: {n_engine} evaluations in {engine_s:8.2f} s "
          f"({n_engine / engine_s:9.1f} evaluations/s)")
    print(f"PySD:   {n_pysd} evaluations in {pysd_s:8.2f} s "
          f"({n_pysd / pysd_s:9.1f} evaluations/s)")
    print(f"same posterior sample: {same}; speed ratio engine/PySD: "
          f"{pysd_s / engine_s:.0f}x (target >= 100x)")
    if args.skip_full:
        return
    with tempfile.TemporaryDirectory() as folder:
        full, full_s = timed(spec, model, Path(folder))
    m = full.manifest
    stages = ", ".join(f"{k} {v:.0f} s" for k, v in m["timings"].items())
    print(f"full calibration: {m['evaluations']:,} evaluations in {full_s / 60:.1f} min "
          f"({stages}) (target < 10 min); {len(full.not_identified)} of {k} parameters not "
          f"identified; hindcast {int(full.hindcast['inside'].sum())} of {len(full.hindcast)} "
          "inside")
    print(pd.Series(m["diagnostics"]["tau"]).describe()[["mean", "max"]].to_string())


if __name__ == "__main__":
    main()

"""Benchmark: one run of one parameter set, the cached ensemble engine vs PySD.

Run with ``python benchmarks/bench_single.py`` or ``make bench``.  Every number is
measured in this run on the empowerment model, with one random parameter set (every
constant with a documented range):

* PySD: sdkit's ``Model.run`` (a fresh PySD model per run), best of ``--pysd-runs``;
* the engine as it was before the program cache: every call compiles the model
  (``Ensemble(..., cache=False)``) and integrates the set as arrays of shape (1,);
* cold compile: the first ``Ensemble`` of the model with an empty cache folder
  (parse, generate, audit, link, write the entry);
* disk hit: a new process's first ``Ensemble`` (memory cache empty, entry on disk);
* warm run: ``sdkit.engine.run_model`` (the ``sdkit run --engine ensemble`` path:
  memory cache hit, one set on numpy scalars, a table like ``Model.run``), best of
  ``--repeat``; and ``Ensemble.run`` alone.

The ratio printed last is PySD's time over the warm run's (target: at least 50).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import sdkit  # noqa: E402
from sdkit.engine import Ensemble, run_model  # noqa: E402
from sdkit.testing import random_parameter_sets  # noqa: E402


def best_of(fn: Callable[[], Any], repeat: int) -> float:
    """The shortest of ``repeat`` timings of ``fn()``, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def once(fn: Callable[[], Any]) -> float:
    return best_of(fn, 1)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:9.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=str(REPO / "models" / "empowerment.mdl"))
    parser.add_argument("--pysd-runs", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    model = sdkit.load_model(args.model)
    frame = random_parameter_sets(model, 1, seed=4)
    row = frame.iloc[0].to_dict()
    columns = list(frame.columns)
    print(f"model {Path(args.model).name}: {len(model.variables)} variables, one set of "
          f"{len(columns)} constants")

    pysd = best_of(lambda: model.run(row), args.pysd_runs)
    reference = model.run(row)

    def before() -> None:  # compile every call, integrate on arrays of shape (1,)
        ensemble = Ensemble(model, columns, cache=False)
        ensemble.scalar_single = False
        ensemble.run(frame)

    uncached = best_of(before, 2)
    with tempfile.TemporaryDirectory(prefix="sdkit-bench-") as folder:
        model.programs.clear()
        cold = once(lambda: Ensemble(model, columns, cache_dir=folder))
        model.programs.clear()
        disk = once(lambda: Ensemble(model, columns, cache_dir=folder))
        ensemble = Ensemble(model, columns, cache_dir=folder)  # memory hit
        memory = best_of(lambda: Ensemble(model, columns, cache_dir=folder), args.repeat)
        run_only = best_of(lambda: ensemble.run(frame), args.repeat)
        warm = best_of(lambda: run_model(model, row), args.repeat)
        result = run_model(model, row)
    same = all(np.array_equal(reference[c].to_numpy(dtype=float), result[c].to_numpy(dtype=float))
               for c in reference.columns)
    print(f"PySD (Model.run, fresh model)        {ms(pysd)}   (best of {args.pysd_runs})")
    print(f"engine before the cache (compile+run) {ms(uncached)}   "
          f"= {pysd / uncached:5.1f}x PySD")
    print(f"cold compile (empty cache folder)    {ms(cold)}")
    print(f"disk hit (new process)               {ms(disk)}")
    print(f"memory hit (Ensemble construction)   {ms(memory)}")
    print(f"warm Ensemble.run, one set            {ms(run_only)}")
    print(f"warm run_model, one set              {ms(warm)}   = {pysd / warm:5.1f}x PySD "
          f"(target >= 50x)")
    print(f"run_model values bitwise equal to Model.run: {same}")


if __name__ == "__main__":
    main()

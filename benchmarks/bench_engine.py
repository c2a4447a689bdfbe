"""Benchmark: ensemble engine (numpy) vs a PySD loop vs a numba kernel (the floor).

Run with ``python benchmarks/bench_engine.py`` or ``make bench``.  Every number is
measured in the same run on the empowerment model with random parameter sets
inside the documented ranges; ratios are of runs per second.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import sdkit  # noqa: E402
from sdkit.engine import Ensemble  # noqa: E402
from sdkit.testing import random_parameter_sets  # noqa: E402


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=str(REPO / "models" / "empowerment.mdl"))
    parser.add_argument("--pysd-runs", type=int, default=6)
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--child-big", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_big:
        child_big(args.model, args.child_big)
        return
    warnings.simplefilter("ignore")
    model = sdkit.load_model(args.model)
    sizes = [int(s) for s in args.sizes.split(",")]
    sets = random_parameter_sets(model, max(sizes + [args.pysd_runs]))
    names = list(sets.columns)
    print(f"model {Path(args.model).name}: {len(model.variables)} variables, "
          f"{len(names)} varying constants")

    # PySD loop (sdkit's Model.run: a fresh PySD model per run)
    rows = sets.head(args.pysd_runs).to_dict("records")
    start = time.perf_counter()
    for row in rows:
        model.run(row)
    pysd_rate = len(rows) / (time.perf_counter() - start)
    print(f"PySD loop: {pysd_rate:10.2f} runs/s ({args.pysd_runs} runs)")

    ensemble = Ensemble(model, names)           # every variable saved, as Model.run
    floor = None
    try:
        from sdkit.engine.numba_backend import NumbaKernel

        floor = NumbaKernel(ensemble.ir, ensemble.param_names, ensemble.outputs)
        grid = ensemble.grid()
        floor.run(np.zeros((len(names), 1)) + sets.head(1).to_numpy().T, grid)  # compile
    except ImportError:
        print("numba not installed (pip install 'sdkit[fast]'): no floor")

    if floor is not None:
        check = sets.head(100)
        engine_out = ensemble.run(check)
        floor_out = floor.run(check[names].to_numpy().T.copy(), grid)
        same = all(np.array_equal(engine_out.values[ensemble.ir.variables[o].name],
                                  floor_out[:, k]) for k, o in enumerate(ensemble.outputs))
        print(f"numba floor bitwise equal to the engine on 100 sets: {same}")
    print(f"{'N':>7} {'numpy runs/s':>13} {'x PySD':>9} {'numba runs/s':>13} "
          f"{'numpy/numba time':>17}")
    for n in sizes:
        frame = sets.head(n)
        repeat = 3 if n <= 1000 else 1
        engine_rate = n / best_of(lambda frame=frame: ensemble.run(frame), repeat)
        line = f"{n:7d} {engine_rate:13.0f} {engine_rate / pysd_rate:9.0f}"
        if floor is not None:
            matrix = frame[names].to_numpy().T.copy()
            floor_rate = n / best_of(lambda m=matrix: floor.run(m, grid), repeat)
            line += f" {floor_rate:13.0f} {floor_rate / engine_rate:17.2f}"
        print(line)

    # The CPU-independent '^' (docs/engine.md): cost of the element-wise exact path
    from sdkit.engine import assemble

    frame = sets.head(min(1000, max(sizes)))
    native = len(frame) / best_of(lambda: ensemble.run(frame), 3)
    probe = assemble.simd_power_is_exact
    assemble.simd_power_is_exact = lambda: False
    try:
        exact = len(frame) / best_of(lambda: ensemble.run(frame), 3)
    finally:
        assemble.simd_power_is_exact = probe
    print(f"np.power bit-identical to libm pow on this CPU: {probe()}; element-wise exact "
          f"'^' at N={len(frame)}: {exact:.0f} runs/s = {exact / native:.2f}x np.power "
          f"({native:.0f} runs/s)")

    # N = big with a streaming reducer, in a child process so that its peak memory
    # (max RSS) is its own
    command = [sys.executable, __file__, "--model", args.model, "--child-big", str(args.big)]
    print(subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip())


def child_big(model_path: str, n: int) -> None:
    """Run N sets with a reducer (mean, 5 % and 95 % quantiles); print time and peak RSS."""
    warnings.simplefilter("ignore")
    model = sdkit.load_model(model_path)
    big = random_parameter_sets(model, n, seed=1)
    ensemble = Ensemble(model, list(big.columns))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    result = ensemble.run(
        big, reducer=lambda name, t, v: (float(v.mean()), *np.quantile(v, [0.05, 0.95])))
    elapsed = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"N={n}: {elapsed:.1f} s ({n / elapsed:.0f} runs/s) with a reducer over "
          f"{len(result.reduced)} outputs; peak RSS {rss:.0f} MiB "
          f"({before:.0f} MiB before the run)")

if __name__ == "__main__":
    main()

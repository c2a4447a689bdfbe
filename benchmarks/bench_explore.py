"""Latency of one explorer re-run (what moving a slider costs).

Usage: .venv/bin/python benchmarks/bench_explore.py [--repeat N] [--pysd]

Reports the engine used (the ensemble engine with one parameter set when
``sdkit.engine`` is installed, else PySD at the explorer's preview time step),
the one-off set-up time and the median and worst latency of N re-runs with
different slider values. Add ``--pysd`` to measure PySD even with the engine.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import sdkit
from sdkit.report.explore import Runner, explorer_choice, levers
from sdkit.report.modeldoc import constant_values

MODEL = Path(__file__).resolve().parents[1] / "models" / "empowerment.mdl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pysd", action="store_true", help="measure PySD re-runs")
    args = parser.parse_args()
    began = time.perf_counter()
    model = sdkit.load_model(MODEL)
    chosen, shown = explorer_choice(model)
    specs = levers(model, constant_values(model), chosen)
    runner = Runner(model, {s.name: s.value for s in specs}, shown, use_engine=not args.pysd)
    setup = time.perf_counter() - began
    talent = specs[0]
    latencies = []
    for i in range(args.repeat):
        value = talent.start + (talent.end - talent.start) * (i + 1) / (args.repeat + 1)
        began = time.perf_counter()
        runner({talent.name: value})
        latencies.append(time.perf_counter() - began)
    print(f"engine: {runner.engine} (time step "
          f"{model.time_step if runner.engine != 'PySD' else runner.time_step:g})")
    print(f"set-up (load, constants, compile): {setup:.2f} s")
    print(f"re-run latency over {args.repeat} runs: median {statistics.median(latencies):.3f} s, "
          f"worst {max(latencies):.3f} s")


if __name__ == "__main__":
    main()

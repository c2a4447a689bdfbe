"""Benchmark: what users wait for, end to end, against issue 15's targets.

Run with ``python benchmarks/bench_pipeline.py`` or ``make bench``. Every number is
measured in this run, in fresh processes (``python -m sdkit.cli.app ...``), on the
empowerment model:

* ``Model.run`` with ``engine="auto"`` (the cached ensemble engine) vs ``"pysd"``: one
  run of the model, in one process after the first compile (target >= 50x);
* a slider move of the explorer (``sdkit.report.explore.Runner``, the card's levers; target
  < 50 ms);
* ``sdkit brief`` (both languages, the card's scenarios and Morris study; the
  calibration section is left out: ``make calibration`` is measured by
  ``bench_calibration.py``) with an empty translation/program cache and empty output
  ("cold") and again ("warm"; targets < 60 s and < 20 s);
* the Sobol study of the talent levers (``talent-investment.toml``) at N = 1,024 with the
  engine on two processes (target < 2 minutes).

Baselines measured the same way before the program cache and the backend seam (docs/
engine.md, "Speed where users feel it"): one engine run 0.7-0.9 s (slower than PySD's
0.9-1.4 s), a slider move 0.2-0.6 s, ``make briefing`` 33 s warm and 2.5 min cold;
before the loop-summary cache (:mod:`sdkit.loops.summary`) ``sdkit brief`` took
43.4 s warm and 57.6 s cold; before the page writer's changes (one Bokeh document per
page collected once, font subsets cached) 23.2 s warm on an idle machine.

Every line ends with the 1-minute load average when it was measured (``os.getloadavg``):
on a shared machine, compare numbers measured at similar loads. ``--briefing-only``
measures the briefing alone.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    """Seconds ``command`` takes; raises when it fails."""
    began = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return elapsed


def single_runs(repeat: int) -> tuple[float, float]:
    """Best ``Model.run`` time with PySD and with ``auto`` (after its first compile)."""
    import sdkit

    model = sdkit.load_model(REPO / "models" / "empowerment.mdl")
    settings = {"talent budget share": 0.5}
    model.run(settings, engine="auto")  # compile (or read the cached program)
    times = {}
    for engine in ("pysd", "auto"):
        best = []
        for _ in range(repeat):
            began = time.perf_counter()
            model.run(settings, engine=engine)
            best.append(time.perf_counter() - began)
        times[engine] = min(best)
    return times["pysd"], times["auto"]


def slider(repeat: int) -> float:
    """Median seconds of an explorer re-run."""
    import sdkit
    from sdkit.report.explore import Runner, explorer_choice, levers
    from sdkit.report.modeldoc import constant_values

    model = sdkit.load_model(REPO / "models" / "empowerment.mdl")
    chosen, shown = explorer_choice(model)
    specs = levers(model, constant_values(model), chosen)
    runner = Runner(model, {s.name: s.value for s in specs}, shown)
    runner({})
    lever = specs[0]
    latencies = []
    for i in range(repeat):
        began = time.perf_counter()
        runner({lever.name: lever.start + (lever.end - lever.start) * (i + 1) / (repeat + 1)})
        latencies.append(time.perf_counter() - began)
    return statistics.median(latencies)


def briefing(work: Path) -> tuple[float, float]:
    """``sdkit brief`` cold (empty cache and output) and warm, in seconds."""
    env = {**os.environ, "SDKIT_CACHE_DIR": str(work / "cache")}
    command = [sys.executable, "-m", "sdkit.cli.app", "brief", "models/empowerment.mdl", "-o",
               str(work / "out" / "briefing.html"), "--lang", "en", "--lang", "zh"]
    return timed(command, env, REPO), timed(command, env, REPO)


def sobol(work: Path, samples: int) -> float:
    """The talent Sobol study at ``samples``, in seconds (engine, two processes)."""
    spec = (REPO / "scenarios" / "sensitivity" / "talent-investment.toml").read_text(
        encoding="utf-8")
    base = (REPO / "scenarios" / "baseline.toml").as_posix()
    spec = spec.replace("samples = 256", f"samples = {samples}").replace(
        'scenario = "../baseline.toml"', f'scenario = "{base}"')
    path = work / "sobol.toml"
    path.write_text(spec, encoding="utf-8")
    env = {**os.environ, "SDKIT_CACHE_DIR": str(work / "cache")}
    return timed([sys.executable, "-m", "sdkit.cli.app", "sensitivity", str(path), "-o",
                  str(work / "sobol"), "--executor", "processes", "--workers", "2",
                  "--no-progress"], env, REPO)


def load() -> str:
    """The 1-minute load average, to print beside a measurement."""
    try:
        return f"[load {os.getloadavg()[0]:.1f}]"
    except OSError:  # not available on this system
        return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--samples", type=int, default=1024, help="Sobol base sample N")
    parser.add_argument("--skip-sobol", action="store_true")
    parser.add_argument("--briefing-only", action="store_true",
                        help="measure only sdkit brief (cold and warm)")
    args = parser.parse_args()
    if not args.briefing_only:
        pysd, auto = single_runs(args.repeat)
        print(f"single run: PySD {pysd * 1000:.0f} ms, auto {auto * 1000:.1f} ms: "
              f"{pysd / auto:.0f}x (target >= 50x) {load()}")
        print(f"explorer slider move: median {slider(args.repeat) * 1000:.1f} ms "
              f"(target < 50 ms) {load()}")
    with tempfile.TemporaryDirectory(prefix="sdkit-bench-") as folder:
        work = Path(folder)
        before = load()
        cold, warm = briefing(work)
        print(f"sdkit brief (en + zh, scenarios, Morris): cold {cold:.1f} s (target < 60 s), "
              f"warm {warm:.1f} s (target < 20 s) {before} {load()}")
        if not (args.skip_sobol or args.briefing_only):
            seconds = sobol(work, args.samples)
            print(f"Sobol N={args.samples} on the talent levers, 2 processes: {seconds:.0f} s "
                  f"(target < 120 s) {load()}")


if __name__ == "__main__":
    main()

"""Faults (issue 8): retried chunks and dead workers, NaN flagged, atomic writes."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdkit.engine.faults import map_with_retries, run_with_retries
from sdkit.errors import ParameterValueError, SimulationError, WorkerError
from sdkit.model.core import load_model
from sdkit.util import files as store
from sdkit.util.validation import check_finite_results


# --------------------------------------------------------------------------- retries
def test_a_failing_chunk_is_retried_and_reported():
    calls, events = [], []

    def flaky(chunk):
        calls.append(chunk)
        if len(calls) < 3:
            raise ConnectionError("worker lost")
        return chunk * 2

    assert run_with_retries(flaky, 21, retries=2, on_retry=events.append) == 42
    assert [(e.attempt, e.retries_left) for e in events] == [(1, 2), (2, 1)]
    assert "worker lost" in events[0].describe()


def test_a_chunk_failing_every_time_raises_worker_error():
    def broken(chunk):
        raise OSError("disk gone")

    with pytest.raises(WorkerError, match=r"Chunk .c7. failed in all 3 attempts.*disk") as info:
        run_with_retries(broken, None, key="c7")
    assert isinstance(info.value.__cause__, OSError)


def test_sdkit_errors_are_not_retried():
    calls = []

    def bad(chunk):
        calls.append(chunk)
        raise ParameterValueError("bad value")

    with pytest.raises(ParameterValueError):
        run_with_retries(bad, 1, retries=5)
    assert calls == [1]


def die_once(payload: tuple[str, int]) -> int:
    """Kill the worker process the first time a marker is missing, then work."""
    marker, value = payload
    if marker and not os.path.exists(marker):
        Path(marker).touch()
        os._exit(1)
    return value * 2


def test_a_dead_worker_is_retried_in_a_new_pool(tmp_path):
    events = []
    chunks = [(0, ("", 1)), (1, (str(tmp_path / "died"), 2)), (2, ("", 3))]
    results = dict(map_with_retries(die_once, chunks, workers=2, on_retry=events.append))
    assert results == {0: 2, 1: 4, 2: 6}
    assert 1 in {e.chunk for e in events}
    assert all(isinstance(e.error, BrokenProcessPool) for e in events)


def test_a_chunk_that_always_kills_its_worker_fails_after_its_retries():
    with pytest.raises(WorkerError, match=r"Chunk 5 failed in all 2 attempts \(its worker"):
        list(map_with_retries(die_always, [(5, ("", 1))], workers=1, retries=1))


def die_always(payload: tuple[str, int]) -> int:
    os._exit(1)


# --------------------------------------------------------------------------- NaN / inf
def test_check_finite_results_names_the_first_time_and_variable():
    table = pd.DataFrame({"a": [1.0, 2.0, np.inf], "b": [0.0, np.nan, np.nan]},
                         index=pd.Index([0.0, 0.5, 1.0], name="time"))
    with pytest.raises(SimulationError, match=r"NaN for 'b' at time 0.5"):
        check_finite_results(table)
    table.loc[0.5, "b"] = 1.0
    with pytest.raises(SimulationError, match=r"inf \(infinity\) for 'a' at time 1"):
        check_finite_results(table)
    check_finite_results(table.iloc[:2])


def test_a_run_producing_infinity_is_flagged(nan_path):
    with pytest.raises(SimulationError, match=r"-inf \(infinity\) for 'bad' at time 5"):
        load_model(nan_path).run()


# --------------------------------------------------------------------------- atomic writes
def test_a_failed_replace_leaves_the_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "results.csv"
    target.write_text("previous", encoding="utf-8")

    def crash(src, dst):
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        store.write_text_atomic(target, "new")
    assert target.read_text(encoding="utf-8") == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["results.csv"]


def test_a_writer_failing_midway_leaves_the_previous_file(tmp_path):
    target = tmp_path / "results.parquet"
    pd.DataFrame({"x": [1.0]}).to_parquet(target)

    def half(tmp: Path) -> None:
        tmp.write_bytes(b"PAR1 half a file")
        raise RuntimeError("crash mid-write")

    with pytest.raises(RuntimeError):
        store.atomic_write(target, half)
    assert pd.read_parquet(target)["x"].tolist() == [1.0]
    assert [p.name for p in tmp_path.iterdir()] == ["results.parquet"]


def _write_then_die(target: str) -> None:
    def half(tmp: Path) -> None:
        tmp.write_text("half", encoding="utf-8")
        os._exit(3)  # the process dies: no cleanup runs

    store.atomic_write(target, half)


def test_a_process_dying_mid_write_leaves_the_previous_file(tmp_path):
    target = tmp_path / "transitions.csv"
    target.write_text("previous", encoding="utf-8")
    process = multiprocessing.get_context("fork").Process(target=_write_then_die,
                                                          args=(str(target),))
    process.start()
    process.join(30)
    assert process.exitcode == 3
    assert target.read_text(encoding="utf-8") == "previous"
    leftovers = [p.name for p in tmp_path.iterdir() if p != target]
    assert all(name.startswith(".transitions.csv.") for name in leftovers)


# --------------------------------------------------------------------------- orphaned workers
NAP_MODULE = '''
import os, time
from pathlib import Path

class Nap:
    """An evaluator that records its worker's pid, then sleeps."""

    name = "nap"

    def __init__(self, folder):
        self.folder = folder

    def evaluate(self, params):
        Path(self.folder, str(os.getpid())).touch()
        time.sleep(120)
'''

PARENT = '''
import multiprocessing, sys
multiprocessing.set_start_method(sys.argv[1])
import pandas as pd
from nap import Nap
from sdkit.sensitivity.execute import ProcessExecutor
params = pd.DataFrame({"x": [0.0, 1.0]})
for _ in ProcessExecutor(workers=2).map(Nap(sys.argv[2]), [(0, params[:1]), (1, params[1:])]):
    pass
'''


def _running(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("method", multiprocessing.get_all_start_methods())
def test_workers_exit_when_their_parent_is_killed(tmp_path, method):
    import signal
    import subprocess
    import sys
    import time

    import psutil

    (tmp_path / "nap.py").write_text(NAP_MODULE, encoding="utf-8")
    pids = tmp_path / "pids"
    pids.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])])}
    parent = subprocess.Popen([sys.executable, "-c", PARENT, method, str(pids)], env=env)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while len(list(pids.iterdir())) < 2 and parent.poll() is None:
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.05)
        workers = [int(p.name) for p in pids.iterdir()]
        family = {c.pid for c in psutil.Process(parent.pid).children(recursive=True)}
        assert set(workers) <= family
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        killed = time.monotonic()
        while any(map(_running, family)) and time.monotonic() - killed < 5:
            time.sleep(0.02)
        assert [pid for pid in family if _running(pid)] == []
    finally:
        parent.kill()
        for pid in workers:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)

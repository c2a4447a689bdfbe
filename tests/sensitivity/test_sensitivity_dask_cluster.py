"""The Dask executor on a real cluster: a ``dask scheduler`` and two ``dask worker``
processes started on 127.0.0.1 by the test (not a LocalCluster), whose results must be
identical to the serial executor's, and Dask's messages kept out of the CLI's output.

The fixture starts the scheduler with ``--port 0`` and reads the address it chose from
its ``--scheduler-file``, starts two single-threaded workers without nannies, and waits
until the scheduler reports both (failing with the processes' output if they do not come
up). Each process runs in its own session; at teardown, also when a test fails, the
workers' and then the scheduler's process groups are terminated (killed after 10 s).
``--idle-timeout`` on the scheduler and ``--death-timeout`` on the workers end them even
if pytest itself is killed.

That the runs really happened on the cluster is checked with the workers' counts of
executed tasks (``Worker.state.executed_count``), read before and after each study.

Skipped without Dask distributed, a failure under SDKIT_REQUIRE_ALL=1.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import skip_or_fail
from sensitivity_helpers import LINEAR_MDL, StubEvaluator, spec_text, write_spec

import sdkit
from sdkit.cli.app import main
from sdkit.errors import ParameterValueError
from sdkit.sensitivity import SensitivityResult, run_sensitivity
from sdkit.sensitivity.execute import DaskExecutor

pytestmark = pytest.mark.slow  # about 10 s: four Python processes start

#: Seconds to wait for the scheduler's address, and then for both workers.
STARTUP_TIMEOUT = 60.0
WORKERS = 2
NAMES = {f"sdkit-test-{n}" for n in range(WORKERS)}
#: The study: Morris with 4 trajectories of the linear model, 16 runs in 4 chunks.
CHUNKS = 4
RESULT_FILES = ("samples.parquet", "outputs.parquet", "indices.csv", "bands.parquet")


@dataclass
class Cluster:
    """A running scheduler (first process) and its workers."""

    address: str
    scheduler_file: Path
    processes: list[subprocess.Popen[bytes]]
    logs: list[Path]

    def output(self) -> str:
        """The exit code and the end of the output of every process, for failure messages."""
        parts = []
        for proc, log in zip(self.processes, self.logs, strict=True):
            text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
            parts.append(f"--- {log.stem} (pid {proc.pid}, exit code {proc.poll()}):\n"
                         f"{text[-4000:]}")
        return "\n".join(parts)

    def executed(self) -> dict[str, int]:
        """Tasks each worker has run so far, by worker name."""
        from dask.distributed import Client

        with Client(self.address, timeout=30) as client:
            counts = client.run(
                lambda dask_worker: (dask_worker.name, dask_worker.state.executed_count))
        return dict(counts.values())


def _dask_command() -> list[str]:
    """The venv's ``dask`` console script, else ``python -m dask``."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        skip_or_fail("Dask distributed is not installed")
    script = Path(sys.executable).parent / "dask"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "dask"]


def _start(command: list[str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    """Start ``command`` in a new session (its own process group), output to ``log``."""
    env = dict(os.environ)  # workers import this sdkit, and use the tests' cache folder
    package_root = str(Path(sdkit.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
                                env=env, stdin=subprocess.DEVNULL, start_new_session=True)


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """Stop the workers, then the scheduler: SIGTERM to each process group (a process and
    any children), SIGKILL to what is left after 10 s. Stopping the scheduler at the same
    time as the workers sometimes leaves a worker hanging in its shutdown."""
    for group in (processes[1:], processes[:1]):
        for proc in group:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in group:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # stragglers in the group, if any
            proc.wait(timeout=10)


def _wait_for_address(cluster: Cluster) -> str:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if cluster.processes[0].poll() is not None:
            pytest.fail(f"dask scheduler exited early:\n{cluster.output()}")
        with contextlib.suppress(OSError, ValueError, KeyError):
            address = json.loads(cluster.scheduler_file.read_text(encoding="utf-8"))["address"]
            if address:
                return str(address)
        time.sleep(0.1)
    pytest.fail(f"dask scheduler wrote no address in {STARTUP_TIMEOUT:g} s:\n"
                f"{cluster.output()}")


def _wait_for_workers(cluster: Cluster) -> None:
    from dask.distributed import Client

    deadline = time.monotonic() + STARTUP_TIMEOUT
    with Client(cluster.address, timeout=STARTUP_TIMEOUT) as client:
        while time.monotonic() < deadline:
            if any(proc.poll() is not None for proc in cluster.processes):
                pytest.fail(f"a dask process exited early:\n{cluster.output()}")
            if len(client.scheduler_info(n_workers=-1)["workers"]) >= WORKERS:
                return
            time.sleep(0.1)
    pytest.fail(f"the dask scheduler did not report {WORKERS} workers in "
                f"{STARTUP_TIMEOUT:g} s:\n{cluster.output()}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1."""
    dask = _dask_command()
    root = tmp_path_factory.mktemp("dask-cluster")
    running = Cluster("", root / "scheduler.json", [], [])
    try:
        running.logs.append(root / "scheduler.log")
        running.processes.append(_start(
            [*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--dashboard-address", "127.0.0.1:0",  # its /health page, not on 8787
             "--scheduler-file", str(running.scheduler_file), "--idle-timeout", "300s"],
            running.logs[-1], root))
        running.address = _wait_for_address(running)
        for number in range(WORKERS):
            local = root / f"worker-{number}"
            local.mkdir()
            running.logs.append(root / f"worker-{number}.log")
            running.processes.append(_start(
                [*dask, "worker", running.address, "--host", "127.0.0.1", "--nthreads", "1",
                 "--nworkers", "1", "--no-nanny", "--no-dashboard", "--memory-limit", "0",
                 "--name", f"sdkit-test-{number}", "--local-directory", str(local),
                 "--death-timeout", "30s"], running.logs[-1], root))
        _wait_for_workers(running)
        yield running
    finally:
        _stop(running.processes)


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The spec of a Morris study of the linear model: 16 runs in chunks of 4."""
    folder = tmp_path_factory.mktemp("dask-study")
    (folder / "linear.mdl").write_text(LINEAR_MDL, encoding="utf-8")
    return write_spec(folder, spec_text("morris", samples=4, chunk_size=CHUNKS))


@pytest.fixture(scope="module")
def serial(study: Path) -> SensitivityResult:
    return run_sensitivity(study, output_dir=study.parent / "serial", progress=False)


def _assert_identical(serial: SensitivityResult, folder: Path,
                      other: SensitivityResult | None = None) -> None:
    """The files in ``folder`` (and ``other``) equal the serial study's, bit for bit."""
    if other is not None:
        for name in ("samples", "outputs", "indices", "bands"):
            pd.testing.assert_frame_equal(getattr(serial, name), getattr(other, name),
                                          check_exact=True, obj=name)
    for name in RESULT_FILES:
        assert (folder.parent / "serial" / name).read_bytes() == (folder / name).read_bytes(), \
            name


def _ran_on_the_cluster(cluster: Cluster, before: dict[str, int]) -> None:
    after = cluster.executed()
    assert set(after) == NAMES, cluster.output()
    done = {name: after[name] - before[name] for name in NAMES}
    assert sum(done.values()) == CHUNKS, (done, cluster.output())


def test_dask_cluster_gives_the_serial_results(cluster: Cluster, study: Path,
                                               serial: SensitivityResult) -> None:
    before = cluster.executed()
    assert set(before) == NAMES, cluster.output()
    out = study.parent / "dask"
    on_cluster = run_sensitivity(study, output_dir=out, executor="dask",
                                 scheduler=cluster.address, progress=False)
    _ran_on_the_cluster(cluster, before)
    assert on_cluster.outputs.notna().all().all() and len(on_cluster.outputs) == 16
    _assert_identical(serial, out, on_cluster)


def test_cli_runs_on_the_cluster_of_a_scheduler_file(cluster: Cluster, study: Path,
                                                     serial: SensitivityResult) -> None:
    before = cluster.executed()
    out = study.parent / "cli"
    result = CliRunner().invoke(main, ["sensitivity", str(study), "-o", str(out),
                                       "--scheduler", str(cluster.scheduler_file),
                                       "--no-progress"])
    assert result.exit_code == 0, (result.output, result.exception)
    _ran_on_the_cluster(cluster, before)
    _assert_identical(serial, out)


def test_the_dask_scheduler_address_setting_is_used(cluster: Cluster, study: Path,
                                          serial: SensitivityResult) -> None:
    import dask

    before = cluster.executed()
    with dask.config.set({"scheduler-address": cluster.address}):  # DASK_SCHEDULER_ADDRESS
        other = run_sensitivity(study, executor="dask", progress=False)
    _ran_on_the_cluster(cluster, before)
    pd.testing.assert_frame_equal(serial.outputs, other.outputs, check_exact=True)


def test_a_scheduler_that_cannot_be_reached_is_one_error(tmp_path: Path, study: Path) -> None:
    import dask

    missing = tmp_path / "scheduler.json"
    with pytest.raises(ParameterValueError, match="scheduler file .* does not exist"):
        run_sensitivity(study, scheduler=str(missing), executor="dask", progress=False)
    result = CliRunner().invoke(main, ["sensitivity", str(study), "-o", str(tmp_path / "o"),
                                       "--scheduler", str(missing)])
    assert result.exit_code == 2 and "sdkit: error: Dask scheduler file" in result.output
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"tcp://127.0.0.1:{sock.getsockname()[1]}"
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}), \
            pytest.raises(ParameterValueError, match="Could not connect to the Dask sched"):
        run_sensitivity(study, scheduler=closed, executor="dask", progress=False)


def test_dask_messages_are_logged_at_debug(study: Path, caplog: pytest.LogCaptureFixture
                                           ) -> None:
    import dask

    distributed = logging.getLogger("distributed")
    saved = distributed.handlers[:], distributed.propagate
    caplog.set_level(logging.DEBUG, logger="sdkit.sensitivity.dask")
    with dask.config.set({"scheduler-address": None}):  # a LocalCluster in this process
        run_sensitivity(study, executor=DaskExecutor(1, processes=False),
                        evaluator=StubEvaluator(), progress=False)
    dask_records = [r for r in caplog.records if r.name.startswith("distributed")]
    assert any("worker" in r.getMessage().lower() for r in dask_records), dask_records
    loud = [r for r in dask_records if logging.DEBUG < r.levelno < logging.WARNING]
    assert not loud, [r.getMessage() for r in loud]
    assert (distributed.handlers, distributed.propagate) == saved


def test_cli_output_has_no_dask_chatter(study: Path, tmp_path: Path) -> None:
    """A LocalCluster run from the command line prints sdkit's line only (Dask's INFO
    messages used to follow it, and a warning that port 8787 was taken)."""
    command = [str(Path(sys.executable).with_name("sdkit"))]
    if not Path(command[0]).is_file():
        command = [sys.executable, "-m", "sdkit.cli.app"]
    done = subprocess.run([*command, "sensitivity", str(study), "-o", str(tmp_path / "o"),
                           "--executor", "dask", "--workers", "1", "--no-progress"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={k: v for k, v in os.environ.items()
                               if k != "DASK_SCHEDULER_ADDRESS"}, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == ["linear-morris: morris, 16 runs in chunks of 4"], \
        done.stderr


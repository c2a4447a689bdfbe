"""Run a sample chunk by chunk: serially, in local processes, or on Dask.

The sample is split into chunks of ``chunk_size`` rows (chunk ``i`` holds rows
``i*chunk_size`` to ``(i+1)*chunk_size - 1``). Each finished chunk's outputs are
written atomically to ``OUT/chunks/chunk-00012.parquet``, and then, also
atomically, its record ``OUT/chunks/chunk-00012.json``: the hash of the chunk's
work (the evaluation settings (model, base, outputs, bands), the evaluator's name
and the chunk's parameter values), the SHA-256 digest of the Parquet file's bytes
and its number of rows. On start, a chunk whose record has the same work hash is
read instead of computed, so an interrupted study resumes where it stopped and
loses nothing that was finished; but only when the file still matches its digest
and holds one row per run of the chunk. A chunk that was edited, cut short or
damaged, or that has no record (the run stopped between the two writes), is
recomputed with a warning on the ``sdkit.sensitivity`` logger (``chunk 3 ... did
not match its digest; recomputed``). Results do not depend on the executor: each
row is computed the same way wherever it runs, and chunks are put back in order.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from sdkit.engine.faults import one_line
from sdkit.errors import ParameterValueError
from sdkit.util.files import write_bytes_atomic, write_text_atomic

__all__ = ["SerialExecutor", "ProcessExecutor", "DaskExecutor", "make_executor", "run_chunks",
           "chunk_hash", "CHUNKS_DIR", "EXECUTORS"]

log = logging.getLogger("sdkit.sensitivity")
CHUNKS_DIR = "chunks"
EXECUTORS = ("serial", "processes", "dask")
_HASH_KEY = b"sdkit.chunk_hash"
_CHUNK_NAME = re.compile(r"chunk-(\d+)\.(parquet|json)")

Chunk = tuple[int, pd.DataFrame]


def _evaluate(evaluator: Any, params: pd.DataFrame) -> pd.DataFrame:
    return evaluator.evaluate(params)


class Executor(Protocol):
    def map(self, evaluator: Any, chunks: Sequence[Chunk]) -> Iterator[tuple[int, pd.DataFrame]]:
        """Yield ``(chunk number, outputs)`` as chunks finish, in any order."""
        ...


class SerialExecutor:
    """Evaluates chunks one after the other in this process."""

    name = "serial"

    def map(self, evaluator: Any, chunks: Sequence[Chunk]) -> Iterator[tuple[int, pd.DataFrame]]:
        for number, params in chunks:
            yield number, _evaluate(evaluator, params)


@dataclass
class ProcessExecutor:
    """Evaluates chunks in ``workers`` local processes (default: the CPU count).

    A chunk whose worker dies (or that raises something other than an
    :class:`~sdkit.errors.SdkitError`) is retried up to ``retries`` times in a
    new pool, each retry logged on ``sdkit.engine.faults`` (see :mod:`sdkit.engine.faults`).
    """

    workers: int | None = None
    retries: int = 2
    name = "processes"

    def map(self, evaluator: Any, chunks: Sequence[Chunk]) -> Iterator[tuple[int, pd.DataFrame]]:
        from functools import partial

        from sdkit.engine.faults import map_with_retries

        yield from map_with_retries(partial(_evaluate, evaluator), chunks,
                                    workers=self.workers, retries=self.retries)


class _DebugRelay(logging.Handler):
    """Passes Dask's records on to ``sdkit.sensitivity.dask``, its INFO chatter at DEBUG."""

    def __init__(self, target: logging.Logger) -> None:
        super().__init__()
        self.target = target

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno < logging.WARNING:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        if self.target.isEnabledFor(record.levelno):
            self.target.handle(record)


@contextlib.contextmanager
def _dask_logs_at_debug() -> Iterator[None]:
    """Log Dask's messages below WARNING at DEBUG on ``sdkit.sensitivity.dask``.

    Dask logs every scheduler start, worker registration and connection at INFO on
    the ``distributed`` logger, with its own handler or, under an application's
    logging setup (the ``sdkit`` CLI), through the root logger. While a study runs
    those records go to ``sdkit.sensitivity.dask`` instead, lowered to DEBUG
    (``logging.getLogger("sdkit.sensitivity.dask").setLevel(logging.DEBUG)`` shows
    them); warnings and errors keep their level.
    """
    source = logging.getLogger("distributed")
    saved = source.handlers[:], source.propagate
    relay = _DebugRelay(log.getChild("dask"))
    source.handlers[:] = [relay]
    source.propagate = False
    try:
        yield
    finally:
        source.handlers[:], source.propagate = saved


def _connect(client_class: Any, scheduler: str) -> Any:
    """A client of the scheduler at ``scheduler``: an address, or a scheduler file (JSON)."""
    path = Path(scheduler).expanduser()
    is_file = path.is_file()
    if scheduler.endswith(".json") and not is_file:
        raise ParameterValueError(f"Dask scheduler file {scheduler} does not exist.")
    try:
        if is_file:
            return client_class(scheduler_file=str(path))
        return client_class(scheduler)
    except (OSError, ValueError) as err:  # unreachable, timed out, unreadable, not an address
        raise ParameterValueError(f"Could not connect to the Dask scheduler {scheduler}: "
                                  f"{one_line(err)}") from err


@dataclass
class DaskExecutor:
    """Evaluates chunks on Dask distributed.

    Connects to ``scheduler`` when given: an address such as ``tcp://host:8786``, or
    the JSON file written by ``dask scheduler --scheduler-file FILE``; else to Dask's
    ``scheduler-address`` setting (the ``DASK_SCHEDULER_ADDRESS`` environment
    variable) when set. Otherwise starts a :class:`~distributed.LocalCluster` with
    ``workers`` workers of one thread each (``processes=False`` keeps them in this
    process, which is only safe for thread-safe evaluators). The workers of an
    external cluster must be able to import sdkit and read the model file at the
    same path. Dask's informational messages are logged at DEBUG on
    ``sdkit.sensitivity.dask``.
    """

    workers: int | None = None
    scheduler: str | None = None
    processes: bool = True
    name = "dask"

    def map(self, evaluator: Any, chunks: Sequence[Chunk]) -> Iterator[tuple[int, pd.DataFrame]]:
        try:
            import dask
            from dask.distributed import Client, LocalCluster, as_completed
        except ImportError as err:  # pragma: no cover - dask is a dependency
            raise ParameterValueError("The dask executor needs dask[distributed] installed."
                                      ) from err
        with contextlib.ExitStack() as stack:
            stack.enter_context(_dask_logs_at_debug())
            scheduler = self.scheduler or dask.config.get("scheduler-address", None)
            if scheduler:
                log.info("Connecting to the Dask scheduler %s.", scheduler)
                client = _connect(Client, str(scheduler))
            else:
                # Without a dashboard the scheduler still serves /health: on a free local port,
                # not on 8787 (which may be taken, and that warning would reach the CLI).
                cluster = stack.enter_context(LocalCluster(
                    n_workers=self.workers or 2, threads_per_worker=1,
                    processes=self.processes, dashboard_address=None,
                    scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                    silence_logs=logging.ERROR))
                client = Client(cluster)
            stack.callback(client.close)
            remote = client.scatter(evaluator, broadcast=True)
            futures = {client.submit(_evaluate, remote, params, pure=False): number
                       for number, params in chunks}
            for future in as_completed(futures):
                yield futures[future], future.result()


def make_executor(executor: str | Any = "serial", *, workers: int | None = None,
                  scheduler: str | None = None) -> Any:
    """An executor by name (``serial``, ``processes``, ``dask``), or ``executor`` itself."""
    if not isinstance(executor, str):
        return executor
    if workers is not None and workers < 1:
        raise ParameterValueError(f"workers must be at least 1, got {workers}.")
    if executor == "serial":
        return SerialExecutor()
    if executor == "processes":
        return ProcessExecutor(workers)
    if executor == "dask":
        return DaskExecutor(workers, scheduler)
    raise ParameterValueError(f"Unknown executor {executor!r}; valid executors: "
                              f"{list(EXECUTORS)}.")


def chunk_hash(evaluation: str, evaluator_name: str, params: pd.DataFrame) -> str:
    """Hash of one chunk's work: evaluation settings, evaluator, parameter values."""
    digest = hashlib.sha256(f"{evaluation}\n{evaluator_name}\n".encode())
    digest.update("\x1f".join(map(str, params.columns)).encode())
    digest.update(params.index.to_numpy(dtype="int64").tobytes())
    digest.update(params.to_numpy(dtype="float64").tobytes())
    return digest.hexdigest()


def chunk_path(folder: Path, number: int) -> Path:
    """The Parquet file of chunk ``number`` in the study ``folder``."""
    return folder / CHUNKS_DIR / f"chunk-{number:05d}.parquet"


def record_path(chunk: Path) -> Path:
    """The record (work hash, digest, rows) written after the chunk file ``chunk``."""
    return chunk.with_suffix(".json")


class _DamagedChunk(Exception):
    """A saved chunk that cannot be trusted; the message says why."""


def _load_chunk(path: Path, work: str, rows: int) -> pd.DataFrame | None:
    """The saved outputs of a chunk, or None when it is missing or for other work.

    Raises
    ------
    _DamagedChunk
        The file has no record, does not match its digest, cannot be read, or
        holds another number of rows than ``rows``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not path.is_file():
        return None
    record = _read_record(path)
    if record.get("work") != work:
        return None
    try:
        data = path.read_bytes()
    except OSError as err:
        raise _DamagedChunk(f"could not be read ({one_line(err)})") from err
    if hashlib.sha256(data).hexdigest() != record.get("sha256"):
        raise _DamagedChunk("did not match its digest")
    try:
        outputs = pq.read_table(pa.BufferReader(data)).to_pandas()
    except Exception as err:  # pyarrow raises many types for damaged files
        raise _DamagedChunk(f"could not be read ({one_line(err)})") from err
    if len(outputs) != rows or record.get("rows") != rows:
        raise _DamagedChunk(f"has {len(outputs)} rows, expected {rows}")
    return outputs


def _read_record(chunk: Path) -> dict[str, Any]:
    path = record_path(chunk)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise _DamagedChunk("has no digest record") from err
    except (OSError, ValueError) as err:
        raise _DamagedChunk(f"has an unreadable digest record ({one_line(err)})") from err
    if not isinstance(record, dict):
        raise _DamagedChunk("has an unreadable digest record")
    return record


def _write_chunk(path: Path, outputs: pd.DataFrame, work: str) -> None:
    """Write a chunk's outputs, then its record (work hash, SHA-256 digest, rows)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(outputs, preserve_index=True)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                           _HASH_KEY: work.encode()})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    data = sink.getvalue().to_pybytes()
    with contextlib.suppress(OSError):  # the old record does not describe the new file
        record_path(path).unlink(missing_ok=True)
    write_bytes_atomic(path, data)
    record = {"work": work, "sha256": hashlib.sha256(data).hexdigest(), "rows": len(outputs)}
    write_text_atomic(record_path(path), json.dumps(record) + "\n")


def _resume(folder: Path, chunks: Sequence[Chunk], hashes: dict[int, str]
            ) -> dict[int, pd.DataFrame]:
    """The intact saved chunks of this work; stale chunk files beyond the sample are removed."""
    done: dict[int, pd.DataFrame] = {}
    for number, part in chunks:
        path = chunk_path(folder, number)
        try:
            found = _load_chunk(path, hashes[number], len(part))
        except _DamagedChunk as err:
            log.warning("chunk %d (%s) %s; recomputed.", number, path, err)
            continue
        if found is not None:
            done[number] = found
    for stale in (folder / CHUNKS_DIR).glob("chunk-*"):
        match = _CHUNK_NAME.fullmatch(stale.name)
        if match and int(match.group(1)) >= len(chunks):
            stale.unlink(missing_ok=True)
    return done


def run_chunks(evaluator: Any, params: pd.DataFrame, *, evaluation: str, chunk_size: int,
               executor: Any, folder: Path | None = None, progress: bool = True,
               on_chunk: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Evaluate every row of ``params``, resuming from and saving to ``folder``.

    Parameters
    ----------
    evaluator : Evaluator
        Computes a chunk's outputs.
    params : pandas.DataFrame
        The whole sample (index ``0..n-1``).
    evaluation : str
        :meth:`SensitivitySpec.evaluation_hash`.
    chunk_size : int
        Rows per chunk.
    executor : object
        From :func:`make_executor`.
    folder : Path, optional
        Study folder; chunks go to ``folder/chunks``. Nothing is saved without one.
        Saved chunks are reused only when they match their digest and size;
        others are recomputed with a warning.
    progress : bool
        Show a progress bar (only when stderr is a terminal).
    on_chunk : callable, optional
        Called as ``on_chunk(done_chunks, total_chunks)`` after each chunk.

    Returns
    -------
    pandas.DataFrame
        The outputs, one row per row of ``params``, in order.

    Raises
    ------
    OutputWriteError
        A chunk could not be saved (full disk, read-only folder).
    """
    chunks = [(i, params.iloc[start:start + chunk_size])
              for i, start in enumerate(range(0, len(params), chunk_size))]
    hashes = {i: chunk_hash(evaluation, evaluator.name, part) for i, part in chunks}
    done = {} if folder is None else _resume(folder, chunks, hashes)
    todo = [(i, part) for i, part in chunks if i not in done]
    if done:
        log.info("Resuming: %d of %d chunks already done.", len(done), len(chunks))
    bar = _bar(len(params), sum(len(d) for d in done.values()), progress)
    try:
        for number, outputs in executor.map(evaluator, todo):
            if folder is not None:
                _write_chunk(chunk_path(folder, number), outputs, hashes[number])
            done[number] = outputs
            bar.update(len(outputs))
            if on_chunk is not None:
                on_chunk(len(done), len(chunks))
    finally:
        bar.close()
    ordered = [done[i] for i, _ in chunks]
    result = pd.concat(ordered) if ordered else pd.DataFrame(index=params.index)
    result.index = params.index
    return result


def _bar(total: int, initial: int, progress: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="run", desc="sensitivity",
                disable=not progress or not sys.stderr.isatty(), file=sys.stderr)

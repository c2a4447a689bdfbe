"""Fault tolerance for batches of runs: retry a failed chunk, survive a dead worker.

Two pieces, usable by any executor (the sensitivity executors in
:mod:`sdkit.sensitivity.execute` are the first users):

* :func:`run_with_retries` calls ``fn(chunk)`` and, when it raises, calls it
  again up to ``retries`` more times, reporting each retry to a callback and to
  the ``sdkit.engine.faults`` logger. Errors that repeat by construction (every
  :class:`~sdkit.errors.SdkitError`: a bad parameter, a NaN run) are not
  retried. When the retries are used up a :class:`~sdkit.errors.WorkerError`
  names the chunk, the number of attempts and the last error.
* :func:`map_with_retries` runs many chunks in a pool of local processes. When a
  worker process dies (killed, out of memory, a crash in native code), Python
  marks the whole pool broken; the chunks that had not finished are counted as
  one failed attempt each, a new pool is started and they are submitted again.

A chunk that kills its worker every time therefore fails after ``retries + 1``
attempts with a :class:`~sdkit.errors.WorkerError`; the others finish.

The pool's workers watch the process that started them (:func:`exit_with_parent`):
when it dies, even by ``kill -9``, they exit within about half a second instead of
computing on as orphans.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, TypeVar

from sdkit.errors import SdkitError, WorkerError

__all__ = ["RetryEvent", "run_with_retries", "map_with_retries", "exit_with_parent",
           "one_line", "DEFAULT_RETRIES", "PARENT_POLL_SECONDS"]

log = logging.getLogger("sdkit.engine.faults")
DEFAULT_RETRIES = 2
#: How often (seconds) a pool worker checks that its parent process is still there.
PARENT_POLL_SECONDS = 0.5
T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class RetryEvent:
    """One failed attempt that will be retried.

    Attributes
    ----------
    chunk : object
        The chunk's key (or the chunk itself for :func:`run_with_retries`).
    attempt : int
        The attempt that failed, from 1.
    retries_left : int
        Attempts still to come.
    error : BaseException
        What went wrong (``BrokenProcessPool`` when the worker died).
    """

    chunk: Any
    attempt: int
    retries_left: int
    error: BaseException

    def describe(self) -> str:
        return (f"chunk {self.chunk!r}: attempt {self.attempt} failed "
                f"({one_line(self.error)}); retrying ({self.retries_left} left).")


def one_line(err: BaseException) -> str:
    """``TypeName: message`` of an exception, on one line."""
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _check_retries(retries: int) -> None:
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be a whole number >= 0, got {retries!r}")


def _give_up(chunk: Any, attempts: int, err: BaseException) -> WorkerError:
    died = " (its worker process died)" if isinstance(err, BrokenProcessPool) else ""
    return WorkerError(f"Chunk {chunk!r} failed in all {attempts} attempts{died}; "
                       f"last error: {one_line(err)}")


def _report(event: RetryEvent, on_retry: Callable[[RetryEvent], object] | None) -> None:
    log.warning("%s", event.describe())
    if on_retry is not None:
        on_retry(event)


def run_with_retries(fn: Callable[[Any], T], chunk: Any, *, retries: int = DEFAULT_RETRIES,
                     on_retry: Callable[[RetryEvent], object] | None = None,
                     key: Any = None) -> T:
    """Return ``fn(chunk)``, calling it again when it fails.

    Parameters
    ----------
    fn : callable
        The work, e.g. evaluating one chunk of parameter sets.
    chunk : object
        Its argument.
    retries : int
        Further attempts after the first (default 2).
    on_retry : callable, optional
        Called with a :class:`RetryEvent` before each retry.
    key : object, optional
        How the chunk is named in events and errors (default: ``chunk``).

    Returns
    -------
    object
        What ``fn`` returned.

    Raises
    ------
    SdkitError
        Raised by ``fn``: passed on at once, never retried.
    WorkerError
        ``fn`` failed ``retries + 1`` times; ``__cause__`` is the last error.
    """
    _check_retries(retries)
    name = chunk if key is None else key
    for attempt in range(1, retries + 2):
        try:
            return fn(chunk)
        except SdkitError:
            raise
        except Exception as err:
            if attempt > retries:
                raise _give_up(name, attempt, err) from err
            _report(RetryEvent(name, attempt, retries + 1 - attempt, err), on_retry)
    raise AssertionError("unreachable")  # pragma: no cover


def exit_with_parent(interval: float = PARENT_POLL_SECONDS) -> None:
    """Make this process exit (status 1) as soon as its parent process dies.

    The initializer of the pools of :func:`map_with_retries`. It starts a daemon
    thread that waits on the parent's multiprocessing sentinel (a pipe that
    closes when the parent dies) and, every ``interval`` seconds, checks
    :func:`os.getppid` against the parent this process started with (the
    orphan is adopted by another process). Either sign ends the process with
    :func:`os._exit`, whatever its main thread is doing.

    Parameters
    ----------
    interval : float
        Seconds between the checks of the parent's process id.
    """
    parent = multiprocessing.parent_process()
    sentinel = None if parent is None else parent.sentinel
    threading.Thread(target=_watch_parent, args=(os.getppid(), sentinel, interval),
                     name="sdkit-parent-watch", daemon=True).start()


def _watch_parent(ppid: int, sentinel: int | None, interval: float) -> None:
    from multiprocessing.connection import wait as wait_ready

    while os.getppid() == ppid:
        if sentinel is None:
            time.sleep(interval)
        elif wait_ready([sentinel], timeout=interval):
            break
    os._exit(1)


def map_with_retries(fn: Callable[[Any], T], chunks: Iterable[tuple[K, Any]], *,
                     workers: int | None = None, retries: int = DEFAULT_RETRIES,
                     on_retry: Callable[[RetryEvent], object] | None = None,
                     ) -> Iterator[tuple[K, T]]:
    """Run ``fn(payload)`` for every ``(key, payload)`` in local processes, with retries.

    Parameters
    ----------
    fn : callable
        A picklable (module-level) function.
    chunks : iterable of (key, payload)
        The work; keys must be unique.
    workers : int, optional
        Processes in the pool (default: the CPU count). They exit when this
        process dies (see :func:`exit_with_parent`).
    retries : int
        Further attempts per chunk after the first.
    on_retry : callable, optional
        Called with a :class:`RetryEvent` before each retry; ``error`` is a
        ``BrokenProcessPool`` when the worker died.

    Yields
    ------
    (key, result)
        As chunks finish, in any order.

    Raises
    ------
    SdkitError
        Raised by ``fn`` in a worker: passed on, never retried.
    WorkerError
        A chunk failed or lost its worker ``retries + 1`` times.
    """
    _check_retries(retries)
    pending = dict(chunks)
    attempts = dict.fromkeys(pending, 0)
    while pending:
        failed: dict[K, BaseException] = {}
        pool = ProcessPoolExecutor(max_workers=workers, initializer=exit_with_parent)
        try:
            futures = {pool.submit(fn, payload): key for key, payload in pending.items()}
            waiting = set(futures)
            while waiting:
                done, waiting = wait(waiting, return_when=FIRST_COMPLETED)
                for future in done:
                    key = futures[future]
                    try:
                        result = future.result()
                    except SdkitError:
                        raise
                    except Exception as err:  # BrokenProcessPool when the worker died
                        failed[key] = err
                        continue
                    del pending[key]
                    yield key, result
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        for key, error in failed.items():
            attempts[key] += 1
            if attempts[key] > retries:
                raise _give_up(key, attempts[key], error) from error
            _report(RetryEvent(key, attempts[key], retries + 1 - attempts[key], error), on_retry)

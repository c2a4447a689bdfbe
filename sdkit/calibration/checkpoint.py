"""Checkpoints of a calibration: numpy arrays saved with a digest record.

Each checkpoint is ``NAME.npz`` (numbers only: read back with
``allow_pickle=False``, so nothing in it can run) and ``NAME.json``, the record
written after it: the hash of the work it belongs to and the file's SHA-256.
A checkpoint for other work, or one that does not match its digest, is not
used (the work is redone, with a warning for a damaged file).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
from pathlib import Path
from typing import Any, cast

import numpy as np

from sdkit.engine.faults import one_line
from sdkit.util.files import write_bytes_atomic, write_text_atomic

__all__ = ["save_arrays", "load_arrays", "work_hash"]

log = logging.getLogger("sdkit.calibration")


def work_hash(*parts: object) -> str:
    """SHA-256 of the parts' JSON (sorted keys)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def save_arrays(path: Path, arrays: dict[str, np.ndarray], work: str) -> None:
    """Write ``arrays`` to ``path`` (``.npz``), then its record, each atomically."""
    buffer = io.BytesIO()
    cast(Any, np.savez)(buffer, **arrays)  # numpy's stub types **kwds as allow_pickle
    data = buffer.getvalue()
    record = path.with_suffix(".json")
    with contextlib.suppress(OSError):  # the old record does not describe the new file
        record.unlink(missing_ok=True)
    write_bytes_atomic(path, data)
    write_text_atomic(record, json.dumps({"work": work,
                                          "sha256": hashlib.sha256(data).hexdigest()}) + "\n")


def load_arrays(path: Path, work: str) -> dict[str, np.ndarray] | None:
    """The arrays saved for ``work`` at ``path``, or None (missing, other work, damaged)."""
    record_path = path.with_suffix(".json")
    if not path.is_file() or not record_path.is_file():
        return None
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        if not isinstance(record, dict) or record.get("work") != work:
            return None
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != record.get("sha256"):
            raise ValueError("the file does not match its digest")
        with np.load(io.BytesIO(data), allow_pickle=False) as saved:
            return {name: saved[name] for name in saved.files}
    except (OSError, ValueError) as err:
        log.warning("checkpoint %s cannot be used (%s); it is recomputed.", path,
                    one_line(err))
        return None

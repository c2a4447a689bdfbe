"""Verified records: results kept as JSON data in the cache folder, checked before use.

One store for every cached result that is not a translation: the loop-dominance
summaries (:mod:`sdkit.loops.summary`) and the engine's compiled programs
(:mod:`sdkit.engine.progcache`).  A record is one JSON file in an entry of the
translation cache's folder (:func:`sdkit.model.cache.cache_root`: ``SDKIT_CACHE_DIR``,
never beside the model), built by :func:`sdkit.model.cache.ensure_entry` in a private
staging folder, sealed with its digest manifest and moved into place atomically.
The file holds data only (numbers, strings, lists and objects, tables as
:func:`frame_to_data` writes them): nothing in it is unpickled, and nothing in it is
executed unless the caller's ``parse`` says so after its own checks (the program
cache runs the engine's allow-list audit on a program's source).  Before a record is
used (:func:`cached_record`):

1. :func:`sdkit.model.cache.ensure_entry` checks owners, modes and the manifest of the entry;
2. :func:`sdkit.model.cache.read_verified` hashes the very bytes it returns;
3. the record must name its format and key and carry an HMAC-SHA256 of its payload
   keyed by the key (catches corruption and a record of another entry);
4. the caller's ``parse`` must accept every field's type and shape.

A record failing a check is discarded and computed again, with a
:class:`~sdkit.model.cache.CacheEntryRebuiltWarning`; a cache folder that cannot be
written leaves the result uncached.  The HMAC key is not a secret: like the
manifest it detects corruption and mismatched entries (see docs/security.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from sdkit.errors import SdkitError, UnsafeCacheError
from sdkit.model import cache

__all__ = ["cached_record", "frame_to_data", "frame_from_data", "record_digest", "RECORD_FILE"]

#: The file of a record entry.
RECORD_FILE = "record.json"
_FIELDS = {"format", "key", "payload", "digest"}
_DTYPES = {"float64": (int, float), "int64": (int,), "bool": (bool,), "str": (str,),
           "object": (str,)}
T = TypeVar("T")


def _labels(index: pd.Index) -> dict[str, Any]:
    if isinstance(index, pd.RangeIndex):
        return {"name": index.name, "range": [index.start, index.stop, index.step]}
    return {"name": index.name, **_column(pd.Series(index))}


def _column(series: pd.Series) -> dict[str, Any]:
    dtype = str(series.dtype)
    if dtype not in _DTYPES:
        raise TypeError(f"cannot store a column of dtype {dtype}")
    return {"dtype": dtype, "values": series.tolist()}


def frame_to_data(frame: pd.DataFrame) -> dict[str, Any]:
    """A table as JSON-ready data: index, columns and one typed list per column.

    Columns must be float64, int64, bool or strings; floats survive the JSON round
    trip exactly (``repr``), NaN and infinities included.
    """
    return {"index": _labels(frame.index), "columns": _labels(frame.columns),
            "values": [_column(frame.iloc[:, i]) for i in range(frame.shape[1])]}


def _checked(data: Any, length: int | None = None) -> pd.Series:
    if not isinstance(data, dict) or set(data) - {"name"} != {"dtype", "values"}:
        raise ValueError("a column is not {dtype, values}")
    dtype, values = data["dtype"], data["values"]
    if dtype not in _DTYPES or not isinstance(values, list):
        raise ValueError(f"a column has the unknown dtype {dtype!r}")
    allowed = _DTYPES[dtype]
    if not all(isinstance(v, allowed) and (bool not in allowed) == (not isinstance(v, bool))
               for v in values):
        raise ValueError(f"a {dtype} column holds values of another type")
    if length is not None and len(values) != length:
        raise ValueError("a column's length differs from the index's")
    if dtype == "object":
        return pd.Series(np.array(values, dtype=object), dtype=object)
    return pd.Series(values, dtype=dtype)


def _index(data: Any) -> pd.Index:
    if not isinstance(data, dict) or not isinstance(data.get("name"), str | int | None):
        raise ValueError("an index is not {name, ...}")
    if "range" in data:
        bounds = data["range"]
        if set(data) != {"name", "range"} or not isinstance(bounds, list) or len(bounds) != 3 \
                or not all(isinstance(b, int) and not isinstance(b, bool) for b in bounds) \
                or bounds[2] == 0:
            raise ValueError("a range index is not [start, stop, step]")
        return pd.RangeIndex(*bounds, name=data["name"])
    return pd.Index(_checked(data), name=data["name"])


def frame_from_data(data: Any) -> pd.DataFrame:
    """The table :func:`frame_to_data` wrote; ``ValueError`` for anything else."""
    if not isinstance(data, dict) or set(data) != {"index", "columns", "values"} \
            or not isinstance(data["values"], list):
        raise ValueError("a table is not {index, columns, values}")
    index, columns = _index(data["index"]), _index(data["columns"])
    if len(columns) != len(data["values"]):
        raise ValueError("a table has more or fewer columns than names")
    series = [_checked(v, len(index)) for v in data["values"]]
    frame = pd.concat([s.set_axis(index) for s in series], axis=1) if series else \
        pd.DataFrame(index=index)
    frame.columns = columns
    return frame


def record_digest(key: str, payload: Mapping[str, Any]) -> str:
    """The HMAC-SHA256 of a payload's canonical JSON, keyed by the record's key."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hmac.new(key.encode("ascii"), text.encode("ascii"), hashlib.sha256).hexdigest()


def _read(entry: Path, file: str, fmt: str, key: str,
          parse: Callable[[dict[str, Any]], T]) -> tuple[T | None, str]:
    """Read and check a record: ``(value, "")`` or ``(None, problem)``."""
    raw = cache.read_verified(entry, file)
    if raw is None:
        return None, f"{file} does not match its digest"
    try:
        doc = json.loads(raw.decode("ascii"))
        if not isinstance(doc, dict) or set(doc) != _FIELDS or doc["format"] != fmt \
                or doc["key"] != key or not isinstance(doc["payload"], dict):
            return None, "the record is not one of this model and these inputs"
        if not isinstance(doc["digest"], str) \
                or not hmac.compare_digest(doc["digest"], record_digest(key, doc["payload"])):
            return None, "the record's HMAC does not match"
        return parse(doc["payload"]), ""
    except (ValueError, TypeError, KeyError, RecursionError, SdkitError) as err:
        return None, " ".join(str(err).split())[:200] or type(err).__name__


def cached_record(root: Path, name: str, fmt: str,
                  build: Callable[[], tuple[T, dict[str, Any]]],
                  parse: Callable[[dict[str, Any]], T], *, file: str = RECORD_FILE,
                  what: str = "record", stacklevel: int = 1) -> tuple[T, bool]:
    """A result from its verified record, or computed and stored.

    Parameters
    ----------
    root : Path
        The cache root (:func:`sdkit.model.cache.cache_root`).
    name : str
        The entry's name (a prefix and a key of :func:`sdkit.model.cache.cache_key`); the
        HMAC is keyed by it.
    fmt : str
        The record's format name, checked on read.
    build : callable
        Computes the result: ``(value, payload)``, the payload JSON-ready data.
    parse : callable
        Turns a stored payload back into the value; raises ``ValueError``,
        ``TypeError`` or an :class:`~sdkit.errors.SdkitError` for anything it does
        not accept.
    file : str
        The record's file name in the entry.
    what : str
        What the record holds, for warnings and errors ("ensemble program").
    stacklevel : int
        Stack level of warnings: 1 names the caller of this function, 2 its caller.

    Returns
    -------
    (value, bool)
        The value and whether it came from the cache.

    Raises
    ------
    UnsafeCacheError
        The cache folder or the entry belongs to another user or is open to others,
        or the record keeps failing verification.

    Warns
    -----
    CacheEntryRebuiltWarning
        A stored record failed verification; it was discarded and computed again.
    """
    built: list[T] = []

    def write(folder: Path) -> None:
        value, payload = build()
        built.append(value)
        doc = {"format": fmt, "key": name, "payload": payload,
               "digest": record_digest(name, payload)}
        (folder / file).write_text(json.dumps(doc, ensure_ascii=True) + "\n", encoding="ascii")

    try:
        for attempt in range(2):
            entry = cache.ensure_entry(root, name, write, stacklevel=stacklevel + 2)
            if built:
                return built[0], False
            found, problem = _read(entry, file, fmt, name, parse)
            if found is not None:
                return found, True
            if attempt:
                raise UnsafeCacheError(
                    f"Cached {what} {entry} keeps failing verification ({problem}); "
                    "set SDKIT_CACHE_DIR to a private folder.")
            cache.discard_entry(entry)
            warnings.warn(cache.CacheEntryRebuiltWarning(
                f"Cached {what} {entry} failed verification ({problem}); discarded it and "
                "computed it again."), stacklevel=stacklevel + 1)
    except UnsafeCacheError:
        raise
    except OSError:  # a read-only or full cache folder: compute without storing
        if built:
            return built[0], False
    return build()[0], False

"""The program cache: compiled ensembles kept in memory and on disk, verified before use.

Compiling a model for the engine means parsing it with PySD's translator into the
IR (most of the ~0.7 s; none when the model's own IR, :attr:`sdkit.model.core.Model.ir`,
is of the same bytes) and generating its program; both depend only on the model's
bytes, the tools' versions and the compile inputs (the parameters given per set and
the outputs).  :func:`compiled_for` looks a compilation up by a key of exactly those
(:func:`sdkit.model.cache.cache_key`, the translation cache's keying) in two places:

* **in memory**: a small least-recently-used table held by the model
  (:attr:`sdkit.model.core.Model.programs`, a :class:`ProgramCache`), holding linked
  programs; a hit costs reading and hashing the model file;
* **on disk**: an entry ``ensemble-<key>`` in the translation cache's folder
  (:func:`sdkit.model.cache.cache_root`: ``SDKIT_CACHE_DIR``, never beside the model),
  built in a private staging folder, moved into place atomically and sealed with
  the digest manifest of :func:`sdkit.model.cache.ensure_entry` (owner and mode checks
  included).  The entry is a verified record of :mod:`sdkit.model.records` (the store the
  loop summaries use too): one JSON file with the program's source, its data
  (lookup points and constants as IEEE-754 bits) and :class:`ModelMeta`.

Nothing read from the disk is executed unless it is what sdkit generated: the file
is read with :func:`sdkit.model.cache.read_verified` (digest of the bytes read), must
carry an HMAC-SHA256 of its payload keyed by the entry's name, must parse into the
expected types, and its source must pass the same allow-list audit
(:mod:`sdkit.engine.audit`) as freshly generated code before the audited tree is
compiled.  An entry that fails any check is discarded and rebuilt from the model
with a :class:`~sdkit.model.cache.CacheEntryRebuiltWarning`.  The HMAC key is not a
secret: like the manifest it detects corruption and a mismatched entry, and the
audit is what keeps code out (see docs/security.md and docs/engine.md).
"""

from __future__ import annotations

import functools
import hashlib
import json
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sdkit.engine.assemble import generate, link_program
from sdkit.engine.meta import ModelMeta
from sdkit.engine.program import Program, program_from_data, program_to_data
from sdkit.errors import ModelFileNotFoundError, ParameterValueError
from sdkit.ir import core as I
from sdkit.model import cache, records

__all__ = ["Compiled", "ProgramCache", "compile_ir", "compiled_for", "program_key",
           "ENTRY_PREFIX", "PROGRAM_FILE"]

#: Prefix of program entries in the cache folder (translations have none).
ENTRY_PREFIX = "ensemble-"
#: The file of a program entry.
PROGRAM_FILE = "program.json"
#: Raise when the content of an entry changes meaning; part of every key.
REVISION = 2
_FORMAT = "sdkit-ensemble-2"
#: Modules whose code decides what an entry holds; their source is part of the key.
_GENERATOR = ("sdkit.ir.core", "sdkit.engine.compiler", "sdkit.engine.assemble",
              "sdkit.engine.meta", "sdkit.engine.program")


@dataclass(frozen=True)
class Compiled:
    """A model compiled for one set of parameter columns and outputs."""

    meta: ModelMeta
    program: Program


class ProgramCache:
    """Linked programs by key, least recently used dropped beyond ``size`` (thread-safe)."""

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._items: OrderedDict[str, Compiled] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Compiled | None:
        """The compilation stored under ``key``, or ``None``."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: str, value: Compiled) -> None:
        """Store a compilation."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget every compilation (the disk cache is kept)."""
        with self._lock:
            self._items.clear()


def compile_ir(model: I.ModelIR, params: Sequence[str], outputs: Sequence[str] | None,
               order: Sequence[str] | None = None) -> Compiled:
    """Compile an IR for the given parameters and outputs (nothing is cached).

    Parameters
    ----------
    model : ModelIR
    params : sequence of str
        Constants that vary between sets (real or py names).
    outputs : sequence of str, optional
        Variables to save; default every variable but lookups and control variables,
        in ``order`` (real names, e.g. ``Model.variables``) or else the IR's order.
    """
    meta = ModelMeta.from_ir(model)
    param_names = [meta.py(p) for p in params]
    for name in param_names:
        var = meta.variables[name]
        if var.kind != "constant":
            raise ParameterValueError(
                f"Cannot set {var.name!r}: it is a {var.kind}, and only constants can be "
                "overridden.")
    if outputs is None:
        by_name = model.by_name
        ordered = list(model.variables.values()) if order is None else \
            [by_name[n] for n in order if n in by_name]
        out = [v.py_name for v in ordered if v.kind not in ("lookup", "control")]
    else:
        out = [meta.py(o) for o in outputs]
    return Compiled(meta, link_program(generate(model, param_names, out)))


@functools.cache
def _generator_digest() -> str:
    import importlib

    digest = hashlib.sha256()
    for name in _GENERATOR:
        path = getattr(importlib.import_module(name), "__file__", None)
        digest.update(Path(path).read_bytes() if path else name.encode())
    return digest.hexdigest()[:16]


def program_key(data: bytes, suffix: str, params: Sequence[str],
                outputs: Sequence[str] | None) -> str:
    """The cache key of a compilation: model bytes, versions and compile inputs.

    The time settings are not part of it: a program takes them at run time.
    """
    import pysd

    from sdkit import __version__
    from sdkit.model import guard

    inputs = json.dumps([suffix.lower(), list(params), None if outputs is None else
                         list(outputs)], ensure_ascii=True)
    return cache.cache_key(data, pysd.__version__, f"{__version__}+guard{guard.REVISION}",
                           f"engine{REVISION}+{_generator_digest()}", inputs)


def compiled_for(model: Any, params: Sequence[str], outputs: Sequence[str] | None, *,
                 cache_dir: Any = None, memory: ProgramCache | None = None) -> Compiled:
    """The compilation of a loaded model, from memory, from disk, or built and stored.

    Parameters
    ----------
    model : sdkit.model.core.Model
    params, outputs
        As :func:`compile_ir`.
    cache_dir : path-like, optional
        Cache root (default :func:`sdkit.model.cache.cache_root`).
    memory : ProgramCache, optional
        The in-memory table to look in and fill (default the model's own,
        :attr:`sdkit.model.core.Model.programs`).

    Raises
    ------
    UnsafeCacheError
        The cache folder or the entry belongs to another user or is open to others.

    Warns
    -----
    CacheEntryRebuiltWarning
        A cached program failed verification; it was discarded and compiled again.
    """
    path = Path(model.path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ModelFileNotFoundError(f"Model file not found: {path} ({err.strerror})") from err
    order = list(model.variables)
    key = program_key(data, path.suffix, params, outputs)
    memory = model.programs if memory is None else memory
    hit = memory.get(key)
    if hit is not None:
        return hit

    def build() -> tuple[Compiled, dict[str, Any]]:
        compiled = _compile_bytes(model, data, path, params, outputs, order)
        return compiled, _payload(compiled)

    found, _ = records.cached_record(
        cache.cache_root(cache_dir), ENTRY_PREFIX + key, _FORMAT, build, _from_payload,
        file=PROGRAM_FILE, what="ensemble program", stacklevel=2)
    memory.put(key, found)
    return found


def _compile_bytes(model: Any, data: bytes, path: Path, params: Sequence[str],
                   outputs: Sequence[str] | None, order: list[str]) -> Compiled:
    """Compile the very bytes the key was made of: the model's own IR when the model
    was loaded from them (:attr:`sdkit.model.core.Model.key`), else a parse of a private copy."""
    from sdkit.model.core import SUFFIXES, translation_key
    from sdkit.model.translation import read_abstract

    if getattr(model, "key", None) == translation_key(data):
        return compile_ir(model.ir, params, outputs, order)
    with tempfile.TemporaryDirectory(prefix="sdkit-ensemble-") as folder:
        copy = Path(folder) / f"model{path.suffix}"
        copy.write_bytes(data)
        abstract = read_abstract(copy, SUFFIXES.get(path.suffix.lower(), ""), data=data,
                                 source=path)
    return compile_ir(I.build_ir(abstract), params, outputs, order)


def _payload(compiled: Compiled) -> dict[str, Any]:
    program = compiled.program.compiled
    if program is None:
        raise ValueError("a program without its compiled form cannot be cached")
    return {"meta": compiled.meta.to_data(), "program": program_to_data(program)}


def _from_payload(payload: dict[str, Any]) -> Compiled:
    """A stored program, its source audited before it is compiled (``ValueError``,
    ``TypeError`` or an :class:`~sdkit.errors.SdkitError` for anything else)."""
    if set(payload) != {"meta", "program"}:
        raise ValueError("the record is not a program of this model")
    meta = ModelMeta.from_data(payload["meta"])
    compiled = program_from_data(payload["program"])
    if not all(name in meta.variables for name in (*compiled.params, *compiled.outputs)):
        raise ValueError("the program names variables the model does not have")
    return Compiled(meta, link_program(compiled, refuse_unsafe=False))

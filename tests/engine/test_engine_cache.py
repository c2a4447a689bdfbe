"""The ensemble engine's program cache: hits, invalidation, tampering, placement.

No test here measures time: that the cache is fast is the benchmark's business
(benchmarks/bench_single.py); these tests check that it is right and safe.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import stat
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import control

import sdkit
from sdkit.engine import Ensemble, progcache
from sdkit.engine.assemble import array_pow as _pow
from sdkit.engine.assemble import generate, link_program
from sdkit.engine.audit import ProgramAuditError, audit_program
from sdkit.engine.program import (
    CompiledProgram,
    program_from_data,
    program_to_data,
    scalar_power,
)
from sdkit.engine.runtime import Lookup
from sdkit.errors import UnsupportedConstructError
from sdkit.model import cache

#: Stocks, a lookup, a SMOOTH, integer constants and IF THEN ELSE on state and switches.
STATEFUL_MDL = "{UTF-8}\n" + "\n".join([
    "s = INTEG(growth, 1) ~ dmnl ~ |",
    "growth = s * rate * effect(s) ~ dmnl/year ~ |",
    "rate = 0.1 ~ 1/year [0, 1] ~ |",
    "effect([(0,0)-(10,2)],(0,0.5),(2,1),(10,1.5)) ~ dmnl ~ |",
    "smoothed = SMOOTH(growth, 2) ~ dmnl/year ~ |",
    "gate = IF THEN ELSE(s > 1.5, 2, 1) ~ dmnl ~ |",
    "switch = 1 ~ dmnl [0, 1] ~ |",
    "on = IF THEN ELSE(switch = 1, s, 0) ~ dmnl ~ |",
    "off = IF THEN ELSE(switch = 0, s, 0) ~ dmnl ~ |",
    "k = 3 ~ dmnl ~ |",
]) + control(final=6, dt=0.25, saveper=1)


@pytest.fixture(autouse=True)
def fresh_memory(request: pytest.FixtureRequest) -> Iterator[None]:
    """The session's empowerment model starts each test without programs in memory."""
    shared = request.getfixturevalue("empowerment") \
        if "empowerment" in request.fixturenames else None
    if shared is not None:
        shared.programs.clear()
    yield
    if shared is not None:
        shared.programs.clear()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def stateful(tmp_path: Path) -> sdkit.model.core.Model:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "stateful.mdl").write_text(STATEFUL_MDL, encoding="utf-8")
    return sdkit.load_model(folder / "stateful.mdl")


def _entry(root: Path) -> Path:
    (entry,) = root.glob(progcache.ENTRY_PREFIX + "*")
    return entry


def _assert_same(a, b) -> None:
    assert np.array_equal(a.times, b.times)
    assert list(a.values) == list(b.values)
    assert a.integer == b.integer
    for name in a.values:
        assert np.array_equal(a.values[name], b.values[name], equal_nan=True), name


def _rewrite(entry: Path, doc: dict, *, reseal: bool = True, sign: bool = True) -> None:
    """Write a changed program record as the cache's owner could: a valid HMAC (its key
    is no secret) and, with ``reseal``, a manifest that matches the new bytes."""
    if sign:
        text = json.dumps(doc["payload"], sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        doc["digest"] = hmac.new(doc["key"].encode(), text.encode(), hashlib.sha256).hexdigest()
    data = json.dumps(doc).encode()
    (entry / progcache.PROGRAM_FILE).write_bytes(data)
    if reseal:
        manifest_path = entry / cache.COMPLETE_MARKER
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        manifest["files"][progcache.PROGRAM_FILE] = hashlib.sha256(data).hexdigest()
        manifest_path.write_text(json.dumps(manifest), encoding="utf-8")


def _document(entry: Path) -> dict:
    return json.loads((entry / progcache.PROGRAM_FILE).read_text(encoding="ascii"))


# ----------------------------------------------------------------------- hits
def test_a_cache_hit_gives_bitwise_identical_results(empowerment, root):
    params = pd.DataFrame({"theme shift time": [0.3, 0.45], "downturn switch": [0.0, 1.0]})
    fresh = Ensemble(empowerment, list(params.columns), cache=False)
    built = Ensemble(empowerment, list(params.columns), cache_dir=root)     # compiled, stored
    empowerment.programs.clear()
    from_disk = Ensemble(empowerment, list(params.columns), cache_dir=root)
    from_memory = Ensemble(empowerment, list(params.columns), cache_dir=root)
    assert from_memory.program is from_disk.program
    assert from_disk.program.source == fresh.program.source == built.program.source
    for ensemble in (built, from_disk, from_memory):
        _assert_same(fresh.run(params), ensemble.run(params))
        _assert_same(fresh.run(params.head(1), final_time=2022, time_step=0.0625),
                     ensemble.run(params.head(1), final_time=2022, time_step=0.0625))


def test_a_disk_hit_does_not_parse_the_model(stateful, root, monkeypatch):
    expected = Ensemble(stateful, ["rate"], cache_dir=root).run(pd.DataFrame({"rate": [0.2]}))
    stateful.programs.clear()

    def forbidden(*args, **kwargs):
        raise AssertionError("the model was parsed again")

    monkeypatch.setattr("sdkit.ir.core.build_ir", forbidden)
    monkeypatch.setattr("sdkit.model.translation.read_abstract", forbidden)
    again = Ensemble(stateful, ["rate"], cache_dir=root)
    _assert_same(expected, again.run(pd.DataFrame({"rate": [0.2]})))


def test_the_stored_program_round_trips_exactly(tmp_path):
    path = tmp_path / "na.mdl"
    path.write_text("{UTF-8}\nx = :NA: ~ dmnl ~ |\ny = WITH LOOKUP(Time, ([(0,0)-(9,1)],"
                    "(0,0.1),(3,-0.0),(9,1e-300))) ~ dmnl ~ |\nz = y + 1 ~ dmnl ~ |\n"
                    + control(final=4), encoding="utf-8")
    compiled = Ensemble(sdkit.load_model(path), cache=False).program.compiled
    assert compiled.consts and compiled.tables     # NaN, -0.0 and 1e-300 are stored
    data = json.loads(json.dumps(program_to_data(compiled)))
    again = program_from_data(data)
    assert program_to_data(again) == program_to_data(compiled)
    assert again.source == compiled.source and again.tables == compiled.tables


def test_compile_inputs_key_the_entry_and_time_settings_do_not(stateful, root):
    params = pd.DataFrame({"rate": [0.2]})
    Ensemble(stateful, ["rate"], cache_dir=root).run(params, final_time=3)
    stateful.programs.clear()
    Ensemble(stateful, ["rate"], cache_dir=root).run(params, time_step=0.5)
    assert len(list(root.glob(progcache.ENTRY_PREFIX + "*"))) == 1
    Ensemble(stateful, ["rate"], ["s"], cache_dir=root)
    Ensemble(stateful, [], cache_dir=root)
    assert len(list(root.glob(progcache.ENTRY_PREFIX + "*"))) == 3


def test_a_changed_model_invalidates_the_program(tmp_path, root):
    path = tmp_path / "grow.mdl"
    path.write_text(STATEFUL_MDL, encoding="utf-8")
    before = Ensemble(sdkit.load_model(path), cache_dir=root).run()
    path.write_text(STATEFUL_MDL.replace("rate = 0.1", "rate = 0.2"), encoding="utf-8")
    model = sdkit.load_model(path)
    after = Ensemble(model, cache_dir=root).run()
    assert not np.array_equal(before["s"], after["s"])
    _assert_same(after, Ensemble(model, cache=False).run())
    assert len(list(root.glob(progcache.ENTRY_PREFIX + "*"))) == 2
    path.write_text(STATEFUL_MDL, encoding="utf-8")      # back: the first entry again
    _assert_same(before, Ensemble(sdkit.load_model(path), cache_dir=root).run())
    assert len(list(root.glob(progcache.ENTRY_PREFIX + "*"))) == 2


def test_the_cache_is_not_beside_the_model(stateful, root):
    Ensemble(stateful, cache_dir=root)
    stateful.programs.clear()
    Ensemble(stateful)                                     # the default root: SDKIT_CACHE_DIR
    assert sorted(p.name for p in stateful.path.parent.iterdir()) == ["stateful.mdl"]
    entry = _entry(root)
    assert stat.S_IMODE(os.lstat(entry).st_mode) == 0o700
    assert stat.S_IMODE(os.lstat(entry / progcache.PROGRAM_FILE).st_mode) == 0o600
    assert cache.verify_entry(entry) is None
    default = cache.cache_root()
    assert default != stateful.path.parent
    assert list(default.glob(progcache.ENTRY_PREFIX + "*"))


def test_an_unwritable_cache_compiles_in_memory(stateful, root, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(cache, "ensure_entry", refuse)
    first = Ensemble(stateful, cache_dir=root)
    assert Ensemble(stateful, cache_dir=root).program is first.program
    assert not root.exists()


# ----------------------------------------------------------------------- tampering
PAYLOADS = {
    "open": "    v_s = open({marker!r}, 'w')\n",
    "import": "    v_s = __import__('os').system('touch ' + {marker!r})\n",
    "attribute": "    v_s = np.__builtins__\n",
    "runtime-escape": "    v_s = _rt.np.save({marker!r}, 1)\n",
    "loop": "    for _ in [open({marker!r}, 'w')]:\n        pass\n",
    "lambda": "    v_s = (lambda: open({marker!r}, 'w'))()\n",
}


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_a_tampered_program_with_a_payload_is_recompiled_not_run(
        stateful, root, tmp_path, payload):
    """The owner-level attacker: new source, a valid HMAC and a resealed manifest.
    Only the allow-list audit stands between the file and exec."""
    expected = Ensemble(stateful, cache=False).run()
    Ensemble(stateful, cache_dir=root)
    marker = tmp_path / "MARKER"
    entry = _entry(root)
    doc = _document(entry)
    head, body = doc["payload"]["program"]["source"].split("\n", 1)
    program = doc["payload"]["program"]
    program["source"] = head + "\n" + PAYLOADS[payload].format(marker=str(marker)) + body
    _rewrite(entry, doc)
    stateful.programs.clear()
    with pytest.warns(cache.CacheEntryRebuiltWarning, match="allow-list"):
        again = Ensemble(stateful, cache_dir=root)
    _assert_same(expected, again.run())
    assert not marker.exists()
    assert _document(_entry(root))["payload"]["program"]["source"] == again.program.source
    assert payload not in again.program.source


def test_module_level_code_in_a_program_is_refused(stateful, root, tmp_path):
    Ensemble(stateful, cache_dir=root)
    marker = tmp_path / "MARKER"
    entry = _entry(root)
    doc = _document(entry)
    program = doc["payload"]["program"]
    program["source"] = f"open({str(marker)!r}, 'w').close()\n" + program["source"]
    _rewrite(entry, doc)
    stateful.programs.clear()
    with pytest.warns(cache.CacheEntryRebuiltWarning, match="allow-list"):
        Ensemble(stateful, cache_dir=root).run()
    assert not marker.exists()


@pytest.mark.parametrize("change", ["table-name", "const-name", "unsigned", "other-model"])
def test_a_tampered_record_is_refused(stateful, root, change):
    Ensemble(stateful, cache_dir=root)
    entry = _entry(root)
    doc = _document(entry)
    if change == "table-name":   # a table object bound to a name the code trusts
        tables = doc["payload"]["program"]["tables"]
        tables["np"] = next(iter(tables.values()))
    elif change == "const-name":
        doc["payload"]["program"]["consts"]["_rt"] = "0" * 16
    elif change == "unsigned":
        doc["payload"]["program"]["source"] += "    pass\n"
    else:
        doc["key"] = "0" * 64
    _rewrite(entry, doc, sign=change != "unsigned")
    stateful.programs.clear()
    with pytest.warns(cache.CacheEntryRebuiltWarning, match="failed verification"):
        again = Ensemble(stateful, cache_dir=root)
    _assert_same(Ensemble(stateful, cache=False).run(), again.run())


@pytest.mark.parametrize("content", [b"", b"{not json", b"[]", b'{"format": 1}', b"\xff\xfe"])
def test_a_corrupt_program_file_is_recompiled(stateful, root, content):
    Ensemble(stateful, cache_dir=root)
    entry = _entry(root)
    (entry / progcache.PROGRAM_FILE).write_bytes(content)
    stateful.programs.clear()
    with pytest.warns(cache.CacheEntryRebuiltWarning, match="program.json changed"):
        again = Ensemble(stateful, cache_dir=root)     # the manifest's digest catches it
    _assert_same(Ensemble(stateful, cache=False).run(), again.run())
    manifest = json.loads((entry / cache.COMPLETE_MARKER).read_text(encoding="utf-8"))
    manifest["files"][progcache.PROGRAM_FILE] = hashlib.sha256(content).hexdigest()
    (entry / progcache.PROGRAM_FILE).write_bytes(content)
    (entry / cache.COMPLETE_MARKER).write_text(json.dumps(manifest), encoding="utf-8")
    stateful.programs.clear()
    with pytest.warns(cache.CacheEntryRebuiltWarning, match="failed verification"):
        Ensemble(stateful, cache_dir=root)             # resealed: the record checks catch it


def test_a_clean_entry_is_used_without_warning(stateful, root):
    Ensemble(stateful, cache_dir=root)
    stateful.programs.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Ensemble(stateful, cache_dir=root).run()


# ----------------------------------------------------------------------- the allow-list
def test_generated_programs_pass_the_audit(empowerment, stateful):
    for model in (empowerment, stateful):
        audit_program(Ensemble(model, cache=False).program.source)


@pytest.mark.parametrize("source", [
    "import os\n",
    "def _simulate(P, N, times, save, dt, record):\n    v_x = eval('1')\n",
    "def _simulate(P, N, times, save, dt, record):\n    v_x = P.__class__\n",
    "def _simulate(P, N, times, save, dt, record):\n    np = 1\n",
    "def _simulate(P, N, times, save, dt, record):\n    v_x = f'{P}'\n",
    "def _simulate(P, N, times, save, dt, record):\n    for k in range(10**9):\n        pass\n",
    "def _simulate(P, N, times, save, dt, record):\n    v_x = [y for y in times]\n",
    "def _simulate(P, N, times, save, dt, record, extra=print):\n    pass\n",
    "@print\ndef _simulate(P, N, times, save, dt, record):\n    pass\n",
    "def _simulate(P, N, times, save, dt, record):\n    v_x = v_y(1)\n",
    "def _simulate(P, N, times, save, dt, record):\n    v_x = \uff4f\uff50\uff45\uff4e('x', 'w')\n",
])
def test_the_audit_refuses_code_the_generator_does_not_write(source):
    with pytest.raises(ProgramAuditError):
        audit_program(source)


def test_generated_code_outside_the_allow_list_is_refused_like_a_construct():
    bad = CompiledProgram("import os\n", (), ())
    with pytest.raises(UnsupportedConstructError, match="allow-list"):
        link_program(bad)


# ----------------------------------------------------------------------- one set on scalars
def test_one_set_on_scalars_equals_the_array_path(stateful, empowerment):
    for model, params in ((stateful, pd.DataFrame({"rate": [0.3]})),
                          (empowerment, pd.DataFrame({"theme shift time": [0.35]}))):
        ensemble = Ensemble(model, list(params.columns))
        on_scalars = ensemble.run(params)
        ensemble.scalar_single = False
        on_arrays = ensemble.run(params)
        assert np.array_equal(on_scalars.times, on_arrays.times)
        for name in on_arrays.values:
            assert np.array_equal(on_scalars.values[name], on_arrays.values[name],
                                  equal_nan=True), name
        # which outputs are integers follows PySD on the scalar path (below)
        pd.testing.assert_frame_equal(on_scalars.frame(0), on_arrays.frame(0),
                                      check_dtype=False)


def test_the_scalar_paths_integer_outputs_are_pysds(stateful):
    # PySD saves a column as int64 when every saved value is a Python int: an IF THEN
    # ELSE choosing between integer literals (gate) too, which the array path (np.where)
    # cannot see
    result = Ensemble(stateful).run()
    assert result.integer == {"k", "off", "switch", "gate"}
    pysd = stateful.run()
    assert {c for c in pysd.columns if pysd[c].dtype.kind == "i"} == result.integer
    pd.testing.assert_frame_equal(result.frame(0), pysd)


def test_the_scalar_path_hands_python_scalar_errors_to_the_array_path(tmp_path):
    path = tmp_path / "divide.mdl"
    path.write_text("{UTF-8}\ns = INTEG(1, 1) ~ dmnl ~ |\n"
                    "gate = IF THEN ELSE(s > 0, 0, 1) ~ dmnl ~ |\n"
                    "y = 1 / gate ~ dmnl ~ |\n" + control(final=3), encoding="utf-8")
    ensemble = Ensemble(sdkit.load_model(path))
    on_scalars = ensemble.run()                 # 1 / 0 raises on Python ints: arrays run
    ensemble.scalar_single = False
    _assert_same(on_scalars, ensemble.run())
    assert np.isinf(on_scalars["y"]).all()


@pytest.mark.parametrize("interpolation", ["interpolate", "extrapolate", "hold_backward"])
def test_a_lookup_at_one_point_equals_the_array_formula(interpolation):
    rng = np.random.default_rng(3)
    xs = (0.0, 0.5, 2.0, 3.25, 10.0)
    table = Lookup("t", xs, (1.0, -2.0, 0.3, 7.0, 7.5), interpolation)
    points = np.concatenate([rng.uniform(-5, 15, 2_000), xs, [np.nan, np.inf, -np.inf, -0.0]])
    expected = table(points)
    got = np.array([table.at(np.float64(x)) for x in points])
    assert np.array_equal(got, expected, equal_nan=True)
    assert type(table.at(np.float64(1.0))) is float
    assert table.at(2) == table(np.array([2.0]))[0]


@pytest.mark.parametrize("exponent", [0.5, 2.0, -1.0, 3.0, 4, 0.25])
def test_scalar_power_is_the_c_library_pow(exponent):
    base = np.random.default_rng(2).uniform(0.01, 1000, 5_000)
    got = [scalar_power(b, exponent) for b in base.tolist()]
    assert np.array_equal(got, [math.pow(b, exponent) for b in base.tolist()])
    assert np.array_equal(got, _pow(base, exponent))
    assert np.array_equal(got, [scalar_power(np.float64(b), exponent) for b in base])


def test_a_complex_power_leaves_the_scalar_path():
    with pytest.raises(Exception, match="fractional power"):
        scalar_power(-8.0, 1 / 3)


def test_generate_is_deterministic(empowerment):
    ir = sdkit.ir.core.build_ir(empowerment)
    names = [v.py_name for v in ir.variables.values() if v.kind not in ("lookup", "control")]
    assert generate(ir, [], names) == generate(ir, [], names)


# ----------------------------------------------------------------------- sdkit.model.cache
# additions
def test_read_verified_checks_the_bytes_it_returns(tmp_path):
    def build(folder: Path) -> None:
        (folder / "data.json").write_text("{}", encoding="utf-8")

    entry = cache.ensure_entry(tmp_path / "cache", "k" * 8, build)
    assert cache.read_verified(entry, "data.json") == b"{}"
    assert cache.read_verified(entry, "missing.json") is None
    (entry / "data.json").write_text("[]", encoding="utf-8")
    assert cache.read_verified(entry, "data.json") is None
    (entry / "data.json").unlink()
    (entry / "data.json").symlink_to(tmp_path / "elsewhere.json")
    (tmp_path / "elsewhere.json").write_text("{}", encoding="utf-8")
    assert cache.read_verified(entry, "data.json") is None     # links are not followed
    (entry / cache.COMPLETE_MARKER).write_text("{}", encoding="utf-8")
    assert cache.read_verified(entry, "data.json") is None
    cache.discard_entry(entry)
    assert not entry.exists()
    assert not list((tmp_path / "cache").iterdir())

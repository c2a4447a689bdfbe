"""One model representation: the Model holds its IR and its compiled programs."""

from __future__ import annotations

from pathlib import Path

import pytest

import sdkit
from sdkit.engine import Ensemble, progcache
from sdkit.loops import causal_graph, find_loops


def test_the_model_builds_its_ir_once(tiny: sdkit.model.Model) -> None:
    first = tiny.ir
    assert tiny.ir is first
    assert {v.name for v in first.variables.values()} == set(tiny.variables)


def test_loops_engine_and_checks_take_the_models_ir(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from test_loop_families import CROWDING, write

    model = sdkit.load_model(write(tmp_path, "crowding", CROWDING))
    ir = model.ir

    def forbidden(*args, **kwargs):
        raise AssertionError("the model file was parsed again")

    monkeypatch.setattr("sdkit.ir.build_ir", forbidden)
    monkeypatch.setattr("sdkit.loops.graph.build_ir", forbidden)
    monkeypatch.setattr("sdkit.translation.read_abstract", forbidden)
    loops = find_loops(model, model.run())
    assert len(loops.loops) == 3
    assert Ensemble(model, cache=False).ir is ir
    assert set(causal_graph(ir).edges) >= {("Stock", "inflow"), ("effect", "inflow")}


def test_the_dependency_graph_feeds_the_causal_graph(tiny: sdkit.model.Model) -> None:
    deps = tiny.ir.dependencies(hidden=True)
    graph = causal_graph(tiny.ir)
    skip = {py for py, v in tiny.ir.variables.items()
            if v.kind in ("constant", "lookup", "control")} | {"time"}
    expected = {(tiny.ir.variables[s].name if s in tiny.ir.variables else s,
                 tiny.ir.variables[t].name if t in tiny.ir.variables else t)
                for t, sources in deps.items() if t not in skip for s in sources - skip}
    assert set(graph.edges) == expected


def test_compiled_programs_live_on_the_model_not_in_the_module(tiny_path: Path,
                                                                tmp_path: Path) -> None:
    assert not hasattr(progcache, "MEMORY")
    one, two = sdkit.load_model(tiny_path), sdkit.load_model(tiny_path)
    first = Ensemble(one, cache_dir=tmp_path)
    assert Ensemble(one, cache_dir=tmp_path).program is first.program   # the model's memory
    assert Ensemble(two, cache_dir=tmp_path).program is not first.program  # read from disk
    one.programs.clear()
    assert Ensemble(one, cache_dir=tmp_path).program is not first.program

"""One model representation: the Model holds its IR and its compiled programs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sdkit
from sdkit.engine import Ensemble, progcache
from sdkit.loops import causal_graph


def test_the_model_builds_its_ir_once(tiny: sdkit.model.core.Model) -> None:
    first = tiny.ir
    assert tiny.ir is first
    assert {v.name for v in first.variables.values()} == set(tiny.variables)


def test_the_dependency_graph_feeds_the_causal_graph(tiny: sdkit.model.core.Model) -> None:
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


# ------------------------------------------------------------- one reading of the docs
QUOTED_MDL = """\
{UTF-8}
Stock= INTEG (
	inflow,
		10)
	~	"$ widgets" [0,1000]
	~	A stock "in quotes", with a backslash \\ and 'single' ones.
	|

inflow=
	Stock * rate
	~	"$ widgets"/Year [0,?]
	~	The "inflow": Stock times [rate].
	|

rate=
	0.1
	~	1/Year [0,1,0.01]
	~		A rate "quoted" twice "here".
	|

INITIAL TIME  = 0
	~	Year
	~	The initial time for the simulation.
	|

FINAL TIME  = 10
	~	Year
	~	The final time for the simulation.
	|

SAVEPER  = TIME STEP
	~	Year [0,?]
	~	The frequency with which output is stored.
	|

TIME STEP  = 1
	~	Year [0,?]
	~	The time step for the simulation.
	|
"""


@pytest.fixture
def quoted(tmp_path: Path) -> Path:
    path = tmp_path / "model" / "quoted.mdl"
    path.parent.mkdir()
    path.write_text(QUOTED_MDL, encoding="utf-8")
    return path


def _metadata(var) -> tuple:
    return (var.name, var.py_name, var.kind, var.units, var.limits, var.comment)


@pytest.mark.parametrize("fresh", [True, False], ids=["translated", "from-cache"])
def test_the_variables_and_the_ir_read_the_same_text(quoted: Path, tmp_path: Path,
                                                     fresh: bool) -> None:
    cache_dir = tmp_path / "cache"
    if not fresh:
        sdkit.load_model(quoted, cache_dir=cache_dir)
    model = sdkit.load_model(quoted, cache_dir=cache_dir)
    stock, inflow, rate = (model.variable(n) for n in ("Stock", "inflow", "rate"))
    # verbatim: PySD's own (inert) copy has the double quotes replaced
    assert stock.comment == 'A stock "in quotes", with a backslash \\ and \'single\' ones.'
    assert (stock.units, stock.limits) == ('"$ widgets"', (0.0, 1000.0))
    assert (inflow.units, inflow.limits, inflow.kind) == ('"$ widgets"/Year', (0.0, None), "flow")
    assert inflow.comment == 'The "inflow": Stock times [rate].'
    assert (rate.units, rate.limits, rate.comment) == \
        ("1/Year", (0.0, 1.0), 'A rate "quoted" twice "here".')
    ir = model.ir
    assert {_metadata(v) for v in ir.variables.values()} == \
        {_metadata(v) for v in model.variables.values()}
    assert all(isinstance(v, sdkit.model.core.Variable) for v in ir.variables.values())


def test_the_shipped_models_variables_and_ir_agree(empowerment: sdkit.model.core.Model) -> None:
    assert {_metadata(v) for v in empowerment.ir.variables.values()} == \
        {_metadata(v) for v in empowerment.variables.values()}


def test_a_fresh_translation_gives_the_model_the_ir_of_its_parse(
        quoted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sdkit.ir.core import build_ir

    cache_dir = tmp_path / "cache"
    parses: list[Path] = []
    real = sdkit.model.translation.read_abstract

    def counted(path, *args, **kwargs):
        parses.append(Path(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(sdkit.model.translation, "read_abstract", counted)
    model = sdkit.load_model(quoted, cache_dir=cache_dir)
    assert len(parses) == 1  # the translation's
    ir = model.ir
    run = Ensemble(model, ["rate"], cache_dir=cache_dir).run(pd.DataFrame({"rate": [0.1, 0.2]}))
    assert len(parses) == 1  # the IR and the engine's program reuse that parse
    assert ir == build_ir(quoted) and ir.path == quoted and ir.format == "vensim"
    reference = model.run({"rate": 0.2}, engine="pysd")
    assert np.array_equal(run["Stock"][1], reference["Stock"].to_numpy())
    again = sdkit.load_model(quoted, cache_dir=cache_dir)  # from the cache: its stored IR
    assert len(parses) == 2 and again.ir == ir and len(parses) == 2  # (2: build_ir above)


def test_the_engine_parses_a_file_changed_since_the_model_was_loaded(
        quoted: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    model = sdkit.load_model(quoted, cache_dir=cache_dir)
    assert model.ir.variables["rate"].equation == sdkit.ir.core.Num(0.1)
    quoted.write_text(QUOTED_MDL.replace("\t0.1\n", "\t0.3\n"), encoding="utf-8")
    compiled = progcache.compiled_for(model, [], None, cache_dir=cache_dir)
    fresh = progcache.compile_ir(sdkit.ir.core.build_ir(quoted), [], None)
    assert compiled.program.source == fresh.program.source
    assert "0.3" in compiled.program.source and "0.1" not in compiled.program.source

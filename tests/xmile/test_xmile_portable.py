"""Exported graphical functions are portable: PySD and pysimlin run the XMILE like the .mdl.

Graphical functions are written in XMILE 1.0's embedded form (an ``<aux>`` whose
``<eqn>`` is the input and whose ``<gf>`` is the table), because pysimlin refuses
a ``<gf>`` called by name.  Each exported model is run through PySD and through
pysimlin (the Simlin engine, Euler with the model's dt, every dt saved) and every
variable of the ``.mdl`` run (through sdkit) must agree within relative 1e-9 at
every saved time of the ``.mdl`` run.

A value below a millionth of its variable's largest magnitude over the run is
compared with that millionth instead of itself (:data:`PEAK_FLOOR`), so the floor
is 1e-15 of the variable's scale, about five units in the last place. The reason
is cancellation, not the export: the empowerment model's ``ecology technology
resolution = 1 - EXP(-x)`` has x near 8e-11 in 2017, and one ulp of difference in
``EXP`` (numpy's AVX-512 ``exp``, which PySD uses, is not correctly rounded; the
Simlin engine's is) becomes a relative difference of 1.4e-6 in a value of 7.8e-11
(ecological empowerment and everything computed from it, while it is that small).
"""

from __future__ import annotations

import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import skip_or_fail, write_model

import sdkit
from sdkit.errors import UnsupportedConstructError
from sdkit.xmile.check import equation_names, xmile_problems
from sdkit.xmile.writer import NAMESPACE, export_xmile

REPO = Path(__file__).resolve().parents[2]
NS = {"x": NAMESPACE}
RTOL = 1e-9
#: Values smaller than this share of their variable's peak are compared with it.
PEAK_FLOOR = 1e-6
LOOKUP_SUITE = ("lookups", "lookups_funcnames", "lookups_inline", "lookups_inline_spaces",
                "lookups_with_expr", "lookups_without_range")

#: One lookup called with several inputs (one of them twice, one nested, one in a
#: SMOOTH, one in a stock), an unused lookup, WITH LOOKUP inside an expression and as
#: a stock's rate and initial value, and a variable named like an embedded auxiliary.
TWO_USES_MDL = """{UTF-8}
effect(
\t[(0,0)-(10,2)],(0,0.5),(2,0.8),(5,1.2),(10,1.5))
\t~\tdmnl
\t~\tEffect of a level.
\t|

shape(
\t(0,0),(1,1),(3,4))
\t~\tdmnl
\t~\t|

unused table(
\t(0,1),(1,2))
\t~\tdmnl
\t~\t|

effect lookup 1 = 7
\t~\tdmnl
\t~\tA constant named like the first embedded auxiliary of effect.
\t|

level a = Time / 2
\t~\tdmnl
\t~\t|

level b = 12 - Time
\t~\tdmnl
\t~\t|

first = effect(level a) * effect(level b) + effect(level a)
\t~\tdmnl
\t~\t|

second = effect(shape(level a / 4)) + effect lookup 1
\t~\tdmnl
\t~\t|

smoothed = SMOOTH(effect(Time - 3), 2)
\t~\tdmnl
\t~\t|

inline sum = 1 + WITH LOOKUP(level b, ((0,0),(5,1),(10,3)))
\t~\tdmnl
\t~\t|

Stock = INTEG(effect(Stock / 10) - 0.1 * Stock, effect(level b))
\t~\tdmnl
\t~\t|

Tank = INTEG(WITH LOOKUP(Time, ((0,0),(12,1))), WITH LOOKUP(level a, ((0,1),(6,2))))
\t~\tdmnl
\t~\t|
""" + "".join(f"\n{name} = {value}\n\t~\tyear\n\t~\t|" for name, value in (
    ("FINAL TIME", 12), ("INITIAL TIME", 0), ("SAVEPER", 0.5), ("TIME STEP", 0.125))) + "\n"


def _key(name: str) -> str:
    return " ".join(name.replace("_", " ").split()).lower()


@pytest.fixture(scope="module")
def simlin():
    """The pysimlin package (skip, or fail under SDKIT_REQUIRE_ALL=1, when missing)."""
    try:
        import simlin
    except ImportError:
        skip_or_fail("pysimlin is not installed (pip install pysimlin==0.8.5)")
    return simlin


def simlin_run(simlin, path: Path) -> pd.DataFrame:
    """Run an XMILE file through pysimlin; refuse a model it reports errors for."""
    model = simlin.load(path)
    errors = [e.message for e in model.project.get_errors()
              if e.severity == simlin.ErrorSeverity.ERROR]
    assert not errors, errors
    assert model.time_spec.dt == float(ET.parse(path).getroot().find(
        "x:sim_specs/x:dt", NS).text)
    return model.run(analyze_loops=False).results


def max_relative_difference(reference: pd.DataFrame, other: pd.DataFrame) -> float:
    """Largest relative difference over the reference's variables and saved times.

    Relative to each value, or to :data:`PEAK_FLOOR` times its variable's peak
    when the value is smaller.

    ``other`` may save more times (XMILE runs save every dt) and name columns
    with underscores and another case (pysimlin); every reference variable and
    time must be found in it.
    """
    columns = {_key(c): c for c in other.columns}
    missing = [c for c in reference.columns if _key(c) not in columns]
    assert not missing, f"missing from the XMILE run: {missing}"
    times = other.index.to_numpy(float)
    rows = np.searchsorted(times, reference.index.to_numpy(float) - 1e-9)
    assert np.allclose(times[rows], reference.index, rtol=0, atol=1e-9)
    ours = other.iloc[rows][[columns[_key(c)] for c in reference.columns]].to_numpy(float)
    theirs = reference.to_numpy(float)
    peak = np.abs(theirs).max(axis=0, initial=0.0)
    scale = np.maximum(np.abs(theirs), np.maximum(PEAK_FLOOR * peak, np.finfo(float).tiny))
    return float(np.max(np.where(ours == theirs, 0.0, np.abs(ours - theirs) / scale)))


def assert_portable(mdl: Path, reference: pd.DataFrame, xmile: Path, simlin) -> dict[str, float]:
    """Export ``mdl`` to ``xmile``; PySD and pysimlin must both reproduce ``reference``."""
    export_xmile(mdl, xmile)
    assert xmile_problems(xmile) == []
    assert not called_graphical_functions(xmile)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PySD warns when a lookup input leaves its range
        pysd_run = sdkit.load_model(xmile, cache_dir=xmile.parent / "cache").run()
    found = {"PySD": max_relative_difference(reference, pysd_run),
             "pysimlin": max_relative_difference(reference, simlin_run(simlin, xmile))}
    assert max(found.values()) <= RTOL, found
    return found


def called_graphical_functions(path: Path) -> set[str]:
    """Names of standalone <gf> elements that an equation calls (not portable)."""
    variables = ET.parse(path).getroot().find("x:model/x:variables", NS)
    standalone = {_key(gf.get("name")) for gf in variables.findall("x:gf", NS)}
    calls = set()
    for eqn in variables.iter(f"{{{NAMESPACE}}}eqn"):
        calls |= equation_names(eqn.text or "")[1]
    return calls & standalone


def test_empowerment_runs_alike_in_pysd_and_pysimlin(tmp_path: Path, baseline, simlin) -> None:
    found = assert_portable(REPO / "models" / "empowerment.mdl", baseline,
                            tmp_path / "empowerment.xmile", simlin)
    print(f"\nempowerment: max relative difference {found}")


@pytest.fixture(scope="module")
def two_uses(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    path = write_model(tmp_path_factory.mktemp("two"), "two.mdl", TWO_USES_MDL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # inputs leave the tables' ranges on purpose
        return path, sdkit.load_model(path).run()


def test_lookup_used_with_several_inputs_runs_alike(tmp_path: Path, two_uses, simlin) -> None:
    path, reference = two_uses
    found = assert_portable(path, reference, tmp_path / "two.xmile", simlin)
    print(f"\nlookups used several times: max relative difference {found}")


def test_each_distinct_input_gets_one_embedded_auxiliary(two_uses) -> None:
    root = ET.fromstring(export_xmile(two_uses[0]).encode())
    variables = root.find("x:model/x:variables", NS)

    def eqn(name: str) -> str:
        return variables.find(f"*[@name='{name}']/x:eqn", NS).text

    # effect lookup 1 is taken by the model, so the numbering skips it.
    embedded = {aux.get("name"): aux.find("x:eqn", NS).text
                for aux in variables.findall("x:aux[x:gf]", NS)}
    assert embedded == {"effect lookup 2": "level_a", "effect lookup 3": "level_b",
                        "effect lookup 4": "shape", "effect lookup 5": "TIME - 3",
                        "effect lookup 6": "Stock / 10", "shape": "level_a / 4",
                        "inline sum lookup": "level_b", "Tank lookup": "level_a",
                        "Tank lookup 2": "TIME"}
    assert eqn("first") == "effect_lookup_2 * effect_lookup_3 + effect_lookup_2"
    assert eqn("second") == "effect_lookup_4 + effect_lookup_1"
    assert eqn("effect lookup 1") == "7"
    assert eqn("smoothed") == "SMTH1(effect_lookup_5, 2, effect_lookup_5)"
    assert eqn("inline sum") == "1 + inline_sum_lookup"
    assert eqn("Stock") == "effect_lookup_3"
    assert (eqn("Tank"), eqn("Tank net flow")) == ("Tank_lookup", "Tank_lookup_2")
    gf = variables.find("x:aux[@name='effect lookup 2']/x:gf", NS)
    assert gf.find("x:xpts", NS).text == "0.0,2.0,5.0,10.0"
    assert gf.find("x:ypts", NS).text == "0.5,0.8,1.2,1.5"
    assert gf.find("x:yscale", NS).attrib == {"min": "0.0", "max": "2.0"}
    assert "Effect of a level." in variables.find(
        "x:aux[@name='effect lookup 2']/x:doc", NS).text
    # A lookup nothing calls stays a standalone table; none is named "effect".
    assert [g.get("name") for g in variables.findall("x:gf", NS)] == ["unused table"]
    assert variables.find("*[@name='effect']", NS) is None


def test_export_is_deterministic(two_uses) -> None:
    assert export_xmile(two_uses[0]) == export_xmile(two_uses[0])


@pytest.mark.slow
@pytest.mark.parametrize("folder", LOOKUP_SUITE)
def test_suite_lookup_models_run_alike(folder: str, conformance: Path, tmp_path: Path,
                                       simlin) -> None:
    (mdl,) = sorted((conformance / "tests" / folder).glob("*.mdl"))
    reference = sdkit.load_model(mdl, cache_dir=tmp_path / "cache").run()
    assert_portable(mdl, reference, tmp_path / (mdl.stem + ".xmile"), simlin)


_XMILE = """<?xml version="1.0" encoding="UTF-8"?>
<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
  <header><vendor>test</vendor><product version="1">test</product></header>
  <sim_specs method="Euler"><start>0</start><stop>4</stop><dt>0.5</dt></sim_specs>
  <model><variables>{}</variables></model>
</xmile>
"""
_TABLE = "<xpts>0,1,3</xpts><ypts>0,1,2</ypts>"


@pytest.mark.parametrize("kind, construct", [("discrete", "hold_backward"),
                                             ("extrapolate", "extrapolate")])
def test_called_non_continuous_lookups_are_refused(tmp_path: Path, kind: str,
                                                   construct: str) -> None:
    path = write_model(tmp_path, "model.xmile", _XMILE.format(
        f'<gf name="table" type="{kind}">{_TABLE}</gf>'
        '<aux name="out"><eqn>table(TIME - 1)</eqn></aux>'))
    with pytest.raises(UnsupportedConstructError) as caught:
        export_xmile(path)
    assert caught.value.construct == construct and caught.value.variable == "table"
    assert f"the {kind} graphical function 'table'" in str(caught.value)


def test_uncalled_lookup_keeps_its_type(tmp_path: Path) -> None:
    path = write_model(tmp_path, "model.xmile", _XMILE.format(
        f'<gf name="table" type="discrete">{_TABLE}</gf><aux name="out"><eqn>TIME</eqn></aux>'))
    root = ET.fromstring(export_xmile(path).encode())
    assert root.find("x:model/x:variables/x:gf[@name='table']", NS).get("type") == "discrete"


def test_readers_ignore_the_type_of_an_embedded_graphical_function(tmp_path: Path,
                                                                   simlin) -> None:
    """Why called discrete and extrapolate lookups are refused (pysimlin 0.8.5, PySD 3.14).

    Both readers evaluate an embedded ``<gf type="discrete">`` or ``"extrapolate"``
    as continuous; if this test fails, a reader has learnt the types and the
    refusal can be lifted for it.
    """
    auxes = "".join(f'<aux name="{kind}"><eqn>TIME - 1</eqn><gf type="{kind}">{_TABLE}</gf></aux>'
                    for kind in ("discrete", "extrapolate"))
    path = write_model(tmp_path, "model.xmile", _XMILE.format(auxes))
    continuous = np.interp(np.arange(0, 4.5, 0.5) - 1, [0, 1, 3], [0, 1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pysd_run = sdkit.load_model(path, cache_dir=tmp_path / "cache").run()
    simlin_results = simlin_run(simlin, path)
    for kind in ("discrete", "extrapolate"):
        np.testing.assert_array_equal(pysd_run[kind].to_numpy(), continuous)
        np.testing.assert_array_equal(simlin_results[kind].to_numpy(), continuous)

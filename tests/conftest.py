"""Shared fixtures: an isolated translation cache, the conformance suite, small models."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

import sdkit
from sdkit.analysis.stages import detect_stages
from sdkit.model.card import ModelCard, load_card
from sdkit.testing import conformance_root
from sdkit.testing import reference_modes_path as find_reference_modes

REPO = Path(__file__).resolve().parents[1]
EMPOWERMENT_MDL = REPO / "models" / "empowerment.mdl"

#: A small Vensim model with documented ranges, units and comments.
TINY_MDL = """{UTF-8}
Population= INTEG (
\tbirths - deaths,
\t\tinitial population)
\t~\tpeople [0,?]
\t~\tNumber of people alive.
\t|

births=
\tPopulation * birth rate * policy effect(policy level)
\t~\tpeople/year
\t~\tPeople born each year.
\t|

deaths=
\tPopulation / lifetime
\t~\tpeople/year
\t~\tPeople who die each year.
\t|

net growth=
\tbirths - deaths
\t~\tpeople/year
\t~\tChange of the population per year; no stock uses it.
\t|

birth rate=
\t0.03
\t~\t1/year [0,0.1]
\t~\tFraction of the population born each year.
\t|

lifetime=
\t70
\t~\tyear [1,120]
\t~\tAverage lifetime.
\t|

policy level=
\t5
\t~\tdmnl [0,10]
\t~\tPolicy intensity on a scale from 0 to 10.
\t|

initial population=
\t1000
\t~\tpeople
\t~\tPopulation at the start.
\t|

policy effect(
\t[(0,0)-(10,2)],(0,0.5),(10,1.5))
\t~\tdmnl
\t~\tEffect of the policy level on births.
\t|

********************************************************
\t.Control
********************************************************~
\t\tSimulation Control Parameters
\t|

FINAL TIME  = 20
\t~\tyear
\t~\tThe final time for the simulation.
\t|

INITIAL TIME  = 0
\t~\tyear
\t~\tThe initial time for the simulation.
\t|

SAVEPER  =
        TIME STEP
\t~\tyear [0,?]
\t~\tThe frequency with which output is stored.
\t|

TIME STEP  = 0.25
\t~\tyear [0,?]
\t~\tThe time step for the simulation.
\t|
"""

def control(*, dt: float | str = 1, unit: str = "year", final: float = 10,
            initial: float = 0, saveper: float | str = "TIME STEP") -> str:
    """The control section of a small test model (Vensim text)."""
    lines = [("FINAL TIME", final), ("INITIAL TIME", initial), ("SAVEPER", saveper),
             ("TIME STEP", dt)]
    return "".join(f"\n{name} = {value}\n\t~\t{unit}\n\t~\t|" for name, value in lines) + "\n"


_CONTROL = control()

#: log(5 - Time) is -inf at time 5 and NaN afterwards.
NAN_MDL = "{UTF-8}\nbad = LN(5 - Time)\n\t~\tdmnl\n\t~\t|\n" + _CONTROL

#: A model reading an external file that is not there.
EXTERNAL_MDL = (
    "{UTF-8}\nexternal series := GET DIRECT DATA('missing.csv', ',', 'A', 'B2')\n"
    "\t~\tdmnl\n\t~\t|\n" + _CONTROL
)


@pytest.fixture(scope="session", autouse=True)
def sdkit_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point the translation cache at a session temporary folder.

    Under pytest-xdist the workers of one run share one folder (beside their own
    temporary folders), so a model is translated once per run rather than once per
    worker; the cache is safe for concurrent builders and readers (:mod:`sdkit.model.cache`).
    """
    if os.environ.get("PYTEST_XDIST_WORKER"):
        path = tmp_path_factory.getbasetemp().parent / "sdkit-cache"
        path.mkdir(mode=0o700, exist_ok=True)
    else:
        path = tmp_path_factory.mktemp("sdkit-cache")
    previous = os.environ.get("SDKIT_CACHE_DIR")
    os.environ["SDKIT_CACHE_DIR"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("SDKIT_CACHE_DIR", None)
    else:
        os.environ["SDKIT_CACHE_DIR"] = previous


#: Test modules that share an expensive session fixture, run as one unit on one xdist
#: worker (``scenario_results`` runs every shipped scenario: about 20 s).
SHARED_UNITS = {
    "tests/report/test_briefing.py": "scenario-results",
    "tests/report/test_browser.py": "scenario-results",
    "tests/scenarios/test_runner.py": "scenario-results",
}


def _unit(nodeid: str) -> str:
    """The unit of work of a test under ``--dist loadfile``: its module, or a shared unit."""
    module = nodeid.split("::", 1)[0]
    return SHARED_UNITS.get(module, module)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """``make test`` runs ``pytest -n N --dist loadfile``: each test module is one unit of
    work, run whole on one worker, so its module- and session-scoped fixtures are built
    once; the modules of :data:`SHARED_UNITS` share a unit. (xdist's ``loadgroup`` with
    ``xdist_group`` marks would say the same, but it ignores the marks under pytest 9.2:
    pytest-xdist issue 1386.)"""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharedUnitScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _unit(nodeid)

    return SharedUnitScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In an xdist worker, put the units (:func:`_unit`) holding a test marked ``slow``
    first: the scheduler hands units out in this order (``make test`` passes
    ``--no-loadscope-reorder``), so no long test starts near the end of the run while
    the other workers sit idle. The order of the tests within a unit is unchanged; a run
    without xdist keeps the collection order."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    units: dict[str, list[pytest.Item]] = {}
    for item in items:
        units.setdefault(_unit(item.nodeid), []).append(item)
    ordered = sorted(units.values(), key=lambda unit: not any(
        item.get_closest_marker("slow") for item in unit))
    items[:] = [item for unit in ordered for item in unit]


def skip_or_fail(message: str) -> None:
    """Skip a test for a missing optional resource; fail under SDKIT_REQUIRE_ALL=1."""
    if os.environ.get("SDKIT_REQUIRE_ALL") == "1":
        pytest.fail(message + " and SDKIT_REQUIRE_ALL=1")
    pytest.skip(message)


@pytest.fixture(scope="session")
def conformance() -> Path:
    """Root of the SDXorg test-models suite; skip (or fail under SDKIT_REQUIRE_ALL=1)."""
    root = conformance_root()
    if root is None:
        skip_or_fail("SDXorg test-models suite not found (set SDKIT_SHARED)")
    return root


@pytest.fixture(scope="session")
def reference_modes_path() -> Path:
    """The Ouyeel reference modes shipped beside the model (named by its card)."""
    return REPO / "models" / "empowerment-reference-modes.csv"


@pytest.fixture(scope="session")
def shared_reference_modes_path() -> Path:
    """The design team's copy in the shared folder (skip or fail when absent)."""
    path = find_reference_modes()
    if path is None:
        skip_or_fail("shared/reference/ouyeel-reference-modes.csv not found (set SDKIT_SHARED)")
    return path


@pytest.fixture(scope="session")
def empowerment() -> sdkit.model.core.Model:
    """The empowerment model, loaded once for the session."""
    return sdkit.load_model(EMPOWERMENT_MDL)


@pytest.fixture(scope="session")
def empowerment_card() -> ModelCard:
    return load_card(EMPOWERMENT_MDL)


@pytest.fixture(scope="session")
def stage_time(empowerment_card: ModelCard) -> Callable[[pd.DataFrame, int], float]:
    """The time a run enters a stage by the card's rules (inf when it never does)."""
    def time(run: pd.DataFrame, stage: int) -> float:
        found = detect_stages(run, empowerment_card.transitions).time_of(stage)
        return math.inf if found is None else found

    return time


@pytest.fixture(scope="session")
def baseline(empowerment: sdkit.model.core.Model):
    """The baseline run (every variable), computed once for the session."""
    return empowerment.run()


@pytest.fixture(scope="session")
def teacup_path(conformance: Path) -> Path:
    return conformance / "samples" / "teacup" / "teacup.mdl"


@pytest.fixture(scope="session")
def teacup(teacup_path: Path) -> sdkit.model.core.Model:
    return sdkit.load_model(teacup_path)


def write_model(folder: Path, name: str, text: str) -> Path:
    """Write model text into ``folder`` and return its path."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_model(tmp_path_factory.mktemp("tiny"), "tiny.mdl", TINY_MDL)


@pytest.fixture(scope="session")
def tiny(tiny_path: Path) -> sdkit.model.core.Model:
    return sdkit.load_model(tiny_path)


@pytest.fixture(scope="session")
def nan_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_model(tmp_path_factory.mktemp("nan"), "nan.mdl", NAN_MDL)


@pytest.fixture(scope="session")
def external_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_model(tmp_path_factory.mktemp("external"), "external.mdl", EXTERNAL_MDL)


@pytest.fixture(scope="session")
def garbage_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_model(tmp_path_factory.mktemp("garbage"), "garbage.mdl", "this is {{ not a model")


SCENARIOS_DIR = REPO / "scenarios"


@pytest.fixture(scope="session")
def shipped_scenarios(empowerment: sdkit.model.core.Model) -> list:
    """The scenarios in scenarios/, validated once for the session."""
    from sdkit.scenarios.spec import load_scenarios

    return load_scenarios(SCENARIOS_DIR)


@pytest.fixture(scope="session")
def scenario_results(shipped_scenarios: list):
    """Every shipped scenario run once for the session (a ScenarioResults)."""
    from sdkit.scenarios.runner import run_scenarios

    return run_scenarios(shipped_scenarios)

"""Fuzzing the loaders with random and mutated files (issue 8, untrusted input).

Random text, random bytes, and small valid seeds mutated by deleting,
duplicating and inserting syntax fragments are fed to :func:`sdkit.load_model`
(``.mdl`` and ``.xmile``, with a temporary cache) and to
:func:`sdkit.scenarios.spec.load_scenario`. Every failure must be an
:class:`~sdkit.errors.SdkitError` with a message: never another exception, a
hang (each example has a time limit) or a crash.

The examples are derandomized so the suite is reproducible and its time is
stable; ``SDKIT_FUZZ_SCALE=10`` runs ten times as many, randomly.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import TINY_MDL
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sdkit.errors import ScenarioError, SdkitError
from sdkit.model.core import load_model
from sdkit.scenarios.spec import load_scenario

SCALE = float(os.environ.get("SDKIT_FUZZ_SCALE", "1"))
#: Seconds one example may take before it counts as a hang.
TIME_LIMIT = 30


def fuzz_settings(examples: int) -> settings:
    return settings(max_examples=max(1, int(examples * SCALE)), deadline=None, database=None,
                    derandomize=SCALE == 1, print_blob=True,
                    suppress_health_check=list(HealthCheck))


class Hang(Exception):
    """An example ran longer than :data:`TIME_LIMIT`."""


@contextmanager
def time_limit(seconds: int = TIME_LIMIT) -> Iterator[None]:
    def alarm(signum: int, frame: object) -> None:
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# --------------------------------------------------------------------------- seeds
CONTROL = ("FINAL TIME = 2\n\t~\tYear\n\t~\t|\nINITIAL TIME = 0\n\t~\tYear\n\t~\t|\n"
           "SAVEPER = TIME STEP\n\t~\tYear\n\t~\t|\nTIME STEP = 1\n\t~\tYear\n\t~\t|\n")
MDL_SEEDS = [
    TINY_MDL,
    "{UTF-8}\nx = 1\n\t~\tDmnl [0,1]\n\t~\tA constant.\n\t|\n" + CONTROL,
    "{UTF-8}\nS = INTEG(f, 1)\n\t~\tpeople\n\t~\t|\nf = S * 0.1\n\t~\tpeople/Year\n\t~\t|\n"
    + CONTROL,
    "{UTF-8}\ny = IF THEN ELSE(Time > 1, SMOOTH(x, 2), DELAY1(x, 1))\n\t~\tDmnl\n\t~\t|\n"
    "x = tbl(Time)\n\t~\tDmnl\n\t~\t|\ntbl(\n\t[(0,0)-(2,1)],(0,0),(2,1))\n\t~\tDmnl\n\t~\t|\n"
    + CONTROL,
]
MDL_FRAGMENTS = [
    "~", "|", "\t", "\n", "=", ":=", "(", ")", "[", "]", ",", "\"", "'", "\\", "{", "}",
    "INTEG(", "IF THEN ELSE(", "SMOOTH(", "DELAY N(", "STEP(", "MIN(", "EXP(", "LN(",
    "WITH LOOKUP(", "GET XLS DATA('a.xlsx', 'b', 'c', 'd')", ":MACRO: m(a)", ":END OF MACRO:",
    "[(0,0)-(1,1)]", "(1,2)", "1e999", "-1", "0", "1/0", "^", "*", "/", "+", "-", ":AND:",
    "Time", "TIME STEP", "FINAL TIME", "x", "S", "dim: a, b", "x[dim]", "\\\\\\---///",
    '"""', "__import__('os')", "*****\n\t.Group\n*****~\n\t|", "#", "\x00", "é", "模型",
]
XMILE_SEED = """<?xml version="1.0" encoding="utf-8"?>
<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
<header><vendor>t</vendor><product version="1">t</product></header>
<sim_specs method="Euler" time_units="Year"><start>0</start><stop>2</stop><dt>1</dt></sim_specs>
<model><variables>
<stock name="S"><eqn>1</eqn><inflow>f</inflow><units>people</units></stock>
<flow name="f"><eqn>S * k</eqn><units>people/Year</units></flow>
<aux name="k"><eqn>0.1</eqn><doc>A rate.</doc><units>1/Year</units></aux>
</variables></model>
</xmile>
"""
XMILE_FRAGMENTS = [
    "<", ">", "/>", "</aux>", "<aux name=\"a\">", "<eqn>", "</eqn>", "<stock name=\"s\">",
    "<inflow>", "<gf><xscale min=\"0\" max=\"1\"/><ypts>0,1</ypts></gf>", "&amp;", "&lt;",
    "&#0;", "<![CDATA[x]]>", "<!DOCTYPE x [<!ENTITY a \"b\">]>", "\"", "'", "=", "1e999",
    "IF", "THEN", "ELSE", "SMTH1(", ")", "(", "<dimensions><dim name=\"d\" size=\"2\"/>",
    "<doc>\"\"\" + __import__('os') + \"\"\"</doc>", "<units>", "</units>", "é", "\x00",
]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[str], fragments: list[str]) -> str:
    """A seed with a few random deletions, duplications and insertions."""
    text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 40)))
        action = draw(st.sampled_from(["delete", "duplicate", "insert", "insert", "replace"]))
        if action == "delete":
            text = text[:i] + text[j:]
        elif action == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        else:
            piece = draw(st.sampled_from(fragments) | st.text(max_size=8))
            text = text[:i] + piece + (text[j:] if action == "replace" else text[i:])
    return text


def model_contents(seeds: list[str], fragments: list[str]) -> st.SearchStrategy[str | bytes]:
    return st.one_of(mutated(seeds, fragments), mutated(seeds, fragments),
                     mutated(seeds, fragments), st.text(max_size=200),
                     st.binary(max_size=200))


def assert_loads_or_refuses(content: str | bytes, suffix: str, folder: Path) -> None:
    path = folder / f"model{suffix}"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    try:
        with time_limit():
            model = load_model(path, cache_dir=folder / "cache")
            model.doc()
        event("loaded")
    except SdkitError as err:
        event(f"refused: {type(err).__name__}")
        assert " ".join(str(err).split()), f"{type(err).__name__} without a message"


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="sdkit-fuzz-") as name:
        yield Path(name)


@pytest.mark.slow
@fuzz_settings(400)
@given(content=model_contents(MDL_SEEDS, MDL_FRAGMENTS))
def test_fuzz_vensim_files(workdir, content):
    assert_loads_or_refuses(content, ".mdl", workdir)


@pytest.mark.slow
@fuzz_settings(300)
@given(content=model_contents([XMILE_SEED], XMILE_FRAGMENTS))
def test_fuzz_xmile_files(workdir, content):
    assert_loads_or_refuses(content, ".xmile", workdir)


# --------------------------------------------------------------------------- scenarios
SCENARIO_SEED = """name = "fuzz"
title = { en = "Fuzz", zh = "模糊" }
description = { en = "A scenario.", zh = "情景" }
model = "tiny.mdl"

[constants]
"birth rate" = 0.05

[inputs."policy level"]
form = "step"
before = 1
after = 5
time = 4

[run]
final_time = 10
"""
TOML_VALUES = [
    "0", "-1", "1e999", "nan", "inf", "-inf", "true", "\"0.1\"", "\"__import__('os')\"",
    "\"eval('1')\"", "[1, 2]", "[]", "{}", "{ a = 1 }", "1979-05-27", "07:32:00", "0x1F",
    "1_000", "\"\"", "'''x'''", "\"birth rate\"", "\"/\"", "\"" + "a" * 300 + ".mdl\"",
    "{ form = \"table\", times = [0], values = [1] }",
]
TOML_FRAGMENTS = ["=", "[", "]", "{", "}", "\"", "'", ".", "\n", "#", "[[constants]]",
                  "[inputs]", "form", "ramp", "table", "pulse", "model", "name", "constants",
                  "\"policy level\"", "lifetime", "\\", "\\u0000", *TOML_VALUES]


@st.composite
def scenario_texts(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["mutate", "mutate", "value", "text"]))
    if kind == "text":
        return draw(st.text(max_size=200))
    if kind == "mutate":
        return draw(mutated([SCENARIO_SEED], TOML_FRAGMENTS))
    key = draw(st.sampled_from(['"birth rate"', "lifetime", '"policy level"', "name", "model",
                                "final_time", "time", "before"]))
    value = draw(st.sampled_from(TOML_VALUES) | st.integers().map(str)
                 | st.floats().map(repr))
    lines = SCENARIO_SEED.splitlines()
    index = draw(st.sampled_from([i for i, line in enumerate(lines) if " = " in line]))
    lines[index] = f"{key} = {value}"
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def scenario_dir(workdir: Path) -> Path:
    folder = workdir / "scenarios"
    folder.mkdir()
    (folder / "tiny.mdl").write_text(TINY_MDL, encoding="utf-8")
    return folder


@pytest.mark.slow
@fuzz_settings(1300)
@given(text=scenario_texts())
def test_fuzz_scenario_files(scenario_dir, text):
    path = scenario_dir / "fuzz.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        with time_limit():
            scenario = load_scenario(path)
    except SdkitError as err:
        event(f"refused: {type(err).__name__}")
        assert " ".join(str(err).split())
        return
    event("loaded")
    # What loads is data only: numbers, and the inputs the schema defines.
    assert all(type(v) is float for v in scenario.constants.values())
    assert all(type(v) is float for v in scenario.run_settings.values())


@pytest.mark.parametrize("value", ['"__import__(\'os\').system(\'true\')"', '"1 + 1"',
                                   '"eval(\'2\')"', '"0.1"', "true", "[0.1]", "{ x = 1 }"])
def test_scenario_values_are_data_not_code(scenario_dir, value):
    path = scenario_dir / "code.toml"
    path.write_text(SCENARIO_SEED.replace('"birth rate" = 0.05', f'"birth rate" = {value}'),
                    encoding="utf-8")
    with pytest.raises(ScenarioError, match="must be a finite number"):
        load_scenario(path)


@pytest.mark.parametrize("name", ["a" * 300 + ".mdl", "x\x00.mdl", "/", "."])
def test_unusable_model_paths_are_sdkit_errors(scenario_dir, name):
    """Found while fuzzing: a file name too long for the file system raised OSError."""
    with pytest.raises(SdkitError, match="Model file not found"):
        load_model(name)
    path = scenario_dir / "path.toml"
    path.write_text(SCENARIO_SEED.replace('"tiny.mdl"', json.dumps(name)), encoding="utf-8")
    with pytest.raises(ScenarioError, match="model: model file"):
        load_scenario(path)

"""A model file can never run code through sdkit: the payload corpus, proved and refused.

Two halves, independent of how sdkit's guard is written:

1. *The attacks are real.* Every ``"attack"`` case of :mod:`.payloads` is
   translated, loaded and run with plain PySD (no sdkit) in two subprocesses; the
   test requires its marker file to appear, at the stage the case declares
   (``parse``, ``load`` or ``run``). A payload PySD does not execute is not an
   attack and is not in the corpus. Benign cases must never create a marker, and
   load in plain PySD unless the case says PySD itself chokes on them. The
   subprocesses start when this module's first test runs and work while the sdkit
   tests run; their tests come last in the file.
2. *sdkit refuses or neutralises them.* For every attack, :func:`sdkit.load_model`
   (then :meth:`~sdkit.model.core.Model.run` when it loads), :func:`sdkit.ir.core.build_ir`
   and the XMILE export (and loading what it exported) either raise an sdkit error
   (``ModelParseError`` or its subclass ``UnsafeModelError`` for loading) or
   succeed, and the marker never appears. Each runs with the marker's folder as
   the current folder (some payloads import ``helper.py`` by a relative path). A
   representative subset (:data:`~.payloads.CLI_SUBSET`: every class and format)
   goes through every command that reads a model, in-process with click's
   ``CliRunner``: exit status 0 (or 1 for ``check``/``evidence`` findings) or 2
   with one ``sdkit: error:`` line, never a traceback, never the marker; the
   explorer is built without a server. The marker is a file, so code run by a
   child process (``os.system``, the worker pools) is seen too. Benign cases must
   load and keep their comments verbatim. Card, scenario and sensitivity-spec
   strings that look like code stay data.

Nothing here is marked xfail: while the guard is incomplete these tests fail, each
naming the case and what it does. Runtime is about a minute on two cores.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import sdkit
from sdkit.errors import ModelParseError, SdkitError

from . import payloads as corpus
from .payloads import ATTACKS, BENIGN, BY_ID, CLASSES, CLI_SUBSET, MARKER_NAME, PayloadCase

#: Seconds one plain-PySD verification subprocess may take for its half of the corpus.
PLAIN_PYSD_TIMEOUT = 600
#: Parallel verification subprocesses.
PLAIN_PYSD_WORKERS = 2


def _ids(cases: list[PayloadCase]) -> list[str]:
    return [case.id for case in cases]


def _describe(case: PayloadCase) -> str:
    return f"{case.id} [{case.klass}, {case.suffix}]: {case.note}"


# --------------------------------------------------------------------------- the corpus
def test_corpus_covers_every_class_and_format() -> None:
    assert len(ATTACKS) >= 60
    attack_classes = set(CLASSES) - {"benign"}
    assert {case.klass for case in ATTACKS} == attack_classes
    assert {case.suffix for case in ATTACKS} == {".mdl", ".xmile", ".stmx"}
    assert {case.stage for case in ATTACKS} == {"parse", "load", "run"}
    assert len(BENIGN) >= 20
    assert len(CLI_SUBSET) >= 8 and set(CLI_SUBSET) <= set(_ids(ATTACKS))
    assert {BY_ID[i].klass for i in CLI_SUBSET} == attack_classes
    assert {BY_ID[i].suffix for i in CLI_SUBSET} == {".mdl", ".xmile", ".stmx"}


@pytest.mark.parametrize("case", ATTACKS, ids=_ids(ATTACKS))
def test_attack_depends_on_the_marker(case: PayloadCase) -> None:
    def files(marker: str) -> tuple[bytes, dict[str, bytes]]:
        return case.content(marker), case.companions(marker) if case.companions else {}

    assert files("/tmp/one/PWNED") != files("/tmp/two/PWNED"), (
        f"{case.id} does not embed its marker path")


# --------------------------------------------------------------------------- sdkit API
def _attempt(action: Callable[[], Any]) -> tuple[Any, BaseException | None]:
    try:
        return action(), None
    except Exception as err:  # noqa: BLE001 - classified by the caller
        return None, err


def _explain(err: BaseException) -> str:
    return "".join(traceback.format_exception(err))[-3000:]


def _planted(case: PayloadCase, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Write ``case`` into ``tmp_path`` (the working folder, so that relative paths in
    a payload resolve there); return the model file and the marker it would create."""
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / MARKER_NAME
    return case.write(tmp_path / "model", marker), marker


@pytest.mark.parametrize("case", ATTACKS, ids=_ids(ATTACKS))
def test_load_model_never_runs_the_attack(case: PayloadCase, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    path, marker = _planted(case, tmp_path, monkeypatch)
    model, error = _attempt(lambda: sdkit.load_model(path, cache_dir=tmp_path / "cache"))
    if model is not None:
        _attempt(model.run)  # a model that loaded safely may still fail to run
    assert not marker.exists(), f"code from the model file ran: {_describe(case)}"
    assert error is None or isinstance(error, ModelParseError), (
        f"{_describe(case)}: load_model raised {type(error).__name__}, not ModelParseError:\n"
        + _explain(error))


@pytest.mark.parametrize("case", ATTACKS, ids=_ids(ATTACKS))
def test_build_ir_never_runs_the_attack(case: PayloadCase, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from sdkit.ir.core import build_ir

    path, marker = _planted(case, tmp_path, monkeypatch)
    _, error = _attempt(lambda: build_ir(path))
    assert not marker.exists(), f"build_ir ran code from the model file: {_describe(case)}"
    assert error is None or isinstance(error, SdkitError), (
        f"{_describe(case)}: build_ir raised {type(error).__name__}:\n" + _explain(error))


@pytest.mark.parametrize("case", ATTACKS, ids=_ids(ATTACKS))
def test_xmile_export_never_runs_the_attack(case: PayloadCase, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from sdkit.xmile.writer import export_xmile

    path, marker = _planted(case, tmp_path, monkeypatch)
    out = tmp_path / "exported.xmile"
    _, error = _attempt(lambda: export_xmile(path, out))
    assert not marker.exists(), f"the XMILE export ran code: {_describe(case)}"
    assert error is None or isinstance(error, SdkitError), (
        f"{_describe(case)}: export_xmile raised {type(error).__name__}:\n" + _explain(error))
    if out.is_file():  # an exported document must not carry the attack on
        model, _ = _attempt(lambda: sdkit.load_model(out, cache_dir=tmp_path / "cache"))
        if model is not None:
            _attempt(model.run)
        assert not marker.exists(), f"the exported XMILE of {_describe(case)} ran code"


@pytest.mark.parametrize("case", BENIGN, ids=_ids(BENIGN))
def test_benign_model_loads_and_keeps_its_comments(case: PayloadCase, tmp_path: Path) -> None:
    path = case.write(tmp_path / "model")
    model = sdkit.load_model(path, cache_dir=tmp_path / "cache")
    for name, comment in case.comments:
        assert model.variable(name).comment == comment, f"{_describe(case)}: {name!r}"
    assert not (tmp_path / "model" / MARKER_NAME).exists()


# --------------------------------------------------------------------------- command line
_CARD = '[model]\nfile = "{model}"\ntitle_en = "Payload"\ntitle_zh = "Payload"\n'
_SCENARIO = """name = "baseline"
model = "../{model}"

[title]
en = "Baseline"
zh = "Baseline"

[description]
en = "The payload model with the lever moved."
zh = "The payload model with the lever moved."

[constants]
lever = 1.5
"""
_SPEC = """name = "payload-oat"
model = "{model}"

[method]
name = "oat"
samples = 2

[execution]
chunk_size = 4
engine = "pysd"

[parameters.lever]
distribution = "uniform"
low = 0.5
high = 1.5

[[outputs]]
kind = "final"
variable = "output"
"""
_REFERENCE = "kind,metric,time,value,low,high,unit,source\ncontext,note,,,,,,tests\n"
_PAGE = ("# Payload\n\n<!-- parameters:begin -->\n<!-- parameters:end -->\n\n"
         "<!-- evidence:begin -->\n<!-- evidence:end -->\n")


@dataclass(frozen=True)
class CliFiles:
    """Everything a command needs for one payload, in one session folder."""

    model: Path
    marker: Path
    scenario_dir: Path
    scenario: Path
    spec: Path
    reference: Path
    page: Path
    cache: Path


@pytest.fixture(scope="session")
def cli_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CliFiles]:
    """Per CLI payload: the model (marker beside it), card, scenario, spec, reference, page.

    The model bytes (and so the translation-cache key) are the same for every
    command, so one session cache serves them; a translation that got into the
    cache would run its payload again on each later load, and each test removes
    the marker before and after its command.
    """
    cache = tmp_path_factory.mktemp("cli-cache")
    found = {}
    for case_id in CLI_SUBSET:
        case = BY_ID[case_id]
        folder = tmp_path_factory.mktemp(f"cli-{case_id}")
        marker = folder / MARKER_NAME
        model = case.write(folder, marker)
        (folder / "model.toml").write_text(_CARD.format(model=model.name), encoding="utf-8")
        scenario_dir = folder / "scenarios"
        scenario_dir.mkdir()
        scenario = scenario_dir / "baseline.toml"
        scenario.write_text(_SCENARIO.format(model=model.name), encoding="utf-8")
        spec = folder / "spec.toml"
        spec.write_text(_SPEC.format(model=model.name), encoding="utf-8")
        reference = folder / "reference.csv"
        reference.write_text(_REFERENCE, encoding="utf-8")
        page = folder / "page.md"
        page.write_text(_PAGE, encoding="utf-8")
        found[case_id] = CliFiles(model, marker, scenario_dir, scenario, spec, reference, page,
                                  cache)
    return found


Args = Callable[[CliFiles, Path], list[Any]]
#: Every command that reads a model, with arguments (files, output folder).
COMMANDS: dict[str, Args] = {
    "info": lambda f, out: ["info", f.model],
    "run": lambda f, out: ["run", f.model, "-o", out / "run.csv", "--summary", out / "s.md"],
    "run-ensemble": lambda f, out: ["run", f.model, "--engine", "ensemble"],
    "export": lambda f, out: ["export", f.model, "-o", out / "model.xmile"],
    "loops": lambda f, out: ["loops", f.model],
    "check": lambda f, out: ["check", f.model],
    "scenarios-validate": lambda f, out: ["scenarios", "validate", f.scenario],
    "scenarios-run": lambda f, out: ["scenarios", "run", f.scenario_dir, "-o", out / "res"],
    "sensitivity-validate": lambda f, out: ["sensitivity", "validate", f.spec],
    "sensitivity": lambda f, out: ["sensitivity", f.spec, "-o", out / "study", "--no-progress"],
    "brief": lambda f, out: ["brief", "-o", out / "brief.html", "--scenarios", f.scenario_dir,
                             "--sensitivity", f.spec, "--reference", f.reference],
    "doc": lambda f, out: ["doc", f.model, shutil.copy(f.page, out / "page.md"),
                           "--reference", f.reference],
    "evidence": lambda f, out: ["evidence", f.model, "--reference", f.reference],
}
#: Exit statuses that mean "ran and reported findings" rather than an error.
FINDINGS_STATUS = {"check": {0, 1}, "evidence": {0, 1}}


def _assert_clean_exit(result: Result, command: str) -> None:
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        pytest.fail(f"sdkit {command} crashed:\n"
                    + "".join(traceback.format_exception(*result.exc_info))[-3000:])
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output[-3000:]
    if result.exit_code == 2:
        lines = result.stderr.splitlines()
        errors = [line for line in lines if line.startswith("sdkit: error: ")]
        assert len(errors) == 1 and lines[-1] == errors[0], result.stderr[-3000:]
    else:
        assert result.exit_code in FINDINGS_STATUS.get(command, {0}), (
            f"sdkit {command} exited with {result.exit_code}:\n{output[-3000:]}")


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("case_id", CLI_SUBSET)
def test_command_never_runs_the_attack(case_id: str, command: str,
                                       cli_files: dict[str, CliFiles], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from sdkit.cli.app import main

    files = cli_files[case_id]
    files.marker.unlink(missing_ok=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SDKIT_CACHE_DIR", str(files.cache))
    args = [str(arg) for arg in COMMANDS[command](files, tmp_path)]
    result = CliRunner().invoke(main, args)
    ran = files.marker.exists()
    files.marker.unlink(missing_ok=True)
    assert not ran, f"sdkit {command} ran code from {_describe(BY_ID[case_id])}"
    _assert_clean_exit(result, command)


@pytest.mark.parametrize("case_id", CLI_SUBSET)
def test_explorer_never_runs_the_attack(case_id: str, cli_files: dict[str, CliFiles],
                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``sdkit explore`` without a server: make_server's app builds one document."""
    import bokeh.server.server

    from sdkit.report import explore

    apps: dict[str, Any] = {}

    class NoServer:
        """Stands in for bokeh's Server: records the applications, binds nothing."""

        def __init__(self, applications: dict[str, Any], **_options: Any) -> None:
            apps.update(applications)

    files = cli_files[case_id]
    files.marker.unlink(missing_ok=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SDKIT_CACHE_DIR", str(files.cache))
    monkeypatch.setattr(bokeh.server.server, "Server", NoServer)
    _, error = _attempt(lambda: explore.make_server(files.model, port=0))
    if error is None:
        _, error = _attempt(apps["/"].create_document)
    ran = files.marker.exists()
    files.marker.unlink(missing_ok=True)
    assert not ran, f"the explorer ran code from {_describe(BY_ID[case_id])}"
    assert error is None or isinstance(error, SdkitError), _explain(error)


# --------------------------------------------------------------------------- TOML inputs
def _code_strings(marker: Path) -> list[str]:
    """Strings that would run code if anything evaluated, formatted or shelled them."""
    touch = corpus.touch(str(marker))
    return [f"__import__('os').system({touch!r})",
            f'""" + str(__import__("os").system({touch!r})) + """',
            f"{{{{ cycler.__init__.__globals__.os.system({touch!r}) }}}}",
            f"$({touch}) `{touch}`", f"{{0.__class__}} %(x)s {touch!r}"]


def _toml(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid TOML basic string


def test_card_strings_are_data(tmp_path: Path) -> None:
    from sdkit.model.card import load_card

    marker = tmp_path / MARKER_NAME
    texts = _code_strings(marker)
    lines = [f"[model]\nfile = {_toml('model.mdl')}\ntitle_en = {_toml(texts[0])}\n"
             f"title_zh = {_toml(texts[1])}\n"]
    for number, text in enumerate(texts[2:4], start=1):
        lines.append(f"[[stages]]\nnumber = {number}\nname_en = {_toml(text)}\n"
                     f"name_zh = {_toml(text)}\n")
    lines.append(f"[[transitions]]\nto_stage = 2\nvariable = {_toml(texts[4])}\n"
                 "threshold = 0.5\n")
    lines.append(f"[evidence.levels]\n{_toml(texts[0])} = {_toml(texts[1])}\n")
    lines.append(f'[[loops]]\nid = "R1"\npolarity = "reinforcing"\nname_en = {_toml(texts[2])}\n'
                 f"name_zh = {_toml(texts[3])}\ncycle = [{_toml(texts[4])}, {_toml(texts[0])}]\n")
    card_file = tmp_path / "model.toml"
    card_file.write_text("\n".join(lines), encoding="utf-8")
    card = load_card(card_file)
    assert (card.title_en, card.title_zh) == (texts[0], texts[1])
    assert [s.name_en for s in card.stages] == texts[2:4]
    assert card.evidence_levels == {texts[0]: texts[1]}
    assert card.loops[0].cycle == (texts[4], texts[0])
    assert not marker.exists()


def _benign_model(folder: Path) -> Path:
    return BY_ID["ok-comment-code-words"].write(folder)


def test_scenario_strings_are_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sdkit.scenarios.spec import load_scenario

    monkeypatch.setenv("SDKIT_CACHE_DIR", str(tmp_path / "cache"))
    marker = tmp_path / MARKER_NAME
    texts = _code_strings(marker)
    model = _benign_model(tmp_path / "model")
    head = (f'name = "baseline"\nmodel = "model/{model.name}"\n'
            f"[title]\nen = {_toml(texts[0])}\nzh = {_toml(texts[1])}\n"
            f"[description]\nen = {_toml(texts[2])}\nzh = {_toml(texts[3])}\n")
    good = tmp_path / "good.toml"
    good.write_text(head + "[constants]\nlever = 1.5\n", encoding="utf-8")
    scenario = load_scenario(good)
    assert dict(scenario.title) == {"en": texts[0], "zh": texts[1]}
    for number, text in enumerate(texts):
        bad = tmp_path / f"bad-{number}.toml"
        bad.write_text(head + f"[constants]\n{_toml(text)} = 1.0\n", encoding="utf-8")
        with pytest.raises(SdkitError):
            load_scenario(bad)
    assert not marker.exists()


def test_sensitivity_spec_strings_are_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sdkit.sensitivity import load_spec

    monkeypatch.setenv("SDKIT_CACHE_DIR", str(tmp_path / "cache"))
    marker = tmp_path / MARKER_NAME
    texts = _code_strings(marker)
    model = _benign_model(tmp_path / "model")
    spec = _SPEC.format(model=f"model/{model.name}").replace(
        'name = "payload-oat"\n',
        f'name = "payload-oat"\ntitle = {_toml(texts[0])}\ndescription = {_toml(texts[1])}\n')
    good = tmp_path / "good.toml"
    good.write_text(spec, encoding="utf-8")
    assert load_spec(good).title == " ".join(texts[0].split())
    for number, text in enumerate(texts):
        bad = tmp_path / f"bad-{number}.toml"
        bad.write_text(spec.replace("[parameters.lever]", f"[parameters.{_toml(text)}]"),
                       encoding="utf-8")
        with pytest.raises(SdkitError):
            load_spec(bad)
    assert not marker.exists()


# --------------------------------------------------------------------------- plain PySD
_PLAIN_TESTS = frozenset({"test_plain_pysd_runs_the_attack", "test_benign_case_in_plain_pysd"})


@dataclass
class _PlainJobs:
    """The verification subprocesses and where each writes its results."""

    jobs: list[tuple[Path, subprocess.Popen[str]]]

    def results(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        failures = []
        for out, process in self.jobs:
            try:
                _, errors = process.communicate(timeout=PLAIN_PYSD_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                _, errors = process.communicate()
                failures.append(f"timed out after {PLAIN_PYSD_TIMEOUT} s: {errors[-2000:]}")
                continue
            if process.returncode != 0 or not out.is_file():
                failures.append(f"exit status {process.returncode}: {errors[-2000:]}")
                continue
            found.update(json.loads(out.read_text(encoding="utf-8")))
        if failures:
            pytest.fail("plain-PySD verification failed: " + " | ".join(failures))
        return found

    def stop(self) -> None:
        for _, process in self.jobs:
            if process.poll() is None:
                process.kill()
                process.communicate()


@pytest.fixture(scope="session", autouse=True)
def _plain_pysd_jobs(request: pytest.FixtureRequest) -> Iterator[_PlainJobs | None]:
    """Start the plain-PySD verification in the background as soon as this module's
    first test runs (only when a plain-PySD test is selected); the sdkit tests run
    meanwhile, and the plain-PySD tests (last in this file) wait for the results."""
    if not any(getattr(item, "originalname", "") in _PLAIN_TESTS
               for item in request.session.items):
        yield None
        return
    # A short folder of its own: "mac-name" writes a file whose name spells out the
    # marker's path, and a deeper folder (pytest's, one level deeper under xdist) makes
    # that name longer than the 255 bytes a file name may have.
    root = Path(tempfile.mkdtemp(prefix="plain-pysd-"))
    ids = _ids(corpus.CASES)
    jobs = []
    for worker in range(PLAIN_PYSD_WORKERS):
        out = root / f"results-{worker}.json"
        command = [sys.executable, str(Path(corpus.__file__)), "verify", str(out),
                   str(root / f"cases-{worker}"), *ids[worker::PLAIN_PYSD_WORKERS]]
        jobs.append((out, subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE, text=True)))
    running = _PlainJobs(jobs)
    yield running
    running.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pysd_results(_plain_pysd_jobs: _PlainJobs | None) -> dict[str, dict[str, Any]]:
    """Every case translated, loaded and run by plain PySD, in fresh subprocesses."""
    if _plain_pysd_jobs is None:  # pragma: no cover - only when requested unexpectedly
        pytest.fail("the plain-PySD verification was not started")
    return _plain_pysd_jobs.results()


@pytest.mark.parametrize("case", ATTACKS, ids=_ids(ATTACKS))
def test_plain_pysd_runs_the_attack(case: PayloadCase,
                                    pysd_results: dict[str, dict[str, Any]]) -> None:
    found = pysd_results[case.id]
    assert found["stage"], f"plain PySD did not run {_describe(case)}: {found}"
    assert found["stage"] == case.stage, (
        f"{_describe(case)}: declared stage {case.stage!r}, plain PySD ran it at "
        f"{found['stage']!r}")


@pytest.mark.parametrize("case", BENIGN, ids=_ids(BENIGN))
def test_benign_case_in_plain_pysd(case: PayloadCase,
                                   pysd_results: dict[str, dict[str, Any]]) -> None:
    found = pysd_results[case.id]
    assert found["stage"] == "", f"{_describe(case)} created a marker: {found}"
    assert found["loaded"] == case.plain_pysd_loads, (
        f"{_describe(case)}: plain PySD {'failed' if case.plain_pysd_loads else 'managed'} "
        f"to load it: {found}")
    if case.plain_pysd_loads:
        assert not found["error"], f"{_describe(case)}: {found['error']}"

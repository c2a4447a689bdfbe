"""Every ``sdkit ... --help`` lists examples, and every example runs as written.

The examples are taken from the rendered help texts (the "Examples:" paragraph
each command's ``epilog`` adds), joined across shell line continuations, and run
in-process with click's runner from a scratch copy of the repository's
``models/``, ``scenarios/`` and the doc pages they update, so they share one
process, one import of PySD and the session's translation cache.  ``sdkit
explore`` starts a server: only its help is checked.
"""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from sdkit.cli.app import main

ROOT = Path(__file__).resolve().parents[2]
#: Examples that serve instead of finishing; only their parsing is checked.
SERVERS = ("sdkit explore",)
#: Examples that make the outputs others read; they run first.
PRODUCERS = ("sdkit scenarios run", "sdkit sensitivity run", "sdkit sensitivity scenarios/",
             "sdkit calibrate models/", "sdkit calibrate run",
             "sdkit run")


def walk(command: click.Command, path: tuple[str, ...] = ("sdkit",)
         ) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command and group under ``command`` with its command path."""
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from walk(sub, (*path, name))


def help_text(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(main, [*path[1:], "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output


def examples_in(text: str) -> list[str]:
    """The commands of the "Examples:" paragraph of a help text."""
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "Examples:")
    except StopIteration:
        return []
    commands: list[str] = []
    pending = ""
    for line in lines[start + 1:]:
        if not line.strip():
            break
        part = line.strip()
        if part.endswith("\\"):
            pending += part[:-1]
            continue
        commands.append(pending + part)
        pending = ""
    return commands


COMMANDS = list(walk(main))
IDS = [" ".join(path) for path, _ in COMMANDS]


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS], ids=IDS)
def test_every_help_lists_examples_of_itself(path: tuple[str, ...]) -> None:
    found = examples_in(help_text(path))
    assert found, f"{' '.join(path)} --help lists no examples"
    for example in found:
        words = shlex.split(example)
        assert words[0] == "sdkit"
        # the example names this command (after any group options such as --max-steps)
        names = [w for w in words[1:] if not w.startswith("-") and not w.isdigit()]
        assert tuple(names[:len(path) - 1]) == path[1:] or path == ("sdkit",) or (
            path == ("sdkit", "sensitivity") and names[0] == "sensitivity"), example


def all_examples() -> list[str]:
    found = dict.fromkeys(example for path, _ in COMMANDS for example in examples_in(
        help_text(path)))
    return sorted(found, key=lambda e: (not e.startswith(PRODUCERS), ))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("help-examples")
    for name in ("models", "scenarios"):
        shutil.copytree(ROOT / name, folder / name)
    (folder / "docs").mkdir()
    for page in ("model.md", "sensitivity.md", "calibration.md"):
        shutil.copy2(ROOT / "docs" / page, folder / "docs" / page)
    return folder


@pytest.mark.slow
def test_every_example_runs_as_written(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(workdir)
    examples = all_examples()
    assert len(examples) > 20
    failures = []
    for example in examples:
        args = shlex.split(example)[1:]
        if example.startswith(SERVERS):
            command = main.commands[args[0]]
            command.make_context(args[0], args[1:])  # parses, does not serve
            continue
        result = CliRunner().invoke(main, args)
        if result.exit_code != 0:
            failures.append(f"{example}\n  exit {result.exit_code}: {result.output[-600:]}"
                            f"{result.exception!r}")
    assert not failures, "\n".join(failures)

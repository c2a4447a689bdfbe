"""The old import paths of the flat layout: they still work, warn, and nothing uses them.

sdkit 0.2 moved its modules into subpackages (docs/architecture.md). For one release an
old path gives the module at its new path with a DeprecationWarning that names it
(:mod:`sdkit.util.moved`); sdkit's own code and tests use the new paths only.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import warnings
from pathlib import Path
from types import ModuleType

import pytest
from conftest import REPO

from sdkit.util.moved import MOVED

#: Every module of the flat layout of sdkit 0.1 and its ``__all__`` (from the commit before
#: the move; the modules that became packages of the same name are among them).
FLAT = json.loads((Path(__file__).with_name("flat_layout_0_1.json")).read_text("utf-8"))


@pytest.mark.parametrize("old", sorted(name for name in MOVED if "+" not in MOVED[name]))
def test_an_old_path_gives_the_new_module_and_says_where_it_went(old: str) -> None:
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=rf"{old} moved to {MOVED[old]}"):
        module = importlib.import_module(old)
    assert module is importlib.import_module(MOVED[old])
    assert module.__spec__.name == MOVED[old]  # the real module keeps its own spec


@pytest.mark.parametrize("old", sorted(FLAT))
def test_every_public_name_of_the_flat_layout_still_imports(old: str) -> None:
    sys.modules.pop(old, None) if old in MOVED else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        module = importlib.import_module(old)
        missing = [name for name in FLAT[old] if not hasattr(module, name)]
    assert missing == []


def test_the_warning_points_at_the_line_that_imports(tmp_path: Path) -> None:
    """Shown by Python's default filters: the warning names the user's own script."""
    script = tmp_path / "old_user.py"
    script.write_text("import sdkit.stages\nfrom sdkit.store import save_scenario_results\n",
                      encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert f"{script}:1: DeprecationWarning: sdkit.stages moved to sdkit.analysis.stages" \
        in done.stderr
    assert f"{script}:2: DeprecationWarning: sdkit.store moved to sdkit.util.files and " \
        "sdkit.scenarios.store" in done.stderr


def test_a_module_split_in_two_keeps_the_names_of_both() -> None:
    sys.modules.pop("sdkit.store", None)
    with pytest.warns(DeprecationWarning, match="sdkit.store moved to sdkit.util.files and"):
        from sdkit.store import save_scenario_results, write_text_atomic
    from sdkit.scenarios.store import save_scenario_results as saving
    from sdkit.util.files import write_text_atomic as writing
    assert write_text_atomic is writing and save_scenario_results is saving


@pytest.mark.parametrize(("package", "name", "home"), [
    ("sdkit.model", "Model", "sdkit.model.core"),
    ("sdkit.ir", "build_ir", "sdkit.ir.core"),
    ("sdkit.scenarios", "load_scenarios", "sdkit.scenarios.spec"),
    ("sdkit.report", "format_number", "sdkit.report.text"),
    ("sdkit.xmile", "export_xmile", "sdkit.xmile.writer"),
    ("sdkit.cli", "main", "sdkit.cli.app"),
])
def test_a_module_that_became_a_package_keeps_its_public_names(
        package: str, name: str, home: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = getattr(importlib.import_module(package), name)
    assert value is getattr(importlib.import_module(home), name)


def _internal_name(module: ModuleType) -> str:
    return sorted(n for n, v in vars(module).items() if not n.startswith("_")
                  and n not in module.__all__ and callable(v)
                  and getattr(v, "__module__", "") == module.__name__)[0]


def test_its_other_names_work_with_a_warning() -> None:
    core = importlib.import_module("sdkit.model.core")
    name = _internal_name(core)
    package = importlib.import_module("sdkit.model")
    package.__dict__.pop(name, None)
    with pytest.warns(DeprecationWarning, match=f"sdkit.model.{name} moved to"):
        assert getattr(package, name) is getattr(core, name)
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        package.no_such_name  # noqa: B018


def test_no_module_of_sdkit_or_of_its_tests_uses_an_old_path() -> None:
    code = ("import importlib, pkgutil, sdkit\n"
            "for info in pkgutil.walk_packages(sdkit.__path__, 'sdkit.'):\n"
            "    importlib.import_module(info.name)\n")
    done = subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", code],
                          capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    old = tuple(f"{name}" for name in MOVED)
    for path in [*(REPO / "sdkit").rglob("*.py"), *(REPO / "tests").rglob("*.py")]:
        if path.name in ("moved.py", "test_moved.py"):
            continue
        text = path.read_text(encoding="utf-8")
        used = [name for name in old if f"{name} import" in text or f"import {name}\n" in text]
        assert used == [], f"{path.relative_to(REPO)} imports {used}"


def test_python_dash_m_sdkit_cli_runs_the_command() -> None:
    done = subprocess.run([sys.executable, "-m", "sdkit.cli", "--version"],
                          capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0 and "sdkit" in done.stdout.lower(), done.stderr

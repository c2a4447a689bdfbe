"""The built package works away from the checkout.

``test_wheel_works_outside_the_repository`` builds an sdist from a copy of the
sources, builds the wheel from that sdist (so the sdist is complete too),
installs the wheel into a fresh virtual environment and runs the ``sdkit``
command there from a folder outside the repository, on the model, card,
evidence and scenarios shipped inside the package.  The fresh environment gets
the dependencies of this one through a ``.pth`` file and the wheel is installed
with ``--no-deps``, so nothing is downloaded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
from setuptools import find_packages

import sdkit

ROOT = Path(__file__).resolve().parents[1]
#: What a build needs from the checkout (everything else stays behind).
SOURCES = ("pyproject.toml", "README.md", "sdkit", "models", "scenarios")


def test_every_package_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"])
    found = set(find_packages(str(ROOT), include=["sdkit", "sdkit.*"]))
    assert found <= listed, f"add {sorted(found - listed)} to [tool.setuptools] packages"


def test_version_has_one_source() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## [{sdkit.__version__}]" in changelog


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None,
         timeout: float = 300) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"{args} failed ({done.returncode}):\n{done.stdout[-2000:]}\n" \
                                 f"{done.stderr[-3000:]}"
    return done


def _build(tmp: Path) -> tuple[Path, Path]:
    """Build the sdist from a copy of the sources, then the wheel from the sdist."""
    copy = tmp / "src"
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            copy.mkdir(exist_ok=True)
            shutil.copy2(source, copy / name)
    dist = tmp / "dist"
    build = ("import sys; from setuptools import build_meta as b; "
             "print(getattr(b, sys.argv[1])(sys.argv[2]))")
    sdist = dist / _run([sys.executable, "-c", build, "build_sdist", str(dist)],
                        cwd=copy).stdout.split()[-1]
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp / "unpacked", filter="data")
    unpacked = next((tmp / "unpacked").iterdir())
    wheel = dist / _run([sys.executable, "-c", build, "build_wheel", str(dist)],
                        cwd=unpacked).stdout.split()[-1]
    return sdist, wheel


def _fresh_venv(folder: Path, wheel: Path) -> Path:
    """A new environment that sees this one's packages, with the wheel installed in it."""
    _run([sys.executable, "-m", "venv", "--without-pip", str(folder)], cwd=folder.parent)
    python = folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                cwd=folder).stdout.strip()
    (Path(site) / "sdkit-test-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
          "--no-index", "--quiet", str(wheel)], cwd=folder.parent)
    return python


@pytest.mark.slow
def test_wheel_works_outside_the_repository(tmp_path: Path) -> None:
    sdist, wheel = _build(tmp_path)
    assert sdist.name.startswith(f"sdkit-{sdkit.__version__}")
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in ("sdkit/py.typed", "sdkit/report/briefing/templates/briefing.html",
                    "sdkit/report/fontdata/SdkitSansSC-Regular.otf",
                    "sdkit/report/fontdata/OFL.txt",
                    "sdkit/examples/models/empowerment.mdl",
                    "sdkit/examples/models/empowerment.toml",
                    "sdkit/examples/models/empowerment-reference-modes.csv",
                    "sdkit/examples/scenarios/baseline.toml",
                    "sdkit/examples/scenarios/sensitivity/talent-investment-morris.toml",
                    "sdkit/examples/models/empowerment-observations.csv",
                    "sdkit/examples/scenarios/calibration/empowerment-2019.toml"):
        assert shipped in names, shipped

    python = _fresh_venv(tmp_path / "venv", wheel)
    sdkit_bin = python.parent / "sdkit"
    away = tmp_path / "elsewhere"
    away.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    where = _run([str(python), "-c", "import sdkit, sdkit.examples as e; "
                  "print(sdkit.__file__); print(e.model_path()); print(e.scenarios_dir())"],
                 cwd=away, env=env).stdout.split("\n")
    installed, model, scenarios = (Path(line) for line in where[:3])
    assert installed.is_relative_to(tmp_path / "venv"), installed
    assert model.is_relative_to(tmp_path / "venv") and scenarios.is_relative_to(tmp_path / "venv")

    def sdkit_cli(*args: str) -> str:
        return _run([str(sdkit_bin), *args], cwd=away, env=env).stdout

    assert sdkit.__version__ in sdkit_cli("--version")
    assert "FINAL TIME" in sdkit_cli("info", str(model)).upper()
    sdkit_cli("run", str(model), "-o", "baseline.csv")
    assert (away / "baseline.csv").stat().st_size > 0
    sdkit_cli("evidence", str(model))  # finds the reference modes through the shipped card
    # the shipped calibration spec finds the model and observations installed beside it
    assert "ok: empowerment-2019" in sdkit_cli(
        "calibrate", "validate", str(model),
        str(scenarios / "calibration" / "empowerment-2019.toml"))

    # a light briefing: the shipped baseline scenario and a six-run Morris screening
    spec = away / "tiny-morris.toml"
    spec.write_text(f"""name = "tiny-morris"
scenario = {str(scenarios / "baseline.toml")!r}
[method]
name = "morris"
samples = 2
levels = 4
seed = 1
resamples = 10
[execution]
chunk_size = 6
engine = "pysd"
[parameters."talent budget share"]
distribution = "uniform"
low = 0.2
high = 0.4
[parameters."hiring time"]
distribution = "uniform"
low = 0.25
high = 1.5
[[outputs]]
kind = "transition"
stage = 2
""", encoding="utf-8")
    sdkit_cli("brief", "-o", "briefing.html", "--scenarios", str(scenarios / "baseline.toml"),
              "--sensitivity", str(spec))
    page = (away / "briefing.html").read_text(encoding="utf-8")
    assert "<html" in page.lower() and len(page) > 10_000
    assert '@font-face { font-family: "Sdkit Sans SC"' in page  # the font ships in the wheel
    assert not (away / "models").exists() and not (away / "scenarios").exists()

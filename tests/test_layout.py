"""The package's public surface and its one rule of good neighbours.

Every public subpackage's ``__all__`` is pinned (a change is a decision, made here), each
name in it exists, and no module imports a private (``_name``) name from another module:
what one module needs from another is public there.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
from conftest import REPO

#: The public subpackages and their ``__all__``.
SUBPACKAGES = {
    "sdkit.util": [],
    "sdkit.model": ["KINDS", "Model", "SUFFIXES", "Variable", "load_model", "run"],
    "sdkit.ir": ["BinOp", "CONTROL", "Call", "Expr", "HiddenStock", "IRVariable",
                 "InlineLookup", "LookupCall", "LookupTable", "ModelIR", "Num", "Opaque",
                 "Ref", "Stock", "UnaryOp", "build_ir", "references", "walk"],
    "sdkit.scenarios": ["SCHEMA", "Scenario", "ScenarioValidator", "load_scenario",
                        "load_scenarios", "scenario_files"],
    "sdkit.analysis": ["compare_with_reference", "decompose", "detect_stages"],
    "sdkit.report": ["evidence_table", "format_number", "info_json", "info_text",
                     "render_briefing", "render_table", "short_table", "stock_summary",
                     "summary_times", "write_csv", "write_text"],
    "sdkit.report.briefing": ["BriefingData", "render_briefing"],
    "sdkit.xmile": ["NAMESPACE", "export_xmile", "xmile_document"],
    "sdkit.cli": ["main", "plain_warning"],
    "sdkit.engine": ["Ensemble", "EnsembleResult", "run_ensemble", "run_model"],
    "sdkit.loops": ["Link", "Loop", "LoopDominance", "LoopSet", "causal_graph", "find_loops",
                    "loop_dominance"],
    "sdkit.checks": ["CheckReport", "CheckResult", "check_model"],
    "sdkit.sensitivity": ["SensitivityResult", "SensitivitySpec", "SensitivitySpecError",
                          "load_result", "load_spec", "run_sensitivity"],
    "sdkit.calibration": ["CalibrationResult", "CalibrationSpec", "CalibrationSpecError",
                          "Observation", "calibrate", "load_calibration_spec",
                          "load_observations", "load_result", "run_calibration"],
    "sdkit.examples": ["CALIBRATION_SPEC_NAME", "DEFAULT_SPEC_NAME", "MODEL_NAME",
                       "calibration_spec", "card_path", "model_path", "reference_path", "root",
                       "scenarios_dir", "sensitivity_spec"],
}


@pytest.mark.parametrize("name", sorted(SUBPACKAGES))
def test_subpackage_all_is_pinned_and_every_name_exists(name: str) -> None:
    module = importlib.import_module(name)
    assert sorted(module.__all__) == sorted(SUBPACKAGES[name])
    for attribute in module.__all__:
        assert hasattr(module, attribute), f"{name}.{attribute}"


def _private_imports(path: Path, root: Path = REPO) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sdkit"):
            found += [f"{path.relative_to(root)}: from {node.module} import {alias.name}"
                      for alias in node.names
                      if alias.name.startswith("_") and not alias.name.startswith("__")]
        elif isinstance(node, ast.Import):
            found += [f"{path.relative_to(root)}: import {alias.name}" for alias in node.names
                      if alias.name.startswith("sdkit") and any(
                          part.startswith("_") for part in alias.name.split("."))]
    return found


def test_no_module_imports_a_private_name_of_another() -> None:
    files = [*(REPO / "sdkit").rglob("*.py"), *(REPO / "tests").rglob("*.py"),
             *(REPO / "benchmarks").rglob("*.py")]
    assert [hit for path in sorted(files) for hit in _private_imports(path)] == []


def test_the_check_sees_a_private_import(tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text("from sdkit.engine.assemble import _scalar_pow\nimport sdkit._hidden\n"
                       "from sdkit.engine import Ensemble\n", encoding="utf-8")
    assert _private_imports(planted, tmp_path) == [
        "planted.py: from sdkit.engine.assemble import _scalar_pow",
        "planted.py: import sdkit._hidden"]


#: The pipeline's layers (docs/architecture.md): a module imports sdkit modules of its own
#: layer or of earlier ones only (imports for type checking aside).
LAYERS = ({"errors", "util"}, {"model", "ir", "engine"},
          {"scenarios", "analysis", "loops", "checks", "sensitivity", "calibration"},
          {"xmile"}, {"report"}, {"cli"})
#: The one exception, argued in docs/architecture.md: the model card holds stage rules.
LAYER_EXCEPTIONS = {("sdkit.model.card", "sdkit.analysis.stages")}


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return next((i for i, names in enumerate(LAYERS) if len(parts) > 1 and parts[1] in names),
                None)


def _imports(tree: ast.Module) -> list[tuple[int, str]]:
    typing_only = {id(sub) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(node.test) for sub in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sdkit"):
            found += [(node.lineno, node.module if node.module != "sdkit" else f"sdkit.{a.name}")
                      for a in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("sdkit")]
    return found


def test_no_module_imports_a_later_step_of_the_pipeline() -> None:
    wrong = []
    for path in sorted((REPO / "sdkit").rglob("*.py")):
        module = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(
            ".__init__")
        own = _layer(module)
        for line, name in _imports(ast.parse(path.read_text(encoding="utf-8"))) \
                if own is not None else []:
            other = _layer(name)
            if other is not None and other > own and (module, name) not in LAYER_EXCEPTIONS:
                wrong.append(f"{path.relative_to(REPO)}:{line}: {module} -> {name}")
    assert wrong == []


def test_the_layer_test_sees_a_wrong_import(tmp_path: Path) -> None:
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                     "    from sdkit.report import text\nfrom sdkit.cli import app\n")
    assert [name for _, name in _imports(tree)] == ["sdkit.cli"]
    assert _layer("sdkit.util.files") < _layer("sdkit.model.core") < _layer("sdkit.cli.app")

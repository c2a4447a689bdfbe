"""Sensitivity specs: the shipped specs validate, and every kind of mistake is named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import REPO
from sensitivity_helpers import LINEAR_MDL, spec_text, write_spec

from sdkit.errors import InputFileError, ScenarioError
from sdkit.sensitivity import SensitivitySpecError, load_spec

SHIPPED = sorted((REPO / "scenarios" / "sensitivity").glob("*.toml"))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spec")
    (path / "linear.mdl").write_text(LINEAR_MDL, encoding="utf-8")
    return path


def test_error_class_is_a_scenario_error() -> None:
    assert issubclass(SensitivitySpecError, ScenarioError)
    assert issubclass(SensitivitySpecError, InputFileError)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_specs_validate(path: Path, empowerment) -> None:
    spec = load_spec(path, model=empowerment)
    assert {p.name for p in spec.parameters} == {
        "talent budget share", "talent push amount", "talent push start", "talent push duration",
        "maximum promotion fraction", "representative training time", "expert training time",
        "thinker development time", "attrition rate", "employee share retention effect",
        "cost per employee", "hiring time", "novice productivity", "technology budget share"}
    assert [o.name for o in spec.outputs][:2] == ["stage 2 transition", "stage 3 transition"]
    assert {"Transaction volume", "cumulative buyer saving", "net profit",
            "Industrial thinkers"} <= {o.variable for o in spec.outputs[2:]}
    assert spec.report_block == "talent-findings" and spec.report_group == "talent"
    assert spec.bands == ("Buyers on platform", "connection empowerment")
    assert spec.scenario_path is not None and spec.scenario_path.name == "baseline.toml"
    assert spec.runs == (90 if spec.method.name == "morris" else 4096)


def test_valid_linear_spec(folder: Path) -> None:
    spec = load_spec(write_spec(folder, spec_text()))
    assert spec.parameter_names == ["a", "b", "c"]
    assert [o.name for o in spec.outputs] == ["final Stock", "Stock 1.25", "Stock reaches 6"]
    assert spec.runs == 64 * 5 and spec.chunk_size == 16
    assert spec.fingerprint() == load_spec(write_spec(folder, spec_text())).fingerprint()
    assert spec.fingerprint() != load_spec(write_spec(folder, spec_text(seed=8))).fingerprint()
    assert spec.evaluation_hash() == load_spec(
        write_spec(folder, spec_text(seed=8))).evaluation_hash()


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


BASE = spec_text()
CASES = [
    # (description, spec text, key, message pattern)
    ("unknown top key", BASE.replace("[method]", "methd = 1\n[method]"), "methd",
     r"unknown key.*Did you mean 'method'"),
    ("unknown parameter", _replace(BASE, "[parameters.a]", "[parameters.aa]"),
     "parameters.aa", r"unknown variable 'aa'.*Did you mean 'a'"),
    ("not a constant", _replace(BASE, "[parameters.a]", "[parameters.inflow]"),
     "parameters.inflow", r"is a flow; only constants"),
    ("bounds outside the limits", _replace(BASE, "low = 0\nhigh = 1", "low = 0\nhigh = 2"),
     "parameters.a.high", r"high 2 is outside the documented range \[0, 1\] of 'a'"),
    ("low above high", _replace(BASE, "low = 0\nhigh = 1", "low = 0.8\nhigh = 0.2"),
     "parameters.a.high", r"must be greater than low"),
    ("unknown distribution", _replace(BASE, '"uniform"', '"gamma"'),
     "parameters.a.distribution", r"'gamma' is not a distribution; valid distributions"),
    ("missing distribution key", _replace(BASE, '"uniform"\nlow = 0\nhigh = 1',
                                          '"triangular"\nlow = 0\nhigh = 1'),
     "parameters.a.mode", r"missing; a triangular distribution needs"),
    ("mode outside", _replace(BASE, '"uniform"\nlow = 0\nhigh = 1',
                              '"triangular"\nlow = 0.2\nmode = 0.1\nhigh = 1'),
     "parameters.a.mode", r"mode must lie between"),
    ("negative std", _replace(BASE, '"uniform"\nlow = 0\nhigh = 1',
                              '"normal"\nmean = 0.5\nstd = -1\nlow = 0\nhigh = 1'),
     "parameters.a.std", r"must be positive"),
    ("one level", _replace(BASE, '"uniform"\nlow = 0\nhigh = 1', '"levels"\nlevels = [0.5]'),
     "parameters.a.levels", r"at least two numbers"),
    ("level outside", _replace(BASE, '"uniform"\nlow = 0\nhigh = 1',
                               '"levels"\nlevels = [0.5, 3]'),
     "parameters.a.levels", r"the level 3 is outside"),
    ("key of another distribution", _replace(BASE, "low = 0\nhigh = 1",
                                             "low = 0\nhigh = 1\nmode = 0.5"),
     "parameters.a.mode", r"unknown key"),
    ("bad method", _replace(BASE, 'name = "sobol"', 'name = "fast"'), "method.name",
     r"'fast' is not a method; valid methods: \['oat', 'montecarlo', 'lhs', 'morris', 'sobol'\]"),
    ("samples of the wrong type", _replace(BASE, "samples = 64", 'samples = "ten"'),
     "method.samples", r"must be an integer >= 1, got 'ten'"),
    ("sobol size not a power of two", _replace(BASE, "samples = 64", "samples = 100"),
     "method.samples", r"power of two"),
    ("missing seed", _replace(BASE, "seed = 7\n", ""), "method.seed", r"needs a seed"),
    ("bound of the wrong type", _replace(BASE, "low = 0\n", 'low = "zero"\n'),
     "parameters.a.low", r"must be a finite number, got 'zero'"),
    ("unknown output kind", _replace(BASE, 'kind = "final"', 'kind = "mean"'),
     "outputs[0].kind", r"'mean' is not an output kind"),
    ("unknown output variable", _replace(BASE, 'variable = "Stock"\n\n[[outputs]]\nkind = "value"',
                                         'variable = "Stok"\n\n[[outputs]]\nkind = "value"'),
     "outputs[0].variable", r"unknown variable 'Stok'.*Did you mean 'Stock'"),
    ("year outside the run", _replace(BASE, "year = 1.25", "year = 5"), "outputs[1].year",
     r"outside the run \(0 to 2\)"),
    ("transition without a card", _replace(BASE, 'kind = "final"\nvariable = "Stock"',
                                           'kind = "transition"\nstage = 2'),
     "outputs[0].stage", r"has no card"),
    ("bad never", _replace(BASE, "level = 6", 'level = 6\nnever = "skip"'), "outputs[2].never",
     r"use 'penalty' or 'nan'"),
    ("both model and scenario", _replace(BASE, 'model = "linear.mdl"',
                                         'model = "linear.mdl"\nscenario = "x.toml"'),
     "scenario", r"exactly one of"),
    ("missing model file", _replace(BASE, 'model = "linear.mdl"', 'model = "nope.mdl"'),
     "model", r"does not exist"),
    ("unknown band variable", _replace(BASE, 'variables = ["Stock"]', 'variables = ["Stck"]'),
     "bands.variables", r"Did you mean 'Stock'"),
    ("bad engine", _replace(BASE, "chunk_size = 16", 'chunk_size = 16\nengine = "gpu"'),
     "execution.engine", r"'gpu' is not an engine"),
    ("zero chunk size", _replace(BASE, "chunk_size = 16", "chunk_size = 0"),
     "execution.chunk_size", r"integer >= 1"),
    ("bad name", _replace(BASE, 'name = "linear-sobol"', 'name = "Linear Sobol"'), "name",
     r"lower-case slug"),
    ("missing outputs", BASE.split("[[outputs]]")[0], "outputs", r"missing required key"),
]


@pytest.mark.parametrize(("text", "key", "pattern"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_spec_errors_name_file_and_key(folder: Path, text: str, key: str, pattern: str
                                       ) -> None:
    path = write_spec(folder, text, "bad.toml")
    with pytest.raises(SensitivitySpecError) as caught:
        load_spec(path)
    err = caught.value
    assert err.path == str(path) and err.key == key
    assert str(err).startswith(f"{path}: {key}: ")
    assert re.search(pattern, str(err)), str(err)


def test_missing_file_and_bad_toml(folder: Path) -> None:
    with pytest.raises(SensitivitySpecError, match="does not exist"):
        load_spec(folder / "absent.toml")
    with pytest.raises(SensitivitySpecError, match="not valid TOML"):
        load_spec(write_spec(folder, "name = [", "broken.toml"))


def test_invalid_base_scenario(folder: Path) -> None:
    write_spec(folder, 'name = "x"\nmodel = "linear.mdl"\n', "base.toml")
    text = BASE.replace('model = "linear.mdl"', 'scenario = "base.toml"')
    with pytest.raises(SensitivitySpecError, match="invalid base scenario") as caught:
        load_spec(write_spec(folder, text, "bad.toml"))
    assert caught.value.key == "scenario"


#: Independent mistakes (edits of BASE) and the key each is reported at, in the order checked.
SEVERAL = [
    ('name = "linear-sobol"', 'name = "Linear Sobol"', "name"),
    ("samples = 64", "samples = 100", "method.samples"),
    ("[parameters.a]", "[parameters.aa]", "parameters.aa"),
    ('[parameters.b]\ndistribution = "uniform"\nlow = 0\nhigh = 1',
     '[parameters.b]\ndistribution = "uniform"\nlow = 0\nhigh = 2', "parameters.b.high"),
    ('kind = "final"', 'kind = "mean"', "outputs[0].kind"),
    ("year = 1.25", "year = 5", "outputs[1].year"),
    ('variables = ["Stock"]', 'variables = ["Stck"]', "bands.variables"),
    ("chunk_size = 16", "chunk_size = 0", "execution.chunk_size"),
    ("[execution]", '[execution]\nengine = "gpu"', "execution.engine"),
]


def _edited(edits: list[tuple[str, str, str]]) -> str:
    text = BASE
    for old, new, _ in edits:
        text = _replace(text, old, new)
    return text


def test_every_problem_of_a_spec_is_reported_at_once(folder: Path) -> None:
    path = write_spec(folder, _edited(SEVERAL), "several.toml")
    with pytest.raises(SensitivitySpecError) as caught:
        load_spec(path)
    err = caught.value
    assert [p.key for p in err.problems] == [key for _, _, key in SEVERAL]
    assert str(err).startswith(f"{path}: 9 problems: name: 'Linear Sobol' is not a lower-case")
    assert str(err) == f"{path}: 9 problems: " + "; ".join(
        str(p).removeprefix(f"{path}: ") for p in err.problems)
    assert err.key is None and err.path == str(path)
    for i, problem in enumerate(err.problems):
        assert isinstance(problem, SensitivitySpecError)
        single = write_spec(folder, _edited([SEVERAL[i]]), "single.toml")
        with pytest.raises(SensitivitySpecError) as alone:
            load_spec(single)
        assert str(alone.value) == str(problem).replace(str(path), str(single))
        assert alone.value.problems == (alone.value,)


def test_a_spec_problem_that_stops_the_check_comes_with_those_before_it(folder: Path) -> None:
    text = _edited(SEVERAL).replace('model = "linear.mdl"', 'model = "nope.mdl"')
    path = write_spec(folder, text, "stops.toml")
    with pytest.raises(SensitivitySpecError) as caught:
        load_spec(path)
    assert [p.key for p in caught.value.problems] == ["name", "model"]


def test_the_sizes_are_checked_once_the_rest_is_valid(folder: Path) -> None:
    """A sample too large for the limits is reported when nothing else is wrong (the
    run count needs every parameter and the method)."""
    from sdkit.errors import ResourceLimitError
    from sdkit.util.limits import override_limits

    with override_limits(max_runs=100):
        with pytest.raises(SensitivitySpecError) as caught:
            load_spec(write_spec(folder, _edited(SEVERAL[2:3]), "big.toml"))
        assert caught.value.key == "parameters.aa"
        with pytest.raises(ResourceLimitError, match="method.samples"):
            load_spec(write_spec(folder, BASE, "big.toml"))


def test_validate_prints_every_problem_on_one_line(folder: Path) -> None:
    from click.testing import CliRunner

    from sdkit.cli.app import main

    path = write_spec(folder, _edited(SEVERAL), "several.toml")
    result = CliRunner().invoke(main, ["sensitivity", "validate", str(path)])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"sdkit: error: {path}: 9 problems: ")
    assert all(f"{key}: " in lines[0] for _, _, key in SEVERAL)

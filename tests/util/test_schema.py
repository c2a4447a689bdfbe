"""The shared schema reader (every problem of a file at once) and the page updater."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sdkit.errors import InputFileError, ScenarioError
from sdkit.util.markers import begin_marker, end_marker, read_page, update_page
from sdkit.util.schema import SchemaValidator, combine_problems, toml_key


def test_toml_key_quotes_what_is_not_a_bare_key() -> None:
    assert toml_key("run", "saveper") == "run.saveper"
    assert toml_key("constants", "talent budget share") == 'constants."talent budget share"'
    assert toml_key('say "hi"') == '"say \\"hi\\""'


def _error(key: str, message: str, path: str = "f.toml") -> ScenarioError:
    return ScenarioError(f"{path}: {key}: {message}", path=path, key=key)


def test_combine_problems() -> None:
    one, two, three = _error("a", "bad."), _error("b", "worse."), _error("c", "worst.")
    assert one.problems == (one,)
    assert combine_problems([one]) is one
    both = combine_problems([one, two])
    assert type(both) is ScenarioError and both.key is None and both.path == "f.toml"
    assert str(both) == "f.toml: 2 problems: a: bad.; b: worse."
    assert both.problems == (one, two)
    # a combined error among the problems counts as its own problems
    every = combine_problems([both, three])
    assert every.problems == (one, two, three)
    assert str(every) == "f.toml: 3 problems: a: bad.; b: worse.; c: worst."
    with pytest.raises(ValueError):
        combine_problems([])


class _Toy(SchemaValidator):
    """Two independent numbers, then a check that needs both."""

    def build(self, data: dict) -> float:
        got = {}
        for key in ("x", "y"):
            with self.collect():
                got[key] = self.number(data.get(key), key)
        self.raise_problems()
        if got["x"] > got["y"]:
            raise self.error("y", "must be at least x.")
        return got["y"] - got["x"]


def test_checked_collects_outside_it_the_first_problem_stops() -> None:
    toy = _Toy(Path("toy.toml"))
    assert toy.checked(lambda: toy.build({"x": 1, "y": 3})) == 2
    with pytest.raises(ScenarioError) as info:
        toy.checked(lambda: toy.build({"x": "a", "y": None}))
    assert [p.key for p in info.value.problems] == ["x", "y"]
    assert str(info.value).startswith("toy.toml: 2 problems: x: must be a finite number")
    with pytest.raises(ScenarioError, match="y: must be at least x") as info:
        toy.checked(lambda: toy.build({"x": 5, "y": 3}))
    assert info.value.problems == (info.value,)
    # not inside checked: the first problem is raised at once, as before
    with pytest.raises(ScenarioError) as info:
        toy.build({"x": "a", "y": None})
    assert info.value.key == "x" and info.value.problems == (info.value,)
    assert not toy.problems


def test_unknown_keys_are_each_a_problem() -> None:
    toy = _Toy(Path("toy.toml"))

    def build() -> dict:
        return toy.keys({"colour": 1, "nmae": 2, "name": 3}, ["name"], "table")

    with pytest.raises(ScenarioError) as info:
        toy.checked(build)
    assert [p.key for p in info.value.problems] == ["table.colour", "table.nmae"]
    assert "Did you mean 'name'?" in str(info.value.problems[1])


# --- pages with generated blocks ---------------------------------------------------------

PAGE = ("# Title\n\nHand-written.\n\n" + begin_marker("one") + "\nold\n" + end_marker("one")
        + "\n\nMore.\n\n" + begin_marker("two") + "\nold\n" + end_marker("two") + "\n")


def test_update_page_replaces_each_block_and_keeps_the_rest(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(PAGE, encoding="utf-8")
    assert update_page(page, {"one": "new 1", "two": "new 2\n"}) == page
    text = read_page(page)
    assert text == PAGE.replace("\nold\n", "\nnew 1\n", 1).replace("\nold\n", "\nnew 2\n", 1)
    assert [p.name for p in tmp_path.iterdir()] == ["page.md"]  # no temporary file left


def test_update_page_writes_nothing_when_a_block_is_missing(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(PAGE, encoding="utf-8")
    with pytest.raises(InputFileError, match=r"needs exactly one <!-- three:begin -->"):
        update_page(page, {"one": "new", "three": "x"})
    assert page.read_text(encoding="utf-8") == PAGE
    with pytest.raises(InputFileError, match=r"Cannot read .*absent\.md") as info:
        update_page(tmp_path / "absent.md", {"one": "x"})
    assert info.value.path == str(tmp_path / "absent.md")
    (tmp_path / "latin1.md").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(InputFileError, match="Cannot read"):
        read_page(tmp_path / "latin1.md")


def test_update_reports_a_missing_page_or_block_on_one_line(tmp_path: Path,
                                                           tiny_path: Path) -> None:
    from sdkit.cli.app import main
    from sdkit.scenarios.runner import run_scenarios
    from sdkit.scenarios.spec import load_scenarios
    from sdkit.scenarios.store import save_scenario_results

    (tmp_path / "base.toml").write_text(
        f'name = "baseline"\nmodel = "{tiny_path.as_posix()}"\n'
        '[title]\nen = "Base"\nzh = "基"\n[description]\nen = "The base."\nzh = "基"\n',
        encoding="utf-8")
    out = tmp_path / "out"
    save_scenario_results(run_scenarios(load_scenarios(tmp_path / "base.toml")), out)
    page = tmp_path / "page.md"
    for text, fragment in ((None, f"Cannot read {page}"),
                           ("# No markers\n", "needs exactly one <!-- transitions:begin -->")):
        if text is not None:
            page.write_text(text, encoding="utf-8")
        result = CliRunner().invoke(main, ["scenarios", "table", str(out), "--update",
                                           str(page)])
        assert result.exit_code == 2
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("sdkit: error: ") and fragment in lines[0]
    assert page.read_text(encoding="utf-8") == "# No markers\n"


CARD_WITH_FOUR_MISTAKES = """
[model]
titel_en = "typo"

[[stages]]
number = "one"
name_en = "Start"
name_zh = "开始"

[[transitions]]
to_stage = 2
variable = "x"

[channels]
output = "x"
log = "yes"
groups = { a = ["x"] }
"""


def test_a_model_card_reports_every_problem_at_once(tmp_path: Path) -> None:
    from sdkit.model.card import load_card

    card = tmp_path / "m.toml"
    card.write_text(CARD_WITH_FOUR_MISTAKES, encoding="utf-8")
    with pytest.raises(InputFileError) as caught:
        load_card(card)
    keys = [problem.key for problem in caught.value.problems]
    assert keys == ["model.titel_en", "stages[0].number", "transitions[0].threshold",
                    "channels.log"]
    message = str(caught.value)
    assert message.startswith(f"{card}: 4 problems: model.titel_en: unknown key")
    assert "Did you mean 'title_en'?" in message and "\n" not in message
    card.write_text(CARD_WITH_FOUR_MISTAKES.replace('titel_en', 'title_en')
                    .replace('"one"', "1").replace('variable = "x"',
                                                   'variable = "x"\nthreshold = 1')
                    .replace('"yes"', "true"), encoding="utf-8")
    assert load_card(card).channels is not None

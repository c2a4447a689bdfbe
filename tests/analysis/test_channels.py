"""Channel decomposition (sdkit.analysis.channels) on small models with answers checkable by
hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from sdkit.analysis.channels import OTHER, ChannelError, decompose
from sdkit.cli.app import main
from sdkit.errors import InputFileError, UnknownVariableError
from sdkit.model.card import ChannelSpec, load_card
from sdkit.util.limits import override_limits

CONTROL = """
FINAL TIME = {final}
\t~\tyear
\t~\t|
INITIAL TIME = 0
\t~\tyear
\t~\t|
SAVEPER = 1
\t~\tyear
\t~\t|
TIME STEP = {dt}
\t~\tyear
\t~\t|
"""

A_RATE, B_RATE, H = 0.1, 0.05, 1 / 64


def eq(name: str, text: str) -> str:
    return f"{name} = {text}\n\t~\t\n\t~\t|\n"


def write(folder: Path, name: str, body: str, *, final: float = 10, dt: float = H,
          card: str | None = None) -> Path:
    path = folder / f"{name}.mdl"
    path.write_text("{UTF-8}\n" + body + CONTROL.format(final=final, dt=dt), encoding="utf-8")
    if card is not None:
        path.with_suffix(".toml").write_text(card, encoding="utf-8")
    return path


#: Y = A * B * market with A, B exponential stocks (growth rates a, b) and a constant market.
STOCKS = (eq("A", "INTEG(a rate * A, 1)") + eq("B", "INTEG(b rate * B, 2)")
          + eq("a rate", str(A_RATE)) + eq("b rate", str(B_RATE))
          + eq("market", "3") + eq("Y", "A * B * market"))

#: The same with exact exponentials, a growing exogenous market, an auxiliary between
#: the output and B, a lookup of B, MIN of B inside an equation, and a transition variable.
AUX = (eq("A", f"EXP({A_RATE} * Time)") + eq("B", f"2 * EXP({B_RATE} * Time)")
       + eq("market", "EXP(0.02 * Time)") + eq("half", "1")
       + eq("B share", "B / (B + half)") + eq("Y", "A * B * market")
       + eq("Z", "market * A * B share") + eq("progress", "Time / 10")
       + "effect table(\n\t[(0,0)-(10,10)],(0,1),(10,6))\n\t~\t\n\t~\t|\n"
       + eq("effect", "effect table(B)") + eq("W", "A * effect")
       + eq("V", "A * MIN(B, 2.5)") + eq("U", "MAX(A, B) * A")
       + eq("T", "MIN(A, 5) * MIN(B, 2.5)") + eq("S", "2 * SMOOTH(B, 1)") + eq("R", "A * S"))

CARD = """
[[stages]]
number = 1
name_en = "first"
name_zh = "一"

[[stages]]
number = 2
name_en = "second"
name_zh = "二"

[[transitions]]
to_stage = 2
variable = "progress"
threshold = 0.43

[channels]
output = "Y"
[channels.groups]
alpha = ["A"]
beta = ["B"]
"""


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("channels")
    return {"stocks": write(folder, "stocks", STOCKS),
            "aux": write(folder, "aux", AUX, card=CARD),
            "linear": write(folder, "linear", eq("A", "3 * Time") + eq("B", "INTEG(1, 0)")
                            + eq("market", "10 + Time * Time") + eq("Y", "A + 2 * B + market"),
                            dt=0.25),
            "negative": write(folder, "negative", eq("A", "Time - 2") + eq("Y", "3 * A"))}


def test_log_shares_of_a_product_of_exponential_stocks(models: dict[str, Path]) -> None:
    result = decompose(models["stocks"], output="Y", groups={"a": ["A"], "b": ["B"]})
    (window,) = result.windows
    assert (window.label, window.start, window.end) == ("run", 0.0, 10.0)
    # Euler stocks grow by (1 + rate*dt) a step: exactly these log shares...
    la, lb = math.log1p(A_RATE * H), math.log1p(B_RATE * H)
    assert window.shares["a"] == pytest.approx(la / (la + lb), abs=1e-6)
    assert window.shares["b"] == pytest.approx(lb / (la + lb), abs=1e-6)
    # ...which tend to a/(a+b) as the time step shrinks (O(dt)).
    assert window.shares["a"] == pytest.approx(A_RATE / (A_RATE + B_RATE), abs=2e-4)
    assert window.change == pytest.approx(640 * (la + lb), rel=1e-9)
    assert window.contributions[OTHER] == 0.0  # the constant market does not change
    assert abs(window.relative_residual) < 1e-6
    assert result.leaves == {"A": "a", "B": "b", "market": OTHER}
    assert result.fit_error < 1e-12 and result.time_step == H


def test_saved_steps_when_every_time_step_is_too_many_rows(models: dict[str, Path]) -> None:
    with override_limits(max_rows=100):  # 641 rows every step, 11 at SAVEPER 1
        result = decompose(models["stocks"], output="Y", groups={"a": ["A"], "b": ["B"]})
    assert result.time_step == 1.0
    window = result.windows[0]
    assert window.shares["a"] == pytest.approx(A_RATE / (A_RATE + B_RATE), abs=2e-3)
    # The trapezoids over whole years leave a visible, still small, residual.
    assert 1e-4 < abs(window.relative_residual) < 5e-3


def test_exact_exponentials_give_a_over_a_plus_b_and_the_market_counts_as_other(
        models: dict[str, Path]) -> None:
    result = decompose(models["aux"], windows=[(0, 10)])
    (window,) = result.windows
    total = A_RATE + B_RATE + 0.02
    assert window.change == pytest.approx(10 * total, rel=1e-9)
    assert window.shares["alpha"] == pytest.approx(A_RATE / total, abs=1e-6)
    assert window.shares["beta"] == pytest.approx(B_RATE / total, abs=1e-6)
    assert window.shares[OTHER] == pytest.approx(0.02 / total, abs=1e-6)
    # market = EXP(0.02 * Time) is inlined: its growth is that of the leaf Time.
    assert result.leaves["Time"] == OTHER
    assert window.leaves["Time"] == pytest.approx(0.2, rel=1e-9)
    assert abs(window.relative_residual) < 1e-6


def test_additive_output_without_log(models: dict[str, Path]) -> None:
    result = decompose(models["linear"], output="Y", groups={"a": ["A"], "b": ["B"]},
                       log=False, windows=[(0, 4), (4, 10)])
    first, second = result.windows
    # Linear in the leaves: the trapezoids are exact.
    assert first.contributions == pytest.approx({"a": 12.0, "b": 8.0, OTHER: 16.0})
    assert second.contributions == pytest.approx({"a": 18.0, "b": 12.0, OTHER: 84.0})
    assert first.change == pytest.approx(36.0) and second.change == pytest.approx(114.0)
    assert abs(first.residual) < 1e-9 and abs(second.residual) < 1e-9
    assert first.label == "0-4" and first.stage is None


def test_inlining_through_an_auxiliary(models: dict[str, Path]) -> None:
    result = decompose(models["aux"], output="Z", windows=[(0, 10)])
    assert "B share" not in result.leaves and result.leaves["B"] == "beta"
    (window,) = result.windows
    # Z = market * A * B/(B + half): B's contribution is the change of ln(B share).
    b0, b1 = 2.0, 2 * math.exp(10 * B_RATE)
    assert window.contributions["beta"] == pytest.approx(
        math.log(b1 / (b1 + 1)) - math.log(b0 / (b0 + 1)), rel=1e-5)
    assert window.contributions["alpha"] == pytest.approx(10 * A_RATE, rel=1e-5)
    assert window.leaves["half"] == 0.0


def test_lookup_and_min_are_leaves_counted_where_their_input_is(
        models: dict[str, Path]) -> None:
    result = decompose(models["aux"], output="W", windows=[(0, 10)])
    assert result.leaves == {"A": "alpha", "effect": "beta"}  # effect = effect table(B)
    (window,) = result.windows
    e0, e1 = 1 + 0.5 * 2, 1 + 0.5 * 2 * math.exp(10 * B_RATE)
    assert window.contributions["beta"] == pytest.approx(math.log(e1 / e0), rel=1e-5)
    assert window.contributions[OTHER] == 0.0
    inside = decompose(models["aux"], output="V", windows=[(0, 10)])
    assert inside.leaves == {"A": "alpha", "MIN(…) in V": "beta"}
    capped = math.log(2.5 / 2)  # B reaches the cap 2.5 within the run
    assert inside.windows[0].contributions["beta"] == pytest.approx(capped, rel=1e-4)
    two = decompose(models["aux"], output="T", windows=[(0, 10)])
    assert two.leaves == {"MIN(…) in T": "alpha", "MIN(…) in T #2": "beta"}
    # A SMOOTH inside an expression has no values of its own: the variable is the leaf,
    # counted where the smoothed input is.
    smoothed = decompose(models["aux"], output="R", windows=[(0, 10)])
    assert smoothed.leaves == {"A": "alpha", "S": "beta"}
    assert abs(smoothed.windows[0].relative_residual) < 1e-5


def test_a_part_depending_on_two_channels_counts_as_other_with_a_warning(
        models: dict[str, Path]) -> None:
    with pytest.warns(UserWarning, match="'B'.*count as 'other'"):
        result = decompose(models["aux"], output="U", windows=[(0, 10)])
    assert result.leaves == {"A": "alpha", "MAX(…) in U": OTHER}


def test_stages_from_the_card(models: dict[str, Path]) -> None:
    result = decompose(models["aux"])  # output, groups and stages from the card
    first, second = result.windows
    assert (first.label, first.stage, first.start) == ("stage 1 first", 1, 0.0)
    assert first.end == pytest.approx(4.3) and second.start == pytest.approx(4.3)
    assert (second.label, second.end) == ("stage 2 second", 10.0)
    total = A_RATE + B_RATE + 0.02
    assert first.change == pytest.approx(4.3 * total, rel=1e-4)
    assert second.change == pytest.approx(5.7 * total, rel=1e-4)
    for window in (first, second):
        assert window.shares["alpha"] == pytest.approx(A_RATE / total, abs=1e-4)
        assert abs(window.relative_residual) < 1e-4
    frame = result.to_frame()
    assert list(frame["channel"][:4]) == ["alpha", "beta", OTHER, "residual"]
    assert frame.groupby("window")["contribution"].sum().to_dict() == pytest.approx(
        {first.label: first.change, second.label: second.change})


def test_card_channels_section(models: dict[str, Path], tmp_path: Path) -> None:
    card = load_card(models["aux"])
    assert card.channels == ChannelSpec("Y", True, {"alpha": ("A",), "beta": ("B",)})
    assert {"Y", "A", "B"} <= card.variables()
    for text, key in [("[channels]\noutput = 'Y'\nextra = 1\n[channels.groups]\na = ['A']\n",
                       "channels.extra"),
                      ("[channels]\noutput = 'Y'\nlog = 1\n[channels.groups]\na = ['A']\n",
                       "channels.log"),
                      ("[channels]\noutput = 'Y'\n[channels.groups]\n", "channels.groups"),
                      ("[channels]\noutput = 'Y'\n[channels.groups]\na = []\n",
                       "channels.groups.a"),
                      ("[channels]\n[channels.groups]\na = ['A']\n", "channels.output")]:
        path = tmp_path / "card.toml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(InputFileError) as caught:
            load_card(path)
        assert caught.value.key == key


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"output": "Y", "groups": {"a": ["A rat"]}}, UnknownVariableError, "Did you mean 'a rate'"),
    ({"output": "Yy", "groups": {"a": ["A"]}}, UnknownVariableError, "'Y'"),
    ({"output": "Y", "groups": {"a": ["A"], "r": ["a rate"]}}, ChannelError,
     "within a time step, except through stocks"),
    ({"output": "A", "groups": {"b": ["B"]}}, ChannelError, "stock"),
    ({"output": "Y", "groups": {"other": ["A"]}}, ChannelError, "named"),
    ({"output": "Y", "groups": {"a": ["A"], "b": ["A"]}}, ChannelError, "another channel"),
    ({"output": "Y", "groups": {"a": ["A"]}, "windows": [(5, 20)]}, ChannelError, "Window"),
    ({}, ChannelError, "No output"),
])
def test_errors(models: dict[str, Path], kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        decompose(models["stocks"], **kwargs)


def test_channel_reached_only_through_another_channel(models: dict[str, Path]) -> None:
    with pytest.raises(ChannelError, match="except through stocks or other channel"):
        decompose(models["aux"], output="Z", groups={"s": ["B share"], "b": ["B"]})


def test_log_of_an_output_that_is_not_positive(models: dict[str, Path]) -> None:
    with pytest.raises(ChannelError, match="> 0.*at time 0"):
        decompose(models["negative"], output="Y", groups={"a": ["A"]})
    result = decompose(models["negative"], output="Y", groups={"a": ["A"]}, log=False)
    assert result.windows[0].contributions["a"] == pytest.approx(30.0)


def test_scenario_run(models: dict[str, Path], tmp_path: Path) -> None:
    scenario = tmp_path / "fast.toml"
    scenario.write_text(f"""name = "fast"
model = "{models['stocks'].as_posix()}"
[title]
en = "fast"
zh = "快"
[description]
en = "b grows as fast as a"
zh = "同速"
[constants]
"b rate" = {A_RATE}
""", encoding="utf-8")
    result = decompose(models["stocks"], scenario=scenario, output="Y",
                       groups={"a": ["A"], "b": ["B"]})
    assert result.scenario == "fast"
    shares = result.windows[0].shares
    assert shares["a"] == pytest.approx(shares["b"], rel=1e-12)
    assert shares["a"] == pytest.approx(0.5, abs=1e-6)


def test_cli_table_json_and_errors(models: dict[str, Path]) -> None:
    runner = CliRunner()
    table = runner.invoke(main, ["channels", str(models["aux"])])
    assert table.exit_code == 0, table.output
    assert "| stage 1 first | 0 | 4.3 |" in table.output and "ln(Y)" in table.output
    data = json.loads(runner.invoke(main, ["channels", str(models["linear"]), "--output", "Y",
                                           "--group", "a=A", "--group", "b=B", "--linear",
                                           "--window", "0,4", "--json"]).output)
    assert data["log"] is False and data["windows"][0]["contributions"]["a"] == \
        pytest.approx(12.0)
    bad = runner.invoke(main, ["channels", str(models["stocks"]), "--output", "Y",
                               "--group", "a=A rat"])
    assert bad.exit_code == 2 and "Did you mean 'a rate'" in bad.output


def test_cli_without_a_card_names_the_options(models: dict[str, Path]) -> None:
    runner = CliRunner()
    bare = runner.invoke(main, ["channels", str(models["stocks"])])
    assert bare.exit_code == 2
    [line] = bare.stderr.splitlines()
    assert line == ("sdkit: error: No output or channels for stocks.mdl: give --output VARIABLE "
                    "and --group NAME=VAR[,VAR...], or add a [channels] section to the model "
                    "card (docs/formats.md).")
    assert "output=" not in line and "groups=" not in line  # no Python argument names
    half = runner.invoke(main, ["channels", str(models["stocks"]), "--output", "Y"])
    assert half.exit_code == 2 and "give --group NAME=VAR[,VAR...], or" in half.stderr
    assert "--output VARIABLE" not in half.stderr

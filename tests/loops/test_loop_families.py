"""Loop families (sdkit.loops.families), their card section, and the coverage bound."""

from __future__ import annotations

import itertools
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from test_loops import eq, mdl

import sdkit
from sdkit.errors import InputFileError, SdkitError, UnknownVariableError
from sdkit.loops import causal_graph, find_loops, loop_dominance
from sdkit.loops.coverage import loop_score_bound, permanent_bound, walk_bound
from sdkit.loops.discovery import total_loop_score
from sdkit.loops.families import OTHER, passing, resolve_families
from sdkit.loops.report import coverage_bound_table, families_table, loops_markdown
from sdkit.model.card import FamilySpec, ModelCard, load_card

#: One stock, three loops: growth (Stock -> inflow, R), crowding (Stock -> effect ->
#: inflow, B) and drain (Stock -> outflow, B).
CROWDING = (eq("Stock", "INTEG(inflow - outflow, 10)")
            + eq("inflow", "Stock * growth * effect") + eq("effect", "1 - Stock / capacity")
            + eq("outflow", "Stock / lifetime") + eq("growth", "0.5")
            + eq("capacity", "1000") + eq("lifetime", "10"))

#: Three stocks, each rate depending on the other two: the complete graph on three
#: variables, which series reduction cannot reduce (two links in and out of each).
TRIANGLE = (eq("A", "INTEG(0.3 * B - 0.2 * C, 1)") + eq("B", "INTEG(0.2 * C - 0.1 * A, 2)")
            + eq("C", "INTEG(0.1 * A + 0.1 * B, 3)"))

CARD = """
[[stages]]
number = 1
name_en = "growth"
name_zh = "增长"

[[loop_families]]
id = "crowding"
polarity = "balancing"
name_en = "crowding slows growth"
name_zh = "拥挤"
through = ["effect"]

[[loop_families]]
id = "growth"
name_en = "growth feeds growth"
name_zh = "增长"
through = ["Stock", "inflow"]
"""


def write(folder: Path, name: str, body: str, card: str | None = None) -> Path:
    path = folder / f"{name}.mdl"
    path.write_text(mdl(body, final=20, saveper=0.25, dt=0.25), encoding="utf-8")
    if card is not None:
        path.with_suffix(".toml").write_text(card, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("families")


@pytest.fixture(scope="module")
def crowding(folder: Path):
    path = write(folder, "crowding", CROWDING, CARD)
    model = sdkit.load_model(path)
    return model, load_card(path), loop_dominance(model, model.run(), window=0)


def by_flow(dom) -> dict[str, str]:
    """Loop id by its distinctive variable (effect, inflow or outflow)."""
    out = {}
    for loop in dom.loops.loops:
        key = "effect" if "effect" in loop.variables else next(
            v for v in loop.variables if v in ("inflow", "outflow"))
        out[key] = loop.id
    return out


def test_first_matching_family_wins_and_the_rest_is_other(crowding):
    model, card, dom = crowding
    ids = by_flow(dom)
    assert [spec.id for spec in dom.family_specs] == ["crowding", "growth"]
    # The crowding loop also passes Stock and inflow: it counts for the first family.
    assert dom.family_of == {ids["effect"]: "crowding", ids["inflow"]: "growth",
                             ids["outflow"]: OTHER}
    resolved = resolve_families(dom.loops, dom.family_specs)
    through = passing(dom.loops, resolved)
    assert through["crowding"] == [ids["effect"]]
    assert set(through["growth"]) == {ids["effect"], ids["inflow"]}
    # Listed the other way round, growth claims both loops through the inflow.
    swapped = ModelCard(card.path, loop_families=card.loop_families[::-1])
    again = loop_dominance(model, model.run(), card=swapped, window=0, loops=dom.loops)
    assert again.family_of[ids["effect"]] == again.family_of[ids["inflow"]] == "growth"


def test_family_shares_polarity_and_chart_frame(crowding):
    _, card, dom = crowding
    table = families_table(dom)
    assert list(table["family"]) == ["crowding", "growth", OTHER]
    rows = table.set_index("family")
    assert rows["share"].sum() == pytest.approx(1.0)
    assert list(rows["loops"]) == [1, 1, 1]
    # Polarity parts: the growth loop is reinforcing, the two others balancing.
    assert rows.loc["growth", "reinforcing"] == pytest.approx(rows.loc["growth", "share"])
    assert rows.loc["crowding", "balancing"] == pytest.approx(rows.loc["crowding", "share"])
    assert rows.loc[OTHER, "balancing"] == pytest.approx(rows.loc[OTHER, "share"])
    mean = dom.relative_all.abs().mean()
    ids = by_flow(dom)
    assert rows.loc["growth", "share"] == pytest.approx(mean[ids["inflow"]])
    assert rows.loc["growth", "passing"] == pytest.approx(mean[ids["inflow"]]
                                                          + mean[ids["effect"]])
    assert rows["several"].iloc[0] == pytest.approx(mean[ids["effect"]])
    # The tidy frame for charts: families in card order then other, at the saved times.
    frame = dom.families
    assert list(frame.columns) == ["time", "family", "score"]
    assert list(frame["family"].unique()) == ["crowding", "growth", OTHER]
    sums = frame.groupby("time")["score"].sum()
    assert np.allclose(sums[sums > 0], 1.0) and len(sums) == 20 * 4
    text = loops_markdown(dom, card)
    assert "Loop families" in text and "| crowding slows growth (`crowding`) | effect |" in text
    assert "Stage 1 (growth, " not in text  # no transitions: one span over the run
    assert '"growth feeds growth" leads with' in text or '"crowding slows growth" leads' in text
    assert "Whatever the order" in text


def test_no_families_no_section(folder, crowding):
    model, _, dom = crowding
    bare = loop_dominance(model, model.run(), card=ModelCard(Path("x.toml")), window=0)
    plain = sdkit.load_model(write(folder, "plain", CROWDING))
    none = loop_dominance(plain, plain.run(), window=0)
    for result in (bare, none):
        assert result.family_of == {} and result.family_specs == ()
        assert result.families.empty and list(result.families.columns) == [
            "time", "family", "score"]
        assert families_table(result).empty
        text = loops_markdown(result, None)
        assert "famil" not in text.lower() and "| cycle |" in text
    np.testing.assert_allclose(bare.scores.to_numpy(), dom.scores.to_numpy())


@pytest.mark.parametrize(("text", "key"), [
    ('id = "a"\nname_en = "A"\nname_zh = "A"\nthrough = ["Stock"]\ncolour = 1\n',
     "loop_families[0].colour"),
    ('id = "a"\nname_en = "A"\nname_zh = "A"\nthrough = []\n', "loop_families[0].through"),
    ('id = "a"\nname_en = "A"\nname_zh = "A"\nthrough = "Stock"\n', "loop_families[0].through"),
    ('id = "a"\nname_en = "A"\nname_zh = "A"\nthrough = [1]\n', "loop_families[0].through"),
    ('id = "a"\nname_en = "A"\nthrough = ["Stock"]\n', "loop_families[0].name_zh"),
    ('id = "Other"\nname_en = "A"\nname_zh = "A"\nthrough = ["Stock"]\n',
     "loop_families[0].id"),
    ('id = "a"\nname_en = "A"\nname_zh = "A"\nthrough = ["Stock"]\npolarity = "up"\n',
     "loop_families[0].polarity"),
    ('id = "a"\nname_en = "A"\nname_zh = "A"\nthrough = ["Stock"]\n'
     '[[loop_families]]\nid = "a"\nname_en = "B"\nname_zh = "B"\nthrough = ["inflow"]\n',
     "loop_families[1].id"),
])
def test_card_errors_name_the_file_and_key(tmp_path, text, key):
    path = tmp_path / "card.toml"
    path.write_text("[[loop_families]]\n" + text, encoding="utf-8")
    with pytest.raises(InputFileError) as caught:
        load_card(path)
    assert caught.value.key == key
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_family_variables_are_checked_against_the_model(crowding):
    model, card, dom = crowding

    def family(*through: str) -> ModelCard:
        return ModelCard(card.path, loop_families=(FamilySpec("a", "A", "A", through),))

    with pytest.raises(UnknownVariableError, match="Did you mean 'effect'") as caught:
        loop_dominance(model, model.run(), card=family("Stock", "efect"), loops=dom.loops)
    message = str(caught.value)
    assert str(card.path) in message and "loop_families[0].through" in message
    assert "\n" not in message
    # A constant is a variable of the model but on no loop.
    with pytest.raises(InputFileError, match="on no feedback loop") as caught:
        loop_dominance(model, model.run(), card=family("capacity"), loops=dom.loops)
    assert isinstance(caught.value, SdkitError) and caught.value.key == (
        "loop_families[0].through")
    # Names match as elsewhere: case, spaces and underscores do not matter.
    ok = loop_dominance(model, model.run(), card=family("STOCK", "inflow "), loops=dom.loops,
                        window=0)
    assert sorted(ok.family_of.values()) == ["a", "a", OTHER]


# ------------------------------------------------------------------ coverage bound
def complete(n: int, w: float, steps: int = 2) -> np.ndarray:
    return np.broadcast_to(w * (np.ones((n, n)) - np.eye(n)), (steps, n, n)).copy()


def test_bounds_by_hand_on_complete_graphs():
    w = 0.5
    # Three variables: 3 two-link loops (w^2) and 2 three-link loops (w^3). Every closed
    # walk of length 2 or 3 is a loop, so the walk bound is exact; perm(I + W) = 1 + 3 w^2
    # + 2 w^3 too, and the Sinkhorn scaling of a symmetric matrix is uniform, which gives
    # the row-sum product (1 + 2w)^3.
    exact3 = 3 * w**2 + 2 * w**3
    np.testing.assert_allclose(walk_bound(complete(3, w)), exact3, rtol=1e-12)
    np.testing.assert_allclose(permanent_bound(complete(3, w)), (1 + 2 * w) ** 3 - 1,
                               rtol=1e-12)
    # Four variables: 6 loops of 2 links, 8 of 3 and 6 of 4. trace(W^k) = w^k (3^k +
    # 3 (-1)^k), so the walk bound is 6 w^2 + 8 w^3 + 21 w^4: the 4-link closed walks
    # include 15 per start that run a two-link loop twice or two of them.
    exact4 = 6 * w**2 + 8 * w**3 + 6 * w**4
    walk4 = 6 * w**2 + 8 * w**3 + 21 * w**4
    np.testing.assert_allclose(walk_bound(complete(4, w)), walk4, rtol=1e-12)
    np.testing.assert_allclose(permanent_bound(complete(4, w)), (1 + 3 * w) ** 4 - 1,
                               rtol=1e-12)
    nodes = "abcd"
    scores = {(a, b): np.full(2, w) for a, b in itertools.permutations(nodes, 2)}
    exact = total_loop_score(scores, nodes)
    assert exact.loops == 20
    np.testing.assert_allclose(exact.total, exact4, rtol=1e-12)
    np.testing.assert_allclose(loop_score_bound(scores, nodes), walk4, rtol=1e-12)


def test_bound_is_at_least_the_exact_total_on_random_graphs():
    rng = np.random.default_rng(11)
    for seed in range(6):
        graph = nx.gnp_random_graph(8, 0.45, seed=seed, directed=True)
        graph.add_edge(2, 2)
        graph = nx.relabel_nodes(graph, {i: f"v{i}" for i in graph})
        scores = {e: rng.normal(scale=2.0, size=6) for e in graph.edges}
        scores[next(iter(scores))][[0, 3]] = 0.0
        for part in nx.strongly_connected_components(graph):
            exact = total_loop_score(scores, part)
            bound = loop_score_bound(scores, part)
            assert exact is not None and bound is not None
            assert np.all(bound >= exact.total * (1 - 1e-9)), (seed, sorted(part))


def test_bound_on_a_three_variable_model_is_the_exact_total(folder):
    # The reduced graph is the complete graph on A, B, C (no self-loop): its closed walks
    # of 2 and 3 links are its 5 loops, so the bound is the exact total, link by link.
    model = sdkit.load_model(write(folder, "triangle", TRIANGLE))
    dom = loop_dominance(model, model.run(), window=0)
    exact = dom.totals[1]
    assert exact.loops == 5 and exact.reduced == 5 and not dom.bounds
    inside = {p: v for p, v in dom.links.items() if set(p) <= {"A", "B", "C"}}
    ls = {p: np.abs(v) for p, v in inside.items()}
    by_hand = (sum(ls[(a, b)] * ls[(b, a)] for a, b in [("A", "B"), ("B", "C"), ("A", "C")])
               + ls[("A", "B")] * ls[("B", "C")] * ls[("C", "A")]
               + ls[("A", "C")] * ls[("C", "B")] * ls[("B", "A")])
    np.testing.assert_allclose(exact.total, by_hand, rtol=1e-12)
    np.testing.assert_allclose(loop_score_bound(inside, {"A", "B", "C"}), by_hand, rtol=1e-9)
    # Beyond the reduction limit the bound is kept and the report quotes it (here 100%).
    limited = loop_dominance(model, model.run(), window=0, coverage_limit=1)
    assert limited.totals[1] is None
    np.testing.assert_allclose(limited.bounds[1], by_hand, rtol=1e-9)
    table = coverage_bound_table(limited)
    assert np.allclose(table["at_least"], 1.0)
    text = loops_markdown(limited, None, periods=2)  # no stages: two periods of the run
    assert "shows that the analysed loops carry at least" in text
    assert "| period | at least |" in text and "| 0-10 | 100.0% |" in text
    assert "| 10-20 | 100.0% |" in text
    assert loops_markdown(loop_dominance(model, model.run(), coverage_limit=0), None).count(
        "was not computed") == 1


def test_loops_engine_and_checks_take_the_models_ir(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    model = sdkit.load_model(write(tmp_path, "crowding", CROWDING))
    ir = model.ir

    def forbidden(*args, **kwargs):
        raise AssertionError("the model file was parsed again")

    monkeypatch.setattr("sdkit.ir.core.build_ir", forbidden)
    monkeypatch.setattr("sdkit.loops.graph.build_ir", forbidden)
    monkeypatch.setattr("sdkit.model.translation.read_abstract", forbidden)
    loops = find_loops(model, model.run())
    assert len(loops.loops) == 3
    from sdkit.engine import Ensemble

    assert Ensemble(model, cache=False).ir is ir
    assert set(causal_graph(ir).edges) >= {("Stock", "inflow"), ("effect", "inflow")}

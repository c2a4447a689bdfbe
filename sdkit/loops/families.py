"""Loop families: the many loops that run through one mechanism, reported together.

A large model has thousands of feedback loops that are near-copies of each other
(the empowerment model: more than 41,000 analysed), so the share of any single
loop says little.  A model card's ``[[loop_families]]`` names the mechanisms
instead, each by the variables its loops pass (``through``); a loop belongs to
the **first** family, in card order, whose variables it all passes, and to
``"other"`` when it passes no family's.  Long loops often pass the variables of
several families, so the card's order decides where they count;
:func:`passing` gives, for each family, every loop that passes its variables
whatever the order.

The family's share in a stage is the sum over its loops (main partition) of
their mean absolute relative score over the stage's time steps: a share of the
analysed loops' score, like every relative loop score (:func:`family_table`;
:func:`family_markdown` writes it for the report of :mod:`sdkit.loops.report`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sdkit.errors import InputFileError, UnknownVariableError
from sdkit.util.names import close_matches, normalize_name

if TYPE_CHECKING:
    from sdkit.loops.graph import LoopSet
    from sdkit.model.card import FamilySpec

__all__ = ["OTHER", "resolve_families", "assign_families", "passing", "family_frame",
           "family_table", "family_markdown"]

#: The family of the loops that pass no family's variables.
OTHER = "other"
_POLARITIES = ("reinforcing", "balancing", "undetermined")


def resolve_families(loops: LoopSet, families: Sequence[FamilySpec], source: str = ""
                     ) -> dict[str, frozenset[str]]:
    """Each family's ``through`` variables as the causal graph names them.

    Parameters
    ----------
    loops : LoopSet
    families : sequence of FamilySpec
        The card's families, in card order.
    source : str, optional
        The card file, for error messages.

    Returns
    -------
    dict of str to frozenset of str
        Family id -> variables (real names), in card order.

    Raises
    ------
    UnknownVariableError
        A name is not a variable of the model (with close matches).
    InputFileError
        A variable is on no feedback loop (a constant, a lookup, or a variable
        outside every loop), so the family could never have a loop.
    """
    nodes = {normalize_name(node): node for node in loops.graph.nodes}
    names = [v.name for v in loops.ir.variables.values()]
    known = {normalize_name(name) for name in names}
    on_loops = set().union(*loops.partitions) if loops.partitions else set()
    prefix = f"{source}, " if source else ""
    resolved: dict[str, frozenset[str]] = {}
    for i, family in enumerate(families):
        key = f"loop_families[{i}].through"
        members = set()
        for name in family.through:
            node = nodes.get(normalize_name(name))
            if node is None and normalize_name(name) not in known:
                raise UnknownVariableError(name, close_matches(name, names), f"{prefix}{key}")
            if node is None or node not in on_loops:
                raise InputFileError(
                    f"{prefix}{key}: {name!r} is on no feedback loop of the model, so family "
                    f"{family.id!r} could have no loop.", path=source or None, key=key)
            members.add(node)
        resolved[family.id] = frozenset(members)
    return resolved


def assign_families(loops: LoopSet, resolved: Mapping[str, frozenset[str]]) -> dict[str, str]:
    """Each loop's family: the first (in order) whose variables the loop all passes.

    Parameters
    ----------
    loops : LoopSet
    resolved : mapping of str to frozenset of str
        :func:`resolve_families`, in card order.

    Returns
    -------
    dict of str to str
        Loop id -> family id, or :data:`OTHER` for a loop that passes no family's variables.
    """
    out = {}
    for loop in loops.loops:
        variables = set(loop.variables)
        out[loop.id] = next((fid for fid, members in resolved.items() if members <= variables),
                            OTHER)
    return out


def passing(loops: LoopSet, resolved: Mapping[str, frozenset[str]]) -> dict[str, list[str]]:
    """Every loop that passes each family's variables, whatever the card's order.

    Parameters
    ----------
    loops : LoopSet
    resolved : mapping of str to frozenset of str
        :func:`resolve_families`.

    Returns
    -------
    dict of str to list of str
        Family id -> loop ids (a loop may be listed under several families).
    """
    sets = [(loop.id, set(loop.variables)) for loop in loops.loops]
    return {fid: [i for i, variables in sets if members <= variables]
            for fid, members in resolved.items()}


def family_frame(family_of: Mapping[str, str], order: Sequence[str], smoothed: pd.DataFrame,
                 rows: np.ndarray, ids: Sequence[str]) -> pd.DataFrame:
    """``time, family, score`` at the given rows: the summed window-mean ``|relative score|``.

    Parameters
    ----------
    family_of : mapping of str to str
        Loop id -> family id.
    order : sequence of str
        Family ids in card order (``OTHER`` is added last).
    smoothed : pandas.DataFrame
        Window means of ``|relative score|`` (index time, one column per loop).
    rows : numpy.ndarray
        Positions in ``smoothed.index`` to report.
    ids : sequence of str
        The loops summed (those of the main partition).

    Returns
    -------
    pandas.DataFrame
        One row per reported time and family (card order, then ``OTHER``);
        empty, with the columns, without families or loops.
    """
    columns = ["time", "family", "score"]
    if not order or not ids:
        return pd.DataFrame(columns=columns)
    picked = smoothed.iloc[rows]
    frames = []
    for fid in [*order, OTHER]:
        members = [i for i in ids if family_of.get(i) == fid]
        frames.append(pd.DataFrame({"time": np.asarray(picked.index, dtype=float),
                                    "family": fid,
                                    "score": picked[members].sum(axis=1).to_numpy(float)}))
    return pd.concat(frames, ignore_index=True)[columns]


def family_table(table: pd.DataFrame, family_of: Mapping[str, str], order: Sequence[str],
                 polarity: Mapping[str, str], through: Mapping[str, Sequence[str]]
                 ) -> pd.DataFrame:
    """Each family's share of the analysed loop score in every stage.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`sdkit.loops.report.stage_table` (main partition).
    family_of : mapping of str to str
        Loop id -> family id.
    order : sequence of str
        Family ids in card order.
    polarity : mapping of str to str
        Loop id -> computed polarity.
    through : mapping of str to sequence of str
        Family id -> the loops passing its variables (:func:`passing`).

    Returns
    -------
    pandas.DataFrame
        ``stage, start, end, family, share, reinforcing, balancing,
        undetermined, loops, passing, several``: the share (sum of the members'
        mean ``|relative score|``), its parts by loop polarity, the number of
        member loops, the share of the loops passing the family's variables
        whatever the order (NaN for ``other``), and the share of the stage held
        by loops matching several families (the same on every row of a stage).
    """
    columns = ["stage", "start", "end", "family", "share", *_POLARITIES, "loops", "passing",
               "several"]
    if table.empty or not order:
        return pd.DataFrame(columns=columns)
    frame = table.assign(family=table["loop"].map(lambda i: family_of.get(i, OTHER)),
                         polarity=table["loop"].map(polarity))
    matches = pd.Series(0, index=pd.Index(table["loop"].unique()))
    for members in through.values():
        matches[matches.index.isin(members)] += 1
    rows: list[dict[str, Any]] = []
    for stage, part in frame.groupby("stage", sort=True):
        several = float(part.loc[part["loop"].map(matches).to_numpy() > 1, "mean_abs"].sum())
        for fid in [*order, OTHER]:
            mine = part[part["family"] == fid]
            row = {"stage": int(stage), "start": float(part["start"].iloc[0]),
                   "end": float(part["end"].iloc[0]), "family": fid,
                   "share": float(mine["mean_abs"].sum()), "loops": len(mine),
                   "passing": float(part.loc[part["loop"].isin(through.get(fid, ())),
                                             "mean_abs"].sum()) if fid != OTHER else np.nan,
                   "several": several}
            for sign in _POLARITIES:
                row[sign] = float(mine.loc[mine["polarity"] == sign, "mean_abs"].sum())
            rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _cell(row: Any) -> str:
    parts = [f"{label} {100 * getattr(row, sign):.1f}" for label, sign in
             zip("RBU", _POLARITIES, strict=True) if getattr(row, sign) >= 5e-4]
    if row.share < 1e-3 or not parts:
        return _pct(row.share)
    return f"{_pct(row.share)} ({', '.join(parts)})"


def _character(row: Any) -> str:
    """The polarity of a family's share in plain words."""
    for sign in ("reinforcing", "balancing"):
        if getattr(row, sign) >= 2 / 3 * row.share:
            return f"mostly {sign} loops"
    return (f"reinforcing loops {100 * row.reinforcing:.1f} and balancing loops "
            f"{100 * row.balancing:.1f} points")


def _sentence(label: str, rows: pd.DataFrame, names: Mapping[str, str]) -> str:
    ranked = rows[rows["family"] != OTHER].sort_values("share", ascending=False, kind="stable")
    other = float(rows.loc[rows["family"] == OTHER, "share"].sum())
    lead = next(ranked.itertuples(index=False), None)
    if lead is None or lead.share <= 0:
        return f"{label}: no family's loops carry any score; other loops hold {_pct(other)}."
    text = f"{label}: " + (f"loops of no family hold the most ({_pct(other)}); of the "
                           "families, " if other > lead.share else "")
    text += (f"\"{names[lead.family]}\" leads with {_pct(lead.share)} of the analysed loop "
             f"score, {_character(lead)}")
    nexts = [f"\"{names[r.family]}\" ({_pct(r.share)})"
             for r in ranked.iloc[1:3].itertuples() if r.share >= 5e-4]
    if nexts:
        text += "; then " + " and ".join(nexts)
    return text + (f"; loops of no family hold {_pct(other)}." if other <= lead.share else ".")


def family_markdown(table: pd.DataFrame, specs: Sequence[FamilySpec],
                    columns: Mapping[int, str], sentences: Mapping[int, str],
                    word: str = "stage") -> list[str]:
    """Markdown lines: the families' shares per stage, a sentence per stage, the overlap.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`family_table`.
    specs : sequence of FamilySpec
        The card's families (their names and variables).
    columns : mapping of int to str
        Stage (or period) number -> its column header (``"stage 1"``, ``"0-25"``).
    sentences : mapping of int to str
        Stage (or period) number -> how its sentence starts
        (``"Stage 1 (platformization, 2015.00-2017.08)"``, ``"From 0 to 25 Day"``).
    word : str, default ``"stage"``
        What the spans are (``"period"`` for a run without stages).

    Returns
    -------
    list of str
        Empty when there are no families (the section is left out).
    """
    if table.empty or not specs:
        return []
    by_id = {spec.id: spec for spec in specs}
    names = {fid: spec.name_en for fid, spec in by_id.items()} | {OTHER: "other loops"}
    stages = sorted(table["stage"].unique())
    heads = [columns.get(int(s), f"stage {s}") for s in stages]
    lines = [
        "Loop families (the model card's `[[loop_families]]`): each analysed loop of the main "
        "partition counts for the first family, in card order, whose variables it all "
        f"passes, and for \"other\" when it passes no family's. A family's share in a {word} is "
        "the sum of its loops' mean |relative score| (a share of the analysed loops' score); "
        "in brackets, the percentage points of it held by reinforcing (R), balancing (B) and "
        "undetermined (U) loops.", "",
        "| family | passes | expected | loops | " + " | ".join(heads) + " |",
        "|" + "---|" * (4 + len(stages))]
    first = table[table["stage"] == stages[0]]
    for row in first.itertuples(index=False):
        spec = by_id.get(row.family)
        cells = [_cell(r) for r in table[table["family"] == row.family].itertuples(index=False)]
        head = (f"{spec.name_en} (`{spec.id}`) | {', '.join(spec.through)} | "
                f"{spec.polarity} | " if spec is not None else "other | (no family's) | | ")
        lines.append(f"| {head}{row.loops:,} | " + " | ".join(cells) + " |")
    lines.append("")
    for stage in stages:
        rows = table[table["stage"] == stage]
        label = sentences.get(int(stage), f"Stage {stage}")
        lines += [_sentence(label, rows, names), ""]
    several = ", ".join(_pct(table.loc[table["stage"] == s, "several"].iloc[0]) for s in stages)
    which = ", ".join(heads)
    if all(h == f"stage {s}" for h, s in zip(heads, stages, strict=True)):
        which = "stage " + ", ".join(str(s) for s in stages)
    lines += [
        f"Loops that pass the variables of more than one family hold {several} of the score "
        f"({which}), and each counts for the first of them only. Whatever the "
        "order, the loops that pass each family's variables hold:", "",
        "| family | " + " | ".join(heads) + " |", "|" + "---|" * (1 + len(stages))]
    for spec in specs:
        values = table[table["family"] == spec.id]["passing"]
        lines.append(f"| {spec.name_en} | " + " | ".join(_pct(v) for v in values) + " |")
    return [*lines, ""]

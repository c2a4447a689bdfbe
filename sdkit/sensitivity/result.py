"""The result of a sensitivity study, its files, and its Markdown summary.

A study folder ``OUT`` holds:

``manifest.json``
    What was run: spec name and path, fingerprint, method, sample size, seed,
    runs, chunk size, evaluator, parameters (with groups), outputs (with kinds),
    the final time, report settings, and whether the study is complete.
``chunks/chunk-00000.parquet``, ``chunks/chunk-00000.json`` ...
    The outputs of each chunk as it finished, and its record: the hash of its
    work, the SHA-256 digest of the Parquet file and its rows (see :mod:`.execute`).
``samples.parquet``, ``outputs.parquet``
    Parameter values and output values, one row per run (index ``run``).
``indices.csv``
    :attr:`SensitivityResult.indices`.
``bands.parquet``
    :attr:`SensitivityResult.bands`.
``summary.md``
    Title, the ranking table and the findings (:func:`findings_markdown`).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sdkit.errors import InputFileError
from sdkit.sensitivity.analyze import BAND_COLUMNS, INDEX_COLUMNS
from sdkit.util.files import MANIFEST, atomic_write, finished_manifest, write_text_atomic

__all__ = ["SensitivityResult", "save_result", "load_result", "findings_markdown",
           "summary_markdown", "importance", "MEASURES"]

#: The index that ranks parameters for each method, and how it is labelled.
MEASURES = {"sobol": ("ST", "total Sobol index ST"), "morris": ("mu_star", "Morris mu*"),
            "oat": ("delta", "one-at-a-time change"), "montecarlo": ("rho", "rank correlation"),
            "lhs": ("rho", "rank correlation")}


@dataclass(frozen=True)
class SensitivityResult:
    """Everything a sensitivity study produced.

    Attributes
    ----------
    indices : pandas.DataFrame
        One row per output and parameter; columns ``method, output, parameter,
        S1, S1_conf, ST, ST_conf, mu_star, mu_star_conf, sigma, delta, rho``
        (NaN where the method does not give the index; ``*_conf`` are confidence
        half-widths at the spec's ``conf_level``).
    bands : pandas.DataFrame
        Columns ``variable, time, p5, p25, p50, p75, p95``: percentiles over all
        runs of each band variable at each saved time.
    samples : pandas.DataFrame
        Parameter values, one row per run (index ``run``), a column per parameter.
    outputs : pandas.DataFrame
        Output values, one row per run (same index), a column per output.
    spec : SensitivitySpec or None
        The spec (None when loaded from a folder whose spec file is gone).
    manifest : dict
        The contents of ``manifest.json``.
    """

    indices: pd.DataFrame
    bands: pd.DataFrame
    samples: pd.DataFrame
    outputs: pd.DataFrame
    spec: Any = None
    manifest: dict[str, Any] = field(default_factory=dict)

    def ranking(self, output: str) -> pd.DataFrame:
        """The indices of one output, most important parameter first."""
        column = MEASURES[self.manifest.get("method", "morris")][0]
        rows = self.indices[self.indices["output"] == output].copy()
        rows["importance"] = rows[column].abs()
        return rows.sort_values("importance", ascending=False).reset_index(drop=True)


def importance(result: SensitivityResult) -> pd.DataFrame:
    """Parameters by outputs: the method's ranking index (absolute value)."""
    column = MEASURES[result.manifest["method"]][0]
    table = result.indices.pivot(index="parameter", columns="output", values=column).abs()
    params = [p["name"] for p in result.manifest["parameters"]]
    outputs = [o["name"] for o in result.manifest["outputs"]]
    return table.loc[params, outputs]


def save_result(result: SensitivityResult, folder: str | os.PathLike[str]) -> list[Path]:
    """Write the result files (not the chunks) into ``folder``, atomically each.

    ``manifest.json``, which marks the study complete, is written last.

    Raises
    ------
    OutputWriteError
        A file could not be written (its previous version is left intact).
    """
    out = Path(folder)
    return [
        atomic_write(out / "samples.parquet", lambda t: result.samples.to_parquet(t)),
        atomic_write(out / "outputs.parquet", lambda t: result.outputs.to_parquet(t)),
        atomic_write(out / "indices.csv", lambda t: result.indices.to_csv(t, index=False)),
        atomic_write(out / "bands.parquet",
                     lambda t: result.bands.to_parquet(t, index=False)),
        write_text_atomic(out / "summary.md", summary_markdown(result)),
        write_manifest(out, result.manifest),
    ]


def write_manifest(folder: Path, manifest: dict[str, Any]) -> Path:
    """Write ``manifest.json`` atomically (see :func:`sdkit.util.files.write_text_atomic`)."""
    return write_text_atomic(folder / MANIFEST, json.dumps(manifest, indent=1) + "\n")


def load_result(folder: str | os.PathLike[str]) -> SensitivityResult:
    """Read a finished study folder.

    Raises
    ------
    InputFileError
        If the folder lacks a file or the study did not finish.
    """
    out = Path(folder)
    manifest = finished_manifest(out, what="study", command="sdkit sensitivity {spec} -o {out}")
    try:
        indices = pd.read_csv(out / "indices.csv")
        bands = pd.read_parquet(out / "bands.parquet")
        samples = pd.read_parquet(out / "samples.parquet")
        outputs = pd.read_parquet(out / "outputs.parquet")
    except (OSError, ValueError) as err:
        raise InputFileError(f"Cannot read the study in {out}: {err}", path=str(out)) from err
    return SensitivityResult(indices[INDEX_COLUMNS], bands[BAND_COLUMNS], samples, outputs,
                             None, manifest)


def _num(value: float) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def _range(p: dict[str, Any]) -> str:
    """A parameter's distribution in a few characters."""
    kind = p["kind"]
    if kind == "levels":
        return "levels " + ", ".join(f"{v:g}" for v in p["levels"])
    if kind == "triangular":
        return f"triangular {p['low']:g}-{p['high']:g}, mode {p['mode']:g}"
    if kind == "normal":
        return (f"normal {p['mean']:g} ± {p['std']:g}, truncated to "
                f"{p['low']:g}-{p['high']:g}")
    return f"uniform {p['low']:g}-{p['high']:g}"


def _cell(row: pd.Series, method: str) -> str:
    if method == "sobol":
        return f"{_num(row['ST'])} ± {_num(row['ST_conf'])} (S1 {_num(row['S1'])})"
    if method == "morris":
        return f"{_num(row['mu_star'])} (σ {_num(row['sigma'])})"
    return _num(row[MEASURES[method][0]])


def findings_markdown(result: SensitivityResult) -> str:
    """The study's description, a ranking table, and one sentence per transition output."""
    m = result.manifest
    method = m["method"]
    column, label = MEASURES[method]
    groups = {p["name"]: p.get("group", "") for p in m["parameters"]}
    outputs = [o["name"] for o in m["outputs"]]
    base = m.get("scenario") or m.get("model")
    lines = [f"Study `{m['name']}`: {method}, sample size {m['samples']}, "
             f"{m['runs']} runs, seed {m.get('seed')}, base `{base}`, evaluator "
             f"`{m.get('evaluator')}`. Cells give the {label}"
             + (" ± its confidence half-width and the first-order index S1"
                if method == "sobol" else "")
             + (" and σ of the elementary effects, in the output's units per full range "
                "of the parameter" if method == "morris" else "") + ".", ""]
    lines.append("| parameter | group | varied as | " + " | ".join(outputs) + " |")
    lines.append("|---|---|---|" + "---|" * len(outputs))
    table = result.indices.set_index(["output", "parameter"])
    for p in m["parameters"]:
        cells = [_cell(table.loc[(o, p["name"])], method) for o in outputs]
        lines.append(f"| {p['name']} | {p.get('group', '')} | {_range(p)} | "
                     + " | ".join(cells) + " |")
    focus = m.get("report_group", "")
    final = m.get("final_time")
    unit = " years" if method in ("morris", "oat") else ""
    sentences = []
    for output in (o for o in m["outputs"] if o["kind"] == "transition"):
        ranked = result.ranking(output["name"])
        if ranked["importance"].isna().all():
            continue
        top = ranked.iloc[0]
        times = result.outputs[output["name"]]
        low, mid, high = (times.quantile(q) for q in (0.05, 0.5, 0.95))
        text = (f"- **{output['name']}**: median {mid:.2f}, 5-95 % of runs "
                f"{low:.2f}-{high:.2f}, reached within the run by {_reached(times, final)} "
                f"of runs. ")
        if focus:
            in_group = ranked[ranked["parameter"].map(groups) == focus]
            lead = in_group.iloc[0]
            text += (f"The {focus} lever that matters most is **{lead['parameter']}** "
                     f"({label} {_num(lead[column])}{unit}")
            if len(in_group) > 1:
                second = in_group.iloc[1]
                text += f"; next {second['parameter']}, {_num(second[column])}{unit}"
            text += "). "
        text += f"Most influential overall: {top['parameter']} ({_num(top[column])}{unit})."
        sentences.append(text)
    if sentences:
        lines += ["", *sentences]
    return "\n".join(lines)


def _reached(values: pd.Series, final: float | None) -> str:
    if final is None or values.empty:
        return "n/a"
    share = float(((values <= final) & values.notna()).mean())
    return f"{share:.0%}"


def summary_markdown(result: SensitivityResult) -> str:
    """``summary.md``: a title and :func:`findings_markdown`."""
    m = result.manifest
    title = m.get("title") or m["name"]
    text = f"# Sensitivity: {title}\n\n{findings_markdown(result)}\n"
    if not result.bands.empty:
        names = ", ".join(pd.unique(result.bands["variable"]))
        text += f"\nPercentile bands (p5-p95) over time in `bands.parquet`: {names}.\n"
    return text

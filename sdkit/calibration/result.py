"""The result of a calibration, its files and its reports.

A calibration folder ``OUT`` holds:

``manifest.json``
    What was run (spec, model, observations, fingerprint, seed, settings, the
    engine used), and once complete the optimum, sampler diagnostics, the number
    of model evaluations and the wall time of each stage.
``optimum.npz``, ``chain/chunk-NNNNN.npz`` (each with a ``.json`` digest record)
    The checkpoints a rerun resumes from (:mod:`sdkit.calibration.checkpoint`).
``estimates.parquet``, ``correlations.parquet``, ``observations.parquet``,
``bands.parquet``, ``posterior.parquet``, ``draws.parquet``
    The tables of :class:`CalibrationResult`.
``report.json``, ``report.md``
    The report: estimates with 90% intervals, parameters the data do not
    identify, strong correlations, the fit and the hindcast.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sdkit.errors import InputFileError
from sdkit.util.files import MANIFEST, atomic_write, finished_manifest, write_text_atomic

__all__ = ["CalibrationResult", "save_result", "load_result", "write_manifest",
           "report_markdown", "report_data", "MANIFEST"]

_TABLES = ("estimates", "correlations", "observations", "bands", "posterior", "draws")
#: Columns each table must have (the reports and the briefing read them).
_REQUIRED = {
    "estimates": ("parameter", "mode", "median", "q05", "q95", "prior_q05", "prior_q95",
                  "width_ratio", "identified"),
    "correlations": ("parameter", "other", "correlation"),
    "observations": ("id", "kind", "variable", "period", "role", "value", "at_mode",
                     "predictive_q05", "predictive_q95", "inside"),
    "bands": ("variable", "time", "q05", "q50", "q95"),
    "posterior": ("step", "walker", "log_prob"), "draws": (),
}
#: |correlation| from which a pair is listed in the report.
STRONG = 0.7


@dataclass(frozen=True)
class CalibrationResult:
    """Everything a calibration produced.

    Attributes
    ----------
    estimates : pandas.DataFrame
        One row per parameter: ``mode`` (the optimiser's), posterior ``median``,
        ``q05`` and ``q95`` (the 90% interval), ``mean``, ``sd``, the bounds and
        prior, the prior's 90% interval, ``width_ratio`` and ``identified``.
    correlations : pandas.DataFrame
        Pairwise posterior correlations (``parameter, other, correlation``).
    observations : pandas.DataFrame
        Every observation with its ``role`` (``train`` or ``holdout``), the
        prediction at the mode, posterior and predictive 90% bands and ``inside``.
    bands : pandas.DataFrame
        Posterior bands of the report's variables: ``variable, time, q05 ... q95``.
    posterior : pandas.DataFrame
        The kept sample: ``step, walker``, one column per parameter, ``log_prob``.
    draws : pandas.DataFrame
        The posterior draws behind the bands (one column per parameter).
    spec : CalibrationSpec or None
    manifest : dict
    """

    estimates: pd.DataFrame
    correlations: pd.DataFrame
    observations: pd.DataFrame
    bands: pd.DataFrame
    posterior: pd.DataFrame
    draws: pd.DataFrame
    spec: Any = None
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def hindcast(self) -> pd.DataFrame:
        """The held-out observations (empty without ``train_until``)."""
        return self.observations[self.observations["role"] == "holdout"]

    @property
    def not_identified(self) -> list[str]:
        """Parameters whose interval still covers most of the prior's."""
        return self.estimates.loc[~self.estimates["identified"], "parameter"].tolist()


def write_manifest(folder: Path, manifest: dict[str, Any]) -> Path:
    """Write ``manifest.json`` atomically."""
    return write_text_atomic(folder / MANIFEST, _json(manifest))


def save_result(result: CalibrationResult, folder: str | os.PathLike[str]) -> list[Path]:
    """Write the tables and reports into ``folder``, each atomically; the manifest last."""
    out = Path(folder)
    written = [_write_table(out / f"{name}.parquet", getattr(result, name)) for name in _TABLES]
    data = report_data(result)
    written.append(write_text_atomic(out / "report.json", _json(data)))
    written.append(write_text_atomic(out / "report.md", report_markdown(result)))
    written.append(write_manifest(out, result.manifest))
    return written


def _write_table(path: Path, table: pd.DataFrame) -> Path:
    return atomic_write(path, lambda target: table.to_parquet(target, index=False))


def load_result(folder: str | os.PathLike[str]) -> CalibrationResult:
    """Read a finished calibration folder.

    Raises
    ------
    InputFileError
        If the folder lacks a file or the calibration did not finish.
    """
    out = Path(folder)
    path = out / MANIFEST
    manifest = finished_manifest(out, what="calibration",
                                 command="sdkit calibrate {model} {spec} -o {out}")
    try:
        tables = {name: pd.read_parquet(out / f"{name}.parquet") for name in _TABLES}
    except (OSError, ValueError) as err:
        raise InputFileError(f"Cannot read the calibration in {out}: {err}",
                             path=str(out)) from err
    for name, columns in _REQUIRED.items():
        missing = [c for c in columns if c not in tables[name].columns]
        if missing:
            raise InputFileError(f"{out / (name + '.parquet')} lacks the columns {missing}; "
                                 "run the calibration again into a new folder.",
                                 path=str(out / f"{name}.parquet"), key=missing[0])
    for key, kind in (("evaluations", int), ("diagnostics", dict), ("seed", int)):
        if not isinstance(manifest.get(key), kind):
            raise InputFileError(f"{path}: {key} is not a {kind.__name__}; the manifest "
                                 "was edited or damaged.", path=str(path), key=key)
    return CalibrationResult(**tables, spec=None, manifest=manifest)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [_strict(row) for row in frame.to_dict(orient="records")]


def _date(value: float) -> str:
    return "n/a" if pd.isna(value) else f"{value:.2f}"


def report_data(result: CalibrationResult) -> dict[str, Any]:
    """The JSON report: manifest facts, estimates, strong correlations, fit and hindcast."""
    strong = result.correlations[result.correlations["correlation"].abs() >= STRONG]
    hindcast = result.hindcast
    keep = ("name", "title", "model", "observations", "train_until", "seed", "engine",
            "evaluations", "optimum", "diagnostics", "timings", "walkers", "sampler",
            "optimizer")
    return {**{k: result.manifest.get(k) for k in keep},
            "estimates": _records(result.estimates), "not_identified": result.not_identified,
            "strong_correlations": _records(strong),
            "observations": _records(result.observations.drop(columns=["source"])),
            "hindcast": {"held_out": len(hindcast),
                         "inside": int(hindcast["inside"].sum())}}


def _num(value: float) -> str:
    """Three significant digits, without exponents for everyday magnitudes."""
    if pd.isna(value):
        return "n/a"
    if value == 0 or 1e-3 <= abs(value) < 1000:
        return f"{value:.3g}"
    return f"{value:,.0f}" if abs(value) < 1e15 else f"{value:.3g}"


def _number(value: Any) -> float:
    """A manifest number, NaN where strict JSON stored ``null``."""
    return float(value) if isinstance(value, int | float) else float("nan")


def _bound(row: Any) -> str:
    side = getattr(row, "at_bound", "")
    return f"; at the {'lower' if side == 'low' else 'upper'} bound" if side else ""


def _strict(value: Any) -> Any:
    """``value`` with numpy scalars made Python ones and every NaN or infinity ``None``
    (strict JSON has neither)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(v) for v in value]
    return value


def _json(data: Any) -> str:
    return json.dumps(_strict(data), indent=1, allow_nan=False) + "\n"


def _chain_length(diag: dict[str, Any], sampler: dict[str, Any]) -> str:
    kept = (sampler.get("steps") or 0) - (sampler.get("burn") or 0)
    tau = _number(diag.get("tau_max"))
    if diag.get("long_enough") or not tau == tau:
        return "."
    return (f"; the kept chain is {kept / tau:.0f} autocorrelation times long, fewer than the "
            "50 emcee asks for before trusting the autocorrelation estimate itself, so the "
            "effective number of draws is approximate.")


def report_markdown(result: CalibrationResult, *, heading: str = "#") -> str:
    """A Markdown report (the one written as ``report.md``)."""
    m = result.manifest
    diag = m.get("diagnostics", {})
    lines = [f"{heading} Calibration: {m.get('title') or m.get('name', '')}", "",
             f"Model `{Path(str(m.get('model', ''))).name}`, observations "
             f"`{Path(str(m.get('observations', ''))).name}`, seed {m.get('seed')}, "
             f"train until {'the end' if m.get('train_until') is None else m['train_until']}"
             f", engine `{m.get('engine')}`: {m.get('evaluations', 0):,} model evaluations; "
             f"{m.get('walkers')} walkers x {m.get('sampler', {}).get('steps')} steps "
             f"(first {m.get('sampler', {}).get('burn')} discarded), acceptance "
             f"{_number(diag.get('acceptance')):.2f}, longest autocorrelation time "
             f"{_number(diag.get('tau_max')):.1f} steps, about "
             f"{_number(diag.get('effective_samples')):,.0f} effective draws"
             + _chain_length(diag, m.get("sampler", {})),
             "", f"{heading}# Estimates", "",
             "| parameter | mode | median | 90% interval | prior 90% | identified |",
             "|---|---|---|---|---|---|"]
    for row in result.estimates.itertuples():
        lines.append(f"| {row.parameter} | {_num(row.mode)} | {_num(row.median)} | "
                     f"[{_num(row.q05)}, {_num(row.q95)}] | [{_num(row.prior_q05)}, "
                     f"{_num(row.prior_q95)}] | {'yes' if row.identified else 'no'} "
                     f"({row.width_ratio:.0%} of prior{_bound(row)}) |")
    lines += ["", "*Identified*: the posterior 90% interval is narrower than 75% of the "
              "prior's. *At a bound*: the interval reaches within 1% of a bound, which then "
              "limits the estimate more than the data do.", ""]
    strong = result.correlations[result.correlations["correlation"].abs() >= STRONG]
    if len(strong):
        lines += [f"Strongly correlated pairs (|r| >= {STRONG}): " + "; ".join(
            f"{r.parameter} ~ {r.other} ({r.correlation:+.2f})" for r in strong.itertuples())
            + ".", ""]
    lines += observations_markdown(result, heading=heading + "#")
    return "\n".join(lines) + "\n"


def observations_markdown(result: CalibrationResult, *, heading: str = "##") -> list[str]:
    """The fit and hindcast table, held-out rows marked."""
    hindcast = result.hindcast
    lines = [f"{heading} Fit and hindcast", "",
             "| observation | kind | when | role | observed | model (mode) | "
             "predictive 90% | inside |", "|---|---|---|---|---|---|---|---|"]
    for row in result.observations.itertuples():
        num = _date if row.kind == "event" else _num
        lines.append(f"| {row.id} | {row.kind} | {row.period} | "
                     f"{'**held out**' if row.role == 'holdout' else 'train'} | "
                     f"{num(row.value)} | {num(row.at_mode)} | "
                     f"[{num(row.predictive_q05)}, {num(row.predictive_q95)}] | "
                     f"{'yes' if row.inside else '**no**'} |")
    if len(hindcast):
        lines += ["", f"Hindcast: {int(hindcast['inside'].sum())} of {len(hindcast)} "
                  "held-out observations inside their predictive 90% band."]
    return lines

"""Prove the XMILE exporter on the SDXorg conformance suite.

One job: for every Vensim model of the suite, export it to XMILE, run the XMILE
through PySD and compare with the model's reference output under the suite's
tolerance (:func:`sdkit.testing.assert_matches_reference`).  Each model lands
in exactly one list of a :class:`ConformanceReport`, checked in this order (the
cheap checks first, so refused models are never simulated):

``no_reference``
    The folder has no reference output to compare with.
``refused``
    The exporter raises :class:`~sdkit.errors.UnsupportedConstructError`.
``pysd_fails``
    PySD itself cannot parse the model or does not reproduce the reference
    output from the ``.mdl`` (outside the exporter's target).
``xmile_fails``
    The exported XMILE fails the structural checks of :mod:`sdkit.xmile.check`,
    or PySD runs the ``.mdl`` correctly but not the exported XMILE.
``passes``
    Both match the reference output.

:func:`render_block` writes the report as the Markdown block that
``docs/formats.md`` keeps between ``<!-- xmile-conformance:begin/end -->``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sdkit.errors import SdkitError, UnsupportedConstructError

__all__ = ["ConformanceReport", "check_suite", "render_block", "BLOCK"]

#: Name of the generated block in docs/formats.md.
BLOCK = "xmile-conformance"


@dataclass
class ConformanceReport:
    """Outcome per model (paths relative to the suite root, with a short reason).

    ``constructs`` gives the refused construct of each model in ``refused``.
    """

    no_reference: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    constructs: dict[str, str] = field(default_factory=dict)
    pysd_fails: dict[str, str] = field(default_factory=dict)
    xmile_fails: dict[str, str] = field(default_factory=dict)
    passes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Number of Vensim models looked at."""
        return (len(self.no_reference) + len(self.refused) + len(self.pysd_fails)
                + len(self.xmile_fails) + len(self.passes))

    def summary(self) -> str:
        """Plain-text lists, for printing from a test."""
        lines = [f"XMILE conformance: {len(self.passes)} pass of {self.total} Vensim models"]
        for title, items in (("passes", self.passes), ("no reference output", self.no_reference),
                             ("exporter refuses", self.refused), ("PySD fails", self.pysd_fails),
                             ("XMILE fails", self.xmile_fails)):
            lines.append(f"{title} ({len(items)}):")
            for item in items:
                reason = items[item] if isinstance(items, dict) else ""
                lines.append(f"  {item}" + (f": {reason}" if reason else ""))
        return "\n".join(lines)


def _short(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def check_model(path: Path, workdir: Path) -> tuple[str, str, str]:
    """Check one Vensim model.

    Returns
    -------
    tuple of str
        ``(outcome, reason, construct)``: the list the model belongs to (see the
        module docstring), why, and the refused construct (``""`` unless refused).
    """
    import sdkit
    from sdkit.testing import assert_matches_reference, read_reference_output
    from sdkit.xmile.check import xmile_problems
    from sdkit.xmile.writer import export_xmile

    try:
        reference = read_reference_output(path.parent)
    except FileNotFoundError:
        return "no_reference", "", ""
    target = workdir / (path.stem + ".xmile")
    try:
        export_xmile(path, target)
    except UnsupportedConstructError as err:
        return "refused", _short(err), err.construct
    except SdkitError as err:  # PySD cannot parse the model at all
        return "pysd_fails", _short(err), ""
    problems = xmile_problems(target)
    if problems:
        return "xmile_fails", "structure: " + _short(ValueError("; ".join(problems))), ""
    for outcome, model in (("pysd_fails", path), ("xmile_fails", target)):
        try:
            assert_matches_reference(sdkit.load_model(model).run(), reference)
        except (AssertionError, SdkitError) as err:
            return outcome, _short(err), ""
    return "passes", "", ""


def check_suite(root: str | os.PathLike[str], workdir: str | os.PathLike[str],
                progress: Callable[[str, str], None] | None = None) -> ConformanceReport:
    """Check every ``.mdl`` model under ``root``, writing the XMILE files into ``workdir``.

    Parameters
    ----------
    root : path-like
        The suite's root (:func:`sdkit.testing.conformance_root`).
    workdir : path-like
        An empty folder for the exported files (one sub-folder per model).
    progress : callable, optional
        Called with ``(relative path, outcome)`` after each model.

    Returns
    -------
    ConformanceReport
    """
    root, workdir = Path(root), Path(workdir)
    report = ConformanceReport()
    for index, path in enumerate(sorted(root.rglob("*.mdl"))):
        relative = path.relative_to(root).as_posix()
        folder = workdir / f"{index:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        outcome, reason, construct = check_model(path, folder)
        if construct:
            report.constructs[relative] = construct
        target = getattr(report, outcome)
        if isinstance(target, dict):
            target[relative] = reason
        else:
            target.append(relative)
        if progress is not None:
            progress(relative, outcome)
    return report


def render_block(report: ConformanceReport) -> str:
    """The Markdown block of ``docs/formats.md`` (counts and model lists)."""
    def listing(items: list[str] | dict[str, str]) -> str:
        return ", ".join(f"`{item}`" for item in items) or "none"

    refused: dict[str, list[str]] = {}
    for model in report.refused:
        refused.setdefault(report.constructs.get(model, "?"), []).append(model)
    rows = [
        f"**{len(report.passes)} of {report.total}** Vensim models of the suite pass "
        "(exported, run through PySD and matched with the reference output).",
        "",
        "| outcome | models | count |",
        "|---|---|---|",
        f"| passes | {listing(report.passes)} | {len(report.passes)} |",
        f"| XMILE fails | {listing(report.xmile_fails)} | {len(report.xmile_fails)} |",
        f"| PySD fails (on the `.mdl`) | {listing(report.pysd_fails)} "
        f"| {len(report.pysd_fails)} |",
        f"| no reference output | {listing(report.no_reference)} "
        f"| {len(report.no_reference)} |",
    ]
    for construct in sorted(refused):
        models = refused[construct]
        rows.append(f"| refused: {construct} | {listing(models)} | {len(models)} |")
    return "\n" + "\n".join(rows) + "\n"

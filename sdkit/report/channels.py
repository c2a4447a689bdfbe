"""Renderings of a channel decomposition (:mod:`sdkit.analysis.channels`): a Markdown
table for people and strict JSON for programs (``sdkit channels``)."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sdkit.analysis.channels import ChannelDecomposition

__all__ = ["channels_text", "channels_json"]


def _percent(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{100 * value:.1f}%"


def channels_text(result: ChannelDecomposition) -> str:
    """A Markdown table: one row per window, the share of each channel and the residual."""
    from sdkit.analysis.channels import OTHER, RESIDUAL

    what = f"ln({result.output})" if result.log else result.output
    run = f"scenario {result.scenario!r}" if result.scenario else "the baseline run"
    lines = [f"Channel decomposition of the change of {what}, {run}, trapezoids every "
             f"{result.time_step:g}; f(leaves) reproduces the output to "
             f"{result.fit_error:.1e} (relative).", ""]
    channels = [*result.groups, OTHER]
    lines.append("| window | start | end | change | " + " | ".join(channels)
                 + f" | {RESIDUAL} |")
    lines.append("|---|---:|---:|---:|" + "---:|" * (len(channels) + 1))
    for w in result.windows:
        shares = w.shares
        cells = [w.label, f"{w.start:g}", f"{w.end:g}", f"{w.change:.4g}",
                 *(_percent(shares[c]) for c in channels),
                 "n/a" if not math.isfinite(w.relative_residual)
                 else f"{100 * w.relative_residual:.2g}%"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Leaves that change, by channel:"]
    for channel in channels:
        leaves = [leaf for leaf, c in result.leaves.items()
                  if c == channel and any(w.leaves[leaf] != 0 for w in result.windows)]
        lines.append(f"- {channel}: {', '.join(leaves) if leaves else '(none)'}")
    return "\n".join(lines)


def channels_json(result: ChannelDecomposition) -> str:
    """The whole result as strict JSON (NaN as ``null``), with each window's shares."""
    data = dataclasses.asdict(result)
    for window, source in zip(data["windows"], result.windows, strict=True):
        window["shares"] = source.shares
        window["relative_residual"] = source.relative_residual

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value

    return json.dumps(clean(data), indent=2, ensure_ascii=False, allow_nan=False)

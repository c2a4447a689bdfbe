"""Script planted in files: payloads, and a model, card and scenarios that carry them.

Every text field gets :data:`PAYLOAD`, which joins four ways a text could run
script or become markup in a page: an ``<img>`` whose error handler runs, a
``<script>`` element, a quote that leaves an attribute for an ``<svg>`` whose
load handler runs, and TeX that MathJax (as Bokeh uses it) turns into a
``javascript:`` link. Each sets ``window.__pwned`` and the document title when
it runs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import synthetic
from conftest import EMPOWERMENT_MDL

PAYLOADS = (
    "<img src=x onerror=\"window.__pwned=1;document.title='pwned'\">",
    "<script>window.__pwned=1;document.title='pwned'</script>",
    "\"><svg onload=\"window.__pwned=1;document.title='pwned'\">",
    "$$\\href{javascript:window.__pwned=1;document.title='pwned'}{x}$$",
)
PAYLOAD = " ".join(PAYLOADS)
#: Fragments that appear only when a payload is left as markup or TeX.
LIVE = ("<img src=x", "<script>window", "<svg onload", "$$\\href")
#: A constant whose comment (and so the briefing's parameter table) carries the payload.
COMMENTED = "talent budget share"


def planted(label: str) -> str:
    """``label`` followed by every payload (tells where a text came from)."""
    return f"{label} {PAYLOAD}"


def _toml(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


def plant_model(folder: Path) -> Path:
    """Copy the empowerment model and its card into ``folder`` with script in every name.

    The card's titles, stage names, loop ids and loop names and the comment of
    :data:`COMMENTED` in the model carry :data:`PAYLOAD`.

    Returns
    -------
    Path
        The planted model file.
    """
    folder.mkdir(parents=True, exist_ok=True)
    text = EMPOWERMENT_MDL.read_text("utf-8")
    head = f"\n{COMMENTED}=\n"
    start = text.index(head) + len(head)
    end = text.index("\t|", start)
    value, units, _ = text[start:end].split("\t~\t")
    text = text[:start] + "\t~\t".join([value, units, planted("Comment") + "\n"]) + text[end:]
    model = folder / EMPOWERMENT_MDL.name
    model.write_text(text, encoding="utf-8")
    card = EMPOWERMENT_MDL.with_suffix(".toml").read_text("utf-8")
    card = re.sub(r'^(title_en|title_zh|name_en|name_zh|id) = "(.*)"$',
                  lambda m: f"{m[1]} = {_toml(planted(m[2]))}", card, flags=re.MULTILINE)
    model.with_suffix(".toml").write_text(card, encoding="utf-8")
    reference = EMPOWERMENT_MDL.with_name("empowerment-reference-modes.csv")
    (folder / reference.name).write_bytes(reference.read_bytes())  # named by the card
    return model


def plant_scenarios(folder: Path, model: Path) -> Path:
    """Two scenario files (``baseline`` and ``other``) on ``model`` with planted titles.

    Returns
    -------
    Path
        The folder holding them.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for name, constants in (("baseline", ""), ("other", '\n[constants]\n"attrition rate" = 0.2\n')):
        (folder / f"{name}.toml").write_text(
            f"name = {_toml(name)}\nmodel = {_toml(str(model))}\n"
            f"[title]\nen = {_toml(planted(name))}\nzh = {_toml(planted(name + '（中文）'))}\n"
            f"[description]\nen = {_toml(planted('why'))}\nzh = {_toml(planted('依据'))}\n"
            + constants, encoding="utf-8")
    return folder


def sensitivity() -> synthetic.FakeSensitivity:
    """A synthetic sensitivity result whose parameter, output and variable names are planted."""
    result = synthetic.sensitivity()
    indices = result.indices.assign(parameter=[planted(p) for p in result.indices["parameter"]],
                                    output=planted("output"))
    bands = result.bands.assign(variable=planted("variable"))
    return synthetic.FakeSensitivity(indices, bands)

"""Model text for readers: the model's sectors and its comments in one language.

:func:`model_sectors` reads the sectors a model file groups its variables into
(Vensim's ``.Group`` headings; XMILE ``<group>`` elements), for tables that list
variables sector by sector. :func:`comment_in` keeps the part of a bilingual
comment written in one language: the empowerment model's comments read
"人才预算比例 Share of the budget for people."; the English page shows "Share of
the budget for people.", the Chinese page "人才预算比例". No model is run and no
text is executed. What the Chinese leaves behind on the English side is tidied
(:func:`english_part`): empty brackets and quotes, a slash or colon that joined the two
languages, a separator at either end or before a full stop, a Chinese term's English
gloss in brackets put in its place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from sdkit.util.names import normalize_name

__all__ = ["model_sectors", "vensim_sectors", "xmile_sectors", "comment_in", "english_part",
           "has_cjk"]

#: A run of Chinese (CJK) text: ideographs, CJK and full-width punctuation, with digits,
#: spaces and a few signs between them.
_CJK = "\u2e80-\u2fdf\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_RUN = re.compile(f"[{_CJK}]+(?:[0-9 .\\-→·/]*[{_CJK}]+)*")
_GROUP = re.compile(r"^\*{5,}\s*\n\s*\.([^\n]+?)\s*\n\*{5,}~", re.MULTILINE)
_SKETCH = "\\\\\\---///"
_LHS_END = re.compile(r"[=(\[~:]")
#: Where a Chinese run was (a control character no model text holds).
_GAP = "\x00"
_SEP = r"[,;:/|\-\u2013\u2014]"
_FILL = rf"(?:\s|{_GAP}|{_SEP}|\b(?:or|and)\b)*"
_TIDY = [
    # a Chinese term followed by its English gloss in brackets: the gloss takes its place
    (re.compile(rf"(^|[,;/(]\s*){_GAP}\s*\(([^()]*)\)"), r"\1\2"),
    # a slash or bar between the two languages ("人才 / Talent", "Talent / 人才")
    (re.compile(rf"(^|[(\[,;:.]\s*){_GAP}\s*[/|]\s*"), r"\1"),
    (re.compile(rf"\s*[/|]\s*{_GAP}\s*(?=$|[)\],;:.])"), ""),
    # brackets left with nothing in them but gaps, separators, "or", "and"; quotes that held
    # only Chinese
    (re.compile(rf"[(\[{{]{_FILL}[)\]}}]"), " "),
    (re.compile(rf"[\u201c\u2018\"']{_FILL}{_GAP}{_FILL}[\u201d\u2019\"']"), " "),
    (re.compile(_GAP), " "),
    # a separator right inside a bracket, or doubled
    (re.compile(rf"([(\[])\s*(?:{_SEP}\s*)+"), r"\1"),
    (re.compile(rf"\s*(?:{_SEP}\s*)+([)\]])"), r"\1"),
    (re.compile(r"\s*([,;:])(?:\s*[,;:])+"), r"\1"),
    # a separator before a full stop, space before punctuation, after an opening bracket
    (re.compile(rf"\s*{_SEP}+\s*([.!?])"), r"\1"),
    (re.compile(r"([(\[])\s+"), r"\1"),
    (re.compile(r"\s+([)\],.;:!?])"), r"\1"),
    (re.compile(r"\s+([/|])(?=\S)"), r"\1"),
    (re.compile(r"\s{2,}"), " "),
]
_LEADING = re.compile(r"^(?:[\s,.;:/|)\]}]|[-\u2013\u2014](?=\s))+")
_TRAILING = re.compile(r"(?:[\s,;:/|(\[{]|(?<=\s)[-\u2013\u2014])+$")


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds Chinese (CJK) characters."""
    return _CJK_RUN.search(text) is not None


def comment_in(comment: str, lang: str) -> str:
    """The part of a model comment in ``lang``.

    Parameters
    ----------
    comment : str
        A variable's comment, possibly "中文 English" mixed.
    lang : str
        ``"en"``: the comment without its Chinese runs (and the brackets they leave
        empty); ``"zh"``: its Chinese runs joined by "；" (the whole comment when it
        has none, since the model gives nothing else to show).

    Returns
    -------
    str
    """
    runs = [run.strip() for run in _CJK_RUN.findall(comment)]
    if lang == "zh":
        return "；".join(dict.fromkeys(r for r in runs if r)) or comment.strip()
    return english_part(comment)


def english_part(text: str) -> str:
    """``text`` without its Chinese runs, tidied so that it reads as English.

    Brackets and quotes left empty are dropped, a slash or bar that joined the two
    languages goes with the Chinese, a Chinese term's English gloss in brackets takes the
    term's place ("平台化 (platformization)" -> "platformization"), and separators left at
    either end, doubled, inside a bracket or before a full stop are removed. Text without
    Chinese is returned with its spaces tidied only.

    Parameters
    ----------
    text : str
        A comment, name or title, possibly "中文 English" mixed.

    Returns
    -------
    str
        The English part ("" when there is none).
    """
    if not has_cjk(text):
        return " ".join(text.split())
    tidy = _CJK_RUN.sub(_GAP, text.replace(_GAP, " "))
    for pattern, replacement in _TIDY:
        tidy = pattern.sub(replacement, tidy)
    return _TRAILING.sub("", _LEADING.sub("", tidy.strip()))


def _lhs(equation: str) -> str:
    """The name an equation defines (before ``=``, ``(``, ``[``, ``:`` or ``~``)."""
    text = equation.replace("\\\n", " ")
    match = _LHS_END.search(text)
    return " ".join((text[:match.start()] if match else text).split())


def vensim_sectors(text: str) -> dict[str, str]:
    """Variable name (as written) -> the ``.Group`` heading above it, in a Vensim file.

    Parameters
    ----------
    text : str
        The ``.mdl`` file's text.
    """
    equations = text.split(_SKETCH, 1)[0]
    sector = ""
    found: dict[str, str] = {}
    for block in equations.split("|"):
        heading = _GROUP.search(block)
        if heading:
            sector = heading.group(1).strip()
            continue
        body = block.strip()
        if body.startswith("{"):
            body = body.split("}", 1)[-1].strip()
        name = _lhs(body)
        if name and sector:
            found.setdefault(name, sector)
    return found


def xmile_sectors(text: str) -> dict[str, str]:
    """Variable name -> group, from XMILE ``<group name="..."><entity name="..."/>``."""
    from xml.etree import ElementTree

    try:
        root = ElementTree.fromstring(text)  # noqa: S314 - the model was validated on load
    except ElementTree.ParseError:
        return {}
    found: dict[str, str] = {}
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] != "group" or not element.get("name"):
            continue
        for entity in element:
            name = entity.get("name")
            if entity.tag.rsplit("}", 1)[-1] == "entity" and name:
                found.setdefault(name.replace("_", " "), str(element.get("name")))
    return found


def model_sectors(path: str | Path, variables: Iterable[str]) -> dict[str, str]:
    """The sector of each of a model's variables, from its file's groups.

    Parameters
    ----------
    path : str or Path
        The model file (``.mdl``, or XMILE).
    variables : iterable of str
        The model's real variable names.

    Returns
    -------
    dict of str to str
        Real variable name -> sector, for the variables whose sector the file gives
        (empty for a file without groups).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    raw = vensim_sectors(text) if path.suffix.lower() == ".mdl" else xmile_sectors(text)
    by_key = {normalize_name(name): sector for name, sector in raw.items()}
    return {name: by_key[normalize_name(name)] for name in variables
            if normalize_name(name) in by_key}

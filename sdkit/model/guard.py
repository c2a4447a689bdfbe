"""Untrusted model files: what sdkit lets PySD read, build and import.

PySD 3.14 parses a model file into an abstract model, writes Python source from
it through string templates, and imports that source. A field of the model file
that reaches a template unescaped (a comment in a docstring, a file name in
``r'%s'``, an unknown function name) can close the literal and add code, which
then runs when the model is loaded. sdkit never trusts the text PySD writes;
it controls every step instead (threat model and design in ``docs/security.md``):

1. **Reading** (:func:`vensim_encoding`, :func:`check_xmile_bytes`,
   :func:`safe_translators`): PySD is told the encoding explicitly, from an
   allow-list, so nothing decodes the file differently from PySD; XMILE files with
   a DTD or entity declaration are refused before any XML parser sees them; PySD's
   parsers evaluate literals only (their ``eval`` becomes ``ast.literal_eval``).
2. **Building** (:func:`make_inert`): the parsed abstract model is checked and
   made inert before PySD's builder runs. Documentation (the one free-text field
   PySD writes raw) loses the characters that could end a docstring; every other
   string that a template could write raw (file names, sheet names, cells,
   subscript names, names of unknown functions) must be plain text or the model
   is refused, naming the variable.
3. **Importing** (:mod:`sdkit.model.audit`): every generated module, the main one and
   each macro's, is parsed and checked node by node against an allow-list of what
   PySD's builder emits, when it is built and again before every import.

Comments and units are kept verbatim for sdkit's own metadata: they are read from
the abstract model before step 2 (see :func:`sdkit.ir.structure.summarize`).
"""

from __future__ import annotations

import ast
import dataclasses
import operator
import re
from pathlib import Path
from typing import Any

from sdkit.errors import ModelParseError, UnsafeModelError
from sdkit.model import audit

__all__ = [
    "REVISION",
    "ENCODINGS",
    "XML_DECLARATION",
    "vensim_encoding",
    "check_xmile_bytes",
    "literal_eval",
    "safe_translators",
    "make_inert",
    "audit_generated",
    "audit_translation",
]

#: Part of the translation cache key: a translation made under older rules is
#: never reused.
REVISION = 2

#: Vensim ``{ENCODING}`` headers sdkit accepts (lower case): ASCII-compatible
#: codecs in which every byte below 0x80 means its ASCII character, so quotes,
#: ``|`` and ``~`` are what they look like. UTF-7 and UTF-16/32 are refused.
ENCODINGS = frozenset({
    "utf-8", "utf8", "ascii", "us-ascii", "latin-1", "latin1", "iso-8859-1", "cp1252",
    "windows-1252", "gbk", "gb2312", "gb18030", "cp936",
})

_HEADER = re.compile(rb"\A(?:\xef\xbb\xbf)?[ \t]*\{([^}\r\n]{0,40})\}")
#: An XML DTD or entity declaration (matched on the bytes: the pattern is ASCII).
XML_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.I)
#: Text a template may write raw between quotes: no quote, backslash or control
#: character (so it can neither close the literal nor escape out of it), and no
#: ``%`` (PySD %-formats some code it has already built, e.g. a lookup call whose
#: dimension names are in it: a name holding ``%(0)s`` would pull code in).
_PLAIN = re.compile(r"[^'\"\\%\x00-\x1f\x7f\u2028\u2029]*")
_DOC_UNSAFE = re.compile(r"[\"\\\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def vensim_encoding(data: bytes, source: Path) -> str:
    """Return the encoding PySD must use for a Vensim file, from its header.

    Parameters
    ----------
    data : bytes
        The ``.mdl`` file's bytes.
    source : pathlib.Path
        The file, for messages.

    Returns
    -------
    str
        The header's encoding (``"utf-8"`` when there is none).

    Raises
    ------
    ModelParseError
        The header names an encoding outside :data:`ENCODINGS`.
    """
    match = _HEADER.match(data)
    if match is None:
        return "utf-8"
    name = match.group(1).decode("ascii", "replace").strip()
    if name.lower().replace("_", "-") not in ENCODINGS:
        known = ", ".join(sorted({"UTF-8", "ASCII", "latin-1", "cp1252", "GBK", "GB18030"}))
        raise ModelParseError(
            f"{source} declares the encoding {{{name}}}, which sdkit does not read; "
            f"save the model as UTF-8 (or one of {known})."
        )
    return name


def check_xmile_bytes(data: bytes, source: Path) -> None:
    """Refuse an XMILE file that is not UTF-8 or that declares a DTD or entities.

    PySD parses XMILE as UTF-8 whatever the file declares; sdkit checks the same
    text PySD will parse.

    Raises
    ------
    ModelParseError
        The bytes are not UTF-8.
    UnsafeModelError
        A ``<!DOCTYPE``, ``<!ENTITY``, ``<!ELEMENT`` or ``<!ATTLIST`` declaration
        (entity expansion and external entities are refused).
    """
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ModelParseError(
            f"{source} is not UTF-8 text (byte {err.start}); XMILE files must be UTF-8."
        ) from err
    found = XML_DECLARATION.search(data)
    if found:
        kind = found.group(1).decode("ascii").upper()
        raise UnsafeModelError(
            f"{source} contains an XML <!{kind} declaration; XMILE files "
            "with a DTD or entity declarations are refused."
        )


def literal_eval(text: str) -> Any:
    """What PySD's translators may ``eval``: literals and numeric arithmetic only.

    PySD 3.14's Vensim and XMILE translators call the builtin ``eval`` on text
    matched by their grammars (lookup ranges and points, numbers, constant
    expressions such as ``5 - 2``, strings); the lookup-range grammar admits far
    more, so a model file could run code *while it is parsed*, before any
    generated module exists. :func:`safe_translators` replaces that ``eval`` with
    this function, which walks the expression's syntax tree and accepts only
    numbers, strings, tuples, lists, unary ``+``/``-`` and binary ``+ - * /`` on
    numbers: it never calls, imports or looks up anything.

    Raises
    ------
    UnsafeModelError
        The text is anything else.
    """
    try:
        tree = ast.parse(text.strip(), mode="eval")
        return _literal(tree.body)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError,
            ArithmeticError) as err:
        raise UnsafeModelError(
            f"The model contains {text.strip()[:60]!r} where PySD's parser expects a number, "
            "a string or a list of numbers; refused."
        ) from err


_ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
               ast.Div: operator.truediv}


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float, str):
        return node.value
    if isinstance(node, ast.Tuple | ast.List):
        items = [_literal(item) for item in node.elts]
        return tuple(items) if isinstance(node, ast.Tuple) else items
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _number(_literal(node.operand))
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
        left, right = _number(_literal(node.left)), _number(_literal(node.right))
        return _ARITHMETIC[type(node.op)](left, right)
    raise ValueError(f"not a literal: {type(node).__name__}")


def _number(value: Any) -> int | float:
    if type(value) not in (int, float):
        raise TypeError("arithmetic on a non-number")
    return value


def safe_translators() -> None:
    """Make PySD's translator modules use :func:`literal_eval` for ``eval``.

    The modules look up ``eval`` in their own globals before the builtins, so
    setting it there changes nothing else in the process. Idempotent; called by
    :func:`sdkit.model.translation.read_abstract` before every parse.
    """
    from pysd.translators.vensim import vensim_element
    from pysd.translators.xmile import xmile_element

    for module in (vensim_element, xmile_element):
        if getattr(module, "eval", None) is not literal_eval:
            module.eval = literal_eval


def make_inert(abstract: Any) -> None:
    """Make PySD's abstract model safe to give to PySD's builder (in place).

    Parameters
    ----------
    abstract : pysd AbstractModel
        As returned by ``get_abstract_model()``; every section (the model and
        its macros) is treated.

    Raises
    ------
    UnsafeModelError
        A string that a code template would write raw contains a quote,
        backslash or control character; the message names the variable.
    """
    from pysd.builders.python.python_functions import functionspace

    macros = {section.name for section in abstract.sections[1:]}
    for section in abstract.sections:
        known = _pysd_names(section) | macros | set(functionspace) | {"a_function_of"}
        _check_plain(section.name, f"the macro name {section.name!r}")
        for name in [*(getattr(section, "params", ()) or ()),
                     *(getattr(section, "returns", ()) or ())]:
            _check_plain(name, f"the macro parameter {name!r}")  # written as '%s': lambda
        for subscript in getattr(section, "subscripts", ()) or ():
            _walk(subscript, f"subscript range {subscript.name!r}", known)
        for element in section.elements:
            element.documentation = _DOC_UNSAFE.sub(_doc_replacement, element.documentation or "")
            if any(type(c).__name__ == "AbstractData" for c in element.components):
                _check_plain(element.name, f"the data variable {element.name!r}")  # TabData('%s')
            for component in element.components:
                _walk(component, f"variable {element.name!r}", known)


def _pysd_names(section: Any) -> set[str]:
    """The references PySD's builder resolves to identifiers: its own ``cleanspace``,
    built exactly as ``SectionBuilder.build_section`` builds it. A reference outside
    it (and outside the function and macro tables) is written as raw text."""
    from pysd.builders.python.namespace import NamespaceManager

    namespace = NamespaceManager(list(getattr(section, "params", ()) or ()))
    for element in section.elements:
        namespace.add_to_namespace(element.name)
    return set(namespace.cleanspace)


def _doc_replacement(match: re.Match[str]) -> str:
    return {'"': "\u201d", "\\": "/"}.get(match.group(0), " ")


def _walk(node: Any, owner: str, known: set[str]) -> None:
    """Check every string below ``node`` (dataclasses, sequences, mappings)."""
    if isinstance(node, str):
        _check_plain(node, owner)
    elif type(node).__name__ == "ReferenceStructure":
        if node.reference not in known:
            _check_plain(node.reference, owner)
        _walk(getattr(node, "subscripts", None), owner, known)
    elif dataclasses.is_dataclass(node) and not isinstance(node, type):
        for field in dataclasses.fields(node):
            _walk(getattr(node, field.name, None), owner, known)
    elif isinstance(node, dict):
        for key, value in node.items():
            _walk(key, owner, known)
            _walk(value, owner, known)
    elif isinstance(node, list | tuple | set | frozenset):
        for item in node:
            _walk(item, owner, known)


def _check_plain(text: str, owner: str) -> None:
    if not _PLAIN.fullmatch(text):
        raise UnsafeModelError(
            f"The equation of {owner} contains the text {text[:60]!r} with a quote, backslash, "
            "% or control character where PySD writes text into Python code; refused."
        )


def audit_generated(py_file: str | Path) -> None:
    """Audit one module PySD wrote (see :mod:`sdkit.model.audit`)."""
    audit.audit_file(py_file)


def audit_translation(folder: str | Path) -> int:
    """Audit every module of a translation folder (main module and macros).

    Returns
    -------
    int
        The number of modules audited.

    Raises
    ------
    UnsafeModelError
        If any module contains a construct outside the allow-list, or none exists.
    """
    count = audit.audit_folder(folder)
    if count == 0:
        raise UnsafeModelError(f"No translated module found in {folder}.")
    return count

"""Untrusted-input defences applied around PySD's translation.

PySD 3.14 turns a model file into Python source and then imports it. Two fields of
a model reach that source as text: a variable's comment, written into a
triple-quoted docstring, and (for data functions) file names, written as string
literals. A comment that closes the docstring and continues as an expression runs
arbitrary code when the model is loaded: a real attack on anyone who opens a
model they did not write.

sdkit defends in two layers, so that a model file can never execute code:

1. :func:`neutralize_vensim` and :func:`neutralize_xmile` rewrite the model text
   before PySD sees it: in comments and units (which are free text) double quotes
   become single quotes and stray backslashes become ``/``; control
   characters are removed. Comments keep their meaning for readers.
2. :func:`audit_generated` parses the Python that PySD wrote and refuses it, before
   anything imports it, if it contains a name or attribute that model code never
   needs (``__import__``, ``eval``, ``exec``, ``open``, ``getattr``, ``os``,
   dunder attributes, ...) or imports a module outside PySD's own set.

Both raise :class:`~sdkit.errors.UnsafeModelError` (a :class:`ModelParseError`)
naming what was found.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from sdkit.errors import UnsafeModelError

__all__ = ["REVISION", "neutralize_vensim", "neutralize_xmile", "neutralize", "audit_generated"]

#: Part of the translation cache key: a translation made under older rules is
#: never reused.
REVISION = 1

#: Names that generated model code never uses and that an injection needs.
FORBIDDEN_NAMES = frozenset({
    "__import__", "__builtins__", "__loader__", "__spec__", "builtins", "eval", "exec",
    "compile", "open", "getattr", "setattr", "delattr", "globals", "locals", "vars", "input",
    "breakpoint", "help", "memoryview", "os", "sys", "subprocess", "shutil", "socket",
    "importlib", "pickle", "marshal", "ctypes", "type", "object", "super", "classmethod",
})
#: Dunder names PySD's generated modules use legitimately.
ALLOWED_DUNDERS = frozenset({"__file__", "__pysd_version__", "__data", "__name__"})
#: Top-level modules the generated code may import.
ALLOWED_IMPORTS = frozenset({"pysd", "numpy", "xarray", "pathlib", "scipy", "pandas", "math"})

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A backslash that is not a Vensim line continuation (backslash, blanks, newline).
_STRAY_BACKSLASH = re.compile(r"\\(?![ \t]*\r?\n)")
_SKETCH = "\\\\\\---///"


def _clean_free_text(text: str) -> str:
    text = _CONTROL.sub("", text)
    text = _STRAY_BACKSLASH.sub("/", text)
    return text.replace('"', "'")


def neutralize_vensim(text: str) -> str:
    """Make the free-text fields of a Vensim model harmless.

    The units and comment fields of every equation (the second and later
    ``~``-separated fields of each ``|``-terminated record) lose double quotes,
    stray backslashes and control characters. Equations are left as they are:
    PySD parses them with a grammar, so they cannot carry code.

    Parameters
    ----------
    text : str
        The ``.mdl`` file's text.

    Returns
    -------
    str
        The same model with neutralised comments and units.
    """
    body, sep, sketch = text.partition(_SKETCH)
    records = body.split("|")
    cleaned = []
    for record in records:
        fields = record.split("~")
        cleaned.append("~".join([fields[0], *(_clean_free_text(f) for f in fields[1:])]))
    return "|".join(cleaned) + sep + sketch


def neutralize_xmile(text: str) -> str:
    """Make the free text of an XMILE model harmless (``<doc>`` and ``<units>``).

    Parameters
    ----------
    text : str
        The XMILE file's text.

    Returns
    -------
    str
        The same model with neutralised documentation and units.

    Raises
    ------
    UnsafeModelError
        If the file declares a DTD or entities (XML entity expansion is refused).
    """
    if re.search(r"<!(DOCTYPE|ENTITY)", text, re.I):
        raise UnsafeModelError("XMILE files with a DOCTYPE or ENTITY declaration are refused.")

    def clean(match: re.Match[str]) -> str:
        inner = _clean_free_text(match.group(2).replace("&quot;", '"'))
        return f"{match.group(1)}{inner}{match.group(3)}"

    return re.sub(r"(<(?:doc|units)\b[^>]*>)(.*?)(</(?:doc|units)>)", clean, text, flags=re.S)


def neutralize(text: str, fmt: str) -> str:
    """Neutralise a model of format ``"vensim"`` or ``"xmile"``."""
    return neutralize_vensim(text) if fmt == "vensim" else neutralize_xmile(text)


def audit_generated(py_file: str | Path) -> None:
    """Refuse generated Python that does anything model code never does.

    Parameters
    ----------
    py_file : path-like
        The module PySD wrote, before it is imported.

    Raises
    ------
    UnsafeModelError
        Naming the forbidden name, attribute or import and its line.
    """
    source = Path(py_file).read_text(encoding="utf-8")
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise UnsafeModelError(
            f"The translated model is not valid Python (line {err.lineno}): refused."
        ) from err
    for node in ast.walk(tree):
        problem = _problem(node)
        if problem:
            line = getattr(node, "lineno", "?")
            raise UnsafeModelError(
                f"The translated model uses {problem} (line {line}), which model code never "
                "needs; the model file may be crafted to run code, so it was refused."
            )


def _problem(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        if node.id in FORBIDDEN_NAMES:
            return f"the name {node.id!r}"
        if node.id.startswith("__") and node.id not in ALLOWED_DUNDERS:
            return f"the name {node.id!r}"
    elif isinstance(node, ast.Attribute) and node.attr.startswith("__"):
        return f"the attribute {node.attr!r}"
    elif isinstance(node, ast.Import | ast.ImportFrom):
        modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
        for module in modules:
            if (module or "").split(".")[0] not in ALLOWED_IMPORTS:
                return f"an import of {module!r}"
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id in FORBIDDEN_NAMES:
            return f"a call to {node.func.id!r}"
    return None

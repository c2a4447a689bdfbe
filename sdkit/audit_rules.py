"""Shape rules for the few calls in generated modules that touch files or modules.

:mod:`sdkit.audit` allows a vocabulary of names; some of those names are only
safe in the exact shape PySD writes them, because they name files:

* ``_root = Path(__file__).parent``: the one place ``Path`` and ``.parent``
  appear, assigned once at the top level and never re-bound;
* ``_root.joinpath("name.ext")``: a plain file name inside the model's folder
  (the translation's cache entry), never computed, absolute or with ``..``;
* ``Macro(_root.joinpath("macro.py"), ...)``: a macro module of the same folder,
  which the audit checks like the main module before anything imports it;
* ``ExtData/ExtLookup/ExtConstant("file", ..., _root, ...)`` and their ``.add``:
  a plain file name, and only literals, ``_root`` and ``_subscript_dict`` as
  arguments;
* ``__data["time"]()``: the model clock, the one subscript that is called.
"""

from __future__ import annotations

import ast
import re

__all__ = ["Refusal", "ROOT", "EXTERNALS", "calls", "check_call", "check_attribute",
           "is_root_definition"]

ROOT = "_root"
EXTERNALS = frozenset({"ExtData", "ExtLookup", "ExtConstant"})
_FILE_NAME = re.compile(r"\w[\w .\-]*")
_EXTERNAL_NAMES = frozenset({ROOT, "_subscript_dict"})


class Refusal(Exception):
    """The first node the allow-list does not accept (internal to the audit)."""

    def __init__(self, node: ast.AST, what: str) -> None:
        super().__init__(what)
        self.node = node
        self.what = what


def calls(node: ast.AST, names: frozenset[str]) -> bool:
    """Whether ``node`` is a call of one of ``names`` (a plain name)."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in names)


def is_root_definition(node: ast.stmt) -> bool:
    """``_root = Path(__file__).parent``, exactly."""
    return (isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name) and node.targets[0].id == ROOT
            and isinstance(node.value, ast.Attribute) and node.value.attr == "parent"
            and _is_path_of_file(node.value.value))


def _is_path_of_file(node: ast.AST) -> bool:
    return (calls(node, frozenset({"Path"})) and not node.keywords  # type: ignore[attr-defined]
            and len(node.args) == 1  # type: ignore[attr-defined]
            and isinstance(node.args[0], ast.Name)  # type: ignore[attr-defined]
            and node.args[0].id == "__file__")  # type: ignore[attr-defined]


def _is_time_object(func: ast.expr) -> bool:
    return (isinstance(func, ast.Subscript) and isinstance(func.value, ast.Name)
            and func.value.id == "__data" and isinstance(func.slice, ast.Constant)
            and func.slice.value == "time")


def check_attribute(node: ast.Attribute) -> None:
    """``.parent`` only on ``Path(__file__)``; ``.joinpath`` only on ``_root``."""
    if node.attr == "parent" and not _is_path_of_file(node.value):
        raise Refusal(node, f"'.parent' of {ast.unparse(node.value)!r}")
    if node.attr == "joinpath" and not (isinstance(node.value, ast.Name)
                                        and node.value.id == ROOT):
        raise Refusal(node, f"'.joinpath' of {ast.unparse(node.value)!r}")


def check_call(node: ast.Call, externals: set[str]) -> None:
    """The shape rules above, for one call."""
    func = node.func
    if not isinstance(func, ast.Name | ast.Attribute) and not _is_time_object(func):
        raise Refusal(node, f"a call of {ast.unparse(func)!r}")
    if any(keyword.arg is None for keyword in node.keywords):
        raise Refusal(node, "a call with ** arguments")
    if calls(node, frozenset({"Path"})) and not _is_path_of_file(node):
        raise Refusal(node, f"the path {ast.unparse(node)!r}")
    if isinstance(func, ast.Attribute) and func.attr == "joinpath":
        _check_file_names(node.args, node)
    if calls(node, frozenset({"Macro"})):
        _check_macro(node)
    is_add = (isinstance(func, ast.Attribute) and func.attr == "add"
              and isinstance(func.value, ast.Name) and func.value.id in externals)
    if calls(node, EXTERNALS) or is_add:
        _check_file_names(node.args[:1], node)
        _check_external_arguments(node)


def _check_file_names(args: list[ast.expr], call: ast.Call) -> None:
    if not args:
        raise Refusal(call, f"a call of {ast.unparse(call.func)!r} without a file name")
    for arg in args:
        name = arg.value if isinstance(arg, ast.Constant) else None
        if not (isinstance(name, str) and _FILE_NAME.fullmatch(name) and ".." not in name):
            raise Refusal(call, f"a path outside the model's folder ({ast.unparse(arg)})")


def _check_macro(call: ast.Call) -> None:
    first = call.args[0] if call.args else None
    ok = (isinstance(first, ast.Call) and isinstance(first.func, ast.Attribute)
          and first.func.attr == "joinpath" and isinstance(first.func.value, ast.Name)
          and first.func.value.id == ROOT and len(first.args) == 1
          and isinstance(first.args[0], ast.Constant)
          and str(first.args[0].value).endswith(".py"))
    if not ok:
        raise Refusal(call, "a macro module outside the translation's folder")


def _check_external_arguments(call: ast.Call) -> None:
    for arg in [*call.args, *(k.value for k in call.keywords)]:
        for node in ast.walk(arg):
            if isinstance(node, ast.Call | ast.Lambda | ast.Attribute):
                raise Refusal(node, "a computed argument of an external data object")
            if isinstance(node, ast.Name) and node.id not in _EXTERNAL_NAMES:
                raise Refusal(node, f"the argument {node.id!r} of an external data object")

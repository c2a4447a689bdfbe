"""Shape rules for the few calls in generated modules that touch files or modules.

:mod:`sdkit.model.audit` allows a vocabulary of names; some of those names are only
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
from typing import TypeGuard

__all__ = ["Refusal", "ROOT", "EXTERNALS", "calls", "check_call", "check_attribute",
           "check_positions", "is_root_definition"]

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


def calls(node: ast.AST, names: frozenset[str]) -> TypeGuard[ast.Call]:
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
    return (calls(node, frozenset({"Path"})) and not node.keywords
            and len(node.args) == 1
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id == "__file__")


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


#: Names that may only stand in one syntactic position (see :func:`check_positions`).
_CALL_ONLY = frozenset({"Macro", "Path", *EXTERNALS})
_MACRO_KEYWORDS = frozenset({"time_initialization", "py_name"})


def check_positions(tree: ast.Module) -> None:
    """Names that reach files or the module's state appear only where PySD puts them.

    ``Macro``, ``Path`` and the external data classes only as the called name of
    a call; ``_root.joinpath(...)`` only as the first argument of ``Macro(...)``;
    ``__file__`` only inside ``Path(__file__)``; ``_root`` only as the receiver of
    ``.joinpath``, an argument of an external data object, or the
    target of its one definition; ``__data`` only subscripted (or the target of
    its definition). So none of them can be aliased, passed on, combined with
    ``/`` or re-bound. Every identifier is ASCII, as PySD writes them (Python
    folds other letters with NFKC: a bold ``𝐌acro`` is ``Macro``).
    """
    parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        for name in _identifiers(node):
            if not name.isascii():
                raise Refusal(node, f"the non-ASCII identifier {name!r}")
        if isinstance(node, ast.Name) and not _in_place(node, parents.get(id(node)), parents):
            raise Refusal(node, f"{node.id!r} outside the position PySD writes it in")
        if _is_joinpath(node) and not _is_macro_file(node, parents.get(id(node))):
            raise Refusal(node, "a path object other than a macro's module file")
        if calls(node, frozenset({"Macro"})):
            extra = {k.arg for k in node.keywords} - _MACRO_KEYWORDS
            if extra or len(node.args) != 3:  # PySD's file, parameters and name only
                raise Refusal(node, "Macro(...) with arguments other than PySD's (file, "
                              "parameters, name, time_initialization=, py_name=)")


def _is_joinpath(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "joinpath")


def _is_macro_file(node: ast.AST, parent: ast.AST | None) -> bool:
    """``_root.joinpath(...)`` is only ever the first argument of ``Macro(...)``: a
    path object anywhere else could be kept and used (``.rename``, ``.unlink``...)."""
    return (parent is not None and calls(parent, frozenset({"Macro"}))
            and bool(parent.args) and parent.args[0] is node)


def _identifiers(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        return [node.attr]
    if isinstance(node, ast.arg):
        return [node.arg]
    if isinstance(node, ast.keyword) and node.arg:
        return [node.arg]
    if isinstance(node, ast.FunctionDef):
        return [node.name]
    if isinstance(node, ast.alias):
        return [node.name, node.asname or ""]
    return []


def _in_place(node: ast.Name, parent: ast.AST | None, parents: dict[int, ast.AST]) -> bool:
    name = node.id
    if name in _CALL_ONLY:
        return isinstance(parent, ast.Call) and parent.func is node
    if name == "__file__":
        return isinstance(parent, ast.Call) and calls(parent, frozenset({"Path"})) \
            and node in parent.args
    if name == ROOT:
        return _root_in_place(node, parent, parents)
    if name == "__data":
        return (isinstance(parent, ast.Subscript) and parent.value is node) or (
            isinstance(parent, ast.Assign) and node in parent.targets
            and isinstance(parents.get(id(parent)), ast.Module))
    return True


def _root_in_place(node: ast.Name, parent: ast.AST | None,
                   parents: dict[int, ast.AST]) -> bool:
    if isinstance(parent, ast.Attribute):
        return parent.attr == "joinpath" and parent.value is node
    if isinstance(parent, ast.Call):
        return calls(parent, EXTERNALS) and node in parent.args
    if isinstance(parent, ast.keyword):  # ExtData(..., root=_root) is not PySD's shape
        return False
    return (isinstance(parent, ast.Assign) and node in parent.targets
            and isinstance(parents.get(id(parent)), ast.Module))

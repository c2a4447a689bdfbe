"""Allow-list audit of the Python that PySD generates from a model file.

PySD turns a model into a Python module and imports it. sdkit never imports such
a module (the main one or a macro's) before this audit has accepted every node of
its syntax tree. The audit is an **allow-list**: it knows the shapes PySD's
builder emits and refuses anything else, so an unknown construct is refused
rather than an unknown attack being let through.

What may appear
---------------
* Top level: the module docstring; ``import numpy as np`` / ``import xarray as
  xr``; ``from M import N`` where ``(M, N)`` is in :data:`ALLOWED_FROM`;
  assignments to plain names; function definitions.
* Functions: an optional ``@component.add(...)`` decorator, plain positional
  arguments (``final_subs=None`` is the only default), a docstring, assignments,
  ``for NAME in NAME:`` loops and ``return``.
* Expressions: literals (numbers, strings, ``True``/``False``/``None``), lists,
  tuples, dicts, subscripts and slices, arithmetic, comparisons, ``lambda``,
  calls, attribute access. No comprehension, generator, walrus, f-string,
  ``*``/``**`` unpacking, ``global``, ``del``, ``try``, ``with``, ``class``...
* Names: names the module defines itself (its functions and top-level
  assignments), the names it imports, the function's own arguments and local
  assignments, and the few builtins in :data:`ALLOWED_BUILTINS`. No dunder name
  except ``__data``, ``__file__`` and ``__pysd_version__``.
* Attributes: only the names in :data:`ALLOWED_ATTRIBUTES` (numpy and xarray
  functions PySD's function table uses, the xarray/pathlib methods its
  templates call); never a name starting with an underscore.
* Calls at import time (top-level assignments outside a ``lambda``) may only
  call imported names: a module-defined function runs only after the whole
  module has been defined.

The vocabulary was collected from PySD 3.14's builder source (its function
table and import manager) and from translating every model of the SDXorg test
suite; ``tests/model/test_audit.py`` checks that the suite and the shipped model pass.
"""

from __future__ import annotations

import ast
from pathlib import Path

from sdkit.errors import UnsafeModelError
from sdkit.model.audit_rules import (
    EXTERNALS,
    ROOT,
    Refusal,
    calls,
    check_attribute,
    check_call,
    check_positions,
    is_root_definition,
)
from sdkit.model.audit_vocabulary import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_BUILTINS,
    ALLOWED_DUNDERS,
    ALLOWED_FROM,
    ALLOWED_IMPORTS,
)

__all__ = ["audit_source", "audit_file", "audit_folder"]

_EXPRESSIONS = (
    ast.Constant, ast.Name, ast.Attribute, ast.Call, ast.keyword, ast.Dict, ast.List,
    ast.Tuple, ast.Subscript, ast.Slice, ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp,
    ast.Lambda, ast.arguments, ast.arg, ast.IfExp,
    ast.operator, ast.unaryop, ast.cmpop, ast.boolop, ast.expr_context,
)
_CONSTANT_TYPES = (str, int, float, bool, type(None))


def audit_source(source: str, *, label: str = "the translated model") -> None:
    """Refuse Python source unless every node is one PySD's builder emits.

    Parameters
    ----------
    source : str
        Module source written by PySD.
    label : str, keyword-only
        What to call the module in the error message.

    Raises
    ------
    UnsafeModelError
        Naming the construct, its line and the model variable (function) it is in.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError) as err:
        raise UnsafeModelError(
            f"{label} is not valid Python (line {getattr(err, 'lineno', '?')}); the model "
            "file may be crafted to inject code, so it was refused."
        ) from err
    try:
        check_positions(tree)
        _Module(tree).check()
    except Refusal as refusal:
        raise UnsafeModelError(_message(refusal, tree, label)) from None


def audit_file(path: str | Path) -> None:
    """Audit one generated module (see :func:`audit_source`)."""
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise UnsafeModelError(f"Cannot read the translated model {path.name}: {err}") from err
    audit_source(source, label=f"the translated module {path.name!r}")


def audit_folder(folder: str | Path) -> int:
    """Audit every ``.py`` file below ``folder`` (main module and macros).

    Returns
    -------
    int
        The number of modules audited.
    """
    count = 0
    for path in sorted(Path(folder).rglob("*.py")):
        audit_file(path)
        count += 1
    return count


def _message(refusal: Refusal, tree: ast.Module, label: str) -> str:
    line = getattr(refusal.node, "lineno", None)
    where = f" (line {line}" if line else " ("
    owner = _enclosing_function(tree, line) if line else None
    where += f", in the code of variable {owner!r})" if owner else ")"
    if where == " ()":
        where = ""
    return (f"{label} contains {refusal.what}{where}, which PySD never generates for a "
            "model; the model file may be crafted to run code, so it was refused.")


def _enclosing_function(tree: ast.Module, line: int) -> str | None:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.lineno <= line <= (node.end_lineno or 0):
            return _component_name(node) or node.name
    return None


def _component_name(func: ast.FunctionDef) -> str | None:
    for deco in func.decorator_list:
        if isinstance(deco, ast.Call):
            for kw in deco.keywords:
                if kw.arg == "name" and isinstance(kw.value, ast.Constant):
                    return str(kw.value.value)
    return None


class _Module:
    """One module's audit: its defined names, then each statement."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.imported: set[str] = set()
        self.defined: set[str] = set()
        self.externals: set[str] = set()
        self.root_defined = False
        self.bound: set[str] = set()
        self.extendable: set[str] = set()

    def check(self) -> None:
        for node in self.tree.body:
            self._collect(node)
        for index, node in enumerate(self.tree.body):
            self._top(node, index)

    def _collect(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            self.imported |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.FunctionDef):
            self.defined.add(node.name)
        elif isinstance(node, ast.Assign):
            targets = {t.id for t in node.targets if isinstance(t, ast.Name)}
            self.defined |= targets
            if calls(node.value, EXTERNALS):
                self.externals |= targets
            if calls(node.value, EXTERNALS | {"HardcodedLookups"}):
                self.extendable |= targets
            if targets == {"_params"}:
                self.defined |= _macro_parameters(node.value)

    def _top(self, node: ast.stmt, index: int) -> None:
        if isinstance(node, ast.Import):
            self._import(node)
        elif isinstance(node, ast.ImportFrom):
            self._import_from(node)
        elif isinstance(node, ast.Expr) and index == 0 and _is_text(node.value):
            return
        elif isinstance(node, ast.Expr) and self._is_external_add(node.value):
            _Expressions(self, set(), import_time=True).visit(node.value)
        elif isinstance(node, ast.Assign):
            self._assign_targets(node, top=True)
            if any(isinstance(t, ast.Name) and t.id == ROOT for t in node.targets):
                self._root_definition(node)
            _Expressions(self, set(), import_time=True).visit(node.value)
        elif isinstance(node, ast.FunctionDef):
            self._function(node)
        else:
            raise Refusal(node, f"a top-level {type(node).__name__} statement")

    def _is_external_add(self, value: ast.expr) -> bool:
        """``_ext_x.add(...)``: another range for an external data object or lookup."""
        return (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
                and value.func.attr == "add" and isinstance(value.func.value, ast.Name)
                and value.func.value.id in self.extendable)

    def _import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name not in ALLOWED_IMPORTS or ALLOWED_IMPORTS[alias.name] != alias.asname:
                raise Refusal(node, f"an import of {alias.name!r}")

    def _import_from(self, node: ast.ImportFrom) -> None:
        allowed = ALLOWED_FROM.get(node.module or "", frozenset())
        for alias in node.names:
            if node.level or alias.asname or alias.name not in allowed:
                raise Refusal(node, f"an import of {alias.name!r} from {node.module!r}")

    def _root_definition(self, node: ast.Assign) -> None:
        """``_root`` (the folder every file name is relative to) is defined once, as
        ``Path(__file__).parent``."""
        if not is_root_definition(node) or self.root_defined:
            raise Refusal(node, f"a definition of {ROOT!r} other than Path(__file__).parent")
        self.root_defined = True

    def _assign_targets(self, node: ast.Assign, *, top: bool) -> None:
        for target in node.targets:
            if isinstance(target, ast.Name):
                _check_name(target, target.id)
                self._binding(target, top=top)
            elif top or not isinstance(target, ast.Subscript | ast.Attribute):
                raise Refusal(target, f"an assignment to {ast.unparse(target)!r}")

    def _binding(self, target: ast.Name, *, top: bool) -> None:
        """No name is bound twice at the top level, and no imported name, ``_root`` or
        dunder is re-bound anywhere (``Integ = Macro`` would defeat the shape rules)."""
        name = target.id
        if name in self.imported or (not top and (name == ROOT or name.startswith("__"))):
            raise Refusal(target, f"a re-binding of {name!r}")
        if top:
            if name in self.bound:
                raise Refusal(target, f"a second definition of {name!r}")
            self.bound.add(name)

    def _function(self, node: ast.FunctionDef) -> None:
        _check_name(node, node.name)
        if node.name in self.imported or node.name == ROOT:
            raise Refusal(node, f"a re-binding of {node.name!r}")
        if node.name in self.bound:
            raise Refusal(node, f"a second definition of {node.name!r}")
        self.bound.add(node.name)
        if len(node.decorator_list) > 1 or node.returns or node.type_comment:
            raise Refusal(node, f"an unusual definition of function {node.name!r}")
        for deco in node.decorator_list:
            if not (isinstance(deco, ast.Call) and ast.unparse(deco.func) == "component.add"):
                raise Refusal(deco, "a decorator other than component.add")
            _Expressions(self, set(), import_time=True).visit(deco)
        local = _arguments(node.args)
        for index, stmt in enumerate(node.body):
            if index == 0 and isinstance(stmt, ast.Expr) and _is_text(stmt.value):
                continue
            self._statement(stmt, local)

    def _statement(self, stmt: ast.stmt, local: set[str]) -> None:
        expressions = _Expressions(self, local, import_time=False)
        if isinstance(stmt, ast.Return) and stmt.value is not None:
            expressions.visit(stmt.value)
        elif isinstance(stmt, ast.Assign):
            self._assign_targets(stmt, top=False)
            local |= {t.id for t in stmt.targets if isinstance(t, ast.Name)}
            for target in stmt.targets:
                if not isinstance(target, ast.Name):
                    expressions.visit(target)
            expressions.visit(stmt.value)
        elif (isinstance(stmt, ast.For) and isinstance(stmt.target, ast.Name)
              and isinstance(stmt.iter, ast.Name) and not stmt.orelse):
            _check_name(stmt.target, stmt.target.id)
            if stmt.target.id in self.imported or stmt.target.id == ROOT:
                raise Refusal(stmt.target, f"a local re-binding of {stmt.target.id!r}")
            local.add(stmt.target.id)
            expressions.visit(stmt.iter)
            for inner in stmt.body:
                self._statement(inner, local)
        else:
            raise Refusal(stmt, f"a {type(stmt).__name__} statement")


def _macro_parameters(value: ast.expr) -> set[str]:
    """A macro module's ``_params = {"input": "input_1", ...}``: PySD defines the
    values as names of the module when it instantiates the macro."""
    names = set()
    if isinstance(value, ast.Dict):
        for item in value.values:
            if isinstance(item, ast.Constant) and isinstance(item.value, str) \
                    and item.value.isidentifier() and not item.value.startswith("__"):
                names.add(item.value)
    return names


def _arguments(args: ast.arguments) -> set[str]:
    if args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs:
        raise Refusal(args, "a function with *args, **kwargs or keyword-only arguments")
    for default in args.defaults:
        if not (isinstance(default, ast.Constant) and default.value is None):
            raise Refusal(default, "an argument default other than None")
    names = set()
    for arg in args.args:
        _check_name(arg, arg.arg)
        if arg.arg == ROOT:
            raise Refusal(arg, f"an argument named {ROOT!r}")
        if arg.annotation is not None:
            raise Refusal(arg, "an annotated argument")
        names.add(arg.arg)
    return names


def _check_name(node: ast.AST, name: str) -> None:
    if name.startswith("__") and name not in ALLOWED_DUNDERS:
        raise Refusal(node, f"the name {name!r}")


def _is_text(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


class _Expressions:
    """Checks one expression tree against the allow-lists."""

    def __init__(self, module: _Module, local: set[str], *, import_time: bool) -> None:
        self.module = module
        self.local = local
        self.import_time = import_time

    def visit(self, node: ast.AST) -> None:
        if not isinstance(node, _EXPRESSIONS):
            raise Refusal(node, f"a {type(node).__name__} expression")
        check = getattr(self, f"_{type(node).__name__}", None)
        if check is not None:
            check(node)
            return
        for child in ast.iter_child_nodes(node):
            self.visit(child)

    def _Constant(self, node: ast.Constant) -> None:
        if not isinstance(node.value, _CONSTANT_TYPES):
            raise Refusal(node, f"a {type(node.value).__name__} literal")

    def _Name(self, node: ast.Name) -> None:
        name = node.id
        _check_name(node, name)
        known = (name in self.local or name in self.module.defined
                 or name in self.module.imported or name in ALLOWED_BUILTINS
                 or name in ALLOWED_DUNDERS)
        if not known:
            raise Refusal(node, f"the undefined name {name!r}")

    def _Attribute(self, node: ast.Attribute) -> None:
        if node.attr.startswith("_") or node.attr not in ALLOWED_ATTRIBUTES:
            raise Refusal(node, f"the attribute {node.attr!r}")
        check_attribute(node)
        self.visit(node.value)

    def _Call(self, node: ast.Call) -> None:
        check_call(node, self.module.externals)
        func = node.func
        if (self.import_time and isinstance(func, ast.Name)
                and func.id not in self.module.imported and func.id not in ALLOWED_BUILTINS):
            raise Refusal(node, f"a call of {func.id!r} while the module is imported")
        self.visit(func)
        for child in [*node.args, *(k.value for k in node.keywords)]:
            self.visit(child)

    def _Dict(self, node: ast.Dict) -> None:
        if any(key is None for key in node.keys):
            raise Refusal(node, "a dict with ** unpacking")
        for child in [*node.keys, *node.values]:
            if child is not None:
                self.visit(child)

    def _Lambda(self, node: ast.Lambda) -> None:
        inner = _Expressions(self.module, self.local | _arguments(node.args), import_time=False)
        inner.visit(node.body)

"""The allow-list audit of generated modules, and the guard's reading/building checks.

Every refused source below is a construct that an injected payload needs and that
PySD's builder never writes; each was checked to run (or to reach what it names)
when imported by plain Python. The suite tests show the other side: no model of
the SDXorg suite or the shipped model is refused.
"""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pytest

from sdkit.errors import ModelParseError, UnsafeModelError
from sdkit.model import audit, guard
from sdkit.model.audit_vocabulary import ALLOWED_ATTRIBUTES, ALLOWED_FROM
from sdkit.model.core import load_model

HEADER = '''"""
Python model
"""

from pathlib import Path
import numpy as np

from pysd.py_backend.statefuls import Integ
from pysd import Component

__pysd_version__ = "3.14.3"

__data = {"scope": None, "time": lambda: 0}

_root = Path(__file__).parent

component = Component()


@component.add(name="Time")
def time():
    """
    Current time of the model.
    """
    return __data["time"]()


@component.add(name="stock", units="1", comp_type="Stateful", comp_subtype="Integ",
               depends_on={"_integ_stock": 1})
def stock():
    return _integ_stock()


_integ_stock = Integ(lambda: np.maximum(rate(), 0), lambda: 1.0, "_integ_stock")


@component.add(name="rate", comp_type="Auxiliary", comp_subtype="Normal")
def rate():
    return 0.1 * stock()
'''


def test_header_shape_is_accepted() -> None:
    audit.audit_source(HEADER)


#: (id, code appended to a valid module): each reaches code execution, files or
#: builtins when the module is imported or a variable is evaluated.
REFUSED = [
    ("import-os", "import os\n"),
    ("import-alias", "import numpy as os\n"),
    ("from-import", "from os import system\n"),
    ("from-pysd-utils", "from pysd.py_backend.utils import load_modules\n"),
    ("relative-import", "from . import x\n"),
    ("dunder-import", "x = __import__('os')\n"),
    ("builtins", "x = __builtins__\n"),
    ("eval", "def x():\n    return eval('1')\n"),
    ("exec-split-views", "exec('1')\n"),
    ("getattr", "def x():\n    return getattr(np, 'load')\n"),
    ("generator-frame", "def x():\n    return (y for y in ()).gi_frame.f_builtins['exec']('1')\n"),
    ("subclasses", "def x():\n    return ().__class__.__base__.__subclasses__()\n"),
    ("pathlib-write", "def x():\n    return Path('/tmp/x').write_text('1')\n"),
    ("pathlib-open", "def x():\n    return _root.open('w')\n"),
    ("joinpath-parent", "def x():\n    return _root.joinpath('../../etc/passwd')\n"),
    ("joinpath-absolute", "def x():\n    return _root.joinpath('/etc/passwd')\n"),
    ("joinpath-computed", "def x():\n    return _root.joinpath(rate())\n"),
    ("numpy-load", "def x():\n    return np.load('a.npy', allow_pickle=True)\n"),
    ("numpy-lib", "def x():\n    return np.lib.format\n"),
    ("pandas-os", "def x():\n    return np.pd.io.common.os.system('id')\n"),
    ("walrus", "def x():\n    return (y := 1)\n"),
    ("lambda-default", "x = lambda a=print: a\n"),
    ("lambda-top-level-call", "x = (lambda: 1)()\n"),
    ("listcomp", "def x():\n    return [y for y in range(3)]\n"),
    ("fstring", "def x():\n    return f'{rate()}'\n"),
    ("bytes", "x = b'abc'\n"),
    ("starred", "def x():\n    return np.maximum(*[1, 2])\n"),
    ("kwargs", "def x():\n    return np.maximum(**{'a': 1})\n"),
    ("class", "class X:\n    pass\n"),
    ("try", "try:\n    pass\nexcept Exception:\n    pass\n"),
    ("with", "def x():\n    with _root:\n        return 1\n"),
    ("global", "def x():\n    global y\n    return 1\n"),
    ("delete", "def x():\n    del stock\n    return 1\n"),
    ("top-level-expression", "rate()\n"),
    ("import-time-call", "y = rate()\n"),
    ("other-decorator", "@staticmethod\ndef x():\n    return 1\n"),
    ("decorator-stack",
     "@component.add(name='a')\n@component.add(name='b')\ndef x():\n    return 1\n"),
    ("undefined-name", "def x():\n    return system('id')\n"),
    ("private-attribute", "def x():\n    return component._components\n"),
    ("unknown-attribute", "def x():\n    return stock.system\n"),
    ("if-statement", "def x():\n    if stock():\n        return 1\n    return 0\n"),
    ("call-of-call", "def x():\n    return rate()()\n"),
    ("subscript-call", "def x():\n    return __data['scope']()\n"),
    ("annotation", "def x(a: print = None):\n    return 1\n"),
    ("not-python", "def x(:\n"),
    ("path-anywhere", "def x():\n    return Path('/tmp/helper.py')\n"),
    ("path-relative", "y = Path('helper.py')\n"),
    ("macro-from-path", "from pysd.py_backend.model import Macro\n"
                        "y = Macro(Path(__file__), {}, 'm', time_initialization=None)\n"),
    ("macro-outside", "from pysd.py_backend.model import Macro\n"
                      "y = Macro(_root.joinpath('../m.py'), {}, 'm')\n"),
    ("macro-not-py", "from pysd.py_backend.model import Macro\n"
                     "y = Macro(_root.joinpath('m.txt'), {}, 'm')\n"),
    ("parent-of-root", "def x():\n    return _root.parent\n"),
    ("joinpath-of-parent", "def x():\n    return Path(__file__).parent.parent.joinpath('a')\n"),
    ("root-redefined", "_root = Path(__file__).parent.parent\n"),
    ("root-twice", "_root = Path(__file__).parent\n"),
    ("root-local", "def x():\n    _root = 1\n    return _root\n"),
    ("root-argument", "def x(_root):\n    return _root.joinpath('a')\n"),
    ("import-rebound", "def x():\n    Path = 1\n    return Path\n"),
    ("path-rename", "x = _root.joinpath('data.csv').rename('/tmp/target')\n"),
    ("path-kept", "x = _root.joinpath('data.csv')\n"),
    ("path-in-function", "def x():\n    return _root.joinpath('a.csv').unlink()\n"),
    ("def-rebinds-import", "def Integ(a, b, c):\n    return 1\n"),
    ("def-rebinds-path", "def Path(x):\n    return x\n"),
    ("def-twice", "def rate():\n    return 2\n"),
    ("macro-data-files", "from pysd.py_backend.model import Macro\n"
                         "y = Macro(_root.joinpath('m.py'), {}, 'm', None, None, '/etc/passwd')\n"),
]


@pytest.mark.parametrize("code", [c for _, c in REFUSED], ids=[i for i, _ in REFUSED])
def test_constructs_outside_the_allow_list_are_refused(code: str) -> None:
    with pytest.raises(UnsafeModelError) as info:
        audit.audit_source(HEADER + "\n" + code)
    assert "\n" not in str(info.value)


EXTERNAL = HEADER.replace(
    "from pysd import Component",
    "from pysd.py_backend.external import ExtConstant\nfrom pysd import Component")


@pytest.mark.parametrize("file_name, ok", [
    ("input.xlsx", True), ("data down.csv", True), ("/etc/passwd", False),
    ("../../secret.csv", False), ("sub/dir.csv", False), ("C:\\x.csv", False),
])
def test_external_data_must_be_a_plain_file_name_in_the_model_folder(file_name, ok) -> None:
    code = (f"_ext_constant_c = ExtConstant(r{file_name!r}, 'Sheet1', 'B2', {{}}, _root, {{}}, "
            "'_ext_constant_c')\n"
            f"_ext_constant_c.add(r{'input.xlsx'!r}, 'Sheet1', 'B3', {{}})\n")
    if ok:
        audit.audit_source(EXTERNAL + code)
    else:
        with pytest.raises(UnsafeModelError, match="outside the model's folder"):
            audit.audit_source(EXTERNAL + code)


@pytest.mark.parametrize("root", ["Path('/')", "_root.joinpath('x')", "rate()", "stock"])
def test_external_data_reads_only_from_the_model_folder(root: str) -> None:
    code = (f"_ext_constant_c = ExtConstant('a.csv', 'S', 'B2', {{}}, {root}, {{}}, "
            "'_ext_constant_c')\n")
    with pytest.raises(UnsafeModelError, match="external data object|path object"):
        audit.audit_source(EXTERNAL + code)


def test_external_add_checks_its_file_too() -> None:
    code = ("_ext_constant_c = ExtConstant('a.csv', 'S', 'B2', {}, _root, {}, '_ext_constant_c')\n"
            "_ext_constant_c.add('/etc/passwd', 'S', 'B3', {})\n")
    with pytest.raises(UnsafeModelError, match="outside the model's folder"):
        audit.audit_source(EXTERNAL + code)


def test_refusal_names_line_and_variable() -> None:
    source = HEADER.replace("return 0.1 * stock()", "return 0.1 * stock() + open('x')")
    with pytest.raises(UnsafeModelError, match=r"undefined name 'open' \(line \d+, in the code "
                                               r"of variable 'rate'\)"):
        audit.audit_source(source)


def test_names_of_model_variables_may_shadow_modules() -> None:
    """Variables called sys, os, eval... are functions the module defines."""
    extra = "".join(
        f"\n@component.add(name={name!r})\ndef {name}():\n    return rate() + 1\n"
        for name in ("sys", "os", "socket", "shutil", "subprocess", "pickle", "marshal",
                     "ctypes", "builtins", "eval", "open")
    )
    audit.audit_source(HEADER + extra)


def test_vocabulary_covers_pysd_function_table() -> None:
    """Everything PySD's function table can emit is allowed (or it would be refused)."""
    from pysd.builders.python import python_functions

    for template, *modules in python_functions.functionspace.values():
        tree = ast.parse(template.replace("%(", "_p").replace(")s", ""), mode="eval")
        attrs = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        assert attrs <= ALLOWED_ATTRIBUTES, template
        for module in modules:
            for entry in module:
                if entry[0] == "functions":
                    assert entry[1] in ALLOWED_FROM["pysd.py_backend.functions"]


def test_vensim_encoding_allow_list(tmp_path: Path) -> None:
    assert guard.vensim_encoding(b"{UTF-8}\nx = 1 ~~|", tmp_path) == "UTF-8"
    assert guard.vensim_encoding(b"x = 1 ~~|", tmp_path) == "utf-8"
    assert guard.vensim_encoding(b"\xef\xbb\xbf{GBK}\n", tmp_path) == "GBK"
    for header in (b"{UTF-7}", b"{UTF-16}", b"{utf_32}", b"{cp037}"):
        with pytest.raises(ModelParseError, match="does not read"):
            guard.vensim_encoding(header + b"\nx = 1 ~~|", tmp_path)


@pytest.mark.parametrize("text", [
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><xmile/>',
    '<?xml version="1.0"?><!doctype x SYSTEM "file:///etc/passwd"><xmile/>',
    '<xmile><!ENTITY a "b"></xmile>',
])
def test_xml_declarations_are_refused(text: str, tmp_path: Path) -> None:
    with pytest.raises(UnsafeModelError, match="DTD or entity"):
        guard.check_xmile_bytes(text.encode(), tmp_path)


def test_xmile_must_be_utf8(tmp_path: Path) -> None:
    data = '<?xml version="1.0" encoding="UTF-16"?><xmile/>'.encode("utf-16")
    with pytest.raises(ModelParseError, match="not UTF-8"):
        guard.check_xmile_bytes(data, tmp_path)


def _suite_files(root: Path) -> list[Path]:
    suffixes = {".mdl", ".xmile", ".stmx", ".xml"}
    return sorted(p for p in (root / "tests").rglob("*") if p.suffix.lower() in suffixes)


@pytest.mark.slow
def test_no_suite_model_is_refused_by_the_guard(conformance: Path) -> None:
    """Every model of the SDXorg suite translates without an UnsafeModelError."""
    refused, loaded, other = [], 0, 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in _suite_files(conformance):
            try:
                load_model(path)
                loaded += 1
            except UnsafeModelError as err:
                refused.append(f"{path.name}: {err}")
            except Exception:  # noqa: BLE001 - models PySD itself cannot translate
                other += 1
    print(f"suite: {loaded} loaded, {other} not translatable by PySD, {len(refused)} refused")
    assert not refused, refused[:3]
    assert loaded > 150

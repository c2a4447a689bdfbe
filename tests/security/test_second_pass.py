"""Second red-team pass: payloads that beat the current guard (they fail until fixed).

1. Template break-out through a *function reference* that sdkit's
   ``normalize_reference`` maps to a known variable (so ``make_inert`` skips the
   plain-text check) but PySD's builder does not find (PySD folds a single space
   to ``_``, sdkit folds runs of ``[\\s_]`` and strips quotes): PySD writes it raw
   in ``not_implemented_function('%s', ...)``.
2. Audit gaps the break-out uses: top-level re-binding of an imported name
   (``Integ = Macro``) defeats the name-based shape rules and the import-time
   call rule; ``Macro``'s file is then any ``.py`` path; ``_root / ".."``,
   ``__file__ = ...`` and ``Macro(..., data_files=...)`` are not checked.
   Capitals survive PySD's lower-casing as mathematical bold letters (NFKC).
3. Ensemble engine: generated local names derived from py names collide
   (``x`` + ``_order`` vs variable ``x order``): silently wrong results.
"""

from __future__ import annotations

import pytest

import sdkit
from sdkit.errors import SdkitError, UnsafeModelError
from sdkit.model.audit import audit_source

_CONTROL = """INITIAL TIME = 0 ~~|
FINAL TIME = 2 ~~|
TIME STEP = 1 ~~|
SAVEPER = 1 ~~|
"""


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SDKIT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _exec_model(payload: str) -> str:
    element = payload.replace("q__", "q_")  # same for sdkit, different for PySD
    return ("{UTF-8}\n:MACRO: MYM(a)\nMYM = a ~~|\n:END OF MACRO:\nw = MYM(1) ~~|\n"
            f'"{element}" = 1 ~~|\ns = INTEG("{payload}"(1), 0) ~~|\n' + _CONTROL)


def test_function_reference_breakout_runs_a_python_file(tmp_path, monkeypatch, cache):
    """sdkit run model.mdl in a folder that also holds the attacker's evil.py."""
    marker = tmp_path / "MARKER"
    (tmp_path / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('pwned')\n")
    payload = "',0),0,0);\U0001d408nteg=\U0001d40cacro;q__=\U0001d408nteg('evil.py');z=((0,'"
    (tmp_path / "model.mdl").write_text(_exec_model(payload), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UnsafeModelError):
        sdkit.load_model(tmp_path / "model.mdl")
    assert not marker.exists()


def test_function_reference_breakout_is_refused_as_unsafe(tmp_path, cache):
    """The bare break-out (a quote in a reference sdkit thinks is a variable)."""
    text = "{UTF-8}\n\"p' q\" = 1 ~~|\ny = \"p'__q\"(1) ~~|\n" + _CONTROL
    (tmp_path / "m.mdl").write_text(text, encoding="utf-8")
    with pytest.raises(UnsafeModelError):
        sdkit.load_model(tmp_path / "m.mdl")


_HEADER = '''from pathlib import Path
from pysd.py_backend.statefuls import Integ
from pysd.py_backend.model import Macro
from pysd.py_backend.external import ExtConstant
__pysd_version__ = "3.14.3"
_root = Path(__file__).parent
'''


@pytest.mark.parametrize("body", [
    'Integ = Macro\nq = Integ(_root.joinpath("model.mdl"))\n',            # alias at import
    'def f():\n    m = Macro\n    return m("/tmp/evil.py")\n',          # alias at run time
    'Integ = ExtConstant\nq = Integ("/etc/passwd", "a", "b", {}, _root, {}, "_x")\n',
    'q = Macro(_root.joinpath("m.py"), {}, "m", data_files="/etc/passwd")\n',
    'z = _root / ".." / ".." / "x.py"\n',                                  # path arithmetic
    '__file__ = "/etc/passwd"\n',                                          # re-bound __file__
], ids=["rebind-import", "alias-local", "alias-external", "macro-data-files", "root-div",
        "file-rebind"])
def test_audit_refuses_shape_rule_bypasses(body):
    with pytest.raises(UnsafeModelError):
        audit_source(_HEADER + body)


def test_engine_names_do_not_collide(tmp_path, cache):
    """SMOOTH in `x` (locals s_smooth_x, s_smooth_x_order) and in `x order`
    (state s_smooth_x_order): the engine must agree with PySD or refuse."""
    from sdkit.engine import run_ensemble

    text = ("{UTF-8}\ninput = 1 + STEP(1, 2) ~~|\nx = SMOOTH(input, 2) ~~|\n"
            "x order = SMOOTH(input*2, 3) ~~|\n" + _CONTROL.replace("FINAL TIME = 2",
                                                                 "FINAL TIME = 6"))
    (tmp_path / "c.mdl").write_text(text, encoding="utf-8")
    model = sdkit.load_model(tmp_path / "c.mdl")
    expected = model.run()
    try:
        got = run_ensemble(model).frame(0)
    except SdkitError:
        return  # refusing is fine
    for name in ("x", "x order"):
        assert (got[name].to_numpy() == expected[name].to_numpy()).all(), name


def test_engine_time_settings_sum_with_zero_term(tmp_path, cache):
    """`FINAL TIME = len + start` with start = 0: Ensemble._scalar evaluates a / b
    for every operator, so the run dies with a ZeroDivisionError traceback."""
    from sdkit.engine import run_ensemble

    text = ("{UTF-8}\nlen = 2 ~~|\nstart = 0 ~~|\nx = 1 ~~|\n"
            + _CONTROL.replace("FINAL TIME = 2", "FINAL TIME = len + start"))
    (tmp_path / "t.mdl").write_text(text, encoding="utf-8")
    model = sdkit.load_model(tmp_path / "t.mdl")
    result = run_ensemble(model).frame(0)  # must not raise ZeroDivisionError
    assert list(result.index) == [0.0, 1.0, 2.0]

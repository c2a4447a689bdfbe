"""Third red-team pass: a template break-out that passes ``make_inert`` and the audit.

PySD's ``CallBuilder.build_lookups_call`` formats a lookup call *twice*: it takes
the already built reference expression of the lookup (which contains subscript
and dimension names as string literals, e.g. ``.rename({'DIM': 'T'})``), replaces
``()`` with ``(%(0)s)`` and applies ``% arguments``. A ``%(0)s`` inside a
dimension name is therefore replaced by the *argument's* Python source. When the
argument's source itself contains quotes (here ``z().rename({'P': 'in'})``), the
quotes flip string and code: the argument's string contents (the XMILE dimension
name ``P``, free text without quotes) become Python code. ``make_inert`` only sees
plain names (no quote, backslash or control character), so the model is built and
the generated module passes the audit with attacker-chosen quote-free code.

With plain PySD the model below silently returns 43 for ``y`` (``tab(3)`` is 3).
"""

from __future__ import annotations

import pytest

import sdkit
from sdkit.errors import SdkitError, UnsafeModelError

_NS = "http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"


def _model(code: str) -> str:
    names = ["D%(0)s", code, "T", "in"]
    dims = "".join(f'<dim name="{n}"><elem name="e{i}1"/><elem name="e{i}2"/></dim>'
                   for i, n in enumerate(names))
    return f"""<?xml version="1.0" encoding="utf-8"?>
<xmile version="1.0" xmlns="{_NS}">
<header><vendor>v</vendor><product version="1.0">p</product></header>
<sim_specs method="Euler" time_units="Year"><start>0</start><stop>2</stop><dt>1</dt></sim_specs>
<dimensions>{dims}</dimensions>
<model><variables>
<gf name="tab"><dimensions><dim name="D%(0)s"/></dimensions>\
<xscale min="0" max="10"/><ypts>0,10</ypts></gf>
<aux name="z"><dimensions><dim name="{code}"/></dimensions><eqn>3</eqn></aux>
<aux name="w"><dimensions><dim name="T"/></dimensions><eqn>1</eqn></aux>
<aux name="y"><dimensions><dim name="T"/></dimensions><eqn>tab[T](z[in])</eqn></aux>
</variables></model></xmile>
"""


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SDKIT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.mark.parametrize("code", [
    ": float(7), ",                                   # any quote-free expression runs
    ": 0}) if 0 else xr.DataArray(w() + 42, {",       # y replaced by another value
])
def test_percent_in_dimension_name_breaks_lookup_call_template(tmp_path, cache, code):
    path = tmp_path / "model.xmile"
    path.write_text(_model(code), encoding="utf-8")
    with pytest.raises(UnsafeModelError):
        sdkit.load_model(path)


def test_percent_in_dimension_name_never_yields_wrong_numbers(tmp_path, cache):
    """Whatever sdkit does with the model, it never reports y = 43."""
    path = tmp_path / "model.xmile"
    path.write_text(_model(": 0}) if 0 else xr.DataArray(w() + 42, {"), encoding="utf-8")
    try:
        result = sdkit.load_model(path).run()
    except SdkitError:
        return
    assert not (result.filter(like="y").to_numpy() == 43).any()

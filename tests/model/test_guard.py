"""A model file can never run code through sdkit (untrusted files; docs/security.md).

PySD writes each comment into a triple-quoted docstring of the module it
generates; without the guard, the first payload below runs a shell command when
the model is loaded (reproduced with PySD 3.14 directly). The wider payload
corpus is in ``tests/security/``; the allow-list audit in ``tests/model/test_audit.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import control

import sdkit
from sdkit.errors import ModelParseError, UnsafeModelError
from sdkit.model import guard

CONTROL = control(final=1, saveper=1, unit="Year")


def payloads(marker: Path) -> dict[str, str]:
    """Model bodies that try to create ``marker`` when loaded or run."""
    call = f'__import__("os").system("touch {marker}")'
    return {
        "comment closes the docstring": f'x = 1\n\t~\tDmnl\n\t~\tok """ + {call} + """ end\n\t|\n',
        "comment with escaped quote": f'x = 1\n\t~\tDmnl\n\t~\tok \\""" + {call} + """\n\t|\n',
        "backslash before quotes": f'x = 1\n\t~\tDmnl\n\t~\tok \\\\""" + {call}#\n\t|\n',
        "units with quotes": f'x = 1\n\t~\tDmnl """ + str({call}) + """\n\t~\tc\n\t|\n',
        "lookup comment": (
            f'tbl(\n\t[(0,0)-(1,1)],(0,0),(1,1))\n\t~\tDmnl\n\t~\t""" + {call} + """\n\t|\n'
            "x = tbl(Time)\n\t~\tDmnl\n\t~\tc\n\t|\n"
        ),
        "quoted name": f'"a"" + {call} + ""b" = 1\n\t~\tDmnl\n\t~\tc\n\t|\n',
        "equation": f"x = {call}\n\t~\tDmnl\n\t~\tc\n\t|\n",
        "data file name": (
            f"x = GET DIRECT CONSTANTS('a.csv\\' + {call} + \\'', ',', 'B2')\n"
            "\t~\tDmnl\n\t~\tc\n\t|\n"
        ),
    }


@pytest.mark.parametrize("case", sorted(payloads(Path("/x"))))
def test_crafted_vensim_never_runs_code(tmp_path, case):
    marker = tmp_path / "PWNED"
    model_file = tmp_path / "evil.mdl"
    model_file.write_text("{UTF-8}\n" + payloads(marker)[case] + CONTROL, encoding="utf-8")
    try:
        model = sdkit.load_model(model_file, cache_dir=tmp_path / "cache")
        model.run()
    except ModelParseError:
        pass  # refused, or PySD could not parse it: both are fine
    except sdkit.errors.SdkitError:
        pass
    assert not marker.exists(), f"{case}: code from the model file ran"


def test_comment_with_quotes_still_loads_and_keeps_its_text(tmp_path):
    comment = 'The "embedded" representative\'s job \\ done, with """ triple quotes.'
    model_file = tmp_path / "quotes.mdl"
    model_file.write_text(
        '{UTF-8}\nx = 1\n\t~\tDmnl\n\t~\t' + comment + '\n\t|\n' + CONTROL, encoding="utf-8",
    )
    model = sdkit.load_model(model_file, cache_dir=tmp_path / "cache")
    assert model.variable("x").comment == comment
    assert model.run()["x"].iloc[0] == 1


def test_crafted_xmile_doc_never_runs_code(tmp_path):
    marker = tmp_path / "PWNED"
    call = f'__import__("os").system("touch {marker}")'
    text = f"""<?xml version="1.0" encoding="utf-8"?>
<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
<header><vendor>t</vendor><product version="1">t</product></header>
<sim_specs method="Euler" time_units="Year"><start>0</start><stop>1</stop><dt>1</dt></sim_specs>
<model><variables>
<aux name="x"><eqn>1</eqn><doc>ok &quot;&quot;&quot; + {call} + &quot;&quot;&quot;</doc></aux>
</variables></model></xmile>"""
    model_file = tmp_path / "evil.xmile"
    model_file.write_text(text, encoding="utf-8")
    try:
        sdkit.load_model(model_file, cache_dir=tmp_path / "cache").run()
    except sdkit.errors.SdkitError:
        pass
    assert not marker.exists()


def test_xmile_entities_are_refused(tmp_path):
    model_file = tmp_path / "bomb.xmile"
    model_file.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><xmile/>',
                          encoding="utf-8")
    with pytest.raises(UnsafeModelError, match="DTD or entity"):
        sdkit.load_model(model_file, cache_dir=tmp_path / "cache")


def test_audit_accepts_pysd_translation_of_the_empowerment_model(empowerment):
    guard.audit_translation(empowerment._py_path.parent)


def test_vensim_continuations_survive(tmp_path):
    model_file = tmp_path / "cont.mdl"
    model_file.write_text("{UTF-8}\nx = 1\n\t~\tDmnl\n\t~\tfirst line \\\n\t\tsecond line\n\t|\n"
                          + CONTROL, encoding="utf-8")
    model = sdkit.load_model(model_file, cache_dir=tmp_path / "cache")
    assert model.variable("x").comment == "first line second line"

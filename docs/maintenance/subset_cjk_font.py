"""Make sdkit/report/fontdata/SdkitSansSC-Regular.otf: the CJK font the briefing embeds.

The source is Noto Sans SC Regular 2.004 (SIL Open Font License 1.1, by Adobe for
Google; upstream https://github.com/notofonts/noto-cjk), as shipped unchanged in the
PyPI package ``pylopdf-fonts-zh-cn`` 0.1.1 (``pylopdf_fonts_zh_cn/NotoSansSC-Regular.otf``)::

    pip download --no-deps -d /tmp/font pylopdf-fonts-zh-cn==0.1.1
    unzip -o /tmp/font/*.whl -d /tmp/font
    python docs/maintenance/subset_cjk_font.py /tmp/font/pylopdf_fonts_zh_cn/NotoSansSC-Regular.otf

The subset keeps printable ASCII, the 6,763 hanzi and the symbols of GB 2312, CJK and
full-width punctuation, and every character of sdkit's message catalogue and of the
shipped model, card and scenarios. ``tests/report/test_fonts.py`` fails when a new message or
card text has a Chinese character outside it: run this script again then. Pages subset
it again to the characters they show; a character of a reader's model outside it is
named in a warning (``sdkit.report.fonts.missing_chars``; ``$SDKIT_CJK_FONT`` embeds a fuller
font instead), rather than shipping the whole font, several times larger. It is renamed
"Sdkit Sans SC" (a Modified Version under the OFL keeps no Reserved Font Name).
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from sdkit.report.fonts import subset_in_place  # noqa: E402  (the one set of subsetting options)

OUT = ROOT / "sdkit" / "report" / "fontdata" / "SdkitSansSC-Regular.otf"
FAMILY = "Sdkit Sans SC"


def gb2312() -> set[str]:
    """Every character GB 2312 encodes (rows 0xA1-0xF7, cells 0xA1-0xFE)."""
    found = set()
    for row in range(0xA1, 0xF8):
        for cell in range(0xA1, 0xFF):
            try:
                found.add(bytes([row, cell]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return found


def shipped_text() -> str:
    """The text of sdkit's sources (every subpackage, the page template) and the shipped
    model, card, evidence and scenarios: the same files tests/report/test_fonts.py checks the
    font against."""
    templates = ROOT / "sdkit" / "report" / "briefing" / "templates"
    files = [*(ROOT / "sdkit").rglob("*.py"), *templates.glob("*"),
             *(ROOT / "models").glob("*.toml"), *(ROOT / "models").glob("*.mdl"),
             *(ROOT / "models").glob("*.csv"), *(ROOT / "scenarios").rglob("*.toml")]
    return "".join(f.read_text(encoding="utf-8", errors="replace") for f in files
                   if f.is_file())


def main(source: str) -> None:
    chars = {chr(c) for c in range(0x20, 0x7F)} | gb2312()
    chars |= {chr(c) for c in range(0x3000, 0x3040)} | {chr(c) for c in range(0xFF00, 0xFFF0)}
    chars |= {c for c in shipped_text() if ord(c) >= 0x2000}
    font = TTFont(source)
    subset_in_place(font, (ord(c) for c in chars))
    names = font["name"]
    for record in list(names.names):
        if record.nameID in (1, 4, 16, 21):
            record.string = FAMILY if record.nameID in (1, 16, 21) else f"{FAMILY} Regular"
        elif record.nameID == 6:
            record.string = "SdkitSansSC-Regular"
        elif record.nameID == 3:
            record.string = "Sdkit Sans SC; subset of Noto Sans SC 2.004"
    font["CFF "].cff.fontNames = ["SdkitSansSC-Regular"]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    font.save(OUT)
    print(f"{OUT}: {OUT.stat().st_size:,} bytes, {len(font.getGlyphOrder()):,} glyphs")


if __name__ == "__main__":
    main(sys.argv[1])

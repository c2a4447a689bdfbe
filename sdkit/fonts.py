"""An embedded CJK font, so Chinese text renders without the reader's fonts.

A reader's machine (or the headless browser that exports PNG and SVG images) may
have no Chinese font: the briefing's Chinese page would then show boxes. sdkit ships
"Sdkit Sans SC", a subset of Noto Sans SC under the SIL Open Font License
(``sdkit/fontdata``: the font, ``OFL.txt`` and where it comes from), and embeds a
further subset with only the characters a page or chart shows, as a ``data:`` URL
in an ``@font-face`` rule (a few kilobytes to a few hundred):

* :func:`font_face_css` for a page's ``<style>``;
* :func:`chart_stylesheet` for a Bokeh chart (a ``GlobalInlineStyleSheet``, which
  Bokeh puts in the head of any document that shows the chart: the embeddable
  pieces and the PNG export);
* :func:`embed_in_svg` for an exported SVG image.

Chart text names the font in :data:`CANVAS_FONT` (after Helvetica, so Latin text
keeps its usual face); Bokeh loads it and repaints once it is ready.
``$SDKIT_CJK_FONT`` names another OpenType or TrueType file to embed instead, for
characters outside the shipped subset.
"""

from __future__ import annotations

import base64
import io
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sdkit.errors import InputFileError

__all__ = ["FONT_FAMILY", "CANVAS_FONT", "PAGE_FONTS", "font_path", "font_chars",
           "subset_in_place", "subset_font", "font_face_css", "chart_stylesheet",
           "embed_in_svg", "chart_text", "page_chars_text"]

#: The embedded font's family name.
FONT_FAMILY = "Sdkit Sans SC"
#: The font list of chart text (Bokeh ``text_font``): Latin first, then the CJK font.
CANVAS_FONT = f'helvetica, arial, "{FONT_FAMILY}", sans-serif'
#: The font list of a page's text (CSS ``font-family``).
PAGE_FONTS = (f'"Noto Sans", Helvetica, Arial, "{FONT_FAMILY}", "Noto Sans CJK SC", '
              '"Microsoft YaHei", sans-serif')
_SHIPPED = "SdkitSansSC-Regular.otf"


def font_path() -> Path:
    """The font to embed: ``$SDKIT_CJK_FONT`` when set, else the shipped subset.

    Raises
    ------
    InputFileError
        If ``$SDKIT_CJK_FONT`` names no file.
    """
    given = os.environ.get("SDKIT_CJK_FONT")
    if given:
        path = Path(given)
        if not path.is_file():
            raise InputFileError(f"$SDKIT_CJK_FONT names no font file: {given}.", path=given)
        return path
    return Path(__file__).with_name("fontdata") / _SHIPPED


def font_chars(text: str) -> set[str]:
    """The characters of ``text`` to embed glyphs for: its printable ASCII (so Latin text
    keeps a sans-serif face where the reader has no Helvetica or Arial) and everything past
    Latin-1 (Chinese text). Empty when ``text`` has no character past Latin-1."""
    wide = {c for c in text if ord(c) > 0xFF and not c.isspace()}
    return wide | {c for c in text if 0x20 < ord(c) < 0x7F} if wide else set()


def subset_in_place(font: Any, codepoints: Iterable[int]) -> None:
    """Cut a ``fontTools`` font down to ``codepoints``, keeping every layout feature and
    name (the one set of subsetting options of the shipped font and of each page)."""
    from fontTools import subset

    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.drop_tables += ["DSIG"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(codepoints))
    subsetter.subset(font)


def subset_font(chars: Iterable[str], path: Path | None = None) -> bytes | None:
    """The font subset to ``chars`` (those it has), as OpenType bytes.

    Returns
    -------
    bytes or None
        ``None`` when the font has none of the characters.
    """
    from fontTools.ttLib import TTFont

    font = TTFont(str(path or font_path()), fontNumber=0, lazy=False)
    cmap = font.getBestCmap() or {}
    wanted = sorted({ord(c) for c in chars} & set(cmap))
    if not wanted:
        return None
    subset_in_place(font, wanted)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def font_face_css(text: str) -> str:
    """An ``@font-face`` rule embedding the font subset to the characters of ``text``.

    Returns
    -------
    str
        ``""`` when ``text`` needs no glyph of the font.
    """
    data = subset_font(font_chars(text))
    if data is None:
        return ""
    kind = "opentype" if data[:4] == b"OTTO" else "truetype"
    encoded = base64.b64encode(data).decode("ascii")
    return (f'@font-face {{ font-family: "{FONT_FAMILY}"; font-style: normal; '
            f"font-weight: 400; font-display: block; "
            f'src: url(data:font/{"otf" if kind == "opentype" else "ttf"};base64,{encoded}) '
            f'format("{kind}"); }}')


def chart_text(chart: Any) -> str:
    """Every string of a Bokeh chart (titles, labels, legends, data), for :func:`font_chars`."""
    import json

    from bokeh.embed import json_item

    return json.dumps(json_item(chart), ensure_ascii=False)


def page_chars_text(page: str) -> str:
    """A page's text with JSON ``\\uXXXX`` escapes (in Bokeh's chart data) decoded, so
    :func:`font_face_css` sees every character the page shows."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), page)


def chart_stylesheet(css: str) -> Any:
    """A Bokeh ``GlobalInlineStyleSheet`` with ``css`` (e.g. :func:`font_face_css`)."""
    from bokeh.models import GlobalInlineStyleSheet

    return GlobalInlineStyleSheet(css=css)


def embed_in_svg(svg: str, css: str) -> str:
    """``svg`` with ``css`` in a ``<style>`` element first inside its root element."""
    if not css:
        return svg
    end = svg.find(">", svg.find("<svg"))
    if end < 0:
        return svg
    return f"{svg[:end + 1]}<defs><style>{css}</style></defs>{svg[end + 1:]}"

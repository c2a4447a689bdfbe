"""An embedded CJK font, so Chinese text renders without the reader's fonts.

A reader's machine (or the headless browser that exports PNG and SVG images) may
have no Chinese font: the briefing's Chinese page would then show boxes. sdkit ships
"Sdkit Sans SC", a subset of Noto Sans SC under the SIL Open Font License
(``sdkit/report/fontdata``: the font, ``OFL.txt`` and where it comes from), and embeds a
further subset with only the characters a page or chart shows, as a ``data:`` URL
in an ``@font-face`` rule (a few kilobytes to a few hundred):

* :func:`font_face_css` for a page's ``<style>``;
* :func:`chart_stylesheet` for a Bokeh chart (a ``GlobalInlineStyleSheet``, which
  Bokeh puts in the head of any document that shows the chart: the embeddable pieces);
* :func:`bokeh_template` for a page Bokeh renders (the explorer, the PNG and SVG
  export): the rule, Bokeh's own font variables and :data:`FONT_WAIT_SCRIPT`;
* :func:`embed_in_svg` for an exported SVG image.

Every font list names the embedded family first (:data:`CANVAS_FONT` for chart text,
:data:`PAGE_FONTS` for a page and Bokeh's widgets and tooltips): Chromium keeps drawing
boxes for text laid out while a web font later in the list was still loading (code,
:data:`MONO_FONTS`, keeps a monospaced face first). A page with Chinese text embeds the
glyphs of its Latin text too, so both match; the rule lists its characters in
``unicode-range``, so every other character (all of a page without Chinese) falls through
to the reader's Helvetica or Arial. Canvas text is drawn once, so :data:`FONT_WAIT_SCRIPT`
holds Bokeh's embedding back until the font is loaded.

``$SDKIT_CJK_FONT`` names another OpenType or TrueType file to embed instead, for
characters outside the shipped subset; :func:`font_face_css` logs a warning naming the
Chinese (wide) characters the font lacks (:func:`missing_chars`). Subsets are kept in
the cache folder (:func:`sdkit.model.cache.cache_root`) as verified data records, so a page
written again with the same characters reuses its subset (:func:`subset_font`).
"""

from __future__ import annotations

import base64
import io
import logging
import os
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sdkit.errors import InputFileError

__all__ = ["FONT_FAMILY", "CANVAS_FONT", "PAGE_FONTS", "MONO_FONTS", "FONT_WAIT_SCRIPT",
           "font_path", "font_chars", "missing_chars", "subset_in_place", "subset_font",
           "font_face_css", "chart_stylesheet", "is_font_stylesheet", "bokeh_template",
           "embed_in_svg", "chart_text", "document_text", "page_chars_text"]

log = logging.getLogger(__name__)

#: The embedded font's family name.
FONT_FAMILY = "Sdkit Sans SC"
#: The font list of chart text (Bokeh ``text_font``): the embedded font first.
CANVAS_FONT = f'"{FONT_FAMILY}", helvetica, arial, sans-serif'
#: The font list of a page's text (CSS ``font-family``): the embedded font first.
PAGE_FONTS = (f'"{FONT_FAMILY}", "Noto Sans", Helvetica, Arial, "Noto Sans CJK SC", '
              '"Microsoft YaHei", sans-serif')
#: The font list of code (a monospaced face for Latin text, the embedded font for Chinese).
MONO_FONTS = f'"DejaVu Sans Mono", Menlo, Consolas, monospace, "{FONT_FAMILY}"'
#: Script for a page's head, after BokehJS: Bokeh embeds its documents only once every
#: ``@font-face`` of the page has loaded (at most three seconds later), so canvas text is
#: drawn with the embedded font and never as boxes. The briefing's template has a copy.
FONT_WAIT_SCRIPT = """\
(function () {
  /* sdkit: draw the charts once the embedded font is loaded */
  if (!window.Bokeh || !document.fonts) return;
  const embed = window.Bokeh.embed, original = embed.embed_items;
  const loads = Array.from(document.fonts, (face) => face.load().catch(() => null));
  const ready = Promise.race([Promise.all(loads),
                              new Promise((done) => setTimeout(done, 3000))]);
  embed.embed_items = function (...args) {
    return ready.then(() => original.apply(this, args));
  };
})();"""
_SHIPPED = "SdkitSansSC-Regular.otf"
#: Cached subsets: entry name prefix, record format, and the revision of
#: :func:`subset_in_place`'s options (bump it when they change).
_SUBSET_PREFIX = "font-"
_SUBSET_FORMAT = "sdkit-font-subset-1"
_SUBSET_REVISION = 1
_FONT_MAGIC = (b"OTTO", b"\x00\x01\x00\x00", b"true")
#: A page Bokeh renders (``file_html``, ``Document.template``): the font in the head.
_TEMPLATE = """\
{% block preamble %}<style>{{ sdkit_css }}</style>{% endblock %}
{% block postamble %}<script>{{ sdkit_script }}</script>{% endblock %}
"""


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


def _is_wide(char: str) -> bool:
    """A Chinese, Japanese or Korean character, or a full-width form (no Latin font has it)."""
    return unicodedata.east_asian_width(char) in ("W", "F")


def font_chars(text: str) -> set[str]:
    """The characters of ``text`` to embed glyphs for: those past Latin-1, and, when
    ``text`` has Chinese (wide) characters, its printable ASCII and space too (so Latin
    text on a Chinese page matches its Chinese). Empty when ``text`` has no character
    past Latin-1."""
    present = set(text)  # each distinct character once (a page is megabytes long)
    wide = {c for c in present if ord(c) > 0xFF and not c.isspace()}
    if any(_is_wide(c) for c in wide):
        wide |= {c for c in present if 0x20 <= ord(c) < 0x7F}
    return wide


def _font_codepoints(path: Path) -> frozenset[int]:
    """The characters the font at ``path`` has."""
    from fontTools.ttLib import TTFont

    with TTFont(str(path), fontNumber=0, lazy=True) as font:
        return frozenset(font.getBestCmap() or {})


def _missing(chars: Iterable[str], have: frozenset[int]) -> set[str]:
    return {c for c in chars if _is_wide(c) and ord(c) not in have}


def missing_chars(text: str, path: Path | None = None) -> set[str]:
    """The Chinese (wide) characters of ``text`` the font to embed lacks: where the reader
    has no Chinese font, they show as boxes."""
    return _missing(font_chars(text), _font_codepoints(path or font_path()))


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


def _subset(codepoints: frozenset[int], path: Path) -> bytes:
    from fontTools.ttLib import TTFont

    with TTFont(str(path), fontNumber=0, lazy=False) as font:
        subset_in_place(font, codepoints)
        out = io.BytesIO()
        font.save(out)
    return out.getvalue()


def subset_font(chars: Iterable[str], path: Path | None = None, *,
                cache_dir: str | os.PathLike[str] | None = None,
                use_cache: bool = True) -> bytes | None:
    """The font subset to ``chars`` (those it has), as OpenType bytes.

    Subsets are kept as verified records in the cache folder (:mod:`sdkit.model.records`),
    keyed by the font's bytes, the subsetter's version and the characters, and read back
    only after their checks pass (fontTools takes seconds for a page's subset).

    Parameters
    ----------
    chars : iterable of str
    path : Path, optional
        The font (default :func:`font_path`).
    cache_dir : path-like, optional
        Cache root (default :func:`sdkit.model.cache.cache_root`).
    use_cache : bool, default True
        False: subset afresh and store nothing.

    Returns
    -------
    bytes or None
        ``None`` when the font has none of the characters.

    Raises
    ------
    UnsafeCacheError
        The cache folder or entry belongs to another user or is open to others.
    """
    source = path or font_path()
    return _subset_of(frozenset(ord(c) for c in chars) & _font_codepoints(source), source,
                      cache_dir, use_cache)


def _subset_of(wanted: frozenset[int], source: Path,
               cache_dir: str | os.PathLike[str] | None, use_cache: bool) -> bytes | None:
    if not wanted:
        return None
    if not use_cache:
        return _subset(wanted, source)
    return _cached_subset(source, wanted, cache_dir)


def _subset_key(source: Path, wanted: frozenset[int]) -> str:
    """The cache key of a subset: the font's bytes, the subsetter's and sdkit's versions,
    the subsetting options' revision and the characters."""
    import fontTools

    from sdkit import __version__
    from sdkit.model import cache

    return cache.cache_key(source.read_bytes(), f"fonttools {fontTools.version}",
                           f"sdkit {__version__}", f"subset {_SUBSET_REVISION}",
                           ",".join(map(str, sorted(wanted))))


def _cached_subset(source: Path, wanted: frozenset[int],
                   cache_dir: str | os.PathLike[str] | None) -> bytes:
    """The subset from its verified record in the cache folder, or made and stored.

    The record is data (the font's bytes in base64 and the characters): it is checked
    like every record (:func:`sdkit.model.records.cached_record`: manifest digest, HMAC, the
    fields' types), and the bytes must decode and start like an OpenType or TrueType
    font; they are only ever embedded in a page, never executed.
    """
    from sdkit.model import cache
    from sdkit.model.records import cached_record

    points = sorted(wanted)

    def build() -> tuple[bytes, dict[str, Any]]:
        data = _subset(wanted, source)
        return data, {"font": base64.b64encode(data).decode("ascii"), "codepoints": points}

    def parse(payload: dict[str, Any]) -> bytes:
        if set(payload) != {"font", "codepoints"} or payload["codepoints"] != points \
                or not isinstance(payload["font"], str):
            raise ValueError("the record is not a font subset of these characters")
        data = base64.b64decode(payload["font"].encode("ascii"), validate=True)
        if data[:4] not in _FONT_MAGIC:
            raise ValueError("the record's bytes are not an OpenType or TrueType font")
        return data

    data, _ = cached_record(cache.cache_root(cache_dir),
                            _SUBSET_PREFIX + _subset_key(source, wanted), _SUBSET_FORMAT,
                            build, parse, what="font subset", stacklevel=3)
    return data


def _unicode_range(codepoints: Iterable[int]) -> str:
    """A CSS ``unicode-range`` value: ``U+20-7E, U+4E2D``."""
    spans: list[list[int]] = []
    for point in sorted(codepoints):
        if spans and point == spans[-1][1] + 1:
            spans[-1][1] = point
        else:
            spans.append([point, point])
    return ", ".join(f"U+{a:X}" if a == b else f"U+{a:X}-{b:X}" for a, b in spans)


def font_face_css(text: str, *, cache_dir: str | os.PathLike[str] | None = None,
                  use_cache: bool = True) -> str:
    """An ``@font-face`` rule embedding the font subset to the characters of ``text``.

    Logs a warning naming the Chinese characters of ``text`` the font lacks.

    Parameters
    ----------
    text : str
    cache_dir, use_cache
        Where subsets are kept, and whether (:func:`subset_font`).

    Returns
    -------
    str
        ``""`` when ``text`` needs no glyph of the font.
    """
    source = font_path()
    have = _font_codepoints(source)
    chars = font_chars(text)
    missing = _missing(chars, have)
    if missing:
        log.warning("The embedded font %s lacks %d characters of the text (%s): they show "
                    "as boxes where the reader has no Chinese font. Set $SDKIT_CJK_FONT to a "
                    "font that has them.", source.name, len(missing),
                    "".join(sorted(missing)[:20]))
    kept = frozenset(ord(c) for c in chars) & have
    data = _subset_of(kept, source, cache_dir, use_cache)
    if data is None:
        return ""
    kind = "opentype" if data[:4] == b"OTTO" else "truetype"
    encoded = base64.b64encode(data).decode("ascii")
    return (f'@font-face {{ font-family: "{FONT_FAMILY}"; font-style: normal; '
            f"font-weight: 400; font-display: swap; "
            f'src: url(data:font/{"otf" if kind == "opentype" else "ttf"};base64,{encoded}) '
            f'format("{kind}"); unicode-range: {_unicode_range(kept)}; }}')


def chart_text(chart: Any) -> str:
    """Every string of a Bokeh chart (titles, labels, legends, data), for :func:`font_chars`."""
    import json

    from bokeh.embed import json_item

    return json.dumps(json_item(chart), ensure_ascii=False)


def document_text(doc: Any) -> str:
    """Every string of a Bokeh document (a served page: titles, labels, widgets, data), for
    :func:`font_chars`; unlike :func:`chart_text` it leaves the document as it is."""
    import json

    values = [model.properties_with_values(include_defaults=False)
              for root in doc.roots for model in root.references()]
    return doc.title + json.dumps(values, default=str, ensure_ascii=False)


def page_chars_text(page: str) -> str:
    """A page's text with JSON ``\\uXXXX`` escapes (in Bokeh's chart data) decoded, so
    :func:`font_face_css` sees every character the page shows."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), page)


def chart_stylesheet(css: str) -> Any:
    """A Bokeh ``GlobalInlineStyleSheet`` with ``css`` (e.g. :func:`font_face_css`)."""
    from bokeh.models import GlobalInlineStyleSheet

    return GlobalInlineStyleSheet(css=css)


def is_font_stylesheet(sheet: Any) -> bool:
    """Whether ``sheet`` (one of a chart's ``stylesheets``) is a :func:`chart_stylesheet`
    of the embedded font."""
    css = getattr(sheet, "css", None)
    return isinstance(css, str) and css.startswith(f'@font-face {{ font-family: "{FONT_FAMILY}"')


def bokeh_template(css: str, extra_css: str = "") -> tuple[str, dict[str, Any]]:
    """A template and its variables for a page Bokeh renders (``bokeh.embed.file_html``,
    ``Document.template``): the head gets ``css`` (:func:`font_face_css`), Bokeh's DOM
    font variables set to :data:`PAGE_FONTS` and :data:`MONO_FONTS` (sliders, tooltips),
    ``extra_css``, and :data:`FONT_WAIT_SCRIPT` after BokehJS.

    Returns
    -------
    (str, dict)
        Pass as ``template`` and ``template_variables``.
    """
    from markupsafe import Markup

    variables = (f":root {{ --bokeh-base-font: {PAGE_FONTS}; "
                 f"--bokeh-mono-font: {MONO_FONTS}; }}")
    sheet = "\n".join(part for part in (css, variables, extra_css) if part)
    return _TEMPLATE, {"sdkit_css": Markup(sheet), "sdkit_script": Markup(FONT_WAIT_SCRIPT)}


def embed_in_svg(svg: str, css: str) -> str:
    """``svg`` with ``css`` in a ``<style>`` element first inside its root element."""
    if not css:
        return svg
    end = svg.find(">", svg.find("<svg"))
    if end < 0:
        return svg
    return f"{svg[:end + 1]}<defs><style>{css}</style></defs>{svg[end + 1:]}"

"""The font that draws Chinese in charts and pages, installed with the project itself.

A fresh machine (CI included) has no CJK font, so the project brings one: Noto Sans SC Regular
from the PyPI package ``pylopdf-fonts-zh-cn`` (a data-only wheel of 17 MB holding the official
Simplified Chinese subset of Noto Sans CJK, SIL Open Font License 1.1, 30,890 characters). It
was chosen over ``mplfonts`` (85 MB, and it bundles SimHei, which is not freely licensed), the
full Noto CJK collections (16-33 MB per file, all four CJK regions) and a WenQuanYi wheel whose
declared licence is not the font's.

- Charts: :func:`configure_matplotlib` registers the font and puts it first among matplotlib's
  sans-serif fonts, with DejaVu Sans (shipped with matplotlib) as per-glyph fallback.
- Pages: :func:`font_face_css` embeds a subset holding just the CJK characters a page uses as a
  WOFF data URI under the family ``'CRM CJK'`` (first CJK family of the base template), so a
  page shows its Chinese offline, on any machine, for ~200 bytes per distinct character (the
  30-day demo: 14 KB on the portal, 46-71 KB on the report, CLV, uplift and plan pages).

>>> str(font_face_css("ROI only"))
''
>>> missing_glyphs("增量利润 ROI 219%")
set()
"""

from __future__ import annotations

import base64
import io
import unicodedata
from functools import cache
from pathlib import Path

from markupsafe import Markup

FAMILY = "Noto Sans SC"  # the family name inside the font file, as matplotlib sees it
CSS_FAMILY = "CRM CJK"  # the family name pages use (templates/base.html.j2)
FALLBACK = "DejaVu Sans"  # matplotlib's own font, for any glyph ours lacks


@cache
def font_path() -> Path:
    """The font file (Noto Sans SC Regular, OpenType/CFF)."""
    import pylopdf_fonts_zh_cn

    return Path(pylopdf_fonts_zh_cn.sans_path())


@cache
def _cmap() -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(font_path(), lazy=True) as font:
        return frozenset(font.getBestCmap())


def warm() -> None:
    """Load what the first :func:`font_face_css` of a process needs (the font's character map,
    fontTools' subsetter), e.g. on a thread while a notebook runs; pages are the same without."""
    from fontTools import subset  # noqa: F401

    _cmap()


def is_cjk(ch: str) -> bool:
    """Characters the pages take from the embedded font: CJK scripts, their punctuation and the
    fullwidth forms (everything from U+2E80 on but the private-use and special areas)."""
    cp = ord(ch)
    return cp >= 0x2E80 and not 0xE000 <= cp <= 0xF8FF and not 0xFFF0 <= cp <= 0xFFFF


def missing_glyphs(text: str) -> set[str]:
    """Characters of ``text`` the font cannot draw (whitespace and control characters aside)."""
    cmap = _cmap()
    return {ch for ch in set(text)
            if not ch.isspace() and unicodedata.category(ch) != "Cc" and ord(ch) not in cmap}


_configured = False


def configure_matplotlib() -> None:
    """Make matplotlib draw Chinese with the project's font (idempotent, cheap when repeated).

    The font is registered once; each call (re)puts it first in ``font.sans-serif`` and makes
    ``font.family`` sans-serif with DejaVu Sans behind it, so a glyph ours lacks still renders.
    """
    global _configured
    import matplotlib
    from matplotlib import font_manager

    if not _configured:
        font_manager.fontManager.addfont(str(font_path()))
        _configured = True
    rc = matplotlib.rcParams
    sans = list(rc["font.sans-serif"])
    if sans[:1] != [FAMILY]:
        rc["font.sans-serif"] = [FAMILY, *(f for f in sans if f != FAMILY)]
    if list(rc["font.family"]) != ["sans-serif", FALLBACK]:
        rc["font.family"] = ["sans-serif", FALLBACK]


def _subset_woff(chars: frozenset[str]) -> bytes:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.flavor = "woff"  # zlib-compressed; WOFF2 would need brotli, which is not installed
    options.hinting = False
    options.layout_features = []  # horizontal Chinese needs no OpenType features
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6]  # copyright, names, version
    options.desubroutinize = True  # compresses better: ~5% smaller on a report page
    options.drop_tables += ["vhea", "vmtx", "VORG", "BASE"]  # pages set Chinese horizontally
    with TTFont(font_path(), lazy=True) as font:
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=sorted(map(ord, chars)))
        subsetter.subset(font)
        buf = io.BytesIO()
        font.flavor = "woff"
        font.save(buf)
    return buf.getvalue()


def font_face_css(text: str) -> Markup:
    """CSS ``@font-face`` for ``'CRM CJK'`` holding the CJK characters of ``text`` (embedded as a
    WOFF data URI, cached by character set); empty when ``text`` has none.

    The rule holds only our family name and base64 of bytes we produced, so it is safe markup.
    """
    # distinct characters first: a report page is ~500,000 characters, ~200 distinct
    chars = frozenset(ch for ch in set(text) if is_cjk(ch) and ord(ch) in _cmap())
    if not chars:
        return Markup("")
    return _css(chars)


@cache
def _css(chars: frozenset[str]) -> Markup:
    data = base64.b64encode(_subset_woff(chars)).decode("ascii")
    return Markup(
        f"@font-face {{ font-family: '{CSS_FAMILY}'; font-style: normal; font-weight: 400; "
        f"font-display: block; src: url(data:font/woff;base64,{data}) format('woff'); }}")

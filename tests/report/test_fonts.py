"""The project's own CJK font: charts draw Chinese without missing glyphs, every Chinese label
of the translation table is covered, and pages embed a working subset."""

from __future__ import annotations

import base64
import io
import re
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from fontTools.ttLib import TTFont  # noqa: E402
from markupsafe import Markup  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from crm_experiments.report import fonts  # noqa: E402
from crm_experiments.report.i18n import TEXT  # noqa: E402

ZH = "活动效果评估：增量利润（95% 区间）"


def _draw(title: str, xlabel: str, ylabel: str) -> tuple[bytes, plt.Text]:
    fig, ax = plt.subplots(figsize=(4, 3))
    try:
        ax.bar(["对照组", "满200减30"], [1.0, -2.5])
        title_text = ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue(), title_text
    finally:
        plt.close(fig)


def test_the_font_comes_from_the_projects_own_install():
    path = fonts.font_path()
    assert path.is_file() and "pylopdf_fonts_zh_cn" in path.parts  # a declared dependency
    assert path.stat().st_size > 1_000_000


def test_chart_with_chinese_draws_every_glyph_in_our_font():
    fonts.configure_matplotlib()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)"
        png, title = _draw(ZH, "实验组", "增量利润（元）")
    assert png.startswith(b"\x89PNG")
    used = font_manager.fontManager._find_fonts_by_props(title.get_fontproperties())
    assert used[0] == str(fonts.font_path())
    assert font_manager.findfont(title.get_fontproperties()) == str(fonts.font_path())


def test_without_our_font_the_same_chart_warns_of_missing_glyphs():
    """The check above can fail: with matplotlib's own font only, Chinese glyphs are missing."""
    with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}), \
            pytest.warns(UserWarning, match="missing from font"):
        _draw(ZH, "实验组", "增量利润")


def test_configure_is_idempotent():
    for _ in range(3):
        fonts.configure_matplotlib()
    sans = matplotlib.rcParams["font.sans-serif"]
    assert sans[0] == fonts.FAMILY and sans.count(fonts.FAMILY) == 1
    assert list(matplotlib.rcParams["font.family"]) == ["sans-serif", fonts.FALLBACK]
    ours = [f for f in font_manager.fontManager.ttflist if f.fname == str(fonts.font_path())]
    assert len(ours) == 1


def test_every_chinese_label_of_the_translation_table_is_covered():
    missing = {key: fonts.missing_glyphs(zh) for key, (_, zh) in TEXT.items()}
    assert {k: v for k, v in missing.items() if v} == {}


def test_missing_glyphs_reports_what_the_font_lacks():
    assert fonts.missing_glyphs("利润\n\t ROI") == set()
    assert fonts.missing_glyphs("利润\U0001F600") == {"\U0001F600"}  # an emoji


def test_font_face_embeds_a_subset_with_the_pages_chinese():
    css = fonts.font_face_css(f"<p>{ZH} ROI 219%</p>")
    assert isinstance(css, Markup)
    m = re.fullmatch(r"@font-face \{ font-family: 'CRM CJK'; [^{}]*src: "
                     r"url\(data:font/woff;base64,([A-Za-z0-9+/=]+)\) format\('woff'\); \}",
                     str(css))
    assert m, str(css)[:200]
    data = base64.b64decode(m.group(1), validate=True)
    font = TTFont(io.BytesIO(data))
    assert font.flavor == "woff"
    cmap = set(font.getBestCmap())
    chinese = {ord(c) for c in ZH if fonts.is_cjk(c)}
    assert chinese <= cmap
    assert ord("R") not in cmap  # Latin is left to the page's Latin fonts
    assert len(cmap) == len(chinese)
    for cp in chinese:
        assert font.getGlyphSet()[font.getBestCmap()[cp]].width > 0
    assert len(data) < 20_000
    assert fonts.font_face_css(ZH[::-1]) is css  # cached by character set


def test_font_face_is_empty_without_chinese():
    assert fonts.font_face_css("Campaign evaluation 2025-11-11, ¥67,925") == Markup("")

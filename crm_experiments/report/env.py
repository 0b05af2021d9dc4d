"""The one Jinja2 environment every page is rendered with: templates from
``report/templates``, autoescaping on for every template (text from params or data is shown as
text, never as markup), and filters that format by the page's language.

>>> render_string("<p>{{ name }}</p>", name="<script>x</script>")
'<p>&lt;script&gt;x&lt;/script&gt;</p>'
"""

from __future__ import annotations

from functools import cache

import jinja2
from markupsafe import Markup, escape

from crm_experiments.report import fonts
from crm_experiments.report import format as fmt
from crm_experiments.report.i18n import tr


def tr_markup(key: str, lang: str = "en", **fmt: object) -> Markup:
    """:func:`~crm_experiments.report.i18n.tr` for a sentence that holds markup made by a
    template (a macro's output, e.g. a figure's ``<span data-figure>``): the sentence and
    every plain argument are escaped, markup arguments are kept.

    >>> str(tr_markup("likely_between", "en", lo=Markup("<b>1</b>"), hi="<2>"))
    'likely between <b>1</b> and &lt;2&gt;'
    """
    return escape(tr(key, lang)).format(**fmt)


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("crm_experiments.report", "templates"),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )
    env.globals.update(tr=tr, trm=tr_markup)
    env.filters.update(money=fmt.money, num=fmt.num, pct=fmt.pct, pvalue=fmt.pvalue,
                       date=fmt.date)
    return env


def compile_templates() -> int:
    """Compile every template of :func:`environment` into its cache (Jinja2 keeps compiled
    templates; a page then only renders), e.g. on a thread while a notebook runs; returns how
    many. The pages are the same with or without it."""
    env = environment()
    names = env.list_templates()
    for name in names:
        env.get_template(name)
    return len(names)


def render(template: str, **context) -> str:
    """Render ``templates/<template>`` with ``context`` (autoescaped)."""
    return environment().get_template(template).render(**context)


def render_string(source: str, **context) -> str:
    """Render a template given as text, with the same environment (tests, small pieces)."""
    return environment().from_string(source).render(**context)


def render_framed(template: str, *, title: str, nav=(), **context) -> str:
    """A whole page (a template extending ``base.html.j2``): rendered once to learn its text,
    then again with the ``@font-face`` of the Chinese characters it holds
    (:func:`~crm_experiments.report.fonts.font_face_css`); ``nav``: (label, href) pairs."""
    frame = {"title": title, "nav": list(nav)}
    page = render(template, font_css="", **frame, **context)
    css = fonts.font_face_css(page)
    return render(template, font_css=css, **frame, **context) if css else page

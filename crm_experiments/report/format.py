"""Numbers, money, percentages and dates as the report's language writes them (Babel).

``en`` is formatted as en_US, ``zh`` as zh_Hans_CN. Missing or non-finite values are ``–``.

>>> money(-1234.7, "CNY", "en"), money(-1234.7, "CNY", "zh")
('-CN¥1,235', '-¥1,235')
>>> money(1234.5, "USD", "en", digits=2), money(1234.5, "USD", "zh", digits=2)
('$1,234.50', 'US$1,234.50')
>>> pct(0.2191, "en", digits=0)
'22%'
>>> num(1234567, "zh", digits=0)
'1,234,567'
"""

from __future__ import annotations

import datetime as dt
import math

from babel import dates as babel_dates
from babel import numbers as babel_numbers

LOCALES = {"en": "en_US", "zh": "zh_Hans_CN"}
DASH = "–"


def locale(lang: str) -> str:
    return LOCALES.get(lang, "en_US")


def _missing(value) -> bool:
    if value is None:
        return True
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError):
        return True


def money(value, currency: str = "CNY", lang: str = "en", digits: int = 0,
          signed: bool = False) -> str:
    """``¥12,345`` in the language's currency format; the symbol from Babel's data for
    ``currency`` (an unknown code is written as the code); ``signed``: ``+¥12`` / ``-¥12``
    (a difference).

    >>> money(12.5, "USD", "en", 2, signed=True), money(-3, "CNY", "zh", signed=True)
    ('+$12.50', '-¥3')
    """
    if _missing(value):
        return DASH
    fmt = "¤#,##0" + ("." + "0" * digits if digits else "")
    if signed:
        fmt = f"+{fmt};-{fmt}"
    try:
        return babel_numbers.format_currency(float(value), currency, format=fmt,
                                             locale=locale(lang), currency_digits=False)
    except babel_numbers.UnknownCurrencyError:
        return f"{currency} {num(value, lang, digits, signed)}"


def num(value, lang: str = "en", digits: int = 2, signed: bool = False) -> str:
    if _missing(value):
        return DASH
    fmt = ("+" if signed else "") + "#,##0" + ("." + "0" * digits if digits else "")
    if signed:
        fmt += ";-#,##0" + ("." + "0" * digits if digits else "")
    return babel_numbers.format_decimal(float(value), format=fmt, locale=locale(lang))


def pct(value, lang: str = "en", digits: int = 1, signed: bool = False) -> str:
    if _missing(value):
        return DASH
    zeros = "." + "0" * digits if digits else ""
    fmt = ("+" if signed else "") + "#,##0" + zeros + "%"
    if signed:
        fmt += ";-#,##0" + zeros + "%"
    return babel_numbers.format_percent(float(value), format=fmt, locale=locale(lang))


def pvalue(p) -> str:
    if _missing(p):
        return DASH
    return "<0.001" if float(p) < 0.001 else f"{float(p):.3f}"


def date(value, lang: str = "en") -> str:
    """A calendar date in the language's medium format (``Nov 11, 2025`` / ``2025年11月11日``)."""
    if value is None or value == "":
        return DASH
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    elif isinstance(value, dt.datetime):
        value = value.date()
    return babel_dates.format_date(value, format="medium", locale=locale(lang))

"""Value types of the commands' options (argparse ``type=``): each refuses a bad value with
one line naming the value and the rule, which argparse prints with the option's name and exit
code 2 (``crm-exp clv --churn-days 0`` -> ``argument --churn-days: 0 days: churn is judged
over 1-365 days without a purchase``).

>>> iso_date("2025-11-11")
datetime.date(2025, 11, 11)
>>> horizon_days("400")
Traceback (most recent call last):
argparse.ArgumentTypeError: 400 days: a horizon is 1-365 days after the sale end
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable


def iso_date(text: str) -> dt.date:
    """A calendar day written YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def whole_days(high: int, meaning: str) -> Callable[[str], int]:
    """A whole number of days 1..``high``; ``meaning`` says what the bound is (it follows
    ``"<value> days: "`` in the refusal)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days") from None
        if not 1 <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} days: {meaning}")
        return value

    return parse


def horizon_days(text: str) -> int:
    """``--horizon``: the params' rule for horizons (read when an option is parsed, so that
    building the parser imports nothing heavy)."""
    from crm_experiments.params import MAX_HORIZON

    return whole_days(MAX_HORIZON, f"a horizon is 1-{MAX_HORIZON} days after the sale end")(
        text)

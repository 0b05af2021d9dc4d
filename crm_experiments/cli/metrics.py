"""``crm-exp metrics``: a shop's health at a date, lifecycle states and stickiness.

At ``--as-of`` ``d`` (midnight, shop time) with base period ``P`` (``--period-months``):

- lifecycle counts and shares of the seven states (:mod:`crm_experiments.metrics.lifecycle`);
  members of ``customers`` without a purchase before ``d`` are counted as ``no_purchase_yet``
  when that table exists (outside the shares);
- repeat purchase rate and ARPU over the last period ``[d - P, d)``
  (:mod:`crm_experiments.metrics.stickiness`);
- N-day retention (``--retention-days``) of the buyers of the period before,
  ``[d - 2P, d - P)``: the share who bought again in ``[d - P, d - P + N days)``; reported
  only when that follow-up is complete by ``d`` (``N`` days no longer than ``P``).
"""

from __future__ import annotations

import argparse
import json
import math

import pandas as pd

from crm_experiments.errors import CrmError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data_dir", metavar="DATA_DIR", help="directory of canonical tables")
    parser.add_argument("--as-of", required=True, help="reference date d (YYYY-MM-DD, shop time)")
    parser.add_argument("--period-months", type=int, default=3, choices=(3, 6, 12),
                        help="base period P in months (default 3)")
    parser.add_argument("--retention-days", type=int, default=30,
                        help="N of the N-day retention (default 30)")
    parser.add_argument("--timezone", default="Asia/Shanghai",
                        help="the shop's timezone (default Asia/Shanghai)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _num(x):
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA:
        return None
    if isinstance(x, (bool, str)):
        return x
    f = float(x)
    return int(f) if f.is_integer() and not isinstance(x, float) else f


def shop_health(shop, as_of: pd.Timestamp, period_months: int = 3,
                retention_days: int = 30) -> dict:
    """The numbers the command prints, as a JSON-ready dict."""
    from crm_experiments.metrics.lifecycle import (
        ACTIVE_STATES,
        NO_STATE,
        STATE_LABELS,
        lifecycle_counts,
        period_start,
    )
    from crm_experiments.metrics.stickiness import stickiness

    orders = shop["orders"]
    customers = shop["customers"] if shop.has("customers") else None
    counts = lifecycle_counts(orders, as_of, period_months, customers=customers)
    states = [{"state": s, "label": STATE_LABELS[s][0], "label_zh": STATE_LABELS[s][1],
               "customers": int(r.customers), "share": _num(r.share)}
              for s, r in counts.iterrows() if s != NO_STATE]
    with_state = int(sum(s["customers"] for s in states))
    active = int(counts.loc[list(ACTIVE_STATES), "customers"].sum())

    p1, p2 = period_start(as_of, period_months), period_start(as_of, period_months, 2)
    last = stickiness(orders, p1, as_of, retention_days=retention_days, as_of=as_of)
    prev = stickiness(orders, p2, p1, retention_days=retention_days, as_of=as_of)
    row = last.loc["all"] if "all" in last.index else None
    ret = prev.loc["all"] if "all" in prev.index else None
    complete = p1 + pd.Timedelta(days=retention_days) <= as_of
    return {
        "data_dir": str(shop.data_dir), "as_of": as_of.date().isoformat(),
        "timezone": shop.timezone, "period_months": period_months,
        "lifecycle": {
            "customers_with_state": with_state,
            "active": active, "active_share": active / with_state if with_state else None,
            "no_purchase_yet": int(counts.loc[NO_STATE, "customers"])
            if NO_STATE in counts.index else None,
            "states": states,
        },
        "stickiness": {
            "window": [p1.isoformat(), as_of.isoformat()],
            "buyers": int(row.buyers) if row is not None else 0,
            "repeat_buyers": int(row.repeat_buyers) if row is not None else 0,
            "repeat_purchase_rate": _num(row.repeat_purchase_rate) if row is not None else None,
            "revenue": float(row.revenue) if row is not None else 0.0,
            "arpu": _num(row.arpu) if row is not None else None,
        },
        "retention": {
            "buyers_window": [p2.isoformat(), p1.isoformat()],
            "follow_up": [p1.isoformat(), (p1 + pd.Timedelta(days=retention_days)).isoformat()],
            "retention_days": retention_days,
            "complete": bool(complete),
            "buyers": int(ret.buyers) if ret is not None else 0,
            "retained": _num(ret.retained) if ret is not None and complete else None,
            "retention_rate": _num(ret.retention_rate) if ret is not None and complete else None,
        },
    }


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _print_table(h: dict) -> None:
    lc, st, rt = h["lifecycle"], h["stickiness"], h["retention"]
    print(f"Shop {h['data_dir']} at {h['as_of']} ({h['timezone']}), P = {h['period_months']} "
          f"months")
    print("\nLifecycle state            customers   share")
    for s in lc["states"]:
        print(f"  {s['label']:<24}{s['customers']:>11,}  {_pct(s['share']):>6}")
    print(f"  {'active (first four)':<24}{lc['active']:>11,}  {_pct(lc['active_share']):>6}")
    if lc["no_purchase_yet"] is not None:
        print(f"  {'no purchase yet':<24}{lc['no_purchase_yet']:>11,}")
    print(f"\nLast period {st['window'][0][:10]} .. {h['as_of']} (end exclusive)")
    print(f"  buyers {st['buyers']:,}, repeat purchase rate {_pct(st['repeat_purchase_rate'])}, "
          f"ARPU {'n/a' if st['arpu'] is None else format(st['arpu'], ',.2f')}")
    print(f"\n{rt['retention_days']}-day retention of the buyers of "
          f"{rt['buyers_window'][0][:10]} .. {rt['buyers_window'][1][:10]}: ", end="")
    if rt["complete"] and not rt["buyers"]:
        print("no buyers in that window")
    elif rt["complete"]:
        print(f"{_pct(rt['retention_rate'])} ({rt['retained']:,} of {rt['buyers']:,})")
    else:
        print(f"not yet complete (follow-up ends {rt['follow_up'][1][:10]})")


def run(args: argparse.Namespace) -> int:
    from crm_experiments.io.reader import load_shop

    try:
        as_of = pd.Timestamp(args.as_of)
    except (ValueError, TypeError) as exc:
        raise CrmError(f"--as-of {args.as_of!r} is not a date (use YYYY-MM-DD)") from exc
    if as_of != as_of.normalize():
        raise CrmError(f"--as-of {args.as_of!r} must be a date without a time of day")
    if args.retention_days < 1:
        raise CrmError("--retention-days must be at least 1")
    shop = load_shop(args.data_dir, timezone=args.timezone)
    health = shop_health(shop, as_of, args.period_months, args.retention_days)
    if args.json:
        print(json.dumps(health, indent=2, ensure_ascii=False))
    else:
        _print_table(health)
    return 0

"""``crm-exp lists --source taobao|shopify --data DIR --campaign-id ID --arm NAME=FILE ...``.

Turns one buyer list per arm (CSV/XLSX: Taobao nicks or Shopify e-mails, optional send time,
channel and cost) into the campaign's ``assignments`` and ``contacts`` in DIR, with the same
pseudonymous ids as ``crm-exp import`` (see :mod:`crm_experiments.io.exports.lists`).
With ``--holdout PARAMS.yaml`` (a params file with a ``shop_holdout`` section) the members of
the shop-wide holdout are dropped from every list and counted (``crm-exp holdout``).
Exit status: 0 when written (warnings alone are fine), 1 when a list breaks a rule (nothing
written), 2 when the arguments cannot be used.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crm_experiments.cli._refusal import print_refusal
from crm_experiments.errors import DataValidationError


def _arm(text: str) -> tuple[str, Path]:
    name, sep, file = text.partition("=")
    if not sep or not name or not file:
        raise argparse.ArgumentTypeError(f"expected NAME=FILE, got {text!r}")
    return name, Path(file)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", required=True, choices=("taobao", "shopify"),
                        help="taobao: lists of buyer nicks (买家会员名); shopify: of e-mails")
    parser.add_argument("--data", metavar="DIR", required=True, type=Path,
                        help="the data directory `crm-exp import` wrote")
    parser.add_argument("--campaign-id", required=True, help="the campaign_id of the params")
    parser.add_argument("--arm", metavar="NAME=FILE", required=True, action="append",
                        type=_arm, help="one arm's list (repeat for every arm)")
    parser.add_argument("--control", default="control",
                        help="the control arm, which gets no contacts (default: control)")
    parser.add_argument("--assigned-at", metavar="DATE", default=None,
                        help="when the arms were drawn (also the send time when a list has "
                             "none)")
    parser.add_argument("--channel", default=None,
                        help="message channel when the lists have no 渠道/channel column "
                             "(e.g. sms)")
    parser.add_argument("--cost", type=float, default=None,
                        help="cost per message when the lists have no 费用/cost column")
    parser.add_argument("--timezone", metavar="TZ", default=None,
                        help="the shop's timezone (default Asia/Shanghai)")
    parser.add_argument("--holdout", metavar="PARAMS.yaml", default=None,
                        help="params whose shop_holdout section declares the shop-wide "
                             "holdout: its members are dropped from every list")


def run(args: argparse.Namespace) -> int:
    from crm_experiments.errors import ParamsError
    from crm_experiments.io.exports.lists import import_lists
    from crm_experiments.params import load_params

    holdout = None
    if args.holdout is not None:
        holdout = load_params(args.holdout).shop_holdout
        if holdout is None:
            raise ParamsError(f"{args.holdout}: --holdout needs a shop_holdout section (share, "
                              "salt, start, end) in the params")
    try:
        result = import_lists(args.arm, args.data, fmt=args.source,
                              campaign_id=args.campaign_id, control_arm=args.control,
                              assigned_at=args.assigned_at, channel=args.channel,
                              cost=args.cost, timezone=args.timezone, holdout=holdout)
    except DataValidationError as exc:
        return print_refusal(exc, args.data)
    for f in result.warnings:
        print(f, file=sys.stderr)
    if result.key_source.warning:
        print(f"WARNING {result.key_source.warning}", file=sys.stderr)
    for a in result.arms:
        print(f"arm {a.arm} ({a.file}): {a.customers:,} customers, {a.matched:,} with orders, "
              f"{a.contacts:,} contacts")
    if holdout is not None:
        excluded = sum(a.excluded for a in result.arms)
        print(f"shop holdout ({holdout.share:.1%}, {holdout.start} to {holdout.end}): "
              f"{excluded:,} customers of the lists excluded (" + ", ".join(
                  f"{a.arm} {a.excluded:,}" for a in result.arms) + ")")
    print(f"OK: campaign {result.campaign_id} written to {result.data_dir} "
          f"({', '.join(result.written) or 'nothing'}); replaced {result.replaced_assignments:,} "
          f"earlier assignments and {result.replaced_contacts:,} contacts of this campaign")
    return 0

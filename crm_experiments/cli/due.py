"""``crm-exp due --today DATE``: the evaluations that are due and not yet done."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--today", type=dt.date.fromisoformat, default=dt.date.today(),
                        help="the date to check against (YYYY-MM-DD; default today)")
    parser.add_argument("--campaigns", default="params/campaigns",
                        help="folder with one YAML per campaign")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    from crm_experiments.pipeline.schedule import due

    pending, errors = due(args.today, args.campaigns)
    for err in errors:
        print(f"invalid campaign file: {err}", file=sys.stderr)
    if args.json:
        print(json.dumps([{"campaign_id": e.campaign_id, "horizon_days": e.horizon_days,
                           "due_date": str(e.due_date), "params": str(e.params_path)}
                          for e in pending], indent=2))
    else:
        for e in pending:
            print(f"{e.due_date}  {e.campaign_id:<30} {e.horizon_days:>3}d  {e.params_path}")
        print(f"{len(pending)} evaluation(s) due on {args.today}")
    return 1 if errors else 0

"""``crm-exp due --today DATE``: the evaluations that are due and not yet done, each with
its preflight (:mod:`crm_experiments.pipeline.preflight`): one that would fail is listed as
BLOCKED with its reasons (exit status 1), so it is fixed before ``schedule`` reaches it."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from crm_experiments.cli._types import iso_date


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--today", type=iso_date, default=dt.date.today(),
                        help="the date to check against (YYYY-MM-DD; default today)")
    parser.add_argument("--campaigns", default="params/campaigns",
                        help="folder with one YAML per campaign")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    from crm_experiments.pipeline.schedule import due, preflight_due

    pending, errors = due(args.today, args.campaigns)
    problems = preflight_due(pending)
    for err in errors:
        print(f"invalid campaign file: {err}", file=sys.stderr)
    blocked = [e for e in pending if problems.get((e.campaign_id, e.horizon_days))]
    if args.json:
        print(json.dumps([{"campaign_id": e.campaign_id, "horizon_days": e.horizon_days,
                           "due_date": str(e.due_date), "params": str(e.params_path),
                           "ready": e not in blocked,
                           "problems": problems.get((e.campaign_id, e.horizon_days), [])}
                          for e in pending], ensure_ascii=False, indent=2))
    else:
        for e in pending:
            state = "BLOCKED" if e in blocked else "ready"
            print(f"{e.due_date}  {e.campaign_id:<30} {e.horizon_days:>3}d  {state:<7}  "
                  f"{e.params_path}")
            for line in problems.get((e.campaign_id, e.horizon_days), []):
                print(f"    {line}")
        print(f"{len(pending)} evaluation(s) due on {args.today}"
              + (f", {len(blocked)} blocked by the preflight" if blocked else ""))
    return 1 if errors or blocked else 0

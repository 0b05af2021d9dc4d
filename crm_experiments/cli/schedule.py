"""``crm-exp schedule --today DATE``: run every due evaluation once (cron / systemd / Airflow).

Exit 1 when a campaign file is invalid or an evaluation failed or was blocked by the preflight
(each listed with its reason), so the scheduler's own alerting sees it. While a sale is watched
(five days before its start to its last day) it also writes yesterday's watch page of that
campaign (:func:`crm_experiments.pipeline.schedule.run_watches`); a page that cannot be made is
listed as skipped with its reason, without changing the exit code."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from crm_experiments.cli._types import iso_date


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--today", type=iso_date, default=dt.date.today(),
                        help="the date to run for (YYYY-MM-DD; default today)")
    parser.add_argument("--campaigns", default="params/campaigns",
                        help="folder with one YAML per campaign")
    parser.add_argument("--reports-dir", default="reports")


def run(args: argparse.Namespace) -> int:
    from crm_experiments.cli.run import terminate_as_interrupt
    from crm_experiments.io.process import check_writable
    from crm_experiments.pipeline.schedule import run_due, run_watches

    # before any evaluation (and its lock, kept in the reports folder): it can be written
    check_writable(args.reports_dir, create=False)

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    with terminate_as_interrupt():
        outcomes, errors = run_due(args.today, campaigns_dir=args.campaigns,
                                   reports_root=args.reports_dir, say=say)
        watches = run_watches(args.today, campaigns_dir=args.campaigns,
                              reports_root=args.reports_dir, say=say)
    for err in errors:
        print(f"invalid campaign file: {err}", file=sys.stderr)
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing due"
    print(f"schedule {args.today}: {summary}")
    for w in watches:
        print(f"  watch {w.campaign_id} {w.day}: {w.status} {w.detail}")
    for o in outcomes:
        if o.status in ("failed", "blocked"):
            print(f"  {o.status.upper()} {o.evaluation.key}: {o.detail}")
    # a blocked evaluation (preflight refused it) needs a person as much as a failed one
    return 1 if errors or counts.get("failed") or counts.get("blocked") else 0

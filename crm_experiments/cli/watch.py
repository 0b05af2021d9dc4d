"""``crm-exp watch PARAMS.yaml [--day D]``: the daily watch of a running sale.

For day ``D`` (default: today in the shop's timezone, clipped to the sale's days) writes
``<reports-dir>/<campaign_id>/watch/<D>.html``: the shop's KPIs per day from five days before
the sale start to ``D`` against a baseline, per treatment arm the group-sequential interval
(valid under daily looks) of conversion and net revenue per customer vs the holdout
(cumulative since the sale start), and the sample-ratio check
(:mod:`crm_experiments.analyses.watch`). Prints one line per arm and the page's path; the
portal (``<reports-dir>/index.html``) lists the page. A day outside the watch window, data
that do not reach ``D`` or a campaign without assignments are refused (exit 2) before
anything is written.
"""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    from crm_experiments.cli._types import iso_date

    parser.add_argument("params", help="campaign parameters (YAML)")
    parser.add_argument("--day", type=iso_date, default=None,
                        help="the day to watch (YYYY-MM-DD; default today in the shop's timezone,"
                             " clipped to the sale)")
    parser.add_argument("--reports-dir", default="reports", help="where reports go (reports/)")


def run(args: argparse.Namespace) -> int:
    from crm_experiments.analyses.watch import default_day, watch_sale
    from crm_experiments.io.process import check_writable
    from crm_experiments.io.reader import load_shop
    from crm_experiments.params import load_params
    from crm_experiments.report.i18n import tr
    from crm_experiments.report.render import write_index
    from crm_experiments.report.watch_page import write_watch_page

    params = load_params(args.params)
    day = args.day or default_day(params)
    check_writable(args.reports_dir, create=False)
    shop = load_shop(params.data.path, params=params)
    w = watch_sale(shop, params, day)
    print(f"{params.campaign_id} on {day}: {w.srm.message}")
    latest = w.latest()
    for note in w.notes:
        print(f"  {tr(note, 'en')}")
    for arm, rows in latest.groupby("arm", sort=False):
        parts = []
        for r in rows.itertuples(index=False):
            flag = " (excludes 0)" if r.excludes_zero else ""
            parts.append(f"{r.metric} {r.estimate:+.4g} [{r.lower:.4g}, {r.upper:.4g}]{flag}")
        print(f"  {arm} vs {params.control_arm}: " + "; ".join(parts))
    path = write_watch_page(w, params, args.reports_dir)
    write_index(args.reports_dir)
    print(f"  page: {path}")
    return 0

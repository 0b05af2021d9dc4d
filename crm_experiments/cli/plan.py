"""``crm-exp plan --next-id ID``: the next round of the plan from every finished evaluation.

    crm-exp plan --next-id d11_2026 [--campaigns a,b,c] [--sale-start 2026-11-01
        --sale-end 2026-11-11] [--budget 50000] [--campaigns-dir params/campaigns]
        [--drafts-dir params/drafts] [--out-dir reports/d11_2026/plan]

Writes the draft ``<drafts-dir>/<next-id>.yaml`` (the schedule does not read it: move it into
``params/campaigns/`` to accept it) and the plan page (``summary.html`` in the params'
language, ``summary.<other>.html``); logs both to MLflow (run tagged
``report_type=next_round_plan``). See :mod:`crm_experiments.plan`.
"""

from __future__ import annotations

import argparse

from crm_experiments.cli._types import iso_date


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--next-id", required=True, help="campaign id of the next round")
    parser.add_argument("--campaigns", help="comma-separated campaign ids (default: all "
                        "campaigns with a finished evaluation)")
    parser.add_argument("--sale-start", type=iso_date, help="first sale day (default: the latest "
                        "campaign's, one year later)")
    parser.add_argument("--sale-end", type=iso_date, help="last sale day (default: same length)")
    parser.add_argument("--budget", type=float, help="spend cap for coupons, messages and "
                        "fixed cost (currency of the shop)")
    parser.add_argument("--campaigns-dir", default="params/campaigns",
                        help="the campaigns' params, read for the latest campaign's settings "
                             "(params/campaigns)")
    parser.add_argument("--drafts-dir", default="params/drafts",
                        help="where the draft params of the next round go (params/drafts; "
                             "move the file into the campaigns folder to accept it)")
    parser.add_argument("--out-dir", help="summary and tables (reports/<next-id>/plan)")
    parser.add_argument("--data-path", help="data directory of the next round (default: the "
                        "latest campaign's)")
    parser.add_argument("--force", action="store_true", help="replace an existing params file")


def run(args: argparse.Namespace) -> int:
    from crm_experiments.plan.run import make_plan
    from crm_experiments.report.plan_page import reason_text

    campaigns = [c.strip() for c in args.campaigns.split(",") if c.strip()] \
        if args.campaigns else None
    o = make_plan(args.next_id, campaigns=campaigns, sale_start=args.sale_start,
                  sale_end=args.sale_end, budget=args.budget, campaigns_dir=args.campaigns_dir,
                  drafts_dir=args.drafts_dir,
                  out_dir=args.out_dir, data_path=args.data_path, force=args.force)
    p = o.plan
    for k in p.kinds.itertuples():
        print(f"{k.kind}: {k.decision} - {k.reason}")
    for s in p.states.itertuples():
        arm = s.arm_kind if isinstance(s.arm_kind, str) else None
        print(f"{s.state}: {s.action}" + (f" with {arm}" if arm else ""))
    if p.design is not None:
        print(p.design.message)
        s = p.summary()
        evaluation = s["evaluation_design"]
        if evaluation is not None and not s["holdout_same"]:
            print(f"evaluation of {p.latest} recommends (for a round like its own): "
                  f"{evaluation['message']}")
            for note in s["holdout_notes"]:
                print("  because:", reason_text(note, "en", o.params["costs"]["currency"],
                                                p.labels, p.campaign_type))
    e = p.expected_profit
    print(f"expected incremental profit {e['estimate']:,.0f} [{e['low']:,.0f}, {e['high']:,.0f}]")
    print(f"draft params {o.params_path} (move it into {args.campaigns_dir}/ to schedule it); "
          f"summary {o.summary_path}; MLflow run {o.run_id}")
    return 0

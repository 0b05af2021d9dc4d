"""``crm-exp holdout PARAMS.yaml``: what all CRM work earned against the shop-wide holdout.

Reads the params' ``shop_holdout`` section (share, salt, start, end), compares every customer
exposed to CRM with the held-out customers over the period
(:mod:`crm_experiments.analyses.holdout`: net revenue, gross profit, net profit after
contact costs and repurchase per customer and in total, with intervals; the drift check; the
recommended holdout share), prints the headline and writes
``<reports-dir>/<campaign_id>/holdout/<start>_<end>.html``, listed by the portal
(``<reports-dir>/index.html``), and logs an MLflow run (``report_type=shop_holdout``: its
metrics and the page; ``--no-mlflow`` to skip). Params without the section, or data that
end before the period, are refused (exit 2) before anything is written; a part that cannot
be computed (no contacts table, too few members, data ending inside the period) is a note on
the page and in the output (exit 0).
"""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("params", help="campaign parameters (YAML) with a shop_holdout section")
    parser.add_argument("--reports-dir", default="reports", help="where reports go (reports/)")
    parser.add_argument("--no-mlflow", action="store_true",
                        help="do not log the analysis to MLflow (a run tagged "
                             "report_type=shop_holdout)")


def run(args: argparse.Namespace) -> int:
    from crm_experiments.analyses.holdout import evaluate_holdout
    from crm_experiments.errors import ParamsError
    from crm_experiments.io.process import check_writable
    from crm_experiments.io.reader import load_shop
    from crm_experiments.params import load_params
    from crm_experiments.report.holdout_page import write_holdout_page
    from crm_experiments.report.render import write_index

    params = load_params(args.params)
    if params.shop_holdout is None:
        raise ParamsError(f"{args.params}: shop_holdout: the params declare no shop-wide "
                          "holdout; add a shop_holdout section (share, salt, start, end)")
    check_writable(args.reports_dir, create=False)
    shop = load_shop(params.data.path, params=params)
    r = write_summary(evaluate_holdout(shop, params))
    path = write_holdout_page(r, args.reports_dir)
    write_index(args.reports_dir)
    print(f"  page: {path}")
    if not args.no_mlflow:
        from crm_experiments.tracking.client import tracking_uri
        from crm_experiments.tracking.holdout import log_holdout

        run_id = log_holdout(r.summary(), r.metrics(), path)
        print(f"  MLflow run {run_id} ({tracking_uri()})")
    return 0


def write_summary(r):  # noqa: ANN001, ANN201 - a HoldoutAnalysis, printed and returned
    """Print the holdout's headline (English, plain numbers) and return the result."""
    from crm_experiments.report.i18n import tr

    print(f"shop holdout {r.start} to {r.end} (measured to {r.measured_to}): "
          f"{r.n_holdout:,} held out, {r.n_exposed:,} exposed")
    for key, values in r.notes:
        print(f"  {tr(key, 'en', **values)}")
    totals = r.totals.set_index("metric") if not r.totals.empty else None
    for e in r.effects.itertuples(index=False):
        line = (f"  {e.metric} per customer {e.estimate:+.4g} [{e.ci_low:.4g}, {e.ci_high:.4g}]"
                f" ({e.method})")
        if totals is not None and e.metric in totals.index:
            t = totals.loc[e.metric]
            line += f"; total {t.total:+,.0f} [{t.total_low:,.0f}, {t.total_high:,.0f}]"
        if e.metric in r.truth:
            line += f"; true {r.truth[e.metric]:+.4g}"
        print(line)
    d = r.design
    if d.get("recommended_share") is not None:
        reach = "" if d.get("reachable") else " (not reachable)"
        print(f"  recommended share {d['recommended_share']:.1%}{reach} to detect "
              f"{d['target']:.4g} net profit per customer at {d['power']:.0%} power; current "
              f"share detects {d['mde_current']:.4g}")
    flagged = r.drift[r.drift["flagged"].astype(bool)]
    for f in flagged.itertuples(index=False):
        print(f"  drift: {f.kind} out of balance on {f.date} (chi-square p {f.p_value:.3g}, "
              f"largest standardised difference {f.max_abs_smd:.3f} in {f.worst_category})")
    return r

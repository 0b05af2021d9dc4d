"""``crm-exp demo``: generate the demo shop once (cached), evaluate it at every horizon,
write the sale watch page of every sale day (what ``crm-exp watch`` shows during the sale)
and the shop-wide holdout page (what ``crm-exp holdout`` shows).

The demo shop is staged and validated once (:func:`~crm_experiments.io.cache.shop_cache`) for
every horizon's notebooks, the sale watch and the holdout page, and every notebook runs in one
kernel (:class:`~crm_experiments.pipeline.kernel.NotebookKernel`), started before the data are
checked so that it starts and imports meanwhile."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from importlib import resources
from pathlib import Path

#: The demo campaign's params, shipped with the package (in a checkout, a symlink to
#: ``params/demo.yaml``); its data path ``../data/demo`` is relative to the YAML file.
PACKAGED_PARAMS = Path(str(resources.files("crm_experiments") / "demo" / "demo.yaml"))


def default_params() -> Path:
    """The demo params to use: the checkout's ``params/demo.yaml`` when the package runs from
    a checkout; for an installed package, ``./params/demo.yaml`` in the working directory,
    copied there from the package the first time (so the demo data go to ``./data/demo``,
    not into the installation)."""
    packaged = PACKAGED_PARAMS.resolve()
    if packaged.parent.name == "params":  # the symlink of a checkout
        return packaged
    local = Path("params") / "demo.yaml"
    if not local.exists():
        local.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(packaged, local)
    return local


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", default=None,
                        help="demo campaign parameters (default: the checkout's params/demo.yaml,"
                             " or ./params/demo.yaml copied from the installed package)")
    parser.add_argument("--customers", type=int, default=50_000, help="customers to generate")
    parser.add_argument("--regenerate", action="store_true", help="ignore the cached demo data")
    parser.add_argument("--reports-dir", default="reports")


def ensure_demo_data(params, n_customers: int, regenerate: bool = False,
                     say=lambda m: None) -> Path:
    """Generate the demo shop into ``params.data.path`` unless an identical one is there."""
    from crm_experiments.demo.generator import GENERATOR_VERSION, generate_shop

    out = Path(params.data.path)
    truth = out / "truth.json"
    if truth.exists() and not regenerate:
        t = json.loads(truth.read_text(encoding="utf-8"))
        if (t.get("n_customers") == n_customers and t.get("seed") == params.seed
                and t.get("generator_version") == GENERATOR_VERSION):
            say(f"demo data: cached in {out}")
            return out
    say(f"demo data: generating {n_customers:,} customers into {out} ...")
    started = time.perf_counter()
    generate_shop(out, params, n_customers=n_customers)
    say(f"demo data: generated in {time.perf_counter() - started:.1f}s")
    return out


def run(args: argparse.Namespace) -> int:
    from crm_experiments.io.cache import shop_cache
    from crm_experiments.params import load_params
    from crm_experiments.pipeline.kernel import run_kernel
    from crm_experiments.pipeline.runner import run_evaluation
    from crm_experiments.tracking.client import tracking_uri

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    from crm_experiments.cli.generate import check_customers
    from crm_experiments.io.process import check_writable

    check_customers(args.customers)
    # before the data are generated: the reports can be written
    check_writable(args.reports_dir, create=False)
    args.params = args.params or str(default_params())
    params = load_params(args.params)
    ensure_demo_data(params, args.customers, args.regenerate, say)
    started = time.perf_counter()
    outcomes = []
    with run_kernel() as kernel, shop_cache(params) as cache:
        # the data read once: every horizon, the watch, the holdout
        for i, h in enumerate(params.horizons, 1):
            say(f"evaluation {i}/{len(params.horizons)}: {h} days after the sale")
            outcomes.append(run_evaluation(args.params, h, reports_root=args.reports_dir,
                                           progress=say, shop_cache_dir=cache, kernel=kernel))
        watch_pages = write_sale_watch(params, args.reports_dir, say)
        holdout_page = write_shop_holdout(params, args.reports_dir, say)
    print(f"\nDone in {time.perf_counter() - started:.0f}s.")
    for o in outcomes:
        v = o.summary["verdict"]
        print(f"  {o.horizon_days:>3}d report: {o.report_path}  ({v['status']}, best arm "
              f"{v['best_arm']}, MLflow run {o.run_id})")
    print(f"  all reports: {Path(args.reports_dir) / 'index.html'}")
    if watch_pages:
        print(f"  sale watch: {len(watch_pages)} pages, {watch_pages[-1].parent}")
    if holdout_page:
        print(f"  shop holdout: {holdout_page}")
    print(f"  MLflow: {tracking_uri()}  (browse with `make ui`, then http://127.0.0.1:5000)")
    return 0


def write_shop_holdout(params, reports_root, say, log: bool = True) -> Path | None:  # noqa: ANN001
    """The shop-wide holdout page (``<reports>/<id>/holdout/<start>_<end>.html``), the
    portal listing it and (``log``) its MLflow run, when the params declare ``shop_holdout``;
    a page that cannot be made is said and skipped."""
    from crm_experiments.analyses.holdout import evaluate_holdout
    from crm_experiments.errors import CrmError
    from crm_experiments.io.reader import load_shop
    from crm_experiments.report.holdout_page import write_holdout_page
    from crm_experiments.report.render import write_index

    if params.shop_holdout is None:
        return None
    try:
        r = evaluate_holdout(load_shop(params.data.path, params=params), params)
    except CrmError as exc:
        say(f"shop holdout: not written: {exc}")
        return None
    path = write_holdout_page(r, reports_root)
    write_index(reports_root)
    if log:
        from crm_experiments.tracking.holdout import log_holdout

        log_holdout(r.summary(), r.metrics(), path)
    return path


def write_sale_watch(params, reports_root, say) -> list[Path]:  # noqa: ANN001
    """The watch page of every sale day (``<reports>/<id>/watch/<day>.html``) and the portal
    listing them; a day whose page cannot be made is said and skipped."""
    import datetime as dt

    from crm_experiments.analyses.watch import watch_sale
    from crm_experiments.errors import CrmError
    from crm_experiments.io.reader import load_shop
    from crm_experiments.report.render import write_index
    from crm_experiments.report.watch_page import write_watch_page

    shop = load_shop(params.data.path, params=params)
    try:  # the last sale day's watch holds every earlier day's figures: computed once
        last = watch_sale(shop, params, params.sale.end)
    except CrmError as exc:
        say(f"sale watch: not written: {exc}")
        return []
    pages = []
    day = params.sale.start
    while day <= params.sale.end:
        pages.append(write_watch_page(last.as_of(day, params.sale.start), params,
                                      reports_root))
        day += dt.timedelta(days=1)
    if pages:
        write_index(reports_root)
    return pages

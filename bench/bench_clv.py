"""Time the CLV fits on a generated shop: features in the engine, BG/NBD and Gamma-Gamma.

The shop comes from the demo generator (``params/demo.yaml``, ``--customers`` customers,
1,000,000 by default); an existing shop in ``--data-dir`` (default
``data/bench/shop_<customers>``, shared with bench_metrics) with the same number of customers
is reused. Calibration ends at the sale start (weeks). Reported: seconds to read the shop,
to compute the features, to fit BG/NBD and Gamma-Gamma (on a random sample of
``MAX_FIT_CUSTOMERS`` customers above that many, as the notebook does; ``--full-fit`` fits on
everyone), and the fitted parameters. ``--campaign`` also times the whole CLV/churn analysis of
the notebook (:func:`crm_experiments.analyses.clv.campaign_clv`, horizon 30 days) with its peak
RSS above the loaded shop.
Unknown arguments are ignored (``python -m bench`` passes the same ones to every script).
Usage: ``python bench/bench_clv.py [--customers N] [--data-dir DIR] [--threads K]
[--full-fit] [--campaign]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crm_experiments.io import engine  # noqa: E402
from crm_experiments.io.reader import load_shop  # noqa: E402
from crm_experiments.models.btyd import (  # noqa: E402
    MAX_FIT_CUSTOMERS,
    BetaGeoModel,
    FitSampleWarning,
)
from crm_experiments.models.features import rfm_features  # noqa: E402
from crm_experiments.models.gamma_gamma import GammaGammaModel  # noqa: E402
from crm_experiments.params import load_params  # noqa: E402


def ensure_shop(data_dir: Path, params_path: str, n_customers: int) -> float | None:
    """Generate the shop (in a child process) unless one with ``n_customers`` is there."""
    truth = data_dir / "truth.json"
    if truth.exists() and json.loads(truth.read_text()).get("n_customers") == n_customers:
        return None
    code = ("import sys\n"
            "from crm_experiments.demo.generator import generate_shop\n"
            "from crm_experiments.params import load_params\n"
            "generate_shop(sys.argv[1], load_params(sys.argv[2]), n_customers=int(sys.argv[3]))")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(data_dir), params_path, str(n_customers)],
                   check=True, cwd=ROOT)
    return time.perf_counter() - started


def _campaign(shop, params, timings: dict[str, float]) -> tuple[float, float]:
    """Time campaign_clv (horizon 30); returns (peak RSS, peak minus RSS before) in MiB,
    sampled every 50 ms."""
    import psutil

    from crm_experiments.analyses.clv import campaign_clv

    proc = psutil.Process()
    before = proc.memory_info().rss
    peak = [before]
    done = threading.Event()

    def sample():
        while not done.wait(0.05):
            peak[0] = max(peak[0], proc.memory_info().rss)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    t = time.perf_counter()
    try:
        res = campaign_clv(shop, params, 30)
    finally:
        done.set()
        th.join()
    timings["campaign_clv"] = time.perf_counter() - t
    for note in res.method_notes:
        print(f"# {note}")
    return peak[0] / 2**20, (peak[0] - before) / 2**20


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--params", default=str(ROOT / "params" / "demo.yaml"))
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--full-fit", action="store_true", help="fit on every customer")
    ap.add_argument("--campaign", action="store_true", help="also time campaign_clv")
    args, _unknown = ap.parse_known_args(argv)
    cap = None if args.full_fit else MAX_FIT_CUSTOMERS

    params = load_params(args.params)
    data_dir = Path(args.data_dir or ROOT / "data" / "bench" / f"shop_{args.customers}")
    gen = ensure_shop(data_dir, args.params, args.customers)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    shop = load_shop(data_dir, params=params, con=engine.connect(threads=args.threads),
                     validate=False)
    timings["load"] = time.perf_counter() - t
    t = time.perf_counter()
    feats = rfm_features(shop["orders"], params.sale_start, unit="week")
    timings["features"] = time.perf_counter() - t
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitSampleWarning)
        bg = BetaGeoModel().fit(feats, max_customers=cap, seed=params.seed)
        timings["fit_bg_nbd"] = time.perf_counter() - t
        t = time.perf_counter()
        gg = GammaGammaModel().fit(feats, max_customers=cap, seed=params.seed)
    timings["fit_gamma_gamma"] = time.perf_counter() - t
    timings["fit_bg_nbd_plus_gamma_gamma"] = timings["fit_bg_nbd"] + timings["fit_gamma_gamma"]
    campaign_peak = None
    if args.campaign:
        del feats
        campaign_peak = _campaign(shop, params, timings)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"# bench_clv: {args.customers:,} customers generated, {bg.n_customers_:,} with a "
          f"purchase before {params.sale_start.date()}; BG/NBD fitted on {bg.n_fit_customers_:,}"
          f", Gamma-Gamma on {gg.n_fit_customers_:,} of {gg.n_customers_:,} repeat customers")
    if gen is not None:
        print(f"generate shop: {gen:.1f} s")
    for name, sec in timings.items():
        print(f"{name:<30} {sec:8.2f} s")
    print(f"peak RSS {peak:,.0f} MiB")
    if campaign_peak is not None:
        print(f"campaign_clv peak RSS {campaign_peak[0]:,.0f} MiB ({campaign_peak[1]:+,.0f} MiB "
              "above the loaded shop)")
    print(f"BG/NBD: {bg!r}")
    print(f"Gamma-Gamma: {gg!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Time the CLV fits on a generated shop: features in the engine, BG/NBD and Gamma-Gamma.

The shop comes from the demo generator (``params/demo.yaml``, ``--customers`` customers,
1,000,000 by default); an existing shop in ``--data-dir`` (default
``data/bench/shop_<customers>``, shared with bench_metrics) with the same number of customers
is reused. Calibration ends at the sale start (weeks). Reported: seconds to read the shop,
to compute the features, to fit BG/NBD and Gamma-Gamma, and the fitted parameters.
Unknown arguments are ignored (``python -m bench`` passes the same ones to every script).
Usage: ``python bench/bench_clv.py [--customers N] [--data-dir DIR] [--threads K]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crm_experiments import engine  # noqa: E402
from crm_experiments.io.reader import load_shop  # noqa: E402
from crm_experiments.models.btyd import BetaGeoModel  # noqa: E402
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--params", default=str(ROOT / "params" / "demo.yaml"))
    ap.add_argument("--threads", type=int, default=None)
    args, _unknown = ap.parse_known_args(argv)

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
    bg = BetaGeoModel().fit(feats)
    timings["fit_bg_nbd"] = time.perf_counter() - t
    t = time.perf_counter()
    gg = GammaGammaModel().fit(feats)
    timings["fit_gamma_gamma"] = time.perf_counter() - t
    timings["fit_bg_nbd_plus_gamma_gamma"] = timings["fit_bg_nbd"] + timings["fit_gamma_gamma"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"# bench_clv: {args.customers:,} customers generated, {len(feats):,} with a purchase "
          f"before {params.sale_start.date()} ({int((feats['frequency'] > 0).sum()):,} repeat)")
    if gen is not None:
        print(f"generate shop: {gen:.1f} s")
    for name, sec in timings.items():
        print(f"{name:<30} {sec:8.2f} s")
    print(f"peak RSS {peak:,.0f} MiB")
    print(f"BG/NBD: {bg!r}")
    print(f"Gamma-Gamma: {gg!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

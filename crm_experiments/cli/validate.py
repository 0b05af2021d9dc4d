"""``crm-exp validate DATA_DIR``: check a data directory against the data contract.

Prints every finding (errors first, one line each) and a summary line. Exit status: 0 when
there is no error (warnings alone are fine), 1 when there is at least one error, 2 when the
directory (or the params file) cannot be used at all.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path

from crm_experiments.errors import CrmError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data_dir", metavar="DATA_DIR", type=Path,
                        help="directory holding orders.csv / orders.parquet and other tables")
    parser.add_argument("--params", metavar="PARAMS.yaml", type=Path, default=None,
                        help="campaign parameters: also check arms, use its timezone and format")
    parser.add_argument("--timezone", metavar="TZ", default=None,
                        help="the shop's timezone (default: the params' timezone, else "
                             "Asia/Shanghai)")
    parser.add_argument("--json", action="store_true",
                        help="print the findings as JSON instead of text")


def run(args: argparse.Namespace) -> int:
    from crm_experiments.io.validate import validate_data_dir
    from crm_experiments.params import load_params

    data_dir: Path = args.data_dir
    if not data_dir.is_dir():
        raise CrmError(f"data directory {data_dir} does not exist or is not a directory")
    params = load_params(args.params) if args.params is not None else None
    started = time.perf_counter()
    findings = validate_data_dir(data_dir, params=params, timezone=args.timezone)
    seconds = time.perf_counter() - started
    findings = sorted(findings, key=lambda f: f.severity != "error")  # stable: errors first
    n_err = sum(f.severity == "error" for f in findings)
    n_warn = len(findings) - n_err
    if args.json:
        print(json.dumps({
            "data_dir": str(data_dir), "errors": n_err, "warnings": n_warn,
            "findings": [asdict(f) for f in findings],
        }, ensure_ascii=False, indent=2))
    else:
        for f in findings:
            print(f)
        verdict = "FAILED" if n_err else "OK"
        print(f"{verdict}: {data_dir}: {n_err} error{'s' if n_err != 1 else ''}, "
              f"{n_warn} warning{'s' if n_warn != 1 else ''} ({seconds:.1f} s)")
    return 1 if n_err else 0

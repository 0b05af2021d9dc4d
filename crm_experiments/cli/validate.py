"""``crm-exp validate DATA_DIR``: check a data directory against the data contract;
``crm-exp validate --params P.yaml [--horizon H]``: the preflight of a campaign
(:mod:`crm_experiments.pipeline.preflight`): the data rules plus everything ``crm-exp run``
needs (data path, table formats, assignments of the campaign, segment columns, horizon
covered), and the optional parts the run will skip.

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
    from crm_experiments.cli._types import horizon_days

    parser.add_argument("data_dir", metavar="DATA_DIR", type=Path, nargs="?", default=None,
                        help="directory holding orders.csv / orders.parquet and other tables "
                             "(with --params: default the params' data.path)")
    parser.add_argument("--params", metavar="PARAMS.yaml", type=Path, default=None,
                        help="campaign parameters: run the preflight of `crm-exp run` (arms, "
                             "assignments, segments, horizons, skipped parts)")
    parser.add_argument("--horizon", type=horizon_days, action="append", default=None,
                        help="with --params: the horizon(s) to check (default: the params')")
    parser.add_argument("--timezone", metavar="TZ", default=None,
                        help="the shop's timezone (default: the params' timezone, else "
                             "Asia/Shanghai)")
    parser.add_argument("--json", action="store_true",
                        help="print the findings as JSON instead of text")


def run(args: argparse.Namespace) -> int:
    from crm_experiments.io.validate import validate_data_dir

    if args.params is not None:
        return _preflight(args)
    data_dir: Path | None = args.data_dir
    if data_dir is None:
        raise CrmError("give a DATA_DIR, or --params PARAMS.yaml")
    if not data_dir.is_dir():
        raise CrmError(f"data directory {data_dir} does not exist or is not a directory")
    started = time.perf_counter()
    findings = validate_data_dir(data_dir, timezone=args.timezone)
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


def _preflight(args: argparse.Namespace) -> int:
    """``--params``: the preflight of the campaign (the same check ``crm-exp run`` makes)."""
    from crm_experiments.pipeline.preflight import preflight

    if args.timezone is not None:
        raise CrmError("--timezone does not apply with --params (the params' timezone is used)")
    result = preflight(args.params, args.horizon, data_dir=args.data_dir)
    if args.json:
        print(json.dumps({
            "params": str(args.params), "data_dir": str(result.data_dir),
            "horizons": list(result.horizons), "errors": len(result.errors),
            "skips": len(result.skips), "warnings": len(result.warnings),
            "seconds": round(result.seconds, 2),
            "findings": [{**asdict(f), "severity": f.severity} for f in
                         [*result.errors, *result.skips, *result.warnings]],
        }, ensure_ascii=False, indent=2))
    else:
        print("\n".join(result.lines()))
    return 0 if result.ok else 1

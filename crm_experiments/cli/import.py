"""``crm-exp import --format taobao|shopify FILE [FILE ...] --out DATA_DIR``.

Writes the canonical ``orders`` and ``customers`` tables (Parquet) with pseudonymous customer
ids into DATA_DIR, all at once or not at all (see :mod:`crm_experiments.io.exports.importer`).
Prints warnings and errors (file, column, rows, rule) on stderr and a summary on stdout.
Exit status: 0 when written (warnings alone are fine), 1 when a file breaks a rule (nothing
written), 2 when the arguments cannot be used (missing file, DATA_DIR not empty without
``--force``, unknown timezone, unusable key).
"""

from __future__ import annotations

import argparse
import errno
import sys
from pathlib import Path

from crm_experiments.cli._refusal import print_refusal
from crm_experiments.errors import DataValidationError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", dest="fmt", required=True, choices=("taobao", "shopify"),
                        help="taobao: the Taobao/Tmall seller-centre order report (CSV/XLSX); "
                             "shopify: the Shopify orders export (CSV)")
    parser.add_argument("files", metavar="FILE", nargs="+", type=Path,
                        help="export files (e.g. monthly exports; repeated orders are kept "
                             "once, from the last file)")
    parser.add_argument("--out", metavar="DATA_DIR", required=True, type=Path,
                        help="data directory to write orders.parquet and customers.parquet to")
    parser.add_argument("--timezone", metavar="TZ", default=None,
                        help="the shop's timezone (default Asia/Shanghai); use the same in "
                             "the campaign's params")
    parser.add_argument("--force", action="store_true",
                        help="replace the orders and customers tables of a non-empty DATA_DIR "
                             "(its other files are kept)")


def run(args: argparse.Namespace) -> int:
    from crm_experiments.io.exports.importer import import_exports
    from crm_experiments.io.process import FolderNotWritable, check_writable, os_reason

    check_writable(args.out, "output folder", create=False)  # before reading the exports
    try:
        result = import_exports(args.files, args.out, fmt=args.fmt, timezone=args.timezone,
                                force=args.force)
    except DataValidationError as exc:
        return print_refusal(exc, args.out)
    except OSError as exc:  # the disk filled or became read-only while writing
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
            raise
        raise FolderNotWritable(f"{exc.filename or args.out}: could not be written "
                                f"({os_reason(exc)})") from None
    for f in result.warnings:
        print(f, file=sys.stderr)
    ks = result.key_source
    if ks.warning:
        print(f"WARNING {ks.warning}", file=sys.stderr)
    for s in result.sources:
        print(f"read {s.file}: {s.orders:,} orders ({s.encoding}); dropped columns: "
              f"{', '.join(s.dropped_columns) or 'none'}")
    if result.duplicates_dropped:
        print(f"dropped {result.duplicates_dropped:,} orders repeated across files "
              f"({result.duplicates_changed:,} of them differed; the last file's version kept)")
    print(f"customer ids pseudonymised with the key from {ks.description}"
          + (" (new key created: keep it to get the same ids in later imports)"
             if ks.created else ""))
    print(f"OK: wrote {result.orders:,} orders of {result.customers:,} customers to "
          f"{result.out_dir} (orders.parquet, customers.parquet)")
    return 0

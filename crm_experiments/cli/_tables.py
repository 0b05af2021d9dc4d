"""Reading an analyst's per-customer table (CSV or Parquet) for the table-level commands."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from crm_experiments.errors import CrmError


def read_customer_table(path: Path, arm: str, error: type[CrmError] = CrmError) -> pd.DataFrame:
    """The table at ``path``; the ``arm`` column is read as text (arm "1" stays "1", not 1.0).
    Raises ``error`` naming the file when it is missing or unreadable."""
    if path.is_dir():
        raise error(f"{path}: is a folder, not a table file")
    if not path.is_file():
        raise error(f"{path}: no such file")
    try:
        if path.suffix.lower() in {".parquet", ".pq"}:
            return pd.read_parquet(path)
        head = pd.read_csv(path, nrows=0).columns
        return pd.read_csv(path, dtype={arm: str} if arm in head else None)
    except (OSError, ValueError) as exc:
        raise error(f"{path}: cannot read the table ({exc})") from exc

"""The CDNOW 1/10th sample that ``lifetimes`` ships, as canonical orders in the engine.

``CDNOW_sample.txt``: 6,919 transactions of 2,357 customers who made their first purchase at
CDNOW in the first quarter of 1997, observed until the end of June 1998 (columns: master id,
sample id 1..2357, date YYYYMMDD, number of CDs, dollar value). This is the data set of Fader,
Hardie & Lee (2005) and of the Fader-Hardie notes; calibration = the first 39 weeks
(1997-01-01 .. 1997-09-30), holdout = the next 39 weeks (to 1998-06-30).
"""

from __future__ import annotations

from pathlib import Path

import lifetimes
import pandas as pd

from crm_experiments.io.engine import Engine, connect

DATASETS = Path(lifetimes.__file__).parent / "datasets"
CALIBRATION_END = "1997-10-01"  # exclusive: the last calibration day is 1997-09-30
OBSERVATION_END = "1998-07-01"  # exclusive: the last holdout day is 1998-06-30


def cdnow_transactions() -> pd.DataFrame:
    raw = pd.read_csv(DATASETS / "CDNOW_sample.txt", sep=r"\s+", header=None,
                      names=["master_id", "id", "date", "cds", "value"], dtype={"date": str})
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw


def cdnow_orders(con: Engine | None = None):
    """Canonical orders (paid on the day, nothing refunded) as a lazy frame of ``con`` (default:
    a fresh DuckDB engine)."""
    raw = cdnow_transactions()
    df = pd.DataFrame({
        "order_id": [f"o{i}" for i in range(len(raw))],
        "customer_id": raw["id"].astype(str),
        "created_at": raw["date"],
        "paid_at": raw["date"],
        "amount": raw["value"].astype("float64"),
        "discount": 0.0,
        "refund_amount": 0.0,
    })
    return (con or connect(threads=1)).from_pandas(df)

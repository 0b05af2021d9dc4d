"""The daily watch of a running sale (``crm-exp watch``): :func:`watch_sale` -> :class:`SaleWatch`.

For the watched day ``D`` (from five days before the sale start to its last day):

* **KPIs per day** (:func:`crm_experiments.metrics.kpis.kpi_comparison`, the evaluation's
  KPIs) of every day from five days before the start to ``D``, against a **baseline**: the
  average day of the 28 days before the watch window (money and order counts / 28; rates of
  the whole 28 days).
* **Intervals for daily looks** per treatment arm vs the holdout, for conversion (share of
  the arm's customers with a purchase since the sale start) and revenue per customer (net
  revenue since the sale start, currency), at each sale day up to ``D``: group-sequential
  intervals (:func:`crm_experiments.stats.group_sequential.group_sequential`): Lan-DeMets
  alpha spending of the ``SPENDING`` type over the sale's days (the planned looks, ``K`` =
  days from start to end; ``t`` = days elapsed / ``K``), critical values from the joint null
  distribution of the daily z statistics estimated from the customers' cumulative outcomes
  (:func:`crm_experiments.metrics.watch.daily_arm_moments` and
  :func:`~crm_experiments.metrics.watch.daily_cross_sums`, per-(day, arm) sums from the
  engine). Looking every day and acting on the first day an interval excludes 0 keeps the
  false-positive rate at ``alpha`` (``bench/bench_sequential.py``: 4-6 % over 11 daily
  looks). A day's interval uses only the data up to that day, so an earlier day's figures
  never change. Here every assigned customer is counted from the first day (outcomes
  accumulate, the count does not grow).
  Kept beside them, for comparison only: the asymptotic confidence sequence
  (:func:`crm_experiments.stats.sequential.confidence_sequence`, columns ``cs_lower`` /
  ``cs_upper``, ``rho``, ``planned_n``; valid for any number of unplanned looks, hence wider:
  about 2 % false positives under daily looks) and the fixed-sample Welch interval
  (``naive_*``; about 20 % false positives under daily looks).
* **Sample ratio**: :func:`crm_experiments.stats.srm.check_sample_ratio` of the assigned
  counts against the planned shares.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import narwhals as nw
import numpy as np
import pandas as pd

from crm_experiments.errors import CrmError
from crm_experiments.io.engine import collect
from crm_experiments.io.reader import ShopData
from crm_experiments.metrics.kpis import data_span, kpi_comparison
from crm_experiments.metrics.watch import daily_arm_moments, daily_cross_sums
from crm_experiments.params import CampaignParams
from crm_experiments.stats.aggr import MomentStats
from crm_experiments.stats.group_sequential import LookMoments, group_sequential
from crm_experiments.stats.sequential import confidence_sequence
from crm_experiments.stats.srm import SampleRatioResult, check_sample_ratio

#: days watched before the sale start
LEAD_DAYS = 5
#: days of the baseline, ending where the watch window starts
BASELINE_DAYS = 28
#: KPIs shown per day, and which of them are totals (divided by the baseline's days)
KPIS = ("paid_orders", "gmv", "net_revenue", "aov", "paid_rate", "refund_rate")
TOTALS = ("paid_orders", "gmv", "net_revenue")
METRICS = ("converted", "revenue")
#: the alpha-spending function of the watch's group-sequential boundary
#: (:func:`crm_experiments.stats.group_sequential.alpha_spent`): Pocock type, which spends
#: roughly evenly over the sale so that the first days can already flag a broken arm
SPENDING = "pocock"


@dataclass(frozen=True)
class SaleWatch:
    """What the watch page shows for day ``day``; frames described in the module docstring.

    ``kpis``: rows = KPI, columns = ``baseline`` then one ISO date per watched day.
    ``intervals``: one row per (day, arm, metric) with ``n_arm``, ``n_control``,
    ``estimate``, ``se`` (Welch), ``lower``/``upper`` (group-sequential: ``estimate ±
    critical_value · se``), ``critical_value``, ``alpha_spent`` (cumulative by that day),
    ``excludes_zero`` (of ``lower``/``upper``), ``naive_lower``/``naive_upper``
    (fixed-sample Welch), ``cs_lower``/``cs_upper`` (confidence sequence), ``rho``,
    ``planned_n`` (its tuning). ``spending`` and ``planned_looks`` describe the boundary.
    """

    campaign_id: str
    day: dt.date
    first_day: dt.date
    alpha: float
    kpis: pd.DataFrame
    intervals: pd.DataFrame
    srm: SampleRatioResult
    notes: tuple[str, ...] = field(default_factory=tuple)
    spending: str = SPENDING
    planned_looks: int = 0

    def to_frame(self) -> pd.DataFrame:
        """The intervals, one row per (day, arm, metric)."""
        return self.intervals.copy()

    def latest(self) -> pd.DataFrame:
        """The intervals of the watched day only (empty before the sale starts)."""
        return self.intervals[self.intervals["day"] == self.day].reset_index(drop=True)

    def as_of(self, day: dt.date, sale_start: dt.date) -> SaleWatch:
        """The watch of an earlier sale day ``day`` (``sale_start`` <= ``day`` <= ``self.day``)
        as :func:`watch_sale` would give it: every figure is cumulative to its own day and
        the arm sizes and planned n do not change with the day, so it is this watch cut at
        ``day`` (how ``crm-exp demo`` writes a page per sale day from one computation)."""
        if not sale_start <= day <= self.day:
            raise ValueError(f"{day} is not a sale day up to {self.day}")
        days = pd.to_datetime(self.intervals["day"]).dt.date
        columns = [c for c in self.kpis.columns if c == "baseline" or c <= day.isoformat()]
        return replace(self, day=day, kpis=self.kpis[columns],
                       intervals=self.intervals[days <= day].reset_index(drop=True))


def default_day(params: CampaignParams, today: dt.date | None = None) -> dt.date:
    """Today in the shop's timezone, clipped to the sale's days."""
    if today is None:
        today = pd.Timestamp.now(tz=params.timezone).date()
    return min(max(today, params.sale.start), params.sale.end)


def watch_sale(shop: ShopData, params: CampaignParams, day: dt.date) -> SaleWatch:
    """The watch of ``day`` (module docstring). Raises :class:`CrmError` for a day outside
    the watch window, data that do not reach the day, or a campaign without assignments."""
    first = params.sale.start - dt.timedelta(days=LEAD_DAYS)
    if day < first:
        raise CrmError(f"--day {day} is before the watch window: it starts {LEAD_DAYS} days "
                       f"before the sale start ({params.sale.start}), on {first}")
    if day > params.sale.end:
        raise CrmError(f"--day {day} is after the sale's last day ({params.sale.end}); "
                       "after the sale use `crm-exp run` for the evaluation")
    orders = shop["orders"]
    span = data_span(orders)
    if span[1] is None or span[1].date() < day:
        last = "no orders" if span[1] is None else f"the last order is on {span[1].date()}"
        raise CrmError(f"{shop.data_dir}: the orders do not reach {day} ({last}); "
                       "watch an earlier --day or export newer data")
    if not shop.has("assignments"):
        raise CrmError(f"{shop.data_dir}: no assignments table; the watch needs "
                       "assignments.csv or assignments.parquet (customer_id, campaign_id, arm)")
    a = shop["assignments"]
    a = a.filter(nw.col("campaign_id") == params.campaign_id)
    moments = daily_arm_moments(orders, a, params.sale.start, day, engine=shop.con)
    counts = collect(a.select("customer_id", "arm").unique().group_by("arm")
                     .agg(nw.len().alias("n")))
    if counts.empty:
        raise CrmError(f"{shop.data_dir}: no assignments for campaign '{params.campaign_id}' "
                       "(assignments.campaign_id); the watch compares the arms with the holdout")
    counts = dict(zip(counts["arm"].astype(str), counts["n"].astype(int), strict=True))
    unknown = sorted(set(counts) - set(params.arm_names))
    if unknown:
        raise CrmError(f"assignments of '{params.campaign_id}' name arms the params do not "
                       f"declare: {', '.join(unknown)}")
    srm = check_sample_ratio(counts, {x.name: x.planned_share for x in params.arms})
    notes = []
    if counts.get(params.control_arm, 0) < 2:
        notes.append("watch_note_no_holdout")
    if day < params.sale.start:
        notes.append("watch_note_not_started")
    if notes:
        intervals = _empty_intervals()
    else:
        cross = daily_cross_sums(orders, a, params.sale.start, day)
        intervals = _intervals(moments, cross, params)
    return SaleWatch(campaign_id=params.campaign_id, day=day, first_day=first,
                     alpha=params.alpha, kpis=_daily_kpis(orders, first, day), intervals=intervals,
                     srm=srm, notes=tuple(notes), spending=SPENDING,
                     planned_looks=planned_looks(params))


def planned_looks(params: CampaignParams) -> int:
    """The sale's days: one look at the end of each."""
    return (params.sale.end - params.sale.start).days + 1


def _daily_kpis(orders, first: dt.date, day: dt.date) -> pd.DataFrame:
    start = pd.Timestamp(first)
    windows = {"baseline": (start - pd.Timedelta(days=BASELINE_DAYS), start)}
    for d in pd.date_range(start, pd.Timestamp(day), freq="D"):
        windows[d.date().isoformat()] = (d, d + pd.Timedelta(days=1))
    frame = kpi_comparison(orders, windows).loc[list(KPIS)]
    frame.loc[list(TOTALS), "baseline"] = frame.loc[list(TOTALS), "baseline"] / BASELINE_DAYS
    return frame


def _moment(row: pd.Series, metric: str) -> MomentStats:
    if metric == "converted":
        return MomentStats(n=int(row["n"]), sum_y=row["conv_sum"], sum_yy=row["conv_sum"])
    return MomentStats(n=int(row["n"]), sum_y=row["rev_sum"], sum_yy=row["rev_sum_sq"])


def _empty_intervals() -> pd.DataFrame:
    return pd.DataFrame(columns=list(INTERVAL_COLUMNS))


INTERVAL_COLUMNS = ("day", "arm", "metric", "n_arm", "n_control", "estimate", "se", "lower",
                    "upper", "critical_value", "alpha_spent", "excludes_zero", "naive_lower",
                    "naive_upper", "cs_lower", "cs_upper", "rho", "planned_n")


def _looks(rows: pd.DataFrame, cross: pd.DataFrame, metric: str) -> LookMoments:
    """An arm's :class:`LookMoments` from its per-day sums (``rows``, sorted by day) and its
    ``rev_cross`` rows; for conversion ``Σ c_j c_k`` is the count of buyers by ``min(j, k)``."""
    if metric == "converted":
        sums = rows["conv_sum"].to_numpy(float)
        idx = np.arange(len(sums))
        return LookMoments(n=int(rows["n"].iloc[0]), sum_y=sums,
                           cross=sums[np.minimum.outer(idx, idx)])
    pos = {d: i for i, d in enumerate(rows.index)}
    m = np.zeros((len(rows), len(rows)))
    j = cross["day_j"].map(pos).to_numpy(int)
    k = cross["day_k"].map(pos).to_numpy(int)
    m[j, k] = m[k, j] = cross["rev_cross"].to_numpy(float)
    return LookMoments(n=int(rows["n"].iloc[0]), sum_y=rows["rev_sum"].to_numpy(float), cross=m)


def _intervals(moments: pd.DataFrame, cross: pd.DataFrame,
               params: CampaignParams) -> pd.DataFrame:
    control = moments[moments["arm"] == params.control_arm].set_index("day").sort_index()
    cross = cross.assign(day_j=pd.to_datetime(cross["day_j"]).dt.normalize(),
                         day_k=pd.to_datetime(cross["day_k"]).dt.normalize())
    looks_planned = planned_looks(params)
    frames = []
    for arm in params.treatment_arms:
        rows = moments[moments["arm"] == arm].set_index("day").sort_index()
        if rows.empty or int(rows["n"].iloc[0]) < 2:
            continue
        for metric in METRICS:
            g = group_sequential(
                _looks(rows, cross[cross["arm"] == arm], metric),
                _looks(control, cross[cross["arm"] == params.control_arm], metric),
                planned_looks=looks_planned, alpha=params.alpha, spending=SPENDING,
                metric=metric, arm_name=arm, control_name=params.control_arm)
            looks_a = [_moment(r, metric) for _, r in rows.iterrows()]
            looks_c = [_moment(r, metric) for _, r in control.iterrows()]
            planned = float(rows["n"].iloc[0] + control["n"].iloc[0])
            cs = confidence_sequence(looks_a, looks_c, alpha=params.alpha, planned_n=planned,
                                     metric=metric, arm=arm, control=params.control_arm)
            f = g.to_frame().drop(columns=["look", "control", "alpha", "method"])
            f.insert(0, "day", [d.date() for d in rows.index])
            f["cs_lower"], f["cs_upper"] = cs.lower, cs.upper
            f["rho"], f["planned_n"] = cs.rho, planned
            frames.append(f)
    if not frames:
        return _empty_intervals()
    return pd.concat(frames, ignore_index=True)[list(INTERVAL_COLUMNS)]

"""Calendar of the demo shop: daily seasonality, time of day, and the time warps built on them.

Times inside the generator are ``float64`` *days since the history start* (midnight). Within a
day the position is first uniform (``frac`` in ``[0, 1)``) and is mapped to a clock time by the
monotone time-of-day quantile function :meth:`ShopCalendar.clock_seconds`, so ordering and day
membership are preserved and every day boundary (midnight) stays a day boundary.

Daily purchase intensity index ``s[day]`` (dimensionless, about 1 on an ordinary weekday):

* weekday factor: Mon-Thu 0.94-0.97, Fri 1.0, Sat 1.14, Sun 1.10;
* Double 11 (every year): Oct 20-31 x0.75 (buyers wait for the sale), Nov 1-10 x2.2,
  Nov 11 x6.0, Nov 12-13 x1.2; Double 12: Dec 10-11 x1.3, Dec 12 x2.0;
* 618: Jun 1-17 x1.6, Jun 18 x4.0;
* Spring Festival: logistics slow from 15 days before (x0.8), the holiday itself from 10 days
  before to 7 days after the festival x0.4;
* the campaign's own sale days (if not on Nov 1-11) get at least x2.2.

A Poisson process with rate ``lambda * s(t)`` (``lambda`` in purchases per *index-day*) is drawn
by inverse transform on the cumulative index ``C(t)`` (piecewise linear in ``t``).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

# Hourly shares of orders (Taobao-like: quiet at night, peaks late morning, afternoon, evening).
HOURLY_WEIGHTS = np.array([
    2.2, 1.2, 0.6, 0.35, 0.25, 0.3, 0.6, 1.4, 2.8, 4.2, 5.4, 5.6,
    4.8, 5.0, 5.5, 5.4, 5.0, 4.6, 4.5, 5.0, 6.3, 7.1, 6.8, 4.3,
])
WEEKDAY_FACTOR = np.array([0.94, 0.95, 0.96, 0.97, 1.0, 1.14, 1.10])  # Monday first

SPRING_FESTIVAL = {
    2020: dt.date(2020, 1, 25), 2021: dt.date(2021, 2, 12), 2022: dt.date(2022, 2, 1),
    2023: dt.date(2023, 1, 22), 2024: dt.date(2024, 2, 10), 2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17), 2027: dt.date(2027, 2, 6), 2028: dt.date(2028, 1, 26),
    2029: dt.date(2029, 2, 13), 2030: dt.date(2030, 2, 3),
}


class ShopCalendar:
    """Daily intensity index over ``[origin, origin + n_days)`` and its cumulative."""

    def __init__(self, origin: dt.date, n_days: int,
                 sale: tuple[dt.date, dt.date] | None = None) -> None:
        self.origin = origin
        self.n_days = n_days
        days = np.arange(n_days)
        dates = np.datetime64(origin, "D") + days
        weekday = (dates.astype("int64") + 3) % 7  # 1970-01-01 was a Thursday
        month = dates.astype("datetime64[M]").astype("int64") % 12 + 1
        dom = (dates - dates.astype("datetime64[M]")).astype("int64") + 1
        s = WEEKDAY_FACTOR[weekday].copy()
        yearly = np.ones(n_days)
        yearly[(month == 10) & (dom >= 20)] = 0.75
        yearly[(month == 11) & (dom <= 10)] = 2.2
        yearly[(month == 11) & (dom == 11)] = 6.0
        yearly[(month == 11) & ((dom == 12) | (dom == 13))] = 1.2
        yearly[(month == 12) & ((dom == 10) | (dom == 11))] = 1.3
        yearly[(month == 12) & (dom == 12)] = 2.0
        yearly[(month == 6) & (dom <= 17)] = 1.6
        yearly[(month == 6) & (dom == 18)] = 4.0
        years = dates.astype("datetime64[Y]").astype("int64") + 1970
        for year in np.unique(np.concatenate([years, years + 1])):
            sf = np.datetime64(SPRING_FESTIVAL.get(int(year), dt.date(int(year), 2, 5)), "D")
            rel = (dates - sf).astype("int64")
            yearly[(rel >= -15) & (rel < -10)] = 0.8
            yearly[(rel >= -10) & (rel <= 7)] = 0.4
        self.sale_factor = yearly.copy()
        if sale is not None:
            lo = (sale[0] - origin).days
            hi = (sale[1] - origin).days + 1
            lo, hi = max(lo, 0), min(hi, n_days)
            if lo < hi:
                yearly[lo:hi] = np.maximum(yearly[lo:hi], 2.2)
                self.sale_factor[lo:hi] = yearly[lo:hi]
        self.index = s * yearly
        self.cum = np.concatenate([[0.0], np.cumsum(self.index)])
        w = HOURLY_WEIGHTS / HOURLY_WEIGHTS.sum()
        self._hour_w = w
        self._hour_cdf = np.concatenate([[0.0], np.cumsum(w)])
        self._hour_cdf[-1] = 1.0

    # --- cumulative index ------------------------------------------------------------------
    def cumulative(self, t: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """``C(t)`` = integral of the index (times optional extra daily weights) up to ``t``."""
        idx = self.index if weights is None else self.index * weights
        cum = self.cum if weights is None else np.concatenate([[0.0], np.cumsum(idx)])
        t = np.clip(np.asarray(t, dtype="float64"), 0.0, float(self.n_days))
        day = np.minimum(np.floor(t).astype("int64"), self.n_days - 1)
        return cum[day] + idx[day] * (t - day)

    def inverse(self, u: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Inverse of :meth:`cumulative`: times ``t`` with ``C(t) = u``."""
        idx = self.index if weights is None else self.index * weights
        cum = self.cum if weights is None else np.concatenate([[0.0], np.cumsum(idx)])
        day = np.searchsorted(cum, u, side="right") - 1
        day = np.clip(day, 0, self.n_days - 1)
        # skip zero-weight days (searchsorted lands on the last day with cum <= u)
        rate = idx[day]
        frac = np.where(rate > 0, (u - cum[day]) / np.where(rate > 0, rate, 1.0), 0.0)
        return day + np.clip(frac, 0.0, np.nextafter(1.0, 0.0))

    def sample_times(self, rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray,
                     weights: np.ndarray | None = None) -> np.ndarray:
        """One time per row, with density proportional to the (weighted) index on ``[lo, hi)``."""
        c_lo = self.cumulative(lo, weights)
        c_hi = self.cumulative(hi, weights)
        t = self.inverse(c_lo + rng.random(len(c_lo)) * (c_hi - c_lo), weights)
        return np.clip(t, lo, np.nextafter(hi, -np.inf))

    # --- clock -------------------------------------------------------------------------------
    def clock_seconds(self, t: np.ndarray) -> np.ndarray:
        """Whole seconds since the origin's midnight; the position within the day is mapped
        through the time-of-day profile (monotone, midnight stays midnight)."""
        t = np.asarray(t, dtype="float64")
        day = np.floor(t)
        frac = t - day
        hour = np.clip(np.searchsorted(self._hour_cdf, frac, side="right") - 1, 0, 23)
        within = (frac - self._hour_cdf[hour]) / self._hour_w[hour]
        sec = np.floor((hour + np.clip(within, 0.0, 1.0)) * 3600.0)
        sec = np.minimum(sec, 86399.0)
        return day.astype("int64") * 86400 + sec.astype("int64")

    def day_of(self, date: dt.date) -> int:
        return (date - self.origin).days

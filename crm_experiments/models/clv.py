"""Customer lifetime value and the campaign's incremental CLV.

**CLV over M months** = sum over months m = 1..M of (expected purchases in month m, from the
purchase model given the history) x (expected net revenue per purchase, Gamma-Gamma), discounted
at ``annual_discount_rate`` (monthly compounding; a month is 365.25/12 days). It is net revenue,
not profit; multiply by the gross margin for a profit view.

**The campaign's incremental CLV** (:func:`crm_experiments.analyses.clv.campaign_clv`): the
models are fitted on the history up to the end of the evaluation window (sale end + horizon),
every assigned customer's 12-month CLV from then on is predicted (0 for an assigned customer
who has never bought), and each treatment arm's mean is compared with the holdout control's, with
a bootstrap interval over
customers (seeded; Welch's t interval on large campaigns, see :func:`incremental_mean`);
``change`` compares the per-customer change from the pre-sale CLV (a
difference in differences that removes chance imbalance between the arms). The same comparison
at the sale start (the pre-sale state, from models fitted on the calibration period) should be
near 0 by randomisation; the in-window revenue effect is shown next to it: a campaign that only
pulled purchases forward has a short-term effect but no lasting CLV effect.

Large shops (decided in ``campaign_clv``, listed in ``CampaignCLV.method_notes``, shown on
the CLV page and stored in its ``result.json``): the purchase and spend models are
fitted on a seeded random sample of customers (100,000 by default) and predict for every
customer; the churn scorers are compared on a seeded random sample of customers; the intervals
are Welch's. The reasons are in :mod:`crm_experiments.models.btyd`,
:mod:`crm_experiments.models.churn` and :func:`incremental_mean`.

Caveat: BTYD models read any extra purchase as a sign of a more active customer, so purchases
pulled forward into the window raise the predicted CLV too; comparing the arms' realised
purchases after the window (once the data have them) is the check on that, not done here yet.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from crm_experiments.errors import CrmError
from crm_experiments.models.btyd import (
    PurchaseModel,
    unique_patterns,
)
from crm_experiments.models.features import (
    unit_days,
)
from crm_experiments.models.gamma_gamma import GammaGammaModel

MONTH_DAYS = 365.25 / 12


def customer_clv(purchase_model: PurchaseModel, spend_model: GammaGammaModel,
                 features: pd.DataFrame, *, months=(3, 6, 12), annual_discount_rate: float = 0.10,
                 unit: str | None = None, clv_only: bool = False) -> pd.DataFrame:
    """Per customer: ``p_alive``, ``expected_spend``, ``expected_purchases_<M>m`` and the
    discounted ``clv_<M>m`` for each M in ``months``; index as ``features``. ``clv_only``:
    the ``clv_<M>m`` columns alone (the same values; a third of the memory on millions of
    customers)."""
    unit = unit or features.attrs.get("unit") or purchase_model.unit_
    k = unit_days(unit)
    monthly = (1 + annual_discount_rate) ** (1 / 12) - 1
    spend = spend_model.expected_spend(features)
    out = pd.DataFrame(index=features.index)
    # purchase predictions depend on (frequency, recency, T) only: compute them once per
    # distinct history (about half as many as customers on a large shop) and expand
    patterns, inverse = unique_patterns(features)
    if not clv_only:
        out["p_alive"] = purchase_model.p_alive(patterns)[inverse]
        out["expected_spend"] = spend
    horizon = max(months)
    cums = purchase_model.expected_purchases_at(
        [m * MONTH_DAYS / k for m in range(1, horizon + 1)], patterns)
    cum_prev = np.zeros(len(patterns))
    value = np.zeros(len(features))
    for m in range(1, horizon + 1):
        cum = cums[:, m - 1]
        value = value + (cum - cum_prev)[inverse] * spend / (1 + monthly) ** m
        cum_prev = cum
        if m in months:
            if not clv_only:
                out[f"expected_purchases_{m}m"] = cum[inverse]
            out[f"clv_{m}m"] = value
    return out


def clv_by(clv: pd.DataFrame, groups: pd.Series, name: str, months=(3, 6, 12)) -> pd.DataFrame:
    """Mean CLV per group (customers, mean 3/6/12-month CLV, total 12-month CLV)."""
    df = clv.join(groups.rename(name), how="inner")
    agg = {"customers": (f"clv_{months[-1]}m", "size")}
    for m in months:
        agg[f"clv_{m}m_mean"] = (f"clv_{m}m", "mean")
    agg[f"clv_{months[-1]}m_total"] = (f"clv_{months[-1]}m", "sum")
    return df.groupby(name, observed=True).agg(**agg).reset_index()


#: Above this many resampled values (``n_boot`` x customers), :func:`incremental_mean` uses
#: Welch's interval instead of the bootstrap (method="auto").
MAX_BOOT_DRAWS = 50_000_000


def incremental_mean(values: pd.Series, arms: pd.Series, control: str, *, seed: int,
                     n_boot: int = 1000, alpha: float = 0.05,
                     method: str = "auto") -> pd.DataFrame:
    """Per treatment arm: mean difference vs ``control`` with a two-sided ``1 - alpha`` interval
    and p-value.

    ``method="bootstrap"``: percentile bootstrap (customers resampled within each arm,
    ``n_boot`` resamples, seeded), p-value from the bootstrap distribution.
    ``method="welch"``: Welch's unequal-variance t interval and test
    (:func:`scipy.stats.ttest_ind`). ``method="auto"`` (default) bootstraps unless that means
    more than :data:`MAX_BOOT_DRAWS` resampled values (``n_boot`` x customers; about 50,000
    customers at 1,000 resamples), and uses Welch's interval above. Both are large-sample
    intervals for a difference of means with the same first-order accuracy (two-sided coverage
    error O(1/n)); at these sizes the bootstrap distribution of the difference is normal to
    within its own Monte Carlo error, so the bootstrap would only add noise and minutes. A
    simulation test checks that both cover the true difference 95% of the time on skewed,
    zero-inflated values like CLV. The ``method`` column says which was used.
    """
    if method not in ("auto", "bootstrap", "welch"):
        raise CrmError(f"unknown interval method {method!r}; use auto, bootstrap or welch")
    if isinstance(values, pd.Series) and isinstance(arms, pd.Series) and \
            not values.index.equals(arms.index):
        arms = arms.reindex(values.index)
    x = np.asarray(values, dtype="float64")
    cat = pd.Series(arms)
    if not isinstance(cat.dtype, pd.CategoricalDtype):
        cat = cat.astype(str).astype("category")
    codes = cat.cat.codes.to_numpy()
    names = [str(n) for n in cat.cat.categories]
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    groups = {name: x[order[bounds[i]:bounds[i + 1]]] for i, name in enumerate(names)
              if bounds[i + 1] > bounds[i]}
    if control not in groups:
        raise CrmError(f"no customer in the control arm {control!r}")
    if method == "auto":
        method = "bootstrap" if n_boot * len(x) <= MAX_BOOT_DRAWS else "welch"
    c = groups.pop(control)
    rows = []
    if method == "bootstrap":
        rng = np.random.default_rng(seed)

        def boot_means(x: np.ndarray) -> np.ndarray:
            out = np.empty(n_boot)
            chunk = max(1, 2_000_000 // max(len(x), 1))
            for s in range(0, n_boot, chunk):
                e = min(n_boot, s + chunk)
                out[s:e] = x[rng.integers(0, len(x), size=(e - s, len(x)))].mean(axis=1)
            return out

        bc = boot_means(c)
    for arm, t in groups.items():
        est = float(t.mean() - c.mean())
        if method == "bootstrap":
            diff = boot_means(t) - bc
            lo = float(np.quantile(diff, alpha / 2))
            hi = float(np.quantile(diff, 1 - alpha / 2))
            p = float(min(1.0, 2 * min((diff <= 0).mean(), (diff >= 0).mean())))
            label = f"bootstrap over customers ({n_boot} resamples)"
        else:
            res = stats.ttest_ind(t, c, equal_var=False)
            ci = res.confidence_interval(1 - alpha)
            lo, hi, p = float(ci.low), float(ci.high), float(res.pvalue)
            label = "Welch t interval (large arms: the bootstrap's normal limit)"
        rows.append({"arm": arm, "n_arm": len(t), "n_control": len(c),
                     "mean_arm": float(t.mean()), "mean_control": float(c.mean()),
                     "estimate": est, "ci_low": lo, "ci_high": hi, "p_value": p,
                     "method": label})
    return pd.DataFrame(rows)

"""Error rates of every effect estimator on experiments re-randomised over the demo shop, and
parity with independent implementations (issue 18.3).

    .venv/bin/python bench/bench_methods.py [--shop-customers 20000] [--experiments 10000]
        [--fit-experiments 1000] [--small-arms 240,120] [--seed 0] [--data-dir DIR]
        [--params params/demo.yaml] [--no-parity] [--only METHOD]

About 12 minutes on 2 loaded cores with the defaults (most of it the per-experiment fits of
the many-covariate and ridge rows).

**Data.** The demo generator (``params/demo.yaml``, ``--shop-customers`` customers, the params'
seed) writes a shop; :func:`crm_experiments.metrics.campaign.campaign_customers` gives the
campaign's per-customer table at the first horizon. The *pool* is the control and the first
treated arm of that table; every simulated experiment keeps the campaign's arm sizes.

**Simulated experiments** (``--experiments`` A/A and as many with an effect per row of a
vectorised estimator, ``--fit-experiments`` per row that fits a model per experiment; rows for
small arms, ``--small-arms`` customers drawn once from the pool, follow):

* A/A: the arm labels are re-shuffled over the pool (a random permutation), nothing else
  changes, so every difference is chance; the share with ``p < 0.05`` is the false-positive
  rate (target 4-6 %).
* Coverage: after the same re-shuffle, the treated customers' outcome is replaced by a known
  potential outcome ``y1`` and the share of 95 % intervals containing the true effect is the
  coverage (target 93.5-96.5 %). The truth is the effect over the pool's customers (the
  finite-population average effect every estimator here targets):

  - money (revenue, net profit, AOV's numerator): ``y1 = (1 + lift)·y0``, so the absolute truth
    is ``lift·mean(y0)`` (``lift·Σrevenue/Σorders`` for AOV) and the relative truth ``lift``;
  - conversion: every non-converter of the treated arm converts with probability ``q``
    (seeded), so the truth is ``q·(1 - p0)`` and, relative, ``q·(1 - p0)/p0`` (expectation
    over the flips; their noise is in the arm's variance);
  - capped revenue: the cap is the pooled 99th percentile of each experiment's own data
    (:func:`crm_experiments.stats.capping.winsorize`); the truth is the effect on the revenue
    capped at the large-sample cap ``c*``, the 99th percentile of the mixture of ``y1``
    (treated share) and ``y0`` over the pool: ``mean(min(y1, c*)) - mean(min(y0, c*))``.

* Relative coverage: the share of Fieller intervals (``rel_ci_*``) containing the relative
  truth; NaN bounds (an unbounded set) count as covering.

Binomial 95 % intervals of the rates are Clopper-Pearson (scipy ``binomtest``). Daily peeking
is benchmarked in ``bench_sequential`` (always-valid intervals over 11 daily looks), not here.

**Parity** (unless ``--no-parity``): the same table's real arms, each estimator against
statsmodels by hand and, where installed (``pip install .[bench]``), tea-tasting and GrowthBook's
gbstats, on estimate, standard error, interval and p-value where the peer computes the same
quantity; the rows say what differs where it does not. Unknown arguments are ignored
(``python -m bench`` passes the same ``BENCH_ARGS`` to every script).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crm_experiments.demo.generator import generate_shop  # noqa: E402
from crm_experiments.io.reader import load_shop  # noqa: E402
from crm_experiments.metrics.campaign import campaign_customers  # noqa: E402
from crm_experiments.params import load_params  # noqa: E402
from crm_experiments.stats.aggr import MomentStats  # noqa: E402
from crm_experiments.stats.effects import (  # noqa: E402
    compare_cuped,
    compare_means,
    compare_proportions,
    compare_ratios,
)
from crm_experiments.stats.lin import compare_adjusted  # noqa: E402

try:  # issue 18.1 (regression on many covariates, post-stratification)
    from crm_experiments.stats import adjustment
except ImportError:  # pragma: no cover - before the module landed
    adjustment = None
try:  # issue 18.2 (capping)
    from crm_experiments.stats import capping
except ImportError:  # pragma: no cover
    capping = None

ALPHA = 0.05
LIFT = 0.05          # relative lift of money outcomes in the coverage experiments
FLIP = 0.02          # probability that a treated non-converter converts
CAP_PERCENTILE = 99.0
NUMERIC_COVARIATES = ("pre_converted", "pre_orders", "pre_revenue", "pre_gross_profit")
CATEGORICAL_COVARIATES = ("lifecycle_state", "tier")
STRATA = "lifecycle_state"


# ---------------------------------------------------------------------------------------------
# the demo table


def demo_table(params_path: str | Path, n_customers: int, data_dir: Path | None
               ) -> tuple[pd.DataFrame, str, str]:
    """The campaign's per-customer table (first horizon), with its control and first treated
    arm names. ``data_dir`` holding a shop is used as it is; otherwise the demo shop of
    ``n_customers`` is generated into ``data/bench/methods_shop_<n>`` (reused when there)."""
    params = load_params(params_path)
    if data_dir is None or not (data_dir / "truth.json").exists():
        data_dir = data_dir or ROOT / "data" / "bench" / f"methods_shop_{n_customers}"
        truth = data_dir / "truth.json"
        if not (truth.exists() and json.loads(truth.read_text()).get("n_customers")
                == n_customers):
            generate_shop(data_dir, params, n_customers=n_customers)
    shop = load_shop(data_dir, params=params)
    table = campaign_customers(shop, params, min(params.horizons))
    control = params.control_arm
    arm = next(a.name for a in params.arms if a.name != control)
    return table, control, arm


@dataclass
class Pool:
    """The customers re-randomised: columns as arrays, the covariate matrix, stratum codes."""

    cols: dict[str, np.ndarray]
    n_arm: int
    n_control: int
    covariate_names: tuple[str, ...] = ()

    @property
    def n(self) -> int:
        return self.n_arm + self.n_control


def make_pool(table: pd.DataFrame, control: str, arm: str) -> Pool:
    t = table[table["arm"].isin([control, arm])].reset_index(drop=True)
    cols = {c: t[c].to_numpy(dtype=float) for c in
            ("revenue", "net_profit", "orders", "converted", "pre_revenue",
             "pre_gross_profit", "pre_converted")}
    cols["stratum"] = pd.factorize(t[STRATA])[0].astype(float)
    cols["treated"] = (t["arm"] == arm).to_numpy(dtype=float)   # the real assignment
    names: tuple[str, ...] = ()
    if adjustment is not None:
        x = adjustment.covariate_columns(t, list(NUMERIC_COVARIATES), list(CATEGORICAL_COVARIATES))
        cols["X"], names = x.to_numpy(dtype=float), tuple(x.columns)
    return Pool(cols, int((t["arm"] == arm).sum()), int((t["arm"] == control).sum()), names)


# ---------------------------------------------------------------------------------------------
# effects and their truth


@dataclass(frozen=True)
class Lift:
    """The treated customers' potential outcome: ``scale`` (``y·(1 + size)``) or ``flip``
    (a non-converter converts with probability ``size``) of ``column``."""

    kind: str
    column: str
    size: float

    def apply(self, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self.kind == "scale":
            return y * (1 + self.size)
        return np.maximum(y, (rng.random(y.shape) < self.size).astype(float))


def truth(pool: Pool, lift: Lift, metric: str) -> tuple[float, float]:
    """(absolute, relative) true effect over the pool (module docstring)."""
    y0 = pool.cols[lift.column]
    if metric == "aov":
        r0 = y0.sum() / pool.cols["orders"].sum()
        return lift.size * r0, lift.size
    if lift.kind == "flip":
        p0 = y0.mean()
        return lift.size * (1 - p0), lift.size * (1 - p0) / p0
    if metric == "revenue_capped":
        y1 = y0 * (1 + lift.size)
        share = pool.n_arm / pool.n
        cap = mixture_percentile(y1, y0, share, CAP_PERCENTILE)
        m1, m0 = np.minimum(y1, cap).mean(), np.minimum(y0, cap).mean()
        return m1 - m0, m1 / m0 - 1
    return lift.size * y0.mean(), lift.size


def mixture_percentile(y1: np.ndarray, y0: np.ndarray, share1: float, q: float) -> float:
    """The ``q``-th percentile of the mixture ``share1·F(y1) + (1 - share1)·F(y0)``."""
    values = np.concatenate([y1, y0])
    weights = np.concatenate([np.full(len(y1), share1 / len(y1)),
                              np.full(len(y0), (1 - share1) / len(y0))])
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, q / 100)])


# ---------------------------------------------------------------------------------------------
# estimators on a batch of experiments: treated/control column arrays of shape (k, n_arm/ctl)

Batch = dict[str, np.ndarray]
Out = dict[str, np.ndarray]


def _fields(e) -> Out:
    keys = ("estimate", "p_value", "ci_low", "ci_high", "rel_ci_low", "rel_ci_high", "se")
    out = {k: np.asarray(getattr(e, k), dtype=float) for k in keys}
    vr = e.variance_reduction
    out["variance_reduction"] = np.asarray(np.nan if vr is None else vr, dtype=float)
    return out


def _rows(effects: list) -> Out:
    parts = [_fields(e) for e in effects]
    return {k: np.array([float(p[k]) for p in parts]) for k in parts[0]}


def _first(result):
    """An estimator's Effect (the adjustment module returns (Effect, details))."""
    return result[0] if isinstance(result, tuple) else result


def moments(metric: str, covariate: str | None = None, den: str | None = None):
    def stats_of(b: Batch) -> MomentStats:
        return MomentStats.from_arrays(b[metric], None if covariate is None else b[covariate],
                                       None if den is None else b[den], axis=1)
    return stats_of


def vectorised(estimator, metric: str, covariate: str | None = None, den: str | None = None):
    of = moments(metric, covariate, den)

    def run(t: Batch, c: Batch) -> Out:
        return _fields(estimator(of(t), of(c), ALPHA))
    return run


def per_experiment(fit: Callable[[dict[str, np.ndarray], np.ndarray], object]):
    """Run ``fit(columns, treatment)`` on each experiment of the batch (rows of the arrays)."""
    def run(t: Batch, c: Batch) -> Out:
        k, n_t = next(iter(t.values())).shape[:2]
        n_c = next(iter(c.values())).shape[1]
        on = np.r_[np.ones(n_t, bool), np.zeros(n_c, bool)]
        effects = []
        for i in range(k):
            cols = {name: np.concatenate([t[name][i], c[name][i]]) for name in t}
            effects.append(_first(fit(cols, on)))
        return _rows(effects)
    return run


def capped_welch(t: Batch, c: Batch) -> Out:
    """Welch on revenue capped at each experiment's pooled 99th percentile (capping module)."""
    k, n_t = t["revenue"].shape
    both = np.concatenate([t["revenue"], c["revenue"]], axis=1)
    capped = np.vstack([capping.winsorize(row, CAP_PERCENTILE)[0] for row in both])
    return _fields(compare_means(MomentStats.from_arrays(capped[:, :n_t], axis=1),
                                 MomentStats.from_arrays(capped[:, n_t:], axis=1), ALPHA))


@dataclass
class Case:
    method: str
    metric: str
    lift: Lift
    run: Callable[[Batch, Batch], Out]
    columns: tuple[str, ...]
    batch: int = 500
    pool: Pool | None = None
    result: dict = field(default_factory=dict)

    @property
    def fitted(self) -> bool:
        """One fit per experiment (slow) rather than one vectorised call per batch."""
        return self.batch < 500


def small_pool(table: pd.DataFrame, control: str, arm: str, n_control: int, n_arm: int,
               seed: int) -> Pool:
    """A fixed random subsample of ``n_control`` control and ``n_arm`` arm customers (small
    arms, where post-stratification is the adjustment :mod:`.adjustment` falls back to)."""
    rng = np.random.default_rng([seed, 7])
    parts = [table[table["arm"] == name] for name in (control, arm)]
    rows = [p.iloc[np.sort(rng.choice(len(p), size=min(k, len(p)), replace=False))]
            for p, k in zip(parts, (n_control, n_arm), strict=True)]
    return make_pool(pd.concat(rows), control, arm)


def small_cases(pool: Pool) -> list[Case]:
    """The small-arm rows: plain comparisons, post-stratification and ridge."""
    rev, conv = Lift("scale", "revenue", LIFT), Lift("flip", "converted", FLIP)
    out = [Case("welch_t", "revenue", rev, vectorised(compare_means, "revenue"), ("revenue",)),
           Case("two_proportion_z_unpooled", "converted", conv,
                vectorised(compare_proportions, "converted"), ("converted",))]
    if adjustment is not None:
        for metric, lift in (("converted", conv), ("revenue", rev)):
            out.append(Case(f"post_stratified ({STRATA})", metric, lift, per_experiment(
                lambda d, on, m=metric: adjustment.compare_post_stratified(
                    d[m], adjustment.pooled_strata(d["stratum"], on), on, ALPHA)),
                (metric, "stratum"), batch=100))
            out.append(Case(f"lin_ridge ({len(pool.covariate_names)} cov)", metric, lift,
                            per_experiment(lambda d, on, m=metric: adjustment.compare_regression(
                                d[m], d["X"], on, ALPHA, names=pool.covariate_names,
                                method="ridge")), (metric, "X"), batch=100))
            # what the evaluation does at this size: compare_regression's automatic rule
            out.append(Case(f"auto rule ({len(pool.covariate_names)} cov, {STRATA})", metric,
                            lift, per_experiment(
                                lambda d, on, m=metric: adjustment.compare_regression(
                                    d[m], d["X"], on, ALPHA, names=pool.covariate_names,
                                    strata=d["stratum"], method="auto")),
                            (metric, "X", "stratum"), batch=100))
    for case in out:
        case.pool = pool
    return out


def cases(pool: Pool) -> tuple[list[Case], list[str]]:
    """The rows of the simulation table, and notes on what is left out."""
    rev, prof = Lift("scale", "revenue", LIFT), Lift("scale", "net_profit", LIFT)
    conv = Lift("flip", "converted", FLIP)
    out = [
        Case("welch_t", "revenue", rev, vectorised(compare_means, "revenue"), ("revenue",)),
        Case("welch_t", "net_profit", prof, vectorised(compare_means, "net_profit"),
             ("net_profit",)),
        Case("two_proportion_z_unpooled", "converted", conv,
             vectorised(compare_proportions, "converted"), ("converted",)),
        Case("delta_ratio", "aov", rev, vectorised(compare_ratios, "revenue", den="orders"),
             ("revenue", "orders")),
        Case("cuped", "revenue", rev, vectorised(compare_cuped, "revenue", "pre_revenue"),
             ("revenue", "pre_revenue")),
        Case("cuped", "net_profit", prof,
             vectorised(compare_cuped, "net_profit", "pre_gross_profit"),
             ("net_profit", "pre_gross_profit")),
        Case("lin_ols_hc2 (1 cov)", "revenue", rev, per_experiment(
            lambda d, on: compare_adjusted(d["revenue"], d["pre_revenue"], on, ALPHA)),
            ("revenue", "pre_revenue"), batch=100),
        Case("lin_ols_hc2 (1 cov)", "converted", conv, per_experiment(
            lambda d, on: compare_adjusted(d["converted"], d["pre_converted"], on, ALPHA)),
            ("converted", "pre_converted"), batch=100),
    ]
    notes = []
    if adjustment is None:
        notes.append("crm_experiments.stats.adjustment missing: no many-covariate or "
                     "post-stratified rows")
    else:
        k = len(pool.covariate_names)

        def regression(metric: str, how: str):
            return per_experiment(lambda d, on: adjustment.compare_regression(
                d[metric], d["X"], on, ALPHA, names=pool.covariate_names, method=how))

        def post_stratified(metric: str):
            return per_experiment(lambda d, on: adjustment.compare_post_stratified(
                d[metric], adjustment.pooled_strata(d["stratum"], on), on, ALPHA))

        for metric, lift in (("converted", conv), ("revenue", rev)):
            out.append(Case(f"lin_ols_hc2 ({k} cov)", metric, lift, regression(metric, "ols"),
                            (metric, "X"), batch=50))
            out.append(Case(f"lin_ridge ({k} cov)", metric, lift, regression(metric, "ridge"),
                            (metric, "X"), batch=50))
            out.append(Case(f"post_stratified ({STRATA})", metric, lift,
                            post_stratified(metric), (metric, "stratum"), batch=100))
        out.append(Case(f"lin_ols_hc2 ratio ({k} cov)", "aov", rev, per_experiment(
            lambda d, on: adjustment.compare_ratio_regression(
                d["revenue"], d["orders"], d["X"], on, ALPHA, names=pool.covariate_names,
                method="ols")), ("revenue", "orders", "X"), batch=50))
    if capping is None:
        notes.append("crm_experiments.stats.capping missing: no capped-revenue row")
    else:
        out.append(Case(f"welch_t capped p{CAP_PERCENTILE:g}", "revenue_capped", rev,
                        capped_welch, ("revenue",), batch=200))
    for case in out:
        case.pool = pool
    return out, notes


# ---------------------------------------------------------------------------------------------
# the simulation


def simulate(case: Case, n_experiments: int, seed: int) -> dict:
    """A/A and coverage rates of one case over ``n_experiments`` each (module docstring)."""
    started = time.perf_counter()
    pool = case.pool
    true_abs, true_rel = truth(pool, case.lift, case.metric)
    res: dict = {"experiments": n_experiments}
    for phase, lift in (("aa", None), ("ab", case.lift)):
        rng = np.random.default_rng([seed, 0 if lift is None else 1])
        rejected = covered = rel_covered = 0
        se, vr, est = [], [], []
        done = 0
        while done < n_experiments:
            k = min(case.batch, n_experiments - done)
            order = rng.permuted(np.broadcast_to(np.arange(pool.n), (k, pool.n)), axis=1)
            idx_t, idx_c = order[:, :pool.n_arm], order[:, pool.n_arm:]
            t = {c: pool.cols[c][idx_t] for c in case.columns}
            c = {c: pool.cols[c][idx_c] for c in case.columns}
            if lift is not None:
                t[lift.column] = lift.apply(t[lift.column], rng)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                o = case.run(t, c)
            target_abs, target_rel = (0.0, 0.0) if lift is None else (true_abs, true_rel)
            rejected += int(np.sum(o["p_value"] < ALPHA))
            covered += int(np.sum((o["ci_low"] <= target_abs) & (target_abs <= o["ci_high"])))
            unbounded = np.isnan(o["rel_ci_low"]) | np.isnan(o["rel_ci_high"])
            rel_covered += int(np.sum(unbounded | ((o["rel_ci_low"] <= target_rel)
                                                   & (target_rel <= o["rel_ci_high"]))))
            se.append(np.broadcast_to(o["se"], (k,)))
            est.append(np.broadcast_to(o["estimate"], (k,)))
            vr.append(np.broadcast_to(o["variance_reduction"], (k,)))
            done += k
        res[phase] = {"rejected": rejected, "covered": covered, "rel_covered": rel_covered,
                      "mean_se": float(np.mean(np.concatenate(se))),
                      # spread of the estimates over the experiments / the mean se: > 1 means
                      # the standard errors are too small
                      "sd_over_se": float(np.std(np.concatenate(est), ddof=1)
                                          / np.mean(np.concatenate(se))),
                      "variance_reduction": float(np.nanmean(np.concatenate(vr)))
                      if not np.all(np.isnan(np.concatenate(vr))) else math.nan}
    res["truth"] = (true_abs, true_rel)
    res["seconds"] = time.perf_counter() - started
    return res


def rate(k: int, n: int) -> tuple[float, float, float]:
    """``k/n`` with its Clopper-Pearson 95 % interval."""
    ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
    return k / n, ci.low, ci.high


def in_bands(res: dict) -> bool:
    n = res["experiments"]
    fp = res["aa"]["rejected"] / n
    cov = res["ab"]["covered"] / n
    return 0.04 <= fp <= 0.06 and 0.935 <= cov <= 0.965


def format_rows(rows: list[Case], header: bool = True) -> list[str]:
    head = (f"{'method':<34}{'metric':<15}{'n arm/ctl':>12}{'exps':>7}  {'A/A FP [95% CI]':<22}"
            f"{'coverage [95% CI]':<23}{'rel cov':>8}{'A/A cov':>8}{'mean se':>9}{'sd/se':>7}"
            f"{'var red':>8}{'sec':>6}  bands")
    lines = [head] if header else []
    for case in rows:
        r = case.result
        n = r["experiments"]
        fp, fl, fh = rate(r["aa"]["rejected"], n)
        cv, cl, ch = rate(r["ab"]["covered"], n)
        rel = r["ab"]["rel_covered"] / n
        aa_cov = r["aa"]["covered"] / n
        vr = r["ab"]["variance_reduction"]
        lines.append(
            f"{case.method:<34}{case.metric:<15}"
            f"{f'{case.pool.n_arm}/{case.pool.n_control}':>12}{n:>7}  "
            f"{fp:6.2%} [{fl:5.2%}, {fh:5.2%}]  {cv:6.2%} [{cl:6.2%}, {ch:6.2%}]"
            f"{rel:>8.2%}{aa_cov:>8.2%}{r['ab']['mean_se']:>9.4g}{r['aa']['sd_over_se']:>7.3f}"
            f"{'-' if math.isnan(vr) else f'{vr:.3f}':>8}{r['seconds']:>6.0f}  "
            f"{'ok' if in_bands(r) else 'OUT'}")
    return lines


# ---------------------------------------------------------------------------------------------
# parity with independent implementations


@dataclass
class Parity:
    check: str
    peer: str
    quantity: str
    ours: float
    theirs: float
    same_quantity: bool = True
    note: str = ""

    @property
    def rel_diff(self) -> float:
        scale = max(abs(self.ours), abs(self.theirs))
        return 0.0 if scale == 0 else abs(self.ours - self.theirs) / scale


def _add(out: list[Parity], check: str, peer: str, ours, theirs: dict, *, differs=(),
         note: str = "") -> None:
    """Rows comparing the Effect ``ours`` with a peer's ``{quantity: value}``; quantities in
    ``differs`` are printed but not counted in the parity (the peer computes another thing)."""
    for q, v in theirs.items():
        o = {"estimate": ours.estimate, "se": ours.se, "ci_low": ours.ci_low,
             "ci_high": ours.ci_high, "p_value": ours.p_value, "rel_estimate": ours.rel_estimate,
             "rel_ci_low": ours.rel_ci_low, "rel_ci_high": ours.rel_ci_high}[q]
        out.append(Parity(check, peer, q, float(o), float(v), q not in differs,
                          note if q in differs else ""))


def parity(table: pd.DataFrame, control: str, arm: str) -> tuple[list[Parity], list[str]]:
    """Every comparison on the demo table's real arms, ours against the peers (docstring)."""
    import statsmodels.api as sm
    from statsmodels.stats.proportion import (
        confint_proportions_2indep,
        test_proportions_2indep,
    )
    from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

    d = table[table["arm"].isin([control, arm])].reset_index(drop=True)
    on = (d["arm"] == arm).to_numpy()
    rows: list[Parity] = []
    notes: list[str] = []

    def ms(col, x=None, den=None):
        return (MomentStats.from_arrays(d[col][on], None if x is None else d[x][on],
                                        None if den is None else d[den][on]),
                MomentStats.from_arrays(d[col][~on], None if x is None else d[x][~on],
                                        None if den is None else d[den][~on]))

    ours = {
        "revenue welch": compare_means(*ms("revenue"), ALPHA),
        "net_profit welch": compare_means(*ms("net_profit"), ALPHA),
        "conversion z": compare_proportions(*ms("converted"), ALPHA),
        "aov delta": compare_ratios(*ms("revenue", den="orders"), ALPHA),
        "revenue cuped": compare_cuped(*ms("revenue", x="pre_revenue"), ALPHA),
        "revenue lin 1 cov": compare_adjusted(d["revenue"], d["pre_revenue"], on, ALPHA),
    }

    # statsmodels by hand
    for key, col in (("revenue welch", "revenue"), ("net_profit welch", "net_profit")):
        cm = CompareMeans(DescrStatsW(d[col][on].to_numpy()), DescrStatsW(d[col][~on].to_numpy()))
        lo, hi = cm.tconfint_diff(ALPHA, usevar="unequal")
        _, p, _ = cm.ttest_ind(usevar="unequal")
        rows_for = {"estimate": d[col][on].mean() - d[col][~on].mean(),
                    "se": cm.std_meandiff_separatevar, "ci_low": lo, "ci_high": hi,
                    "p_value": p}
        _add(rows, key, "statsmodels weightstats", ours[key], rows_for)
    c1, n1 = d["converted"][on].sum(), int(on.sum())
    c0, n0 = d["converted"][~on].sum(), int((~on).sum())
    lo, hi = confint_proportions_2indep(c1, n1, c0, n0, method="wald", compare="diff",
                                        alpha=ALPHA)
    tp = test_proportions_2indep(c1, n1, c0, n0, method="wald", compare="diff")
    _add(rows, "conversion z", "statsmodels proportion", ours["conversion z"],
         {"estimate": c1 / n1 - c0 / n0, "ci_low": lo, "ci_high": hi, "p_value": tp.pvalue})
    # CUPED's θ is the pooled within-arm slope: the treatment coefficient of the ANCOVA OLS
    # y ~ 1 + T + x is CUPED's estimate exactly (its homoskedastic se is not CUPED's)
    ancova = sm.OLS(d["revenue"].to_numpy(),
                    sm.add_constant(np.column_stack([on.astype(float), d["pre_revenue"]]))).fit()
    _add(rows, "revenue cuped", "statsmodels OLS (ANCOVA)", ours["revenue cuped"],
         {"estimate": ancova.params[1]})
    theta_within = float(ancova.params[2])
    # Lin by formula, independently of effects.lin_design
    f = pd.DataFrame({"y": d["revenue"], "T": on.astype(float),
                      "xc": d["pre_revenue"] - d["pre_revenue"].mean()})
    import statsmodels.formula.api as smf
    lin = smf.ols("y ~ T * xc", f).fit(cov_type="HC2")
    lo, hi = lin.conf_int(ALPHA).loc["T"]
    _add(rows, "revenue lin 1 cov", "statsmodels formula OLS HC2", ours["revenue lin 1 cov"],
         {"estimate": lin.params["T"], "se": lin.bse["T"], "ci_low": lo, "ci_high": hi,
          "p_value": lin.pvalues["T"]})
    if adjustment is not None:
        _adjustment_parity(d, on, rows, notes)

    _tea_tasting(d, control, arm, ours, rows, notes)
    _gbstats(d, on, ours, theta_within, rows, notes)
    return rows, notes


def _adjustment_parity(d: pd.DataFrame, on: np.ndarray, rows: list[Parity],
                       notes: list[str]) -> None:
    """compare_regression (OLS) and compare_post_stratified against statsmodels OLS HC2."""
    import statsmodels.api as sm

    x = adjustment.covariate_columns(d, list(NUMERIC_COVARIATES), list(CATEGORICAL_COVARIATES))
    for metric in ("converted", "revenue"):
        effect, adj = adjustment.compare_regression(
            d[metric].to_numpy(), x.to_numpy(), on, ALPHA, names=tuple(x.columns), method="ols")
        used = x[list(adj.covariates)]
        xc = used - used.mean()
        design = pd.concat([pd.Series(1.0, index=d.index, name="const"),
                            pd.Series(on.astype(float), index=d.index, name="T"), xc,
                            xc.mul(on.astype(float), axis=0).add_prefix("T:")], axis=1)
        fit = sm.OLS(d[metric].to_numpy(), design).fit(cov_type="HC2")
        lo, hi = fit.conf_int(ALPHA).loc["T"]
        _add(rows, f"{metric} lin {len(adj.covariates)} cov", "statsmodels OLS HC2", effect,
             {"estimate": fit.params["T"], "se": fit.bse["T"], "ci_low": lo, "ci_high": hi,
              "p_value": fit.pvalues["T"]})
        # post-stratification = Lin's regression on the strata dummies: same estimate, and the
        # HC2 se of that saturated fit is the post-stratified se; the CI and p differ by the
        # reference (Satterthwaite t vs normal)
        strata = adjustment.pooled_strata(d[STRATA].to_numpy(), on)
        ps = _first(adjustment.compare_post_stratified(d[metric].to_numpy(), strata, on, ALPHA))
        dummies = pd.get_dummies(pd.Series(strata), drop_first=True, dtype=float)
        dc = dummies - dummies.mean()
        design = pd.concat([pd.Series(1.0, index=d.index, name="const"),
                            pd.Series(on.astype(float), index=d.index, name="T"), dc,
                            dc.mul(on.astype(float), axis=0).add_prefix("T:")], axis=1)
        fit = sm.OLS(d[metric].to_numpy(), design).fit(cov_type="HC2")
        lo, hi = fit.conf_int(ALPHA).loc["T"]
        _add(rows, f"{metric} post-stratified", "statsmodels OLS HC2 on strata", ps,
             {"estimate": fit.params["T"], "se": fit.bse["T"], "ci_low": lo, "ci_high": hi},
             differs=("ci_low", "ci_high"),
             note=f"t with Satterthwaite df ({ps.df:.0f}) vs normal reference")


def _tea_tasting(d, control, arm, ours, rows, notes) -> None:
    try:
        import tea_tasting as tt
    except ImportError:
        notes.append("tea-tasting not installed (pip install .[bench]): no tea-tasting rows")
        return
    data = d[["arm", "revenue", "net_profit", "converted", "orders", "pre_revenue"]].copy()
    exp = tt.Experiment(
        variant="arm",
        revenue=tt.Mean("revenue"), net_profit=tt.Mean("net_profit"),
        converted=tt.Proportion("converted", method="norm", correction=False, equal_var=False),
        aov=tt.RatioOfMeans("revenue", "orders", use_t=False),
        cuped=tt.Mean("revenue", covariate="pre_revenue"),
    )
    res = exp.analyze(data, control=control)
    peer = f"tea-tasting {tt.__version__}"
    log_note = "log-ratio delta-method interval vs Fieller"

    def got(r, with_se=True):
        out = {"estimate": r.effect_size, "ci_low": r.effect_size_ci_lower,
               "ci_high": r.effect_size_ci_upper, "p_value": r.pvalue,
               "rel_estimate": r.rel_effect_size, "rel_ci_low": r.rel_effect_size_ci_lower,
               "rel_ci_high": r.rel_effect_size_ci_upper}
        if with_se:
            out["se"] = r.effect_size / r.statistic
        return out

    rel = ("rel_ci_low", "rel_ci_high")
    _add(rows, "revenue welch", peer, ours["revenue welch"], got(res["revenue"]),
         differs=rel, note=log_note)
    _add(rows, "net_profit welch", peer, ours["net_profit welch"], got(res["net_profit"]),
         differs=rel, note=log_note)
    _add(rows, "conversion z", peer, ours["conversion z"], got(res["converted"], False),
         differs=rel, note=log_note)
    _add(rows, "aov delta", peer, ours["aov delta"], got(res["aov"]), differs=rel,
         note=log_note)
    cuped_note = ("θ from both arms together (total covariance / total variance) vs the "
                  "pooled within-arm θ")
    _add(rows, "revenue cuped", peer, ours["revenue cuped"], got(res["cuped"]),
         differs=("estimate", "se", "ci_low", "ci_high", "p_value", "rel_estimate", *rel),
         note=cuped_note)


def _gbstats(d, on, ours, theta_within, rows, notes) -> None:
    try:
        from gbstats.frequentist.tests import FrequentistConfig, TwoSidedTTest
        from gbstats.models.statistics import (
            ProportionStatistic,
            RatioStatistic,
            RegressionAdjustedStatistic,
            SampleMeanStatistic,
        )
    except ImportError:
        notes.append("gbstats not installed (make bench installs it): no gbstats rows")
        return
    from importlib import metadata

    peer = f"gbstats {metadata.version('gbstats')}"
    config = FrequentistConfig(difference_type="absolute", alpha=ALPHA)

    def mean_stat(col, rows_):
        y = d[col][rows_].to_numpy(dtype=float)
        return SampleMeanStatistic(n=len(y), sum=float(y.sum()), sum_squares=float(y @ y))

    def result(test):
        r = test.compute_result()
        lo, hi = r.ci
        return {"estimate": r.expected, "se": r.uplift.stddev, "ci_low": lo, "ci_high": hi,
                "p_value": r.p_value}

    for key, col in (("revenue welch", "revenue"), ("net_profit welch", "net_profit")):
        _add(rows, key, peer, ours[key],
             result(TwoSidedTTest(mean_stat(col, ~on), mean_stat(col, on), config)))

    def prop(rows_):
        y = d["converted"][rows_].to_numpy(dtype=float)
        return ProportionStatistic(n=len(y), sum=float(y.sum()))

    t_note = "t with Welch df vs normal reference"
    _add(rows, "conversion z", peer, ours["conversion z"],
         result(TwoSidedTTest(prop(~on), prop(on), config)),
         differs=("ci_low", "ci_high", "p_value"), note=t_note)

    def ratio(rows_):
        m, den = d["revenue"][rows_].to_numpy(float), d["orders"][rows_].to_numpy(float)
        return RatioStatistic(
            n=len(m), m_statistic=SampleMeanStatistic(n=len(m), sum=float(m.sum()),
                                                      sum_squares=float(m @ m)),
            d_statistic=SampleMeanStatistic(n=len(m), sum=float(den.sum()),
                                            sum_squares=float(den @ den)),
            m_d_sum_of_products=float(m @ den))
    _add(rows, "aov delta", peer, ours["aov delta"],
         result(TwoSidedTTest(ratio(~on), ratio(on), config)),
         differs=("ci_low", "ci_high", "p_value"), note=t_note)

    def ra(rows_):
        y, x = d["revenue"][rows_].to_numpy(float), d["pre_revenue"][rows_].to_numpy(float)
        return RegressionAdjustedStatistic(
            n=len(y), post_statistic=SampleMeanStatistic(n=len(y), sum=float(y.sum()),
                                                         sum_squares=float(y @ y)),
            pre_statistic=SampleMeanStatistic(n=len(y), sum=float(x.sum()),
                                              sum_squares=float(x @ x)),
            post_pre_sum_of_products=float(x @ y), theta=0.0)
    own = TwoSidedTTest(ra(~on), ra(on), config)
    _add(rows, "revenue cuped", peer + " (own θ)", ours["revenue cuped"], result(own),
         differs=("estimate", "se", "ci_low", "ci_high", "p_value"),
         note="θ from both arms together vs the pooled within-arm θ")
    same = TwoSidedTTest(ra(~on), ra(on), config)
    same.stat_a.theta = same.stat_b.theta = theta_within   # the ANCOVA slope = our θ
    _add(rows, "revenue cuped", peer + " (our θ)", ours["revenue cuped"], result(same))


def format_parity(rows: list[Parity]) -> list[str]:
    lines = [f"{'comparison':<28}{'peer':<34}{'quantity':<13}{'ours':>14}{'peer value':>14}"
             f"{'rel diff':>10}  note"]
    for r in rows:
        lines.append(f"{r.check:<28}{r.peer:<34}{r.quantity:<13}{r.ours:>14.7g}"
                     f"{r.theirs:>14.7g}{r.rel_diff:>10.1e}  "
                     f"{'' if r.same_quantity else 'differs: ' + r.note}")
    same = [r for r in rows if r.same_quantity]
    if same:
        peers = sorted({r.peer for r in same})
        lines.append("max relative difference where the quantity is the same: " + "; ".join(
            f"{p} {max(r.rel_diff for r in same if r.peer == p):.1e}" for p in peers))
        worst = max(r.rel_diff for r in same)
        lines.append(f"overall {worst:.1e}: {'equal' if worst < 5e-5 else 'NOT equal'} to 4 "
                     "significant digits")
    return lines


# ---------------------------------------------------------------------------------------------


def run(argv: list[str] | None = None, on_row: Callable[[Case], None] | None = None) -> dict:
    """Everything :func:`main` prints, as data: the cases with results, parity rows, notes;
    ``on_row(case)`` is called as each simulated row completes."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shop-customers", type=int, default=20_000)
    ap.add_argument("--experiments", type=int, default=10_000,
                    help="A/A and coverage experiments per vectorised row")
    ap.add_argument("--fit-experiments", type=int, default=1_000,
                    help="... per row that fits a model per experiment (regressions, strata)")
    ap.add_argument("--small-arms", default="240,120",
                    help="arm,control customers of the small-arm rows ('' = none)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--params", default=str(ROOT / "params" / "demo.yaml"))
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--no-parity", action="store_true")
    ap.add_argument("--only", default="", help="run only cases whose method contains this")
    args, _ = ap.parse_known_args(argv)
    started = time.perf_counter()
    table, control, arm = demo_table(args.params, args.shop_customers, args.data_dir)
    pool = make_pool(table, control, arm)
    todo, notes = cases(pool)
    if args.small_arms:
        n_arm, n_ctl = (int(v) for v in args.small_arms.split(","))
        small = small_pool(table, control, arm, n_ctl, n_arm, args.seed)
        todo += small_cases(small)
        if adjustment is not None:
            real = small.cols["treated"] == 1
            chosen = {m: adjustment.compare_regression(
                small.cols[m], small.cols["X"], real, ALPHA, names=small.covariate_names,
                strata=small.cols["stratum"])[1].method for m in ("converted", "revenue")}
            notes.append(f"at {small.n_arm}/{small.n_control} customers with "
                         f"{len(small.covariate_names)} covariates compare_regression's "
                         f"automatic rule picks {chosen} (real arms of the small pool)")
    todo = [c for c in todo if args.only in c.method]
    # one BLAS thread: thousands of small fits; with two OpenBLAS threads a 7,000 x 13 QR took
    # 0.1-0.3 s instead of 1-6 ms on this 2-core machine under load (threads spin-waiting)
    with threadpool_limits(limits=1):
        for i, case in enumerate(todo):
            n = args.fit_experiments if case.fitted else args.experiments
            case.result = simulate(case, n, args.seed * 1000 + i)
            if on_row is not None:
                on_row(case)
    par, par_notes = ([], []) if args.no_parity else parity(table, control, arm)
    return {"args": args, "table": table, "pool": pool, "control": control, "arm": arm,
            "cases": todo, "notes": notes + par_notes, "parity": par,
            "seconds": time.perf_counter() - started}


def main(argv: list[str] | None = None) -> int:
    print(format_rows([])[0], file=sys.stderr, flush=True)   # progress on stderr
    out = run(argv, on_row=lambda case: print(format_rows([case], False)[0], file=sys.stderr,
                                              flush=True))
    args, pool = out["args"], out["pool"]
    print(f"demo shop of {args.shop_customers:,} customers (params {Path(args.params).name}); "
          f"campaign table {len(out['table']):,} customers; pool = '{out['control']}' + "
          f"'{out['arm']}': {pool.n_control:,} control / {pool.n_arm:,} arm customers per "
          f"simulated experiment; seed {args.seed}; alpha {ALPHA}")
    print(f"per row as many A/A as coverage experiments: {args.experiments:,} (vectorised "
          f"estimators), {args.fit_experiments:,} (one model fit per experiment); effects: money "
          f"x(1+{LIFT:g}), conversion flips with p {FLIP:g}, capped at the pooled "
          f"p{CAP_PERCENTILE:g}; small arms: {args.small_arms or 'none'} (arm,control) drawn "
          "once from the pool")
    for line in format_rows(out["cases"]):
        print(line)
    print("A/A FP = share with p < 0.05; coverage = share of 95% intervals containing the true "
          "effect, 'rel cov' the same for Fieller's relative interval; 'A/A cov' of 0 in A/A; "
          "mean se and var red (1 - se^2/se_plain^2) in the coverage runs; sd/se = sd of the "
          "A/A estimates / their mean se (> 1: se too small); bands: FP 4-6%, "
          "coverage 93.5-96.5%")
    print("daily peeking: see bench_sequential (the watch's daily looks on A/A shuffles)")
    if out["parity"]:
        print()
        for line in format_parity(out["parity"]):
            print(line)
    for note in out["notes"]:
        print("note:", note)
    print(f"total {out['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

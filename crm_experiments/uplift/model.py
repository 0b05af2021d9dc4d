"""The whole uplift analysis of one per-customer table: :func:`analyse_uplift`.

Steps (all on a randomised experiment, one row per customer):

1. per-arm money on **all** customers (:func:`~crm_experiments.uplift.policy.arm_money`), for
   a table that comes without its own comparison (``crm-exp uplift``). A campaign passes its
   own effects instead (``arm_profit``: the evaluation's effect on net profit per customer, see
   :mod:`crm_experiments.analyses.uplift`); no money is computed here then and
   ``UpliftResult.arm_money`` is empty;
2. a stratified (by arm) random split: the learner is trained on ``1 - test_size`` of the
   customers. To bound the time on a large shop, the learner can be trained on a seeded random
   sample (stratified by arm) of at most ``max_train`` of those customers and evaluated on a
   seeded sample of at most ``max_test`` held-out customers (both unlimited by default);
   customers left out of the samples are not used by steps 2-3, and ``n_train`` / ``n_test``
   report the sizes used. On the 863,000-customer bench shop a 200,000-customer training
   sample instead of all 431,000 lowered the correlation of the estimated with the true
   effects from 0.67 / 0.55 to 0.61 / 0.46 while saving about a second: cap generously;
3. on the held-out customers only: Qini / uplift curves, Qini coefficient and AUUC with
   bootstrap intervals, uplift by decile (per arm vs control), and the value of the learned
   policy vs "everyone gets arm X" and "no one" (IPW and doubly robust);
4. the fitted :class:`UpliftModel` scores any customer table (next-round targets).

**Which policy is recommended.** Per-customer targeting is used for the next round only when
it demonstrably pays: when the lower end of the doubly robust interval of its gain over the
best single arm (the arm with the highest estimated profit per customer in step 1, or in
``arm_profit``) is above 0. Otherwise the recommendation falls back to "everyone gets the best
single arm" (``UpliftModel.fallback_arm``; "no one" when even that arm earned less than the
control), because a targeting gain that cannot be told apart from noise is as likely to lose
money as to earn it. The held-out figures of both policies are always reported.

:class:`UpliftResult` holds it all as values (``metrics()``, ``tables()``); nothing is
rendered or logged here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from crm_experiments.errors import CrmError
from crm_experiments.models.sample import precision_factor, sample_position
from crm_experiments.uplift.evaluation import curves_frame, ranking_score, uplift_by_decile
from crm_experiments.uplift.features import FeatureEncoder
from crm_experiments.uplift.learners import make_learner
from crm_experiments.uplift.policy import arm_money, policy_values, recommend


class UpliftInputError(CrmError):
    """The table cannot be analysed (names the table, the column and why)."""


@dataclass
class UpliftModel:
    """Encoder + learner + costs: scores a customer table (features by name)."""

    encoder: FeatureEncoder
    learner: object
    control: str
    cost_per_treated: dict[str, float] = field(default_factory=dict)
    outcome: str = ""
    fallback_arm: str | None = None

    @property
    def arms(self) -> list[str]:
        return [str(a) for a in self.learner.arms_]

    @property
    def features(self) -> list[str]:
        return [str(c) for c in self.encoder.feature_names_in_]

    def effects(self, df: pd.DataFrame) -> np.ndarray:
        return self.learner.predict(self.encoder.transform(df))

    def outcomes(self, df: pd.DataFrame) -> np.ndarray:
        return self.learner.predict_outcomes(self.encoder.transform(df))

    def predict(self, df: pd.DataFrame, *, budget: float | None = None,
                max_treated: float | None = None) -> pd.DataFrame:
        """Per row: ``effect_<arm>`` for each arm, ``recommended_arm`` and
        ``expected_incremental_profit`` (estimated effect minus cost of the recommended arm, 0
        for the control). With ``fallback_arm`` set every row gets that arm (a budget or cap
        then serves the customers with the highest estimated gain from it first)."""
        tau = self.effects(df)
        if self.fallback_arm is not None:
            if self.fallback_arm == self.control:
                out = pd.DataFrame({f"effect_{a}": tau[:, j] for j, a in enumerate(self.arms)},
                                   index=df.index)
                out["recommended_arm"] = self.control
                out["expected_incremental_profit"] = 0.0
                return out
            j = self.arms.index(self.fallback_arm)
            arm = np.full(len(tau), self.fallback_arm, dtype=object)
            if budget is not None or max_treated is not None:
                only = np.full_like(tau, -np.inf)
                only[:, j] = tau[:, j]
                arm, _ = recommend(only, self.arms, self.control,
                                   cost_per_treated=self.cost_per_treated, budget=budget,
                                   max_treated=max_treated)
            cost = self.cost_per_treated.get(self.fallback_arm, 0.0)
            gain = np.where(arm == self.control, 0.0, tau[:, j] - cost)
        else:
            arm, gain = recommend(tau, self.arms, self.control,
                                  cost_per_treated=self.cost_per_treated, budget=budget,
                                  max_treated=max_treated)
        out = pd.DataFrame({f"effect_{a}": tau[:, j] for j, a in enumerate(self.arms)},
                           index=df.index)
        out["recommended_arm"] = arm
        out["expected_incremental_profit"] = gain
        return out


@dataclass(frozen=True)
class UpliftResult:
    """Everything measured by :func:`analyse_uplift`. ``n_train_split`` / ``n_test_split``:
    the sizes of the training and held-out parts of the split, of which ``n_train`` /
    ``n_test`` customers were used (fewer when capped)."""

    outcome: str
    control: str
    arms: tuple[str, ...]
    n_train: int
    n_test: int
    learner: str
    arm_money: pd.DataFrame
    ranking: pd.DataFrame
    curves: pd.DataFrame
    deciles: pd.DataFrame
    policy_values: pd.DataFrame
    model: UpliftModel
    test_index: pd.Index
    test_effects: pd.DataFrame
    best_single_arm: str
    recommended_policy: str = "learned policy"
    n_customers: int = 0
    n_train_split: int = 0
    n_test_split: int = 0

    def metrics(self) -> dict[str, float]:
        """Flat ``uplift.* -> number`` (finite values only)."""
        out: dict[str, float] = {"uplift.n_customers": self.n_customers,
                                 "uplift.n_train": self.n_train, "uplift.n_test": self.n_test,
                                 "uplift.n_train_split": self.n_train_split,
                                 "uplift.n_test_split": self.n_test_split,
                                 "uplift.targeting_recommended":
                                     float(self.recommended_policy == "learned policy")}
        for r in self.arm_money.to_dict("records"):
            for k, v in r.items():
                if k not in ("arm", "method"):
                    out[f"uplift.arm.{r['arm']}.{k}"] = v
        for r in self.ranking.to_dict("records"):
            for k in ("qini", "qini_low", "qini_high", "auuc", "auuc_low", "auuc_high"):
                out[f"uplift.ranking.{r['arm']}.{k}"] = r[k]
        for r in self.policy_values.to_dict("records"):
            name = (r["policy"].replace("everyone: ", "everyone_").replace(" ", "_"))
            for k, v in r.items():
                if k != "policy":
                    out[f"uplift.policy.{name}.{k}"] = v
        if 0 < self.n_test < self.n_test_split:  # wider held-out intervals: sqrt(N / n)
            out["uplift.test_precision_factor"] = precision_factor(self.n_test_split,
                                                                     self.n_test)
        return {k: float(v) for k, v in out.items()
                if v is not None and not pd.isna(v) and np.isfinite(float(v))}

    def tables(self) -> dict[str, pd.DataFrame]:
        """Aggregate tables (no customer rows)."""
        return {"uplift_arm_money": self.arm_money, "uplift_ranking": self.ranking,
                "uplift_curves": self.curves, "uplift_deciles": self.deciles,
                "uplift_policy_values": self.policy_values}

    def to_dict(self) -> dict:
        """JSON-able summary (the CLI's ``--json``)."""
        return {"outcome": self.outcome, "control": self.control, "arms": list(self.arms),
                "learner": self.learner, "n_customers": self.n_customers,
                "n_train": self.n_train, "n_test": self.n_test,
                "best_single_arm": self.best_single_arm,
                "recommended_policy": self.recommended_policy,
                "arm_effects": self.arm_money.to_dict("records"),
                "ranking": self.ranking.to_dict("records"),
                "policy_values": self.policy_values.to_dict("records")}


def _check(df: pd.DataFrame, arm: str, control: str, outcome: str, features: Sequence[str],
           source: str) -> None:
    for role, col in (("arm", arm), ("outcome", outcome), *(("feature", f) for f in features)):
        if col not in df.columns:
            raise UpliftInputError(f"{source}: {role} column '{col}' not found; columns are "
                                   f"{', '.join(map(str, df.columns))}")
    if not features:
        raise UpliftInputError(f"{source}: no feature column given")
    if df[arm].isna().any():
        raise UpliftInputError(f"{source}: arm column '{arm}' has {int(df[arm].isna().sum())} "
                               "missing value(s)")
    arms = sorted(df[arm].astype(str).unique())
    if str(control) not in arms:
        raise UpliftInputError(f"{source}: control arm '{control}' not found in column "
                               f"'{arm}'; arms are {', '.join(arms)}")
    if len(arms) < 2:
        raise UpliftInputError(f"{source}: column '{arm}' holds only the control arm")
    y = df[outcome]
    if not (pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y)):
        raise UpliftInputError(f"{source}: outcome column '{outcome}' is not numeric")
    if y.isna().any():
        raise UpliftInputError(f"{source}: outcome column '{outcome}' has "
                               f"{int(y.isna().sum())} missing value(s)")
    if arm in features or outcome in features:
        raise UpliftInputError(f"{source}: the arm and outcome columns cannot be features")


def analyse_uplift(df: pd.DataFrame, *, arm: str, control: str, outcome: str,
                   features: Sequence[str], cost_per_treated: Mapping[str, float] | None = None,
                   orders: str | None = None, cost_columns: Sequence[str] = (),
                   covariates: Mapping[str, str] | None = None, test_size: float = 0.3,
                   seed: int = 0, learner: str = "t", max_iter: int = 60, n_folds: int = 3,
                   n_boot: int = 200, alpha: float = 0.05, max_train: int | None = None,
                   max_test: int | None = None, source: str = "table",
                   arm_profit: Mapping[str, float] | None = None,
                   id_column: str | None = None) -> UpliftResult:
    """Per-arm money, uplift model, held-out ranking and policy value (module docstring).

    ``outcome``: the money outcome per customer (e.g. net profit); ``cost_per_treated``:
    cost per customer of each arm not yet inside the outcome (subtracted everywhere).
    ``arm_profit``: every treatment arm's effect on profit per customer from the caller's own
    comparison of the arms; when given it picks the best single arm and :func:`arm_money` is
    not run (``arm_money`` is empty).
    """
    _check(df, arm, control, outcome, features, source)
    if not 0 < test_size < 1:
        raise UpliftInputError(f"test size {test_size}: must be between 0 and 1")
    for name, cap in (("max_train", max_train), ("max_test", max_test)):
        if cap is not None and cap < 100:
            raise UpliftInputError(f"{name} {cap}: must be at least 100 customers (or None)")
    control = str(control)
    cost = {str(k): float(v) for k, v in (cost_per_treated or {}).items()}
    labels = df[arm].astype(str)
    unknown = sorted(set(cost) - set(labels.unique()))
    if unknown:
        raise UpliftInputError(f"{source}: cost given for arm(s) {', '.join(unknown)}, which "
                               f"column '{arm}' does not hold")
    if arm_profit is None:
        money = arm_money(df, arm=arm, control=control, profit=outcome, orders=orders,
                          cost_columns=cost_columns, cost_per_treated=cost,
                          covariates=covariates, alpha=alpha, source=source)
        per_arm = money.set_index("arm")["profit_per_customer"]
    else:
        money = pd.DataFrame()
        per_arm = pd.Series({str(k): float(v) for k, v in arm_profit.items()}, dtype=float)
        missing = sorted(set(labels.unique()) - {control} - set(per_arm.index))
        if missing:
            raise UpliftInputError(f"{source}: no profit per customer given for arm(s) "
                                   f"{', '.join(missing)}")
    strata = pd.Series(pd.Categorical(labels).codes, index=df.index)
    try:
        # arms as integer codes in sorted order: the same split as the labels, much faster
        train_idx, test_idx = train_test_split(df.index, test_size=test_size,
                                               random_state=seed, stratify=strata)
    except ValueError as exc:
        raise UpliftInputError(f"{source}: cannot split {len(df)} rows into training and "
                               f"held-out customers by arm ({exc})") from exc
    n_train_split, n_test_split = len(train_idx), len(test_idx)
    keys = df[id_column] if id_column is not None else pd.Series(df.index, index=df.index)
    train_idx = _capped(train_idx, max_train, strata, seed, keys)
    test_idx = _capped(test_idx, max_test, strata, seed, keys)
    features = list(features)
    train = df.loc[train_idx, features]
    encoder = FeatureEncoder(features, source=source).fit(train)
    est = make_learner(learner, control=control, max_iter=max_iter, n_folds=n_folds,
                       categorical_mask=encoder.categorical_mask_, random_state=seed)
    try:
        est.fit(encoder.transform(train), df.loc[train_idx, outcome].astype(float),
                labels.loc[train_idx])
    except CrmError as exc:
        raise UpliftInputError(f"{source}: {exc}") from exc
    del train
    model = UpliftModel(encoder, est, control, cost, outcome)
    arms = model.arms

    tau, mu = est.predict_both(encoder.transform(df.loc[test_idx, features]))
    y = df.loc[test_idx, outcome].to_numpy(dtype=float)
    t = labels.loc[test_idx].to_numpy()
    ranking, curves, deciles = [], [], []
    for j, a in enumerate(arms):
        m = (t == a) | (t == control)
        yy, ss, tt = y[m], tau[m, j], (t[m] == a).astype(float)
        r = ranking_score(yy, ss, tt, arm=a, n_boot=n_boot, alpha=alpha, seed=seed)
        ranking.append(r.__dict__)
        curves.append(curves_frame(yy, ss, tt, arm=a))
        deciles.append(uplift_by_decile(yy, ss, tt, arm=a))
    policy, _ = recommend(tau, arms, control, cost_per_treated=cost)
    # the best single arm is the one the whole experiment (all customers, covariate-adjusted
    # where a covariate is given) says earns most: what a manager would pick without a model
    per_arm = per_arm.reindex(arms)
    best_single = str(per_arm.idxmax())
    propensity = {a: float(np.mean(t == a)) for a in [control, *arms]}
    values = policy_values(y, t, mu, policy, arms=arms, control=control,
                           propensity=propensity, cost_per_treated=cost,
                           best_single=best_single, alpha=alpha)
    by_name = values.set_index("policy")
    if by_name.loc[f"gain over everyone: {best_single}", "value_dr_low"] > 0:
        recommended = "learned policy"
    elif per_arm[best_single] > 0:
        recommended = f"everyone: {best_single}"
        model.fallback_arm = best_single
    else:
        recommended = "no one"
        model.fallback_arm = control
    effects = pd.DataFrame({f"effect_{a}": tau[:, j] for j, a in enumerate(arms)},
                           index=test_idx)
    effects["recommended_arm"] = policy
    return UpliftResult(
        outcome=outcome, control=control, arms=tuple(arms), n_train=len(train_idx),
        n_test=len(test_idx), learner=learner, arm_money=money,
        ranking=pd.DataFrame(ranking), curves=pd.concat(curves, ignore_index=True),
        deciles=pd.concat(deciles, ignore_index=True), policy_values=values, model=model,
        test_index=test_idx, test_effects=effects, best_single_arm=best_single,
        recommended_policy=recommended, n_customers=len(df), n_train_split=n_train_split,
        n_test_split=n_test_split)


def _capped(index: pd.Index, cap: int | None, strata: pd.Series, seed: int,
            keys: pd.Series) -> pd.Index:
    """``index``, or ``cap`` of its rows stratified by arm: in each arm (its share of ``cap``
    by largest remainders) the rows whose ``keys`` (the pseudonymous ids, else the row labels)
    have the smallest hash positions (:mod:`crm_experiments.models.sample`), so the sample
    depends on the ids and the seed only, not on the rows' order."""
    if cap is None or len(index) <= cap:
        return index
    u = sample_position(pd.Index(keys.loc[index].astype(str)), seed)
    codes = strata.loc[index].to_numpy()
    arms, counts = np.unique(codes, return_counts=True)
    quota = counts * cap / len(index)
    take = np.floor(quota).astype(int)
    extra = np.argsort(-(quota - take), kind="stable")[: cap - int(take.sum())]
    take[extra] += 1
    kept = []
    for a, k in zip(arms, take, strict=True):
        rows = np.flatnonzero(codes == a)
        if k < len(rows):
            rows = rows[np.argpartition(u[rows], k - 1)[:k]] if k > 0 else rows[:0]
        kept.append(rows)
    return index[np.sort(np.concatenate(kept))]

"""Campaign parameters: one YAML file per campaign, validated before anything runs.

An unknown key is an error (``extra="forbid"``), never a silent default. The file is checked
as a whole before the model sees it (:func:`load_params`): at most ``MAX_FILE_BYTES``, no key
given twice in one mapping, nesting at most ``MAX_DEPTH`` levels, at most ``MAX_VALUES`` values
once anchors are expanded. Every number is finite (``allow_inf_nan=False``), money amounts are
0..``MAX_MONEY``, horizons 1-365 days, the currency an ISO 4217 code, and text fields
(display name, labels, channel and segment names) bounded and free of control characters.

>>> p = CampaignParams.model_validate({
...     "campaign_id": "d11_2025", "display_name": "Double 11",
...     "data": {"path": "data/demo"},
...     "sale": {"start": "2025-11-01", "end": "2025-11-11"},
...     "arms": [{"name": "control", "planned_share": 0.2},
...              {"name": "coupon_100_10", "planned_share": 0.8,
...               "coupon_face_value": 10, "coupon_threshold": 100}],
... })
>>> p.treatment_arms
('coupon_100_10',)
>>> str(p.window_end(7))
'2025-11-19 00:00:00'
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from crm_experiments.errors import ParamsError

CAMPAIGN_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
#: The notebooks that ``crm-exp run`` executes: package data of ``crm_experiments`` (in a
#: checkout, the ``crm_experiments/notebooks`` symlink to the top-level ``notebooks/`` that
#: ``make lab`` opens; in an installed wheel, real files), so any install finds them.
NOTEBOOKS_DIR = Path(str(resources.files("crm_experiments") / "notebooks")).resolve()

#: Largest money amount (costs, coupon values) in the shop's currency: far above any campaign,
#: far below where sums and ratios of amounts overflow or lose every digit.
MAX_MONEY = 1e12
#: Longest display name or arm label (characters); names (channels, segments) are shorter.
MAX_TEXT = 200
MAX_NAME = 64
#: Bounds of the params file itself (a campaign's file is a few kB, a dozen levels deep).
MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 20
MAX_VALUES = 100_000
#: Sale days the evaluation can place in time (windows reach 730 days before, 365 after).
FIRST_SALE_DAY, LAST_SALE_DAY = dt.date(1990, 1, 1), dt.date(2199, 12, 31)
#: Characters a text field may not hold: controls (C0, DEL, C1), line/paragraph separators and
#: the bidirectional overrides and isolates that reorder the text around them on a page.
_FORBIDDEN_FORMAT = {"\u2028", "\u2029", *map(chr, range(0x202A, 0x202F)),
                     *map(chr, range(0x2066, 0x206A))}


def _printable(value: str) -> str:
    """Refuse control characters (they would break a report line or reorder its text)."""
    for i, ch in enumerate(value):
        if unicodedata.category(ch) == "Cc" or ch in _FORBIDDEN_FORMAT:
            raise ValueError(f"character U+{ord(ch):04X} at position {i + 1} is a control "
                             "character: text fields must be printable (they appear in the "
                             "reports)")
    return value


#: A display text (shown on the reports, escaped by the templates; markup is kept as text).
Text = Annotated[str, Field(max_length=MAX_TEXT), AfterValidator(_printable)]
#: A name: a channel, a segment column, the control arm.
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME), AfterValidator(_printable)]
Money = Annotated[float, Field(ge=0, le=MAX_MONEY)]
#: Longest evaluation horizon (days after the sale end).
MAX_HORIZON = 365
Horizon = Annotated[int, Field(ge=1, le=MAX_HORIZON)]


@cache
def _currencies() -> frozenset[str]:
    """ISO 4217 codes Babel knows (current and historic)."""
    from babel.numbers import list_currencies

    return frozenset(list_currencies())


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False,
                              str_max_length=1000)

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans(cls, value: object, info: ValidationInfo) -> object:
        """No parameter is a yes/no: YAML reads ``yes``, ``no``, ``on``, ``off``, ``true`` as
        booleans, which pydantic would otherwise take as 1 and 0 (``fixed_cost: no`` = 0).
        Checked in the value and in its items (a mapping that is a nested model checks its
        own fields)."""
        nested = cls.model_fields[info.field_name].annotation
        if isinstance(nested, type) and issubclass(nested, BaseModel):
            return value
        items = value.values() if isinstance(value, dict) else (
            value if isinstance(value, (list, tuple)) else (value,))
        if any(isinstance(v, bool) for v in items):
            raise ValueError("yes/no, true/false and on/off are YAML booleans, and no parameter "
                             "is a yes/no: write the number, or quote the text ('on')")
        return value


class DataSource(_Strict):
    """Where the campaign's canonical tables live."""

    path: Path = Field(description="Data directory; a relative path is taken relative to the "
                       "directory of the params file.")
    format: Literal["auto", "csv", "parquet"] = "auto"
    engine: Literal["duckdb", "spark"] = Field(
        "duckdb", description="Query engine: DuckDB in-process (default), or Spark (the same "
        "Narwhals expressions; pip install 'crm-experiments[spark]'; reads Parquet only).")
    spark_master: str | None = Field(
        None, description="Spark master URL (engine spark), e.g. local[4], spark://host:7077, "
        "yarn, k8s://https://host:443; default local[*] (or the master of an active session).")
    spark_conf: dict[str, str] = Field(
        default_factory=dict, description="Extra Spark settings (engine spark), e.g. "
        "{spark.executor.memory: 8g}.")
    tables: dict[str, str] = Field(
        default_factory=dict, description="Location of a table's Parquet data (engine spark), "
        "by table name: a file, a directory of Parquet files or a URI (s3a://, hdfs://, abfss://"
        "); a relative local path is taken relative to the data directory. Tables not listed "
        "are <path>/<table>.parquet.")

    @field_validator("path")
    @classmethod
    def _printable_path(cls, value: Path) -> Path:
        _printable(str(value))
        return value

    @model_validator(mode="after")
    def _spark_only(self) -> DataSource:
        if self.engine != "spark":
            given = [k for k in ("spark_master", "spark_conf", "tables") if getattr(self, k)]
            if given:
                raise ValueError(f"{', '.join(given)} only apply to engine: spark")
        elif self.format == "csv":
            raise ValueError("engine spark reads Parquet only (format: parquet or auto)")
        return self


class SaleWindow(_Strict):
    """The sale, both days inclusive, in the shop's timezone."""

    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> SaleWindow:
        for day in (self.start, self.end):
            if not FIRST_SALE_DAY <= day <= LAST_SALE_DAY:
                raise ValueError(f"sale day {day} is outside {FIRST_SALE_DAY}..{LAST_SALE_DAY}")
        if self.end < self.start:
            raise ValueError(f"sale end {self.end} is before sale start {self.start}")
        return self


class Arm(_Strict):
    """One arm of the randomised test; the control arm gets no coupon and no message."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=MAX_NAME)
    planned_share: float = Field(gt=0, lt=1, description="Planned share of assigned customers.")
    coupon_face_value: float = Field(0.0, ge=0, le=MAX_MONEY,
                                     description="Coupon value Y of 'spend X get Y off'.")
    coupon_threshold: float = Field(0.0, ge=0, le=MAX_MONEY,
                                    description="Coupon threshold X (0 = no threshold).")
    benefit_cost: float | None = Field(
        None, ge=0, le=MAX_MONEY, description="campaign_type member_day: cost of the arm's "
        "benefit (gift, points, free shipping) per member of the arm who buys in the "
        "evaluation window, in the shop's currency. Unset: the benefit's cost is not "
        "recorded (the report says so).")
    label: Text | None = None


#: The kinds of campaign the evaluation words and costs (``CampaignParams.campaign_type``).
CAMPAIGN_TYPES = ("coupon", "message", "shop_discount", "payment_reminder", "member_day")
CampaignType = Literal["coupon", "message", "shop_discount", "payment_reminder", "member_day"]


class Costs(_Strict):
    """Money assumptions for profit and ROI (currency of the shop)."""

    gross_margin: float = Field(0.45, gt=0, lt=1,
                                description="Gross margin on list price (before discounts).")
    message_cost: dict[Name, Money] = Field(default_factory=lambda: {"sms": 0.05},
                                            description="Cost of one contact, by channel.")
    fixed_cost: float = Field(0.0, ge=0, le=MAX_MONEY,
                              description="Fixed campaign cost (design, tooling).")
    currency: str = Field("CNY", description="ISO 4217 code of the shop's currency, e.g. CNY.")

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        if value not in _currencies():
            hint = (f" (did you mean {value.strip().upper()}?)"
                    if value.strip().upper() in _currencies() else "")
            raise ValueError(f"{value[:40]!r} is not an ISO 4217 currency code{hint}: use three "
                             "capital letters such as CNY, USD or EUR")
        return value


class ShopHoldout(_Strict):
    """The shop-wide holdout: a stable share of customers that no campaign contacts from
    ``start`` to ``end`` (both days inclusive), to price all CRM work against
    (``crm-exp holdout``). Membership is a pure function of ``salt`` and the pseudonymous
    customer id (:func:`crm_experiments.io.holdout.holdout_members`): every campaign that
    declares the same section excludes the same customers (``crm-exp lists --holdout``)."""

    share: float = Field(gt=0, le=0.5, description="Share of customers held out, in (0, 0.5].")
    salt: Name = Field(description="Text mixed into the hash of each customer id; changing it "
                       "draws a new holdout. Keep it for the whole period.")
    start: dt.date = Field(description="First day of the holdout period.")
    end: dt.date = Field(description="Last day of the holdout period (inclusive).")
    min_detectable_profit: float | None = Field(
        None, gt=0, le=MAX_MONEY, description="Desired precision: the incremental net profit "
        "per customer (currency) the holdout should detect at 80% power; the report recommends "
        "the share that reaches it. Unset: the share for the observed effect.")

    @model_validator(mode="after")
    def _period(self) -> ShopHoldout:
        for day in (self.start, self.end):
            if not FIRST_SALE_DAY <= day <= LAST_SALE_DAY:
                raise ValueError(f"shop_holdout day {day} is outside {FIRST_SALE_DAY}.."
                                 f"{LAST_SALE_DAY}")
        if self.end < self.start:
            raise ValueError(f"shop_holdout end {self.end} is before its start {self.start}: "
                             "the period runs from start to end, both inclusive")
        return self

    @property
    def period_start(self) -> pd.Timestamp:
        """Start of the period's first day (naive, shop timezone)."""
        return pd.Timestamp(self.start)

    @property
    def period_end(self) -> pd.Timestamp:
        """End of the period (exclusive): midnight after its last day."""
        return pd.Timestamp(self.end) + pd.Timedelta(days=1)


class Capping(_Strict):
    """Pre-registered capping (winsorising) of the money outcomes: revenue and gross profit
    above their ``percentile``-th percentile over all assigned customers (every arm together)
    are set to it, net profit follows gross profit (:mod:`crm_experiments.stats.capping`).
    Declared here, before the analysis, never chosen after seeing the effects."""

    percentile: float = Field(description="Upper percentile of the cap, strictly between 50 "
                              "and 100, e.g. 99.5 (at most the top 0.5% of values are "
                              "capped).")

    @field_validator("percentile")
    @classmethod
    def _in_range(cls, value: float) -> float:
        if not 50 < value < 100:
            raise ValueError("capping.percentile must be strictly between 50 and 100, e.g. "
                             f"99.5 (got {value:g})")
        return value


#: covariate groups a campaign's effects can be adjusted on (crm_experiments.metrics.campaign)
CovariateGroup = Literal["pre_period", "history", "lifecycle_state", "tier", "gender"]


class RegressionAdjustment(_Strict):
    """Which pre-period covariates sharpen the campaign's effects, declared before the analysis
    (:mod:`crm_experiments.stats.adjustment`). Groups the shop's data lack (no tiers, no
    gender in an export) are left out and the Methods text says so."""

    covariates: tuple[CovariateGroup, ...] = Field(
        ("pre_period", "history", "lifecycle_state", "tier", "gender"),
        description="pre_period: orders, revenue, gross profit and purchase (0/1) in the "
        "pre-period window; history: orders and revenue of all earlier history, days since the "
        "last and the first purchase; lifecycle_state, tier, gender: as dummies. Empty: no "
        "adjustment.")
    method: Literal["auto", "ols", "ridge", "post_stratification", "none"] = Field(
        "auto", description="auto: Lin's OLS with HC2 errors where the smaller arm has 20 rows "
        "per parameter, ridge from 15 rows per parameter, post-stratification on strata for "
        "arms too small for a regression; ols / ridge / post_stratification force one "
        "(falling back by the same rule where the data cannot carry it); none: unadjusted.")
    strata: Literal["lifecycle_state", "tier"] | None = Field(
        "lifecycle_state", description="Column to post-stratify on where no regression fits.")


class ModelSample(_Strict):
    """How many customers the sampled models are fitted on (:mod:`crm_experiments.models.sample`:
    the customers with the smallest SHA-256 positions of ``model-sample:<seed>`` + their
    pseudonymous id, the same on DuckDB and Spark). Predictions are still made for every
    customer; the pages and MLflow state each sample and its effect on precision (standard
    errors about sqrt(N / n) times those of a fit on all N customers)."""

    clv_customers: int | None = Field(
        1_000_000, ge=1_000, description="CLV purchase models (BG/NBD, MBG/NBD, Pareto/NBD) and "
        "the Gamma-Gamma spend model (its repeat customers): fitted on at most this many "
        "customers. null: on everyone.")
    churn_customers: int | None = Field(
        100_000, ge=1_000, description="Churn scorers compared on at most this many customers "
        "with a purchase before the cutoff. null: on everyone.")
    uplift_train_customers: int | None = Field(
        500_000, ge=1_000, description="Uplift learner trained on at most this many customers "
        "of its training half (stratified by arm). null: the whole half.")
    uplift_test_customers: int | None = Field(
        200_000, ge=1_000, description="Uplift model evaluated (Qini, policy values) on at most "
        "this many held-out customers (stratified by arm). null: the whole half.")


class CampaignParams(_Strict):
    """Everything one evaluation needs; loaded from ``params/<campaign>.yaml``."""

    campaign_id: str
    display_name: Text = Field(min_length=1)
    language: Literal["en", "zh"] = "en"
    timezone: str = "Asia/Shanghai"
    data: DataSource
    sale: SaleWindow
    pre_period_days: int = Field(90, ge=7, le=730,
                                 description="Days before the sale used as the 'before' window "
                                 "and for pre-period covariates.")
    horizons: tuple[int, ...] = Field((7, 30), max_length=20)
    retention_days: int = Field(30, ge=1, le=365)
    lifecycle_period_months: Literal[3, 6, 12] = 3
    control_arm: Name = "control"
    campaign_type: CampaignType | None = Field(
        None, description="What the treatment arms get, which sets the report's wording and "
        "cost lines: coupon (coupons; cost = redeemed face value), message (messages only: "
        "SMS, Wangwang, e-mail, push; cost = contact costs), shop_discount (店铺优惠 without "
        "coupon ids; cost = the discounts recorded on the arm's orders, orders.discount), "
        "payment_reminder (催付 against a holdout; cost = the reminders' contact costs; the "
        "effect = paid orders recovered), member_day (member-day or tier benefits; cost = "
        "arms.<name>.benefit_cost per buying member, plus discounts on its orders). Unset: "
        "coupon when a treatment arm has coupon_face_value > 0, else message.")
    arms: tuple[Arm, ...] = Field(max_length=50)
    costs: Costs = Costs()
    segments: tuple[Name, ...] = ("lifecycle_state",)
    extra_notebooks: dict[str, tuple[Horizon, ...]] = Field(
        default_factory=dict,
        description="Notebooks (in notebooks/) run after the evaluation, each with the horizons "
        "it runs at (empty = every horizon), e.g. {clv_churn: [30], coupon_uplift: []}.")
    alpha: float = Field(0.05, gt=0, lt=0.5)
    adjustment: RegressionAdjustment = RegressionAdjustment()
    srm_alpha: float = Field(0.001, gt=0, lt=0.5)
    seed: int = Field(20251111, ge=0, le=2**32 - 1,
                      description="Random seed (0 to 2**32 - 1, what NumPy accepts).")
    shop_holdout: ShopHoldout | None = Field(
        None, description="The shop-wide holdout (share, salt, start, end): customers no "
        "campaign contacts in the period; `crm-exp holdout` measures all CRM work against them.")
    capping: Capping | None = Field(
        None, description="Pre-registered capping of money outcomes, e.g. {percentile: 99.5}: "
        "revenue and gross profit capped at that pooled percentile before the comparison "
        "(net profit follows gross profit); declared before the analysis. Unset: no capping.")
    model_sample: ModelSample = Field(
        ModelSample(), description="Customers the sampled models (CLV, churn, uplift) are "
        "fitted on, at most: {" + ", ".join(f"{k}: {v}" for k, v in ModelSample().model_dump(
        ).items()) + "}; drawn by hashing the pseudonymous ids with the seed.")

    @field_validator("campaign_id")
    @classmethod
    def _safe_id(cls, value: str) -> str:
        if not CAMPAIGN_ID_PATTERN.match(value):
            raise ValueError("campaign_id must be 1-64 characters of a-z, 0-9, '_' or '-', "
                             "starting with a letter or digit (it names report folders)")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            pd.Timestamp("2020-01-01", tz=value)
        except Exception as exc:  # pytz/zoneinfo raise various types
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @field_validator("horizons")
    @classmethod
    def _positive_horizons(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(h < 1 or h > MAX_HORIZON for h in value):
            raise ValueError(f"horizons must be 1-{MAX_HORIZON} days after the sale end")
        return tuple(sorted(set(value)))

    @model_validator(mode="after")
    def _arms_consistent(self) -> CampaignParams:
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names):
            raise ValueError(f"arm names must be unique, got {names}")
        if self.control_arm not in names:
            raise ValueError(f"control_arm {self.control_arm!r} is not among arms {names}")
        if len(names) < 2:
            raise ValueError("at least one treatment arm besides the control arm is needed")
        total = sum(a.planned_share for a in self.arms)
        if abs(total - 1) > 1e-6:
            raise ValueError(f"planned_share of the arms must sum to 1, got {total:g}")
        return self

    @field_validator("campaign_type", mode="before")
    @classmethod
    def _known_type(cls, value: object) -> object:
        if value is not None and value not in CAMPAIGN_TYPES:
            raise ValueError(f"campaign_type {value!r} is not one of {', '.join(CAMPAIGN_TYPES)}"
                             " (or leave it out: coupon when an arm has a coupon_face_value, "
                             "else message)")
        return value

    @model_validator(mode="after")
    def _type_consistent(self) -> CampaignParams:
        t = self.type
        coupons = [a.name for a in self.arms if a.coupon_face_value > 0]
        if coupons and t != "coupon":
            raise ValueError(f"campaign_type {t} but arms {coupons} have a coupon_face_value "
                             "(use campaign_type: coupon, or remove the coupon values)")
        benefits = [a.name for a in self.arms if a.benefit_cost is not None]
        if benefits and t != "member_day":
            raise ValueError(f"arms {benefits} have a benefit_cost, which only applies to "
                             "campaign_type: member_day")
        return self

    @field_validator("extra_notebooks")
    @classmethod
    def _known_notebooks(cls, value: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
        for name in value:
            if not re.fullmatch(r"[a-z0-9_]+", name):
                raise ValueError(f"notebook name {name!r}: use the file name in notebooks/ "
                                 "without .ipynb (a-z, 0-9, _)")
            if not (NOTEBOOKS_DIR / f"{name}.ipynb").exists():
                raise ValueError(f"no notebook notebooks/{name}.ipynb")
        return value

    def notebooks_at(self, horizon_days: int) -> tuple[str, ...]:
        """Extra notebooks due at this horizon."""
        return tuple(name for name, hs in self.extra_notebooks.items()
                     if not hs or horizon_days in hs)

    # --- derived values -------------------------------------------------------------------
    @property
    def type(self) -> str:
        """The campaign's type: ``campaign_type`` when set, else ``coupon`` when a treatment
        arm gives a coupon (``coupon_face_value`` > 0), else ``message``."""
        if self.campaign_type is not None:
            return self.campaign_type
        coupons = any(a.coupon_face_value > 0 for a in self.arms if a.name != self.control_arm)
        return "coupon" if coupons else "message"

    @property
    def arm_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.arms)

    @property
    def treatment_arms(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.arms if a.name != self.control_arm)

    def arm(self, name: str) -> Arm:
        return next(a for a in self.arms if a.name == name)

    @property
    def sale_start(self) -> pd.Timestamp:
        """Start of the sale's first day (naive, shop timezone)."""
        return pd.Timestamp(self.sale.start)

    @property
    def sale_end(self) -> pd.Timestamp:
        """End of the sale (exclusive): midnight after its last day."""
        return pd.Timestamp(self.sale.end) + pd.Timedelta(days=1)

    def window_end(self, horizon_days: int) -> pd.Timestamp:
        """Exclusive end of the evaluation window: sale end + ``horizon_days`` days."""
        return self.sale_end + pd.Timedelta(days=horizon_days)

    @property
    def pre_period_start(self) -> pd.Timestamp:
        return self.sale_start - pd.Timedelta(days=self.pre_period_days)

    def evaluation_date(self, horizon_days: int) -> dt.date:
        """The day the evaluation at this horizon is due (the day the window closes)."""
        return self.window_end(horizon_days).date()

    def flat(self) -> dict[str, str]:
        """Parameters flattened to ``a.b.c`` keys, for MLflow params."""
        out: dict[str, str] = {}

        def walk(prefix: str, value: object) -> None:
            if isinstance(value, dict):
                for k, v in value.items():
                    walk(f"{prefix}.{k}" if prefix else str(k), v)
            elif isinstance(value, (list, tuple)) and value and isinstance(value[0], dict):
                for item in value:
                    walk(f"{prefix}.{item.get('name', len(out))}", item)
            else:
                out[prefix] = str(value)

        walk("", self.model_dump(mode="json"))
        return out


class _Refused(Exception):
    """A params file the YAML check refuses (message, 1-based line)."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that stops nesting at ``MAX_DEPTH`` levels (the composer recurses
    once per level: a deeply nested file would otherwise end in ``RecursionError``)."""

    _depth = 0

    def compose_node(self, parent, index):  # noqa: ANN001, ANN201 (PyYAML's signature)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _Refused(f"nested more than {MAX_DEPTH} levels deep: a campaign's "
                               "parameters are a few levels of keys and lists", mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _where(keys: list[str]) -> str:
    return ".".join(keys) or "(top level)"


def _check_nodes(node: yaml.Node, keys: list[str], sizes: dict[int, int],
                 open_: set[int]) -> int:
    """Refuse a key given twice in one mapping and anchors that refer to themselves; return
    the number of values ``node`` expands to (an alias counts its anchor's values again)."""
    if id(node) in sizes:
        return sizes[id(node)]
    if id(node) in open_:
        raise _Refused(f"{_where(keys)}: an alias refers to the value that contains it (a "
                       "recursive anchor): write the value out", node.start_mark.line + 1)
    open_.add(id(node))
    size = 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            line = key_node.start_mark.line + 1
            if key_node.tag != "tag:yaml.org,2002:merge":
                if key in seen:
                    raise _Refused(f"{_where([*keys, key])}: key {key!r} is given twice (lines "
                                   f"{seen[key]} and {line}): give each key once (YAML would "
                                   "silently keep the last)", line)
                seen[key] = line
            size += _check_nodes(value_node, [*keys, key], sizes, open_)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            size += _check_nodes(item, [*keys, str(i)], sizes, open_)
    open_.discard(id(node))
    sizes[id(node)] = size
    if size > MAX_VALUES:
        raise _Refused(f"{_where(keys)}: expands to more than {MAX_VALUES:,} values (anchors "
                       "and aliases): a campaign's parameters are a few dozen",
                       node.start_mark.line + 1)
    return size


def _read_yaml(path: Path) -> object:
    """The file's YAML document after the whole-file checks (see the module docstring)."""
    try:
        n_bytes = path.stat().st_size
        if n_bytes > MAX_FILE_BYTES:
            raise ParamsError(f"{path}: {n_bytes:,} bytes, more than the {MAX_FILE_BYTES:,} a "
                              "params file may have (a campaign's file is a few kB)")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ParamsError(f"{path}: file not found") from exc
    except IsADirectoryError as exc:
        raise ParamsError(f"{path}: is a directory, not a params file") from exc
    except UnicodeDecodeError as exc:
        raise ParamsError(f"{path}: not UTF-8 text (byte {exc.start + 1}): save the file as "
                          "UTF-8") from exc
    except OSError as exc:
        raise ParamsError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    loader = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        _check_nodes(node, [], {}, set())
        return loader.construct_document(node)
    except _Refused as exc:
        line = f"line {exc.line}: " if exc.line else ""
        raise ParamsError(f"{path}: {line}{exc}") from exc
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from exc
    finally:
        if loader is not None:
            loader.dispose()


def _short(key: object) -> str:
    text = str(key)
    return f"{text[:40]}..." if len(text) > 40 else text


def _shown(value: object) -> str:
    """A short ``(got ...)`` of a scalar input, for an error line."""
    if isinstance(value, (dict, list, tuple)) or value is None:
        return ""
    text = repr(value)
    return f" (got {text[:60]}{'...' if len(text) > 60 else ''})"


def load_params(path: str | Path) -> CampaignParams:
    """Read and validate a campaign YAML file; raise :class:`ParamsError` naming the file,
    the key and the rule.

    A relative ``data.path`` is resolved against the YAML file's directory."""
    path = Path(path)
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping of keys to values at the top level")
    try:
        params = CampaignParams.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = ".".join(_short(p) for p in err["loc"]) or "(top level)"
            # a value error names the value itself; a type or range rule does not
            got = "" if err["type"] in ("missing", "value_error") else _shown(err.get("input"))
            lines.append(f"  {where}: {err['msg']}{got}")
        raise ParamsError(f"{path}: invalid campaign parameters\n" + "\n".join(lines)) from exc
    data_path = params.data.path
    if not data_path.is_absolute():
        data_path = (path.parent / data_path).resolve()
    return params.model_copy(update={"data": params.data.model_copy(update={"path": data_path})})

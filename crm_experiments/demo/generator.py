"""The embedded demo shop: a seeded, vectorised generator of a believable online shop with a
randomised coupon campaign whose true effects are known.

Model (all money in the shop currency, CNY; times in days unless stated)
=======================================================================

Calendar
    A daily purchase-intensity index ``s(t)`` (:mod:`crm_experiments.demo.calendar`): weekends
    higher, Double 11 (Nov 1-11, peak on the 11th), 618 (Jun 1-18), Double 12, a dip before
    Double 11 and a deep Spring Festival dip. Times of day follow an hourly profile.

Customers (buy-till-you-die, Pareto/NBD style)
    * acquisition (first order, always paid) over ``[history_start, data_end)`` with density
      ``s(t)^1.5 x trend`` (trend 0.8 -> 1.2 over the history), so sales acquire many customers,
      including during the campaign's own sale;
    * purchase rate ``lambda_i ~ Gamma(shape 0.9, mean 4.0)`` purchases per year while alive
      (x0.6 for customers acquired on a sale day: sale-acquired buyers repurchase less), times
      the knob ``purchase_rate_scale`` (default 1: about 3.3 orders per customer; 3.9 gives
      about 10, :data:`BENCH_PURCHASE_RATE_SCALE`; engagement events keep the unscaled rate);
    * lifetime ``tau_i ~ Exponential(rate mu_i)`` years, ``mu_i ~ Gamma(shape 1.2, mean 1.3)``
      per year (x1.6 for sale-acquired customers); no purchase after ``acq_i + tau_i``;
    * spend level ``log`` list price of an order ``~ Normal(mu_i, 0.55)``, ``mu_i ~
      Normal(log 140, 0.35)``: mean list price about 190 CNY;
    * province (weighted list of Chinese provinces), gender (F 72%, M 24%, unknown 4%),
      birthday (age 18-60, mode about 30).

Orders
    After the first order, a Poisson process with rate ``lambda_i s(t) / 365`` while alive,
    drawn vectorised (counts per customer, then times by inverse transform of the cumulative
    index). Per order: 91% paid ``0.2 + Exponential(6)`` minutes (truncated below 29.7)
    after creation; the other 9% (never the first order) are unpaid at 30 minutes, and of
    those 10% are paid late, ``31 + TruncatedExponential(scale 180)`` minutes (< 24 h) after
    creation, the rest never (``paid_at`` null, ~5.5% of all orders); with a payment
    reminder 25% are paid late (shared uniform: every order paid late without a reminder is
    paid with one as well, at the same time). 7.5% of paid orders refunded, 55% of those
    fully, the rest 15-70%; shipping ``Lognormal`` with median 20 h (x1.8 during sales), null
    when unpaid or after ``data_end``.

Campaign
    Every customer with a paid order created before the assignment date ``A = sale start - 12
    days`` (00:00, the ``assigned_at``) is assigned by **exact complete randomisation**: a
    random permutation cut at the planned shares (largest remainders). Treated arms with a
    face value get one coupon each (issued ``sale start - 10 days`` 10:00, valid during the
    sale); every treated arm gets 4 SMS (10, 3, 1 days before the sale and on the first day,
    cost ``params.costs.message_cost['sms']``). Sale
    orders of treated customers still unpaid 30 minutes after creation get a Wangwang payment
    reminder then (cost ``message_cost.get('wangwang', 0)``), which raises their late-payment
    probability from 10% to 25% (see Orders). The control arm gets nothing. Any number of arms
    works: arms with a face value are coupon arms, arms without one are message-only.

Treatment effect (superposition / common random numbers)
    The realised process of a treated customer = the control process (shared by all arms) +
    an independent *extra* Poisson process of that arm, with rate ``lambda_i s(t) g(t) / 365``
    times ``lift[arm, state]`` while the customer is alive, times ``WAKE_UP x lift`` after the
    latent death (win-back). ``g = 1`` during the sale and ``CARRY_OVER`` for
    ``CARRY_OVER_DAYS`` after it. ``state`` is the lifecycle state measured at the sale start
    from the realised orders. ``lift = lift_scale[arm] x (msg[state] + coupon[state] x
    (F / 10) ^ elasticity[state])`` with ``F`` the coupon face value (no coupon term without
    one). The demo's table (:data:`LIFT`; lift of the purchase rate for the message-only,
    10-off-100 and 30-off-200 arms):

    ==========  =====  ======  ==========  =========  =========
    state       msg    coupon  elasticity  100-10     200-30
    ==========  =====  ======  ==========  =========  =========
    new_one     0.02   0.16    -0.4        0.18       0.12
    new_repeat  0.02   0.12    -1.2        0.14       0.05
    old_one     0.02   0.14    -0.6        0.16       0.09
    old_repeat  0.02   0.12    -1.2        0.14       0.05
    silent      0.03   0.15     1.9        0.18       1.24
    sleeping    0.02   0.10     2.2        0.12       1.14
    lost        0.005  0.015    0.5        0.02       0.03
    ==========  =====  ======  ==========  =========  =========

    Active buyers would buy in the sale anyway: a deep coupon mostly discounts orders they
    place regardless (high redemption, little extra volume; a 200 threshold makes them
    consolidate baskets rather than add orders, hence the negative elasticity), so the
    200-30 coupon loses money on them while the cheap 100-10 coupon pays modestly. Silent and
    sleeping customers respond strongly to depth: the 200-30 coupon more than doubles their
    sale purchase rate and clearly pays, the 100-10 coupon earns little. Lost customers barely
    respond to anything; coupon and message costs make both coupons lose on them. True 30-day
    net-profit effects per customer on the default 30k shop (100-10 / 200-30): new_one
    1.7 / 0.3, new_repeat 3.3 / -1.3, old_one 2.3 / -0.1, old_repeat 4.2 / -1.6, silent
    1.4 / 13.0, sleeping 0.5 / 7.6, lost -0.1 / -0.1; overall 1.2 / 4.0 (revenue +9 % / +26 %).
    The knobs ``lift`` (per-state parameters replacing
    :data:`LIFT`'s) and ``lift_scale`` (per arm, default 1) give campaigns other true effects.
    The payment reminders are part of the treatment: the orders they recover count in the
    treated arm's outcomes (and their cost in its net profit).
    The coupon is redeemed on the first paid sale order whose list price reaches the
    threshold and whose shared uniform ``u_use < 0.85``; a basket within 75-100% of the
    threshold is pushed up to it with probability ``min(0.6, 2.5 F / threshold)`` (shared
    uniform). ``amount = list - discount``. Every order draw (amount, payment, refund, shipping,
    uniforms) is shared across arms, so each assigned customer's outcomes under every arm are
    computed, while only the assigned arm is written to the tables.

Shop-wide holdout
    With ``params.shop_holdout`` whose period holds the assignment date, its members
    (:func:`crm_experiments.io.holdout.holdout_members`) are drawn into the experiment as
    before, so every random draw and the campaign's truth (over all drawn customers) stay as
    they were, but they live the control process and are not written to assignments,
    coupons or contacts: the written arms are the drawn ones less a random ~share of each.
    ``truth.json["shop_holdout"]`` holds the true cumulative effect per exposed customer over
    the period (:func:`_holdout_truth`); ``truth.json["data"]["arm_sizes_written"]`` the
    written arms' sizes.

Truth
    ``truth.json``: per horizon ``H`` and treated arm, the mean over **all assigned customers**
    (overall, per lifecycle state at the sale start, per tier) of ``Y(arm) - Y(control)``
    (sample average treatment effect of the experiment population); ``true_effects.parquet``:
    the individual differences, and the expected individual net-profit effect given the
    latent parameters. ``truth.json["multipliers"]`` records the effective model: the lift per
    arm and state, the lift parameters and scales, the purchase rate scale, the payment model.

Streaming (shops above :data:`IN_MEMORY_MAX_CUSTOMERS`, or ``chunk_customers``)
    The customers, the assignment (eligible = acquired before the assignment date, since the
    first order is always paid), the holdout members and the coupon numbers are drawn for
    the whole shop exactly as in memory (a few arrays per customer); the rest is simulated
    for consecutive customers a chunk at a time from per-chunk random streams and appended
    to each file as Parquet row groups. The in-memory path is unchanged (a shop of one chunk
    is byte-identical); a chunked shop is the same model with other order draws, and its
    truth means are shop sums / shop counts. ``truth.json["data"]["chunks"]`` says how.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.special import ndtr

from crm_experiments.demo.calendar import ShopCalendar
from crm_experiments.io.holdout import holdout_members
from crm_experiments.io.schema import TABLES
from crm_experiments.params import CampaignParams

GENERATOR_VERSION = 4  # 2: late payments and payment reminders that work; knobs;
#                        3: realistic, strong coupon heterogeneity (LIFT); 4: shop holdout

# --- model constants (documented in the module docstring) ------------------------------------
LAMBDA_SHAPE, LAMBDA_MEAN = 0.9, 4.0          # purchases per year while alive
DROPOUT_SHAPE, DROPOUT_MEAN = 1.2, 1.3        # dropout rate per year
SALE_ACQ_LAMBDA, SALE_ACQ_DROPOUT = 0.6, 1.6  # sale-acquired customers
SPEND_MU, SPEND_MU_SD, SPEND_SD = np.log(140.0), 0.35, 0.55
P_UNPAID = 0.09  # per order not paid within minutes; the first order is always paid
P_LATE, P_LATE_REMINDED = 0.10, 0.25          # P(such an order is paid late): without/with a
LATE_SCALE_MIN, LATE_MAX_MIN = 180.0, 1440.0  # reminder; delay 30 min + TruncExp(180) < 24 h
REMIND_AFTER_MIN = 30.0                       # the Wangwang reminder, minutes after creation
P_REFUND, P_REFUND_FULL = 0.075, 0.55
P_USE = 0.85                                  # P(a coupon holder uses it on an eligible order)
PUSH_BAND = 0.75                              # baskets >= 75% of the threshold may be pushed
CARRY_OVER, CARRY_OVER_DAYS = 0.3, 14
WAKE_UP = 0.3                                 # response of latently dead customers, x lift
ASSIGN_DAYS_BEFORE = 12
BENCH_PURCHASE_RATE_SCALE = 3.9               # about 10 orders per customer (benchmarks)
LIFT = {  # state: (message-only lift, coupon lift at 10 CNY, elasticity in face value)
    "new_one": (0.02, 0.16, -0.4),       # active buyers: the deep 200-30 coupon mostly
    "new_repeat": (0.02, 0.12, -1.2),    # discounts orders they would place anyway (and
    "old_one": (0.02, 0.14, -0.6),       # they consolidate baskets to reach 200): negative
    "old_repeat": (0.02, 0.12, -1.2),    # elasticity; the light 100-10 coupon pays modestly
    "silent": (0.03, 0.15, 1.9),         # silent and sleeping customers respond strongly
    "sleeping": (0.02, 0.10, 2.2),       # to depth: the 200-30 coupon wins them back
    "lost": (0.005, 0.015, 0.5),         # lost customers barely respond to anything
}
STATES = tuple(LIFT)
LIFT_KEYS = ("msg", "coupon", "elasticity")
TIERS = ("regular", "senior", "vip", "supreme_vip")
TIER_BOUNDS = (500.0, 3000.0, 8000.0)
METRICS = ("converted", "orders", "revenue", "gross_profit", "net_profit")
DEFINITIONS = {
    "window": "created_at in [sale start 00:00, sale end day + 1 + H days 00:00)",
    "purchase": "paid order (paid_at not null) with refund_amount < amount",
    "converted": "1 if the customer has >= 1 purchase in the window, else 0",
    "orders": "number of purchases in the window",
    "revenue": "sum over purchases of amount - refund_amount",
    "gross_profit": "sum over purchases of k * (amount - (1 - m) * (amount + discount)), "
                    "k = (amount - refund_amount) / amount, m = params.costs.gross_margin",
    "message_cost": "sum of contacts.cost of this campaign for the customer (all dates)",
    "net_profit": "gross_profit - message_cost",
    "effect": "mean over all assigned customers (of every arm) in the group of "
              "Y(arm) - Y(control), from the simulated potential outcomes (sample ATE)",
    "lifecycle_state": "state at the sale start from purchases strictly before it, "
                       "P = params.lifecycle_period_months calendar months",
    "tier": "customers.tier: cumulative paid spend (amount - refund_amount) before the "
            "assignment date: regular < 500 <= senior < 3000 <= vip < 8000 <= supreme_vip",
}

PROVINCES = {
    "Guangdong": 13.0, "Zhejiang": 9.0, "Jiangsu": 8.5, "Shandong": 6.0, "Shanghai": 5.5,
    "Beijing": 4.5, "Sichuan": 4.5, "Henan": 4.5, "Fujian": 4.0, "Hubei": 3.5, "Hebei": 3.5,
    "Hunan": 3.2, "Anhui": 3.0, "Liaoning": 2.5, "Shaanxi": 2.2, "Chongqing": 2.0,
    "Jiangxi": 2.0, "Guangxi": 2.0, "Yunnan": 1.8, "Tianjin": 1.5, "Shanxi": 1.5,
    "Heilongjiang": 1.3, "Guizhou": 1.2, "Jilin": 1.0, "Inner Mongolia": 1.0, "Xinjiang": 0.8,
    "Gansu": 0.8, "Hainan": 0.6, "Ningxia": 0.3, "Qinghai": 0.25, "Tibet": 0.1,
}
INTERACTION_WEIGHTS = {
    "visit": 0.35, "sign_in": 0.20, "cart": 0.15, "favourite": 0.12, "points_earned": 0.09,
    "lottery": 0.04, "points_spent": 0.03, "vote": 0.02,
}


# --- small helpers -----------------------------------------------------------------------------
def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded numbers as an Arrow string array, without a Python loop."""
    numbers = np.asarray(numbers, dtype="int64")
    digits = (numbers[:, None] // 10 ** np.arange(width - 1, -1, -1, dtype="int64")) % 10 + 48
    pre = np.frombuffer(prefix.encode(), dtype=np.uint8)
    mat = np.concatenate([np.broadcast_to(pre, (len(numbers), len(pre))),
                          digits.astype(np.uint8)], axis=1)
    raw = np.ascontiguousarray(mat).view(f"S{len(pre) + width}").ravel()
    return pa.array(raw, type=pa.binary()).cast(pa.string())


def _width(n: int, minimum: int) -> int:
    return max(minimum, len(str(max(n, 1))))


def _cents(x: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(x, dtype="float64"), 2)


def _categorical(rng: np.random.Generator, probs: np.ndarray, n: int) -> np.ndarray:
    cdf = np.cumsum(np.asarray(probs, dtype="float64"))
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(cdf) - 1)


def _row_categorical(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One draw per row from the distribution ``probs[rows[i]]`` (a small matrix)."""
    cdf = np.cumsum(probs, axis=1)
    cdf /= cdf[:, -1:]
    u = rng.random(len(rows))
    return (u[:, None] >= cdf[rows]).sum(axis=1)


LiftSpec = Mapping[str, Sequence[float] | Mapping[str, float]]


def lift_parameters(lift: LiftSpec | None = None) -> dict[str, tuple[float, float, float]]:
    """The effective ``(msg, coupon, elasticity)`` per lifecycle state: :data:`LIFT` with the
    states in ``lift`` replaced. An entry is a 3-sequence ``(msg, coupon, elasticity)`` or a
    mapping with any of the keys ``msg``, ``coupon``, ``elasticity`` (the others keep the
    demo's values). ``msg`` and ``coupon`` must be >= 0 (they scale a Poisson rate)."""
    out = dict(LIFT)
    for state, spec in (lift or {}).items():
        if state not in LIFT:
            raise ValueError(f"lift: unknown lifecycle state {state!r}; known: {', '.join(STATES)}")
        if isinstance(spec, Mapping):
            unknown = set(spec) - set(LIFT_KEYS)
            if unknown:
                raise ValueError(f"lift[{state!r}]: unknown keys {sorted(unknown)}; "
                                 f"known: {', '.join(LIFT_KEYS)}")
            values = tuple(float(spec.get(k, v)) for k, v in zip(LIFT_KEYS, LIFT[state],
                                                                  strict=True))
        else:
            values = tuple(float(v) for v in spec)
            if len(values) != 3:
                raise ValueError(f"lift[{state!r}]: need (msg, coupon, elasticity), got {spec!r}")
        if not all(np.isfinite(values)) or values[0] < 0 or values[1] < 0:
            raise ValueError(f"lift[{state!r}]: msg and coupon must be finite and >= 0, "
                             f"got {values}")
        out[state] = values  # type: ignore[assignment]
    return out


def _lift_scales(params: CampaignParams, lift_scale: Mapping[str, float] | None
                 ) -> dict[str, float]:
    scales = {a: 1.0 for a in params.treatment_arms}
    for arm, x in (lift_scale or {}).items():
        if arm not in scales:
            raise ValueError(f"lift_scale: {arm!r} is not a treated arm of the params; "
                             f"treated arms: {', '.join(scales)}")
        if not np.isfinite(x) or x < 0:
            raise ValueError(f"lift_scale[{arm!r}] must be finite and >= 0, got {x!r}")
        scales[arm] = float(x)
    return scales


def lift_table(params: CampaignParams, lift: LiftSpec | None = None,
               lift_scale: Mapping[str, float] | None = None) -> dict[str, dict[str, float]]:
    """``lift[arm][state]``: relative increase of the purchase rate during the sale,
    ``lift_scale[arm] x (msg + coupon x (face / 10) ^ elasticity)`` (the coupon term only for
    an arm with a face value) with the parameters of :func:`lift_parameters`."""
    table = lift_parameters(lift)
    scales = _lift_scales(params, lift_scale)
    out: dict[str, dict[str, float]] = {}
    for name in params.treatment_arms:
        face = params.arm(name).coupon_face_value
        out[name] = {
            s: round(scales[name] * (msg + (cp * (face / 10.0) ** el if face > 0 else 0.0)), 6)
            for s, (msg, cp, el) in table.items()
        }
    return out


@dataclass
class _Orders:
    """Order rows of the simulation (``t`` in days since the history start)."""

    cust: np.ndarray
    t: np.ndarray
    list_price: np.ndarray
    paid: np.ndarray         # paid at all (promptly, or late: see ``prompt``, ``u_late``)
    pay_min: np.ndarray      # minutes from creation to payment (when paid)
    refund_frac: np.ndarray  # refunded share of the amount *if* the order is paid
    ship_h: np.ndarray
    u_use: np.ndarray
    u_push: np.ndarray
    push_add: np.ndarray
    prompt: np.ndarray       # paid without a late payment (within minutes, as a rule)
    u_late: np.ndarray       # shared uniform: late payment iff u_late < P_LATE(_REMINDED)
    late_min: np.ndarray     # minutes from creation to a late payment

    def take(self, idx: np.ndarray) -> _Orders:
        return _Orders(**{k: v[idx] for k, v in self.__dict__.items()})

    @staticmethod
    def concat(parts: list[_Orders]) -> _Orders:
        return _Orders(**{k: np.concatenate([getattr(p, k) for p in parts])
                          for k in _Orders.__dataclass_fields__})

    def __len__(self) -> int:
        return len(self.cust)


def _order_draws(rng: np.random.Generator, cust: np.ndarray, t: np.ndarray, mu: np.ndarray,
                 first: np.ndarray | None, sale_factor: np.ndarray) -> _Orders:
    n = len(cust)
    list_price = np.maximum(_cents(np.exp(mu[cust] + SPEND_SD * rng.standard_normal(n))), 9.9)
    paid = rng.random(n) >= P_UNPAID
    # prompt payment: 0.2 + Exponential(6) minutes folded below 29.7 (X mod c of an exponential
    # is the exponential truncated to [0, c)), so "unpaid at the 30-minute reminder" is exactly
    # "not a prompt payer" and every later payment is a late one (P_LATE, P_LATE_REMINDED)
    pay_min = 0.2 + np.mod(rng.exponential(6.0, n), 29.5)
    refunded = rng.random(n) < P_REFUND
    full = rng.random(n) < P_REFUND_FULL
    frac = np.where(full, 1.0, 0.15 + 0.55 * rng.random(n))
    # refund if paid (a late payment too); the acquisition order drawn unpaid is paid promptly
    # without a refund draw (as in generator version 1)
    refund_frac = np.where(refunded & (paid if first is None else paid | ~first), frac, 0.0)
    if first is not None:  # the acquisition order is paid and never fully refunded
        paid |= first
        refund_frac = np.where(first & (refund_frac >= 1.0), 0.5, refund_frac)
    busy = sale_factor[np.minimum(t.astype("int64"), len(sale_factor) - 1)] >= 2.0
    ship_h = np.exp(np.log(20.0) + 0.6 * rng.standard_normal(n)) * np.where(busy, 1.8, 1.0)
    u_use, u_push, push_add = rng.random(n), rng.random(n), rng.random(n)
    # drawn last, so that every earlier draw is that of generator version 1
    u_late = rng.random(n)
    late_min = REMIND_AFTER_MIN + 1.0 - LATE_SCALE_MIN * np.log1p(-rng.random(n) * -np.expm1(
        -(LATE_MAX_MIN - REMIND_AFTER_MIN - 1.0) / LATE_SCALE_MIN))
    o = _Orders(cust=cust, t=t, list_price=list_price, paid=paid, pay_min=pay_min,
                refund_frac=refund_frac, ship_h=ship_h, u_use=u_use, u_push=u_push,
                push_add=push_add, prompt=paid.copy(), u_late=u_late, late_min=late_min)
    _settle(o, np.zeros(n, dtype=bool))
    return o


def _unpaid_at_reminder(o: _Orders) -> np.ndarray:
    """Orders still unpaid when the reminder would go out (30 minutes after creation, to the
    second, as written to the tables): the slow prompt payers too."""
    return ~o.prompt | (np.round(o.pay_min * 60) > REMIND_AFTER_MIN * 60)


def _settle(o: _Orders, reminded: np.ndarray) -> None:
    """Late payments, in place: an order unpaid at the reminder time is paid ``late_min``
    minutes after creation iff ``u_late < P_LATE_REMINDED`` (reminded) or ``< P_LATE`` (not);
    the shared uniform makes every order paid without a reminder paid with one as well."""
    late = ~o.prompt & (o.u_late < np.where(reminded, P_LATE_REMINDED, P_LATE))
    o.paid = o.prompt | late
    o.pay_min = np.where(late, o.late_min, o.pay_min)


def _apply_coupon(o: _Orders, face: float, threshold: float, sale_lo: float, sale_hi: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Redeem one coupon per customer on its first eligible order (rows sorted by cust, t).

    Returns ``(list_price, discount, redeemed)`` per row.
    """
    list_price = o.list_price.copy()
    discount = np.zeros(len(o))
    redeemed = np.zeros(len(o), dtype=bool)
    if face <= 0:
        return list_price, discount, redeemed
    p_push = min(0.6, 2.5 * face / threshold) if threshold > 0 else 0.0
    in_sale = (o.t >= sale_lo) & (o.t < sale_hi) & o.paid & (o.u_use < P_USE)
    reaches = list_price >= threshold
    pushable = (list_price >= PUSH_BAND * threshold) & (o.u_push < p_push)
    eligible = in_sale & (reaches | pushable)
    rows = np.flatnonzero(eligible)
    _, first = np.unique(o.cust[rows], return_index=True)
    red = rows[first]
    redeemed[red] = True
    pushed = red[list_price[red] < threshold]
    list_price[pushed] = _cents(threshold + 0.1 * threshold * o.push_add[pushed])
    discount[red] = face
    return list_price, discount, redeemed


# --- the generator ------------------------------------------------------------------------------
#: Shops up to this many customers are simulated in memory in one piece (the generator's
#: historical path, byte for byte); larger ones are streamed in chunks (see generate_shop).
IN_MEMORY_MAX_CUSTOMERS = 1_000_000
#: Customers per chunk of a streamed shop (10M customers in chunks of 500k: 4.4 GB peak,
#: bench/RESULTS.md).
DEFAULT_CHUNK_CUSTOMERS = 500_000
#: Chunk k draws everything per order from ``SeedSequence(seed, spawn_key=(CHUNK_STREAM_KEY
#: + k,))``, disjoint from the shop-level streams ``SeedSequence(seed).spawn(...)`` (keys 0..).
CHUNK_STREAM_KEY = 1_000_000
#: Random streams per simulation besides one per arm (components do not shift each other).
COMPONENT_STREAMS = 16


def _rngs(params: CampaignParams, seed: int, chunk: int | None = None
          ) -> list[np.random.Generator]:
    """One independent generator per component (and per arm): the shop-level streams
    ``SeedSequence(seed).spawn(n)``, or chunk ``k``'s ``SeedSequence(seed, spawn_key=
    (CHUNK_STREAM_KEY + k,)).spawn(n)``; ``n = COMPONENT_STREAMS + len(params.arms)``."""
    root = (np.random.SeedSequence(seed) if chunk is None
            else np.random.SeedSequence(seed, spawn_key=(CHUNK_STREAM_KEY + chunk,)))
    return [np.random.default_rng(s) for s in root.spawn(COMPONENT_STREAMS + len(params.arms))]


def chunk_size(n_customers: int, chunk_customers: int | None = None) -> int:
    """Customers per chunk: ``chunk_customers`` if given, else all of them up to
    :data:`IN_MEMORY_MAX_CUSTOMERS` and :data:`DEFAULT_CHUNK_CUSTOMERS` above; a chunk of at
    least ``n_customers`` means the in-memory path."""
    if chunk_customers is None:
        return n_customers if n_customers <= IN_MEMORY_MAX_CUSTOMERS else DEFAULT_CHUNK_CUSTOMERS
    if chunk_customers < 10:
        raise ValueError(f"chunk_customers must be at least 10, got {chunk_customers}")
    return int(chunk_customers)


def generate_shop(out_dir: str | Path, params: CampaignParams, *, n_customers: int = 50_000,
                  seed: int | None = None, history_start: dt.date = dt.date(2023, 11, 1),
                  data_end: dt.date | None = None, file_format: str = "parquet",
                  purchase_rate_scale: float = 1.0, lift: LiftSpec | None = None,
                  lift_scale: Mapping[str, float] | None = None,
                  chunk_customers: int | None = None) -> Path:
    """Generate the demo shop into ``out_dir`` (replaced atomically) and return it.

    Writes the canonical tables of :data:`crm_experiments.io.schema.TABLES` as
    ``<table>.parquet`` (or ``.csv``), ``truth.json`` and ``true_effects.parquet``.

    Knobs (the defaults give the demo shop; the effective values are in ``truth.json``):

    * ``purchase_rate_scale`` multiplies every customer's purchase rate ``lambda_i`` (orders
      after the first scale with it: 1M customers give about 3.3M orders at 1, 10M at 3.9);
    * ``lift`` replaces the response parameters of lifecycle states, ``{state: (msg, coupon,
      elasticity)}`` or ``{state: {"coupon": 0.5}}`` (see :func:`lift_parameters`), e.g.
      ``{s: (0, 0, 0) for s in STATES}`` for a campaign without any effect on purchases;
    * ``lift_scale`` multiplies the lift of treated arms, ``{arm: factor}`` (default 1);
    * ``chunk_customers`` (:func:`chunk_size`; default: in memory up to 1M customers, chunks
      of 500k above). A shop larger than one chunk is streamed (:func:`_simulate_streamed`):
      memory is bounded by a chunk (plus the shop-level draws: a few arrays per customer),
      the customers, assignment, holdout and coupon numbering are those of the in-memory
      path, the orders and everything drawn from them come from per-chunk random streams
      (same model, other draws).
    """
    if file_format not in ("parquet", "csv"):
        raise ValueError(f"file_format must be 'parquet' or 'csv', got {file_format!r}")
    if n_customers < 10:
        raise ValueError("n_customers must be at least 10")
    if not (np.isfinite(purchase_rate_scale) and purchase_rate_scale > 0):
        raise ValueError(f"purchase_rate_scale must be > 0, got {purchase_rate_scale!r}")
    lift_parameters(lift)                 # validate before any work
    _lift_scales(params, lift_scale)
    chunk = chunk_size(n_customers, chunk_customers)
    seed = params.seed if seed is None else int(seed)
    if data_end is None:
        data_end = params.sale.end + dt.timedelta(days=max(params.horizons) + 20)
    if not history_start < params.sale.start - dt.timedelta(days=ASSIGN_DAYS_BEFORE) \
            or data_end <= params.sale.end:
        raise ValueError("need history_start < assignment date and data_end after the sale end")
    out_dir = Path(out_dir)
    knobs = dict(n_customers=n_customers, seed=seed, history_start=history_start,
                 data_end=data_end, purchase_rate_scale=purchase_rate_scale, lift=lift,
                 lift_scale=lift_scale)
    if chunk >= n_customers:
        tables, truth, true_effects = simulate(params, **knobs)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        if chunk >= n_customers:
            for name, table in tables.items():
                _write(table, tmp / f"{name}.{'csv' if file_format == 'csv' else 'parquet'}",
                       file_format)
            pq.write_table(true_effects, tmp / "true_effects.parquet")
        else:
            truth = _simulate_streamed(tmp, params, chunk_customers=chunk,
                                       file_format=file_format, **knobs)
        (tmp / "truth.json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
        old = None
        if out_dir.exists():
            old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}-{tmp.name[-8:]}"
            out_dir.rename(old)
        tmp.rename(out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


CSV_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


def _write(table: pa.Table, path: Path, file_format: str) -> None:
    if file_format == "parquet":
        pq.write_table(table, path)
    else:
        frame = table.to_pandas()
        frame.to_csv(path, index=False, date_format=CSV_DATE_FORMAT)


class _TableSink:
    """Appends the chunks of each table to its file: Parquet row groups through one
    :class:`pyarrow.parquet.ParquetWriter` per table (the first chunk's schema; later chunks
    are cast to it), or CSV with the header once."""

    def __init__(self, folder: Path, file_format: str) -> None:
        self.folder, self.file_format = folder, file_format
        self.writers: dict[str, pq.ParquetWriter | None] = {}

    def write(self, name: str, table: pa.Table, file_format: str | None = None) -> None:
        fmt = file_format or self.file_format
        path = self.folder / f"{name}.{'csv' if fmt == 'csv' else 'parquet'}"
        first = name not in self.writers
        if fmt == "csv":
            self.writers[name] = None
            table.to_pandas().to_csv(path, mode="w" if first else "a", header=first,
                                     index=False, date_format=CSV_DATE_FORMAT)
            return
        if first:
            self.writers[name] = pq.ParquetWriter(path, table.schema)
        writer = self.writers[name]
        assert writer is not None
        if table.num_rows:
            writer.write_table(table.cast(writer.schema))

    def close(self) -> None:
        for writer in self.writers.values():
            if writer is not None:
                writer.close()


def _simulate_streamed(out: Path, params: CampaignParams, *, n_customers: int, seed: int,
                       history_start: dt.date, data_end: dt.date, purchase_rate_scale: float,
                       lift: LiftSpec | None, lift_scale: Mapping[str, float] | None,
                       chunk_customers: int, file_format: str) -> dict:
    """The shop in chunks of ``chunk_customers`` consecutive customers, each table appended
    to its file in ``out``; returns ``truth``.

    Shop-level (exact, as in memory): the customers and their latent parameters, the
    assignment (one permutation of every eligible customer; eligibility is known from the
    first order), the holdout members and the coupon numbers (:func:`_plan`). Per chunk
    ``k`` (streams :data:`CHUNK_STREAM_KEY` + k): orders, treatment, contacts, reviews,
    surveys, interactions. truth.json's means are shop sums / shop counts over the chunks.
    Rows are in chunk order (within a chunk, as in memory). Order ids are numbered across
    the chunks, zero-padded to the width of 10 x the expected number of orders (the
    in-memory path: of the actual number), so one width for the whole file.
    """
    shop_rng = _rngs(params, seed)
    plan = _plan(params, n_customers, seed, history_start, data_end, purchase_rate_scale,
                 lift, lift_scale, shop_rng[0], shop_rng[3])
    order_width = _width(int(10 * plan.expected_orders()), 8)
    sink = _TableSink(out, file_format)
    sums: dict = {}
    rows: dict[str, int] = {}
    order_offset = 0
    n_chunks = 0
    try:
        for k, lo in enumerate(range(0, n_customers, chunk_customers)):
            hi = min(n_customers, lo + chunk_customers)
            tables, part, effects = _simulate_chunk(plan, lo, hi, _rngs(params, seed, k),
                                                    order_offset, order_width)
            order_offset += tables["orders"].num_rows
            for name, table in tables.items():
                sink.write(name, table)
                rows[name] = rows.get(name, 0) + table.num_rows
            sink.write("true_effects", effects, "parquet")
            _add_sums(sums, part)
            n_chunks += 1
            del tables, effects, part
    finally:
        sink.close()
    truth = _finish_truth(plan, sums, rows)
    truth["data"]["chunks"] = {
        "customers_per_chunk": int(chunk_customers), "n_chunks": n_chunks,
        "streams": f"orders and all later draws of chunk k: SeedSequence(seed, spawn_key="
                   f"({CHUNK_STREAM_KEY} + k,)); customers, assignment, holdout, coupon "
                   "numbers: shop-level, as in memory",
        "order_id_width": order_width}
    return truth


def simulate(params: CampaignParams, *, n_customers: int, seed: int, history_start: dt.date,
             data_end: dt.date, purchase_rate_scale: float = 1.0, lift: LiftSpec | None = None,
             lift_scale: Mapping[str, float] | None = None
             ) -> tuple[dict[str, pa.Table], dict, pa.Table]:
    """The whole simulation in memory: ``(tables, truth, true_effects)``; the knobs as in
    :func:`generate_shop`."""
    rng = _rngs(params, seed)
    plan = _plan(params, n_customers, seed, history_start, data_end, purchase_rate_scale,
                 lift, lift_scale, rng[0], rng[3])
    tables, sums, effects_tbl = _simulate_chunk(plan, 0, n_customers, rng, 0, None)
    truth = _finish_truth(plan, sums, {k: v.num_rows for k, v in tables.items()})
    return tables, truth, effects_tbl


@dataclass
class _Plan:
    """Shop-level draws and decisions, shared by every chunk (arrays over all customers)."""

    params: CampaignParams
    seed: int
    n: int
    history_start: dt.date
    data_end: dt.date
    cal: ShopCalendar
    d: float                  # sale start (days since the history start)
    sale_hi: float            # day after the sale end
    assign_day: float
    acq: np.ndarray
    lam: np.ndarray           # purchase rate, scaled
    lam_demo: np.ndarray      # unscaled (engagement)
    death: np.ndarray
    mu: np.ndarray
    province: np.ndarray
    gender: np.ndarray        # index into GENDERS
    birth_days: np.ndarray
    assigned: np.ndarray      # customers drawn into the experiment (sorted)
    sizes: np.ndarray         # drawn arm sizes
    arm_of_assigned: np.ndarray  # drawn arm per assigned customer
    arm_of: np.ndarray        # arm per customer (-1: none; holdout members: control)
    member: np.ndarray        # shop-wide holdout member
    holders: np.ndarray       # coupon holders (sorted); coupon number = position + 1
    lifts: dict
    bounds: list[float]
    purchase_rate_scale: float
    lift: LiftSpec | None
    lift_scale: Mapping[str, float] | None

    @property
    def n_days(self) -> int:
        return self.cal.n_days

    def expected_orders(self) -> float:
        """Expected number of base orders: ``n + sum_i lambda_i / 365 x (C(end_i) -
        C(acq_i))`` (the treatment adds a few per cent)."""
        end = np.minimum(self.death, float(self.n_days))
        c = self.cal.cumulative(end) - self.cal.cumulative(self.acq)
        return float(self.n + np.sum(self.lam / 365.0 * np.maximum(c, 0.0)))


GENDERS = np.array(["F", "M", "unknown"])
HOLDOUT_BATCH = 1_000_000  # customer ids hashed at a time for the holdout membership


def _plan(params: CampaignParams, n: int, seed: int, history_start: dt.date, data_end: dt.date,
          purchase_rate_scale: float, lift: LiftSpec | None,
          lift_scale: Mapping[str, float] | None, r0: np.random.Generator,
          r3: np.random.Generator) -> _Plan:
    """Customers (stream 0) and the assignment (stream 3) of the whole shop. A customer is
    eligible iff acquired before the assignment date: the first order is always paid."""
    n_days = (data_end - history_start).days
    cal = ShopCalendar(history_start, n_days, sale=(params.sale.start, params.sale.end))
    T = float(n_days)
    d = float(cal.day_of(params.sale.start))
    sale_hi = float(cal.day_of(params.sale.end) + 1)
    assign_day = d - ASSIGN_DAYS_BEFORE

    # --- customers -------------------------------------------------------------------------
    r = r0
    trend = np.linspace(0.8, 1.2, n_days)
    acq_weight = cal.index ** 1.5 * trend
    acq_cum = np.concatenate([[0.0], np.cumsum(acq_weight)])
    acq = np.sort(np.interp(r.random(n) * acq_cum[-1], acq_cum, np.arange(n_days + 1.0)))
    acq = np.minimum(acq, np.nextafter(T, 0))
    sale_acq = cal.sale_factor[acq.astype("int64")] >= 2.0
    lam = r.gamma(LAMBDA_SHAPE, LAMBDA_MEAN / LAMBDA_SHAPE, n) * np.where(sale_acq,
                                                                           SALE_ACQ_LAMBDA, 1.0)
    lam_demo = lam  # engagement (interactions) follows the unscaled rate
    lam = lam * purchase_rate_scale
    dropout = r.gamma(DROPOUT_SHAPE, DROPOUT_MEAN / DROPOUT_SHAPE, n) * np.where(
        sale_acq, SALE_ACQ_DROPOUT, 1.0)
    death = acq + 365.0 * r.exponential(1.0, n) / dropout
    del dropout, sale_acq
    mu = SPEND_MU + SPEND_MU_SD * r.standard_normal(n)
    province = _categorical(r, np.array(list(PROVINCES.values())), n).astype("int8")
    gender = _categorical(r, np.array([0.72, 0.24, 0.04]), n).astype("int8")
    age_years = np.clip(18 + r.gamma(3.0, 4.5, n), 18, 60)
    birth_days = np.floor(cal.day_of(params.sale.start) - age_years * 365.25).astype("int64")
    del age_years

    # --- assignment: exact complete randomisation of every eligible customer -----------------
    assigned = np.flatnonzero(acq < assign_day)
    n_assigned = len(assigned)
    arm_names = list(params.arm_names)
    shares = np.array([a.planned_share for a in params.arms])
    exact = shares * n_assigned
    sizes = np.floor(exact).astype("int64")
    remainder_order = np.argsort(-(exact - sizes), kind="stable")
    sizes[remainder_order[: n_assigned - sizes.sum()]] += 1
    perm = r3.permutation(n_assigned)
    arm_of_assigned = np.empty(n_assigned, dtype="int64")
    arm_of_assigned[perm] = np.repeat(np.arange(len(arm_names)), sizes)
    del perm
    arm_of = np.full(n, -1, dtype="int64")
    arm_of[assigned] = arm_of_assigned
    control_idx = arm_names.index(params.control_arm)
    # the shop-wide holdout (when the assignment date is in its period): members drawn into
    # the experiment keep their potential outcomes (every random draw stays as it was, and so
    # does the campaign's truth over all drawn customers) but live the control process and
    # are never written to assignments, coupons or contacts
    member = np.zeros(n, dtype=bool)
    assign_date = history_start + dt.timedelta(days=int(assign_day))
    if params.shop_holdout is not None and (
            params.shop_holdout.start <= assign_date <= params.shop_holdout.end):
        cw = _width(n, 7)
        for lo in range(0, n, HOLDOUT_BATCH):
            hi = min(n, lo + HOLDOUT_BATCH)
            member[lo:hi] = holdout_members(
                params.shop_holdout, _ids("C", np.arange(lo + 1, hi + 1), cw).to_pylist())
        on = member[assigned]
        arm_of[assigned[on]] = control_idx
    coupon_arms = [j for j, nm in enumerate(arm_names)
                   if nm != params.control_arm and params.arm(nm).coupon_face_value > 0]
    holders = assigned[np.isin(arm_of[assigned], coupon_arms)]

    P = params.lifecycle_period_months
    d_ts = pd.Timestamp(params.sale.start)
    bounds = [float((d_ts - pd.DateOffset(months=P * k) - pd.Timestamp(history_start)).days)
              for k in (1, 2, 4)]
    return _Plan(params=params, seed=seed, n=n, history_start=history_start, data_end=data_end,
                 cal=cal, d=d, sale_hi=sale_hi, assign_day=assign_day, acq=acq, lam=lam,
                 lam_demo=lam_demo, death=death, mu=mu, province=province, gender=gender,
                 birth_days=birth_days, assigned=assigned, sizes=sizes,
                 arm_of_assigned=arm_of_assigned, arm_of=arm_of, member=member,
                 holders=holders, lifts=lift_table(params, lift, lift_scale), bounds=bounds,
                 purchase_rate_scale=purchase_rate_scale, lift=lift, lift_scale=lift_scale)


def _simulate_chunk(plan: _Plan, lo: int, hi: int, rng: list[np.random.Generator],
                    order_offset: int, order_width: int | None
                    ) -> tuple[dict[str, pa.Table], dict, pa.Table]:
    """Customers ``lo..hi-1`` of the plan: ``(tables, truth sums, true_effects)``. Order ids
    start after ``order_offset``, zero-padded to ``order_width`` (None: the chunk's own
    count); ``rng`` are the streams (0 and 3 were the plan's)."""
    params, cal = plan.params, plan.cal
    history_start, n_days = plan.history_start, plan.n_days
    T = float(n_days)
    d, sale_hi, assign_day = plan.d, plan.sale_hi, plan.assign_day
    origin = np.datetime64(history_start, "s")
    n = hi - lo
    acq, lam, lam_demo = plan.acq[lo:hi], plan.lam[lo:hi], plan.lam_demo[lo:hi]
    death, mu, province = plan.death[lo:hi], plan.mu[lo:hi], plan.province[lo:hi]
    prov_names = np.array(list(PROVINCES))

    # --- base (control) purchase process ---------------------------------------------------
    r = rng[1]
    end = np.minimum(death, T)
    c_acq, c_end = cal.cumulative(acq), cal.cumulative(end)
    counts = r.poisson(lam / 365.0 * np.maximum(c_end - c_acq, 0.0))
    rep = np.repeat(np.arange(n), counts)
    t_rep = cal.inverse(c_acq[rep] + r.random(len(rep)) * (c_end - c_acq)[rep])
    t_rep = np.clip(t_rep, acq[rep], np.nextafter(T, 0))
    cust = np.concatenate([np.arange(n), rep])
    t = np.concatenate([acq, t_rep])
    first = np.zeros(len(cust), dtype=bool)
    first[:n] = True
    order = np.lexsort((t, cust))
    cust, t, first = cust[order], t[order], first[order]
    base = _order_draws(rng[2], cust, t, mu, first, cal.sale_factor)
    del rep, t_rep, order

    # --- assignment (drawn for the whole shop by the plan) -----------------------------------
    a0, a1 = np.searchsorted(plan.assigned, [lo, hi])
    assigned = plan.assigned[a0:a1] - lo
    n_assigned = len(assigned)
    assigned_mask = np.zeros(n, dtype=bool)
    assigned_mask[assigned] = True
    pre_assign = np.zeros(n, dtype=bool)
    pre_assign[base.cust[base.paid & (base.t < assign_day)]] = True
    assert np.array_equal(pre_assign, assigned_mask), "eligible = acquired before assignment"
    del pre_assign
    arm_names = list(params.arm_names)
    arm_of_assigned = plan.arm_of_assigned[a0:a1]
    arm_of = plan.arm_of[lo:hi]
    control_idx = arm_names.index(params.control_arm)
    slot = np.full(n, -1, dtype="int64")  # customer -> position among assigned
    slot[assigned] = np.arange(n_assigned)
    member = plan.member[lo:hi]
    written = ~member[assigned]  # the drawn customers the assignments table lists

    # --- lifecycle state at the sale start, tier at the assignment date -----------------------
    bounds = plan.bounds
    purchase = base.paid & (base.refund_frac < 1.0)
    state_of = _lifecycle_states(base.cust, base.t, purchase, n, d, bounds)
    spend_rows = base.paid & (base.t < assign_day)
    spend = np.bincount(base.cust[spend_rows], weights=(base.list_price * (1 - base.refund_frac))
                        [spend_rows], minlength=n)
    tier_of = np.searchsorted(np.array(TIER_BOUNDS), spend, side="right")
    holdout_pop = holdout_pre = None
    if params.shop_holdout is not None:  # before the treatment settles sale orders in place
        s0 = float(cal.day_of(params.shop_holdout.start))
        holdout_pop = np.zeros(n, dtype=bool)
        holdout_pop[base.cust[purchase & (base.t < s0)]] = True
        rows = purchase & (base.t >= s0) & (base.t < d)
        holdout_pre = np.bincount(base.cust[rows], minlength=n).astype("float64")

    # --- treatment: extra processes per treated arm, coupons, outcomes per arm -----------------
    lifts = plan.lifts
    carry_hi = min(sale_hi + CARRY_OVER_DAYS, T)
    g = np.zeros(n_days)
    g[int(d):int(sale_hi)] = 1.0
    g[int(sale_hi):int(carry_hi)] = CARRY_OVER
    a_lam, a_death = lam[assigned], death[assigned]
    a_state = state_of[assigned]
    w_lo = np.full(n_assigned, d)
    alive_hi = np.clip(a_death, d, carry_hi)
    c_lo = cal.cumulative(w_lo, g)
    c_alive = cal.cumulative(alive_hi, g)
    c_hi = cal.cumulative(np.full(n_assigned, carry_hi), g)
    window_rows = np.flatnonzero(assigned_mask[base.cust] & (base.t >= d))
    base_win = base.take(window_rows)
    horizons = list(params.horizons)
    win_end = [float(cal.day_of(params.sale.end) + 1 + h) for h in horizons]
    m = params.costs.gross_margin
    sms_cost = float(params.costs.message_cost.get("sms", 0.0))
    ww_cost = float(params.costs.message_cost.get("wangwang", 0.0))

    def outcomes(o: _Orders, list_price: np.ndarray, discount: np.ndarray, treated: bool
                 ) -> dict[str, np.ndarray]:
        """Per horizon: arrays over assigned customers of every metric."""
        amount = _cents(list_price - discount)
        refund = _cents(amount * o.refund_frac)
        is_p = o.paid & (refund < amount)
        k = np.where(amount > 0, (amount - refund) / np.where(amount > 0, amount, 1.0), 1.0)
        gp = k * (amount - (1 - m) * list_price)
        pos = slot[o.cust]
        msg = np.zeros(n_assigned)
        if treated:
            reminders = _unpaid_at_reminder(o) & (o.t >= d) & (o.t < sale_hi)
            msg = 4 * sms_cost + ww_cost * np.bincount(pos[reminders], minlength=n_assigned)
        res = {}
        for h, we in zip(horizons, win_end, strict=True):
            sel = is_p & (o.t < we)
            cnt = np.bincount(pos[sel], minlength=n_assigned).astype("float64")
            rev = np.bincount(pos[sel], weights=(amount - refund)[sel], minlength=n_assigned)
            gph = np.bincount(pos[sel], weights=gp[sel], minlength=n_assigned)
            res[h] = {"converted": (cnt > 0).astype("float64"), "orders": cnt, "revenue": rev,
                      "gross_profit": gph, "net_profit": gph - msg}
        return res

    potential = {params.control_arm: outcomes(base_win, base_win.list_price,
                                              np.zeros(len(base_win)), False)}
    realised_extra: list[_Orders] = []
    realised_extra_disc: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    base_list = base.list_price.copy()
    base_disc = np.zeros(len(base))
    base_coupon = np.zeros(len(base), dtype=bool)
    expected: dict[str, dict[int, np.ndarray]] = {}
    for j, name in enumerate(arm_names):
        if name == params.control_arm:
            continue
        r = rng[16 + j]
        arm = params.arm(name)
        arm_lift = np.array([lifts[name][s] for s in STATES])[a_state]
        mean_alive = a_lam / 365.0 * arm_lift * (c_alive - c_lo)
        mean_dead = a_lam / 365.0 * arm_lift * WAKE_UP * (c_hi - c_alive)
        n_alive, n_dead = r.poisson(mean_alive), r.poisson(mean_dead)
        rows_a = np.repeat(np.arange(n_assigned), n_alive)
        rows_d = np.repeat(np.arange(n_assigned), n_dead)
        t_a = cal.inverse(c_lo[rows_a] + r.random(len(rows_a)) * (c_alive - c_lo)[rows_a], g)
        t_d = cal.inverse(c_alive[rows_d] + r.random(len(rows_d)) * (c_hi - c_alive)[rows_d], g)
        ex_cust = assigned[np.concatenate([rows_a, rows_d])]
        ex_t = np.clip(np.concatenate([t_a, t_d]), d, np.nextafter(carry_hi, 0))
        extra = _order_draws(r, ex_cust, ex_t, mu, None, cal.sale_factor)
        frame = _Orders.concat([base_win, extra])
        is_base = np.concatenate([np.ones(len(base_win), bool), np.zeros(len(extra), bool)])
        src = np.concatenate([window_rows, np.arange(len(extra))])
        srt = np.lexsort((frame.t, frame.cust))
        frame, is_base, src = frame.take(srt), is_base[srt], src[srt]
        # the arm's payment reminders: unpaid sale orders, 30 minutes after creation
        _settle(frame, _unpaid_at_reminder(frame) & (frame.t >= d) & (frame.t < sale_hi))
        lp, disc, red = _apply_coupon(frame, arm.coupon_face_value, arm.coupon_threshold,
                                      d, sale_hi)
        potential[name] = outcomes(frame, lp, disc, True)
        mine = arm_of[frame.cust] == j
        b = mine & is_base
        base_list[src[b]], base_disc[src[b]], base_coupon[src[b]] = lp[b], disc[b], red[b]
        base.paid[src[b]], base.pay_min[src[b]] = frame.paid[b], frame.pay_min[b]
        e = mine & ~is_base
        realised_extra.append(frame.take(np.flatnonzero(e)))
        realised_extra_disc.append((lp[e], disc[e], red[e]))
        expected[name] = _expected_net_effect(
            cal, g, params, arm.coupon_face_value, arm.coupon_threshold, a_lam, a_death,
            mu[assigned], arm_lift, d, sale_hi, win_end, horizons, sms_cost)

    # --- realised orders table ---------------------------------------------------------------
    all_orders = _Orders.concat([base, *realised_extra])
    lp_all = np.concatenate([base_list, *[x[0] for x in realised_extra_disc]])
    disc_all = np.concatenate([base_disc, *[x[1] for x in realised_extra_disc]])
    red_all = np.concatenate([base_coupon, *[x[2] for x in realised_extra_disc]])
    del base, base_list, base_disc, base_coupon, realised_extra
    created = origin + cal.clock_seconds(all_orders.t).astype("timedelta64[s]")
    chron = np.lexsort((all_orders.cust, created))
    all_orders = all_orders.take(chron)
    created, lp_all, disc_all, red_all = (created[chron], lp_all[chron], disc_all[chron],
                                          red_all[chron])
    n_orders = len(all_orders)
    amount = _cents(lp_all - disc_all)
    refund = _cents(np.where(all_orders.paid, amount * all_orders.refund_frac, 0.0))
    paid_at = created + np.round(all_orders.pay_min * 60).astype("timedelta64[s]")
    shipped_at = paid_at + np.round(all_orders.ship_h * 3600).astype("timedelta64[s]")
    end_ts = origin + np.timedelta64(n_days * 86400, "s")
    full_refund_early = (all_orders.refund_frac >= 1.0) & (rng[12].random(n_orders) < 0.5)
    ship_null = ~all_orders.paid | (shipped_at >= end_ts) | full_refund_early
    order_no = order_offset + np.arange(1, n_orders + 1)
    ow = _width(n_orders, 8) if order_width is None else order_width
    if n_orders and order_no[-1] >= 10 ** ow:
        raise RuntimeError(f"order number {order_no[-1]} does not fit the {ow}-digit order ids")
    cust_ids = _ids("C", np.arange(lo + 1, hi + 1), _width(plan.n, 7))
    order_ids = _ids("O", order_no, ow)

    # coupons: one per treated customer of an arm with a face value
    coupon_arms = [j for j, nm in enumerate(arm_names)
                   if nm != params.control_arm and params.arm(nm).coupon_face_value > 0]
    holders = assigned[np.isin(arm_of[assigned], coupon_arms)]
    coupon_no = np.full(n, -1, dtype="int64")
    coupon_no[holders] = np.arange(1, len(holders) + 1)
    h0 = int(np.searchsorted(plan.holders, lo))  # coupon ids numbered across the shop
    coupon_ids = _ids("Q", np.arange(h0 + 1, h0 + len(holders) + 1),
                      _width(len(plan.holders), 7))
    order_coupon = np.where(red_all, coupon_no[all_orders.cust], -1)
    redeemed_order = np.full(n, -1, dtype="int64")
    redeemed_order[all_orders.cust[red_all]] = np.flatnonzero(red_all)
    ts_type = pa.timestamp("us")

    def tsa(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
        return pa.array(values.astype("datetime64[us]"), type=ts_type, mask=mask)

    orders_tbl = pa.table({
        "order_id": order_ids,
        "customer_id": cust_ids.take(pa.array(all_orders.cust)),
        "created_at": tsa(created),
        "paid_at": tsa(paid_at, ~all_orders.paid),
        "amount": pa.array(amount),
        "discount": pa.array(disc_all),
        "coupon_id": _masked_take(coupon_ids, order_coupon - 1),
        "refund_amount": pa.array(refund),
        "shipped_at": tsa(shipped_at, ship_null),
        "province": pa.array(prov_names[province[all_orders.cust]]),
    })

    # --- customers table ---------------------------------------------------------------------
    acq_secs = cal.clock_seconds(acq)
    tier_names = np.array(TIERS)
    customers_tbl = pa.table({
        "customer_id": cust_ids,
        "first_order_at": tsa(origin + acq_secs.astype("timedelta64[s]")),
        "tier": pa.array(tier_names[tier_of]),
        "birthday": tsa((np.datetime64(history_start, "D") + plan.birth_days[lo:hi]).astype(
            "datetime64[s]")),
        "gender": pa.array(GENDERS[plan.gender[lo:hi]]),
        "province": pa.array(prov_names[province]),
    })

    # --- assignments, coupons, contacts ------------------------------------------------------
    def at_day(day: float, seconds: np.ndarray | int) -> np.ndarray:
        return origin + (np.int64(day) * 86400 + np.asarray(seconds, dtype="int64")).astype(
            "timedelta64[s]")

    arm_arr = np.array(arm_names)
    n_written = int(written.sum())
    assignments_tbl = pa.table({
        "customer_id": cust_ids.take(pa.array(assigned[written])),
        "campaign_id": pa.array(np.full(n_written, params.campaign_id)),
        "arm": pa.array(arm_arr[arm_of_assigned[written]]),
        "assigned_at": tsa(at_day(assign_day, np.zeros(n_written, dtype="int64"))),
    })
    coupon_face = np.array([params.arm(a).coupon_face_value for a in arm_names])
    coupon_thr = np.array([params.arm(a).coupon_threshold for a in arm_names])
    coupons_tbl = pa.table({
        "coupon_id": coupon_ids,
        "customer_id": cust_ids.take(pa.array(holders)),
        "campaign_id": pa.array(np.full(len(holders), params.campaign_id)),
        "arm": pa.array(arm_arr[arm_of[holders]]),
        "face_value": pa.array(coupon_face[arm_of[holders]].astype("float64")),
        "threshold": pa.array(coupon_thr[arm_of[holders]].astype("float64")),
        "issued_at": tsa(at_day(d - 10, np.full(len(holders), 10 * 3600))),
        "redeemed_order_id": _masked_take(order_ids, redeemed_order[holders]),
    })
    r = rng[13]
    treated = assigned[arm_of[assigned] != control_idx]
    sms_days = [d - 10, d - 3, d - 1, d]
    sms_cust = np.tile(treated, len(sms_days))
    sms_secs = (np.repeat(np.array(sms_days, dtype="int64"), len(treated)) * 86400
                + 10 * 3600 + r.integers(0, 3 * 3600, len(sms_cust)))
    remind = _unpaid_at_reminder(all_orders) & (all_orders.t >= d) & (all_orders.t < sale_hi) & (
        arm_of[all_orders.cust] >= 0) & (arm_of[all_orders.cust] != control_idx)
    rem_rows = np.flatnonzero(remind)
    c_cust = np.concatenate([sms_cust, all_orders.cust[rem_rows]])
    c_time = np.concatenate([origin + sms_secs.astype("timedelta64[s]"),
                             created[rem_rows] + np.timedelta64(int(REMIND_AFTER_MIN * 60), "s")])
    c_chan = np.concatenate([np.full(len(sms_cust), "sms"), np.full(len(rem_rows), "wangwang")])
    c_cost = np.concatenate([np.full(len(sms_cust), sms_cost), np.full(len(rem_rows), ww_cost)])
    c_ord = np.lexsort((c_cust, c_time))
    contacts_tbl = pa.table({
        "customer_id": cust_ids.take(pa.array(c_cust[c_ord])),
        "campaign_id": pa.array(np.full(len(c_ord), params.campaign_id)),
        "channel": pa.array(c_chan[c_ord]),
        "sent_at": tsa(c_time[c_ord]),
        "cost": pa.array(c_cost[c_ord]),
    })

    # --- reviews, surveys, interactions ------------------------------------------------------
    reviews_tbl, surveys_tbl = _feedback(rng[14], all_orders, order_ids, cust_ids, shipped_at,
                                         ship_null, refund, amount, end_ts)
    interactions_tbl = _interactions(rng[15], cal, cust_ids, acq, death, lam_demo, mu, T,
                                     origin)

    tables = {
        "orders": orders_tbl, "customers": customers_tbl, "assignments": assignments_tbl,
        "contacts": contacts_tbl, "coupons": coupons_tbl, "reviews": reviews_tbl,
        "surveys": surveys_tbl, "interactions": interactions_tbl,
    }
    for name, table in tables.items():
        expected_cols = [c.name for c in TABLES[name].columns]
        assert table.column_names == expected_cols, (name, table.column_names)

    # --- truth (additive pieces) ---------------------------------------------------------------
    sums, effects_tbl = _truth_sums(params, potential, expected, a_state, tier_of[assigned],
                                    cust_ids.take(pa.array(assigned)),
                                    arm_arr[arm_of_assigned], state_of)
    if params.shop_holdout is not None and _holdout_horizon(plan) is not None:
        _add_sums(sums, _holdout_sums(params, _holdout_horizon(plan), potential,
                                      arm_of_assigned, slot, member, holdout_pop, holdout_pre))
    return tables, sums, effects_tbl


def _add_sums(total: dict, part: dict) -> None:
    """``total += part`` key by key (sums and counts of the truth, see :func:`_truth_sums`)."""
    for key, value in part.items():
        total[key] = value if key not in total else total[key] + value


def _mean(sums: dict, key: tuple) -> float | None:
    """Shop mean ``sum / count`` of a ``(..., "sum")`` / ``(..., "n")`` pair; None if empty."""
    count = sums.get((*key, "n"), 0)
    return float(sums[(*key, "sum")]) / count if count else None


def _finish_truth(plan: _Plan, sums: dict, rows: dict[str, int]) -> dict:
    """truth.json from the shop's sums (one chunk or many) and the plan."""
    params = plan.params
    horizons = list(params.horizons)
    effects: dict = {}
    control_means: dict = {}
    for h in horizons:
        key = str(h)
        control_means[key] = {k: _mean(sums, ("ctl", key, "overall", "", k)) for k in METRICS}
        effects[key] = {}
        for arm in params.treatment_arms:
            effects[key][arm] = {
                "overall": {k: _mean(sums, ("eff", key, arm, "overall", "", k))
                            for k in METRICS},
                "by_lifecycle_state": {
                    s: {k: _mean(sums, ("eff", key, arm, "by_lifecycle_state", s, k))
                        for k in METRICS} for s in STATES},
                "by_tier": {t: {k: _mean(sums, ("eff", key, arm, "by_tier", t, k))
                                for k in METRICS} for t in TIERS},
            }
    arm_names = list(params.arm_names)
    written = ~plan.member[plan.assigned]
    truth = {
        "campaign_id": params.campaign_id,
        "seed": plan.seed,
        "n_customers": plan.n,
        "n_assigned": len(plan.assigned),
        "generator_version": GENERATOR_VERSION,
        "definitions": DEFINITIONS,
        "lifecycle_state_at": str(params.sale.start),
        "effects": effects,
        "control_means": control_means,
        "group_sizes": {
            "by_lifecycle_state": {s: int(sums.get(("size_state", s), 0)) for s in STATES},
            "by_tier": {t: int(sums.get(("size_tier", t), 0)) for t in TIERS},
        },
        "lifecycle_mix": {s: int(sums.get(("mix", s), 0)) for s in STATES},
        "multipliers": {
            "lift": plan.lifts,
            "wake_up_factor": WAKE_UP,
            "carry_over": CARRY_OVER,
            "carry_over_days": CARRY_OVER_DAYS,
            "p_use": P_USE,
            "push_band": PUSH_BAND,
            "push_probability": "min(0.6, 2.5 * face_value / threshold)",
        },
    }
    truth["multipliers"]["lift_parameters"] = {
        s: dict(zip(LIFT_KEYS, v, strict=True)) for s, v in lift_parameters(plan.lift).items()}
    truth["multipliers"]["lift_scale"] = _lift_scales(params, plan.lift_scale)
    truth["multipliers"]["lift_formula"] = ("lift_scale[arm] * (msg[state] + coupon[state] * "
                                            "(face_value / 10) ** elasticity[state])")
    truth["multipliers"]["purchase_rate_scale"] = float(plan.purchase_rate_scale)
    truth["multipliers"]["payment"] = {
        "p_unpaid_at_reminder_time": P_UNPAID, "p_paid_late_without_reminder": P_LATE,
        "p_paid_late_with_reminder": P_LATE_REMINDED,
        "reminder_after_minutes": REMIND_AFTER_MIN,
        "late_payment_minutes": f"{REMIND_AFTER_MIN + 1:g} + truncated Exponential(scale "
                                f"{LATE_SCALE_MIN:g}) < {LATE_MAX_MIN:g}"}
    if params.shop_holdout is not None:
        truth["shop_holdout"] = _holdout_truth(plan, sums)
        truth["shop_holdout"]["members_drawn_but_not_assigned"] = int((~written).sum())
    history_start = plan.history_start
    truth["data"] = {"history_start": str(history_start), "data_end": str(plan.data_end),
                     "assigned_at": str(history_start + dt.timedelta(days=int(plan.assign_day))),
                     "arm_sizes": {a: int(s) for a, s in zip(arm_names, plan.sizes, strict=True)},
                     "arm_sizes_written": {a: int((plan.arm_of_assigned[written] == j).sum())
                                           for j, a in enumerate(arm_names)},
                     "randomisation": "exact complete randomisation (random permutation cut "
                                      "at the planned shares, largest remainders)",
                     "rows": dict(rows)}
    return truth


HOLDOUT_METRICS = ("revenue", "gross_profit", "net_profit", "orders", "repurchase")


def _holdout_horizon(plan: _Plan) -> int | None:
    """The horizon whose window ends the holdout period, or None when the truth cannot be
    computed: the period must start by the sale start (before it nothing differs) and end on
    a horizon's last day (the potential outcomes are those of the horizons' windows)."""
    h = plan.params.shop_holdout
    horizon = (h.end - plan.params.sale.end).days
    if horizon not in plan.params.horizons or float(plan.cal.day_of(h.start)) > plan.d:
        return None
    return horizon


def _holdout_truth(plan: _Plan, sums: dict) -> dict:
    """The true cumulative effect of the campaign on the shop-wide holdout's comparison: over
    the customers with a purchase before the period start who are not members (the exposed),
    the mean of ``Y(realised arm) - Y(no CRM)`` per customer, for the period ``[start, end
    + 1)``; 0 for a customer never assigned (sums of :func:`_holdout_sums`)."""
    h = plan.params.shop_holdout
    out = {"start": h.start.isoformat(), "end": h.end.isoformat(), "salt": h.salt,
           "share": h.share, "population": "customers with a purchase before the start",
           "definition": "mean over exposed customers (not members) of Y(assigned arm) - "
                         "Y(control); repurchase: 2+ purchases in the period",
           "effects": None}
    horizon = _holdout_horizon(plan)
    if horizon is None:
        out["why_no_effects"] = ("the period must start on or before the sale start and end "
                                 "on the last day of a horizon's window")
        return out
    effects = {m: _mean(sums, ("holdout", m)) for m in HOLDOUT_METRICS}
    out.update(effects=effects, horizon_days=horizon,
               n_exposed=int(sums.get(("holdout", "revenue", "n"), 0)),
               n_holdout=int(sums.get(("holdout_members",), 0)))
    return out


def _holdout_sums(params, horizon, potential, arm_of_assigned, slot, member, pop, pre
                  ) -> dict:
    """Per exposed customer ``Y(realised arm) - Y(control)`` summed (see
    :func:`_holdout_truth`), with the counts of exposed customers and of members."""
    exposed = np.flatnonzero(pop & ~member)
    pos = slot[exposed]
    on = pos >= 0  # assigned (never assigned: no effect)
    ctl = potential[params.control_arm][horizon]
    arm_names = list(params.arm_names)
    out: dict = {("holdout_members",): int((pop & member).sum())}
    for metric in ("revenue", "gross_profit", "net_profit", "orders"):
        diff = np.zeros(len(exposed))
        for j, name in enumerate(arm_names):
            if name == params.control_arm:
                continue
            sel = on.copy()
            sel[on] = arm_of_assigned[pos[on]] == j
            diff[sel] = potential[name][horizon][metric][pos[sel]] - ctl[metric][pos[sel]]
        out["holdout", metric, "sum"] = np.sum(diff)
        out["holdout", metric, "n"] = len(exposed)
    rep = np.zeros(len(exposed))
    for j, name in enumerate(arm_names):
        if name == params.control_arm:
            continue
        sel = on.copy()
        sel[on] = arm_of_assigned[pos[on]] == j
        base = pre[exposed[sel]]
        rep[sel] = ((base + potential[name][horizon]["orders"][pos[sel]] >= 2).astype(float)
                    - (base + ctl["orders"][pos[sel]] >= 2).astype(float))
    out["holdout", "repurchase", "sum"] = np.sum(rep)
    out["holdout", "repurchase", "n"] = len(exposed)
    return out


def _masked_take(ids: pa.Array, idx: np.ndarray) -> pa.Array:
    """``ids[idx]`` with nulls where ``idx < 0``."""
    idx = np.asarray(idx, dtype="int64")
    return ids.take(pa.array(np.where(idx < 0, 0, idx), mask=idx < 0))


def _lifecycle_states(cust: np.ndarray, t: np.ndarray, purchase: np.ndarray, n: int, d: float,
                      bounds: list[float]) -> np.ndarray:
    """State index (into :data:`STATES`) per customer at day ``d``; -1 without a purchase."""
    p1, p2, p4 = bounds
    sel = purchase & (t < d)
    c, tt = cust[sel], t[sel]
    first = np.full(n, np.inf)
    last = np.full(n, -np.inf)
    np.minimum.at(first, c, tt)
    np.maximum.at(last, c, tt)
    in_p = np.bincount(c[tt >= p1], minlength=n)
    state = np.full(n, -1, dtype="int64")
    has = np.isfinite(last)
    active = has & (last >= p1)
    new = first >= p1
    rep = in_p >= 2
    state[active & new & ~rep] = 0
    state[active & new & rep] = 1
    state[active & ~new & ~rep] = 2
    state[active & ~new & rep] = 3
    state[has & ~active & (last >= p2)] = 4
    state[has & (last < p2) & (last >= p4)] = 5
    state[has & (last < p4)] = 6
    return state


def _expected_net_effect(cal: ShopCalendar, g: np.ndarray, params: CampaignParams, face: float,
                         threshold: float, lam: np.ndarray, death: np.ndarray, mu: np.ndarray,
                         lift: np.ndarray, d: float, sale_hi: float, win_end: list[float],
                         horizons: list[int], sms_cost: float) -> dict[int, np.ndarray]:
    """Expected individual net-profit effect given the latent parameters (approximation:
    extra paid orders x expected kept margin - face value x P(redeem) - SMS cost, where the
    extra paid orders include the unpaid sale orders recovered by the payment reminders;
    ignores the basket push and Wangwang costs)."""
    m = params.costs.gross_margin
    mean_list = np.exp(mu + SPEND_SD ** 2 / 2)
    kept = 1 - P_REFUND * (1 - P_UNPAID) * (P_REFUND_FULL + (1 - P_REFUND_FULL) * 0.425)
    one = np.ones(cal.n_days)
    p_paid = 1 - P_UNPAID * (1 - P_LATE)
    p_paid_sale = 1 - P_UNPAID * (1 - P_LATE_REMINDED)   # treated, with payment reminders
    lo = np.full(len(lam), d)
    alive_hi_sale = np.clip(death, d, sale_hi)
    base_sale = lam / 365 * (cal.cumulative(alive_hi_sale, one) - cal.cumulative(lo, one))
    extra_sale = lift * (base_sale + WAKE_UP * lam / 365 * (
        cal.cumulative(np.full(len(lam), sale_hi), one) - cal.cumulative(alive_hi_sale, one)))
    if face > 0:
        p_reach = 1 - ndtr((np.log(max(threshold, 1e-9)) - mu) / SPEND_SD)
        p_band = p_reach_band = 0.0
        if threshold > 0:
            p_band = ndtr((np.log(threshold) - mu) / SPEND_SD) - ndtr(
                (np.log(PUSH_BAND * threshold) - mu) / SPEND_SD)
            p_reach_band = min(0.6, 2.5 * face / threshold) * p_band
        rate_elig = (base_sale + extra_sale) * p_paid_sale * P_USE * (p_reach + p_reach_band)
        coupon_cost = face * (1 - np.exp(-rate_elig))
    else:
        coupon_cost = np.zeros(len(lam))
    out = {}
    for h, we in zip(horizons, win_end, strict=True):
        hi = min(we, cal.n_days)
        c_lo = cal.cumulative(lo, g)
        a_hi = np.clip(death, d, hi)
        extra = lift * lam / 365 * ((cal.cumulative(a_hi, g) - c_lo) + WAKE_UP * (
            cal.cumulative(np.full(len(lam), hi), g) - cal.cumulative(a_hi, g)))
        paid_extra = extra * p_paid + (base_sale + extra_sale) * P_UNPAID * (
            P_LATE_REMINDED - P_LATE)
        out[h] = paid_extra * m * mean_list * kept - coupon_cost - 4 * sms_cost
    return out


def _truth_sums(params, potential, expected, a_state, a_tier, a_ids, a_arm, state_of
                ) -> tuple[dict, pa.Table]:
    """The additive pieces of truth.json over these customers: per horizon, arm (or the
    control's means), group and metric ``(..., "sum")`` and ``(..., "n")``, the group sizes
    and the lifecycle mix; and the rows of true_effects.parquet."""
    control = potential[params.control_arm]
    out: dict = {}
    cols: dict[str, object] = {"customer_id": a_ids, "arm": pa.array(a_arm),
                               "lifecycle_state": pa.array(np.array(STATES)[a_state]),
                               "tier": pa.array(np.array(TIERS)[a_tier])}

    def add(prefix: tuple, values: dict[str, np.ndarray], mask: np.ndarray | None) -> None:
        for k in METRICS:
            v = values[k] if mask is None else values[k][mask]
            out[(*prefix, k, "sum")] = np.sum(v)
            out[(*prefix, k, "n")] = len(v)

    groups = [("overall", "", None)]
    groups += [("by_lifecycle_state", s, a_state == i) for i, s in enumerate(STATES)]
    groups += [("by_tier", t, a_tier == i) for i, t in enumerate(TIERS)]
    for h in params.horizons:
        key = str(h)
        add(("ctl", key, "overall", ""), control[h], None)
        for arm in params.treatment_arms:
            diff = {k: potential[arm][h][k] - control[h][k] for k in METRICS}
            for kind, name, mask in groups:
                add(("eff", key, arm, kind, name), diff, mask)
            cols[f"net_profit_{arm}_{h}d"] = pa.array(diff["net_profit"])
            cols[f"converted_{arm}_{h}d"] = pa.array(diff["converted"])
            cols[f"expected_net_profit_{arm}_{h}d"] = pa.array(expected[arm][h])
    for i, s in enumerate(STATES):
        out["size_state", s] = int((a_state == i).sum())
    for i, t in enumerate(TIERS):
        out["size_tier", t] = int((a_tier == i).sum())
    has = state_of >= 0
    mix = np.bincount(state_of[has], minlength=len(STATES))
    for s, c in zip(STATES, mix, strict=True):
        out["mix", s] = int(c)
    return out, pa.table(cols)


def _feedback(r: np.random.Generator, o: _Orders, order_ids: pa.Array, cust_ids: pa.Array,
              shipped_at: np.ndarray, ship_null: np.ndarray, refund: np.ndarray,
              amount: np.ndarray, end_ts: np.datetime64) -> tuple[pa.Table, pa.Table]:
    received = ~ship_null & (refund < amount)
    n = len(o)
    review_t = shipped_at + (86400 * (2 + 8 * r.random(n))).astype("timedelta64[s]")
    reviewed = np.flatnonzero(received & (r.random(n) < 0.35) & (review_t < end_ts))
    partial = refund[reviewed] > 0
    slow = o.ship_h[reviewed] > 48
    pol_probs = np.array([[0.90, 0.06, 0.04], [0.45, 0.25, 0.30]])
    polarity = _row_categorical(r, pol_probs, partial.astype("int64"))
    dsr_probs = np.array([  # score 1..5 given polarity
        [0.00, 0.01, 0.03, 0.16, 0.80],
        [0.05, 0.15, 0.45, 0.30, 0.05],
        [0.35, 0.30, 0.25, 0.08, 0.02],
    ])
    dsr = {k: 1.0 + _row_categorical(r, dsr_probs, polarity).astype("float64")
           for k in ("item", "service", "logistics")}
    dsr["logistics"] = np.where(slow & (r.random(len(reviewed)) < 0.5),
                                np.maximum(dsr["logistics"] - 1, 1), dsr["logistics"])
    ts_type = pa.timestamp("us")
    reviews = pa.table({
        "order_id": order_ids.take(pa.array(reviewed)),
        "customer_id": cust_ids.take(pa.array(o.cust[reviewed])),
        "created_at": pa.array(review_t[reviewed].astype("datetime64[us]"), type=ts_type),
        "polarity": pa.array(np.array(["positive", "neutral", "negative"])[polarity]),
        "dsr_item": pa.array(dsr["item"]),
        "dsr_service": pa.array(dsr["service"]),
        "dsr_logistics": pa.array(dsr["logistics"]),
    })
    answer_t = shipped_at + (86400 * (3 + 7 * r.random(n))).astype("timedelta64[s]")
    asked = np.flatnonzero(received & (r.random(n) < 0.04) & (answer_t < end_ts))
    nps = r.random(len(asked)) < 0.5
    csat = 1 + _categorical(r, np.array([0.03, 0.05, 0.12, 0.35, 0.45]), len(asked))
    nps_score = _categorical(r, np.array([1, 1, 1, 1.5, 2, 4, 5, 9, 16, 20, 25.0]), len(asked))
    surveys = pa.table({
        "customer_id": cust_ids.take(pa.array(o.cust[asked])),
        "answered_at": pa.array(answer_t[asked].astype("datetime64[us]"), type=ts_type),
        "score": pa.array(np.where(nps, nps_score, csat).astype("float64")),
        "scale": pa.array(np.where(nps, "nps10", "csat5")),
    })
    order = np.lexsort((o.cust[asked], answer_t[asked]))
    return reviews, surveys.take(pa.array(order))


def _interactions(r: np.random.Generator, cal: ShopCalendar, cust_ids: pa.Array, acq: np.ndarray,
                  death: np.ndarray, lam: np.ndarray, mu: np.ndarray, T: float,
                  origin: np.datetime64) -> pa.Table:
    """Engagement events: rate ``0.012/day x (lambda / 4)^0.6 x Lognormal(0, 0.5)`` per
    customer from acquisition to 60 days after the latent death (browsing outlives buying)."""
    n = len(acq)
    rate = 0.012 * (lam / LAMBDA_MEAN) ** 0.6 * np.exp(0.5 * r.standard_normal(n) - 0.125)
    hi = np.minimum(death + 60.0, T)
    c_lo, c_hi = cal.cumulative(acq), cal.cumulative(hi)
    counts = r.poisson(rate * np.maximum(c_hi - c_lo, 0.0))
    rows = np.repeat(np.arange(n), counts)
    t = cal.inverse(c_lo[rows] + r.random(len(rows)) * (c_hi - c_lo)[rows])
    t = np.clip(t, acq[rows], np.nextafter(T, 0))
    at = origin + cal.clock_seconds(t).astype("timedelta64[s]")
    kinds = np.array(list(INTERACTION_WEIGHTS))
    kind = _categorical(r, np.array(list(INTERACTION_WEIGHTS.values())), len(rows))
    kname = kinds[kind]
    price = _cents(np.exp(mu[rows] + SPEND_SD * r.standard_normal(len(rows))))
    value = np.select(
        [kname == "sign_in", kname == "points_earned", kname == "points_spent",
         (kname == "cart") | (kname == "favourite"), kname == "lottery"],
        [np.full(len(rows), 5.0), 10.0 * r.integers(1, 11, len(rows)),
         100.0 * r.integers(1, 6, len(rows)), price, (r.random(len(rows)) < 0.1) * 1.0],
        default=1.0,
    )
    order = np.lexsort((rows, at))
    return pa.table({
        "customer_id": cust_ids.take(pa.array(rows[order])),
        "at": pa.array(at[order].astype("datetime64[us]"), type=pa.timestamp("us")),
        "kind": pa.array(kname[order]),
        "value": pa.array(value[order]),
    })

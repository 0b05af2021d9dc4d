"""Design of the next round: minimum detectable effect, sample size, holdout share, power.

A campaign gives the coupon to ``n_treated = n_total · (1 - h)`` customers and holds out
``n_holdout = n_total · h`` as control. For a difference in means (or proportions, with
``sd = sqrt(p (1 - p))``) and a two-sample z test at level ``alpha`` (statsmodels
``NormalIndPower``; at shop sample sizes the Welch t test has the same power), the
standard error of the difference is

    se = sd_eff · sqrt(1 / n_treated + 1 / n_holdout),  sd_eff = sd · sqrt(1 - variance_reduction)

``variance_reduction`` is what CUPED / regression adjustment removes, ≈ ``corr(x, y)²`` with
the pre-period covariate (``ρ = 0.6`` → 0.36, so the MDE shrinks by ``sqrt(1 - ρ²) = 0.8``).
The minimum detectable effect at power ``1 - β`` is ≈ ``(z_{1-α/2} + z_{1-β}) · se``
(statsmodels solves it exactly, counting the far tail of a two-sided test).

Units: ``effect``, ``sd`` and ``mde`` in the metric's units (currency per customer, or a share
of customers for conversion); ``mde_relative`` is a fraction of the baseline mean.

Power grows with the holdout share up to ``h = 0.5``; a smaller holdout leaves more customers
with the treatment (more revenue from the campaign, less to learn from).
:func:`recommend_holdout_share` returns the smallest share that reaches the target power.

>>> d = minimum_detectable_effect(20_000, 0.2, sd=50.0, baseline_mean=60.0)
>>> round(d.mde, 3), round(d.mde_relative, 4)
(2.476, 0.0413)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import pandas as pd
from scipy import optimize
from statsmodels.stats.power import NormalIndPower

_POWER = NormalIndPower()


@dataclass(frozen=True)
class Design:
    """One experiment design and what it can detect.

    ``power`` is the power of the design for ``effect`` (NaN when no effect is given);
    ``target_power`` what was asked for; ``mde`` the effect detectable with ``target_power``;
    ``reachable`` False when no allowed design reaches ``target_power``.
    """

    n_total: int
    holdout_share: float
    n_treated: int
    n_holdout: int
    sd: float
    effective_sd: float
    variance_reduction: float
    alpha: float
    two_sided: bool
    target_power: float
    effect: float
    power: float
    mde: float
    mde_relative: float
    baseline_mean: float
    reachable: bool
    message: str
    method: str = "normal_ind_power"

    def to_frame(self) -> pd.DataFrame:
        """One row, one column per field."""
        return pd.DataFrame([asdict(self)])


def _check(holdout_share: float, sd: float, variance_reduction: float) -> float:
    if not 0 < holdout_share < 1:
        raise ValueError(f"holdout_share must be between 0 and 1, got {holdout_share}")
    if sd <= 0:
        raise ValueError(f"sd must be positive, got {sd}")
    if not 0 <= variance_reduction < 1:
        raise ValueError(f"variance_reduction must be in [0, 1), got {variance_reduction}")
    return sd * math.sqrt(1 - variance_reduction)


def _alternative(two_sided: bool) -> str:
    return "two-sided" if two_sided else "larger"


def _power(n_treated: float, n_holdout: float, effect: float, sd_eff: float, alpha: float,
           two_sided: bool) -> float:
    return float(_POWER.power(effect_size=abs(effect) / sd_eff, nobs1=n_treated, alpha=alpha,
                              ratio=n_holdout / n_treated, alternative=_alternative(two_sided)))


def _mde(n_treated: float, n_holdout: float, sd_eff: float, alpha: float, power: float,
         two_sided: bool) -> float:
    es = _POWER.solve_power(effect_size=None, nobs1=n_treated, alpha=alpha, power=power,
                            ratio=n_holdout / n_treated, alternative=_alternative(two_sided))
    return float(es) * sd_eff


def _split(n_total: int, holdout_share: float) -> tuple[int, int]:
    n_holdout = round(n_total * holdout_share)
    if n_holdout < 2 or n_total - n_holdout < 2:
        raise ValueError(f"{n_total} customers at holdout share {holdout_share:g} leave an arm "
                         "with fewer than 2 customers")
    return n_total - n_holdout, n_holdout


def _design(n_total, share, sd, sd_eff, vr, alpha, two_sided, target, effect, baseline_mean,
            reachable=True, message="") -> Design:
    n_t, n_h = _split(n_total, share)
    power = (math.nan if effect is None or math.isnan(effect)
             else _power(n_t, n_h, effect, sd_eff, alpha, two_sided))
    mde = _mde(n_t, n_h, sd_eff, alpha, target, two_sided)
    base = math.nan if baseline_mean is None else float(baseline_mean)
    rel = mde / base if base and not math.isnan(base) else math.nan
    if not message:
        message = (f"{n_total:,} customers, {share:.1%} held out ({n_h:,}): detects "
                   f"{mde:.4g} ({'' if math.isnan(rel) else f'{rel:+.1%}, '}power "
                   f"{target:.0%}, alpha {alpha:g})")
        if not math.isnan(power):
            message += f"; power for {effect:.4g} is {power:.1%}"
    return Design(n_total=int(n_total), holdout_share=float(share), n_treated=n_t, n_holdout=n_h,
                  sd=float(sd), effective_sd=float(sd_eff), variance_reduction=float(vr),
                  alpha=alpha, two_sided=two_sided, target_power=target,
                  effect=math.nan if effect is None else float(effect), power=power, mde=mde,
                  mde_relative=rel, baseline_mean=base, reachable=reachable, message=message)


def minimum_detectable_effect(n_total: int, holdout_share: float, sd: float, *,
                              alpha: float = 0.05, power: float = 0.8,
                              variance_reduction: float = 0.0, two_sided: bool = True,
                              baseline_mean: float | None = None) -> Design:
    """MDE (``.mde``, metric units; ``.mde_relative`` = mde / ``baseline_mean``) of a design."""
    sd_eff = _check(holdout_share, sd, variance_reduction)
    return _design(n_total, holdout_share, sd, sd_eff, variance_reduction, alpha, two_sided,
                   power, None, baseline_mean)


def power_at(n_total: int, holdout_share: float, effect: float, sd: float, *,
             alpha: float = 0.05, variance_reduction: float = 0.0, two_sided: bool = True,
             target_power: float = 0.8, baseline_mean: float | None = None) -> Design:
    """Achieved power (``.power``) of a design for a true ``effect`` (metric units)."""
    sd_eff = _check(holdout_share, sd, variance_reduction)
    return _design(n_total, holdout_share, sd, sd_eff, variance_reduction, alpha, two_sided,
                   target_power, effect, baseline_mean)


def sample_size(effect: float, sd: float, holdout_share: float, *, alpha: float = 0.05,
                power: float = 0.8, variance_reduction: float = 0.0, two_sided: bool = True,
                baseline_mean: float | None = None) -> Design:
    """Total customers (``.n_total``) so that ``effect`` is detected with ``power``.

    Solves ``n_treated`` with statsmodels (``ratio = h / (1 - h)``) and rounds the total up;
    ``.power`` is the power achieved with the rounded counts (≥ ``power``, up to rounding of
    the split).
    """
    sd_eff = _check(holdout_share, sd, variance_reduction)
    if effect == 0:
        raise ValueError("effect must be non-zero")
    n_t = _POWER.solve_power(effect_size=abs(effect) / sd_eff, nobs1=None, alpha=alpha,
                             power=power, ratio=holdout_share / (1 - holdout_share),
                             alternative=_alternative(two_sided))
    n_total = math.ceil(float(n_t) / (1 - holdout_share) - 1e-9)
    while True:  # rounding the split may lose a customer's worth of power
        n_tr, n_h = _split(n_total, holdout_share)
        if _power(n_tr, n_h, effect, sd_eff, alpha, two_sided) >= power - 1e-9:
            break
        n_total += 1
    return _design(n_total, holdout_share, sd, sd_eff, variance_reduction, alpha, two_sided,
                   power, effect, baseline_mean)


def recommend_holdout_share(n_total: int, effect: float, sd: float, *, alpha: float = 0.05,
                            power: float = 0.8, variance_reduction: float = 0.0,
                            two_sided: bool = True, min_share: float = 0.05,
                            max_share: float = 0.5, baseline_mean: float | None = None,
                            step: float = 0.001) -> Design:
    """The SMALLEST holdout share in ``[min_share, max_share]`` whose power for ``effect``
    reaches ``power`` (rounded up to ``step``); ``max_share`` with ``reachable=False`` when
    even that falls short. ``.power`` is the achieved power, ``.mde`` the MDE at that share.
    """
    if not 0 < min_share <= max_share <= 0.5:
        raise ValueError("need 0 < min_share <= max_share <= 0.5 (power peaks at 0.5)")
    if effect == 0:
        raise ValueError("effect must be non-zero")
    sd_eff = _check(min_share, sd, variance_reduction)

    def gap(share: float) -> float:
        n_t, n_h = _split(n_total, share)
        return _power(n_t, n_h, effect, sd_eff, alpha, two_sided) - power

    args = (sd, sd_eff, variance_reduction, alpha, two_sided, power, effect, baseline_mean)
    if gap(max_share) < 0:
        d = _design(n_total, max_share, *args, reachable=False)
        need = sample_size(effect, sd, max_share, alpha=alpha, power=power,
                           variance_reduction=variance_reduction, two_sided=two_sided)
        msg = (f"UNREACHABLE: even {max_share:.0%} held out gives power {d.power:.1%} < "
               f"{power:.0%} for {effect:.4g}; {d.n_total:,} customers detect {d.mde:.4g} "
               f"at best; {need.n_total:,} customers would be needed")
        return _design(n_total, max_share, *args, reachable=False, message=msg)
    if gap(min_share) >= 0:
        share = min_share
    else:
        root = optimize.brentq(gap, min_share, max_share, xtol=step / 100)
        share = min(max_share, math.ceil(root / step - 1e-9) * step)
        while gap(share) < 0 and share < max_share:  # integer split rounding
            share = min(max_share, share + step)
    d = _design(n_total, share, *args)
    msg = (f"Hold out {share:.1%} ({d.n_holdout:,} of {n_total:,}): power {d.power:.1%} for "
           f"{effect:.4g} (target {power:.0%}); MDE {d.mde:.4g}")
    return _design(n_total, share, *args, message=msg)

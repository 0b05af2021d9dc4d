"""Charts of the CLV/churn and coupon-uplift pages, drawn from their result tables.

Every function takes tables of a result's ``tables()`` (live or read back from disk) and
labels from its ``summary()``, and returns the chart as a PNG ``data:`` URI for an ``<img>``:
bytes we produced, so a template may put them in ``src`` as they are. Titles, axes and legends
come from the translation table; Chinese is drawn with the project's font
(:func:`crm_experiments.report.fonts.configure_matplotlib`). Figures are made without pyplot,
so nothing is shown twice in a notebook and no global figure is left open.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from crm_experiments.report import fonts
from crm_experiments.report.chart_cache import cached_chart
from crm_experiments.report.i18n import tr


def _figure(width: float, height: float, ncols: int = 1):
    fonts.configure_matplotlib()
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, axes


def _data_uri(fig: Figure) -> str:
    """The figure as ``data:image/png;base64,...`` (no timestamp in the file: the same data
    give the same bytes)."""
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _label(labels: Mapping[str, str], key) -> str:
    return str(labels.get(str(key), key))


# --- CLV and churn -----------------------------------------------------------------------
@cached_chart
def clv_effect_chart(incremental: pd.DataFrame, *, currency: str, lang: str,
                     arm_labels: Mapping[str, str]) -> str:
    """Incremental 12-month CLV per customer after the window, per arm, with its interval."""
    post = incremental[incremental["when"] == "after_window"]
    fig, (ax,) = _figure(6, 3)
    est = post["estimate"].to_numpy(float)
    y = np.arange(len(post))
    ax.errorbar(est, y, xerr=[est - post["ci_low"].to_numpy(float),
                              post["ci_high"].to_numpy(float) - est], fmt="o", capsize=4)
    ax.set_yticks(y, [_label(arm_labels, a) for a in post["arm"]])
    ax.axvline(0, color="grey", lw=1)
    ax.set_xlabel(tr("clv_chart_effect_x", lang, currency=currency))
    ax.set_title(tr("clv_chart_effect_title", lang))
    return _data_uri(fig)


@cached_chart
def reliability_chart(reliability: pd.DataFrame, *, churn_days: int, lang: str) -> str:
    """Mean churn score vs observed churn share per score bin, one line per scorer."""
    fig, (ax,) = _figure(5, 4.4)
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls=":")
    for name, g in reliability.groupby("scorer", sort=False):
        ax.plot(g["mean_score"], g["observed"], marker="o", label=tr(f"churn_scorer_{name}", lang),
                ls="--" if name == "p_alive" else "-")
    ax.set_xlabel(tr("churn_chart_x", lang))
    ax.set_ylabel(tr("churn_chart_y", lang))
    ax.set_title(tr("churn_chart_title", lang, days=churn_days))
    ax.legend(frameon=False)
    return _data_uri(fig)


@cached_chart
def conditional_chart(by_frequency: pd.DataFrame, *, best: str, lang: str,
                      model_labels: Mapping[str, str]) -> str:
    """Holdout purchases per customer by calibration frequency: actual vs each model."""
    fig, (ax,) = _figure(7, 3.6)
    first = by_frequency[by_frequency["model"] == best]
    ax.plot(first["bucket"], first["actual"], "k-o", label=tr("clv_chart_actual", lang), lw=2)
    for kind, g in by_frequency.groupby("model", sort=False):
        ax.plot(g["bucket"], g["predicted"], "--", marker=".", label=_label(model_labels, kind))
    ax.set_xlabel(tr("clv_chart_calibration_frequency", lang))
    ax.set_ylabel(tr("clv_chart_holdout_per_customer", lang))
    ax.set_title(tr("clv_chart_conditional_title", lang))
    ax.legend(frameon=False)
    return _data_uri(fig)


@cached_chart
def tracking_chart(tracking: pd.DataFrame, *, calibration_end: str | None, lang: str,
                   model_labels: Mapping[str, str]) -> str:
    """Cumulative repeat purchases of the calibration cohort: actual vs each model."""
    fig, (ax,) = _figure(7, 3.6)
    dates = pd.to_datetime(tracking["date"])
    ax.plot(dates, tracking["actual"], "k-", lw=2, label=tr("clv_chart_actual", lang))
    for col in tracking.columns:
        if col not in ("day", "actual", "date"):
            ax.plot(dates, tracking[col], "--", label=_label(model_labels, col))
    if calibration_end:
        at = pd.Timestamp(calibration_end)
        ax.axvline(at, color="grey", lw=1)
        ax.text(at, ax.get_ylim()[1] * 0.95, " " + tr("clv_chart_holdout_arrow", lang),
                color="grey", fontsize=8)
    ax.set_ylabel(tr("clv_chart_cumulative", lang))
    ax.set_title(tr("clv_chart_tracking_title", lang))
    ax.legend(frameon=False)
    return _data_uri(fig)


@cached_chart
def histogram_chart(histogram: pd.DataFrame, *, lang: str) -> str:
    """Customers per calibration frequency bucket."""
    fig, (ax,) = _figure(6, 3.2)
    ax.bar(histogram["bucket"].astype(str), histogram["customers"], color="#4C72B0")
    ax.set_xlabel(tr("clv_chart_calibration_frequency", lang))
    ax.set_ylabel(tr("customers", lang))
    ax.set_title(tr("clv_chart_histogram_title", lang))
    return _data_uri(fig)


# --- uplift ------------------------------------------------------------------------------
@cached_chart
def qini_chart(curves: pd.DataFrame, *, arms: list[str], outcome: str, lang: str,
               arm_labels: Mapping[str, str]) -> str:
    """Qini curve of each arm (model vs random targeting) on the held-out customers."""
    fig, axes = _figure(5 * len(arms), 3.6, ncols=len(arms))
    for ax, a in zip(axes, arms, strict=True):
        c = curves[curves["arm"] == a]
        ax.plot(c["share_targeted"], c["qini"], label=tr("uplift_chart_model", lang))
        ax.plot(c["share_targeted"], c["qini_random"], "--", label=tr("uplift_chart_random", lang))
        ax.set_title(tr("uplift_chart_qini_title", lang, arm=_label(arm_labels, a)))
        ax.set_xlabel(tr("uplift_chart_share_targeted", lang))
        ax.set_ylabel(tr("uplift_chart_incremental", lang,
                         outcome=tr(f"uplift_outcome_{outcome}", lang)))
        ax.legend()
    return _data_uri(fig)


@cached_chart
def decile_chart(deciles: pd.DataFrame, *, arms: list[str], lang: str,
                 arm_labels: Mapping[str, str]) -> str:
    """Observed (with interval) and predicted uplift per decile of predicted uplift."""
    fig, axes = _figure(5 * len(arms), 3.6, ncols=len(arms))
    for ax, a in zip(axes, arms, strict=True):
        d = deciles[deciles["arm"] == a]
        err = np.vstack([d["observed_uplift"] - d["ci_low"], d["ci_high"] - d["observed_uplift"]])
        ax.bar(d["decile"], d["observed_uplift"], yerr=err, capsize=2, alpha=0.7,
               label=tr("uplift_chart_observed", lang))
        ax.plot(d["decile"], d["predicted_uplift"], "o-", color="black",
                label=tr("uplift_chart_predicted", lang))
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_title(tr("uplift_chart_decile_title", lang, arm=_label(arm_labels, a)))
        ax.set_xlabel(tr("uplift_chart_decile_x", lang))
        ax.legend()
    return _data_uri(fig)

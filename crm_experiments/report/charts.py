"""Static matplotlib charts of an evaluation, drawn from its tables (``result.tables()``) and
embedded in pages as PNG data URIs (``<img src="data:image/png;base64,...">``).

Titles, axis labels, arm, metric and state labels are translated (:func:`~.i18n.tr`); Chinese
is drawn with the project's font (:func:`~.fonts.configure_matplotlib`). The same tables give
the same bytes, so a page rendered from a live result and from its stored copy are identical.
"""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from crm_experiments.metrics.lifecycle import NO_STATE, STATES  # noqa: E402
from crm_experiments.report import fonts  # noqa: E402
from crm_experiments.report.chart_cache import cached_chart  # noqa: E402
from crm_experiments.report.format import pct  # noqa: E402
from crm_experiments.report.i18n import tr  # noqa: E402
from crm_experiments.stats.result import shown_interval  # noqa: E402

COLORS = {"pos": "#1e8e3e", "neg": "#d93025", "mid": "#5f6368"}


def png_bytes(fig) -> bytes:
    """The figure as PNG (no timestamp or version metadata: same figure, same bytes); closes
    it."""
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    finally:
        plt.close(fig)
    return buf.getvalue()


def data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` for an ``<img src>``."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _figure(width: float, height: float):
    fonts.configure_matplotlib()
    return plt.subplots(figsize=(width, height))


def _uri(fig) -> str:
    fig.tight_layout()
    return data_uri(png_bytes(fig))


def state_label(state: str, lang: str) -> str:
    return tr(f"state_{state}", lang)


@cached_chart
def profit_chart(economics: pd.DataFrame, *, currency: str, lang: str = "en") -> str:
    """Incremental profit per arm (rows of the ``economics`` table, by their ``label``) with
    its interval; green when the interval lies above 0, red below, grey across."""
    e = economics
    fig, ax = _figure(7, 0.7 + 0.6 * max(len(e), 1))
    y = np.arange(len(e))
    est = e["incremental_profit"].to_numpy(float)
    lo = e["incremental_profit_low"].to_numpy(float)
    hi = e["incremental_profit_high"].to_numpy(float)
    colors = [COLORS["pos"] if a > 0 else COLORS["neg"] if b < 0 else COLORS["mid"]
              for a, b in zip(lo, hi, strict=True)]
    ax.barh(y, est, color=colors, alpha=0.35)
    ax.errorbar(est, y, xerr=[est - lo, hi - est], fmt="o", color="black", capsize=4)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, list(e["label"]))
    ax.set_xlabel(tr("chart_profit_x", lang, currency=currency))
    ax.invert_yaxis()
    return _uri(fig)


@cached_chart
def effects_chart(effects: pd.DataFrame, *, labels: dict[str, str], lang: str = "en",
                  level: float = 0.95) -> str:
    """Relative effect per arm and metric (rows of the ``effects`` table) with the interval
    the effects table shows, row by row (:func:`~crm_experiments.stats.result.shown_interval`:
    the multiplicity-corrected one at ``level`` where the row has it, else the plain one); an
    unbounded (NaN) interval draws no bar."""
    f = effects
    fig, ax = _figure(7, 0.7 + 0.35 * max(len(f), 1))
    y = np.arange(len(f))
    est = f["rel_estimate"].to_numpy(float) * 100
    shown = [shown_interval(row) for row in f.to_dict("records")]
    lo = np.array([s.rel_low for s in shown], dtype=float) * 100
    hi = np.array([s.rel_high for s in shown], dtype=float) * 100
    ax.errorbar(est, y, xerr=[est - lo, hi - est], fmt="o", color="#1a73e8", capsize=3)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [f"{labels.get(a, a)} | {tr(m, lang)}"
                      for a, m in zip(f["arm"], f["metric"], strict=True)])
    ax.set_xlabel(tr("chart_effects_x", lang, level=pct(level, lang, 1)))
    ax.invert_yaxis()
    return _uri(fig)


@cached_chart
def lifecycle_chart(lifecycle: pd.DataFrame, *, labels: dict[str, str],
                    lang: str = "en") -> str:
    """Share of each arm's customers per lifecycle state at the sale start and the window end
    (rows of the ``lifecycle`` table: arm x moment)."""
    life = lifecycle
    states = [s for s in (*STATES, NO_STATE) if s in life.columns]
    fig, ax = _figure(8, 0.8 + 0.45 * len(life))
    rows = [f"{labels.get(arm, arm)} | {tr('moment_' + moment, lang)}"
            for arm, moment in zip(life["arm"], life["moment"], strict=True)]
    y = np.arange(len(life))
    left = np.zeros(len(life))
    cmap = plt.get_cmap("RdYlGn_r", len(states))
    for i, state in enumerate(states):
        values = life[state].to_numpy(float)
        ax.barh(y, values, left=left, color=cmap(i), label=state_label(state, lang))
        left += values
    ax.set_yticks(y, rows)
    ax.set_xlim(0, 1)
    ax.set_xlabel(tr("chart_lifecycle_x", lang))
    ax.legend(ncol=4, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.25))
    ax.invert_yaxis()
    return _uri(fig)


@cached_chart
def migration_heatmap(matrix: pd.DataFrame, *, title: str = "", lang: str = "en") -> str:
    """A ``migration_<arm>`` table (column ``before`` = state at the sale start, one column of
    customer counts per state at the window end) as a heat map of each row's shares."""
    counts = matrix.set_index("before")
    shares = counts.div(counts.sum(axis=1).replace(0, np.nan), axis=0).fillna(0)
    fig, ax = _figure(7, 4.2)
    im = ax.imshow(shares.to_numpy(float), cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(shares.shape[1]), [state_label(s, lang) for s in shares.columns],
                  rotation=35, ha="right")
    ax.set_yticks(range(shares.shape[0]), [state_label(s, lang) for s in shares.index])
    for i in range(shares.shape[0]):
        for j in range(shares.shape[1]):
            n = int(counts.iat[i, j])
            if n:
                ax.text(j, i, f"{shares.iat[i, j]:.0%}\n{n:,}", ha="center", va="center",
                        fontsize=7, color="white" if shares.iat[i, j] > 0.5 else "black")
    ax.set_xlabel(tr("chart_migration_x", lang))
    ax.set_ylabel(tr("chart_migration_y", lang))
    if title:
        ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.03)
    return _uri(fig)


@cached_chart
def retention_chart(curve: pd.DataFrame, *, labels: dict[str, str], control: str,
                    lang: str = "en") -> str:
    """Cumulative share of each arm's sale buyers who bought again, by day after the sale
    (the ``retention_curve`` table); the holdout dashed."""
    fig, ax = _figure(7, 3.4)
    for arm, g in curve.groupby("arm", sort=True):
        n = int(g["buyers"].iloc[0])
        ax.plot(g["day"], g["share"] * 100, label=f"{labels.get(arm, arm)} (n={n:,})",
                lw=2.5 if arm == control else 2, ls="--" if arm == control else "-")
    ax.set_xlabel(tr("chart_retention_x", lang))
    ax.set_ylabel(tr("chart_retention_y", lang))
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _uri(fig)

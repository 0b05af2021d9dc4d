"""Static matplotlib charts of an evaluation (PNG in the notebook, so they survive nbconvert).

Charts carry only ASCII labels (arm names, state names, numbers): the page around them is
translated, so no CJK font is needed on the machine that renders them.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from crm_experiments.metrics.lifecycle import NO_STATE, STATES  # noqa: E402

COLORS = {"pos": "#1e8e3e", "neg": "#d93025", "mid": "#5f6368"}


def profit_chart(ev):
    """Incremental profit per arm with its interval (currency)."""
    e = ev.economics
    fig, ax = plt.subplots(figsize=(7, 0.7 + 0.6 * max(len(e), 1)))
    y = np.arange(len(e))
    est = e["incremental_profit"].to_numpy(float)
    lo = e["incremental_profit_low"].to_numpy(float)
    hi = e["incremental_profit_high"].to_numpy(float)
    colors = [COLORS["pos"] if a > 0 else COLORS["neg"] if b < 0 else COLORS["mid"]
              for a, b in zip(lo, hi, strict=True)]
    ax.barh(y, est, color=colors, alpha=0.35)
    ax.errorbar(est, y, xerr=[est - lo, hi - est], fmt="o", color="black", capsize=4)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, list(e.index))
    ax.set_xlabel(f"incremental profit ({ev.params.costs.currency}), 95% interval")
    ax.invert_yaxis()
    fig.tight_layout()
    return fig


def effects_chart(ev):
    """Relative effect per arm and metric with its interval (forest plot)."""
    f = ev.comparison.to_frame()
    fig, ax = plt.subplots(figsize=(7, 0.7 + 0.35 * max(len(f), 1)))
    y = np.arange(len(f))
    est = f["rel_estimate"].to_numpy(float) * 100
    lo = f["rel_ci_low"].to_numpy(float) * 100
    hi = f["rel_ci_high"].to_numpy(float) * 100
    ax.errorbar(est, y, xerr=[est - lo, hi - est], fmt="o", color="#1a73e8", capsize=3)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [f"{a} | {m}" for a, m in zip(f["arm"], f["metric"], strict=True)])
    ax.set_xlabel("effect vs holdout (%), 95% interval")
    ax.invert_yaxis()
    fig.tight_layout()
    return fig


def lifecycle_chart(ev):
    """Share of each arm's customers per lifecycle state, at the sale start and window end."""
    life = ev.lifecycle
    states = [s for s in (*STATES, NO_STATE) if s in life.columns]
    fig, ax = plt.subplots(figsize=(8, 0.8 + 0.45 * len(life)))
    labels = [f"{arm} | {moment}" for arm, moment in life.index]
    left = np.zeros(len(life))
    cmap = plt.get_cmap("RdYlGn_r", len(states))
    for i, state in enumerate(states):
        values = life[state].to_numpy(float)
        ax.barh(labels, values, left=left, color=cmap(i), label=state)
        left += values
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of customers")
    ax.legend(ncol=4, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.25))
    ax.invert_yaxis()
    fig.tight_layout()
    return fig


def migration_heatmap(matrix, title: str = ""):
    """Row-normalised migration matrix (state before -> state after) as a heat map."""
    shares = matrix.div(matrix.sum(axis=1).replace(0, np.nan), axis=0).fillna(0)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    im = ax.imshow(shares.to_numpy(float), cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(shares.shape[1]), shares.columns, rotation=35, ha="right")
    ax.set_yticks(range(shares.shape[0]), shares.index)
    for i in range(shares.shape[0]):
        for j in range(shares.shape[1]):
            n = int(matrix.iat[i, j])
            if n:
                ax.text(j, i, f"{shares.iat[i, j]:.0%}\n{n:,}", ha="center", va="center",
                        fontsize=7, color="white" if shares.iat[i, j] > 0.5 else "black")
    ax.set_xlabel("state at window end")
    ax.set_ylabel("state at sale start")
    if title:
        ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.03)
    fig.tight_layout()
    return fig


def retention_chart(ev):
    """Cumulative share of each arm's sale buyers who bought again, by day after the sale."""
    r = ev.retention_curve
    fig, ax = plt.subplots(figsize=(7, 3.4))
    for arm, g in r.groupby("arm"):
        ax.plot(g["day"], g["share"] * 100, label=f"{arm} (n={int(g['buyers'].iloc[0]):,})",
                lw=2 if arm != ev.params.control_arm else 2.5,
                ls="--" if arm == ev.params.control_arm else "-")
    ax.set_xlabel("days after the sale")
    ax.set_ylabel("bought again (%)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def show(fig) -> None:
    """Display a figure once in a notebook and release it."""
    from IPython.display import display

    display(fig)
    plt.close(fig)

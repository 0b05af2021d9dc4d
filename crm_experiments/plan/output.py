"""Write the plan: the next campaign's params (atomically), the bilingual manager summary
(HTML, every value escaped), ``plan.json`` and tables; log them to MLflow in a run tagged
``report_type=next_round_plan``."""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import os
import tempfile
from pathlib import Path

import yaml

from crm_experiments.errors import CrmError
from crm_experiments.params import CampaignParams, load_params
from crm_experiments.plan.decide import Plan
from crm_experiments.plan.gather import PastCampaign, PlanError
from crm_experiments.plan.meta import METHOD

REPORT_TYPE = "next_round_plan"


def base_params(latest: PastCampaign, campaigns_dir: Path | None) -> dict:
    """The latest campaign's params as a dict: its YAML in ``campaigns_dir`` when there is one
    (with ``data.path`` made absolute), else rebuilt from the run's flat MLflow params."""
    if campaigns_dir is not None and campaigns_dir.is_dir():
        for path in sorted([*campaigns_dir.glob("*.yaml"), *campaigns_dir.glob("*.yml")]):
            try:
                p = load_params(path)
            except CrmError:
                continue
            if p.campaign_id == latest.campaign_id:
                return p.model_dump(mode="json")
    nested: dict = {}
    arms: dict[str, dict] = {}
    for key, value in latest.params.items():
        if key == "params_file":
            continue
        try:
            v = yaml.safe_load(value)
        except yaml.YAMLError:
            v = value
        if isinstance(v, dt.date):
            v = v.isoformat()
        parts = key.split(".")
        if parts[0] == "arms" and len(parts) == 3:
            arms.setdefault(parts[1], {})[parts[2]] = v
            continue
        node = nested
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = v
    nested["arms"] = list(arms.values())
    for key in ("campaign_id", "display_name", "timezone", "control_arm", "currency"):
        if key in nested and nested[key] is not None:
            nested[key] = str(nested[key])
    return CampaignParams.model_validate(nested).model_dump(mode="json")


def next_params(plan: Plan, base: dict, *, sale_start: dt.date | None,
                sale_end: dt.date | None, data_path: str | None = None) -> dict:
    """The next campaign's params: the latest campaign's settings with the plan's arms."""
    raw = json.loads(json.dumps(base))
    old_start = dt.date.fromisoformat(raw["sale"]["start"])
    old_end = dt.date.fromisoformat(raw["sale"]["end"])
    if sale_start is None:
        sale_start = _next_year(old_start)
    if sale_end is None:
        sale_end = sale_start + (old_end - old_start)
    raw["campaign_id"] = plan.next_id
    raw["display_name"] = f"{plan.next_id} - next round planned from {', '.join(plan.campaigns)}"
    raw["sale"] = {"start": sale_start.isoformat(), "end": sale_end.isoformat()}
    raw["control_arm"] = "control"
    raw["arms"] = [{k: v for k, v in a.items() if k != "decision"} for a in plan.arms]
    raw["seed"] = int(raw.get("seed", 0)) + 1
    if data_path is not None:
        raw["data"]["path"] = str(data_path)
    raw["data"]["path"] = str(raw["data"]["path"])
    CampaignParams.model_validate(raw)
    return raw


def _next_year(d: dt.date) -> dt.date:
    try:
        return d.replace(year=d.year + 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year + 1, day=28)


def params_yaml(plan: Plan, raw: dict) -> str:
    lines = [f"# Next round planned by `crm-exp plan` from {', '.join(plan.campaigns)}.",
             "# Audience (lifecycle state at the sale start; the params model has no targeting "
             "field,", "# so assign only these states to the arms below):"]
    for s in plan.states.itertuples():
        arm = s.arm_kind if isinstance(s.arm_kind, str) else None
        lines.append(f"#   {s.state}: {s.action}" + (f" ({arm})" if arm else ""))
    if plan.design is not None:
        lines.append(f"# Holdout: {plan.design.message}")
    return "\n".join(lines) + "\n" + yaml.safe_dump(raw, allow_unicode=True, sort_keys=False)


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# --- the manager summary ----------------------------------------------------------------------
TEXT = {
    "en": {
        "title": "Next round: what to do and why", "arms": "Offers", "kind": "offer",
        "decision": "decision", "effect": "profit per customer", "interval": "95% interval",
        "roi": "ROI", "cpo": "cost per extra order", "why": "why", "states": "Customers",
        "state": "lifecycle state", "action": "action", "offer": "offer",
        "keep": "keep", "drop": "drop", "test": "test again", "target": "contact",
        "suppress": "do not contact", "holdout": "Holdout",
        "profit": "Expected extra profit of the plan",
        "from": "Learned from", "notes": "Notes", "method": "Pooling",
        "shares": "Planned shares",
        "states_note": "Contacted states are randomised across the offers below; the offer "
                       "column is what to roll out to that state once the test is settled.",
    },
    "zh": {
        "title": "下一轮计划：做什么、为什么", "arms": "优惠方案", "kind": "方案",
        "decision": "决定", "effect": "每位客户增量利润", "interval": "95%区间",
        "roi": "投资回报率", "cpo": "每笔增量订单成本", "why": "原因", "states": "客户",
        "state": "生命周期状态", "action": "动作", "offer": "方案",
        "keep": "保留", "drop": "停用", "test": "继续测试", "target": "触达",
        "suppress": "不触达", "holdout": "对照组",
        "profit": "计划的预期增量利润",
        "from": "依据的活动", "notes": "说明", "method": "合并方法",
        "shares": "计划分配比例",
        "states_note": ("被触达的状态在下列方案间随机分配；"
                        "“方案”一列是测试结论确定后对该状态推广的方案。"),
    },
}
STATE_ZH = {"new_one": "1次购买新客", "new_repeat": "重复购买新客", "old_one": "1次购买老客",
            "old_repeat": "重复购买老客", "silent": "沉默", "sleeping": "睡眠", "lost": "流失"}


def _f(x: float, digits: int = 2) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.{digits}f}"


def summary_html(plan: Plan, params_path: str, currency: str = "CNY") -> str:
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{e(plan.next_id)} - {e(TEXT['en']['title'])}</title>",
           "<style>body{font-family:sans-serif;max-width:60em;margin:1em auto;font-size:14px}"
           "table{border-collapse:collapse;margin:.4em 0}td,th{border:1px solid #ccc;"
           "padding:2px 6px;text-align:left}section{margin-bottom:1.5em}</style></head><body>"]
    for lang in ("en", "zh"):
        t = TEXT[lang]
        out.append(f'<section lang="{lang}"><h1>{e(plan.next_id)}: {e(t["title"])}</h1>')
        out.append(f"<p>{e(t['from'])}: {e(', '.join(plan.campaigns))}. "
                   f"{e(t['method'])}: {e(METHOD)}. Params: <code>{e(params_path)}</code></p>")
        out.append(f"<h2>{e(t['arms'])}</h2><table><tr>" + "".join(
            f"<th>{e(t[c])}</th>" for c in ("kind", "decision", "effect", "interval", "roi",
                                            "cpo", "why")) + "</tr>")
        for k in plan.kinds.itertuples():
            out.append("<tr>" + "".join(f"<td>{e(str(v))}</td>" for v in (
                k.kind, t[k.decision], _f(k.estimate), f"[{_f(k.ci_low)}, {_f(k.ci_high)}]",
                _f(k.roi), _f(k.cost_per_incremental_order), k.reason)) + "</tr>")
        out.append("</table>")
        out.append(f"<h2>{e(t['states'])}</h2><p>{e(t['states_note'])}</p><table><tr>" + "".join(
            f"<th>{e(t[c])}</th>" for c in ("state", "action", "offer", "why")) + "</tr>")
        for s in plan.states.itertuples():
            name = s.state if lang == "en" else f"{STATE_ZH.get(s.state, s.state)} ({s.state})"
            out.append("<tr>" + "".join(f"<td>{e(str(v))}</td>" for v in (
                name, t[s.action], s.arm_kind if isinstance(s.arm_kind, str) else "-",
                s.reason)) + "</tr>")
        out.append("</table>")
        shares = ", ".join(f"{a['name']} {a['planned_share']:.1%}" for a in plan.arms)
        out.append(f"<h2>{e(t['holdout'])}</h2><p>{e(t['shares'])}: {e(shares)}.</p>")
        if plan.design is not None:
            out.append(f"<p>{e(plan.design.message)}</p>")
        p = plan.expected_profit
        out.append(f"<h2>{e(t['profit'])}</h2><p>{e(_f(p['estimate'], 0))} {e(currency)} "
                   f"[{e(_f(p['low'], 0))}, {e(_f(p['high'], 0))}] ({e(p['note'])})</p>")
        if plan.reasons:
            out.append(f"<h2>{e(t['notes'])}</h2><ul>" + "".join(
                f"<li>{e(r)}</li>" for r in plan.reasons) + "</ul>")
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out)


def plan_json(plan: Plan) -> dict:
    def clean(v):
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        if hasattr(v, "item"):
            v = v.item()
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return v

    return clean({
        "next_id": plan.next_id, "campaigns": plan.campaigns, "primary": plan.primary,
        "method": METHOD, "alpha": plan.alpha, "arms": plan.arms,
        "kinds": plan.kinds.to_dict(orient="records"),
        "states": plan.states.to_dict(orient="records"),
        "design": None if plan.design is None else plan.design.to_frame().iloc[0].to_dict(),
        "audience": plan.n_audience, "expected_profit": plan.expected_profit,
        "reasons": plan.reasons,
    })


def publish(plan: Plan, raw: dict, params_path: Path, out_dir: Path, *,
            force: bool = False) -> tuple[Path, Path, str]:
    """Write params (atomically) and the summary; log both to MLflow. Returns (params path,
    summary path, MLflow run id)."""
    from crm_experiments.tracking.client import mlflow_client

    if params_path.exists() and not force:
        raise PlanError(f"{params_path} exists; pass --force to replace it")
    text = params_yaml(plan, raw)
    html_text = summary_html(plan, str(params_path), raw.get("costs", {}).get("currency", "CNY"))
    out_dir.mkdir(parents=True, exist_ok=True)
    client, exp_id = mlflow_client()
    run = client.create_run(exp_id, tags={"campaign_id": plan.next_id,
                                          "report_type": REPORT_TYPE,
                                          "source_campaigns": ",".join(plan.campaigns),
                                          "mlflow.runName": f"{plan.next_id}-plan"})
    try:
        write_atomic(params_path, text)
        load_params(params_path)  # what we wrote validates
        summary = out_dir / "summary.html"
        write_atomic(summary, html_text)
        write_atomic(out_dir / "plan.json", json.dumps(plan_json(plan), indent=2,
                                                       ensure_ascii=False))
        tables = out_dir / "tables"
        tables.mkdir(exist_ok=True)
        plan.arm_table.to_csv(tables / "campaign_arms.csv", index=False)
        plan.kinds.to_csv(tables / "pooled_arms.csv", index=False)
        plan.states.to_csv(tables / "states.csv", index=False)
        plan.state_kind.to_csv(tables / "pooled_states.csv", index=False)
        client.log_artifact(run.info.run_id, str(params_path), "plan")
        client.log_artifacts(run.info.run_id, str(out_dir), "plan")
        if plan.design is not None:
            client.log_metric(run.info.run_id, "holdout_share", plan.design.holdout_share)
            client.log_metric(run.info.run_id, "claimed_power", plan.design.power)
        for key in ("estimate", "low", "high"):
            client.log_metric(run.info.run_id, f"expected_profit.{key}",
                              float(plan.expected_profit[key]))
        client.set_terminated(run.info.run_id, "FINISHED")
    except BaseException:
        client.set_terminated(run.info.run_id, "FAILED")
        raise
    return params_path, summary, run.info.run_id

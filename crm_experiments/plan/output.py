"""Write the plan: the next campaign's params (atomically), the plan page
(:func:`crm_experiments.report.plan_page.plan_page`, in the params' language and the other
one), ``plan.json`` and the stored plan (``result.json`` and ``tables/*.parquet``); log them to
MLflow in a run tagged ``report_type=next_round_plan``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import yaml
from pydantic import ValidationError

from crm_experiments.analyses.result import jsonable
from crm_experiments.errors import CrmError
from crm_experiments.io.atomic import atomic_write_text
from crm_experiments.params import CampaignParams, load_params
from crm_experiments.plan.decide import Plan
from crm_experiments.plan.gather import PastCampaign, PlanError
from crm_experiments.report.i18n import LANGUAGES, tr
from crm_experiments.report.plan_page import plan_page, reason_text

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
        if key.split(".")[0] not in CampaignParams.model_fields:
            continue  # the run's own params (params_file, treatment_<i>.arm, control.arm ...)
        try:
            v = None if value == "None" else yaml.safe_load(value)  # None is logged as 'None'
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
        try:
            sale_end = sale_start + (old_end - old_start)
        except OverflowError:
            days = (old_end - old_start).days + 1
            raise PlanError(f"sale start {sale_start}: a round of {days} days would end after "
                            "year 9999") from None
    raw["campaign_id"] = plan.next_id
    raw["display_name"] = tr("plan_display_name", raw.get("language", "en"),
                             next_id=plan.next_id, campaigns=", ".join(plan.campaigns))
    raw["sale"] = {"start": sale_start.isoformat(), "end": sale_end.isoformat()}
    raw["control_arm"] = "control"
    raw["arms"] = [{k: v for k, v in a.items() if k not in ("decision", "customers")}
                   for a in plan.arms]
    if raw.get("campaign_type") is not None:
        # the plan's wording type: coupon when its arms give coupons (pooled with coupon
        # campaigns), else the latest campaign's type
        raw["campaign_type"] = plan.campaign_type
    raw["seed"] = int(raw.get("seed", 0)) + 1
    if data_path is not None:
        raw["data"]["path"] = str(data_path)
    raw["data"]["path"] = str(raw["data"]["path"])
    try:
        CampaignParams.model_validate(raw)
    except ValidationError as exc:  # e.g. a default sale end past the last allowed day
        reasons = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'params'}: {e['msg']}"
                            for e in exc.errors())
        raise PlanError(f"the next round's params would be invalid ({reasons})") from None
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


# --- the page, plan.json and the stored plan ------------------------------------------------
def page_options(plan: Plan, raw: dict) -> dict:
    """Language, currency, name and labels of the plan page: the next round's params."""
    labels = {**plan.labels, **{a["name"]: a["label"] for a in raw["arms"] if a.get("label")}}
    return {"lang": raw.get("language", "en"),
            "currency": raw.get("costs", {}).get("currency", "CNY"),
            "display_name": raw["display_name"], "labels": labels}


def plan_json(plan: Plan, currency: str = "CNY") -> dict:
    """The plan as JSON: its summary, the next round's arms, the per-kind and per-state
    decisions, and the notes written in English."""
    return jsonable({
        **plan.summary(), "arms": plan.arms,
        "kinds": plan.kinds.to_dict(orient="records"),
        "states": plan.states.to_dict(orient="records"),
        "reasons": [reason_text(r, "en", currency, plan.labels, plan.campaign_type)
                    for r in plan.reasons],
        "reason_keys": plan.reasons,
    })


def write_outputs(plan: Plan, raw: dict, out_dir: Path, params_name: str) -> Path:
    """Write ``summary.html`` (the params' language), ``summary.<other language>.html``,
    ``plan.json`` (with the name, language, currency and draft params path the portal lists)
    and the stored plan into ``out_dir``; return the summary's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    options = page_options(plan, raw)
    summary = out_dir / "summary.html"
    for lang in LANGUAGES:
        path = summary if lang == options["lang"] else out_dir / f"summary.{lang}.html"
        atomic_write_text(path, plan_page(plan, **{**options, "lang": lang},
                                     params_path=params_name))
    listing = {"display_name": options["display_name"], "language": options["lang"],
               "currency": options["currency"], "draft_params": params_name}
    atomic_write_text(out_dir / "plan.json", json.dumps(
        {**plan_json(plan, options["currency"]), **listing}, indent=2, ensure_ascii=False))
    plan.write(out_dir)
    return summary


def publish(plan: Plan, raw: dict, params_path: Path, out_dir: Path, *,
            force: bool = False) -> tuple[Path, Path, str]:
    """Write params (atomically) and the summary; log both to MLflow. Returns (params path,
    summary path, MLflow run id)."""
    from crm_experiments.tracking.client import mlflow_client

    if params_path.exists() and not force:
        raise PlanError(f"{params_path} exists; pass --force to replace it")
    text = params_yaml(plan, raw)
    out_dir.mkdir(parents=True, exist_ok=True)
    client, exp_id = mlflow_client()
    run = client.create_run(exp_id, tags={"campaign_id": plan.next_id,
                                          "report_type": REPORT_TYPE,
                                          "source_campaigns": ",".join(plan.campaigns),
                                          "mlflow.runName": f"{plan.next_id}-plan"})
    try:
        atomic_write_text(params_path, text)
        load_params(params_path)  # what we wrote validates
        summary = write_outputs(plan, raw, out_dir, str(params_path))
        client.log_artifact(run.info.run_id, str(params_path), "plan")
        client.log_artifacts(run.info.run_id, str(out_dir), "plan")
        for key, value in plan.metrics().items():
            client.log_metric(run.info.run_id, key, value)
        client.set_terminated(run.info.run_id, "FINISHED")
    except BaseException:
        client.set_terminated(run.info.run_id, "FAILED")
        raise
    return params_path, summary, run.info.run_id

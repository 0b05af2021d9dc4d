"""The schedule's ledger: MLflow runs say which (campaign, horizon) evaluations are done."""

from __future__ import annotations


def finished_keys(client, experiment_ids: list[str], report_type: str) -> set[tuple[str, int]]:
    """(campaign_id, horizon) pairs with a FINISHED run."""
    if not experiment_ids:
        return set()
    runs = client.search_runs(
        experiment_ids,
        filter_string=f"tags.report_type = '{report_type}' and attributes.status = 'FINISHED'",
        max_results=50_000)
    return {(r.data.tags.get("campaign_id"), int(r.data.tags.get("horizon_days", -1)))
            for r in runs}


def mark_interrupted(client, exp_id: str, campaign_id: str, horizon_days: int,
                     report_type: str) -> int:
    """Mark FAILED the runs of (campaign, horizon) still RUNNING: called while holding the
    evaluation's lock, so they were left by a killed process. Returns how many."""
    runs = client.search_runs(
        [exp_id],
        filter_string=(f"tags.report_type = '{report_type}' and attributes.status = 'RUNNING' "
                       f"and tags.campaign_id = '{campaign_id}' "
                       f"and tags.horizon_days = '{horizon_days}'"))
    for r in runs:
        client.set_tag(r.info.run_id, "error", "interrupted: its process ended before finishing")
        client.set_terminated(r.info.run_id, "FAILED")
    return len(runs)

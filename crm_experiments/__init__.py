"""crm-experiments: evaluate the CRM campaigns of an online shop.

The functions a notebook needs, importable from the package root (each is loaded on first use,
so ``import crm_experiments`` stays fast):

============================  ===============================================================
``load_params(path)``         a campaign's YAML, validated
``load_shop(dir, ...)``       a data directory as typed, validated engine tables
``generate_shop(dir, p)``     a synthetic shop with known true effects (the demo)
``evaluate(p, horizon)``      the whole campaign evaluation -> ``Evaluation``
``compare_arms(df, ...)``     arm-vs-control effects on any per-customer table
``campaign_customers(...)``   the per-customer campaign table (outcomes, costs, covariates)
``economics(...)``            a campaign's money per arm (the one computation of it)
``lifecycle_states(o, d)``    each customer's lifecycle state at a date
``rfm(orders, as_of)``        RFM scores per customer
``campaign_clv(shop, p, h)``  incremental CLV and churn scorers of a campaign -> ``CampaignCLV``
``analyse_campaign_uplift``   a campaign's coupon uplift and targeting -> ``UpliftAnalysis``
``analyse_uplift(df, ...)``   uplift models, Qini/AUUC and targeting on any table
``render_page(result)``       the HTML page of a result, as the report shows it
``run_evaluation(path, h)``   notebooks -> results -> report pages -> MLflow, as ``crm-exp run``
============================  ===============================================================

Results share one protocol (:mod:`crm_experiments.analyses.result`): ``summary()``,
``tables()``, ``metrics()``, ``to_frame()``, ``write(dir)`` / ``read(dir)``, and a compact
display in JupyterLab.

>>> import crm_experiments as crm
>>> "evaluate" in crm.__all__ and "compare_arms" in dir(crm)
True
>>> crm.load_params.__module__
'crm_experiments.params'
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: public name -> module that defines it
_EXPORTS = {
    "load_params": "crm_experiments.params",
    "CampaignParams": "crm_experiments.params",
    "load_shop": "crm_experiments.io.reader",
    "collect": "crm_experiments.io.engine",
    "ShopData": "crm_experiments.io.reader",
    "generate_shop": "crm_experiments.demo.generator",
    "evaluate": "crm_experiments.analyses.campaign",
    "Evaluation": "crm_experiments.analyses.campaign",
    "compare_arms": "crm_experiments.stats.table",
    "campaign_customers": "crm_experiments.metrics.campaign",
    "economics": "crm_experiments.analyses.economics",
    "lifecycle_states": "crm_experiments.metrics.lifecycle",
    "rfm": "crm_experiments.metrics.rfm",
    "campaign_clv": "crm_experiments.analyses.clv",
    "CampaignCLV": "crm_experiments.analyses.clv",
    "analyse_campaign_uplift": "crm_experiments.analyses.uplift",
    "UpliftAnalysis": "crm_experiments.analyses.uplift",
    "analyse_uplift": "crm_experiments.uplift",
    "render_page": "crm_experiments.report.pages",
    "run_evaluation": "crm_experiments.pipeline.runner",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'crm_experiments' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])

"""The next round of the plan, learned from every finished campaign evaluation in MLflow.

:func:`~crm_experiments.plan.gather.gather_evaluations` reads each run's stored evaluation
through its declared schema, :func:`~crm_experiments.plan.decide.build_plan` compares, pools
(random-effects meta-analysis) and decides (a :class:`~crm_experiments.plan.decide.Plan`
result), and :mod:`crm_experiments.plan.output` writes the next campaign's params, the plan page
(:mod:`crm_experiments.report.plan_page`) and the MLflow run.
"""

"""The next round of the plan, learned from every finished campaign evaluation in MLflow.

:func:`~crm_experiments.plan.gather.gather_evaluations` reads the runs and their result tables,
:func:`~crm_experiments.plan.decide.build_plan` compares, pools (random-effects meta-analysis)
and decides, :mod:`crm_experiments.plan.output` writes the next campaign's params, the manager
summary and the MLflow run.
"""

"""Coupon uplift: per-arm money, multi-treatment uplift learners, Qini evaluation and the
next-round targeting policy (see :mod:`crm_experiments.uplift.model`)."""

from crm_experiments.uplift.evaluation import auuc, qini_coefficient, qini_curve, uplift_curve
from crm_experiments.uplift.features import FeatureEncoder, FeatureError
from crm_experiments.uplift.learners import DRLearner, TLearner, XLearner, make_learner
from crm_experiments.uplift.model import (
    UpliftInputError,
    UpliftModel,
    UpliftResult,
    analyse_uplift,
)
from crm_experiments.uplift.policy import arm_money, policy_values, recommend

__all__ = [
    "DRLearner", "FeatureEncoder", "FeatureError", "TLearner", "UpliftInputError", "UpliftModel",
    "UpliftResult", "XLearner", "analyse_uplift", "arm_money", "auuc", "make_learner",
    "policy_values", "qini_coefficient", "qini_curve", "recommend", "uplift_curve",
]

"""Uplift features come from what the data hold: empty, constant and absent columns are left
out with the reason."""

import numpy as np
import pandas as pd

from crm_experiments.uplift.features import usable_features


def test_empty_constant_and_missing_columns_are_left_out():
    df = pd.DataFrame({"gender": [None, None, None], "tier": ["gold", "gold", None],
                       "pre_orders": [0, 2, 1], "province": pd.Series([np.nan] * 3),
                       "state": ["new", "lost", "new"]})
    kept, dropped = usable_features(df, ["pre_orders", "gender", "tier", "province", "state",
                                         "birthday"])
    assert kept == ["pre_orders", "state"]
    assert dropped == [("gender", "empty"), ("tier", "constant"), ("province", "empty"),
                       ("birthday", "missing")]


def test_nothing_usable():
    kept, dropped = usable_features(pd.DataFrame({"a": [1, 1]}), ["a"])
    assert kept == [] and dropped == [("a", "constant")]

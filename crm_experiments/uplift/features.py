"""Turn any per-customer feature columns into a numeric matrix for gradient boosting.

:class:`FeatureEncoder` follows scikit-learn's transformer conventions (``fit`` /
``transform``, state in attributes ending in ``_``). Per column it decides once, in ``fit``:

* numbers and booleans stay numbers (a missing value stays NaN: histogram gradient boosting
  routes it to its own branch);
* dates and timestamps become days since 1970-01-01 (a number);
* text that is all numbers (``"12"``, ``"3.5"``) becomes a number;
* other text and categorical columns become **category codes** ``0..k-1`` in order of
  frequency, flagged in :attr:`FeatureEncoder.categorical_mask_` so that
  ``HistGradientBoosting*(categorical_features=mask)`` splits on them as categories, not as
  ordered numbers. At most ``max_categories`` (254: the estimator's limit is 255 including the
  "other" bucket) are kept; rarer values and values first seen in ``transform`` share the last
  code ("other"); a missing value is NaN.

>>> df = pd.DataFrame({"state": ["lost", "active", "lost"], "spend": [1.0, None, 3.0]})
>>> enc = FeatureEncoder().fit(df)
>>> enc.transform(pd.DataFrame({"state": ["active", "new"], "spend": [2.0, 0.0]})).tolist()
[[1.0, 2.0], [2.0, 0.0]]
>>> enc.categorical_mask_.tolist()
[True, False]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from crm_experiments.errors import CrmError


class FeatureError(CrmError):
    """Feature columns cannot be used (names the table, the column and why)."""


def _as_number(s: pd.Series) -> pd.Series | None:
    """The column as float64 if it is numeric, boolean, a date, or text holding only numbers."""
    if pd.api.types.is_bool_dtype(s):
        return s.astype("float64")
    if pd.api.types.is_numeric_dtype(s):
        return pd.to_numeric(s, errors="coerce").astype("float64")
    if pd.api.types.is_datetime64_any_dtype(s):
        values = s.dt.tz_convert("UTC").dt.tz_localize(None) if s.dt.tz is not None else s
        days = (values - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
        return days.astype("float64")
    present = s.dropna()
    if present.empty:
        return None
    distinct = pd.Series(present.unique())  # each distinct text checked once
    converted = pd.to_numeric(distinct.astype(str).str.strip(), errors="coerce")
    if converted.notna().all():
        return pd.to_numeric(s.astype("string").str.strip(), errors="coerce").astype("float64")
    return None


class FeatureEncoder(TransformerMixin, BaseEstimator):
    """Encode the columns ``columns`` (default: all) of a DataFrame; see the module docstring."""

    def __init__(self, columns: Sequence[str] | None = None, max_categories: int = 254,
                 source: str = "table"):
        self.columns = columns
        self.max_categories = max_categories
        self.source = source

    def _check(self, X: pd.DataFrame) -> list[str]:
        if not isinstance(X, pd.DataFrame):
            raise FeatureError(f"{self.source}: features must be a pandas DataFrame, "
                               f"got {type(X).__name__}")
        cols = list(X.columns) if self.columns is None else list(self.columns)
        missing = [c for c in cols if c not in X.columns]
        if missing:
            raise FeatureError(f"{self.source}: feature column(s) {', '.join(map(repr, missing))} "
                               f"not found; columns are {', '.join(map(str, X.columns))}")
        if not cols:
            raise FeatureError(f"{self.source}: no feature column given")
        return cols

    def fit(self, X: pd.DataFrame, y=None) -> FeatureEncoder:
        cols = self._check(X)
        kinds, categories = {}, {}
        for c in cols:
            s = X[c]
            if s.isna().all():
                raise FeatureError(f"{self.source}: feature column '{c}' is empty (all values "
                                   "missing); drop it from the features")
            if _as_number(s) is not None:
                kinds[c] = "number"
                continue
            counts = s.dropna().astype(str).value_counts(sort=True)
            kept = list(counts.index[: self.max_categories])
            kinds[c] = "category"
            categories[c] = kept
        self.feature_names_in_ = np.array(cols, dtype=object)
        self.n_features_in_ = len(cols)
        self.kinds_ = kinds
        self.categories_ = categories
        self.categorical_mask_ = np.array([kinds[c] == "category" for c in cols])
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        cols = self._check(X)
        fitted = list(self.feature_names_in_)
        if cols != fitted and not set(fitted) <= set(X.columns):
            raise FeatureError(f"{self.source}: expected feature columns {fitted}")
        out = np.empty((len(X), len(fitted)), dtype="float64")
        for j, c in enumerate(fitted):
            s = X[c]
            if self.kinds_[c] == "number":
                values = _as_number(s)
                if values is None:
                    if s.isna().all():
                        values = pd.Series(np.nan, index=s.index)
                    else:
                        bad = s.dropna().iloc[0]
                        raise FeatureError(f"{self.source}: feature column '{c}' was numeric "
                                           f"when the model was fitted but holds {bad!r}")
                out[:, j] = values.to_numpy(dtype="float64", na_value=np.nan)
            else:
                cats = self.categories_[c]
                # map each distinct value once; a value not kept in fit is "other"
                values, distinct = pd.factorize(s.astype("string"))
                lookup = pd.Index(cats, dtype=object).get_indexer(
                    np.asarray(distinct, dtype=object)).astype("float64")
                lookup[lookup < 0] = len(cats)
                present = values >= 0                 # factorize codes a missing value -1
                out[:, j] = np.nan
                out[present, j] = lookup[values[present]]
        return out

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return self.feature_names_in_.copy()


def usable_features(df: pd.DataFrame, columns: Sequence[str]
                    ) -> tuple[list[str], list[tuple[str, str]]]:
    """The columns of ``columns`` a model can learn from, and the others with why:
    ``(kept, [(column, "missing" | "empty" | "constant"), ...])``. A column is empty when every
    value is missing (an optional column the data do not hold), constant when it has one value
    (missing values aside)."""
    kept: list[str] = []
    dropped: list[tuple[str, str]] = []
    for c in columns:
        if c not in df.columns:
            dropped.append((c, "missing"))
            continue
        present = df[c].dropna()
        if present.empty:
            dropped.append((c, "empty"))
        elif present.nunique() < 2:
            dropped.append((c, "constant"))
        else:
            kept.append(c)
    return kept, dropped

"""Save fitted models as MLflow pyfunc models that load back and predict identically.

``save_model(obj, path)`` writes ``path`` with ``mlflow.pyfunc.save_model`` and a small
``PythonModel`` of ours; ``mlflow.pyfunc.load_model(path)`` (or ``<run artifact uri>/...``)
gives it back. What is stored is plain parameters (JSON-able dicts) for the BTYD and spend
models, so nothing depends on lifetimes' pickles; the churn classifier is a scikit-learn object.

Inputs and outputs of ``predict``:

* CLV model (purchase model + optional Gamma-Gamma): a frame with ``frequency``, ``recency``,
  ``T`` (and ``monetary_value`` for spend) in the model's time unit; returns ``p_alive``,
  ``expected_purchases_<m>m``, ``expected_spend`` and ``clv_<m>m`` for its horizons.
* churn classifier: a frame with the features it was trained on; returns ``p_churn``.
"""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc
import pandas as pd

PIP_REQUIREMENTS = ["mlflow", "lifetimes>=0.11.3", "pandas", "numpy", "scipy", "scikit-learn"]


class CLVPyfunc(mlflow.pyfunc.PythonModel):
    """Purchase model (+ spend model) from their parameter dicts."""

    def __init__(self, spec: dict):
        self.spec = spec

    def _models(self):
        from crm_experiments.models.btyd import PurchaseModel
        from crm_experiments.models.gamma_gamma import GammaGammaModel
        pm = PurchaseModel.from_dict(self.spec["purchase"])
        gg = GammaGammaModel.from_dict(self.spec["spend"]) if self.spec.get("spend") else None
        return pm, gg

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        from crm_experiments.models.clv import customer_clv
        pm, gg = self._models()
        if gg is None:
            out = pd.DataFrame(index=model_input.index)
            out["p_alive"] = pm.p_alive(model_input)
            for m in self.spec.get("months", (12,)):
                t = m * 365.25 / 12 / self.spec["unit_days"]
                out[f"expected_purchases_{m}m"] = pm.expected_purchases(t, model_input)
            return out
        return customer_clv(pm, gg, model_input, months=tuple(self.spec["months"]),
                            annual_discount_rate=self.spec["annual_discount_rate"],
                            unit=self.spec["unit"])


class ClassifierPyfunc(mlflow.pyfunc.PythonModel):
    """A fitted scikit-learn classifier scoring P(churn)."""

    def __init__(self, classifier, features: list[str]):
        self.classifier = classifier
        self.features = list(features)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        p = self.classifier.predict_proba(model_input[self.features])[:, 1]
        return pd.DataFrame({"p_churn": p}, index=model_input.index)


def save_model(python_model: mlflow.pyfunc.PythonModel, path: str | Path) -> Path:
    """Save with ``mlflow.pyfunc.save_model`` (replacing nothing: ``path`` must not exist)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mlflow.pyfunc.save_model(path=str(path), python_model=python_model,
                             pip_requirements=PIP_REQUIREMENTS)
    return path


def clv_pyfunc(purchase_model, spend_model=None, *, months=(3, 6, 12),
               annual_discount_rate: float = 0.10) -> CLVPyfunc:
    from crm_experiments.models.features import unit_days
    unit = purchase_model.unit_ if purchase_model.unit_ in ("day", "week") else "week"
    return CLVPyfunc({"purchase": purchase_model.to_dict(),
                      "spend": spend_model.to_dict() if spend_model is not None else None,
                      "months": list(months), "annual_discount_rate": annual_discount_rate,
                      "unit": unit, "unit_days": unit_days(unit)})


def load_model(path: str | Path):
    """``mlflow.pyfunc.load_model`` (for symmetry)."""
    return mlflow.pyfunc.load_model(str(path))

"""Shared fixtures: small generated demo shops and campaign YAML files pointing at them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from crm_experiments.demo.generator import generate_shop
from crm_experiments.params import load_params

REPO = Path(__file__).resolve().parents[1]
DEMO_PARAMS = REPO / "params" / "demo.yaml"


def write_params(path: Path, data_dir: Path, **overrides) -> Path:
    """The demo's params with ``data.path`` and ``overrides``. The demo's shop-wide holdout
    is left out unless ``shop_holdout`` is given: its members would leave the campaign, and
    the test shops keep the campaign exactly as the tests measured it (the holdout's own
    tests declare one)."""
    raw = yaml.safe_load(DEMO_PARAMS.read_text(encoding="utf-8"))
    raw.pop("shop_holdout", None)
    raw["data"]["path"] = str(data_dir)
    raw.update(overrides)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def _generated_shop(tmp_path_factory, name: str, n_customers: int) -> Path:
    root = tmp_path_factory.mktemp(name)
    params_file = write_params(root / f"{name}.yaml", root / "data")
    generate_shop(root / "data", load_params(params_file), n_customers=n_customers)
    return params_file


@pytest.fixture(scope="session")
def small_shop(tmp_path_factory) -> Path:
    """A 4,000-customer demo shop (the notebook test size)."""
    return _generated_shop(tmp_path_factory, "small_shop", 4_000)


@pytest.fixture(scope="session")
def medium_shop(tmp_path_factory) -> Path:
    """A 30,000-customer demo shop, large enough to check estimates against the truth."""
    return _generated_shop(tmp_path_factory, "medium_shop", 30_000)


@pytest.fixture
def tracking(tmp_path, monkeypatch) -> str:
    """An isolated MLflow store for one test."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    return uri

"""Where runs are tracked: the environment's URI, else the project's local store."""

from __future__ import annotations

from crm_experiments.tracking import client


def test_a_notebook_folder_finds_the_projects_store(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (tmp_path / "mlflow.db").write_bytes(b"")
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    monkeypatch.chdir(notebooks)
    assert client.tracking_uri() == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"


def test_without_a_store_one_is_made_here(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    assert client.local_store() == tmp_path.resolve() / "mlflow.db"


def test_the_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    assert client.tracking_uri() == "http://127.0.0.1:5999"


def test_artifacts_go_beside_the_store(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'sub' / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    mlflow_client, exp_id = client.mlflow_client()
    location = mlflow_client.get_experiment(exp_id).artifact_location
    assert location == (tmp_path / "sub" / "mlartifacts").as_uri()

"""Tracking: the one module that talks to MLflow (client, runs, registry, the schedule ledger)."""

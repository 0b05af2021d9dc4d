"""The DuckDB connection: threads, settings."""

import pytest

from crm_experiments.io import engine


@pytest.mark.parametrize(("cores", "expected"), [(1, 1), (2, 3), (3, 3), (8, 8), (None, 1)])
def test_default_threads_raises_two_cores_to_three(monkeypatch, cores, expected):
    monkeypatch.setattr(engine.os, "cpu_count", lambda: cores)
    assert engine.default_threads() == expected


def _setting(con, name):
    return con.raw_sql(f"SELECT current_setting('{name}')").fetchone()[0]


def test_connect_uses_default_threads_unless_told(monkeypatch):
    monkeypatch.setattr(engine.os, "cpu_count", lambda: 2)
    assert _setting(engine.connect(), "threads") == 3
    assert _setting(engine.connect(threads=1), "threads") == 1


def test_connect_keeps_file_order_and_memory_limit():
    con = engine.connect(memory_limit="1GB")
    assert _setting(con, "preserve_insertion_order") is True
    assert _setting(con, "memory_limit").replace(" ", "") in {"1GB", "953.6MiB"}


def test_memory_limit_from_the_environment_unless_given(monkeypatch):
    """CRM_EXPERIMENTS_DUCKDB_MEMORY_LIMIT bounds every connection that names no limit (the
    runner's staging and the kernels', which inherit it); a given limit wins."""
    monkeypatch.setenv(engine.MEMORY_LIMIT_ENV, "3GB")
    assert _setting(engine.connect(), "memory_limit") == "2.7 GiB"   # DuckDB prints GiB
    assert _setting(engine.connect("1GB"), "memory_limit") == "953.6 MiB"

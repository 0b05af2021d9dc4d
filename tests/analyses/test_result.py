"""StoredResult reads its tables lazily: a page that needs aggregates never reads the rest."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_experiments.analyses import result as result_module
from crm_experiments.analyses.result import ResultMixin, ResultSchemaError


class _Toy(ResultMixin):
    KIND = "toy"
    SCHEMA = {"totals": ("arm", "n"), "customers": ("customer_id",)}
    MAIN_TABLE = "totals"

    def summary(self) -> dict:
        return {"label": "toy"}

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"totals": pd.DataFrame({"arm": ["a", "b"], "n": [1, 2]}),
                "customers": pd.DataFrame({"customer_id": ["c1", "c2", "c3"],
                                           "revenue": [1.0, 2.0, 3.0]})}

    def metrics(self) -> dict[str, float]:
        return {"n": 3.0}


def test_tables_are_read_when_first_used_and_once(tmp_path, monkeypatch):
    folder = _Toy().write(tmp_path / "toy")
    reads: list[str] = []
    real = pd.read_parquet

    def counting(path, *args, **kwargs):
        reads.append(path.stem)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(result_module.pd, "read_parquet", counting)
    stored = _Toy.read(folder)
    assert reads == []  # the schema is checked from the Parquet footers
    tables = stored.tables()
    assert set(tables) == {"totals", "customers"} and "customers" in tables
    assert list(stored.to_frame()["n"]) == [1, 2]
    assert tables.get("missing") is None and reads == ["totals"]
    assert list(tables["totals"]["arm"]) == ["a", "b"] and reads == ["totals"]
    pd.testing.assert_frame_equal(stored.table("customers"), _Toy().tables()["customers"])
    assert reads == ["totals", "customers"]


def test_a_declared_column_missing_from_the_file_is_a_schema_error(tmp_path):
    folder = _Toy().write(tmp_path / "toy")
    pd.DataFrame({"id": ["c1"]}).to_parquet(folder / "tables" / "customers.parquet")
    with pytest.raises(ResultSchemaError, match=r"customers.parquet: missing column\(s\) "
                                                r"customer_id"):
        _Toy.read(folder)


def test_read_not_lazy_reads_every_table_so_the_folder_may_go(tmp_path):
    import shutil

    folder = _Toy().write(tmp_path / "toy")
    stored = _Toy.read(folder, lazy=False)
    shutil.rmtree(folder)
    assert list(stored.tables()["totals"]["n"]) == [1, 2]
    assert len(stored.table("customers")) == 3

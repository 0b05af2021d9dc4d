"""The run's chart folder (report/chart_cache.py): a chart is drawn once per exact input, an
input that differs in any way is drawn again, and nothing is kept outside a run."""

import numpy as np
import pandas as pd

from crm_experiments.report.chart_cache import CHART_CACHE_ENV, cached_chart, chart_key


def _frame():
    return pd.DataFrame({"arm": ["a", "b"], "x": [1.0, 2.5], "n": [3, 4]})


def test_key_changes_with_any_input():
    base = chart_key("c", (_frame(),), {"lang": "en"})
    assert base == chart_key("c", (_frame(),), {"lang": "en"})
    other = _frame()
    other.loc[1, "x"] = 2.5000000001
    as_float = _frame().astype({"n": float})  # same numbers, another dtype (a round trip)
    renamed = _frame().rename(columns={"x": "y"})
    reindexed = _frame().set_index(pd.Index([5, 6]))
    assert len({base, chart_key("c", (other,), {"lang": "en"}),
                chart_key("c", (as_float,), {"lang": "en"}),
                chart_key("c", (renamed,), {"lang": "en"}),
                chart_key("c", (reindexed,), {"lang": "en"}),
                chart_key("c", (_frame(),), {"lang": "zh"}),
                chart_key("d", (_frame(),), {"lang": "en"})}) == 7
    assert chart_key("c", (object(),), {}) is None  # unknown input: not cached
    assert chart_key("c", (np.float64(1.0),), {}) != chart_key("c", (1.0,), {})


def test_drawn_once_per_run_folder(tmp_path, monkeypatch):
    calls = []

    @cached_chart
    def chart(frame, *, lang):
        calls.append(lang)
        return f"data:image/png;base64,{len(calls)}"

    monkeypatch.delenv(CHART_CACHE_ENV, raising=False)
    chart(_frame(), lang="en")
    chart(_frame(), lang="en")
    assert len(calls) == 2 and not list(tmp_path.iterdir())  # outside a run: nothing kept

    monkeypatch.setenv(CHART_CACHE_ENV, str(tmp_path / "charts"))
    first = chart(_frame(), lang="en")
    assert chart(_frame(), lang="en") == first and len(calls) == 3
    assert chart(_frame(), lang="zh") != first and len(calls) == 4
    assert len(list((tmp_path / "charts").glob("*.uri"))) == 2

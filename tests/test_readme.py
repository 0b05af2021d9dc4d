"""The README's Python snippets (the notebook tour, the pseudonymous-id recipe) run as written:
a doctest, from the repository's root."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_readme_tour(monkeypatch):
    monkeypatch.chdir(ROOT)
    # the pseudonymisation recipe takes its key from the environment, not the user's key file
    monkeypatch.setenv("CRM_EXP_PSEUDONYM_KEY", "a-test-key-that-is-long-enough-0123456789")
    result = doctest.testfile(str(ROOT / "README.md"), module_relative=False,
                              optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 15
    assert result.failed == 0

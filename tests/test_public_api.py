"""The package root's exports: every name resolves to the object its module defines."""

from __future__ import annotations

import importlib

import pytest

import crm_experiments


@pytest.mark.parametrize("name", crm_experiments.__all__)
def test_export_resolves(name):
    module = importlib.import_module(crm_experiments._EXPORTS[name])
    assert getattr(crm_experiments, name) is getattr(module, name)


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        crm_experiments.nope  # noqa: B018

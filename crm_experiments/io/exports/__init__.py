"""Adapters for shop exports (Taobao/Tmall order report, Shopify orders export).

``crm-exp import --format taobao|shopify FILE [FILE ...] --out DATA_DIR`` writes the canonical
``orders`` and ``customers`` tables with pseudonymous customer ids; see
:mod:`.importer` (merging, atomic writing), :mod:`.taobao` and :mod:`.shopify` (column and
status mappings), :mod:`.pseudonymise` (the key) and :mod:`._parse` (encodings, amounts,
dates).
"""

from crm_experiments.io.exports.importer import ImportResult, import_exports

__all__ = ["ImportResult", "import_exports"]

"""Pseudonymous customer ids: a keyed hash of the buyer's nick or email.

``customer_id = "c_" + HMAC-SHA256(key, "<source>:<normalised identifier>")[:16 hex]``

* The key comes from the environment variable ``CRM_EXP_PSEUDONYM_KEY`` (at least 16
  characters) or from a key file: ``CRM_EXP_PSEUDONYM_KEY_FILE`` if set, else
  ``~/.config/crm-experiments/pseudonym.key``. A missing key file is created with 32 random
  bytes (hex) and mode 0600. The key is never printed, logged or written anywhere else; keep
  the key file (or the variable) to get the same ids in later imports, and keep it out of the
  data directory, the reports and version control.
* The same buyer gets the same id across imports as long as the key is the same. Without the
  key the id cannot be linked back to the nick or email (64 bits of an HMAC).
* ``source`` separates namespaces (``taobao`` nicks, ``shopify`` emails), so a nick that
  happens to equal an email of another shop does not merge two people.
* Normalisation: Unicode NFKC and surrounding whitespace removed; emails are lower-cased.

>>> p = Pseudonymiser(b"0123456789abcdef0123456789abcdef")
>>> p.customer_id("taobao", " 小明 ") == p.customer_id("taobao", "小明")
True
>>> p.customer_id("shopify", "Ann@Example.com") == p.customer_id("shopify", "ann@example.com")
True
>>> p.customer_id("taobao", "ann") != p.customer_id("shopify", "ann")
True
>>> len(p.customer_id("taobao", "x")), p.customer_id("taobao", "x")[:2]
(18, 'c_')
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from crm_experiments.errors import CrmError

KEY_ENV = "CRM_EXP_PSEUDONYM_KEY"
KEY_FILE_ENV = "CRM_EXP_PSEUDONYM_KEY_FILE"
DEFAULT_KEY_FILE = Path("~/.config/crm-experiments/pseudonym.key")
PREFIX = "c_"
#: Prefix of pseudonymised discount codes.
CODE_PREFIX = "d_"
HEX_CHARS = 16
MIN_KEY_CHARS = 16


@dataclass(frozen=True)
class KeySource:
    """Where the key came from (for messages; never the key itself)."""

    description: str
    created: bool = False
    warning: str | None = None


def key_file_path() -> Path:
    return Path(os.environ.get(KEY_FILE_ENV) or DEFAULT_KEY_FILE).expanduser()


def load_key() -> tuple[bytes, KeySource]:
    """The pseudonymisation key and a description of its source (see the module doc)."""
    env = os.environ.get(KEY_ENV)
    if env is not None:
        if len(env.strip()) < MIN_KEY_CHARS:
            raise CrmError(f"{KEY_ENV} is set but shorter than {MIN_KEY_CHARS} characters; "
                           "use a long random value (e.g. `openssl rand -hex 32`)")
        return env.strip().encode("utf-8"), KeySource(f"environment variable {KEY_ENV}")
    path = key_file_path()
    created = False
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # created by a concurrent import: read it below
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secrets.token_hex(32) + "\n")
            created = True
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise CrmError(f"cannot read the pseudonym key file {path}: {exc.strerror}") from exc
    if len(text) < MIN_KEY_CHARS:
        raise CrmError(f"the pseudonym key file {path} holds fewer than {MIN_KEY_CHARS} "
                       "characters; delete it to have a new key created (ids will change)")
    warning = None
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        warning = (f"the pseudonym key file {path} can be read by other users; "
                   f"run `chmod 600 {path}`")
    return text.encode("utf-8"), KeySource(f"key file {path}", created, warning)


def normalise(source: str, identifier: str) -> str:
    text = unicodedata.normalize("NFKC", identifier).strip()
    if source == "shopify" or "@" in text:
        text = text.lower()
    return text


class Pseudonymiser:
    """Maps buyer identifiers to stable pseudonymous customer ids with a secret key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_CHARS:
            raise CrmError(f"pseudonym key must have at least {MIN_KEY_CHARS} bytes")
        self._key = key

    def __repr__(self) -> str:  # never show the key
        return "Pseudonymiser(key=<hidden>)"

    def customer_id(self, source: str, identifier: str) -> str:
        message = f"{source}:{normalise(source, identifier)}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).hexdigest()
        return PREFIX + digest[:HEX_CHARS]

    def code_id(self, source: str, code: str) -> str:
        """A discount code as a pseudonymous id: ``"d_" + HMAC-SHA256(key, "<source>:code:
        <code>")[:16 hex]``, the code NFKC-normalised, stripped and upper-cased (Shopify codes
        are case-insensitive). Every code is pseudonymised, none kept: a merchant's codes are
        free text (``VIP-ANNLEE``) and no pattern tells a campaign code from a person's name.

        >>> p = Pseudonymiser(b"0123456789abcdef0123456789abcdef")
        >>> p.code_id("shopify", "vip-annlee") == p.code_id("shopify", " VIP-ANNLEE ")
        True
        >>> p.code_id("shopify", "VIP-ANNLEE")[:2], "ANN" in p.code_id("shopify", "VIP-ANNLEE")
        ('d_', False)
        """
        text = unicodedata.normalize("NFKC", code).strip().upper()
        digest = hmac.new(self._key, f"{source}:code:{text}".encode(), hashlib.sha256)
        return CODE_PREFIX + digest.hexdigest()[:HEX_CHARS]

    def map(self, source: str, identifiers: Iterable[str]) -> dict[str, str]:
        """``{identifier: customer_id}`` for the distinct identifiers given."""
        return {i: self.customer_id(source, i) for i in dict.fromkeys(identifiers)}


def default_pseudonymiser() -> tuple[Pseudonymiser, KeySource]:
    key, source = load_key()
    return Pseudonymiser(key), source


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{5,}[0-9]$")
_PLAIN = re.compile(r"^[A-Za-z0-9_.:\-]+$")
#: Starts with a letter and holds only _PLAIN's characters: no e-mail, phone number or nick in
#: another script.
_SAFE = re.compile(r"^[A-Za-z][A-Za-z0-9_.:\-]*$")


def personal_id_reason(ids: Iterable[object]) -> str | None:
    """Why ``ids`` may hold personal identifiers, or None when none looks personal.

    A screen, not a proof (the data contract wants pseudonymous ids; :class:`Pseudonymiser`
    makes them): an id shaped like an e-mail address, like a phone number (7 or more digits,
    with at most ``+``, spaces, brackets and dashes), or holding anything but ASCII letters,
    digits and ``_ . : -`` (a nick or a name, in any script) is reported, by how many ids and
    which shape, never by the id itself. The import's ids (``c_`` + hex) and the demo's pass.

    >>> personal_id_reason(["c_0123456789abcdef", "C000017"]) is None
    True
    >>> personal_id_reason(["ann@example.com", "c_0123456789abcdef"])
    '1 customer id(s) shaped like an e-mail address'
    >>> personal_id_reason(["+86 138 0013 8000"])
    '1 customer id(s) shaped like a phone number'
    >>> personal_id_reason(["买家小王", "tb user"])
    '2 customer id(s) with characters other than ASCII letters, digits and _.:- (a nick or name?)'
    """
    counts = {"e-mail": 0, "phone": 0, "other": 0}
    for value in ids:
        text = str(value)
        if _SAFE.match(text):  # the common case, one test per id (millions on a large shop)
            continue
        if _EMAIL.match(text):
            counts["e-mail"] += 1
        elif _PHONE.match(text) and sum(c.isdigit() for c in text) >= 7:
            counts["phone"] += 1
        elif not _PLAIN.match(text):
            counts["other"] += 1
    shapes = {"e-mail": "shaped like an e-mail address", "phone": "shaped like a phone number",
              "other": "with characters other than ASCII letters, digits and _.:- "
                       "(a nick or name?)"}
    found = [f"{n} customer id(s) {shapes[k]}" for k, n in counts.items() if n]
    return "; ".join(found) or None


def personal_id_reason_of_column(column) -> str | None:
    """:func:`personal_id_reason` of a pyarrow text column (e.g. a stored table's
    ``customer_id``) without a Python string per id: the ids that match the safe shape are
    dropped in Arrow (RE2, whose ``$`` is stricter than Python's, so nothing unsafe is
    dropped), the rest are screened by :func:`personal_id_reason` itself. Nulls are not ids.
    Another column type: every value through :func:`personal_id_reason`.

    >>> import pyarrow as pa
    >>> personal_id_reason_of_column(pa.chunked_array([["C0001", None, "ann@example.com"]]))
    '1 customer id(s) shaped like an e-mail address'
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        column = column.filter(pc.invert(pc.match_substring_regex(column, _SAFE.pattern)))
    return personal_id_reason(column.to_pylist())

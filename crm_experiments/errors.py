"""Exceptions with messages a user can act on: which file, column, rows, and which rule."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Literal


class CrmError(Exception):
    """Base class of the errors crm-experiments raises on purpose (clear message, no traceback)."""


class ParamsError(CrmError):
    """A campaign parameters file is missing, unreadable or invalid."""


@dataclass(frozen=True)
class Finding:
    """One broken rule in one column of one input file.

    ``rows`` are 1-based data row numbers (the header is not counted; in a CSV file data row
    ``r`` is on line ``r + 1``); only the first few are kept, ``n_rows`` counts them all.
    """

    file: str
    rule: str
    message: str
    column: str | None = None
    rows: tuple[int, ...] = ()
    n_rows: int = 0
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        parts = [self.file]
        if self.column is not None:
            parts.append(f"column '{self.column}'")
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows)
            hidden = self.n_rows - len(self.rows)
            more = f" and {hidden} more" if hidden > 0 else ""
            parts.append(f"row{'s' if self.n_rows > 1 else ''} {shown}{more}")
        return f"{self.severity.upper()} {', '.join(parts)}: [{self.rule}] {self.message}"


@dataclass
class DataValidationError(CrmError):
    """Raised when input data breaks the data contract; carries every error finding."""

    findings: list[Finding] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        errors = [f for f in self.findings if f.severity == "error"]
        head = f"{len(errors)} data error{'s' if len(errors) != 1 else ''} found:"
        return "\n".join([head, *(f"  {f}" for f in errors)])


class AnalysisSkipped(CrmError):
    """An analysis that cannot run on this shop's data (not a bug, not bad data): the report
    replaces its page with a note saying why, and the run still finishes.

    ``key`` is a text of the report's translation table, ``facts`` the values it mentions
    (text and numbers). The message ends with ``[key: {facts as JSON}]`` so that the runner
    can read them back from a notebook's error text (:meth:`parse`).
    """

    def __init__(self, key: str, message: str, **facts: object):
        self.key = key
        self.message = message
        self.facts = {k: v if isinstance(v, int | float) else str(v) for k, v in facts.items()}
        super().__init__(f"{message} [{key}: {json.dumps(self.facts, sort_keys=True)}]")

    @staticmethod
    def parse(text: str) -> tuple[str, dict] | None:
        """``(key, facts)`` of a message made by this class, else None."""
        found = re.search(r"\[(\w+): (\{.*\})\]\s*$", text or "", flags=re.S)
        if found is None:
            return None
        try:
            facts = json.loads(found.group(2))
        except ValueError:
            return None
        return (found.group(1), facts) if isinstance(facts, dict) else None

"""How the import commands report data they refuse (shared by ``import`` and ``lists``)."""

from __future__ import annotations

import sys

from crm_experiments.errors import DataValidationError


def print_refusal(exc: DataValidationError, target: object) -> int:
    """Every finding (errors first) on stderr, then the count and that nothing was written to
    ``target``; returns the exit code 1."""
    findings = sorted(exc.findings, key=lambda f: f.severity != "error")
    for f in findings:
        print(f, file=sys.stderr)
    n_err = sum(f.severity == "error" for f in findings)
    print(f"FAILED: {n_err} error{'s' if n_err != 1 else ''}; nothing was written to {target}",
          file=sys.stderr)
    return 1

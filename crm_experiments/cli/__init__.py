"""Command line: ``crm-exp`` and one thin module per subcommand."""

from crm_experiments.cli.main import main

__all__ = ["main"]

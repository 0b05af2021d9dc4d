"""``python -m crm_experiments.cli`` = ``crm-exp``."""

import sys

from crm_experiments.cli.main import program

sys.exit(program())

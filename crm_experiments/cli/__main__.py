"""``python -m crm_experiments.cli`` = ``crm-exp``."""

import sys

from crm_experiments.cli.main import main

sys.exit(main())

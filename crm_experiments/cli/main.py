"""The ``crm-exp`` command line.

Each subcommand lives in ``crm_experiments/cli/<name>.py`` with two functions,
``configure(parser)`` and ``run(args) -> int``; this module only dispatches. Errors raised on
purpose (:class:`~crm_experiments.errors.CrmError`) are printed without a traceback and exit 2.
An option that takes one value and is given twice is refused (exit 2), never silently replaced
by the last value; options that collect values (``action="append"``: ``--metric``,
``--horizon``) keep every value.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import os
import sys

from crm_experiments.errors import CrmError

SUBCOMMANDS = {
    "validate": "check a data directory against the data contract",
    "run": "evaluate one campaign at one horizon (notebook, report, MLflow run)",
    "demo": "generate the demo shop and evaluate it at every horizon",
    "generate": "generate a synthetic shop with known true effects",
    "metrics": "lifecycle and stickiness metrics of a shop at a date",
    "compare": "arm-vs-control effects on any per-customer table",
    "clv": "fit and validate CLV and churn models",
    "uplift": "coupon uplift models and next-round targeting",
    "due": "list the evaluations that are due",
    "schedule": "run the evaluations that are due",
    "plan": "derive the next round of the plan from past campaigns",
    "campaigns": "every campaign evaluation's headline from the tracking store",
    "import": "import a Taobao or Shopify export into canonical tables",
    "lists": "turn buyer lists per arm into a campaign's assignments and contacts",
    "watch": "the daily watch of a running sale (intervals for daily looks, KPIs)",
    "holdout": "what all CRM work earned against the shop-wide holdout",
}


def _load(name: str):
    try:
        return importlib.import_module(f"crm_experiments.cli.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"crm_experiments.cli.{name}":
            return None
        raise


_GIVEN = "_options_given"


class _StoreOnce(argparse.Action):
    """argparse's ``store``, but an option given a second time is an error naming both values
    (``compare --alpha 0.05 --alpha 0.1`` would otherwise run with 0.1 without a word)."""

    def __call__(self, parser, namespace, values, option_string=None):  # noqa: ANN001
        if self.option_strings:
            given = namespace.__dict__.setdefault(_GIVEN, {})
            if self.dest in given:
                parser.error(f"argument {'/'.join(self.option_strings)}: given twice "
                             f"('{given[self.dest]}', then '{values}'): give it once")
            given[self.dest] = values
        setattr(namespace, self.dest, values)


class _Parser(argparse.ArgumentParser):
    """Every plain ``add_argument`` (action ``store``) of every subcommand is a
    :class:`_StoreOnce`: the check lives here, not in each ``configure``."""

    def __init__(self, *args, **kwargs):  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.register("action", None, _StoreOnce)
        self.register("action", "store", _StoreOnce)

    def parse_known_args(self, args=None, namespace=None):  # noqa: ANN001, ANN201
        namespace, extras = super().parse_known_args(args, namespace)
        namespace.__dict__.pop(_GIVEN, None)
        return namespace, extras


def _chosen(argv: list[str] | None) -> str | None:
    """The subcommand ``argv`` names first (None: none, or not one of ours)."""
    first = next((a for a in argv or () if not a.startswith("-")), None)
    return first if first in SUBCOMMANDS else None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand; given ``argv``, only the subcommand it names is imported
    and configured (the others are listed by name and help): some subcommand modules are
    slow to import (``compare`` imports statsmodels), and ``run`` needs none of that
    before its notebook starts."""
    chosen = _chosen(argv)
    parser = _Parser(prog="crm-exp", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in SUBCOMMANDS.items():
        if chosen is not None and name != chosen:
            if importlib.util.find_spec(f"crm_experiments.cli.{name}") is not None:
                sub.add_parser(name, help=help_text, description=help_text)
            continue
        module = _load(name)
        if module is None:
            continue
        sp = sub.add_parser(name, help=help_text, description=help_text)
        module.configure(sp)
        sp.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser(sys.argv[1:] if argv is None else argv).parse_args(argv)
    try:
        code = int(args._module.run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return code
    except CrmError as exc:
        print(f"crm-exp {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"crm-exp {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of our output went away (`crm-exp metrics ... | head`): stop quietly;
        # pointing stdout at /dev/null keeps the interpreter's final flush from failing again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


#: Subcommands that end the process at once (:func:`exit_now`) when run as the program.
FAST_EXIT = frozenset({"run", "demo"})


def exit_now(code: int) -> None:
    """End the process with ``code`` the way ``sys.exit`` would, minus the interpreter's
    teardown: the ``atexit`` handlers run (logging flushed, ``weakref.finalize`` callbacks,
    MLflow's), stdout and stderr are flushed, then ``os._exit``. After a run the process holds
    some 3,000 modules (pandas, statsmodels, matplotlib, MLflow, Jupyter), and tearing them
    down (module clearing and the garbage collections it triggers) costs wall and CPU time on
    the critical path of the command, for nothing: every file is written and
    closed by then. Falls back to ``sys.exit`` when a non-daemon thread is still running
    (the interpreter would wait for it)."""
    import atexit
    import threading

    if any(t is not threading.main_thread() and t.is_alive() and not t.daemon
           for t in threading.enumerate()):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def program() -> int:
    """``crm-exp`` as a program (``python -m crm_experiments.cli``): :func:`main`, then
    :func:`exit_now` for the subcommands of :data:`FAST_EXIT`; the rest return their code."""
    code = main()
    if _chosen(sys.argv[1:]) in FAST_EXIT:
        exit_now(code)
    return code


if __name__ == "__main__":
    sys.exit(program())

"""Hostile-input corpus (issue 17), the commands' arguments: ``clv``, ``uplift``, ``plan``,
``schedule``, ``due``, ``campaigns``, ``lists``, ``generate``, ``demo`` and ``run`` (the data
contract is ``tests/io/test_hostile_data.py``, params ``tests/test_params.py``, faults
``tests/pipeline/test_faults.py``).

Each row of ``CASES`` is one command line as a tester would type it in a prepared folder
(``world``: a 300-customer shop ``data/`` with its params ``shop.yaml``, a 10-customer shop
``tiny/``, a regular file ``afile`` (so ``afile/x`` cannot be created, even by root), an empty
folder ``adir``, tables for ``uplift``, buyer lists for ``lists``...), run through
:func:`crm_experiments.cli.main.main` with the expected exit code, a regex the message must
match, and the expected behaviour in words (``why``). Every case must: exit with that code
(argparse's refusals are ``SystemExit(2)``), print the message, print no traceback, raise
nothing else, and write nothing: the folder's files (recursively) are the same afterwards, the
``absent`` paths do not exist, and the tracking store has no new run (``creates``: the files
a command may create, here only the store the schedule opens, removed after the case).
``store`` picks the MLflow store: ``empty`` (none yet) or ``evaluated`` (one FINISHED
evaluation, for ``plan``).

Fits are avoided (every refusal comes before one) except the 10-customer CLV case. The module
runs in about 15 s.
"""

from __future__ import annotations

import re
import shlex
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crm_experiments.cli.main import main
from crm_experiments.demo.generator import generate_shop
from crm_experiments.io.exports.pseudonymise import KEY_ENV, Pseudonymiser
from crm_experiments.params import load_params
from tests.conftest import write_params

KEY = "hostile-commands-key-0123456789"
CLV = "--calibration-end 2025-10-01 --observation-end 2025-12-01"
UP = "--arm arm --control control --outcome y --features x"
PLAN = "--campaigns-dir camps --drafts-dir drafts --out-dir pout"
LISTS = "--source taobao --data ldata --campaign-id c1 --channel sms --assigned-at 2025-10-20"
ARMS = "--arm control=control.csv --arm coupon=treat.csv"


@dataclass(frozen=True)
class Cmd:
    argv: str                      # shlex text, relative to the world folder
    code: int                      # expected exit code
    message: str                   # regex the printed text must match
    why: str                       # the expected behaviour, in words
    absent: tuple[str, ...] = ()   # paths that must not exist afterwards
    store: str = "empty"           # MLflow store: "empty" or "evaluated"
    creates: tuple[str, ...] = ()  # files the command may create (removed after the case)


CASES: dict[str, Cmd] = {
    # ---- clv -------------------------------------------------------------------------------
    "clv-missing-dir": Cmd(f"clv nowhere {CLV}", 2, r"nowhere does not exist",
                           "a data directory that does not exist is named"),
    "clv-file-as-dir": Cmd(f"clv afile {CLV}", 2, r"afile does not exist or is not a directory",
                           "a regular file given as the data directory"),
    "clv-empty-dir": Cmd(f"clv adir {CLV}", 2, r"\[missing_table\] no orders",
                         "an empty folder: the missing orders table is named"),
    "clv-date-not-a-date": Cmd("clv data --calibration-end notadate --observation-end "
                               "2025-12-01", 2, r"--calibration-end: 'notadate' is not a date",
                               "REPAIRED (was a pandas DateParseError traceback): a usage "
                               "error naming the option"),
    "clv-periods-reversed": Cmd("clv data --calibration-end 2025-12-01 --observation-end "
                                "2025-10-01", 2, r"observation_end must be a date after",
                                "observation before calibration end"),
    "clv-empty-holdout": Cmd("clv data --calibration-end 2025-10-01 --observation-end "
                             "2025-10-01", 2, r"observation_end must be a date after",
                             "a holdout of zero days"),
    "clv-before-any-order": Cmd("clv data --calibration-end 1990-01-01 --observation-end "
                                "2025-12-01", 2, r"no purchase before 1990-01-01",
                                "a calibration period without any purchase"),
    "clv-after-data-end": Cmd("clv data --calibration-end 2030-01-01 --observation-end "
                              "2031-01-01", 2, r"orders end on .*before the observation end "
                              r"2031-01-01.*--observation-end", "REPAIRED (was exit 0 with a "
                              "fitted report whose holdout counted years without data as years "
                              "without purchases): refused, naming the data's end"),
    "clv-holdout-past-data": Cmd("clv data --calibration-end 2025-10-01 --observation-end "
                                 "2026-06-01", 2, r"orders end on", "REPAIRED (was silently "
                                 "wrong): a holdout running past the data's end"),
    "clv-churn-days-negative": Cmd(f"clv data {CLV} --churn-days -5", 2,
                                   r"--churn-days: -5 days: churn is judged over 1-365",
                                   "REPAIRED (was exit 0, churn over -5 days)"),
    "clv-churn-days-zero": Cmd(f"clv data {CLV} --churn-days 0", 2, r"--churn-days: 0 days",
                               "REPAIRED (was exit 0, churn over 0 days)"),
    "clv-unknown-timezone": Cmd(f"clv data {CLV} --timezone Mars/Olympus", 2,
                                r"unknown timezone 'Mars/Olympus'", "a timezone that is not IANA"),
    "clv-predictions-wrong-suffix": Cmd(f"clv data {CLV} --predictions p.txt", 2,
                                        r"must end in \.parquet or \.csv",
                                        "a predictions file of an unknown format",
                                        absent=("p.txt",)),
    "clv-predictions-is-folder": Cmd(f"clv data {CLV} --predictions adir.csv", 2,
                                     r"adir\.csv: is a folder, not a file",
                                     "REPAIRED (was refused only after the fits): a folder "
                                     "named like a CSV"),
    "clv-predictions-unwritable": Cmd(f"clv data {CLV} --predictions afile/p.csv", 2,
                                      r"folder of --predictions cannot be written.*nothing was "
                                      r"done", "REPAIRED (was refused after the fits): the "
                                      "file's parent is a regular file, checked first"),
    "clv-too-few-customers": Cmd(f"clv tiny {CLV} --predictions tiny.csv", 2,
                                 r"too few to fit the Gamma-Gamma", "10 customers: the model "
                                 "that cannot be fitted is named; no predictions file",
                                 absent=("tiny.csv",)),
    # ---- uplift ----------------------------------------------------------------------------
    "uplift-missing-table": Cmd(f"uplift nowhere.csv {UP}", 2, r"nowhere\.csv: no such file",
                                "a table that does not exist"),
    "uplift-folder-as-table": Cmd(f"uplift adir {UP}", 2, r"adir: is a folder, not a table",
                                  "REPAIRED (was 'no such file' for a folder that exists)"),
    "uplift-binary-table": Cmd(f"uplift bin.csv {UP}", 2, r"bin\.csv: cannot read the table",
                               "random bytes named .csv"),
    "uplift-empty-table": Cmd(f"uplift empty.csv {UP}", 2, r"empty\.csv: cannot read the table",
                              "an empty file"),
    "uplift-csv-named-parquet": Cmd(f"uplift csv.parquet {UP}", 2, r"csv\.parquet: cannot "
                                    r"read the table \(.*not a parquet file", "a CSV file "
                                    "named .parquet"),
    "uplift-single-arm": Cmd(f"uplift onearm.csv {UP}", 2, r"holds only the control arm",
                             "a table with the control arm only: nothing to compare"),
    "uplift-unknown-control": Cmd("uplift twoarm.csv --arm arm --control nosuch --outcome y "
                                  "--features x", 2, r"control arm 'nosuch' not found.*arms "
                                  r"are a, control", "an unknown control arm; the arms are listed"),
    "uplift-unknown-outcome": Cmd("uplift twoarm.csv --arm arm --control control --outcome z "
                                  "--features x", 2, r"outcome column 'z' not found",
                                  "an unknown outcome column"),
    "uplift-text-outcome": Cmd("uplift twoarm.csv --arm arm --control control --outcome arm "
                               "--features x", 2, r"outcome column 'arm' is not numeric",
                               "a text outcome"),
    "uplift-no-features": Cmd("uplift twoarm.csv --arm arm --control control --outcome y "
                              "--features ,", 2, r"--features: give at least one column",
                              "an empty feature list"),
    "uplift-test-size-nan": Cmd(f"uplift twoarm.csv {UP} --test-size nan", 2,
                                r"test size nan: must be between 0 and 1", "a NaN test share"),
    "uplift-test-size-over-1": Cmd(f"uplift twoarm.csv {UP} --test-size 1.5", 2,
                                   r"test size 1\.5", "a test share over 1"),
    "uplift-n-boot-huge": Cmd(f"uplift twoarm.csv {UP} --n-boot 100000000000", 2,
                              r"--n-boot 100000000000: use 10 to 100,000", "REPAIRED (was "
                              "accepted: 1e11 resamples would exhaust memory or time)"),
    "uplift-seed-negative": Cmd(f"uplift twoarm.csv {UP} --seed -1", 2,
                                r"--seed -1: use 0 to 2\*\*32 - 1", "REPAIRED (was an "
                                "unclear message from scikit-learn's train_test_split)"),
    "uplift-cost-inf": Cmd(f"uplift twoarm.csv {UP} --cost-per-treated a=inf", 2,
                           r"--cost-per-treated 'a=inf': a cost per customer is a number from 0",
                           "REPAIRED (was \"metric column '_profit' has infinite values\", an "
                           "internal column)"),
    "uplift-cost-nan": Cmd(f"uplift twoarm.csv {UP} --cost-per-treated a=nan", 2,
                           r"'a=nan': a cost per customer", "REPAIRED (a NaN cost was passed on "
                           "to the model)"),
    "uplift-cost-negative": Cmd(f"uplift twoarm.csv {UP} --cost-per-treated a=-3", 2,
                                r"'a=-3': a cost per customer", "REPAIRED (a negative cost "
                                "was added as income)"),
    "uplift-cost-twice": Cmd(f"uplift twoarm.csv {UP} --cost-per-treated a=1 "
                             "--cost-per-treated a=2", 2, r"arm 'a' given twice \(1, then 2\)",
                             "REPAIRED (was silently the last value)"),
    "uplift-cost-unknown-arm": Cmd(f"uplift twoarm.csv {UP} --cost-per-treated zz=1", 2,
                                   r"cost given for arm\(s\) zz", "a cost for an arm the table "
                                   "does not hold"),
    # ---- plan ------------------------------------------------------------------------------
    "plan-empty-store": Cmd(f"plan --next-id nxt {PLAN}", 2, r"no FINISHED campaign "
                            r"evaluation in MLflow \(no tracking store yet\); run `crm-exp run`",
                            "REPAIRED (the refusal created an empty mlflow.db): no store, "
                            "nothing to plan from", absent=("drafts", "pout", "mlflow.db")),
    "plan-next-id-path": Cmd(f"plan --next-id ../evil {PLAN}", 2, r"--next-id '\.\./evil': "
                             r"use 1-64 characters", "a next id with path separators",
                             absent=("evil.yaml", "drafts")),
    "plan-next-id-markup": Cmd(f"plan --next-id '<b>x</b>' {PLAN}", 2, r"--next-id '<b>x</b>'",
                               "a next id with markup"),
    "plan-unknown-campaign": Cmd(f"plan --next-id nxt --campaigns nosuch {PLAN}", 2,
                                 r"no FINISHED evaluation in MLflow for campaign\(s\) "
                                 r"\['nosuch'\]", "an unknown campaign id", store="evaluated"),
    "plan-next-id-taken": Cmd(f"plan --next-id demo_d11 {PLAN}", 2, r"'demo_d11' is already "
                              "an evaluated campaign", "the next id of a past campaign",
                              store="evaluated"),
    "plan-dates-reversed": Cmd(f"plan --next-id nxt --sale-start 2026-11-11 --sale-end "
                               f"2026-11-01 {PLAN}", 2, r"sale end 2026-11-01 is before sale "
                               "start 2026-11-11", "sale start after sale end",
                               store="evaluated"),
    "plan-date-invalid": Cmd(f"plan --next-id nxt --sale-start 2026-13-45 {PLAN}", 2,
                             r"--sale-start: '2026-13-45' is not a date", "month 13"),
    "plan-sale-start-9999": Cmd(f"plan --next-id nxt --sale-start 9999-12-31 {PLAN}", 2,
                                r"--sale-start 9999-12-31: outside 1990-01-01\.\.2199-12-31",
                                "REPAIRED (was an OverflowError traceback after the planning)",
                                store="evaluated"),
    "plan-sale-start-1900": Cmd(f"plan --next-id nxt --sale-start 1900-01-01 --sale-end "
                                f"1900-01-05 {PLAN}", 2, r"--sale-start 1900-01-01: outside",
                                "REPAIRED (was a pydantic ValidationError traceback)",
                                store="evaluated"),
    "plan-default-end-past-range": Cmd(f"plan --next-id nxt --sale-start 2199-12-30 {PLAN}", 2,
                                       r"next round's params would be invalid \(sale: .*sale "
                                       r"day 22\d\d", "REPAIRED (was a ValidationError "
                                       "traceback): the default end, start + the latest round's "
                                       "length, falls after 2199", store="evaluated"),
    "plan-budget-negative": Cmd(f"plan --next-id nxt --budget -5 {PLAN}", 2,
                                r"--budget -5\.0: must be positive", "a negative budget"),
    "plan-budget-nan": Cmd(f"plan --next-id nxt --budget nan {PLAN}", 2,
                           r"--budget nan: must be positive", "a NaN budget"),
    "plan-budget-inf": Cmd(f"plan --next-id nxt --budget inf {PLAN}", 2,
                           r"--budget inf: at most 1e\+12 \(leave it out for no cap\)",
                           "REPAIRED (was exit 0: an infinite 'cap' planned as if capped)",
                           store="evaluated"),
    "plan-budget-too-small": Cmd(f"plan --next-id nxt --budget 0.01 {PLAN}", 2,
                                 r"budget 0\.01 does not cover even a minimal round",
                                 "a budget below one round's fixed cost", store="evaluated"),
    "plan-drafts-unwritable": Cmd("plan --next-id nxt --campaigns-dir camps --drafts-dir "
                                  "afile/drafts --out-dir pout", 2, r"afile/drafts: the drafts "
                                  r"folder cannot be written.*nothing was done", "REPAIRED (was "
                                  "a FileExistsError traceback after the planning, with an MLflow "
                                  "run left FAILED)", store="evaluated"),
    "plan-out-unwritable": Cmd("plan --next-id nxt --campaigns-dir camps --drafts-dir drafts "
                               "--out-dir afile/x", 2, r"afile/x: the plan folder cannot be "
                               "written", "REPAIRED (was a NotADirectoryError traceback after "
                               "the planning)", store="evaluated", absent=("drafts",)),
    # ---- schedule / due --------------------------------------------------------------------
    "schedule-empty-folder": Cmd("schedule --today 2026-01-01 --campaigns empty_campaigns "
                                 "--reports-dir rep", 0, r"schedule 2026-01-01: nothing due",
                                 "an empty campaigns folder: nothing due, exit 0, no reports "
                                 "folder created (the schedule opens its ledger: the tracking "
                                 "store may be created)", absent=("rep",),
                                 creates=("mlflow.db", "mlflow.db.lock")),
    "schedule-missing-folder": Cmd("schedule --today 2026-01-01 --campaigns nowhere "
                                   "--reports-dir rep", 2, r"nowhere: campaign folder not found",
                                   "a campaigns folder that does not exist", absent=("rep",)),
    "schedule-file-as-folder": Cmd("schedule --today 2026-01-01 --campaigns afile", 2,
                                   r"afile: campaign folder not found", "a file as the folder"),
    "schedule-today-not-a-date": Cmd("schedule --today notadate --campaigns camps", 2,
                                     r"argument --today: 'notadate' is not a date \(YYYY-MM-DD\)",
                                     "--today not a date: the value and the format"),
    "schedule-reports-unwritable": Cmd("schedule --today 2026-01-01 --campaigns camps "
                                       "--reports-dir afile/rep", 2, r"afile/rep: the reports "
                                       r"folder cannot be written.*nothing was done",
                                       "REPAIRED (was a NotADirectoryError traceback from the "
                                       "evaluation lock)"),
    "due-missing-folder": Cmd("due --today 2026-01-01 --campaigns nowhere", 2,
                              r"nowhere: campaign folder not found", "no campaigns folder"),
    "due-empty-folder": Cmd("due --today 2026-01-01 --campaigns empty_campaigns", 0,
                            r"0 evaluation\(s\) due on 2026-01-01", "REPAIRED (listing "
                            "created an empty mlflow.db): nothing due, exit 0, no store made",
                            absent=("mlflow.db",)),
    "due-year-1": Cmd("due --today 0001-01-01 --campaigns camps", 0,
                      r"0 evaluation\(s\) due on 0001-01-01", "a date before every campaign"),
    # ---- campaigns -------------------------------------------------------------------------
    "campaigns-empty-store": Cmd("campaigns", 0, r"no campaign evaluations in the tracking "
                                 "store yet", "REPAIRED (with MLFLOW_TRACKING_URI naming a store "
                                 "not yet created, the listing created it): said so, none "
                                 "created",
                                 absent=("mlflow.db",)),
    "campaigns-id-path": Cmd("campaigns --campaign ../../etc/passwd", 0, r"no campaign "
                             "evaluations", "an id with path separators is only a filter"),
    "campaigns-id-markup": Cmd("campaigns --campaign '<script>'", 0, r"no evaluation of "
                               r"campaign '<script>' in the tracking store \(1 evaluation run\(s\) "
                               r"of other campaigns", "REPAIRED (said 'no campaign evaluations "
                               "in the tracking store yet' about a store with runs)",
                               store="evaluated"),
    "campaigns-format-xml": Cmd("campaigns --format xml", 2, r"invalid choice: 'xml'",
                                "an unknown output format"),
    # ---- lists -----------------------------------------------------------------------------
    "lists-empty-file": Cmd(f"lists {LISTS} --arm control=control.csv --arm coupon=empty.csv",
                            1, r"ERROR empty\.csv: \[empty_file\].*nothing was written",
                            "an empty list file"),
    "lists-binary-file": Cmd(f"lists {LISTS} --arm control=control.csv --arm coupon=bin.csv", 1,
                             r"bin\.csv: \[unreadable_file\] the file holds NUL bytes",
                             "a binary file"),
    "lists-binary-xlsx": Cmd(f"lists {LISTS} --arm control=control.csv --arm coupon=bin.xlsx",
                             1, r"bin\.xlsx: \[unreadable_file\] not a readable \.xlsx",
                             "random bytes named .xlsx"),
    "lists-empty-xlsx": Cmd(f"lists {LISTS} --arm control=control.csv --arm coupon=empty.xlsx",
                            1, r"empty\.xlsx: \[empty_file\]", "an empty .xlsx"),
    "lists-wrong-source": Cmd(f"lists {LISTS.replace('taobao', 'shopify')} {ARMS}", 1,
                              r"\[missing_column\] no buyer column: looked for the headers "
                              r"Email, email \(the file has 买家会员名\)", "Taobao lists read "
                              "as Shopify: the headers looked for and found are named"),
    "lists-folder-as-list": Cmd(f"lists {LISTS} --arm control=control.csv --arm coupon=adir", 2,
                                r"adir: file not found", "a folder as a list"),
    "lists-missing-data": Cmd(f"lists --source taobao --data nowhere --campaign-id c1 {ARMS}", 2,
                              r"nowhere: data directory not found", "no data directory"),
    "lists-no-control-list": Cmd(f"lists {LISTS} --arm a=control.csv --arm b=treat.csv", 1,
                                 r"\[missing_control\] no list for the control arm 'control'",
                                 "REPAIRED (was exit 0: with no control list every customer "
                                 "was written as treated and messaged)"),
    "lists-control-not-an-arm": Cmd(f"lists {LISTS} {ARMS} --control nosuch", 1,
                                    r"no list for the control arm 'nosuch' \(arms given: "
                                    r"control, coupon\)", "REPAIRED (was exit 0: the real "
                                    "holdout got contacts)"),
    "lists-arm-twice": Cmd(f"lists {LISTS} --arm control=control.csv --arm control=treat.csv",
                           1, r"\[duplicate_arm\] arm 'control' is given more than once",
                           "the same arm twice"),
    "lists-arm-path": Cmd(f"lists {LISTS} --arm control=control.csv --arm a/b=treat.csv", 1,
                          r"\[invalid_arm_name\] arm name 'a/b'", "an arm name with a slash"),
    "lists-campaign-id-path": Cmd(f"lists --source taobao --data ldata --campaign-id ../evil "
                                  f"{ARMS}", 2, r"--campaign-id '\.\./evil': use 1-64 "
                                  "characters", "REPAIRED (was written into the data: an id no "
                                  "params file can carry)"),
    "lists-campaign-id-markup": Cmd(f"lists --source taobao --data ldata --campaign-id "
                                    f"'<b>x</b>' {ARMS}", 2, r"--campaign-id '<b>x</b>'",
                                    "REPAIRED (was written)"),
    "lists-cost-negative": Cmd(f"lists {LISTS} {ARMS} --cost -1", 2, r"--cost -1\.0: a cost "
                               r"per message is a number from 0 to 1e\+12",
                               "REPAIRED (was written: a negative message cost)"),
    "lists-cost-nan": Cmd(f"lists {LISTS} {ARMS} --cost nan", 2, r"--cost nan",
                          "REPAIRED (was written: NaN costs)"),
    "lists-cost-inf": Cmd(f"lists {LISTS} {ARMS} --cost inf", 2, r"--cost inf",
                          "REPAIRED (was written: infinite costs)"),
    "lists-assigned-1800": Cmd(f"lists --source taobao --data ldata --campaign-id c1 {ARMS} "
                               "--channel sms --assigned-at 1800-01-01", 2, r"--assigned-at "
                               r"'1800-01-01': outside 1990-01-01\.\.2199-12-31",
                               "REPAIRED (was written: messages sent in 1800)"),
    "lists-assigned-not-a-date": Cmd(f"lists --source taobao --data ldata --campaign-id c1 "
                                     f"{ARMS} --assigned-at 9999-99-99", 2,
                                     r"--assigned-at '9999-99-99' is not a date", "month 99"),
    "lists-unknown-timezone": Cmd(f"lists {LISTS} {ARMS} --timezone Mars/X", 2,
                                  r"unknown timezone 'Mars/X'", "a timezone that is not IANA"),
    "lists-arm-without-file": Cmd(f"lists {LISTS} --arm noequals", 2, r"argument --arm: "
                                  r"expected NAME=FILE, got 'noequals'", "an arm without a file"),
    # ---- generate --------------------------------------------------------------------------
    "generate-missing-params": Cmd("generate nowhere.yaml out", 2, r"nowhere\.yaml: file not "
                                   "found", "params that do not exist", absent=("out",)),
    "generate-params-not-yaml": Cmd("generate afile out", 2, r"afile: expected a mapping",
                                    "a text file as params", absent=("out",)),
    "generate-out-is-file": Cmd("generate shop.yaml afile", 2, r"afile exists and is not a "
                                "directory", "the output is a regular file"),
    "generate-out-unwritable": Cmd("generate shop.yaml afile/out", 2, r"afile/out: the output "
                                   r"folder cannot be written", "REPAIRED (was a FileExistsError "
                                   "traceback)"),
    "generate-zero-customers": Cmd("generate shop.yaml out --customers 0", 2,
                                   r"--customers must be 10 to 20,000,000, got 0", "no customers",
                                   absent=("out",)),
    "generate-negative-customers": Cmd("generate shop.yaml out --customers -5", 2,
                                       r"got -5", "negative customers", absent=("out",)),
    "generate-huge-customers": Cmd("generate shop.yaml out --customers 100000000000", 2,
                                   r"--customers must be 10 to 20,000,000, got 100000000000",
                                   "REPAIRED (was a numpy MemoryError traceback: 745 GiB)",
                                   absent=("out",)),
    "generate-rate-nan": Cmd("generate shop.yaml out --purchase-rate-scale nan", 2,
                             r"--purchase-rate-scale must be > 0 and at most 10, got nan",
                             "a NaN purchase rate", absent=("out",)),
    "generate-rate-inf": Cmd("generate shop.yaml out --purchase-rate-scale inf", 2,
                             r"got inf", "REPAIRED (was a ValueError traceback)",
                             absent=("out",)),
    "generate-rate-huge": Cmd("generate shop.yaml out --purchase-rate-scale 1e6", 2,
                              r"got 1000000\.0", "REPAIRED (was a MemoryError traceback: 843 "
                              "GiB)", absent=("out",)),
    "generate-seed-negative": Cmd("generate shop.yaml out --seed -1", 2, r"--seed must be 0 to "
                                  r"2\*\*32 - 1.*got -1", "REPAIRED (was a numpy ValueError "
                                  "traceback)", absent=("out",)),
    "generate-seed-huge": Cmd("generate shop.yaml out --seed 99999999999999999999", 2,
                              r"got 99999999999999999999", "REPAIRED (was accepted: a seed no "
                              "params file can hold, so the shop could not be regenerated from "
                              "its params)", absent=("out",)),
    # ---- demo ------------------------------------------------------------------------------
    "demo-missing-params": Cmd("demo --params nowhere.yaml", 2, r"nowhere\.yaml: file not found",
                               "demo params that do not exist", absent=("reports",)),
    "demo-zero-customers": Cmd("demo --params shop.yaml --customers 0", 2,
                               r"--customers must be 10 to 5,000,000, got 0",
                               "REPAIRED (was a ValueError traceback)"),
    "demo-negative-customers": Cmd("demo --params shop.yaml --customers -1", 2, r"got -1",
                                   "REPAIRED (was a ValueError traceback)"),
    "demo-reports-unwritable": Cmd("demo --params tiny.yaml --customers 10 --regenerate "
                                   "--reports-dir afile/rep", 2, r"afile/rep: the reports folder "
                                   r"cannot be written.*nothing was done", "IMPROVED (a clear "
                                   "refusal, but only after regenerating the demo data): "
                                   "refused first"),
    # ---- run (arguments; the data are tests/io/test_hostile_data.py) -----------------------
    "run-missing-params": Cmd("run nowhere.yaml", 2, r"nowhere\.yaml: file not found",
                              "params that do not exist", absent=("reports",)),
    "run-folder-as-params": Cmd("run adir", 2, r"adir: is a directory, not a params file",
                                "a folder as params", absent=("reports",)),
    "run-binary-params": Cmd("run bin.csv", 2, r"not UTF-8 text", "random bytes as params",
                             absent=("reports",)),
    "run-horizon-zero": Cmd("run shop.yaml --horizon 0", 2, r"0 days: a horizon is 1-365",
                            "a zero horizon", absent=("reports",)),
    "run-horizon-huge": Cmd("run shop.yaml --horizon 99999", 2, r"99999 days", "a huge horizon",
                            absent=("reports",)),
    "run-horizon-text": Cmd("run shop.yaml --horizon abc", 2, r"'abc' is not a whole number",
                            "a horizon in words", absent=("reports",)),
    "run-reports-unwritable": Cmd("run shop.yaml --reports-dir afile/rep", 2, r"afile/rep: the "
                                  r"reports folder cannot be written.*nothing was done",
                                  "an unwritable reports folder, refused before the preflight"),
    # ---- holdout (and lists --holdout) ----------------------------------------------------
    "holdout-missing-params": Cmd("holdout nowhere.yaml", 2, r"nowhere\.yaml: file not found",
                                  "a params file that does not exist is named"),
    "holdout-no-section": Cmd("holdout nohold.yaml", 2, r"shop_holdout: the params declare no",
                              "params without a shop_holdout section: the section is named",
                              absent=("reports",)),
    "holdout-reports-unwritable": Cmd("holdout later.yaml --reports-dir afile/rep", 2,
                                      r"afile/rep", "an unwritable reports folder, refused "
                                      "before any work"),
    "holdout-period-after-data": Cmd("holdout later.yaml", 2, r"do not reach the holdout "
                                     r"period", "a period after the last order: nothing to "
                                     "measure, said so", absent=("reports",)),
    "lists-holdout-no-section": Cmd(f"lists {LISTS} {ARMS} --holdout nohold.yaml", 2,
                                    r"--holdout needs a shop_holdout section",
                                    "lists --holdout with params that declare no holdout: "
                                    "refused before any list is read"),
    "lists-holdout-missing": Cmd(f"lists {LISTS} {ARMS} --holdout nowhere.yaml", 2,
                                 r"nowhere\.yaml: file not found",
                                 "a --holdout params file that does not exist"),
}


def _rng_table(arms: list[str], n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"arm": np.resize(arms, n), "y": rng.normal(size=n),
                         "x": rng.normal(size=n)})


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """The folder every case runs in (see the module docstring)."""
    w = tmp_path_factory.mktemp("hostile_commands")
    generate_shop(w / "data", load_params(write_params(w / "shop.yaml", w / "data")),
                  n_customers=300)
    generate_shop(w / "tiny", load_params(write_params(w / "tiny.yaml", w / "tiny")),
                  n_customers=10)
    write_params(w / "nohold.yaml", w / "data", shop_holdout=None)
    write_params(w / "later.yaml", w / "data", shop_holdout={
        "share": 0.05, "salt": "x", "start": "2027-01-01", "end": "2027-03-31"})
    (w / "camps").mkdir()
    write_params(w / "camps" / "shop.yaml", w / "data")
    for name in ("adir", "adir.csv", "empty_campaigns"):
        (w / name).mkdir()
    (w / "afile").write_text("x\n", encoding="utf-8")
    (w / "bin.csv").write_bytes(bytes(range(256)) * 4)
    (w / "empty.csv").write_bytes(b"")
    (w / "empty.xlsx").write_bytes(b"")
    (w / "bin.xlsx").write_bytes(bytes(range(256)) * 4)
    _rng_table(["control"], 40).to_csv(w / "onearm.csv", index=False)
    _rng_table(["control", "a"], 200).to_csv(w / "twoarm.csv", index=False)
    _rng_table(["control", "a"], 40).to_csv(w / "csv.parquet", index=False)
    # lists: a data folder whose customers are four Taobao nicks pseudonymised with KEY
    key = Pseudonymiser(KEY.encode())
    (w / "ldata").mkdir()
    pd.DataFrame({"customer_id": [key.customer_id("taobao", n) for n in
                                  ("alice", "bob", "carol", "dave")],
                  "first_order_at": pd.Timestamp("2025-01-01")}).to_parquet(
        w / "ldata" / "customers.parquet", index=False)
    (w / "control.csv").write_text("买家会员名\nalice\nbob\n", encoding="utf-8")
    (w / "treat.csv").write_text("买家会员名\ncarol\ndave\n", encoding="utf-8")
    return w


@pytest.fixture(scope="module")
def evaluated_store(world, tmp_path_factory) -> str:
    """An MLflow store with one FINISHED evaluation of ``shop.yaml`` at 7 days (logged as
    ``tests/plan`` does, without the notebook)."""
    from tests.plan.conftest import log_evaluation

    where = tmp_path_factory.mktemp("evaluated_store")
    uri = f"sqlite:///{where / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        mp.chdir(where)
        log_evaluation(world / "camps" / "shop.yaml", 7, where)
    return uri


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _runs(uri: str) -> int | None:
    path = Path(uri.removeprefix("sqlite:///"))
    if not path.exists():
        return None
    with sqlite3.connect(path) as db:
        return db.execute("SELECT count(*) FROM runs").fetchone()[0]


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_hostile_command(case: Cmd, world, request, monkeypatch, capsys):
    if case.store == "evaluated":
        uri = request.getfixturevalue("evaluated_store")
    else:
        uri = f"sqlite:///{world / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv(KEY_ENV, KEY)
    monkeypatch.chdir(world)
    before, runs_before = _files(world), _runs(uri)
    try:
        code = main(shlex.split(case.argv))
    except SystemExit as exc:  # argparse's refusals
        code = exc.code
    out, err = capsys.readouterr()
    text = out + err
    created = {c for c in case.creates if c not in before and (world / c).exists()}
    for name in created:
        (world / name).unlink()
    assert "Traceback" not in text
    assert code == case.code, text
    assert re.search(case.message, text, flags=re.S), text
    assert _files(world) == before, "something was written"
    if not created:
        assert _runs(uri) == runs_before, "an MLflow run was created"
    for path in case.absent:
        assert not (world / path).exists(), path


def test_the_corpus_is_large_enough():
    """Issue 17 asks for 80 cases over every command; this part covers ten commands."""
    commands = {c.argv.split()[0] for c in CASES.values()}
    assert len(CASES) >= 35 and commands >= {"clv", "uplift", "plan", "schedule", "due",
                                             "campaigns", "lists", "generate", "demo", "run"}

"""Campaign lists (one file of buyers per arm) -> ``assignments`` and ``contacts``.

A team usually has the campaign as lists: the crowd (人群) lists exported from the seller
centre's customer operations, or a Shopify customer segment, one file per arm. Each file is a
CSV (UTF-8, UTF-8 BOM or GBK) or XLSX read like an order export
(:func:`~crm_experiments.io.exports._parse.read_export`). Columns found by their header:

============  ==============================================  =============================
column        headers looked for                              use
============  ==============================================  =============================
identifier    Taobao: 买家会员名, 买家昵称, 会员名, nick;          pseudonymised into customer_id
              Shopify: Email, email                           (required)
send time     发送时间, sent_at                                 contacts.sent_at
channel       渠道, channel                                     contacts.channel
cost          费用, cost                                        contacts.cost
============  ==============================================  =============================

Identifiers become the same pseudonymous ids as in ``crm-exp import`` (same key, same
normalisation: :mod:`.pseudonymise`). Every listed customer gets one ``assignments`` row;
treatment arms (not the control arm) get a ``contacts`` row for each list row with a send time
(a row with an empty send time: a customer not messaged); a list without a send-time column
gives one contact per customer when a channel and ``assigned_at`` (then the send time) are
given. The rows of the campaign id
replace its earlier rows in ``DIR/assignments`` and ``DIR/contacts`` (CSV, or Parquet when
the directory holds that table as Parquet); other campaigns' rows are kept. Each file is
written to a temporary file beside it and renamed into place.

Refused (every finding names file, column, rows and rule; nothing is written): an arm name
outside ``[A-Za-z0-9_.-]+`` (``invalid_arm_name``), no identifier column
(``missing_column``), empty or unusable identifiers, a list none of whose ids is a customer of
the data directory (``no_matching_customer``: another shop, source or key), a customer on the
lists of two arms (``multiple_arms``), unreadable send times or costs, a contact without a
channel. A list only partly matching the customers gives a warning with the share
(``partial_match``); those customers are kept, as assigned but without orders.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from crm_experiments.errors import CrmError, DataValidationError, Finding
from crm_experiments.io.atomic import atomic_path
from crm_experiments.io.exports._parse import (
    DATE_FORMATS_HELP,
    FileRefused,
    Problems,
    check_ids,
    clean_text,
    parse_amounts,
    parse_datetimes,
    read_export,
)
from crm_experiments.io.exports.importer import FORMATS
from crm_experiments.io.exports.pseudonymise import KeySource, Pseudonymiser, load_key
from crm_experiments.io.holdout import holdout_members
from crm_experiments.io.staging import resolve_timezone
from crm_experiments.params import (
    CAMPAIGN_ID_PATTERN,
    FIRST_SALE_DAY,
    LAST_SALE_DAY,
    MAX_MONEY,
    ShopHoldout,
)

IDENTIFIER_HEADERS: dict[str, tuple[str, ...]] = {
    "taobao": ("买家会员名", "买家昵称", "会员名", "nick"),
    "shopify": ("Email", "email"),
}
SENT_HEADERS = ("发送时间", "sent_at")
CHANNEL_HEADERS = ("渠道", "channel")
COST_HEADERS = ("费用", "cost")
ARM_NAME = re.compile(r"[A-Za-z0-9_.-]+")
ASSIGNMENT_COLUMNS = ("customer_id", "campaign_id", "arm", "assigned_at")
CONTACT_COLUMNS = ("customer_id", "campaign_id", "channel", "sent_at", "cost")


@dataclass
class ArmCount:
    """What one arm's list gave (counts only)."""

    arm: str
    file: str
    customers: int
    matched: int
    contacts: int
    #: customers of the list dropped as members of the shop-wide holdout
    excluded: int = 0


@dataclass
class ListsResult:
    data_dir: Path
    campaign_id: str
    arms: list[ArmCount]
    replaced_assignments: int
    replaced_contacts: int
    key_source: KeySource
    written: list[str]
    warnings: list[Finding] = field(default_factory=list)


def _find(headers: Sequence[str], wanted: Sequence[str]) -> str | None:
    for w in wanted:
        if w in headers:
            return w
    lower = {h.lower(): h for h in headers}
    return next((lower[w.lower()] for w in wanted if w.lower() in lower), None)


def _known_customers(data_dir: Path) -> set[str]:
    for name in ("customers", "orders"):
        for suffix in (".parquet", ".csv"):
            p = data_dir / f"{name}{suffix}"
            if p.exists():
                if suffix == ".parquet":
                    ids = pd.read_parquet(p, columns=["customer_id"]).customer_id
                else:
                    ids = pd.read_csv(p, usecols=["customer_id"], dtype=str).customer_id
                return set(ids.dropna().astype(str))
    raise CrmError(f"{data_dir} holds no customers or orders table; run `crm-exp import` "
                   "into it first")


def import_lists(arms: Sequence[tuple[str, str | Path]], data_dir: str | Path, *, fmt: str,
                 campaign_id: str, control_arm: str = "control",
                 assigned_at: dt.datetime | str | None = None, channel: str | None = None,
                 cost: float | None = None, timezone: str | None = None,
                 pseudonymiser: Pseudonymiser | None = None,
                 holdout: ShopHoldout | None = None) -> ListsResult:
    """Turn one list per arm into the campaign's assignments and contacts; see the module doc.

    With ``holdout`` (the params' ``shop_holdout``), members of the shop-wide holdout
    (:func:`crm_experiments.io.holdout.holdout_members`) are dropped from every arm's list,
    control included, and counted in ``ArmCount.excluded``: no campaign assigns or contacts
    them.

    Raises :class:`~crm_experiments.errors.DataValidationError` with every finding when a list
    breaks a rule, :class:`~crm_experiments.errors.CrmError` for unusable arguments; in both
    cases nothing is written.
    """
    if fmt not in FORMATS:
        raise CrmError(f"unknown list format {fmt!r}; use one of {', '.join(FORMATS)}")
    source = FORMATS[fmt].SOURCE
    tz = resolve_timezone(timezone)
    data_dir = Path(data_dir)
    if not arms:
        raise CrmError("no arm list given (--arm NAME=FILE)")
    if not campaign_id.strip():
        raise CrmError("the campaign id is empty")
    if not CAMPAIGN_ID_PATTERN.match(campaign_id):
        # the params' rule: an id that no params file can carry would never be evaluated
        raise CrmError(f"--campaign-id {campaign_id!r}: use 1-64 characters of a-z, 0-9, '_' "
                       "or '-' (the campaign_id of the params)")
    if cost is not None and not 0 <= cost <= MAX_MONEY:  # NaN fails both comparisons
        raise CrmError(f"--cost {cost}: a cost per message is a number from 0 to {MAX_MONEY:g}")
    for _, p in arms:
        if not Path(p).is_file():
            raise CrmError(f"{p}: file not found")
    if not data_dir.is_dir():
        raise CrmError(f"{data_dir}: data directory not found; run `crm-exp import` first")
    try:
        assigned = None if assigned_at is None else pd.Timestamp(assigned_at)
    except ValueError as exc:
        raise CrmError(f"--assigned-at {assigned_at!r} is not a date ({DATE_FORMATS_HELP})") \
            from exc
    if assigned is not None and assigned.tzinfo is not None:
        assigned = assigned.tz_convert(tz).tz_localize(None)
    if assigned is not None and not FIRST_SALE_DAY <= assigned.date() <= LAST_SALE_DAY:
        raise CrmError(f"--assigned-at {assigned_at!r}: outside {FIRST_SALE_DAY}.."
                       f"{LAST_SALE_DAY}, the days a campaign can have")
    known = _known_customers(data_dir)
    if pseudonymiser is None:
        key, key_source = load_key()
        pseudonymiser = Pseudonymiser(key)
    else:
        key_source = KeySource("the pseudonymiser given by the caller")

    problems = Problems()
    names = [a for a, _ in arms]
    for arm, p in arms:
        if not ARM_NAME.fullmatch(arm):
            problems.add(Path(p).name, "invalid_arm_name",
                         f"arm name {arm!r} must be letters, digits, '_', '.' or '-'")
    if control_arm not in names:  # else every list's customers would count as treated
        problems.add(Path(arms[0][1]).name, "missing_control",
                     f"no list for the control arm {control_arm!r} (arms given: "
                     f"{', '.join(names)}): add --arm {control_arm}=FILE or name the holdout "
                     "with --control")
    for arm in {a for a in names if names.count(a) > 1}:
        files = [Path(p).name for a, p in arms if a == arm]
        problems.add(files[-1], "duplicate_arm",
                     f"arm {arm!r} is given more than once ({', '.join(files)})")

    per_arm: list[tuple[str, str, str, pd.DataFrame]] = []  # arm, file, id column, rows
    for arm, p in arms:
        rows = _read_list(Path(p), source, tz, arm != control_arm, channel, cost, assigned,
                          pseudonymiser, problems)
        if rows is None:
            continue
        file, column, frame = rows
        matched = frame.customer_id.isin(known)
        if not matched.any():
            problems.add(file, "no_matching_customer",
                         f"none of the {frame.customer_id.nunique():,} buyers matches a "
                         f"customer of the orders in {data_dir} (a list of another shop, of "
                         "the other source, or ids made with another pseudonym key?)",
                         column=column, rows=frame.index)
        elif not matched.all():
            share = 1 - matched.mean()
            problems.add(file, "partial_match",
                         f"{int((~matched).sum()):,} of {len(frame):,} rows ({share:.1%}) match "
                         f"no customer of the orders in {data_dir}; they are kept as assigned "
                         "customers without orders", column=column,
                         rows=frame.index[~matched.to_numpy()], severity="warning")
        frame["_matched"] = matched
        per_arm.append((arm, file, column, frame))

    # a customer on two arms' lists
    if per_arm:
        every = pd.concat([f.assign(_arm=a, _file=fl, _col=c, _row=f.index)
                           for a, fl, c, f in per_arm], ignore_index=True)
        arms_of = every.groupby("customer_id")._arm.nunique()
        twice = set(arms_of.index[arms_of > 1])
        if twice:
            clash = every[every.customer_id.isin(twice)]
            for (fl, col), g in clash.groupby(["_file", "_col"], sort=False):
                others = sorted(set(clash._arm) - set(g._arm))
                problems.add(fl, "multiple_arms",
                             f"{g.customer_id.nunique():,} buyers of this list are also on "
                             f"the list of arm {', '.join(others)}; a customer belongs to one "
                             "arm", column=col, rows=g._row)
    if problems.errors:
        raise DataValidationError(problems.findings)

    assignments, contacts, counts = [], [], []
    for arm, file, _, frame in per_arm:
        excluded = 0
        if holdout is not None:
            member = holdout_members(holdout, frame.customer_id)
            excluded = int(frame.customer_id[member].nunique())
            frame = frame[~member]
        once = frame.drop_duplicates("customer_id")
        assignments.append(pd.DataFrame({
            "customer_id": once.customer_id, "campaign_id": campaign_id, "arm": arm,
            "assigned_at": assigned}))
        c = frame[frame.sent_at.notna()] if arm != control_arm else frame.iloc[:0]
        contacts.append(pd.DataFrame({
            "customer_id": c.customer_id, "campaign_id": campaign_id, "channel": c.channel,
            "sent_at": c.sent_at, "cost": c.cost}))
        counts.append(ArmCount(arm, file, len(once), int(once._matched.sum()), len(c),
                               excluded))
    new_a = pd.concat(assignments, ignore_index=True)
    new_c = pd.concat(contacts, ignore_index=True)
    new_a["assigned_at"] = pd.to_datetime(new_a.assigned_at)
    new_c["sent_at"] = pd.to_datetime(new_c.sent_at)
    new_c["cost"] = new_c.cost.astype("float64")

    written, replaced = [], {}
    for name, new, columns in (("assignments", new_a, ASSIGNMENT_COLUMNS),
                               ("contacts", new_c, CONTACT_COLUMNS)):
        path, old = _existing(data_dir, name)
        kept = old
        replaced[name] = 0
        if old is not None:
            mine = old.campaign_id.astype(str) == campaign_id
            replaced[name] = int(mine.sum())
            kept = old[~mine]
        if new.empty and (old is None or replaced[name] == 0):
            continue
        _write_atomically(path, kept, new[list(columns)])
        written.append(path.name)
    warnings = [f for f in problems.findings if f.severity == "warning"]
    return ListsResult(data_dir, campaign_id, counts, replaced["assignments"],
                       replaced["contacts"], key_source, written, warnings)


def _read_list(path: Path, source: str, tz: str, treated: bool, channel: str | None,
               cost: float | None, assigned: pd.Timestamp | None, pseudonymiser: Pseudonymiser,
               problems: Problems) -> tuple[str, str, pd.DataFrame] | None:
    """(file, identifier column, rows: customer_id, sent_at, channel, cost) or None."""
    try:
        raw = read_export(path)
    except FileRefused as exc:
        problems.findings.append(exc.finding)
        return None
    file, frame = raw.file, raw.frame
    wanted = IDENTIFIER_HEADERS[source]
    column = _find(raw.headers, wanted)
    if column is None:
        problems.add(file, "missing_column",
                     f"no buyer column: looked for the headers {', '.join(wanted)} "
                     f"(the file has {', '.join(raw.headers)})")
        return None
    ids = clean_text(frame[column])
    problems.mask(file, "missing_value", ids.isna(), "the buyer is empty", column=column)
    bad = check_ids(problems, file, column, ids) | ids.isna()
    good = ids[~bad]
    mapping = pseudonymiser.map(source, good)
    out = pd.DataFrame({"customer_id": good.map(mapping)}, index=good.index)

    sent_col = _find(raw.headers, SENT_HEADERS)
    if sent_col is not None:
        sent, unparseable = parse_datetimes(clean_text(frame[sent_col]), tz)
        problems.mask(file, "unparseable", unparseable,
                      f"send time is not a date-time ({DATE_FORMATS_HELP})", column=sent_col)
    else:
        sent = pd.Series(pd.NaT if (assigned is None or channel is None) else assigned,
                         index=frame.index)
    out["sent_at"] = pd.to_datetime(sent.reindex(out.index))

    chan_col = _find(raw.headers, CHANNEL_HEADERS)
    chans = clean_text(frame[chan_col]) if chan_col else pd.Series(None, index=frame.index,
                                                                    dtype=object)
    chans = chans.where(chans.notna(), channel)
    out["channel"] = chans.reindex(out.index)

    cost_col = _find(raw.headers, COST_HEADERS)
    if cost_col is not None:
        values, unparseable, _ = parse_amounts(clean_text(frame[cost_col]))
        problems.mask(file, "unparseable", unparseable, "cost is not a number",
                      column=cost_col)
        values = values.where(values.notna(), cost)
        out["cost"] = values.reindex(out.index).astype("float64")
    else:
        out["cost"] = float("nan") if cost is None else float(cost)
    if treated:
        needs = out.sent_at.notna() & out.channel.isna()
        problems.mask(file, "missing_channel", needs,
                      "a message was sent but its channel is not known: add a 渠道/channel "
                      "column or pass --channel", column=sent_col)
        if sent_col is None and channel is not None and assigned is None:
            problems.add(file, "missing_value", "a channel is given but no send time: add a "
                         "发送时间/sent_at column or pass --assigned-at", column=None)
    return file, column, out


def _existing(data_dir: Path, name: str) -> tuple[Path, pd.DataFrame | None]:
    parquet, csv = data_dir / f"{name}.parquet", data_dir / f"{name}.csv"
    if parquet.exists():
        return parquet, pd.read_parquet(parquet)
    if csv.exists():
        return csv, pd.read_csv(csv, dtype=str, keep_default_na=False)
    return csv, None


def _write_atomically(path: Path, kept: pd.DataFrame | None, new: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            frame = new if kept is None or kept.empty else pd.concat([kept, new],
                                                                      ignore_index=True)
            frame.to_parquet(tmp, index=False)
        else:
            text = new.copy()
            for c in text.columns:
                if pd.api.types.is_datetime64_any_dtype(text[c]):
                    text[c] = text[c].dt.strftime("%Y-%m-%d %H:%M:%S")
            text = text.astype(object).where(text.notna(), "")
            frame = text if kept is None else pd.concat([kept, text], ignore_index=True)
            frame.to_csv(tmp, index=False)

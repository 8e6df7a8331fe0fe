"""Retention: deletes conversations and handoff records older than a number of days.

    python -m tools.retention                      # RETENTION_DAYS, default 30
    python -m tools.retention --older-than-days 90 --dry-run
    python -m tools.retention --db-url postgresql://rasa@db/rasa

A conversation (all events of one sender_id in Rasa's `events` table) is deleted only
when its LAST event is older than the cutoff, and then whole: a customer who came back
last week keeps the whole history. Handoff records (`handoff_requests`, with their status
changes) and assessment records (`assessment_records`, `assessment_flags`) older than the
cutoff go too, and the staff console's audit entries (`staff_audit`) older than
AUDIT_RETENTION_DAYS (default 180: 网络安全法 asks for six months of logs). The databases
are the ones the assistant uses: the tracker store of ENDPOINTS (default endpoints.yml)
and HANDOFF_DB_URL, as in core/handoff_records.py; or both --db-url. SQLite and
PostgreSQL (POSTGRESQL_SCHEMA honoured for `events`, as by Rasa).

Exit codes: 0 done, 1 database missing or unreachable, 2 bad arguments.
Run it daily (cron, a Kubernetes CronJob); it is safe to run while the assistant serves.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import sqlalchemy as sa

from tools.cli import EXIT_INVALID_INPUT, ChineseArgumentParser, ChineseHelpFormatter
from core.assessment_records import ASSESSMENT_TABLE, FLAG_TABLE
from core.handoff_records import HANDOFF_TABLE, STATUS_CHANGES_TABLE, handoff_db_url, tracker_store_url
from core.record_engines import create_engine
from core.settings import (
    DEFAULT_RETENTION_DAYS, SettingsError, parse_retention_days, settings, staff_settings_from_env,
)
from staff.tables import AUDIT

EXIT_DB_PROBLEM = 1

RETENTION_ENV = "RETENTION_DAYS"
SECONDS_PER_DAY = 86_400
# Senders per transaction: short transactions, so a purge of a large SQLite database
# never holds the write lock long enough to stall the live server's turns.
BATCH_SENDERS = 500
SUPPORTED_DIALECTS = ("sqlite", "postgresql")

# The columns we touch of Rasa 3.6's SQLTrackerStore.SQLEvent (rasa/core/tracker_store.py):
# one row per event, `timestamp` a float epoch. Declared here rather than imported, so the
# tool does not pay Rasa's multi-second import.
EVENTS = sa.Table(
    "events",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
)


class RetentionError(Exception):
    """A problem to report in one line; `exit_code` says whose it is."""

    def __init__(self, message: str, exit_code: int = EXIT_DB_PROBLEM) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class PurgeCounts:
    conversations: int = 0
    events: int = 0
    handoffs: int = 0
    assessments: int = 0
    audit_entries: int = 0


# ---------------------------------------------------------------------------
# Databases


def _safe(url: sa.engine.URL) -> str:
    return url.render_as_string(hide_password=True)


def parse_db_url(raw: str) -> sa.engine.URL:
    try:
        url = sa.engine.make_url(raw)
    except sa.exc.ArgumentError:
        raise RetentionError(
            f"数据库地址无法解析 / cannot parse database URL: {raw!r}", EXIT_INVALID_INPUT
        ) from None
    if url.get_backend_name() not in SUPPORTED_DIALECTS:
        raise RetentionError(
            f"只支持 SQLite 和 PostgreSQL / only SQLite and PostgreSQL are supported: {_safe(url)}",
            EXIT_INVALID_INPUT,
        )
    return url


def sqlite_file_missing(url: sa.engine.URL) -> bool:
    # Connecting to a missing SQLite file would silently create an empty database.
    database = url.database or ""
    return url.get_backend_name() == "sqlite" and (
        database in ("", ":memory:") or not Path(database).is_file()
    )


def connect(url: sa.engine.URL, rasa_schema: bool = False) -> sa.engine.Engine:
    """An engine that sees the tables where their writer put them: Rasa's `events` in
    POSTGRESQL_SCHEMA when set (as Rasa's create_engine_kwargs); handoff records where
    core/handoff_records.py writes them, which does not read that variable."""
    schema = settings().postgresql_schema
    return create_engine(url, schema if rasa_schema else "")


def has_table(engine: sa.engine.Engine, name: str) -> bool:
    try:
        return sa.inspect(engine).has_table(name)
    except sa.exc.OperationalError as error:
        raise RetentionError(
            f"无法连接数据库 / cannot connect to {_safe(engine.url)}: "
            f"{str(error.orig).strip().splitlines()[0]}"
        ) from None


# ---------------------------------------------------------------------------
# The purge


def _expired_among(senders: Sequence[str], cutoff: float) -> sa.sql.Select:
    """Those of `senders` whose last event is before `cutoff`, decided by the database
    at delete time: a conversation that got a new event since it was listed is kept."""
    inner = EVENTS.alias("latest")  # an alias, so it is not correlated with the DELETE
    return (
        sa.select(inner.c.sender_id)
        .where(inner.c.sender_id.in_(senders))
        .group_by(inner.c.sender_id)
        .having(sa.func.max(inner.c.timestamp) < cutoff)
    )


def expired_senders(engine: sa.engine.Engine, cutoff: float) -> List[str]:
    query = (
        sa.select(EVENTS.c.sender_id)
        .group_by(EVENTS.c.sender_id)
        .having(sa.func.max(EVENTS.c.timestamp) < cutoff)
    )
    with engine.connect() as connection:
        return list(connection.execute(query).scalars())


def purge_conversations(engine: sa.engine.Engine, cutoff: float, dry_run: bool) -> PurgeCounts:
    """Whole conversations whose last event is before `cutoff` (epoch seconds)."""
    senders = expired_senders(engine, cutoff)
    counts = PurgeCounts()
    for start in range(0, len(senders), BATCH_SENDERS):
        batch = senders[start:start + BATCH_SENDERS]
        expired = _expired_among(batch, cutoff)
        with engine.begin() as connection:
            if dry_run:
                counts.events += connection.execute(
                    sa.select(sa.func.count()).where(EVENTS.c.sender_id.in_(expired))
                ).scalar_one()
                counts.conversations += len(batch)
                continue
            # One statement per batch: each conversation goes whole or not at all.
            counts.events += connection.execute(
                sa.delete(EVENTS).where(EVENTS.c.sender_id.in_(expired))
            ).rowcount
            still_there = connection.execute(
                sa.select(sa.func.count(sa.distinct(EVENTS.c.sender_id)))
                .where(EVENTS.c.sender_id.in_(batch))
            ).scalar_one()
            counts.conversations += len(batch) - still_there
    return counts


def purge_handoffs(engine: sa.engine.Engine, cutoff: datetime, dry_run: bool) -> int:
    old = HANDOFF_TABLE.c.requested_at < cutoff
    with engine.begin() as connection:
        if dry_run:
            return connection.execute(
                sa.select(sa.func.count()).select_from(HANDOFF_TABLE).where(old)
            ).scalar_one()
        if has_table(engine, STATUS_CHANGES_TABLE.name):  # staff notes go with their record
            connection.execute(sa.delete(STATUS_CHANGES_TABLE).where(
                STATUS_CHANGES_TABLE.c.handoff_id.in_(sa.select(HANDOFF_TABLE.c.id).where(old))
            ))
        return connection.execute(sa.delete(HANDOFF_TABLE).where(old)).rowcount


def purge_assessments(engine: sa.engine.Engine, cutoff: float, dry_run: bool) -> int:
    """Assessment records (and their flags, which carry the same time) before `cutoff`."""
    old = ASSESSMENT_TABLE.c.assessed_at < cutoff
    with engine.begin() as connection:
        if dry_run:
            return connection.execute(
                sa.select(sa.func.count()).select_from(ASSESSMENT_TABLE).where(old)
            ).scalar_one()
        if has_table(engine, FLAG_TABLE.name):
            connection.execute(sa.delete(FLAG_TABLE).where(FLAG_TABLE.c.assessed_at < cutoff))
        return connection.execute(sa.delete(ASSESSMENT_TABLE).where(old)).rowcount


def purge_audit(engine: sa.engine.Engine, cutoff: float, dry_run: bool) -> int:
    old = AUDIT.c.at < cutoff
    with engine.begin() as connection:
        if dry_run:
            return connection.execute(
                sa.select(sa.func.count()).select_from(AUDIT).where(old)
            ).scalar_one()
        return connection.execute(sa.delete(AUDIT).where(old)).rowcount


def purge(
    events_url: sa.engine.URL, handoff_url: sa.engine.URL, cutoff: float, dry_run: bool,
    audit_cutoff: Optional[float] = None,
) -> PurgeCounts:
    if sqlite_file_missing(events_url):
        raise RetentionError(
            f"找不到对话数据库 / conversation database not found: {events_url.database!r}"
            "（用 --db-url 或 ENDPOINTS 指定 / set --db-url or ENDPOINTS）"
        )
    events_engine = connect(events_url, rasa_schema=True)
    try:
        if not has_table(events_engine, "events"):
            raise RetentionError(
                f"{_safe(events_url)} 里没有 Rasa 的 events 表，不是对话数据库 /"
                " has no Rasa `events` table: not the tracker store"
            )
        counts = purge_conversations(events_engine, cutoff, dry_run)
    finally:
        events_engine.dispose()

    # No file or no table yet: the action server creates them on the first handoff.
    if not sqlite_file_missing(handoff_url):
        handoff_engine = connect(handoff_url)
        try:
            if has_table(handoff_engine, HANDOFF_TABLE.name):
                cutoff_time = datetime.fromtimestamp(cutoff, timezone.utc)
                counts.handoffs = purge_handoffs(handoff_engine, cutoff_time, dry_run)
            if has_table(handoff_engine, ASSESSMENT_TABLE.name):
                counts.assessments = purge_assessments(handoff_engine, cutoff, dry_run)
            if audit_cutoff is not None and has_table(handoff_engine, AUDIT.name):
                counts.audit_entries = purge_audit(handoff_engine, audit_cutoff, dry_run)
        finally:
            handoff_engine.dispose()
    return counts


# ---------------------------------------------------------------------------
# Command line


def retention_days(raw: str) -> int:
    """Whole days, 1 to MAX_RETENTION_DAYS: 0 would delete every conversation."""
    try:
        return parse_retention_days(raw or "0")
    except SettingsError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = ChineseArgumentParser(
        prog="python -m tools.retention",
        description="删除超过保留期限的对话记录、转人工记录和评估记录。一个对话只有在最后一条消息都早于期限时才删除，"
        "并且整段删除。员工审计记录保留 AUDIT_RETENTION_DAYS 天（默认 180）。/ Deletes conversations whose "
        "last event is older than the retention period (whole conversations only), older handoff and "
        "assessment records, and staff audit entries older than AUDIT_RETENTION_DAYS (180).",
        epilog="示例 / examples:\n"
        "  python -m tools.retention --dry-run\n"
        "  RETENTION_DAYS=90 python -m tools.retention\n"
        "  python -m tools.retention --older-than-days 30 --db-url postgresql://rasa@db/rasa\n\n"
        "退出码 / exit codes: 0 完成 done, 1 数据库找不到或连不上 database missing or unreachable,"
        " 2 参数错误 bad arguments",
        formatter_class=ChineseHelpFormatter,
        add_help=False,
    )
    options = parser.add_argument_group("选项 / options")
    options.add_argument(
        "--older-than-days", metavar="N", type=retention_days,
        help=f"保留天数；默认取环境变量 {RETENTION_ENV}，没有则为 {DEFAULT_RETENTION_DAYS} /"
        f" days to keep (default ${RETENTION_ENV}, else {DEFAULT_RETENTION_DAYS})",
    )
    options.add_argument(
        "--dry-run", action="store_true", help="只统计，不删除 / count only, delete nothing"
    )
    options.add_argument(
        "--db-url", metavar="URL",
        help="SQLAlchemy 数据库地址；默认是 ENDPOINTS（endpoints.yml）的 tracker store，"
        "转人工记录另看 HANDOFF_DB_URL / database URL (default: the tracker store of ENDPOINTS;"
        " handoff records: HANDOFF_DB_URL)",
    )
    options.add_argument("-h", "--help", action="help", help="显示本帮助并退出 / show this help")
    return parser


def _resolve_days(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.older_than_days is not None:
        return args.older_than_days
    try:
        return settings().retention_days
    except SettingsError as error:
        parser.error(str(error))


def _resolve_urls(db_url: Optional[str]) -> Tuple[sa.engine.URL, sa.engine.URL]:
    if db_url is not None:
        url = parse_db_url(db_url)
        return url, url
    endpoints = settings().endpoints_file
    try:
        events_raw, handoff_raw = tracker_store_url(endpoints), handoff_db_url(settings())
    except (OSError, ValueError) as error:
        unset = sorted(set(re.findall(r"\$\{(\w+)\}", str(error))))
        hint = f"（未设置的环境变量 / unset variables: {', '.join(unset)}）" if unset else ""
        raise RetentionError(
            f"无法从 {endpoints} 得到数据库地址 / cannot find the database from {endpoints}:"
            f" {error}{hint}"
        ) from None
    return parse_db_url(events_raw), parse_db_url(handoff_raw)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    days = _resolve_days(args, parser)
    cutoff = time.time() - days * SECONDS_PER_DAY
    try:
        audit_days = staff_settings_from_env().audit_retention_days
    except ValueError as error:
        parser.error(str(error))
    audit_cutoff = time.time() - audit_days * SECONDS_PER_DAY
    when = datetime.fromtimestamp(cutoff, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    try:
        events_url, handoff_url = _resolve_urls(args.db_url)
        print(
            f"保留 {days} 天：删除最后一条消息早于 {when} 的对话，和此前的转人工记录。\n"
            f"Retention {days} days: conversations whose last event is before {when},"
            " and handoff records before then."
        )
        print(f"数据库 / database: {_safe(events_url)}")
        if handoff_url != events_url:
            print(f"转人工记录 / handoff records: {_safe(handoff_url)}")
        counts = purge(events_url, handoff_url, cutoff, args.dry_run, audit_cutoff)
    except RetentionError as error:
        print(f"错误 / error: {error}", file=sys.stderr)
        return error.exit_code
    except sa.exc.SQLAlchemyError as error:  # e.g. locked, no permission: say it, no traceback
        print(f"数据库错误 / database error: {str(error).splitlines()[0]}", file=sys.stderr)
        return EXIT_DB_PROBLEM

    if args.dry_run:
        print(
            f"试运行，未删除任何数据。将删除 {counts.conversations} 个对话"
            f"（{counts.events} 条事件）和 {counts.handoffs} 条转人工记录。\n"
            f"Dry run, nothing deleted: would delete {counts.conversations} conversations"
            f" ({counts.events} events) and {counts.handoffs} handoff records.\n"
            f"将删除 {counts.assessments} 条评估记录和 {counts.audit_entries} 条员工审计记录"
            f"（审计保留 {audit_days} 天）。\n"
            f"Would delete {counts.assessments} assessment records and {counts.audit_entries}"
            f" staff audit entries (audit kept {audit_days} days)."
        )
    else:
        print(
            f"已删除 {counts.conversations} 个对话（{counts.events} 条事件）和"
            f" {counts.handoffs} 条转人工记录。\n"
            f"Deleted {counts.conversations} conversations ({counts.events} events)"
            f" and {counts.handoffs} handoff records.\n"
            f"已删除 {counts.assessments} 条评估记录和 {counts.audit_entries} 条员工审计记录"
            f"（审计保留 {audit_days} 天）。\n"
            f"Deleted {counts.assessments} assessment records and {counts.audit_entries}"
            f" staff audit entries (audit kept {audit_days} days)."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The trend report, read with SQL aggregates: a handful of GROUP BY queries over the
assessment records and one COUNT(DISTINCT) over Rasa's events, the same on SQLite and
PostgreSQL. No tracker is loaded; the largest result is one row per day and group.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Dict, List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from core.assessment_records import ASSESSMENT, ASSESSMENT_TABLE, EMERGENCY, FLAG_TABLE
from core.atms import Atm, InputError, known_atms
from core.handoff_records import HANDOFF_TABLE
from staff.database import Databases, has_events
from staff.date_range import ReportRange

SECONDS_PER_DAY = 86_400
EPOCH = date(1970, 1, 1)
EVENTS = sa.table("events", sa.column("sender_id"), sa.column("type_name"), sa.column("timestamp"))


class day_number(FunctionElement):
    """Whole days since 1970-01-01 in the bank's time zone of an epoch-seconds column."""

    type = sa.Integer()
    inherit_cache = True


@compiles(day_number)
def _day_number_default(element, compiler, **kw):  # PostgreSQL: floor of a double
    column, offset = list(element.clauses)
    return f"CAST(floor(({compiler.process(column, **kw)} + {compiler.process(offset, **kw)}) / 86400.0) AS INTEGER)"


@compiles(day_number, "sqlite")
def _day_number_sqlite(element, compiler, **kw):  # no floor() in every SQLite; times are > 0
    column, offset = list(element.clauses)
    return f"CAST(({compiler.process(column, **kw)} + {compiler.process(offset, **kw)}) / 86400 AS INTEGER)"


def _day(column: ColumnElement, span: ReportRange) -> ColumnElement:
    # The offset is written into the SQL (an int from the zone, not input): a bound
    # parameter would make the GROUP BY expression differ from the selected one.
    return day_number(column, sa.literal_column(str(int(span.offset_seconds))))


def _date(day: int) -> date:
    return EPOCH + timedelta(days=int(day))


@dataclass
class Report:
    span: ReportRange
    # (day, kind, scam_type, channel, risk) -> count
    verdicts: Dict[Tuple[date, str, Optional[str], Optional[str], Optional[str]], int]
    # (day, atm_id, branch) -> assessments
    atms: Dict[Tuple[date, str, Optional[str]], int]
    # (day, flag) -> count
    flags: Dict[Tuple[date, str], int]
    conversations: int
    conversations_per_day: Dict[date, int]
    emergency_conversations: int
    emergencies_per_day: Dict[date, int]
    handoffs: int
    atm_locations: Dict[str, str] = field(default_factory=dict)

    def _sum(self, key, kind: str = ASSESSMENT) -> Counter:
        totals: Counter = Counter()
        for (day, row_kind, scam_type, channel, risk), count in self.verdicts.items():
            if row_kind == kind:
                totals[key(day, scam_type, channel, risk)] += count
        return totals

    @property
    def assessments(self) -> int:
        return sum(self._sum(lambda *_: 0).values())

    def by_type(self) -> List[Tuple[Optional[str], int]]:
        return self._sum(lambda day, scam, channel, risk: scam).most_common()

    def by_channel(self) -> List[Tuple[Optional[str], int]]:
        return self._sum(lambda day, scam, channel, risk: channel).most_common()

    def by_risk(self) -> List[Tuple[Optional[str], int]]:
        return self._sum(lambda day, scam, channel, risk: risk).most_common()

    def per_day(self, what: str) -> Dict[date, Counter]:
        """day -> Counter of scam types (what="type") or channels (what="channel")."""
        index = {"type": 2, "channel": 3}[what]
        days: Dict[date, Counter] = defaultdict(Counter)
        for key, count in self.verdicts.items():
            if key[1] == ASSESSMENT:
                days[key[0]][key[index]] += count
        return days

    def by_atm(self) -> List[Tuple[str, Optional[str], int]]:
        totals: Counter = Counter()
        for (day, atm_id, branch), count in self.atms.items():
            totals[(atm_id, branch)] += count
        return [(atm, branch, count) for (atm, branch), count in totals.most_common()]

    def by_branch(self) -> List[Tuple[Optional[str], int]]:
        totals: Counter = Counter()
        for (day, atm_id, branch), count in self.atms.items():
            totals[branch] += count
        return totals.most_common()

    def top_flags(self, limit: int = 10) -> List[Tuple[str, int]]:
        totals: Counter = Counter()
        for (day, flag), count in self.flags.items():
            totals[flag] += count
        return totals.most_common(limit)

    @property
    def emergency_share(self) -> Optional[float]:
        return self.emergency_conversations / self.conversations if self.conversations else None


def _verdicts(connection, span: ReportRange) -> dict:
    table = ASSESSMENT_TABLE
    day = _day(table.c.assessed_at, span).label("day")
    rows = connection.execute(
        sa.select(day, table.c.kind, table.c.scam_type, table.c.channel, table.c.risk, sa.func.count())
        .where(table.c.assessed_at >= span.start, table.c.assessed_at < span.end)
        .group_by(day, table.c.kind, table.c.scam_type, table.c.channel, table.c.risk)
    ).all()
    return {(_date(d), kind, scam, channel, risk): n for d, kind, scam, channel, risk, n in rows}


def _atms(connection, span: ReportRange) -> dict:
    table = ASSESSMENT_TABLE
    day = _day(table.c.assessed_at, span).label("day")
    rows = connection.execute(
        sa.select(day, table.c.atm_id, table.c.branch, sa.func.count())
        .where(table.c.assessed_at >= span.start, table.c.assessed_at < span.end,
               table.c.kind == ASSESSMENT, table.c.atm_id.is_not(None))
        .group_by(day, table.c.atm_id, table.c.branch)
    ).all()
    return {(_date(d), atm, branch): n for d, atm, branch, n in rows}


def _flags(connection, span: ReportRange) -> dict:
    table = FLAG_TABLE
    day = _day(table.c.assessed_at, span).label("day")
    rows = connection.execute(
        sa.select(day, table.c.flag, sa.func.count())
        .where(table.c.assessed_at >= span.start, table.c.assessed_at < span.end)
        .group_by(day, table.c.flag)
    ).all()
    return {(_date(d), flag): n for d, flag, n in rows}


def _emergencies(connection, span: ReportRange) -> Tuple[int, Dict[date, int]]:
    table = ASSESSMENT_TABLE
    where = (table.c.assessed_at >= span.start, table.c.assessed_at < span.end, table.c.kind == EMERGENCY)
    distinct = sa.func.count(sa.distinct(table.c.conversation_id))
    total = connection.execute(sa.select(distinct).where(*where)).scalar_one()
    day = _day(table.c.assessed_at, span).label("day")
    rows = connection.execute(sa.select(day, distinct).where(*where).group_by(day)).all()
    return total, {_date(d): n for d, n in rows}


def _conversations(connection, span: ReportRange) -> Tuple[int, Dict[date, int]]:
    """Conversations with a customer message in the range: Rasa's events, through the
    (type_name, timestamp, sender_id) index the console creates (database.py)."""
    where = (EVENTS.c.type_name == "user", EVENTS.c.timestamp >= span.start, EVENTS.c.timestamp < span.end)
    distinct = sa.func.count(sa.distinct(EVENTS.c.sender_id))
    total = connection.execute(sa.select(distinct).where(*where)).scalar_one()
    day = _day(EVENTS.c.timestamp, span).label("day")
    rows = connection.execute(sa.select(day, distinct).where(*where).group_by(day)).all()
    return total, {_date(d): n for d, n in rows}


def _handoffs(connection, span: ReportRange) -> int:
    table = HANDOFF_TABLE
    start = datetime.fromtimestamp(span.start, timezone.utc)
    end = datetime.fromtimestamp(span.end, timezone.utc)
    return connection.execute(
        sa.select(sa.func.count()).select_from(table)
        .where(table.c.requested_at >= start, table.c.requested_at < end)
    ).scalar_one()


def _listed_atms() -> Dict[str, Atm]:
    try:
        return known_atms()
    except InputError:  # a broken list must not break the report; the ids still show
        return {}


def atm_locations() -> Dict[str, str]:
    return {atm.atm_id: atm.location for atm in _listed_atms().values() if atm.location}


def _with_listed_branches(atms: dict) -> dict:
    """Rows written before the ATM was in ATM_LIST get the branch the list gives now."""
    listed = _listed_atms()
    merged: Counter = Counter()
    for (day, atm_id, branch), count in atms.items():
        atm = listed.get(atm_id.lower())
        merged[(day, atm_id, branch or (atm.branch if atm else None) or None)] += count
    return dict(merged)


def build_report(databases: Databases, span: ReportRange) -> Report:
    with databases.records.connect() as connection:
        verdicts = _verdicts(connection, span)
        atms = _with_listed_branches(_atms(connection, span))
        flags = _flags(connection, span)
        emergencies, emergencies_per_day = _emergencies(connection, span)
        handoffs = _handoffs(connection, span)
    conversations, conversations_per_day = 0, {}
    if has_events(databases.events):
        with databases.events.connect() as connection:
            conversations, conversations_per_day = _conversations(connection, span)
    return Report(
        span=span, verdicts=verdicts, atms=atms, flags=flags,
        conversations=conversations, conversations_per_day=conversations_per_day,
        emergency_conversations=emergencies, emergencies_per_day=emergencies_per_day,
        handoffs=handoffs, atm_locations=atm_locations(),
    )

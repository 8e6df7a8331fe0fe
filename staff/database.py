"""The databases the console reads: Rasa's `events` (the tracker store of ENDPOINTS, as
the retention tool finds it) and the records database (HANDOFF_DB_URL, else the same),
which holds the handoff records, the assessment records and the console's own tables.
"""

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

import sqlalchemy as sa

from core import assessment_records, handoff_records
from core.record_engines import create_engine
from core.settings import settings
from staff import tables

logger = logging.getLogger(__name__)
Result = TypeVar("Result")

# What the report's conversation count filters and counts: an index holding all three
# answers it without reading the (large) event rows. docs/staff.md explains the cost.
EVENTS_INDEX = "events_by_type_time_sender"


@dataclass
class Databases:
    records: sa.engine.Engine
    events: sa.engine.Engine

    def dispose(self) -> None:
        self.records.dispose()
        if self.events is not self.records:
            self.events.dispose()


def urls_from_env() -> tuple:
    """(records URL, events URL) as the action server and the retention tool find them:
    HANDOFF_DB_URL, else the tracker store of ENDPOINTS (default endpoints.yml)."""
    config = settings()
    events_url = handoff_records.tracker_store_url(config.endpoints_file)
    return handoff_records.handoff_db_url(config), events_url


def open_databases(records_url: str, events_url: str) -> Databases:
    records = create_engine(records_url)
    # Rasa puts `events` in POSTGRESQL_SCHEMA when that is set; our tables ignore it.
    schema = settings().postgresql_schema
    events = records if events_url == records_url and not schema else create_engine(events_url, schema)
    return Databases(records=records, events=events)


def prepare(databases: Databases) -> None:
    """Creates the tables the console needs (and upgrades the handoff table)."""
    handoff_records.create_tables(databases.records)
    assessment_records.create_tables(databases.records)
    tables.create_tables(databases.records)
    ensure_events_index(databases.events)


def has_events(engine: sa.engine.Engine) -> bool:
    return sa.inspect(engine).has_table("events")


def ensure_events_index(engine: sa.engine.Engine) -> bool:
    """The report's index on Rasa's events table, created once; False while Rasa has not
    created the table yet. PostgreSQL builds it CONCURRENTLY, without blocking writers."""
    if not has_events(engine):
        return False
    if EVENTS_INDEX in {index["name"] for index in sa.inspect(engine).get_indexes("events")}:
        return True
    logger.info("creating index %s on events (once; may take a while on a large table)", EVENTS_INDEX)
    statement = f"CREATE INDEX{{}} IF NOT EXISTS {EVENTS_INDEX} ON events (type_name, timestamp, sender_id)"
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text(statement.format(" CONCURRENTLY")))
    else:
        with engine.begin() as connection:
            connection.execute(sa.text(statement.format("")))
    return True


async def run(function: Callable[..., Result], *args: Any) -> Result:
    """A blocking database call off the event loop."""
    return await asyncio.to_thread(function, *args)

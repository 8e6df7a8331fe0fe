"""The console on PostgreSQL, the scale-out profile's database server: the report's SQL
(day buckets, COUNT DISTINCT, the events index built CONCURRENTLY), the handoff queue and
its one-open rule, in a private schema per run, dropped afterwards."""

import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from core.handoff_records import DONE, HandoffRequest, change_status, record_handoff
from deploy.check_services import connect_postgres, settings
from staff.database import EVENTS_INDEX
from staff.tables import HOTLINE, RISK
from tests.staff.csv_truth import ZONE, assert_csv_matches
from tests.staff.generated_data import bank_day, generate
from tests.staff.staff_server import running_staff


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    """(records URL, endpoints file, schema, generated truth) in a fresh schema."""
    s = settings()
    schema = f"staff_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = connect_postgres()
    except Exception as error:  # noqa: BLE001 - say what is missing, whatever the driver raised
        pytest.fail(f"PostgreSQL at {s['DB_HOST']}:{s['DB_PORT']} is needed (deploy/check_services.py): {error}")
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema}"')
    base = f"postgresql://{s['DB_USER']}:{s['DB_PASSWORD']}@{s['DB_HOST']}:{s['DB_PORT']}/{s['DB_DATABASE']}"
    url = f"{base}?options=-csearch_path%3D{schema}"
    workdir = tmp_path_factory.mktemp("staff-postgres")
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(
        f"tracker_store:\n  type: SQL\n  dialect: postgresql\n  url: {s['DB_HOST']}\n  port: {s['DB_PORT']}\n"
        f"  db: {s['DB_DATABASE']}\n  username: {s['DB_USER']}\n  password: '{s['DB_PASSWORD']}'\n",
        encoding="utf-8")
    engine = sa.create_engine(url, future=True)
    try:
        truth = generate(engine, engine, target_events=8000, handoffs=60, end=time.time(), days=14, seed=5)
        engine.dispose()
        yield url, endpoints, schema, truth, workdir
    finally:
        engine.dispose()
        with admin.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


def test_report_csv_and_queue_on_postgresql(postgres):
    url, endpoints, schema, truth, workdir = postgres
    with running_staff(workdir, url, endpoints, env={"POSTGRESQL_SCHEMA": schema, "STAFF_LOGIN_ATTEMPTS_PER_IP": "100"},
                       accounts={"risk1": RISK, "hotline1": HOTLINE}) as console:
        risk = console.login("risk1")
        last = bank_day(truth.summaries[-1].assessed_at, ZONE)
        first = last - timedelta(days=6)
        started = time.monotonic()
        response = risk.get(f"{console.url}/staff/report.csv?from={first}&to={last}")
        assert time.monotonic() - started < 5
        assert_csv_matches(response, truth, first, last)
        assert risk.get(f"{console.url}/staff/report?from={first}&to={last}").status_code == 200

        hotline = console.login("hotline1")
        reference = truth.handoffs[0][0]
        queue = hotline.get(f"{console.url}/staff/handoffs").text
        assert reference in queue
        token = console.csrf(hotline, f"/staff/handoffs/{reference}")
        response = hotline.post(f"{console.url}/staff/handoffs/{reference}/status", allow_redirects=False,
                                data={"csrf": token, "status": "done", "note": "PostgreSQL 上处理"})
        assert response.status_code == 303
        assert "PostgreSQL 上处理" in hotline.get(f"{console.url}/staff/handoffs/{reference}").text

    engine = sa.create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            indexes = set(connection.execute(sa.text(
                "SELECT indexname FROM pg_indexes WHERE schemaname = :schema"), {"schema": schema}).scalars())
        assert {EVENTS_INDEX, "handoff_one_open_per_conversation"} <= indexes
    finally:
        engine.dispose()


def test_one_open_handoff_per_conversation_on_postgresql(postgres):
    url = postgres[0]
    now = datetime.now(timezone.utc)
    first = record_handoff(url, HandoffRequest("pg-conv", "tax_refund", "high", None, now))
    assert record_handoff(url, HandoffRequest("pg-conv", "tax_refund", "high", None, now)) == first
    engine = sa.create_engine(url, future=True)
    try:
        change_status(engine, first, DONE, "处理完毕", "zhang")
    finally:
        engine.dispose()
    assert record_handoff(url, HandoffRequest("pg-conv", None, None, None, now)) != first

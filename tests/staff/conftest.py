"""Fixtures of the staff console tests: a tracker store of generated conversations, and
the console running on it as a real process."""

import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from staff.tables import HOTLINE, RISK
from tests.staff.generated_data import Generated, atm_list_csv, generate
from tests.staff.staff_server import running_staff, write_endpoints

DAYS = 20
# Accounts of the shared console; a test that changes an account's state uses its own.
ACCOUNTS = {"hotline1": HOTLINE, "risk1": RISK, "expiry1": HOTLINE, "csrf1": HOTLINE, "lockme": HOTLINE,
            "status1": HOTLINE, "audit1": RISK}
MAX_FAILURES = 3


@dataclass
class GeneratedDb:
    workdir: Path
    records_url: str
    endpoints: Path
    atm_list: Path
    truth: Generated
    end: float


@pytest.fixture(scope="session")
def generated_db(tmp_path_factory) -> GeneratedDb:
    workdir = tmp_path_factory.mktemp("staff-sqlite")
    db = workdir / "rasa.db"
    url = f"sqlite:///{db}"
    engine = sa.create_engine(url, future=True)
    end = time.time()
    truth = generate(engine, engine, target_events=6000, handoffs=120, end=end, days=DAYS)
    engine.dispose()
    atm_list = workdir / "atms.csv"
    atm_list.write_text(atm_list_csv(), encoding="utf-8")
    return GeneratedDb(workdir, url, write_endpoints(workdir / "endpoints.yml", db), atm_list, truth, end)


@pytest.fixture(scope="session")
def console(generated_db):
    with running_staff(generated_db.workdir, generated_db.records_url, generated_db.endpoints,
                       env={"ATM_LIST": str(generated_db.atm_list),
                            "STAFF_LOGIN_MAX_FAILURES": str(MAX_FAILURES),
                            # Every test logs in from 127.0.0.1: the per-address limit has its own test.
                            "STAFF_LOGIN_ATTEMPTS_PER_IP": "1000"},
                       accounts=ACCOUNTS) as server:
        yield server


@pytest.fixture(scope="session")
def hotline(console):
    """A logged-in hotline client, shared by tests that do not end its session."""
    return console.login("hotline1")


@pytest.fixture(scope="session")
def risk(console):
    """A logged-in risk client, shared by tests that do not end its session."""
    return console.login("risk1")

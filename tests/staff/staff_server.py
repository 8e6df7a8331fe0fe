"""The staff console as a real process (`python -m staff`) on a free loopback port, and a
logged-in HTTP client for it."""

import os
import re
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, Optional

import requests
import sqlalchemy as sa

from core.settings import staff_settings_from_env
from staff.accounts import hash_password
from staff import tables
from tests.e2e.servers import _spawn, _wait_until_up, free_port, stop

PASSWORD = "correct horse battery staple"
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class StaffServer:
    url: str
    records: sa.engine.Engine
    env: Dict[str, str]
    log: Path

    def client(self) -> requests.Session:
        session = requests.Session()
        session.headers["User-Agent"] = "staff-tests"
        return session

    def login(self, username: str, password: str = PASSWORD,
              session: Optional[requests.Session] = None) -> requests.Session:
        """A session logged in as `username` (asserting it worked)."""
        session = session or self.client()
        response = self.post_login(session, username, password)
        assert response.status_code == 303, (response.status_code, response.text[-500:])
        return session

    def post_login(self, session: requests.Session, username: str, password: str) -> requests.Response:
        form = session.get(f"{self.url}/staff/login", allow_redirects=False)
        token = CSRF_FIELD.search(form.text).group(1)
        return session.post(f"{self.url}/staff/login", allow_redirects=False,
                            data={"csrf": token, "username": username, "password": password})

    def csrf(self, session: requests.Session, page: str) -> str:
        return CSRF_FIELD.search(session.get(f"{self.url}{page}").text).group(1)


def write_endpoints(path: Path, db: Path) -> Path:
    path.write_text(f'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "{db}"\n', encoding="utf-8")
    return path


_password_hash = None


def add_accounts(records: sa.engine.Engine, accounts: Dict[str, str]) -> None:
    """Accounts as make staff-user makes them, all with PASSWORD. One Argon2 hash for all:
    each costs a good part of a second on a busy machine."""
    global _password_hash
    tables.create_tables(records)
    _password_hash = _password_hash or hash_password(PASSWORD)
    with records.begin() as connection:
        for username, role in accounts.items():
            connection.execute(tables.ACCOUNTS.delete().where(tables.ACCOUNTS.c.username == username))
            connection.execute(tables.ACCOUNTS.insert().values(
                username=username, role=role, password_hash=_password_hash, source="command",
                disabled=False, updated_at=time.time()))


@contextmanager
def running_staff(workdir: Path, records_url: str, endpoints: Path, env: Optional[Dict[str, str]] = None,
                  accounts: Optional[Dict[str, str]] = None, niceness: int = 0) -> Iterator[StaffServer]:
    """`python -m staff` on a free port, reading `endpoints` (Rasa's events) and keeping its
    records at `records_url`; `env` adds settings; `niceness` as scripts/run.sh gives it."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    full_env = {**os.environ, "STAFF_HOST": "127.0.0.1", "STAFF_PORT": str(port),
                "HANDOFF_DB_URL": records_url, "ENDPOINTS": str(endpoints), **(env or {})}
    staff_settings_from_env(full_env)  # a typo in a test's settings fails here, not in the log
    records = sa.create_engine(records_url, future=True)
    if accounts:
        add_accounts(records, accounts)
    log = workdir / f"staff-{port}.log"
    nice = ["nice", "-n", str(niceness)] if niceness else []
    process = _spawn([*nice, sys.executable, "-m", "staff"], log, full_env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{url}/staff/login", process, log)
        yield StaffServer(url=url, records=records, env=full_env, log=log)
    finally:
        stop(process)
        records.dispose()

"""The commands around the console: make staff-user, the accounts file, make report, and
a console that refuses to start on bad configuration with one clear line."""

import os
import re
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from core.settings import staff_settings_from_env
from staff.accounts import AccountError, Outcome, check_login, read_accounts_file, sync_configured_accounts
from staff.tables import ACCOUNTS, create_tables
from tests.staff.csv_truth import ZONE
from tests.staff.generated_data import bank_day
from tests.staff.staff_server import PASSWORD

ENV_NAMES = ("HANDOFF_DB_URL", "ENDPOINTS", "POSTGRESQL_SCHEMA", "ATM_LIST")


def run_tool(module, *args, env=None, stdin=""):
    environment = {k: v for k, v in os.environ.items() if k not in ENV_NAMES and not k.startswith("STAFF_")}
    environment.update(PYTHONIOENCODING="utf-8", **(env or {}))
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], input=stdin, capture_output=True,
                          text=True, env=environment, timeout=120)


def test_staff_user_stores_only_a_hash(tmp_path):
    url = f"sqlite:///{tmp_path / 'rasa.db'}"
    result = run_tool("tools.staff_user", "ZhangSan", "--role", "hotline", env={"HANDOFF_DB_URL": url},
                      stdin=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    assert "已保存账户 zhangsan（hotline）" in result.stdout
    engine = sa.create_engine(url, future=True)
    with engine.connect() as connection:
        row = connection.execute(sa.select(ACCOUNTS)).one()
    assert row.username == "zhangsan" and row.role == "hotline" and row.password_hash.startswith("$argon2id$")
    assert PASSWORD not in row.password_hash


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (("zhangsan", "--role", "hotline"), "short\n", "密码太短"),
    (("zhangsan",), PASSWORD + "\n", "请用 --role 指定角色"),
    (("张三", "--role", "risk"), PASSWORD + "\n", "用户名"),
    (("zhangsan", "--role", "admin"), PASSWORD + "\n", "invalid choice"),
    (("nobody", "--disable"), "", "不存在"),
])
def test_staff_user_refuses_bad_input_in_chinese(tmp_path, args, stdin, message):
    result = run_tool("tools.staff_user", *args, env={"HANDOFF_DB_URL": f"sqlite:///{tmp_path / 'rasa.db'}"},
                      stdin=stdin)
    assert result.returncode == 2 and message in result.stderr


def test_an_accounts_file_logs_in_like_a_made_account(tmp_path):
    result = run_tool("tools.staff_user", "lisi", "--role", "risk", "--print", stdin=PASSWORD + "\n")
    assert result.returncode == 0 and "$argon2id$" in result.stdout
    accounts_file = tmp_path / "staff_accounts.yml"
    accounts_file.write_text(result.stdout, encoding="utf-8")
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'rasa.db'}", future=True)
    create_tables(engine)
    settings = staff_settings_from_env({})
    sync_configured_accounts(engine, read_accounts_file(accounts_file), time.time())
    assert check_login(engine, "lisi", PASSWORD, settings, time.time()).role == "risk"
    sync_configured_accounts(engine, [], time.time())  # taken out of the file: disabled
    assert check_login(engine, "lisi", PASSWORD, settings, time.time()).outcome is Outcome.WRONG


def test_an_accounts_file_with_a_plain_password_is_refused(tmp_path):
    accounts_file = tmp_path / "staff_accounts.yml"
    accounts_file.write_text("accounts:\n  - {username: wang, role: hotline, password_hash: secret123}\n"
                             "  - {username: wang, role: boss, password_hash: x}\n", encoding="utf-8")
    with pytest.raises(AccountError) as error:
        read_accounts_file(accounts_file)
    assert "第 1 个账户" in str(error.value) and "不能是明文密码" in str(error.value)
    assert "第 2 个账户" in str(error.value)


@pytest.mark.parametrize(("env", "message"), [
    ({"STAFF_PORT": "http"}, "STAFF_PORT"),
    ({"STAFF_TIMEZONE": "Mars/Olympus"}, "STAFF_TIMEZONE"),
    ({"STAFF_COOKIE_SECURE": "perhaps"}, "STAFF_COOKIE_SECURE"),
    ({"STAFF_ACCOUNTS_FILE": "/nonexistent/accounts.yml"}, "无法读取账户文件"),
])
def test_the_console_refuses_to_start_on_bad_configuration(tmp_path, env, message):
    result = run_tool("staff", env={"HANDOFF_DB_URL": f"sqlite:///{tmp_path / 'rasa.db'}", **env})
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_make_report_writes_one_printable_page(generated_db, tmp_path):
    last = bank_day(generated_db.end, ZONE)
    first = last - timedelta(days=6)
    env = {"HANDOFF_DB_URL": generated_db.records_url, "ENDPOINTS": str(generated_db.endpoints),
           "ATM_LIST": str(generated_db.atm_list)}
    result = run_tool("tools.report", "--from", first, "--to", last, "--out", tmp_path, "--pdf", env=env)
    assert result.returncode == 0, result.stderr
    page = (tmp_path / f"report-{first}-{last}.html").read_text(encoding="utf-8")
    assert f"反诈趋势报告 {first} 至 {last}" in page and "<svg" in page and "<script" not in page
    pdf = (tmp_path / f"report-{first}-{last}.pdf").read_bytes()
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1  # one page for the meeting

    bad = run_tool("tools.report", "--from", "2026-13-01", env=env)
    assert bad.returncode == 2 and "不是存在的日期" in bad.stderr

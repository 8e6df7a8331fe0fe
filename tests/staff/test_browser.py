"""The staff console in a real browser (headless Chromium) beside the real assistant.

A test conversation asks for a person over the REST channel; a hotline user logs in, sees
the request, opens it, reads the conversation, marks it done and logs out. Then the back
button, the lockout and the roles, as a browser meets them. The Rasa server has no /staff.
"""

import urllib.error
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect, sync_playwright

from staff.tables import HOTLINE, RISK
from tests.e2e.servers import MODEL, running_assistant
from tests.staff.hostile_data import SCRIPT, insert_hostile_conversation
from tests.staff.staff_server import PASSWORD, running_staff

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
MAX_FAILURES = 3
STORY = "税务局打电话说我有一笔退税，让我去ATM上按他说的操作"


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """The assistant (Rasa and actions, their own SQLite store) and the console reading it."""
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train`")
    workdir = tmp_path_factory.mktemp("staff-browser")
    with running_assistant(workdir) as assistant:
        with running_staff(workdir, f"sqlite:///{workdir / 'rasa.db'}", workdir / "endpoints.yml",
                           env={"STAFF_LOGIN_MAX_FAILURES": str(MAX_FAILURES)},
                           accounts={"hotline1": HOTLINE, "hotline2": HOTLINE, "risk1": RISK,
                                     "lockme": HOTLINE}) as console:
            yield assistant, console


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser profile; fails the test on any script error or dialog in the page."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    trouble = []
    tab.on("pageerror", lambda error: trouble.append(str(error)))
    tab.on("dialog", lambda dialog: (trouble.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    yield tab
    context.close()
    assert trouble == []


def log_in(page: Page, console, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{console.url}/staff")
    expect(page.get_by_role("heading", name="员工登录")).to_be_visible()
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_rasa_server_has_no_staff_pages(servers):
    assistant, _ = servers
    for path in ("/staff", "/staff/login", "/staff/handoffs", "/staff/report.csv"):
        assert status_of(assistant.rasa_url + path) == 404


def test_hotline_follows_up_a_handoff_and_logs_out(servers, page):
    assistant, console = servers
    assistant.say("browser-customer", STORY)
    replies = assistant.say("browser-customer", "我要转人工")
    reference = next(m["custom"]["reference"] for m in replies if m.get("custom", {}).get("type") == "handoff")

    log_in(page, console, "hotline1")
    expect(page.get_by_role("heading", name="转人工队列")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=reference)
    expect(row).to_contain_text("冒充税务局退税诈骗")
    expect(row).to_contain_text("REST 接口")
    expect(row).to_contain_text("待联系")

    row.get_by_role("link", name=reference).click()
    expect(page.get_by_role("heading", name=f"转人工记录 {reference}")).to_be_visible()
    expect(page.locator(".turn.user").first).to_contain_text(STORY)
    expect(page.locator(".turn.bot").first).to_contain_text("评估：冒充税务局退税诈骗")
    page.get_by_label("新状态").select_option(label="已处理")
    page.get_by_label("备注").fill("已回电客户，确认未转账，已提醒挂断")
    page.get_by_role("button", name="保存").click()

    expect(page.get_by_role("status")).to_contain_text(f"已更新 {reference}")
    expect(page.get_by_role("link", name=reference)).to_have_count(0)  # done: off the queue
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("heading", name="已退出登录")).to_be_visible()

    # Back to the queue and the record: the console answers afresh, and without a session
    # that is the login form, never the page as it was.
    for _ in range(2):
        page.go_back()
        expect(page.get_by_role("heading", name="员工登录")).to_be_visible()
        expect(page.locator("body")).not_to_contain_text(reference)


def test_wrong_passwords_lock_the_account(servers, page):
    _, console = servers
    for attempt in range(MAX_FAILURES):
        log_in(page, console, "lockme", "not the password")
        expected = "已锁定" if attempt == MAX_FAILURES - 1 else "用户名或密码错误"
        expect(page.get_by_role("alert")).to_contain_text(expected)
    log_in(page, console, "lockme")  # the right password, too late
    expect(page.get_by_role("alert")).to_contain_text("已锁定")
    expect(page.get_by_role("heading", name="员工登录")).to_be_visible()


def test_a_hotline_user_cannot_open_the_report(servers, page):
    _, console = servers
    log_in(page, console, "hotline2")
    expect(page.get_by_role("heading", name="转人工队列")).to_be_visible()
    expect(page.get_by_role("link", name="趋势报告")).to_have_count(0)
    page.goto(f"{console.url}/staff/report")
    expect(page.get_by_role("alert")).to_contain_text("您的角色（热线）无权查看趋势报告")
    expect(page.locator("svg")).to_have_count(0)


def test_the_risk_team_reads_the_report(servers, page):
    _, console = servers
    log_in(page, console, "risk1")
    expect(page.get_by_role("heading", name="趋势报告")).to_be_visible()
    expect(page.get_by_role("img", name="每日评估（按诈骗类型）")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 CSV").click()
    assert download.value.suggested_filename.startswith("fanzha-report-")


def test_markup_from_customers_never_runs(servers, page):
    assistant, console = servers
    engine = sa.create_engine(f"sqlite:///{assistant.tracker_db}", future=True)
    reference = insert_hostile_conversation(engine, f"sqlite:///{assistant.tracker_db}", 1_790_000_000.0)
    engine.dispose()
    log_in(page, console, "hotline1")
    page.get_by_role("link", name=reference).click()
    expect(page.locator(".turn.user")).to_contain_text(f"{SCRIPT}<img src=x onerror=alert(2)>")
    # (the page fixture fails the test on any dialog or script error)

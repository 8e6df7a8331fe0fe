"""The staff console over HTTP, as a real process on generated data: sessions, CSRF,
roles, bad input, headers, audit, the handoff workflow and the CSV against the data."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
import sqlalchemy as sa

from core.assessment_records import ASSESSMENT
from core.handoff_records import HANDOFF_TABLE, STATUS_CHANGES_TABLE
from staff.tables import AUDIT, SESSIONS
from tests.staff.csv_truth import assert_csv_matches
from tests.staff.generated_data import bank_day, day_bounds
from tests.staff.staff_server import running_staff

ZONE = ZoneInfo("Asia/Shanghai")
SESSION_ROUTES = [
    ("GET", "/staff/handoffs"),
    ("GET", "/staff/handoffs/find?reference=FZ-ABCDEF"),
    ("GET", "/staff/handoffs/FZ-ABCDEF"),
    ("POST", "/staff/handoffs/FZ-ABCDEF/status"),
    ("GET", "/staff/report"),
    ("GET", "/staff/report.csv"),
]


def call(server, method, path, session=None, **kwargs):
    return (session or requests).request(method, server.url + path, allow_redirects=False, timeout=30, **kwargs)


def references(generated_db, status_index):
    """References of generated records by their status (0 open, 1 contacted, 2 done)."""
    return [ref for index, (ref, _, _) in enumerate(generated_db.truth.handoffs) if index % 3 == status_index]


def audit_rows(console, username):
    with console.records.connect() as connection:
        return connection.execute(
            sa.select(AUDIT.c.action, AUDIT.c.target, AUDIT.c.outcome).where(AUDIT.c.username == username)
            .order_by(AUDIT.c.id)).all()


# --- no session, forged session, expired session -----------------------------------


@pytest.mark.parametrize(("method", "path"), SESSION_ROUTES)
def test_every_route_needs_a_session(console, method, path):
    response = call(console, method, path)
    if method == "GET":
        assert response.status_code == 303 and response.headers["Location"] == "/staff/login"
    else:
        assert response.status_code == 401 and "请先登录" in response.text
    assert response.headers["Cache-Control"].startswith("no-store")


@pytest.mark.parametrize(("method", "path"), SESSION_ROUTES)
def test_a_forged_session_cookie_is_refused_and_cleared(console, method, path):
    response = call(console, method, path, cookies={"fz_staff_session": "forged-token-" + "x" * 30})
    assert response.status_code == 401
    assert "登录已失效或无效" in response.text
    assert "fz_staff_session=" in response.headers["Set-Cookie"] and "Max-Age=0" in response.headers["Set-Cookie"]


def test_an_expired_session_is_refused(console):
    session = console.login("expiry1")
    assert call(console, "GET", "/staff/handoffs", session).status_code == 200
    with console.records.begin() as connection:  # 31 minutes idle (the default limit is 30)
        connection.execute(SESSIONS.update().where(SESSIONS.c.username == "expiry1")
                           .values(last_seen_at=SESSIONS.c.last_seen_at - 31 * 60))
    response = call(console, "GET", "/staff/handoffs", session)
    assert response.status_code == 401 and "登录已失效" in response.text


def test_root_leads_to_the_login_form(console):
    assert call(console, "GET", "/").headers["Location"] == "/staff"
    assert call(console, "GET", "/staff").headers["Location"] == "/staff/login"


# --- cookies and headers --------------------------------------------------------------


def test_the_session_cookie_is_httponly_and_samesite_strict(console):
    response = console.post_login(console.client(), "hotline1", "correct horse battery staple")
    cookie = next(c for c in response.raw.headers.getlist("Set-Cookie") if c.startswith("fz_staff_session="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/staff" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback; STAFF_COOKIE_SECURE turns it on


def test_pages_are_not_cached_framed_or_shared_across_origins(console, hotline):
    session = hotline
    for response in (call(console, "GET", "/staff/handoffs", session),
                     call(console, "GET", "/staff/login"),
                     call(console, "GET", "/staff/nowhere"),
                     call(console, "OPTIONS", "/staff/handoffs", session,
                          headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})):
        assert response.headers["Cache-Control"] == "no-store, max-age=0"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert "script-src" not in response.headers["Content-Security-Policy"]  # default-src 'none'
        assert not any(name.lower().startswith("access-control-") for name in response.headers)
    assert call(console, "GET", "/staff/handoffs", session,
                headers={"Origin": "https://evil.example"}).headers.get("Access-Control-Allow-Origin") is None


def test_unknown_pages_and_methods_get_chinese_4xx(console):
    assert "页面不存在" in call(console, "GET", "/staff/nowhere").text
    response = call(console, "DELETE", "/staff/handoffs")
    assert response.status_code == 405 and "不支持" in response.text
    response = call(console, "POST", "/staff/login", data={"x": "y" * 100_000})
    assert response.status_code == 413 and "太大" in response.text


# --- CSRF ------------------------------------------------------------------------------


def _status(console, reference):
    with console.records.connect() as connection:
        return connection.execute(sa.select(HANDOFF_TABLE.c.status)
                                  .where(HANDOFF_TABLE.c.reference == reference)).scalar_one()


def test_a_change_without_the_csrf_token_is_refused(console, generated_db, hotline):
    reference = references(generated_db, 0)[1]
    session = console.login("csrf1")
    other_token = console.csrf(hotline, f"/staff/handoffs/{reference}")
    for token in (None, "", "wrong", other_token):
        data = {"status": "done", "note": "没有令牌"} | ({"csrf": token} if token is not None else {})
        response = call(console, "POST", f"/staff/handoffs/{reference}/status", session, data=data)
        assert response.status_code == 403 and "安全校验失败" in response.text
    assert _status(console, reference) == "open"
    assert call(console, "POST", "/staff/logout", session, data={"csrf": "wrong"}).status_code == 403
    assert call(console, "GET", "/staff/handoffs", session).status_code == 200  # still logged in
    assert ("change_status", reference, "refused") in audit_rows(console, "csrf1")


def test_the_login_form_has_its_own_csrf_token(console):
    session = console.client()
    session.get(f"{console.url}/staff/login")
    response = call(console, "POST", "/staff/login", session,
                    data={"csrf": "forged", "username": "hotline1", "password": "correct horse battery staple"})
    assert response.status_code == 403 and "登录表单已过期" in response.text


# --- roles -------------------------------------------------------------------------------


def test_each_role_sees_only_its_own_pages(console, hotline, risk):
    assert call(console, "GET", "/staff/handoffs", hotline).status_code == 200
    for path in ("/staff/report", "/staff/report.csv"):
        response = call(console, "GET", path, hotline)
        assert response.status_code == 403 and "无权查看趋势报告" in response.text
    assert call(console, "GET", "/staff/report", risk).status_code == 200
    response = call(console, "GET", "/staff/handoffs", risk)
    assert response.status_code == 403 and "无权查看转人工队列" in response.text
    assert call(console, "GET", "/staff", risk).headers["Location"] == "/staff/report"


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "message"), [
    ("from=2026-12-01%27%20OR%201%3D1--", "格式不对"),
    ("from=2026-12-01;DROP%20TABLE%20events", "格式不对"),
    ("to=2026-02-30", "不是存在的日期"),
    ("from=2026-12-07&to=2026-12-01", "晚于结束日期"),
    ("from=2020-01-01&to=2026-12-01", "最多 366 天"),
    ("from=%3Cscript%3E", "格式不对"),
])
def test_a_bad_date_filter_gets_a_clear_400(console, query, message, risk):
    for path in ("/staff/report", "/staff/report.csv"):
        response = call(console, "GET", f"{path}?{query}", risk)
        assert response.status_code == 400 and message in response.text
        assert "<script>" not in response.text


def test_a_reference_that_does_not_exist_gets_404(console, hotline):
    for path in ("/staff/handoffs/FZ-ZZZZZZ", "/staff/handoffs/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
                 "/staff/handoffs/find?reference=FZ-ZZZZZZ", "/staff/handoffs/find?reference=%27%20OR%201=1"):
        response = call(console, "GET", path, hotline)
        assert response.status_code == 404 and "找不到转人工记录" in response.text
        assert "<script>" not in response.text
    token = console.csrf(hotline, "/staff/handoffs")
    response = call(console, "POST", "/staff/handoffs/FZ-ZZZZZZ/status", hotline,
                    data={"csrf": token, "status": "done", "note": "x"})
    assert response.status_code == 404


def test_a_reference_read_out_by_a_customer_is_found(console, generated_db, hotline):
    reference = references(generated_db, 0)[2]
    spoken = "fz " + reference[3:].lower()
    response = call(console, "GET", f"/staff/handoffs/find?reference={spoken}", hotline)
    assert response.status_code == 303 and response.headers["Location"] == f"/staff/handoffs/{reference}"


# --- the handoff workflow ------------------------------------------------------------


def test_the_queue_lists_open_records_newest_first(console, generated_db, hotline):
    page = call(console, "GET", "/staff/handoffs", hotline).text
    open_refs = references(generated_db, 0) + references(generated_db, 1)
    done_refs = references(generated_db, 2)
    assert all(ref in page for ref in open_refs[3:])  # (the first few are changed by other tests)
    assert not any(ref in page for ref in done_refs)
    newest_first = sorted((when, ref) for ref, _, when in generated_db.truth.handoffs if ref in open_refs[3:])
    positions = [page.index(ref) for _, ref in reversed(newest_first)]
    assert positions == sorted(positions)


def test_marking_a_record_contacted_then_done(console, generated_db):
    reference = references(generated_db, 0)[0]
    session = console.login("status1")
    page = call(console, "GET", f"/staff/handoffs/{reference}", session)
    assert page.status_code == 200 and "对话记录" in page.text and "客户" in page.text
    token = console.csrf(session, f"/staff/handoffs/{reference}")
    path = f"/staff/handoffs/{reference}/status"

    for data, status, message in (({"status": "contacted"}, 400, "请填写备注"),
                                  ({"status": "open", "note": "x"}, 400, "请选择新状态"),
                                  ({"status": "contacted", "note": "长" * 2001}, 400, "备注太长")):
        response = call(console, "POST", path, session, data={"csrf": token, **data})
        assert response.status_code == status and message in response.text

    response = call(console, "POST", path, session, data={"csrf": token, "status": "contacted", "note": "已电话联系客户"})
    assert response.status_code == 303 and response.headers["Location"] == f"/staff/handoffs?changed={reference}"
    assert _status(console, reference) == "contacted"
    assert f"已更新 {reference}" in call(console, "GET", response.headers["Location"], session).text
    response = call(console, "POST", path, session, data={"csrf": token, "status": "done", "note": "客户已止付"})
    assert response.status_code == 303 and _status(console, reference) == "done"
    response = call(console, "POST", path, session, data={"csrf": token, "status": "contacted", "note": "再改"})
    assert response.status_code == 409 and "已处理，不能再修改" in response.text

    detail = call(console, "GET", f"/staff/handoffs/{reference}", session).text
    assert "已电话联系客户" in detail and "客户已止付" in detail and "status1" in detail
    with console.records.connect() as connection:
        history = connection.execute(
            sa.select(STATUS_CHANGES_TABLE.c.status, STATUS_CHANGES_TABLE.c.staff_user)
            .join(HANDOFF_TABLE, HANDOFF_TABLE.c.id == STATUS_CHANGES_TABLE.c.handoff_id)
            .where(HANDOFF_TABLE.c.reference == reference).order_by(STATUS_CHANGES_TABLE.c.id)).all()
    assert history == [("contacted", "status1"), ("done", "status1")]
    actions = [(action, outcome) for action, _, outcome in audit_rows(console, "status1")]
    assert actions[0] == ("login", "allowed")
    assert ("view_handoff", "allowed") in actions and ("change_status", "allowed") in actions
    assert ("change_status", "refused") in actions


def test_every_view_is_audited(console):
    risk = console.login("audit1")
    call(console, "GET", "/staff/report?from=2026-11-01&to=2026-11-07", risk)
    call(console, "GET", "/staff/report.csv?from=2026-11-01&to=2026-11-07", risk)
    call(console, "GET", "/staff/handoffs", risk)
    cookie = risk.cookies.get("fz_staff_session")
    call(console, "POST", "/staff/logout", risk, data={"csrf": console.csrf(risk, "/staff/report")})
    rows = audit_rows(console, "audit1")
    assert rows[:4] == [
        ("login", None, "allowed"),
        ("view_report", "from=2026-11-01&to=2026-11-07", "allowed"),
        ("download_report_csv", "from=2026-11-01&to=2026-11-07", "allowed"),
        ("view_queue", "/staff/handoffs", "refused"),
    ]
    assert rows[-1] == ("logout", None, "allowed")
    assert call(console, "GET", "/staff/report", risk).headers["Location"] == "/staff/login"  # cookie cleared
    # The same cookie sent again, as a copy of it would be: the session is gone.
    assert call(console, "GET", "/staff/report", cookies={"fz_staff_session": cookie}).status_code == 401


# --- the CSV against the generated data ------------------------------------------------


def test_the_csv_matches_the_generated_data(console, generated_db, risk):
    last = bank_day(generated_db.end, ZONE)
    first = last - timedelta(days=6)
    response = call(console, "GET", f"/staff/report.csv?from={first}&to={last}", risk)
    assert f"fanzha-report-{first}-{last}.csv" in response.headers["Content-Disposition"]
    assert_csv_matches(response, generated_db.truth, first, last)


def test_the_report_page_shows_the_same_totals(console, generated_db, risk):
    last = bank_day(generated_db.end, ZONE)
    first = last - timedelta(days=6)
    start, end = day_bounds(first, last, ZONE)
    page = call(console, "GET", f"/staff/report?from={first}&to={last}", risk).text
    assessed = sum(1 for s in generated_db.truth.summaries if s.kind == ASSESSMENT and start <= s.assessed_at < end)
    assert f"{assessed:,}" in page
    assert f"{len(generated_db.truth.conversations_between(start, end)):,}" in page
    assert page.count("<svg") >= 3 and "<script" not in page


def test_the_default_report_is_the_last_seven_days(console, risk):
    page = call(console, "GET", "/staff/report", risk).text
    today = datetime.now(ZONE).date()
    assert f"{today - timedelta(days=6)} 至 {today}" in page


# --- login limits ------------------------------------------------------------------------


def test_wrong_passwords_lock_the_account(console):
    session = console.client()
    for attempt in range(3):
        response = console.post_login(session, "lockme", "wrong password!")
        assert response.status_code == (401 if attempt < 2 else 423)
    assert "已锁定" in response.text
    response = console.post_login(session, "lockme", "correct horse battery staple")
    assert response.status_code == 423  # not even the right password while locked
    assert [a for a, _, _ in audit_rows(console, "lockme")] == ["login_failed"] * 2 + ["login_locked"] * 2
    # An unknown name answers exactly like a wrong password: names cannot be probed.
    unknown = console.post_login(console.client(), "nobody", "wrong password!")
    assert unknown.status_code == 401 and "用户名或密码错误" in unknown.text


def test_one_address_is_slowed_before_it_can_guess_much(generated_db, tmp_path):
    with running_staff(tmp_path, generated_db.records_url, generated_db.endpoints,
                       env={"STAFF_LOGIN_ATTEMPTS_PER_IP": "4"}) as server:
        session = server.client()
        codes = [server.post_login(session, f"guess{n}", "wrong password!").status_code for n in range(6)]
    assert codes == [401] * 4 + [429] * 2


def test_date_helper_matches_the_bank_zone():
    assert bank_day(datetime(2026, 12, 1, 16, 30, tzinfo=ZoneInfo("UTC")).timestamp(), ZONE) == date(2026, 12, 2)

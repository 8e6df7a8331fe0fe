"""The staff console's web application (Sanic): routes, sessions, CSRF, roles, audit.

Every route under /staff except the login form needs a live session; the hotline role
sees the handoff queue, the risk role the trend report. Every response carries the
headers of layout.SECURITY_HEADERS (no-store, CSP, no framing) and none of CORS: the
console is only ever used from its own pages. Bad input gets a Chinese 4xx page.
"""

import logging
import time
from functools import wraps
from typing import Awaitable, Callable, Optional
from zoneinfo import ZoneInfo

from sanic import Sanic
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse, html, raw, redirect

from core.atms import InputError, find_atm, known_atms
from core.handoff_records import NOTE_MAX_CHARS, STATUS_NAMES, StatusChangeRefused, change_status
from core.settings import StaffSettings
from staff import audit, handoff_queue, handoff_pages, report_page
from staff.accounts import Outcome, check_login
from staff.database import Databases, ensure_events_index, run
from staff.date_range import RangeError, ReportRange, parse_range
from staff.layout import HOME_BY_ROLE, SECURITY_HEADERS, error_page, page
from staff.login_limits import AttemptLimiter
from staff.markup import render
from staff.report_csv import report_csv
from staff.report_queries import build_report
from staff.sessions import (
    COOKIE,
    COOKIE_PATH,
    LOGIN_COOKIE,
    Session,
    create_session,
    end_expired_sessions,
    end_session,
    load_session,
    new_token,
    same_token,
)
from staff.tables import HOTLINE, RISK, ROLE_NAMES

logger = logging.getLogger(__name__)

REQUEST_MAX_BYTES = 64 * 1024  # a note and a token; nothing staff send is larger
FORM_FIELD_MAX_CHARS = 256  # user name and password
Handler = Callable[..., Awaitable[HTTPResponse]]

MESSAGES = {
    400: "请求格式不对。",
    401: "请先登录。",
    403: "没有权限。",
    404: "页面不存在。",
    405: "不支持这种请求方式。",
    408: "请求超时，请重试。",
    413: "提交的内容太大。",
    500: "服务器内部错误，请稍后重试；如果一直出现，请联系管理员。",
}
SESSION_INVALID = "登录已失效或无效（可能已超时、已退出，或 Cookie 不是本系统签发的），请重新登录。"
CSRF_REFUSED = "安全校验失败：表单已过期，或不是从本控制台页面提交的。请刷新页面后重试。"


def client_address(request: Request) -> str:
    # remote_addr is the forwarded client when SANIC_PROXIES_COUNT / REAL_IP_HEADER say
    # a proxy is trusted (docs/staff.md); otherwise the socket's peer.
    return request.remote_addr or request.ip or ""


def _secure(request: Request) -> bool:
    return request.app.ctx.settings.cookie_secure or request.scheme == "https"


def set_cookie(request: Request, response: HTTPResponse, name: str, value: str,
               max_age: Optional[int] = None) -> None:
    response.cookies[name] = value
    cookie = response.cookies[name]
    cookie["path"] = COOKIE_PATH
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    if _secure(request):
        cookie["secure"] = True
    if max_age is not None:
        cookie["max-age"] = max_age


def clear_cookie(request: Request, response: HTTPResponse, name: str) -> None:
    set_cookie(request, response, name, "", max_age=0)


def page_response(body, status: int = 200) -> HTTPResponse:
    return html(body, status=status)


def refuse(request: Request, status: int, message: str, session: Optional[Session] = None,
           login_link: bool = False) -> HTTPResponse:
    return page_response(error_page(status, message, session, login_link), status)


async def _audit(request: Request, session: Optional[Session], action: str, target: Optional[str],
                 outcome: str = audit.ALLOWED, username: Optional[str] = None) -> None:
    await run(audit.record, request.app.ctx.databases.records,
              username or (session.username if session else None), action, target, outcome,
              client_address(request))


async def current_session(request: Request) -> Optional[Session]:
    ctx = request.app.ctx
    return await run(load_session, ctx.databases.records, request.cookies.get(COOKIE), ctx.settings, time.time())


def requires(role: str, action: str) -> Callable[[Handler], Handler]:
    """The route needs a live session of `role`; refusals are audited as `action`.

    No cookie: a page is answered with the way to the login form (303), anything else
    with 401. A cookie that is no session (forged, expired, logged out): 401, cookie
    cleared. Another role: 403.
    """
    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def checked(request: Request, *args, **kwargs) -> HTTPResponse:
            session = await current_session(request)
            if session is None:
                if request.cookies.get(COOKIE):
                    await _audit(request, None, action, request.path, audit.REFUSED)
                    response = refuse(request, 401, SESSION_INVALID, login_link=True)
                    clear_cookie(request, response, COOKIE)
                    return response
                if request.method == "GET":
                    return redirect("/staff/login", status=303)
                return refuse(request, 401, MESSAGES[401], login_link=True)
            if session.role != role:
                await _audit(request, session, action, request.path, audit.REFUSED)
                what = "转人工队列" if role == HOTLINE else "趋势报告"
                return refuse(request, 403, f"您的角色（{ROLE_NAMES.get(session.role, session.role)}）"
                              f"无权查看{what}。", session)
            request.ctx.session = session
            return await handler(request, *args, **kwargs)
        return checked
    return decorate


def csrf_ok(request: Request) -> bool:
    return same_token(request.ctx.session.csrf_token, _field(request, "csrf"))


def _field(request: Request, name: str) -> str:
    form = request.form or {}
    value = form.get(name)
    return value if isinstance(value, str) else ""


# ---------------------------------------------------------------------------
# Login and logout


def login_page(request: Request, message: Optional[str] = None, status: int = 200,
               username: str = "") -> HTTPResponse:
    token = new_token()
    body = render(
        '<div class="login"><section class="card"><h1>员工登录</h1>{message}'
        '<form method="post" action="/staff/login">'
        '<input type="hidden" name="csrf" value="{csrf}">'
        '<label for="username">用户名</label>'
        '<input type="text" id="username" name="username" value="{username}" maxlength="64" '
        'autocomplete="username" required autofocus>'
        '<label for="password">密码</label>'
        '<input type="password" id="password" name="password" maxlength="256" '
        'autocomplete="current-password" required>'
        '<p><button class="primary" type="submit">登录</button></p></form>'
        '<p class="muted">仅供银行内部员工使用，所有访问都会被记录。</p></section></div>',
        message=render('<div class="error" role="alert">{m}</div>', m=message) if message else "",
        csrf=token, username=username)
    response = page_response(page("员工登录", body), status)
    set_cookie(request, response, LOGIN_COOKIE, token)
    return response


async def show_login(request: Request) -> HTTPResponse:
    session = await current_session(request)
    if session is not None:
        return redirect(HOME_BY_ROLE.get(session.role, "/staff/login"), status=303)
    return login_page(request)


async def do_login(request: Request) -> HTTPResponse:
    ctx = request.app.ctx
    address = client_address(request)
    username = _field(request, "username")[:FORM_FIELD_MAX_CHARS]
    password = _field(request, "password")
    if not same_token(request.cookies.get(LOGIN_COOKIE) or "", _field(request, "csrf")):
        return login_page(request, "登录表单已过期或不是从本页面提交的，请重新输入。", 403)
    wait = ctx.login_limiter.retry_after(address)
    if wait is not None:
        await _audit(request, None, audit.LOGIN_RATE_LIMITED, username, audit.REFUSED, username=username[:64])
        minutes = max(1, int(wait // 60) + 1)
        return login_page(request, f"登录尝试过于频繁，请 {minutes} 分钟后再试。", 429, username)
    if not username or not password or len(password) > 256:
        return login_page(request, "请输入用户名和密码（密码最多 256 个字符）。", 400, username)
    now = time.time()
    result = await run(check_login, ctx.databases.records, username, password, ctx.settings, now)
    if result.outcome is Outcome.LOCKED:
        await _audit(request, None, audit.LOGIN_LOCKED, result.username, audit.REFUSED, username=result.username)
        minutes = max(1, int((result.locked_until - now) // 60) + 1)
        return login_page(request, f"密码错误次数过多，该账户已锁定，请 {minutes} 分钟后再试，"
                          "或联系管理员（make staff-user 重设密码可立即解锁）。", 423, username)
    if result.outcome is Outcome.WRONG:
        await _audit(request, None, audit.LOGIN_FAILED, result.username, audit.REFUSED, username=result.username)
        return login_page(request, "用户名或密码错误。", 401, username)
    await run(end_expired_sessions, ctx.databases.records, ctx.settings, now)
    token, session = await run(create_session, ctx.databases.records, result.username, result.role, now)
    await _audit(request, session, audit.LOGIN, None)
    response = redirect(HOME_BY_ROLE[session.role], status=303)
    set_cookie(request, response, COOKIE, token)
    clear_cookie(request, response, LOGIN_COOKIE)
    return response


async def do_logout(request: Request) -> HTTPResponse:
    session = await current_session(request)
    if session is None:
        response = redirect("/staff/login", status=303)
    else:
        request.ctx.session = session
        if not csrf_ok(request):
            return refuse(request, 403, CSRF_REFUSED, session)
        await run(end_session, request.app.ctx.databases.records, session.token_hash)
        await _audit(request, session, audit.LOGOUT, None)
        response = page_response(page("已退出", render(
            '<div class="login"><section class="card"><h1>已退出登录</h1>'
            '<p><a href="/staff/login">重新登录</a></p></section></div>')))
    clear_cookie(request, response, COOKIE)
    # The back button must not bring the console back from this browser's cache.
    response.headers["Clear-Site-Data"] = '"cache"'
    return response


async def home(request: Request) -> HTTPResponse:
    session = await current_session(request)
    target = HOME_BY_ROLE.get(session.role, "/staff/login") if session else "/staff/login"
    return redirect(target, status=303)


# ---------------------------------------------------------------------------
# Handoff queue (hotline)


def _zone(request: Request) -> ZoneInfo:
    return request.app.ctx.zone


def _atms() -> dict:
    try:
        return known_atms()
    except InputError:
        return {}


@requires(HOTLINE, audit.VIEW_QUEUE)
async def show_queue(request: Request) -> HTTPResponse:
    session = request.ctx.session
    entries, total = await run(handoff_queue.open_handoffs, request.app.ctx.databases)
    await _audit(request, session, audit.VIEW_QUEUE, None)
    changed = handoff_queue.normalise_reference(request.args.get("changed", ""))
    body = handoff_pages.queue_body(entries, total, _zone(request), _atms(), changed)
    return page_response(page("转人工队列", body, session, "/staff/handoffs"))


def _not_found(request: Request, raw_reference: str) -> HTTPResponse:
    shown = raw_reference if len(raw_reference) <= 40 else raw_reference[:40] + "…"
    return refuse(request, 404, f"找不到转人工记录 {shown}。请核对编号（格式如 FZ-ABCDEF）；"
                  "记录也可能已按保留期限删除。", request.ctx.session)


@requires(HOTLINE, audit.FIND_HANDOFF)
async def find_handoff(request: Request) -> HTTPResponse:
    raw_reference = request.args.get("reference", "")
    reference = handoff_queue.normalise_reference(raw_reference)
    found = reference and await run(handoff_queue.find_handoff, request.app.ctx.databases, reference)
    await _audit(request, request.ctx.session, audit.FIND_HANDOFF, raw_reference[:64],
                 audit.ALLOWED if found else audit.REFUSED)
    if not found:
        return _not_found(request, raw_reference)
    return redirect(f"/staff/handoffs/{reference}", status=303)


async def _detail(request: Request, reference: str, error: Optional[str] = None, note: str = "",
                  status: int = 200) -> HTTPResponse:
    databases = request.app.ctx.databases
    found = handoff_queue.REFERENCE_PATTERN.fullmatch(reference) and await run(
        handoff_queue.find_handoff, databases, reference)
    await _audit(request, request.ctx.session, audit.VIEW_HANDOFF, reference[:64],
                 audit.ALLOWED if found else audit.REFUSED)
    if not found:
        return _not_found(request, reference)
    entry, history = found
    turns, truncated = await run(handoff_queue.transcript, databases, entry.conversation_id)
    try:
        atm = find_atm(entry.atm_id)
    except InputError:
        atm = None
    body = handoff_pages.detail_body(entry, history, turns, truncated, _zone(request), atm,
                                     request.ctx.session.csrf_token, error, note)
    return page_response(page(f"转人工记录 {entry.reference}", body, request.ctx.session, "/staff/handoffs"),
                         status)


@requires(HOTLINE, audit.VIEW_HANDOFF)
async def show_handoff(request: Request, reference: str) -> HTTPResponse:
    return await _detail(request, reference)


@requires(HOTLINE, audit.CHANGE_STATUS)
async def set_status(request: Request, reference: str) -> HTTPResponse:
    session = request.ctx.session
    if not csrf_ok(request):
        await _audit(request, session, audit.CHANGE_STATUS, reference[:64], audit.REFUSED)
        return refuse(request, 403, CSRF_REFUSED, session)
    status, note = _field(request, "status"), _field(request, "note").strip()
    problem = None
    if status not in STATUS_NAMES or status == "open":
        problem = "请选择新状态：“已联系”或“已处理”。"
    elif not note:
        problem = "请填写备注：联系结果或处理情况。"
    elif len(note) > NOTE_MAX_CHARS:
        problem = f"备注太长：最多 {NOTE_MAX_CHARS} 个字。"
    if problem is None and handoff_queue.REFERENCE_PATTERN.fullmatch(reference):
        try:
            await run(change_status, request.app.ctx.databases.records, reference, status, note, session.username)
        except LookupError:
            problem = "missing"
        except StatusChangeRefused as refused:
            await _audit(request, session, audit.CHANGE_STATUS, reference, audit.REFUSED)
            return await _detail(request, reference, str(refused), status=409)
        else:
            await _audit(request, session, audit.CHANGE_STATUS, f"{reference} {status}")
            return redirect(f"/staff/handoffs?changed={reference}", status=303)
    await _audit(request, session, audit.CHANGE_STATUS, reference[:64], audit.REFUSED)
    if problem is None or problem == "missing":
        return _not_found(request, reference)
    return await _detail(request, reference, problem, note[:NOTE_MAX_CHARS], status=400)


# ---------------------------------------------------------------------------
# Trend report (risk)


def _range(request: Request) -> ReportRange:
    return parse_range(request.args.get("from"), request.args.get("to"), request.app.ctx.settings.timezone)


async def _report(request: Request, span: ReportRange):
    databases = request.app.ctx.databases
    if not request.app.ctx.events_indexed:  # Rasa may have created `events` after start-up
        request.app.ctx.events_indexed = await run(ensure_events_index, databases.events)
    return await run(build_report, databases, span)


@requires(RISK, audit.VIEW_REPORT)
async def show_report(request: Request) -> HTTPResponse:
    session = request.ctx.session
    try:
        span = _range(request)
    except RangeError as error:
        await _audit(request, session, audit.VIEW_REPORT, request.query_string[:255], audit.REFUSED)
        body = render("<h1>趋势报告</h1>{form}", form=report_page.filter_form(None, str(error)))
        return page_response(page("趋势报告", body, session, "/staff/report"), 400)
    report = await _report(request, span)
    await _audit(request, session, audit.VIEW_REPORT, span.query())
    return page_response(page("趋势报告", report_page.report_body(report), session, "/staff/report"))


@requires(RISK, audit.DOWNLOAD_CSV)
async def download_csv(request: Request) -> HTTPResponse:
    session = request.ctx.session
    try:
        span = _range(request)
    except RangeError as error:
        await _audit(request, session, audit.DOWNLOAD_CSV, request.query_string[:255], audit.REFUSED)
        return refuse(request, 400, str(error), session)
    report = await _report(request, span)
    await _audit(request, session, audit.DOWNLOAD_CSV, span.query())
    name = f"fanzha-report-{span.first.isoformat()}-{span.last.isoformat()}.csv"
    return raw(report_csv(report).encode("utf-8"), content_type="text/csv; charset=utf-8",
               headers={"Content-Disposition": f'attachment; filename="{name}"'})


# ---------------------------------------------------------------------------
# The application


async def add_security_headers(request: Request, response: HTTPResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value


async def handle_error(request: Request, exception: Exception) -> HTTPResponse:
    status = getattr(exception, "status_code", 500) if isinstance(exception, SanicException) else 500
    if status >= 500:
        logger.exception("staff console error on %s", request.path, exc_info=exception)
    message = MESSAGES.get(status, MESSAGES[400] if status < 500 else MESSAGES[500])
    response = refuse(request, status, message)
    if status == 405 and getattr(exception, "allowed_methods", None):
        response.headers["Allow"] = ", ".join(sorted(exception.allowed_methods))
    return response


def create_app(databases: Databases, settings: StaffSettings, name: str = "fanzha_staff") -> Sanic:
    app = Sanic(name)
    app.config.REQUEST_MAX_SIZE = REQUEST_MAX_BYTES
    app.config.FALLBACK_ERROR_FORMAT = "html"
    app.ctx.databases = databases
    app.ctx.settings = settings
    app.ctx.zone = ZoneInfo(settings.timezone)
    app.ctx.login_limiter = AttemptLimiter(settings.login_attempts_per_ip, settings.login_window_minutes * 60)
    app.ctx.events_indexed = False

    app.add_route(lambda request: redirect("/staff", status=303), "/", methods=["GET"], name="root")
    app.add_route(home, "/staff", methods=["GET"])
    app.add_route(show_login, "/staff/login", methods=["GET"])
    app.add_route(do_login, "/staff/login", methods=["POST"])
    app.add_route(do_logout, "/staff/logout", methods=["POST"])
    app.add_route(show_queue, "/staff/handoffs", methods=["GET"])
    app.add_route(find_handoff, "/staff/handoffs/find", methods=["GET"])
    app.add_route(show_handoff, "/staff/handoffs/<reference:str>", methods=["GET"])
    app.add_route(set_status, "/staff/handoffs/<reference:str>/status", methods=["POST"])
    app.add_route(show_report, "/staff/report", methods=["GET"])
    app.add_route(download_csv, "/staff/report.csv", methods=["GET"])
    app.register_middleware(add_security_headers, "response")
    app.error_handler.add(Exception, handle_error)
    return app

"""The page shell every console page shares: header, navigation, logout, styles, and the
response headers that keep staff pages out of caches, frames and other origins."""

import base64
import hashlib
from typing import Dict, Optional

from staff.markup import Html, render
from staff.tables import HOTLINE, RISK, ROLE_NAMES

CONSOLE_NAME = "反诈助手 · 员工控制台"

CSS = """
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.6 "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC",
  "WenQuanYi Micro Hei", sans-serif; color: #1d1d1f; background: #f4f5f7; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 24px; padding: 10px 24px;
  background: #8b0000; color: #fff; }
header .brand { font-weight: 700; font-size: 17px; }
header nav a { color: #fff; margin-right: 16px; text-decoration: none; }
header nav a.active { text-decoration: underline; font-weight: 700; }
header .who { margin-left: auto; display: flex; align-items: center; gap: 12px; }
header button { background: #fff; color: #8b0000; border: 0; padding: 4px 12px; border-radius: 4px;
  cursor: pointer; font: inherit; }
main { max-width: 1180px; margin: 0 auto; padding: 20px 24px 48px; }
h1 { font-size: 22px; margin: 8px 0 16px; }
h2 { font-size: 18px; margin: 28px 0 10px; }
section.card { background: #fff; border-radius: 8px; padding: 16px 20px; margin-bottom: 18px;
  box-shadow: 0 1px 2px rgba(0,0,0,.08); }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid #e3e5e8; vertical-align: top; }
th { background: #fafafa; font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
a { color: #0b57d0; }
.muted { color: #5f6368; }
.notice { padding: 10px 14px; border-radius: 6px; background: #fff4e5; border: 1px solid #f5c27a; }
.error { padding: 14px 18px; border-radius: 6px; background: #fdecea; border: 1px solid #f28b82; }
.ok { padding: 10px 14px; border-radius: 6px; background: #e6f4ea; border: 1px solid #81c995; }
.risk-high { color: #b3261e; font-weight: 700; }
.risk-medium { color: #a15c00; font-weight: 600; }
.gone { color: #b3261e; font-weight: 700; }
.status-open { color: #b3261e; }
.status-contacted { color: #a15c00; }
.status-done { color: #137333; }
form.inline { display: inline; }
label { display: block; margin: 10px 0 4px; font-weight: 600; }
input[type=text], input[type=password], input[type=date], select, textarea {
  font: inherit; padding: 6px 8px; border: 1px solid #bbb; border-radius: 4px; }
textarea { width: 100%; min-height: 90px; }
button.primary { background: #8b0000; color: #fff; border: 0; padding: 7px 18px; border-radius: 4px;
  font: inherit; cursor: pointer; }
.filters { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-end; }
.filters label { margin: 0 0 4px; }
.figures { display: flex; flex-wrap: wrap; gap: 16px; }
.figure { background: #fff; border-radius: 8px; padding: 12px 18px; min-width: 170px;
  box-shadow: 0 1px 2px rgba(0,0,0,.08); }
.figure .value { font-size: 26px; font-weight: 700; }
.transcript { display: flex; flex-direction: column; gap: 8px; }
.turn { max-width: 80%; padding: 8px 12px; border-radius: 8px; white-space: pre-wrap;
  overflow-wrap: anywhere; }
.turn.user { align-self: flex-end; background: #e8f0fe; }
.turn.bot { align-self: flex-start; background: #f1f3f4; }
.turn .meta { display: block; font-size: 12px; color: #5f6368; white-space: normal; }
.login { max-width: 380px; margin: 60px auto; }
.login input { width: 100%; }
.columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 18px; }
svg.chart { width: 100%; height: auto; display: block; }
@media print {
  body { background: #fff; font-size: 11px; }
  header, .no-print { display: none; }
  main { max-width: none; padding: 0; }
  section.card, .figure { box-shadow: none; padding: 4px 0; margin-bottom: 6px; }
  h1 { font-size: 16px; margin: 0 0 6px; } h2 { font-size: 13px; margin: 8px 0 4px; }
  .figures { flex-wrap: nowrap; gap: 8px; } .figure { flex: 1; min-width: 0; padding: 2px 6px; }
  .figure .value { font-size: 18px; }
  th, td { padding: 2px 6px; }
  @page { size: A4; margin: 10mm; }
}
"""
# The one inline style block, allowed by its hash: no other style or script can run.
CSS_HASH = base64.b64encode(hashlib.sha256(CSS.encode("utf-8")).digest()).decode("ascii")
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'sha256-{CSS_HASH}'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

# Sent with every response of the staff server, pages and errors alike.
SECURITY_HEADERS: Dict[str, str] = {
    # no-store: after logout the back button must show nothing from the console.
    "Cache-Control": "no-store, max-age=0",
    "Pragma": "no-cache",
    "Expires": "0",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}

HOME_BY_ROLE = {HOTLINE: "/staff/handoffs", RISK: "/staff/report"}
NAVIGATION = {HOTLINE: (("/staff/handoffs", "转人工队列"),), RISK: (("/staff/report", "趋势报告"),)}


def document(title: str, body: Html, header: Html = Html("")) -> Html:
    return render(
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex, nofollow">\n'
        # No favicon request: the only requests a page makes are the ones we serve.
        '<link rel="icon" href="data:,">\n'
        "<title>{title}</title>\n<style>{css}</style>\n</head>\n<body>\n{header}"
        "<main>\n{body}\n</main>\n</body>\n</html>\n",
        title=f"{title} - {CONSOLE_NAME}", css=Html(CSS), header=header, body=body,
    )


def page(title: str, body: Html, session=None, active: Optional[str] = None) -> Html:
    """A console page; with a session, the header shows navigation and the logout button."""
    header = Html("")
    if session is not None:
        links = [
            render('<a href="{href}"{current}>{label}</a>', href=href, label=label,
                   current=Html(' class="active" aria-current="page"') if href == active else "")
            for href, label in NAVIGATION.get(session.role, ())
        ]
        header = render(
            '<header><span class="brand">{brand}</span><nav>{links}</nav>'
            '<span class="who">{user}（{role}）'
            '<form class="inline" method="post" action="/staff/logout">'
            '<input type="hidden" name="csrf" value="{csrf}">'
            '<button type="submit">退出登录</button></form></span></header>\n',
            brand=CONSOLE_NAME, links=Html("".join(links)), user=session.username,
            role=ROLE_NAMES.get(session.role, session.role), csrf=session.csrf_token,
        )
    else:
        header = render('<header><span class="brand">{brand}</span></header>\n', brand=CONSOLE_NAME)
    return document(title, body, header)


def error_page(status: int, message: str, session=None, login_link: bool = False) -> Html:
    """A clear Chinese message for a refused request, with the way on."""
    way_on = (render('<p><a href="/staff/login">重新登录</a></p>') if login_link
              else render('<p><a href="{home}">返回首页</a></p>',
                          home=HOME_BY_ROLE.get(getattr(session, "role", ""), "/staff/login")))
    body = render('<h1>{title}</h1><div class="error" role="alert"><p>{message}</p></div>{way_on}',
                  title=f"无法完成请求（{status}）", message=message, way_on=way_on)
    return page(f"错误 {status}", body, session)

"""The hotline's pages: the queue of open handoff requests, and one record with its
history, the status form and the conversation transcript. Every stored value is escaped
(staff/markup.py): customers type what they like, and channels pass it on."""

from datetime import datetime
from typing import List, Optional
from zoneinfo import ZoneInfo

from core.atms import Atm
from core.handoff_records import CONTACTED, DONE, NOTE_MAX_CHARS, STATUS_NAMES
from staff.handoff_queue import HandoffEntry, StatusChange, Turn
from staff.markup import Html, join, render
from staff.names import UNKNOWN, channel_name, risk_name, scam_name, status_name

TIME_FORMAT = "%Y-%m-%d %H:%M"


def _time(moment: Optional[datetime], zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime(TIME_FORMAT) if moment else ""


def money_gone_text(value: Optional[bool]) -> Html:
    if value is None:
        return render('<span class="muted">未知</span>')
    return render('<span class="gone">已给出</span>') if value else render("未给出")


def _risk(risk: Optional[str]) -> Html:
    return render('<span class="risk-{risk}">{name}</span>', risk=risk or "unknown", name=risk_name(risk))


def _status(status: str) -> Html:
    return render('<span class="status-{s}">{name}</span>', s=status, name=status_name(status))


def _atm(atm_id: Optional[str], atm: Optional[Atm]) -> Html:
    if not atm_id:
        return render('<span class="muted">—</span>')
    where = "，".join(part for part in (atm.location, atm.branch) if part) if atm else ""
    return render("{atm}{where}", atm=atm_id,
                  where=render('<div class="muted">{w}</div>', w=where) if where else "")


def find_form() -> Html:
    return render(
        '<form class="filters" method="get" action="/staff/handoffs/find">'
        '<div><label for="reference">按编号查找（客户报出的记录编号）</label>'
        '<input type="text" id="reference" name="reference" placeholder="FZ-ABCDEF" maxlength="40" '
        'autocomplete="off"></div><div><button class="primary" type="submit">查找</button></div></form>')


def queue_body(entries: List[HandoffEntry], total: int, zone: ZoneInfo, atms: dict,
               changed: Optional[str] = None) -> Html:
    notice = render('<p class="ok" role="status">已更新 {ref}。</p>', ref=changed) if changed else ""
    if not entries:
        table = render('<p class="muted">目前没有待处理的转人工请求。</p>')
    else:
        rows = join(
            render(
                "<tr><td><a href=\"/staff/handoffs/{ref}\">{ref}</a></td><td>{time}</td><td>{channel}</td>"
                "<td>{scam}</td><td>{risk}</td><td>{atm}</td><td>{gone}</td><td>{status}</td></tr>",
                ref=e.reference, time=_time(e.requested_at, zone), channel=channel_name(e.channel),
                scam=scam_name(e.scam_type) if e.scam_type else UNKNOWN, risk=_risk(e.risk),
                atm=_atm(e.atm_id, atms.get((e.atm_id or "").lower())), gone=money_gone_text(e.money_gone),
                status=_status(e.status))
            for e in entries)
        table = render(
            '<table><thead><tr><th scope="col">编号</th><th scope="col">请求时间</th><th scope="col">渠道</th>'
            '<th scope="col">诈骗类型</th><th scope="col">风险</th><th scope="col">ATM</th>'
            '<th scope="col">钱款/验证码</th><th scope="col">状态</th></tr></thead><tbody>{rows}</tbody></table>',
            rows=rows)
    shown = render('<p class="muted">仅显示最新的 {n} 条。</p>', n=len(entries)) if total > len(entries) else ""
    return render(
        "<h1>转人工队列</h1>{notice}{find}"
        '<p>未处理的请求 <strong>{total}</strong> 条，最新的在前。</p><section class="card">{table}{shown}</section>',
        notice=notice, find=find_form(), total=total, table=table, shown=shown)


def _payload_note(payload: dict) -> str:
    kind = payload.get("type")
    if kind == "scam_assessment":
        return f"评估：{scam_name(payload.get('scam_type'))}，风险{risk_name(payload.get('risk'))}"
    if kind == "emergency":
        return "紧急：钱款或验证码已给出，给出止付步骤"
    if kind == "handoff":
        return f"转人工，记录编号 {payload.get('reference') or '未生成'}"
    if kind == "atm_alert":
        return f"ATM 警示（{payload.get('atm_id') or '未知 ATM'}）"
    if kind in ("number_check", "link_check"):
        return "号码核实" if kind == "number_check" else "链接检查"
    return ""


SCREENSHOT = "截图"


def _screenshots(turns: List[Turn]) -> str:
    """How many screenshots the customer sent: only their text was kept, never a picture."""
    count = sum(1 for turn in turns if turn.from_image)
    return f"{count} 张（只保存识别出的文字，不保存图片）" if count else "无"


def _turn(turn: Turn, zone: ZoneInfo) -> Html:
    who = "客户" if turn.speaker == "user" else "助手"
    meta = f"{who} · {_time(turn.at, zone)}"
    if turn.channel:
        meta += f" · {channel_name(turn.channel)}"
    if turn.from_image:
        meta += f" · {SCREENSHOT}（识别出的文字）"
    note = _payload_note(turn.payload)
    return render('<div class="turn {speaker}"><span class="meta">{meta}</span>{text}{note}</div>',
                  speaker="user" if turn.speaker == "user" else "bot", meta=meta, text=turn.text or "（无文字）",
                  note=render('<span class="meta">{n}</span>', n=note) if note else "")


def status_form(entry: HandoffEntry, csrf: str, error: Optional[str] = None, note: str = "") -> Html:
    if entry.status == DONE:
        return render('<p class="muted">此记录已处理，不能再修改。</p>')
    options = join(render('<option value="{v}">{name}</option>', v=value, name=STATUS_NAMES[value])
                   for value in (CONTACTED, DONE))
    return render(
        '{error}<form method="post" action="/staff/handoffs/{ref}/status">'
        '<input type="hidden" name="csrf" value="{csrf}">'
        '<label for="status">新状态</label><select id="status" name="status">{options}</select>'
        '<label for="note">备注（必填：联系结果、处理情况）</label>'
        '<textarea id="note" name="note" maxlength="{max}" required>{note}</textarea>'
        '<p><button class="primary" type="submit">保存</button></p></form>',
        error=render('<div class="error" role="alert">{e}</div>', e=error) if error else "",
        ref=entry.reference, csrf=csrf, options=options, max=NOTE_MAX_CHARS, note=note)


def detail_body(entry: HandoffEntry, history: List[StatusChange], turns: List[Turn], truncated: bool,
                zone: ZoneInfo, atm: Optional[Atm], csrf: str, error: Optional[str] = None,
                note: str = "") -> Html:
    facts = [
        ("请求时间", _time(entry.requested_at, zone)),
        ("状态", _status(entry.status)),
        ("渠道", channel_name(entry.channel)),
        ("诈骗类型", scam_name(entry.scam_type) if entry.scam_type else UNKNOWN),
        ("风险", _risk(entry.risk)),
        ("ATM", _atm(entry.atm_id, atm)),
        ("钱款/验证码", money_gone_text(entry.money_gone)),
        (SCREENSHOT, _screenshots(turns)),
        ("对话编号", entry.conversation_id),
    ]
    fact_rows = join(render('<tr><th scope="row">{k}</th><td>{v}</td></tr>', k=k, v=v) for k, v in facts)
    history_rows = join(
        render("<tr><td>{time}</td><td>{status}</td><td>{user}</td><td class=\"turn-note\">{note}</td></tr>",
               time=_time(change.changed_at, zone), status=_status(change.status), user=change.staff_user,
               note=change.note)
        for change in history)
    history_table = (render(
        '<table><thead><tr><th scope="col">时间</th><th scope="col">状态</th><th scope="col">员工</th>'
        '<th scope="col">备注</th></tr></thead><tbody>{rows}</tbody></table>', rows=history_rows)
        if history else render('<p class="muted">还没有处理记录。</p>'))
    transcript = (join(_turn(turn, zone) for turn in turns) if turns
                  else render('<p class="muted">找不到这段对话（可能已按保留期限删除）。</p>'))
    older = render('<p class="muted">只显示最近的 {n} 条消息。</p>', n=len(turns)) if truncated else ""
    return render(
        '<p><a href="/staff/handoffs">← 返回队列</a></p><h1>转人工记录 {ref}</h1>'
        '<div class="columns"><section class="card"><table>{facts}</table></section>'
        '<section class="card"><h2>更新状态</h2>{form}</section></div>'
        '<section class="card"><h2>处理记录</h2>{history}</section>'
        '<section class="card"><h2>对话记录（已脱敏，按存储原样显示）</h2>{older}'
        '<div class="transcript">{transcript}</div></section>',
        ref=entry.reference, facts=fact_rows, form=status_form(entry, csrf, error, note), history=history_table,
        older=older, transcript=transcript)

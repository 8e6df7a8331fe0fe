"""The trend report as HTML: figures, charts and tables for a date range. The console
serves it at /staff/report; `make report` writes the compact one-page variant."""

from typing import List, Optional, Sequence, Tuple

from staff import charts
from staff.markup import Html, join, render
from staff.names import channel_name, flag_name, risk_name, scam_name
from staff.report_queries import Report

UNLISTED_BRANCH = "未登记网点"


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], numeric_from: int,
           empty: str = "所选日期内没有数据") -> Html:
    if not rows:
        return render('<p class="muted">{empty}</p>', empty=empty)
    head = join(render('<th{cls} scope="col">{h}</th>',
                       cls=Html(' class="num"') if i >= numeric_from else "", h=h)
                for i, h in enumerate(headers))
    body = join(
        render("<tr>{cells}</tr>", cells=join(
            render("<td{cls}>{v}</td>", cls=Html(' class="num"') if i >= numeric_from else "", v=v)
            for i, v in enumerate(row)))
        for row in rows)
    return render("<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>", head=head, body=body)


def _figure(label: str, value: str, note: str = "") -> Html:
    return render('<div class="figure"><div class="muted">{label}</div><div class="value">{value}</div>'
                  '<div class="muted">{note}</div></div>', label=label, value=value, note=note)


def _daily_series(report: Report, what: str, name) -> dict:
    per_day = report.per_day(what)
    keys = {key for counts in per_day.values() for key in counts}
    return {name(key): [per_day.get(day, {}).get(key, 0) for day in report.span.days] for key in keys}


def filter_form(report: Report, error: Optional[str] = None) -> Html:
    span = report.span if report else None
    return render(
        '<form class="filters no-print" method="get" action="/staff/report">'
        '<div><label for="from">开始日期</label><input type="date" id="from" name="from" value="{first}"></div>'
        '<div><label for="to">结束日期</label><input type="date" id="to" name="to" value="{last}"></div>'
        '<div><button class="primary" type="submit">查询</button></div>'
        '<div><a href="/staff/report.csv?{query}">下载 CSV</a></div></form>{error}',
        first=span.first.isoformat() if span else "", last=span.last.isoformat() if span else "",
        query=span.query() if span else "",
        error=render('<div class="error" role="alert">{e}</div>', e=error) if error else "")


def report_body(report: Report, compact: bool = False) -> Html:
    """The report; `compact` keeps the top rows only, to print on one A4 page."""
    rows = 5 if compact else 20
    total = report.assessments
    by_type = report.by_type()
    by_channel = report.by_channel()
    by_atm = report.by_atm()
    by_branch = report.by_branch()
    flags = report.top_flags(5 if compact else 10)
    share = report.emergency_share

    figures = render('<div class="figures">{items}</div>', items=join([
        _figure("诈骗评估", f"{total:,}", "次"),
        _figure("对话", f"{report.conversations:,}", "个（有客户消息）"),
        _figure("到达紧急情况的对话", f"{report.emergency_conversations:,}",
                f"占对话的 {share * 100:.1f}%" if share is not None else "无对话"),
        _figure("转人工请求", f"{report.handoffs:,}", "条"),
    ]))
    type_chart = charts.stacked_bars("每日评估（按诈骗类型）", report.span.days,
                                     _daily_series(report, "type", scam_name))
    type_table = _table(("诈骗类型", "评估次数", "占比"),
                        [(scam_name(t), f"{n:,}", _percent(n, total)) for t, n in by_type[:rows if compact else None]],
                        1)
    channel_table = _table(("渠道", "评估次数", "占比"),
                           [(channel_name(c), f"{n:,}", _percent(n, total)) for c, n in by_channel], 1)
    atm_table = _table(
        ("ATM", "位置", "网点", "评估次数"),
        [(atm, report.atm_locations.get(atm, ""), branch or UNLISTED_BRANCH, f"{n:,}")
         for atm, branch, n in by_atm[:rows]], 3, empty="所选日期内没有来自 ATM 扫码的评估")
    branch_items: List[Tuple[str, int]] = [(b or UNLISTED_BRANCH, n) for b, n in by_branch]
    flag_block = (
        charts.ranked_bars("最常见的风险信号", [(flag_name(f), n) for f, n in flags])
        if flags else
        render('<p class="muted">所选日期内的评估没有记录风险信号（评估结果附带风险信号后这里会列出最常见的几种）。</p>'))
    risk_table = _table(("风险", "评估次数", "占比"),
                        [(risk_name(r), f"{n:,}", _percent(n, total)) for r, n in report.by_risk()], 1)
    emergency_rows = [
        (day.isoformat(), f"{report.conversations_per_day.get(day, 0):,}",
         f"{report.emergencies_per_day.get(day, 0):,}",
         _percent(report.emergencies_per_day.get(day, 0), report.conversations_per_day.get(day, 0)))
        for day in report.span.days
    ]

    if compact:
        return render(
            "<h1>反诈趋势报告 {label}</h1>{figures}"
            '<section class="card">{type_chart}</section>'
            '<div class="columns"><section class="card"><h2>诈骗类型（前 {rows} 名）</h2>{type_table}</section>'
            '<section class="card"><h2>渠道</h2>{channel_table}</section></div>'
            '<div class="columns"><section class="card"><h2>ATM（前 {rows} 名）</h2>{atm_table}</section>'
            '<section class="card"><h2>网点（前 {rows} 名）</h2>{branch_table}</section></div>'
            '<div class="columns"><section class="card"><h2>最常见的风险信号</h2>{flags}</section>'
            '<section class="card"><h2>风险</h2>{risk_table}</section></div>',
            label=report.span.label(), figures=figures, type_chart=type_chart, rows=rows,
            type_table=type_table, channel_table=channel_table, atm_table=atm_table,
            branch_table=_table(("网点", "评估次数"), [(b, f"{n:,}") for b, n in branch_items[:rows]], 1,
                                empty="所选日期内没有来自 ATM 扫码的评估"),
            flags=_table(("风险信号", "次数"), [(flag_name(f), f"{n:,}") for f, n in flags], 1,
                         empty="所选日期内的评估没有记录风险信号"),
            risk_table=risk_table)

    channel_chart = charts.stacked_bars("每日评估（按渠道）", report.span.days,
                                        _daily_series(report, "channel", channel_name))
    return render(
        "<h1>趋势报告</h1>{form}<p class=\"muted\">{label}，按 {zone} 时区的自然日统计。</p>{figures}"
        '<section class="card">{type_chart}</section>'
        '<div class="columns"><section class="card"><h2>按诈骗类型</h2>{type_table}</section>'
        '<section class="card"><h2>按风险</h2>{risk_table}</section></div>'
        '<section class="card">{channel_chart}{channel_table}</section>'
        '<section class="card"><h2>按网点（ATM 扫码进入的评估）</h2>{branch_chart}</section>'
        '<section class="card"><h2>按 ATM（前 {rows} 名）</h2>{atm_table}</section>'
        '<section class="card"><h2>风险信号</h2>{flags}</section>'
        '<section class="card"><h2>到达紧急情况的对话（钱款或验证码已给出）</h2>{emergency_table}</section>',
        form=filter_form(report), label=report.span.label(), zone=report.span.timezone, figures=figures,
        type_chart=type_chart, type_table=type_table, risk_table=risk_table, channel_chart=channel_chart,
        channel_table=channel_table, atm_table=atm_table, rows=rows,
        branch_chart=charts.ranked_bars("每个网点的 ATM 扫码评估", branch_items, limit=15)
        if branch_items else render('<p class="muted">所选日期内没有来自 ATM 扫码的评估</p>'),
        flags=flag_block,
        emergency_table=_table(("日期", "对话", "紧急情况", "占比"), emergency_rows, 1))

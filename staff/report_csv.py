"""The report as CSV (/staff/report.csv): one row per section, day and group.

    类别,日期,代码,名称,数量
    诈骗类型,2026-12-01,tax_refund,冒充税务局退税诈骗,12
    对话,合计,conversations,有客户消息的对话,950

Sections: 诈骗类型, 渠道, 风险, ATM (名称 = 网点), 网点, 风险信号 (assessments), 对话 and
紧急情况 (distinct conversations, with a 合计 row: a conversation over two days counts
once in the total). UTF-8 with a BOM, so that Excel shows the Chinese.
"""

import csv
import io
from collections import Counter
from typing import Iterable, List

from core.assessment_records import ASSESSMENT
from staff.names import channel_name, flag_name, risk_name, scam_name
from staff.report_page import UNLISTED_BRANCH
from staff.report_queries import Report

HEADER = ("类别", "日期", "代码", "名称", "数量")
TOTAL = "合计"
# A cell starting with one of these is a formula to a spreadsheet.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def report_rows(report: Report) -> List[tuple]:
    rows: List[tuple] = []
    by_day = {"诈骗类型": Counter(), "渠道": Counter(), "风险": Counter()}
    for (day, kind, scam_type, channel, risk), count in report.verdicts.items():
        if kind != ASSESSMENT:
            continue
        by_day["诈骗类型"][(day, scam_type or "", scam_name(scam_type))] += count
        by_day["渠道"][(day, channel or "", channel_name(channel))] += count
        by_day["风险"][(day, risk or "", risk_name(risk))] += count
    branches: Counter = Counter()
    atms: Counter = Counter()
    for (day, atm_id, branch), count in report.atms.items():
        atms[(day, atm_id, branch or UNLISTED_BRANCH)] += count
        branches[(day, "", branch or UNLISTED_BRANCH)] += count
    by_day["ATM"], by_day["网点"] = atms, branches
    by_day["风险信号"] = Counter({(day, flag, flag_name(flag)): n for (day, flag), n in report.flags.items()})
    for section, counts in by_day.items():
        for (day, code, name), count in sorted(counts.items(), key=lambda item: (item[0][0], -item[1], item[0][1])):
            rows.append((section, day.isoformat(), code, name, count))
    for day in report.span.days:
        rows.append(("对话", day.isoformat(), "conversations", "有客户消息的对话",
                     report.conversations_per_day.get(day, 0)))
        rows.append(("紧急情况", day.isoformat(), "emergency", "到达紧急情况的对话",
                     report.emergencies_per_day.get(day, 0)))
    rows.append(("对话", TOTAL, "conversations", "有客户消息的对话", report.conversations))
    rows.append(("紧急情况", TOTAL, "emergency", "到达紧急情况的对话", report.emergency_conversations))
    return rows


def report_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(_cells(row) for row in report_rows(report))
    return "\ufeff" + buffer.getvalue()


def _cells(row: Iterable[object]) -> List[str]:
    return [_cell(value) for value in row]

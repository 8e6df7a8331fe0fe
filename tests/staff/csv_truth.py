"""/staff/report.csv compared with the generated data it was computed from."""

import csv
import io
from collections import Counter
from datetime import date
from zoneinfo import ZoneInfo

from core.assessment_records import ASSESSMENT, EMERGENCY
from tests.staff.generated_data import Generated, bank_day, day_bounds

ZONE = ZoneInfo("Asia/Shanghai")
HEADER = ["类别", "日期", "代码", "名称", "数量"]


def csv_rows(response) -> list:
    assert response.status_code == 200, response.text[-500:]
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode("utf-8"))  # Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == HEADER
    return rows[1:]


def assert_csv_matches(response, truth: Generated, first: date, last: date) -> None:
    """Every section of the CSV for first..last against the generated rows."""
    rows = csv_rows(response)
    start, end = day_bounds(first, last, ZONE)
    got = {}
    for section, day_label, code, name, count in rows:
        got.setdefault(section, Counter())[(day_label, code)] += int(count)

    summaries = [s for s in truth.summaries if start <= s.assessed_at < end]
    assessed = [s for s in summaries if s.kind == ASSESSMENT]

    def day(summary) -> str:
        return bank_day(summary.assessed_at, ZONE).isoformat()

    assert got["诈骗类型"] == Counter((day(s), s.scam_type) for s in assessed)
    assert got["渠道"] == Counter((day(s), s.channel) for s in assessed)
    assert got["风险"] == Counter((day(s), s.risk) for s in assessed)
    assert got["ATM"] == Counter((day(s), s.atm_id) for s in assessed if s.atm_id)
    assert got["风险信号"] == Counter((day(s), flag) for s in assessed for flag in s.flags)
    branches = Counter()
    for section, day_label, code, name, count in rows:
        if section == "网点":
            branches[(day_label, name)] += int(count)
    assert branches == Counter((day(s), s.branch) for s in assessed if s.atm_id)

    conversations = Counter()
    for times in truth.user_times.values():
        for day_label in {bank_day(t, ZONE).isoformat() for t in times if start <= t < end}:
            conversations[(day_label, "conversations")] += 1
    conversations[("合计", "conversations")] = len(truth.conversations_between(start, end))
    assert +got["对话"] == conversations
    emergencies = Counter((day_label, "emergency") for day_label, _ in
                          {(day(s), s.conversation_id) for s in summaries if s.kind == EMERGENCY})
    emergencies[("合计", "emergency")] = len(truth.emergencies_between(start, end))
    assert +got["紧急情况"] == emergencies
    assert sum(emergencies.values()) > 0 and len(assessed) > 100  # the comparison compared something

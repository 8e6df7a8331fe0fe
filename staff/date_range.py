"""The report's date filter: two dates in the bank's time zone, checked strictly, with a
clear Chinese message for anything else (a SQL-looking value never reaches a query)."""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import List, Optional
from zoneinfo import ZoneInfo

MAX_DAYS = 366
DEFAULT_DAYS = 7  # this week, for the weekly risk meeting
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
SHOWN_CHARS = 30


class RangeError(ValueError):
    """A date filter staff must correct; the message is Chinese."""


@dataclass(frozen=True)
class ReportRange:
    first: date
    last: date  # inclusive
    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def start(self) -> float:
        """Epoch seconds of the first day's midnight in the bank's time zone."""
        return datetime.combine(self.first, time(), self.zone).timestamp()

    @property
    def end(self) -> float:
        """Epoch seconds of the midnight after the last day (exclusive)."""
        return datetime.combine(self.last + timedelta(days=1), time(), self.zone).timestamp()

    @property
    def offset_seconds(self) -> int:
        # Days are cut at the zone's offset on the first day; a zone with summer time is
        # an hour off on the other side of a change (China has none).
        offset = datetime.combine(self.first, time(12), self.zone).utcoffset()
        return int(offset.total_seconds()) if offset else 0

    @property
    def days(self) -> List[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def query(self) -> str:
        return f"from={self.first.isoformat()}&to={self.last.isoformat()}"

    def label(self) -> str:
        return f"{self.first.isoformat()} 至 {self.last.isoformat()}"


def _parse(raw: str, what: str) -> date:
    text = raw.strip()
    shown = text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"
    if not _DATE.fullmatch(text):
        raise RangeError(f"{what}“{shown}”格式不对：应为 年-月-日，例如 2026-12-01")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise RangeError(f"{what}“{shown}”不是存在的日期") from None


def parse_range(raw_from: Optional[str], raw_to: Optional[str], timezone: str,
                today: Optional[date] = None) -> ReportRange:
    """From and to (inclusive), default the last seven days up to today."""
    today = today or datetime.now(ZoneInfo(timezone)).date()
    last = _parse(raw_to, "结束日期") if raw_to not in (None, "") else today
    first = (_parse(raw_from, "开始日期") if raw_from not in (None, "")
             else last - timedelta(days=DEFAULT_DAYS - 1))
    if first > last:
        raise RangeError(f"开始日期 {first.isoformat()} 晚于结束日期 {last.isoformat()}")
    if (last - first).days + 1 > MAX_DAYS:
        raise RangeError(f"日期范围最多 {MAX_DAYS} 天，请缩小范围")
    return ReportRange(first, last, timezone)
